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

/// Two rows (a, then b), each the face's similar and dissimilar map over it.
pub fn pair_figure(
    a: &PairFace,
    b: &PairFace,
    similarity: f32,
    threshold: Option<f32>,
) -> Result<RgbImage> {
    let line = verdict(similarity, threshold);
    let rows = [(a, b), (b, a)]
        .into_iter()
        .map(|(me, other)| face_row(me, other, &line))
        .collect::<Result<Vec<_>>>()?;
    Ok(stack(&rows))
}

fn face_row(me: &PairFace, other: &PairFace, line: &str) -> Result<RgbImage> {
    let (w, h) = (me.face.width() as usize, me.face.height() as usize);
    let panel = |map: &[f32], title: String, label: &str| -> Result<RgbImage> {
        Heatmap::new(map.to_vec(), h, w)
            .map_err(ReportError::draw(me.id))?
            .title(title)
            .colorbar_label(label)
            .range(0.0, 1.0)
            .underlay(me.face.clone(), amva_draw::Blend::Alpha(0.55))
            .note(line.to_string())
            .size(520, 500)
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

/// Draws the first comparison of a finished comparison store with full maps into
/// `out/pair.png` (faces read below `root`, fitted to the maps); returns its path.
pub fn write_pair_figure(
    out: &std::path::Path,
    root: &std::path::Path,
    threshold: Option<f32>,
) -> Result<std::path::PathBuf> {
    use amva_maps::pair_store::{read_index, ARRAYS, INDEX_FILE};
    let bad = |reason: String| ReportError::Output {
        path: out.into(),
        reason,
    };
    let index = read_index(&out.join(INDEX_FILE))?;
    let first = index
        .first()
        .ok_or_else(|| bad("no mapped comparison (see failed.csv)".into()))?;
    let read = |k: usize| amva_io::npy::read_f32(&out.join(ARRAYS[k].0));
    let (sim, dis) = (read(2)?, read(3)?);
    let shape = sim.shape().to_vec();
    let (h, w) = (shape[2], shape[3]);
    let (sim, dis) = (
        sim.into_raw_vec_and_offset().0,
        dis.into_raw_vec_and_offset().0,
    );
    let c = &first.comparison;
    let load = |id: &str| amva_io::images::load_fitted(&root.join(id), w as u32, h as u32, true);
    let (fa, fb) = (load(&c.a)?, load(&c.b)?);
    let at = |v: &[f32], k: usize| v[k * h * w..(k + 1) * h * w].to_vec();
    let (sa, da, sb, db) = (at(&sim, 0), at(&dis, 0), at(&sim, 1), at(&dis, 1));
    let a = PairFace {
        id: &c.a,
        face: &fa,
        similar: &sa,
        dissimilar: &da,
    };
    let b = PairFace {
        id: &c.b,
        face: &fb,
        similar: &sb,
        dissimilar: &db,
    };
    let fig = pair_figure(&a, &b, first.similarity, threshold)?;
    let path = out.join("pair.png");
    amva_draw::write_png_atomic(&path, &fig).map_err(ReportError::draw("pair.png"))?;
    Ok(path)
}
