//! Detector arithmetic against naive implementations, and against the model's own
//! baked-in decoding.

use amva_align::detect::{self, BoxF, Detection, PriorConfig};
use amva_align::landmarks::{self, CropRect};
use proptest::prelude::*;

/// Naive priors: transcribed from Ultra-Light-Fast-Generic-Face-Detector's
/// `define_img_size` + `generate_priors` (feature maps [[40, 20, 10, 5], [30, 15, 8, 4]],
/// shrinkage = image size / feature map size, clamp to [0, 1]).
fn naive_priors() -> Vec<[f32; 4]> {
    let fm_w = [40, 20, 10, 5];
    let fm_h = [30, 15, 8, 4];
    let min_boxes: [&[f32]; 4] = [
        &[10.0, 16.0, 24.0],
        &[32.0, 48.0],
        &[64.0, 96.0],
        &[128.0, 192.0, 256.0],
    ];
    let mut priors = Vec::new();
    for index in 0..4 {
        let (shrink_w, shrink_h) = (320.0 / fm_w[index] as f32, 240.0 / fm_h[index] as f32);
        let scale_w = 320.0 / shrink_w;
        let scale_h = 240.0 / shrink_h;
        for j in 0..fm_h[index] {
            for i in 0..fm_w[index] {
                let x_center = (i as f32 + 0.5) / scale_w;
                let y_center = (j as f32 + 0.5) / scale_h;
                for &m in min_boxes[index] {
                    priors.push(
                        [x_center, y_center, m / 320.0, m / 240.0].map(|v: f32| v.clamp(0.0, 1.0)),
                    );
                }
            }
        }
    }
    priors
}

#[test]
fn priors_match_the_reference_generator() {
    let p = detect::priors(&PriorConfig::RFB_320);
    let n = naive_priors();
    assert_eq!(p.len(), 4420);
    assert_eq!(PriorConfig::RFB_320.len(), 4420);
    for (a, b) in p.iter().zip(&n) {
        for k in 0..4 {
            assert!((a[k] - b[k]).abs() < 1e-6, "{a:?} vs {b:?}");
        }
    }
}

/// Naive decode in f64, via centre/size then corners, one prior at a time.
fn naive_decode(loc: &[f32], priors: &[[f32; 4]]) -> Vec<[f64; 4]> {
    let mut out = Vec::new();
    for (i, p) in priors.iter().enumerate() {
        let l: Vec<f64> = loc[i * 4..i * 4 + 4].iter().map(|&v| v as f64).collect();
        let (pcx, pcy, pw, ph) = (p[0] as f64, p[1] as f64, p[2] as f64, p[3] as f64);
        let cx = pcx + l[0] * 0.1 * pw;
        let cy = pcy + l[1] * 0.1 * ph;
        let w = pw * (l[2] * 0.2).exp();
        let h = ph * (l[3] * 0.2).exp();
        out.push([cx - 0.5 * w, cy - 0.5 * h, cx + 0.5 * w, cy + 0.5 * h]);
    }
    out
}

proptest! {
    #[test]
    fn decode_matches_naive(loc in proptest::collection::vec(-3.0f32..3.0, 4420 * 4)) {
        let pri = detect::priors(&PriorConfig::RFB_320);
        let got = detect::decode(&loc, &pri, [0.1, 0.2]);
        let want = naive_decode(&loc, &pri);
        for (g, w) in got.iter().zip(&want) {
            for k in 0..4 {
                prop_assert!((g[k] as f64 - w[k]).abs() < 1e-5, "{g:?} vs {w:?}");
            }
        }
    }
}

fn arb_box() -> impl Strategy<Value = (f32, f32, f32, f32, f32)> {
    // Coarse coordinates so that ties and identical boxes happen.
    (0u8..20, 0u8..20, 1u8..10, 1u8..10, 0u8..8)
        .prop_map(|(x, y, w, h, s)| (x as f32, y as f32, w as f32, h as f32, s as f32 / 8.0))
}

/// Naive NMS: repeatedly take the remaining detection with the best score (first in
/// input order on ties), output it and delete everything overlapping it by IoU > t.
fn naive_nms(dets: &[Detection], t: f32) -> Vec<Detection> {
    let iou = |a: &BoxF, b: &BoxF| {
        let inter =
            (a.x2.min(b.x2) - a.x1.max(b.x1)).max(0.0) * (a.y2.min(b.y2) - a.y1.max(b.y1)).max(0.0);
        let ua = (a.x2 - a.x1) * (a.y2 - a.y1) + (b.x2 - b.x1) * (b.y2 - b.y1) - inter;
        inter / ua
    };
    let mut left: Vec<Detection> = dets.to_vec();
    let mut out = Vec::new();
    while !left.is_empty() {
        let mut best = 0;
        for i in 1..left.len() {
            if left[i].score > left[best].score {
                best = i;
            }
        }
        let b = left.remove(best);
        left.retain(|d| iou(&d.bbox, &b.bbox) <= t);
        out.push(b);
    }
    out
}

proptest! {
    #[test]
    fn nms_matches_naive(boxes in proptest::collection::vec(arb_box(), 0..40), t in 0.0f32..0.9) {
        let dets: Vec<Detection> = boxes.iter().map(|&(x, y, w, h, s)| Detection { bbox: BoxF { x1: x, y1: y, x2: x + w, y2: y + h }, score: s }).collect();
        prop_assert_eq!(detect::nms(&dets, t), naive_nms(&dets, t));
    }

    #[test]
    fn candidates_match_naive(raw in proptest::collection::vec((0.0f32..1.0, 0.0f32..1.0, 0.0f32..1.0, 0.0f32..1.0, 0.0f32..1.0), 0..60), thr in 0.0f32..1.0, k in 1usize..30) {
        let scores: Vec<f32> = raw.iter().flat_map(|r| [1.0 - r.0, r.0]).collect();
        let boxes: Vec<f32> = raw.iter().flat_map(|r| [r.1, r.2, r.1 + r.3, r.2 + r.4]).collect();
        let got = detect::candidates(&scores, &boxes, thr, k, 640, 480);
        let mut want: Vec<(f32, [f32; 4])> = raw.iter().filter(|r| r.0 >= thr).map(|r| (r.0, [r.1 * 640.0, r.2 * 480.0, (r.1 + r.3) * 640.0, (r.2 + r.4) * 480.0])).collect();
        want.sort_by(|a, b| b.0.partial_cmp(&a.0).unwrap());
        want.truncate(k);
        prop_assert_eq!(got.len(), want.len());
        for (g, w) in got.iter().zip(&want) {
            prop_assert_eq!(g.score, w.0);
            prop_assert!((g.bbox.x1 - w.1[0]).abs() < 1e-3 && (g.bbox.y2 - w.1[3]).abs() < 1e-3);
        }
    }

    #[test]
    fn landmark_crop_stays_inside_the_image(x in -50.0f32..400.0, y in -50.0f32..400.0, side in 1.0f32..600.0, w in 2u32..400, h in 2u32..400) {
        let b = detect::square_box(&BoxF { x1: x, y1: y, x2: x + side * 0.8, y2: y + side }, w, h);
        if let Some(c) = landmarks::landmark_crop(&b, w, h) {
            prop_assert!(c.w > 0 && c.h > 0 && c.x + c.w <= w && c.y + c.h <= h, "{c:?} in {w}x{h} from {b:?}");
        }
    }
}

#[test]
fn square_box_and_crop_follow_the_js() {
    // A box well inside: square of side = height around the same centre; the crop is
    // that square with truncated corners.
    let b = BoxF {
        x1: 100.4,
        y1: 80.2,
        x2: 160.9,
        y2: 160.7,
    };
    let s = detect::square_box(&b, 640, 480);
    let side = 160.7 - 80.2;
    assert!((s.width() - side).abs() < 1e-3 && (s.height() - side).abs() < 1e-3);
    assert!(((s.x1 + s.x2) / 2.0 - 130.65).abs() < 1e-3);
    let c = landmarks::landmark_crop(&s, 640, 480).unwrap();
    assert_eq!(
        c,
        CropRect {
            x: s.x1 as u32,
            y: s.y1 as u32,
            w: (s.x2 as u32 - s.x1 as u32),
            h: (s.y2 as u32 - s.y1 as u32)
        }
    );
    // Clipped at the image border.
    let s = detect::square_box(
        &BoxF {
            x1: -10.0,
            y1: -20.0,
            x2: 30.0,
            y2: 40.0,
        },
        100,
        100,
    );
    assert_eq!((s.x1, s.y1), (0.0, 0.0));
    // Outputs map back through the crop rectangle.
    let pts = landmarks::crop_to_image(
        &[0.0, 0.0, 1.0, 0.5],
        &CropRect {
            x: 10,
            y: 20,
            w: 64,
            h: 32,
        },
    );
    assert_eq!(pts, vec![[10.0, 20.0], [74.0, 36.0]]);
}

#[test]
fn five_points_from_68() {
    let p: Vec<[f64; 2]> = (0..68).map(|i| [i as f64, (i * i) as f64]).collect();
    let five = landmarks::reduce_68_to_5(&p).unwrap();
    // Naive: sums written out.
    let left = [
        (36..=41).map(|i| i as f64).sum::<f64>() / 6.0,
        (36..=41).map(|i| (i * i) as f64).sum::<f64>() / 6.0,
    ];
    let right = [
        (42..=47).map(|i| i as f64).sum::<f64>() / 6.0,
        (42..=47).map(|i| (i * i) as f64).sum::<f64>() / 6.0,
    ];
    assert_eq!(
        five,
        [left, right, [30.0, 900.0], [48.0, 2304.0], [54.0, 2916.0]]
    );
    assert!(landmarks::reduce_68_to_5(&p[..67]).is_none());
}

/// The model's `boxes` output is the decode of its raw regression (tensor 462) with
/// our priors: proof that prior layout, order and variances are right.
#[test]
fn our_decode_reproduces_the_models_own() {
    let needs = [
        "models/fr_detect.onnx",
        "faces/photos-face-recognition/MULTI/examples__two_people.jpg",
    ];
    let Some(shared) = amva_testkit::shared_with(&needs) else {
        return;
    };
    let (model, img_path) = (shared.join(needs[0]), shared.join(needs[1]));
    let det = amva_align::pipeline::Detector::open(&model, amva_model::EngineKind::Auto).unwrap();
    let net = amva_model::Net::open(
        &model,
        &["462", "boxes", "scores"],
        amva_model::EngineKind::Auto,
    )
    .unwrap();
    let img = amva_io::images::load_rgb(&img_path).unwrap();
    let out = net.run(&det.input(&img), 1).unwrap();
    assert_eq!(out[0].data.len(), 4420 * 4);
    let ours = detect::decode(
        &out[0].data,
        &detect::priors(&PriorConfig::RFB_320),
        PriorConfig::RFB_320.variances,
    );
    let mut worst = 0f32;
    for (a, b) in ours.iter().zip(out[1].data.chunks_exact(4)) {
        for k in 0..4 {
            worst = worst.max((a[k] - b[k]).abs());
        }
    }
    eprintln!("largest difference between our decode and the model's: {worst:e}");
    assert!(worst < 1e-4);
    // And at least one confident face, so the comparison covered real boxes.
    assert!(out[2].data.chunks_exact(2).any(|s| s[1] > 0.9));
}
