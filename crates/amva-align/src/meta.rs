//! `meta.json` of an aligned folder (`amva align --out`): where the crops came from and
//! with which settings, so a folder of crops can be traced and remade.

use serde::Serialize;
use std::path::{Path, PathBuf};

/// The face detector and landmark models of a detector run, with their checksums.
#[derive(Debug, Clone, Serialize)]
pub struct AlignModels {
    pub detector: PathBuf,
    pub detector_sha256: String,
    pub landmarks: PathBuf,
    pub landmarks_sha256: String,
    /// The engine that ran them.
    pub engine: String,
}

/// meta.json of an aligned folder.
#[derive(Debug, Clone, Serialize)]
pub struct AlignMeta {
    pub amva_version: String,
    /// Always "aligned".
    pub kind: &'static str,
    /// "detector" (found and landmarked here) or "landmarks" (given five points).
    pub mode: &'static str,
    /// The photos' folder or list, as given.
    pub images: PathBuf,
    /// The landmarks file, as given (landmarks mode).
    pub landmarks: Option<PathBuf>,
    /// The models (detector mode).
    pub models: Option<AlignModels>,
    /// Side of the square crops in pixels.
    pub size: u32,
    /// The target points.
    pub template: &'static str,
    pub all_faces: bool,
    pub min_face: f32,
    pub min_score: f32,
    /// Photos read.
    pub count_images: usize,
    /// Crops written.
    pub count_faces: usize,
    /// Photos with no crop (failed.csv).
    pub failed: usize,
    /// Faces skipped for being smaller than `min_face`.
    pub too_small_faces: usize,
}

impl AlignMeta {
    /// The template's description in every aligned folder's meta.json.
    pub const TEMPLATE: &'static str = "arcface_112 scaled by size/112";

    /// Writes `dir/meta.json` (atomically; keys in alphabetical order, as it always was).
    pub fn write(&self, dir: &Path) -> crate::Result<()> {
        Ok(amva_io::atomic::write_json_sorted(
            &dir.join("meta.json"),
            self,
        )?)
    }
}
