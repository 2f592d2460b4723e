//! The EDC figure, and `amva edc` as one call: the recognition utility of FIQA methods
//! (ALGORITHMS 6) on a pairs file, its files (`amva_quality::edc::files`) and edc.png.

use std::path::{Path, PathBuf};

use amva_quality::edc::{bootstrap_ratios, EdcOptions, EdcReport};
use amva_quality::pairs::{EmbeddingSource, PairSource};

use crate::{ReportError, Result};

/// The EDC figure: every method as steps, the random reference dashed, pAUC noted.
/// It shows discard fractions up to max(0.5, 2 x the pAUC limit), where the curves
/// differ; the last few comparisons make the far end noisy (curves.csv has all of it).
pub fn plot(report: &EdcReport) -> amva_draw::LinePlot {
    use amva_draw::{LinePlot, Series, Styled};
    let points = |c: &amva_quality::edc::Curve| {
        c.discard_fractions
            .iter()
            .copied()
            .zip(c.fnmr.iter().copied())
            .collect::<Vec<_>>()
    };
    let xmax = (2.0 * report.options.pauc_limit).clamp(0.5, 1.0);
    let ymax = report
        .methods
        .iter()
        .chain(std::iter::once(&report.random))
        .flat_map(|m| {
            m.curve
                .discard_fractions
                .iter()
                .zip(&m.curve.fnmr)
                .filter(|(d, _)| **d <= xmax)
                .map(|(_, e)| *e)
        })
        .fold(0.0, f64::max);
    let mut p = LinePlot::new(format!(
        "EDC at FMR {} (threshold {:.4})",
        report.options.target_fmr, report.threshold
    ))
    .axis_labels(
        "fraction of comparisons discarded (lowest quality first)",
        "FNMR",
    )
    .x_range(0.0, xmax)
    // Headroom above the curves for the legend.
    .y_range(0.0, (ymax * 1.45).max(1e-6));
    let lim = report.options.pauc_limit;
    for m in &report.methods {
        let ratio = m
            .pauc_ratio_to_random
            .map(|r| format!(", {r:.2}x random"))
            .unwrap_or_default();
        p = p.series(
            Series::line(
                format!("{} (pAUC {:.5}{ratio})", m.method, m.pauc),
                points(&m.curve),
            )
            .steps(),
        );
    }
    p.series(
        Series::reference(
            format!(
                "random, mean of {} (pAUC {:.5})",
                report.options.random_runs, report.random.pauc
            ),
            points(&report.random.curve),
        )
        .steps(),
    )
    .note(format!(
        "pAUC over discard fractions 0 to {lim}; {} comparisons ({} mated) of {}; seed {}",
        report.comparisons_used, report.mated_used, report.comparisons_scored, report.options.seed
    ))
}

/// Writes `dir/edc.png`.
pub fn write_figure(dir: &Path, report: &EdcReport) -> Result<()> {
    let path = dir.join(amva_quality::edc::files::FIGURE);
    plot(report)
        .write_png(&path)
        .map_err(ReportError::draw(path.display().to_string()))
}

/// What `amva edc` is asked.
pub struct EdcRun<'a> {
    /// The pairs file.
    pub pairs: PathBuf,
    /// The score file.
    pub scores: PathBuf,
    /// Where the embeddings come from.
    pub embeddings: EmbeddingSource<'a>,
    /// Only these methods (all when empty).
    pub methods: Vec<String>,
    /// FMR, pAUC limit, seed, random runs.
    pub options: EdcOptions,
    /// Bootstrap resamples for the ratios' intervals (0: none).
    pub bootstrap: usize,
    /// The output folder.
    pub out: PathBuf,
}

/// What `amva edc` found, and what the user should know.
pub struct EdcOutcome {
    /// The report (also in edc.json).
    pub report: EdcReport,
    /// Pairs left out for want of an embedding.
    pub excluded: usize,
    /// Things to tell the user (images not embedded, pairs left out, scores excluded).
    pub notes: Vec<String>,
}

/// `amva edc`: scores the pairs, computes the EDC of every method (and its bootstrap
/// intervals) and writes the files and edc.png into `run.out`.
pub fn edc(run: &EdcRun<'_>, progress: &mut dyn FnMut(usize, usize)) -> Result<EdcOutcome> {
    let scores = amva_quality::read_scores(&run.scores).map_err(quality)?;
    let mut notes: Vec<String> = scores
        .methods
        .values()
        .flat_map(|m| [m.direction_note(), m.non_finite_note()])
        .flatten()
        .collect();
    let pairs = amva_quality::pairs::score_pairs_file(&run.pairs, run.embeddings, progress)
        .map_err(quality)?;
    notes.extend(pairs.notes);
    let (scored, excluded) = (pairs.scored, pairs.excluded);
    if !excluded.is_empty() {
        notes.push(format!(
            "{} of {} pairs name images without an embedding; excluded (listed in {})",
            excluded.len(),
            pairs.total,
            run.out.join(amva_quality::edc::files::EXCLUDED).display()
        ));
    }
    if scored.is_empty() {
        amva_quality::edc::write_excluded(&run.out, &excluded).map_err(quality)?;
        return Err(ReportError::output(&run.pairs, format!(
            "none of the {} pairs has embeddings for both images (ids must match the pairs file; see {})",
            pairs.total,
            run.out.join(amva_quality::edc::files::EXCLUDED).display()
        )));
    }
    let mut report =
        amva_quality::edc_report(&scored, &scores, &run.methods, &run.options).map_err(quality)?;
    if run.bootstrap > 0 {
        let (o, b) = (&run.options, run.bootstrap);
        let intervals = bootstrap_ratios(&scored, &scores, &run.methods, o, b, o.seed);
        report.bootstrap = Some(intervals.map_err(quality)?);
    }
    if !report.missing_quality.is_empty() {
        notes.push(format!(
            "{} comparisons left out: {} images have no quality for some method (listed in {})",
            report.comparisons_without_quality,
            report.missing_quality.len(),
            run.out
                .join(amva_quality::edc::files::MISSING_QUALITY)
                .display()
        ));
    }
    let source = PairSource {
        pairs: run.pairs.clone(),
        scores: Some(run.scores.clone()),
        embeddings: run.embeddings.folder().map(Path::to_path_buf),
        images: run.embeddings.images().map(Path::to_path_buf),
        engine: None,
        pairs_total: pairs.total,
        pairs_excluded_without_embedding: excluded.len(),
    };
    amva_quality::edc::write_files(&run.out, &report, &excluded, &source).map_err(quality)?;
    write_figure(&run.out, &report)?;
    Ok(EdcOutcome {
        report,
        excluded: excluded.len(),
        notes,
    })
}

fn quality(e: amva_quality::QualityError) -> ReportError {
    ReportError::Analysis(e.into())
}

/// One method's pAUC in the brief of `amva edc`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct PaucBrief {
    pub pauc: f64,
    pub pauc_above_ideal: f64,
    pub ratio_to_random: Option<f64>,
}

/// The brief of `amva edc --json`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct EdcBrief {
    pub comparisons: usize,
    pub excluded_pairs: usize,
    pub comparisons_without_quality: usize,
    pub threshold: f64,
    pub pauc: std::collections::BTreeMap<String, PaucBrief>,
    pub random_pauc: f64,
    pub seconds: f64,
    pub out: PathBuf,
}

impl EdcOutcome {
    /// The brief of this run, written into `out` in `seconds`.
    pub fn brief(&self, out: &Path, seconds: f64) -> EdcBrief {
        let r = &self.report;
        EdcBrief {
            comparisons: r.comparisons_used,
            excluded_pairs: self.excluded,
            comparisons_without_quality: r.comparisons_without_quality,
            threshold: r.threshold,
            pauc: r
                .methods
                .iter()
                .map(|m| {
                    let b = PaucBrief {
                        pauc: m.pauc,
                        pauc_above_ideal: m.pauc_above_ideal,
                        ratio_to_random: m.pauc_ratio_to_random,
                    };
                    (m.method.clone(), b)
                })
                .collect(),
            random_pauc: r.random.pauc,
            seconds,
            out: out.to_path_buf(),
        }
    }
}
