//! A grid of heatmaps sharing one colour bar: rows are FIQA methods, columns the
//! statistics (MAM high, MAM low, AM-V high, AM-V low, D-AM-V).

use std::path::Path;

use image::RgbImage;

use crate::canvas::Canvas;
use crate::colormap::Colormap;
use crate::error::{check_shape, ReportError, Result};
use crate::heatmap::{draw_outline_sample, Metrics};
use crate::output::write_png_atomic;
use crate::panel::{
    colorbar_label_width, colorbar_ticks, draw_colorbar_text, paint_colorbar, paint_panel,
    panel_size, range_label_height, resolve_range, Outline, PanelData, PanelStyle, PixelRect, INK,
    NOTE,
};
use crate::text::{
    ensure_fonts, fit_lines, line_height, text_width, CENTER, LEFT_CENTER, RIGHT_CENTER,
};

/// One grid cell's data.
#[derive(Clone, Debug)]
struct Cell {
    data: Vec<f32>,
    h: usize,
    w: usize,
}

/// Where the parts of a rendered [`Grid`] are.
#[derive(Clone, Debug, PartialEq)]
pub struct GridLayout {
    /// Size of the rendered image (width, height).
    pub size: (u32, u32),
    /// The heat panel of each cell, row-major (`row * cols + col`).
    pub panels: Vec<PixelRect>,
    /// The shared colour gradient (top row = range max).
    pub colorbar: PixelRect,
    /// The value range the colours span.
    pub range: (f32, f32),
}

/// Rows x columns of heatmaps with row labels, column titles and one shared colour bar.
///
/// ```no_run
/// # fn main() -> Result<(), amva_report::ReportError> {
/// let map = vec![0.2f32; 112 * 112];
/// let mut grid = amva_report::Grid::new(2, 5)?
///     .title("Activation map statistics per FIQA method")
///     .row_labels(["MagFace", "SER-FIQ"])
///     .col_titles(["MAM high", "MAM low", "AM-V high", "AM-V low", "D-AM-V"])
///     .colorbar_label("value (0-1 scale)");
/// for r in 0..2 {
///     for c in 0..5 {
///         grid = grid.cell(r, c, map.clone(), 112, 112)?;
///     }
/// }
/// grid.write_png("grid.png")?;
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct Grid {
    rows: usize,
    cols: usize,
    cells: Vec<Option<Cell>>,
    row_labels: Vec<String>,
    col_titles: Vec<String>,
    title: String,
    colorbar_label: String,
    range: Option<(f32, f32)>,
    colormap: Colormap,
    outline: Option<Outline>,
    note: Option<String>,
    cell_size: u32,
}

impl Grid {
    /// An empty `rows x cols` grid; cells left empty are drawn as "no data".
    pub fn new(rows: usize, cols: usize) -> Result<Self> {
        if rows == 0 || cols == 0 {
            return Err(ReportError::Empty {
                what: "grid".to_string(),
                reason: format!("{rows} rows x {cols} columns"),
            });
        }
        Ok(Grid {
            rows,
            cols,
            cells: vec![None; rows * cols],
            row_labels: Vec::new(),
            col_titles: Vec::new(),
            title: String::new(),
            colorbar_label: String::new(),
            range: None,
            colormap: Colormap::Jet,
            outline: None,
            note: None,
            cell_size: 170,
        })
    }

    /// Sets cell `(row, col)` to `h x w` values, row-major.
    pub fn cell(
        mut self,
        row: usize,
        col: usize,
        data: Vec<f32>,
        h: usize,
        w: usize,
    ) -> Result<Self> {
        if row >= self.rows || col >= self.cols {
            return Err(ReportError::GridIndex {
                what: "grid cell".to_string(),
                row,
                col,
                rows: self.rows,
                cols: self.cols,
            });
        }
        check_shape(&format!("grid cell ({row}, {col})"), data.len(), h, w)?;
        self.cells[row * self.cols + col] = Some(Cell { data, h, w });
        Ok(self)
    }

    /// One label per row, shown left of it (e.g. FIQA method names).
    pub fn row_labels<S: Into<String>>(mut self, labels: impl IntoIterator<Item = S>) -> Self {
        self.row_labels = labels.into_iter().map(Into::into).collect();
        self
    }

    /// One title per column, shown above it.
    pub fn col_titles<S: Into<String>>(mut self, titles: impl IntoIterator<Item = S>) -> Self {
        self.col_titles = titles.into_iter().map(Into::into).collect();
        self
    }

    /// The figure title.
    pub fn title(mut self, title: impl Into<String>) -> Self {
        self.title = title.into();
        self
    }

    /// What the colours mean, with units.
    pub fn colorbar_label(mut self, label: impl Into<String>) -> Self {
        self.colorbar_label = label.into();
        self
    }

    /// The shared value range; without it, the finite min and max over all cells.
    pub fn range(mut self, min: f32, max: f32) -> Self {
        self.range = Some((min, max));
        self
    }

    /// The colour map (default jet).
    pub fn colormap(mut self, colormap: Colormap) -> Self {
        self.colormap = colormap;
        self
    }

    /// An outline drawn over every cell, with a legend entry.
    pub fn outline(mut self, outline: Outline) -> Self {
        self.outline = Some(outline);
        self
    }

    /// A small note under the figure.
    pub fn note(mut self, note: impl Into<String>) -> Self {
        self.note = Some(note.into());
        self
    }

    /// Edge of each (square) cell in pixels (default 170); the figure size follows.
    pub fn cell_size(mut self, px: u32) -> Self {
        self.cell_size = px.max(16);
        self
    }

    fn what(&self) -> String {
        if self.title.is_empty() {
            "grid".to_string()
        } else {
            format!("grid {:?}", self.title)
        }
    }

    fn plan(&self) -> Result<Plan> {
        ensure_fonts()?;
        let what = self.what();
        for (name, labels, n) in [
            ("row labels", &self.row_labels, self.rows),
            ("column titles", &self.col_titles, self.cols),
        ] {
            if !labels.is_empty() && labels.len() != n {
                return Err(ReportError::LabelCount {
                    what: format!("{what}: {name}"),
                    expected: n,
                    got: labels.len(),
                });
            }
        }
        let values = self
            .cells
            .iter()
            .flatten()
            .flat_map(|c| c.data.iter().copied());
        let range = resolve_range(&what, values, self.range)?;
        let cell = f64::from(self.cell_size);
        let m = Metrics::new((cell / 170.0).sqrt());
        let s = m.s;
        let gap = (8.0 * s).round();

        let col_fits: Vec<(f64, Vec<String>)> = self
            .col_titles
            .iter()
            .map(|t| fit_lines(t, cell, m.label, 9.0 * s, 2, true))
            .collect();
        let col_title_h = col_fits
            .iter()
            .map(|(size, lines)| lines.len() as f64 * line_height(*size))
            .fold(0.0, f64::max);
        let row_fits: Vec<(f64, Vec<String>)> = self
            .row_labels
            .iter()
            .map(|t| fit_lines(t, 150.0 * s, m.label, 9.0 * s, 3, true))
            .collect();
        let row_label_w = row_fits
            .iter()
            .flat_map(|(size, lines)| lines.iter().map(move |l| text_width(l, *size, true)))
            .max()
            .map_or(0.0, |w| f64::from(w) + 10.0 * s);

        let grid_w = self.cols as f64 * cell + (self.cols - 1) as f64 * gap;
        let grid_h = self.rows as f64 * cell + (self.rows - 1) as f64 * gap;
        let tick_len = (4.0 * s).round();
        let cb_ticks = colorbar_ticks(range, grid_h as u32);
        let cb_tick_w = f64::from(colorbar_label_width(&cb_ticks, m.tick));
        let (cb_size, cb_lines) = if self.colorbar_label.is_empty() {
            (m.label, Vec::new())
        } else {
            fit_lines(&self.colorbar_label, grid_h, m.label, 9.0 * s, 2, false)
        };
        let cb_label_w = cb_lines.len() as f64 * line_height(cb_size);
        let (cb_gap, bar_w) = ((16.0 * s).round(), (18.0 * s).round());
        let right =
            cb_gap + bar_w + tick_len + 3.0 * s + cb_tick_w + 8.0 * s + cb_label_w + m.margin;
        let left = m.margin + row_label_w;
        let width = left + grid_w + right;

        let (title_size, title_lines) = if self.title.is_empty() {
            (m.title, Vec::new())
        } else {
            fit_lines(
                &self.title,
                width - 2.0 * m.margin,
                m.title,
                10.0 * s,
                2,
                true,
            )
        };
        let title_h = title_lines.len() as f64 * line_height(title_size);
        let head = (col_title_h + 4.0 * s).max(range_label_height(m.tick));
        let top = m.margin + title_h + if title_lines.is_empty() { 0.0 } else { 8.0 * s } + head;

        let mut below = range_label_height(m.tick) + 6.0 * s;
        if self.outline.is_some() {
            below += line_height(m.tick) + 4.0 * s;
        }
        let note_lines = match &self.note {
            Some(n) => fit_lines(n, width - 2.0 * m.margin, m.tick, 8.0 * s, 3, false).1,
            None => Vec::new(),
        };
        below += note_lines.len() as f64 * line_height(m.tick);
        let height = top + grid_h + below + m.margin;

        let mut panels = Vec::with_capacity(self.rows * self.cols);
        for r in 0..self.rows {
            for c in 0..self.cols {
                let cx = left + c as f64 * (cell + gap);
                let cy = top + r as f64 * (cell + gap);
                let (h, w) = self.cells[r * self.cols + c]
                    .as_ref()
                    .map_or((1, 1), |d| (d.h, d.w));
                let (pw, ph) = panel_size(h, w, cell, cell);
                panels.push(PixelRect {
                    x: (cx + (cell - f64::from(pw)) / 2.0).round() as u32,
                    y: (cy + (cell - f64::from(ph)) / 2.0).round() as u32,
                    width: pw,
                    height: ph,
                });
            }
        }
        let colorbar = PixelRect {
            x: (left + grid_w + cb_gap).round() as u32,
            y: top.round() as u32,
            width: bar_w as u32,
            height: grid_h.round() as u32,
        };
        let cb_label_x =
            f64::from(colorbar.x1()) + tick_len + 3.0 * s + cb_tick_w + 8.0 * s + cb_label_w / 2.0;
        Ok(Plan {
            size: (width.ceil() as u32, height.ceil() as u32),
            m,
            range,
            cell,
            gap,
            left,
            top,
            title_size,
            title_lines,
            col_fits,
            row_fits,
            panels,
            colorbar,
            cb_ticks,
            cb_size,
            cb_lines,
            cb_label_x,
            grid_h,
            note_lines,
        })
    }

    /// Where the panels and colour bar will be in the rendered image.
    pub fn layout(&self) -> Result<GridLayout> {
        let p = self.plan()?;
        Ok(GridLayout {
            size: p.size,
            panels: p.panels,
            colorbar: p.colorbar,
            range: p.range,
        })
    }

    /// Draws the figure.
    pub fn render(&self) -> Result<RgbImage> {
        let p = self.plan()?;
        let what = self.what();
        let mut canvas = Canvas::new(&what, p.size.0, p.size.1, [255, 255, 255])?;
        let s = p.m.s;
        let style = PanelStyle {
            range: p.range,
            colormap: self.colormap,
            underlay: None,
            outline: self.outline.as_ref(),
        };
        for (i, cell) in self.cells.iter().enumerate() {
            let rect = p.panels[i];
            match cell {
                Some(c) => {
                    let data = PanelData {
                        data: &c.data,
                        h: c.h,
                        w: c.w,
                    };
                    paint_panel(&mut canvas, rect, &data, &style);
                }
                None => {
                    let (x0, y0) = (i64::from(rect.x), i64::from(rect.y));
                    let (x1, y1) = (i64::from(rect.x1()), i64::from(rect.y1()));
                    canvas.fill_rect(x0, y0, x1, y1, [242, 242, 242]);
                    canvas.frame(x0, y0, x1, y1, [190, 190, 190]);
                    let centre = (
                        f64::from(rect.x) + f64::from(rect.width) / 2.0,
                        f64::from(rect.y) + f64::from(rect.height) / 2.0,
                    );
                    canvas.text("no data", centre, p.m.tick, false, CENTER, false, NOTE);
                }
            }
        }
        paint_colorbar(&mut canvas, p.colorbar, self.colormap);
        let width = f64::from(p.size.0);
        canvas.lines_centered(
            &p.title_lines,
            width / 2.0,
            p.m.margin,
            p.title_size,
            true,
            INK,
        );
        for (c, (size, lines)) in p.col_fits.iter().enumerate() {
            let cx = p.left + c as f64 * (p.cell + p.gap) + p.cell / 2.0;
            let block = lines.len() as f64 * line_height(*size);
            canvas.lines_centered(lines, cx, p.top - 4.0 * s - block, *size, true, INK);
        }
        for (r, (size, lines)) in p.row_fits.iter().enumerate() {
            let cy = p.top + r as f64 * (p.cell + p.gap) + p.cell / 2.0;
            let n = lines.len() as f64;
            for (i, line) in lines.iter().enumerate() {
                let y = cy + (i as f64 - (n - 1.0) / 2.0) * line_height(*size);
                canvas.text(
                    line,
                    (p.left - 10.0 * s, y),
                    *size,
                    true,
                    RIGHT_CENTER,
                    false,
                    INK,
                );
            }
        }
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
        let mut y = p.top + p.grid_h + range_label_height(p.m.tick) + 6.0 * s;
        if let Some(outline) = &self.outline {
            let sample_w = (26.0 * s).round();
            let text_w = f64::from(text_width(outline.label(), p.m.tick, false));
            let x0 = width / 2.0 - (sample_w + 6.0 * s + text_w) / 2.0;
            let cy = y + line_height(p.m.tick) / 2.0;
            draw_outline_sample(&mut canvas, x0, cy, sample_w);
            canvas.text(
                outline.label(),
                (x0 + sample_w + 6.0 * s, cy),
                p.m.tick,
                false,
                LEFT_CENTER,
                false,
                INK,
            );
            y += line_height(p.m.tick) + 4.0 * s;
        }
        canvas.lines_centered(&p.note_lines, width / 2.0, y, p.m.tick, false, NOTE);
        canvas.into_image()
    }

    /// Draws the figure and writes it as a PNG file atomically.
    pub fn write_png(&self, path: impl AsRef<Path>) -> Result<()> {
        write_png_atomic(path, &self.render()?)
    }
}

struct Plan {
    size: (u32, u32),
    m: Metrics,
    range: (f32, f32),
    cell: f64,
    gap: f64,
    left: f64,
    top: f64,
    title_size: f64,
    title_lines: Vec<String>,
    col_fits: Vec<(f64, Vec<String>)>,
    row_fits: Vec<(f64, Vec<String>)>,
    panels: Vec<PixelRect>,
    colorbar: PixelRect,
    cb_ticks: (Vec<f64>, usize),
    cb_size: f64,
    cb_lines: Vec<String>,
    cb_label_x: f64,
    grid_h: f64,
    note_lines: Vec<String>,
}
