//! A pixel buffer that figures paint directly (heat panels, colour bars, text, lines);
//! the embedded font and the text layout helpers.

use std::sync::LazyLock;

use ab_glyph::{point, Font, FontRef, PxScale, ScaleFont};
use image::RgbImage;

use crate::error::{ReportError, Result};

/// DejaVu Sans regular and bold, embedded (see the `dejavu` crate for the licence).
struct Fonts {
    regular: FontRef<'static>,
    bold: FontRef<'static>,
}

static FONTS: LazyLock<Option<Fonts>> = LazyLock::new(|| {
    Some(Fonts {
        regular: FontRef::try_from_slice(dejavu::sans::regular()).ok()?,
        bold: FontRef::try_from_slice(dejavu::sans::bold()).ok()?,
    })
});

/// Checks that the embedded fonts load (they always should; this turns the impossible
/// case into an error instead of a panic).
pub(crate) fn ensure_fonts() -> Result<()> {
    FONTS.as_ref().map(|_| ()).ok_or(ReportError::Font)
}

fn face(bold: bool) -> Option<&'static FontRef<'static>> {
    FONTS
        .as_ref()
        .map(|f| if bold { &f.bold } else { &f.regular })
}

/// Text rasterised into a coverage mask, with the metrics needed to anchor it.
struct TextMask {
    /// Advance width of the text (what alignment uses).
    width: usize,
    /// Row length of `coverage` (a little wider than `width` for overhanging glyphs).
    stride: usize,
    height: usize,
    coverage: Vec<f32>,
    /// Row of the baseline within the mask.
    baseline: f32,
    /// Height of capital letters above the baseline.
    cap_height: f32,
    /// Depth of descenders below the baseline (positive).
    descent: f32,
}

/// Rasterises one line of text at `size` px (ab_glyph scale: ascent - descent).
fn rasterise(text: &str, size: f64, bold: bool) -> TextMask {
    let Some(font) = face(bold) else {
        return TextMask {
            width: 0,
            stride: 0,
            height: 0,
            coverage: Vec::new(),
            baseline: 0.0,
            cap_height: 0.0,
            descent: 0.0,
        };
    };
    let scaled = font.as_scaled(PxScale::from(size as f32));
    let ascent = scaled.ascent();
    let descent = scaled.descent();
    let mut glyphs = Vec::new();
    let mut caret = 0.0f32;
    let mut prev = None;
    for c in text.chars() {
        let id = scaled.glyph_id(c);
        if let Some(p) = prev {
            caret += scaled.kern(p, id);
        }
        glyphs.push(id.with_scale_and_position(scaled.scale(), point(caret, ascent.ceil())));
        caret += scaled.h_advance(id);
        prev = Some(id);
    }
    let stride = caret.ceil().max(0.0) as usize + 2;
    let height = (ascent.ceil() - descent.floor()) as usize + 2;
    let mut coverage = vec![0.0f32; stride * height];
    for g in glyphs {
        if let Some(outlined) = font.outline_glyph(g) {
            let b = outlined.px_bounds();
            outlined.draw(|x, y, c| {
                let px = b.min.x as i64 + i64::from(x);
                let py = b.min.y as i64 + i64::from(y);
                if px >= 0 && py >= 0 && (px as usize) < stride && (py as usize) < height {
                    let slot = &mut coverage[py as usize * stride + px as usize];
                    *slot = (*slot + c).min(1.0);
                }
            });
        }
    }
    let cap_height = font
        .outline_glyph(scaled.scaled_glyph('H'))
        .map_or(ascent * 0.7, |o| -o.px_bounds().min.y);
    TextMask {
        width: caret.ceil() as usize,
        stride,
        height,
        coverage,
        baseline: ascent.ceil(),
        cap_height,
        descent: -descent,
    }
}

/// Width and height in pixels of one line of `text` at `size`.
pub(crate) fn text_size(text: &str, size: f64, bold: bool) -> (u32, u32) {
    let Some(font) = face(bold) else {
        return (0, 0);
    };
    let scaled = font.as_scaled(PxScale::from(size as f32));
    let mut caret = 0.0f32;
    let mut prev = None;
    for c in text.chars() {
        let id = scaled.glyph_id(c);
        if let Some(p) = prev {
            caret += scaled.kern(p, id);
        }
        caret += scaled.h_advance(id);
        prev = Some(id);
    }
    (
        caret.ceil() as u32,
        (scaled.ascent() - scaled.descent()).ceil() as u32,
    )
}

/// Text width in pixels.
pub(crate) fn text_width(text: &str, size: f64, bold: bool) -> u32 {
    text_size(text, size, bold).0
}
/// Greedy word wrap of `text` into lines no wider than `max_width` (a single word
/// wider than that stays on its own line).
fn wrap(text: &str, max_width: f64, size: f64, bold: bool) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    for paragraph in text.split('\n') {
        let mut line = String::new();
        for word in paragraph.split_whitespace() {
            let candidate = if line.is_empty() {
                word.to_string()
            } else {
                format!("{line} {word}")
            };
            if line.is_empty() || f64::from(text_width(&candidate, size, bold)) <= max_width {
                line = candidate;
            } else {
                lines.push(std::mem::replace(&mut line, word.to_string()));
            }
        }
        lines.push(line);
    }
    lines
}

/// Lays `text` out in at most `max_lines` lines no wider than `max_width`, shrinking the
/// font from `size` down to `min_size` if it must. Returns the size used and the lines.
pub(crate) fn fit_lines(
    text: &str,
    max_width: f64,
    size: f64,
    min_size: f64,
    max_lines: usize,
    bold: bool,
) -> (f64, Vec<String>) {
    let mut s = size;
    loop {
        let lines = wrap(text, max_width, s, bold);
        let fits = lines.len() <= max_lines
            && lines
                .iter()
                .all(|l| f64::from(text_width(l, s, bold)) <= max_width);
        if fits || s <= min_size {
            return (s, lines);
        }
        s = (s * 0.92).max(min_size);
    }
}

/// Horizontal alignment of text to its anchor point.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum HAlign {
    Left,
    Center,
    Right,
}

/// Vertical alignment of text to its anchor point.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum VAlign {
    /// The anchor is at the top of the line (ascent).
    Top,
    /// The anchor is half-way up the capital letters: looks centred on a tick.
    Middle,
    /// The anchor is at the bottom of the line (descent).
    Bottom,
}

/// How a text's anchor point relates to the text.
#[derive(Clone, Copy)]
pub(crate) struct Anchor {
    pub h: HAlign,
    pub v: VAlign,
}

pub(crate) const TOP_CENTER: Anchor = Anchor {
    h: HAlign::Center,
    v: VAlign::Top,
};
pub(crate) const CENTER: Anchor = Anchor {
    h: HAlign::Center,
    v: VAlign::Middle,
};
pub(crate) const LEFT_CENTER: Anchor = Anchor {
    h: HAlign::Left,
    v: VAlign::Middle,
};
pub(crate) const RIGHT_CENTER: Anchor = Anchor {
    h: HAlign::Right,
    v: VAlign::Middle,
};
pub(crate) const LEFT_TOP: Anchor = Anchor {
    h: HAlign::Left,
    v: VAlign::Top,
};
pub(crate) const LEFT_BOTTOM: Anchor = Anchor {
    h: HAlign::Left,
    v: VAlign::Bottom,
};

/// An RGB pixel buffer, row-major, 3 bytes a pixel.
pub(crate) struct Canvas {
    pub width: u32,
    pub height: u32,
    buf: Vec<u8>,
    /// Figure name for error messages.
    what: String,
}

impl Canvas {
    pub fn new(what: &str, width: u32, height: u32, background: [u8; 3]) -> Self {
        let mut buf = Vec::with_capacity(width as usize * height as usize * 3);
        for _ in 0..width as usize * height as usize {
            buf.extend_from_slice(&background);
        }
        Canvas {
            width,
            height,
            buf,
            what: what.to_string(),
        }
    }

    /// Sets one pixel; coordinates outside the canvas are ignored.
    pub fn put(&mut self, x: i64, y: i64, c: [u8; 3]) {
        if x >= 0 && y >= 0 && x < i64::from(self.width) && y < i64::from(self.height) {
            let i = (y as usize * self.width as usize + x as usize) * 3;
            self.buf[i..i + 3].copy_from_slice(&c);
        }
    }

    /// Blends `c` over one pixel with opacity `alpha` in `[0, 1]`.
    pub fn blend(&mut self, x: i64, y: i64, c: [u8; 3], alpha: f32) {
        if x >= 0 && y >= 0 && x < i64::from(self.width) && y < i64::from(self.height) {
            let i = (y as usize * self.width as usize + x as usize) * 3;
            for (dst, &src) in self.buf[i..i + 3].iter_mut().zip(&c) {
                let old = f32::from(*dst);
                *dst = (old + (f32::from(src) - old) * alpha).round() as u8;
            }
        }
    }

    /// Fills the rectangle `[x0, x1) x [y0, y1)`.
    pub fn fill_rect(&mut self, x0: i64, y0: i64, x1: i64, y1: i64, c: [u8; 3]) {
        for y in y0..y1 {
            for x in x0..x1 {
                self.put(x, y, c);
            }
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
        for x in x0..x1 {
            self.put(x, y0, c);
            self.put(x, y1 - 1, c);
        }
        for y in y0..y1 {
            self.put(x0, y, c);
            self.put(x1 - 1, y, c);
        }
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
        let ax = match anchor.h {
            HAlign::Left => 0.0,
            HAlign::Center => mask.width as f32 / 2.0,
            HAlign::Right => mask.width as f32,
        };
        let ay = match anchor.v {
            VAlign::Top => 0.0,
            VAlign::Middle => mask.baseline - mask.cap_height / 2.0,
            VAlign::Bottom => mask.baseline + mask.descent,
        };
        let (x, y) = (x as f32, y as f32);
        for my in 0..mask.height {
            for mx in 0..mask.stride {
                let c = mask.coverage[my * mask.stride + mx];
                if c <= 0.0 {
                    continue;
                }
                let (dx, dy) = (mx as f32 - ax, my as f32 - ay);
                let (px, py) = if rotate {
                    (x + dy, y - dx)
                } else {
                    (x + dx, y + dy)
                };
                self.blend(px.round() as i64, py.round() as i64, color, c);
            }
        }
    }

    /// Draws lines of text stacked downwards from `top`, each centred on `x`.
    #[allow(clippy::too_many_arguments)]
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

    /// Draws anti-aliased polylines (pixel coordinates) over the canvas.
    pub fn stroke(&mut self, lines: &[Polyline]) -> Result<()> {
        use tiny_skia::{LineCap, LineJoin, Paint, PathBuilder, Pixmap, StrokeDash, Transform};
        let mut layer = Pixmap::new(self.width, self.height).ok_or_else(|| ReportError::Draw {
            what: self.what.clone(),
            message: format!("cannot allocate a {} x {} layer", self.width, self.height),
        })?;
        for line in lines {
            let mut pb = PathBuilder::new();
            let mut pts = line.points.iter();
            let Some(&(x, y)) = pts.next() else { continue };
            pb.move_to(x as f32, y as f32);
            for &(x, y) in pts {
                pb.line_to(x as f32, y as f32);
            }
            let Some(path) = pb.finish() else { continue };
            let mut paint = Paint::default();
            paint.set_color_rgba8(line.color[0], line.color[1], line.color[2], 255);
            paint.anti_alias = true;
            let mut stroke = tiny_skia::Stroke {
                width: line.width as f32,
                line_join: LineJoin::Round,
                line_cap: LineCap::Butt,
                ..Default::default()
            };
            if let Some((on, off)) = line.dash {
                stroke.dash = StrokeDash::new(vec![on as f32, off as f32], 0.0);
            }
            layer.stroke_path(&path, &paint, &stroke, Transform::identity(), None);
        }
        // Premultiplied RGBA over opaque RGB.
        for (dst, src) in self
            .buf
            .chunks_exact_mut(3)
            .zip(layer.data().chunks_exact(4))
        {
            let a = u32::from(src[3]);
            if a == 0 {
                continue;
            }
            for k in 0..3 {
                let v = u32::from(src[k]) + (255 - a) * u32::from(dst[k]) / 255;
                dst[k] = v.min(255) as u8;
            }
        }
        Ok(())
    }

    pub fn into_image(self) -> Result<RgbImage> {
        let (w, h) = (self.width, self.height);
        RgbImage::from_raw(w, h, self.buf).ok_or_else(|| ReportError::Draw {
            what: self.what,
            message: format!("pixel buffer does not match {w} x {h}"),
        })
    }
}

/// Vertical distance between two lines of text at `size`.
pub(crate) fn line_height(size: f64) -> f64 {
    size * 1.25
}

/// Nicely spaced tick values covering `[lo, hi]`: multiples of 1, 2, 2.5 or 5 times a
/// power of ten, at most `max_n` of them; with `integer`, steps are at least 1.
/// Returns the ticks and the number of decimals their labels need.
pub(crate) fn nice_ticks(lo: f64, hi: f64, max_n: usize, integer: bool) -> (Vec<f64>, usize) {
    if !(lo.is_finite() && hi.is_finite()) || hi < lo {
        return (Vec::new(), 0);
    }
    if hi == lo {
        return (vec![lo], 0);
    }
    let max_n = max_n.max(2);
    let span = hi - lo;
    let k0 = (span / max_n as f64).log10().floor() as i32;
    for k in (k0 - 1)..=(k0 + 2) {
        for m in [1.0, 2.0, 2.5, 5.0] {
            let step = m * 10f64.powi(k);
            if integer && (step < 1.0 || step.fract() != 0.0) {
                continue;
            }
            let first = (lo / step - 1e-9).ceil() as i64;
            let last = (hi / step + 1e-9).floor() as i64;
            let count = (last - first + 1).max(0) as usize;
            if count <= max_n {
                let ticks = (first..=last)
                    .map(|i| {
                        let v = i as f64 * step;
                        // Snap rounding noise (e.g. -0.0, 0.30000000000000004).
                        if v.abs() < step * 1e-9 {
                            0.0
                        } else {
                            v
                        }
                    })
                    .collect();
                let mut decimals = (-k).max(0) as usize;
                if m == 2.5 {
                    decimals += 1;
                }
                if integer {
                    decimals = 0;
                }
                return (ticks, decimals);
            }
        }
    }
    (vec![lo, hi], 3)
}

/// A tick label with `decimals` decimals, or in scientific notation where that would
/// be unreadable.
pub(crate) fn tick_label(v: f64, decimals: usize) -> String {
    if v != 0.0 && (v.abs() >= 1e5 || decimals > 5) {
        format!("{v:.2e}")
    } else {
        format!("{v:.decimals$}")
    }
}

/// Alpha-blended colour as bytes.
pub(crate) fn mix(a: [u8; 3], b: [u8; 3], t: f32) -> [u8; 3] {
    std::array::from_fn(|k| (f32::from(a[k]) * (1.0 - t) + f32::from(b[k]) * t).round() as u8)
}

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

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Ticks lie in the range, are evenly spaced by 1, 2, 2.5 or 5 times a power of
        /// ten, there are at most `max_n`, and their labels are distinct.
        #[test]
        fn nice_ticks_are_nice(lo in -1e4f64..1e4, span in 1e-6f64..1e5, max_n in 2usize..12) {
            let hi = lo + span;
            let (ticks, decimals) = nice_ticks(lo, hi, max_n, false);
            prop_assert!(!ticks.is_empty() && ticks.len() <= max_n, "{ticks:?}");
            let eps = span * 1e-9;
            for &t in &ticks {
                prop_assert!(t >= lo - eps && t <= hi + eps, "{t} outside [{lo}, {hi}]");
            }
            if ticks.len() >= 2 {
                let step = ticks[1] - ticks[0];
                for w in ticks.windows(2) {
                    prop_assert!(((w[1] - w[0]) - step).abs() <= step * 1e-6);
                }
                let mantissa = step / 10f64.powf(step.log10().floor());
                prop_assert!(
                    [1.0, 2.0, 2.5, 5.0, 10.0].iter().any(|m| (mantissa - m).abs() < 1e-6),
                    "step {step}"
                );
                let labels: Vec<String> = ticks.iter().map(|&t| tick_label(t, decimals)).collect();
                let mut unique = labels.clone();
                unique.dedup();
                prop_assert_eq!(unique.len(), labels.len(), "{:?}", labels);
            }
            // A range wider than a few steps always gets at least two ticks.
            if max_n >= 4 {
                prop_assert!(ticks.len() >= 2, "{ticks:?} for [{lo}, {hi}] max {max_n}");
            }
        }

        #[test]
        fn integer_ticks_are_integers(n in 1usize..2000, max_n in 2usize..12) {
            let (ticks, decimals) = nice_ticks(0.0, (n - 1) as f64, max_n, true);
            prop_assert_eq!(decimals, 0);
            prop_assert!(ticks.len() <= max_n);
            for t in ticks {
                prop_assert_eq!(t.fract(), 0.0);
            }
        }
    }

    #[test]
    fn fit_lines_wraps_at_spaces_and_shrinks_only_when_needed() {
        ensure_fonts().unwrap();
        let text = "AM-V (std of normalised activation, 0-1 scale)";
        let wide = fit_lines(text, 2000.0, 14.0, 8.0, 2, false);
        assert_eq!(wide, (14.0, vec![text.to_string()]));
        let one_line_w = f64::from(text_width(text, 14.0, false));
        let (size, lines) = fit_lines(text, one_line_w * 0.6, 14.0, 8.0, 2, false);
        assert_eq!(size, 14.0);
        assert_eq!(lines.len(), 2);
        assert_eq!(lines.join(" "), text);
        for l in &lines {
            assert!(f64::from(text_width(l, size, false)) <= one_line_w * 0.6);
        }
        let (size, lines) = fit_lines(text, one_line_w * 0.3, 14.0, 8.0, 2, false);
        assert!(
            size < 14.0 && lines.len() <= 2 || size == 8.0,
            "{size} {lines:?}"
        );
    }

    #[test]
    fn text_width_grows_with_text_and_size() {
        ensure_fonts().unwrap();
        let a = text_width("0.25", 12.0, false);
        assert!(a > 10 && a < 40, "{a}");
        assert!(text_width("0.250", 12.0, false) > a);
        assert!(text_width("0.25", 24.0, false) >= 2 * a - 2);
        assert!(text_width("0.25", 12.0, true) >= a);
    }
}
