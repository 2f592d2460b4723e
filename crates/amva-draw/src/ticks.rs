//! Axis ticks: nicely spaced values and their labels.

/// Nicely spaced tick values covering `[lo, hi]`: multiples of 1, 2, 2.5 or 5 times a
/// power of ten, at most `max_n` of them; with `integer`, steps are at least 1.
/// Returns the ticks and the number of decimals their labels need.
pub(crate) fn nice_ticks(lo: f64, hi: f64, max_n: usize, integer: bool) -> (Vec<f64>, usize) {
    if !(lo.is_finite() && hi.is_finite()) || hi < lo {
        return (Vec::new(), 0);
    }
    if hi == lo {
        return (vec![lo], 0);
    }
    let max_n = max_n.max(2);
    let span = hi - lo;
    let k0 = (span / max_n as f64).log10().floor() as i32;
    for k in (k0 - 1)..=(k0 + 2) {
        for m in [1.0, 2.0, 2.5, 5.0] {
            let step = m * 10f64.powi(k);
            if integer && (step < 1.0 || step.fract() != 0.0) {
                continue;
            }
            let first = (lo / step - 1e-9).ceil() as i64;
            let last = (hi / step + 1e-9).floor() as i64;
            let count = (last - first + 1).max(0) as usize;
            if count <= max_n {
                let ticks = (first..=last)
                    .map(|i| {
                        let v = i as f64 * step;
                        // Snap rounding noise (e.g. -0.0, 0.30000000000000004).
                        if v.abs() < step * 1e-9 {
                            0.0
                        } else {
                            v
                        }
                    })
                    .collect();
                let mut decimals = (-k).max(0) as usize;
                if m == 2.5 {
                    decimals += 1;
                }
                if integer {
                    decimals = 0;
                }
                return (ticks, decimals);
            }
        }
    }
    (vec![lo, hi], 3)
}

/// A tick label with `decimals` decimals, or in scientific notation where that would
/// be unreadable.
pub(crate) fn tick_label(v: f64, decimals: usize) -> String {
    if v != 0.0 && (v.abs() >= 1e5 || decimals > 5) {
        format!("{v:.2e}")
    } else {
        format!("{v:.decimals$}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Ticks lie in the range, are evenly spaced by 1, 2, 2.5 or 5 times a power of
        /// ten, there are at most `max_n`, and their labels are distinct.
        #[test]
        fn nice_ticks_are_nice(lo in -1e4f64..1e4, span in 1e-6f64..1e5, max_n in 2usize..12) {
            let hi = lo + span;
            let (ticks, decimals) = nice_ticks(lo, hi, max_n, false);
            prop_assert!(!ticks.is_empty() && ticks.len() <= max_n, "{ticks:?}");
            let eps = span * 1e-9;
            for &t in &ticks {
                prop_assert!(t >= lo - eps && t <= hi + eps, "{t} outside [{lo}, {hi}]");
            }
            if ticks.len() >= 2 {
                let step = ticks[1] - ticks[0];
                for w in ticks.windows(2) {
                    prop_assert!(((w[1] - w[0]) - step).abs() <= step * 1e-6);
                }
                let mantissa = step / 10f64.powf(step.log10().floor());
                prop_assert!(
                    [1.0, 2.0, 2.5, 5.0, 10.0].iter().any(|m| (mantissa - m).abs() < 1e-6),
                    "step {step}"
                );
                let labels: Vec<String> = ticks.iter().map(|&t| tick_label(t, decimals)).collect();
                let mut unique = labels.clone();
                unique.dedup();
                prop_assert_eq!(unique.len(), labels.len(), "{:?}", labels);
            }
            // A range wider than a few steps always gets at least two ticks.
            if max_n >= 4 {
                prop_assert!(ticks.len() >= 2, "{ticks:?} for [{lo}, {hi}] max {max_n}");
            }
        }

        #[test]
        fn integer_ticks_are_integers(n in 1usize..2000, max_n in 2usize..12) {
            let (ticks, decimals) = nice_ticks(0.0, (n - 1) as f64, max_n, true);
            prop_assert_eq!(decimals, 0);
            prop_assert!(ticks.len() <= max_n);
            for t in ticks {
                prop_assert_eq!(t.fract(), 0.0);
            }
        }
    }
}
