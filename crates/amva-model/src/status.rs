//! `amva engine status`: which engines this machine can use, and what `--engine auto`
//! runs a model with. It reads the calibration cache; it never measures.

use crate::backend::EngineConfig;
use crate::calibrate::Calibration;
use crate::{ModelSpec, Result};
use std::path::{Path, PathBuf};

/// Which engines this machine can use, and what `--engine auto` runs a model with
/// (`amva engine status`).
#[derive(Debug, Clone, serde::Serialize)]
pub struct EngineStatus {
    /// The CPU model, which calibrations are valid for.
    pub cpu: String,
    /// tract is built in: always usable.
    pub tract: bool,
    /// ONNX Runtime installed and loading.
    pub ort: bool,
    /// Where its library is looked for, when anywhere.
    pub ort_library: Option<PathBuf>,
    pub ort_version: Option<String>,
    /// Why ONNX Runtime is not usable (for people: not in the JSON).
    #[serde(skip)]
    pub ort_problem: Option<String>,
    /// The model.
    pub model: PathBuf,
    /// Its calibration on this machine, if it has one.
    pub calibration: Option<Calibration>,
    /// The configuration `--engine auto` runs it with (None before a calibration).
    pub auto: Option<EngineConfig>,
}

impl EngineStatus {
    /// The engines' status and the calibration of the model at `path` with `spec`.
    pub fn of(path: &Path, spec: &ModelSpec) -> Result<Self> {
        #[cfg(feature = "ort")]
        let (ort_library, ort_problem) = (
            crate::ort_engine::library_path(),
            crate::ort_engine::environment()
                .err()
                .map(|e| e.to_string()),
        );
        #[cfg(not(feature = "ort"))]
        let (ort_library, ort_problem) = (
            None,
            Some("this build has no ONNX Runtime support (cargo feature `ort`)".to_string()),
        );
        let calibration = crate::fr::cached_calibration(path, spec)?;
        Ok(EngineStatus {
            cpu: crate::calibrate::cpu_model(),
            tract: true,
            ort: crate::runtime::ort_available(),
            ort_library,
            ort_version: crate::runtime::ort_version(),
            ort_problem,
            model: path.to_path_buf(),
            auto: calibration.as_ref().map(|c| c.choice),
            calibration,
        })
    }
}
