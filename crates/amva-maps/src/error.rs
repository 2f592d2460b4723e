//! The one error type of amva-maps.

use std::path::PathBuf;

/// Everything that can go wrong while computing, storing or reading maps. Each variant
/// names the file, image or parameter and what was expected.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The model failed to load or run.
    #[error(transparent)]
    Model(#[from] amva_model::Error),
    /// A file could not be read or written.
    #[error(transparent)]
    Io(#[from] amva_io::Error),
    /// A file or folder of a store could not be read or written.
    #[error("{path}: {source}")]
    File {
        path: PathBuf,
        source: std::io::Error,
    },
    /// A map could not be finished (shape or non-finite values).
    #[error("{what}: {source}")]
    Math {
        what: String,
        source: amva_math::MathError,
    },
    /// A parameter string that does not parse.
    #[error("{what} '{value}': expected {expected}")]
    BadParameter {
        what: &'static str,
        value: String,
        expected: &'static str,
    },
    /// The method needs the network after the target layer, which cannot be cut.
    #[error("{method} needs the part of the model after layer '{layer}' on its own, which is not possible here: {reason}")]
    NoHead {
        method: String,
        layer: String,
        reason: String,
    },
    /// A buffer has the wrong length.
    #[error("{what}: expected {expected} values, got {got}")]
    Shape {
        what: String,
        expected: usize,
        got: usize,
    },
    /// A store folder whose files disagree with each other or with the request.
    #[error("{path}: {reason}")]
    Store { path: PathBuf, reason: String },
    /// A resumed run whose arguments differ from the ones in meta.json.
    #[error("{path} was made with different settings: {differences}; rerun with the same arguments to resume, or choose another --out")]
    SettingsDiffer { path: PathBuf, differences: String },
    /// The same image id twice in an image list.
    #[error("{path}: image id '{id}' occurs more than once; map stores are keyed by image id")]
    DuplicateId { path: PathBuf, id: String },
    /// An image that is not in a store.
    #[error("{path}: no map for image '{id}'")]
    UnknownImage { path: PathBuf, id: String },
}

impl Error {
    pub(crate) fn store(path: impl Into<PathBuf>, reason: impl Into<String>) -> Self {
        Error::Store {
            path: path.into(),
            reason: reason.into(),
        }
    }

    pub(crate) fn file(path: &std::path::Path, source: std::io::Error) -> Self {
        Error::File {
            path: path.into(),
            source,
        }
    }

    pub(crate) fn math(what: impl Into<String>) -> impl FnOnce(amva_math::MathError) -> Self {
        let what = what.into();
        move |source| Error::Math { what, source }
    }
}

/// Result type of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
