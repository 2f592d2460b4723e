//! `amva edc`: the recognition utility of FIQA methods (Error versus Discard
//! Characteristic, ALGORITHMS 6).

use crate::cmd::verify::PairInputs;
use crate::common::{Tagged, Ui};
use amva_quality::edc::EdcOptions;
use amva_report::edc::EdcRun;
use anyhow::Result;
use std::path::PathBuf;

#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:
  amva edc --pairs pairs.tsv --embeddings emb/ --scores scores.csv --out edc/
  amva edc --pairs pairs.tsv --images aligned112/ --scores scores.csv --out edc/ --fmr 1e-3 --pauc 0.2

The threshold is fixed once, on all comparisons, at --fmr; then comparisons are
discarded by their quality min(q_a, q_b) (each method's direction from the scores'
sidecar), lowest first, ties together, and the FNMR of the rest is plotted.

Writes edc.png (all methods and the random reference), pauc.csv (pAUC, the area under
the ideal curve, pAUC minus it, ratio to random), curves.csv (method,discard_fraction,
fnmr), edc.json (everything), and excluded_pairs.csv / missing_quality.csv when pairs
had to be left out.")]
pub struct Args {
    #[command(flatten)]
    pub input: PairInputs,
    /// Quality scores from `amva quality` (or any image,score CSV).
    #[arg(long, value_name = "FILE")]
    pub scores: PathBuf,
    /// Only these FIQA methods (comma-separated; default: all in the scores).
    #[arg(long, value_name = "FIQA,...")]
    pub fiqa: Option<String>,
    /// Output folder.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Target FMR of the fixed decision threshold.
    #[arg(long, default_value_t = 1e-3)]
    pub fmr: f64,
    /// Upper discard fraction of the pAUC.
    #[arg(long, default_value_t = 0.2)]
    pub pauc: f64,
    /// Seed of the random-quality reference.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Random-quality runs averaged for the reference.
    #[arg(long, default_value_t = 20)]
    pub random_runs: usize,
    /// Bootstrap resamples of the comparisons for a 95 % interval of each pAUC ratio
    /// to random (0: none); seeded with --seed.
    #[arg(long, default_value_t = 0, value_name = "N")]
    pub bootstrap: usize,
}

pub fn run(a: Args, ui: &Ui) -> Result<()> {
    let start = std::time::Instant::now();
    let mut inputs = a.input.inputs();
    inputs.push(crate::common::input("--scores", &a.scores));
    let _lock = amva_io::outputs::claim_dir(&a.out, &inputs, "edc")?;
    let model = a.input.model(ui)?;
    let methods: Vec<String> = match &a.fiqa {
        Some(m) => m
            .split(',')
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect(),
        None => Vec::new(),
    };
    let run = EdcRun {
        pairs: a.input.pairs.clone(),
        scores: a.scores.clone(),
        embeddings: a.input.source(model.as_ref())?,
        methods,
        options: EdcOptions {
            target_fmr: a.fmr,
            pauc_limit: a.pauc,
            seed: a.seed,
            random_runs: a.random_runs,
        },
        bootstrap: a.bootstrap,
        out: a.out.clone(),
    };
    let pb = ui.progress(0, "embed");
    let outcome = amva_report::edc::edc(&run, &mut |done, total| {
        pb.set_length(total as u64);
        pb.set_position(done as u64);
    });
    pb.finish_and_clear();
    let outcome = outcome?;
    for n in &outcome.notes {
        ui.note(n);
    }
    let report = &outcome.report;
    let table: Vec<String> = report
        .methods
        .iter()
        .map(|m| {
            format!(
                "{} {:.5}{}",
                m.method,
                m.pauc,
                m.pauc_ratio_to_random
                    .map(|r| format!(" ({r:.3}x random{})", ci(report, &m.method)))
                    .unwrap_or_default()
            )
        })
        .collect();
    let brief = outcome.brief(&a.out, start.elapsed().as_secs_f64());
    ui.summary(
        &format!(
            "EDC of {} comparisons at FMR {} (threshold {:.4}, start FNMR {:.4}): pAUC({}) {}; random {:.5} -> {}",
            report.comparisons_used,
            a.fmr,
            report.threshold,
            report.random.fnmr_start,
            a.pauc,
            table.join(", "),
            report.random.pauc,
            a.out.display()
        ),
        Tagged::new("edc", &brief),
    );
    Ok(())
}

/// ", 95 % CI [lo, hi]" when the report has a bootstrap interval for `method`.
fn ci(report: &amva_quality::EdcReport, method: &str) -> String {
    report
        .bootstrap
        .as_ref()
        .and_then(|b| b.ratio_ci95.get(method))
        .map(|(lo, hi)| format!(", 95 % CI [{lo:.3}, {hi:.3}]"))
        .unwrap_or_default()
}
