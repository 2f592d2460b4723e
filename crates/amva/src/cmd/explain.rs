//! `amva explain`: images against a reference from `amva analyze` (ALGORITHMS 5). Each
//! image's map is computed with the reference's model, map method and parameters (from
//! the maps' meta.json the analysis kept); the comparison is `amva_analysis::explain`.

use crate::common::{Tagged, Ui};
use amva_analysis::explain::DEFAULT_EPS;
use amva_model::EngineKind;
use amva_report::explain::ExplainRun;
use anyhow::Result;
use std::path::PathBuf;

#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:
  amva explain --reference analysis/ --out why/ face1.jpg face2.png
  amva explain --reference analysis/ --fiqa serfiq --out why/ faces/*.jpg

For each image: <out>/<image>.png (its map, the deviation |AM - MAM_ref| over the image,
the z-map (AM - MAM_ref) / max(AM-V_ref, eps)), <image>_map.npy, <image>_deviation.npy,
<image>_z.npy;
for all: explain.json and explain.csv with the scores (mean absolute deviation over the
map, inside and outside the central face region, outside share; the same for |z|).
The reference is the high-quality group of a method of the analysis. Maps are computed
with the model, layer, method and parameters the reference's maps were made with; a model
with another checksum is refused.")]
pub struct Args {
    /// Output folder of `amva analyze`.
    #[arg(long, value_name = "DIR")]
    pub reference: PathBuf,
    /// Images to explain (aligned like the reference's images).
    #[arg(required = true, value_name = "IMAGE")]
    pub images: Vec<PathBuf>,
    /// Output folder.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// FIQA method whose high group is the reference (default: the analysis' first, alphabetically).
    #[arg(long, value_name = "FIQA")]
    pub fiqa: Option<String>,
    /// ONNX model (default: the model recorded with the reference's maps, else the built-in one).
    #[arg(long, value_name = "ONNX")]
    pub model: Option<PathBuf>,
    /// Inference engine: auto, tract, ort.
    #[arg(long, default_value = "auto")]
    pub engine: EngineKind,
    /// Resize images of the wrong size (otherwise they are listed as failed).
    #[arg(long)]
    pub resize: bool,
    /// Floor of the reference AM-V in the z-map's denominator.
    #[arg(long, default_value_t = DEFAULT_EPS)]
    pub eps: f64,
}

pub fn run(a: Args, ui: &Ui) -> Result<()> {
    let start = std::time::Instant::now();
    let mut inputs = vec![crate::common::input("--reference", &a.reference)];
    inputs.extend(a.images.iter().map(|p| crate::common::input("--images", p)));
    inputs.extend(
        a.model
            .as_deref()
            .map(|p| crate::common::input("--model", p)),
    );
    let _lock = amva_io::outputs::claim_dir(&a.out, &inputs, "explanation")?;
    let run = ExplainRun {
        reference: a.reference.clone(),
        method: a.fiqa.clone(),
        images: a.images.clone(),
        model: a.model.clone(),
        engine: a.engine,
        eps: a.eps,
        resize: a.resize,
        out: a.out.clone(),
    };
    let default_model =
        || crate::common::default_model(amva_io::models::FR_FEATURE).map_err(|e| e.to_string());
    let pb = ui.progress(a.images.len() as u64, "explain");
    let doc = amva_report::explain::explain(&run, &default_model, &mut |n| ui.note(&n), &|k| {
        pb.inc(k as u64)
    });
    pb.finish_and_clear();
    let doc = doc?;
    for f in &doc.failed {
        ui.note(&format!("skipped {}: {}", f.image, f.reason));
    }
    let brief = ExplainBrief {
        images: doc.images.len(),
        failed: doc.failed.len(),
        out: &a.out,
        reference_method: &doc.reference.method,
        seconds: start.elapsed().as_secs_f64(),
        scores: doc
            .images
            .iter()
            .map(|r| ImageScores {
                image: &r.image,
                scores: &r.scores,
            })
            .collect(),
    };
    ui.summary(
        &format!(
            "explained {} image(s) ({} failed) against {} {} of {} in {:.1} s -> {}",
            doc.images.len(),
            doc.failed.len(),
            doc.reference.method,
            doc.reference.rule,
            a.reference.display(),
            brief.seconds,
            a.out.display()
        ),
        Tagged::new("explain", &brief),
    );
    anyhow::ensure!(!doc.images.is_empty(), "no image could be explained");
    Ok(())
}

/// The brief of `amva explain --json`.
#[derive(serde::Serialize)]
struct ExplainBrief<'a> {
    images: usize,
    failed: usize,
    out: &'a std::path::Path,
    reference_method: &'a str,
    seconds: f64,
    scores: Vec<ImageScores<'a>>,
}

#[derive(serde::Serialize)]
struct ImageScores<'a> {
    image: &'a str,
    scores: &'a amva_analysis::explain::ExplainScores,
}
