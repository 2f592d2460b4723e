//! `amva edc`: the recognition utility of FIQA methods (Error versus Discard
//! Characteristic, ALGORITHMS 6).

use crate::cmd::verify::PairInputs;
use crate::common::Ui;
use amva_io::pairs::{read_pairs, Pair};
use amva_quality::edc::{EdcOptions, PairScore};
use anyhow::Result;
use std::collections::HashMap;
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
    #[arg(long)]
    pub scores: PathBuf,
    /// Only these methods (comma-separated; default: all in the scores).
    #[arg(long)]
    pub methods: Option<String>,
    /// Output folder.
    #[arg(long)]
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

/// Scores the pairs whose images both have an embedding; the others are returned as
/// (img_a, img_b, label, reason).
pub fn score_pairs(
    pairs: &[Pair],
    emb: &HashMap<String, Vec<f32>>,
) -> (Vec<PairScore>, Vec<[String; 4]>) {
    let (mut scored, mut excluded) = (Vec::new(), Vec::new());
    for p in pairs {
        match (emb.get(&p.a), emb.get(&p.b)) {
            (Some(x), Some(y)) => scored.push(PairScore {
                a: p.a.clone(),
                b: p.b.clone(),
                mated: p.mated,
                score: amva_model::fr::cosine(x, y) as f64,
            }),
            (x, y) => {
                let missing: Vec<&str> = [(x.is_none(), p.a.as_str()), (y.is_none(), p.b.as_str())]
                    .iter()
                    .filter(|m| m.0)
                    .map(|m| m.1)
                    .collect();
                excluded.push([
                    p.a.clone(),
                    p.b.clone(),
                    if p.mated { "1" } else { "0" }.into(),
                    format!("no embedding for {}", missing.join(" and ")),
                ]);
            }
        }
    }
    (scored, excluded)
}

/// Embeds (or reads) what `pairs` need and scores them; the pairs without an
/// embedding are counted on stderr (they go to `out/excluded_pairs.csv`). Returns the
/// scored pairs, the excluded ones and the engine that embedded them.
pub fn embed_and_score(
    input: &PairInputs,
    pairs: &[Pair],
    out: &std::path::Path,
    ui: &Ui,
) -> Result<(Vec<PairScore>, Vec<[String; 4]>, String)> {
    // Images that could not be embedded are reported by embed() and end up in
    // excluded_pairs.csv.
    let emb = input.embed(pairs, ui)?;
    let (scored, excluded) = score_pairs(pairs, &emb.embeddings);
    if !excluded.is_empty() {
        ui.note(&format!(
            "{} of {} pairs name images without an embedding; excluded (listed in {})",
            excluded.len(),
            pairs.len(),
            out.join("excluded_pairs.csv").display()
        ));
    }
    Ok((scored, excluded, emb.engine))
}

pub fn run(a: Args, ui: &Ui) -> Result<()> {
    let start = std::time::Instant::now();
    let mut inputs = a.input.inputs();
    inputs.push(crate::common::input("--scores", &a.scores));
    let _lock = amva_io::outputs::claim_dir(&a.out, &inputs, "edc")?;
    let pairs = read_pairs(&a.input.pairs)?;
    let scores = amva_quality::read_scores(&a.scores)?;
    for note in scores.methods.values().filter_map(|m| m.non_finite_note()) {
        ui.note(&note);
    }
    let methods: Vec<String> = match &a.methods {
        Some(m) => m
            .split(',')
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect(),
        None => Vec::new(),
    };
    let (scored, excluded, _) = embed_and_score(&a.input, &pairs, &a.out, ui)?;
    if scored.is_empty() {
        amva_analysis::edc::write_excluded(&a.out, &excluded)?;
    }
    anyhow::ensure!(!scored.is_empty(), "none of the {} pairs has embeddings for both images (ids must match the pairs file; see {})", pairs.len(), a.out.join("excluded_pairs.csv").display());
    let opts = EdcOptions {
        target_fmr: a.fmr,
        pauc_limit: a.pauc,
        seed: a.seed,
        random_runs: a.random_runs,
    };
    let mut report = amva_quality::edc_report(&scored, &scores, &methods, &opts)?;
    if a.bootstrap > 0 {
        let b = amva_quality::edc::bootstrap_ratios(
            &scored,
            &scores,
            &methods,
            &opts,
            a.bootstrap,
            a.seed,
        )?;
        report.bootstrap = Some(b);
    }
    if !report.missing_quality.is_empty() {
        ui.note(&format!(
            "{} comparisons left out: {} images have no quality for some method (listed in {})",
            report.comparisons_without_quality,
            report.missing_quality.len(),
            a.out.join("missing_quality.csv").display()
        ));
    }
    let meta = serde_json::json!({
        "pairs": a.input.pairs, "scores": a.scores, "embeddings": a.input.embeddings, "images": a.input.images,
        "pairs_total": pairs.len(), "pairs_excluded_without_embedding": excluded.len(),
    });
    amva_analysis::edc::write_edc_files(&a.out, &report, &excluded, meta)?;
    let secs = start.elapsed().as_secs_f64();
    let table: Vec<String> = report
        .methods
        .iter()
        .map(|m| {
            format!(
                "{} {:.5}{}",
                m.method,
                m.pauc,
                m.pauc_ratio_to_random
                    .map(|r| format!(" ({r:.3}x random{})", ci(&report, &m.method)))
                    .unwrap_or_default()
            )
        })
        .collect();
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
        serde_json::json!({
            "command": "edc", "comparisons": report.comparisons_used, "excluded_pairs": excluded.len(),
            "comparisons_without_quality": report.comparisons_without_quality, "threshold": report.threshold,
            "pauc": report.methods.iter().map(|m| (m.method.clone(), serde_json::json!({"pauc": m.pauc, "pauc_above_ideal": m.pauc_above_ideal, "ratio_to_random": m.pauc_ratio_to_random}))).collect::<serde_json::Map<_, _>>(),
            "random_pauc": report.random.pauc, "seconds": secs, "out": a.out,
        }),
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
