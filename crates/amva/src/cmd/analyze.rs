//! `amva analyze`: maps + FIQA scores -> groups, exact set statistics, comparisons,
//! figures and an HTML report (ALGORITHMS 2-6). The work is `amva_report::analyze`
//! (amva-analysis computes, amva-report draws).

use crate::common::{Tagged, Ui};
use amva_analysis::edc::EdcInput;
use amva_analysis::groups::GroupRules;
use amva_analysis::AnalyzeOptions;
use amva_maps::source::MapKind;
use amva_math::groups::Rule;
use amva_model::FrModel;
use amva_quality::pairs::EmbeddingSource;
use amva_quality::scores::parse_direction_override;
use amva_report::{ReportOptions, ReportSection};
use anyhow::{Context, Result};
use std::path::{Path, PathBuf};

#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:
  amva analyze --maps maps/ --scores quality.csv --out analysis/
  amva analyze --maps maps/ --scores magface.csv serfiq.csv --high top:20% --low bottom:20% --bins 10 --out a/
  amva analyze --maps maps/ --scores brisque.csv --direction brisque=lower --compat paper --out a/

Score files: CSV/TSV with image,score (one method, named after the file stem) or
image,method,score (long format, as `amva quality` writes; directions from its sidecar).
Image ids must match the maps' index.csv. Ids without a partner and non-finite scores are
listed in unmatched.csv, not fatal (unless nothing matches).

Writes report.html (self-contained: open it from disk), summary.json (every number),
figures/*.png, arrays/**/*.npy (every map and curve), groups/<method>.csv, unmatched.csv,
images.csv (every image: typicality and, per method, score, rank, groups and its deviation
from the high group, as `amva explain` computes it).")]
pub struct Args {
    /// Map store from `amva maps` (or `amva merge`).
    #[arg(long, value_name = "DIR")]
    pub maps: PathBuf,
    /// Quality scores: one or more files (from `amva quality`, or image,score CSVs).
    #[arg(long, value_name = "FILE", num_args = 1.., required = true)]
    pub scores: Vec<PathBuf>,
    /// Output folder.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// High-quality group: top:P%, top:N, above:T.
    #[arg(long, default_value = "top:10%", value_name = "RULE")]
    pub high: Rule,
    /// Low-quality group: bottom:P%, bottom:N, below:T.
    #[arg(long, default_value = "bottom:10%", value_name = "RULE")]
    pub low: Rule,
    /// Also B equal-count quality bins (worst to best), with the AM-V trend across them.
    #[arg(long, value_name = "B")]
    pub bins: Option<usize>,
    /// A method's direction, e.g. brisque=lower (overrides the score file's sidecar).
    #[arg(long, value_name = "METHOD=higher|lower")]
    pub direction: Vec<String>,
    /// Growth of the central face region around the landmark hull, in pixels of the 112 x 112 frame.
    #[arg(long, default_value_t = 12.0, value_name = "PX")]
    pub region_margin: f64,
    /// Average deviation maps with their left-right mirror image.
    #[arg(long)]
    pub symmetric: bool,
    /// `paper`: also the paper's statistics (torch.median's lower median, std_mad).
    #[arg(long, value_parser = ["paper"], value_name = "paper")]
    pub compat: Option<String>,
    /// Seed of the permutation test.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Permutations of the outside-AM-V test (0: no test).
    #[arg(long, default_value_t = 1000)]
    pub permutations: usize,
    /// Memory for the median/MAD columns, in MiB (more memory, fewer passes over the maps).
    #[arg(long, default_value_t = 256, value_name = "MIB")]
    pub memory: usize,
    /// Face images for the mean faces, galleries and explorer, and to embed for --pairs (default: the images the maps were made from).
    #[arg(long, value_name = "DIR|LIST")]
    pub images: Option<PathBuf>,
    /// Categorical groups: a CSV `image,group` with any labels (demographic group,
    /// camera, degradation kind): statistics per label, pairwise D-AM-V, each label
    /// against the rest (permutation test), and labels crossed with quality.
    #[arg(long, value_name = "FILE")]
    pub groups: Option<PathBuf>,
    /// Pairs file (img_a, img_b, label): adds each method's EDC (as `amva edc`) to the
    /// report. Embeddings from --embeddings, or computed from the face images.
    #[arg(long, value_name = "FILE")]
    pub pairs: Option<PathBuf>,
    /// Embeddings folder from `amva embed`, for --pairs.
    #[arg(long, value_name = "DIR", requires = "pairs")]
    pub embeddings: Option<PathBuf>,
    /// FMR of the EDC's fixed threshold (with --pairs).
    #[arg(long, default_value_t = 1e-3)]
    pub fmr: f64,
    /// Upper discard fraction of the EDC's pAUC (with --pairs).
    #[arg(long, default_value_t = 0.2)]
    pub pauc: f64,
    /// With --pairs: bootstrap resamples of the comparisons for a 95 % interval of each
    /// pAUC ratio to random (0: none; seeded with --seed, as `amva edc --bootstrap`).
    #[arg(long, default_value_t = 0, value_name = "N")]
    pub bootstrap: usize,
    /// Resize face images of the wrong size when embedding them for --pairs.
    #[arg(long)]
    pub resize: bool,
    /// With --pairs: pair maps (`amva compare`) of up to K failing comparisons at the
    /// EDC's threshold, worst first, for the report's gallery and the explorer (0: none).
    #[arg(long, default_value_t = 500, value_name = "K")]
    pub pair_maps: usize,
    /// The pair-map method of --pair-maps (as `amva compare --method`).
    #[arg(long, default_value = "swap")]
    pub pair_method: String,
    /// The FR model that embeds the faces for --pairs (without --embeddings) and makes
    /// the pair maps.
    #[command(flatten)]
    pub model: crate::common::ModelArgs,
    /// Images in each gallery of the report: the K best and K worst of each method, and
    /// up to K images each pair of methods disagrees on (0: no galleries).
    #[arg(long, default_value_t = amva_report::gallery::DEFAULT_GALLERY, value_name = "K")]
    pub gallery: usize,
    /// Analyse maps_full.npy (maps already finished, e.g. from `amva maps --full` or another tool) instead of rebuilding them from maps.npy.
    #[arg(long)]
    pub full_maps: bool,
    /// An audit of these maps' model and method (`amva audit --out DIR`): its verdict
    /// goes at the top of report.html.
    #[arg(long, value_name = "DIR")]
    pub audit: Option<PathBuf>,
    /// One self-contained report.html with every figure embedded (larger, slower to
    /// open); by default the report references figures/*.png beside it.
    #[arg(long)]
    pub single_file: bool,
}

pub fn run(a: Args, ui: &Ui) -> Result<()> {
    run_with_sections(a, ui, Vec::new())
}

/// `amva analyze` with extra report sections (the demo adds its degradation table).
pub fn run_with_sections(a: Args, ui: &Ui, sections: Vec<ReportSection>) -> Result<()> {
    let mut inputs = vec![crate::common::input("--maps", &a.maps)];
    inputs.extend(a.scores.iter().map(|p| crate::common::input("--scores", p)));
    for (flag, path) in [
        ("--images", &a.images),
        ("--groups", &a.groups),
        ("--pairs", &a.pairs),
        ("--embeddings", &a.embeddings),
        ("--audit", &a.audit),
    ] {
        inputs.extend(path.as_deref().map(|p| crate::common::input(flag, p)));
    }
    let _lock = amva_io::outputs::claim_dir(&a.out, &inputs, "analysis")?;
    // Written whole or not at all: into a staging folder, published at the end.
    let stage = amva_io::staging::Staging::begin(&a.out, amva_analysis::files::SUMMARY)?;
    let mut opts = options(&a, stage.dir())?;
    // The FR model, loaded once when --pairs needs it (to embed or to map).
    let mut model = None;
    opts.edc = edc_input(&a, ui, &mut model)?;
    if let Some(e) = opts.edc.as_mut() {
        e.pair_maps = pair_maps(&a, e, stage.dir(), ui, &mut model)?;
    }
    let audit = match &a.audit {
        None => None,
        Some(dir) => {
            let record = amva_analysis::audit::AuditRecord::read(dir)
                .map_err(|e| anyhow::anyhow!("--audit: {e}"))?;
            Some((std::path::absolute(dir)?, record))
        }
    };
    let shown = ReportOptions {
        figures: true,
        gallery: a.gallery,
        sections,
        audit,
        single_file: a.single_file,
    };
    let mut outcome = ui.analyze(&opts, &shown)?;
    stage.publish()?;
    outcome.out = a.out.clone();
    for n in &outcome.notes {
        ui.note(&format!("note: {n}"));
    }
    ui.summary(&outcome.line(), Tagged::new("analyze", &outcome.brief()));
    Ok(())
}

/// The library's options from the command line, writing into `out`.
fn options(a: &Args, out: &Path) -> Result<AnalyzeOptions> {
    let directions = a
        .direction
        .iter()
        .map(|d| parse_direction_override(d))
        .collect::<Result<Vec<_>, _>>()?;
    anyhow::ensure!(a.memory >= 1, "--memory: at least 1 MiB");
    let mut opts = AnalyzeOptions::new(&a.maps, a.scores.clone(), out);
    opts.map_kind = if a.full_maps {
        MapKind::Full
    } else {
        MapKind::Low
    };
    opts.rules = GroupRules {
        high: a.high,
        low: a.low,
        bins: a.bins,
    };
    opts.directions = directions;
    opts.region_margin = a.region_margin;
    opts.symmetric = a.symmetric;
    opts.compat_paper = a.compat.is_some();
    opts.seed = a.seed;
    opts.permutations = a.permutations;
    opts.budget_bytes = a.memory << 20;
    opts.images = a.images.clone();
    opts.groups = a.groups.clone();
    opts.command_line = Some(crate::common::command_line());
    Ok(opts)
}

/// The face images: `--images`, else the images the maps were made from.
fn face_images(a: &Args) -> Result<Option<PathBuf>> {
    Ok(match &a.images {
        Some(i) => Some(i.clone()),
        None => amva_analysis::edc::store_images(&a.maps)?,
    })
}

/// The pair maps of the failing comparisons (`--pair-maps K`), in the comparisons/
/// folder of the analysis being written in `out`.
fn pair_maps(
    a: &Args,
    input: &EdcInput,
    out: &Path,
    ui: &Ui,
    model: &mut Option<FrModel>,
) -> Result<Option<PathBuf>> {
    if a.pair_maps == 0 {
        return Ok(None);
    }
    let Some(root) = face_images(a)? else {
        ui.note(
            "--pair-maps: no face images (--images), so no pair maps of the failing comparisons",
        );
        return Ok(None);
    };
    let model = load_once(a, ui, model)?;
    let method = amva_maps::pair_bench::parse_method(&a.pair_method)?;
    let run = amva_analysis::failures::PairMapsRun {
        model,
        method: (&a.pair_method, method),
        root: &root,
        resize: a.resize,
        k: a.pair_maps,
    };
    let dir = out.join(amva_analysis::files::COMPARISONS_DIR);
    let pb = ui.progress(0, "pair maps");
    let meta = amva_analysis::failures::map_failing(&run, input, &dir, |k, n| {
        pb.set_length(n as u64);
        pb.set_position(k as u64);
    })?;
    pb.finish_and_clear();
    Ok(meta.map(|m| {
        ui.note(&format!(
            "pair maps of {} failing comparisons ({} failed) in {}",
            m.count,
            m.failed,
            a.out.join(amva_analysis::files::COMPARISONS_DIR).display()
        ));
        dir
    }))
}

/// The comparisons of `--pairs`, scored with `--embeddings` or with embeddings of the
/// face images (`--images`, else the images the maps were made from).
fn edc_input(a: &Args, ui: &Ui, model: &mut Option<FrModel>) -> Result<Option<EdcInput>> {
    let Some(pairs) = &a.pairs else {
        return Ok(None);
    };
    let images = match &a.embeddings {
        Some(_) => None,
        None => Some(face_images(a)?.context(
            "--pairs needs --embeddings DIR, or --images DIR to embed the faces (the images the maps were made from are not there any more)",
        )?),
    };
    let model = match images {
        Some(_) => Some(load_once(a, ui, model)?),
        None => None,
    };
    let source = match (&images, model, &a.embeddings) {
        (Some(root), Some(model), _) => EmbeddingSource::Images {
            root,
            model,
            resize: a.resize,
        },
        (_, _, Some(dir)) => EmbeddingSource::Folder(dir),
        _ => anyhow::bail!("--pairs needs --embeddings DIR or --images DIR"),
    };
    let options = amva_quality::EdcOptions {
        target_fmr: a.fmr,
        pauc_limit: a.pauc,
        seed: a.seed,
        random_runs: 20,
    };
    let pb = ui.progress(0, "embed");
    let (input, notes) =
        EdcInput::from_pairs(pairs, source, options, &a.out, &mut |done, total| {
            pb.set_length(total as u64);
            pb.set_position(done as u64);
        })?;
    pb.finish_and_clear();
    for n in notes {
        ui.note(&n);
    }
    Ok(Some(EdcInput {
        bootstrap: a.bootstrap,
        ..input
    }))
}

/// The FR model of `--model`, loaded on first use and kept in `slot`.
fn load_once<'m>(a: &Args, ui: &Ui, slot: &'m mut Option<FrModel>) -> Result<&'m FrModel> {
    let model = match slot.take() {
        Some(m) => m,
        None => a.model.load(ui)?,
    };
    Ok(slot.insert(model))
}
