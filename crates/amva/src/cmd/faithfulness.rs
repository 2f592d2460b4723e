//! `amva faithfulness`: deletion and insertion scores (ALGORITHMS 1.4) of each map
//! method, per image and as means with 95 % bootstrap intervals, against a seeded
//! uniform random map that every method must beat.

use super::maps::CamArgs;
use crate::common::{self, ImageArgs, ModelArgs, Tagged, Ui};
use amva_maps::study::{run_study, Compared, IntervalRecord, StudyInputs, StudyOptions};
use amva_maps::{CamRunner, MapParams, Method};
use amva_math::compare::DEFAULT_BOOTSTRAP;
use anyhow::Result;
use std::path::{Path, PathBuf};

/// What `--methods` compares by default: every map method and the random baseline.
const COMPARED: &str = "scorecam,ablation,eigencam,activation,random";

#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:
  amva faithfulness --images faces/ --out faith/
  amva faithfulness --images faces/ --out faith/ --methods ablation,eigencam,activation,random --limit 200
  amva faithfulness --images faces/ --out faith-sc/ --methods scorecam,random --cam-channels top:64 --limit 50
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
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Map methods to compare, comma-separated: scorecam, ablation, eigencam, activation, and
    /// random (a uniform random map); Score-CAM variants name their channels (scorecam:fast,
    /// scorecam:top:64). Every map is correlated with the first method's (pearson_vs_reference).
    #[arg(long, value_delimiter = ',', default_value = COMPARED, value_name = "METHOD,...")]
    pub methods: Vec<String>,
    /// Seed of the random maps and of the bootstrap.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Use only N images, evenly spread over the sorted list.
    #[arg(long)]
    pub limit: Option<usize>,
    #[command(flatten)]
    pub curves: CurveArgs,
    #[command(flatten)]
    pub cam: CamArgs,
    #[command(flatten)]
    pub model: ModelArgs,
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
    let inputs = common::images_and_model(&a.images.images, a.model.model.as_deref());
    let _lock = amva_io::outputs::claim_dir(&a.out, &inputs, "faithfulness")?;
    let model = a.model.load(ui)?;
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
    let items = common::spread_images(&a.images.images, a.limit)?;
    let opts = a.curves.study_options(a.seed, &a.images, &a.cam, &model)?;
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
    let inputs = StudyInputs {
        amva_version: env!("CARGO_PKG_VERSION"),
        images: &a.images.images,
        limit: a.limit,
        multiply_adds: macs,
    };
    let record = study.record(&model, &runners, &opts, inputs);
    amva_io::atomic::write_json_sorted(&a.out.join("faithfulness.json"), &record)?;
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
    let brief = FaithfulnessBrief {
        images: count,
        failed,
        seconds: secs,
        out: &a.out,
        methods: study
            .methods
            .iter()
            .map(|m| MethodBrief {
                method: &m.name,
                deletion: (&m.deletion).into(),
                insertion: (&m.insertion).into(),
            })
            .collect(),
    };
    ui.summary(
        &format!(
            "faithfulness of {} methods on {count} images ({failed} failed) in {secs:.1} s -> {}",
            which.len(),
            a.out.display()
        ),
        Tagged::new("faithfulness", &brief),
    );
    Ok(())
}

/// The summary of `amva faithfulness --json`.
#[derive(serde::Serialize)]
struct FaithfulnessBrief<'a> {
    images: usize,
    failed: usize,
    seconds: f64,
    out: &'a Path,
    methods: Vec<MethodBrief<'a>>,
}

#[derive(serde::Serialize)]
struct MethodBrief<'a> {
    method: &'a str,
    deletion: IntervalRecord,
    insertion: IntervalRecord,
}

/// The deletion and insertion curves' settings (`amva faithfulness`, `amva audit`).
#[derive(clap::Args, Debug)]
pub struct CurveArgs {
    /// Steps per curve (each removes or inserts 1/steps of the pixels).
    #[arg(long, default_value_t = 20)]
    pub steps: usize,
    /// Bootstrap resamples for the intervals.
    #[arg(long, default_value_t = DEFAULT_BOOTSTRAP, value_name = "N")]
    pub bootstrap: usize,
}

impl CurveArgs {
    /// The study's options: these curves, `seed`, the images' resizing, and the model
    /// calls of `cam.batch` masked images (else Score-CAM's default for `model`).
    pub fn study_options(
        &self,
        seed: u64,
        images: &ImageArgs,
        cam: &CamArgs,
        model: &amva_model::FrModel,
    ) -> Result<StudyOptions> {
        anyhow::ensure!(self.steps >= 1, "--steps must be at least 1");
        Ok(StudyOptions {
            steps: self.steps,
            seed,
            boot: self.bootstrap,
            resize: images.resize,
            batch: cam
                .batch
                .unwrap_or(MapParams::default_batch(Method::ScoreCam, model)),
        })
    }
}
