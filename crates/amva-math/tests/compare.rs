//! Comparisons and statistical building blocks (ALGORITHMS 4 and 9) against brute-force
//! implementations, plus a few reference values computed with SciPy (not with this crate).

use std::collections::HashSet;

use amva_math::compare::{
    average_ranks, bootstrap_mean_ci, deviation, jaccard, kolmogorov_sf, ks_2samp, linspace,
    normalise_by_max, pearson, permutation_test, permutation_test_mean_diff, profile_over_x,
    profile_over_y, quantile_linear, spearman, symmetric, wasserstein_1, z_map, Alternative,
    GaussianKde, PermutationOptions,
};
use amva_math::MathError;
use proptest::prelude::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol * (1.0 + b.abs())
}

fn sample() -> impl Strategy<Value = Vec<f64>> {
    // Coarse values half of the time so ties between and within samples occur.
    prop::collection::vec(
        prop_oneof![(-3.0f64..3.0), (0i32..6).prop_map(|v| v as f64 * 0.5)],
        1..60,
    )
}

// ---- maps ----

proptest! {
    #[test]
    fn map_operations_match_index_loops(h in 1usize..9, w in 1usize..9, seed in 0u64..1000) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let a: Vec<f64> = (0..h * w).map(|_| rng.random::<f64>()).collect();
        let b: Vec<f64> = (0..h * w).map(|_| rng.random::<f64>()).collect();
        let d = deviation(&a, &b).unwrap();
        let n = normalise_by_max(&d);
        let dmax = d.iter().cloned().fold(0.0, f64::max);
        let sym = symmetric(&a, h, w).unwrap();
        let px = profile_over_x(&a, h, w).unwrap();
        let py = profile_over_y(&a, h, w).unwrap();
        let sd: Vec<f64> = b.iter().map(|v| v * 0.1).collect();
        let z = z_map(&a, &b, &sd, 0.05).unwrap();
        for y in 0..h {
            for x in 0..w {
                let i = y * w + x;
                prop_assert_eq!(d[i], (a[i] - b[i]).abs());
                prop_assert!(close(n[i], d[i] / dmax, 1e-15));
                prop_assert!(close(sym[i], 0.5 * (a[i] + a[y * w + (w - 1 - x)]), 1e-15));
                let denom = if sd[i] > 0.05 { sd[i] } else { 0.05 };
                prop_assert!(close(z[i], (a[i] - b[i]) / denom, 1e-15));
            }
        }
        for x in 0..w {
            let s: f64 = (0..h).map(|y| a[y * w + x]).sum();
            prop_assert!(close(px[x], s, 1e-12));
        }
        for y in 0..h {
            let s: f64 = (0..w).map(|x| a[y * w + x]).sum();
            prop_assert!(close(py[y], s, 1e-12));
        }
        // Mirror symmetry is idempotent and symmetric under mirroring.
        prop_assert_eq!(symmetric(&sym, h, w).unwrap(), sym.clone());
    }
}

#[test]
fn map_operation_edge_cases() {
    assert_eq!(normalise_by_max(&[0.0, 0.0]), vec![0.0, 0.0]);
    assert!(matches!(
        deviation(&[1.0], &[1.0, 2.0]),
        Err(MathError::LengthMismatch { .. })
    ));
    assert!(matches!(
        symmetric(&[1.0; 5], 2, 3),
        Err(MathError::LengthMismatch { expected: 6, .. })
    ));
    assert_eq!(
        profile_over_x(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], 2, 3).unwrap(),
        vec![5.0, 7.0, 9.0]
    );
    assert_eq!(
        profile_over_y(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], 2, 3).unwrap(),
        vec![6.0, 15.0]
    );
    assert_eq!(linspace(0.0, 1.0, 5), vec![0.0, 0.25, 0.5, 0.75, 1.0]);
    assert!(matches!(
        z_map(&[1.0], &[1.0], &[1.0], 0.0),
        Err(MathError::InvalidParameter { .. })
    ));
    assert!(matches!(
        z_map(&[1.0], &[1.0, 2.0], &[1.0], 0.1),
        Err(MathError::LengthMismatch { .. })
    ));
}

// ---- distribution shift ----

/// Direct sum over every sample, no windowing.
fn naive_kde(samples: &[f64], x: f64) -> f64 {
    let n = samples.len() as f64;
    let mean = samples.iter().sum::<f64>() / n;
    let sd = (samples.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt();
    let h = n.powf(-1.0 / 5.0) * sd;
    samples
        .iter()
        .map(|v| {
            (-(x - v).powi(2) / (2.0 * h * h)).exp() / (h * (2.0 * std::f64::consts::PI).sqrt())
        })
        .sum::<f64>()
        / n
}

/// D by brute force: the CDF difference at every sample point.
fn naive_ks(a: &[f64], b: &[f64]) -> f64 {
    let cdf = |s: &[f64], x: f64| s.iter().filter(|&&v| v <= x).count() as f64 / s.len() as f64;
    a.iter()
        .chain(b)
        .map(|&x| (cdf(a, x) - cdf(b, x)).abs())
        .fold(0.0, f64::max)
}

/// integral of |F - G| over the sorted union of the samples, CDFs by counting.
fn naive_wasserstein(a: &[f64], b: &[f64]) -> f64 {
    let cdf = |s: &[f64], x: f64| s.iter().filter(|&&v| v <= x).count() as f64 / s.len() as f64;
    let mut xs: Vec<f64> = a.iter().chain(b).copied().collect();
    xs.sort_by(|p, q| p.partial_cmp(q).unwrap());
    xs.windows(2)
        .map(|w| (cdf(a, w[0]) - cdf(b, w[0])).abs() * (w[1] - w[0]))
        .sum()
}

proptest! {
    #[test]
    fn kde_matches_direct_sum(s in sample(), xs in prop::collection::vec(-6.0f64..6.0, 1..10)) {
        match GaussianKde::new(&s) {
            Ok(kde) => {
                let grid = kde.evaluate_grid(&xs);
                for (x, got) in xs.iter().zip(grid) {
                    prop_assert!(close(got, naive_kde(&s, *x), 1e-9), "x {}: {} vs {}", x, got, naive_kde(&s, *x));
                }
            }
            Err(MathError::TooFewValues { .. }) => prop_assert!(s.len() < 2),
            Err(MathError::ConstantInput { .. }) => prop_assert!(s.iter().all(|&v| v == s[0])),
            Err(e) => prop_assert!(false, "unexpected {}", e),
        }
    }

    #[test]
    fn ks_matches_brute_force(a in sample(), b in sample()) {
        let r = ks_2samp(&a, &b).unwrap();
        prop_assert!(close(r.statistic, naive_ks(&a, &b), 1e-12));
        prop_assert!((0.0..=1.0).contains(&r.p_value));
    }

    #[test]
    fn wasserstein_matches_integral(a in sample(), b in sample()) {
        let got = wasserstein_1(&a, &b).unwrap();
        prop_assert!(close(got, naive_wasserstein(&a, &b), 1e-9));
        prop_assert!(close(got, wasserstein_1(&b, &a).unwrap(), 1e-12));
    }

    #[test]
    fn wasserstein_of_equal_sizes_is_mean_sorted_gap(a in prop::collection::vec(-3.0f64..3.0, 1..40), shift in -2.0f64..2.0, seed in 0u64..100) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let b: Vec<f64> = a.iter().map(|_| rng.random::<f64>() * 4.0 - 2.0 + shift).collect();
        let (mut sa, mut sb) = (a.clone(), b.clone());
        sa.sort_by(|p, q| p.partial_cmp(q).unwrap());
        sb.sort_by(|p, q| p.partial_cmp(q).unwrap());
        let want = sa.iter().zip(&sb).map(|(x, y)| (x - y).abs()).sum::<f64>() / a.len() as f64;
        prop_assert!(close(wasserstein_1(&a, &b).unwrap(), want, 1e-9));
    }

    #[test]
    fn kolmogorov_sf_agrees_with_both_series(l in 0.05f64..4.0) {
        // 2 sum (-1)^(k-1) exp(-2 k^2 l^2), summed far past convergence.
        let alternating: f64 = 2.0 * (1..2000).map(|k| {
            let k = k as f64;
            (if k as u64 % 2 == 1 { 1.0 } else { -1.0 }) * (-2.0 * k * k * l * l).exp()
        }).sum::<f64>();
        // 1 - sqrt(2 pi)/l sum exp(-(2k-1)^2 pi^2 / (8 l^2))
        let pi = std::f64::consts::PI;
        let theta = 1.0 - (2.0 * pi).sqrt() / l * (1..200).map(|k| {
            let m = (2 * k - 1) as f64;
            (-m * m * pi * pi / (8.0 * l * l)).exp()
        }).sum::<f64>();
        let got = kolmogorov_sf(l);
        if l > 0.3 {
            prop_assert!((got - alternating).abs() < 1e-9, "{} vs {}", got, alternating);
        }
        prop_assert!((got - theta.clamp(0.0, 1.0)).abs() < 1e-9);
    }
}

#[test]
fn scipy_reference_values() {
    // numpy 2.4, scipy 1.17:
    //   k = scipy.stats.gaussian_kde([0, 1, 2, 3, 10]); k([0, 2.5, 5, 10])
    let kde = GaussianKde::new(&[0.0, 1.0, 2.0, 3.0, 10.0]).unwrap();
    //   sqrt(k.covariance[0, 0]) (scipy's covariance already includes factor**2)
    assert!(close(kde.bandwidth(), 2.8718108060643255, 1e-12));
    let want = [
        0.09189721704204105,
        0.09890980995296053,
        0.06063834734470014,
        0.03005084105003371,
    ];
    for (x, w) in [0.0, 2.5, 5.0, 10.0].iter().zip(want) {
        assert!(close(kde.evaluate(*x), w, 1e-12), "kde({x})");
    }
    //   a, b below; scipy.stats.ks_2samp(a, b).statistic and
    //   scipy.stats.kstwobign.sf(sqrt(n_a n_b / (n_a + n_b)) * D); wasserstein_distance(a, b)
    let a = [0.1, 0.4, 0.4, 0.7, 1.2, 2.0];
    let b = [0.3, 0.4, 0.9, 1.5, 1.5, 2.5, 3.0];
    let ks = ks_2samp(&a, &b).unwrap();
    assert!(close(ks.statistic, 0.40476190476190477, 1e-12));
    assert!(close(ks.p_value, 0.6650462760459455, 1e-9));
    assert!(close(
        wasserstein_1(&a, &b).unwrap(),
        0.6428571428571428,
        1e-12
    ));
    //   scipy.stats.kstwobign.sf(l)
    for (l, want) in [
        (0.2, 0.999999999999495),
        (0.5, 0.9639452436648751),
        (0.9, 0.3927307079406543),
        (1.0, 0.26999967167735456),
        (1.3, 0.06809222184476636),
        (2.0, 0.0006709252557796953),
    ] {
        assert!(close(kolmogorov_sf(l), want, 1e-9), "Q({l})");
    }
    //   scipy.stats.spearmanr(x, y), pearsonr(x, y), rankdata(x)
    let x = [1.0, 2.0, 2.0, 3.0, 5.0, 5.0, 5.0, 8.0];
    let y = [2.0, 1.0, 4.0, 4.0, 6.0, 3.0, 7.0, 9.0];
    assert!(close(spearman(&x, &y).unwrap(), 0.7841896995149691, 1e-12));
    assert!(close(pearson(&x, &y).unwrap(), 0.8500448642197895, 1e-12));
    assert_eq!(
        average_ranks(&x),
        vec![1.0, 2.5, 2.5, 4.0, 6.0, 6.0, 6.0, 8.0]
    );
    //   numpy.percentile([10, 7, 4, 3, 2, 1], 50), numpy.quantile([1, 2, 3, 4, 5], 0.9)
    assert_eq!(quantile_linear(&[1.0, 2.0, 3.0, 4.0, 7.0, 10.0], 0.5), 3.5);
    assert!(close(
        quantile_linear(&[1.0, 2.0, 3.0, 4.0, 5.0], 0.9),
        4.6,
        1e-12
    ));
}

#[test]
fn distribution_errors() {
    assert!(matches!(
        GaussianKde::new(&[1.0]),
        Err(MathError::TooFewValues { .. })
    ));
    assert!(matches!(
        GaussianKde::new(&[1.0, 1.0]),
        Err(MathError::ConstantInput { .. })
    ));
    assert!(matches!(
        GaussianKde::new(&[1.0, f64::NAN]),
        Err(MathError::NonFinite { index: 1, .. })
    ));
    assert!(matches!(
        ks_2samp(&[], &[1.0]),
        Err(MathError::TooFewValues { .. })
    ));
    assert!(matches!(
        wasserstein_1(&[1.0], &[f64::INFINITY]),
        Err(MathError::NonFinite { .. })
    ));
    assert_eq!(ks_2samp(&[1.0, 2.0], &[2.0, 1.0]).unwrap().statistic, 0.0);
    assert_eq!(ks_2samp(&[1.0, 2.0], &[2.0, 1.0]).unwrap().p_value, 1.0);
}

// ---- correlation and overlap ----

/// Rank = number of smaller values + (number of equal values + 1) / 2.
fn naive_ranks(v: &[f64]) -> Vec<f64> {
    v.iter()
        .map(|x| {
            let less = v.iter().filter(|y| *y < x).count() as f64;
            let equal = v.iter().filter(|y| *y == x).count() as f64;
            less + (equal + 1.0) / 2.0
        })
        .collect()
}

/// Textbook one-pass-sums formula.
fn naive_pearson(x: &[f64], y: &[f64]) -> f64 {
    let n = x.len() as f64;
    let (sx, sy) = (x.iter().sum::<f64>(), y.iter().sum::<f64>());
    let sxy: f64 = x.iter().zip(y).map(|(a, b)| a * b).sum();
    let sxx: f64 = x.iter().map(|a| a * a).sum();
    let syy: f64 = y.iter().map(|b| b * b).sum();
    (n * sxy - sx * sy) / ((n * sxx - sx * sx).sqrt() * (n * syy - sy * sy).sqrt())
}

proptest! {
    #[test]
    fn correlations_match_naive(pairs in prop::collection::vec(((0i32..8), (-3.0f64..3.0)), 3..40)) {
        let x: Vec<f64> = pairs.iter().map(|p| f64::from(p.0)).collect();
        let y: Vec<f64> = pairs.iter().map(|p| p.1).collect();
        prop_assert_eq!(average_ranks(&x), naive_ranks(&x));
        match spearman(&x, &y) {
            Ok(r) => prop_assert!((r - naive_pearson(&naive_ranks(&x), &naive_ranks(&y))).abs() < 1e-9),
            Err(MathError::ConstantInput { .. }) => prop_assert!(x.iter().all(|&v| v == x[0])),
            Err(e) => prop_assert!(false, "unexpected {}", e),
        }
        if let Ok(r) = pearson(&x, &y) {
            prop_assert!((r - naive_pearson(&x, &y)).abs() < 1e-9);
        }
    }

    #[test]
    fn jaccard_matches_hash_sets(a in prop::collection::vec(0usize..30, 0..25), b in prop::collection::vec(0usize..30, 0..25)) {
        let (sa, sb): (HashSet<usize>, HashSet<usize>) = (a.iter().copied().collect(), b.iter().copied().collect());
        let union = sa.union(&sb).count();
        match jaccard(&a, &b) {
            Ok(j) => prop_assert_eq!(j, sa.intersection(&sb).count() as f64 / union as f64),
            Err(_) => prop_assert_eq!(union, 0),
        }
    }
}

// ---- resampling ----

/// All C(n, k) labellings of n items with k in group A.
fn all_labellings(n: usize, k: usize) -> Vec<Vec<bool>> {
    (0u32..(1 << n))
        .filter(|m| m.count_ones() as usize == k)
        .map(|m| (0..n).map(|i| m & (1 << i) != 0).collect())
        .collect()
}

#[test]
fn permutation_p_value_converges_to_exact_enumeration() {
    let values = [0.3, 1.2, -0.4, 2.2, 0.9, 1.7, 0.1, 2.9, 1.1, 0.0];
    let labels: Vec<bool> = (0..10).map(|i| i % 3 == 1 || i == 8).collect();
    let in_a = labels.iter().filter(|&&l| l).count();
    assert_eq!(in_a, 4);
    let stat = |l: &[bool]| -> f64 {
        let (mut sa, mut na, mut sb, mut nb) = (0.0f64, 0.0f64, 0.0f64, 0.0f64);
        for (v, &in_a) in values.iter().zip(l) {
            if in_a {
                sa += v;
                na += 1.0;
            } else {
                sb += v;
                nb += 1.0;
            }
        }
        sa / na - sb / nb
    };
    let obs: f64 = stat(&labels);
    let all = all_labellings(10, in_a);
    for (alt, extreme) in [
        (
            Alternative::TwoSided,
            Box::new(|t: f64| t.abs() >= obs.abs() - 1e-12) as Box<dyn Fn(f64) -> bool>,
        ),
        (Alternative::Greater, Box::new(|t: f64| t >= obs - 1e-12)),
        (Alternative::Less, Box::new(|t: f64| t <= obs + 1e-12)),
    ] {
        let exact = all.iter().filter(|l| extreme(stat(l))).count() as f64 / all.len() as f64;
        let n_perm = 20_000;
        let r = permutation_test(
            &labels,
            stat,
            &PermutationOptions {
                n_perm,
                seed: 11,
                alternative: alt,
            },
        )
        .unwrap();
        // Monte Carlo error: sd <= 0.5 / sqrt(n_perm) = 0.0035; allow 5 sd.
        assert!(
            (r.p_value - exact).abs() < 0.018,
            "{alt:?}: {} vs exact {exact}",
            r.p_value
        );
        assert_eq!(r.p_value, (r.extreme + 1) as f64 / (n_perm + 1) as f64);
        assert_eq!(r.observed, obs);
    }
    // The per-item helper runs the same test on the same shuffles.
    let a: Vec<f64> = values
        .iter()
        .zip(&labels)
        .filter(|(_, &l)| l)
        .map(|(v, _)| *v)
        .collect();
    let b: Vec<f64> = values
        .iter()
        .zip(&labels)
        .filter(|(_, &l)| !l)
        .map(|(v, _)| *v)
        .collect();
    let r1 = permutation_test_mean_diff(&a, &b, &PermutationOptions::default()).unwrap();
    assert!((r1.observed - obs).abs() < 1e-12);
    assert!(r1.p_value > 0.0 && r1.p_value <= 1.0);
}

#[test]
fn permutation_extremes_and_determinism() {
    let a = [10.0, 11.0, 12.0, 13.0, 14.0, 15.0];
    let b = [0.0, 1.0, 2.0, 3.0, 4.0, 5.0];
    let opts = PermutationOptions {
        n_perm: 999,
        seed: 3,
        alternative: Alternative::Greater,
    };
    let r = permutation_test_mean_diff(&a, &b, &opts).unwrap();
    // Only the observed labelling reaches the maximal difference (1 in 924).
    assert!(r.extreme <= 5, "{r:?}");
    let less = permutation_test_mean_diff(
        &a,
        &b,
        &PermutationOptions {
            alternative: Alternative::Less,
            ..opts
        },
    )
    .unwrap();
    assert_eq!(less.p_value, 1.0);
    assert_eq!(permutation_test_mean_diff(&a, &b, &opts).unwrap(), r);
    let other = permutation_test_mean_diff(
        &a,
        &b,
        &PermutationOptions {
            seed: 4,
            alternative: Alternative::TwoSided,
            ..opts
        },
    )
    .unwrap();
    assert_eq!(other.n_perm, 999);
    assert!(matches!(
        permutation_test_mean_diff(&a, &[], &opts),
        Err(MathError::TooFewValues { .. })
    ));
    assert!(matches!(
        permutation_test(
            &[true, false],
            |_| 1.0,
            &PermutationOptions { n_perm: 0, ..opts }
        ),
        Err(MathError::InvalidParameter { .. })
    ));
    assert_eq!(PermutationOptions::default().n_perm, 1000);
}

#[test]
fn bootstrap_interval_covers_the_true_mean_about_95_percent() {
    let mut covered = 0;
    let trials = 300;
    let mut widths = 0.0;
    for t in 0..trials {
        let mut rng = ChaCha8Rng::seed_from_u64(1000 + t);
        // Uniform(0, 1): mean 0.5, sd 1/sqrt(12).
        let v: Vec<f64> = (0..60).map(|_| rng.random::<f64>()).collect();
        let ci = bootstrap_mean_ci(&v, 1000, 0.95, t).unwrap();
        assert!(ci.lo <= ci.estimate && ci.estimate <= ci.hi);
        assert_eq!(ci.estimate, v.iter().sum::<f64>() / 60.0);
        if ci.lo <= 0.5 && 0.5 <= ci.hi {
            covered += 1;
        }
        widths += ci.hi - ci.lo;
    }
    let coverage = covered as f64 / trials as f64;
    // Binomial sd at 0.95 with 300 trials is 0.013; the percentile bootstrap
    // undercovers slightly at n = 60.
    assert!((0.89..=0.99).contains(&coverage), "coverage {coverage}");
    // Normal theory width 2 * 1.96 * sd / sqrt(n) = 0.146.
    let mean_width = widths / trials as f64;
    assert!((mean_width - 0.146).abs() < 0.015, "width {mean_width}");
    let a = bootstrap_mean_ci(&[1.0, 2.0, 3.0], 500, 0.95, 9).unwrap();
    assert_eq!(
        a,
        bootstrap_mean_ci(&[1.0, 2.0, 3.0], 500, 0.95, 9).unwrap()
    );
    assert!(matches!(
        bootstrap_mean_ci(&[], 10, 0.95, 0),
        Err(MathError::TooFewValues { .. })
    ));
    assert!(matches!(
        bootstrap_mean_ci(&[1.0], 10, 1.5, 0),
        Err(MathError::InvalidParameter { .. })
    ));
}
