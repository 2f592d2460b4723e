//! The backend for an engine configuration: tract, or ONNX Runtime when the build has
//! it and its library is installed.

use crate::backend::{Backend, EngineConfig, EngineKind, OrtSettings};
#[cfg(not(feature = "ort"))]
use crate::Error;
use crate::Result;
use std::path::Path;
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
