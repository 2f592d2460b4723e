//! Marks on a photo: box outlines and filled squares, e.g. the faces a detector found
//! and their landmarks. Drawn through the canvas like every figure.

use image::RgbImage;

use crate::canvas::Canvas;
use crate::error::Result;

/// One mark, in whole pixels of the image it is drawn on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mark {
    /// The outline of the box from `(x0, y0)` to `(x1, y1)` (both corners inside the
    /// box), `width` pixels thick, growing inwards from the edges.
    Box {
        x0: i64,
        y0: i64,
        x1: i64,
        y1: i64,
        width: i64,
        color: [u8; 3],
    },
    /// A filled square of side `2 * radius + 1` centred on `(x, y)`.
    Dot {
        x: i64,
        y: i64,
        radius: i64,
        color: [u8; 3],
    },
}

/// A copy of `image` with `marks` drawn in order, each over the ones before; what
/// falls outside the image is cut off.
pub fn draw_marks(image: &RgbImage, marks: &[Mark]) -> Result<RgbImage> {
    if image.width() == 0 || image.height() == 0 {
        return Ok(image.clone());
    }
    let mut canvas = Canvas::from_image("marked image", image)?;
    let (w, h) = (i64::from(image.width()), i64::from(image.height()));
    // Rectangles are cut to one pixel around the image, so coordinates from a wild
    // detector box stay small enough for the canvas's float arithmetic.
    let mut fill = |x0: i64, y0: i64, x1: i64, y1: i64, c: [u8; 3]| {
        let cx = |x: i64| x.clamp(-1, w + 1);
        let cy = |y: i64| y.clamp(-1, h + 1);
        canvas.fill_rect(cx(x0), cy(y0), cx(x1), cy(y1), c);
    };
    for m in marks {
        match *m {
            Mark::Box {
                x0,
                y0,
                x1,
                y1,
                width,
                color,
            } => {
                let (right, bottom) = (x1.saturating_add(1), y1.saturating_add(1));
                fill(x0, y0, right, y0.saturating_add(width), color);
                fill(
                    x0,
                    y1.saturating_sub(width).saturating_add(1),
                    right,
                    bottom,
                    color,
                );
                fill(x0, y0, x0.saturating_add(width), bottom, color);
                fill(
                    x1.saturating_sub(width).saturating_add(1),
                    y0,
                    right,
                    bottom,
                    color,
                );
            }
            Mark::Dot {
                x,
                y,
                radius,
                color,
            } => fill(
                x.saturating_sub(radius),
                y.saturating_sub(radius),
                x.saturating_add(radius).saturating_add(1),
                y.saturating_add(radius).saturating_add(1),
                color,
            ),
        }
    }
    canvas.into_image()
}
