//! `amva faithfulness`: deletion and insertion scores (ALGORITHMS 1.4) of each map
//! method, per image and as means with 95 % bootstrap intervals, against a seeded
//! uniform random map that every method must beat.

use super::maps::{CamArgs, MapModelArgs};
use crate::common::{self, ImageArgs, Ui};
use amva_maps::store::sorted_list;
use amva_maps::study::{run_study, Compared, Study, StudyOptions};
use amva_maps::{CamRunner, MapParams, Method};
use amva_math::compare::{Interval, DEFAULT_BOOTSTRAP};
use anyhow::Result;
use std::path::PathBuf;

/// What `--methods` compares by default: every map method and the random baseline.
const COMPARED: &str = "scorecam,ablation,eigencam,activation,random";

#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:
  amva faithfulness --images faces/ --out faith/
  amva faithfulness --images faces/ --out faith/ --methods ablation,eigencam,activation,random --limit 200
  amva faithfulness --images faces/ --out faith-sc/ --methods scorecam,random --channels top:64 --limit 50
  amva faithfulness --images faces/ --out fast/ --methods scorecam,scorecam:fast,random --limit 200

Writes per_image.csv (image,method,deletion,insertion,pearson_vs_reference), summary.csv
and faithfulness.json (means with 95 % bootstrap intervals, model passes per image, the
median and 5th percentile of the Pearson correlation with the first method's maps, mean
curves, all parameters and the seed), and
curves.png (mean deletion and insertion curves). Deletion: lower is more faithful;
insertion: higher is more faithful.")]
pub struct Args {
    #[command(flatten)]
    pub images: ImageArgs,
    /// Output folder.
    #[arg(long)]
    pub out: PathBuf,
    /// Methods to compare, comma-separated: scorecam, ablation, eigencam, activation, random;
    /// Score-CAM variants name their channels (scorecam:fast, scorecam:top:64). Every map
    /// is correlated with the first method's (pearson_vs_reference).
    #[arg(long, value_delimiter = ',', default_value = COMPARED)]
    pub methods: Vec<String>,
    /// Steps per curve (each removes or inserts 1/steps of the pixels).
    #[arg(long, default_value_t = 20)]
    pub steps: usize,
    /// Seed of the random maps and of the bootstrap.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Use only N images, evenly spread over the sorted list.
    #[arg(long)]
    pub limit: Option<usize>,
    /// Bootstrap resamples for the intervals.
    #[arg(long, default_value_t = DEFAULT_BOOTSTRAP)]
    pub boot: usize,
    #[command(flatten)]
    pub cam: CamArgs,
    #[command(flatten)]
    pub model: MapModelArgs,
}

pub fn run(a: Args, ui: &Ui) -> Result<()> {
    let start = std::time::Instant::now();
    let mut which: Vec<Compared> = Vec::new();
    for m in &a.methods {
        let c: Compared = m.parse()?;
        if !which.contains(&c) {
            which.push(c);
        }
    }
    anyhow::ensure!(!which.is_empty(), "--methods is empty");
    anyhow::ensure!(a.steps >= 1, "--steps must be at least 1");
    let inputs = common::images_and_model(&a.images.images, a.model.model.as_deref());
    let _lock = amva_io::outputs::claim_dir(&a.out, &inputs, "faithfulness")?;
    let (model, model_path) = a.model.load(ui)?;
    let runners: Vec<(Compared, Option<CamRunner>)> = which
        .iter()
        .map(|&c| match c {
            Compared::Cam(m, channels) => {
                let mut p = a.cam.params(m, &model);
                p.channels = channels.unwrap_or(p.channels);
                Ok((c, Some(CamRunner::new(&model, p)?)))
            }
            Compared::Random => Ok((c, None)),
        })
        .collect::<Result<_>>()?;
    let items = selected_images(&a)?;
    let opts = StudyOptions {
        steps: a.steps,
        seed: a.seed,
        boot: a.boot,
        resize: a.images.resize,
        batch: a
            .cam
            .batch
            .unwrap_or(MapParams::default_batch(Method::ScoreCam, &model)),
    };
    let pb = ui.progress(items.len() as u64, "faithful");
    let study = run_study(
        &model,
        &runners,
        &items,
        &opts,
        &|n| pb.inc(n as u64),
        &|msg| pb.suspend(|| ui.note(msg)),
    )?;
    pb.finish_and_clear();

    std::fs::create_dir_all(&a.out)?;
    amva_io::atomic::write_atomic(&a.out.join("per_image.csv"), &study.per_image_csv()?)?;
    amva_io::atomic::write_atomic(&a.out.join("summary.csv"), &study.summary_csv()?)?;
    // Shape inference of the whole graph: done once, for the record and the printout.
    let macs = model.multiply_adds_per_image().ok();
    let json = record(&a, &study, &runners, &model, &model_path, &opts, macs);
    amva_io::atomic::write_json(&a.out.join("faithfulness.json"), &json)?;
    amva_draw::write_png_atomic(a.out.join("curves.png"), &study.figure()?)?;
    if !ui.json && !ui.quiet {
        print!("{}", study.table());
        if let Some(macs) = macs {
            println!("one model pass: {:.3} G multiply-adds (tract's count); a method costs its passes times this (Ablation-CAM's passes run the head only)", macs as f64 / 1e9);
        }
    }
    let (count, failed, secs) = (
        study.count(),
        study.failed.len(),
        start.elapsed().as_secs_f64(),
    );
    ui.summary(
        &format!("faithfulness of {} methods on {count} images ({failed} failed) in {secs:.1} s -> {}", which.len(), a.out.display()),
        serde_json::json!({"command": "faithfulness", "images": count, "failed": failed, "seconds": secs, "out": a.out,
            "methods": study.methods.iter().map(|m| serde_json::json!({"method": m.name, "deletion": interval(&m.deletion), "insertion": interval(&m.insertion)})).collect::<Vec<_>>()}),
    );
    Ok(())
}

/// The images of the study: all, or `--limit` of them evenly spread over the sorted list.
fn selected_images(a: &Args) -> Result<Vec<amva_io::images::ImageItem>> {
    let list = sorted_list(
        amva_io::images::ImageList::open(&a.images.images)?,
        &a.images.images,
    )?;
    anyhow::ensure!(
        !list.is_empty(),
        "{}: no images found",
        a.images.images.display()
    );
    Ok(match a.limit {
        Some(n) if n < list.len() => {
            let step = list.len() / n.max(1);
            (0..n).map(|i| list.items[i * step].clone()).collect()
        }
        _ => list.items,
    })
}

fn interval(iv: &Interval) -> serde_json::Value {
    serde_json::json!({"mean": iv.estimate, "lo": iv.lo, "hi": iv.hi, "level": iv.level})
}

/// faithfulness.json: every parameter, the seed, and each method's means and curves.
fn record(
    a: &Args,
    study: &Study,
    runners: &[(Compared, Option<CamRunner>)],
    model: &amva_model::FrModel,
    model_path: &std::path::Path,
    opts: &StudyOptions,
    macs: Option<u64>,
) -> serde_json::Value {
    let cam_params: serde_json::Map<String, serde_json::Value> = runners
        .iter()
        .filter_map(|(c, r)| {
            r.as_ref().map(|r| {
                (
                    c.to_string(),
                    serde_json::to_value(r.params()).unwrap_or_default(),
                )
            })
        })
        .collect();
    serde_json::json!({
        "kind": "faithfulness",
        "amva_version": env!("CARGO_PKG_VERSION"),
        "model": model_path, "model_sha256": model.graph.sha256, "engine": model.engine().to_string(),
        "layer": model.spec.target, "images": a.images.images, "limit": a.limit, "count": study.count(), "failed": study.failed.len(),
        "steps": a.steps, "seed": a.seed, "bootstrap_resamples": a.boot, "pass_batch": opts.batch,
        "random_map": "uniform in [0, 1) per pixel, ChaCha8 seeded with seed XOR FNV-1a(image id)",
        "map_parameters": cam_params,
        "methods": study.methods.iter().map(|m| (m.name.clone(), serde_json::json!({
            "deletion": interval(&m.deletion), "insertion": interval(&m.insertion),
            "mean_deletion_curve": m.deletion_curve, "mean_insertion_curve": m.insertion_curve,
            "passes_per_image": m.passes,
            "pearson_vs_reference": m.agreement_summary().map(|(median, p5)| serde_json::json!({"median": median, "p5": p5})),
        }))).collect::<serde_json::Map<_, _>>(),
        "reference": study.reference,
        "model_multiply_adds_per_pass": macs,
    })
}
