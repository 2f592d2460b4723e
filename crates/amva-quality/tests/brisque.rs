//! BRISQUE against the PyPI `brisque` package on 30 real faces
//! (fixtures/brisque_reference.csv, made by fixtures/brisque_reference.py).

use amva_quality::brisque::{features, BrisqueModel};
use std::path::PathBuf;

fn shared() -> Option<PathBuf> {
    amva_testkit::shared_with(&["faces"])
}

/// The model from the cache, downloading it if needed; None (skip) when offline.
fn model() -> Option<BrisqueModel> {
    match amva_fetch::brisque::ensure(&|m| eprintln!("{m}"))
        .map_err(|e| e.to_string())
        .and_then(|()| BrisqueModel::load_default().map_err(|e| e.to_string()))
    {
        Ok(m) => Some(m),
        Err(e) => {
            amva_testkit::skip(&format!("the BRISQUE model is not available ({e})"));
            None
        }
    }
}

fn reference() -> Vec<(String, f64)> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/brisque_reference.csv"
    );
    let mut r = csv::Reader::from_path(path).expect("fixture");
    r.records()
        .map(|rec| {
            let rec = rec.expect("fixture row");
            (rec[0].to_string(), rec[1].parse().expect("fixture score"))
        })
        .collect()
}

#[test]
fn scores_match_the_python_package_on_real_faces() {
    let (Some(shared), Some(model)) = (shared(), model()) else {
        return;
    };
    let refs = reference();
    assert_eq!(refs.len(), 30);
    let mut ours = Vec::new();
    let mut worst = (0.0, String::new());
    for (rel, want) in &refs {
        let img = amva_io::images::load_rgb(&shared.join("faces").join(rel)).expect("image");
        let got = model.score(&img);
        let diff = (got - want).abs();
        eprintln!("{rel}: rust {got:.4} python {want:.4} diff {diff:.4}");
        if diff > worst.0 {
            worst = (diff, rel.clone());
        }
        ours.push(got);
    }
    let want: Vec<f64> = refs.iter().map(|r| r.1).collect();
    let rho = amva_math::compare::spearman(&ours, &want).unwrap();
    let mad = ours
        .iter()
        .zip(&want)
        .map(|(a, b)| (a - b).abs())
        .sum::<f64>()
        / want.len() as f64;
    eprintln!("BRISQUE vs PyPI brisque 0.2.0 on 30 faces: Spearman {rho:.4}, mean |diff| {mad:.4}, worst {:.4} ({})", worst.0, worst.1);
    assert!(rho >= 0.98, "Spearman {rho}");
    assert!(mad <= 1.0, "mean absolute difference {mad}");
}

#[test]
fn flat_and_tiny_images_have_no_score() {
    let Some(model) = model() else { return };
    let flat = image::RgbImage::from_pixel(64, 64, image::Rgb([128, 128, 128]));
    assert!(model.score(&flat).is_nan());
    let tiny = image::RgbImage::from_pixel(4, 4, image::Rgb([1, 2, 3]));
    assert!(model.score(&tiny).is_nan());
    assert!(features::features(&tiny).iter().all(|v| v.is_nan()));
}
