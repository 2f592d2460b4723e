//! Measures the detector chain on the LFW dev images against the reference landmarks:
//! `cargo run -p amva-align --example lfw_detect_eval [--release] -- [STEP]`
//! (every STEP-th image; default 1 = all 2,810).

use amva_align::{landmarks_csv, AlignOptions, Aligner};
use rayon::prelude::*;
use std::path::Path;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let step: usize = std::env::args()
        .nth(1)
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(1);
    let shared = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared"));
    let lfw = shared.join("faces/lfw-dev");
    let table = landmarks_csv::read_landmarks_csv(&lfw.join("index.csv"))?;
    let mut ids: Vec<String> = table.by_image.keys().cloned().collect();
    ids.sort();
    let ids: Vec<String> = ids.into_iter().step_by(step).collect();
    let aligner = Aligner::from_paths(
        &shared.join("models/fr_detect.onnx"),
        &shared.join("models/fr_landmark.onnx"),
        amva_model::EngineKind::Auto,
        AlignOptions::default(),
    )?;
    let t0 = std::time::Instant::now();
    let res: Vec<(String, Option<f64>, usize)> = ids
        .par_iter()
        .map(|id| {
            let img = amva_io::images::load_rgb(&lfw.join("raw250_deepfunneled").join(id))
                .expect("readable");
            let found = aligner.search(&img).expect("runs");
            let err = match (found.faces.first(), table.get(id).flatten()) {
                (Some(f), Some(r)) => Some(
                    f.landmarks
                        .iter()
                        .zip(&r)
                        .map(|(a, b)| (a[0] - b[0]).hypot(a[1] - b[1]))
                        .sum::<f64>()
                        / 5.0,
                ),
                _ => None,
            };
            (id.clone(), err, found.faces.len())
        })
        .collect();
    let secs = t0.elapsed().as_secs_f64();
    let found = res.iter().filter(|r| r.2 > 0).count();
    let with_ref: Vec<f64> = res.iter().filter_map(|r| r.1).collect();
    let within = with_ref.iter().filter(|&&e| e <= 5.0).count();
    let mut sorted = with_ref.clone();
    sorted.sort_by(f64::total_cmp);
    println!(
        "images {} found {} ({:.2} %); with reference {}; mean err {:.2} px, median {:.2}, within 5 px {:.2} %; {secs:.1} s ({:.1} img/s)",
        res.len(),
        found,
        100.0 * found as f64 / res.len() as f64,
        with_ref.len(),
        with_ref.iter().sum::<f64>() / with_ref.len() as f64,
        sorted[sorted.len() / 2],
        100.0 * within as f64 / with_ref.len() as f64,
        res.len() as f64 / secs
    );
    for r in res
        .iter()
        .filter(|r| r.2 == 0 || r.1.is_some_and(|e| e > 10.0))
    {
        println!("  {} faces={} err={:?}", r.0, r.2, r.1);
    }
    Ok(())
}
