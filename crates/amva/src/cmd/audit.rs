//! `amva audit`: how far each map method's maps can be trusted on one model
//! (ALGORITHMS 1.7): cascading model randomisation, equivalence of the methods,
//! faithfulness, the analysis agreement of a score file, and a recommendation.

use super::faithfulness::CurveArgs;
use super::maps::CamArgs;
use crate::common::{self, ImageArgs, ModelArgs, Tagged, Ui};
use amva_analysis::audit::{AuditRun, ANALYSIS_DIR};
use amva_analysis::AnalyzeOptions;
use amva_maps::audit::{AuditMethod, AuditOptions};
use amva_maps::study::Compared;
use amva_math::groups::Rule;
use amva_quality::scores::parse_direction_override;
use anyhow::Result;
use std::path::PathBuf;

#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:
  amva audit --images faces/ --out audit/
  amva audit --images faces/ --out audit-lightcnn/ --model lightcnn_v4.onnx --n 64
  amva audit --images faces/ --out audit/ --methods scorecam,scorecam:fast,ablation,activation --scores q.csv
  amva audit --images faces/ --out audit/ --methods ablation,eigencam,activation --cascade-steps 3

Writes audit.html, audit.json (every number: equivalence, randomisation, faithfulness,
analysis agreement, recommendation and its rule), figures/, the trained model's maps of
each method as map stores (maps/<method>/), the faithfulness tables (faithfulness/) and,
with --scores, the analysis of each method's maps (analysis/<method>/).
`amva analyze --audit DIR` shows the audit's verdict in report.html. An interrupted audit
resumes: each finished step (the trained model, then each randomisation step) is kept in
steps/ and read back when the same audit runs again into the same --out.")]
pub struct Args {
    #[command(flatten)]
    pub images: ImageArgs,
    /// Output folder.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Map methods to audit, comma-separated (scorecam first: the others are compared with
    /// it); Score-CAM variants name their channels (scorecam:fast, scorecam:top:64).
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "scorecam,ablation,eigencam,activation",
        value_name = "METHOD,..."
    )]
    pub methods: Vec<String>,
    /// The number of images audited, evenly spread over the sorted list (all when fewer).
    #[arg(long, default_value_t = 64, value_name = "N")]
    pub n: usize,
    /// Shares of the layers before the target layer randomised after the head: the
    /// cascade has 1 + K steps.
    #[arg(long, default_value_t = 5, value_name = "K")]
    pub cascade_steps: usize,
    /// Quality scores (a score file, repeatable): the AMVA finding of each map method's
    /// maps is compared.
    #[arg(long, value_name = "FILE")]
    pub scores: Vec<PathBuf>,
    /// A method's direction, e.g. brisque=lower (overrides the score file's sidecar).
    #[arg(long, value_name = "METHOD=higher|lower")]
    pub direction: Vec<String>,
    /// High-quality group of the analysis agreement.
    #[arg(long, default_value = "top:25%", value_name = "RULE")]
    pub high: Rule,
    /// Low-quality group of the analysis agreement.
    #[arg(long, default_value = "bottom:25%", value_name = "RULE")]
    pub low: Rule,
    /// Seed of the random weights, the random maps, the bootstrap and the permutations.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// The faithfulness check's curves.
    #[command(flatten)]
    pub curves: CurveArgs,
    #[command(flatten)]
    pub cam: CamArgs,
    #[command(flatten)]
    pub model: ModelArgs,
}

pub fn run(a: Args, ui: &Ui) -> Result<()> {
    anyhow::ensure!(a.n >= 2, "--n: at least 2 images");
    anyhow::ensure!(
        a.cascade_steps >= 1,
        "--cascade-steps: at least 1 (the layers before the target layer)"
    );
    let mut inputs = common::images_and_model(&a.images.images, a.model.model.as_deref());
    inputs.extend(a.scores.iter().map(|s| common::input("--scores", s)));
    let _lock = amva_io::outputs::claim_dir(&a.out, &inputs, "audit")?;
    let model = a.model.load(ui)?;
    let methods = methods(&a, &model)?;
    let items = common::spread_images(&a.images.images, Some(a.n))?;
    let run = AuditRun {
        model: &model,
        methods,
        items,
        images: a.images.images.clone(),
        options: AuditOptions {
            shares: a.cascade_steps,
            seed: a.seed,
            study: a.curves.study_options(a.seed, &a.images, &a.cam, &model)?,
        },
        analysis: analysis_template(&a)?,
        out: a.out.clone(),
    };
    let pb = ui.progress(0, "audit");
    let audited = amva_analysis::audit::run(
        &run,
        &|stage, done, total| {
            pb.set_length(total as u64);
            pb.set_position(done as u64);
            pb.set_message(stage.to_string());
        },
        &|msg| pb.suspend(|| ui.note(msg)),
    )?;
    pb.finish_and_clear();
    let page = amva_report::audit::write_audit_page(&a.out, &audited)?;
    let r = &audited.record;
    let rec = &r.recommendation;
    ui.summary(
        &format!(
            "audited {} maps of {} methods on {} images in {:.1} s: cheapest equivalent to scorecam {}, most decision-dependent {} -> {}",
            r.count * r.methods.len(),
            r.methods.len(),
            r.count,
            r.seconds,
            rec.cheapest_equivalent.as_deref().unwrap_or("none"),
            rec.most_decision_dependent.as_deref().unwrap_or("none"),
            page.display()
        ),
        Tagged::new("audit", &rec),
    );
    Ok(())
}

/// The audited methods from `--methods`, with the map flags' parameters.
fn methods(a: &Args, model: &amva_model::FrModel) -> Result<Vec<AuditMethod>> {
    let mut out: Vec<AuditMethod> = Vec::new();
    for name in &a.methods {
        let (m, channels) = match name.parse::<Compared>()? {
            Compared::Cam(m, ch) => (m, ch),
            Compared::Random => anyhow::bail!("--methods: 'random' is always in the audit as the faithfulness reference; name map methods only"),
        };
        let mut params = a.cam.params(m, model);
        params.channels = channels.unwrap_or(params.channels);
        let name = name.trim().to_string();
        if !out.iter().any(|x| x.name == name) {
            out.push(AuditMethod { name, params });
        }
    }
    anyhow::ensure!(!out.is_empty(), "--methods is empty");
    Ok(out)
}

/// The analysis of `--scores`, as `amva analyze` would run it (maps and out per method).
fn analysis_template(a: &Args) -> Result<Option<AnalyzeOptions>> {
    if a.scores.is_empty() {
        return Ok(None);
    }
    let mut opts = AnalyzeOptions::new(&a.out, a.scores.clone(), a.out.join(ANALYSIS_DIR));
    opts.directions = a
        .direction
        .iter()
        .map(|d| parse_direction_override(d))
        .collect::<Result<Vec<_>, _>>()?;
    opts.rules.high = a.high;
    opts.rules.low = a.low;
    opts.seed = a.seed;
    Ok(Some(opts))
}
