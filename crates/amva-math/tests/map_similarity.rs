//! SSIM and HOG (ALGORITHMS 1.7) against naive second implementations: every window
//! summed pixel by pixel, every gradient and vote written out.

use amva_math::similarity::{hog, hog_pearson, ssim};
use rand::{Rng, SeedableRng};

fn random_map(seed: u64, n: usize) -> Vec<f64> {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    (0..n).map(|_| rng.random::<f64>()).collect()
}

/// SSIM written straight from its definition, window by window.
fn naive_ssim(a: &[f64], b: &[f64], h: usize, w: usize) -> f64 {
    let (k, c1, c2) = (7usize, 0.0001, 0.0009);
    let mut scores = Vec::new();
    for y0 in 0..=h - k {
        for x0 in 0..=w - k {
            let mut pa = Vec::new();
            let mut pb = Vec::new();
            for y in y0..y0 + k {
                for x in x0..x0 + k {
                    pa.push(a[y * w + x]);
                    pb.push(b[y * w + x]);
                }
            }
            let n = pa.len() as f64;
            let ma = pa.iter().sum::<f64>() / n;
            let mb = pb.iter().sum::<f64>() / n;
            let va = pa.iter().map(|v| (v - ma).powi(2)).sum::<f64>() / (n - 1.0);
            let vb = pb.iter().map(|v| (v - mb).powi(2)).sum::<f64>() / (n - 1.0);
            let cov = pa
                .iter()
                .zip(&pb)
                .map(|(x, y)| (x - ma) * (y - mb))
                .sum::<f64>()
                / (n - 1.0);
            scores.push(
                (2.0 * ma * mb + c1) * (2.0 * cov + c2)
                    / ((ma * ma + mb * mb + c1) * (va + vb + c2)),
            );
        }
    }
    scores.iter().sum::<f64>() / scores.len() as f64
}

/// HOG written out: per pixel gradient, per cell histogram, per block L2-Hys.
fn naive_hog(m: &[f64], h: usize, w: usize) -> Vec<f64> {
    let cells_y = h / 8;
    let cells_x = w / 8;
    let mut hist = vec![vec![vec![0.0f64; 9]; cells_x]; cells_y];
    for y in 0..cells_y * 8 {
        for x in 0..cells_x * 8 {
            let gx = if x > 0 && x < w - 1 {
                m[y * w + x + 1] - m[y * w + x - 1]
            } else {
                0.0
            };
            let gy = if y > 0 && y < h - 1 {
                m[(y + 1) * w + x] - m[(y - 1) * w + x]
            } else {
                0.0
            };
            let mut deg = gy.atan2(gx) * 180.0 / std::f64::consts::PI;
            while deg < 0.0 {
                deg += 180.0;
            }
            while deg >= 180.0 {
                deg -= 180.0;
            }
            let bin = ((deg / 20.0).floor() as usize).min(8);
            hist[y / 8][x / 8][bin] += (gx * gx + gy * gy).sqrt() / 64.0;
        }
    }
    let mut out = Vec::new();
    for by in 0..cells_y - 2 {
        for bx in 0..cells_x - 2 {
            let mut v = Vec::new();
            for row in &hist[by..by + 3] {
                for cell in &row[bx..bx + 3] {
                    v.extend(cell.iter().copied());
                }
            }
            let n1 = (v.iter().map(|x| x * x).sum::<f64>() + 1e-10).sqrt();
            let v: Vec<f64> = v.iter().map(|x| (x / n1).min(0.2)).collect();
            let n2 = (v.iter().map(|x| x * x).sum::<f64>() + 1e-10).sqrt();
            out.extend(v.iter().map(|x| x / n2));
        }
    }
    out
}

#[test]
fn ssim_matches_the_window_by_window_definition() {
    for (seed, h, w) in [(1u64, 7usize, 7usize), (2, 12, 9), (3, 30, 25)] {
        let a = random_map(seed, h * w);
        let mut b = random_map(seed + 100, h * w);
        // A partly related pair as well as independent noise.
        for (x, y) in b.iter_mut().zip(&a).step_by(2) {
            *x = 0.7 * y + 0.3 * *x;
        }
        let (got, want) = (ssim(&a, &b, h, w).unwrap(), naive_ssim(&a, &b, h, w));
        assert!((got - want).abs() < 1e-9, "{h}x{w}: {got} vs {want}");
        assert!((ssim(&a, &a, h, w).unwrap() - 1.0).abs() < 1e-9);
    }
    assert!(ssim(&[0.0; 36], &[0.0; 36], 6, 6).is_err());
}

#[test]
fn hog_matches_the_written_out_features() {
    for (seed, h, w) in [(4u64, 24usize, 24usize), (5, 40, 33), (6, 112, 112)] {
        let m = random_map(seed, h * w);
        let got = hog(&m, h, w).unwrap();
        let want = naive_hog(&m, h, w);
        assert_eq!(got.len(), want.len());
        for (g, x) in got.iter().zip(&want) {
            assert!((g - x).abs() < 1e-12, "{h}x{w}: {g} vs {x}");
        }
    }
    // 112 x 112: 14 x 14 cells, 12 x 12 blocks of 81 values.
    assert_eq!(
        hog(&random_map(7, 112 * 112), 112, 112).unwrap().len(),
        144 * 81
    );
}

#[test]
fn hog_correlation_sees_shared_structure_and_not_noise() {
    let (h, w) = (64, 64);
    // Two blobs in the same place with different noise, and an unrelated noise map.
    let blob = |seed: u64| -> Vec<f64> {
        let noise = random_map(seed, h * w);
        (0..h * w)
            .map(|i| {
                let (y, x) = ((i / w) as f64 - 32.0, (i % w) as f64 - 20.0);
                (-(x * x + y * y) / 120.0).exp() + 0.05 * noise[i]
            })
            .collect()
    };
    let (a, b) = (blob(8), blob(9));
    let same = hog_pearson(&a, &b, h, w).unwrap();
    let other = hog_pearson(&a, &random_map(10, h * w), h, w).unwrap();
    assert!(same > 0.8 && other < 0.3, "same {same}, other {other}");
}
