//! Pair maps (ALGORITHMS 1.8) against a naive implementation written here: windows laid
//! out by hand, the other face's window pasted in pixel space (not in the tensor) and
//! the grey window written channel by channel, each pass run on its own; the full map as
//! a sum of hat functions at the window centres. Real default model and real LFW faces.
//!
//! Needs ../shared; skips with a message when it is missing.

use amva_maps::pair::{Face, Fill, Grid, PairGrid, PairMapper, PairMethod, Probe};
use amva_maps::pair_bench::{mean_inside, patch, patch_box, peak_inside};
use amva_model::{EngineKind, FrModel, ModelSpec};
use image::RgbImage;
use std::path::PathBuf;

fn shared() -> Option<PathBuf> {
    amva_testkit::shared_with(&["models/fr_feature.onnx", "faces/lfw-dev/aligned112"])
}

fn cos(a: &[f32], b: &[f32]) -> f64 {
    let dot: f64 = a.iter().zip(b).map(|(x, y)| *x as f64 * *y as f64).sum();
    let n = |v: &[f32]| v.iter().map(|x| (*x as f64).powi(2)).sum::<f64>().sqrt();
    dot / (n(a) * n(b))
}

/// Window corners by hand: every stride step that fits, plus the flush last one.
fn naive_corners(side: usize, window: usize, stride: usize) -> Vec<usize> {
    let mut c = Vec::new();
    let mut p = 0;
    while p + window < side {
        c.push(p);
        p += stride;
    }
    c.push(side - window);
    c
}

/// The piecewise-linear hat of centre j over `centres` (clamped: the outermost hats
/// stay 1 beyond their centre), at x.
fn hat(centres: &[f64], j: usize, x: f64) -> f64 {
    let c = centres[j];
    if x <= c {
        if j == 0 {
            1.0
        } else {
            ((x - centres[j - 1]) / (c - centres[j - 1])).max(0.0)
        }
    } else if j + 1 == centres.len() {
        1.0
    } else {
        ((centres[j + 1] - x) / (centres[j + 1] - c)).max(0.0)
    }
}

#[test]
fn interpolation_is_the_sum_of_hat_functions_at_window_centres() {
    for (side, window, stride) in [
        (112, 28, 8),
        (112, 32, 20),
        (112, 16, 8),
        (20, 7, 5),
        (9, 9, 3),
    ] {
        let g = PairGrid::new(Grid { window, stride }, side, side).unwrap();
        let c = naive_corners(side, window, stride);
        assert_eq!((g.xs.clone(), g.ys.clone()), (c.clone(), c.clone()));
        let centres: Vec<f64> = c.iter().map(|&p| p as f64 + window as f64 / 2.0).collect();
        let values: Vec<f32> = (0..g.len()).map(|i| ((i * 37) % 11) as f32 - 3.0).collect();
        let full = g.interpolate(&values);
        for y in 0..side {
            for x in 0..side {
                let (px, py) = (x as f64 + 0.5, y as f64 + 0.5);
                let mut want = 0.0;
                for r in 0..c.len() {
                    for k in 0..c.len() {
                        want += values[r * c.len() + k] as f64
                            * hat(&centres, r, py)
                            * hat(&centres, k, px);
                    }
                }
                assert!(
                    (full[y * side + x] as f64 - want).abs() < 1e-4,
                    "({x}, {y}) of {side}/{window}/{stride}"
                );
            }
        }
    }
    assert!(PairGrid::new(
        Grid {
            window: 0,
            stride: 1
        },
        112,
        112
    )
    .is_err());
    assert!(PairGrid::new(
        Grid {
            window: 113,
            stride: 1
        },
        112,
        112
    )
    .is_err());
    assert!(PairGrid::new(
        Grid {
            window: 8,
            stride: 0
        },
        112,
        112
    )
    .is_err());
}

#[test]
fn patched_pair_metrics_by_hand() {
    // A map that is 1 in one 5 x 5 square of a 20-wide image and 0 elsewhere.
    let mut m = vec![0.0f32; 400];
    for y in 3..8 {
        for x in 10..15 {
            m[y * 20 + x] = 1.0;
        }
    }
    assert!((mean_inside(&m, 20, (10, 3, 5)) - 1.0).abs() < 1e-6);
    assert!((mean_inside(&m, 20, (8, 3, 5)) - 0.6).abs() < 1e-6);
    assert!(peak_inside(&m, 20, (10, 3, 5), 0));
    // The peak (10, 3) is 6 px right of the box's last column (x 4).
    assert!(peak_inside(&m, 20, (0, 0, 5), 6));
    assert!(!peak_inside(&m, 20, (0, 0, 5), 5));
    // The patch box of the nose on the ArcFace template: centred on (56.0, 71.7).
    assert_eq!(patch_box("nose", 112, 28), (42, 58, 28));
    let b = RgbImage::from_pixel(112, 112, image::Rgb([10, 20, 30]));
    let d = RgbImage::from_pixel(112, 112, image::Rgb([200, 100, 0]));
    let p = patch(&b, &d, (42, 58, 28));
    let changed = p.pixels().filter(|px| px.0 == [200, 100, 0]).count();
    assert_eq!(changed, 28 * 28);
    assert_eq!(*p.get_pixel(41, 58), image::Rgb([10, 20, 30]));
    assert_eq!(*p.get_pixel(42, 58), image::Rgb([200, 100, 0]));
}

#[test]
fn pair_maps_equal_a_naive_implementation_on_real_faces() {
    let Some(shared) = shared() else { return };
    let model = FrModel::load(
        &shared.join("models/fr_feature.onnx"),
        ModelSpec::default_model(),
        EngineKind::Auto,
    )
    .unwrap();
    let root = shared.join("faces/lfw-dev/aligned112");
    let a_img =
        amva_io::images::load_rgb(&root.join("Aaron_Peirsol/Aaron_Peirsol_0003.jpg")).unwrap();
    let b_img =
        amva_io::images::load_rgb(&root.join("Aaron_Peirsol/Aaron_Peirsol_0004.jpg")).unwrap();
    let p = &model.spec.preprocess;
    let (xa, xb) = (p.tensor(&a_img), p.tensor(&b_img));
    let embed = |x: &[f32]| model.forward(x, 1).unwrap().embeddings;
    let (ea, eb) = (embed(&xa), embed(&xb));
    let method = PairMethod {
        similar: Probe::new(56, 28, Fill::Grey),
        dissimilar: Probe::new(40, 24, Fill::Other),
    };
    let mapper = PairMapper::new(&model, method).unwrap();
    let got = mapper
        .map(
            Face {
                x: &xa,
                embedding: &ea,
            },
            Face {
                x: &xb,
                embedding: &eb,
            },
        )
        .unwrap();
    let base = cos(&ea, &eb);
    // Dissimilar: b's window pasted into a's pixels, then preprocessed.
    let mut want_d = Vec::new();
    for &y0 in &naive_corners(112, 40, 24) {
        for &x0 in &naive_corners(112, 40, 24) {
            let mut img = a_img.clone();
            for y in y0..y0 + 40 {
                for x in x0..x0 + 40 {
                    img.put_pixel(x as u32, y as u32, *b_img.get_pixel(x as u32, y as u32));
                }
            }
            want_d.push((cos(&embed(&p.tensor(&img)), &eb) - base).max(0.0));
        }
    }
    // Similar: the window set to 0 channel by channel in a copy of a's tensor (NCHW).
    let mut want_s = Vec::new();
    for &y0 in &naive_corners(112, 56, 28) {
        for &x0 in &naive_corners(112, 56, 28) {
            let mut x = xa.clone();
            for c in 0..3 {
                for y in y0..y0 + 56 {
                    for xx in x0..x0 + 56 {
                        x[c * 112 * 112 + y * 112 + xx] = 0.0;
                    }
                }
            }
            want_s.push((base - cos(&embed(&x), &eb)).max(0.0));
        }
    }
    let close = |got: &[f32], want: &[f64]| {
        assert_eq!(got.len(), want.len());
        for (g, w) in got.iter().zip(want) {
            assert!((*g as f64 - w).abs() < 1e-4, "{g} vs {w}");
        }
    };
    close(&got.dissimilar, &want_d);
    close(&got.similar, &want_s);
    assert!(
        want_d.iter().any(|&v| v > 0.0) && want_s.iter().any(|&v| v > 0.0),
        "all windows zero: nothing tested"
    );
    // The full maps are the spread windows, min-max scaled.
    let (fs, fd) = mapper.full(&got);
    for f in [&fs, &fd] {
        let (lo, hi) = f
            .iter()
            .fold((f32::MAX, f32::MIN), |(l, h), &v| (l.min(v), h.max(v)));
        assert!(lo.abs() < 1e-6 && (hi - 1.0).abs() < 1e-6, "{lo} {hi}");
    }
}
