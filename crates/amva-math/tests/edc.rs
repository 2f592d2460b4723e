//! EDC (ALGORITHMS 6) against an explicit sort / cut / count.

use amva_math::edc::{
    edc_curve, random_edc, threshold_at_fmr, Comparison, EdcCurve, ErrorKind, Threshold,
    DEFAULT_PAUC_LIMIT, DEFAULT_RANDOM_RUNS, DEFAULT_TARGET_FMR,
};
use amva_math::MathError;
use proptest::prelude::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn comparisons_strategy() -> impl Strategy<Value = Vec<Comparison>> {
    // Scores and qualities on coarse grids so that ties at the threshold and in
    // quality are frequent.
    prop::collection::vec(
        (0i32..12, any::<bool>(), 0i32..6, 0i32..6).prop_map(|(s, mated, qa, qb)| Comparison {
            score: s as f64 / 10.0 + if mated { 0.3 } else { 0.0 },
            mated,
            quality_a: qa as f64,
            quality_b: qb as f64,
        }),
        1..80,
    )
}

/// The smallest impostor score v such that FMR(v) = #{impostor > v} / N <= target,
/// found by trying every impostor score.
fn naive_threshold(c: &[Comparison], target: f64) -> f64 {
    let imp: Vec<f64> = c.iter().filter(|c| !c.mated).map(|c| c.score).collect();
    let n = imp.len() as f64;
    let fmr = |v: f64| imp.iter().filter(|&&s| s > v).count() as f64 / n;
    let candidates: Vec<f64> = imp.iter().copied().filter(|&v| fmr(v) <= target).collect();
    // The maximum impostor score always qualifies (FMR 0). Only a target of 1
    // lets every impostor match, which no impostor score as threshold allows.
    if target >= 1.0 {
        f64::NEG_INFINITY
    } else {
        candidates.iter().copied().fold(f64::INFINITY, f64::min)
    }
}

/// Explicit curve: for every distinct quality v, ascending, keep {q >= v}.
fn naive_curve(c: &[Comparison], t: f64, kind: ErrorKind) -> (Vec<f64>, Vec<f64>) {
    let items: Vec<(f64, bool)> = c
        .iter()
        .filter(|c| c.mated == (kind == ErrorKind::Fnmr))
        .map(|c| {
            let q = if c.quality_a < c.quality_b {
                c.quality_a
            } else {
                c.quality_b
            };
            let matched = c.score > t;
            (
                q,
                if kind == ErrorKind::Fnmr {
                    !matched
                } else {
                    matched
                },
            )
        })
        .collect();
    let n = items.len() as f64;
    let mut qs: Vec<f64> = items.iter().map(|i| i.0).collect();
    qs.sort_by(|a, b| a.partial_cmp(b).unwrap());
    qs.dedup();
    let (mut d, mut e) = (Vec::new(), Vec::new());
    for v in qs {
        let kept: Vec<&(f64, bool)> = items.iter().filter(|i| i.0 >= v).collect();
        d.push((n - kept.len() as f64) / n);
        e.push(kept.iter().filter(|i| i.1).count() as f64 / kept.len() as f64);
    }
    d.push(1.0);
    e.push(0.0);
    (d, e)
}

/// pAUC by cells of one comparison each: at discard count k the error is that of
/// the tie-run containing the k-th lowest quality (ties are discarded together).
fn naive_pauc(c: &[Comparison], t: f64, kind: ErrorKind, limit: f64) -> f64 {
    let mut items: Vec<(f64, bool)> = c
        .iter()
        .filter(|c| c.mated == (kind == ErrorKind::Fnmr))
        .map(|c| {
            (
                c.quality_a.min(c.quality_b),
                (c.score > t) != (kind == ErrorKind::Fnmr),
            )
        })
        .collect();
    items.sort_by(|a, b| a.0.partial_cmp(&b.0).unwrap());
    let n = items.len();
    let mut area = 0.0;
    for k in 0..n {
        let kept: Vec<&(f64, bool)> = items.iter().filter(|i| i.0 >= items[k].0).collect();
        let err = kept.iter().filter(|i| i.1).count() as f64 / kept.len() as f64;
        let (lo, hi) = (k as f64 / n as f64, (k + 1) as f64 / n as f64);
        area += err * (hi.min(limit) - lo.min(limit)).max(0.0);
    }
    area
}

/// Area under max(0, e0 - d) on [0, limit] by the midpoint rule (exact on each
/// linear piece; the kink costs < 1e-12 with a million cells).
fn naive_ideal(e0: f64, limit: f64) -> f64 {
    let cells = 1_000_000;
    let h = limit / cells as f64;
    (0..cells)
        .map(|i| (e0 - (i as f64 + 0.5) * h).max(0.0) * h)
        .sum()
}

proptest! {
    #[test]
    fn threshold_is_the_smallest_one_meeting_the_target(c in comparisons_strategy(), target in prop_oneof![Just(0.0), Just(1e-3), 0.0f64..1.0, Just(1.0)]) {
        match threshold_at_fmr(&c, target) {
            Ok(t) => {
                prop_assert_eq!(t.value, naive_threshold(&c, target));
                prop_assert!(t.fmr <= target);
                let imp: Vec<f64> = c.iter().filter(|c| !c.mated).map(|c| c.score).collect();
                prop_assert_eq!(t.false_matches, imp.iter().filter(|&&s| s > t.value).count());
                prop_assert_eq!(t.impostors, imp.len());
            }
            Err(MathError::NoImpostors { total }) => {
                prop_assert_eq!(total, c.len());
                prop_assert!(c.iter().all(|c| c.mated));
            }
            Err(e) => prop_assert!(false, "unexpected {}", e),
        }
    }

    #[test]
    fn curve_and_pauc_match_explicit_counting(c in comparisons_strategy(), tsel in 0i32..14, limit in prop_oneof![Just(0.2), 0.0f64..=1.0]) {
        let t = Threshold { value: tsel as f64 / 10.0, target_fmr: 0.0, fmr: 0.0, false_matches: 0, impostors: 0 };
        for kind in [ErrorKind::Fnmr, ErrorKind::Fmr] {
            match edc_curve(&c, &t, kind) {
                Ok(curve) => {
                    let (d, e) = naive_curve(&c, t.value, kind);
                    prop_assert_eq!(&curve.discard_fractions, &d);
                    prop_assert_eq!(&curve.errors, &e);
                    let pauc = curve.pauc(limit).unwrap();
                    prop_assert!((pauc - naive_pauc(&c, t.value, kind, limit)).abs() < 1e-12);
                    let ideal = curve.ideal_area(limit).unwrap();
                    prop_assert!((ideal - naive_ideal(e[0], limit)).abs() < 1e-9);
                    prop_assert!((curve.pauc_above_ideal(limit).unwrap() - (pauc - ideal)).abs() < 1e-15);
                }
                Err(MathError::NoMated { .. }) => prop_assert!(kind == ErrorKind::Fnmr && c.iter().all(|c| !c.mated)),
                Err(MathError::NoImpostors { .. }) => prop_assert!(kind == ErrorKind::Fmr && c.iter().all(|c| c.mated)),
                Err(e) => prop_assert!(false, "unexpected {}", e),
            }
        }
    }
}

fn cmp(score: f64, mated: bool, qa: f64, qb: f64) -> Comparison {
    Comparison {
        score,
        mated,
        quality_a: qa,
        quality_b: qb,
    }
}

#[test]
fn threshold_quantile_and_tie_rule_by_hand() {
    // 1000 impostors 0.000 .. 0.999: FMR 1e-3 allows k = 1 false match, so the
    // threshold is the 999th smallest (0.998) and only 0.999 exceeds it.
    let mut c: Vec<Comparison> = (0..1000)
        .map(|i| cmp(i as f64 / 1000.0, false, 1.0, 1.0))
        .collect();
    let t = threshold_at_fmr(&c, DEFAULT_TARGET_FMR).unwrap();
    assert_eq!((t.value, t.false_matches, t.fmr), (0.998, 1, 1e-3));
    // A mated score exactly at the threshold is a false non-match.
    c.push(cmp(0.998, true, 1.0, 1.0));
    c.push(cmp(0.9985, true, 1.0, 1.0));
    let curve = edc_curve(&c, &t, ErrorKind::Fnmr).unwrap();
    assert_eq!(curve.errors[0], 0.5);
    // Ties at the top: three impostors share the maximum; allowing 1 false match
    // must not let the 3 tied ones through, so FMR is 0 at the threshold.
    let tied = [
        cmp(0.1, false, 1.0, 1.0),
        cmp(0.9, false, 1.0, 1.0),
        cmp(0.9, false, 1.0, 1.0),
        cmp(0.9, false, 1.0, 1.0),
    ];
    let t = threshold_at_fmr(&tied, 0.25).unwrap();
    assert_eq!((t.value, t.false_matches), (0.9, 0));
    // 0.29 of 100 is 28.999999999999996 in f64 but k must be 29.
    let c: Vec<Comparison> = (0..100).map(|i| cmp(i as f64, false, 1.0, 1.0)).collect();
    assert_eq!(threshold_at_fmr(&c, 0.29).unwrap().false_matches, 29);
}

#[test]
fn ties_in_quality_are_discarded_together() {
    let t = Threshold {
        value: 0.5,
        target_fmr: 0.0,
        fmr: 0.0,
        false_matches: 0,
        impostors: 0,
    };
    // Qualities (min of pair): 1, 1, 1, 2, 3. Errors at scores <= 0.5.
    let c = [
        cmp(0.1, true, 1.0, 5.0),
        cmp(0.9, true, 5.0, 1.0),
        cmp(0.9, true, 1.0, 1.0),
        cmp(0.2, true, 2.0, 2.0),
        cmp(0.8, true, 3.0, 4.0),
    ];
    let curve: EdcCurve = edc_curve(&c, &t, ErrorKind::Fnmr).unwrap();
    assert_eq!(curve.discard_fractions, vec![0.0, 0.6, 0.8, 1.0]);
    assert_eq!(curve.errors, vec![0.4, 0.5, 0.0, 0.0]);
    // pAUC to 0.2: 0.4 * 0.2; ideal: e0 = 0.4 > 0.2: 0.08 - 0.02 = 0.06.
    assert!((curve.pauc(DEFAULT_PAUC_LIMIT).unwrap() - 0.08).abs() < 1e-15);
    assert!((curve.ideal_area(DEFAULT_PAUC_LIMIT).unwrap() - 0.06).abs() < 1e-15);
}

#[test]
fn random_reference_curve_averages_to_the_starting_error() {
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let c: Vec<Comparison> = (0..400)
        .map(|i| {
            let mated = i % 2 == 0;
            let score = rng.random::<f64>() * 0.6 + if mated { 0.35 } else { 0.0 };
            cmp(score, mated, rng.random::<f64>(), rng.random::<f64>())
        })
        .collect();
    let t = threshold_at_fmr(&c, 0.1).unwrap();
    let real = edc_curve(&c, &t, ErrorKind::Fnmr).unwrap();
    let e0 = real.starting_error();
    let r = random_edc(&c, &t, ErrorKind::Fnmr, 2000, 1).unwrap();
    assert_eq!(r.total, 200);
    assert_eq!(r.discard_fractions.len(), 201);
    assert_eq!(r.errors[0], e0); // nothing discarded: every run has e0
                                 // E[error] = e0 at every discard count; Monte Carlo sd at k = 100 is about
                                 // sqrt(e0 (1 - e0) / 100 * 100 / 199 / 2000) < 0.0008.
    for k in 0..=100 {
        assert!(
            (r.errors[k] - e0).abs() < 0.005,
            "k {k}: {} vs {e0}",
            r.errors[k]
        );
    }
    let same = random_edc(&c, &t, ErrorKind::Fnmr, DEFAULT_RANDOM_RUNS, 9).unwrap();
    assert_eq!(
        same,
        random_edc(&c, &t, ErrorKind::Fnmr, DEFAULT_RANDOM_RUNS, 9).unwrap()
    );
    assert_ne!(
        same,
        random_edc(&c, &t, ErrorKind::Fnmr, DEFAULT_RANDOM_RUNS, 10).unwrap()
    );
    assert!(matches!(
        random_edc(&c, &t, ErrorKind::Fnmr, 0, 1),
        Err(MathError::InvalidParameter { .. })
    ));
}

#[test]
fn edc_errors() {
    let only_mated = [cmp(0.5, true, 1.0, 1.0)];
    assert_eq!(
        threshold_at_fmr(&only_mated, 1e-3).unwrap_err(),
        MathError::NoImpostors { total: 1 }
    );
    let only_impostors = [cmp(0.5, false, 1.0, 1.0), cmp(0.2, false, 1.0, 1.0)];
    let t = threshold_at_fmr(&only_impostors, 0.5).unwrap();
    assert_eq!(
        edc_curve(&only_impostors, &t, ErrorKind::Fnmr).unwrap_err(),
        MathError::NoMated { total: 2 }
    );
    assert!(edc_curve(&only_impostors, &t, ErrorKind::Fmr).is_ok());
    let nan_q = [cmp(0.5, false, 1.0, 1.0), cmp(0.7, true, f64::NAN, 1.0)];
    assert!(matches!(
        edc_curve(&nan_q, &t, ErrorKind::Fnmr),
        Err(MathError::NonFinite { index: 1, .. })
    ));
    let nan_s = [cmp(f64::NAN, false, 1.0, 1.0)];
    assert!(matches!(
        threshold_at_fmr(&nan_s, 0.1),
        Err(MathError::NonFinite { index: 0, .. })
    ));
    assert!(matches!(
        threshold_at_fmr(&only_impostors, 1.5),
        Err(MathError::InvalidParameter { .. })
    ));
    let curve = edc_curve(&only_impostors, &t, ErrorKind::Fmr).unwrap();
    assert!(matches!(
        curve.pauc(1.2),
        Err(MathError::InvalidParameter { .. })
    ));
    assert!(MathError::NoImpostors { total: 3 }
        .to_string()
        .contains("no impostor"));
}
