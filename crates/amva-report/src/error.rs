//! The one error type of amva-report.

use std::path::PathBuf;

/// What can go wrong while drawing and writing what an analysis shows.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// The analysis itself (inputs, statistics, numeric files).
    #[error(transparent)]
    Analysis(#[from] amva_analysis::AnalysisError),
    /// A figure or page could not be drawn or encoded.
    #[error("{context}: {source}")]
    Draw {
        /// Which figure or file.
        context: String,
        /// The underlying error (boxed: it is large and rare).
        source: Box<amva_draw::DrawError>,
    },
    /// A file could not be written (atomic writes, npy).
    #[error(transparent)]
    Io(#[from] amva_io::Error),
    /// Maps could not be computed or read (`amva explain`).
    #[error(transparent)]
    Maps(#[from] amva_maps::Error),
    /// A folder or file could not be made.
    #[error("{path}: {source}")]
    File {
        /// The file or folder.
        path: PathBuf,
        /// What the operating system said.
        source: std::io::Error,
    },
    /// An output that cannot be made from these inputs.
    #[error("{path}: {reason}")]
    Output {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
}

impl ReportError {
    /// A closure that wraps a [`amva_draw::DrawError`] with context.
    pub(crate) fn draw(context: impl Into<String>) -> impl FnOnce(amva_draw::DrawError) -> Self {
        let context = context.into();
        move |source| ReportError::Draw {
            context,
            source: Box::new(source),
        }
    }

    pub(crate) fn file(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        ReportError::File {
            path: path.into(),
            source,
        }
    }

    pub(crate) fn output(path: impl Into<PathBuf>, reason: impl Into<String>) -> Self {
        ReportError::Output {
            path: path.into(),
            reason: reason.into(),
        }
    }
}

/// Result type of this crate.
pub type Result<T, E = ReportError> = std::result::Result<T, E>;
