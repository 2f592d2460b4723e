//! `amva explain`: images against a reference from `amva analyze` (ALGORITHMS 5). Each
//! image's map is computed with the reference's model, map method and parameters (from
//! the maps' meta.json the analysis kept); the comparison is `amva_analysis::explain`.

use crate::common::Ui;
use amva_analysis::explain::{
    explain_map, explanation_figure, file_stem, ExplainScores, Reference, DEFAULT_EPS,
};
use amva_maps::{CamRunner, StoreMeta};
use amva_model::{EngineKind, FrModel};
use anyhow::{Context, Result};
use std::path::PathBuf;

#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:
  amva explain --reference analysis/ --out why/ face1.jpg face2.png
  amva explain --reference analysis/ --method serfiq --out why/ faces/*.jpg

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
    #[arg(long)]
    pub method: Option<String>,
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
    let reference = Reference::open(&a.reference, a.method.as_deref())?;
    let meta: StoreMeta = serde_json::from_value(reference.maps_meta.clone()).with_context(|| {
        format!(
            "{}: the reference's maps were not made by `amva maps` (no model, layer and parameters recorded), so comparable maps cannot be computed",
            a.reference.join("maps_meta.json").display()
        )
    })?;
    let s = &meta.settings;
    let model_path = match &a.model {
        Some(p) => p.clone(),
        None => {
            let recorded = PathBuf::from(&meta.model);
            if recorded.is_file() {
                recorded
            } else {
                amva_fetch::models::ensure(amva_io::models::FR_FEATURE)?
            }
        }
    };
    // The checksum first: a different model is refused before it is even loaded.
    let sha = amva_io::cache::sha256_file(&model_path)?;
    reference.check_model(&model_path, &sha)?;
    let model = FrModel::load(&model_path, s.spec.clone(), a.engine)
        .with_context(|| format!("loading {}", model_path.display()))?;
    if model.engine().to_string() != s.engine {
        ui.note(&format!(
            "note: the reference's maps were computed with {}, these with {} (maps agree up to float rounding)",
            s.engine,
            model.engine()
        ));
    }
    let runner = CamRunner::new(&model, s.params.clone())?;
    anyhow::ensure!(
        runner.full_shape() == reference.shape,
        "the model's maps are {:?}, the reference's {:?}",
        runner.full_shape(),
        reference.shape
    );
    std::fs::create_dir_all(&a.out).with_context(|| format!("creating {}", a.out.display()))?;
    let items: Vec<amva_io::images::ImageItem> = a
        .images
        .iter()
        .zip(short_ids(&a.images))
        .map(|(p, id)| amva_io::images::ImageItem {
            id,
            path: p.clone(),
        })
        .collect();
    let loaded = amva_model::preprocess::load_batch(&items, &model.spec.preprocess, a.resize);
    let pb = ui.progress(loaded.ok.len() as u64, "explain");
    let maps = runner.maps(&loaded.input, loaded.ok.len(), &|k| pb.inc(k as u64))?;
    pb.finish_and_clear();
    let (h, w) = reference.shape;
    let mut rows = Vec::new();
    let mut used_stems: Vec<String> = Vec::new();
    for (&i, low) in loaded.ok.iter().zip(&maps) {
        let item = &items[i];
        let finished = runner.finish(&low.m)?;
        let e = explain_map(&reference, &finished.data, a.eps)?;
        let face = amva_io::images::load_fitted(&item.path, w as u32, h as u32, true)?;
        let mut stem = file_stem(&item.id);
        let base = stem.clone();
        let mut k = 2;
        while used_stems.contains(&stem) {
            stem = format!("{base}_{k}");
            k += 1;
        }
        used_stems.push(stem.clone());
        let fig = explanation_figure(&reference, &e, &finished.data, &face, &item.id)?;
        amva_report::write_png_atomic(a.out.join(format!("{stem}.png")), &fig)?;
        let f32s = |v: &[f64]| v.iter().map(|&x| x as f32).collect::<Vec<_>>();
        amva_io::npy::write_f32(
            &a.out.join(format!("{stem}_map.npy")),
            &[h, w],
            &finished.data,
        )?;
        amva_io::npy::write_f32(
            &a.out.join(format!("{stem}_deviation.npy")),
            &[h, w],
            &f32s(&e.deviation),
        )?;
        amva_io::npy::write_f32(&a.out.join(format!("{stem}_z.npy")), &[h, w], &f32s(&e.z))?;
        rows.push(Explained {
            image: item.id.clone(),
            figure: format!("{stem}.png"),
            flat_map: finished.flat,
            map_file: format!("{stem}_map.npy"),
            deviation_file: format!("{stem}_deviation.npy"),
            z_file: format!("{stem}_z.npy"),
            scores: e.scores,
        });
    }
    let failed: Vec<serde_json::Value> = loaded
        .failed
        .iter()
        .map(|(id, why)| serde_json::json!({"image": id, "reason": why}))
        .collect();
    for (id, why) in &loaded.failed {
        ui.note(&format!("skipped {id}: {why}"));
    }
    let doc = serde_json::json!({
        "amva_version": env!("CARGO_PKG_VERSION"),
        "kind": "explanation",
        "reference": {"dir": a.reference, "method": reference.method, "group": "high", "rule": reference.rule, "n": reference.n},
        "model": model_path, "model_sha256": sha, "engine": model.engine().to_string(),
        "map_method": s.params.method, "layer": s.layer, "eps": a.eps,
        "images": rows, "failed": failed,
    });
    amva_io::atomic::write_json(&a.out.join("explain.json"), &doc)?;
    amva_io::atomic::write_atomic(&a.out.join("explain.csv"), &scores_csv(&rows)?)?;
    let secs = start.elapsed().as_secs_f64();
    ui.summary(
        &format!(
            "explained {} image(s) ({} failed) against {} {} of {} in {secs:.1} s -> {}",
            rows.len(),
            failed.len(),
            reference.method,
            reference.rule,
            a.reference.display(),
            a.out.display()
        ),
        serde_json::json!({"command": "explain", "images": rows.len(), "failed": failed.len(), "out": a.out,
            "reference_method": reference.method, "seconds": secs,
            "scores": rows.iter().map(|r| serde_json::json!({"image": r.image, "scores": r.scores})).collect::<Vec<_>>()}),
    );
    anyhow::ensure!(!rows.is_empty(), "no image could be explained");
    Ok(())
}

/// One explained image, as listed in explain.json.
#[derive(serde::Serialize)]
struct Explained {
    image: String,
    figure: String,
    flat_map: bool,
    map_file: String,
    deviation_file: String,
    z_file: String,
    scores: ExplainScores,
}

/// explain.csv: one row of scores per image.
fn scores_csv(rows: &[Explained]) -> Result<Vec<u8>> {
    let mut wr = csv::Writer::from_writer(Vec::new());
    wr.write_record([
        "image",
        "mean_abs_deviation",
        "inside",
        "outside",
        "outside_share",
        "mean_abs_z",
        "mean_abs_z_inside",
        "mean_abs_z_outside",
        "max_abs_z",
    ])?;
    for r in rows {
        let s = &r.scores;
        let mut rec = vec![r.image.clone()];
        rec.extend(
            [
                s.mean_abs_deviation,
                s.inside,
                s.outside,
                s.outside_share,
                s.mean_abs_z,
                s.mean_abs_z_inside,
                s.mean_abs_z_outside,
                s.max_abs_z,
            ]
            .map(|v| format!("{v}")),
        );
        wr.write_record(&rec)?;
    }
    Ok(wr.into_inner()?)
}

/// Image ids: the paths relative to the folder all given images share (just the file
/// name for one image or one folder), with '/' separators.
fn short_ids(paths: &[PathBuf]) -> Vec<String> {
    let abs: Vec<PathBuf> = paths
        .iter()
        .map(|p| std::path::absolute(p).unwrap_or_else(|_| p.clone()))
        .collect();
    let mut common: Option<PathBuf> = abs.first().and_then(|p| p.parent()).map(PathBuf::from);
    for p in &abs {
        while let Some(c) = &common {
            if p.starts_with(c) {
                break;
            }
            common = c.parent().map(PathBuf::from);
        }
    }
    abs.iter()
        .zip(paths)
        .map(|(p, orig)| {
            let rel = common
                .as_ref()
                .and_then(|c| p.strip_prefix(c).ok())
                .unwrap_or(orig);
            rel.components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join("/")
        })
        .collect()
}
