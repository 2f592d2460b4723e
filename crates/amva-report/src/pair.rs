//! The figure of one comparison (`amva compare --pair A B`): each face with its similar
//! and its dissimilar map over it (ALGORITHMS 1.8), the similarity and the threshold.

use amva_draw::{side_by_side, Heatmap, RgbImage};
use amva_draw::{HeatStyled, Styled};

use crate::{ReportError, Result};

/// One face of a comparison and its two finished full-size maps (h x w, 0-1).
pub struct PairFace<'a> {
    pub id: &'a str,
    pub face: &'a RgbImage,
    pub similar: &'a [f32],
    pub dissimilar: &'a [f32],
}

/// The verdict line: similarity, and the decision at `threshold` when given.
pub fn verdict(similarity: f32, threshold: Option<f32>) -> String {
    match threshold {
        Some(t) if similarity >= t => {
            format!("cosine similarity {similarity:.3} >= threshold {t:.3}: match")
        }
        Some(t) => format!("cosine similarity {similarity:.3} < threshold {t:.3}: no match"),
        None => format!("cosine similarity {similarity:.3}"),
    }
}

/// Panel size of the figure of one pair.
pub const PANEL: (u32, u32) = (520, 500);

/// Two rows (a, then b), each the face's similar and dissimilar map over it, panels of
/// `size` (the report's gallery draws them smaller than [`PANEL`]).
pub fn pair_figure_sized(
    a: &PairFace,
    b: &PairFace,
    similarity: f32,
    threshold: Option<f32>,
    size: (u32, u32),
) -> Result<RgbImage> {
    let line = verdict(similarity, threshold);
    let rows = [(a, b), (b, a)]
        .into_iter()
        .map(|(me, other)| face_row(me, other, &line, size))
        .collect::<Result<Vec<_>>>()?;
    Ok(stack(&rows))
}

fn face_row(me: &PairFace, other: &PairFace, line: &str, size: (u32, u32)) -> Result<RgbImage> {
    let (w, h) = (me.face.width() as usize, me.face.height() as usize);
    let panel = |map: &[f32], title: String, label: &str| -> Result<RgbImage> {
        Heatmap::new(map.to_vec(), h, w)
            .map_err(ReportError::draw(me.id))?
            .title(title)
            .colorbar_label(label)
            .range(0.0, 1.0)
            .underlay(me.face.clone(), amva_draw::Blend::Alpha(0.55))
            .note(line.to_string())
            .size(size.0, size.1)
            .render()
            .map_err(ReportError::draw(me.id))
    };
    let similar = panel(
        me.similar,
        format!("{}: supports the match with {}", me.id, other.id),
        "similarity lost when greyed (min-max scaled: 1 = most)",
    )?;
    let dissimilar = panel(
        me.dissimilar,
        format!("{}: works against the match with {}", me.id, other.id),
        "similarity gained when replaced (min-max scaled: 1 = most)",
    )?;
    Ok(side_by_side(&[similar, dissimilar]))
}

/// Images one below the other on white, left-aligned.
fn stack(rows: &[RgbImage]) -> RgbImage {
    let w = rows.iter().map(|r| r.width()).max().unwrap_or(1);
    let h = rows.iter().map(|r| r.height()).sum::<u32>().max(1);
    let mut out = RgbImage::from_pixel(w, h, image::Rgb([255; 3]));
    let mut y = 0;
    for r in rows {
        image::imageops::replace(&mut out, r, 0, y as i64);
        y += r.height();
    }
    out
}

/// One mapped comparison of a finished comparison store with full maps, and its faces.
pub struct StoredPair {
    pub mapped: amva_maps::pair_store::Mapped,
    pub faces: [RgbImage; 2],
    /// similar a, dissimilar a, similar b, dissimilar b (H x W each, 0-1).
    pub maps: [Vec<f32>; 4],
}

impl StoredPair {
    /// The figure of this pair with panels of `size`.
    pub fn figure(&self, threshold: Option<f32>, size: (u32, u32)) -> Result<RgbImage> {
        let c = &self.mapped.comparison;
        let a = PairFace {
            id: &c.a,
            face: &self.faces[0],
            similar: &self.maps[0],
            dissimilar: &self.maps[1],
        };
        let b = PairFace {
            id: &c.b,
            face: &self.faces[1],
            similar: &self.maps[2],
            dissimilar: &self.maps[3],
        };
        pair_figure_sized(&a, &b, self.mapped.similarity, threshold, size)
    }
}

/// The first `k` comparisons of the store in `dir`; the faces from `path_of(id)`,
/// fitted to the maps (grey when unknown or unreadable).
pub fn read_pairs(
    dir: &std::path::Path,
    k: usize,
    path_of: &dyn Fn(&str) -> Option<std::path::PathBuf>,
) -> Result<Vec<StoredPair>> {
    use amva_maps::pair_store::{read_index, ARRAYS, INDEX_FILE};
    let index = read_index(&dir.join(INDEX_FILE))?;
    let read = |k: usize| amva_io::npy::read_f32(&dir.join(ARRAYS[k].0));
    let (sim, dis) = (read(2)?, read(3)?);
    let want = [index.len(), 2];
    if sim.ndim() != 4 || sim.shape() != dis.shape() || sim.shape()[..2] != want {
        return Err(ReportError::Output {
            path: dir.join(ARRAYS[2].0),
            reason: format!(
                "shapes {:?} and {:?}; expected {} x 2 x H x W for the {} comparisons of {INDEX_FILE}, the same in {}",
                sim.shape(),
                dis.shape(),
                index.len(),
                index.len(),
                ARRAYS[3].0
            ),
        });
    }
    let (h, w) = (sim.shape()[2], sim.shape()[3]);
    let (sim, dis) = (
        sim.into_raw_vec_and_offset().0,
        dis.into_raw_vec_and_offset().0,
    );
    let at = |v: &[f32], k: usize| v[k * h * w..(k + 1) * h * w].to_vec();
    let load = |id: &str| {
        path_of(id)
            .and_then(|p| amva_io::images::load_fitted(&p, w as u32, h as u32, true).ok())
            .unwrap_or_else(|| RgbImage::from_pixel(w as u32, h as u32, image::Rgb([128; 3])))
    };
    Ok(index
        .into_iter()
        .take(k)
        .enumerate()
        .map(|(i, mapped)| StoredPair {
            faces: [load(&mapped.comparison.a), load(&mapped.comparison.b)],
            maps: [
                at(&sim, 2 * i),
                at(&dis, 2 * i),
                at(&sim, 2 * i + 1),
                at(&dis, 2 * i + 1),
            ],
            mapped,
        })
        .collect())
}

/// Draws the first comparison of a finished comparison store with full maps into
/// `out/pair.png` (faces read below `root`); returns its path.
pub fn write_pair_figure(
    out: &std::path::Path,
    root: &std::path::Path,
    threshold: Option<f32>,
) -> Result<std::path::PathBuf> {
    let pair = read_pairs(out, 1, &|id| Some(root.join(id)))?
        .pop()
        .ok_or_else(|| ReportError::Output {
            path: out.into(),
            reason: "no mapped comparison (see failed.csv)".into(),
        })?;
    let fig = pair.figure(threshold, PANEL)?;
    let path = out.join("pair.png");
    amva_draw::write_png_atomic(&path, &fig).map_err(ReportError::draw("pair.png"))?;
    Ok(path)
}

/// Pairs in the report's gallery of failing comparisons, at most.
pub const GALLERY_MAX: usize = 6;

/// The report's gallery of the worst failing comparisons (the first rows of the
/// analysis's comparison store: false non-matches by lowest similarity first), each
/// with both faces and their maps, at most min(k, [`GALLERY_MAX`]).
pub(crate) fn failing_gallery(
    analysis: &amva_analysis::Analysis,
    opts: &amva_analysis::options::AnalyzeOptions,
    dir: &std::path::Path,
    k: usize,
    page: &mut crate::page::Page<'_>,
) -> Result<()> {
    let faces = analysis.plan.faces.as_ref();
    let root = opts.images.as_ref().filter(|p| p.is_dir());
    let path_of = |id: &str| {
        faces
            .and_then(|f| f.get(id).cloned())
            .or_else(|| root.map(|r| r.join(id)))
    };
    let pairs = read_pairs(dir, k.min(GALLERY_MAX), &path_of)?;
    if pairs.is_empty() {
        return Ok(());
    }
    let t = analysis.edc.as_ref().map(|e| e.report.threshold as f32);
    page.para(format!(
        "The worst failing comparisons, each face with its similar map (what supports the match with the other face) and its dissimilar map (what works against it), ALGORITHMS 1.8. Every failing comparison's maps (up to --pair-maps) are in {}/ (index.csv, similar_full.npy, dissimilar_full.npy) and in explorer.html's comparisons view.",
        amva_analysis::files::COMPARISONS_DIR
    ));
    for (i, p) in pairs.iter().enumerate() {
        let c = &p.mapped.comparison;
        let kind = if c.mated == Some(true) {
            "false non-match"
        } else {
            "false match"
        };
        page.figure(
            &format!("failing_{i:02}"),
            format!(
                "{kind}: {} vs {} (pairs file line {}), similarity {:.3}",
                c.a, c.b, c.line, p.mapped.similarity
            ),
            &p.figure(t, (300, 290))?,
        )?;
    }
    Ok(())
}
