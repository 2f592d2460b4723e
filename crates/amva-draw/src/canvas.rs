//! The one surface figures draw on: a tiny-skia [`Pixmap`], opaque, with the few
//! operations figures need (pixels, rectangles, translucent shading, polylines with
//! dashes, and text, rotated through a [`Transform`]). All compositing is tiny-skia's.

use image::RgbImage;
use tiny_skia::{
    ColorU8, FilterQuality, LineCap, LineJoin, Paint, PathBuilder, Pixmap, PixmapPaint, Rect,
    Stroke, StrokeDash, Transform,
};

use crate::error::{DrawError, Result};
use crate::text::{line_height, rasterise, Anchor, TOP_CENTER};

/// A line to draw with [`Canvas::stroke`].
pub(crate) struct Polyline {
    /// Pixel coordinates.
    pub points: Vec<(f64, f64)>,
    pub color: [u8; 3],
    /// Width in pixels.
    pub width: f64,
    /// Dash and gap lengths in pixels.
    pub dash: Option<(f64, f64)>,
}

/// The path through `points`, if there are at least two.
fn polyline_path(points: &[(f64, f64)]) -> Option<tiny_skia::Path> {
    let mut pb = PathBuilder::new();
    let (&(x, y), rest) = points.split_first()?;
    pb.move_to(x as f32, y as f32);
    for &(x, y) in rest {
        pb.line_to(x as f32, y as f32);
    }
    pb.finish()
}

/// An opaque RGB figure being drawn.
pub(crate) struct Canvas {
    pixmap: Pixmap,
    /// Figure name for error messages.
    what: String,
}

fn paint(c: [u8; 3], alpha: u8) -> Paint<'static> {
    let mut paint = Paint::default();
    paint.set_color_rgba8(c[0], c[1], c[2], alpha);
    paint
}

/// An RGBA layer of `width x height` pixels of `rgb` with per-pixel opacity `alpha`
/// (row-major); `None` if the size is zero.
fn layer(width: usize, height: usize, rgb: [u8; 3], alpha: impl Fn(usize) -> u8) -> Option<Pixmap> {
    let mut layer = Pixmap::new(width as u32, height as u32)?;
    for (i, px) in layer.pixels_mut().iter_mut().enumerate() {
        *px = ColorU8::from_rgba(rgb[0], rgb[1], rgb[2], alpha(i)).premultiply();
    }
    Some(layer)
}

impl Canvas {
    pub fn new(what: &str, width: u32, height: u32, background: [u8; 3]) -> Result<Self> {
        let mut pixmap = Pixmap::new(width, height).ok_or_else(|| DrawError::Draw {
            what: what.to_string(),
            message: format!("cannot allocate a {width} x {height} canvas"),
        })?;
        let [r, g, b] = background;
        pixmap.fill(tiny_skia::Color::from_rgba8(r, g, b, 255));
        Ok(Canvas {
            pixmap,
            what: what.to_string(),
        })
    }

    /// A canvas holding `image`, to draw over it.
    pub fn from_image(what: &str, image: &RgbImage) -> Result<Self> {
        let mut canvas = Canvas::new(what, image.width(), image.height(), [0, 0, 0])?;
        for (px, p) in canvas.pixmap.pixels_mut().iter_mut().zip(image.pixels()) {
            *px = ColorU8::from_rgba(p[0], p[1], p[2], 255).premultiply();
        }
        Ok(canvas)
    }

    /// Sets one pixel; coordinates outside the canvas are ignored.
    pub fn put(&mut self, x: i64, y: i64, c: [u8; 3]) {
        let (w, h) = (
            i64::from(self.pixmap.width()),
            i64::from(self.pixmap.height()),
        );
        if x >= 0 && y >= 0 && x < w && y < h {
            let i = (y * w + x) as usize;
            self.pixmap.pixels_mut()[i] = ColorU8::from_rgba(c[0], c[1], c[2], 255).premultiply();
        }
    }

    /// Fills the rectangle `[x0, x1) x [y0, y1)` with `c` at opacity `alpha`.
    fn rect(&mut self, (x0, y0, x1, y1): (i64, i64, i64, i64), c: [u8; 3], alpha: u8) {
        if let Some(r) = Rect::from_ltrb(x0 as f32, y0 as f32, x1 as f32, y1 as f32) {
            self.pixmap
                .fill_rect(r, &paint(c, alpha), Transform::identity(), None);
        }
    }

    /// Fills the rectangle `[x0, x1) x [y0, y1)`.
    pub fn fill_rect(&mut self, x0: i64, y0: i64, x1: i64, y1: i64, c: [u8; 3]) {
        self.rect((x0, y0, x1, y1), c, 255);
    }

    /// Covers the rectangle `[x0, x1) x [y0, y1)` with `c` at opacity `alpha` in `[0, 1]`.
    pub fn shade(&mut self, x0: i64, y0: i64, x1: i64, y1: i64, c: [u8; 3], alpha: f32) {
        self.rect(
            (x0, y0, x1, y1),
            c,
            (alpha.clamp(0.0, 1.0) * 255.0).round() as u8,
        );
    }

    /// Composites `rgb` over the `width x height` block at `(x, y)`, each pixel at its
    /// own opacity `alpha(i)` (row-major index): e.g. the dark edges of an outline.
    pub fn shade_pixels(
        &mut self,
        (x, y): (u32, u32),
        (width, height): (usize, usize),
        rgb: [u8; 3],
        alpha: impl Fn(usize) -> u8,
    ) {
        if let Some(l) = layer(width, height, rgb, alpha) {
            let paint = PixmapPaint {
                quality: FilterQuality::Nearest,
                ..PixmapPaint::default()
            };
            let t = Transform::identity();
            self.pixmap
                .draw_pixmap(x as i32, y as i32, l.as_ref(), &paint, t, None);
        }
    }

    /// A horizontal line from `x0` to `x1` (inclusive) at row `y`, `width` pixels thick
    /// (growing downwards).
    pub fn hline(&mut self, x0: i64, x1: i64, y: i64, width: i64, c: [u8; 3]) {
        self.fill_rect(x0.min(x1), y, x0.max(x1) + 1, y + width.max(1), c);
    }

    /// A vertical line from `y0` to `y1` (inclusive) at column `x`, `width` pixels thick
    /// (growing rightwards).
    pub fn vline(&mut self, x: i64, y0: i64, y1: i64, width: i64, c: [u8; 3]) {
        self.fill_rect(x, y0.min(y1), x + width.max(1), y0.max(y1) + 1, c);
    }

    /// A one-pixel frame just inside the rectangle `[x0, x1) x [y0, y1)`.
    pub fn frame(&mut self, x0: i64, y0: i64, x1: i64, y1: i64, c: [u8; 3]) {
        if x1 <= x0 || y1 <= y0 {
            return;
        }
        self.hline(x0, x1 - 1, y0, 1, c);
        self.hline(x0, x1 - 1, y1 - 1, 1, c);
        self.vline(x0, y0, y1 - 1, 1, c);
        self.vline(x1 - 1, y0, y1 - 1, 1, c);
    }

    /// Draws one line of text with its anchor at `(x, y)`. With `rotate` the text reads
    /// bottom to top (like a matplotlib y label) and the anchor refers to the text's own
    /// directions (left = bottom end).
    #[allow(clippy::too_many_arguments)]
    pub fn text(
        &mut self,
        text: &str,
        (x, y): (f64, f64),
        size: f64,
        bold: bool,
        anchor: Anchor,
        rotate: bool,
        color: [u8; 3],
    ) {
        let mask = rasterise(text, size, bold);
        let coverage = |i: usize| (mask.coverage[i] * 255.0).round() as u8;
        let Some(glyphs) = layer(mask.stride, mask.height, color, coverage) else {
            return;
        };
        let (ax, ay) = mask.anchor_point(anchor);
        let (x, y) = (x as f32, y as f32);
        // Mask pixel (mx, my) lands on pixel (x0 + mx, y0 + my), or rotated a quarter
        // turn counter-clockwise on (x0 + my, y0 - mx).
        let transform = if rotate {
            let (x0, y0) = ((x - ay).round(), (y + ax).round());
            Transform::from_row(0.0, -1.0, 1.0, 0.0, x0, y0 + 1.0)
        } else {
            Transform::from_translate((x - ax).round(), (y - ay).round())
        };
        let paint = PixmapPaint {
            quality: FilterQuality::Nearest,
            ..PixmapPaint::default()
        };
        self.pixmap
            .draw_pixmap(0, 0, glyphs.as_ref(), &paint, transform, None);
    }

    /// Draws lines of text stacked downwards from `top`, each centred on `x`.
    pub fn lines_centered(
        &mut self,
        lines: &[String],
        x: f64,
        top: f64,
        size: f64,
        bold: bool,
        color: [u8; 3],
    ) {
        for (i, line) in lines.iter().enumerate() {
            let y = top + i as f64 * line_height(size);
            self.text(line, (x, y), size, bold, TOP_CENTER, false, color);
        }
    }

    /// Draws anti-aliased polylines (pixel coordinates). The lines of one call are
    /// stroked onto a transparent layer the size of their bounding box, which is then
    /// composited: where curves of one plot cross, they blend with each other first.
    pub fn stroke(&mut self, lines: &[Polyline]) {
        let Some((x0, y0, layer)) = self.stroke_layer(lines) else {
            return;
        };
        let t = Transform::identity();
        self.pixmap
            .draw_pixmap(x0, y0, layer.as_ref(), &PixmapPaint::default(), t, None);
    }

    /// `lines` stroked onto a layer covering their bounding box within the canvas, and
    /// the layer's position.
    fn stroke_layer(&self, lines: &[Polyline]) -> Option<(i32, i32, Pixmap)> {
        let pad = lines.iter().map(|l| l.width).fold(0.0, f64::max) + 2.0;
        let pts = || lines.iter().flat_map(|l| l.points.iter());
        let lo = |f: fn(&(f64, f64)) -> f64| pts().map(f).fold(f64::INFINITY, f64::min) - pad;
        let hi = |f: fn(&(f64, f64)) -> f64| pts().map(f).fold(f64::NEG_INFINITY, f64::max) + pad;
        let (w, h) = (
            f64::from(self.pixmap.width()),
            f64::from(self.pixmap.height()),
        );
        let (x0, y0) = (lo(|p| p.0).floor().max(0.0), lo(|p| p.1).floor().max(0.0));
        let (x1, y1) = (hi(|p| p.0).ceil().min(w), hi(|p| p.1).ceil().min(h));
        if !(x1 > x0 && y1 > y0) {
            return None;
        }
        let mut layer = Pixmap::new((x1 - x0) as u32, (y1 - y0) as u32)?;
        let t = Transform::from_translate(-x0 as f32, -y0 as f32);
        for line in lines {
            let Some(path) = polyline_path(&line.points) else {
                continue;
            };
            let mut paint = paint(line.color, 255);
            paint.anti_alias = true;
            let stroke = Stroke {
                width: line.width as f32,
                line_join: LineJoin::Round,
                line_cap: LineCap::Butt,
                dash: line
                    .dash
                    .and_then(|(on, off)| StrokeDash::new(vec![on as f32, off as f32], 0.0)),
                ..Default::default()
            };
            layer.stroke_path(&path, &paint, &stroke, t, None);
        }
        Some((x0 as i32, y0 as i32, layer))
    }

    /// The figure as an RGB image (the canvas is opaque: alpha is dropped).
    pub fn into_image(self) -> Result<RgbImage> {
        let (w, h) = (self.pixmap.width(), self.pixmap.height());
        let rgb = self
            .pixmap
            .pixels()
            .iter()
            .flat_map(|p| [p.red(), p.green(), p.blue()])
            .collect();
        RgbImage::from_raw(w, h, rgb).ok_or_else(|| DrawError::Draw {
            what: self.what,
            message: format!("pixel buffer does not match {w} x {h}"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::{ensure_fonts, CENTER};

    const WHITE: [u8; 3] = [255, 255, 255];

    /// Bounding box (x0, y0, x1, y1), inclusive, of the pixels that are not white.
    fn ink_box(img: &RgbImage) -> (u32, u32, u32, u32) {
        let mut b = (u32::MAX, u32::MAX, 0, 0);
        for (x, y, p) in img.enumerate_pixels() {
            if p.0 != WHITE {
                b = (b.0.min(x), b.1.min(y), b.2.max(x), b.3.max(y));
            }
        }
        b
    }

    fn text_image(rotate: bool) -> RgbImage {
        let mut c = Canvas::new("test", 120, 120, WHITE).unwrap();
        c.text("Wide", (60.0, 60.0), 20.0, false, CENTER, rotate, [0, 0, 0]);
        c.into_image().unwrap()
    }

    #[test]
    fn rotated_text_is_the_upright_text_turned_a_quarter_counter_clockwise() {
        ensure_fonts().unwrap();
        let (upright, rotated) = (text_image(false), text_image(true));
        let (a, b) = (ink_box(&upright), ink_box(&rotated));
        let (w, h) = (a.2 - a.0 + 1, a.3 - a.1 + 1);
        assert!(w > 2 * h, "upright text is wide: {w} x {h}");
        assert_eq!((b.2 - b.0 + 1, b.3 - b.1 + 1), (h, w), "{a:?} {b:?}");
        // Pixel for pixel: upright rows become rotated columns, and the text's left end
        // is at the bottom.
        for y in a.1..=a.3 {
            for x in a.0..=a.2 {
                let (rx, ry) = (b.0 + (y - a.1), b.3 - (x - a.0));
                assert_eq!(upright.get_pixel(x, y), rotated.get_pixel(rx, ry));
            }
        }
        // Centred on the anchor within a pixel or two.
        for (lo, hi) in [(a.0, a.2), (b.1, b.3)] {
            assert!(((lo + hi) as f64 / 2.0 - 60.0).abs() <= 2.0, "{lo}..{hi}");
        }
    }

    #[test]
    fn strokes_dashes_and_shading_land_where_asked() {
        let mut c = Canvas::new("test", 100, 40, WHITE).unwrap();
        let line = |y: f64, dash| Polyline {
            points: vec![(10.0, y), (90.0, y)],
            color: [0, 0, 255],
            width: 2.0,
            dash,
        };
        c.stroke(&[line(10.0, None), line(30.0, Some((10.0, 10.0)))]);
        c.shade(0, 0, 5, 5, [0, 0, 0], 0.6);
        let img = c.into_image().unwrap();
        // Solid: blue along its length between y = 9 and 10, white beyond its ends.
        for x in 10..90 {
            assert_eq!(img.get_pixel(x, 9).0, [0, 0, 255], "x = {x}");
        }
        assert_eq!(img.get_pixel(95, 9).0, WHITE);
        assert_eq!(img.get_pixel(50, 15).0, WHITE);
        // Dashed: on for 10 px, off for 10 px from x = 10.
        assert_eq!(img.get_pixel(15, 29).0, [0, 0, 255]);
        assert_eq!(img.get_pixel(25, 29).0, WHITE);
        assert_eq!(img.get_pixel(35, 29).0, [0, 0, 255]);
        // 60 % black over white: 40 % of 255 = 102, within a level of rounding.
        let v = img.get_pixel(2, 2).0[0];
        assert!(v.abs_diff(102) <= 1, "{v}");
        assert_eq!(img.get_pixel(5, 2).0, WHITE);
    }
}
