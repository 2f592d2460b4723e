//! The report's first section, the answer first: the key-findings table (one row per
//! FIQA method, each cell a link to the section it comes from, the verdict rule under
//! it), the summary figure (`figures/summary.png`: per method the high and low AM-V maps
//! and their difference, with the p-value), the agreement of the methods and, with
//! `--groups`, the labels that stand out. Numbers from
//! [`amva_analysis::findings::key_findings`], as summary.json holds them.

use amva_analysis::compare::to_f32;
use amva_analysis::files;
use amva_analysis::summary::{KeyFinding, KeyFindings};
use amva_analysis::verdict::Verdict;
use amva_analysis::Analysis;
use amva_draw::{Cell, Colormap, Grid, Outline, RgbImage, Table};
use amva_draw::{HeatStyled, Styled};

use crate::page::{table_row, Page};
use crate::{ReportError, Result};

/// The anchor of the key-findings section.
pub const KEY_FINDINGS: &str = "key-findings";
/// The anchor of the EDC section.
pub const EDC: &str = "edc";
/// The anchor of the across-methods section.
pub const ACROSS: &str = "across";
/// The anchor of the categorical-groups section.
pub const LABELS: &str = "labels";

/// The anchor of the section of the method with key `key`.
pub fn method_anchor(key: &str) -> String {
    format!("method-{key}")
}

/// The summary figure's width in pixels of one map (print resolution: a 3-column row
/// of maps about 17 cm wide at 300 dpi).
const SUMMARY_CELL: u32 = 560;

/// Every part of the key-findings section.
pub(crate) fn key_findings_part(
    analysis: &Analysis,
    k: &KeyFindings,
    outline: &Outline,
    page: &mut Page<'_>,
) -> Result<()> {
    page.para("Does each FIQA method's low-quality group vary more outside the central face region than its high-quality group, how sure is that, and does the method help recognition? One row per method; every cell links to the section it comes from.");
    page.table(findings_table(k)?);
    page.para(format!("{} Verdict rule: {}", how_to_read(k), k.rule));
    page.figure(
        "summary",
        "Per FIQA method: the AM-V of the high and the low quality group on one colour range, and the per-pixel difference low - high (red: the low group varies more), with the permutation test's p-value and verdict.",
        &summary_figure(analysis, k, outline)?,
    )?;
    if analysis.plan.groups.len() >= 2 {
        page.table(agreement_table(analysis, k)?);
    }
    if let Some(l) = &analysis.labels {
        page.table(label_highlights(analysis, l)?);
    }
    Ok(())
}

/// The key-findings table.
fn findings_table(k: &KeyFindings) -> Result<Table> {
    let edc = k.methods.iter().any(|m| m.pauc_ratio_to_random.is_some());
    let ci = k.methods.iter().any(|m| m.pauc_ratio_ci95.is_some());
    let fails = k.threshold.is_some();
    let mut header = vec![
        "method",
        "verdict",
        "high",
        "low",
        "outside AM-V high",
        "outside AM-V low",
        "low - high",
        "p (low > high)",
        "p (high > low)",
        "D-AM-V outside / inside",
    ];
    if edc {
        header.push("EDC pAUC / random");
    }
    if ci {
        header.extend(["95 % CI low", "95 % CI high"]);
    }
    if fails {
        header.extend(["false non-matches", "with a low-group image"]);
    }
    let mut t = Table::new(header)
        .caption("Key findings, one row per FIQA method.")
        .source(files::SUMMARY, "key_findings");
    for m in &k.methods {
        t = table_row(t, row(m, edc, ci, fails))?;
    }
    Ok(t)
}

/// What the columns of the key-findings table are.
fn how_to_read(k: &KeyFindings) -> String {
    let mut c = String::from("High and low: images in each group. Outside AM-V: the group's mean AM-V outside the central face region; low - high is the permutation test's statistic and p its one-sided p-values. D-AM-V = |AM-V high - AM-V low|, its mean outside over inside the region.");
    if k.methods.iter().any(|m| m.pauc_ratio_to_random.is_some()) {
        c += " EDC pAUC / random below 1: discarding by this method's quality lowers the FNMR faster than at random.";
    }
    if let Some(t) = k.threshold {
        c += &format!(" False non-matches at the EDC's threshold {t:.4}, and of them those with an image in the method's low group.");
    }
    c
}

fn row(m: &KeyFinding, edc: bool, ci: bool, fails: bool) -> Vec<Cell> {
    let sec = format!("#{}", method_anchor(&m.key));
    let num = |x: Option<f64>, href: &str| Cell::from(x).link(href);
    let mut cells = vec![
        Cell::from(m.method.clone()).link(&sec),
        Cell::Strong(verdict_text(m)).link(&sec),
        Cell::from(m.high).link(&sec),
        Cell::from(m.low).link(&sec),
        Cell::from(m.outside_amv_high).link(&sec),
        Cell::from(m.outside_amv_low).link(&sec),
        Cell::from(m.difference).link(&sec),
        num(m.p_value, &sec),
        num(m.p_reversed, &sec),
        Cell::from(m.damv_outside_inside).link(&sec),
    ];
    let edc_href = format!("#{EDC}");
    if edc {
        cells.push(num(m.pauc_ratio_to_random, &edc_href));
    }
    if ci {
        let (lo, hi) = m
            .pauc_ratio_ci95
            .map_or((None, None), |[l, h]| (Some(l), Some(h)));
        cells.extend([num(lo, &edc_href), num(hi, &edc_href)]);
    }
    if fails {
        cells.push(Cell::from(m.false_non_matches).link(&edc_href));
        cells.push(Cell::from(m.false_non_matches_low).link(&edc_href));
    }
    cells
}

/// The verdict as the table shows it.
pub fn verdict_text(m: &KeyFinding) -> String {
    m.verdict
        .map_or_else(|| "not tested".to_string(), |v| v.to_string())
}

/// Per method: AM-V high and low on one range, and low - high on a diverging scale.
fn summary_figure(analysis: &Analysis, k: &KeyFindings, outline: &Outline) -> Result<RgbImage> {
    let (h, w) = analysis.plan.geometry.shape;
    let rows = analysis.methods.len();
    let err = || ReportError::draw("summary figure");
    let labels: Vec<String> = k
        .methods
        .iter()
        .map(|m| match m.p_value {
            Some(p) => format!(
                "{}: p = {}, {}",
                m.method,
                crate::page::fmt(p),
                verdict_text(m)
            ),
            None => format!("{}: not tested", m.method),
        })
        .collect();
    let diffs: Vec<Vec<f64>> = analysis
        .methods
        .iter()
        .map(|r| {
            let (hs, ls) = (
                &r.comparison.high().stats.std,
                &r.comparison.low().stats.std,
            );
            ls.iter().zip(hs).map(|(l, h)| l - h).collect()
        })
        .collect();
    let amv_max = analysis
        .methods
        .iter()
        .flat_map(|r| {
            [
                &r.comparison.high().stats.std,
                &r.comparison.low().stats.std,
            ]
        })
        .flat_map(|v| v.iter().copied())
        .fold(1e-12, f64::max);
    let d_max = diffs
        .iter()
        .flatten()
        .map(|d| d.abs())
        .fold(1e-12, f64::max);
    let mut amv = Grid::new(rows, 2)
        .map_err(err())?
        .title("AM-V of the high and low quality groups")
        .row_labels(labels.clone())
        .col_titles(["AM-V high", "AM-V low"])
        .colorbar_label("AM-V (std of the 0-1 normalised activation)")
        .range(0.0, amv_max as f32)
        .outline(outline.clone())
        .cell_size(SUMMARY_CELL);
    let mut diff = Grid::new(rows, 1)
        .map_err(err())?
        .title("Low minus high")
        .row_labels(labels)
        .col_titles(["AM-V low - AM-V high"])
        .colorbar_label("AM-V low - AM-V high (AM-V units; red: low varies more)")
        .range(-d_max as f32, d_max as f32)
        .colormap(Colormap::RdBuR)
        .outline(outline.clone())
        .cell_size(SUMMARY_CELL);
    for (r, (m, d)) in analysis.methods.iter().zip(&diffs).enumerate() {
        let c = &m.comparison;
        for (col, v) in [&c.high().stats.std, &c.low().stats.std]
            .into_iter()
            .enumerate()
        {
            amv = amv.cell(r, col, to_f32(v), h, w).map_err(err())?;
        }
        diff = diff.cell(r, 0, to_f32(d), h, w).map_err(err())?;
    }
    Ok(amva_draw::side_by_side(&[
        amv.render().map_err(err())?,
        diff.render().map_err(err())?,
    ]))
}

/// Each pair of methods: how alike their scores and low groups are, and whether their
/// verdicts agree.
fn agreement_table(analysis: &Analysis, k: &KeyFindings) -> Result<Table> {
    let a = &analysis.across;
    let verdict = |name: &str| -> Option<Verdict> {
        k.methods
            .iter()
            .find(|m| m.method == name)
            .and_then(|m| m.verdict)
    };
    let mut t = Table::new([
        "method A",
        "method B",
        "Spearman of the scores",
        "Jaccard of the low groups",
        "same verdict",
    ])
    .caption("Do the methods agree? Spearman of their direction-corrected scores over the images both scored, and the Jaccard index of their low groups.")
    .source(files::SUMMARY, "across_methods");
    let href = format!("#{ACROSS}");
    for (sp, jl) in a.spearman.iter().zip(&a.jaccard_low) {
        let same = match (verdict(&sp.a), verdict(&sp.b)) {
            (Some(x), Some(y)) => {
                if x == y {
                    "yes"
                } else {
                    "no"
                }
            }
            _ => "not tested",
        };
        t = table_row(
            t,
            vec![
                Cell::from(sp.a.clone()).link(&href),
                Cell::from(sp.b.clone()).link(&href),
                Cell::from(sp.spearman).link(&href),
                Cell::from(jl.jaccard).link(&href),
                same.into(),
            ],
        )?;
    }
    Ok(t)
}

/// The labels whose images vary most outside the face region against the rest, lowest
/// p-value first.
fn label_highlights(analysis: &Analysis, l: &amva_analysis::labels::LabelResults) -> Result<Table> {
    let Some(input) = &analysis.plan.labels else {
        return Ok(Table::new(["label"]));
    };
    let mut order: Vec<usize> = (0..l.labels.len()).collect();
    let p = |i: usize| {
        l.labels[i]
            .vs_rest
            .as_ref()
            .map_or(f64::INFINITY, |t| t.p_value)
    };
    order.sort_by(|&a, &b| p(a).total_cmp(&p(b)));
    let mut t = Table::new([
        "label",
        "images",
        "outside AM-V",
        "outside AM-V: label - rest",
        "p (label > rest)",
    ])
    .caption("Labels (--groups) that vary most outside the central face region against the rest of the labelled images, lowest p-value first (at most 5).")
    .source(files::LABELS_CSV, "");
    let href = format!("#{LABELS}");
    for i in order.into_iter().take(5) {
        let s = &l.labels[i];
        let test = s.vs_rest.as_ref();
        t = table_row(
            t,
            vec![
                Cell::from(input.labels[i].name.clone()).link(&href),
                Cell::from(input.labels[i].rows.len()).link(&href),
                Cell::from(s.amv_region.outside).link(&href),
                Cell::from(test.map(|t| t.observed)).link(&href),
                Cell::from(test.map(|t| t.p_value)).link(&href),
            ],
        )?;
    }
    Ok(t)
}
