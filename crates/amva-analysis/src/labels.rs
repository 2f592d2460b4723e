//! Categorical groups (`--groups FILE`, CSV `image,group`; ALGORITHMS 4.8): any labels (demographic
//! group, camera, degradation kind) instead of, and crossed with, quality.
//!
//! - per label: MAM, AM-V, median and MAD (the exact statistics of [`crate::setstats`]);
//! - every pair of labels: D-AM-V = |AM-V a - AM-V b| and its region means;
//! - each label against the rest of the labelled images: the permutation test of the
//!   outside AM-V (ALGORITHMS 4.6), one-sided: does the label vary more outside the face
//!   than the rest?
//! - crossed with quality: per method and label, the outside AM-V of the label's images
//!   in the method's high and low group (the follow-up study's demographic analysis).
//!
//! Ids without a map, empty labels and repeated images are listed (unmatched.csv), and a
//! label with fewer than two images is reported and left out; none of them is fatal.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use amva_maps::source::MapSource;

use crate::compare::{region_row, Geometry};
use crate::groups::{MethodGroups, MIN_GROUP};
use crate::permutation::PooledCollector;
use crate::setstats::{group_statistics, GroupStats, StatsOptions};
use crate::significance::{permutation_outside_amv, PermutationData, PermutationOutcome};
use crate::summary::RegionRow;
use crate::{AnalysisError, Result};

/// One label and its store rows (ascending).
#[derive(Debug, Clone, PartialEq)]
pub struct Label {
    /// The label as written.
    pub name: String,
    /// File-name-safe key.
    pub key: String,
    /// Store rows, ascending.
    pub rows: Vec<usize>,
}

/// The groups file, joined to the maps.
#[derive(Debug, Clone, PartialEq)]
pub struct LabelInput {
    /// The file.
    pub path: PathBuf,
    /// Labels with at least two maps, in order of first appearance.
    pub labels: Vec<Label>,
    /// Labels left out: (label, images).
    pub too_small: Vec<(String, usize)>,
    /// (image, reason) of every line not used.
    pub unmatched: Vec<(String, String)>,
    /// Label of each store row, if any.
    pub of_row: Vec<Option<usize>>,
}

/// Reads `path` (CSV or TSV with a header `image,group`) against the store's `ids`.
pub fn read_labels(path: &Path, ids: &[String]) -> Result<LabelInput> {
    let text = std::fs::read(path).map_err(|e| AnalysisError::io(path, e))?;
    let text = String::from_utf8(text).map_err(|e| {
        AnalysisError::store(
            path,
            format!("not UTF-8 text ({e}); expected CSV `image,group`"),
        )
    })?;
    let mut rd = amva_io::table::delimited(&text).from_reader(text.as_bytes());
    let header: Vec<String> = rd
        .headers()
        .map_err(|e| AnalysisError::store(path, e.to_string()))?
        .iter()
        .map(|h| h.trim().to_ascii_lowercase())
        .collect();
    let col = |n: &str| header.iter().position(|h| h == n);
    let (Some(ci), Some(cg)) = (col("image"), col("group")) else {
        return Err(AnalysisError::store(
            path,
            format!("line 1: header {header:?}; expected the columns image,group"),
        ));
    };
    let row_of: HashMap<&str, usize> = ids
        .iter()
        .enumerate()
        .map(|(i, s)| (s.as_str(), i))
        .collect();
    let mut of_row: Vec<Option<usize>> = vec![None; ids.len()];
    let mut first_line: HashMap<usize, usize> = HashMap::new();
    let mut names: Vec<String> = Vec::new();
    let mut rows: Vec<Vec<usize>> = Vec::new();
    let mut unmatched = Vec::new();
    for (line, rec) in amva_io::table::strict_rows(&mut rd, &text) {
        let rec = rec.map_err(|e| AnalysisError::store(path, format!("line {line}: {e}")))?;
        if rec.iter().all(|f| f.trim().is_empty()) {
            continue;
        }
        let image = rec.get(ci).unwrap_or("").trim().to_string();
        let label = rec.get(cg).unwrap_or("").trim().to_string();
        let why = |s: String| (image.clone(), format!("--groups line {line}: {s}"));
        let Some(&row) = row_of.get(image.as_str()) else {
            unmatched.push(why("in the groups file but no map: left out".into()));
            continue;
        };
        if label.is_empty() {
            unmatched.push(why("empty group label: left out".into()));
            continue;
        }
        if let Some(first) = first_line.get(&row) {
            unmatched.push(why(format!(
                "image listed again (first on line {first}): left out"
            )));
            continue;
        }
        first_line.insert(row, line);
        let li = match names.iter().position(|n| *n == label) {
            Some(k) => k,
            None => {
                names.push(label);
                rows.push(Vec::new());
                names.len() - 1
            }
        };
        rows[li].push(row);
    }
    let mut labels = Vec::new();
    let mut too_small = Vec::new();
    let keys = crate::keys::unique_keys(&names.iter().map(String::as_str).collect::<Vec<_>>());
    for ((name, mut r), key) in names.into_iter().zip(rows).zip(keys) {
        if r.len() < MIN_GROUP {
            too_small.push((name, r.len()));
            continue;
        }
        r.sort_unstable();
        for &x in &r {
            of_row[x] = Some(labels.len());
        }
        labels.push(Label { name, key, rows: r });
    }
    Ok(LabelInput {
        path: path.into(),
        labels,
        too_small,
        unmatched,
        of_row,
    })
}

/// One label's statistics.
#[derive(Debug, Clone)]
pub struct LabelStats {
    /// MAM, AM-V, median, MAD.
    pub stats: GroupStats,
    /// Region means of AM-V.
    pub amv_region: RegionRow,
    /// Region means of MAM.
    pub mam_region: RegionRow,
    /// The label against the rest (None: not run, e.g. --permutations 0 or one label).
    pub vs_rest: Option<PermutationOutcome>,
}

/// D-AM-V of two labels.
#[derive(Debug, Clone)]
pub struct LabelPair {
    /// Label indices.
    pub a: usize,
    /// Label indices.
    pub b: usize,
    /// |AM-V a - AM-V b| per pixel.
    pub d_amv: Vec<f64>,
    /// Its region means.
    pub region: RegionRow,
}

/// A label within one method's high or low group.
#[derive(Debug, Clone)]
pub struct Crossed {
    /// Method index.
    pub method: usize,
    /// Label index.
    pub label: usize,
    /// Images of the label in the high group, the low group.
    pub n: (usize, usize),
    /// Outside AM-V in the high and low group (None: fewer than two images).
    pub outside_amv: (Option<f64>, Option<f64>),
}

/// Every result of the categorical groups.
#[derive(Debug, Clone)]
pub struct LabelResults {
    /// Per label (aligned with the input's labels).
    pub labels: Vec<LabelStats>,
    /// Every pair of labels.
    pub pairs: Vec<LabelPair>,
    /// Per method and label.
    pub crossed: Vec<Crossed>,
}

fn intersect(a: &[usize], b: &[usize]) -> Vec<usize> {
    a.iter()
        .copied()
        .filter(|x| b.binary_search(x).is_ok())
        .collect()
}

/// Where the label statistics are computed: the store, its face region and each
/// method's quality groups (to cross the labels with).
#[derive(Debug, Clone, Copy)]
pub struct LabelScope<'a> {
    /// The map store.
    pub source: &'a MapSource,
    /// Shape and face region of the maps.
    pub geometry: &'a Geometry,
    /// Each method's groups.
    pub groups: &'a [MethodGroups],
}

/// Computes every result of `input` over the store (`(n_perm, seed)` of the tests).
pub fn label_statistics(
    scope: LabelScope<'_>,
    input: &LabelInput,
    budget_bytes: usize,
    (n_perm, seed): (usize, u64),
) -> Result<LabelResults> {
    let source = scope.source;
    let geometry = scope.geometry;
    let inside = &geometry.inside;
    let mut sets: Vec<Vec<usize>> = input.labels.iter().map(|l| l.rows.clone()).collect();
    let crossed_at = crossed_sets(scope.groups, input, &mut sets);
    let mut pool_rows: Vec<usize> = input.labels.iter().flat_map(|l| l.rows.clone()).collect();
    pool_rows.sort_unstable();
    let low_rank = source.kind() == amva_maps::source::MapKind::Low;
    let test = n_perm > 0 && input.labels.len() >= 2;
    let mut collector = test.then(|| {
        let up = low_rank.then(|| source.upsampler());
        PooledCollector::new(pool_rows.clone(), up, &geometry.outside)
    });
    let opts = StatsOptions {
        robust: true,
        compat_paper: false,
        budget_bytes,
        chunk_rows: 256,
    };
    let refs: Vec<&[usize]> = sets.iter().map(Vec::as_slice).collect();
    let (stats, _) = group_statistics(source, &refs, &opts, collector.as_mut(), &mut |_| {})?;
    let pooled = collector.map(|c| c.finish()).transpose()?;
    let mut labels = Vec::new();
    for (li, l) in input.labels.iter().enumerate() {
        let vs_rest = match &pooled {
            Some(p) => {
                let rest: Vec<usize> = pool_rows
                    .iter()
                    .copied()
                    .filter(|r| input.of_row[*r] != Some(li))
                    .collect();
                let data = PermutationData {
                    pooled: p,
                    pool_rows: &pool_rows,
                    up: source.upsampler(),
                    outside: &geometry.outside,
                };
                Some(permutation_outside_amv(
                    &data, &rest, &l.rows, n_perm, seed,
                )?)
            }
            None => None,
        };
        let s = stats[li].clone();
        labels.push(LabelStats {
            amv_region: region_row(&s.std, inside)?,
            mam_region: region_row(&s.mean, inside)?,
            stats: s,
            vs_rest,
        });
    }
    let out_amv = |i: Option<usize>| -> Result<Option<f64>> {
        i.map(|i| region_row(&stats[i].std, inside).map(|r| r.outside))
            .transpose()
    };
    let crossed = crossed_at
        .into_iter()
        .map(|(method, label, n, ih, il)| {
            let outside_amv = (out_amv(ih)?, out_amv(il)?);
            Ok(Crossed {
                method,
                label,
                n,
                outside_amv,
            })
        })
        .collect::<Result<_>>()?;
    Ok(LabelResults {
        pairs: label_pairs(&labels, inside)?,
        labels,
        crossed,
    })
}

/// For each method and label, the label's images in the method's high and low group,
/// appended to `sets` when they are at least two: (method, label, counts, index of the
/// high set, index of the low set).
#[allow(clippy::type_complexity)]
fn crossed_sets(
    groups: &[MethodGroups],
    input: &LabelInput,
    sets: &mut Vec<Vec<usize>>,
) -> Vec<(usize, usize, (usize, usize), Option<usize>, Option<usize>)> {
    let mut at = |v: Vec<usize>| {
        (v.len() >= MIN_GROUP).then(|| {
            sets.push(v);
            sets.len() - 1
        })
    };
    let mut out = Vec::new();
    for (mi, g) in groups.iter().enumerate() {
        for (li, l) in input.labels.iter().enumerate() {
            let h = intersect(&l.rows, &g.high.rows);
            let lo = intersect(&l.rows, &g.low.rows);
            let n = (h.len(), lo.len());
            out.push((mi, li, n, at(h), at(lo)));
        }
    }
    out
}

/// D-AM-V of every pair of labels.
fn label_pairs(labels: &[LabelStats], inside: &[bool]) -> Result<Vec<LabelPair>> {
    let mut pairs = Vec::new();
    for a in 0..labels.len() {
        for b in a + 1..labels.len() {
            let (x, y) = (&labels[a].stats.std, &labels[b].stats.std);
            let d: Vec<f64> = x.iter().zip(y).map(|(x, y)| (x - y).abs()).collect();
            let region = region_row(&d, inside)?;
            pairs.push(LabelPair {
                a,
                b,
                region,
                d_amv: d,
            });
        }
    }
    Ok(pairs)
}

/// Notes for the report and summary: labels left out.
pub fn notes(input: &LabelInput) -> Vec<String> {
    let mut v: Vec<String> = input
        .too_small
        .iter()
        .map(|(l, n)| format!("--groups: label '{l}' has {n} image(s) with a map; AM-V needs at least {MIN_GROUP}: left out"))
        .collect();
    if !input.unmatched.is_empty() {
        v.push(format!(
            "--groups: {} lines not used (listed in unmatched.csv)",
            input.unmatched.len()
        ));
    }
    v
}

/// The per-label table as CSV rows: label, n, region means, test.
pub fn labels_csv(input: &LabelInput, r: &LabelResults) -> Vec<[String; 9]> {
    let f = |x: f64| format!("{x}");
    let row = |(l, s): (&Label, &LabelStats)| {
        let t = s.vs_rest.as_ref();
        [
            l.name.clone(),
            l.rows.len().to_string(),
            f(s.mam_region.inside),
            f(s.mam_region.outside),
            f(s.amv_region.inside),
            f(s.amv_region.outside),
            t.map(|t| f(t.observed)).unwrap_or_default(),
            t.map(|t| f(t.p_value)).unwrap_or_default(),
            t.map(|t| t.n_perm.to_string()).unwrap_or_default(),
        ]
    };
    input.labels.iter().zip(&r.labels).map(row).collect()
}

/// Header of [`labels_csv`].
pub const LABELS_HEADER: [&str; 9] = [
    "label",
    "images",
    "mam_inside",
    "mam_outside",
    "amv_inside",
    "amv_outside",
    "outside_amv_label_minus_rest",
    "p_value",
    "permutations",
];

/// Recognition per label (`--groups` with `--pairs`, ALGORITHMS 6.8): the rates of
/// every label and of the cross-label comparisons at one global threshold per target
/// FMR, and the FDR at each target.
#[derive(Debug, Clone)]
pub struct LabelVerification {
    pub rows: Vec<amva_math::fairness::RateRow>,
    /// (target FMR, FDR) for 1e-1 .. 1e-4 and the EDC's FMR.
    pub fdr: Vec<(f64, Option<f64>)>,
}

impl LabelVerification {
    /// The global threshold of target FMR `target` (NaN when it was not computed).
    pub fn threshold(&self, target: f64) -> f64 {
        self.rows
            .iter()
            .find(|r| r.fmr_target == target)
            .map_or(f64::NAN, |r| r.threshold)
    }
}

/// The weight of the FMR spread in the FDR (the follow-up study's a = 0.5).
pub const FDR_ALPHA: f64 = 0.5;

/// [`LabelVerification`] of `pairs` (image ids of the store `ids`), with the targets
/// 1e-1 .. 1e-4 and `fmr`.
pub fn verification(
    input: &LabelInput,
    ids: &[String],
    pairs: &[amva_quality::PairScore],
    fmr: f64,
) -> Result<LabelVerification> {
    use amva_math::fairness::{fdr, label_rates, targets, Scored};
    let of: std::collections::HashMap<&str, usize> = ids
        .iter()
        .zip(&input.of_row)
        .filter_map(|(id, l)| l.map(|l| (id.as_str(), l)))
        .collect();
    let scored: Vec<Scored> = pairs
        .iter()
        .map(|p| Scored {
            score: p.score,
            mated: p.mated,
            labels: (of.get(p.a.as_str()).copied(), of.get(p.b.as_str()).copied()),
        })
        .collect();
    let targets = targets(fmr);
    let rows = label_rates(&scored, input.labels.len(), &targets)
        .map_err(AnalysisError::math("recognition per label"))?;
    let fdr = targets
        .iter()
        .map(|&t| (t, fdr(&rows, t, FDR_ALPHA)))
        .collect();
    Ok(LabelVerification { rows, fdr })
}

/// labels_verification.csv rows: label, fmr_target, mated, non_mated, threshold, fnmr, fmr.
pub fn verification_csv(input: &LabelInput, v: &LabelVerification) -> Vec<[String; 7]> {
    let f = |x: f64| format!("{x}");
    v.rows
        .iter()
        .map(|r| {
            [
                r.label
                    .map_or("(cross)".into(), |l| input.labels[l].name.clone()),
                f(r.fmr_target),
                r.mated.to_string(),
                r.non_mated.to_string(),
                f(r.threshold),
                f(r.fnmr),
                f(r.fmr),
            ]
        })
        .collect()
}

/// Header of [`verification_csv`].
pub const VERIFICATION_HEADER: [&str; 7] = [
    "label",
    "fmr_target",
    "mated",
    "non_mated",
    "threshold",
    "fnmr",
    "fmr",
];
