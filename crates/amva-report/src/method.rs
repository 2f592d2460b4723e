//! One method's section of the report: groups, set statistics, deviation maps (also over
//! the mean faces), distribution shift, profiles, the region table, the permutation test
//! and the trend over bins. Everything comes from the typed results; nothing is computed
//! here but what is drawn.

use std::collections::HashMap;
use std::path::PathBuf;

use amva_analysis::compare::{max_of, to_f32, Comparison, GroupResult, Stat};
use amva_analysis::groups::{Group, MethodGroups};
use amva_analysis::significance::{PermutationOutcome, Significance};
use amva_analysis::{files, Analysis, AnalyzeOptions, MethodResult};
use amva_draw::{side_by_side, Cell, Corner, Grid, Outline, RgbImage, Table};
use amva_draw::{HeatStyled, Styled};
use amva_math::compare::normalise_by_max;
use amva_quality::scores::MethodScores;

use crate::figures::{heatmap, heatmap_over, Curve, Plot};
use crate::page::{fmt, table_row, Page};
use crate::{ReportError, Result};

/// What one method's section is drawn from.
pub(crate) struct MethodView<'a> {
    pub name: &'a str,
    key: &'a str,
    g: &'a MethodGroups,
    ms: &'a MethodScores,
    c: &'a Comparison,
    sig: &'a Significance,
    ids: &'a [String],
    faces: Option<&'a HashMap<String, PathBuf>>,
    shape: (usize, usize),
    outline: &'a Outline,
    opts: &'a AnalyzeOptions,
    stats: &'a [Stat],
}

impl<'a> MethodView<'a> {
    pub fn new(
        analysis: &'a Analysis,
        mi: usize,
        outline: &'a Outline,
        opts: &'a AnalyzeOptions,
    ) -> Self {
        let plan = &analysis.plan;
        let r: &MethodResult = &analysis.methods[mi];
        MethodView {
            name: &plan.groups[mi].name,
            key: &plan.keys[mi],
            g: &plan.groups[mi],
            ms: &plan.methods[mi],
            c: &r.comparison,
            sig: &r.significance,
            ids: plan.source.ids(),
            faces: plan.faces.as_ref(),
            shape: plan.geometry.shape,
            outline,
            opts,
            stats: &plan.stats,
        }
    }

    /// Where in summary.json a table's numbers are.
    fn place(&self, path: &str) -> String {
        format!("methods.\"{}\".{path}", self.name)
    }

    /// "Source: summary.json, methods."m".path." for text that is not a table.
    fn src(&self, path: &str) -> String {
        format!("Source: {}, {}.", files::SUMMARY, self.place(path))
    }

    /// Every part of the section, in order.
    pub fn render(&self, page: &mut Page<'_>) -> Result<()> {
        self.groups_part(page)?;
        self.stats_part(page)?;
        self.deviation_part(page)?;
        self.overlay_part(page)?;
        self.shift_part(page)?;
        self.profiles_part(page)?;
        self.region_part(page)?;
        self.permutation_part(page)?;
        if let Some(t) = &self.c.trend {
            self.trend_part(page, &t.inside, &t.outside, t.rho)?;
        }
        Ok(())
    }

    fn groups_part(&self, page: &mut Page<'_>) -> Result<()> {
        let (g, ms, key) = (self.g, self.ms, self.key);
        page.para(format!(
            "Scores from {} ({}, direction from {}). {} images have a map and a finite score; the groups are listed in groups/{key}.csv.",
            ms.source.display(), g.direction.describe(), ms.direction_source.as_str(), g.rows.len()
        ));
        let mut t = Table::new([
            "group",
            "rule",
            "images",
            "flat maps",
            "lowest score",
            "highest score",
        ])
        .caption("Groups.")
        .source(files::SUMMARY, self.place("groups"));
        for (grp, res) in g.all_groups().into_iter().zip(&self.c.groups) {
            t = table_row(
                t,
                vec![
                    grp.name.clone().into(),
                    grp.rule.clone().into(),
                    res.stats.n.into(),
                    res.stats.flat.into(),
                    grp.score_range.0.into(),
                    grp.score_range.1.into(),
                ],
            )?;
        }
        page.table(t);
        Ok(())
    }

    /// The mean of each statistic per group, then high and low side by side.
    fn stats_part(&self, page: &mut Page<'_>) -> Result<()> {
        page.sub("Set statistics of the high and low groups");
        let mut header = vec!["group".to_string()];
        header.extend(self.stats.iter().map(|s| format!("mean {}", s.label())));
        let mut t = Table::new(header)
            .caption("Per-pixel statistics averaged over the map (max in the figures).")
            .source(files::SUMMARY, self.place("groups[].stats"));
        for (grp, res) in self.g.all_groups().into_iter().zip(&self.c.groups) {
            let mut row: Vec<Cell> = vec![grp.name.clone().into()];
            for &s in self.stats {
                row.push(res.ranges.get(s).map_or(Cell::Empty, |r| Cell::Num(r.mean)));
            }
            t = table_row(t, row)?;
        }
        page.table(t);
        for &s in self.stats {
            self.high_low_figure(page, s)?;
        }
        Ok(())
    }

    /// High and low side by side, on one colour range, in one figure.
    fn high_low_figure(&self, page: &mut Page<'_>, s: Stat) -> Result<()> {
        let (hs, ls) = (&self.c.high().stats, &self.c.low().stats);
        let (Some(a), Some(b)) = (s.of(hs), s.of(ls)) else {
            return Ok(());
        };
        let (name, key, g) = (self.name, self.key, self.g);
        let hi = max_of(a).max(max_of(b));
        let mut pair = Vec::new();
        for (grp, v, st) in [(&g.high, a, hs), (&g.low, b, ls)] {
            let title = format!("{} of {} group, {name} ({})", s.label(), grp.name, grp.rule);
            pair.push(heatmap(
                v,
                self.shape,
                &title,
                s.meaning(),
                (0.0, hi),
                Some(self.outline),
                Some(format!(
                    "n = {} maps; file arrays/{key}/{}_{}.npy",
                    st.n,
                    grp.key,
                    s.key()
                )),
            )?);
        }
        page.figure(
            &format!("{key}_{}_high_low", s.key()),
            format!(
                "{} of the high ({}) and low ({}) groups of {name}, on one colour range.",
                s.label(),
                g.high.rule,
                g.low.rule
            ),
            &side_by_side(&pair),
        )
    }

    fn deviation_part(&self, page: &mut Page<'_>) -> Result<()> {
        let (name, key) = (self.name, self.key);
        page.sub("Deviation maps |high - low|");
        let mut t = Table::new([
            "statistic",
            "max |high - low|",
            "mean",
            "mean inside",
            "mean outside",
            "outside / inside",
        ])
        .caption(format!(
            "Deviation maps{}.",
            if self.opts.symmetric {
                " (averaged with their mirror image, --symmetric)"
            } else {
                ""
            }
        ))
        .source(files::SUMMARY, self.place("deviation"));
        for d in &self.c.deviations {
            t = table_row(
                t,
                vec![
                    format!("D-{}", d.stat.label()).into(),
                    d.max.into(),
                    d.mean.into(),
                    d.region.inside.into(),
                    d.region.outside.into(),
                    d.region.ratio.into(),
                ],
            )?;
        }
        page.table(t);
        for d in &self.c.deviations {
            let (s, max) = (d.stat, d.max);
            let l = s.label();
            let img = heatmap(
                &normalise_by_max(&d.map),
                self.shape,
                &format!("D-{l} = |{l} high - {l} low|, {name}"),
                &format!("D-{l} / max (1.0 = {} {l} units)", fmt(max)),
                (0.0, 1.0),
                Some(self.outline),
                Some(format!(
                    "shown divided by its max, {}; file arrays/{key}/d_{}.npy",
                    fmt(max),
                    s.key()
                )),
            )?;
            page.figure(
                &format!("{key}_d_{}", s.key()),
                format!("D-{l} of {name}, divided by its maximum {}.", fmt(max)),
                &img,
            )?;
        }
        Ok(())
    }

    /// D-AM-V over the high group's mean face, AM-V of the low group over its own.
    fn overlay_part(&self, page: &mut Page<'_>) -> Result<()> {
        let Some(paths) = self.faces else {
            return Ok(());
        };
        let (name, key) = (self.name, self.key);
        let ids =
            |grp: &Group| -> Vec<&str> { grp.rows.iter().map(|&r| self.ids[r].as_str()).collect() };
        if let Some((face, used, failed)) = mean_face(paths, &ids(&self.g.high), self.shape) {
            if let Some(d) = self.c.deviation(Stat::Amv) {
                let unreadable = if failed > 0 {
                    format!(" ({failed} unreadable)")
                } else {
                    String::new()
                };
                let img = heatmap_over(
                    &normalise_by_max(&d.map),
                    self.shape,
                    &face,
                    &format!("D-AM-V over the mean face of the high group, {name}"),
                    &format!(
                        "D-AM-V / max (1.0 = {} AM-V units), jet added at 50%",
                        fmt(d.max)
                    ),
                    (0.0, 1.0),
                    Some(format!("mean of {used} high-group faces{unreadable}")),
                )?;
                page.figure(
                    &format!("{key}_d_amv_overlay"),
                    format!("D-AM-V of {name} over the mean face of its high group."),
                    &img,
                )?;
            }
        }
        if let Some((face, used, _)) = mean_face(paths, &ids(&self.g.low), self.shape) {
            let (hs, ls) = (&self.c.high().stats, &self.c.low().stats);
            let hi = max_of(&hs.std).max(max_of(&ls.std));
            let norm: Vec<f64> = ls
                .std
                .iter()
                .map(|v| v / hi.max(f64::MIN_POSITIVE))
                .collect();
            let img = heatmap_over(
                &norm,
                self.shape,
                &face,
                &format!("AM-V of the low group over its mean face, {name}"),
                &format!("AM-V / {} (the larger max of high and low)", fmt(hi)),
                (0.0, 1.0),
                Some(format!("mean of {used} low-group faces")),
            )?;
            page.figure(
                &format!("{key}_amv_low_overlay"),
                format!("AM-V of the low group of {name} over the mean face of that group."),
                &img,
            )?;
        }
        Ok(())
    }

    fn shift_part(&self, page: &mut Page<'_>) -> Result<()> {
        let (name, key) = (self.name, self.key);
        let (hs, ls) = (&self.c.high().stats, &self.c.low().stats);
        page.sub("Distribution shift between high and low");
        let mut t = Table::new(["statistic", "KS D", "KS p (descriptive)", "1-Wasserstein"])
            .caption("Per-pixel values of the high vs the low group's map.")
            .source(files::SUMMARY, self.place("distribution_shift"));
        for (s, sh) in &self.c.shifts {
            t = table_row(
                t,
                vec![
                    s.label().into(),
                    sh.ks.into(),
                    sh.ks_p.into(),
                    sh.wasserstein.into(),
                ],
            )?;
        }
        page.table(t);
        let p = self.shape.0 * self.shape.1;
        for (s, sh) in &self.c.shifts {
            let Some((x, da, db)) = &sh.kde else {
                page.para(format!(
                    "No density curve of the per-pixel {}: the map of a group is constant, so a kernel density is not defined.",
                    s.label()
                ));
                continue;
            };
            let title = format!(
                "Distribution of per-pixel {}: high vs low, {name}",
                s.label()
            );
            let xl = format!("{} per pixel (0-1 activation units)", s.label());
            let mut plot = Plot::new(&title, &xl, "density");
            plot.series.push(Curve::line(
                format!("high ({}, n = {})", self.g.high.rule, hs.n),
                x.iter().copied().zip(da.iter().copied()).collect(),
            ));
            plot.series.push(Curve::line(
                format!("low ({}, n = {})", self.g.low.rule, ls.n),
                x.iter().copied().zip(db.iter().copied()).collect(),
            ));
            plot.annotations = vec![
                format!("KS D = {}", fmt(sh.ks)),
                format!("W1 = {}", fmt(sh.wasserstein)),
            ];
            plot.note = Some(format!(
                "Gaussian KDE, Scott's bandwidth, over the {p} pixels of each map"
            ));
            page.figure(
                &format!("{key}_kde_{}", s.key()),
                format!(
                    "Kernel density of the per-pixel {} of the high and low groups of {name}.",
                    s.label()
                ),
                &plot.render()?,
            )?;
        }
        Ok(())
    }

    fn profiles_part(&self, page: &mut Page<'_>) -> Result<()> {
        let (name, key) = (self.name, self.key);
        let pr = &self.c.profiles;
        page.sub("Spatial profiles of AM-V");
        for (axis, prof, xl, note) in [
            ("x", &pr.x, "x (pixel column)", "summed over rows"),
            ("y", &pr.y, "y (pixel row, 0 = top)", "summed over columns"),
        ] {
            let title = format!("AM-V profile over {axis}, {name}");
            let yl = format!("AM-V {note}");
            let mut plot = Plot::new(&title, xl, &yl);
            for (label, v) in [("high", &prof[0]), ("low", &prof[1])] {
                plot.series.push(Curve::line(
                    label.to_string(),
                    v.iter().enumerate().map(|(i, &y)| (i as f64, y)).collect(),
                ));
            }
            plot.note = Some(format!("file arrays/{key}/profile_{axis}.npy"));
            page.figure(
                &format!("{key}_profile_{axis}"),
                format!("AM-V of the high and low groups of {name} {note}."),
                &plot.render()?,
            )?;
        }
        Ok(())
    }

    fn region_part(&self, page: &mut Page<'_>) -> Result<()> {
        page.sub("Central face region");
        let mut t = Table::new(["group", "images", "MAM inside", "MAM outside", "MAM out/in", "AM-V inside", "AM-V outside", "AM-V out/in"])
            .caption(format!("Mean MAM and AM-V inside and outside the central face region (hull of the 5 template landmarks + {} px).", self.opts.region_margin))
            .source(files::SUMMARY, self.place("groups[]"));
        for (grp, res) in self.g.all_groups().into_iter().zip(&self.c.groups) {
            let (rm, ra) = (res.region_of(Stat::Mam), res.region_of(Stat::Amv));
            t = table_row(
                t,
                vec![
                    grp.name.clone().into(),
                    res.stats.n.into(),
                    rm.inside.into(),
                    rm.outside.into(),
                    rm.ratio.into(),
                    ra.inside.into(),
                    ra.outside.into(),
                    ra.ratio.into(),
                ],
            )?;
        }
        page.table(t);
        Ok(())
    }

    fn permutation_part(&self, page: &mut Page<'_>) -> Result<()> {
        page.sub("Permutation test: outside AM-V, low minus high");
        match self.sig {
            Significance::Run { outcome, .. } => {
                page.para(format!(
                    "T = mean AM-V outside the face region of the low group minus that of the high group. Observed T = {}; {} of {} random relabellings (seed {}) gave T >= observed; one-sided p = {}. {}",
                    fmt(outcome.observed), outcome.extreme, outcome.n_perm, self.opts.seed, fmt(outcome.p_value), self.src("permutation_test")
                ));
                self.null_histogram(page, outcome)
            }
            Significance::Skipped(reason) => {
                page.para(format!("Not run: {reason}."));
                Ok(())
            }
        }
    }

    /// The null distribution of T as a step histogram, with the observed value.
    fn null_histogram(&self, page: &mut Page<'_>, r: &PermutationOutcome) -> Result<()> {
        let (name, key) = (self.name, self.key);
        let all = || r.null.iter().copied().chain([r.observed]);
        let lo = all().fold(f64::INFINITY, f64::min);
        let hi = all().fold(f64::NEG_INFINITY, f64::max);
        if hi.partial_cmp(&lo) != Some(std::cmp::Ordering::Greater) {
            // Degenerate data (e.g. every map identical or flat): nothing to bin.
            page.para(format!(
                "No histogram of the null distribution: every one of the {} relabellings gave T = {}, the observed value, so there is no spread to show. The maps do not vary between the groups (for instance, all maps are identical or flat).",
                r.n_perm,
                fmt(r.observed)
            ));
            return Ok(());
        }
        let bins = 40usize;
        let width = ((hi - lo) / bins as f64).max(f64::MIN_POSITIVE);
        let mut counts = vec![0f64; bins];
        for &t in &r.null {
            counts[(((t - lo) / width) as usize).min(bins - 1)] += 1.0;
        }
        let mut pts: Vec<(f64, f64)> = counts
            .iter()
            .enumerate()
            .map(|(i, &c)| (lo + i as f64 * width, c))
            .collect();
        pts.push((hi, *counts.last().unwrap_or(&0.0)));
        let top = counts.iter().copied().fold(1.0, f64::max);
        let title = format!("Permutation null distribution, {name}");
        let mut plot = Plot::new(
            &title,
            "T = mean outside AM-V (low) - (high)",
            "permutations per bin",
        );
        plot.steps = true;
        plot.series
            .push(Curve::line(format!("{} permutations", r.n_perm), pts));
        plot.series.push(Curve::reference(
            "observed",
            vec![(r.observed, 0.0), (r.observed, top)],
        ));
        plot.annotations = vec![
            format!("observed T = {}", fmt(r.observed)),
            format!("p = {}", fmt(r.p_value)),
        ];
        plot.legend = Corner::UpperLeft;
        plot.annotation_corner = Corner::UpperRight;
        // Room right of the observed value for the annotation box.
        plot.x_range = Some((lo - 0.05 * (hi - lo), hi + 0.45 * (hi - lo)));
        page.figure(
            &format!("{key}_permutation"),
            format!("Null distribution of T for {name} and the observed value."),
            &plot.render()?,
        )
    }

    fn trend_part(&self, page: &mut Page<'_>, ins: &[f64], outs: &[f64], rho: f64) -> Result<()> {
        let (name, key) = (self.name, self.key);
        page.sub(format!("AM-V across {} quality bins", outs.len()));
        let mut t = Table::new([
            "bin (1 = worst)",
            "images",
            "lowest score",
            "highest score",
            "AM-V inside",
            "AM-V outside",
        ])
        .caption(format!(
            "Spearman correlation of bin index and outside AM-V: {}.",
            fmt(rho)
        ))
        .source(files::SUMMARY, self.place("groups[]"));
        for (k, ((grp, res), (a, b))) in self
            .g
            .bins
            .iter()
            .zip(self.c.bins())
            .zip(ins.iter().zip(outs))
            .enumerate()
        {
            t = table_row(
                t,
                vec![
                    (k + 1).into(),
                    res.stats.n.into(),
                    grp.score_range.0.into(),
                    grp.score_range.1.into(),
                    (*a).into(),
                    (*b).into(),
                ],
            )?;
        }
        page.table(t);
        let title = format!("Mean AM-V per quality bin, {name}");
        let mut plot = Plot::new(
            &title,
            "quality bin (1 = worst)",
            "mean AM-V (0-1 activation units)",
        );
        let curve = |v: &[f64]| -> Vec<(f64, f64)> {
            v.iter()
                .enumerate()
                .map(|(i, &y)| ((i + 1) as f64, y))
                .collect()
        };
        plot.series
            .push(Curve::line("outside the face region", curve(outs)));
        plot.series.push(Curve::line("inside", curve(ins)));
        plot.annotations = vec![format!("Spearman (bin, outside) = {}", fmt(rho))];
        plot.annotation_corner = Corner::LowerLeft;
        page.figure(
            &format!("{key}_bins_trend"),
            format!("Mean AM-V inside and outside the face region per quality bin of {name}."),
            &plot.render()?,
        )?;
        let img = bins_grid(name, self.c.bins(), self.shape, self.outline)?;
        page.figure(
            &format!("{key}_bins_amv"),
            format!("AM-V of each quality bin of {name} (bin 1 = worst)."),
            &img,
        )
    }
}

/// AM-V of every bin side by side on one colour range.
fn bins_grid(
    name: &str,
    bins: &[GroupResult],
    (h, w): (usize, usize),
    outline: &Outline,
) -> Result<RgbImage> {
    let err = || ReportError::draw("bins grid");
    let nb = bins.len();
    let hi = bins
        .iter()
        .map(|b| max_of(&b.stats.std))
        .fold(0.0, f64::max);
    let mut grid = Grid::new(1, nb)
        .map_err(err())?
        .title(format!("AM-V per quality bin, {name}"))
        .row_labels([name])
        .col_titles((1..=nb).map(|k| match k {
            1 => "bin 1 (worst)".to_string(),
            k if k == nb => format!("bin {k} (best)"),
            k => format!("bin {k}"),
        }))
        .colorbar_label(Stat::Amv.meaning())
        .range(0.0, hi.max(1e-12) as f32)
        .outline(outline.clone())
        .cell_size(if nb > 6 { 110 } else { 150 });
    for (k, b) in bins.iter().enumerate() {
        grid = grid.cell(0, k, to_f32(&b.stats.std), h, w).map_err(err())?;
    }
    grid.render().map_err(err())
}

/// The mean face (per-pixel mean of RGB) of `ids`, resized to `w x h`, with the number
/// of faces used and of unreadable ones (skipped).
fn mean_face(
    paths: &HashMap<String, PathBuf>,
    ids: &[&str],
    (h, w): (usize, usize),
) -> Option<(RgbImage, usize, usize)> {
    let mut sum = vec![0f64; h * w * 3];
    let (mut used, mut failed) = (0usize, 0usize);
    for id in ids {
        let Some(p) = paths.get(*id) else {
            failed += 1;
            continue;
        };
        match amva_io::images::load_rgb(p)
            .and_then(|img| amva_io::images::fit(img, w as u32, h as u32, true, p))
        {
            Ok(img) => {
                for (s, &v) in sum.iter_mut().zip(img.as_raw()) {
                    *s += f64::from(v);
                }
                used += 1;
            }
            Err(_) => failed += 1,
        }
    }
    if used == 0 {
        return None;
    }
    let raw: Vec<u8> = sum
        .iter()
        .map(|s| (s / used as f64).round().clamp(0.0, 255.0) as u8)
        .collect();
    RgbImage::from_raw(w as u32, h as u32, raw).map(|img| (img, used, failed))
}
