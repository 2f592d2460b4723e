//! The recognition utility of the analysed FIQA methods (Error versus Discard
//! Characteristic, ALGORITHMS 6) as files and a figure: what `amva edc` writes, and
//! what `amva analyze --pairs` adds to its report (the numbers come from
//! [`amva_quality::edc_report`]; this module only writes and draws them).

use std::path::Path;

use amva_quality::edc::EdcReport;

use crate::{AnalysisError, Result};

/// Pairs left out for want of an embedding: img_a, img_b, label, reason.
pub type Excluded = Vec<[String; 4]>;

/// The folder of the EDC files inside an analysis.
pub const DIR: &str = "edc";

/// What `amva analyze --pairs` hands the analysis: the scored comparisons (from the
/// embeddings), the pairs left out, the settings, and what they came from (edc.json).
#[derive(Debug, Clone)]
pub struct EdcInput {
    /// Comparisons with both embeddings.
    pub pairs: Vec<amva_quality::PairScore>,
    /// Pairs without an embedding.
    pub excluded: Excluded,
    /// FMR, pAUC limit, seed, random runs.
    pub options: amva_quality::EdcOptions,
    /// Where the pairs and embeddings came from (merged into edc.json).
    pub meta: serde_json::Value,
}

/// The EDC of the analysed methods and what the files need beside it.
#[derive(Debug, Clone)]
pub struct EdcResult {
    /// Every method's curve and pAUC, and the random reference.
    pub report: EdcReport,
    /// Pairs without an embedding.
    pub excluded: Excluded,
    /// Merged into edc.json.
    pub meta: serde_json::Value,
}

/// The EDC of every analysed method on `input`'s comparisons: the same
/// [`amva_quality::edc_report`] as `amva edc`.
pub fn edc_of_methods(
    input: &EdcInput,
    methods: &[amva_quality::MethodScores],
) -> Result<EdcResult> {
    let scores = amva_quality::Scores {
        methods: methods
            .iter()
            .map(|m| (m.name.clone(), m.clone()))
            .collect(),
    };
    Ok(EdcResult {
        report: amva_quality::edc_report(&input.pairs, &scores, &[], &input.options)?,
        excluded: input.excluded.clone(),
        meta: input.meta.clone(),
    })
}

fn csv(path: &Path, header: &[&str], rows: impl IntoIterator<Item = Vec<String>>) -> Result<()> {
    let err = |e: csv::Error| AnalysisError::store(path, e.to_string());
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(header).map_err(err)?;
    for r in rows {
        w.write_record(&r).map_err(err)?;
    }
    let bytes = w
        .into_inner()
        .map_err(|e| AnalysisError::store(path, e.to_string()))?;
    Ok(amva_io::atomic::write_atomic(path, &bytes)?)
}

/// Writes `dir/excluded_pairs.csv` when pairs were left out for want of an embedding.
pub fn write_excluded(dir: &Path, excluded: &[[String; 4]]) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| AnalysisError::io(dir, e))?;
    if !excluded.is_empty() {
        let rows = excluded.iter().map(|r| r.to_vec());
        csv(
            &dir.join("excluded_pairs.csv"),
            &["img_a", "img_b", "label", "reason"],
            rows,
        )?;
    }
    Ok(())
}

/// Writes into `dir`: pauc.csv, curves.csv, edc.json (`meta` plus the report),
/// edc.png, and excluded_pairs.csv / missing_quality.csv when pairs were left out.
pub fn write_edc_files(
    dir: &Path,
    report: &EdcReport,
    excluded: &[[String; 4]],
    meta: serde_json::Value,
) -> Result<()> {
    write_excluded(dir, excluded)?;
    if !report.missing_quality.is_empty() {
        let rows = report
            .missing_quality
            .iter()
            .map(|m| vec![m.image.clone(), m.methods.join(" ")]);
        csv(
            &dir.join("missing_quality.csv"),
            &["image", "methods"],
            rows,
        )?;
    }
    amva_io::atomic::write_atomic(&dir.join("pauc.csv"), report.table_csv().as_bytes())?;
    amva_io::atomic::write_atomic(&dir.join("curves.csv"), report.curves_csv().as_bytes())?;
    let mut json = meta;
    json["amva_version"] = serde_json::json!(env!("CARGO_PKG_VERSION"));
    json["kind"] = serde_json::json!("edc");
    json["report"] = serde_json::to_value(report)
        .map_err(|e| AnalysisError::store(dir.join("edc.json"), e.to_string()))?;
    amva_io::atomic::write_json(&dir.join("edc.json"), &json)?;
    plot(report)
        .write_png(dir.join("edc.png"))
        .map_err(AnalysisError::report("edc.png"))
}

/// The EDC figure: every method as steps, the random reference dashed, pAUC noted.
/// It shows discard fractions up to max(0.5, 2 x the pAUC limit), where the curves
/// differ; the last few comparisons make the far end noisy (curves.csv has all of it).
pub fn plot(report: &EdcReport) -> amva_report::LinePlot {
    use amva_report::{LinePlot, Series, Styled};
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
