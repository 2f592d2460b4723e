//! The report's section on categorical groups (`--groups`): per-label statistics and
//! test, D-AM-V of every pair, and the labels crossed with quality. Drawn from
//! [`amva_analysis::labels::LabelResults`]; every number is in labels*.csv.

use amva_draw::{Grid, HeatStyled, Outline, Styled, Table};

use amva_analysis::compare::{max_of, to_f32};
use amva_analysis::files;
use amva_analysis::labels::{LabelInput, LabelResults};
use amva_analysis::Analysis;

use crate::page::{table_row, Page};
use crate::{ReportError, Result};

/// The section's tables and figure.
pub(crate) fn labels_part(
    analysis: &Analysis,
    input: &LabelInput,
    r: &LabelResults,
    outline: &Outline,
    page: &mut Page<'_>,
) -> Result<()> {
    page.para(format!(
        "Groups from {}: {} labels with at least two maps. Each label is tested against the rest of the labelled images: the permutation test of ALGORITHMS 4 with the label in place of the low group (one-sided: does the label vary more outside the face region?).",
        input.path.display(),
        input.labels.len()
    ));
    let mut t = Table::new([
        "label",
        "images",
        "MAM inside",
        "MAM outside",
        "AM-V inside",
        "AM-V outside",
        "outside AM-V: label - rest",
        "p (label > rest)",
    ])
    .caption("Per label.")
    .source(files::LABELS_CSV, "");
    for (l, s) in input.labels.iter().zip(&r.labels) {
        let test = s.vs_rest.as_ref();
        t = table_row(
            t,
            vec![
                l.name.clone().into(),
                l.rows.len().into(),
                s.mam_region.inside.into(),
                s.mam_region.outside.into(),
                s.amv_region.inside.into(),
                s.amv_region.outside.into(),
                test.map_or("not run".into(), |t| t.observed.into()),
                test.map_or("not run".into(), |t| t.p_value.into()),
            ],
        )?;
    }
    page.table(t);
    for (l, n) in &input.too_small {
        page.para(format!(
            "Label '{l}' has {n} image(s) with a map: left out (AM-V needs two)."
        ));
    }
    page.figure(
        "labels_amv",
        "MAM and AM-V of each label (one row per label).",
        &grid(analysis, input, r, outline)?,
    )?;
    if !r.pairs.is_empty() {
        let mut t = Table::new(["label A", "label B", "D-AM-V inside", "D-AM-V outside"])
            .caption("D-AM-V = |AM-V A - AM-V B| of every pair of labels, region means.")
            .source(files::LABELS_PAIRS_CSV, "");
        for p in &r.pairs {
            t = table_row(
                t,
                vec![
                    input.labels[p.a].name.clone().into(),
                    input.labels[p.b].name.clone().into(),
                    p.region.inside.into(),
                    p.region.outside.into(),
                ],
            )?;
        }
        page.table(t);
    }
    let mut t = Table::new([
        "method",
        "label",
        "images in high",
        "images in low",
        "outside AM-V high",
        "outside AM-V low",
    ])
    .caption("Each label within each method's high and low quality group (empty: fewer than two images).")
    .source(files::LABELS_CROSSED_CSV, "");
    for c in &r.crossed {
        let cell = |x: Option<f64>| x.map_or("".into(), Into::into);
        t = table_row(
            t,
            vec![
                analysis.plan.groups[c.method].name.clone().into(),
                input.labels[c.label].name.clone().into(),
                c.n.0.into(),
                c.n.1.into(),
                cell(c.outside_amv.0),
                cell(c.outside_amv.1),
            ],
        )?;
    }
    page.table(t);
    if let Some(v) = &analysis.label_verification {
        verification_part(input, v, page)?;
    }
    Ok(())
}

/// Recognition per label at one global threshold per target FMR, and the FDR.
fn verification_part(
    input: &LabelInput,
    v: &amva_analysis::labels::LabelVerification,
    page: &mut Page<'_>,
) -> Result<()> {
    let mut t = Table::new(["target FMR", "threshold", "FDR (a = 0.5)"])
        .caption("Fairness Discrepancy Rate: 1 - (0.5 max |FMR_i - FMR_j| + 0.5 max |FNMR_i - FNMR_j|) over the labels with mated and non-mated comparisons, at one threshold fixed over all comparisons (1 = equal rates; empty: fewer than two such labels).")
        .source(files::LABELS_FDR_CSV, "");
    for (target, fdr) in &v.fdr {
        t = table_row(
            t,
            vec![
                (*target).into(),
                v.threshold(*target).into(),
                fdr.map_or("".into(), Into::into),
            ],
        )?;
    }
    page.table(t);
    let mut t = Table::new(["label", "target FMR", "mated", "non-mated", "FNMR", "FMR"])
        .caption("Per label, over comparisons whose two images both carry it; (cross): images with different labels. FNMR and FMR at the global threshold of each target FMR.")
        .source(files::LABELS_VERIFICATION_CSV, "");
    for r in &v.rows {
        let name = r
            .label
            .map_or("(cross)".to_string(), |l| input.labels[l].name.clone());
        t = table_row(
            t,
            vec![
                name.into(),
                r.fmr_target.into(),
                r.mated.into(),
                r.non_mated.into(),
                r.fnmr.into(),
                r.fmr.into(),
            ],
        )?;
    }
    page.table(t);
    Ok(())
}

fn grid(
    analysis: &Analysis,
    input: &LabelInput,
    r: &LabelResults,
    outline: &Outline,
) -> Result<amva_draw::RgbImage> {
    let (h, w) = analysis.plan.geometry.shape;
    let err = || ReportError::draw("labels grid");
    let amv_max = r
        .labels
        .iter()
        .map(|s| max_of(&s.stats.std))
        .fold(1e-12, f64::max);
    let names = input
        .labels
        .iter()
        .map(|l| format!("{} (n = {})", l.name, l.rows.len()));
    let mut mam = Grid::new(r.labels.len(), 1)
        .map_err(err())?
        .title("MAM per label")
        .row_labels(names.clone())
        .col_titles(["MAM"])
        .colorbar_label("MAM (0-1: 1 = strongest pixel of each map)")
        .range(0.0, 1.0)
        .outline(outline.clone())
        .cell_size(150);
    let mut amv = Grid::new(r.labels.len(), 1)
        .map_err(err())?
        .title("AM-V per label")
        .row_labels(names)
        .col_titles(["AM-V"])
        .colorbar_label("AM-V (0-1 activation units)")
        .range(0.0, amv_max as f32)
        .outline(outline.clone())
        .cell_size(150);
    for (i, s) in r.labels.iter().enumerate() {
        mam = mam.cell(i, 0, to_f32(&s.stats.mean), h, w).map_err(err())?;
        amv = amv.cell(i, 0, to_f32(&s.stats.std), h, w).map_err(err())?;
    }
    Ok(amva_draw::side_by_side(&[
        mam.render().map_err(err())?,
        amv.render().map_err(err())?,
    ]))
}
