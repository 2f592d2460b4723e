//! One heatmap with title, pixel axes, colour bar and optional underlay and outline.

use std::path::Path;

use image::RgbImage;

use crate::canvas::Canvas;
use crate::error::{check_shape, DrawError, Result};
use crate::output::write_png_atomic;
use crate::panel::{
    colorbar_label_width, colorbar_ticks, draw_colorbar_text, draw_legend_and_note, paint_colorbar,
    paint_panel, panel_size, range_label_height, resolve_range, Blend, ColorbarText, PanelData,
    PanelStyle, PixelRect,
};
use crate::style::{ColorScale, HeatStyled, Metrics, Style, Styled, INK, PAPER};
use crate::text::{ensure_fonts, line_height, text_width, CENTER, RIGHT_CENTER, TOP_CENTER};
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

/// A heatmap figure of `h x w` values, as a builder (its title, labels, note and size
/// through [`Styled`], its colour scale through [`HeatStyled`]).
///
/// ```no_run
/// use amva_draw::{Styled, HeatStyled};
/// # fn main() -> Result<(), amva_draw::DrawError> {
/// let amv = vec![0.1f32; 112 * 112];
/// amva_draw::Heatmap::new(amv, 112, 112)?
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
    style: Style,
    scale: ColorScale,
    underlay: Option<(RgbImage, Blend)>,
}

impl Styled for Heatmap {
    fn style_mut(&mut self) -> &mut Style {
        &mut self.style
    }
}

impl HeatStyled for Heatmap {
    fn scale_mut(&mut self) -> &mut ColorScale {
        &mut self.scale
    }
}

/// Default output size: the margin left over around the square-pixel panel is cropped,
/// so the image may be smaller (see [`HeatmapLayout::size`]).
const DEFAULT_SIZE: (u32, u32) = (640, 560);

/// The texts above and below the panel, laid out for a figure width.
struct Texts {
    title_size: f64,
    title_lines: Vec<String>,
    title_h: f64,
    note_lines: Vec<String>,
    /// Space above and below the panel.
    top: f64,
    bottom: f64,
    /// Widest line among title, legend and note: the figure is never cropped narrower.
    min_content_w: f64,
    tick_len: f64,
}

impl Heatmap {
    /// `data` holds `h x w` values, row-major (row 0 at the top). NaN values are shown
    /// as missing (grey, or the bare underlay). The axis labels default to "x (pixel)"
    /// and "y (pixel)".
    pub fn new(data: Vec<f32>, h: usize, w: usize) -> Result<Self> {
        check_shape("heatmap data", data.len(), h, w)?;
        Ok(Heatmap {
            data,
            h,
            w,
            style: Style {
                x_label: "x (pixel)".to_string(),
                y_label: "y (pixel)".to_string(),
                ..Style::default()
            },
            scale: ColorScale::default(),
            underlay: None,
        })
    }

    /// An RGB image under the heat, of any size (it is scaled to the panel).
    pub fn underlay(mut self, image: RgbImage, blend: Blend) -> Self {
        self.underlay = Some((image, blend));
        self
    }

    fn texts(&self, m: &Metrics, width: f64) -> Texts {
        let s = m.s;
        let text_w = width - 2.0 * m.margin;
        let (title_size, title_lines) = m.title_lines(&self.style.title, text_w);
        let title_h = title_lines.len() as f64 * line_height(title_size);
        let top = m.margin
            + title_h
            + if title_lines.is_empty() { 0.0 } else { 6.0 * s }
            + range_label_height(m.tick);
        let widest = |lines: &[String], size: f64, bold: bool| {
            lines
                .iter()
                .map(|l| f64::from(text_width(l, size, bold)))
                .fold(0.0, f64::max)
        };
        let mut min_content_w = widest(&title_lines, title_size, true);
        let mut bottom_notes = 0.0;
        let sample_w = (26.0 * s).round();
        if let Some(o) = &self.scale.outline {
            bottom_notes += line_height(m.tick) + 4.0 * s;
            min_content_w = min_content_w
                .max(sample_w + 6.0 * s + f64::from(text_width(o.label(), m.tick, false)));
        }
        let note_lines = m.note_lines(self.style.note.as_deref(), text_w);
        bottom_notes += note_lines.len() as f64 * line_height(m.tick);
        min_content_w = min_content_w.max(widest(&note_lines, m.tick, false));
        let tick_len = (4.0 * s).round();
        let x_axis_h = tick_len + 3.0 * s + line_height(m.tick) + 6.0 * s + line_height(m.label);
        Texts {
            title_size,
            title_lines,
            title_h,
            note_lines,
            top,
            bottom: x_axis_h + 6.0 * s + bottom_notes + m.margin,
            min_content_w,
            tick_len,
        }
    }

    fn plan(&self) -> Result<Plan> {
        ensure_fonts()?;
        let (w_px, h_px) = self.style.size.unwrap_or(DEFAULT_SIZE);
        let what = self.what();
        let range = resolve_range(&what, self.data.iter().copied(), self.scale.range)?;
        let m = Metrics::new((f64::from(w_px) / 640.0).min(f64::from(h_px) / 560.0));
        let s = m.s;
        let t = self.texts(&m, f64::from(w_px));
        let avail_h = f64::from(h_px) - t.top - t.bottom;
        let y_ticks_guess = nice_ticks(0.0, (self.h - 1) as f64, 10, true);
        let y_tick_w = y_ticks_guess
            .0
            .iter()
            .map(|&t| text_width(&tick_label(t, 0), m.tick, false))
            .max()
            .unwrap_or(0);
        let left =
            m.margin + line_height(m.label) + 6.0 * s + f64::from(y_tick_w) + 3.0 * s + t.tick_len;
        let bar = ColorbarText {
            tick_w: f64::from(colorbar_label_width(
                &colorbar_ticks(range, avail_h.max(1.0) as u32),
                m.tick,
            )),
            tick_len: t.tick_len,
        };
        // The colour bar's label is wrapped to the available height first, then to the
        // panel's height once that is known.
        let mut label_fit = avail_h;
        let mut plan = None;
        for _ in 0..3 {
            let (p, refit) = self.place(&m, &t, range, left, &bar, label_fit)?;
            label_fit = f64::from(p.panel.height);
            plan = Some(p);
            if !refit {
                break;
            }
        }
        plan.ok_or_else(|| DrawError::Draw {
            what,
            message: "no layout".to_string(),
        })
    }

    /// The layout with the colour bar label wrapped to `label_fit` pixels, and whether
    /// the label is longer than the panel is high (then it is wrapped again).
    fn place(
        &self,
        m: &Metrics,
        t: &Texts,
        range: (f32, f32),
        left: f64,
        bar: &ColorbarText,
        label_fit: f64,
    ) -> Result<(Plan, bool)> {
        let (w_px, h_px) = self.style.size.unwrap_or(DEFAULT_SIZE);
        let s = m.s;
        let (cb_size, cb_lines) = bar.label_lines(&self.scale.label, label_fit, m);
        let right = bar.right_width(&cb_lines, cb_size, m);
        let avail_w = f64::from(w_px) - left - right;
        let avail_h = f64::from(h_px) - t.top - t.bottom;
        if avail_w < 20.0 || avail_h < 20.0 {
            return Err(DrawError::FigureTooSmall {
                what: self.what(),
                width: w_px,
                height: h_px,
                min_width: (left + right + 20.0).ceil() as u32,
                min_height: (t.top + t.bottom + 20.0).ceil() as u32,
            });
        }
        let (pw, ph) = panel_size(self.h, self.w, avail_w, avail_h);
        // Cropped to the content, like matplotlib's bbox_inches='tight'.
        let block_w = left + f64::from(pw) + right;
        let out_w = block_w
            .max(t.min_content_w + 2.0 * m.margin)
            .min(f64::from(w_px))
            .ceil();
        let out_h = (t.top + f64::from(ph) + t.bottom)
            .min(f64::from(h_px))
            .ceil();
        let x0 = ((out_w - block_w) / 2.0).max(0.0) + left;
        let panel = PixelRect {
            x: x0.round() as u32,
            y: t.top.round() as u32,
            width: pw,
            height: ph,
        };
        let colorbar = bar.beside(panel, s);
        let refit = cb_lines
            .iter()
            .any(|l| f64::from(text_width(l, cb_size, false)) > f64::from(ph));
        let axis_ticks = |n: usize, px: u32, per: f64| {
            nice_ticks(
                0.0,
                (n - 1) as f64,
                ((f64::from(px) / per) as usize).clamp(2, 10),
                true,
            )
        };
        let plan = Plan {
            m: Metrics::new(s),
            range,
            size: (out_w as u32, out_h as u32),
            title_size: t.title_size,
            title_lines: t.title_lines.clone(),
            title: PixelRect {
                x: 0,
                y: 0,
                width: out_w as u32,
                height: (m.margin + t.title_h).round() as u32,
            },
            panel,
            colorbar,
            x_ticks: axis_ticks(self.w, pw, 60.0),
            y_ticks: axis_ticks(self.h, ph, 50.0),
            tick_len: t.tick_len,
            cb_ticks: colorbar_ticks(range, ph),
            cb_label_x: bar.label_x(colorbar, &cb_lines, cb_size, m),
            cb_size,
            cb_lines,
            y_label_x: x0 - left + m.margin + line_height(m.label) / 2.0,
            note_lines: t.note_lines.clone(),
        };
        Ok((plan, refit))
    }

    fn what(&self) -> String {
        if self.style.title.is_empty() {
            "heatmap".to_string()
        } else {
            format!("heatmap {:?}", self.style.title)
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

    /// Draws the figure. Its size is at most the requested [`Styled::size`]: the unused
    /// margin around the square-pixel panel is cropped.
    pub fn render(&self) -> Result<RgbImage> {
        let p = self.plan()?;
        let mut canvas = Canvas::new(&self.what(), p.size.0, p.size.1, PAPER)?;
        let style = PanelStyle {
            range: p.range,
            colormap: self.scale.colormap,
            underlay: self.underlay.as_ref().map(|(img, b)| (img, *b)),
            outline: self.scale.outline.as_ref(),
        };
        let data = PanelData {
            data: &self.data,
            h: self.h,
            w: self.w,
        };
        paint_panel(&mut canvas, p.panel, &data, &style);
        paint_colorbar(&mut canvas, p.colorbar, self.scale.colormap);
        let s = p.m.s;
        let centre_x = f64::from(p.size.0) / 2.0;
        let (title_size, margin) = (p.title_size, p.m.margin);
        canvas.lines_centered(&p.title_lines, centre_x, margin, title_size, true, INK);
        draw_pixel_axes(&mut canvas, &p, self);
        let cb_text = (&p.cb_lines[..], p.cb_size, p.cb_label_x);
        draw_colorbar_text(
            &mut canvas,
            p.colorbar,
            p.range,
            &p.cb_ticks,
            p.m.tick,
            cb_text,
        );
        // Legend of the outline and the note, under the x-axis label.
        let y = f64::from(p.panel.y1())
            + p.tick_len
            + 3.0 * s
            + line_height(p.m.tick)
            + 6.0 * s
            + line_height(p.m.label)
            + 6.0 * s;
        let outline = self.scale.outline.as_ref();
        draw_legend_and_note(&mut canvas, outline, &p.note_lines, (centre_x, y), &p.m);
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
        &hm.style.x_label,
        (centre_x, x_label_y),
        p.m.label,
        false,
        TOP_CENTER,
        false,
        INK,
    );
    let centre_y = f64::from(panel.y) + f64::from(panel.height) / 2.0;
    canvas.text(
        &hm.style.y_label,
        (p.y_label_x, centre_y),
        p.m.label,
        false,
        CENTER,
        true,
        INK,
    );
}
