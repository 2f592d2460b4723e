//! The map store's format, in one place: its file names, `meta.json` (one typed
//! [`StoreMeta`] for stores `amva maps` writes, read strictly; [`StoreInfo`] for any
//! store, read loosely, so that stores of other tools and imported maps open; and the
//! minimal [`ImportedMeta`] of stores written from maps in memory) and `index.csv`
//! (`row,image,flags`). Every reader and writer of a store goes through here:
//! [`crate::source`] reads, [`crate::store`] writes runs, parts and merges,
//! [`crate::import`] writes stores from maps made elsewhere.
//!
//! ```text
//! maps.npy        N x h x w float32: m of ALGORITHMS 1.6 (before ReLU, upsampling, min-max)
//! maps_full.npy   N x H x W float32 (only with --full): the finished maps
//! index.csv       row,image,flags   (flags: "flat" when the finished map is all zero)
//! failed.csv      image,reason
//! warnings.csv    image,warning
//! meta.json       settings (model SHA-256, engine, layer, method, parameters, ...) and counts
//! parts/          while a run is under way: its finished parts
//! ```

use std::path::Path;

use amva_model::ModelSpec;
use serde::{Deserialize, Serialize};

use crate::params::MapParams;
use crate::{Error, Result};

/// The `kind` of a map store's meta.json.
pub const KIND: &str = "maps";

/// Low-resolution maps.
pub const MAPS_FILE: &str = "maps.npy";
/// Full-resolution maps (`--full`).
pub const FULL_FILE: &str = "maps_full.npy";
/// Row index.
pub const INDEX_FILE: &str = "index.csv";
/// Images that could not be read.
pub const FAILED_FILE: &str = "failed.csv";
/// image,warning: images mapped although their file is damaged (a truncated JPEG).
pub const WARNINGS_FILE: &str = "warnings.csv";
/// Settings and counts.
pub const META_FILE: &str = "meta.json";
/// Parts of a run under way.
pub const PARTS_DIR: &str = "parts";
/// The flag of a map that was constant before normalisation.
pub const FLAT: &str = "flat";

/// Longest side of a stored map (low-resolution or full): the model's input side at
/// most (`amva_model::preprocess::MAX_INPUT_SIDE`), so that a meta.json that declares
/// a huge shape is refused before a map of that size is allocated.
pub const MAX_MAP_SIDE: usize = amva_model::preprocess::MAX_INPUT_SIDE as usize;

/// Checks a store's `map_shape` [h, w] and `full_shape` [H, W] (as meta.json
/// declares them): every side 1 to [`MAX_MAP_SIDE`]. The reason names the setting.
pub fn check_shapes(
    map_shape: [usize; 2],
    full_shape: [usize; 2],
) -> std::result::Result<(), String> {
    for (name, [h, w]) in [("map_shape", map_shape), ("full_shape", full_shape)] {
        if !(1..=MAX_MAP_SIDE).contains(&h) || !(1..=MAX_MAP_SIDE).contains(&w) {
            return Err(format!(
                "settings.{name} [{h}, {w}]: expected 1 to {MAX_MAP_SIDE} pixels a side"
            ));
        }
    }
    Ok(())
}

/// Everything that decides the contents of a store. Two runs with equal settings give
/// equal files; a resumed run or a merge must match exactly.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunSettings {
    pub amva_version: String,
    pub model_sha256: String,
    /// The engine that ran (auto resolved).
    pub engine: String,
    /// The CAM target layer.
    pub layer: String,
    #[serde(flatten)]
    pub params: MapParams,
    /// Preprocessing and tensor names.
    pub spec: ModelSpec,
    /// Images in the whole list (before sharding).
    pub image_count: usize,
    /// SHA-256 of the sorted image ids, one per line (see [`list_digest`]).
    pub images_sha256: String,
    pub resize: bool,
    /// Whether maps_full.npy is written.
    pub full: bool,
    /// Images per part (resume granularity).
    pub part_size: usize,
    /// h, w of the low-resolution maps.
    pub map_shape: [usize; 2],
    /// H, W of the full maps (the model input).
    pub full_shape: [usize; 2],
}

/// The contents of `meta.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoreMeta {
    /// Always "maps".
    pub kind: String,
    /// The model file as given (informational; the SHA-256 in the settings identifies it).
    pub model: String,
    /// The image folder or list as given (informational).
    pub images: String,
    pub settings: RunSettings,
    /// `i/n` for a shard, null for a whole run or a merge.
    pub shard: Option<String>,
    /// False while a run is under way.
    pub complete: bool,
    /// Maps stored.
    pub count: usize,
    /// Images that could not be read.
    pub failed: usize,
    /// Maps flagged flat (all zero after the common ending).
    pub flat: usize,
    /// Maps of damaged files that still decoded (listed in warnings.csv).
    #[serde(default)]
    pub warnings: usize,
    /// Extra model or head passes run (Score-CAM: masked images; Ablation-CAM: head runs).
    pub passes: u64,
}

impl StoreMeta {
    /// The metadata of a run about to start.
    pub fn new(
        model: &Path,
        images: &Path,
        settings: RunSettings,
        shard: Option<(usize, usize)>,
    ) -> Self {
        StoreMeta {
            kind: KIND.into(),
            model: model.display().to_string(),
            images: images.display().to_string(),
            settings,
            shard: shard.map(|(i, n)| format!("{i}/{n}")),
            complete: false,
            count: 0,
            failed: 0,
            flat: 0,
            warnings: 0,
            passes: 0,
        }
    }

    /// Writes it to `dir/meta.json` (temporary name, then rename).
    pub fn write(&self, dir: &Path) -> Result<()> {
        Ok(amva_io::atomic::write_json(&dir.join(META_FILE), self)?)
    }

    /// What the store in `dir` holds, for a command's summary.
    pub fn brief<'a>(&'a self, dir: &'a Path) -> StoreBrief<'a> {
        StoreBrief {
            out: dir,
            images: self.count,
            failed: self.failed,
            flat: self.flat,
            warnings: self.warnings,
            method: self.settings.params.method,
            engine: &self.settings.engine,
            passes: self.passes,
        }
    }

    /// Reads `dir/meta.json`.
    pub fn read(dir: &Path) -> Result<Self> {
        let path = dir.join(META_FILE);
        let text = std::fs::read_to_string(&path).map_err(|e| Error::file(&path, e))?;
        serde_json::from_str(&text)
            .map_err(|e| Error::store(&path, format!("not a map store's meta.json: {e}")))
    }
}

/// What a store holds, as the summaries of `amva maps` and `amva merge` report it.
#[derive(Debug, Clone, Serialize)]
pub struct StoreBrief<'a> {
    /// The store's folder.
    pub out: &'a Path,
    /// Maps stored.
    pub images: usize,
    pub failed: usize,
    pub flat: usize,
    pub warnings: usize,
    pub method: crate::Method,
    pub engine: &'a str,
    /// Extra model or head passes run.
    pub passes: u64,
}

/// Lists the settings that differ, as `name: A in meta.json, B now`.
pub fn settings_differences(stored: &RunSettings, now: &RunSettings) -> Vec<String> {
    let (a, b) = (to_map(stored), to_map(now));
    let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .filter(|k| a.get(*k) != b.get(*k))
        .map(|k| {
            let show = |v: Option<&serde_json::Value>| {
                v.map(|v| v.to_string()).unwrap_or_else(|| "absent".into())
            };
            format!(
                "{k}: {} in meta.json, {} now",
                show(a.get(k)),
                show(b.get(k))
            )
        })
        .collect()
}

fn to_map(s: &RunSettings) -> serde_json::Map<String, serde_json::Value> {
    match serde_json::to_value(s) {
        Ok(serde_json::Value::Object(m)) => m,
        _ => serde_json::Map::new(),
    }
}

/// What `meta.json` says about how the maps were made (all optional except shapes).
#[derive(Debug, Clone, PartialEq)]
pub struct StoreInfo {
    /// h, w of `maps.npy`.
    pub map_shape: (usize, usize),
    /// H, W of the finished maps.
    pub full_shape: (usize, usize),
    /// SHA-256 of the FR model, if recorded.
    pub model_sha256: Option<String>,
    /// Map method (scorecam, ablation, ...), if recorded.
    pub method: Option<String>,
    /// Target layer, if recorded.
    pub layer: Option<String>,
    /// The image folder or list the maps were made from, as given to `amva maps`.
    pub images: Option<String>,
    /// The whole `meta.json`.
    pub raw: serde_json::Value,
}

/// A field read leniently: its value when it has the expected type, else nothing (stores
/// from other tools may carry fields of the same name with other meanings).
#[derive(Debug, Default, serde::Deserialize)]
#[serde(untagged)]
enum Lenient<T> {
    Is(T),
    #[default]
    #[serde(skip)]
    Absent,
    Other(serde::de::IgnoredAny),
}

impl<T> Lenient<T> {
    fn get(self) -> Option<T> {
        match self {
            Lenient::Is(v) => Some(v),
            _ => None,
        }
    }
}

/// The fields of `meta.json` the reader uses, at the top level or under `settings`.
#[derive(Debug, Default, serde::Deserialize)]
struct LooseFields {
    #[serde(default)]
    map_shape: Lenient<[usize; 2]>,
    #[serde(default)]
    full_shape: Lenient<[usize; 2]>,
    #[serde(default)]
    model_sha256: Lenient<String>,
    #[serde(default)]
    method: Lenient<String>,
    #[serde(default)]
    layer: Lenient<String>,
}

/// `meta.json` as the reader sees it.
#[derive(Debug, Default, serde::Deserialize)]
struct LooseMeta {
    #[serde(default)]
    complete: Lenient<bool>,
    #[serde(default)]
    images: Lenient<String>,
    #[serde(default)]
    settings: Lenient<LooseFields>,
    #[serde(flatten)]
    top: LooseFields,
}

/// Reads a store's `meta.json` (see [`StoreInfo`]). Refuses a store whose run has
/// not finished (`"complete": false`).
pub fn read_store_info(dir: &Path) -> Result<StoreInfo> {
    let path = dir.join(META_FILE);
    let text = std::fs::read_to_string(&path).map_err(|e| Error::file(&path, e))?;
    let bad_json = |e: serde_json::Error| Error::store(&path, format!("not valid JSON: {e}"));
    let raw: serde_json::Value = serde_json::from_str(&text).map_err(bad_json)?;
    let meta: LooseMeta = serde_json::from_value(raw.clone()).map_err(bad_json)?;
    if meta.complete.get() == Some(false) {
        return Err(Error::store(
            dir,
            "the `amva maps` run that writes this store has not finished; rerun it with the same arguments to complete it",
        ));
    }
    let (settings, top) = (meta.settings.get().unwrap_or_default(), meta.top);
    let shape = |a: Lenient<[usize; 2]>, b: Lenient<[usize; 2]>, what: &str| {
        a.get().or(b.get()).map(|[h, w]| (h, w)).ok_or_else(|| {
            Error::store(
                &path,
                format!("no settings.{what}: not a map store's meta.json"),
            )
        })
    };
    let map_shape = shape(settings.map_shape, top.map_shape, "map_shape [h, w]")?;
    let full_shape = shape(settings.full_shape, top.full_shape, "full_shape [H, W]")?;
    check_shapes([map_shape.0, map_shape.1], [full_shape.0, full_shape.1])
        .map_err(|reason| Error::store(&path, reason))?;
    Ok(StoreInfo {
        map_shape,
        full_shape,
        model_sha256: settings.model_sha256.get().or(top.model_sha256.get()),
        method: settings.method.get().or(top.method.get()),
        layer: settings.layer.get().or(top.layer.get()),
        images: meta.images.get(),
        raw,
    })
}

/// meta.json of a store written from maps in memory (`import::write_store`,
/// `amva_analysis::synthetic`): the shapes, the caller's extra settings, the count.
#[derive(Debug, Clone, Serialize)]
pub struct ImportedMeta {
    /// Always [`KIND`].
    pub kind: &'static str,
    /// The shapes and the caller's fields.
    pub settings: ImportedSettings,
    /// Always true: the store is written whole.
    pub complete: bool,
    /// Maps stored.
    pub count: usize,
}

/// The settings of an [`ImportedMeta`].
#[derive(Debug, Clone, Serialize)]
pub struct ImportedSettings {
    /// h, w of `maps.npy`.
    pub map_shape: [usize; 2],
    /// H, W of the finished maps.
    pub full_shape: [usize; 2],
    /// Whether `maps_full.npy` holds the maps.
    pub full: bool,
    /// Anything else the caller records (method, layer, model checksum, ...).
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

impl ImportedMeta {
    /// Writes it to `dir/meta.json` (temporary name, then rename).
    pub fn write(&self, dir: &Path) -> Result<()> {
        Ok(amva_io::atomic::write_json(&dir.join(META_FILE), self)?)
    }
}

/// Reads `index.csv` (row,image,flags): ids in row order and each row's flags.
pub(crate) fn read_index(path: &Path) -> Result<(Vec<String>, Vec<String>)> {
    let mut r = csv::ReaderBuilder::new()
        .flexible(true)
        .from_path(path)
        .map_err(|e| Error::store(path, e.to_string()))?;
    let (mut ids, mut flat) = (Vec::new(), Vec::new());
    for (i, rec) in r.records().enumerate() {
        let line = i + 2;
        let rec = rec.map_err(|e| Error::store(path, format!("line {line}: {e}")))?;
        let row: usize = rec
            .get(0)
            .and_then(|s| s.trim().parse().ok())
            .ok_or_else(|| Error::store(path, format!("line {line}: no row number")))?;
        if row != i {
            return Err(Error::store(
                path,
                format!("line {line}: row {row}, expected {i} (rows must be 0, 1, 2, ...)"),
            ));
        }
        let id = rec
            .get(1)
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .ok_or_else(|| Error::store(path, format!("line {line}: no image id")))?;
        ids.push(id.to_string());
        flat.push(rec.get(2).unwrap_or("").to_string());
    }
    Ok((ids, flat))
}

/// Writes `index.csv` (row,image,flags).
pub fn write_index(path: &Path, ids: &[String], flags: &[String]) -> Result<()> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let io = |e: csv::Error| Error::store(path, e.to_string());
    w.write_record(["row", "image", "flags"]).map_err(io)?;
    for (i, (id, f)) in ids.iter().zip(flags).enumerate() {
        w.write_record([i.to_string().as_str(), id, f])
            .map_err(io)?;
    }
    let bytes = w
        .into_inner()
        .map_err(|e| Error::store(path, e.to_string()))?;
    Ok(amva_io::atomic::write_atomic(path, &bytes)?)
}
