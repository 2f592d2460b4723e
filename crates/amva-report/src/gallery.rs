//! The report's galleries: single images, each drawn as `amva explain` draws it (its
//! map over the face, its deviation from the method's high-group reference, the z-map;
//! [`explanation_figure_sized`]), with the numbers of images.csv under it.
//!
//! - per method, the k best and the k worst images by its score;
//! - per pair of methods, the images one puts in its high group and the other in its
//!   low group (the disagreements), the first k of them by rank difference.

use std::collections::{BTreeSet, HashMap};

use amva_analysis::explain::{explain_map, DEFAULT_EPS};
use amva_analysis::images::PerImage;
use amva_analysis::Analysis;
use amva_draw::{RgbImage, Table};
use amva_maps::source::MapSource;

use crate::explain::{explanation_figure_sized, face};
use crate::page::{fmt, table_row, Page};
use crate::Result;

/// Default number of images in each gallery (`--gallery K`).
pub const DEFAULT_GALLERY: usize = 12;

/// Panel size of a gallery figure (three panels side by side).
const PANEL: (u32, u32) = (380, 360);

/// The finished maps and faces the galleries show, read once.
pub(crate) struct GalleryImages {
    maps: HashMap<usize, Vec<f32>>,
    faces: HashMap<usize, RgbImage>,
}

/// Store rows of method `mi`, best first.
fn ranked(per: &PerImage, mi: usize) -> Vec<usize> {
    let mut rows: Vec<(usize, usize)> = per.standings[mi]
        .iter()
        .enumerate()
        .filter_map(|(r, s)| s.rank.map(|k| (k, r)))
        .collect();
    rows.sort_unstable();
    rows.into_iter().map(|(_, r)| r).collect()
}

/// The k best and k worst rows of method `mi` (worst last).
fn best_and_worst(per: &PerImage, mi: usize, k: usize) -> (Vec<usize>, Vec<usize>) {
    let order = ranked(per, mi);
    let best = order.iter().take(k).copied().collect();
    let worst = order.iter().rev().take(k).rev().copied().collect();
    (best, worst)
}

/// Rows that method `a` puts in its high group and `b` in its low group, or the other
/// way round, largest rank difference first.
pub fn disagreements(per: &PerImage, a: usize, b: usize) -> Vec<usize> {
    let is = |m: usize, r: usize, g: &str| per.standings[m][r].groups.iter().any(|x| x == g);
    let mut rows: Vec<usize> = (0..per.images.len())
        .filter(|&r| (is(a, r, "high") && is(b, r, "low")) || (is(a, r, "low") && is(b, r, "high")))
        .collect();
    let diff = |r: usize| {
        let rk = |m: usize| per.standings[m][r].rank.unwrap_or(0) as i64;
        (rk(a) - rk(b)).abs()
    };
    rows.sort_by_key(|&r| (std::cmp::Reverse(diff(r)), r));
    rows
}

impl GalleryImages {
    /// Reads the maps and faces of every row any gallery shows.
    pub fn read(analysis: &Analysis, k: usize) -> Result<Self> {
        let per = &analysis.images;
        let n = analysis.plan.groups.len();
        let mut wanted = BTreeSet::new();
        for mi in 0..n {
            let (best, worst) = best_and_worst(per, mi, k);
            wanted.extend(best.into_iter().chain(worst));
            for b in mi + 1..n {
                wanted.extend(disagreements(per, mi, b).into_iter().take(k));
            }
        }
        let maps = finished_rows(&analysis.plan.source, &wanted)?;
        let faces = wanted
            .iter()
            .map(|&r| (r, face(&analysis.plan, r)))
            .collect();
        Ok(GalleryImages { maps, faces })
    }

    /// One image's figure against method `mi`'s reference.
    fn figure(&self, analysis: &Analysis, mi: usize, row: usize) -> Result<RgbImage> {
        let reference = &analysis.images.references[mi];
        let map = &self.maps[&row];
        let e = explain_map(reference, map, DEFAULT_EPS)?;
        let id = &analysis.plan.source.ids()[row];
        explanation_figure_sized(reference, &e, map, &self.faces[&row], id, PANEL)
    }
}

/// The finished maps of `rows` of `source`, read in one pass.
pub fn finished_rows(
    source: &MapSource,
    rows: &BTreeSet<usize>,
) -> Result<HashMap<usize, Vec<f32>>> {
    let (len, px) = (source.row_len(), source.pixels());
    let mut out = HashMap::new();
    if rows.is_empty() {
        return Ok(out);
    }
    source.for_each_chunk(256, |first, stored: &[f32]| -> Result<()> {
        let n = stored.len() / len;
        for r in rows.range(first..first + n) {
            let mut map = vec![0f32; px];
            let k = r - first;
            source.finish_into(*r, &stored[k * len..(k + 1) * len], &mut map)?;
            out.insert(*r, map);
        }
        Ok(())
    })?;
    Ok(out)
}

/// The caption numbers of one image in method `mi` (as in images.csv).
fn caption(analysis: &Analysis, mi: usize, row: usize) -> String {
    let per = &analysis.images;
    let st = &per.standings[mi][row];
    let e = &per.images[row].methods[mi];
    let name = &analysis.plan.groups[mi].name;
    format!(
        "{}: {name} score {}, rank {} of {}, groups [{}]; against the {name} high group: mean |deviation| {}, inside {}, outside {}, outside share {}, mean |z| {}; typicality {}. Source: images.csv, row {row}.",
        analysis.plan.source.ids()[row],
        st.score.map_or("none".into(), fmt),
        st.rank.map_or("-".into(), |r| r.to_string()),
        analysis.plan.groups[mi].rows.len(),
        st.groups.join(", "),
        fmt(e.mean_abs_deviation),
        fmt(e.inside),
        fmt(e.outside),
        fmt(e.outside_share),
        fmt(e.mean_abs_z),
        fmt(per.typicality(row)),
    )
}

/// Method `mi`'s galleries: its k best and k worst images.
pub(crate) fn method_gallery(
    analysis: &Analysis,
    imgs: &GalleryImages,
    mi: usize,
    k: usize,
    page: &mut Page<'_>,
) -> Result<()> {
    let key = &analysis.plan.keys[mi];
    let name = &analysis.plan.groups[mi].name;
    let (best, worst) = best_and_worst(&analysis.images, mi, k);
    for (label, rows) in [("best", best), ("worst", worst)] {
        page.sub(format!(
            "Gallery: the {} {label} images by {name}",
            rows.len()
        ));
        page.para(format!(
            "Each image as `amva explain` shows it: its activation map over the face, its deviation |AM - MAM| from the {name} high group's mean map (jet added at 50 % to the face; the outline is the central face region) and its z-map against that group. Every number is in images.csv."
        ));
        for (i, &row) in rows.iter().enumerate() {
            let fig = imgs.figure(analysis, mi, row)?;
            let file = format!("gallery_{key}_{label}_{:02}", i + 1);
            page.figure(&file, caption(analysis, mi, row), &fig)?;
        }
    }
    Ok(())
}

/// For each pair of methods, the images they disagree on (high in one, low in the
/// other): a table of all of them and the figures of the first k.
pub(crate) fn disagreement_gallery(
    analysis: &Analysis,
    imgs: &GalleryImages,
    k: usize,
    page: &mut Page<'_>,
) -> Result<()> {
    let plan = &analysis.plan;
    let per = &analysis.images;
    let ids = plan.source.ids();
    for a in 0..plan.groups.len() {
        for b in a + 1..plan.groups.len() {
            let (na, nb) = (&plan.groups[a].name, &plan.groups[b].name);
            let rows = disagreements(per, a, b);
            page.sub(format!("Disagreements: {na} and {nb}"));
            if rows.is_empty() {
                page.para(format!(
                    "No image is in the high group of one of {na} and {nb} and in the low group of the other."
                ));
                continue;
            }
            let mut t = Table::new(["image", &format!("{na} rank"), &format!("{nb} rank"), &format!("{na} groups"), &format!("{nb} groups")])
                .caption(format!("{} images in the high group of one method and the low group of the other, largest rank difference first.", rows.len()))
                .source(amva_analysis::files::IMAGES_CSV, "");
            for &r in &rows {
                let s = |m: usize| &per.standings[m][r];
                t = table_row(
                    t,
                    vec![
                        ids[r].clone().into(),
                        s(a).rank.unwrap_or(0).into(),
                        s(b).rank.unwrap_or(0).into(),
                        s(a).groups.join(", ").into(),
                        s(b).groups.join(", ").into(),
                    ],
                )?;
            }
            page.table(t);
            for (i, &row) in rows.iter().take(k).enumerate() {
                let fig = imgs.figure(analysis, a, row)?;
                let file = format!(
                    "gallery_disagree_{}_{}_{:02}",
                    plan.keys[a],
                    plan.keys[b],
                    i + 1
                );
                let other = format!(
                    " {nb}: rank {}, groups [{}].",
                    per.standings[b][row]
                        .rank
                        .map_or("-".into(), |r| r.to_string()),
                    per.standings[b][row].groups.join(", ")
                );
                page.figure(&file, caption(analysis, a, row) + &other, &fig)?;
            }
        }
    }
    Ok(())
}
