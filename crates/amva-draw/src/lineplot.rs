//! Line plots: KDE distributions, spatial profiles, EDC curves, deletion/insertion curves.

use std::path::Path;

use image::RgbImage;

use crate::canvas::{Canvas, Polyline};
use crate::error::{DrawError, Result};
use crate::output::write_png_atomic;
use crate::panel::PixelRect;
use crate::style::{Metrics, Style, Styled, INK, NOTE, PAPER};
use crate::text::{
    ensure_fonts, fit_lines, line_height, text_width, CENTER, LEFT_CENTER, LEFT_TOP, RIGHT_CENTER,
    TOP_CENTER,
};
use crate::ticks::{nice_ticks, tick_label};

/// matplotlib's default colour cycle ("tab10"), so plots look familiar.
pub const TAB10: [[u8; 3]; 10] = [
    [31, 119, 180],
    [255, 127, 14],
    [44, 160, 44],
    [214, 39, 40],
    [148, 103, 189],
    [140, 86, 75],
    [227, 119, 194],
    [127, 127, 127],
    [188, 189, 34],
    [23, 190, 207],
];

/// Grey of reference series.
const REFERENCE_GREY: [u8; 3] = [120, 120, 120];
const GRID: [u8; 3] = [228, 228, 228];

/// How consecutive points of a series are joined.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Join {
    /// Straight lines.
    #[default]
    Straight,
    /// matplotlib's `drawstyle='steps-post'`: the value holds until the next x.
    StepsPost,
}

/// One named curve of a [`LinePlot`].
#[derive(Clone, Debug)]
pub struct Series {
    name: String,
    points: Vec<(f64, f64)>,
    color: Option<[u8; 3]>,
    dashed: bool,
    join: Join,
    width: u32,
}

impl Series {
    /// A solid line through `points` (in order; non-finite points break the line). Its
    /// colour is the next of [`TAB10`] unless set.
    pub fn line(name: impl Into<String>, points: Vec<(f64, f64)>) -> Self {
        Series {
            name: name.into(),
            points,
            color: None,
            dashed: false,
            join: Join::Straight,
            width: 2,
        }
    }

    /// A grey dashed reference curve (e.g. the random-quality EDC), which does not use up
    /// a colour of the cycle.
    pub fn reference(name: impl Into<String>, points: Vec<(f64, f64)>) -> Self {
        Series {
            color: Some(REFERENCE_GREY),
            dashed: true,
            ..Series::line(name, points)
        }
    }

    /// Draw as steps (`steps-post`), e.g. EDC curves.
    pub fn steps(mut self) -> Self {
        self.join = Join::StepsPost;
        self
    }

    /// Draw dashed.
    pub fn dashed(mut self) -> Self {
        self.dashed = true;
        self
    }

    /// A fixed colour.
    pub fn color(mut self, rgb: [u8; 3]) -> Self {
        self.color = Some(rgb);
        self
    }

    /// Line width in pixels at the default figure size (default 2).
    pub fn width(mut self, px: u32) -> Self {
        self.width = px.max(1);
        self
    }

    /// How this series strokes `points` (pixels) at font scale `s`.
    fn stroke(&self, points: Vec<(f64, f64)>, color: [u8; 3], s: f64) -> Polyline {
        let width = f64::from(self.width) * s.max(1.0);
        Polyline {
            points,
            color,
            width,
            dash: self.dashed.then_some((3.5 * width, 2.0 * width)),
        }
    }

    /// The polyline(s) to draw in data coordinates, split at non-finite points.
    fn polylines(&self) -> Vec<Vec<(f64, f64)>> {
        let mut out = Vec::new();
        let mut cur: Vec<(f64, f64)> = Vec::new();
        for &(x, y) in &self.points {
            if !(x.is_finite() && y.is_finite()) {
                if !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
                continue;
            }
            if self.join == Join::StepsPost {
                if let Some(&(_, py)) = cur.last() {
                    cur.push((x, py));
                }
            }
            cur.push((x, y));
        }
        if !cur.is_empty() {
            out.push(cur);
        }
        out
    }
}

/// A corner of the plot area, for the legend and the annotation box.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Corner {
    /// Upper left.
    UpperLeft,
    /// Upper right.
    #[default]
    UpperRight,
    /// Lower left.
    LowerLeft,
    /// Lower right.
    LowerRight,
}

/// A plot of named series with title, axis labels, legend and text annotations (the
/// title, labels, note and size through [`Styled`]).
///
/// ```no_run
/// use amva_draw::{Corner, Styled, LinePlot, Series};
/// # fn main() -> Result<(), amva_draw::DrawError> {
/// LinePlot::new("AM-V distribution: MagFace high vs low quality")
///     .axis_labels("AM-V per pixel", "density")
///     .series(Series::line("high (top 20%)", vec![(0.0, 0.0), (0.1, 5.0), (0.2, 1.0)]))
///     .series(Series::line("low (bottom 20%)", vec![(0.0, 0.0), (0.2, 4.0), (0.3, 0.5)]))
///     .annotation("KS D = 0.31, W1 = 0.012")
///     .annotation_corner(Corner::UpperLeft)
///     .write_png("kde_amv.png")?;
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct LinePlot {
    style: Style,
    series: Vec<Series>,
    annotations: Vec<String>,
    legend_corner: Corner,
    annotation_corner: Corner,
    x_range: Option<(f64, f64)>,
    y_range: Option<(f64, f64)>,
}

impl Styled for LinePlot {
    fn style_mut(&mut self) -> &mut Style {
        &mut self.style
    }
}

/// Default output size.
const DEFAULT_SIZE: (u32, u32) = (720, 480);

/// A computed layout.
struct Plan {
    m: Metrics,
    size: (u32, u32),
    title_size: f64,
    title_lines: Vec<String>,
    note_lines: Vec<String>,
    tick_len: f64,
    x_axis_h: f64,
    map: Mapping,
    x_ticks: (Vec<f64>, usize),
    y_ticks: (Vec<f64>, usize),
}

impl LinePlot {
    /// An empty plot with a title.
    pub fn new(title: impl Into<String>) -> Self {
        LinePlot {
            style: Style {
                title: title.into(),
                ..Style::default()
            },
            series: Vec::new(),
            annotations: Vec::new(),
            legend_corner: Corner::UpperRight,
            annotation_corner: Corner::UpperLeft,
            x_range: None,
            y_range: None,
        }
    }

    /// Adds a series (drawn in the order added; the legend lists them in that order).
    pub fn series(mut self, series: Series) -> Self {
        self.series.push(series);
        self
    }

    /// Adds a line of text to the annotation box, e.g. "KS D = 0.31, W1 = 0.012".
    pub fn annotation(mut self, text: impl Into<String>) -> Self {
        self.annotations.push(text.into());
        self
    }

    /// Where the legend goes (default upper right).
    pub fn legend_corner(mut self, corner: Corner) -> Self {
        self.legend_corner = corner;
        self
    }

    /// Where the annotation box goes (default upper left).
    pub fn annotation_corner(mut self, corner: Corner) -> Self {
        self.annotation_corner = corner;
        self
    }

    /// Fixed x range; without it, the data range plus 5 % each side (as matplotlib).
    pub fn x_range(mut self, min: f64, max: f64) -> Self {
        self.x_range = Some((min, max));
        self
    }

    /// Fixed y range; without it, the data range plus 5 % each side.
    pub fn y_range(mut self, min: f64, max: f64) -> Self {
        self.y_range = Some((min, max));
        self
    }

    fn what(&self) -> String {
        format!("line plot {:?}", self.style.title)
    }

    fn ranges(&self) -> Result<((f64, f64), (f64, f64))> {
        let what = self.what();
        let pts = || {
            self.series
                .iter()
                .flat_map(|s| s.points.iter().copied())
                .filter(|(x, y)| x.is_finite() && y.is_finite())
        };
        let resolve = |explicit: Option<(f64, f64)>, vals: Vec<f64>| -> Result<(f64, f64)> {
            if let Some((lo, hi)) = explicit {
                if !(lo.is_finite() && hi.is_finite() && lo < hi) {
                    return Err(DrawError::InvalidRange {
                        what: what.clone(),
                        min: lo,
                        max: hi,
                    });
                }
                return Ok((lo, hi));
            }
            let lo = vals.iter().copied().fold(f64::INFINITY, f64::min);
            let hi = vals.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            if lo > hi {
                return Err(DrawError::Empty {
                    what: what.clone(),
                    reason: "no series has a finite point".to_string(),
                });
            }
            if lo == hi {
                let pad = if lo == 0.0 { 1.0 } else { lo.abs() * 0.1 };
                return Ok((lo - pad, hi + pad));
            }
            let pad = (hi - lo) * 0.05;
            Ok((lo - pad, hi + pad))
        };
        let xr = resolve(self.x_range, pts().map(|p| p.0).collect())?;
        let yr = resolve(self.y_range, pts().map(|p| p.1).collect())?;
        Ok((xr, yr))
    }

    fn plan(&self) -> Result<Plan> {
        ensure_fonts()?;
        if self.series.is_empty() {
            return Err(DrawError::Empty {
                what: self.what(),
                reason: "no series".to_string(),
            });
        }
        let ((x0, x1), (y0, y1)) = self.ranges()?;
        let (w_px, h_px) = self.style.size.unwrap_or(DEFAULT_SIZE);
        let (width, height) = (f64::from(w_px), f64::from(h_px));
        let m = Metrics::new((width / 720.0).min(height / 480.0));
        let s = m.s;
        let text_w = width - 2.0 * m.margin;
        let (title_size, title_lines) =
            fit_lines(&self.style.title, text_w, m.title, 10.0 * s, 2, true);
        let top = m.margin + title_lines.len() as f64 * line_height(title_size) + 8.0 * s;
        let note_lines = m.note_lines(self.style.note.as_deref(), text_w);
        let tick_len = (4.0 * s).round();
        let x_axis_h = tick_len + 3.0 * s + line_height(m.tick) + 5.0 * s + line_height(m.label);
        let bottom = x_axis_h + m.margin + note_lines.len() as f64 * line_height(m.tick) + 2.0 * s;
        let plot_h = height - top - bottom;
        let y_ticks = nice_ticks(y0, y1, ((plot_h / 50.0) as usize).clamp(3, 10), false);
        let y_tick_w = y_ticks
            .0
            .iter()
            .map(|&t| text_width(&tick_label(t, y_ticks.1), m.tick, false))
            .max()
            .unwrap_or(0);
        let left =
            m.margin + line_height(m.label) + 5.0 * s + f64::from(y_tick_w) + 3.0 * s + tick_len;
        let right = m.margin + 8.0 * s;
        let plot_w = width - left - right;
        if plot_w < 40.0 || plot_h < 40.0 {
            return Err(DrawError::FigureTooSmall {
                what: self.what(),
                width: w_px,
                height: h_px,
                min_width: (left + right + 40.0).ceil() as u32,
                min_height: (top + bottom + 40.0).ceil() as u32,
            });
        }
        let plot = PixelRect {
            x: left.round() as u32,
            y: top.round() as u32,
            width: plot_w.round() as u32,
            height: plot_h.round() as u32,
        };
        Ok(Plan {
            size: (w_px, h_px),
            title_size,
            title_lines,
            note_lines,
            tick_len,
            x_axis_h,
            map: Mapping {
                plot,
                x0,
                x1,
                y0,
                y1,
            },
            x_ticks: nice_ticks(x0, x1, ((plot_w / 80.0) as usize).clamp(3, 10), false),
            y_ticks,
            m,
        })
    }

    /// Draws the figure at its [`Styled::size`].
    pub fn render(&self) -> Result<RgbImage> {
        let p = self.plan()?;
        let plot = p.map.plot;
        let mut canvas = Canvas::new(&self.what(), p.size.0, p.size.1, PAPER)?;
        // Grid, then series (clipped to the plot), then the frame on top.
        draw_grid_lines(&mut canvas, &p);
        let colors = self.colors();
        let mut lines = Vec::new();
        for (series, &color) in self.series.iter().zip(&colors) {
            for line in series.polylines() {
                for points in p.map.clip_polyline(&line) {
                    lines.push(series.stroke(points, color, p.m.s));
                }
            }
        }
        canvas.stroke(&lines);
        let (x0, y0) = (i64::from(plot.x), i64::from(plot.y));
        canvas.frame(x0, y0, i64::from(plot.x1()), i64::from(plot.y1()), INK);
        draw_axes(&mut canvas, &p, &self.style);
        let (m, centre_x) = (&p.m, f64::from(p.size.0) / 2.0);
        canvas.lines_centered(&p.title_lines, centre_x, m.margin, p.title_size, true, INK);
        let note_top = f64::from(plot.y1()) + p.x_axis_h + 2.0 * m.s;
        canvas.lines_centered(&p.note_lines, centre_x, note_top, m.tick, false, NOTE);
        self.draw_legend(&mut canvas, plot, &colors, m);
        self.draw_annotations(&mut canvas, plot, m);
        canvas.into_image()
    }

    /// Colours in drawing order: fixed ones, else the tab10 cycle (skipping references).
    fn colors(&self) -> Vec<[u8; 3]> {
        let mut next = 0;
        self.series
            .iter()
            .map(|s| match s.color {
                Some(c) => c,
                None => {
                    let c = TAB10[next % TAB10.len()];
                    next += 1;
                    c
                }
            })
            .collect()
    }

    fn draw_legend(&self, canvas: &mut Canvas, plot: PixelRect, colors: &[[u8; 3]], m: &Metrics) {
        let s = m.s;
        let entries: Vec<(&Series, [u8; 3])> = self
            .series
            .iter()
            .zip(colors.iter().copied())
            .filter(|(se, _)| !se.name.is_empty())
            .collect();
        if entries.is_empty() {
            return;
        }
        let sample = 28.0 * s;
        let pad = 6.0 * s;
        let row_h = line_height(m.tick) + 2.0 * s;
        let text_w = entries
            .iter()
            .map(|(se, _)| text_width(&se.name, m.tick, false))
            .max()
            .unwrap_or(0);
        let box_w = pad * 3.0 + sample + f64::from(text_w);
        let box_h = pad * 2.0 + row_h * entries.len() as f64;
        let (bx, by) = corner_origin(plot, self.legend_corner, box_w, box_h, 8.0 * s);
        draw_box(canvas, bx, by, box_w, box_h);
        for (i, (se, c)) in entries.iter().enumerate() {
            let cy = by + pad + row_h * (i as f64 + 0.5);
            let pts = vec![(bx + pad, cy), (bx + pad + sample, cy)];
            canvas.stroke(&[se.stroke(pts, *c, s)]);
            canvas.text(
                &se.name,
                (bx + 2.0 * pad + sample, cy),
                m.tick,
                false,
                LEFT_CENTER,
                false,
                INK,
            );
        }
    }

    fn draw_annotations(&self, canvas: &mut Canvas, plot: PixelRect, m: &Metrics) {
        if self.annotations.is_empty() {
            return;
        }
        let s = m.s;
        let pad = 6.0 * s;
        let row_h = line_height(m.tick);
        let text_w = self
            .annotations
            .iter()
            .map(|a| text_width(a, m.tick, false))
            .max()
            .unwrap_or(0);
        let box_w = 2.0 * pad + f64::from(text_w);
        let box_h = 2.0 * pad + row_h * self.annotations.len() as f64;
        let (bx, by) = corner_origin(plot, self.annotation_corner, box_w, box_h, 8.0 * s);
        draw_box(canvas, bx, by, box_w, box_h);
        for (i, a) in self.annotations.iter().enumerate() {
            canvas.text(
                a,
                (bx + pad, by + pad + row_h * i as f64),
                m.tick,
                false,
                LEFT_TOP,
                false,
                INK,
            );
        }
    }

    /// Draws the figure and writes it as a PNG file atomically.
    pub fn write_png(&self, path: impl AsRef<Path>) -> Result<()> {
        write_png_atomic(path, &self.render()?)
    }
}

/// The light grid lines at the ticks.
fn draw_grid_lines(canvas: &mut Canvas, p: &Plan) {
    let plot = p.map.plot;
    let (top, bottom) = (i64::from(plot.y), i64::from(plot.y1()) - 1);
    let (left, right) = (i64::from(plot.x), i64::from(plot.x1()) - 1);
    for &t in &p.x_ticks.0 {
        let (px, _) = p.map.px(t, p.map.y0);
        canvas.vline(px.round() as i64, top, bottom, 1, GRID);
    }
    for &t in &p.y_ticks.0 {
        let (_, py) = p.map.px(p.map.x0, t);
        canvas.hline(left, right, py.round() as i64, 1, GRID);
    }
}

/// Ticks, tick labels and axis labels.
fn draw_axes(canvas: &mut Canvas, p: &Plan, style: &Style) {
    let (plot, m, tick_len) = (p.map.plot, &p.m, p.tick_len);
    let s = m.s;
    let bottom_y = f64::from(plot.y1());
    for &t in &p.x_ticks.0 {
        let px = p.map.px(t, p.map.y0).0.round();
        canvas.vline(
            px as i64,
            bottom_y as i64,
            (bottom_y + tick_len) as i64,
            1,
            INK,
        );
        let label = tick_label(t, p.x_ticks.1);
        let at = (px, bottom_y + tick_len + 3.0 * s);
        canvas.text(&label, at, m.tick, false, TOP_CENTER, false, INK);
    }
    let left_x = f64::from(plot.x);
    for &t in &p.y_ticks.0 {
        let py = p.map.px(p.map.x0, t).1.round();
        canvas.hline((left_x - tick_len) as i64, left_x as i64, py as i64, 1, INK);
        let label = tick_label(t, p.y_ticks.1);
        let at = (left_x - tick_len - 3.0 * s, py);
        canvas.text(&label, at, m.tick, false, RIGHT_CENTER, false, INK);
    }
    let centre_x = f64::from(plot.x) + f64::from(plot.width) / 2.0;
    let x_label_y = bottom_y + tick_len + 3.0 * s + line_height(m.tick) + 5.0 * s;
    let at = (centre_x, x_label_y);
    canvas.text(&style.x_label, at, m.label, false, TOP_CENTER, false, INK);
    let centre_y = f64::from(plot.y) + f64::from(plot.height) / 2.0;
    let at = (m.margin + line_height(m.label) / 2.0, centre_y);
    canvas.text(&style.y_label, at, m.label, false, CENTER, true, INK);
}

/// A white, slightly see-through box with a grey border.
fn draw_box(canvas: &mut Canvas, x: f64, y: f64, w: f64, h: f64) {
    let (x0, y0) = (x.round() as i64, y.round() as i64);
    let (x1, y1) = ((x + w).round() as i64, (y + h).round() as i64);
    canvas.shade(x0, y0, x1, y1, [255, 255, 255], 0.88);
    canvas.frame(x0, y0, x1, y1, [170, 170, 170]);
}

/// Top-left corner of a `w x h` box placed in `corner` of `plot`, `inset` pixels inside.
fn corner_origin(plot: PixelRect, corner: Corner, w: f64, h: f64, inset: f64) -> (f64, f64) {
    let (l, t) = (f64::from(plot.x) + inset, f64::from(plot.y) + inset);
    let (r, b) = (
        f64::from(plot.x1()) - inset - w,
        f64::from(plot.y1()) - inset - h,
    );
    match corner {
        Corner::UpperLeft => (l, t),
        Corner::UpperRight => (r, t),
        Corner::LowerLeft => (l, b),
        Corner::LowerRight => (r, b),
    }
}

/// Data to pixel coordinates of a plot, and clipping to its data range.
struct Mapping {
    plot: PixelRect,
    x0: f64,
    x1: f64,
    y0: f64,
    y1: f64,
}

impl Mapping {
    fn px(&self, x: f64, y: f64) -> (f64, f64) {
        let w = f64::from(self.plot.width - 1);
        let h = f64::from(self.plot.height - 1);
        (
            f64::from(self.plot.x) + (x - self.x0) / (self.x1 - self.x0) * w,
            f64::from(self.plot.y) + (self.y1 - y) / (self.y1 - self.y0) * h,
        )
    }

    /// The parts of a data polyline inside the data range, in pixel coordinates
    /// (Liang-Barsky clipping of each segment).
    fn clip_polyline(&self, line: &[(f64, f64)]) -> Vec<Vec<(f64, f64)>> {
        let mut out: Vec<Vec<(f64, f64)>> = Vec::new();
        let mut cur: Vec<(f64, f64)> = Vec::new();
        if line.len() == 1 {
            let (x, y) = line[0];
            if x >= self.x0 && x <= self.x1 && y >= self.y0 && y <= self.y1 {
                let p = self.px(x, y);
                out.push(vec![p, p]);
            }
            return out;
        }
        for seg in line.windows(2) {
            match self.clip_segment(seg[0], seg[1]) {
                Some((a, b, cut_end)) => {
                    let (pa, pb) = (self.px(a.0, a.1), self.px(b.0, b.1));
                    if cur.is_empty() {
                        cur.push(pa);
                    }
                    cur.push(pb);
                    if cut_end {
                        out.push(std::mem::take(&mut cur));
                    }
                }
                None => {
                    if !cur.is_empty() {
                        out.push(std::mem::take(&mut cur));
                    }
                }
            }
        }
        if !cur.is_empty() {
            out.push(cur);
        }
        out
    }

    /// The visible part of segment a-b, and whether its end was cut off.
    #[allow(clippy::type_complexity)]
    fn clip_segment(&self, a: (f64, f64), b: (f64, f64)) -> Option<((f64, f64), (f64, f64), bool)> {
        let (dx, dy) = (b.0 - a.0, b.1 - a.1);
        let (mut t0, mut t1) = (0.0f64, 1.0f64);
        for (p, q) in [
            (-dx, a.0 - self.x0),
            (dx, self.x1 - a.0),
            (-dy, a.1 - self.y0),
            (dy, self.y1 - a.1),
        ] {
            if p == 0.0 {
                if q < 0.0 {
                    return None;
                }
            } else {
                let r = q / p;
                if p < 0.0 {
                    t0 = t0.max(r);
                } else {
                    t1 = t1.min(r);
                }
            }
        }
        if t0 > t1 {
            return None;
        }
        let at = |t: f64| (a.0 + t * dx, a.1 + t * dy);
        Some((at(t0), at(t1), t1 < 1.0))
    }
}
