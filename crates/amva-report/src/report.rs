//! The report of a run, rendered from the typed results in memory: the parameters, the
//! data, one section per method ([`crate::method`]), the agreement across methods,
//! extra sections from the caller ([`ReportSection`]) and the file list.

use amva_analysis::compare::{max_of, to_f32};
use amva_analysis::summary::KeyFindings;
use amva_analysis::{files, Analysis, AnalyzeOptions};
use amva_draw::{Grid, Outline, Report, RgbImage, Table};
use amva_draw::{HeatStyled, Styled};
use amva_maps::source::MapKind;

use crate::figures::Figures;
use crate::findings::{method_anchor, ACROSS, EDC, KEY_FINDINGS, LABELS};
use crate::gallery::{self, GalleryImages};
use crate::page::{table_row, Block, Item, Page, ReportSection};
use crate::{ReportError, Result};

/// What the report shows beyond the analysis' numbers.
#[derive(Debug, Clone)]
pub struct ReportOptions {
    /// Draw figures, report.html and the explorer (off for benchmarks: numbers only).
    pub figures: bool,
    /// Images in each gallery of the report (best, worst, disagreements); 0: none.
    pub gallery: usize,
    /// Extra report sections from the caller, after the methods (see [`ReportSection`]).
    pub sections: Vec<ReportSection>,
    /// The map audit of these maps (`amva analyze --audit DIR`): its folder and record.
    pub audit: Option<(std::path::PathBuf, amva_analysis::audit::AuditRecord)>,
    /// Embed every figure in report.html (one self-contained file) instead of
    /// referencing figures/*.png beside it.
    pub single_file: bool,
}

impl Default for ReportOptions {
    /// Figures on (referenced, not embedded), galleries of
    /// [`crate::gallery::DEFAULT_GALLERY`], no extra section.
    fn default() -> Self {
        ReportOptions {
            figures: true,
            gallery: crate::gallery::DEFAULT_GALLERY,
            sections: Vec::new(),
            audit: None,
            single_file: false,
        }
    }
}

/// Renders every figure and the report of `analysis` (nothing is written).
pub fn render(
    analysis: &Analysis,
    opts: &AnalyzeOptions,
    shown: &ReportOptions,
) -> Result<(Figures, Report)> {
    let plan = &analysis.plan;
    let (h, w) = plan.geometry.shape;
    let outline = Outline::new(
        plan.geometry.inside.clone(),
        h,
        w,
        format!(
            "central face region (landmark hull + {} px)",
            opts.region_margin
        ),
    )
    .map_err(ReportError::draw("region outline"))?;
    let mut figs = Figures::new();
    let mut page = Page {
        figs: &mut figs,
        blocks: Vec::new(),
    };
    let findings = amva_analysis::findings::key_findings(analysis);
    crate::findings::key_findings_part(analysis, &findings, &outline, &mut page)?;
    let key_findings = page.take();
    let mut sections: Vec<(String, String, Vec<Block>)> = Vec::new();
    let k = shown.gallery;
    let gallery = GalleryImages::read(analysis, k)?;
    for mi in 0..plan.groups.len() {
        let m = crate::method::MethodView::new(analysis, mi, &outline, opts);
        m.render(&mut page)?;
        if k > 0 {
            gallery::method_gallery(analysis, &gallery, mi, k, &mut page)?;
        }
        let title = format!(
            "Method {} ({})",
            m.name,
            plan.groups[mi].direction.describe()
        );
        sections.push((title, method_anchor(&plan.keys[mi]), page.take()));
    }
    across_part(analysis, &outline, &mut page)?;
    if k > 0 {
        gallery::disagreement_gallery(analysis, &gallery, k, &mut page)?;
    }
    let across = page.take();
    if let Some(e) = &analysis.edc {
        edc_part(&e.report, &mut page)?;
        if analysis.failures.is_some() {
            failures_part(&findings, &mut page)?;
            if let Some(dir) = opts.edc.as_ref().and_then(|e| e.pair_maps.as_ref()) {
                crate::pair::failing_gallery(analysis, opts, dir, k, &mut page)?;
            }
        }
        sections.push(("Recognition utility (EDC)".into(), EDC.into(), page.take()));
    }
    if let (Some(input), Some(r)) = (&plan.labels, &analysis.labels) {
        crate::labels::labels_part(analysis, input, r, &outline, &mut page)?;
        sections.push((
            "Categorical groups (--groups)".into(),
            LABELS.into(),
            page.take(),
        ));
    }
    sections.push(("Across methods".into(), ACROSS.into(), across));
    for (i, s) in shown.sections.iter().enumerate() {
        extra_section(s, &mut page)?;
        sections.push((s.title.clone(), format!("extra-{}", i + 1), page.take()));
    }
    let title = plan
        .groups
        .iter()
        .map(|g| g.name.as_str())
        .collect::<Vec<_>>();
    let mut report = Report::new(format!("amva analyze: {}", title.join(", ")));
    let single = shown.single_file;
    report.section_id("Key findings", KEY_FINDINGS);
    emit(&mut report, key_findings, &figs, single)?;
    if let Some((dir, record)) = &shown.audit {
        audit_box(&mut report, dir, record, plan.source.info());
    }
    report.front_here();
    front_matter(analysis, opts, &mut report)?;
    for (title, id, blocks) in sections {
        report.section_id(title, id);
        emit(&mut report, blocks, &figs, single)?;
    }
    report.section("Files");
    report.code(
        "summary.json      the key findings and every number of the tables that name it\n\
         figures/*.png     every figure\n\
         arrays/**/*.npy   every map, curve and permutation value (float32; np.load)\n\
         groups/*.csv      image,row,score,groups of each method\n\
         images.csv        every image: typicality, each method's score, rank, groups, deviations\n\
         unmatched.csv     ids without a partner, excluded scores\n\
         explorer.html     every image in one table (scripts and sprite sheets in explorer/)\n\
         labels*.csv       with --groups: per label, pairs of labels, labels x quality\n\
         edc/              with --pairs: the files of `amva edc` (pauc.csv, curves.csv, edc.json)\n\
         failures.csv      with --pairs: comparisons failing at the EDC's threshold, by quality groups\n\
         labels_verification.csv, labels_fdr.csv  with --groups and --pairs: recognition per label, FDR\n\
         maps_meta.json    the maps' meta.json (model, method, parameters), for `amva explain`",
    );
    Ok((figs, report))
}

/// Comparisons failing at the EDC's threshold, per method by the groups of their images.
fn failures_part(k: &KeyFindings, page: &mut Page<'_>) -> Result<()> {
    let mut t = Table::new([
        "method",
        "false non-matches",
        "with an image in the low group",
        "share",
        "false matches",
    ])
    .caption(format!(
        "Comparisons failing at the EDC's threshold {:.4} (a comparison matches when its similarity is above it), by the quality groups of their two images (high, low, both, middle: scored but in neither, unscored); the counts by group pair are in {}.",
        k.threshold.unwrap_or(f64::NAN),
        amva_analysis::files::FAILURES_CSV
    ))
    .source(files::SUMMARY, "key_findings");
    for m in &k.methods {
        t = table_row(
            t,
            vec![
                m.method.clone().into(),
                m.false_non_matches.into(),
                m.false_non_matches_low.into(),
                m.false_non_matches_low_share.into(),
                m.false_matches.into(),
            ],
        )?;
    }
    page.table(t);
    Ok(())
}

/// The EDC of every method: the figure and the pAUC table of `amva edc`.
fn edc_part(r: &amva_quality::EdcReport, page: &mut Page<'_>) -> Result<()> {
    page.para(format!(
        "Error versus Discard Characteristic (ALGORITHMS 6): the threshold is fixed at FMR {} on all {} comparisons ({} mated); comparisons are discarded by min(q_a, q_b), lowest quality first, and the FNMR of the rest is plotted. The same numbers as `amva edc` on these pairs and scores.",
        r.options.target_fmr, r.comparisons_used, r.mated_used
    ));
    let mut t = Table::new([
        "method",
        "FNMR at no discard",
        "pAUC",
        "ideal area",
        "pAUC - ideal",
        "ratio to random",
    ])
    .caption(format!(
        "pAUC over discard fractions 0 to {}; random = mean of {} random orders (seed {}).",
        r.options.pauc_limit, r.options.random_runs, r.options.seed
    ))
    .source("edc/pauc.csv", "");
    for m in r.methods.iter().chain(std::iter::once(&r.random)) {
        t = table_row(
            t,
            vec![
                m.method.clone().into(),
                m.fnmr_start.into(),
                m.pauc.into(),
                m.ideal_area.into(),
                m.pauc_above_ideal.into(),
                m.pauc_ratio_to_random.map_or("".into(), Into::into),
            ],
        )?;
    }
    page.table(t);
    let img = crate::edc::plot(r)
        .render()
        .map_err(ReportError::draw("EDC figure"))?;
    page.figure(
        "edc",
        "EDC of every method and the random reference (edc/curves.csv).",
        &img,
    )
}

fn extra_section(s: &ReportSection, page: &mut Page<'_>) -> Result<()> {
    for item in &s.items {
        match item {
            Item::Subsection(t) => page.sub(t.clone()),
            Item::Paragraph(t) => page.para(t.clone()),
            Item::Table(t) => page.table(t.clone()),
            Item::Figure {
                name,
                caption,
                image,
            } => page.figure(name, caption.clone(), image)?,
        }
    }
    Ok(())
}

/// Appends `blocks` to the report: figures embedded with `single`, else referenced.
fn emit(report: &mut Report, blocks: Vec<Block>, figs: &Figures, single: bool) -> Result<()> {
    for b in blocks {
        match b {
            Block::Sub(s) => {
                report.subsection(s);
            }
            Block::Para(s) => {
                report.paragraph(s);
            }
            Block::Table(t) => {
                report.table(t);
            }
            Block::Fig(i) => {
                let f = figs.get(i);
                let caption = format!("{} File: {}.", f.caption, f.file);
                if single {
                    report.figure_png(f.png.clone(), caption)
                } else {
                    report.figure_file(&f.png, &f.file, caption)
                }
                .map_err(ReportError::draw(&f.file))?;
            }
        }
    }
    Ok(())
}

/// The parameters, the data section with the notes, and the explorer's link.
fn front_matter(analysis: &Analysis, opts: &AnalyzeOptions, report: &mut Report) -> Result<()> {
    let plan = &analysis.plan;
    let source = &plan.source;
    let info = source.info();
    if let Some(c) = &opts.command_line {
        report.param("command", c.clone());
    }
    report.param("amva version", env!("CARGO_PKG_VERSION"));
    let file = source
        .data_path()
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let finished = if source.kind() == MapKind::Low {
        ", finished on the fly"
    } else {
        ", already finished"
    };
    report.param(
        "maps",
        format!(
            "{} ({} maps, {file}{finished})",
            opts.maps.display(),
            source.len()
        ),
    );
    report.param(
        "map method / layer",
        format!(
            "{} / {}",
            info.method.as_deref().unwrap_or("unknown"),
            info.layer.as_deref().unwrap_or("unknown")
        ),
    );
    report.param(
        "FR model sha256",
        info.model_sha256
            .clone()
            .unwrap_or_else(|| "unknown".into()),
    );
    for f in &opts.scores {
        let sha = amva_io::cache::sha256_file(f).unwrap_or_default();
        report.param("score file", format!("{} (sha256 {sha})", f.display()));
    }
    let bins = opts
        .rules
        .bins
        .map(|b| format!(", {b} quality bins"))
        .unwrap_or_default();
    report.param(
        "groups",
        format!("high = {}, low = {}{bins}", opts.rules.high, opts.rules.low),
    );
    report.param(
        "face region",
        format!("landmark hull + {} px (112 frame)", opts.region_margin),
    );
    report.param(
        "options",
        format!(
            "symmetric = {}, compat paper = {}, permutations = {}, seed = {}",
            opts.symmetric, opts.compat_paper, opts.permutations, opts.seed
        ),
    );
    data_section(analysis, report)?;
    report.link(
        format!(
            "Explorer: all {} images in one sortable, filterable table, each with its face, map, deviation and z-map (explorer.html, beside this report)",
            plan.source.len()
        ),
        crate::explorer::PAGE,
    );
    Ok(())
}

/// The audit's verdict on these maps, or why it does not apply to them.
fn audit_box(
    report: &mut Report,
    dir: &std::path::Path,
    record: &amva_analysis::audit::AuditRecord,
    info: &amva_maps::format::StoreInfo,
) {
    report.section_id("Map audit", "audit");
    let method = info.method.as_deref().unwrap_or("unknown");
    let text = crate::audit::verdict_text(record, method, info.model_sha256.as_deref())
        .unwrap_or_else(|why| {
            format!(
                "The audit in {} does not apply to these maps: {why}.",
                dir.display()
            )
        });
    report.paragraph(text);
    report.link(
        format!(
            "The audit: {}",
            dir.join(crate::audit::AUDIT_PAGE).display()
        ),
        dir.join(crate::audit::AUDIT_PAGE).display().to_string(),
    );
}

fn data_section(analysis: &Analysis, report: &mut Report) -> Result<()> {
    let plan = &analysis.plan;
    let (h, w) = plan.geometry.shape;
    let flagged = plan.source.flagged_flat().iter().filter(|f| **f).count();
    report.section("Data");
    report.paragraph(format!(
        "{} maps of {h} x {w} pixels ({flagged} flagged flat in index.csv). Every image id without a partner and every excluded score is listed in unmatched.csv. Each table names the file that holds its numbers (most are in summary.json); every array is an .npy file under arrays/.",
        plan.source.len()
    ));
    let mut t = Table::new([
        "method",
        "direction",
        "finite scores",
        "non-finite (excluded)",
        "with map",
        "scores without map",
        "maps without score",
        "high",
        "low",
    ])
    .caption("Scores joined to maps.")
    .source(files::SUMMARY, "methods.*");
    for (g, ms) in plan.groups.iter().zip(&plan.methods) {
        t = table_row(
            t,
            vec![
                g.name.clone().into(),
                g.direction.to_string().into(),
                ms.scores.len().into(),
                ms.non_finite.len().into(),
                g.rows.len().into(),
                g.without_map.len().into(),
                g.without_score.len().into(),
                g.high.rows.len().into(),
                g.low.rows.len().into(),
            ],
        )?;
    }
    report.table(t);
    for n in &plan.notes {
        report.paragraph(format!("Note: {n}"));
    }
    Ok(())
}

/// The agreement table and the grid of every method's MAM, AM-V and D-AM-V.
fn across_part(analysis: &Analysis, outline: &Outline, page: &mut Page<'_>) -> Result<()> {
    let a = &analysis.across;
    if analysis.plan.groups.len() >= 2 {
        let mut t = Table::new([
            "method A",
            "method B",
            "common images",
            "Spearman (direction-corrected)",
            "Jaccard high",
            "Jaccard low",
        ])
        .caption("Agreement of the methods.")
        .source(files::SUMMARY, "across_methods");
        for ((sp, jh), jl) in a.spearman.iter().zip(&a.jaccard_high).zip(&a.jaccard_low) {
            t = table_row(
                t,
                vec![
                    sp.a.clone().into(),
                    sp.b.clone().into(),
                    sp.n.into(),
                    sp.spearman.into(),
                    jh.jaccard.into(),
                    jl.jaccard.into(),
                ],
            )?;
        }
        page.table(t);
    }
    let img = methods_grid(analysis, outline)?;
    page.figure("methods_grid", "MAM and AM-V of the high and low groups and D-AM-V = |AM-V high - AM-V low| (same units as AM-V), one row per FIQA method.", &img)
}

/// Two panels in one figure: MAM (0-1 activation) and AM-V with D-AM-V, which share
/// their units (|AM-V high - AM-V low| is in AM-V units), each with its own colour bar
/// so that neither is washed out by the other's range.
fn methods_grid(analysis: &Analysis, outline: &Outline) -> Result<RgbImage> {
    let (h, w) = analysis.plan.geometry.shape;
    let names = analysis.plan.groups.iter().map(|g| g.name.clone());
    let rows = analysis.methods.len();
    let err = || ReportError::draw("methods grid");
    let amv_max = analysis
        .methods
        .iter()
        .flat_map(|m| {
            let c = &m.comparison;
            [max_of(&c.high().stats.std), max_of(&c.low().stats.std)]
        })
        .fold(1e-12, f64::max);
    let mut mam_grid = Grid::new(rows, 2)
        .map_err(err())?
        .title("MAM per FIQA method")
        .row_labels(names.clone())
        .col_titles(["MAM high", "MAM low"])
        .colorbar_label("MAM (0-1: 1 = strongest pixel of each map)")
        .range(0.0, 1.0)
        .outline(outline.clone())
        .cell_size(150);
    let mut amv_grid = Grid::new(rows, 3)
        .map_err(err())?
        .title("AM-V and D-AM-V per FIQA method")
        .row_labels(names)
        .col_titles(["AM-V high", "AM-V low", "D-AM-V"])
        .colorbar_label("AM-V and |AM-V high - AM-V low| (0-1 activation units)")
        .range(0.0, amv_max as f32)
        .outline(outline.clone())
        .cell_size(150);
    for (r, m) in analysis.methods.iter().enumerate() {
        let c = &m.comparison;
        let (hs, ls) = (&c.high().stats, &c.low().stats);
        for (col, v) in [&hs.mean, &ls.mean].into_iter().enumerate() {
            mam_grid = mam_grid.cell(r, col, to_f32(v), h, w).map_err(err())?;
        }
        let d = c
            .deviation(amva_analysis::stat::Stat::Amv)
            .map(|d| d.map.as_slice())
            .unwrap_or(&[]);
        for (col, v) in [hs.std.as_slice(), ls.std.as_slice(), d]
            .into_iter()
            .enumerate()
        {
            amv_grid = amv_grid.cell(r, col, to_f32(v), h, w).map_err(err())?;
        }
    }
    Ok(amva_draw::side_by_side(&[
        mam_grid.render().map_err(err())?,
        amv_grid.render().map_err(err())?,
    ]))
}
