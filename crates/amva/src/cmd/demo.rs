//! `amva demo`: from nothing to a report in one command. Real sample photos from public
//! registries (pinned, checksummed, cached) -> detected and aligned faces -> a controlled
//! quality spectrum (graded degradations with known type and level) -> activation maps ->
//! built-in FIQA scores -> the full AMVA analysis and report.
//!
//! The demo composes the other commands by their own flags, and writes the equivalent
//! command lines to `commands.txt`, so every step can be rerun or changed by hand. Each
//! step is skipped when its output is complete, so an interrupted demo continues.

use crate::common::{self, input, Tagged, Ui};
use amva_analysis::summary::{GroupSummary, Summary};
use amva_draw::{Cell, Table};
use amva_report::{Item, ReportSection};
use amva_samples::degrade::{DegradationKind, LEVELS};
use amva_samples::spectrum::{self, Correlations, SpectrumItem};
use anyhow::{Context, Result};
use clap::Parser;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:
  amva demo                                   # sample photos from PyPI packages, default model
  amva demo --out lfw-report --images ../shared/faces/lfw-dev/aligned112
  amva demo --method scorecam --cam-channels top:64   # the paper's map method, fewer channels
  amva demo --images faces/ --model lightcnn_v4.onnx   # another FR model (lightcnn_v4.toml beside it)

The default map method is Ablation-CAM (cheap and faithful) so the demo finishes in a few
minutes on 2 cores; the paper's full Score-CAM is `--method scorecam` (about 10 s per
image on 2 cores with tract, 3 s with ONNX Runtime).")]
pub struct Args {
    /// Output folder.
    #[arg(long, default_value = "amva-demo", value_name = "DIR")]
    pub out: PathBuf,
    /// Your own images instead of the samples (aligned 112x112 crops are used as they are;
    /// other sizes are detected and aligned first). No degradation spectrum is made.
    #[arg(long, value_name = "DIR|LIST")]
    pub images: Option<PathBuf>,
    /// Map method: ablation (default, fast), scorecam (the paper's), eigencam, activation.
    #[arg(long, default_value = "ablation")]
    pub method: String,
    /// Score-CAM channels: all, fast or top:N (as `amva maps --cam-channels`).
    #[arg(long, value_name = "all|fast|top:N")]
    pub cam_channels: Option<String>,
    /// Inference engine: auto, tract, ort.
    #[arg(long, default_value = "auto")]
    pub engine: String,
    /// FIQA methods to compute (as `amva quality --fiqa`).
    #[arg(long, default_value = common::DEFAULT_FIQA, value_name = "FIQA,...")]
    pub fiqa: String,
    /// Seed of every random choice (noise, SER-FIQ dropout, permutations).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Another FR model (ONNX) for the maps and the model-based qualities; its settings
    /// file beside it (`amva model --model X.onnx --write-config` proposes one). Faces are
    /// resized to its input size.
    #[arg(long, value_name = "ONNX")]
    pub model: Option<PathBuf>,
    /// Settings file of --model, when not beside it.
    #[arg(long, value_name = "FILE", requires = "model")]
    pub model_config: Option<PathBuf>,
}

/// Failing comparisons the demo maps (`--pair-maps`): the report's gallery and explorer.
const DEMO_PAIR_MAPS: usize = 12;

/// Images per gallery in the demo's report (4 FIQA methods: 4 x 8 best and worst and
/// 6 pairs of disagreements keep report.html readable).
const DEMO_GALLERY: usize = 4;

/// The flags that pass --model (and its settings) on to a step; faces are resized to
/// the model's input.
fn model_flags(a: &Args) -> Vec<String> {
    let mut v = Vec::new();
    if let Some(m) = &a.model {
        v.extend(["--model".into(), s(m), "--resize".into()]);
    }
    if let Some(c) = &a.model_config {
        v.extend(["--model-config".into(), s(c)]);
    }
    v
}

/// Runs one command of this binary by its flags, recording the command line.
fn step<A: clap::Args + clap::FromArgMatches>(
    name: &str,
    argv: &[String],
    log: &mut Vec<String>,
    ui: &Ui,
    run: impl FnOnce(A, &Ui) -> Result<()>,
) -> Result<()> {
    #[derive(Parser)]
    struct Wrap<T: clap::Args + clap::FromArgMatches> {
        #[command(flatten)]
        inner: T,
    }
    let line = format!(
        "amva {name} {}",
        argv.iter()
            .map(|a| shell_quote(a))
            .collect::<Vec<_>>()
            .join(" ")
    );
    ui.note(&format!("\n== {line}"));
    log.push(line);
    let mut full = vec![format!("amva {name}")];
    full.extend(argv.iter().cloned());
    let parsed =
        Wrap::<A>::try_parse_from(full).map_err(|e| anyhow::anyhow!("demo step `{name}`: {e}"))?;
    run(parsed.inner, ui).with_context(|| format!("demo step `amva {name}`"))
}

fn shell_quote(s: &str) -> String {
    if s.chars()
        .all(|c| c.is_ascii_alphanumeric() || "-_./:=,%".contains(c))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

fn s(p: &Path) -> String {
    p.display().to_string()
}

/// True when every image in `dir` is 112x112 (already aligned).
fn already_aligned(dir: &Path) -> Result<bool> {
    let list = amva_io::images::ImageList::open(dir)?;
    anyhow::ensure!(!list.is_empty(), "{}: no images", dir.display());
    for it in list.items.iter().take(20) {
        if let Ok(img) = amva_io::images::load_rgb(&it.path) {
            if img.dimensions() != (112, 112) {
                return Ok(false);
            }
        }
    }
    Ok(true)
}

/// Every aligned face, clean and degraded at every level of every kind, below
/// `out/images`, indexed in `out/spectrum.csv`.
fn build_spectrum(aligned: &Path, out: &Path, seed: u64, ui: &Ui) -> Result<Vec<SpectrumItem>> {
    let faces = amva_io::images::ImageList::open(aligned)?;
    anyhow::ensure!(
        !faces.is_empty(),
        "no face could be aligned from the sample photos (see {})",
        aligned.display()
    );
    let pb = ui.progress(faces.len() as u64, "spectrum");
    let items = spectrum::build(&faces, &out.join("images"), seed, &|| pb.inc(1))?;
    pb.finish_and_clear();
    amva_io::atomic::write_atomic(&out.join("spectrum.csv"), &spectrum::index_csv(&items)?)?;
    Ok(items)
}

pub fn run(a: Args, ui: &Ui) -> Result<()> {
    let start = std::time::Instant::now();
    let out = a.out.clone();
    let mut inputs: Vec<_> = a.images.iter().map(|p| input("--images", p)).collect();
    inputs.extend(a.model.iter().map(|p| input("--model", p)));
    inputs.extend(a.model_config.iter().map(|p| input("--model-config", p)));
    let _lock = amva_io::outputs::claim_dir(&out, &inputs, "demo")?;
    let mut log = Vec::new();

    // 1. Photos (and models, fetched on first use by the steps themselves).
    let (photos, synthetic) = match &a.images {
        Some(dir) => (dir.clone(), false),
        None => (amva_samples::sources::sample_photos(&|m| ui.note(m))?, true),
    };

    // 2. Aligned faces.
    let aligned = aligned_faces(&a, &photos, &mut log, ui)?;

    // 3. The quality spectrum (sample mode).
    let (images, spectrum) = if synthetic {
        let items = build_spectrum(&aligned, &out, a.seed, ui)?;
        ui.note(&format!(
            "spectrum: {} images ({} kinds x {LEVELS} levels + clean, per face)",
            items.len(),
            DegradationKind::ALL.len()
        ));
        (out.join("images"), Some(items))
    } else {
        (aligned.clone(), None)
    };

    // 4. Maps (resumable on its own).
    let maps = out.join("maps");
    maps_step(&a, &images, &maps, &mut log, ui)?;

    // 5. Qualities.
    let scores = out.join("scores.csv");
    if !scores.is_file() {
        quality_step(&a, &images, &scores, &mut log, ui)?;
    }

    // 6. Degradation ground truth: rank correlation of each FIQA score with the level.
    let correlations = match &spectrum {
        Some(items) => Some(degradation_correlations(items, &scores, &out)?),
        None => None,
    };

    // 7. The analysis and the report; in sample mode with the degradation kinds as
    // groups and the spectrum's pairs for the EDC.
    let analysis = out.join("analysis");
    let argv = analysis_argv(&a, (&maps, &scores, &analysis), spectrum.as_deref())?;
    let sections = correlations
        .iter()
        .map(degradation_section)
        .collect::<Result<_>>()?;
    step("analyze", &argv, &mut log, ui, |a, ui| {
        super::analyze::run_with_sections(a, ui, sections)
    })?;
    amva_io::atomic::write_atomic(
        &out.join("commands.txt"),
        (log.join("\n") + "\n").as_bytes(),
    )?;

    let secs = start.elapsed().as_secs_f64();
    let report = analysis.join("report.html");
    let summary = Summary::read(&analysis)?;
    println!("\nreport: {}", report.display());
    for line in five_lines(&summary, correlations.as_ref()) {
        println!("  {line}");
    }
    let brief = DemoBrief {
        seconds: secs,
        report: &report,
        out: &out,
        correlations: correlations.as_ref().map(Correlations::by_kind),
    };
    ui.summary(
        &format!("demo finished in {secs:.0} s -> {}", report.display()),
        Tagged::new("demo", &brief),
    );
    Ok(())
}

/// The summary of `amva demo --json`.
#[derive(serde::Serialize)]
struct DemoBrief<'a> {
    seconds: f64,
    report: &'a Path,
    out: &'a Path,
    /// FIQA method -> degradation kind -> Spearman of quality vs level (sample mode).
    correlations: Option<BTreeMap<&'a str, BTreeMap<&'static str, f64>>>,
}

/// The faces to work on: `photos` when they are aligned crops already, else those
/// `amva align` makes of them in `<out>/aligned` (kept from an earlier run).
fn aligned_faces(a: &Args, photos: &Path, log: &mut Vec<String>, ui: &Ui) -> Result<PathBuf> {
    if already_aligned(photos)? {
        return Ok(photos.to_path_buf());
    }
    let dir = a.out.join("aligned");
    if !dir.join("faces.csv").is_file() {
        let argv = vec![
            "--images".into(),
            s(photos),
            "--out".into(),
            s(&dir),
            "--all-faces".into(),
            "--engine".into(),
            a.engine.clone(),
        ];
        step("align", &argv, log, ui, super::align::run)?;
    }
    Ok(dir)
}

/// `amva maps` of `images` into `maps` (it continues an interrupted run itself).
fn maps_step(a: &Args, images: &Path, maps: &Path, log: &mut Vec<String>, ui: &Ui) -> Result<()> {
    let mut argv = vec![
        "--images".into(),
        s(images),
        "--out".into(),
        s(maps),
        "--method".into(),
        a.method.clone(),
        "--engine".into(),
        a.engine.clone(),
    ];
    if let Some(c) = &a.cam_channels {
        argv.extend(["--cam-channels".into(), c.clone()]);
    }
    argv.extend(model_flags(a));
    step("maps", &argv, log, ui, super::maps::run)
}

/// `amva quality` of `images` into `scores`.
fn quality_step(
    a: &Args,
    images: &Path,
    scores: &Path,
    log: &mut Vec<String>,
    ui: &Ui,
) -> Result<()> {
    let mut argv = vec![
        "--images".into(),
        s(images),
        "--out".into(),
        s(scores),
        "--fiqa".into(),
        a.fiqa.clone(),
        "--engine".into(),
        a.engine.clone(),
        "--seed".into(),
        a.seed.to_string(),
    ];
    argv.extend(model_flags(a));
    step("quality", &argv, log, ui, super::quality::run)
}

/// The flags of the demo's `amva analyze` (maps, scores, out); with the sample
/// spectrum also groups.csv (each image's degradation kind) and pairs.csv (for the EDC),
/// written into the demo folder.
fn analysis_argv(
    a: &Args,
    (maps, scores, analysis): (&Path, &Path, &Path),
    spectrum: Option<&[SpectrumItem]>,
) -> Result<Vec<String>> {
    let mut argv = vec![
        "--maps".into(),
        s(maps),
        "--scores".into(),
        s(scores),
        "--out".into(),
        s(analysis),
        "--seed".into(),
        a.seed.to_string(),
        "--gallery".into(),
        DEMO_GALLERY.to_string(),
    ];
    if let Some(items) = spectrum {
        let (groups, pairs) = (a.out.join("groups.csv"), a.out.join("pairs.csv"));
        amva_io::atomic::write_atomic(&groups, &spectrum::groups_csv(items)?)?;
        amva_io::atomic::write_atomic(&pairs, &spectrum::pairs_csv(items)?)?;
        argv.extend(["--groups".into(), s(&groups), "--pairs".into(), s(&pairs)]);
        // The report's gallery of failing comparisons shows 6; a few more for the explorer.
        argv.extend(["--pair-maps".into(), DEMO_PAIR_MAPS.to_string()]);
        argv.extend(["--engine".into(), a.engine.clone()]);
        argv.extend(model_flags(a));
    }
    Ok(argv)
}

/// Per FIQA method and degradation kind: Spearman of the quality (direction-corrected so
/// that higher is better) vs the degradation level, written to degradation_correlation.csv.
fn degradation_correlations(
    items: &[SpectrumItem],
    scores: &Path,
    out: &Path,
) -> Result<Correlations> {
    let scores = amva_quality::scores::read_scores(scores)?;
    let methods: Vec<_> = scores
        .methods
        .iter()
        .map(|(m, ms)| (m.clone(), ms.oriented_map()))
        .collect();
    let c = spectrum::correlations(items, &methods);
    amva_io::atomic::write_atomic(&out.join("degradation_correlation.csv"), &c.csv()?)?;
    Ok(c)
}

/// The ground-truth table of the synthetic spectrum as a section of the analysis report:
/// each FIQA method's rank correlation with the degradation level, per degradation type.
fn degradation_section(corr: &Correlations) -> Result<ReportSection> {
    let mut header = vec!["method".to_string()];
    header.extend(DegradationKind::ALL.iter().map(|k| k.name().to_string()));
    let mut t = Table::new(header)
        .caption("Spearman of quality vs degradation level.")
        .source("../degradation_correlation.csv", "");
    for (m, rhos) in &corr.0 {
        let mut row: Vec<Cell> = vec![m.clone().into()];
        row.extend(rhos.iter().map(|c| match c.rho {
            v if v.is_nan() => Cell::Text("n/a".into()),
            v if v <= -0.5 => Cell::Strong(format!("{v:.2}")),
            v => Cell::Text(format!("{v:.2}")),
        }));
        t = t.row(row)?;
    }
    Ok(ReportSection::new("Synthetic quality spectrum: does each FIQA method see each degradation?")
        .paragraph("Spearman rank correlation between each method's quality (direction-corrected, higher = better) and the degradation level (0 = clean, 1-4 = increasingly severe), over all sample faces. Negative values mean the method lowers its quality as the degradation grows; values at or below -0.5 are in bold. Source: degradation_correlation.csv and spectrum.csv in the demo folder.")
        .item(Item::Table(t)))
}

/// The five-line summary printed at the end.
fn five_lines(summary: &Summary, corr: Option<&Correlations>) -> Vec<String> {
    let mut lines = Vec::new();
    for (m, rhos) in corr.map(|c| c.0.as_slice()).unwrap_or_default() {
        let mut strong: Vec<&str> = DegradationKind::ALL
            .iter()
            .zip(rhos)
            .filter(|(_, c)| c.rho <= -0.5)
            .map(|(k, _)| k.name())
            .collect();
        strong.sort();
        lines.push(format!(
            "{m}: separates {} of {} degradations (Spearman <= -0.5 with level){}",
            strong.len(),
            DegradationKind::ALL.len(),
            if strong.is_empty() {
                String::new()
            } else {
                format!(": {}", strong.join(", "))
            }
        ));
    }
    for (m, v) in &summary.methods {
        let outside = |g: Option<&GroupSummary>| g.and_then(|g| g.region.amv).map(|r| r.outside);
        if let (Some(hi), Some(lo)) = (outside(v.high()), outside(v.low())) {
            lines.push(format!(
                "{m}: outside-region AM-V high {hi:.4} vs low {lo:.4}"
            ));
        }
    }
    lines.truncate(5);
    lines
}
