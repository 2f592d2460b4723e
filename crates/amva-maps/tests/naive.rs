//! Every method against a direct, unbatched implementation written here from
//! ALGORITHMS.md 1, on the real default model and real LFW faces. The fast path batches,
//! runs in parallel, reuses buffers and skips work; the results must not change.
//!
//! Needs ../shared (models and faces); skips with a message when it is missing.

use amva_maps::{CamRunner, Channels, Faithfulness, MapParams, Method, Score};
use amva_model::{EngineKind, FrModel, ModelSpec};
use std::path::PathBuf;

fn shared() -> Option<PathBuf> {
    amva_testkit::shared_with(&["models/fr_feature.onnx", "faces/lfw-dev/aligned112"])
}

fn model(shared: &std::path::Path) -> FrModel {
    FrModel::load(
        &shared.join("models/fr_feature.onnx"),
        ModelSpec::default_model(),
        EngineKind::Auto,
    )
    .unwrap()
}

/// Three different faces, preprocessed.
fn faces(shared: &std::path::Path, model: &FrModel) -> (Vec<f32>, usize) {
    let list = amva_io::images::ImageList::open(&shared.join("faces/lfw-dev/aligned112")).unwrap();
    let items: Vec<_> = [0usize, 700, 1400]
        .iter()
        .map(|&i| list.items[i].clone())
        .collect();
    let b = amva_model::preprocess::load_batch(&items, &model.spec.preprocess, false);
    assert!(b.failed.is_empty(), "{:?}", b.failed);
    (b.input, items.len())
}

// ---- the naive implementation -------------------------------------------------------

fn embed1(model: &FrModel, x: &[f32]) -> (Vec<f32>, Vec<f32>) {
    let f = model.forward(x, 1).unwrap();
    (f.embeddings, f.activations)
}

fn cos(a: &[f32], b: &[f32]) -> f64 {
    let dot: f64 = a.iter().zip(b).map(|(x, y)| *x as f64 * *y as f64).sum();
    let na: f64 = a.iter().map(|x| (*x as f64).powi(2)).sum::<f64>().sqrt();
    let nb: f64 = b.iter().map(|x| (*x as f64).powi(2)).sum::<f64>().sqrt();
    dot / (na * nb)
}

/// PyTorch's bilinear upsampling, align_corners=False, one output pixel at a time.
fn upsample(src: &[f32], h: usize, w: usize, oh: usize, ow: usize) -> Vec<f32> {
    let coord = |o: usize, n_in: usize, n_out: usize| {
        let s = ((n_in as f32 / n_out as f32) * (o as f32 + 0.5) - 0.5).max(0.0);
        let i0 = (s.floor() as usize).min(n_in - 1);
        let i1 = (i0 + 1).min(n_in - 1);
        let l = if i1 == i0 { 0.0 } else { s - i0 as f32 };
        (i0, i1, l)
    };
    let mut out = vec![0.0; oh * ow];
    for y in 0..oh {
        let (y0, y1, ly) = coord(y, h, oh);
        for x in 0..ow {
            let (x0, x1, lx) = coord(x, w, ow);
            let top = (1.0 - lx) * src[y0 * w + x0] + lx * src[y0 * w + x1];
            let bot = (1.0 - lx) * src[y1 * w + x0] + lx * src[y1 * w + x1];
            out[y * ow + x] = (1.0 - ly) * top + ly * bot;
        }
    }
    out
}

fn minmax(v: &mut [f32]) {
    let lo = v.iter().cloned().fold(f32::INFINITY, f32::min);
    let hi = v.iter().cloned().fold(f32::NEG_INFINITY, f32::max);
    for x in v.iter_mut() {
        *x = if hi > lo { (*x - lo) / (hi - lo) } else { 0.0 };
    }
}

/// The channels Score-CAM runs: non-constant, and the `top` of highest variance.
fn naive_channels(a: &[f32], k: usize, hw: usize, top: Option<usize>) -> Vec<usize> {
    let mut cands: Vec<(usize, f64)> = (0..k)
        .filter(|&c| {
            let ch = &a[c * hw..(c + 1) * hw];
            let lo = ch.iter().cloned().fold(f32::INFINITY, f32::min) as f64;
            let hi = ch.iter().cloned().fold(f32::NEG_INFINITY, f32::max) as f64;
            hi - lo >= 1e-12
        })
        .map(|c| {
            let ch = &a[c * hw..(c + 1) * hw];
            let mean = ch.iter().map(|&v| v as f64).sum::<f64>() / hw as f64;
            (
                c,
                ch.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / hw as f64,
            )
        })
        .collect();
    if let Some(n) = top {
        cands.sort_by(|x, y| y.1.partial_cmp(&x.1).unwrap().then(x.0.cmp(&y.0)));
        cands.truncate(n);
    }
    let mut c: Vec<usize> = cands.into_iter().map(|c| c.0).collect();
    c.sort();
    c
}

fn naive_scorecam(
    model: &FrModel,
    x: &[f32],
    top: Option<usize>,
    score: Score,
    t: f64,
) -> Vec<f32> {
    let [k, h, w] = model.target_shape;
    let (hw, n) = (h * w, 112 * 112);
    let (e0, a) = embed1(model, x);
    let (ezero, _) = embed1(model, &vec![0.0; x.len()]);
    let chans = naive_channels(&a, k, hw, top);
    let mut s = Vec::new();
    for &c in &chans {
        let mut mask = upsample(&a[c * hw..(c + 1) * hw], h, w, 112, 112);
        minmax(&mut mask);
        let xk: Vec<f32> = x
            .iter()
            .enumerate()
            .map(|(i, &v)| v * mask[i % n])
            .collect();
        s.push(cos(&embed1(model, &xk).0, &e0));
    }
    let wts: Vec<f64> = match score {
        Score::Raw => s.clone(),
        Score::Baseline => {
            let b = cos(&ezero, &e0);
            s.iter().map(|v| v - b).collect()
        }
        Score::Softmax => {
            let z: f64 = s.iter().map(|v| (v / t).exp()).sum();
            s.iter().map(|v| (v / t).exp() / z).collect()
        }
    };
    let mut m = vec![0.0f64; hw];
    for (&c, wk) in chans.iter().zip(&wts) {
        for p in 0..hw {
            m[p] += wk * a[c * hw + p] as f64;
        }
    }
    m.into_iter().map(|v| v as f32).collect()
}

fn naive_ablation(model: &FrModel, x: &[f32]) -> Vec<f32> {
    let [k, h, w] = model.target_shape;
    let hw = h * w;
    let (e0, a) = embed1(model, x);
    let head = model.head().unwrap();
    let mut m = vec![0.0f64; hw];
    for c in 0..k {
        let mut ab = a.clone();
        for p in 0..hw {
            ab[c * hw + p] = 0.0;
        }
        let ek = &head.run(&ab, 1).unwrap()[0].data;
        let wk = 1.0 - cos(ek, &e0);
        for p in 0..hw {
            m[p] += wk * a[c * hw + p] as f64;
        }
    }
    m.into_iter().map(|v| v as f32).collect()
}

fn naive_activation(model: &FrModel, x: &[f32]) -> Vec<f32> {
    let [k, h, w] = model.target_shape;
    let a = embed1(model, x).1;
    (0..h * w)
        .map(|p| ((0..k).map(|c| a[c * h * w + p] as f64).sum::<f64>() / k as f64) as f32)
        .collect()
}

/// Eigen-CAM by power iteration on the K x K matrix M^T M (M = hw x K), then M v.
fn naive_eigencam(model: &FrModel, x: &[f32]) -> Vec<f32> {
    let [k, h, w] = model.target_shape;
    let hw = h * w;
    let a = embed1(model, x).1;
    let mt = |c: usize, p: usize| a[c * hw + p] as f64; // M[p][c]
    let mut v = vec![1.0f64; k];
    for _ in 0..2000 {
        let mv: Vec<f64> = (0..hw)
            .map(|p| (0..k).map(|c| mt(c, p) * v[c]).sum())
            .collect();
        let mut nv: Vec<f64> = (0..k)
            .map(|c| (0..hw).map(|p| mt(c, p) * mv[p]).sum())
            .collect();
        let norm = nv.iter().map(|x| x * x).sum::<f64>().sqrt();
        nv.iter_mut().for_each(|x| *x /= norm);
        v = nv;
    }
    let mut m: Vec<f64> = (0..hw)
        .map(|p| (0..k).map(|c| mt(c, p) * v[c]).sum())
        .collect();
    // ALGORITHMS 1.2: the channel weights sum to >= 0.
    if v.iter().sum::<f64>() < 0.0 {
        m.iter_mut().for_each(|x| *x = -*x);
    }
    m.into_iter().map(|v| v as f32).collect()
}

// ---- comparisons -------------------------------------------------------------------

/// Low-resolution maps equal to 1e-5 of their scale, full maps (in [0, 1]) to 1e-5.
fn assert_maps_close(what: &str, fast: &[f32], naive: &[f32]) {
    assert!(
        !maps_close(what, fast, naive),
        "{what}: a real face gave a flat map"
    );
}

/// Checks closeness; returns whether the map is flat.
fn maps_close(what: &str, fast: &[f32], naive: &[f32]) -> bool {
    let scale = naive.iter().fold(0f32, |a, v| a.max(v.abs())).max(1e-6);
    for (p, (a, b)) in fast.iter().zip(naive).enumerate() {
        assert!(
            (a - b).abs() <= 1e-5 * scale,
            "{what}: low-res pixel {p}: {a} vs {b} (scale {scale})"
        );
    }
    let fa = amva_maps::full_map(fast, 7, 7, 112, 112).unwrap();
    let fb = amva_maps::full_map(naive, 7, 7, 112, 112).unwrap();
    assert_eq!(fa.flat, fb.flat, "{what}");
    let worst = fa
        .data
        .iter()
        .zip(&fb.data)
        .map(|(a, b)| (a - b).abs())
        .fold(0f32, f32::max);
    assert!(worst <= 1e-5, "{what}: full maps differ by {worst}");
    fa.flat
}

fn fast_maps(model: &FrModel, params: MapParams, x: &[f32], n: usize) -> Vec<Vec<f32>> {
    let runner = CamRunner::new(model, params).unwrap();
    let done = std::sync::atomic::AtomicUsize::new(0);
    let maps = runner
        .maps(x, n, &|k| {
            done.fetch_add(k, std::sync::atomic::Ordering::Relaxed);
        })
        .unwrap();
    assert_eq!(done.into_inner(), n, "progress reports every image once");
    maps.into_iter().map(|m| m.m).collect()
}

#[test]
fn scorecam_subset_of_channels_matches_naive_on_three_faces() {
    let Some(sh) = shared() else { return };
    let model = model(&sh);
    let (x, n) = faces(&sh, &model);
    let per = model.input_len();
    for (score, batch) in [(Score::Baseline, 3), (Score::Softmax, 4), (Score::Raw, 1)] {
        let params = MapParams {
            score,
            temperature: 0.5,
            channels: Channels::Top(20),
            batch,
            ..MapParams::new(Method::ScoreCam)
        };
        let fast = fast_maps(&model, params, &x, n);
        for i in 0..n {
            let naive = naive_scorecam(&model, &x[i * per..(i + 1) * per], Some(20), score, 0.5);
            assert_maps_close(&format!("scorecam {score} image {i}"), &fast[i], &naive);
        }
    }
}

#[test]
fn scorecam_all_512_channels_matches_naive_on_one_face() {
    let Some(sh) = shared() else { return };
    let model = model(&sh);
    let (x, _) = faces(&sh, &model);
    let per = model.input_len();
    let params = MapParams {
        batch: 2,
        ..MapParams::new(Method::ScoreCam)
    };
    let fast = fast_maps(&model, params, &x[..per], 1);
    let naive = naive_scorecam(&model, &x[..per], None, Score::Baseline, 1.0);
    assert_maps_close("scorecam, all channels", &fast[0], &naive);
}

#[test]
fn ablation_eigencam_activation_match_naive_on_three_faces() {
    let Some(sh) = shared() else { return };
    let model = model(&sh);
    let (x, n) = faces(&sh, &model);
    let per = model.input_len();
    let abl = fast_maps(
        &model,
        MapParams {
            batch: 48,
            ..MapParams::new(Method::Ablation)
        },
        &x,
        n,
    );
    let eig = fast_maps(
        &model,
        MapParams {
            batch: 1,
            ..MapParams::new(Method::EigenCam)
        },
        &x,
        n,
    );
    let act = fast_maps(
        &model,
        MapParams {
            batch: 1,
            ..MapParams::new(Method::Activation)
        },
        &x,
        n,
    );
    for i in 0..n {
        let xi = &x[i * per..(i + 1) * per];
        assert_maps_close(
            &format!("ablation image {i}"),
            &abl[i],
            &naive_ablation(&model, xi),
        );
        assert_maps_close(
            &format!("eigencam image {i}"),
            &eig[i],
            &naive_eigencam(&model, xi),
        );
        assert_maps_close(
            &format!("activation image {i}"),
            &act[i],
            &naive_activation(&model, xi),
        );
    }
}

#[test]
fn faithfulness_curves_match_naive_deletion_and_insertion() {
    let Some(sh) = shared() else { return };
    let model = model(&sh);
    let (x, _) = faces(&sh, &model);
    let per = model.input_len();
    let x0 = &x[..per];
    let (e0, _) = embed1(&model, x0);
    let steps = 5;
    let map_a: Vec<f32> = amva_maps::faithfulness::random_map(1, "a", 112 * 112);
    let map_b: Vec<f32> = (0..112 * 112)
        .map(|p| ((p % 112) as f32 - 56.0).abs())
        .collect();
    let f = Faithfulness::new(&model, steps, 3).unwrap();
    let curves = f.curves(x0, &e0, &[&map_a, &map_b]).unwrap();
    for (map, c) in [&map_a, &map_b].iter().zip(&curves) {
        let mut order: Vec<usize> = (0..map.len()).collect();
        order.sort_by(|&a, &b| map[b].partial_cmp(&map[a]).unwrap().then(a.cmp(&b)));
        let (mut del, mut ins) = (Vec::new(), Vec::new());
        for s in 0..=steps {
            let top = &order[..s * map.len() / steps];
            let mut keep = vec![1.0f32; map.len()];
            top.iter().for_each(|&p| keep[p] = 0.0);
            let xd: Vec<f32> = x0
                .iter()
                .enumerate()
                .map(|(i, &v)| v * keep[i % map.len()])
                .collect();
            let xi: Vec<f32> = x0
                .iter()
                .enumerate()
                .map(|(i, &v)| v * (1.0 - keep[i % map.len()]))
                .collect();
            del.push(cos(&embed1(&model, &xd).0, &e0));
            ins.push(cos(&embed1(&model, &xi).0, &e0));
        }
        for s in 0..=steps {
            assert!(
                (c.deletion[s] - del[s]).abs() < 1e-5,
                "deletion step {s}: {} vs {}",
                c.deletion[s],
                del[s]
            );
            assert!(
                (c.insertion[s] - ins[s]).abs() < 1e-5,
                "insertion step {s}: {} vs {}",
                c.insertion[s],
                ins[s]
            );
        }
        let area = |v: &[f64]| {
            (0..steps)
                .map(|s| (v[s] + v[s + 1]) / 2.0 / steps as f64)
                .sum::<f64>()
        };
        assert!((c.deletion_score() - area(&del)).abs() < 1e-5);
        assert!((c.insertion_score() - area(&ins)).abs() < 1e-5);
    }
}

#[test]
fn ablation_at_a_layer_with_a_nonlinear_head_takes_the_batched_path() {
    let Some(sh) = shared() else { return };
    // "503" feeds a 1x1 convolution and a PReLU before the affine tail: not affine.
    let spec = ModelSpec {
        target: "503".into(),
        ..ModelSpec::default_model()
    };
    let model = FrModel::load(&sh.join("models/fr_feature.onnx"), spec, EngineKind::Auto).unwrap();
    let (x, n) = faces(&sh, &model);
    let per = model.input_len();
    let runner = CamRunner::new(
        &model,
        MapParams {
            batch: 16,
            ..MapParams::new(Method::Ablation)
        },
    )
    .unwrap();
    assert!(
        !runner.uses_linear_head(),
        "a head with a PReLU is not affine"
    );
    let fast = runner.maps(&x, n, &|_| {}).unwrap();
    let mut flat = 0;
    for i in 0..n {
        let naive = naive_ablation(&model, &x[i * per..(i + 1) * per]);
        flat += maps_close(&format!("ablation at 503, image {i}"), &fast[i].m, &naive) as usize;
    }
    assert!(flat < n, "every map was flat: nothing compared");
}
