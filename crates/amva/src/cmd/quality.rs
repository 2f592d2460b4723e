//! `amva quality`: built-in FIQA scores of a set of images.

use crate::common::{self, ModelArgs, Tagged, Ui};
use amva_quality::serfiq::SerFiqOptions;
use amva_quality::{MethodSpec, QualityMethod, Resources, ScoreOrigin};
use anyhow::{Context, Result};
use std::path::{Path, PathBuf};
use std::sync::Arc;

#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:
  amva quality --images faces/ --out scores.csv
  amva quality --images faces/ --fiqa magnitude,serfiq --seed 7 --out scores.csv
  amva quality --images list.csv --fiqa brisque,onnx:models/myfiqa.onnx --out q.csv
  amva quality --fiqa typicality --maps maps/ --out typicality.csv

Methods: magnitude (L2 norm of the raw embedding), serfiq (SER-FIQ: 100 dropout passes
of the model's head), brisque (LIVE model, downloaded from PyPI on first use; lower is
better), pose (-(|yaw| + |pitch|) from fr_pose.onnx), onnx:PATH (a model that outputs
one number per image; preprocessing in PATH.toml, see the amva-quality docs),
typicality (needs --maps, no images: each map's mean |z| against the MAM and AM-V of all
maps of the store; lower is better, a more typical map).

Writes the scores in long format (image,method,score), a sidecar <out stem>.meta.json
with each method's direction (higher/lower is better) and parameters, which `amva edc`
and `amva analyze` read, and <out stem>.failed.csv (image,reason).")]
pub struct Args {
    /// The images: a folder (searched recursively) or a CSV/TSV list with a path column.
    #[arg(long, value_name = "DIR|LIST", required_unless_present = "maps")]
    pub images: Option<PathBuf>,
    /// Resize images of the wrong size (otherwise they are listed as failed).
    #[arg(long)]
    pub resize: bool,
    /// Leave out damaged images that still decode (e.g. a truncated JPEG); by default
    /// they are used and listed in warnings.csv.
    #[arg(long)]
    pub strict: bool,
    /// A map store (`amva maps --out`), for `--fiqa typicality`.
    #[arg(long, value_name = "DIR")]
    pub maps: Option<PathBuf>,
    /// FIQA methods, comma-separated: magnitude, serfiq, brisque, pose, onnx:PATH, typicality.
    #[arg(long, default_value = common::DEFAULT_FIQA, value_name = "FIQA,...")]
    pub fiqa: String,
    /// Output CSV (long format: image,method,score).
    #[arg(long, value_name = "CSV")]
    pub out: PathBuf,
    #[command(flatten)]
    pub model: ModelArgs,
    /// SER-FIQ: tensor the head starts from (default: the model's serfiq_input, `662`).
    #[arg(long, value_name = "TENSOR")]
    pub serfiq_layer: Option<String>,
    /// SER-FIQ: stochastic passes per image.
    #[arg(long, default_value_t = 100)]
    pub serfiq_passes: usize,
    /// SER-FIQ: dropout probability (inverted dropout, as torch's nn.Dropout).
    #[arg(long, default_value_t = 0.5)]
    pub serfiq_dropout: f64,
    /// Seed of every random choice (SER-FIQ's dropout masks).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Head-pose model (default: fr_pose.onnx from the default model package).
    #[arg(long, value_name = "ONNX")]
    pub pose_model: Option<PathBuf>,
}

/// The methods named by `specs`, ready to run: downloads what they need (the BRISQUE
/// and pose models) and loads the FR model once when a method needs it; the library
/// builds them (`amva_quality::build_methods`).
pub fn build_methods(
    specs: &[MethodSpec],
    a: &MethodOptions,
    ui: &Ui,
) -> Result<Vec<Box<dyn QualityMethod>>> {
    let fr = if specs.iter().any(MethodSpec::needs_fr) {
        Some(Arc::new(a.model.load(ui)?))
    } else {
        None
    };
    if specs.contains(&MethodSpec::Brisque) {
        amva_fetch::brisque::ensure(&common::downloading)
            .context("downloading the BRISQUE model")?;
    }
    let pose_model = match (&a.pose_model, specs.contains(&MethodSpec::Pose)) {
        (Some(p), _) => Some(p.clone()),
        (None, true) => Some(common::default_model(amva_io::models::FR_POSE)?),
        (None, false) => None,
    };
    let resources = Resources {
        fr,
        serfiq: SerFiqOptions {
            layer: a.serfiq_layer.clone(),
            passes: a.serfiq_passes,
            dropout: a.serfiq_dropout,
            seed: a.seed,
        },
        pose_model,
        engine: a.model.engine,
    };
    Ok(amva_quality::build_methods(specs, &resources)?)
}

/// What building the methods needs from the command line (shared with `bench quality`).
pub struct MethodOptions {
    pub model: ModelArgs,
    pub serfiq_layer: Option<String>,
    pub serfiq_passes: usize,
    pub serfiq_dropout: f64,
    pub seed: u64,
    pub pose_model: Option<PathBuf>,
}

/// Every file `quality` writes, and every input it reads, through the output guard.
fn claim_outputs(
    a: &Args,
    images: &Path,
    specs: &[MethodSpec],
) -> Result<amva_io::outputs::OutputLock> {
    let mut inputs = common::images_and_model(images, a.model.model.as_deref());
    inputs.extend(
        a.pose_model
            .as_deref()
            .map(|m| common::input("--pose-model", m)),
    );
    for s in specs {
        if let MethodSpec::Onnx(p) = s {
            inputs.push(common::input("--fiqa onnx:", p));
        }
    }
    let files = amva_quality::run::files(&a.out);
    Ok(amva_io::outputs::claim_files(
        &files.iter().map(|p| p.as_path()).collect::<Vec<_>>(),
        &inputs,
    )?)
}

/// `--fiqa typicality --maps DIR`: a score per map of the store, no images.
fn run_typicality(a: &Args, maps: &Path, ui: &Ui) -> Result<()> {
    let start = std::time::Instant::now();
    let sidecar = amva_quality::scores::sidecar_path(&a.out);
    let _lock =
        amva_io::outputs::claim_files(&[&a.out, &sidecar], &[common::input("--maps", maps)])?;
    let scores = amva_analysis::images::typicality_scores(maps)?;
    let n = scores.methods.values().map(|m| m.scores.len()).sum();
    let origin = ScoreOrigin {
        maps: Some(maps.to_path_buf()),
        image_count: n,
        seconds: start.elapsed().as_secs_f64(),
        ..ScoreOrigin::default()
    };
    amva_quality::write_scores(&a.out, &scores, &origin)?;
    let brief = amva_quality::run::Brief::of(&scores, &origin, &a.out);
    ui.summary(
        &format!(
            "typicality of {n} maps in {:.1} s (lower is better) -> {}",
            origin.seconds,
            a.out.display()
        ),
        Tagged::new("quality", &brief),
    );
    Ok(())
}

pub fn run(a: Args, ui: &Ui) -> Result<()> {
    let start = std::time::Instant::now();
    let typicality = amva_analysis::images::TYPICALITY;
    let names: Vec<&str> = a.fiqa.split(',').map(str::trim).collect();
    if names.contains(&typicality) {
        anyhow::ensure!(
            names.len() == 1,
            "--fiqa {}: typicality reads a map store, not images; run it alone (--fiqa typicality --maps DIR)",
            a.fiqa
        );
        let maps = a
            .maps
            .as_deref()
            .context("--fiqa typicality needs --maps DIR (a map store from `amva maps`)")?;
        return run_typicality(&a, maps, ui);
    }
    let images = a
        .images
        .clone()
        .context("--images is needed for these methods (only typicality reads --maps)")?;
    let specs = amva_quality::parse_methods(&a.fiqa)?;
    let _lock = claim_outputs(&a, &images, &specs)?;
    let list = crate::common::open_images(&images, ui)?;
    anyhow::ensure!(!list.is_empty(), "{}: no images found", images.display());
    let opts = MethodOptions {
        model: a.model.clone(),
        serfiq_layer: a.serfiq_layer.clone(),
        serfiq_passes: a.serfiq_passes,
        serfiq_dropout: a.serfiq_dropout,
        seed: a.seed,
        pose_model: a.pose_model.clone(),
    };
    let methods = build_methods(&specs, &opts, ui)?;
    let pb = ui.progress(list.len() as u64, "quality");
    let job = amva_quality::run::Job {
        images: &images,
        list: &list,
        resize: a.resize,
        strict: a.strict,
        out: &a.out,
        started: start,
    };
    let done = amva_quality::run::score_to_files(&methods, &job, |n| pb.inc(n as u64));
    pb.finish_and_clear();
    let done = done?;
    for n in done.notes(20) {
        ui.note(&n);
    }
    ui.summary(&done.line(&a.out), Tagged::new("quality", &done.brief));
    anyhow::ensure!(
        done.scored() > 0,
        "no image could be scored (see {})",
        amva_quality::run::failed_path(&a.out).display()
    );
    Ok(())
}
