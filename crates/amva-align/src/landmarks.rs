//! The landmark model's arithmetic, without the model: which part of the image it sees
//! and how its 68 points become the five alignment points (ALGORITHMS 8.2).

use crate::detect::BoxF;
use crate::similarity::Point;

/// Side of the landmark model's grey input.
pub const LANDMARK_INPUT: u32 = 64;

/// An integer pixel rectangle inside an image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CropRect {
    pub x: u32,
    pub y: u32,
    pub w: u32,
    pub h: u32,
}

/// The rectangle cropped for the landmark model from a square face box (the JS's
/// `predictLandmarkImage` + `alignLandmarkImage` with scale 1): the box corners
/// truncated to integers, shrunk if larger than the image, shifted back inside it.
/// `None` when the rectangle would be empty.
pub fn landmark_crop(square: &BoxF, img_w: u32, img_h: u32) -> Option<CropRect> {
    if img_w < 2 || img_h < 2 {
        return None;
    }
    // parseInt of non-negative coordinates = truncation.
    let (x1, y1, x2, y2) = (
        square.x1.trunc(),
        square.y1.trunc(),
        square.x2.trunc(),
        square.y2.trunc(),
    );
    let (bw, bh) = ((x2 - x1).abs() as f64, (y2 - y1).abs() as f64);
    if bw < 1.0 || bh < 1.0 || !bw.is_finite() || !bh.is_finite() {
        return None;
    }
    let (sw, sh) = (img_w as f64, img_h as f64);
    let scale = ((sh - 1.0) / bh).min((sw - 1.0) / bw).min(1.0);
    let (nw, nh) = (bw * scale, bh * scale);
    let (cx, cy) = (bw / 2.0 + x1 as f64, bh / 2.0 + y1 as f64);
    let (mut lx, mut ly, mut rx, mut ry) =
        (cx - nw / 2.0, cy - nh / 2.0, cx + nw / 2.0, cy + nh / 2.0);
    if lx < 0.0 {
        rx -= lx;
        lx = 0.0;
    }
    if ly < 0.0 {
        ry -= ly;
        ly = 0.0;
    }
    if rx > sw - 1.0 {
        lx -= rx - sw + 1.0;
        rx = sw - 1.0;
    }
    if ry > sh - 1.0 {
        ly -= ry - sh + 1.0;
        ry = sh - 1.0;
    }
    let x = lx.trunc().max(0.0) as u32;
    let y = ly.trunc().max(0.0) as u32;
    let w = ((rx - lx).trunc().min(sw - 1.0) as u32).min(img_w - x);
    let h = ((ry - ly).trunc().min(sh - 1.0) as u32).min(img_h - y);
    (w > 0 && h > 0).then_some(CropRect { x, y, w, h })
}

/// Model outputs (136 values: x, y pairs as fractions of the crop) to image pixels.
/// (The JS truncates them to whole pixels; amva keeps the fractions.)
pub fn crop_to_image(out: &[f32], crop: &CropRect) -> Vec<Point> {
    out.chunks_exact(2)
        .map(|p| {
            [
                crop.x as f64 + p[0] as f64 * crop.w as f64,
                crop.y as f64 + p[1] as f64 * crop.h as f64,
            ]
        })
        .collect()
}

/// The five alignment points from the 68-point (iBUG 300-W) layout: the image-left eye
/// centre (mean of points 36-41), the image-right eye centre (42-47), the nose tip (30),
/// the mouth corners (48, 54). `None` unless there are exactly 68 points.
pub fn reduce_68_to_5(p: &[Point]) -> Option<[Point; 5]> {
    if p.len() != 68 {
        return None;
    }
    let mean = |r: std::ops::Range<usize>| {
        let n = r.len() as f64;
        let s = p[r]
            .iter()
            .fold([0.0, 0.0], |a, q| [a[0] + q[0], a[1] + q[1]]);
        [s[0] / n, s[1] / n]
    };
    Some([mean(36..42), mean(42..48), p[30], p[48], p[54]])
}
