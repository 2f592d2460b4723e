//! Set statistics (ALGORITHMS 3) against two-pass and full-sort implementations.

use amva_math::stats::{
    column_stats, mad, median, robust_stats, std_mad_paper, MedianKind, Welford, MAD_SCALE,
};
use amva_math::MathError;
use proptest::prelude::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn naive_mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len() as f64
}

/// Two-pass sample standard deviation, n - 1.
fn naive_std(v: &[f64]) -> f64 {
    let m = naive_mean(v);
    (v.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / (v.len() - 1) as f64).sqrt()
}

/// Median by full sort.
fn naive_median(v: &[f64], kind: MedianKind) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let n = s.len();
    if n % 2 == 1 {
        s[n / 2]
    } else {
        match kind {
            MedianKind::Middle => (s[n / 2 - 1] + s[n / 2]) / 2.0,
            MedianKind::LowerMiddle => s[n / 2 - 1],
        }
    }
}

fn naive_mad(v: &[f64], kind: MedianKind) -> f64 {
    let m = naive_median(v, kind);
    let dev: Vec<f64> = v.iter().map(|x| (x - m).abs()).collect();
    1.4826 * naive_median(&dev, kind)
}

fn naive_std_mad(v: &[f64], kind: MedianKind) -> f64 {
    let m = naive_median(v, kind);
    let sq: Vec<f64> = v.iter().map(|x| (x - m).powi(2)).collect();
    naive_std(&sq)
}

fn column(stack: &[f32], n: usize, p: usize, j: usize) -> Vec<f64> {
    (0..n).map(|r| f64::from(stack[r * p + j])).collect()
}

fn close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol * (1.0 + b.abs())
}

/// n maps of p pixels; values from a coarse grid half of the time so ties occur.
fn stack_strategy() -> impl Strategy<Value = (usize, usize, Vec<f32>)> {
    (2usize..30, 1usize..20).prop_flat_map(|(n, p)| {
        (
            Just(n),
            Just(p),
            prop::collection::vec(
                prop_oneof![(-1.0f32..1.0), (0i32..5).prop_map(|v| v as f32 * 0.25)],
                n * p,
            ),
        )
    })
}

fn kind_strategy() -> impl Strategy<Value = MedianKind> {
    prop_oneof![Just(MedianKind::Middle), Just(MedianKind::LowerMiddle)]
}

proptest! {
    #[test]
    fn welford_matches_two_pass((n, p, stack) in stack_strategy()) {
        let acc = Welford::from_stack(&stack, n, p).unwrap();
        prop_assert_eq!(acc.count(), n as u64);
        let mean = acc.mean().unwrap();
        let std = acc.std().unwrap();
        for j in 0..p {
            let col = column(&stack, n, p, j);
            prop_assert!(close(mean[j], naive_mean(&col), 1e-12), "mean pixel {}", j);
            prop_assert!(close(std[j], naive_std(&col), 1e-9), "std pixel {}: {} vs {}", j, std[j], naive_std(&col));
        }
    }

    #[test]
    fn chan_merge_equals_single_pass((n, p, stack) in stack_strategy(), cuts in prop::collection::vec(0usize..30, 0..4)) {
        let whole = Welford::from_stack(&stack, n, p).unwrap();
        // Shards at arbitrary cut points (empty shards included).
        let mut bounds: Vec<usize> = cuts.into_iter().map(|c| c.min(n)).collect();
        bounds.push(0);
        bounds.push(n);
        bounds.sort();
        let mut merged = Welford::new(p);
        for w in bounds.windows(2) {
            let shard = Welford::from_stack(&stack[w[0] * p..w[1] * p], w[1] - w[0], p).unwrap();
            merged.merge(&shard).unwrap();
        }
        prop_assert_eq!(merged.count(), whole.count());
        let (m1, m2) = (merged.mean().unwrap(), whole.mean().unwrap());
        let (s1, s2) = (merged.std().unwrap(), whole.std().unwrap());
        for j in 0..p {
            prop_assert!(close(m1[j], m2[j], 1e-12));
            prop_assert!(close(s1[j], s2[j], 1e-9));
        }
    }

    #[test]
    fn median_and_mad_match_full_sort_exactly(values in prop::collection::vec(prop_oneof![(-5.0f64..5.0), (0i32..4).prop_map(f64::from)], 1..80), kind in kind_strategy()) {
        let mut v = values.clone();
        prop_assert_eq!(median(&mut v, kind).unwrap(), naive_median(&values, kind));
        let mut v = values.clone();
        let m = median(&mut v, kind).unwrap();
        prop_assert_eq!(mad(&mut v, m, kind).unwrap(), naive_mad(&values, kind));
        if values.len() >= 2 {
            prop_assert!(close(std_mad_paper(&values, m).unwrap(), naive_std_mad(&values, kind), 1e-9));
        }
    }

    #[test]
    #[allow(clippy::needless_range_loop)] // j indexes three outputs and the stack
    fn robust_stats_match_per_pixel_naive((n, p, stack) in stack_strategy(), kind in kind_strategy()) {
        let r = robust_stats(&stack, n, p, kind, true).unwrap();
        let std_mad = r.std_mad.unwrap();
        for j in 0..p {
            let col = column(&stack, n, p, j);
            prop_assert_eq!(r.median[j], naive_median(&col, kind));
            prop_assert_eq!(r.mad[j], naive_mad(&col, kind));
            prop_assert!(close(std_mad[j], naive_std_mad(&col, kind), 1e-9));
        }
        let plain = robust_stats(&stack, n, p, kind, false).unwrap();
        prop_assert!(plain.std_mad.is_none());
        prop_assert_eq!(plain.median, r.median);
    }
}

#[test]
fn robust_stats_across_several_transposition_blocks() {
    // 2000 maps: the 8 MiB buffer holds 524 pixels, so 1500 pixels take 3 blocks.
    let (n, p) = (2000, 1500);
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let stack: Vec<f32> = (0..n * p)
        .map(|_| (rng.random_range(0..200) as f32) / 199.0)
        .collect();
    let r = robust_stats(&stack, n, p, MedianKind::Middle, false).unwrap();
    for j in (0..p)
        .step_by(37)
        .chain([523, 524, 525, 1047, 1048, 1049, p - 1])
    {
        let col = column(&stack, n, p, j);
        assert_eq!(
            r.median[j],
            naive_median(&col, MedianKind::Middle),
            "pixel {j}"
        );
        assert_eq!(r.mad[j], naive_mad(&col, MedianKind::Middle), "pixel {j}");
    }
}

#[test]
fn small_hand_checked_cases() {
    // even n: middles 2 and 3
    let mut v = [4.0, 1.0, 3.0, 2.0];
    assert_eq!(median(&mut v, MedianKind::Middle).unwrap(), 2.5);
    let mut v = [4.0, 1.0, 3.0, 2.0];
    assert_eq!(median(&mut v, MedianKind::LowerMiddle).unwrap(), 2.0);
    let mut v = [1.0, 2.0, 3.0, 4.0, 100.0];
    let s = column_stats(&mut v, MedianKind::Middle, true).unwrap();
    // |x - 3| = 2, 1, 0, 1, 97 -> median 1
    assert_eq!((s.median, s.mad), (3.0, MAD_SCALE));
    let mut v = [1.0, f64::NAN, 3.0];
    assert!(median(&mut v, MedianKind::Middle).unwrap().is_nan());
}

#[test]
fn too_few_maps_and_shape_errors() {
    let mut acc = Welford::new(3);
    assert!(matches!(
        acc.mean(),
        Err(MathError::TooFewValues {
            needed: 1,
            got: 0,
            ..
        })
    ));
    acc.push(&[1.0f32, 2.0, 3.0]).unwrap();
    assert_eq!(acc.mean().unwrap(), &[1.0, 2.0, 3.0]);
    assert!(matches!(
        acc.std(),
        Err(MathError::TooFewValues {
            needed: 2,
            got: 1,
            ..
        })
    ));
    assert!(matches!(
        acc.push(&[1.0f32]),
        Err(MathError::LengthMismatch {
            expected: 3,
            got: 1,
            ..
        })
    ));
    assert!(matches!(
        acc.merge(&Welford::new(2)),
        Err(MathError::LengthMismatch { .. })
    ));
    assert!(matches!(
        median(&mut [], MedianKind::Middle),
        Err(MathError::TooFewValues { .. })
    ));
    assert!(matches!(
        robust_stats(&[0.0f32; 5], 2, 3, MedianKind::Middle, false),
        Err(MathError::LengthMismatch {
            expected: 6,
            got: 5,
            ..
        })
    ));
    assert!(matches!(
        robust_stats(&[0.0f32; 3], 1, 3, MedianKind::LowerMiddle, true),
        Err(MathError::TooFewValues {
            needed: 2,
            got: 1,
            ..
        })
    ));
}
