//! What the audit shows (`amva audit`): audit.html with its figures, and the verdict box
//! that report.html shows for maps an audit has checked (`amva analyze --audit DIR`).

use std::path::{Path, PathBuf};

use amva_analysis::audit::{AuditRecord, Audited, MethodVerdict, EQUIVALENT, INDEPENDENT};
use amva_draw::{Cell, Grid, HeatStyled, LinePlot, Report, Series, Styled, Table, TAB10};
use image::RgbImage;

use crate::{ReportError, Result};

/// The page of an audit.
pub const AUDIT_PAGE: &str = "audit.html";
/// The figures of an audit, in `figures/`.
pub const RANDOMISATION_FIGURE: &str = "figures/randomisation_{method}.png";
pub const CASCADE_FIGURE: &str = "figures/cascade_maps.png";
pub const FAITHFULNESS_FIGURE: &str = "figures/faithfulness.png";

fn randomisation_figure(method: &str) -> String {
    RANDOMISATION_FIGURE.replace("{method}", &amva_analysis::keys::file_stem(method))
}

/// Draws every figure of the audit and writes audit.html (last) into `out`.
pub fn write_audit_page(out: &Path, a: &Audited) -> Result<PathBuf> {
    let figures = out.join("figures");
    std::fs::create_dir_all(&figures).map_err(|e| ReportError::file(&figures, e))?;
    let r = &a.record;
    let mut page = Report::new(format!("Map audit: {}", r.model.display()));
    parameters(&mut page, r);
    verdict_section(&mut page, r)?;
    methods_section(&mut page, r)?;
    equivalence_section(&mut page, r)?;
    randomisation_section(&mut page, out, a)?;
    faithfulness_section(&mut page, out, a)?;
    analysis_section(&mut page, r)?;
    page.section("What these checks can and cannot say");
    page.paragraph("A map that passes every check can still mislead: the checks say how much the maps depend on the trained weights, how alike the methods are and how well the maps rank the pixels the embedding needs, not that a map shows the reason for a quality score. docs/trust.md explains each check and its limits. Every number on this page is in audit.json; the maps are in maps/<method>/ (map stores that amva analyze reads), the faithfulness tables in faithfulness/, the analyses of --scores in analysis/<method>/.");
    let path = out.join(AUDIT_PAGE);
    page.write(&path).map_err(ReportError::draw(AUDIT_PAGE))?;
    Ok(path)
}

fn parameters(page: &mut Report, r: &AuditRecord) {
    page.param("model", r.model.display().to_string())
        .param("model sha256", r.model_sha256.clone())
        .param("target layer", r.layer.clone())
        .param("engine", r.engine.clone())
        .param(
            "images",
            format!(
                "{} ({} audited, {} unreadable)",
                r.images.display(),
                r.count,
                r.failed.len()
            ),
        )
        .param("seed", r.seed.to_string())
        .param("run time", format!("{:.1} s", r.seconds));
}

fn verdict_section(page: &mut Report, r: &AuditRecord) -> Result<()> {
    let rec = &r.recommendation;
    page.section("Verdict");
    let name = |o: &Option<String>| o.clone().unwrap_or_else(|| "none".into());
    page.paragraph(format!(
        "Cheapest method equivalent to Score-CAM: {}. Method that depends most on the model's decision (among those that beat the random map): {}. They {}.",
        name(&rec.cheapest_equivalent),
        name(&rec.most_decision_dependent),
        if rec.coincide { "coincide" } else { "do not coincide" }
    ));
    for n in &rec.notes {
        page.paragraph(n.clone());
    }
    page.paragraph(format!("Rule: {}.", rec.rule));
    Ok(())
}

fn methods_section(page: &mut Report, r: &AuditRecord) -> Result<()> {
    page.section("Methods");
    let mut t = Table::new([
        "method",
        "passes per image",
        "Spearman to trained after step 1 (median)",
        "decision independent",
        "deletion (lower better)",
        "insertion (higher better)",
        "beats random",
    ])
    .caption(format!("Decision independent: median step-1 Spearman above {INDEPENDENT}. Deletion and insertion: mean with its 95 % bootstrap interval."));
    for m in &r.methods {
        t = t
            .row(vec![
                m.method.as_str().into(),
                m.passes_per_image.into(),
                m.step1_spearman_median.into(),
                yes_no(m.decision_independent),
                interval(&m.deletion),
                interval(&m.insertion),
                yes_no(m.beats_random),
            ])
            .map_err(ReportError::draw("methods table"))?;
    }
    page.table(t);
    Ok(())
}

fn yes_no(b: bool) -> Cell {
    if b {
        Cell::Strong("yes".into())
    } else {
        "no".into()
    }
}

fn interval(i: &amva_maps::study::IntervalRecord) -> Cell {
    format!("{:.4} [{:.4}, {:.4}]", i.mean, i.lo, i.hi).into()
}

fn equivalence_section(page: &mut Report, r: &AuditRecord) -> Result<()> {
    page.section("Equivalence");
    page.paragraph(format!("Spearman correlation of the finished maps of two methods, image by image: the median and the 5th percentile over the images. Two methods count as equivalent at a median of {EQUIVALENT} or more."));
    let mut t = Table::new([
        "a",
        "b",
        "Spearman median",
        "Spearman 5th percentile",
        "passes a",
        "passes b",
    ]);
    for e in &r.equivalence {
        t = t
            .row(vec![
                e.a.as_str().into(),
                e.b.as_str().into(),
                e.spearman_median.into(),
                e.spearman_p5.into(),
                e.passes_a.into(),
                e.passes_b.into(),
            ])
            .map_err(ReportError::draw("equivalence table"))?;
    }
    page.table(t);
    Ok(())
}

fn randomisation_section(page: &mut Report, out: &Path, a: &Audited) -> Result<()> {
    let r = &a.record;
    page.section("Cascading model randomisation");
    page.paragraph("Step 1 replaces the weights of the head (the layers after the target layer) by Gaussian values with each tensor's own standard deviation; each further step also randomises a share of the layers before the target, from the top down to the input, in shares of equal weight count. Each line is a method's maps at that step compared with the trained model's (median over the images). A map that stays the same while the model's weights are random does not show what the trained model decides.");
    let mut t = Table::new([
        "step",
        "nodes",
        "weights",
        "share of weights random",
        "output cosine to trained (median)",
    ]);
    for s in &r.cascade {
        let cos = r
            .randomisation
            .iter()
            .find(|x| x.step == s.step)
            .map(|x| x.output_cosine_median);
        t = t
            .row(vec![
                s.step.into(),
                s.nodes.into(),
                s.weights.into(),
                s.cumulative_share.into(),
                cos.into(),
            ])
            .map_err(ReportError::draw("cascade table"))?;
    }
    page.table(t);
    for m in &r.methods {
        let img = randomisation_plot(r, &m.method)?;
        let rel = randomisation_figure(&m.method);
        amva_draw::write_png_atomic(out.join(&rel), &img)
            .map_err(ReportError::draw(rel.clone()))?;
        page.figure(
            &img,
            format!(
                "{}: similarity of the maps to the trained model's at each step ({rel})",
                m.method
            ),
        )
        .map_err(ReportError::draw(rel))?;
    }
    let grid = cascade_grid(a)?;
    amva_draw::write_png_atomic(out.join(CASCADE_FIGURE), &grid)
        .map_err(ReportError::draw(CASCADE_FIGURE))?;
    page.figure(
        &grid,
        format!(
            "The maps of the first audited image, {}, at each step ({CASCADE_FIGURE})",
            a.audit.ids[0]
        ),
    )
    .map_err(ReportError::draw(CASCADE_FIGURE))?;
    Ok(())
}

/// Spearman, SSIM and HOG Pearson of one method's maps against the trained ones, by step.
fn randomisation_plot(r: &AuditRecord, method: &str) -> Result<RgbImage> {
    let rows: Vec<_> = r
        .randomisation
        .iter()
        .filter(|x| x.method == method)
        .collect();
    let line = |name: &str,
                f: &dyn Fn(&amva_analysis::audit::RandomisationRecord) -> Option<f64>,
                c: usize| {
        let mut pts = vec![(0.0, 1.0)];
        pts.extend(rows.iter().filter_map(|x| f(x).map(|v| (x.step as f64, v))));
        Series::line(name, pts).color(TAB10[c])
    };
    let steps = r.cascade.len() as f64;
    LinePlot::new(format!(
        "{method}: maps of the randomised model against the trained model's"
    ))
    .axis_labels(
        "randomisation step (0 = trained, 1 = head, then down to the input)",
        "similarity to the trained model's maps (median)",
    )
    .x_range(0.0, steps)
    .y_range(-0.2, 1.02)
    .size(760, 520)
    .series(line("Spearman rank correlation", &|x| x.spearman_median, 0))
    .series(line("SSIM", &|x| x.ssim_median, 1))
    .series(line("HOG Pearson", &|x| x.hog_pearson_median, 2))
    .render()
    .map_err(ReportError::draw(format!("randomisation plot of {method}")))
}

/// Rows: methods; columns: the trained model, then each step.
fn cascade_grid(a: &Audited) -> Result<RgbImage> {
    let audit = &a.audit;
    let steps = audit.cascade.steps.len();
    let (h, w) = audit.full_shape;
    let mut titles = vec!["trained".to_string()];
    titles.extend((1..=steps).map(|s| format!("step {s}")));
    let mut grid = Grid::new(audit.methods.len(), 1 + steps)
        .map_err(ReportError::draw(CASCADE_FIGURE))?
        .title(format!(
            "Maps of {} as the model is randomised step by step",
            audit.ids[0]
        ))
        .row_labels(audit.methods.iter().map(|m| m.name.clone()))
        .col_titles(titles)
        .colorbar_label("map value (0-1, min-max per map)")
        .range(0.0, 1.0);
    for (mi, _) in audit.methods.iter().enumerate() {
        grid = grid
            .cell(mi, 0, audit.trained.full[mi][0].clone(), h, w)
            .map_err(ReportError::draw(CASCADE_FIGURE))?;
        for s in 1..=steps {
            let map = audit.example(s, mi).to_vec();
            grid = grid
                .cell(mi, s, map, h, w)
                .map_err(ReportError::draw(CASCADE_FIGURE))?;
        }
    }
    grid.render().map_err(ReportError::draw(CASCADE_FIGURE))
}

fn faithfulness_section(page: &mut Report, out: &Path, a: &Audited) -> Result<()> {
    page.section("Faithfulness");
    page.paragraph("Deletion and insertion (ALGORITHMS 1.4) of every method's maps of the trained model and of a seeded uniform random map, which every method must beat. Per image in faithfulness/per_image.csv, means and intervals in faithfulness/summary.csv.");
    let img = a
        .audit
        .faithfulness
        .figure()
        .map_err(ReportError::draw(FAITHFULNESS_FIGURE))?;
    amva_draw::write_png_atomic(out.join(FAITHFULNESS_FIGURE), &img)
        .map_err(ReportError::draw(FAITHFULNESS_FIGURE))?;
    page.figure(
        &img,
        format!("Mean deletion and insertion curves ({FAITHFULNESS_FIGURE})"),
    )
    .map_err(ReportError::draw(FAITHFULNESS_FIGURE))?;
    Ok(())
}

fn analysis_section(page: &mut Report, r: &AuditRecord) -> Result<()> {
    page.section("Analysis agreement");
    let Some(ag) = &r.analysis else {
        page.paragraph("No score file was given (--scores): the AMVA finding was not compared across map methods.");
        return Ok(());
    };
    page.paragraph("The AMVA finding of each FIQA method with each map method's maps: outside-region AM-V of the low group minus the high group, its one-sided permutation p-value, and the verdict (holds: positive with p < 0.05; reversed: the opposite one-sided test has p < 0.05; else not significant).");
    let mut t = Table::new([
        "FIQA method",
        "map method",
        "high",
        "low",
        "outside AM-V low - high",
        "p",
        "p (reversed)",
        "verdict",
    ]);
    for f in &ag.findings {
        t = t
            .row(vec![
                f.fiqa.as_str().into(),
                f.map_method.as_str().into(),
                f.high.into(),
                f.low.into(),
                f.outside_amv_low_minus_high.into(),
                f.p_value.into(),
                f.p_value_reversed.into(),
                f.verdict.to_string().into(),
            ])
            .map_err(ReportError::draw("findings table"))?;
    }
    page.table(t);
    let mut t = Table::new(["FIQA method", "a", "b", "Spearman of the D-AM-V maps"]);
    for d in &ag.damv {
        t = t
            .row(vec![
                d.fiqa.as_str().into(),
                d.a.as_str().into(),
                d.b.as_str().into(),
                d.spearman.into(),
            ])
            .map_err(ReportError::draw("D-AM-V agreement table"))?;
    }
    page.table(t);
    Ok(())
}

/// The audit's verdict on maps of `method`, for report.html (`amva analyze --audit`):
/// one paragraph, or why the audit does not apply.
pub fn verdict_text(
    record: &AuditRecord,
    method: &str,
    model_sha256: Option<&str>,
) -> std::result::Result<String, String> {
    if let Some(sha) = model_sha256 {
        if sha != record.model_sha256 {
            return Err(format!(
                "the audit is of another model (sha256 {}), the maps of sha256 {sha}",
                record.model_sha256
            ));
        }
    }
    let m: &MethodVerdict = record
        .method(method)
        .ok_or_else(|| format!("the audit did not include the map method '{method}'"))?;
    let dep = match m.step1_spearman_median {
        Some(s) if m.decision_independent => format!("barely depend on the model's decision: randomising the head leaves them at a median Spearman of {s:.3} with the trained model's maps"),
        Some(s) => format!("depend on the model's decision: randomising the head moves them to a median Spearman of {s:.3} with the trained model's maps"),
        None => "could not be compared after randomising the head".into(),
    };
    let rec = &record.recommendation;
    let cheaper = match &rec.cheapest_equivalent {
        Some(c) if c != method => {
            format!(" The audit found {c} equivalent to Score-CAM at a fraction of the cost.")
        }
        _ => String::new(),
    };
    Ok(format!(
        "Map audit of {} ({} images): the {method} maps {dep}; they {} the random map on deletion and insertion.{cheaper} Most decision-dependent method: {}.",
        record.model.display(),
        record.count,
        if m.beats_random { "beat" } else { "do not beat" },
        rec.most_decision_dependent.as_deref().unwrap_or("none")
    ))
}
