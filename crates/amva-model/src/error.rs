use std::path::PathBuf;

/// Errors of amva-model. Each names the model file or tensor and what was expected.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{path}: {reason}")]
    Load { path: PathBuf, reason: String },
    #[error("{path}: no tensor named '{name}'; tensors near that name: {candidates}")]
    UnknownTensor {
        path: PathBuf,
        name: String,
        candidates: String,
    },
    #[error("{path}: tensor '{name}' has shape {shape:?}; {expected}")]
    BadTensor {
        path: PathBuf,
        name: String,
        shape: Vec<usize>,
        expected: String,
    },
    #[error("{path}: preprocessing settings: {reason}")]
    Config { path: PathBuf, reason: String },
    #[error("input has {got} values, expected {expected} ({what})")]
    InputShape {
        got: usize,
        expected: usize,
        what: String,
    },
    #[error("inference with {engine} failed: {reason}")]
    Run {
        engine: &'static str,
        reason: String,
    },
    #[error("ONNX Runtime is not usable: {0}")]
    OrtUnavailable(String),
    #[error("{path}: another amva ({holder}) has held the engine calibration lock for {seconds} s; run again when it is done, or end it")]
    CalibrationBusy {
        path: PathBuf,
        holder: String,
        seconds: u64,
    },
    #[error(transparent)]
    Io(#[from] amva_io::Error),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
