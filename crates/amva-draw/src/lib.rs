//! Figures (PNG) and the self-contained HTML report of amva.
//!
//! Pure: data in, pixels, PNG bytes and HTML out. Nothing here knows about models, maps
//! or files other than the ones it is asked to write. Text is drawn with DejaVu Sans,
//! embedded in the binary, so rendering needs no system fonts and no C libraries.
//!
//! - colour maps matching matplotlib: [`jet`], [`viridis`], [`rdbu_r`], [`Colormap`];
//! - [`Heatmap`]: one map with title, pixel axes, colour bar, optional underlay image
//!   and region outline;
//! - [`overlay`] / [`overlay_figure`]: the paper's `0.5 * jet(heat) + image`;
//! - [`LinePlot`]: named series (lines, steps, dashed references), legend, annotations;
//! - [`Grid`]: rows x columns of heatmaps sharing one colour bar;
//! - [`Style`] and [`ColorScale`]: what every figure shares (title, axis labels, note,
//!   size; colour bar label, range, colour map, outline), set through the [`Styled`] and
//!   [`HeatStyled`] builder methods;
//! - [`draw_marks`]: box outlines and dots over a photo (face previews);
//! - [`Report`]: one HTML file with parameters, sections, tables and embedded figures;
//! - [`write_png_atomic`], [`encode_png`], [`side_by_side`].

mod canvas;
mod colormap;
mod error;
mod format;
mod grid;
mod heatmap;
mod html;
mod lineplot;
mod marks;
mod output;
mod overlay;
mod panel;
mod style;
mod text;
mod ticks;

pub use colormap::{jet, rdbu_r, viridis, Colormap};
pub use error::{DrawError, Result};
pub use format::format_number;
pub use grid::{Grid, GridLayout};
pub use heatmap::{Heatmap, HeatmapLayout};
pub use html::{escape_html, Cell, Report, Table};
pub use image::RgbImage;
pub use lineplot::{Corner, Join, LinePlot, Series, TAB10};
pub use marks::{draw_marks, Mark};
pub use output::{encode_jpeg, encode_png, side_by_side, write_png_atomic};
pub use overlay::{overlay, overlay_figure};
pub use panel::{Blend, PixelRect};
pub use style::{ColorScale, HeatStyled, Outline, Style, Styled};
