//! Faces found in a folder of photos with all faces on:
//! `cargo run -p amva-align --example photos_eval -- DIR [MIN_SCORE]`

use amva_align::{AlignOptions, Aligner};
use std::path::Path;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::args()
        .nth(1)
        .ok_or("usage: photos_eval DIR [MIN_SCORE]")?;
    let min_score: f32 = std::env::args()
        .nth(2)
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(0.65);
    let shared = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared"));
    let opts = AlignOptions {
        all_faces: true,
        score_threshold: min_score,
        ..AlignOptions::default()
    };
    let aligner = Aligner::from_paths(
        &shared.join("models/fr_detect.onnx"),
        &shared.join("models/fr_landmark.onnx"),
        amva_model::EngineKind::Auto,
        opts,
    )?;
    let list = amva_io::images::ImageList::open(Path::new(&dir))?;
    for item in &list.items {
        let img = amva_io::images::load_rgb(&item.path)?;
        let found = aligner.search(&img)?;
        let desc: Vec<String> = found
            .faces
            .iter()
            .map(|f| {
                let d = f.detection.unwrap();
                format!(
                    "{:.0}px s={:.2} r={:.1}",
                    d.bbox.height(),
                    d.score,
                    f.residual
                )
            })
            .collect();
        if let Some(out) = std::env::var_os("PREVIEW_DIR") {
            let view = amva_align::draw::preview(&img, &found)?;
            let small = image::imageops::resize(
                &view,
                600,
                600 * view.height() / view.width(),
                image::imageops::FilterType::Triangle,
            );
            small.save(
                Path::new(&out)
                    .join(item.id.replace('/', "__"))
                    .with_extension("png"),
            )?;
        }
        println!(
            "{} {}x{}: {} faces [{}] small {}",
            item.id,
            img.width(),
            img.height(),
            found.faces.len(),
            desc.join(", "),
            found.too_small.len()
        );
    }
    Ok(())
}
