//! Preprocessing as data: how an RGB image becomes the model's input tensor, and which
//! tensors are the embedding and the CAM target. Read from a TOML file beside the model
//! (`<model>.toml`), from flags, or the built-in preset of the default model.

use crate::{Error, Result};
use image::RgbImage;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Order of the colour channels the model expects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ChannelOrder {
    Rgb,
    Bgr,
}

/// Memory layout of the input tensor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Layout {
    Nchw,
    Nhwc,
}

/// How pixels become input values: `(pixel - mean[c]) / std[c]` in the given channel order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Preprocess {
    /// Input width and height in pixels.
    pub width: u32,
    pub height: u32,
    pub channel_order: ChannelOrder,
    pub mean: [f32; 3],
    pub std: [f32; 3],
    pub layout: Layout,
}

impl Preprocess {
    /// Number of values of one preprocessed image.
    pub fn len(&self) -> usize {
        3 * self.width as usize * self.height as usize
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Shape of a batch of `n` images.
    pub fn batch_shape(&self, n: usize) -> [usize; 4] {
        let (h, w) = (self.height as usize, self.width as usize);
        match self.layout {
            Layout::Nchw => [n, 3, h, w],
            Layout::Nhwc => [n, h, w, 3],
        }
    }

    /// Writes `img` (which must be `width` x `height`) into `out` (len() values).
    pub fn write_tensor(&self, img: &RgbImage, out: &mut [f32]) {
        let (w, h) = (self.width as usize, self.height as usize);
        assert_eq!(
            img.dimensions(),
            (self.width, self.height),
            "image must be fitted first"
        );
        assert_eq!(out.len(), self.len());
        let src = [0usize, 1, 2];
        let order = match self.channel_order {
            ChannelOrder::Rgb => src,
            ChannelOrder::Bgr => [2, 1, 0],
        };
        let raw = img.as_raw();
        for c in 0..3 {
            let (sc, mean, inv) = (order[c], self.mean[c], 1.0 / self.std[c]);
            for i in 0..w * h {
                let v = (raw[i * 3 + sc] as f32 - mean) * inv;
                match self.layout {
                    Layout::Nchw => out[c * w * h + i] = v,
                    Layout::Nhwc => out[i * 3 + c] = v,
                }
            }
        }
    }

    /// The preprocessed tensor of one image.
    pub fn tensor(&self, img: &RgbImage) -> Vec<f32> {
        let mut v = vec![0.0; self.len()];
        self.write_tensor(img, &mut v);
        v
    }
}

/// Everything amva needs to know about an FR model besides its weights.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, from = "SettingsFile")]
pub struct ModelSpec {
    #[serde(flatten)]
    pub preprocess: Preprocess,
    /// ONNX tensor name of the embedding.
    pub embedding: String,
    /// ONNX tensor name of the CAM target layer (K x h x w activations).
    pub target: String,
    /// Input of the small head that SER-FIQ perturbs (optional).
    #[serde(default)]
    pub serfiq_input: Option<String>,
}

/// A settings file as written: [`ModelSpec`]'s fields in one flat table. Read through
/// this (not through `#[serde(flatten)]`, which buffers the table and loses where each
/// value stands) so an error names the line and column of the wrong value.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SettingsFile {
    width: u32,
    height: u32,
    channel_order: ChannelOrder,
    mean: [f32; 3],
    std: [f32; 3],
    layout: Layout,
    embedding: String,
    target: String,
    #[serde(default)]
    serfiq_input: Option<String>,
}

impl From<SettingsFile> for ModelSpec {
    fn from(f: SettingsFile) -> Self {
        ModelSpec {
            preprocess: Preprocess {
                width: f.width,
                height: f.height,
                channel_order: f.channel_order,
                mean: f.mean,
                std: f.std,
                layout: f.layout,
            },
            embedding: f.embedding,
            target: f.target,
            serfiq_input: f.serfiq_input,
        }
    }
}

impl ModelSpec {
    /// The built-in preset of the default model `fr_feature.onnx`: 112x112, BGR,
    /// (p - 127) / 128, embedding `output`, target layer `507` (512 x 7 x 7).
    pub fn default_model() -> Self {
        ModelSpec {
            preprocess: Preprocess {
                width: 112,
                height: 112,
                channel_order: ChannelOrder::Bgr,
                mean: [127.0; 3],
                std: [128.0; 3],
                layout: Layout::Nchw,
            },
            embedding: "output".into(),
            target: "507".into(),
            serfiq_input: Some("662".into()),
        }
    }

    /// The settings file looked for beside a model: `model.onnx` -> `model.toml`.
    pub fn sidecar_path(model: &Path) -> PathBuf {
        model.with_extension("toml")
    }

    /// Reads settings from a TOML (or `.json`) file.
    pub fn from_file(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::Config {
            path: path.into(),
            reason: e.to_string(),
        })?;
        let spec: ModelSpec = if path.extension().is_some_and(|e| e == "json") {
            serde_json::from_str(&text).map_err(|e| Error::Config {
                path: path.into(),
                reason: e.to_string(),
            })?
        } else {
            toml::from_str(&text).map_err(|e| Error::Config {
                path: path.into(),
                reason: e.to_string(),
            })?
        };
        spec.validate(path)?;
        Ok(spec)
    }

    /// Settings for `model`: the sidecar file if there is one, else the default preset
    /// when the model is the default one (by file name), else an error that says what to write.
    pub fn for_model(model: &Path) -> Result<Self> {
        let sidecar = Self::sidecar_path(model);
        if sidecar.is_file() {
            return Self::from_file(&sidecar);
        }
        if model
            .file_name()
            .is_some_and(|n| n == amva_io::models::FR_FEATURE)
        {
            return Ok(Self::default_model());
        }
        Err(Error::Config {
            path: sidecar,
            reason: format!(
                "no preprocessing settings for {}: write this file (or pass the flags), e.g.\n{}",
                model.display(),
                Self::default_model().to_toml()
            ),
        })
    }

    /// The settings as TOML text.
    pub fn to_toml(&self) -> String {
        toml::to_string(self).unwrap_or_default()
    }

    /// Checks the values a settings file can get wrong; `path` names the file.
    pub fn validate(&self, path: &Path) -> Result<()> {
        self.preprocess.check().map_err(|reason| Error::Config {
            path: path.into(),
            reason,
        })
    }
}

/// Largest input side the settings may ask for: far above any face model, and small
/// enough that a batch of such inputs fits in memory.
pub const MAX_INPUT_SIDE: u32 = 4096;

impl Preprocess {
    /// What is wrong with these settings, naming the setting and what was expected.
    pub fn check(&self) -> std::result::Result<(), String> {
        let (w, h) = (self.width, self.height);
        if w == 0 || h == 0 || w > MAX_INPUT_SIDE || h > MAX_INPUT_SIDE {
            return Err(format!(
                "width = {w}, height = {h}: expected 1 to {MAX_INPUT_SIDE} pixels each (the model's input size)"
            ));
        }
        if let Some(m) = self.mean.iter().find(|m| !m.is_finite()) {
            return Err(format!(
                "mean = {:?}: {m} is not a finite number; expected pixel values such as 127.5",
                self.mean
            ));
        }
        if let Some(s) = self.std.iter().find(|s| !(s.is_finite() && **s > 0.0)) {
            let tiny = if *s == 0.0 {
                " (values below 1.2e-38, the smallest 32-bit float, read as 0)"
            } else {
                ""
            };
            return Err(format!(
                "std = {:?}: {s} is not a positive finite number{tiny}; expected divisors such as 128",
                self.std
            ));
        }
        Ok(())
    }

    /// Checks these settings against the model's declared input `dims` (None: not fixed;
    /// the batch dimension is not compared), before anything of that size is allocated.
    pub fn check_input(&self, dims: &[Option<i64>]) -> std::result::Result<(), String> {
        self.check()?;
        let want = self.batch_shape(1);
        let show = |d: &[Option<i64>]| {
            d.iter()
                .map(|x| x.map_or("?".to_string(), |v| v.to_string()))
                .collect::<Vec<_>>()
                .join(" x ")
        };
        let fits = dims.len() == 4
            && dims[1..]
                .iter()
                .zip(&want[1..])
                .all(|(d, w)| d.is_none_or(|d| d == *w as i64));
        if fits {
            return Ok(());
        }
        let layout = match self.layout {
            Layout::Nchw => "nchw",
            Layout::Nhwc => "nhwc",
        };
        Err(format!(
            "the model declares its input as {} but width = {}, height = {}, layout = \"{layout}\" make it N x {}; expected settings that match the model's input",
            show(dims),
            self.width,
            self.height,
            want[1..].iter().map(|v| v.to_string()).collect::<Vec<_>>().join(" x ")
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bgr_nchw_matches_naive_formula() {
        let img = RgbImage::from_fn(112, 112, |x, y| {
            image::Rgb([(x * 2) as u8, (y * 2) as u8, ((x + y) % 256) as u8])
        });
        let p = ModelSpec::default_model().preprocess;
        let t = p.tensor(&img);
        for (x, y) in [(0u32, 0u32), (5, 77), (111, 111), (60, 3)] {
            let px = img.get_pixel(x, y).0;
            let i = (y * 112 + x) as usize;
            // Channel 0 of a BGR model is blue.
            assert_eq!(t[i], (px[2] as f32 - 127.0) / 128.0);
            assert_eq!(t[112 * 112 + i], (px[1] as f32 - 127.0) / 128.0);
            assert_eq!(t[2 * 112 * 112 + i], (px[0] as f32 - 127.0) / 128.0);
        }
    }

    #[test]
    fn nhwc_rgb_layout() {
        let img = RgbImage::from_fn(2, 2, |x, y| image::Rgb([x as u8 * 10, y as u8 * 10, 7]));
        let p = Preprocess {
            width: 2,
            height: 2,
            channel_order: ChannelOrder::Rgb,
            mean: [0.0; 3],
            std: [1.0, 2.0, 1.0],
            layout: Layout::Nhwc,
        };
        let t = p.tensor(&img);
        assert_eq!(&t[9..12], &[10.0, 5.0, 7.0]); // pixel (1,1)
        assert_eq!(p.batch_shape(4), [4, 2, 2, 3]);
    }

    #[test]
    fn toml_round_trip_and_errors_name_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("m.toml");
        let spec = ModelSpec::default_model();
        std::fs::write(&p, spec.to_toml()).unwrap();
        assert_eq!(ModelSpec::from_file(&p).unwrap(), spec);
        std::fs::write(
            &p,
            spec.to_toml()
                .replace("std = [128.0, 128.0, 128.0]", "std = [0.0, 1.0, 1.0]"),
        )
        .unwrap();
        let err = ModelSpec::from_file(&p).unwrap_err().to_string();
        assert!(err.contains("m.toml") && err.contains("std"), "{err}");
        // Issue 26, row 12: std = 1e-300 was reported as 0 without a word on why.
        std::fs::write(
            &p,
            spec.to_toml()
                .replace("std = [128.0, 128.0, 128.0]", "std = [1e-300, 1.0, 1.0]"),
        )
        .unwrap();
        let err = ModelSpec::from_file(&p).unwrap_err().to_string();
        assert!(err.contains("smallest 32-bit float, read as 0"), "{err}");
        // Issue 26, row 12: a wrong value was reported "at line 1, column 1".
        let text = spec.to_toml();
        let line = 1 + text.lines().position(|l| l.starts_with("std")).unwrap();
        std::fs::write(&p, text.replace("128.0, 128.0]", "128.0, \"x\"]")).unwrap();
        let err = ModelSpec::from_file(&p).unwrap_err().to_string();
        assert!(err.contains(&format!("line {line}, column")), "{err}");
        std::fs::write(&p, text.replace("embedding =", "embeding =")).unwrap();
        let err = ModelSpec::from_file(&p).unwrap_err().to_string();
        assert!(
            err.contains("embeding") && !err.contains("line 1,"),
            "{err}"
        );
        let other = dir.path().join("other.onnx");
        let err = ModelSpec::for_model(&other).unwrap_err().to_string();
        assert!(
            err.contains("other.toml") && err.contains("channel_order"),
            "{err}"
        );
    }
}

/// A batch of images decoded, fitted and preprocessed in parallel.
#[derive(Debug, Default)]
pub struct LoadedBatch {
    /// Preprocessed tensors of the images that loaded, one after the other.
    pub input: Vec<f32>,
    /// Positions (in the given slice) of the images that loaded.
    pub ok: Vec<usize>,
    /// (image id, reason) of the images that did not.
    pub failed: Vec<(String, String)>,
    /// (image id, warning) of images that loaded although their file is damaged (with
    /// `strict` they are in `failed` instead).
    pub warnings: Vec<(String, String)>,
}

/// Loads `items` for a model: decode (greyscale expanded), check or `resize` the size,
/// preprocess. Bad images are listed with the reason, not fatal; damaged ones that
/// decode are used with a warning.
pub fn load_batch(
    items: &[amva_io::images::ImageItem],
    p: &Preprocess,
    resize: bool,
) -> LoadedBatch {
    load_batch_with(items, p, resize, false)
}

/// [`load_batch`], where `strict` moves damaged images from `warnings` to `failed`.
pub fn load_batch_with(
    items: &[amva_io::images::ImageItem],
    p: &Preprocess,
    resize: bool,
    strict: bool,
) -> LoadedBatch {
    use rayon::prelude::*;
    let results: Vec<_> = items
        .par_iter()
        .map(|it| {
            let d = amva_io::images::load_fitted_checked(&it.path, p.width, p.height, resize)?;
            Ok(match &d.warning {
                Some(w) if strict => (None, Some(format!("{w} (--strict)"))),
                _ => (Some(p.tensor(&d.image)), d.notes()),
            })
        })
        .collect::<Vec<amva_io::Result<_>>>();
    let mut out = LoadedBatch::default();
    for (i, (r, it)) in results.into_iter().zip(items).enumerate() {
        match r {
            Ok((Some(t), warning)) => {
                out.input.extend_from_slice(&t);
                out.ok.push(i);
                out.warnings.extend(warning.map(|w| (it.id.clone(), w)));
            }
            Ok((None, why)) => out.failed.push((it.id.clone(), why.unwrap_or_default())),
            Err(e) => out.failed.push((it.id.clone(), e.to_string())),
        }
    }
    out
}
