//! Face recognition utility of a FIQA method: Error versus Discard
//! Characteristic (ALGORITHMS 6; ISO/IEC 29794-1:2024, Schlett et al. 2023).
//!
//! **Threshold.** From the impostor (non-mated) scores `x_(1) <= ... <= x_(N)` and a
//! target FMR, let `k` be the largest integer with `k / N <= target` (compared as
//! `f64`, so `1e-3` of 1000 gives k = 1, not 0). The threshold is
//! `t = x_(N - k)`, the inverse-empirical-CDF quantile at level `1 - k / N`
//! (numpy `method="inverted_cdf"`, Hyndman-Fan type 1); for `k = N`, `t = -inf`.
//! A comparison **matches when its score is strictly greater than `t`**; a score
//! exactly at the threshold is a non-match (a false non-match if mated). Since at
//! most `k` impostor scores exceed `x_(N - k)`, the FMR at the threshold is
//! `<= k / N <= target` (lower when impostor scores tie at `t`).
//!
//! **Curve.** As in Schlett's reference implementation, the FNMR curve is computed
//! over the mated comparisons and the FMR curve over the non-mated ones. Each
//! comparison's quality is `min(q_a, q_b)` (qualities already turned so that
//! higher is better). Comparisons are sorted by quality, ascending; a point of
//! the curve is placed at every start of a run of equal qualities, so ties are
//! discarded together: at discard count `c` (comparisons with quality below the
//! run's value), the error is `errors among the remaining / remaining` and the
//! discard fraction `c / n`. A final point `(1, 0)` closes the curve.
//!
//! **pAUC** integrates that step function from 0 to the limit (each point's error
//! holds until the next point). The area under the ideal curve
//! `max(0, e0 - d)` is `e0^2 / 2 - max(0, e0 - limit)^2 / 2`.
//!
//! ```
//! use amva_math::edc::{threshold_at_fmr, edc_curve, Comparison, ErrorKind};
//! let c = |score, mated, q| Comparison { score, mated, quality_a: q, quality_b: 1.0 };
//! let cmp = [c(0.1, false, 0.5), c(0.2, false, 0.5), c(0.9, true, 0.9), c(0.15, true, 0.1)];
//! let t = threshold_at_fmr(&cmp, 0.5).unwrap();   // k = 1 of 2: t = 0.1
//! assert_eq!(t.value, 0.1);
//! let curve = edc_curve(&cmp, &t, ErrorKind::Fnmr).unwrap();
//! assert_eq!(curve.errors[0], 0.0);               // 0.15 > 0.1 matches
//! ```

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::{MathError, Result};

/// Default target FMR for the decision threshold.
pub const DEFAULT_TARGET_FMR: f64 = 1e-3;
/// Default upper limit of the pAUC integral.
pub const DEFAULT_PAUC_LIMIT: f64 = 0.2;
/// Default number of random-quality runs averaged for the reference curve.
pub const DEFAULT_RANDOM_RUNS: usize = 20;

/// One comparison of two images.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Comparison {
    /// Similarity score (higher = more similar).
    pub score: f64,
    /// True when both images show the same person.
    pub mated: bool,
    /// Quality of the first image, direction-corrected (higher = better).
    pub quality_a: f64,
    /// Quality of the second image, direction-corrected (higher = better).
    pub quality_b: f64,
}

impl Comparison {
    /// The comparison's quality, `min(q_a, q_b)`.
    pub fn quality(&self) -> f64 {
        self.quality_a.min(self.quality_b)
    }
}

/// A decision threshold fixed from a target FMR.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Threshold {
    /// The threshold `t`; a score matches when `score > t`.
    pub value: f64,
    /// The FMR asked for.
    pub target_fmr: f64,
    /// The FMR actually reached at `t` (`<= target_fmr`).
    pub fmr: f64,
    /// Impostor comparisons with a score above `t`.
    pub false_matches: usize,
    /// Number of impostor comparisons.
    pub impostors: usize,
}

impl Threshold {
    /// The decision rule: `score > value`.
    pub fn is_match(&self, score: f64) -> bool {
        score > self.value
    }
}

fn check_scores(comparisons: &[Comparison]) -> Result<()> {
    match comparisons.iter().position(|c| !c.score.is_finite()) {
        None => Ok(()),
        Some(index) => Err(MathError::NonFinite {
            what: "comparison score",
            index,
            value: comparisons[index].score,
        }),
    }
}

/// The threshold at a target FMR over all impostor comparisons (see the module
/// docs for the exact quantile). Errors with [`MathError::NoImpostors`] when
/// there is no impostor comparison, on a non-finite score, or a target outside
/// [0, 1].
pub fn threshold_at_fmr(comparisons: &[Comparison], target_fmr: f64) -> Result<Threshold> {
    if !(0.0..=1.0).contains(&target_fmr) {
        return Err(MathError::InvalidParameter {
            what: "target FMR",
            value: target_fmr,
            expected: "a number in [0, 1]",
        });
    }
    check_scores(comparisons)?;
    let mut imp: Vec<f64> = comparisons
        .iter()
        .filter(|c| !c.mated)
        .map(|c| c.score)
        .collect();
    let n = imp.len();
    if n == 0 {
        return Err(MathError::NoImpostors {
            total: comparisons.len(),
        });
    }
    imp.sort_by(f64::total_cmp);
    let nf = n as f64;
    // Largest k with k / n <= target, judged on the same f64 division a reader would do.
    let mut k = ((target_fmr * nf).floor() as usize).min(n);
    while k < n && (k + 1) as f64 / nf <= target_fmr {
        k += 1;
    }
    while k > 0 && k as f64 / nf > target_fmr {
        k -= 1;
    }
    let value = if k == n {
        f64::NEG_INFINITY
    } else {
        imp[n - 1 - k]
    };
    let false_matches = n - imp.partition_point(|&s| s <= value);
    Ok(Threshold {
        value,
        target_fmr,
        fmr: false_matches as f64 / nf,
        false_matches,
        impostors: n,
    })
}

/// Which error an EDC curve shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ErrorKind {
    /// False non-match rate, over the mated comparisons.
    #[default]
    Fnmr,
    /// False match rate, over the non-mated comparisons.
    Fmr,
}

/// An EDC curve: error against discarded fraction, a step function.
#[derive(Debug, Clone, PartialEq)]
pub struct EdcCurve {
    /// The error shown.
    pub kind: ErrorKind,
    /// Comparisons the curve is over (mated for FNMR, non-mated for FMR).
    pub total: usize,
    /// Discard fractions, strictly ascending, from 0; the last is 1.
    pub discard_fractions: Vec<f64>,
    /// Error at each discard fraction; the last (at 1) is 0 by convention.
    pub errors: Vec<f64>,
}

impl EdcCurve {
    /// The curve through `points`, closed by the final point (1, 0).
    fn closed(
        kind: ErrorKind,
        total: usize,
        mut discard_fractions: Vec<f64>,
        mut errors: Vec<f64>,
    ) -> Self {
        discard_fractions.push(1.0);
        errors.push(0.0);
        EdcCurve {
            kind,
            total,
            discard_fractions,
            errors,
        }
    }

    /// Error before anything is discarded (`e0`).
    pub fn starting_error(&self) -> f64 {
        self.errors.first().copied().unwrap_or(0.0)
    }

    /// Area under the step curve from 0 to `limit` (in [0, 1]).
    pub fn pauc(&self, limit: f64) -> Result<f64> {
        check_limit(limit)?;
        let d = &self.discard_fractions;
        let mut area = 0.0;
        for i in 0..d.len() {
            if d[i] >= limit {
                break;
            }
            let end = d.get(i + 1).copied().unwrap_or(1.0).min(limit);
            area += self.errors[i] * (end - d[i]);
        }
        Ok(area)
    }

    /// Area under the ideal curve `max(0, e0 - d)` from 0 to `limit`.
    pub fn ideal_area(&self, limit: f64) -> Result<f64> {
        check_limit(limit)?;
        let e0 = self.starting_error();
        let cut = (e0 - limit).max(0.0);
        Ok(e0 * e0 / 2.0 - cut * cut / 2.0)
    }

    /// `pauc(limit) - ideal_area(limit)`.
    pub fn pauc_above_ideal(&self, limit: f64) -> Result<f64> {
        Ok(self.pauc(limit)? - self.ideal_area(limit)?)
    }
}

fn check_limit(limit: f64) -> Result<()> {
    if (0.0..=1.0).contains(&limit) {
        Ok(())
    } else {
        Err(MathError::InvalidParameter {
            what: "pAUC discard limit",
            value: limit,
            expected: "a number in [0, 1]",
        })
    }
}

/// The comparisons an EDC curve is over, as `(quality, is_error)`; checks inputs.
fn subset(
    comparisons: &[Comparison],
    threshold: &Threshold,
    kind: ErrorKind,
) -> Result<Vec<(f64, bool)>> {
    check_scores(comparisons)?;
    let mut out = Vec::new();
    for (index, c) in comparisons.iter().enumerate() {
        for q in [c.quality_a, c.quality_b] {
            if !q.is_finite() {
                return Err(MathError::NonFinite {
                    what: "comparison quality",
                    index,
                    value: q,
                });
            }
        }
        match (kind, c.mated) {
            (ErrorKind::Fnmr, true) => out.push((c.quality(), !threshold.is_match(c.score))),
            (ErrorKind::Fmr, false) => out.push((c.quality(), threshold.is_match(c.score))),
            _ => {}
        }
    }
    if out.is_empty() {
        let total = comparisons.len();
        return Err(match kind {
            ErrorKind::Fnmr => MathError::NoMated { total },
            ErrorKind::Fmr => MathError::NoImpostors { total },
        });
    }
    Ok(out)
}

/// The EDC curve of the comparisons' qualities at a fixed threshold (see the
/// module docs). Errors with [`MathError::NoMated`] (FNMR) or
/// [`MathError::NoImpostors`] (FMR) when the curve has nothing to count, and on
/// non-finite scores or qualities.
pub fn edc_curve(
    comparisons: &[Comparison],
    threshold: &Threshold,
    kind: ErrorKind,
) -> Result<EdcCurve> {
    let mut items = subset(comparisons, threshold, kind)?;
    // Qualities are finite here, so partial_cmp is total (and -0.0 ties 0.0).
    items.sort_by(|a, b| a.0.partial_cmp(&b.0).unwrap_or(std::cmp::Ordering::Equal));
    let n = items.len();
    // errors_from[i] = errors among items[i..].
    let mut errors_from = vec![0usize; n + 1];
    for i in (0..n).rev() {
        errors_from[i] = errors_from[i + 1] + usize::from(items[i].1);
    }
    let mut discard_fractions = Vec::new();
    let mut errors = Vec::new();
    for c in 0..n {
        if c == 0 || items[c].0 != items[c - 1].0 {
            discard_fractions.push(c as f64 / n as f64);
            errors.push(errors_from[c] as f64 / (n - c) as f64);
        }
    }
    Ok(EdcCurve::closed(kind, n, discard_fractions, errors))
}

/// Reference curve of a random quality assignment: the comparisons get a random
/// order (no ties) `runs` times (ChaCha8, seeded), and the errors at each discard
/// count `c / n`, c = 0..n-1, are averaged over the runs; a final point `(1, 0)`
/// closes it. Its expected value is `e0` everywhere.
pub fn random_edc(
    comparisons: &[Comparison],
    threshold: &Threshold,
    kind: ErrorKind,
    runs: usize,
    seed: u64,
) -> Result<EdcCurve> {
    if runs == 0 {
        return Err(MathError::InvalidParameter {
            what: "random EDC runs",
            value: 0.0,
            expected: "at least 1",
        });
    }
    let mut is_error: Vec<bool> = subset(comparisons, threshold, kind)?
        .into_iter()
        .map(|(_, e)| e)
        .collect();
    let n = is_error.len();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    // Integer counts, divided once at the end: exact and order-independent.
    let mut errors_sum = vec![0u64; n];
    for _ in 0..runs {
        is_error.shuffle(&mut rng);
        let mut remaining_errors = 0u64;
        for c in (0..n).rev() {
            remaining_errors += u64::from(is_error[c]);
            errors_sum[c] += remaining_errors;
        }
    }
    let discard_fractions: Vec<f64> = (0..n).map(|c| c as f64 / n as f64).collect();
    let errors: Vec<f64> = errors_sum
        .into_iter()
        .enumerate()
        .map(|(c, e)| e as f64 / (runs as u64 * (n - c) as u64) as f64)
        .collect();
    Ok(EdcCurve::closed(kind, n, discard_fractions, errors))
}
