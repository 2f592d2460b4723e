//! The one error type of this crate.

/// Everything that can go wrong while drawing a figure or writing the report.
///
/// Messages name the figure or file and say what was expected, so a caller can pass them
/// straight to the user.
#[derive(Debug, thiserror::Error)]
pub enum DrawError {
    /// A flat buffer does not hold `h * w` values.
    #[error("{what}: expected {h} x {w} = {expected} values, got {got}")]
    ShapeMismatch {
        what: String,
        h: usize,
        w: usize,
        expected: usize,
        got: usize,
    },
    /// An image has other dimensions than the data it must line up with.
    #[error("{what}: expected an image of {expected_w} x {expected_h} pixels (w x h), got {got_w} x {got_h}")]
    SizeMismatch {
        what: String,
        expected_w: u32,
        expected_h: u32,
        got_w: u32,
        got_h: u32,
    },
    /// A figure was asked for with no data (zero rows, columns or series).
    #[error("{what}: nothing to draw ({reason})")]
    Empty { what: String, reason: String },
    /// A value range is not finite or not increasing.
    #[error("{what}: value range [{min}, {max}] must be finite with min < max")]
    InvalidRange { what: String, min: f64, max: f64 },
    /// The requested output is too small for its title, axes and colour bar.
    #[error("{what}: figure size {width} x {height} px leaves no room for the plot (need at least {min_width} x {min_height})")]
    FigureTooSmall {
        what: String,
        width: u32,
        height: u32,
        min_width: u32,
        min_height: u32,
    },
    /// A grid cell, row label or column title is outside the grid.
    #[error("{what}: index ({row}, {col}) is outside the {rows} x {cols} grid")]
    GridIndex {
        what: String,
        row: usize,
        col: usize,
        rows: usize,
        cols: usize,
    },
    /// A list of labels does not have one label per row or column.
    #[error("{what}: expected {expected} labels, got {got}")]
    LabelCount {
        what: String,
        expected: usize,
        got: usize,
    },
    /// A table row has a different number of cells than the header.
    #[error("table {table:?}: row {row} has {got} cells, the header has {expected}")]
    TableRow {
        table: String,
        row: usize,
        expected: usize,
        got: usize,
    },
    /// Bytes given as a PNG figure are not a PNG file.
    #[error("figure {caption:?}: the bytes are not a PNG file (no PNG signature)")]
    NotPng { caption: String },
    /// The embedded font could not be registered with the drawing library.
    #[error("the embedded DejaVu Sans font could not be loaded")]
    Font,
    /// Drawing failed (e.g. a pixel buffer could not be allocated).
    #[error("{what}: drawing failed: {message}")]
    Draw { what: String, message: String },
    /// PNG encoding failed.
    #[error("{what}: PNG encoding failed: {source}")]
    Encode {
        what: String,
        #[source]
        source: image::ImageError,
    },
    /// Writing a file failed (amva-io's atomic write names the file).
    #[error(transparent)]
    Io(#[from] amva_io::Error),
}

/// Result with this crate's error.
pub type Result<T, E = DrawError> = std::result::Result<T, E>;

/// Checks that a flat buffer holds `h * w` values.
pub(crate) fn check_shape(what: &str, len: usize, h: usize, w: usize) -> Result<()> {
    if h == 0 || w == 0 {
        return Err(DrawError::Empty {
            what: what.to_string(),
            reason: format!("shape {h} x {w} has no pixels"),
        });
    }
    let expected = h.saturating_mul(w);
    if len != expected {
        return Err(DrawError::ShapeMismatch {
            what: what.to_string(),
            h,
            w,
            expected,
            got: len,
        });
    }
    Ok(())
}
