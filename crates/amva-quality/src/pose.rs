//! `pose`: head pose from `fr_pose.onnx` (npm faceplugin-face-recognition-js), and
//! quality `-(|yaw| + |pitch|)` in degrees (frontal = 0, best; ALGORITHMS 7.4).
//!
//! As the package's `lib/fr_pose.js` does it: the face crop is resized to 224x224, RGB,
//! `(p / 255 - mean) / std` with the ImageNet mean (0.485, 0.456, 0.406) and std
//! (0.229, 0.224, 0.225), NCHW. Outputs `output`, `617`, `618` are 66 logits each for
//! yaw, pitch and roll; the angle is the softmax expectation of the bin index,
//! `3 * E[i] - 99` degrees (bins of 3 degrees from -99, as in Hopenet). The package
//! crops a detector box with a 25 % margin; amva is given face crops (aligned or
//! not) and uses the whole crop.

use crate::{Direction, Item, QualityError, QualityMethod, Result};
use amva_model::{ChannelOrder, EngineKind, Layout, Net, Preprocess};
use rayon::prelude::*;
use std::path::Path;

/// Output tensors: yaw, pitch, roll.
pub const OUTPUTS: [&str; 3] = ["output", "617", "618"];
/// Bins per angle.
pub const BINS: usize = 66;

/// The model's preprocessing.
pub fn preprocess() -> Preprocess {
    Preprocess {
        width: 224,
        height: 224,
        channel_order: ChannelOrder::Rgb,
        mean: [0.485 * 255.0, 0.456 * 255.0, 0.406 * 255.0],
        std: [0.229 * 255.0, 0.224 * 255.0, 0.225 * 255.0],
        layout: Layout::Nchw,
    }
}

/// The angle in degrees of one output: `3 * sum_i softmax(logits)_i * i - 99`.
pub fn decode_angle(logits: &[f32]) -> f64 {
    let max = logits
        .iter()
        .fold(f64::NEG_INFINITY, |m, v| m.max(*v as f64));
    let (mut z, mut e) = (0.0, 0.0);
    for (i, v) in logits.iter().enumerate() {
        let w = (*v as f64 - max).exp();
        z += w;
        e += w * i as f64;
    }
    3.0 * e / z - 99.0
}

/// Yaw, pitch and roll of one face, in degrees.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Angles {
    pub yaw: f64,
    pub pitch: f64,
    pub roll: f64,
}

impl Angles {
    /// The quality: `-(|yaw| + |pitch|)`.
    pub fn quality(&self) -> f64 {
        -(self.yaw.abs() + self.pitch.abs())
    }
}

/// The head-pose model.
pub struct Pose {
    net: Net,
    preprocess: Preprocess,
    sha256: String,
}

impl Pose {
    /// Opens a pose model with the three 66-bin outputs.
    pub fn open(path: &Path, engine: EngineKind) -> Result<Self> {
        let net = Net::open(path, &OUTPUTS, engine)?;
        let p = preprocess();
        if net.item_shape() != [3, p.height as usize, p.width as usize] {
            return Err(QualityError::Model {
                what: path.display().to_string(),
                reason: format!("input shape {:?}, expected [3, 224, 224]", net.item_shape()),
            });
        }
        let sha256 = amva_io::cache::sha256_file(path)?;
        Ok(Pose {
            net,
            preprocess: p,
            sha256,
        })
    }

    /// The default `fr_pose.onnx` ($AMVA_MODELS, the cache, or the registry).
    pub fn open_default(engine: EngineKind) -> Result<Self> {
        let path = amva_io::models::ModelSource::from_env()?.model(amva_io::models::FR_POSE)?;
        Self::open(&path, engine)
    }

    /// Angles of faces already at 224x224. One image per call (the calls run in
    /// parallel), which is the fastest pattern for tract.
    pub fn angles(&self, items: &[Item<'_>]) -> Result<Vec<Angles>> {
        items
            .par_iter()
            .map(|it| {
                let x = self.preprocess.tensor(it.image);
                let out = self.net.run(&x, 1)?;
                let get = |k: usize| -> Result<f64> {
                    let v = &out[k].data;
                    if v.len() != BINS {
                        return Err(QualityError::Model {
                            what: format!("pose output {}", OUTPUTS[k]),
                            reason: format!("{} values, expected {BINS}", v.len()),
                        });
                    }
                    Ok(decode_angle(v))
                };
                Ok(Angles {
                    yaw: get(0)?,
                    pitch: get(1)?,
                    roll: get(2)?,
                })
            })
            .collect()
    }
}

impl QualityMethod for Pose {
    fn name(&self) -> &str {
        "pose"
    }

    fn direction(&self) -> Direction {
        Direction::Higher
    }

    fn params(&self) -> serde_json::Value {
        serde_json::json!({
            "quality": "-(|yaw| + |pitch|) in degrees",
            "model_sha256": self.sha256, "engine": self.net.engine().to_string(),
            "input": "whole crop resized to 224x224 (bilinear), RGB, ImageNet mean/std",
            "decoding": "3 * softmax expectation of 66 bins - 99",
        })
    }

    fn input_size(&self) -> Option<(u32, u32)> {
        Some((self.preprocess.width, self.preprocess.height))
    }

    fn always_resizes(&self) -> bool {
        true
    }

    fn score(&self, items: &[Item<'_>]) -> Result<Vec<f64>> {
        Ok(self.angles(items)?.iter().map(Angles::quality).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decoding_is_the_softmax_expectation() {
        // One-hot-ish logits at bin 33 give 3*33 - 99 = 0 degrees.
        let mut l = vec![-50.0f32; BINS];
        l[33] = 50.0;
        assert!(decode_angle(&l).abs() < 1e-9);
        // Two equal bins 10 and 20: expectation 15 -> -54 degrees.
        let mut l = vec![-1e4f32; BINS];
        l[10] = 0.0;
        l[20] = 0.0;
        assert!((decode_angle(&l) + 54.0).abs() < 1e-9);
        // Uniform: expectation 32.5 -> -1.5.
        assert!((decode_angle(&[0.0; BINS]) + 1.5).abs() < 1e-12);
        assert_eq!(
            Angles {
                yaw: -30.0,
                pitch: 10.0,
                roll: 99.0
            }
            .quality(),
            -40.0
        );
    }
}
