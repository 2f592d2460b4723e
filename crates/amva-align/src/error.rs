//! The one error type of this crate.

use std::path::PathBuf;

/// What can go wrong while detecting, landmarking or aligning faces.
#[derive(Debug, thiserror::Error)]
pub enum AlignError {
    /// A similarity transform cannot be fitted (fewer than two distinct points, or
    /// all source points at one place).
    #[error("cannot fit a similarity transform: {0}")]
    DegenerateLandmarks(String),
    /// Mismatched point lists.
    #[error("point lists differ in length: {src} source points, {dst} target points")]
    PointCount { src: usize, dst: usize },
    /// A model produced outputs of an unexpected size.
    #[error("{model}: {what}")]
    ModelOutput { model: String, what: String },
    /// A landmarks CSV is malformed; `line` is 1-based in the file.
    #[error("{}: line {line}: {reason}", path.display())]
    LandmarksCsv {
        path: PathBuf,
        line: usize,
        reason: String,
    },
    /// A file could not be read.
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// A bad option value.
    #[error("invalid option: {0}")]
    Option(String),
    /// An image too small or empty to work on.
    #[error("image of {width}x{height} pixels is too small: {what}")]
    ImageSize {
        width: u32,
        height: u32,
        what: String,
    },
    /// An image could not be encoded.
    #[error("cannot encode a {format} image: {reason}")]
    Encode { format: String, reason: String },
    /// Model loading or inference failed.
    #[error(transparent)]
    Model(#[from] amva_model::Error),
    /// A preview could not be drawn.
    #[error(transparent)]
    Draw(#[from] amva_draw::DrawError),
    /// Aligning one image of a list failed in a way that stops the run (a write error).
    #[error("aligning {id}: {source}")]
    Item { id: String, source: Box<AlignError> },
    /// Model files could not be located or downloaded.
    #[error(transparent)]
    Files(#[from] amva_io::Error),
}

/// Result with [`AlignError`].
pub type Result<T> = std::result::Result<T, AlignError>;
