//! Statistics and comparisons on real data: the grey values of the aligned
//! faces in `../shared/faces/magface-toy` used as "maps". Skips with a printed
//! reason when the shared folder is absent.

use std::path::{Path, PathBuf};

use amva_math::compare::{ks_2samp, wasserstein_1};
use amva_math::region::{face_region_mask, region_means, DEFAULT_REGION_MARGIN};
use amva_math::resample::Upsampler;
use amva_math::stats::{robust_stats, MedianKind, Welford};

const SIDE: usize = 112;

fn faces_dir() -> Option<PathBuf> {
    amva_testkit::shared_with(&["faces/magface-toy"]).map(|s| s.join("faces/magface-toy"))
}

/// Grey values in [0, 1] of the 112 x 112 crops, in file-name order.
fn load_maps(dir: &Path) -> Vec<Vec<f32>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("read magface-toy")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "jpg"))
        .collect();
    files.sort();
    files
        .iter()
        .map(|f| {
            let img = image::open(f)
                .unwrap_or_else(|e| panic!("{}: {e}", f.display()))
                .to_luma8();
            assert_eq!(
                img.dimensions(),
                (SIDE as u32, SIDE as u32),
                "{}",
                f.display()
            );
            img.into_raw()
                .into_iter()
                .map(|v| f32::from(v) / 255.0)
                .collect()
        })
        .collect()
}

#[test]
fn statistics_on_real_faces_match_naive() {
    let Some(dir) = faces_dir() else { return };
    let maps = load_maps(&dir);
    assert!(
        maps.len() >= 8,
        "expected the 10 magface-toy crops, found {}",
        maps.len()
    );
    let n = maps.len();
    let p = SIDE * SIDE;
    let stack: Vec<f32> = maps.concat();

    let acc = Welford::from_stack(&stack, n, p).unwrap();
    // Two shards merged give the same as one pass.
    let cut = n / 2;
    let mut merged = Welford::from_stack(&stack[..cut * p], cut, p).unwrap();
    merged
        .merge(&Welford::from_stack(&stack[cut * p..], n - cut, p).unwrap())
        .unwrap();
    let (mean, std) = (acc.mean().unwrap(), acc.std().unwrap());
    let (mean_m, std_m) = (merged.mean().unwrap(), merged.std().unwrap());
    let robust = robust_stats(&stack, n, p, MedianKind::Middle, false).unwrap();
    let paper = robust_stats(&stack, n, p, MedianKind::LowerMiddle, true).unwrap();

    for j in 0..p {
        let mut col: Vec<f64> = (0..n).map(|r| f64::from(stack[r * p + j])).collect();
        let m = col.iter().sum::<f64>() / n as f64;
        let s = (col.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (n - 1) as f64).sqrt();
        assert!(
            (mean[j] - m).abs() < 1e-12 && (std[j] - s).abs() < 1e-9,
            "pixel {j}"
        );
        assert!(
            (mean_m[j] - m).abs() < 1e-12 && (std_m[j] - s).abs() < 1e-9,
            "merged pixel {j}"
        );
        col.sort_by(|a, b| a.partial_cmp(b).unwrap());
        let med = if n % 2 == 1 {
            col[n / 2]
        } else {
            (col[n / 2 - 1] + col[n / 2]) / 2.0
        };
        assert_eq!(robust.median[j], med, "pixel {j}");
        assert_eq!(paper.median[j], col[(n - 1) / 2], "pixel {j}");
        let mut dev: Vec<f64> = col.iter().map(|x| (x - med).abs()).collect();
        dev.sort_by(|a, b| a.partial_cmp(b).unwrap());
        let mad = if n % 2 == 1 {
            dev[n / 2]
        } else {
            (dev[n / 2 - 1] + dev[n / 2]) / 2.0
        };
        assert_eq!(robust.mad[j], 1.4826 * mad, "pixel {j}");
    }
    // Real pictures vary: the grey-value AM-V is not zero everywhere.
    assert!(std.iter().any(|&s| s > 0.05));
}

#[test]
fn comparisons_on_real_faces() {
    let Some(dir) = faces_dir() else { return };
    let maps = load_maps(&dir);
    let a: Vec<f64> = maps[0].iter().map(|&v| f64::from(v)).collect();
    let b: Vec<f64> = maps[maps.len() - 1].iter().map(|&v| f64::from(v)).collect();
    // Grey values take at most 256 levels (the same f32 values the maps hold),
    // and both CDFs only change there: evaluating at every level gives the KS
    // statistic exactly, and sum |F - G| * (gap to the next level) the Wasserstein
    // integral exactly.
    let ks = ks_2samp(&a, &b).unwrap();
    let cdf = |s: &[f64], x: f64| s.iter().filter(|&&v| v <= x).count() as f64 / s.len() as f64;
    let level = |l: u32| f64::from(l as f32 / 255.0);
    let brute = (0..=255)
        .map(|l| (cdf(&a, level(l)) - cdf(&b, level(l))).abs())
        .fold(0.0, f64::max);
    assert!(
        (ks.statistic - brute).abs() < 1e-12,
        "{} vs {brute}",
        ks.statistic
    );
    let w_brute: f64 = (0..255)
        .map(|l| (cdf(&a, level(l)) - cdf(&b, level(l))).abs() * (level(l + 1) - level(l)))
        .sum();
    let w = wasserstein_1(&a, &b).unwrap();
    assert!((w - w_brute).abs() < 1e-9, "{w} vs {w_brute}");
    assert!(w > 0.0 && ks.statistic > 0.0);

    // Region means of a real image, and the finishing of a 7 x 7 block average.
    let mask = face_region_mask(SIDE, SIDE, DEFAULT_REGION_MARGIN).unwrap();
    let r = region_means(&maps[0], &mask).unwrap();
    assert!(r.inside > 0.0 && r.outside > 0.0 && r.n_inside + r.n_outside == SIDE * SIDE);
    let low: Vec<f32> = (0..49)
        .map(|k| {
            let (by, bx) = (k / 7, k % 7);
            let mut s = 0.0;
            for y in 0..16 {
                for x in 0..16 {
                    s += maps[0][(by * 16 + y) * SIDE + bx * 16 + x];
                }
            }
            s / 256.0
        })
        .collect();
    let finished = Upsampler::new(7, 7, SIDE, SIDE)
        .unwrap()
        .finish(&low)
        .unwrap();
    assert!(!finished.flat);
    let (lo, hi) = finished
        .data
        .iter()
        .fold((f32::INFINITY, f32::NEG_INFINITY), |(l, h), &v| {
            (l.min(v), h.max(v))
        });
    assert_eq!((lo, hi), (0.0, 1.0));
}
