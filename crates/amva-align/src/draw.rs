//! Preview images: the photo with face boxes and landmarks drawn on it (through
//! amva-draw's canvas, like every figure).

use crate::detect::{BoxF, Detection};
use crate::pipeline::FaceSearch;
use crate::similarity::Point;
use crate::Result;
use amva_draw::Mark;
use image::RgbImage;

const GREEN: [u8; 3] = [0, 230, 0];
const GREY: [u8; 3] = [150, 150, 150];
const RED: [u8; 3] = [255, 40, 40];
const CYAN: [u8; 3] = [0, 220, 255];

/// Line width scaled to the image, so previews of large photos stay legible.
fn thickness(img: &RgbImage) -> i64 {
    (img.width().max(img.height()) as i64 / 400).max(1)
}

/// The outline of `b` (corners rounded to pixels), `width` pixels thick, inside it.
fn outline(b: &BoxF, width: i64, color: [u8; 3]) -> Mark {
    Mark::Box {
        x0: b.x1.round() as i64,
        y0: b.y1.round() as i64,
        x1: b.x2.round() as i64,
        y1: b.y2.round() as i64,
        width,
        color,
    }
}

/// A filled square of side `2 * radius + 1` at `p` (rounded to a pixel).
fn dot(p: Point, radius: i64, color: [u8; 3]) -> Mark {
    Mark::Dot {
        x: p[0].round() as i64,
        y: p[1].round() as i64,
        radius,
        color,
    }
}

/// A copy of `img` with the faces of `found`: aligned faces in green with their 68
/// points in red and five alignment points in cyan; too-small faces in grey.
pub fn preview(img: &RgbImage, found: &FaceSearch) -> Result<RgbImage> {
    let t = thickness(img);
    let mut marks: Vec<Mark> = found
        .too_small
        .iter()
        .map(|d| outline(&d.bbox, t, GREY))
        .collect();
    for f in &found.faces {
        if let Some(Detection { bbox, .. }) = &f.detection {
            marks.push(outline(bbox, t, GREEN));
        }
        marks.extend(f.landmarks68.iter().flatten().map(|p| dot(*p, t / 2, RED)));
        marks.extend(f.landmarks.iter().map(|p| dot(*p, t, CYAN)));
    }
    Ok(amva_draw::draw_marks(img, &marks)?)
}
