//! `summary.json`: every number of an analysis, as one typed struct that `amva analyze`
//! writes and `amva explain`, the demo and the tests read back ([`Summary::read`]).
//!
//! Numbers that can be undefined (a ratio over an all-zero region, a correlation of
//! constant values) are written as JSON `null` and read back as NaN.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Deserializer, Serialize};

use crate::stat::Stat;
use crate::{AnalysisError, Result};

/// `null` (how serde_json writes NaN and infinities) read back as NaN.
fn nan<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<f64, D::Error> {
    Option::<f64>::deserialize(d).map(|v| v.unwrap_or(f64::NAN))
}

/// The contents of `summary.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// Version of amva that wrote it.
    pub amva_version: String,
    /// Always `analysis`.
    pub kind: String,
    /// The command line of the run, if it came from one.
    pub command_line: Option<String>,
    /// The answer first: one row per FIQA method with its verdict (see
    /// [`crate::findings`]; absent in summaries of older versions).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_findings: Option<KeyFindings>,
    /// The options of the run.
    pub parameters: Parameters,
    /// The map store.
    pub maps: MapsSummary,
    /// The central face region.
    pub region: RegionSummary,
    /// Per FIQA method, by name.
    pub methods: std::collections::BTreeMap<String, MethodSummary>,
    /// Agreement of the methods (empty with one method).
    pub across_methods: AcrossMethods,
    /// How the statistics were computed.
    pub computation: Computation,
    /// `unmatched.csv`.
    pub unmatched_file: String,
    /// Things the user should know.
    pub notes: Vec<String>,
    /// Every figure, in report order (absent without figures).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub figures: Option<Vec<FigureEntry>>,
    /// `report.html` (absent without figures).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub report: Option<String>,
}

impl Summary {
    /// The kind of an analysis summary.
    pub const KIND: &'static str = "analysis";

    /// Reads `dir/summary.json` (an output folder of `amva analyze`).
    pub fn read(dir: &Path) -> Result<Summary> {
        let path = dir.join(crate::files::SUMMARY);
        let text = std::fs::read_to_string(&path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => {
                AnalysisError::store(&path, "missing: not an output folder of `amva analyze`")
            }
            _ => AnalysisError::io(&path, e),
        })?;
        let s: Summary = serde_json::from_str(&text).map_err(|e| {
            AnalysisError::store(&path, format!("not the summary of `amva analyze`: {e}"))
        })?;
        if s.kind != Self::KIND {
            return Err(AnalysisError::store(
                &path,
                format!("kind '{}', expected '{}'", s.kind, Self::KIND),
            ));
        }
        Ok(s)
    }

    /// Writes it to `dir/summary.json` (temporary name, then rename).
    pub fn write(&self, dir: &Path) -> Result<()> {
        Ok(amva_io::atomic::write_json(
            &dir.join(crate::files::SUMMARY),
            self,
        )?)
    }
}

/// A score file and its checksum.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScoreFile {
    /// As given.
    pub path: PathBuf,
    /// SHA-256 of its bytes (absent when unreadable).
    pub sha256: Option<String>,
}

/// A `--direction` override.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DirectionOverride {
    /// The method.
    pub method: String,
    /// `higher` or `lower`.
    pub direction: String,
}

/// The options of the run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Parameters {
    /// The map store folder.
    pub maps: PathBuf,
    /// The array analysed (`maps.npy` or `maps_full.npy`).
    pub map_file: Option<String>,
    /// The score files.
    pub scores: Vec<ScoreFile>,
    /// High-group rule.
    pub high: String,
    /// Low-group rule.
    pub low: String,
    /// Quality bins.
    pub bins: Option<usize>,
    /// `--direction` overrides.
    pub directions: Vec<DirectionOverride>,
    /// Margin of the face region in pixels of the 112 x 112 frame.
    pub region_margin_px_112: f64,
    /// The same on the maps' grid.
    pub region_margin_px_maps: f64,
    /// Deviation maps averaged with their mirror image.
    pub symmetric: bool,
    /// The paper's extra statistics.
    pub compat_paper: bool,
    /// Seed of the permutation test.
    pub seed: u64,
    /// Permutations.
    pub permutations: usize,
    /// Memory budget of the robust statistics.
    pub memory_budget_bytes: usize,
}

/// The map store.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MapsSummary {
    /// Its folder.
    pub dir: PathBuf,
    /// Number of maps.
    pub count: usize,
    /// Maps flagged flat in index.csv.
    pub flagged_flat: usize,
    /// h, w of the stored maps.
    pub map_shape: [usize; 2],
    /// H, W of the finished maps (and of every array of the analysis).
    pub full_shape: [usize; 2],
    /// SHA-256 of the FR model, if recorded.
    pub model_sha256: Option<String>,
    /// Map method, if recorded.
    pub method: Option<String>,
    /// Target layer, if recorded.
    pub layer: Option<String>,
    /// The images the maps were made from, if recorded.
    pub images: Option<String>,
    /// The store's whole meta.json (written by another command: kept as it is).
    pub meta: serde_json::Value,
}

/// The central face region.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RegionSummary {
    /// `arrays/region_mask.npy`.
    pub mask_file: String,
    /// Pixels inside.
    pub inside_pixels: usize,
    /// Pixels outside.
    pub outside_pixels: usize,
    /// How it is made.
    pub definition: String,
}

/// How many images of a method took part, and why the others did not.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImageCounts {
    /// Rows with a finite score.
    pub finite_scores: usize,
    /// Rows with a NaN, infinite or empty score (excluded).
    pub non_finite_scores: usize,
    /// Rows repeated with the same score.
    pub repeated_rows: usize,
    /// Images with a map and a finite score.
    pub matched: usize,
    /// Finite scores without a map.
    pub scores_without_map: usize,
    /// Maps without a score.
    pub maps_without_score: usize,
    /// Images in both the high and the low group.
    pub high_low_overlap: usize,
}

/// One value per statistic (only those computed are present).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(bound(deserialize = "T: Deserialize<'de>"))]
pub struct PerStat<T> {
    /// MAM.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mam: Option<T>,
    /// AM-V.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amv: Option<T>,
    /// Median.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub median: Option<T>,
    /// MAD.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mad: Option<T>,
    /// Lower median (`--compat paper`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub median_lower: Option<T>,
    /// MAD around the lower median (`--compat paper`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mad_lower: Option<T>,
    /// std_mad (`--compat paper`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub std_mad: Option<T>,
}

impl<T> Default for PerStat<T> {
    fn default() -> Self {
        PerStat {
            mam: None,
            amv: None,
            median: None,
            mad: None,
            median_lower: None,
            mad_lower: None,
            std_mad: None,
        }
    }
}

impl<T> PerStat<T> {
    fn slot(&mut self, s: Stat) -> &mut Option<T> {
        match s {
            Stat::Mam => &mut self.mam,
            Stat::Amv => &mut self.amv,
            Stat::Median => &mut self.median,
            Stat::Mad => &mut self.mad,
            Stat::MedianLower => &mut self.median_lower,
            Stat::MadLower => &mut self.mad_lower,
            Stat::StdMad => &mut self.std_mad,
        }
    }

    /// The value of statistic `s`, if present.
    pub fn get(&self, s: Stat) -> Option<&T> {
        match s {
            Stat::Mam => self.mam.as_ref(),
            Stat::Amv => self.amv.as_ref(),
            Stat::Median => self.median.as_ref(),
            Stat::Mad => self.mad.as_ref(),
            Stat::MedianLower => self.median_lower.as_ref(),
            Stat::MadLower => self.mad_lower.as_ref(),
            Stat::StdMad => self.std_mad.as_ref(),
        }
    }

    /// Sets the value of statistic `s`.
    pub fn set(&mut self, s: Stat, value: T) {
        *self.slot(s) = Some(value);
    }

    /// The values present, in report order.
    pub fn iter(&self) -> impl Iterator<Item = (Stat, &T)> {
        Stat::ALL
            .into_iter()
            .filter_map(move |s| self.get(s).map(|v| (s, v)))
    }
}

impl<T> FromIterator<(Stat, T)> for PerStat<T> {
    fn from_iter<I: IntoIterator<Item = (Stat, T)>>(iter: I) -> Self {
        let mut p = PerStat::default();
        for (s, v) in iter {
            p.set(s, v);
        }
        p
    }
}

/// Mean, smallest and largest value of a per-pixel statistic, and its file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MapStats {
    /// `arrays/<method>/<group>_<stat>.npy`.
    pub file: String,
    /// Mean over the pixels.
    #[serde(deserialize_with = "nan")]
    pub mean: f64,
    /// Smallest pixel.
    #[serde(deserialize_with = "nan")]
    pub min: f64,
    /// Largest pixel.
    #[serde(deserialize_with = "nan")]
    pub max: f64,
}

/// Mean of a map inside and outside the central face region, and outside / inside.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RegionRow {
    /// Mean inside the central face region.
    #[serde(deserialize_with = "nan")]
    pub inside: f64,
    /// Mean outside it.
    #[serde(deserialize_with = "nan")]
    pub outside: f64,
    /// outside / inside.
    #[serde(deserialize_with = "nan")]
    pub ratio: f64,
}

/// One group of one method.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroupSummary {
    /// `high`, `low`, `bin 1 (worst)`, ...
    pub name: String,
    /// In file names: `high`, `low`, `bin01`, ...
    pub key: String,
    /// The rule that made it.
    pub rule: String,
    /// Maps in it.
    pub n: usize,
    /// Of which flat.
    pub flat_maps: usize,
    /// Lowest raw score.
    #[serde(deserialize_with = "nan")]
    pub score_min: f64,
    /// Highest raw score.
    #[serde(deserialize_with = "nan")]
    pub score_max: f64,
    /// Per statistic: file, mean, min, max.
    pub stats: PerStat<MapStats>,
    /// Per statistic: means inside and outside the face region.
    pub region: PerStat<RegionRow>,
}

/// A deviation map |high - low|.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeviationSummary {
    /// `arrays/<method>/d_<stat>.npy`.
    pub file: String,
    /// Largest pixel.
    #[serde(deserialize_with = "nan")]
    pub max: f64,
    /// Mean over the pixels.
    #[serde(deserialize_with = "nan")]
    pub mean: f64,
    /// Inside and outside the face region.
    pub region: RegionRow,
    /// Averaged with its mirror image.
    pub symmetric: bool,
}

/// Distribution shift between the per-pixel values of the high and low maps.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShiftSummary {
    /// Kolmogorov-Smirnov statistic.
    #[serde(deserialize_with = "nan")]
    pub ks: f64,
    /// Its asymptotic p-value (descriptive).
    #[serde(deserialize_with = "nan")]
    pub ks_p: f64,
    /// 1-Wasserstein distance.
    #[serde(deserialize_with = "nan")]
    pub wasserstein: f64,
    /// `arrays/<method>/kde_<stat>.npy`, when the densities exist.
    pub kde_file: Option<String>,
    /// What the rows of the KDE file are.
    pub kde_rows: Vec<String>,
    /// Why there is no density, if there is none.
    pub note: Option<String>,
}

/// One spatial profile file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProfileFile {
    /// `arrays/<method>/profile_<axis>.npy`.
    pub file: String,
    /// What its rows are.
    pub rows: Vec<String>,
    /// What was summed.
    pub what: String,
}

/// The AM-V profiles over x and y.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Profiles {
    /// Over x (one value per column).
    pub x: ProfileFile,
    /// Over y (one value per row).
    pub y: ProfileFile,
}

/// The permutation test of one method, run or skipped.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum PermutationSummary {
    /// It ran.
    Run(Box<PermutationRun>),
    /// It did not, and why.
    Skipped {
        /// The reason.
        skipped: String,
    },
}

/// A permutation test that ran.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PermutationRun {
    /// What T is.
    pub statistic: String,
    /// `greater`.
    pub alternative: String,
    /// Observed T.
    #[serde(deserialize_with = "nan")]
    pub observed: f64,
    /// T from the per-pixel AM-V maps (the same up to rounding).
    #[serde(deserialize_with = "nan")]
    pub observed_per_pixel_path: f64,
    /// One-sided p-value.
    #[serde(deserialize_with = "nan")]
    pub p_value: f64,
    /// Permutations with T >= observed.
    pub extreme: usize,
    /// Permutations run.
    pub n_perm: usize,
    /// Seed.
    pub seed: u64,
    /// How T was computed for each permutation.
    pub method: String,
    /// `arrays/<method>/permutation.npy`.
    pub file: String,
    /// What its values are.
    pub file_rows: String,
}

impl PermutationSummary {
    /// The test, if it ran.
    pub fn run(&self) -> Option<&PermutationRun> {
        match self {
            PermutationSummary::Run(r) => Some(r),
            PermutationSummary::Skipped { .. } => None,
        }
    }
}

/// AM-V across the quality bins.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrendSummary {
    /// Number of bins.
    pub bins: usize,
    /// Mean AM-V outside the face region per bin, worst first.
    pub outside_amv: Vec<f64>,
    /// Mean AM-V inside per bin.
    pub inside_amv: Vec<f64>,
    /// Spearman of bin index and outside AM-V.
    #[serde(deserialize_with = "nan")]
    pub spearman_bin_vs_outside_amv: f64,
    /// Why it is undefined, if it is.
    pub spearman_note: Option<String>,
    /// `arrays/<method>/bins_region.npy`.
    pub file: String,
    /// Its columns.
    pub file_columns: Vec<String>,
    /// Which bin is which.
    pub order: String,
}

/// Everything about one FIQA method.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MethodSummary {
    /// File-name-safe key (`arrays/<key>/`, `groups/<key>.csv`).
    pub key: String,
    /// `higher` or `lower` (is better).
    pub direction: String,
    /// Where the direction came from.
    pub direction_source: String,
    /// The score file.
    pub score_file: PathBuf,
    /// Counts of images.
    pub images: ImageCounts,
    /// high, low, then the bins.
    pub groups: Vec<GroupSummary>,
    /// Deviation maps per statistic.
    pub deviation: PerStat<DeviationSummary>,
    /// Distribution shift per statistic.
    pub distribution_shift: PerStat<ShiftSummary>,
    /// AM-V profiles.
    pub profiles: Profiles,
    /// The permutation test.
    pub permutation_test: PermutationSummary,
    /// The trend over bins (`--bins`).
    pub trend: Option<TrendSummary>,
    /// `groups/<key>.csv`.
    pub groups_file: String,
}

impl MethodSummary {
    /// The high group.
    pub fn high(&self) -> Option<&GroupSummary> {
        self.groups.first()
    }

    /// The low group.
    pub fn low(&self) -> Option<&GroupSummary> {
        self.groups.get(1)
    }
}

/// Spearman correlation of two methods' scores.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PairSpearman {
    /// Method A.
    pub a: String,
    /// Method B.
    pub b: String,
    /// Images with a map and a finite score in both.
    pub n: usize,
    /// Spearman of the direction-corrected scores.
    #[serde(deserialize_with = "nan")]
    pub spearman: f64,
    /// Why it is undefined, if it is.
    pub note: Option<String>,
}

/// Jaccard index of two methods' groups.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PairJaccard {
    /// Method A.
    pub a: String,
    /// Method B.
    pub b: String,
    /// |A and B| / |A or B|.
    #[serde(deserialize_with = "nan")]
    pub jaccard: f64,
}

/// Agreement of the methods (every field absent with one method).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct AcrossMethods {
    /// Per pair of methods.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub spearman: Vec<PairSpearman>,
    /// Jaccard of the high groups.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub jaccard_high: Vec<PairJaccard>,
    /// Jaccard of the low groups.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub jaccard_low: Vec<PairJaccard>,
    /// Over which images.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// How the statistics were computed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Computation {
    /// Passes over the maps.
    pub passes: usize,
    /// Pixels per block.
    pub block_pixels: usize,
    /// Bytes of the column buffers.
    pub column_bytes: usize,
    /// Bytes of the Welford state.
    pub welford_bytes: usize,
    /// Maps finished in all passes.
    pub maps_finished: u64,
    /// Seconds of the whole run.
    pub seconds: f64,
}

/// The key findings of a run: the verdict rule and one row per FIQA method.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KeyFindings {
    /// The rule of the verdicts, as the report states it.
    pub rule: String,
    /// The one-sided level of both tests.
    pub level: f64,
    /// The EDC's threshold the failure counts are at (with `--pairs`).
    pub threshold: Option<f64>,
    /// One row per FIQA method, in report order.
    pub methods: Vec<KeyFinding>,
}

/// The key finding of one FIQA method.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KeyFinding {
    /// The method.
    pub method: String,
    /// Its file-name-safe key (the report's section is `#method-<key>`).
    pub key: String,
    /// Images in the high group.
    pub high: usize,
    /// Images in the low group.
    pub low: usize,
    /// Mean AM-V outside the central face region, high group.
    #[serde(deserialize_with = "nan")]
    pub outside_amv_high: f64,
    /// The same, low group.
    #[serde(deserialize_with = "nan")]
    pub outside_amv_low: f64,
    /// Low minus high: the permutation test's observed T when it ran, else the
    /// difference of the two means above.
    #[serde(deserialize_with = "nan")]
    pub difference: f64,
    /// One-sided p-value of low minus high > 0 (the permutation test).
    pub p_value: Option<f64>,
    /// One-sided p-value of high minus low > 0 (the same permutations).
    pub p_reversed: Option<f64>,
    /// `holds`, `reversed` or `not_significant`; absent when the test did not run.
    pub verdict: Option<crate::verdict::Verdict>,
    /// Why the test did not run, if it did not.
    pub not_tested: Option<String>,
    /// D-AM-V outside / inside the central face region.
    #[serde(deserialize_with = "nan")]
    pub damv_outside_inside: f64,
    /// EDC pAUC ratio to random (with `--pairs`; below 1 is better than random).
    pub pauc_ratio_to_random: Option<f64>,
    /// Its 95 % bootstrap interval (with `--bootstrap N`).
    pub pauc_ratio_ci95: Option<[f64; 2]>,
    /// False non-matches at the EDC's threshold (with `--pairs`).
    pub false_non_matches: Option<usize>,
    /// Of them, those with an image in this method's low group.
    pub false_non_matches_low: Option<usize>,
    /// Their share (absent without false non-matches).
    pub false_non_matches_low_share: Option<f64>,
    /// False matches at the EDC's threshold.
    pub false_matches: Option<usize>,
}

/// One figure of the report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FigureEntry {
    /// `figures/<name>.png`.
    pub file: String,
    /// Its caption.
    pub caption: String,
}
