//! One image against a reference from `amva analyze` (ALGORITHMS 5).
//!
//! The reference is a method's high-quality group: its MAM and AM-V maps (the
//! `arrays/<method>/high_{mam,amv}.npy` of the analysis) and the settings the maps
//! were made with (`maps_meta.json`: model checksum, method, layer, parameters). An
//! image's map must be computed with the same model and settings; computing it is the
//! caller's job (amva-report's `explain_images` runs `amva_maps::CamRunner` and draws
//! the figure), this module compares.
//!
//! - deviation map `|AM - MAM_ref|` (the paper's), shown over the image as
//!   `0.5 * jet + image`, clipped;
//! - z-map `(AM - MAM_ref) / max(AM-V_ref, eps)`;
//! - scores: mean absolute deviation over the map, inside and outside the central face
//!   region, and the outside share of the total deviation; the same for |z|.

use std::path::{Path, PathBuf};

use amva_math::compare::z_map;
use amva_math::region::face_region_mask;
use serde_json::Value;

use crate::files;
use crate::stat::Stat;
use crate::summary::Summary;
use crate::{AnalysisError, Result};

/// Default floor of AM-V in the z-map: 1 % of the activation range.
pub const DEFAULT_EPS: f64 = 0.01;

/// A reference group read from an analysis folder.
#[derive(Debug, Clone)]
pub struct Reference {
    /// The analysis folder.
    pub dir: PathBuf,
    /// The FIQA method whose high group is the reference.
    pub method: String,
    /// The group's rule (e.g. `top:10%`).
    pub rule: String,
    /// Maps in the group.
    pub n: usize,
    /// MAM of the group (H x W).
    pub mam: Vec<f64>,
    /// AM-V of the group (H x W).
    pub amv: Vec<f64>,
    /// H, W.
    pub shape: (usize, usize),
    /// Central face region, true inside.
    pub inside: Vec<bool>,
    /// Margin of the region on the H x W grid.
    pub margin_px: f64,
    /// The maps' meta.json (model, method, layer, parameters).
    pub maps_meta: Value,
}

fn read_json(path: &Path) -> Result<Value> {
    let text = std::fs::read_to_string(path).map_err(|e| AnalysisError::io(path, e))?;
    serde_json::from_str(&text)
        .map_err(|e| AnalysisError::store(path, format!("not valid JSON: {e}")))
}

fn read_map(dir: &Path, rel: &str, (h, w): (usize, usize)) -> Result<Vec<f64>> {
    let path = dir.join(rel);
    let a = amva_io::npy::read_f32(&path)?;
    if a.shape() != [h, w] {
        return Err(AnalysisError::store(
            &path,
            format!("shape {:?}, expected [{h}, {w}]", a.shape()),
        ));
    }
    Ok(a.iter().map(|&v| f64::from(v)).collect())
}

/// The part of a map store's meta.json the reference checks.
#[derive(serde::Deserialize)]
struct RecordedModel {
    settings: Option<RecordedSettings>,
}

#[derive(serde::Deserialize)]
struct RecordedSettings {
    model_sha256: Option<String>,
}

impl Reference {
    /// Reads the reference of `method` (default: the analysis' only method, or the
    /// alphabetically first one) from the analysis folder `dir`.
    pub fn open(dir: &Path, method: Option<&str>) -> Result<Self> {
        let summary = Summary::read(dir).map_err(|e| match e {
            AnalysisError::Store { path, reason } if reason.starts_with("missing") => {
                AnalysisError::store(
                    path,
                    "missing: --reference must be an output folder of `amva analyze`",
                )
            }
            e => e,
        })?;
        let summary_path = dir.join(files::SUMMARY);
        let names: Vec<&String> = summary.methods.keys().collect();
        let (name, m) = match method {
            Some(m) => summary
                .methods
                .get_key_value(m)
                .ok_or_else(|| AnalysisError::Option {
                    option: "--fiqa".into(),
                    reason: format!(
                        "no method '{m}' in {} (methods: {})",
                        summary_path.display(),
                        names
                            .iter()
                            .map(|s| s.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                })?,
            None => summary
                .methods
                .iter()
                .next()
                .ok_or_else(|| AnalysisError::store(&summary_path, "no methods"))?,
        };
        let high = m.high().ok_or_else(|| {
            AnalysisError::store(&summary_path, format!("method '{name}' has no groups"))
        })?;
        let file = |stat: Stat| -> Result<&str> {
            high.stats
                .get(stat)
                .map(|s| s.file.as_str())
                .ok_or_else(|| {
                    AnalysisError::store(
                        &summary_path,
                        format!("method '{name}': no {} file of the high group", stat.key()),
                    )
                })
        };
        let shape = (summary.maps.full_shape[0], summary.maps.full_shape[1]);
        let mam = read_map(dir, file(Stat::Mam)?, shape)?;
        let amv = read_map(dir, file(Stat::Amv)?, shape)?;
        let margin_px = summary.parameters.region_margin_px_maps;
        let inside = face_region_mask(shape.0, shape.1, margin_px)
            .map_err(AnalysisError::math("face region"))?;
        let meta_path = dir.join(files::MAPS_META);
        let maps_meta = if meta_path.is_file() {
            read_json(&meta_path)?
        } else {
            summary.maps.meta.clone()
        };
        Ok(Reference {
            dir: dir.into(),
            method: name.clone(),
            rule: high.rule.clone(),
            n: high.n,
            mam,
            amv,
            shape,
            inside,
            margin_px,
            maps_meta,
        })
    }

    /// A reference from statistics in memory, as `amva analyze` holds them before it
    /// writes them: MAM and AM-V are rounded to `f32` as the analysis writes them, so
    /// the reference equals [`Reference::open`] of the written folder.
    pub fn in_memory(group: InMemory<'_>, mam: &[f64], amv: &[f64]) -> Self {
        let round = |v: &[f64]| v.iter().map(|&x| f64::from(x as f32)).collect();
        Reference {
            dir: group.dir.into(),
            method: group.method.into(),
            rule: group.rule.into(),
            n: group.n,
            mam: round(mam),
            amv: round(amv),
            shape: group.shape,
            inside: group.inside.to_vec(),
            margin_px: group.margin_px,
            maps_meta: group.maps_meta.clone(),
        }
    }

    /// The model checksum the reference maps were made with, if recorded.
    pub fn model_sha256(&self) -> Option<String> {
        serde_json::from_value::<RecordedModel>(self.maps_meta.clone())
            .ok()
            .and_then(|m| m.settings)
            .and_then(|s| s.model_sha256)
    }

    /// Refuses a model other than the reference's (naming both checksums). A reference
    /// without a recorded checksum is refused too: nothing says the maps are comparable.
    pub fn check_model(&self, model: &Path, model_sha256: &str) -> Result<()> {
        match self.model_sha256() {
            Some(r) if r.eq_ignore_ascii_case(model_sha256) => Ok(()),
            r => Err(AnalysisError::ModelMismatch {
                reference: self.dir.clone(),
                reference_sha256: r.unwrap_or_else(|| "(not recorded)".into()),
                model: model.into(),
                model_sha256: model_sha256.to_string(),
            }),
        }
    }
}

/// What a reference held in memory is (see [`Reference::in_memory`]).
#[derive(Debug, Clone, Copy)]
pub struct InMemory<'a> {
    /// The analysis folder it will be written to.
    pub dir: &'a Path,
    /// The method (or `all maps` for typicality).
    pub method: &'a str,
    /// The group's rule.
    pub rule: &'a str,
    /// Maps in the group.
    pub n: usize,
    /// H, W.
    pub shape: (usize, usize),
    /// Central face region, true inside.
    pub inside: &'a [bool],
    /// Margin of the region on the H x W grid.
    pub margin_px: f64,
    /// The maps' meta.json.
    pub maps_meta: &'a Value,
}

/// The scores of one image (ALGORITHMS 5.2).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct ExplainScores {
    /// Mean |AM - MAM_ref| over the whole map.
    pub mean_abs_deviation: f64,
    /// The same inside the central face region.
    pub inside: f64,
    /// The same outside it.
    pub outside: f64,
    /// Share of the summed deviation that lies outside the region.
    pub outside_share: f64,
    /// Mean |z| over the whole map.
    pub mean_abs_z: f64,
    /// Mean |z| inside the region.
    pub mean_abs_z_inside: f64,
    /// Mean |z| outside the region.
    pub mean_abs_z_outside: f64,
    /// Largest |z|.
    pub max_abs_z: f64,
}

impl ExplainScores {
    /// The column names of the scores, in the order of [`ExplainScores::values`]
    /// (explain.csv; images.csv and the explorer keep the first [`Self::KEPT`]).
    pub const NAMES: [&'static str; 8] = [
        "mean_abs_deviation",
        "inside",
        "outside",
        "outside_share",
        "mean_abs_z",
        "mean_abs_z_inside",
        "mean_abs_z_outside",
        "max_abs_z",
    ];
    /// How many of the scores images.csv and the explorer keep per method.
    pub const KEPT: usize = 5;

    /// The scores in the order of [`ExplainScores::NAMES`].
    pub fn values(&self) -> [f64; 8] {
        [
            self.mean_abs_deviation,
            self.inside,
            self.outside,
            self.outside_share,
            self.mean_abs_z,
            self.mean_abs_z_inside,
            self.mean_abs_z_outside,
            self.max_abs_z,
        ]
    }
}

/// Deviation map, z-map and scores of one finished map.
#[derive(Debug, Clone, PartialEq)]
pub struct Explanation {
    /// |AM - MAM_ref| (H x W).
    pub deviation: Vec<f64>,
    /// (AM - MAM_ref) / max(AM-V_ref, eps) (H x W).
    pub z: Vec<f64>,
    /// The scores.
    pub scores: ExplainScores,
}

/// Compares the finished map `map` (H x W, values in [0, 1]) with the reference.
pub fn explain_map(reference: &Reference, map: &[f32], eps: f64) -> Result<Explanation> {
    let m: Vec<f64> = map.iter().map(|&v| f64::from(v)).collect();
    let deviation = amva_math::compare::deviation(&m, &reference.mam)
        .map_err(AnalysisError::math("deviation map"))?;
    let z = z_map(&m, &reference.mam, &reference.amv, eps).map_err(AnalysisError::math("z-map"))?;
    let region = |v: &[f64]| {
        amva_math::region::region_means(v, &reference.inside)
            .map_err(AnalysisError::math("face region"))
    };
    let d = region(&deviation)?;
    let abs_z: Vec<f64> = z.iter().map(|v| v.abs()).collect();
    let zr = region(&abs_z)?;
    let n = deviation.len() as f64;
    let total: f64 = deviation.iter().sum();
    let out_sum = d.outside * d.n_outside as f64;
    Ok(Explanation {
        scores: ExplainScores {
            mean_abs_deviation: total / n,
            inside: d.inside,
            outside: d.outside,
            outside_share: if total > 0.0 {
                out_sum / total
            } else {
                f64::NAN
            },
            mean_abs_z: abs_z.iter().sum::<f64>() / n,
            mean_abs_z_inside: zr.inside,
            mean_abs_z_outside: zr.outside,
            max_abs_z: abs_z.iter().copied().fold(0.0, f64::max),
        },
        deviation,
        z,
    })
}
