//! The whole `amva analyze` run: scores + map store -> groups, exact set statistics,
//! comparisons (ALGORITHMS 4), the permutation test and bin trend, agreement across
//! methods, and every output file:
//!
//! ```text
//! summary.json              every number of the run (the report shows a subset)
//! report.html               one self-contained page: parameters, tables, figures
//! figures/*.png             every figure of the report
//! arrays/region_mask.npy    H x W, 1 inside the central face region
//! arrays/<method>/<group>_<stat>.npy   H x W per-pixel statistics (mam, amv, median, mad, ...)
//! arrays/<method>/d_<stat>.npy         deviation maps |high - low| (not normalised)
//! arrays/<method>/kde_<stat>.npy       3 x G: grid, density of high, density of low
//! arrays/<method>/profile_x.npy, profile_y.npy   2 x W / 2 x H: AM-V of high, low
//! arrays/<method>/permutation.npy      observed statistic, then each permutation's
//! arrays/<method>/bins_region.npy      B x 2: mean AM-V inside, outside per bin
//! groups/<method>.csv       image,row,score,groups
//! unmatched.csv             method,image,reason: every id without a partner, every excluded score
//! ```

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use amva_math::compare::{
    deviation, ks_2samp, linspace, normalise_by_max, permutation_test, profile_over_x,
    profile_over_y, spearman, symmetric, wasserstein_1, Alternative, GaussianKde,
    PermutationOptions,
};
use amva_math::groups::Direction;
use amva_math::region::{face_region_mask, region_means, ARCFACE_SIZE};
use amva_report::{Cell, Corner, Grid, Outline, Report, RgbImage, Table};
use serde_json::{json, Value};

use crate::figures::{heatmap, heatmap_over, max_of, to_f32, Curve, Figures, Plot};
use crate::groups::{join_and_group, Group, GroupRules, MethodGroups};
use crate::permutation::{OutsideAmvDifference, Pooled, PooledCollector};
use crate::scores::{read_scores, MethodScores};
use crate::setstats::{group_statistics, GroupStats, PassReport, StatsOptions, DEFAULT_BUDGET};
use crate::source::{MapKind, MapSource};
use crate::{AnalysisError, Result};

/// Default growth of the face region, in pixels of the 112 x 112 frame.
pub const DEFAULT_MARGIN: f64 = 12.0;
/// Points of each kernel density curve.
pub const KDE_POINTS: usize = 256;

/// Everything `amva analyze` is asked to do.
#[derive(Debug, Clone)]
pub struct AnalyzeOptions {
    /// The map store.
    pub maps: PathBuf,
    /// Which array of the store.
    pub map_kind: MapKind,
    /// Score files.
    pub scores: Vec<PathBuf>,
    /// Output folder.
    pub out: PathBuf,
    /// Group rules.
    pub rules: GroupRules,
    /// `--direction` overrides.
    pub directions: Vec<(String, Direction)>,
    /// Growth of the face region in pixels of the 112 x 112 frame (scaled to the maps).
    pub region_margin: f64,
    /// Average deviation maps with their mirror image.
    pub symmetric: bool,
    /// Also the paper's lower median, its MAD and `std_mad`.
    pub compat_paper: bool,
    /// Seed of the permutation test.
    pub seed: u64,
    /// Permutations (0: no test).
    pub permutations: usize,
    /// Bytes for the robust statistics' columns (and the direct permutation data).
    pub budget_bytes: usize,
    /// Face images (folder or list) for the mean faces under the overlays; default: the
    /// `images` the maps were made from, when that folder still exists.
    pub images: Option<PathBuf>,
    /// Write figures and report.html (off for benchmarks: numbers and arrays only).
    pub figures: bool,
    /// The command line, for the report.
    pub command_line: Option<String>,
}

impl AnalyzeOptions {
    /// Defaults: `top:10%` vs `bottom:10%`, margin 12, seed 0, 1,000 permutations.
    pub fn new(maps: impl Into<PathBuf>, scores: Vec<PathBuf>, out: impl Into<PathBuf>) -> Self {
        AnalyzeOptions {
            maps: maps.into(),
            map_kind: MapKind::Low,
            scores,
            out: out.into(),
            rules: GroupRules {
                high: "top:10%".parse().expect("valid rule"),
                low: "bottom:10%".parse().expect("valid rule"),
                bins: None,
            },
            directions: Vec::new(),
            region_margin: DEFAULT_MARGIN,
            symmetric: false,
            compat_paper: false,
            seed: 0,
            permutations: amva_math::compare::DEFAULT_PERMUTATIONS,
            budget_bytes: DEFAULT_BUDGET,
            images: None,
            figures: true,
            command_line: None,
        }
    }
}

/// What a run produced.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The contents of summary.json.
    pub summary: Value,
    /// How the statistics were computed.
    pub passes: PassReport,
    /// Things the user should know (also in the report and summary.json).
    pub notes: Vec<String>,
}

/// Progress callback: (stage, done, total).
pub type Progress<'a> = &'a mut dyn FnMut(&str, usize, usize);

/// A statistic of [`GroupStats`] by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stat {
    /// Mean (MAM).
    Mam,
    /// Standard deviation (AM-V).
    Amv,
    /// Median.
    Median,
    /// MAD.
    Mad,
    /// Lower median (`--compat paper`).
    MedianLower,
    /// MAD around the lower median (`--compat paper`).
    MadLower,
    /// The paper's std_mad (`--compat paper`).
    StdMad,
}

impl Stat {
    /// All, in report order.
    pub const ALL: [Stat; 7] = [
        Stat::Mam,
        Stat::Amv,
        Stat::Median,
        Stat::Mad,
        Stat::MedianLower,
        Stat::MadLower,
        Stat::StdMad,
    ];

    /// File and JSON key.
    pub fn key(self) -> &'static str {
        match self {
            Stat::Mam => "mam",
            Stat::Amv => "amv",
            Stat::Median => "median",
            Stat::Mad => "mad",
            Stat::MedianLower => "median_lower",
            Stat::MadLower => "mad_lower",
            Stat::StdMad => "std_mad",
        }
    }

    /// Name in figures and tables.
    pub fn label(self) -> &'static str {
        match self {
            Stat::Mam => "MAM",
            Stat::Amv => "AM-V",
            Stat::Median => "median",
            Stat::Mad => "MAD",
            Stat::MedianLower => "lower median (paper)",
            Stat::MadLower => "MAD, lower median (paper)",
            Stat::StdMad => "std_mad (paper)",
        }
    }

    /// What its values mean (colour-bar label).
    pub fn meaning(self) -> &'static str {
        match self {
            Stat::Mam => "MAM: mean activation (each map min-max scaled: 1 = its strongest pixel)",
            Stat::Amv => "AM-V: std over the maps (n - 1), same 0-1 activation units",
            Stat::Median => "median activation (0-1 activation units)",
            Stat::Mad => "MAD: 1.4826 x median |x - median| (0-1 activation units)",
            Stat::MedianLower => "lower median, torch.median (0-1 activation units)",
            Stat::MadLower => "1.4826 x lower median |x - lower median| (0-1 units)",
            Stat::StdMad => "std of (x - lower median)^2 (squared activation units)",
        }
    }

    /// The values of this statistic in `s`, if computed.
    pub fn of(self, s: &GroupStats) -> Option<&[f64]> {
        match self {
            Stat::Mam => Some(&s.mean),
            Stat::Amv => Some(&s.std),
            Stat::Median => s.median.as_deref(),
            Stat::Mad => s.mad.as_deref(),
            Stat::MedianLower => s.median_lower.as_deref(),
            Stat::MadLower => s.mad_lower.as_deref(),
            Stat::StdMad => s.std_mad.as_deref(),
        }
    }
}

/// Distribution shift between the per-pixel values of two maps.
#[derive(Debug, Clone, PartialEq)]
pub struct Shift {
    /// Two-sample Kolmogorov-Smirnov statistic.
    pub ks: f64,
    /// Its asymptotic p-value (descriptive: pixels are not independent).
    pub ks_p: f64,
    /// 1-Wasserstein distance.
    pub wasserstein: f64,
    /// KDE grid and densities (high, low); `None` when a map is constant.
    pub kde: Option<(Vec<f64>, Vec<f64>, Vec<f64>)>,
}

/// KS, W1 and the two kernel density curves of maps `a` (high) and `b` (low).
pub fn distribution_shift(a: &[f64], b: &[f64], context: &str) -> Result<Shift> {
    let ks = ks_2samp(a, b).map_err(AnalysisError::math(context))?;
    let wasserstein = wasserstein_1(a, b).map_err(AnalysisError::math(context))?;
    let kde = match (GaussianKde::new(a), GaussianKde::new(b)) {
        (Ok(ka), Ok(kb)) => {
            let lo = a.iter().chain(b).copied().fold(f64::INFINITY, f64::min);
            let hi = a.iter().chain(b).copied().fold(f64::NEG_INFINITY, f64::max);
            let pad = 3.0 * ka.bandwidth().max(kb.bandwidth());
            let grid = linspace(lo - pad, hi + pad, KDE_POINTS);
            let da = ka.evaluate_grid(&grid);
            let db = kb.evaluate_grid(&grid);
            Some((grid, da, db))
        }
        _ => None,
    };
    Ok(Shift {
        ks: ks.statistic,
        ks_p: ks.p_value,
        wasserstein,
        kde,
    })
}

/// Mean of the map inside and outside the region, and outside / inside.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct RegionRow {
    /// Mean inside the central face region.
    pub inside: f64,
    /// Mean outside it.
    pub outside: f64,
    /// outside / inside.
    pub ratio: f64,
}

/// [`RegionRow`] of `map` (`inside[p]` true in the region).
pub fn region_row(map: &[f64], inside: &[bool]) -> Result<RegionRow> {
    let r = region_means(map, inside).map_err(AnalysisError::math("region means"))?;
    Ok(RegionRow {
        inside: r.inside,
        outside: r.outside,
        ratio: r.ratio,
    })
}

/// The deviation map `|a - b|` (mirrored and averaged with `symmetric`).
pub fn deviation_map(
    a: &[f64],
    b: &[f64],
    (h, w): (usize, usize),
    symmetric_: bool,
) -> Result<Vec<f64>> {
    let d = deviation(a, b).map_err(AnalysisError::math("deviation map"))?;
    if symmetric_ {
        symmetric(&d, h, w).map_err(AnalysisError::math("symmetric deviation map"))
    } else {
        Ok(d)
    }
}

/// Outcome of the permutation test of one method.
#[derive(Debug, Clone, PartialEq)]
pub struct PermutationOutcome {
    /// Observed `mean_outside(AM-V low) - mean_outside(AM-V high)`.
    pub observed: f64,
    /// One-sided p-value.
    pub p_value: f64,
    /// Permutations at least as large as the observation.
    pub extreme: usize,
    /// Permutations run.
    pub n_perm: usize,
    /// The statistic of every permutation, in order.
    pub null: Vec<f64>,
}

/// The pooled maps of the permutation tests and how they were collected.
#[derive(Debug, Clone, Copy)]
pub struct PermutationData<'a> {
    /// The collected data.
    pub pooled: &'a Pooled,
    /// The store rows they belong to, ascending.
    pub pool_rows: &'a [usize],
    /// The store's upsampler.
    pub up: &'a amva_math::resample::Upsampler,
    /// True outside the central face region.
    pub outside: &'a [bool],
}

/// Runs the permutation test of the outside AM-V difference for one method's
/// `high` and `low` rows (disjoint, all pooled).
pub fn permutation_outside_amv(
    data: &PermutationData<'_>,
    high: &[usize],
    low: &[usize],
    n_perm: usize,
    seed: u64,
) -> Result<PermutationOutcome> {
    let PermutationData {
        pooled,
        pool_rows,
        up,
        outside,
    } = *data;
    let index = |r: &usize| {
        pool_rows.binary_search(r).map_err(|_| {
            AnalysisError::store("permutation test", format!("row {r} was not pooled"))
        })
    };
    let items: Vec<usize> = high.iter().chain(low).map(index).collect::<Result<_>>()?;
    let labels: Vec<bool> = (0..items.len()).map(|i| i >= high.len()).collect();
    let stat = OutsideAmvDifference::new(pooled, items, up, outside)?;
    let mut values = Vec::with_capacity(n_perm + 1);
    let r = permutation_test(
        &labels,
        |l| {
            let t = stat.statistic(l);
            values.push(t);
            t
        },
        &PermutationOptions {
            n_perm,
            seed,
            alternative: Alternative::Greater,
        },
    )
    .map_err(AnalysisError::math(
        "permutation test of the outside AM-V difference",
    ))?;
    Ok(PermutationOutcome {
        observed: r.observed,
        p_value: r.p_value,
        extreme: r.extreme,
        n_perm: r.n_perm,
        null: values.split_off(1),
    })
}

/// A file-name-safe, unique key for each method name.
fn method_keys(names: &[&str]) -> Vec<String> {
    let mut used: Vec<String> = Vec::new();
    for n in names {
        let mut k: String = n
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        if k.is_empty() || k.starts_with('.') {
            k = format!("m{k}");
        }
        let base = k.clone();
        let mut i = 2;
        while used.contains(&k) {
            k = format!("{base}_{i}");
            i += 1;
        }
        used.push(k);
    }
    used
}

fn sha256_file(path: &Path) -> Option<String> {
    amva_io::fetch::sha256_file(path).ok()
}

fn fmt(x: f64) -> String {
    amva_report::format_number(x, 4)
}

/// The mean face (per-pixel mean of RGB) of `ids`, resized to `w x h`. Unreadable
/// images are skipped and counted.
fn mean_face(
    paths: &HashMap<String, PathBuf>,
    ids: &[&str],
    (h, w): (usize, usize),
) -> Option<(RgbImage, usize, usize)> {
    let mut sum = vec![0f64; h * w * 3];
    let (mut used, mut failed) = (0usize, 0usize);
    for id in ids {
        let Some(p) = paths.get(*id) else {
            failed += 1;
            continue;
        };
        match amva_io::images::load_rgb(p)
            .and_then(|img| amva_io::images::fit(img, w as u32, h as u32, true, p))
        {
            Ok(img) => {
                for (s, &v) in sum.iter_mut().zip(img.as_raw()) {
                    *s += f64::from(v);
                }
                used += 1;
            }
            Err(_) => failed += 1,
        }
    }
    if used == 0 {
        return None;
    }
    let raw: Vec<u8> = sum
        .iter()
        .map(|s| (s / used as f64).round().clamp(0.0, 255.0) as u8)
        .collect();
    RgbImage::from_raw(w as u32, h as u32, raw).map(|img| (img, used, failed))
}

/// One block of a method's part of the report.
enum Item {
    Sub(String),
    Para(String),
    Table(Table),
    Fig(usize),
}

fn table_row(t: Table, cells: Vec<Cell>) -> Result<Table> {
    t.row(cells).map_err(AnalysisError::report("report table"))
}

/// Runs the analysis (see the module docs for the files written).
pub fn analyze(opts: &AnalyzeOptions, progress: Progress<'_>) -> Result<Outcome> {
    let started = std::time::Instant::now();
    if !(opts.region_margin >= 0.0 && opts.region_margin.is_finite()) {
        return Err(AnalysisError::Option {
            option: "--region-margin".into(),
            reason: format!("{} is not a number of pixels >= 0", opts.region_margin),
        });
    }
    if let Some(b) = opts.rules.bins {
        if b < 2 {
            return Err(AnalysisError::Option {
                option: "--bins".into(),
                reason: format!("{b}: a trend needs at least 2 bins"),
            });
        }
    }
    let source = MapSource::open(&opts.maps, opts.map_kind)?;
    if let (Ok(a), Ok(b)) = (opts.out.canonicalize(), opts.maps.canonicalize()) {
        if a == b {
            return Err(AnalysisError::Option {
                option: "--out".into(),
                reason: "is the map store itself; choose another folder".into(),
            });
        }
    }
    let methods: Vec<MethodScores> = read_scores(&opts.scores, &opts.directions)?;
    let groups: Vec<MethodGroups> = methods
        .iter()
        .map(|m| join_and_group(source.ids(), &opts.maps, m, &opts.rules))
        .collect::<Result<_>>()?;
    let names: Vec<&str> = groups.iter().map(|g| g.name.as_str()).collect();
    let keys = method_keys(&names);
    let shape = source.full_shape();
    let (h, w) = shape;
    let p = h * w;
    let margin_px = opts.region_margin * w as f64 / ARCFACE_SIZE;
    let inside = face_region_mask(h, w, margin_px).map_err(|e| AnalysisError::Option {
        option: "--region-margin".into(),
        reason: format!(
            "{} px (on the {h} x {w} maps: {margin_px:.2} px): {e}",
            opts.region_margin
        ),
    })?;
    let outside: Vec<bool> = inside.iter().map(|i| !i).collect();
    let mut notes: Vec<String> = Vec::new();
    std::fs::create_dir_all(&opts.out).map_err(|e| AnalysisError::io(&opts.out, e))?;

    // --- Pooled images of the permutation tests.
    let mut pool_rows: Vec<usize> = Vec::new();
    let mut perm_skip: BTreeMap<usize, String> = BTreeMap::new();
    if opts.permutations > 0 {
        for (i, g) in groups.iter().enumerate() {
            if g.overlap > 0 {
                perm_skip.insert(i, format!("{} images are in both the high and the low group, so the labels cannot be permuted", g.overlap));
                continue;
            }
            pool_rows.extend(&g.high.rows);
            pool_rows.extend(&g.low.rows);
        }
        pool_rows.sort_unstable();
        pool_rows.dedup();
    }
    let low_rank = source.kind() == MapKind::Low;
    let outside_count = outside.iter().filter(|o| **o).count();
    let pool_bytes = PooledCollector::bytes_for(
        pool_rows.len(),
        low_rank.then(|| source.row_len()),
        outside_count,
    );
    if !pool_rows.is_empty() && !low_rank && pool_bytes > opts.budget_bytes {
        for i in 0..groups.len() {
            perm_skip.entry(i).or_insert_with(|| format!(
                "the pooled full maps need {} MiB, more than the memory budget ({} MiB); raise --memory",
                pool_bytes >> 20,
                opts.budget_bytes >> 20
            ));
        }
        pool_rows.clear();
    }
    let mut collector = (!pool_rows.is_empty()).then(|| {
        PooledCollector::new(
            pool_rows.clone(),
            low_rank.then(|| source.upsampler()),
            &outside,
        )
    });

    // --- Statistics of every group of every method, in one set of passes.
    let all_rows: Vec<&[usize]> = groups
        .iter()
        .flat_map(|g| g.all_groups().into_iter().map(|x| x.rows.as_slice()))
        .collect();
    let stats_opts = StatsOptions {
        robust: true,
        compat_paper: opts.compat_paper,
        budget_bytes: opts.budget_bytes,
        chunk_rows: 256,
    };
    let total_cols: usize = all_rows.iter().map(|r| r.len()).sum();
    let total_reads = source.len() * crate::setstats::plan(total_cols, p, &stats_opts).1;
    let mut read = 0usize;
    let (stats, passes) = group_statistics(
        &source,
        &all_rows,
        &stats_opts,
        collector.as_mut(),
        &mut |n| {
            read += n;
            progress("statistics", read, total_reads);
        },
    )?;
    let pooled = collector.map(|c| c.finish()).transpose()?;
    let mut stats_iter = stats.into_iter();
    let per_method: Vec<Vec<GroupStats>> = groups
        .iter()
        .map(|g| {
            (0..g.all_groups().len())
                .filter_map(|_| stats_iter.next())
                .collect()
        })
        .collect();

    // --- Output folders, mask, image paths for mean faces.
    let arrays = opts.out.join("arrays");
    std::fs::create_dir_all(&arrays).map_err(|e| AnalysisError::io(&arrays, e))?;
    let save = |rel: &str, dims: &[usize], data: &[f64]| -> Result<String> {
        let path = opts.out.join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| AnalysisError::io(parent, e))?;
        }
        amva_io::npy::write_f32(&path, dims, &to_f32(data))?;
        Ok(rel.to_string())
    };
    let mask_f: Vec<f64> = inside.iter().map(|&i| if i { 1.0 } else { 0.0 }).collect();
    save("arrays/region_mask.npy", &[h, w], &mask_f)?;
    let outline = Outline::new(
        inside.clone(),
        h,
        w,
        format!(
            "central face region (landmark hull + {} px)",
            opts.region_margin
        ),
    )
    .map_err(AnalysisError::report("region outline"))?;
    let image_paths: Option<HashMap<String, PathBuf>> = if opts.figures {
        let spec = opts.images.clone().or_else(|| {
            source
                .info()
                .images
                .as_ref()
                .map(PathBuf::from)
                .filter(|p| p.exists())
        });
        match spec {
            Some(s) => match amva_io::images::ImageList::open(&s) {
                Ok(list) => Some(list.items.into_iter().map(|it| (it.id, it.path)).collect()),
                Err(e) => {
                    notes.push(format!("no mean faces under the overlays: {e}"));
                    None
                }
            },
            None => {
                notes.push("no mean faces under the overlays: the images of the maps were not found (give --images)".into());
                None
            }
        }
    } else {
        None
    };
    let mut figures = if opts.figures {
        Some(Figures::new(&opts.out)?)
    } else {
        None
    };

    // --- Per method.
    let mut method_json = serde_json::Map::new();
    let mut sections: Vec<(String, Vec<Item>)> = Vec::new();
    let mut unmatched: Vec<[String; 3]> = Vec::new();
    let stat_list: Vec<Stat> = Stat::ALL
        .iter()
        .copied()
        .filter(|s| {
            opts.compat_paper || matches!(s, Stat::Mam | Stat::Amv | Stat::Median | Stat::Mad)
        })
        .collect();
    for (mi, (g, gstats)) in groups.iter().zip(&per_method).enumerate() {
        let key = &keys[mi];
        let name = g.name.as_str();
        let mut items: Vec<Item> = Vec::new();
        progress(&format!("method {name}"), mi, groups.len());
        let all = g.all_groups();
        // Lists: groups CSV and unmatched ids.
        {
            let mut member: HashMap<usize, Vec<&str>> = HashMap::new();
            for grp in &all {
                for &r in &grp.rows {
                    member.entry(r).or_default().push(grp.key.as_str());
                }
            }
            let mut wr = csv::Writer::from_writer(Vec::new());
            let csv_err = |e: csv::Error| AnalysisError::store("groups csv", e.to_string());
            wr.write_record(["image", "row", "score", "groups"])
                .map_err(csv_err)?;
            for (r, s) in g.rows.iter().zip(&g.scores) {
                let m = member.get(r).map(|v| v.join(";")).unwrap_or_default();
                wr.write_record([
                    source.ids()[*r].as_str(),
                    &r.to_string(),
                    &format!("{s}"),
                    &m,
                ])
                .map_err(csv_err)?;
            }
            let bytes = wr
                .into_inner()
                .map_err(|e| AnalysisError::store("groups csv", e.to_string()))?;
            let dir = opts.out.join("groups");
            std::fs::create_dir_all(&dir).map_err(|e| AnalysisError::io(&dir, e))?;
            amva_io::atomic::write_atomic(&dir.join(format!("{key}.csv")), &bytes)?;
            for s in &g.without_map {
                unmatched.push([
                    name.into(),
                    s.image.clone(),
                    format!("score on line {} but no map", s.line),
                ]);
            }
            for s in &g.non_finite {
                unmatched.push([
                    name.into(),
                    s.image.clone(),
                    format!(
                        "score {} on line {} is not finite: excluded",
                        s.score, s.line
                    ),
                ]);
            }
            for &r in &g.without_score {
                unmatched.push([
                    name.into(),
                    source.ids()[r].clone(),
                    "map but no score".into(),
                ]);
            }
        }
        if g.overlap > 0 {
            notes.push(format!(
                "method '{name}': {} images are in both the high ({}) and the low ({}) group",
                g.overlap, g.high.rule, g.low.rule
            ));
        }

        // Per-group arrays, summaries, region rows.
        let mut groups_json = Vec::new();
        let mut region_rows: Vec<(String, usize, RegionRow, RegionRow)> = Vec::new();
        for (grp, st) in all.iter().zip(gstats) {
            let mut sj = serde_json::Map::new();
            let mut rj = serde_json::Map::new();
            for &s in &stat_list {
                let Some(v) = s.of(st) else { continue };
                let file = save(
                    &format!("arrays/{key}/{}_{}.npy", grp.key, s.key()),
                    &[h, w],
                    v,
                )?;
                let mean = v.iter().sum::<f64>() / v.len() as f64;
                let lo = v.iter().copied().fold(f64::INFINITY, f64::min);
                let hi = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                sj.insert(
                    s.key().into(),
                    json!({"file": file, "mean": mean, "min": lo, "max": hi}),
                );
                rj.insert(
                    s.key().into(),
                    serde_json::to_value(region_row(v, &inside)?).unwrap_or(Value::Null),
                );
            }
            let rm = region_row(&st.mean, &inside)?;
            let ra = region_row(&st.std, &inside)?;
            region_rows.push((grp.name.clone(), st.n, rm, ra));
            groups_json.push(json!({
                "name": grp.name, "key": grp.key, "rule": grp.rule, "n": st.n, "flat_maps": st.flat,
                "score_min": grp.score_range.0, "score_max": grp.score_range.1,
                "stats": sj, "region": rj,
            }));
        }
        let (hs, ls) = (&gstats[0], &gstats[1]);

        // Deviation maps.
        let mut dev_json = serde_json::Map::new();
        let mut devs: Vec<(Stat, Vec<f64>)> = Vec::new();
        for &s in &stat_list {
            let (Some(a), Some(b)) = (s.of(hs), s.of(ls)) else {
                continue;
            };
            let d = deviation_map(a, b, shape, opts.symmetric)?;
            let file = save(&format!("arrays/{key}/d_{}.npy", s.key()), &[h, w], &d)?;
            let max = max_of(&d);
            dev_json.insert(
                s.key().into(),
                json!({
                    "file": file, "max": max, "mean": d.iter().sum::<f64>() / p as f64,
                    "region": serde_json::to_value(region_row(&d, &inside)?).unwrap_or(Value::Null),
                    "symmetric": opts.symmetric,
                }),
            );
            devs.push((s, d));
        }

        // Distribution shift.
        let mut shift_json = serde_json::Map::new();
        let mut shifts: Vec<(Stat, Shift)> = Vec::new();
        for s in [Stat::Amv, Stat::Mam, Stat::Median] {
            let (Some(a), Some(b)) = (s.of(hs), s.of(ls)) else {
                continue;
            };
            let sh = distribution_shift(
                a,
                b,
                &format!("method '{name}', {} distribution", s.label()),
            )?;
            let kde_file = match &sh.kde {
                Some((x, da, db)) => {
                    let data: Vec<f64> = x.iter().chain(da).chain(db).copied().collect();
                    Some(save(
                        &format!("arrays/{key}/kde_{}.npy", s.key()),
                        &[3, x.len()],
                        &data,
                    )?)
                }
                None => None,
            };
            shift_json.insert(s.key().into(), json!({
                "ks": sh.ks, "ks_p": sh.ks_p, "wasserstein": sh.wasserstein, "kde_file": kde_file,
                "kde_rows": ["grid", "density high", "density low"],
                "note": if sh.kde.is_none() { Some("a map is constant: no density curve") } else { None },
            }));
            shifts.push((s, sh));
        }

        // Spatial profiles of AM-V.
        let px = [
            profile_over_x(&hs.std, h, w).map_err(AnalysisError::math("profile"))?,
            profile_over_x(&ls.std, h, w).map_err(AnalysisError::math("profile"))?,
        ];
        let py = [
            profile_over_y(&hs.std, h, w).map_err(AnalysisError::math("profile"))?,
            profile_over_y(&ls.std, h, w).map_err(AnalysisError::math("profile"))?,
        ];
        let fx = save(
            &format!("arrays/{key}/profile_x.npy"),
            &[2, w],
            &[px[0].clone(), px[1].clone()].concat(),
        )?;
        let fy = save(
            &format!("arrays/{key}/profile_y.npy"),
            &[2, h],
            &[py[0].clone(), py[1].clone()].concat(),
        )?;

        // Permutation test.
        let mut perm_json = json!(null);
        let mut perm: Option<PermutationOutcome> = None;
        let exact_observed =
            region_row(&ls.std, &inside)?.outside - region_row(&hs.std, &inside)?.outside;
        match (&pooled, perm_skip.get(&mi)) {
            (_, Some(reason)) => {
                perm_json = json!({"skipped": reason});
            }
            (None, None) => {
                perm_json = json!({"skipped": "--permutations 0"});
            }
            (Some(pd), None) => {
                progress(&format!("permutations {name}"), 0, opts.permutations);
                let data = PermutationData {
                    pooled: pd,
                    pool_rows: &pool_rows,
                    up: source.upsampler(),
                    outside: &outside,
                };
                let r = permutation_outside_amv(
                    &data,
                    &g.high.rows,
                    &g.low.rows,
                    opts.permutations,
                    opts.seed,
                )?;
                let mut all_t = vec![r.observed];
                all_t.extend(&r.null);
                let file = save(
                    &format!("arrays/{key}/permutation.npy"),
                    &[all_t.len()],
                    &all_t,
                )?;
                perm_json = json!({
                    "statistic": "mean AM-V outside the face region: low group minus high group",
                    "alternative": "greater", "observed": r.observed, "observed_per_pixel_path": exact_observed,
                    "p_value": r.p_value, "extreme": r.extreme, "n_perm": r.n_perm, "seed": opts.seed,
                    "method": if matches!(pd, Pooled::LowRank { .. }) { "low-rank moments of the stored low-resolution maps" } else { "direct, outside pixels of the full maps" },
                    "file": file, "file_rows": "observed, then one value per permutation",
                });
                perm = Some(r);
            }
        }

        // Trend across bins.
        let mut trend_json = json!(null);
        let mut trend: Option<(Vec<f64>, Vec<f64>, f64)> = None;
        if !g.bins.is_empty() {
            let bstats = &gstats[2..];
            let ins: Vec<f64> = bstats
                .iter()
                .map(|s| region_row(&s.std, &inside).map(|r| r.inside))
                .collect::<Result<_>>()?;
            let outs: Vec<f64> = bstats
                .iter()
                .map(|s| region_row(&s.std, &inside).map(|r| r.outside))
                .collect::<Result<_>>()?;
            let idx: Vec<f64> = (1..=outs.len()).map(|i| i as f64).collect();
            let (rho, why) = match spearman(&idx, &outs) {
                Ok(r) => (r, None),
                Err(e) => (f64::NAN, Some(e.to_string())),
            };
            let data: Vec<f64> = ins.iter().zip(&outs).flat_map(|(a, b)| [*a, *b]).collect();
            let file = save(
                &format!("arrays/{key}/bins_region.npy"),
                &[outs.len(), 2],
                &data,
            )?;
            trend_json = json!({
                "bins": outs.len(), "outside_amv": outs, "inside_amv": ins,
                "spearman_bin_vs_outside_amv": rho, "spearman_note": why, "file": file,
                "file_columns": ["inside", "outside"], "order": "bin 1 = worst quality",
            });
            trend = Some((ins, outs, rho));
        }

        let direction_text = match g.direction {
            Direction::Higher => "higher is better",
            Direction::Lower => "lower is better",
        };
        let ms = &methods[mi];
        method_json.insert(name.into(), json!({
            "key": key,
            "direction": g.direction.to_string(),
            "direction_source": ms.direction_source.as_str(),
            "score_file": ms.source,
            "images": {
                "finite_scores": ms.scores.len(), "non_finite_scores": ms.non_finite.len(),
                "repeated_rows": ms.repeated, "matched": g.rows.len(),
                "scores_without_map": g.without_map.len(), "maps_without_score": g.without_score.len(),
                "high_low_overlap": g.overlap,
            },
            "groups": groups_json,
            "deviation": dev_json,
            "distribution_shift": shift_json,
            "profiles": {"x": {"file": fx, "rows": ["AM-V high", "AM-V low"], "what": "AM-V summed over rows (one value per column)"},
                         "y": {"file": fy, "rows": ["AM-V high", "AM-V low"], "what": "AM-V summed over columns (one value per row)"}},
            "permutation_test": perm_json,
            "trend": trend_json,
            "groups_file": format!("groups/{key}.csv"),
        }));

        // Report part of this method.
        let Some(figs) = figures.as_mut() else {
            continue;
        };
        let src = |path: &str| format!("Source: summary.json, methods.\"{name}\".{path}.");
        items.push(Item::Para(format!(
            "Scores from {} ({direction_text}, direction from {}). {} images have a map and a finite score; the groups are listed in groups/{key}.csv.",
            ms.source.display(), ms.direction_source.as_str(), g.rows.len()
        )));
        let mut t = Table::new([
            "group",
            "rule",
            "images",
            "flat maps",
            "lowest score",
            "highest score",
        ])
        .caption(format!("Groups. {}", src("groups")));
        for (grp, st) in all.iter().zip(gstats) {
            t = table_row(
                t,
                vec![
                    grp.name.clone().into(),
                    grp.rule.clone().into(),
                    st.n.into(),
                    st.flat.into(),
                    grp.score_range.0.into(),
                    grp.score_range.1.into(),
                ],
            )?;
        }
        items.push(Item::Table(t));

        // Heatmaps of high and low, each statistic on one shared range.
        items.push(Item::Sub(
            "Set statistics of the high and low groups".into(),
        ));
        let mut header = vec!["group".to_string()];
        header.extend(stat_list.iter().map(|s| format!("mean {}", s.label())));
        let mut t = Table::new(header).caption(format!(
            "Per-pixel statistics averaged over the map (max in the figures). {}",
            src("groups[].stats")
        ));
        for (grp, st) in all.iter().zip(gstats) {
            let mut row: Vec<Cell> = vec![grp.name.clone().into()];
            for s in &stat_list {
                row.push(
                    s.of(st)
                        .map(|v| Cell::Num(v.iter().sum::<f64>() / v.len() as f64))
                        .unwrap_or(Cell::Empty),
                );
            }
            t = table_row(t, row)?;
        }
        items.push(Item::Table(t));
        for &s in &stat_list {
            let (Some(a), Some(b)) = (s.of(hs), s.of(ls)) else {
                continue;
            };
            let hi = max_of(a).max(max_of(b));
            // High and low side by side, on one colour range, in one figure.
            let mut pair = Vec::new();
            for (grp, v, st) in [(&g.high, a, hs), (&g.low, b, ls)] {
                let title = format!("{} of {} group, {name} ({})", s.label(), grp.name, grp.rule);
                pair.push(heatmap(
                    v,
                    shape,
                    &title,
                    s.meaning(),
                    (0.0, hi),
                    Some(&outline),
                    Some(format!(
                        "n = {} maps; file arrays/{key}/{}_{}.npy",
                        st.n,
                        grp.key,
                        s.key()
                    )),
                )?);
            }
            let fi = figs.add(
                &format!("{key}_{}_high_low", s.key()),
                format!(
                    "{} of the high ({}) and low ({}) groups of {name}, on one colour range.",
                    s.label(),
                    g.high.rule,
                    g.low.rule
                ),
                &crate::figures::side_by_side(&pair),
            )?;
            items.push(Item::Fig(fi));
        }

        // Deviation maps.
        items.push(Item::Sub("Deviation maps |high - low|".into()));
        let mut t = Table::new([
            "statistic",
            "max |high - low|",
            "mean",
            "mean inside",
            "mean outside",
            "outside / inside",
        ])
        .caption(format!(
            "Deviation maps{}. {}",
            if opts.symmetric {
                " (averaged with their mirror image, --symmetric)"
            } else {
                ""
            },
            src("deviation")
        ));
        for (s, d) in &devs {
            let r = region_row(d, &inside)?;
            t = table_row(
                t,
                vec![
                    format!("D-{}", s.label()).into(),
                    max_of(d).into(),
                    (d.iter().sum::<f64>() / p as f64).into(),
                    r.inside.into(),
                    r.outside.into(),
                    r.ratio.into(),
                ],
            )?;
        }
        items.push(Item::Table(t));
        for (s, d) in &devs {
            let max = max_of(d);
            let norm = normalise_by_max(d);
            let title = format!(
                "D-{} = |{} high - {} low|, {name}",
                s.label(),
                s.label(),
                s.label()
            );
            let cb = format!(
                "D-{} / max (1.0 = {} {} units)",
                s.label(),
                fmt(max),
                s.label()
            );
            let img = heatmap(
                &norm,
                shape,
                &title,
                &cb,
                (0.0, 1.0),
                Some(&outline),
                Some(format!(
                    "shown divided by its max, {}; file arrays/{key}/d_{}.npy",
                    fmt(max),
                    s.key()
                )),
            )?;
            let fi = figs.add(
                &format!("{key}_d_{}", s.key()),
                format!(
                    "D-{} of {name}, divided by its maximum {}.",
                    s.label(),
                    fmt(max)
                ),
                &img,
            )?;
            items.push(Item::Fig(fi));
        }
        // Overlays on the mean faces.
        if let Some(paths) = &image_paths {
            let ids = |grp: &Group| {
                grp.rows
                    .iter()
                    .map(|&r| source.ids()[r].as_str())
                    .collect::<Vec<_>>()
            };
            if let Some((face, used, failed)) = mean_face(paths, &ids(&g.high), shape) {
                if let Some((_, d)) = devs.iter().find(|(s, _)| *s == Stat::Amv) {
                    let max = max_of(d);
                    let img = heatmap_over(
                        &normalise_by_max(d),
                        shape,
                        &face,
                        &format!("D-AM-V over the mean face of the high group, {name}"),
                        &format!(
                            "D-AM-V / max (1.0 = {} AM-V units), jet added at 50%",
                            fmt(max)
                        ),
                        (0.0, 1.0),
                        Some(format!(
                            "mean of {used} high-group faces{}",
                            if failed > 0 {
                                format!(" ({failed} unreadable)")
                            } else {
                                String::new()
                            }
                        )),
                    )?;
                    let fi = figs.add(
                        &format!("{key}_d_amv_overlay"),
                        format!("D-AM-V of {name} over the mean face of its high group."),
                        &img,
                    )?;
                    items.push(Item::Fig(fi));
                }
            }
            if let Some((face, used, _)) = mean_face(paths, &ids(&g.low), shape) {
                let hi = max_of(&hs.std).max(max_of(&ls.std));
                let norm: Vec<f64> = ls
                    .std
                    .iter()
                    .map(|v| v / hi.max(f64::MIN_POSITIVE))
                    .collect();
                let img = heatmap_over(
                    &norm,
                    shape,
                    &face,
                    &format!("AM-V of the low group over its mean face, {name}"),
                    &format!("AM-V / {} (the larger max of high and low)", fmt(hi)),
                    (0.0, 1.0),
                    Some(format!("mean of {used} low-group faces")),
                )?;
                let fi = figs.add(
                    &format!("{key}_amv_low_overlay"),
                    format!("AM-V of the low group of {name} over the mean face of that group."),
                    &img,
                )?;
                items.push(Item::Fig(fi));
            }
        }

        // Distribution shift.
        items.push(Item::Sub("Distribution shift between high and low".into()));
        let mut t = Table::new(["statistic", "KS D", "KS p (descriptive)", "1-Wasserstein"])
            .caption(format!(
                "Per-pixel values of the high vs the low group's map. {}",
                src("distribution_shift")
            ));
        for (s, sh) in &shifts {
            t = table_row(
                t,
                vec![
                    s.label().into(),
                    sh.ks.into(),
                    sh.ks_p.into(),
                    sh.wasserstein.into(),
                ],
            )?;
        }
        items.push(Item::Table(t));
        for (s, sh) in &shifts {
            let Some((x, da, db)) = &sh.kde else { continue };
            let title = format!(
                "Distribution of per-pixel {}: high vs low, {name}",
                s.label()
            );
            let xl = format!("{} per pixel (0-1 activation units)", s.label());
            let mut plot = Plot::new(&title, &xl, "density");
            plot.series.push(Curve::line(
                format!("high ({}, n = {})", g.high.rule, hs.n),
                x.iter().copied().zip(da.iter().copied()).collect(),
            ));
            plot.series.push(Curve::line(
                format!("low ({}, n = {})", g.low.rule, ls.n),
                x.iter().copied().zip(db.iter().copied()).collect(),
            ));
            plot.annotations = vec![
                format!("KS D = {}", fmt(sh.ks)),
                format!("W1 = {}", fmt(sh.wasserstein)),
            ];
            plot.note = Some(format!(
                "Gaussian KDE, Scott's bandwidth, over the {p} pixels of each map"
            ));
            let fi = figs.add(
                &format!("{key}_kde_{}", s.key()),
                format!(
                    "Kernel density of the per-pixel {} of the high and low groups of {name}.",
                    s.label()
                ),
                &plot.render()?,
            )?;
            items.push(Item::Fig(fi));
        }

        // Profiles.
        items.push(Item::Sub("Spatial profiles of AM-V".into()));
        for (axis, prof, xl, note) in [
            ("x", &px, "x (pixel column)", "summed over rows"),
            ("y", &py, "y (pixel row, 0 = top)", "summed over columns"),
        ] {
            let title = format!("AM-V profile over {axis}, {name}");
            let yl = format!("AM-V {note}");
            let mut plot = Plot::new(&title, xl, &yl);
            for (label, v) in [("high", &prof[0]), ("low", &prof[1])] {
                plot.series.push(Curve::line(
                    label.to_string(),
                    v.iter().enumerate().map(|(i, &y)| (i as f64, y)).collect(),
                ));
            }
            plot.note = Some(format!("file arrays/{key}/profile_{axis}.npy"));
            let fi = figs.add(
                &format!("{key}_profile_{axis}"),
                format!("AM-V of the high and low groups of {name} {note}."),
                &plot.render()?,
            )?;
            items.push(Item::Fig(fi));
        }

        // Region table.
        items.push(Item::Sub("Central face region".into()));
        let mut t = Table::new(["group", "images", "MAM inside", "MAM outside", "MAM out/in", "AM-V inside", "AM-V outside", "AM-V out/in"])
            .caption(format!("Mean MAM and AM-V inside and outside the central face region (hull of the 5 template landmarks + {} px). {}", opts.region_margin, src("groups[].region")));
        for (gname, n, rm, ra) in &region_rows {
            t = table_row(
                t,
                vec![
                    gname.clone().into(),
                    (*n).into(),
                    rm.inside.into(),
                    rm.outside.into(),
                    rm.ratio.into(),
                    ra.inside.into(),
                    ra.outside.into(),
                    ra.ratio.into(),
                ],
            )?;
        }
        items.push(Item::Table(t));

        // Permutation test.
        items.push(Item::Sub(
            "Permutation test: outside AM-V, low minus high".into(),
        ));
        match &perm {
            Some(r) => {
                items.push(Item::Para(format!(
                    "T = mean AM-V outside the face region of the low group minus that of the high group. Observed T = {}; {} of {} random relabellings (seed {}) gave T >= observed; one-sided p = {}. {}",
                    fmt(r.observed), r.extreme, r.n_perm, opts.seed, fmt(r.p_value), src("permutation_test")
                )));
                let lo = r
                    .null
                    .iter()
                    .copied()
                    .chain([r.observed])
                    .fold(f64::INFINITY, f64::min);
                let hi = r
                    .null
                    .iter()
                    .copied()
                    .chain([r.observed])
                    .fold(f64::NEG_INFINITY, f64::max);
                let bins = 40usize;
                let width = ((hi - lo) / bins as f64).max(f64::MIN_POSITIVE);
                let mut counts = vec![0f64; bins];
                for &t in &r.null {
                    counts[(((t - lo) / width) as usize).min(bins - 1)] += 1.0;
                }
                let mut pts: Vec<(f64, f64)> = counts
                    .iter()
                    .enumerate()
                    .map(|(i, &c)| (lo + i as f64 * width, c))
                    .collect();
                pts.push((hi, *counts.last().unwrap_or(&0.0)));
                let top = counts.iter().copied().fold(1.0, f64::max);
                let title = format!("Permutation null distribution, {name}");
                let mut plot = Plot::new(
                    &title,
                    "T = mean outside AM-V (low) - (high)",
                    "permutations per bin",
                );
                plot.steps = true;
                plot.series
                    .push(Curve::line(format!("{} permutations", r.n_perm), pts));
                plot.series.push(Curve::reference(
                    "observed",
                    vec![(r.observed, 0.0), (r.observed, top)],
                ));
                plot.annotations = vec![
                    format!("observed T = {}", fmt(r.observed)),
                    format!("p = {}", fmt(r.p_value)),
                ];
                plot.legend = Corner::UpperLeft;
                plot.annotation_corner = Corner::UpperRight;
                // Room right of the observed value for the annotation box.
                plot.x_range = Some((lo - 0.05 * (hi - lo), hi + 0.45 * (hi - lo)));
                let fi = figs.add(
                    &format!("{key}_permutation"),
                    format!("Null distribution of T for {name} and the observed value."),
                    &plot.render()?,
                )?;
                items.push(Item::Fig(fi));
            }
            None => items.push(Item::Para(format!(
                "Not run: {}.",
                perm_json["skipped"].as_str().unwrap_or("no permutations")
            ))),
        }

        // Trend across bins.
        if let Some((ins, outs, rho)) = &trend {
            items.push(Item::Sub(format!(
                "AM-V across {} quality bins",
                outs.len()
            )));
            let mut t = Table::new([
                "bin (1 = worst)",
                "images",
                "lowest score",
                "highest score",
                "AM-V inside",
                "AM-V outside",
            ])
            .caption(format!(
                "Spearman correlation of bin index and outside AM-V: {}. {}",
                fmt(*rho),
                src("trend")
            ));
            for (k, ((grp, st), (a, b))) in g
                .bins
                .iter()
                .zip(&gstats[2..])
                .zip(ins.iter().zip(outs))
                .enumerate()
            {
                t = table_row(
                    t,
                    vec![
                        (k + 1).into(),
                        st.n.into(),
                        grp.score_range.0.into(),
                        grp.score_range.1.into(),
                        (*a).into(),
                        (*b).into(),
                    ],
                )?;
            }
            items.push(Item::Table(t));
            let title = format!("Mean AM-V per quality bin, {name}");
            let mut plot = Plot::new(
                &title,
                "quality bin (1 = worst)",
                "mean AM-V (0-1 activation units)",
            );
            plot.series.push(Curve::line(
                "outside the face region",
                outs.iter()
                    .enumerate()
                    .map(|(i, &v)| ((i + 1) as f64, v))
                    .collect(),
            ));
            plot.series.push(Curve::line(
                "inside",
                ins.iter()
                    .enumerate()
                    .map(|(i, &v)| ((i + 1) as f64, v))
                    .collect(),
            ));
            plot.annotations = vec![format!("Spearman (bin, outside) = {}", fmt(*rho))];
            plot.annotation_corner = Corner::LowerLeft;
            let fi = figs.add(
                &format!("{key}_bins_trend"),
                format!("Mean AM-V inside and outside the face region per quality bin of {name}."),
                &plot.render()?,
            )?;
            items.push(Item::Fig(fi));
            let nb = g.bins.len();
            let hi = gstats[2..]
                .iter()
                .map(|s| max_of(&s.std))
                .fold(0.0, f64::max);
            let mut grid = Grid::new(1, nb)
                .map_err(AnalysisError::report("bins grid"))?
                .title(format!("AM-V per quality bin, {name}"))
                .row_labels([name])
                .col_titles((1..=nb).map(|k| match k {
                    1 => "bin 1 (worst)".to_string(),
                    k if k == nb => format!("bin {k} (best)"),
                    k => format!("bin {k}"),
                }))
                .colorbar_label(Stat::Amv.meaning())
                .range(0.0, hi.max(1e-12) as f32)
                .outline(outline.clone())
                .cell_size(if nb > 6 { 110 } else { 150 });
            for (k, st) in gstats[2..].iter().enumerate() {
                grid = grid
                    .cell(0, k, to_f32(&st.std), h, w)
                    .map_err(AnalysisError::report("bins grid"))?;
            }
            let img = grid.render().map_err(AnalysisError::report("bins grid"))?;
            let fi = figs.add(
                &format!("{key}_bins_amv"),
                format!("AM-V of each quality bin of {name} (bin 1 = worst)."),
                &img,
            )?;
            items.push(Item::Fig(fi));
        }
        sections.push((format!("{name} ({direction_text})"), items));
    }

    // --- Unmatched list.
    {
        let mut wr = csv::Writer::from_writer(Vec::new());
        let csv_err = |e: csv::Error| AnalysisError::store("unmatched.csv", e.to_string());
        wr.write_record(["method", "image", "reason"])
            .map_err(csv_err)?;
        for r in &unmatched {
            wr.write_record(r).map_err(csv_err)?;
        }
        let bytes = wr
            .into_inner()
            .map_err(|e| AnalysisError::store("unmatched.csv", e.to_string()))?;
        amva_io::atomic::write_atomic(&opts.out.join("unmatched.csv"), &bytes)?;
    }

    // --- Across methods.
    let mut across = json!({});
    let mut across_items: Vec<Item> = Vec::new();
    if groups.len() >= 2 {
        let mut sp = Vec::new();
        let mut jh = Vec::new();
        let mut jl = Vec::new();
        let mut t_sp = Table::new([
            "method A",
            "method B",
            "common images",
            "Spearman (direction-corrected)",
            "Jaccard high",
            "Jaccard low",
        ])
        .caption("Agreement of the methods. Source: summary.json, across_methods.");
        for a in 0..groups.len() {
            for b in a + 1..groups.len() {
                let (ga, gb) = (&groups[a], &groups[b]);
                let sb: HashMap<usize, f64> = gb
                    .rows
                    .iter()
                    .copied()
                    .zip(gb.scores.iter().copied())
                    .collect();
                let (mut xa, mut xb) = (Vec::new(), Vec::new());
                for (r, s) in ga.rows.iter().zip(&ga.scores) {
                    if let Some(t) = sb.get(r) {
                        xa.push(ga.direction.corrected(*s));
                        xb.push(gb.direction.corrected(*t));
                    }
                }
                let (rho, why) = match spearman(&xa, &xb) {
                    Ok(r) => (r, None),
                    Err(e) => (f64::NAN, Some(e.to_string())),
                };
                let jac = |x: &[usize], y: &[usize]| {
                    amva_math::compare::jaccard(x, y).unwrap_or(f64::NAN)
                };
                let (j1, j2) = (
                    jac(&ga.high.rows, &gb.high.rows),
                    jac(&ga.low.rows, &gb.low.rows),
                );
                sp.push(json!({"a": ga.name, "b": gb.name, "n": xa.len(), "spearman": rho, "note": why}));
                jh.push(json!({"a": ga.name, "b": gb.name, "jaccard": j1}));
                jl.push(json!({"a": ga.name, "b": gb.name, "jaccard": j2}));
                t_sp = table_row(
                    t_sp,
                    vec![
                        ga.name.clone().into(),
                        gb.name.clone().into(),
                        xa.len().into(),
                        rho.into(),
                        j1.into(),
                        j2.into(),
                    ],
                )?;
            }
        }
        across = json!({"spearman": sp, "jaccard_high": jh, "jaccard_low": jl,
            "note": "Spearman over the images with a map and a finite score in both methods, scores turned so that higher is better"});
        across_items.push(Item::Table(t_sp));
    }
    if let Some(figs) = figures.as_mut() {
        // Two panels in one figure: MAM (0-1 activation) and AM-V with D-AM-V, which
        // share their units (|AM-V high - AM-V low| is in AM-V units), each with its
        // own colour bar so that neither is washed out by the other's range.
        let amv_max = per_method
            .iter()
            .flat_map(|gs| [max_of(&gs[0].std), max_of(&gs[1].std)])
            .fold(1e-12, f64::max);
        let mut mam_grid = Grid::new(groups.len(), 2)
            .map_err(AnalysisError::report("methods grid"))?
            .title("MAM per FIQA method")
            .row_labels(groups.iter().map(|g| g.name.clone()))
            .col_titles(["MAM high", "MAM low"])
            .colorbar_label("MAM (0-1: 1 = strongest pixel of each map)")
            .range(0.0, 1.0)
            .outline(outline.clone())
            .cell_size(150);
        let mut amv_grid = Grid::new(groups.len(), 3)
            .map_err(AnalysisError::report("methods grid"))?
            .title("AM-V and D-AM-V per FIQA method")
            .row_labels(groups.iter().map(|g| g.name.clone()))
            .col_titles(["AM-V high", "AM-V low", "D-AM-V"])
            .colorbar_label("AM-V and |AM-V high - AM-V low| (0-1 activation units)")
            .range(0.0, amv_max as f32)
            .outline(outline.clone())
            .cell_size(150);
        for (r, gs) in per_method.iter().enumerate() {
            let d = deviation_map(&gs[0].std, &gs[1].std, shape, opts.symmetric)?;
            for (c, v) in [&gs[0].mean, &gs[1].mean].into_iter().enumerate() {
                mam_grid = mam_grid
                    .cell(r, c, to_f32(v), h, w)
                    .map_err(AnalysisError::report("methods grid"))?;
            }
            for (c, v) in [&gs[0].std, &gs[1].std, &d].into_iter().enumerate() {
                amv_grid = amv_grid
                    .cell(r, c, to_f32(v), h, w)
                    .map_err(AnalysisError::report("methods grid"))?;
            }
        }
        let img = crate::figures::side_by_side(&[
            mam_grid
                .render()
                .map_err(AnalysisError::report("methods grid"))?,
            amv_grid
                .render()
                .map_err(AnalysisError::report("methods grid"))?,
        ]);
        let fi = figs.add("methods_grid", "MAM and AM-V of the high and low groups and D-AM-V = |AM-V high - AM-V low| (same units as AM-V), one row per FIQA method.", &img)?;
        across_items.push(Item::Fig(fi));
    }

    // --- summary.json
    let score_files: Vec<Value> = opts
        .scores
        .iter()
        .map(|p| json!({"path": p, "sha256": sha256_file(p)}))
        .collect();
    let info = source.info();
    let flagged = source.flagged_flat().iter().filter(|f| **f).count();
    let inside_n = inside.iter().filter(|i| **i).count();
    let mut summary = json!({
        "amva_version": env!("CARGO_PKG_VERSION"),
        "kind": "analysis",
        "command_line": opts.command_line,
        "parameters": {
            "maps": opts.maps, "map_file": source.data_path().file_name().map(|n| n.to_string_lossy().into_owned()),
            "scores": score_files,
            "high": opts.rules.high.to_string(), "low": opts.rules.low.to_string(), "bins": opts.rules.bins,
            "directions": opts.directions.iter().map(|(m, d)| json!({"method": m, "direction": d.to_string()})).collect::<Vec<_>>(),
            "region_margin_px_112": opts.region_margin, "region_margin_px_maps": margin_px,
            "symmetric": opts.symmetric, "compat_paper": opts.compat_paper,
            "seed": opts.seed, "permutations": opts.permutations,
            "memory_budget_bytes": opts.budget_bytes,
        },
        "maps": {
            "dir": opts.maps, "count": source.len(), "flagged_flat": flagged,
            "map_shape": [info.map_shape.0, info.map_shape.1], "full_shape": [h, w],
            "model_sha256": info.model_sha256, "method": info.method, "layer": info.layer,
            "images": info.images,
            "meta": info.raw,
        },
        "region": {"mask_file": "arrays/region_mask.npy", "inside_pixels": inside_n, "outside_pixels": p - inside_n,
                   "definition": "convex hull of the ArcFace 112 template's 5 landmarks (scaled to the maps), grown by the margin"},
        "methods": method_json,
        "across_methods": across,
        "computation": {"passes": passes.passes, "block_pixels": passes.block_pixels, "column_bytes": passes.column_bytes,
                         "welford_bytes": passes.welford_bytes, "maps_finished": passes.maps_finished,
                         "seconds": started.elapsed().as_secs_f64()},
        "unmatched_file": "unmatched.csv",
        "notes": notes,
    });
    if let Some(figs) = &figures {
        summary["figures"] = json!(figs
            .all()
            .iter()
            .map(|f| json!({"file": f.file, "caption": f.caption}))
            .collect::<Vec<_>>());
        summary["report"] = json!("report.html");
    }
    amva_io::atomic::write_json(&opts.out.join("summary.json"), &summary)?;
    // A copy of the maps' meta.json so that `amva explain` finds the model and
    // parameters even if the store moves.
    amva_io::atomic::write_json(&opts.out.join("maps_meta.json"), &info.raw)?;

    // --- report.html
    if let Some(figs) = &figures {
        let mut report = Report::new(format!("amva analyze: {}", names.join(", ")));
        if let Some(c) = &opts.command_line {
            report.param("command", c.clone());
        }
        report.param("amva version", env!("CARGO_PKG_VERSION"));
        report.param(
            "maps",
            format!(
                "{} ({} maps, {}{})",
                opts.maps.display(),
                source.len(),
                source
                    .data_path()
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default(),
                if source.kind() == MapKind::Low {
                    ", finished on the fly"
                } else {
                    ", already finished"
                }
            ),
        );
        report.param(
            "map method / layer",
            format!(
                "{} / {}",
                info.method.as_deref().unwrap_or("unknown"),
                info.layer.as_deref().unwrap_or("unknown")
            ),
        );
        report.param(
            "FR model sha256",
            info.model_sha256
                .clone()
                .unwrap_or_else(|| "unknown".into()),
        );
        for f in &opts.scores {
            report.param(
                "score file",
                format!(
                    "{} (sha256 {})",
                    f.display(),
                    sha256_file(f).unwrap_or_default()
                ),
            );
        }
        report.param(
            "groups",
            format!(
                "high = {}, low = {}{}",
                opts.rules.high,
                opts.rules.low,
                opts.rules
                    .bins
                    .map(|b| format!(", {b} quality bins"))
                    .unwrap_or_default()
            ),
        );
        report.param(
            "face region",
            format!("landmark hull + {} px (112 frame)", opts.region_margin),
        );
        report.param(
            "options",
            format!(
                "symmetric = {}, compat paper = {}, permutations = {}, seed = {}",
                opts.symmetric, opts.compat_paper, opts.permutations, opts.seed
            ),
        );
        report.section("Data");
        report.paragraph(format!(
            "{} maps of {h} x {w} pixels ({} flagged flat in index.csv). Every image id without a partner and every excluded score is listed in unmatched.csv. All numbers below are in summary.json; every array is an .npy file under arrays/.",
            source.len(), flagged
        ));
        let mut t = Table::new([
            "method",
            "direction",
            "finite scores",
            "non-finite (excluded)",
            "with map",
            "scores without map",
            "maps without score",
            "high",
            "low",
        ])
        .caption("Scores joined to maps. Source: summary.json, methods.*.images.");
        for (g, ms) in groups.iter().zip(&methods) {
            t = table_row(
                t,
                vec![
                    g.name.clone().into(),
                    g.direction.to_string().into(),
                    ms.scores.len().into(),
                    ms.non_finite.len().into(),
                    g.rows.len().into(),
                    g.without_map.len().into(),
                    g.without_score.len().into(),
                    g.high.rows.len().into(),
                    g.low.rows.len().into(),
                ],
            )?;
        }
        report.table(t);
        for n in &notes {
            report.paragraph(format!("Note: {n}"));
        }
        let emit = |report: &mut Report, items: Vec<Item>| -> Result<()> {
            for it in items {
                match it {
                    Item::Sub(s) => {
                        report.subsection(s);
                    }
                    Item::Para(s) => {
                        report.paragraph(s);
                    }
                    Item::Table(t) => {
                        report.table(t);
                    }
                    Item::Fig(i) => {
                        let f = figs.get(i);
                        report
                            .figure_png(f.png.clone(), format!("{} File: {}.", f.caption, f.file))
                            .map_err(AnalysisError::report(&f.file))?;
                    }
                }
            }
            Ok(())
        };
        for (title, items) in sections {
            report.section(format!("Method {title}"));
            emit(&mut report, items)?;
        }
        report.section("Across methods");
        emit(&mut report, across_items)?;
        report.section("Files");
        report.code(
            "summary.json      every number of this report (and more)\n\
             figures/*.png     every figure\n\
             arrays/**/*.npy   every map, curve and permutation value (float32; np.load)\n\
             groups/*.csv      image,row,score,groups of each method\n\
             unmatched.csv     ids without a partner, excluded scores\n\
             maps_meta.json    the maps' meta.json (model, method, parameters), for `amva explain`",
        );
        report
            .write(opts.out.join("report.html"))
            .map_err(AnalysisError::report("report.html"))?;
    }
    Ok(Outcome {
        summary,
        passes,
        notes,
    })
}
