//! Recognition per label at one global threshold, and the Fairness Discrepancy Rate
//! (ALGORITHMS 6.8; de Freitas Pereira and Marcel, 2021).
//!
//! For each target FMR the threshold t is fixed once over all comparisons
//! ([`crate::edc::threshold_at_fmr`]; a comparison matches when its score is above t).
//! A label's rates use the comparisons whose two images both carry it: FNMR = mated
//! comparisons with score at most t over mated ones, FMR = non-mated comparisons with a
//! score above t over non-mated ones (NaN without such comparisons). Comparisons of two
//! images with different labels form the `cross` row; images without a label take no
//! part.
//! FDR(t) = 1 - (a max_ij |FMR_i - FMR_j| + (1 - a) max_ij |FNMR_i - FNMR_j|) over the
//! labels (not `cross`) with both mated and non-mated comparisons.
//!
//! ```
//! use amva_math::fairness::{label_rates, fdr, Scored};
//! let c = [
//!     Scored { score: 0.9, mated: true, labels: (Some(0), Some(0)) },
//!     Scored { score: 0.2, mated: false, labels: (Some(0), Some(0)) },
//!     Scored { score: 0.4, mated: true, labels: (Some(1), Some(1)) },
//!     Scored { score: 0.6, mated: false, labels: (Some(1), Some(1)) },
//! ];
//! let rows = label_rates(&c, 2, &[0.5]).unwrap(); // t = 0.2: one of two impostors above
//! assert_eq!(rows[0].fnmr, 0.0);
//! assert_eq!(rows[1].fmr, 1.0);
//! assert_eq!(fdr(&rows, 0.5, 0.5), Some(0.5));
//! ```

use crate::edc::{threshold_at_fmr, Comparison};
use crate::Result;

/// One comparison: its score, whether mated, and the labels of its two images.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Scored {
    pub score: f64,
    pub mated: bool,
    pub labels: (Option<usize>, Option<usize>),
}

/// The rates of one label (`None`: the cross-label comparisons) at one target FMR.
#[derive(Debug, Clone, PartialEq)]
pub struct RateRow {
    pub label: Option<usize>,
    pub fmr_target: f64,
    pub mated: usize,
    pub non_mated: usize,
    pub threshold: f64,
    pub fnmr: f64,
    pub fmr: f64,
}

/// The target FMRs of the per-label rates: 1e-1 to 1e-4 and `extra`, each once, largest
/// first.
pub fn targets(extra: f64) -> Vec<f64> {
    let mut t = vec![1e-1, 1e-2, 1e-3, 1e-4];
    if !t.contains(&extra) {
        t.push(extra);
    }
    t.sort_by(|a, b| b.total_cmp(a));
    t
}

/// Rows per target (in the given order), then per label 0..n_labels, then `cross`.
pub fn label_rates(c: &[Scored], n_labels: usize, targets: &[f64]) -> Result<Vec<RateRow>> {
    let all: Vec<Comparison> = c
        .iter()
        .map(|s| Comparison {
            score: s.score,
            mated: s.mated,
            quality_a: 0.0,
            quality_b: 0.0,
        })
        .collect();
    let mut rows = Vec::new();
    for &target in targets {
        let t = threshold_at_fmr(&all, target)?.value;
        for label in (0..n_labels).map(Some).chain([None]) {
            let mine = c.iter().filter(|s| match (label, s.labels) {
                (Some(l), (Some(a), Some(b))) => a == l && b == l,
                (None, (Some(a), Some(b))) => a != b,
                _ => false,
            });
            rows.push(rates(mine, label, target, t));
        }
    }
    Ok(rows)
}

fn rates<'a>(
    mine: impl Iterator<Item = &'a Scored>,
    label: Option<usize>,
    target: f64,
    t: f64,
) -> RateRow {
    let (mut m, mut nm, mut fnm, mut fm) = (0usize, 0usize, 0usize, 0usize);
    for s in mine {
        if s.mated {
            m += 1;
            fnm += (s.score <= t) as usize;
        } else {
            nm += 1;
            fm += (s.score > t) as usize;
        }
    }
    let share = |k: usize, n: usize| {
        if n == 0 {
            f64::NAN
        } else {
            k as f64 / n as f64
        }
    };
    RateRow {
        label,
        fmr_target: target,
        mated: m,
        non_mated: nm,
        threshold: t,
        fnmr: share(fnm, m),
        fmr: share(fm, nm),
    }
}

/// FDR at `target` over the labels with both kinds of comparison; `None` with fewer
/// than two such labels. `alpha` weighs the FMR spread (0.5 in the follow-up study).
pub fn fdr(rows: &[RateRow], target: f64, alpha: f64) -> Option<f64> {
    let at: Vec<&RateRow> = rows
        .iter()
        .filter(|r| r.fmr_target == target && r.label.is_some() && r.mated > 0 && r.non_mated > 0)
        .collect();
    if at.len() < 2 {
        return None;
    }
    let spread = |f: &dyn Fn(&RateRow) -> f64| {
        let v: Vec<f64> = at.iter().map(|r| f(r)).collect();
        v.iter().cloned().fold(f64::MIN, f64::max) - v.iter().cloned().fold(f64::MAX, f64::min)
    };
    Some(1.0 - (alpha * spread(&|r| r.fmr) + (1.0 - alpha) * spread(&|r| r.fnmr)))
}
