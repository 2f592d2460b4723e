//! Comparisons between groups (ALGORITHMS 4): deviation maps, mirror symmetry,
//! z-maps of one image against a reference (ALGORITHMS 5.1),
//! spatial profiles, distribution shift (KDE, Kolmogorov-Smirnov, Wasserstein),
//! correlations between FIQA methods, overlap of groups, and seeded resampling
//! (permutation test, bootstrap; ALGORITHMS 9).
//!
//! Maps here are `f64` (the output of [`crate::stats`]), row-major `h x w`.

use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::{check_finite, check_len, MathError, Result};

// ---------------------------------------------------------------------------
// Maps

/// Deviation map `|a - b|`, element-wise (D-AM-V when `a`, `b` are AM-V maps).
pub fn deviation(a: &[f64], b: &[f64]) -> Result<Vec<f64>> {
    check_len("second map of the deviation", a.len(), b.len())?;
    Ok(a.iter().zip(b).map(|(x, y)| (x - y).abs()).collect())
}

/// `map / max(map)`, the form in which deviation maps are shown. A map whose
/// maximum is not positive and finite (all zeros) is returned as all zeros.
pub fn normalise_by_max(map: &[f64]) -> Vec<f64> {
    let max = map.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if max > 0.0 && max.is_finite() {
        map.iter().map(|v| v / max).collect()
    } else {
        vec![0.0; map.len()]
    }
}

/// Average of an `h x w` map with its left-right mirror:
/// `(m[y][x] + m[y][w - 1 - x]) / 2` (`--symmetric`).
pub fn symmetric(map: &[f64], h: usize, w: usize) -> Result<Vec<f64>> {
    check_len("map (h x w)", h * w, map.len())?;
    let mut out = Vec::with_capacity(map.len());
    for row in map.chunks_exact(w.max(1)) {
        out.extend((0..w).map(|x| (row[x] + row[w - 1 - x]) / 2.0));
    }
    Ok(out)
}

/// z-map of one image against a reference group (ALGORITHMS 5.1):
/// `(map - mean) / max(std, eps)`, element-wise. `eps` keeps pixels where the
/// reference never varies from dividing by zero; it must be positive.
pub fn z_map(map: &[f64], mean: &[f64], std: &[f64], eps: f64) -> Result<Vec<f64>> {
    check_len("reference mean (one per map value)", map.len(), mean.len())?;
    check_len("reference std (one per map value)", map.len(), std.len())?;
    if !(eps > 0.0 && eps.is_finite()) {
        return Err(MathError::InvalidParameter {
            what: "z-map epsilon",
            value: eps,
            expected: "a finite number > 0",
        });
    }
    Ok(map
        .iter()
        .zip(mean)
        .zip(std)
        .map(|((x, m), s)| (x - m) / s.max(eps))
        .collect())
}

/// Spatial profile over x: the map summed over its rows (one value per column,
/// length `w`).
pub fn profile_over_x(map: &[f64], h: usize, w: usize) -> Result<Vec<f64>> {
    check_len("map (h x w)", h * w, map.len())?;
    let mut out = vec![0.0; w];
    for row in map.chunks_exact(w.max(1)) {
        for (o, v) in out.iter_mut().zip(row) {
            *o += v;
        }
    }
    Ok(out)
}

/// Spatial profile over y: the map summed over its columns (one value per row,
/// length `h`).
pub fn profile_over_y(map: &[f64], h: usize, w: usize) -> Result<Vec<f64>> {
    check_len("map (h x w)", h * w, map.len())?;
    if w == 0 {
        return Ok(vec![0.0; h]);
    }
    Ok(map.chunks_exact(w).map(|row| row.iter().sum()).collect())
}

// ---------------------------------------------------------------------------
// Distribution shift

/// `n` evenly spaced points from `lo` to `hi` inclusive (like `numpy.linspace`).
pub fn linspace(lo: f64, hi: f64, n: usize) -> Vec<f64> {
    match n {
        0 => Vec::new(),
        1 => vec![lo],
        _ => {
            let step = (hi - lo) / (n - 1) as f64;
            let mut v: Vec<f64> = (0..n).map(|i| lo + i as f64 * step).collect();
            v[n - 1] = hi;
            v
        }
    }
}

/// Gaussian kernel density estimate with Scott's bandwidth, as
/// `scipy.stats.gaussian_kde(samples)` in one dimension:
/// kernel standard deviation `h = n^(-1/5) * s` (s the sample standard deviation
/// with ddof = 1) and density `f(x) = 1 / (n h sqrt(2 pi)) * sum_i exp(-(x - x_i)^2 / (2 h^2))`.
///
/// Samples are kept sorted so that each evaluation only sums the samples within
/// 40 h of x; farther terms are `exp(-800)`, which is exactly 0 in `f64`.
///
/// ```
/// use amva_math::compare::GaussianKde;
/// let kde = GaussianKde::new(&[0.0, 1.0, 2.0]).unwrap();
/// assert!((kde.bandwidth() - 3f64.powf(-0.2)).abs() < 1e-12); // s = 1
/// assert!(kde.evaluate(1.0) > kde.evaluate(5.0));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct GaussianKde {
    sorted: Vec<f64>,
    bandwidth: f64,
}

impl GaussianKde {
    /// Fits the estimate. Errors with fewer than two samples, a non-finite sample,
    /// or constant samples (zero bandwidth; scipy raises a singular-matrix error).
    pub fn new(samples: &[f64]) -> Result<Self> {
        let n = samples.len();
        if n < 2 {
            return Err(MathError::TooFewValues {
                what: "kernel density estimate",
                needed: 2,
                got: n,
            });
        }
        check_finite("kernel density sample", samples)?;
        let mean = samples.iter().sum::<f64>() / n as f64;
        let var = samples.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / (n - 1) as f64;
        let bandwidth = (n as f64).powf(-0.2) * var.sqrt();
        // Also catches a NaN bandwidth.
        if bandwidth.partial_cmp(&0.0) != Some(std::cmp::Ordering::Greater) {
            return Err(MathError::ConstantInput {
                what: "kernel density estimate",
            });
        }
        let mut sorted = samples.to_vec();
        sorted.sort_by(f64::total_cmp);
        Ok(GaussianKde { sorted, bandwidth })
    }

    /// The kernel standard deviation `n^(-1/5) * s` (scipy's
    /// `factor * sqrt(covariance)`).
    pub fn bandwidth(&self) -> f64 {
        self.bandwidth
    }

    /// Number of samples.
    pub fn len(&self) -> usize {
        self.sorted.len()
    }

    /// Always false: a fitted estimate has at least two samples.
    pub fn is_empty(&self) -> bool {
        self.sorted.is_empty()
    }

    /// The density at `x`.
    pub fn evaluate(&self, x: f64) -> f64 {
        let h = self.bandwidth;
        let reach = 40.0 * h;
        let lo = self.sorted.partition_point(|&v| v < x - reach);
        let hi = self.sorted.partition_point(|&v| v <= x + reach);
        let sum: f64 = self.sorted[lo..hi]
            .iter()
            .map(|&v| {
                let z = (x - v) / h;
                (-0.5 * z * z).exp()
            })
            .sum();
        sum / (self.sorted.len() as f64 * h * (2.0 * std::f64::consts::PI).sqrt())
    }

    /// The density at every point of `grid`.
    pub fn evaluate_grid(&self, grid: &[f64]) -> Vec<f64> {
        grid.iter().map(|&x| self.evaluate(x)).collect()
    }
}

fn sorted_finite(what: &'static str, values: &[f64]) -> Result<Vec<f64>> {
    if values.is_empty() {
        return Err(MathError::TooFewValues {
            what,
            needed: 1,
            got: 0,
        });
    }
    check_finite(what, values)?;
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    Ok(v)
}

/// Result of the two-sample Kolmogorov-Smirnov test.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct KsResult {
    /// `D = sup_x |F_a(x) - F_b(x)|` over the empirical CDFs (ties handled).
    pub statistic: f64,
    /// Asymptotic two-sided p-value: the Kolmogorov limiting distribution at
    /// `sqrt(n_a n_b / (n_a + n_b)) * D`, i.e. `scipy.stats.kstwobign.sf`.
    /// (scipy's `ks_2samp(method="asymp")` uses the finite-n `kstwo`
    /// distribution instead; the two agree for large samples.) Note that pixels
    /// of one map are not independent samples, so read it as a descriptive
    /// number, not a calibrated test.
    pub p_value: f64,
}

/// Two-sample Kolmogorov-Smirnov statistic and asymptotic p-value.
/// Errors on an empty or non-finite sample.
pub fn ks_2samp(a: &[f64], b: &[f64]) -> Result<KsResult> {
    let a = sorted_finite("first KS sample", a)?;
    let b = sorted_finite("second KS sample", b)?;
    let (na, nb) = (a.len() as f64, b.len() as f64);
    let (mut i, mut j) = (0, 0);
    let mut d: f64 = 0.0;
    // Walk the distinct values of the union in order; after consuming all copies
    // of a value, i / na and j / nb are the two CDFs at it.
    while i < a.len() || j < b.len() {
        let x = match (a.get(i), b.get(j)) {
            (Some(&u), Some(&v)) => u.min(v),
            (Some(&u), None) => u,
            (None, Some(&v)) => v,
            (None, None) => break,
        };
        while i < a.len() && a[i] <= x {
            i += 1;
        }
        while j < b.len() && b[j] <= x {
            j += 1;
        }
        d = d.max((i as f64 / na - j as f64 / nb).abs());
    }
    let en = na * nb / (na + nb);
    Ok(KsResult {
        statistic: d,
        p_value: kolmogorov_sf(en.sqrt() * d),
    })
}

/// Survival function of the Kolmogorov distribution,
/// `Q(l) = 2 sum_{k>=1} (-1)^(k-1) exp(-2 k^2 l^2)` (= `scipy.stats.kstwobign.sf`).
/// For small `l`, where that series converges slowly, the equivalent Jacobi theta
/// form `1 - sqrt(2 pi) / l * sum_{k>=1} exp(-(2k-1)^2 pi^2 / (8 l^2))` is used.
pub fn kolmogorov_sf(l: f64) -> f64 {
    if l.is_nan() {
        return f64::NAN;
    }
    if l <= 0.0 {
        return 1.0;
    }
    let p = if l < 1.0 {
        let pi2 = std::f64::consts::PI * std::f64::consts::PI;
        let s: f64 = (1..=20)
            .map(|k| {
                let m = (2 * k - 1) as f64;
                (-m * m * pi2 / (8.0 * l * l)).exp()
            })
            .sum();
        1.0 - (2.0 * std::f64::consts::PI).sqrt() / l * s
    } else {
        2.0 * (1..=100)
            .map(|k| {
                let k = k as f64;
                let sign = if k as u64 % 2 == 1 { 1.0 } else { -1.0 };
                sign * (-2.0 * k * k * l * l).exp()
            })
            .sum::<f64>()
    };
    p.clamp(0.0, 1.0)
}

/// 1-Wasserstein (earth mover's) distance between two empirical distributions,
/// `integral |F_a(x) - F_b(x)| dx`, as `scipy.stats.wasserstein_distance(a, b)`.
/// Errors on an empty or non-finite sample.
pub fn wasserstein_1(a: &[f64], b: &[f64]) -> Result<f64> {
    let a = sorted_finite("first Wasserstein sample", a)?;
    let b = sorted_finite("second Wasserstein sample", b)?;
    let (na, nb) = (a.len() as f64, b.len() as f64);
    let (mut i, mut j) = (0, 0);
    let mut x = a[0].min(b[0]);
    let mut area = 0.0;
    loop {
        while i < a.len() && a[i] <= x {
            i += 1;
        }
        while j < b.len() && b[j] <= x {
            j += 1;
        }
        // Both CDFs are constant on [x, next).
        let next = match (a.get(i), b.get(j)) {
            (Some(&u), Some(&v)) => u.min(v),
            (Some(&u), None) => u,
            (None, Some(&v)) => v,
            (None, None) => break,
        };
        area += (i as f64 / na - j as f64 / nb).abs() * (next - x);
        x = next;
    }
    Ok(area)
}

// ---------------------------------------------------------------------------
// Correlation and overlap

fn check_pair(what: &'static str, x: &[f64], y: &[f64]) -> Result<()> {
    check_len(what, x.len(), y.len())?;
    if x.len() < 2 {
        return Err(MathError::TooFewValues {
            what,
            needed: 2,
            got: x.len(),
        });
    }
    check_finite(what, x)?;
    check_finite(what, y)
}

/// Pearson correlation coefficient. Errors on different lengths, fewer than two
/// pairs, non-finite values, or a constant input.
pub fn pearson(x: &[f64], y: &[f64]) -> Result<f64> {
    check_pair("Pearson correlation", x, y)?;
    let n = x.len() as f64;
    let mx = x.iter().sum::<f64>() / n;
    let my = y.iter().sum::<f64>() / n;
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (a, b) in x.iter().zip(y) {
        let (dx, dy) = (a - mx, b - my);
        sxy += dx * dy;
        sxx += dx * dx;
        syy += dy * dy;
    }
    if sxx == 0.0 || syy == 0.0 {
        return Err(MathError::ConstantInput {
            what: "Pearson correlation",
        });
    }
    Ok((sxy / (sxx.sqrt() * syy.sqrt())).clamp(-1.0, 1.0))
}

/// Ranks 1..=n with tied values sharing the average of their ranks
/// (`scipy.stats.rankdata(method="average")`). NaN ranks last.
pub fn average_ranks(values: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|&a, &b| values[a].total_cmp(&values[b]));
    let mut ranks = vec![0.0; values.len()];
    let mut start = 0;
    while start < order.len() {
        let mut end = start + 1;
        while end < order.len() && values[order[end]] == values[order[start]] {
            end += 1;
        }
        // Positions start..end (0-based) hold ranks start+1..=end; their mean:
        let rank = (start + 1 + end) as f64 / 2.0;
        for &i in &order[start..end] {
            ranks[i] = rank;
        }
        start = end;
    }
    ranks
}

/// Spearman rank correlation: Pearson of the average ranks (ties averaged).
pub fn spearman(x: &[f64], y: &[f64]) -> Result<f64> {
    check_pair("Spearman correlation", x, y)?;
    pearson(&average_ranks(x), &average_ranks(y)).map_err(|e| match e {
        MathError::ConstantInput { .. } => MathError::ConstantInput {
            what: "Spearman correlation",
        },
        other => other,
    })
}

/// Jaccard overlap `|A ∩ B| / |A ∪ B|` of two index sets (duplicates ignored).
/// Errors when both sets are empty.
pub fn jaccard(a: &[usize], b: &[usize]) -> Result<f64> {
    let set = |v: &[usize]| {
        let mut s = v.to_vec();
        s.sort_unstable();
        s.dedup();
        s
    };
    let (a, b) = (set(a), set(b));
    let (mut i, mut j, mut common) = (0, 0, 0usize);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                common += 1;
                i += 1;
                j += 1;
            }
        }
    }
    let union = a.len() + b.len() - common;
    if union == 0 {
        return Err(MathError::TooFewValues {
            what: "Jaccard overlap (both sets empty)",
            needed: 1,
            got: 0,
        });
    }
    Ok(common as f64 / union as f64)
}

// ---------------------------------------------------------------------------
// Resampling

/// Default number of permutations.
pub const DEFAULT_PERMUTATIONS: usize = 1000;
/// Default number of bootstrap resamples.
pub const DEFAULT_BOOTSTRAP: usize = 2000;

/// Which deviations from the null count as extreme.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Alternative {
    /// `|T_perm| >= |T_obs|`: for statistics centred at 0 under the null, such as
    /// differences between the groups.
    #[default]
    TwoSided,
    /// `T_perm >= T_obs`.
    Greater,
    /// `T_perm <= T_obs`.
    Less,
}

/// Options of a permutation test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PermutationOptions {
    /// Number of random relabellings (default 1000).
    pub n_perm: usize,
    /// Seed of the ChaCha8 generator.
    pub seed: u64,
    /// Sidedness (default two-sided).
    pub alternative: Alternative,
}

impl Default for PermutationOptions {
    fn default() -> Self {
        PermutationOptions {
            n_perm: DEFAULT_PERMUTATIONS,
            seed: 0,
            alternative: Alternative::TwoSided,
        }
    }
}

/// Outcome of a permutation test.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PermutationResult {
    /// The statistic on the real grouping.
    pub observed: f64,
    /// `(extreme + 1) / (n_perm + 1)`, never 0.
    pub p_value: f64,
    /// Permutations at least as extreme as the observation.
    pub extreme: usize,
    /// Permutations run.
    pub n_perm: usize,
}

/// Monte Carlo permutation test over a grouping. `labels[i]` is true when item i
/// is in group A; `statistic` maps a labelling to a number. The labels are
/// shuffled (Fisher-Yates, ChaCha8 seeded) `n_perm` times, keeping the group
/// sizes. A permuted statistic counts as extreme per [`Alternative`], with a
/// relative tolerance of 100 machine epsilons of `|observed|` (as scipy does) so
/// that ties computed in a different order still count; a NaN never counts.
///
/// ```
/// use amva_math::compare::{permutation_test, PermutationOptions};
/// let values = [1.0, 2.0, 3.0, 10.0, 11.0, 12.0];
/// let labels = [false, false, false, true, true, true];
/// let mean_diff = |l: &[bool]| {
///     let (mut sa, mut sb) = (0.0, 0.0);
///     for (v, &in_a) in values.iter().zip(l) { if in_a { sa += v } else { sb += v } }
///     sa / 3.0 - sb / 3.0
/// };
/// let r = permutation_test(&labels, mean_diff, &PermutationOptions::default()).unwrap();
/// assert!(r.p_value < 0.2); // exact two-sided p is 2/20
/// ```
pub fn permutation_test<F>(
    labels: &[bool],
    mut statistic: F,
    options: &PermutationOptions,
) -> Result<PermutationResult>
where
    F: FnMut(&[bool]) -> f64,
{
    if options.n_perm == 0 {
        return Err(MathError::InvalidParameter {
            what: "number of permutations",
            value: 0.0,
            expected: "at least 1",
        });
    }
    let observed = statistic(labels);
    if !observed.is_finite() {
        return Err(MathError::NonFinite {
            what: "observed permutation statistic",
            index: 0,
            value: observed,
        });
    }
    let tol = 100.0 * f64::EPSILON * observed.abs();
    let is_extreme = |t: f64| match options.alternative {
        Alternative::TwoSided => t.abs() >= observed.abs() - tol,
        Alternative::Greater => t >= observed - tol,
        Alternative::Less => t <= observed + tol,
    };
    let mut rng = ChaCha8Rng::seed_from_u64(options.seed);
    let mut perm = labels.to_vec();
    let mut extreme = 0usize;
    for _ in 0..options.n_perm {
        perm.shuffle(&mut rng);
        if is_extreme(statistic(&perm)) {
            extreme += 1;
        }
    }
    Ok(PermutationResult {
        observed,
        p_value: (extreme + 1) as f64 / (options.n_perm + 1) as f64,
        extreme,
        n_perm: options.n_perm,
    })
}

/// Permutation test of the difference of means `mean(a) - mean(b)` of per-item
/// values (e.g. the outside AM-V contribution of each image). Errors when a
/// group is empty or a value is not finite.
pub fn permutation_test_mean_diff(
    a: &[f64],
    b: &[f64],
    options: &PermutationOptions,
) -> Result<PermutationResult> {
    for (what, g) in [
        ("first permutation group", a),
        ("second permutation group", b),
    ] {
        if g.is_empty() {
            return Err(MathError::TooFewValues {
                what,
                needed: 1,
                got: 0,
            });
        }
        check_finite(what, g)?;
    }
    let values: Vec<f64> = a.iter().chain(b).copied().collect();
    let labels: Vec<bool> = (0..values.len()).map(|i| i < a.len()).collect();
    let (na, nb) = (a.len() as f64, b.len() as f64);
    let total: f64 = values.iter().sum();
    let stat = |l: &[bool]| {
        let sa: f64 = values
            .iter()
            .zip(l)
            .filter(|(_, &x)| x)
            .map(|(v, _)| v)
            .sum();
        sa / na - (total - sa) / nb
    };
    permutation_test(&labels, stat, options)
}

/// A confidence interval around an estimate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Interval {
    /// The statistic on the data itself.
    pub estimate: f64,
    /// Lower bound.
    pub lo: f64,
    /// Upper bound.
    pub hi: f64,
    /// Confidence level, e.g. 0.95.
    pub level: f64,
}

/// Quantile of sorted data with linear interpolation between order statistics
/// (`numpy.quantile`'s default): position `q * (n - 1)`. `q` is clamped to [0, 1].
/// Returns NaN for empty data.
pub fn quantile_linear(sorted: &[f64], q: f64) -> f64 {
    let n = sorted.len();
    if n == 0 {
        return f64::NAN;
    }
    let pos = q.clamp(0.0, 1.0) * (n - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = (lo + 1).min(n - 1);
    let frac = pos - lo as f64;
    sorted[lo] + (sorted[hi] - sorted[lo]) * frac
}

/// Percentile bootstrap interval of the mean: `n_boot` resamples with
/// replacement (ChaCha8 seeded), interval = the `(1 - level) / 2` and
/// `(1 + level) / 2` quantiles ([`quantile_linear`]) of the resampled means.
/// Use `level = 0.95` and [`DEFAULT_BOOTSTRAP`] resamples for the usual 95 %
/// interval. Errors on empty or non-finite data, `n_boot == 0`, or `level`
/// outside (0, 1).
pub fn bootstrap_mean_ci(values: &[f64], n_boot: usize, level: f64, seed: u64) -> Result<Interval> {
    if values.is_empty() {
        return Err(MathError::TooFewValues {
            what: "bootstrap of a mean",
            needed: 1,
            got: 0,
        });
    }
    check_finite("bootstrap sample", values)?;
    if n_boot == 0 {
        return Err(MathError::InvalidParameter {
            what: "number of bootstrap resamples",
            value: 0.0,
            expected: "at least 1",
        });
    }
    if !(level > 0.0 && level < 1.0) {
        return Err(MathError::InvalidParameter {
            what: "bootstrap confidence level",
            value: level,
            expected: "a number in (0, 1)",
        });
    }
    let n = values.len();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut means: Vec<f64> = (0..n_boot)
        .map(|_| (0..n).map(|_| values[rng.random_range(0..n)]).sum::<f64>() / n as f64)
        .collect();
    means.sort_by(f64::total_cmp);
    Ok(Interval {
        estimate: values.iter().sum::<f64>() / n as f64,
        lo: quantile_linear(&means, (1.0 - level) / 2.0),
        hi: quantile_linear(&means, (1.0 + level) / 2.0),
        level,
    })
}
