//! What every figure shares, in one place: its texts and size ([`Style`], set through
//! [`Styled`]), the colour scale of heat figures ([`ColorScale`], set through
//! [`HeatStyled`]), and the fonts and colours they are drawn with.

use crate::colormap::Colormap;
use crate::error::{check_shape, Result};
use crate::text::fit_lines;

/// Colour of text, ticks and plot frames.
pub(crate) const INK: [u8; 3] = [20, 20, 20];
/// Colour of the frame around heat panels and colour bars.
pub(crate) const FRAME: [u8; 3] = [40, 40, 40];
/// Colour of secondary text (notes, range ends).
pub(crate) const NOTE: [u8; 3] = [70, 70, 70];
/// Colour of pixels whose value is NaN (no data), where there is no underlay.
pub(crate) const NAN_COLOR: [u8; 3] = [200, 200, 200];
/// Figure background.
pub(crate) const PAPER: [u8; 3] = [255, 255, 255];

/// The texts around a figure and its size.
///
/// Set its parts on a figure with the [`Styled`] methods (`.title(..)`,
/// `.axis_labels(..)`, `.note(..)`, `.size(..)`), or build one `Style` and give it to
/// several figures with [`Styled::style`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Style {
    /// The title above the figure (wrapped to two lines if long).
    pub title: String,
    /// Label of the x axis, with units.
    pub x_label: String,
    /// Label of the y axis, with units.
    pub y_label: String,
    /// A small note under the figure, e.g. "n = 1,234 images; maps: Score-CAM".
    pub note: Option<String>,
    /// Output size in pixels (width, height); fonts scale with it. `None`: the figure's
    /// default ([`crate::Heatmap`] 640 x 560, [`crate::LinePlot`] 720 x 480). A
    /// [`crate::Grid`] takes its size from its cell size instead.
    pub size: Option<(u32, u32)>,
}

/// The colour scale of a heat figure ([`crate::Heatmap`], [`crate::Grid`]).
#[derive(Clone, Debug, Default)]
pub struct ColorScale {
    /// What the colours mean, with units, e.g.
    /// "AM-V (std of normalised activation, 0-1 scale)".
    pub label: String,
    /// The value range mapped to the colour map's ends; `None`: the finite data min and
    /// max.
    pub range: Option<(f32, f32)>,
    /// The colour map (default [`Colormap::Jet`], as in the paper).
    pub colormap: Colormap,
    /// The outline of a region drawn over the heat, with a legend entry.
    pub outline: Option<Outline>,
}

/// A boolean mask whose outline is drawn over a heatmap (e.g. the central face region),
/// with the legend text that says what it is.
#[derive(Clone, Debug)]
pub struct Outline {
    pub(crate) mask: Vec<bool>,
    pub(crate) h: usize,
    pub(crate) w: usize,
    label: String,
}

impl Outline {
    /// `mask` is `h x w`, row-major, `true` inside the region. It may have another size
    /// than the heat data: both are scaled to the panel. `label` is shown in the legend,
    /// e.g. "central face region (landmark hull + 12 px)".
    pub fn new(mask: Vec<bool>, h: usize, w: usize, label: impl Into<String>) -> Result<Self> {
        check_shape("outline mask", mask.len(), h, w)?;
        Ok(Outline {
            mask,
            h,
            w,
            label: label.into(),
        })
    }

    /// The legend text.
    pub fn label(&self) -> &str {
        &self.label
    }
}

/// The builder methods every figure has: they set its [`Style`].
pub trait Styled: Sized {
    /// The figure's style, to change.
    fn style_mut(&mut self) -> &mut Style;

    /// Replaces the whole style.
    fn style(mut self, style: Style) -> Self {
        *self.style_mut() = style;
        self
    }

    /// The title above the figure (wrapped to two lines if long).
    fn title(mut self, title: impl Into<String>) -> Self {
        self.style_mut().title = title.into();
        self
    }

    /// Axis labels, with units (a [`crate::Grid`] has row labels and column titles
    /// instead, and does not show these).
    fn axis_labels(mut self, x: impl Into<String>, y: impl Into<String>) -> Self {
        let style = self.style_mut();
        style.x_label = x.into();
        style.y_label = y.into();
        self
    }

    /// A small note under the figure.
    fn note(mut self, note: impl Into<String>) -> Self {
        self.style_mut().note = Some(note.into());
        self
    }

    /// Output size in pixels; fonts scale with it (see [`Style::size`]).
    fn size(mut self, width: u32, height: u32) -> Self {
        self.style_mut().size = Some((width, height));
        self
    }
}

/// The builder methods of heat figures: they set its [`ColorScale`].
pub trait HeatStyled: Styled {
    /// The figure's colour scale, to change.
    fn scale_mut(&mut self) -> &mut ColorScale;

    /// What the colours mean, with units.
    fn colorbar_label(mut self, label: impl Into<String>) -> Self {
        self.scale_mut().label = label.into();
        self
    }

    /// The value range mapped to the colour map's ends; values outside get the end
    /// colours. Without it, the finite data min and max are used.
    fn range(mut self, min: f32, max: f32) -> Self {
        self.scale_mut().range = Some((min, max));
        self
    }

    /// The colour map (default [`Colormap::Jet`]).
    fn colormap(mut self, colormap: Colormap) -> Self {
        self.scale_mut().colormap = colormap;
        self
    }

    /// The outline of a region drawn over the heat, with a legend entry.
    fn outline(mut self, outline: Outline) -> Self {
        self.scale_mut().outline = Some(outline);
        self
    }
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

    /// The title's font size and lines within `width` (none for an empty title).
    pub fn title_lines(&self, title: &str, width: f64) -> (f64, Vec<String>) {
        if title.is_empty() {
            return (self.title, Vec::new());
        }
        fit_lines(title, width, self.title, 10.0 * self.s, 2, true)
    }

    /// The note's lines within `width` (none without a note).
    pub fn note_lines(&self, note: Option<&str>, width: f64) -> Vec<String> {
        note.map_or_else(Vec::new, |n| {
            fit_lines(n, width, self.tick, 8.0 * self.s, 3, false).1
        })
    }
}
