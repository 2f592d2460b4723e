//! Painting of heat panels and colour bars, shared by [`crate::Heatmap`] and
//! [`crate::Grid`].

use image::imageops::FilterType;
use image::RgbImage;

use crate::canvas::Canvas;
use crate::colormap::Colormap;
use crate::error::{DrawError, Result};
use crate::format::format_number;
use crate::style::{Metrics, Outline};
use crate::text::{fit_lines, line_height, text_width, CENTER, LEFT_BOTTOM, LEFT_CENTER, LEFT_TOP};
use crate::ticks::{nice_ticks, tick_label};

pub(crate) use crate::style::{FRAME, INK, NAN_COLOR, NOTE};

/// A rectangle of pixels in a rendered figure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PixelRect {
    /// Left column.
    pub x: u32,
    /// Top row.
    pub y: u32,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
}

impl PixelRect {
    pub(crate) fn x1(&self) -> u32 {
        self.x + self.width
    }
    pub(crate) fn y1(&self) -> u32 {
        self.y + self.height
    }
}

/// How a heatmap is combined with an RGB image under it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Blend {
    /// `(1 - alpha) * image + alpha * colour`: a see-through heatmap.
    Alpha(f32),
    /// `image + weight * colour`, clipped to 255: with weight 0.5 this is the paper's
    /// overlay (ALGORITHMS.md section 5.1) and [`crate::overlay`].
    Add(f32),
}

impl Blend {
    pub(crate) fn apply(self, image: [u8; 3], heat: [u8; 3]) -> [u8; 3] {
        match self {
            Blend::Alpha(a) => mix(image, heat, a.clamp(0.0, 1.0)),
            Blend::Add(wt) => std::array::from_fn(|k| {
                (f32::from(image[k]) + wt * f32::from(heat[k]))
                    .round()
                    .clamp(0.0, 255.0) as u8
            }),
        }
    }
}

/// The value range shown: the explicit one (checked) or the finite data min/max.
///
/// A constant map is shown on `[v, v + 1]` so that it stays drawable.
pub(crate) fn resolve_range(
    what: &str,
    values: impl Iterator<Item = f32>,
    explicit: Option<(f32, f32)>,
) -> Result<(f32, f32)> {
    if let Some((min, max)) = explicit {
        if !(min.is_finite() && max.is_finite() && min < max) {
            return Err(DrawError::InvalidRange {
                what: what.to_string(),
                min: f64::from(min),
                max: f64::from(max),
            });
        }
        return Ok((min, max));
    }
    let (mut lo, mut hi) = (f32::INFINITY, f32::NEG_INFINITY);
    for v in values.filter(|v| v.is_finite()) {
        lo = lo.min(v);
        hi = hi.max(v);
    }
    if lo > hi {
        // No finite value at all: any range will do, every pixel is drawn as missing.
        return Ok((0.0, 1.0));
    }
    if lo == hi {
        return Ok((lo, lo + 1.0));
    }
    Ok((lo, hi))
}

/// Heat data for one panel.
pub(crate) struct PanelData<'a> {
    pub data: &'a [f32],
    pub h: usize,
    pub w: usize,
}

/// Everything that decides a panel's pixels.
pub(crate) struct PanelStyle<'a> {
    pub range: (f32, f32),
    pub colormap: Colormap,
    pub underlay: Option<(&'a RgbImage, Blend)>,
    pub outline: Option<&'a Outline>,
}

/// Largest panel with square data pixels inside `avail_w x avail_h`; an integer number of
/// screen pixels per data pixel when enlarging by 2 or more, so that cells are crisp and
/// equal (below that, flooring would waste up to half the space).
pub(crate) fn panel_size(h: usize, w: usize, avail_w: f64, avail_h: f64) -> (u32, u32) {
    let mut scale = (avail_w / w as f64).min(avail_h / h as f64);
    if scale >= 2.0 {
        scale = scale.floor();
    }
    let pw = (w as f64 * scale).round().max(1.0) as u32;
    let ph = (h as f64 * scale).round().max(1.0) as u32;
    (pw, ph)
}

/// Data index of a panel pixel: nearest neighbour at pixel centres.
fn cell(p: u32, panel: u32, n: usize) -> usize {
    (((f64::from(p) + 0.5) * n as f64 / f64::from(panel)) as usize).min(n - 1)
}

/// `(1 - t) * a + t * b`, rounded.
fn mix(a: [u8; 3], b: [u8; 3], t: f32) -> [u8; 3] {
    std::array::from_fn(|k| (f32::from(a[k]) * (1.0 - t) + f32::from(b[k]) * t).round() as u8)
}

/// Paints heat data (and underlay, outline, frame) into `rect`.
pub(crate) fn paint_panel(canvas: &mut Canvas, rect: PixelRect, d: &PanelData, s: &PanelStyle) {
    let (min, max) = s.range;
    let under = s.underlay.map(|(img, blend)| {
        let resized = if img.dimensions() == (rect.width, rect.height) {
            img.clone()
        } else {
            image::imageops::resize(img, rect.width, rect.height, FilterType::Triangle)
        };
        (resized, blend)
    });
    for py in 0..rect.height {
        let row = cell(py, rect.height, d.h);
        for px in 0..rect.width {
            let v = d.data[row * d.w + cell(px, rect.width, d.w)];
            let heat = if v.is_nan() {
                None
            } else {
                Some(s.colormap.map((v - min) / (max - min)))
            };
            let c = match (&under, heat) {
                (Some((img, blend)), Some(heat)) => blend.apply(img.get_pixel(px, py).0, heat),
                (Some((img, _)), None) => img.get_pixel(px, py).0,
                (None, Some(heat)) => heat,
                (None, None) => NAN_COLOR,
            };
            canvas.put(i64::from(rect.x + px), i64::from(rect.y + py), c);
        }
    }
    if let Some(outline) = s.outline {
        paint_outline(canvas, rect, outline);
    }
    canvas.frame(
        i64::from(rect.x) - 1,
        i64::from(rect.y) - 1,
        i64::from(rect.x1()) + 1,
        i64::from(rect.y1()) + 1,
        FRAME,
    );
}

/// Draws the boundary of the mask as a white line with dark edges, visible on any colour.
fn paint_outline(canvas: &mut Canvas, rect: PixelRect, o: &Outline) {
    let (pw, ph) = (rect.width as usize, rect.height as usize);
    let inside: Vec<bool> = (0..ph)
        .flat_map(|y| {
            let my = cell(y as u32, rect.height, o.h);
            (0..pw).map(move |x| o.mask[my * o.w + cell(x as u32, rect.width, o.w)])
        })
        .collect();
    // Distance (Chebyshev, within the panel) to the nearest pixel on the other side,
    // if at most `r`: the boundary band.
    let differs_within = |x: usize, y: usize, r: usize| {
        let v = inside[y * pw + x];
        let (x0, x1) = (x.saturating_sub(r), (x + r).min(pw - 1));
        let (y0, y1) = (y.saturating_sub(r), (y + r).min(ph - 1));
        (y0..=y1).any(|yy| (x0..=x1).any(|xx| inside[yy * pw + xx] != v))
    };
    // 0: away from the boundary, 1: on it (white core), 2: beside it (dark edge).
    let band: Vec<u8> = (0..ph * pw)
        .map(|i| {
            let (x, y) = (i % pw, i / pw);
            if differs_within(x, y, 1) {
                1
            } else {
                2 * u8::from(differs_within(x, y, 2))
            }
        })
        .collect();
    for (i, _) in band.iter().enumerate().filter(|(_, &b)| b == 1) {
        let (x, y) = ((i % pw) as i64, (i / pw) as i64);
        canvas.put(
            i64::from(rect.x) + x,
            i64::from(rect.y) + y,
            [255, 255, 255],
        );
    }
    let edge_alpha = |i: usize| if band[i] == 2 { 153 } else { 0 };
    canvas.shade_pixels((rect.x, rect.y), (pw, ph), [0, 0, 0], edge_alpha);
}

/// Font size of the "max"/"min" labels at the ends of a colour bar.
pub(crate) fn range_label_size(tick_size: f64) -> f64 {
    tick_size * 0.92
}

/// Height above a colour bar taken by its "max" label.
pub(crate) fn range_label_height(tick_size: f64) -> f64 {
    line_height(range_label_size(tick_size))
        + (tick_size * 0.25).round()
        + (tick_size * 0.4).round()
}

/// Ticks for a colour bar of height `px`.
pub(crate) fn colorbar_ticks(range: (f32, f32), px: u32) -> (Vec<f64>, usize) {
    let max_n = ((px / 45) as usize).clamp(3, 9);
    nice_ticks(f64::from(range.0), f64::from(range.1), max_n, false)
}

/// Width the colour bar's tick labels need.
pub(crate) fn colorbar_label_width(ticks: &(Vec<f64>, usize), size: f64) -> u32 {
    ticks
        .0
        .iter()
        .map(|&t| text_width(&tick_label(t, ticks.1), size, false))
        .max()
        .unwrap_or(0)
}

/// Paints the colour gradient (top = max) and its frame.
pub(crate) fn paint_colorbar(canvas: &mut Canvas, bar: PixelRect, colormap: Colormap) {
    for py in 0..bar.height {
        let t = 1.0 - (py as f32 + 0.5) / bar.height as f32;
        let c = colormap.map(t);
        for px in 0..bar.width {
            canvas.put(i64::from(bar.x + px), i64::from(bar.y + py), c);
        }
    }
    canvas.frame(
        i64::from(bar.x) - 1,
        i64::from(bar.y) - 1,
        i64::from(bar.x1()) + 1,
        i64::from(bar.y1()) + 1,
        FRAME,
    );
}

/// The horizontal layout of a colour bar right of a panel: gap, bar, ticks, tick labels
/// `tick_w` wide and the rotated label.
pub(crate) struct ColorbarText {
    pub tick_w: f64,
    pub tick_len: f64,
}

impl ColorbarText {
    fn gap_and_bar(s: f64) -> (f64, f64) {
        ((16.0 * s).round(), (18.0 * s).round())
    }

    /// The label's font size and lines, wrapped to `fit` pixels (the bar's height).
    pub fn label_lines(&self, label: &str, fit: f64, m: &Metrics) -> (f64, Vec<String>) {
        if label.is_empty() {
            return (m.label, Vec::new());
        }
        fit_lines(label, fit, m.label, 9.0 * m.s, 2, false)
    }

    /// Width of everything right of the panel(s), to the figure's edge.
    pub fn right_width(&self, lines: &[String], size: f64, m: &Metrics) -> f64 {
        let (gap, bar_w) = Self::gap_and_bar(m.s);
        let label_w = lines.len() as f64 * line_height(size);
        gap + bar_w + self.tick_len + 3.0 * m.s + self.tick_w + 8.0 * m.s + label_w + m.margin
    }

    /// The bar right of `block` (a panel or the grid of panels), as high as it.
    pub fn beside(&self, block: PixelRect, s: f64) -> PixelRect {
        let (gap, bar_w) = Self::gap_and_bar(s);
        PixelRect {
            x: block.x1() + gap as u32,
            y: block.y,
            width: bar_w as u32,
            height: block.height,
        }
    }

    /// The centre column of the rotated label right of `bar`.
    pub fn label_x(&self, bar: PixelRect, lines: &[String], size: f64, m: &Metrics) -> f64 {
        let label_w = lines.len() as f64 * line_height(size);
        f64::from(bar.x1()) + self.tick_len + 3.0 * m.s + self.tick_w + 8.0 * m.s + label_w / 2.0
    }
}

/// A short line drawn like the outline (white core, dark edges) for the legend.
fn draw_outline_sample(canvas: &mut Canvas, x: f64, cy: f64, len: f64) {
    let (x0, x1, y) = (
        x.round() as i64,
        (x + len).round() as i64,
        cy.round() as i64,
    );
    canvas.fill_rect(x0, y - 2, x1, y + 2, [60, 60, 60]);
    canvas.fill_rect(x0, y - 1, x1, y + 1, [255, 255, 255]);
}

/// The outline's legend entry (if any) and the note's lines, centred on `x` from `y`
/// down.
pub(crate) fn draw_legend_and_note(
    canvas: &mut Canvas,
    outline: Option<&Outline>,
    note_lines: &[String],
    (x, mut y): (f64, f64),
    m: &Metrics,
) {
    let s = m.s;
    if let Some(outline) = outline {
        let sample_w = (26.0 * s).round();
        let text_w = f64::from(text_width(outline.label(), m.tick, false));
        let x0 = x - (sample_w + 6.0 * s + text_w) / 2.0;
        let cy = y + line_height(m.tick) / 2.0;
        draw_outline_sample(canvas, x0, cy, sample_w);
        let at = (x0 + sample_w + 6.0 * s, cy);
        canvas.text(outline.label(), at, m.tick, false, LEFT_CENTER, false, INK);
        y += line_height(m.tick) + 4.0 * s;
    }
    canvas.lines_centered(note_lines, x, y, m.tick, false, NOTE);
}

/// Tick marks, tick labels and the rotated label right of a painted colour bar; the
/// label is `(lines, font size, centre column)`.
pub(crate) fn draw_colorbar_text(
    canvas: &mut Canvas,
    bar: PixelRect,
    range: (f32, f32),
    ticks: &(Vec<f64>, usize),
    tick_size: f64,
    (label, label_size, label_x): (&[String], f64, f64),
) {
    let (min, max) = (f64::from(range.0), f64::from(range.1));
    let tick_len = (tick_size * 0.4).round();
    let x = f64::from(bar.x1());
    for &t in &ticks.0 {
        let frac = (t - min) / (max - min);
        let y = (f64::from(bar.y1()) - frac * f64::from(bar.height))
            .round()
            .clamp(f64::from(bar.y), f64::from(bar.y1()) - 1.0);
        canvas.hline(x as i64, (x + tick_len) as i64, y as i64, 1, INK);
        canvas.text(
            &tick_label(t, ticks.1),
            (x + tick_len + 3.0, y),
            tick_size,
            false,
            LEFT_CENTER,
            false,
            INK,
        );
    }
    draw_range_ends(canvas, bar, range, tick_size);
    // Rotated label, lines stacked left to right.
    let centre_y = f64::from(bar.y) + f64::from(bar.height) / 2.0;
    let n = label.len() as f64;
    for (i, line) in label.iter().enumerate() {
        let offset = (i as f64 - (n - 1.0) / 2.0) * line_height(label_size);
        canvas.text(
            line,
            (label_x + offset, centre_y),
            label_size,
            false,
            CENTER,
            true,
            INK,
        );
    }
}

/// The exact ends of the range above and below the bar, which the rounded ticks rarely
/// show.
fn draw_range_ends(canvas: &mut Canvas, bar: PixelRect, range: (f32, f32), tick_size: f64) {
    let (min, max) = (f64::from(range.0), f64::from(range.1));
    let small = range_label_size(tick_size);
    let gap = (tick_size * 0.25).round();
    // Clear of the half-height of a tick label at the bar's top.
    let clear = (tick_size * 0.4).round();
    canvas.text(
        &format!("max {}", format_number(max, 3)),
        (f64::from(bar.x) - 1.0, f64::from(bar.y) - 1.0 - gap - clear),
        small,
        false,
        LEFT_BOTTOM,
        false,
        NOTE,
    );
    canvas.text(
        &format!("min {}", format_number(min, 3)),
        (
            f64::from(bar.x) - 1.0,
            f64::from(bar.y1()) + 1.0 + gap + clear,
        ),
        small,
        false,
        LEFT_TOP,
        false,
        NOTE,
    );
}
