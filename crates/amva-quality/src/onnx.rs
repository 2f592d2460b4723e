//! `onnx:PATH`: a user's quality model that outputs one number per image (ALGORITHMS 7.5).
//!
//! Its settings are read from `PATH` with the extension `.toml` (like an FR model's):
//!
//! ```toml
//! width = 112
//! height = 112
//! channel_order = "rgb"        # or "bgr"
//! mean = [127.5, 127.5, 127.5] # (pixel - mean) / std, per channel in the given order
//! std = [127.5, 127.5, 127.5]
//! layout = "nchw"              # or "nhwc"
//! output = "quality"           # optional: output tensor (default: the first output)
//! direction = "higher"         # optional: "higher" (default) or "lower" is better
//! name = "myfiqa"              # optional: method name in score files (default: file stem)
//! ```

use crate::{Direction, Item, QualityError, QualityMethod, Result};
use amva_model::{EngineKind, Net, Preprocess};
use rayon::prelude::*;
use std::path::{Path, PathBuf};

/// The `.toml` beside a user's quality model.
#[derive(Debug, Clone, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(from = "ConfigFile")]
pub struct OnnxQualityConfig {
    #[serde(flatten)]
    pub preprocess: Preprocess,
    /// Output tensor; default: the model's first output.
    #[serde(default)]
    pub output: Option<String>,
    #[serde(default)]
    pub direction: Direction,
    /// Method name; default: the model's file stem.
    #[serde(default)]
    pub name: Option<String>,
}

/// The settings file as written: one flat table, read without `#[serde(flatten)]` (which
/// loses where each value stands) so an error names the line of the wrong value.
#[derive(serde::Deserialize)]
struct ConfigFile {
    width: u32,
    height: u32,
    channel_order: amva_model::preprocess::ChannelOrder,
    mean: [f32; 3],
    std: [f32; 3],
    layout: amva_model::preprocess::Layout,
    #[serde(default)]
    output: Option<String>,
    #[serde(default)]
    direction: Direction,
    #[serde(default)]
    name: Option<String>,
}

impl From<ConfigFile> for OnnxQualityConfig {
    fn from(f: ConfigFile) -> Self {
        OnnxQualityConfig {
            preprocess: Preprocess {
                width: f.width,
                height: f.height,
                channel_order: f.channel_order,
                mean: f.mean,
                std: f.std,
                layout: f.layout,
            },
            output: f.output,
            direction: f.direction,
            name: f.name,
        }
    }
}

/// The settings file of `model`: `q.onnx` -> `q.toml`.
pub fn config_path(model: &Path) -> PathBuf {
    model.with_extension("toml")
}

/// A user's ONNX quality model.
pub struct OnnxQuality {
    net: Net,
    pub config: OnnxQualityConfig,
    name: String,
    path: PathBuf,
    sha256: String,
}

impl OnnxQuality {
    /// Opens `path` with the settings in `path.toml`.
    pub fn open(path: &Path, engine: EngineKind) -> Result<Self> {
        let cfg_path = config_path(path);
        let bad = |reason: String| QualityError::Model {
            what: cfg_path.display().to_string(),
            reason,
        };
        let text = std::fs::read_to_string(&cfg_path).map_err(|e| {
            bad(format!("{e}; a quality model needs its preprocessing settings there, e.g.\nwidth = 112\nheight = 112\nchannel_order = \"rgb\"\nmean = [127.5, 127.5, 127.5]\nstd = [127.5, 127.5, 127.5]\nlayout = \"nchw\"\ndirection = \"higher\""))
        })?;
        let config: OnnxQualityConfig = toml::from_str(&text).map_err(|e| bad(e.to_string()))?;
        let p = &config.preprocess;
        if p.width == 0 || p.height == 0 || p.std.iter().any(|s| *s == 0.0 || !s.is_finite()) {
            return Err(bad(
                "width and height must be positive, std finite and non-zero".into(),
            ));
        }
        let outputs: Vec<&str> = config.output.iter().map(String::as_str).collect();
        let net = Net::open(path, &outputs, engine)?;
        let want = p.batch_shape(1)[1..].to_vec();
        if net.item_shape() != want.as_slice() {
            return Err(bad(format!(
                "the model's input is {:?} per image but the settings give {want:?}",
                net.item_shape()
            )));
        }
        let name = config.name.clone().unwrap_or_else(|| {
            path.file_stem()
                .map(|s| s.to_string_lossy().to_string())
                .unwrap_or_else(|| "onnx".into())
        });
        let sha256 = amva_io::cache::sha256_file(path)?;
        Ok(OnnxQuality {
            net,
            config,
            name,
            path: path.into(),
            sha256,
        })
    }
}

impl QualityMethod for OnnxQuality {
    fn name(&self) -> &str {
        &self.name
    }

    fn direction(&self) -> Direction {
        self.config.direction
    }

    fn params(&self) -> serde_json::Value {
        serde_json::json!({"model": self.path, "model_sha256": self.sha256, "settings": self.config, "engine": self.net.engine().to_string()})
    }

    fn input_size(&self) -> Option<(u32, u32)> {
        Some((self.config.preprocess.width, self.config.preprocess.height))
    }

    fn score(&self, items: &[Item<'_>]) -> Result<Vec<f64>> {
        items
            .par_iter()
            .map(|it| {
                let out = self.net.run(&self.config.preprocess.tensor(it.image), 1)?;
                let v = &out[0].data;
                if v.len() != 1 {
                    return Err(QualityError::Model {
                        what: self.path.display().to_string(),
                        reason: format!("output '{}' has {} values per image (shape {:?}); a quality model must output one number", self.net.output_names()[0], v.len(), out[0].shape),
                    });
                }
                Ok(v[0] as f64)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue 26, row 12: every error of a quality model's settings was "at line 1,
    /// column 1"; now it names the wrong value's line.
    #[test]
    fn settings_errors_name_their_line() {
        let good = "width = 112\nheight = 112\nchannel_order = \"rgb\"\nmean = [1.0, 1.0, 1.0]\nstd = [2.0, 2.0, 2.0]\nlayout = \"nchw\"\ndirection = \"lower\"\n";
        let c: OnnxQualityConfig = toml::from_str(good).unwrap();
        assert_eq!((c.preprocess.width, c.direction), (112, Direction::Lower));
        let bad = good.replace("std = [2.0, 2.0, 2.0]", "std = [2.0, \"two\", 2.0]");
        let err = toml::from_str::<OnnxQualityConfig>(&bad)
            .unwrap_err()
            .to_string();
        assert!(err.contains("line 5, column"), "{err}");
    }
}
