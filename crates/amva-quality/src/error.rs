use std::path::PathBuf;

/// Errors of amva-quality. Each names the file, row, image or method concerned and
/// what was expected.
#[derive(Debug, thiserror::Error)]
pub enum QualityError {
    #[error("unknown quality method '{name}': known methods are {known}")]
    UnknownMethod { name: String, known: String },
    #[error("{path}: {reason}")]
    Scores { path: PathBuf, reason: String },
    #[error("{path}: line {line}: {reason}")]
    ScoresRow {
        path: PathBuf,
        line: usize,
        reason: String,
    },
    #[error("{path}: image '{image}' has two different scores for method '{method}': {first_score} on line {first_line} and {second_score} on line {second_line}")]
    DuplicateScore {
        path: PathBuf,
        method: String,
        image: String,
        first_line: usize,
        first_score: f64,
        second_line: usize,
        second_score: f64,
    },
    #[error("{option}: {reason}")]
    Option { option: String, reason: String },
    #[error("{what}: {reason}")]
    Model { what: String, reason: String },
    #[error("BRISQUE model {path}: {reason}")]
    BrisqueModel { path: PathBuf, reason: String },
    #[error("image '{id}': {reason}")]
    Image { id: String, reason: String },
    #[error("invalid parameter {what} = {value}: expected {expected}")]
    Parameter {
        what: &'static str,
        value: String,
        expected: &'static str,
    },
    #[error("EDC: {0}")]
    Edc(String),
    #[error(transparent)]
    Math(#[from] amva_math::MathError),
    #[error(transparent)]
    Io(#[from] amva_io::Error),
    #[error(transparent)]
    Engine(#[from] amva_model::Error),
}

/// Result type of this crate.
pub type Result<T, E = QualityError> = std::result::Result<T, E>;
