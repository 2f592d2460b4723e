//! Verification metrics of scored comparisons (`amva verify`, ALGORITHMS 6.3): the best
//! accuracy over all thresholds and the FNMR at the thresholds of FMR 1e-2 and 1e-3. The
//! thresholds are [`crate::edc::threshold_at_fmr`]'s (one definition: a comparison
//! matches when its score is strictly above the threshold).
//!
//! ```
//! use amva_math::verify::verification_metrics;
//! let s = [(0.9, true), (0.8, true), (0.3, false), (0.85, false)];
//! let m = verification_metrics(&s).unwrap();
//! assert_eq!(m.best_accuracy, 0.75);
//! ```

use crate::edc::{threshold_at_fmr, Comparison};
use crate::{MathError, Result};

/// Verification metrics of a set of comparisons.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Metrics {
    pub mated: usize,
    pub non_mated: usize,
    pub best_accuracy: f64,
    pub best_threshold: f64,
    pub fnmr_at_fmr_1e2: f64,
    pub threshold_fmr_1e2: f64,
    pub fnmr_at_fmr_1e3: f64,
    pub threshold_fmr_1e3: f64,
}

/// Best accuracy and FNMR at FMR 1e-2 and 1e-3 of `(score, mated)` comparisons.
/// Errors on a non-finite score (naming its index) and when either class is empty.
pub fn verification_metrics(scores: &[(f64, bool)]) -> Result<Metrics> {
    crate::check_finite(
        "comparison score",
        &scores.iter().map(|s| s.0).collect::<Vec<_>>(),
    )?;
    let gen: Vec<f64> = scores.iter().filter(|s| s.1).map(|s| s.0).collect();
    if gen.is_empty() {
        return Err(MathError::NoMated {
            total: scores.len(),
        });
    }
    let cmp: Vec<Comparison> = scores
        .iter()
        .map(|&(score, mated)| Comparison {
            score,
            mated,
            quality_a: 0.0,
            quality_b: 0.0,
        })
        .collect();
    let t2 = threshold_at_fmr(&cmp, 1e-2)?;
    let t3 = threshold_at_fmr(&cmp, 1e-3)?;
    let fnmr = |t: f64| gen.iter().filter(|&&s| s <= t).count() as f64 / gen.len() as f64;
    let (best_accuracy, best_threshold) = best_accuracy(scores);
    Ok(Metrics {
        mated: gen.len(),
        non_mated: t2.impostors,
        best_accuracy,
        best_threshold,
        fnmr_at_fmr_1e2: fnmr(t2.value),
        threshold_fmr_1e2: t2.value,
        fnmr_at_fmr_1e3: fnmr(t3.value),
        threshold_fmr_1e3: t3.value,
    })
}

/// Best accuracy over all thresholds (accept `score > t`) and that threshold
/// (`-inf` when accepting everything is best).
pub fn best_accuracy(scores: &[(f64, bool)]) -> (f64, f64) {
    let mut s = scores.to_vec();
    s.sort_by(|a, b| a.0.total_cmp(&b.0));
    let n = s.len() as f64;
    // Threshold below everything: all accepted, correct = mated count.
    let mut correct = s.iter().filter(|x| x.1).count() as f64;
    let (mut best, mut best_t) = (correct / n, f64::NEG_INFINITY);
    let mut i = 0;
    while i < s.len() {
        let t = s[i].0;
        // Move every item with score == t to the rejected side; total_cmp keeps a
        // NaN from stalling the loop.
        while i < s.len() && s[i].0.total_cmp(&t).is_eq() {
            correct += if s[i].1 { -1.0 } else { 1.0 };
            i += 1;
        }
        if correct / n > best {
            best = correct / n;
            best_t = t;
        }
    }
    (best, best_t)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Naive: every candidate threshold, count.
    fn naive_best(scores: &[(f64, bool)]) -> f64 {
        let mut cands: Vec<f64> = scores.iter().map(|s| s.0).collect();
        cands.push(f64::NEG_INFINITY);
        cands
            .iter()
            .map(|&t| {
                scores.iter().filter(|s| (s.0 > t) == s.1).count() as f64 / scores.len() as f64
            })
            .fold(0.0, f64::max)
    }

    fn lcg_scores(x: &mut u64, n: usize) -> Vec<(f64, bool)> {
        (0..n)
            .map(|_| {
                *x = x
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                (((*x >> 33) % 10) as f64 / 10.0, (*x >> 20) & 1 == 1)
            })
            .collect()
    }

    #[test]
    fn best_accuracy_matches_naive_with_ties() {
        let mut x = 12345u64;
        for _ in 0..50 {
            let scores = lcg_scores(&mut x, 40);
            assert!((best_accuracy(&scores).0 - naive_best(&scores)).abs() < 1e-12);
        }
    }

    #[test]
    fn fnmr_at_fmr_matches_a_naive_count() {
        // 1000 impostors 0.000..0.999 and mated scores spread over the same range.
        let mut s: Vec<(f64, bool)> = (0..1000).map(|i| (i as f64 / 1000.0, false)).collect();
        s.extend((0..200).map(|i| (0.9 + i as f64 / 2000.0, true)));
        let m = verification_metrics(&s).unwrap();
        for (fmr, t, fnmr) in [
            (1e-2, m.threshold_fmr_1e2, m.fnmr_at_fmr_1e2),
            (1e-3, m.threshold_fmr_1e3, m.fnmr_at_fmr_1e3),
        ] {
            let fm = s.iter().filter(|x| !x.1 && x.0 > t).count() as f64 / 1000.0;
            assert!(fm <= fmr + 1e-12, "fmr {fmr}: got {fm}");
            // The smallest such threshold among the impostor scores.
            let lower = s
                .iter()
                .filter(|x| !x.1 && x.0 < t)
                .map(|x| x.0)
                .fold(f64::NEG_INFINITY, f64::max);
            assert!(s.iter().filter(|x| !x.1 && x.0 > lower).count() as f64 / 1000.0 > fmr);
            let naive = s.iter().filter(|x| x.1 && x.0 <= t).count() as f64 / 200.0;
            assert_eq!(fnmr, naive);
        }
        assert_eq!((m.mated, m.non_mated), (200, 1000));
    }

    #[test]
    fn non_finite_and_one_sided_inputs_are_refused() {
        assert!(matches!(
            verification_metrics(&[(0.1, true), (f64::NAN, false)]),
            Err(MathError::NonFinite { index: 1, .. })
        ));
        assert!(matches!(
            verification_metrics(&[(0.1, true)]),
            Err(MathError::NoImpostors { .. })
        ));
        assert!(matches!(
            verification_metrics(&[(0.1, false)]),
            Err(MathError::NoMated { .. })
        ));
    }
}
