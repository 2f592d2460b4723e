//! Comparisons of one method's groups (ALGORITHMS 4), each computed once: per-group
//! summaries and region means of every statistic, deviation maps |high - low|, the
//! distribution shift, the AM-V profiles and the trend over quality bins.

use amva_math::compare::{
    deviation, ks_2samp, linspace, profile_over_x, profile_over_y, spearman, symmetric,
    wasserstein_1, GaussianKde,
};
use amva_math::region::region_means;

use crate::setstats::GroupStats;
pub use crate::stat::Stat;
use crate::summary::{PerStat, RegionRow};
use crate::{AnalysisError, Result};

/// Points of each kernel density curve.
pub const KDE_POINTS: usize = 256;

/// Finite maximum of a map (0 when none is positive).
pub fn max_of(v: &[f64]) -> f64 {
    v.iter()
        .copied()
        .filter(|x| x.is_finite())
        .fold(0.0, f64::max)
}

/// `f64` statistics as the `f32` that `.npy` files and figures hold.
pub fn to_f32(v: &[f64]) -> Vec<f32> {
    v.iter().map(|&x| x as f32).collect()
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

/// Mean, smallest and largest pixel of a map.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Range {
    /// Mean over the pixels.
    pub mean: f64,
    /// Smallest pixel.
    pub min: f64,
    /// Largest pixel.
    pub max: f64,
}

impl Range {
    /// Of `v` (NaN-propagating like a plain sum).
    pub fn of(v: &[f64]) -> Self {
        Range {
            mean: v.iter().sum::<f64>() / v.len() as f64,
            min: v.iter().copied().fold(f64::INFINITY, f64::min),
            max: v.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        }
    }
}

/// Where the maps are compared: their shape and the central face region.
#[derive(Debug, Clone)]
pub struct Geometry {
    /// H, W.
    pub shape: (usize, usize),
    /// True inside the central face region.
    pub inside: Vec<bool>,
    /// True outside it.
    pub outside: Vec<bool>,
    /// Growth of the region on the maps' grid.
    pub margin_px: f64,
    /// Deviation maps averaged with their mirror image.
    pub symmetric: bool,
}

/// One group's statistics and what is computed from them.
#[derive(Debug, Clone)]
pub struct GroupResult {
    /// The per-pixel statistics.
    pub stats: GroupStats,
    /// Mean, min and max of each statistic of the run.
    pub ranges: PerStat<Range>,
    /// Means inside and outside the face region of each statistic of the run.
    pub region: PerStat<RegionRow>,
}

impl GroupResult {
    fn new(stats: GroupStats, list: &[Stat], g: &Geometry) -> Result<Self> {
        let (mut ranges, mut region) = (PerStat::default(), PerStat::default());
        for &s in list {
            if let Some(v) = s.of(&stats) {
                ranges.set(s, Range::of(v));
                region.set(s, region_row(v, &g.inside)?);
            }
        }
        Ok(GroupResult {
            stats,
            ranges,
            region,
        })
    }

    /// Means of statistic `s` inside and outside the face region (NaN when not
    /// computed; MAM and AM-V are in every run).
    pub fn region_of(&self, s: Stat) -> RegionRow {
        self.region.get(s).copied().unwrap_or(RegionRow {
            inside: f64::NAN,
            outside: f64::NAN,
            ratio: f64::NAN,
        })
    }
}

/// A deviation map |high - low| of one statistic.
#[derive(Debug, Clone)]
pub struct Deviation {
    /// Which statistic.
    pub stat: Stat,
    /// The map (H x W, not normalised).
    pub map: Vec<f64>,
    /// Its finite maximum (0 when none is positive).
    pub max: f64,
    /// Its mean.
    pub mean: f64,
    /// Inside and outside the face region.
    pub region: RegionRow,
}

/// AM-V of the high and low groups summed over rows (x) and over columns (y).
#[derive(Debug, Clone)]
pub struct AmvProfiles {
    /// [high, low], one value per column.
    pub x: [Vec<f64>; 2],
    /// [high, low], one value per row.
    pub y: [Vec<f64>; 2],
}

/// Mean AM-V inside and outside the face region per quality bin, worst first.
#[derive(Debug, Clone)]
pub struct Trend {
    /// Inside, per bin.
    pub inside: Vec<f64>,
    /// Outside, per bin.
    pub outside: Vec<f64>,
    /// Spearman of the bin index and the outside AM-V.
    pub rho: f64,
    /// Why `rho` is undefined, if it is.
    pub note: Option<String>,
}

/// Everything compared for one method.
#[derive(Debug, Clone)]
pub struct Comparison {
    /// high, low, then the bins (aligned with `MethodGroups::all_groups`).
    pub groups: Vec<GroupResult>,
    /// Deviation maps, in report order.
    pub deviations: Vec<Deviation>,
    /// Distribution shift of AM-V, MAM and median.
    pub shifts: Vec<(Stat, Shift)>,
    /// AM-V profiles.
    pub profiles: AmvProfiles,
    /// Trend over the bins (`--bins`).
    pub trend: Option<Trend>,
}

impl Comparison {
    /// The high group.
    pub fn high(&self) -> &GroupResult {
        &self.groups[0]
    }

    /// The low group.
    pub fn low(&self) -> &GroupResult {
        &self.groups[1]
    }

    /// The quality bins, worst first.
    pub fn bins(&self) -> &[GroupResult] {
        &self.groups[2..]
    }

    /// The deviation map of `stat`, if computed.
    pub fn deviation(&self, stat: Stat) -> Option<&Deviation> {
        self.deviations.iter().find(|d| d.stat == stat)
    }
}

/// Compares the groups of method `name`; `stats` holds high, low, then the bins.
pub fn compare(
    name: &str,
    stats: Vec<GroupStats>,
    list: &[Stat],
    g: &Geometry,
) -> Result<Comparison> {
    let groups: Vec<GroupResult> = stats
        .into_iter()
        .map(|s| GroupResult::new(s, list, g))
        .collect::<Result<_>>()?;
    if groups.len() < 2 {
        return Err(AnalysisError::store(
            "analysis",
            format!("method '{name}': no high and low group"),
        ));
    }
    let (hs, ls) = (&groups[0].stats, &groups[1].stats);
    let mut deviations = Vec::new();
    for &s in list {
        let (Some(a), Some(b)) = (s.of(hs), s.of(ls)) else {
            continue;
        };
        let map = deviation_map(a, b, g.shape, g.symmetric)?;
        deviations.push(Deviation {
            stat: s,
            max: max_of(&map),
            mean: map.iter().sum::<f64>() / map.len() as f64,
            region: region_row(&map, &g.inside)?,
            map,
        });
    }
    let mut shifts = Vec::new();
    for s in [Stat::Amv, Stat::Mam, Stat::Median] {
        let (Some(a), Some(b)) = (s.of(hs), s.of(ls)) else {
            continue;
        };
        let context = format!("method '{name}', {} distribution", s.label());
        shifts.push((s, distribution_shift(a, b, &context)?));
    }
    let profiles = profiles(hs, ls, g.shape)?;
    let trend = (groups.len() > 2).then(|| trend(&groups[2..]));
    Ok(Comparison {
        groups,
        deviations,
        shifts,
        profiles,
        trend,
    })
}

fn profiles(hs: &GroupStats, ls: &GroupStats, (h, w): (usize, usize)) -> Result<AmvProfiles> {
    let px = |v: &[f64]| profile_over_x(v, h, w).map_err(AnalysisError::math("profile"));
    let py = |v: &[f64]| profile_over_y(v, h, w).map_err(AnalysisError::math("profile"));
    Ok(AmvProfiles {
        x: [px(&hs.std)?, px(&ls.std)?],
        y: [py(&hs.std)?, py(&ls.std)?],
    })
}

fn trend(bins: &[GroupResult]) -> Trend {
    let inside: Vec<f64> = bins.iter().map(|b| b.region_of(Stat::Amv).inside).collect();
    let outside: Vec<f64> = bins
        .iter()
        .map(|b| b.region_of(Stat::Amv).outside)
        .collect();
    let idx: Vec<f64> = (1..=outside.len()).map(|i| i as f64).collect();
    let (rho, note) = match spearman(&idx, &outside) {
        Ok(r) => (r, None),
        Err(e) => (f64::NAN, Some(e.to_string())),
    };
    Trend {
        inside,
        outside,
        rho,
        note,
    }
}
