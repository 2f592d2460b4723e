//! A grid of heatmaps sharing one colour bar: rows are FIQA methods, columns the
//! statistics (MAM high, MAM low, AM-V high, AM-V low, D-AM-V).

use std::path::Path;

use image::RgbImage;

use crate::canvas::Canvas;
use crate::error::{check_shape, DrawError, Result};
use crate::output::write_png_atomic;
use crate::panel::{
    colorbar_label_width, colorbar_ticks, draw_colorbar_text, draw_legend_and_note, paint_colorbar,
    paint_panel, panel_size, range_label_height, resolve_range, ColorbarText, PanelData,
    PanelStyle, PixelRect,
};
use crate::style::{ColorScale, HeatStyled, Metrics, Style, Styled, INK, NOTE, PAPER};
use crate::text::{ensure_fonts, fit_lines, line_height, text_width, CENTER, RIGHT_CENTER};

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

/// Rows x columns of heatmaps with row labels, column titles and one shared colour bar
/// (its title and note through [`Styled`], its colour scale through [`HeatStyled`]; a
/// grid shows no axis labels, and its size follows [`Grid::cell_size`]).
///
/// ```no_run
/// use amva_draw::{Styled, HeatStyled};
/// # fn main() -> Result<(), amva_draw::DrawError> {
/// let map = vec![0.2f32; 112 * 112];
/// let mut grid = amva_draw::Grid::new(2, 5)?
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
    style: Style,
    scale: ColorScale,
    cell_size: u32,
}

impl Styled for Grid {
    fn style_mut(&mut self) -> &mut Style {
        &mut self.style
    }
}

impl HeatStyled for Grid {
    fn scale_mut(&mut self) -> &mut ColorScale {
        &mut self.scale
    }
}

/// Column titles and row labels, fitted: (font size, lines) each.
struct Headers {
    cols: Vec<(f64, Vec<String>)>,
    rows: Vec<(f64, Vec<String>)>,
}

impl Headers {
    /// Height of the tallest column title and width taken by the row labels.
    fn extent(&self, s: f64) -> (f64, f64) {
        let col_title_h = self
            .cols
            .iter()
            .map(|(size, lines)| lines.len() as f64 * line_height(*size))
            .fold(0.0, f64::max);
        let row_label_w = self
            .rows
            .iter()
            .flat_map(|(size, lines)| lines.iter().map(move |l| text_width(l, *size, true)))
            .max()
            .map_or(0.0, |w| f64::from(w) + 10.0 * s);
        (col_title_h, row_label_w)
    }
}

impl Grid {
    /// An empty `rows x cols` grid; cells left empty are drawn as "no data".
    pub fn new(rows: usize, cols: usize) -> Result<Self> {
        if rows == 0 || cols == 0 {
            return Err(DrawError::Empty {
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
            style: Style::default(),
            scale: ColorScale::default(),
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
            return Err(DrawError::GridIndex {
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

    /// Edge of each (square) cell in pixels (default 170); the figure size follows.
    pub fn cell_size(mut self, px: u32) -> Self {
        self.cell_size = px.max(16);
        self
    }

    fn what(&self) -> String {
        if self.style.title.is_empty() {
            "grid".to_string()
        } else {
            format!("grid {:?}", self.style.title)
        }
    }

    /// Checks that there is one row label per row and one title per column (or none).
    fn check_labels(&self) -> Result<()> {
        for (name, labels, n) in [
            ("row labels", &self.row_labels, self.rows),
            ("column titles", &self.col_titles, self.cols),
        ] {
            if !labels.is_empty() && labels.len() != n {
                return Err(DrawError::LabelCount {
                    what: format!("{}: {name}", self.what()),
                    expected: n,
                    got: labels.len(),
                });
            }
        }
        Ok(())
    }

    fn headers(&self, m: &Metrics, cell: f64) -> Headers {
        let s = m.s;
        let fit = |texts: &[String], width: f64, lines: usize| {
            let fit_one = |t: &String| fit_lines(t, width, m.label, 9.0 * s, lines, true);
            texts.iter().map(fit_one).collect()
        };
        Headers {
            cols: fit(&self.col_titles, cell, 2),
            rows: fit(&self.row_labels, 150.0 * s, 3),
        }
    }

    fn plan(&self) -> Result<Plan> {
        ensure_fonts()?;
        self.check_labels()?;
        let values = self
            .cells
            .iter()
            .flatten()
            .flat_map(|c| c.data.iter().copied());
        let range = resolve_range(&self.what(), values, self.scale.range)?;
        let cell = f64::from(self.cell_size);
        let m = Metrics::new((cell / 170.0).sqrt());
        let s = m.s;
        let gap = (8.0 * s).round();
        let headers = self.headers(&m, cell);
        let (col_title_h, row_label_w) = headers.extent(s);
        let grid_w = self.cols as f64 * cell + (self.cols - 1) as f64 * gap;
        let grid_h = self.rows as f64 * cell + (self.rows - 1) as f64 * gap;
        let cb_ticks = colorbar_ticks(range, grid_h as u32);
        let bar = ColorbarText {
            tick_w: f64::from(colorbar_label_width(&cb_ticks, m.tick)),
            tick_len: (4.0 * s).round(),
        };
        let (cb_size, cb_lines) = bar.label_lines(&self.scale.label, grid_h, &m);
        let left = m.margin + row_label_w;
        let width = left + grid_w + bar.right_width(&cb_lines, cb_size, &m);
        let text_w = width - 2.0 * m.margin;
        let (title_size, title_lines) = m.title_lines(&self.style.title, text_w);
        let title_h = title_lines.len() as f64 * line_height(title_size);
        let head = (col_title_h + 4.0 * s).max(range_label_height(m.tick));
        let top = m.margin + title_h + if title_lines.is_empty() { 0.0 } else { 8.0 * s } + head;
        let note_lines = m.note_lines(self.style.note.as_deref(), text_w);
        let mut below = range_label_height(m.tick) + 6.0 * s;
        if self.scale.outline.is_some() {
            below += line_height(m.tick) + 4.0 * s;
        }
        below += note_lines.len() as f64 * line_height(m.tick);
        let height = top + grid_h + below + m.margin;
        let block = PixelRect {
            x: (left + grid_w).round() as u32,
            y: top.round() as u32,
            width: 0,
            height: grid_h.round() as u32,
        };
        let colorbar = bar.beside(block, s);
        Ok(Plan {
            layout: GridLayout {
                size: (width.ceil() as u32, height.ceil() as u32),
                panels: self.panels(cell, gap, left, top),
                colorbar,
                range,
            },
            cell,
            gap,
            left,
            top,
            title_size,
            title_lines,
            headers,
            cb_ticks,
            cb_label_x: bar.label_x(colorbar, &cb_lines, cb_size, &m),
            cb_size,
            cb_lines,
            grid_h,
            note_lines,
            m,
        })
    }

    /// The heat panel of each cell, row-major: square data pixels, centred in the cell.
    fn panels(&self, cell: f64, gap: f64, left: f64, top: f64) -> Vec<PixelRect> {
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
        panels
    }

    /// Where the panels and colour bar will be in the rendered image.
    pub fn layout(&self) -> Result<GridLayout> {
        Ok(self.plan()?.layout)
    }

    /// Draws the figure.
    pub fn render(&self) -> Result<RgbImage> {
        let p = self.plan()?;
        let mut canvas = Canvas::new(&self.what(), p.layout.size.0, p.layout.size.1, PAPER)?;
        let s = p.m.s;
        self.paint_cells(&mut canvas, &p);
        paint_colorbar(&mut canvas, p.layout.colorbar, self.scale.colormap);
        let width = f64::from(p.layout.size.0);
        let (title_size, margin) = (p.title_size, p.m.margin);
        canvas.lines_centered(&p.title_lines, width / 2.0, margin, title_size, true, INK);
        draw_headers(&mut canvas, &p);
        let cb_text = (&p.cb_lines[..], p.cb_size, p.cb_label_x);
        draw_colorbar_text(
            &mut canvas,
            p.layout.colorbar,
            p.layout.range,
            &p.cb_ticks,
            p.m.tick,
            cb_text,
        );
        let y = p.top + p.grid_h + range_label_height(p.m.tick) + 6.0 * s;
        let outline = self.scale.outline.as_ref();
        draw_legend_and_note(&mut canvas, outline, &p.note_lines, (width / 2.0, y), &p.m);
        canvas.into_image()
    }

    /// Paints each cell's heat, or "no data" for an empty one.
    fn paint_cells(&self, canvas: &mut Canvas, p: &Plan) {
        let style = PanelStyle {
            range: p.layout.range,
            colormap: self.scale.colormap,
            underlay: None,
            outline: self.scale.outline.as_ref(),
        };
        for (cell, &rect) in self.cells.iter().zip(&p.layout.panels) {
            let Some(c) = cell else {
                let (x0, y0) = (i64::from(rect.x), i64::from(rect.y));
                let (x1, y1) = (i64::from(rect.x1()), i64::from(rect.y1()));
                canvas.fill_rect(x0, y0, x1, y1, [242, 242, 242]);
                canvas.frame(x0, y0, x1, y1, [190, 190, 190]);
                let centre = (
                    f64::from(rect.x) + f64::from(rect.width) / 2.0,
                    f64::from(rect.y) + f64::from(rect.height) / 2.0,
                );
                canvas.text("no data", centre, p.m.tick, false, CENTER, false, NOTE);
                continue;
            };
            let data = PanelData {
                data: &c.data,
                h: c.h,
                w: c.w,
            };
            paint_panel(canvas, rect, &data, &style);
        }
    }

    /// Draws the figure and writes it as a PNG file atomically.
    pub fn write_png(&self, path: impl AsRef<Path>) -> Result<()> {
        write_png_atomic(path, &self.render()?)
    }
}

/// Column titles above the columns, row labels left of the rows.
fn draw_headers(canvas: &mut Canvas, p: &Plan) {
    let s = p.m.s;
    for (c, (size, lines)) in p.headers.cols.iter().enumerate() {
        let cx = p.left + c as f64 * (p.cell + p.gap) + p.cell / 2.0;
        let block = lines.len() as f64 * line_height(*size);
        canvas.lines_centered(lines, cx, p.top - 4.0 * s - block, *size, true, INK);
    }
    for (r, (size, lines)) in p.headers.rows.iter().enumerate() {
        let cy = p.top + r as f64 * (p.cell + p.gap) + p.cell / 2.0;
        let n = lines.len() as f64;
        for (i, line) in lines.iter().enumerate() {
            let y = cy + (i as f64 - (n - 1.0) / 2.0) * line_height(*size);
            let at = (p.left - 10.0 * s, y);
            canvas.text(line, at, *size, true, RIGHT_CENTER, false, INK);
        }
    }
}

struct Plan {
    /// What [`Grid::layout`] reports: size, panels, colour bar, range.
    layout: GridLayout,
    m: Metrics,
    cell: f64,
    gap: f64,
    left: f64,
    top: f64,
    title_size: f64,
    title_lines: Vec<String>,
    headers: Headers,
    cb_ticks: (Vec<f64>, usize),
    cb_size: f64,
    cb_lines: Vec<String>,
    cb_label_x: f64,
    grid_h: f64,
    note_lines: Vec<String>,
}
