//! Text: the embedded font, measuring, wrapping and rasterising one line into a
//! coverage mask that [`crate::canvas::Canvas::text`] composites.

use std::sync::LazyLock;

use ab_glyph::{point, Font, FontRef, Glyph, PxScale, ScaleFont};

use crate::error::{DrawError, Result};

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
    FONTS.as_ref().map(|_| ()).ok_or(DrawError::Font)
}

fn face(bold: bool) -> Option<&'static FontRef<'static>> {
    FONTS
        .as_ref()
        .map(|f| if bold { &f.bold } else { &f.regular })
}

/// Text rasterised into a coverage mask, with the metrics needed to anchor it.
pub(crate) struct TextMask {
    /// Advance width of the text (what alignment uses).
    pub width: usize,
    /// Row length of `coverage` (a little wider than `width` for overhanging glyphs).
    pub stride: usize,
    pub height: usize,
    /// Coverage in `[0, 1]`, row-major.
    pub coverage: Vec<f32>,
    /// Row of the baseline within the mask.
    baseline: f32,
    /// Height of capital letters above the baseline.
    cap_height: f32,
    /// Depth of descenders below the baseline (positive).
    descent: f32,
}

impl TextMask {
    /// Where in the mask the anchor point of `anchor` is.
    pub fn anchor_point(&self, anchor: Anchor) -> (f32, f32) {
        let ax = match anchor.h {
            HAlign::Left => 0.0,
            HAlign::Center => self.width as f32 / 2.0,
            HAlign::Right => self.width as f32,
        };
        let ay = match anchor.v {
            VAlign::Top => 0.0,
            VAlign::Middle => self.baseline - self.cap_height / 2.0,
            VAlign::Bottom => self.baseline + self.descent,
        };
        (ax, ay)
    }
}

/// The glyphs of one line of text, positioned with kerning on a baseline at `y`, and the
/// caret after the last one.
fn layout<F: Font, S: ScaleFont<F>>(scaled: &S, text: &str, y: f32) -> (Vec<Glyph>, f32) {
    let mut glyphs = Vec::new();
    let mut caret = 0.0f32;
    let mut prev = None;
    for c in text.chars() {
        let id = scaled.glyph_id(c);
        if let Some(p) = prev {
            caret += scaled.kern(p, id);
        }
        glyphs.push(id.with_scale_and_position(scaled.scale(), point(caret, y)));
        caret += scaled.h_advance(id);
        prev = Some(id);
    }
    (glyphs, caret)
}

/// Rasterises one line of text at `size` px (ab_glyph scale: ascent - descent).
pub(crate) fn rasterise(text: &str, size: f64, bold: bool) -> TextMask {
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
    let (ascent, descent) = (scaled.ascent(), scaled.descent());
    let (glyphs, caret) = layout(&scaled, text, ascent.ceil());
    let stride = caret.ceil().max(0.0) as usize + 2;
    let height = (ascent.ceil() - descent.floor()) as usize + 2;
    let mut coverage = vec![0.0f32; stride * height];
    for outlined in glyphs.into_iter().filter_map(|g| font.outline_glyph(g)) {
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
    let (_, caret) = layout(&scaled, text, 0.0);
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

const fn anchor(h: HAlign, v: VAlign) -> Anchor {
    Anchor { h, v }
}

pub(crate) const TOP_CENTER: Anchor = anchor(HAlign::Center, VAlign::Top);
pub(crate) const CENTER: Anchor = anchor(HAlign::Center, VAlign::Middle);
pub(crate) const LEFT_CENTER: Anchor = anchor(HAlign::Left, VAlign::Middle);
pub(crate) const RIGHT_CENTER: Anchor = anchor(HAlign::Right, VAlign::Middle);
pub(crate) const LEFT_TOP: Anchor = anchor(HAlign::Left, VAlign::Top);
pub(crate) const LEFT_BOTTOM: Anchor = anchor(HAlign::Left, VAlign::Bottom);

/// Vertical distance between two lines of text at `size`.
pub(crate) fn line_height(size: f64) -> f64 {
    size * 1.25
}

#[cfg(test)]
mod tests {
    use super::*;

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
