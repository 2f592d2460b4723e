//! `amva faithfulness`: deletion and insertion scores (ALGORITHMS 1.4) of each map
//! method, per image and as means with 95 % bootstrap intervals, against a seeded
//! uniform random map that every method must beat.

use super::maps::{CamArgs, MapModelArgs};
use crate::common::{self, ImageArgs, Ui};
use amva_maps::faithfulness::random_map;
use amva_maps::store::sorted_list;
use amva_maps::{forward_each, CamRunner, Curves, Faithfulness, MapParams, Method};
use amva_math::compare::{bootstrap_mean_ci, Interval, DEFAULT_BOOTSTRAP};
use anyhow::{Context, Result};
use std::fmt::Write as _;
use std::path::PathBuf;

#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:
  amva faithfulness --images faces/ --out faith/
  amva faithfulness --images faces/ --out faith/ --methods ablation,eigencam,activation,random --limit 200
  amva faithfulness --images faces/ --out faith-sc/ --methods scorecam,random --channels top:64 --limit 50

Writes per_image.csv (image,method,deletion,insertion), summary.csv and faithfulness.json
(means with 95 % bootstrap intervals, mean curves, all parameters and the seed), and
curves.png (mean deletion and insertion curves). Deletion: lower is more faithful;
insertion: higher is more faithful.")]
pub struct Args {
    #[command(flatten)]
    pub images: ImageArgs,
    /// Output folder.
    #[arg(long)]
    pub out: PathBuf,
    /// Methods to compare, comma-separated: scorecam, ablation, eigencam, activation, random.
    #[arg(
        long,
        default_value = "scorecam,ablation,eigencam,activation,random",
        value_delimiter = ','
    )]
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

/// A compared method: a CAM method or the random reference.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Which {
    Cam(Method),
    Random,
}

impl std::fmt::Display for Which {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Which::Cam(m) => write!(f, "{m}"),
            Which::Random => f.write_str("random"),
        }
    }
}

/// Images processed per step (bounds memory; maps of all methods are kept per step).
const CHUNK: usize = 16;

pub fn run(a: Args, ui: &Ui) -> Result<()> {
    let start = std::time::Instant::now();
    let mut which = Vec::new();
    for m in &a.methods {
        let w = if m.trim().eq_ignore_ascii_case("random") {
            Which::Random
        } else {
            Which::Cam(m.parse::<Method>()?)
        };
        if !which.contains(&w) {
            which.push(w);
        }
    }
    anyhow::ensure!(!which.is_empty(), "--methods is empty");
    anyhow::ensure!(a.steps >= 1, "--steps must be at least 1");
    let inputs = common::images_and_model(&a.images.images, a.model.model.as_deref());
    let _lock = amva_io::outputs::claim_dir(&a.out, &inputs, "faithfulness")?;
    let (model, model_path) = a.model.load(ui)?;
    let runners: Vec<(Which, Option<CamRunner>)> = which
        .iter()
        .map(|&w| match w {
            Which::Cam(m) => Ok((w, Some(CamRunner::new(&model, a.cam.params(m, &model))?))),
            Which::Random => Ok((w, None)),
        })
        .collect::<Result<_>>()?;
    let list = sorted_list(
        amva_io::images::ImageList::open(&a.images.images)?,
        &a.images.images,
    )?;
    anyhow::ensure!(
        !list.is_empty(),
        "{}: no images found",
        a.images.images.display()
    );
    let items: Vec<_> = match a.limit {
        Some(n) if n < list.len() => {
            let step = list.len() / n.max(1);
            (0..n).map(|i| list.items[i * step].clone()).collect()
        }
        _ => list.items.clone(),
    };
    let pass_batch = MapParams::default_batch(Method::ScoreCam, model.engine());
    let faith = Faithfulness::new(&model, a.steps, a.cam.batch.unwrap_or(pass_batch))?;
    let (fh, fw) = (
        model.spec.preprocess.height as usize,
        model.spec.preprocess.width as usize,
    );
    let per = model.input_len();

    // scores[method] = (image id, curves)
    let mut results: Vec<Vec<(String, Curves)>> = vec![Vec::new(); which.len()];
    let mut failed = Vec::new();
    let pb = ui.progress(items.len() as u64, "faithful");
    for chunk in items.chunks(CHUNK) {
        let loaded =
            amva_model::preprocess::load_batch(chunk, &model.spec.preprocess, a.images.resize);
        for (id, why) in &loaded.failed {
            pb.suspend(|| ui.note(&format!("skipped {id}: {why}")));
        }
        pb.inc(loaded.failed.len() as u64);
        failed.extend(loaded.failed.iter().cloned());
        let n = loaded.ok.len();
        let passes = forward_each(&model, &loaded.input, n)?;
        // full maps[method][image]
        let mut full: Vec<Vec<Vec<f32>>> = Vec::new();
        for (w, runner) in &runners {
            let maps = match (w, runner) {
                (_, Some(r)) => r
                    .maps_with(&loaded.input, &passes, &|_| {})?
                    .iter()
                    .map(|m| r.finish(&m.m).map(|f| f.data))
                    .collect::<amva_maps::Result<Vec<_>>>()?,
                _ => loaded
                    .ok
                    .iter()
                    .map(|&i| random_map(a.seed, &chunk[i].id, fh * fw))
                    .collect(),
            };
            full.push(maps);
        }
        for (j, &i) in loaded.ok.iter().enumerate() {
            let maps: Vec<&[f32]> = full.iter().map(|m| m[j].as_slice()).collect();
            let curves = faith
                .curves(
                    &loaded.input[j * per..(j + 1) * per],
                    &passes[j].embedding,
                    &maps,
                )
                .with_context(|| format!("deletion/insertion of {}", chunk[i].id))?;
            for (r, c) in results.iter_mut().zip(curves) {
                r.push((chunk[i].id.clone(), c));
            }
            pb.inc(1);
        }
    }
    pb.finish_and_clear();
    let count = results[0].len();
    anyhow::ensure!(count > 0, "no image could be read");

    std::fs::create_dir_all(&a.out)?;
    // per_image.csv
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(["image", "method", "deletion", "insertion"])?;
    for (wh, rows) in which.iter().zip(&results) {
        for (id, c) in rows {
            w.write_record([
                id.as_str(),
                &wh.to_string(),
                &c.deletion_score().to_string(),
                &c.insertion_score().to_string(),
            ])?;
        }
    }
    amva_io::atomic::write_atomic(&a.out.join("per_image.csv"), &w.into_inner()?)?;

    struct Summary {
        name: String,
        deletion: Interval,
        insertion: Interval,
        del_curve: Vec<f64>,
        ins_curve: Vec<f64>,
    }
    let mean_curve = |rows: &[(String, Curves)], del: bool| -> Vec<f64> {
        (0..=a.steps)
            .map(|s| {
                rows.iter()
                    .map(|(_, c)| if del { c.deletion[s] } else { c.insertion[s] })
                    .sum::<f64>()
                    / rows.len() as f64
            })
            .collect()
    };
    let mut summaries = Vec::new();
    for (wh, rows) in which.iter().zip(&results) {
        let del: Vec<f64> = rows.iter().map(|(_, c)| c.deletion_score()).collect();
        let ins: Vec<f64> = rows.iter().map(|(_, c)| c.insertion_score()).collect();
        summaries.push(Summary {
            name: wh.to_string(),
            deletion: bootstrap_mean_ci(&del, a.boot, 0.95, a.seed)?,
            insertion: bootstrap_mean_ci(&ins, a.boot, 0.95, a.seed)?,
            del_curve: mean_curve(rows, true),
            ins_curve: mean_curve(rows, false),
        });
    }
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record([
        "method",
        "images",
        "deletion_mean",
        "deletion_lo",
        "deletion_hi",
        "insertion_mean",
        "insertion_lo",
        "insertion_hi",
    ])?;
    for s in &summaries {
        let (d, i) = (&s.deletion, &s.insertion);
        w.write_record([
            s.name.clone(),
            count.to_string(),
            d.estimate.to_string(),
            d.lo.to_string(),
            d.hi.to_string(),
            i.estimate.to_string(),
            i.lo.to_string(),
            i.hi.to_string(),
        ])?;
    }
    amva_io::atomic::write_atomic(&a.out.join("summary.csv"), &w.into_inner()?)?;

    let interval = |iv: &Interval| serde_json::json!({"mean": iv.estimate, "lo": iv.lo, "hi": iv.hi, "level": iv.level});
    let cam_params: serde_json::Map<String, serde_json::Value> = runners
        .iter()
        .filter_map(|(w, r)| {
            r.as_ref().map(|r| {
                (
                    w.to_string(),
                    serde_json::to_value(r.params()).unwrap_or_default(),
                )
            })
        })
        .collect();
    let json = serde_json::json!({
        "kind": "faithfulness",
        "amva_version": env!("CARGO_PKG_VERSION"),
        "model": model_path, "model_sha256": model.graph.sha256, "engine": model.engine().to_string(),
        "layer": model.spec.target, "images": a.images.images, "limit": a.limit, "count": count, "failed": failed.len(),
        "steps": a.steps, "seed": a.seed, "bootstrap_resamples": a.boot, "pass_batch": a.cam.batch.unwrap_or(pass_batch),
        "random_map": "uniform in [0, 1) per pixel, ChaCha8 seeded with seed XOR FNV-1a(image id)",
        "map_parameters": cam_params,
        "methods": summaries.iter().map(|s| (s.name.clone(), serde_json::json!({
            "deletion": interval(&s.deletion), "insertion": interval(&s.insertion),
            "mean_deletion_curve": s.del_curve, "mean_insertion_curve": s.ins_curve,
        }))).collect::<serde_json::Map<_, _>>(),
    });
    amva_io::atomic::write_json(&a.out.join("faithfulness.json"), &json)?;

    let xs: Vec<f64> = (0..=a.steps).map(|s| s as f64 / a.steps as f64).collect();
    // Cosines can dip below 0 (the all-grey image); keep those ends visible.
    let y_min = summaries
        .iter()
        .flat_map(|s| s.del_curve.iter().chain(&s.ins_curve))
        .fold(0.0f64, |m, &v| m.min(v))
        - 0.02;
    // Two panels, each with x in [0, 1] and its legend where its curves are not:
    // deletion curves fall to the lower right, insertion curves rise to the upper right.
    use amva_report::Styled;
    let panel = |title: String, x_label: &str, corner| {
        amva_report::LinePlot::new(title)
            .axis_labels(x_label, "cosine similarity to the original embedding")
            .legend_corner(corner)
            .x_range(0.0, 1.0)
            .y_range(y_min, 1.02)
            .size(720, 560)
    };
    let mut deletion = panel(
        format!("Deletion, mean of {count} images (lower area = more faithful)"),
        "fraction of pixels removed (highest map value first)",
        amva_report::Corner::UpperRight,
    );
    let mut insertion = panel(
        format!("Insertion, mean of {count} images (higher area = more faithful)"),
        "fraction of pixels inserted (highest map value first)",
        amva_report::Corner::LowerRight,
    );
    for (i, s) in summaries.iter().enumerate() {
        let color = amva_report::TAB10[i % amva_report::TAB10.len()];
        let pts = |c: &[f64]| {
            xs.iter()
                .copied()
                .zip(c.iter().copied())
                .collect::<Vec<_>>()
        };
        let line = |curve: &[f64], area: f64| {
            amva_report::Series::line(format!("{} (area {area:.3})", s.name), pts(curve))
                .color(color)
        };
        deletion = deletion.series(line(&s.del_curve, s.deletion.estimate));
        insertion = insertion.series(line(&s.ins_curve, s.insertion.estimate));
    }
    amva_report::write_png_atomic(
        a.out.join("curves.png"),
        &amva_report::side_by_side(&[deletion.render()?, insertion.render()?]),
    )?;

    let mut table = String::new();
    let _ = writeln!(
        table,
        "{:<11} {:>26} {:>26}",
        "method", "deletion (lower better)", "insertion (higher better)"
    );
    for s in &summaries {
        let _ = writeln!(
            table,
            "{:<11} {:>8.4} [{:.4}, {:.4}] {:>8.4} [{:.4}, {:.4}]",
            s.name,
            s.deletion.estimate,
            s.deletion.lo,
            s.deletion.hi,
            s.insertion.estimate,
            s.insertion.lo,
            s.insertion.hi
        );
    }
    if !ui.json && !ui.quiet {
        print!("{table}");
    }
    let secs = start.elapsed().as_secs_f64();
    ui.summary(
        &format!("faithfulness of {} methods on {count} images ({} failed) in {secs:.1} s -> {}", which.len(), failed.len(), a.out.display()),
        serde_json::json!({"command": "faithfulness", "images": count, "failed": failed.len(), "seconds": secs, "out": a.out,
            "methods": summaries.iter().map(|s| serde_json::json!({"method": s.name, "deletion": interval(&s.deletion), "insertion": interval(&s.insertion)})).collect::<Vec<_>>()}),
    );
    Ok(())
}
