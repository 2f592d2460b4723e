//! The similarity fit against a naive least-squares solve, and exact recovery of known transforms.

use amva_align::similarity::{arcface_template, umeyama, Point, Similarity, ARCFACE_112};
use proptest::prelude::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Naive: the normal equations of min Σ|(a x - b y + tx, b x + a y + ty) - (u, v)|² over
/// (a, b, tx, ty), solved by Gaussian elimination with partial pivoting.
fn naive_fit(src: &[Point], dst: &[Point]) -> [f64; 4] {
    let mut m = [[0.0f64; 5]; 4];
    for (s, d) in src.iter().zip(dst) {
        // Rows of the design matrix for u and v.
        let rows = [
            ([s[0], -s[1], 1.0, 0.0], d[0]),
            ([s[1], s[0], 0.0, 1.0], d[1]),
        ];
        for (r, t) in rows {
            for i in 0..4 {
                for j in 0..4 {
                    m[i][j] += r[i] * r[j];
                }
                m[i][4] += r[i] * t;
            }
        }
    }
    for c in 0..4 {
        let p = (c..4)
            .max_by(|&a, &b| m[a][c].abs().total_cmp(&m[b][c].abs()))
            .unwrap();
        m.swap(c, p);
        for r in 0..4 {
            if r != c {
                let f = m[r][c] / m[c][c];
                let pivot = m[c];
                for (k, v) in m[r].iter_mut().enumerate().skip(c) {
                    *v -= f * pivot[k];
                }
            }
        }
    }
    [
        m[0][4] / m[0][0],
        m[1][4] / m[1][1],
        m[2][4] / m[2][2],
        m[3][4] / m[3][3],
    ]
}

fn random_points(rng: &mut ChaCha8Rng, n: usize) -> Vec<Point> {
    (0..n)
        .map(|_| {
            [
                rng.random_range(-200.0..400.0),
                rng.random_range(-200.0..400.0),
            ]
        })
        .collect()
}

proptest! {
    #[test]
    fn recovers_a_known_transform_exactly(
        scale in 0.05f64..20.0, angle in -3.1f64..3.1, tx in -500.0f64..500.0, ty in -500.0f64..500.0, seed in 0u64..1000
    ) {
        let t = Similarity::from_parts(scale, angle, tx, ty);
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let src = random_points(&mut rng, 5);
        let dst: Vec<Point> = src.iter().map(|p| t.apply(*p)).collect();
        let fit = umeyama(&src, &dst).unwrap();
        let tol = 1e-9 * (1.0 + scale);
        prop_assert!((fit.a - t.a).abs() < tol && (fit.b - t.b).abs() < tol, "{fit:?} vs {t:?}");
        prop_assert!((fit.tx - t.tx).abs() < 1e-6 && (fit.ty - t.ty).abs() < 1e-6, "{fit:?} vs {t:?}");
        prop_assert!(fit.rms_residual(&src, &dst) < 1e-6);
    }

    #[test]
    fn matches_naive_least_squares_on_noisy_points(seed in 0u64..10_000, n in 2usize..12) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let src = random_points(&mut rng, n);
        // Unrelated targets: the fit is a genuine least-squares compromise (may even
        // prefer a reflection, which a similarity must not take).
        let dst = random_points(&mut rng, n);
        let fit = umeyama(&src, &dst).unwrap();
        let [a, b, tx, ty] = naive_fit(&src, &dst);
        prop_assert!((fit.a - a).abs() < 1e-8 && (fit.b - b).abs() < 1e-8, "{fit:?} vs {:?}", [a, b, tx, ty]);
        prop_assert!((fit.tx - tx).abs() < 1e-6 && (fit.ty - ty).abs() < 1e-6);
    }

    #[test]
    fn inverse_undoes_the_transform(scale in 0.01f64..50.0, angle in -3.1f64..3.1, tx in -500.0f64..500.0, ty in -500.0f64..500.0, x in -300.0f64..300.0, y in -300.0f64..300.0) {
        let t = Similarity::from_parts(scale, angle, tx, ty);
        let back = t.inverse().unwrap().apply(t.apply([x, y]));
        prop_assert!((back[0] - x).abs() < 1e-8 * (1.0 + x.abs()) && (back[1] - y).abs() < 1e-8 * (1.0 + y.abs()));
    }
}

#[test]
fn the_template_maps_onto_itself_and_scales_with_the_crop() {
    let t = umeyama(&ARCFACE_112, &ARCFACE_112).unwrap();
    assert!(
        (t.a - 1.0).abs() < 1e-12 && t.b.abs() < 1e-12 && t.tx.abs() < 1e-9 && t.ty.abs() < 1e-9
    );
    let big = arcface_template(224);
    for (p, q) in ARCFACE_112.iter().zip(&big) {
        assert_eq!([p[0] * 2.0, p[1] * 2.0], *q);
    }
    // The template in the issue: eyes (38.2946,51.6963), (73.5318,51.5014), nose (56.0252,71.7366), ...
    assert_eq!(ARCFACE_112[2], [56.0252, 71.7366]);
}

#[test]
fn degenerate_inputs_are_errors_not_nans() {
    let same = [[3.0, 4.0]; 5];
    assert!(umeyama(&same, &ARCFACE_112).is_err());
    assert!(umeyama(&ARCFACE_112[..1], &ARCFACE_112[..1]).is_err());
    assert!(umeyama(&ARCFACE_112[..3], &ARCFACE_112[..4]).is_err());
    let mut nan = ARCFACE_112;
    nan[1][0] = f64::NAN;
    assert!(umeyama(&nan, &ARCFACE_112).is_err());
}

#[test]
fn matrix_is_opencv_layout() {
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let t = Similarity::from_parts(1.7, 0.3, 12.0, -4.0);
    let m = t.matrix();
    for p in random_points(&mut rng, 10) {
        let q = t.apply(p);
        assert!((m[0][0] * p[0] + m[0][1] * p[1] + m[0][2] - q[0]).abs() < 1e-9);
        assert!((m[1][0] * p[0] + m[1][1] * p[1] + m[1][2] - q[1]).abs() < 1e-9);
    }
}
