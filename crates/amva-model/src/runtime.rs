//! The backend for an engine configuration: tract, or ONNX Runtime when the build has
//! it and its library is installed.

use crate::backend::{Backend, EngineConfig, EngineKind, OrtSettings};
use crate::calibrate::Calibration;
#[cfg(not(feature = "ort"))]
use crate::Error;
use crate::{ModelSpec, Result};
use std::path::{Path, PathBuf};
use tract_onnx::pb::ModelProto;

/// The loaded ONNX Runtime's version, None when it is not usable.
pub fn ort_version() -> Option<String> {
    #[cfg(feature = "ort")]
    {
        crate::ort_engine::version()
    }
    #[cfg(not(feature = "ort"))]
    {
        None
    }
}

/// True when ONNX Runtime's library is installed and loads.
pub fn ort_available() -> bool {
    #[cfg(feature = "ort")]
    {
        crate::ort_engine::environment().is_ok()
    }
    #[cfg(not(feature = "ort"))]
    {
        false
    }
}

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
            ort: ort_available(),
            ort_library,
            ort_version: ort_version(),
            ort_problem,
            model: path.to_path_buf(),
            auto: calibration.as_ref().map(|c| c.choice),
            calibration,
        })
    }
}

/// The backend for `config` (ONNX Runtime with its session settings, or tract).
pub(crate) fn backend(
    proto: &ModelProto,
    path: &Path,
    item_shape: &[usize],
    config: &EngineConfig,
) -> Result<Box<dyn Backend>> {
    match config.engine {
        EngineKind::Ort => ort_backend(
            proto,
            path,
            config.ort.unwrap_or_else(OrtSettings::per_core),
        ),
        _ => Ok(Box::new(crate::tract_engine::TractBackend::new(
            proto, path, item_shape,
        )?)),
    }
}

#[cfg(feature = "ort")]
fn ort_backend(proto: &ModelProto, path: &Path, settings: OrtSettings) -> Result<Box<dyn Backend>> {
    Ok(Box::new(crate::ort_engine::OrtBackend::new(
        proto, path, settings,
    )?))
}

#[cfg(not(feature = "ort"))]
fn ort_backend(_: &ModelProto, _: &Path, _: OrtSettings) -> Result<Box<dyn Backend>> {
    Err(Error::OrtUnavailable(
        "this build has no ONNX Runtime support (cargo feature `ort`)".into(),
    ))
}
