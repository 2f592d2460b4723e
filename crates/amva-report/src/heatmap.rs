//! One heatmap with title, pixel axes, colour bar and optional underlay and outline.

use std::path::Path;

use image::RgbImage;

use crate::canvas::Canvas;
use crate::colormap::Colormap;
use crate::error::{check_shape, ReportError, Result};
use crate::output::write_png_atomic;
use crate::panel::{
    colorbar_label_width, colorbar_ticks, draw_colorbar_text, paint_colorbar, paint_panel,
    panel_size, range_label_height, resolve_range, Blend, Outline, PanelData, PanelStyle,
    PixelRect, INK, NOTE,
};
use crate::text::{
    ensure_fonts, fit_lines, line_height, text_width, CENTER, LEFT_CENTER, RIGHT_CENTER, TOP_CENTER,
};
use crate::ticks::{nice_ticks, tick_label};

/// Where the parts of a rendered [`Heatmap`] are, in pixels (for tests and for callers
/// that draw on the figure afterwards).
#[derive(Clone, Debug, PartialEq)]
pub struct HeatmapLayout {
    /// Size of the rendered image (width, height).
    pub size: (u32, u32),
    /// The heat panel; data pixel `(row, col)` covers
    /// `x = panel.x + col * panel.width / w .. ` and likewise for `y`.
    pub panel: PixelRect,
    /// The colour gradient (top row = range max, bottom row = range min).
    pub colorbar: PixelRect,
    /// The band at the top that holds the title.
    pub title: PixelRect,
    /// The value range the colours span.
    pub range: (f32, f32),
}

/// A heatmap figure of `h x w` values, as a builder.
///
/// ```no_run
/// # fn main() -> Result<(), amva_report::ReportError> {
/// let amv = vec![0.1f32; 112 * 112];
/// amva_report::Heatmap::new(amv, 112, 112)?
///     .title("AM-V, high-quality group (MagFace top 20%)")
///     .colorbar_label("AM-V (std of normalised activation, 0-1 scale)")
///     .range(0.0, 0.5)
///     .write_png("amv_high.png")?;
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct Heatmap {
    data: Vec<f32>,
    h: usize,
    w: usize,
    title: String,
    colorbar_label: String,
    x_label: String,
    y_label: String,
    range: Option<(f32, f32)>,
    colormap: Colormap,
    underlay: Option<(RgbImage, Blend)>,
    outline: Option<Outline>,
    note: Option<String>,
    size: (u32, u32),
}

/// Font sizes and spacing of a figure, scaled with its size.
pub(crate) struct Metrics {
    pub s: f64,
    pub title: f64,
    pub label: f64,
    pub tick: f64,
    pub margin: f64,
}

impl Metrics {
    /// Sizes for a figure `scale` times the default size. Fonts do not shrink below
    /// what stays legible on screen and in print.
    pub fn new(scale: f64) -> Self {
        let s = scale.clamp(0.6, 4.0);
        Metrics {
            s,
            title: (19.0 * s).max(13.0),
            label: (14.0 * s).max(11.0),
            tick: (12.0 * s).max(10.0),
            margin: 12.0 * s,
        }
    }
}

impl Heatmap {
    /// `data` holds `h x w` values, row-major (row 0 at the top). NaN values are shown
    /// as missing (grey, or the bare underlay).
    pub fn new(data: Vec<f32>, h: usize, w: usize) -> Result<Self> {
        check_shape("heatmap data", data.len(), h, w)?;
        Ok(Heatmap {
            data,
            h,
            w,
            title: String::new(),
            colorbar_label: String::new(),
            x_label: "x (pixel)".to_string(),
            y_label: "y (pixel)".to_string(),
            range: None,
            colormap: Colormap::Jet,
            underlay: None,
            outline: None,
            note: None,
            size: (640, 560),
        })
    }

    /// The title above the figure (wrapped to two lines if long).
    pub fn title(mut self, title: impl Into<String>) -> Self {
        self.title = title.into();
        self
    }

    /// What the colours mean, with units, e.g.
    /// "AM-V (std of normalised activation, 0-1 scale)".
    pub fn colorbar_label(mut self, label: impl Into<String>) -> Self {
        self.colorbar_label = label.into();
        self
    }

    /// Axis labels; the defaults are "x (pixel)" and "y (pixel)".
    pub fn axis_labels(mut self, x: impl Into<String>, y: impl Into<String>) -> Self {
        self.x_label = x.into();
        self.y_label = y.into();
        self
    }

    /// The value range mapped to the colour map's ends; values outside get the end
    /// colours. Without it, the finite data min and max are used.
    pub fn range(mut self, min: f32, max: f32) -> Self {
        self.range = Some((min, max));
        self
    }

    /// The colour map (default [`Colormap::Jet`], as in the paper).
    pub fn colormap(mut self, colormap: Colormap) -> Self {
        self.colormap = colormap;
        self
    }

    /// An RGB image under the heat, of any size (it is scaled to the panel).
    pub fn underlay(mut self, image: RgbImage, blend: Blend) -> Self {
        self.underlay = Some((image, blend));
        self
    }

    /// The outline of a region drawn over the heat, with a legend entry.
    pub fn outline(mut self, outline: Outline) -> Self {
        self.outline = Some(outline);
        self
    }

    /// A small note under the figure, e.g. "n = 1,234 images; maps: Score-CAM, layer 4".
    pub fn note(mut self, note: impl Into<String>) -> Self {
        self.note = Some(note.into());
        self
    }

    /// Largest output size in pixels (default 640 x 560); fonts scale with it. The margin
    /// left over around the square-pixel panel is cropped, so the image may be smaller
    /// (see [`HeatmapLayout::size`]).
    pub fn size(mut self, width: u32, height: u32) -> Self {
        self.size = (width, height);
        self
    }

    fn plan(&self) -> Result<Plan> {
        ensure_fonts()?;
        let (w_px, h_px) = self.size;
        let what = self.what();
        let range = resolve_range(&what, self.data.iter().copied(), self.range)?;
        let m = Metrics::new((f64::from(w_px) / 640.0).min(f64::from(h_px) / 560.0));
        let (width, height) = (f64::from(w_px), f64::from(h_px));
        let s = m.s;
        let text_w = width - 2.0 * m.margin;

        let (title_size, title_lines) = if self.title.is_empty() {
            (m.title, Vec::new())
        } else {
            fit_lines(&self.title, text_w, m.title, 10.0 * s, 2, true)
        };
        let title_h = title_lines.len() as f64 * line_height(title_size);
        let top = m.margin
            + title_h
            + if title_lines.is_empty() { 0.0 } else { 6.0 * s }
            + range_label_height(m.tick);

        // Widest line among title, legend and note: the figure is never cropped narrower.
        let mut min_content_w = title_lines
            .iter()
            .map(|l| f64::from(text_width(l, title_size, true)))
            .fold(0.0, f64::max);
        let mut bottom_notes = 0.0;
        let sample_w = (26.0 * s).round();
        if let Some(o) = &self.outline {
            bottom_notes += line_height(m.tick) + 4.0 * s;
            min_content_w = min_content_w
                .max(sample_w + 6.0 * s + f64::from(text_width(o.label(), m.tick, false)));
        }
        let note_lines = match &self.note {
            Some(n) => fit_lines(n, text_w, m.tick, 8.0 * s, 3, false).1,
            None => Vec::new(),
        };
        bottom_notes += note_lines.len() as f64 * line_height(m.tick);
        for l in &note_lines {
            min_content_w = min_content_w.max(f64::from(text_width(l, m.tick, false)));
        }
        let tick_len = (4.0 * s).round();
        let x_axis_h = tick_len + 3.0 * s + line_height(m.tick) + 6.0 * s + line_height(m.label);
        let bottom = x_axis_h + 6.0 * s + bottom_notes + m.margin;
        let avail_h = height - top - bottom;

        let y_ticks_guess = nice_ticks(0.0, (self.h - 1) as f64, 10, true);
        let y_tick_w = y_ticks_guess
            .0
            .iter()
            .map(|&t| text_width(&tick_label(t, 0), m.tick, false))
            .max()
            .unwrap_or(0);
        let left =
            m.margin + line_height(m.label) + 6.0 * s + f64::from(y_tick_w) + 3.0 * s + tick_len;

        let cb_ticks_guess = colorbar_ticks(range, avail_h.max(1.0) as u32);
        let cb_tick_w = f64::from(colorbar_label_width(&cb_ticks_guess, m.tick));
        let (gap, bar_w) = ((16.0 * s).round(), (18.0 * s).round());
        let mut label_fit = avail_h;
        let mut result = None;
        for _ in 0..3 {
            let (cb_size, cb_lines) = if self.colorbar_label.is_empty() {
                (m.label, Vec::new())
            } else {
                fit_lines(&self.colorbar_label, label_fit, m.label, 9.0 * s, 2, false)
            };
            let cb_label_w = cb_lines.len() as f64 * line_height(cb_size);
            let right =
                gap + bar_w + tick_len + 3.0 * s + cb_tick_w + 8.0 * s + cb_label_w + m.margin;
            let avail_w = width - left - right;
            if avail_w < 20.0 || avail_h < 20.0 {
                return Err(ReportError::FigureTooSmall {
                    what,
                    width: w_px,
                    height: h_px,
                    min_width: (left + right + 20.0).ceil() as u32,
                    min_height: (top + bottom + 20.0).ceil() as u32,
                });
            }
            let (pw, ph) = panel_size(self.h, self.w, avail_w, avail_h);
            // Cropped to the content, like matplotlib's bbox_inches='tight'.
            let block_w = left + f64::from(pw) + right;
            let out_w = block_w
                .max(min_content_w + 2.0 * m.margin)
                .min(width)
                .ceil();
            let out_h = (top + f64::from(ph) + bottom).min(height).ceil();
            let x0 = ((out_w - block_w) / 2.0).max(0.0) + left;
            let panel = PixelRect {
                x: x0.round() as u32,
                y: top.round() as u32,
                width: pw,
                height: ph,
            };
            let colorbar = PixelRect {
                x: panel.x1() + gap as u32,
                y: panel.y,
                width: bar_w as u32,
                height: ph,
            };
            let cb_label_x = f64::from(colorbar.x1())
                + tick_len
                + 3.0 * s
                + cb_tick_w
                + 8.0 * s
                + cb_label_w / 2.0;
            let refit = cb_lines
                .iter()
                .any(|l| f64::from(text_width(l, cb_size, false)) > f64::from(ph));
            result = Some(Plan {
                m: Metrics::new(s),
                range,
                size: (out_w as u32, out_h as u32),
                title_size,
                title_lines: title_lines.clone(),
                title: PixelRect {
                    x: 0,
                    y: 0,
                    width: out_w as u32,
                    height: (m.margin + title_h).round() as u32,
                },
                panel,
                colorbar,
                x_ticks: nice_ticks(
                    0.0,
                    (self.w - 1) as f64,
                    ((f64::from(pw) / 60.0) as usize).clamp(2, 10),
                    true,
                ),
                y_ticks: nice_ticks(
                    0.0,
                    (self.h - 1) as f64,
                    ((f64::from(ph) / 50.0) as usize).clamp(2, 10),
                    true,
                ),
                tick_len,
                cb_ticks: colorbar_ticks(range, ph),
                cb_size,
                cb_lines,
                cb_label_x,
                y_label_x: x0 - left + m.margin + line_height(m.label) / 2.0,
                sample_w,
                note_lines: note_lines.clone(),
            });
            if !refit {
                break;
            }
            label_fit = f64::from(ph);
        }
        result.ok_or_else(|| ReportError::Draw {
            what: self.what(),
            message: "no layout".to_string(),
        })
    }

    fn what(&self) -> String {
        if self.title.is_empty() {
            "heatmap".to_string()
        } else {
            format!("heatmap {:?}", self.title)
        }
    }

    /// Where the panel, colour bar and title will be in the rendered image.
    pub fn layout(&self) -> Result<HeatmapLayout> {
        let p = self.plan()?;
        Ok(HeatmapLayout {
            size: p.size,
            panel: p.panel,
            colorbar: p.colorbar,
            title: p.title,
            range: p.range,
        })
    }

    /// Draws the figure. Its size is at most the requested [`Heatmap::size`]: the unused
    /// margin around the square-pixel panel is cropped.
    pub fn render(&self) -> Result<RgbImage> {
        let p = self.plan()?;
        let what = self.what();
        let mut canvas = Canvas::new(&what, p.size.0, p.size.1, [255, 255, 255])?;
        let style = PanelStyle {
            range: p.range,
            colormap: self.colormap,
            underlay: self.underlay.as_ref().map(|(img, b)| (img, *b)),
            outline: self.outline.as_ref(),
        };
        let data = PanelData {
            data: &self.data,
            h: self.h,
            w: self.w,
        };
        paint_panel(&mut canvas, p.panel, &data, &style);
        paint_colorbar(&mut canvas, p.colorbar, self.colormap);
        let s = p.m.s;
        let centre_x = f64::from(p.size.0) / 2.0;
        canvas.lines_centered(
            &p.title_lines,
            centre_x,
            p.m.margin,
            p.title_size,
            true,
            INK,
        );
        draw_pixel_axes(&mut canvas, &p, self);
        draw_colorbar_text(
            &mut canvas,
            p.colorbar,
            p.range,
            &p.cb_ticks,
            p.m.tick,
            &p.cb_lines,
            p.cb_size,
            p.cb_label_x,
        );
        // Legend of the outline and the note, under the x-axis label.
        let mut y = f64::from(p.panel.y1())
            + p.tick_len
            + 3.0 * s
            + line_height(p.m.tick)
            + 6.0 * s
            + line_height(p.m.label)
            + 6.0 * s;
        if let Some(outline) = &self.outline {
            let text_w = f64::from(text_width(outline.label(), p.m.tick, false));
            let x0 = centre_x - (p.sample_w + 6.0 * s + text_w) / 2.0;
            let cy = y + line_height(p.m.tick) / 2.0;
            draw_outline_sample(&mut canvas, x0, cy, p.sample_w);
            canvas.text(
                outline.label(),
                (x0 + p.sample_w + 6.0 * s, cy),
                p.m.tick,
                false,
                LEFT_CENTER,
                false,
                INK,
            );
            y += line_height(p.m.tick) + 4.0 * s;
        }
        canvas.lines_centered(&p.note_lines, centre_x, y, p.m.tick, false, NOTE);
        canvas.into_image()
    }

    /// Draws the figure and writes it as a PNG file atomically.
    pub fn write_png(&self, path: impl AsRef<Path>) -> Result<()> {
        write_png_atomic(path, &self.render()?)
    }
}

/// A computed layout.
struct Plan {
    m: Metrics,
    range: (f32, f32),
    size: (u32, u32),
    title_size: f64,
    title_lines: Vec<String>,
    title: PixelRect,
    panel: PixelRect,
    colorbar: PixelRect,
    x_ticks: (Vec<f64>, usize),
    y_ticks: (Vec<f64>, usize),
    tick_len: f64,
    cb_ticks: (Vec<f64>, usize),
    cb_size: f64,
    cb_lines: Vec<String>,
    cb_label_x: f64,
    y_label_x: f64,
    sample_w: f64,
    note_lines: Vec<String>,
}

/// Ticks at data pixel centres (0 = first row/column, like matplotlib's `imshow`) and
/// the axis labels.
fn draw_pixel_axes(canvas: &mut Canvas, p: &Plan, hm: &Heatmap) {
    let s = p.m.s;
    let tl = p.tick_len;
    let panel = p.panel;
    let bottom = f64::from(panel.y1());
    for &t in &p.x_ticks.0 {
        let x = (f64::from(panel.x) + (t + 0.5) * f64::from(panel.width) / hm.w as f64).floor();
        canvas.vline(x as i64, bottom as i64, (bottom + tl) as i64, 1, INK);
        canvas.text(
            &tick_label(t, 0),
            (x, bottom + tl + 3.0 * s),
            p.m.tick,
            false,
            TOP_CENTER,
            false,
            INK,
        );
    }
    let left = f64::from(panel.x) - 1.0;
    for &t in &p.y_ticks.0 {
        let y = (f64::from(panel.y) + (t + 0.5) * f64::from(panel.height) / hm.h as f64).floor();
        canvas.hline((left - tl) as i64, left as i64, y as i64, 1, INK);
        canvas.text(
            &tick_label(t, 0),
            (left - tl - 3.0 * s, y),
            p.m.tick,
            false,
            RIGHT_CENTER,
            false,
            INK,
        );
    }
    let x_label_y = bottom + tl + 3.0 * s + line_height(p.m.tick) + 6.0 * s;
    let centre_x = f64::from(panel.x) + f64::from(panel.width) / 2.0;
    canvas.text(
        &hm.x_label,
        (centre_x, x_label_y),
        p.m.label,
        false,
        TOP_CENTER,
        false,
        INK,
    );
    let centre_y = f64::from(panel.y) + f64::from(panel.height) / 2.0;
    canvas.text(
        &hm.y_label,
        (p.y_label_x, centre_y),
        p.m.label,
        false,
        CENTER,
        true,
        INK,
    );
}

/// A short line drawn like the outline (white core, dark edges) for the legend.
pub(crate) fn draw_outline_sample(canvas: &mut Canvas, x: f64, cy: f64, len: f64) {
    let (x0, x1, y) = (
        x.round() as i64,
        (x + len).round() as i64,
        cy.round() as i64,
    );
    canvas.fill_rect(x0, y - 2, x1, y + 2, [60, 60, 60]);
    canvas.fill_rect(x0, y - 1, x1, y + 1, [255, 255, 255]);
}
