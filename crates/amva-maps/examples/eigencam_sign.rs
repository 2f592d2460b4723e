//! Why Eigen-CAM disagrees with every other map on LightCNN-V4 (issue: the audit).
//!
//! For N faces of a model: the share of negative target activations, and the Spearman
//! correlation with the mean-activation map (which matches Score-CAM at 0.99+ on both
//! shared models) of Eigen-CAM as amva computes it and of variants that each remove one
//! suspect: the same projection from an exact SVD (no Gram shortcut, no power iteration),
//! the other sign, the projection of the centred activations (pytorch-grad-cam), and the
//! projection of the activations after a ReLU.
//!
//! cargo run --release -p amva-maps --example eigencam_sign -- MODEL.onnx [SETTINGS.toml] FACES_DIR [N]

use amva_maps::{CamRunner, MapParams, Method};
use amva_math::compare::spearman;
use amva_math::resample::finish_map;
use amva_model::{EngineKind, FrModel, ModelSpec};
use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (model, spec, faces, n) = match args.len() {
        3 | 4 if args[1].ends_with(".toml") => (
            PathBuf::from(&args[0]),
            ModelSpec::from_file(std::path::Path::new(&args[1]))?,
            PathBuf::from(&args[2]),
            args.get(3).map_or(Ok(16), |s| s.parse())?,
        ),
        2 | 3 => (
            PathBuf::from(&args[0]),
            ModelSpec::for_model(std::path::Path::new(&args[0]))?,
            PathBuf::from(&args[1]),
            args.get(2).map_or(Ok(16), |s| s.parse())?,
        ),
        _ => return Err("usage: eigencam_sign MODEL.onnx [SETTINGS.toml] FACES_DIR [N]".into()),
    };
    let model = FrModel::load(&model, spec, EngineKind::Auto)?;
    let list = amva_io::images::ImageList::open(&faces)?;
    let items: Vec<_> = list
        .items
        .iter()
        .step_by((list.len() / n).max(1))
        .take(n)
        .cloned()
        .collect();
    let loaded = amva_model::preprocess::load_batch(&items, &model.spec.preprocess, true);
    let n = loaded.ok.len();
    let [k, h, w] = model.target_shape;
    let (hh, ww) = (
        model.spec.preprocess.height as usize,
        model.spec.preprocess.width as usize,
    );
    let passes = amva_maps::forward_each(&model, &loaded.input, n)?;
    let eigen = CamRunner::new(
        &model,
        MapParams {
            batch: 1,
            ..MapParams::new(Method::EigenCam)
        },
    )?
    .maps_with(&loaded.input, &passes, &|_| {})?;
    let finish = |m: &[f32]| -> Vec<f64> {
        finish_map(m, h, w, hh, ww)
            .map(|f| f.data.iter().map(|&v| v as f64).collect())
            .unwrap_or_default()
    };
    let rho = |a: &[f64], b: &[f64]| spearman(a, b).map_or(f64::NAN, |r| r);
    let names = [
        "amva eigencam",
        "exact SVD, same sign rule",
        "other sign",
        "centred (grad-cam)",
        "after ReLU",
    ];
    let mut table: Vec<Vec<f64>> = vec![Vec::new(); names.len()];
    let mut negative = 0usize;
    let mut flat_other_sign = 0usize;
    for (i, p) in passes.iter().enumerate() {
        let a = &p.activations;
        negative += a.iter().filter(|&&v| v < 0.0).count();
        let mean: Vec<f32> = (0..h * w)
            .map(|q| (0..k).map(|c| a[c * h * w + q]).sum::<f32>() / k as f32)
            .collect();
        let reference = finish(&mean);
        let exact = projection(a, k, h * w, false, false);
        let other: Vec<f32> = exact.iter().map(|v| -v).collect();
        if finish(&other).iter().all(|&v| v == 0.0) {
            flat_other_sign += 1;
        }
        let variants = [
            eigen[i].m.clone(),
            exact.clone(),
            other,
            projection(a, k, h * w, true, false),
            projection(a, k, h * w, false, true),
        ];
        for (row, m) in table.iter_mut().zip(&variants) {
            row.push(rho(&finish(m), &reference));
        }
    }
    println!(
        "{} ({} faces): target {k} x {h} x {w}, {:.1} % of the activations are negative; the other sign's map is all zero after the ReLU on {flat_other_sign} of {n} faces",
        model.graph.path.display(),
        n,
        100.0 * negative as f64 / (n * k * h * w) as f64
    );
    println!("Spearman with the mean-activation map (median, min):");
    for (name, row) in names.iter().zip(&table) {
        let mut v: Vec<f64> = row.iter().copied().filter(|x| x.is_finite()).collect();
        v.sort_by(f64::total_cmp);
        let med = if v.is_empty() {
            f64::NAN
        } else {
            v[v.len() / 2]
        };
        println!(
            "  {name:<28} {med:>7.3} {:>7.3}  ({} of {n} defined)",
            v.first().copied().unwrap_or(f64::NAN),
            v.len()
        );
    }
    Ok(())
}

/// M v for the first right singular vector v of M (hw x K; centred columns when
/// `centre`, ReLU first when `relu`), from the smaller Gram matrix (M^T M, or M M^T with
/// M v = sqrt(lambda) u) by power iteration in f64 until the vector stops moving (at most
/// 20,000 steps); sign: sum of the projection >= 0 (ALGORITHMS 1.2's rule, applied to
/// every variant alike; grad-cam centres and leaves the sign to the SVD).
fn projection(a: &[f32], k: usize, hw: usize, centre: bool, relu: bool) -> Vec<f32> {
    let mut m: Vec<f64> = a
        .iter()
        .map(|&v| if relu { v.max(0.0) as f64 } else { v as f64 })
        .collect();
    if centre {
        for ch in m.chunks_exact_mut(hw) {
            let mu = ch.iter().sum::<f64>() / hw as f64;
            ch.iter_mut().for_each(|v| *v -= mu);
        }
    }
    // Element (p, c) of M is m[c * hw + p].
    let by_channel = k <= hw;
    let n = if by_channel { k } else { hw };
    let at = |i: usize, t: usize| {
        if by_channel {
            m[i * hw + t]
        } else {
            m[t * hw + i]
        }
    };
    let inner = if by_channel { hw } else { k };
    let mut g = vec![0.0f64; n * n];
    for i in 0..n {
        for j in i..n {
            let s: f64 = (0..inner).map(|t| at(i, t) * at(j, t)).sum();
            g[i * n + j] = s;
            g[j * n + i] = s;
        }
    }
    let mut v: Vec<f64> = (0..n).map(|i| 1.0 + (i as f64 * 0.618).fract()).collect();
    let mut lambda = 0.0;
    for _ in 0..20_000 {
        let w: Vec<f64> = (0..n)
            .map(|i| (0..n).map(|j| g[i * n + j] * v[j]).sum())
            .collect();
        let norm = w.iter().map(|x| x * x).sum::<f64>().sqrt();
        if norm == 0.0 {
            break;
        }
        let next: Vec<f64> = w.into_iter().map(|x| x / norm).collect();
        let moved = next
            .iter()
            .zip(&v)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f64::max);
        v = next;
        lambda = norm;
        if moved < 1e-13 {
            break;
        }
    }
    let mut out: Vec<f64> = if by_channel {
        (0..hw)
            .map(|p| (0..k).map(|c| m[c * hw + p] * v[c]).sum())
            .collect()
    } else {
        v.iter().map(|x| lambda.sqrt() * x).collect()
    };
    if out.iter().sum::<f64>() < 0.0 {
        out.iter_mut().for_each(|x| *x = -*x);
    }
    out.into_iter().map(|x| x as f32).collect()
}
