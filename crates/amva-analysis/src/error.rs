//! The one error type of amva-analysis.

use std::path::PathBuf;

/// Everything that can go wrong while analysing maps and scores. Each variant names
/// the file, row, method or group and what was expected.
#[derive(Debug, thiserror::Error)]
pub enum AnalysisError {
    /// A file or folder could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What the operating system said.
        source: std::io::Error,
    },
    /// An error from amva-io (atomic writes, npy).
    #[error(transparent)]
    AmvaIo(#[from] amva_io::Error),
    /// A map store that cannot be read (amva-maps' reader names the file and row).
    #[error(transparent)]
    Maps(#[from] amva_maps::Error),
    /// A score file that cannot be read (amva-quality's reader names file and line).
    #[error(transparent)]
    Quality(#[from] amva_quality::QualityError),
    /// A computation of amva-math refused its input.
    #[error("{context}: {source}")]
    Math {
        /// What was being computed (method, group, statistic).
        context: String,
        /// The underlying error.
        source: amva_math::MathError,
    },
    /// A map store (or an analysis output) whose files disagree or are incomplete.
    #[error("{path}: {reason}")]
    Store {
        /// The folder or file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// No image has both a map and a finite score for a method.
    #[error("{path}: method '{method}' has no finite score: all {count} are NaN, infinite or empty (the first, '{image}', on line {line}); expected a number per image")]
    NoFiniteScores {
        /// The score file.
        path: PathBuf,
        /// The method.
        method: String,
        /// Its non-finite rows.
        count: usize,
        /// The first of them.
        image: String,
        /// Its line.
        line: usize,
    },
    #[error("method '{method}': none of its {scores} scored images has a map in {maps} ({store_maps} maps); image ids must match the maps' index.csv (paths relative to the image root, '/' separators)")]
    NoMatch {
        /// The method.
        method: String,
        /// Number of images with a score.
        scores: usize,
        /// The map store folder.
        maps: PathBuf,
        /// Number of maps in the store.
        store_maps: usize,
    },
    /// A group rule that selects too few images.
    #[error("method '{method}': group '{group}' ({rule}) {reason}")]
    Group {
        /// The method.
        method: String,
        /// The group name (high, low, bin 3 of 10).
        group: String,
        /// The rule, as written.
        rule: String,
        /// What is wrong, e.g. "selects no image (281 images have a finite score)".
        reason: String,
    },
    /// A command-line option that cannot be used.
    #[error("{option}: {reason}")]
    Option {
        /// The option, e.g. `--direction`.
        option: String,
        /// What is wrong.
        reason: String,
    },
    /// A map computed with another model than the reference's.
    #[error("refusing to compare: the reference {reference} was computed with model sha256 {reference_sha256}, but the model given has sha256 {model_sha256} ({model}); use the reference's model (--model)")]
    ModelMismatch {
        /// The reference folder.
        reference: PathBuf,
        /// Its model checksum.
        reference_sha256: String,
        /// The model given.
        model: PathBuf,
        /// Its checksum.
        model_sha256: String,
    },
}

impl AnalysisError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        AnalysisError::Io {
            path: path.into(),
            source,
        }
    }

    pub(crate) fn store(path: impl Into<PathBuf>, reason: impl Into<String>) -> Self {
        AnalysisError::Store {
            path: path.into(),
            reason: reason.into(),
        }
    }

    /// A closure that wraps a [`amva_math::MathError`] with context.
    pub(crate) fn math(context: impl Into<String>) -> impl FnOnce(amva_math::MathError) -> Self {
        let context = context.into();
        move |source| AnalysisError::Math { context, source }
    }
}

/// Result type of this crate.
pub type Result<T, E = AnalysisError> = std::result::Result<T, E>;
