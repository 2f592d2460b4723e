//! `amva quality`: built-in FIQA scores of a set of images.

use crate::common::{self, ModelArgs, Ui};
use amva_quality::serfiq::{SerFiq, SerFiqOptions};
use amva_quality::{MethodScores, MethodSpec, QualityMethod};
use anyhow::{Context, Result};
use std::path::{Path, PathBuf};
use std::sync::Arc;

#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:
  amva quality --images faces/ --out scores.csv
  amva quality --images faces/ --methods magnitude,serfiq --seed 7 --out scores.csv
  amva quality --images list.csv --methods brisque,onnx:models/myfiqa.onnx --out q.csv
  amva quality --methods typicality --maps maps/ --out typicality.csv

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
    /// A folder (searched recursively) or a CSV/TSV list with a path column.
    #[arg(long, value_name = "DIR|LIST", required_unless_present = "maps")]
    pub images: Option<PathBuf>,
    /// Resize images of the wrong size (otherwise they are listed as failed).
    #[arg(long)]
    pub resize: bool,
    /// Leave out damaged images that still decode (e.g. a truncated JPEG); by default
    /// they are used and listed in warnings.csv.
    #[arg(long)]
    pub strict: bool,
    /// A map store (`amva maps --out`), for `--methods typicality`.
    #[arg(long, value_name = "DIR")]
    pub maps: Option<PathBuf>,
    /// Comma-separated methods: magnitude, serfiq, brisque, pose, onnx:PATH, typicality.
    #[arg(long, default_value = "magnitude,serfiq,brisque,pose")]
    pub methods: String,
    /// Output CSV (long format: image,method,score).
    #[arg(long)]
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

/// The methods named by `specs`, ready to run. The FR model is loaded once, only when
/// a method needs it.
pub fn build_methods(
    specs: &[MethodSpec],
    a: &MethodOptions,
    ui: &Ui,
) -> Result<Vec<Box<dyn QualityMethod>>> {
    let needs_fr = specs
        .iter()
        .any(|s| matches!(s, MethodSpec::Magnitude | MethodSpec::Serfiq));
    let fr = if needs_fr {
        Some(Arc::new(a.model.load(ui)?))
    } else {
        None
    };
    let mut out: Vec<Box<dyn QualityMethod>> = Vec::new();
    for s in specs {
        let fr = || fr.clone().context("the FR model was not loaded");
        out.push(match s {
            MethodSpec::Magnitude => Box::new(amva_quality::magnitude::Magnitude::new(fr()?)),
            MethodSpec::Serfiq => {
                let opts = SerFiqOptions {
                    layer: a.serfiq_layer.clone(),
                    passes: a.serfiq_passes,
                    dropout: a.serfiq_dropout,
                    seed: a.seed,
                };
                Box::new(SerFiq::new(fr()?, opts).context("setting up SER-FIQ")?)
            }
            MethodSpec::Brisque => {
                amva_fetch::brisque::ensure().context("downloading the BRISQUE model")?;
                Box::new(
                    amva_quality::brisque::Brisque::load_default()
                        .context("loading the BRISQUE model")?,
                )
            }
            MethodSpec::Pose => {
                let path = match &a.pose_model {
                    Some(p) => p.clone(),
                    None => amva_fetch::models::ensure(amva_io::models::FR_POSE)?,
                };
                Box::new(
                    amva_quality::pose::Pose::open(&path, a.model.engine)
                        .with_context(|| format!("loading {}", path.display()))?,
                )
            }
            MethodSpec::Onnx(path) => Box::new(
                amva_quality::onnx::OnnxQuality::open(path, a.model.engine)
                    .with_context(|| format!("loading {}", path.display()))?,
            ),
        });
    }
    Ok(out)
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

/// `scores.csv` -> `scores.failed.csv`.
pub fn failed_path(out: &Path) -> PathBuf {
    out.with_extension("failed.csv")
}

/// `scores.csv` -> `scores.warnings.csv`.
pub fn warnings_path(out: &Path) -> PathBuf {
    out.with_extension("warnings.csv")
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
            inputs.push(common::input("--methods onnx:", p));
        }
    }
    let sidecar = amva_quality::scores::sidecar_path(&a.out);
    let (failed, warnings) = (failed_path(&a.out), warnings_path(&a.out));
    Ok(amva_io::outputs::claim_files(
        &[&a.out, &sidecar, &failed, &warnings],
        &inputs,
    )?)
}

/// `--methods typicality --maps DIR`: a score per map of the store, no images.
fn run_typicality(a: &Args, maps: &Path, ui: &Ui) -> Result<()> {
    let start = std::time::Instant::now();
    let sidecar = amva_quality::scores::sidecar_path(&a.out);
    let _lock =
        amva_io::outputs::claim_files(&[&a.out, &sidecar], &[common::input("--maps", maps)])?;
    let (ids, values) = amva_analysis::analyze::images::typicality(maps)?;
    let name = amva_analysis::analyze::images::TYPICALITY;
    let params = serde_json::json!({
        "maps": maps, "eps": amva_analysis::explain::DEFAULT_EPS,
        "definition": "mean |z| of the map against the MAM and AM-V of all maps of the store (ALGORITHMS 5); lower = more typical",
    });
    let mut m = MethodScores::computed(name, amva_quality::Direction::Lower, params);
    for (image, score) in ids.into_iter().zip(values) {
        let row = amva_quality::ScoreRow {
            image,
            score,
            line: 0,
        };
        if score.is_finite() {
            m.scores.push(row);
        } else {
            m.non_finite.push(row);
        }
    }
    let n = m.scores.len();
    let mut scores = amva_quality::Scores::default();
    scores.methods.insert(name.into(), m);
    let secs = start.elapsed().as_secs_f64();
    let extra = serde_json::json!({"maps": maps, "image_count": n, "seconds": secs});
    amva_quality::write_scores(&a.out, &scores, extra)?;
    ui.summary(
        &format!(
            "typicality of {n} maps in {secs:.1} s (lower is better) -> {}",
            a.out.display()
        ),
        serde_json::json!({"command": "quality", "method": name, "images": n, "seconds": secs, "out": a.out}),
    );
    Ok(())
}

pub fn run(a: Args, ui: &Ui) -> Result<()> {
    let start = std::time::Instant::now();
    let typicality = amva_analysis::analyze::images::TYPICALITY;
    let names: Vec<&str> = a.methods.split(',').map(str::trim).collect();
    if names.contains(&typicality) {
        anyhow::ensure!(
            names.len() == 1,
            "--methods {}: typicality reads a map store, not images; run it alone (--methods typicality --maps DIR)",
            a.methods
        );
        let maps = a
            .maps
            .as_deref()
            .context("--methods typicality needs --maps DIR (a map store from `amva maps`)")?;
        return run_typicality(&a, maps, ui);
    }
    let images = a
        .images
        .clone()
        .context("--images is needed for these methods (only typicality reads --maps)")?;
    let specs = amva_quality::parse_methods(&a.methods)?;
    let _lock = claim_outputs(&a, &images, &specs)?;
    let list = amva_io::images::ImageList::open(&images)?;
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
    let run = amva_quality::score_images(&methods, &list.items, a.resize, a.strict, |n| {
        pb.inc(n as u64)
    })?;
    pb.finish_and_clear();
    for (id, why) in run.failed.iter().take(20) {
        ui.note(&format!("skipped {id}: {why}"));
    }
    for (id, why) in run.warnings.iter().take(20) {
        ui.note(&format!("{id}: {why}"));
    }
    if run.failed.len() > 20 {
        ui.note(&format!(
            "... and {} more (see {})",
            run.failed.len() - 20,
            failed_path(&a.out).display()
        ));
    }
    let secs = start.elapsed().as_secs_f64();
    let extra = serde_json::json!({
        "images": images, "image_count": list.len(), "resize": a.resize,
        "failed": run.failed.len(), "failed_list": failed_path(&a.out).file_name().map(|n| n.to_string_lossy().to_string()),
        "warnings": run.warnings.len(), "strict": a.strict,
        "seconds": secs,
    });
    amva_quality::write_scores(&a.out, &run.scores, extra)?;
    common::write_failed(&failed_path(&a.out), &run.failed)?;
    common::write_warnings(&warnings_path(&a.out), &run.warnings)?;
    let per_method: Vec<String> = run
        .scores
        .methods
        .iter()
        .map(|(name, m)| format!("{name} {} ({})", m.scores.len(), m.direction.describe()))
        .collect();
    ui.summary(
        &format!(
            "scored {} images in {secs:.1} s: {}; {} failures, {} warnings -> {} (+ {})",
            list.len(),
            per_method.join(", "),
            run.failed.len(),
            run.warnings.len(),
            a.out.display(),
            amva_quality::scores::sidecar_path(&a.out).display()
        ),
        serde_json::json!({
            "command": "quality", "images": list.len(), "failed": run.failed.len(), "warnings": run.warnings.len(), "seconds": secs, "out": a.out,
            "meta": amva_quality::scores::sidecar_path(&a.out),
            "methods": run.scores.methods.iter().map(|(n, m)| (n.clone(), serde_json::json!({"scored": m.scores.len(), "direction": m.direction}))).collect::<serde_json::Map<_, _>>(),
        }),
    );
    let scored: usize = run.scores.methods.values().map(|m| m.scores.len()).sum();
    anyhow::ensure!(
        scored > 0,
        "no image could be scored (see {})",
        failed_path(&a.out).display()
    );
    Ok(())
}
