//! Reading a map store as a stream of finished maps, in bounded memory.
//!
//! A store (written by `amva maps`, see `amva_maps::store`) holds `maps.npy`
//! (N x h x w float32, the low-resolution maps m), `index.csv` (row,image,flags) and
//! `meta.json`. [`MapSource`] reads `meta.json` loosely (only the shapes are required,
//! so stores from other tools and synthetic ones work) and streams `maps.npy` in
//! chunks of rows: memory does not grow with N. The full map of a row is rebuilt
//! with [`amva_math::resample::Upsampler::finish_into`], the very function every
//! writer and reader of stores uses (ALGORITHMS 1). This is the one reader of a
//! store's files: [`crate::MapStore`] (a whole store in memory, for merging) opens
//! stores through it too.
//!
//! With [`MapKind::Full`] the source reads `maps_full.npy` (maps already finished,
//! N x H x W) as they are: for stores written with `--full`, and for maps made by
//! other tools (e.g. the paper's own, already min-max normalised).

use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use amva_math::resample::{min_max_normalise, MinMax, Upsampler};

use crate::{Error, Result};

/// The files of a store (written by `crate::store`, read here).
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

/// Which array of a store is analysed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MapKind {
    /// `maps.npy`: low-resolution maps, finished on the fly (the default).
    Low,
    /// `maps_full.npy`: maps already finished, used as they are.
    Full,
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

/// A map store opened for streaming.
#[derive(Debug)]
pub struct MapSource {
    dir: PathBuf,
    kind: MapKind,
    info: StoreInfo,
    ids: Vec<String>,
    flags: Vec<String>,
    flagged_flat: Vec<bool>,
    data: PathBuf,
    data_offset: u64,
    row_len: usize,
    up: Upsampler,
}

/// How a stored map was finished: what [`MapSource::finish_rows_into`] needs to
/// rebuild any rows of it without the rest.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Finish {
    /// The map is flat (all zero).
    pub flat: bool,
    /// Minimum of the upsampled map.
    pub min: f32,
    /// Its max - min.
    pub span: f32,
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

/// Reads `index.csv` (row,image,flags): ids in row order and each row's flags.
fn read_index(path: &Path) -> Result<(Vec<String>, Vec<String>)> {
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

impl MapSource {
    /// Opens the store in `dir`, checking that `index.csv`, `meta.json` and the maps
    /// file agree on the number and shape of the maps.
    pub fn open(dir: &Path, kind: MapKind) -> Result<Self> {
        if !dir.is_dir() {
            return Err(Error::store(
                dir,
                "no such folder (expected a map store from `amva maps`)",
            ));
        }
        let info = read_store_info(dir)?;
        let (ids, flags) = read_index(&dir.join(INDEX_FILE))?;
        let flagged_flat = flags
            .iter()
            .map(|f| f.split(';').any(|x| x.trim() == FLAT))
            .collect();
        let mut sorted: Vec<&String> = ids.iter().collect();
        sorted.sort();
        if let Some(w) = sorted.windows(2).find(|w| w[0] == w[1]) {
            return Err(Error::store(
                dir.join(INDEX_FILE),
                format!("image '{}' is listed twice", w[0]),
            ));
        }
        let (file, (rh, rw)) = match kind {
            MapKind::Low => (MAPS_FILE, info.map_shape),
            MapKind::Full => (FULL_FILE, info.full_shape),
        };
        let data = dir.join(file);
        if !data.is_file() {
            let hint = if kind == MapKind::Full {
                " (written only by `amva maps --full`)"
            } else {
                ""
            };
            return Err(Error::store(&data, format!("missing{hint}")));
        }
        let (shape, data_offset) = amva_io::npy::read_f32_header(&data)?;
        if shape != [ids.len(), rh, rw] {
            return Err(Error::store(
                &data,
                format!(
                    "shape {shape:?}, but index.csv lists {} maps and meta.json says {rh} x {rw}",
                    ids.len()
                ),
            ));
        }
        let (h, w) = info.map_shape;
        let (fh, fw) = info.full_shape;
        let up = Upsampler::new(h, w, fh, fw).map_err(Error::math(dir.display().to_string()))?;
        Ok(MapSource {
            dir: dir.into(),
            kind,
            info,
            ids,
            flags,
            flagged_flat,
            data,
            data_offset,
            row_len: rh * rw,
            up,
        })
    }

    /// The store folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Which array is read.
    pub fn kind(&self) -> MapKind {
        self.kind
    }

    /// The file the maps are read from.
    pub fn data_path(&self) -> &Path {
        &self.data
    }

    /// What `meta.json` says.
    pub fn info(&self) -> &StoreInfo {
        &self.info
    }

    /// Image ids in row order.
    pub fn ids(&self) -> &[String] {
        &self.ids
    }

    /// Number of maps.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// True for a store without maps (e.g. a shard that held none of the images).
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// Each row's flags as written in index.csv ("" or "flat").
    pub fn flags(&self) -> &[String] {
        &self.flags
    }

    /// Rows flagged "flat" in index.csv.
    pub fn flagged_flat(&self) -> &[bool] {
        &self.flagged_flat
    }

    /// Values per stored row (h * w, or H * W for [`MapKind::Full`]).
    pub fn row_len(&self) -> usize {
        self.row_len
    }

    /// H, W of a finished map.
    pub fn full_shape(&self) -> (usize, usize) {
        self.info.full_shape
    }

    /// Pixels of a finished map.
    pub fn pixels(&self) -> usize {
        self.info.full_shape.0 * self.info.full_shape.1
    }

    /// The upsampler of this store's shapes.
    pub fn upsampler(&self) -> &Upsampler {
        &self.up
    }

    /// Finishes one stored row into `dst` (H * W values): the common ending for low
    /// maps, a copy for full ones. Returns true when the map is flat (all zero).
    /// Errors name the row and image when a value is not finite.
    pub fn finish_into(&self, row: usize, stored: &[f32], dst: &mut [f32]) -> Result<bool> {
        self.check_finite(row, stored)?;
        match self.kind {
            MapKind::Low => self
                .up
                .finish_into(stored, dst)
                .map_err(Error::math(format!("{} row {row}", self.data.display()))),
            MapKind::Full => {
                dst.copy_from_slice(stored);
                Ok(dst.iter().all(|&v| v == 0.0))
            }
        }
    }

    /// Like [`MapSource::finish_into`], also returning the range the map was divided
    /// by, for [`MapSource::finish_rows_into`]. `relu` is scratch of `row_len()` values.
    /// The result equals `finish_into`'s bit for bit (the same upsampling and the same
    /// [`min_max_normalise`]).
    pub fn finish_with_range(
        &self,
        row: usize,
        stored: &[f32],
        dst: &mut [f32],
        relu: &mut Vec<f32>,
    ) -> Result<Finish> {
        if self.kind == MapKind::Full {
            let flat = self.finish_into(row, stored, dst)?;
            return Ok(Finish {
                flat,
                min: 0.0,
                span: 1.0,
            });
        }
        self.check_finite(row, stored)?;
        relu.clear();
        relu.extend(stored.iter().map(|&v| if v < 0.0 { 0.0 } else { v }));
        // Flat on the ReLU'd source: all values equal (upsampling adds rounding noise).
        let (lo, hi) = relu
            .iter()
            .fold((f32::INFINITY, f32::NEG_INFINITY), |(a, b), &v| {
                (a.min(v), b.max(v))
            });
        let source_flat = MinMax { min: lo, max: hi }.is_flat();
        if source_flat {
            dst.fill(0.0);
            return Ok(Finish {
                flat: true,
                min: 0.0,
                span: 0.0,
            });
        }
        self.up
            .upsample_into(relu, dst)
            .map_err(Error::math(format!("{} row {row}", self.data.display())))?;
        let range = min_max_normalise(dst);
        Ok(Finish {
            flat: range.is_flat(),
            min: range.min,
            span: range.span(),
        })
    }

    /// Output rows `y0..y1` of the finished map of a stored row (`(y1 - y0) * W` values
    /// into `dst`), given how the whole map was finished: equal to the same rows of
    /// [`MapSource::finish_into`].
    pub fn finish_rows_into(
        &self,
        stored: &[f32],
        finish: Finish,
        y0: usize,
        y1: usize,
        dst: &mut [f32],
    ) {
        let w = self.info.full_shape.1;
        match self.kind {
            MapKind::Full => dst.copy_from_slice(&stored[y0 * w..y1 * w]),
            MapKind::Low if finish.flat => dst.fill(0.0),
            MapKind::Low => {
                self.up.upsample_rows_into(stored, y0, y1, dst);
                for v in dst.iter_mut() {
                    *v = (*v - finish.min) / finish.span;
                }
            }
        }
    }

    fn check_finite(&self, row: usize, stored: &[f32]) -> Result<()> {
        match stored.iter().position(|v| !v.is_finite()) {
            None => Ok(()),
            Some(i) => Err(Error::store(
                &self.data,
                format!(
                    "row {row} ('{}') holds {} at position {i}; maps must be finite",
                    self.ids.get(row).map(String::as_str).unwrap_or("?"),
                    stored[i]
                ),
            )),
        }
    }

    /// Streams the stored rows `0..len()` in order, `chunk_rows` at a time:
    /// `f(first_row, rows)` gets `rows.len() / row_len()` consecutive rows. Memory is
    /// one chunk, whatever N is. `f`'s error type is the caller's (any that a read
    /// error of this crate converts into).
    pub fn for_each_chunk<E: From<Error>>(
        &self,
        chunk_rows: usize,
        mut f: impl FnMut(usize, &[f32]) -> std::result::Result<(), E>,
    ) -> std::result::Result<(), E> {
        let chunk_rows = chunk_rows.max(1);
        let file = File::open(&self.data).map_err(|e| E::from(Error::file(&self.data, e)))?;
        let mut reader = BufReader::with_capacity(1 << 20, file);
        reader
            .seek(SeekFrom::Start(self.data_offset))
            .map_err(|e| E::from(Error::file(&self.data, e)))?;
        let mut bytes = vec![0u8; chunk_rows * self.row_len * 4];
        let mut values = vec![0f32; chunk_rows * self.row_len];
        let mut row = 0;
        while row < self.len() {
            let n = chunk_rows.min(self.len() - row);
            let b = &mut bytes[..n * self.row_len * 4];
            reader
                .read_exact(b)
                .map_err(|e| E::from(Error::file(&self.data, e)))?;
            let v = &mut values[..n * self.row_len];
            for (x, c) in v.iter_mut().zip(b.chunks_exact(4)) {
                *x = f32::from_le_bytes([c[0], c[1], c[2], c[3]]);
            }
            f(row, v)?;
            row += n;
        }
        Ok(())
    }
}

/// Writes a map store that [`MapSource`] (and `amva_maps::MapStore`'s readers of the
/// shapes) can open: `maps.npy`, `index.csv`, and a minimal `meta.json` with the
/// shapes and `extra` fields merged into `settings`. For tests, benchmarks and maps
/// imported from elsewhere. With `full`, the maps are finished maps and go to
/// `maps_full.npy` (and `maps.npy` gets the same values when the shapes agree).
pub fn write_store(
    dir: &Path,
    ids: &[String],
    map_shape: (usize, usize),
    full_shape: (usize, usize),
    maps: &[f32],
    full: bool,
    extra: serde_json::Value,
) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| Error::file(dir, e))?;
    let (rh, rw) = if full { full_shape } else { map_shape };
    if maps.len() != ids.len() * rh * rw {
        return Err(Error::store(
            dir,
            format!(
                "{} values for {} maps of {rh} x {rw}",
                maps.len(),
                ids.len()
            ),
        ));
    }
    let file = if full { FULL_FILE } else { MAPS_FILE };
    amva_io::npy::write_f32(&dir.join(file), &[ids.len(), rh, rw], maps)?;
    if full && map_shape == full_shape {
        amva_io::npy::write_f32(&dir.join(MAPS_FILE), &[ids.len(), rh, rw], maps)?;
    }
    let mut w = csv::Writer::from_writer(Vec::new());
    let csv_err = |e: csv::Error| Error::store(dir.join(INDEX_FILE), e.to_string());
    w.write_record(["row", "image", "flags"]).map_err(csv_err)?;
    for (i, id) in ids.iter().enumerate() {
        w.write_record([i.to_string().as_str(), id.as_str(), ""])
            .map_err(csv_err)?;
    }
    let bytes = w
        .into_inner()
        .map_err(|e| Error::store(dir.join(INDEX_FILE), e.to_string()))?;
    amva_io::atomic::write_atomic(&dir.join(INDEX_FILE), &bytes)?;
    let mut settings = serde_json::json!({
        "map_shape": [map_shape.0, map_shape.1],
        "full_shape": [full_shape.0, full_shape.1],
        "full": full,
    });
    if let (Some(s), serde_json::Value::Object(extra)) = (settings.as_object_mut(), extra) {
        for (k, v) in extra {
            s.insert(k, v);
        }
    }
    let meta = serde_json::json!({
        "kind": "maps",
        "settings": settings,
        "complete": true,
        "count": ids.len(),
    });
    amva_io::atomic::write_json(&dir.join(META_FILE), &meta)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_rows_in_chunks_and_checks_shapes() {
        let d = tempfile::tempdir().unwrap();
        let ids: Vec<String> = (0..5).map(|i| format!("img{i}.png")).collect();
        let maps: Vec<f32> = (0..5 * 4).map(|i| i as f32).collect();
        write_store(
            d.path(),
            &ids,
            (2, 2),
            (4, 4),
            &maps,
            false,
            serde_json::json!({"method": "ablation"}),
        )
        .unwrap();
        let s = MapSource::open(d.path(), MapKind::Low).unwrap();
        assert_eq!(s.len(), 5);
        assert_eq!(s.info().method.as_deref(), Some("ablation"));
        let mut seen = Vec::new();
        s.for_each_chunk(2, |first, rows| -> Result<()> {
            seen.push((first, rows.len()));
            assert_eq!(rows[0], (first * 4) as f32);
            Ok(())
        })
        .unwrap();
        assert_eq!(seen, vec![(0, 8), (2, 8), (4, 4)]);
        let mut full = vec![0.0; 16];
        assert!(!s.finish_into(1, &maps[4..8], &mut full).unwrap());
        let expect = amva_math::resample::finish_map(&maps[4..8], 2, 2, 4, 4).unwrap();
        assert_eq!(full, expect.data);
        // maps_full.npy absent:
        let err = MapSource::open(d.path(), MapKind::Full)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("maps_full.npy") && err.contains("--full"),
            "{err}"
        );
        // A truncated maps.npy is named.
        let p = d.path().join(MAPS_FILE);
        let bytes = std::fs::read(&p).unwrap();
        std::fs::write(&p, &bytes[..bytes.len() - 4]).unwrap();
        let err = MapSource::open(d.path(), MapKind::Low)
            .unwrap_err()
            .to_string();
        assert!(err.contains("truncated"), "{err}");
    }

    #[test]
    fn rows_and_ranges_rebuild_finish_into_bit_for_bit() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(17);
        for (low, full) in [
            ((7, 7), (112, 112)),
            ((4, 6), (15, 22)),
            ((7, 7), (7, 7)),
            ((3, 5), (2, 9)),
            ((1, 1), (4, 4)),
        ] {
            let n = 12;
            let hw = low.0 * low.1;
            let maps: Vec<f32> = (0..n * hw)
                .map(|k| match k / hw {
                    0 => 0.3,                                                  // constant: flat
                    1 => -1.0, // negative: flat after ReLU
                    2 => (rng.random_range(-1.0..2.0f32) * 2.0).round() / 2.0, // coarse
                    _ => rng.random_range(-1.0..2.0),
                })
                .collect();
            let d = tempfile::tempdir().unwrap();
            let ids: Vec<String> = (0..n).map(|i| format!("m{i}")).collect();
            write_store(
                d.path(),
                &ids,
                low,
                full,
                &maps,
                false,
                serde_json::json!({}),
            )
            .unwrap();
            let s = MapSource::open(d.path(), MapKind::Low).unwrap();
            let p = full.0 * full.1;
            let (mut a, mut b, mut relu) = (vec![0.0; p], vec![0.0; p], Vec::new());
            for i in 0..n {
                let m = &maps[i * hw..(i + 1) * hw];
                let flat = s.finish_into(i, m, &mut a).unwrap();
                let f = s.finish_with_range(i, m, &mut b, &mut relu).unwrap();
                assert_eq!(flat, f.flat, "{low:?}->{full:?} map {i}");
                assert!(
                    a.iter().zip(&b).all(|(x, y)| x.to_bits() == y.to_bits()),
                    "{low:?}->{full:?} map {i}"
                );
                for (y0, y1) in [
                    (0, full.0),
                    (0, 1),
                    (full.0 / 2, full.0),
                    (full.0 - 1, full.0),
                ] {
                    let mut r = vec![0.0; (y1 - y0) * full.1];
                    s.finish_rows_into(m, f, y0, y1, &mut r);
                    let want = &a[y0 * full.1..y1 * full.1];
                    assert!(
                        r.iter().zip(want).all(|(x, y)| x.to_bits() == y.to_bits()),
                        "{low:?}->{full:?} map {i} rows {y0}..{y1}"
                    );
                }
            }
        }
    }

    /// Fuzz seeds fuzz/corpus/map_store/seed-huge-*: a meta.json declaring huge shapes
    /// made the upsampler allocate tables (and analyze a map) of that size, and a
    /// maps.npy header with a huge shape overflowed the expected-size product.
    #[test]
    fn huge_declared_shapes_are_refused_before_allocating() {
        let d = tempfile::tempdir().unwrap();
        let ids = vec!["a.png".to_string()];
        write_store(
            d.path(),
            &ids,
            (1, 1),
            (2, 2),
            &[1.0],
            false,
            serde_json::json!({}),
        )
        .unwrap();
        std::fs::write(
            d.path().join(META_FILE),
            r#"{"settings": {"map_shape": [1, 1], "full_shape": [4000000000, 4000000000]}}"#,
        )
        .unwrap();
        let err = MapSource::open(d.path(), MapKind::Low)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("meta.json") && err.contains("full_shape") && err.contains("4096"),
            "{err}"
        );
        std::fs::write(
            d.path().join(META_FILE),
            r#"{"settings": {"map_shape": [1, 1], "full_shape": [2, 2]}}"#,
        )
        .unwrap();
        let header =
            "{'descr': '<f4', 'fortran_order': False, 'shape': (4611686018427387904, 1, 1), }\n";
        let mut npy = b"\x93NUMPY\x01\x00".to_vec();
        npy.extend((header.len() as u16).to_le_bytes());
        npy.extend(header.as_bytes());
        std::fs::write(d.path().join(MAPS_FILE), npy).unwrap();
        let err = MapSource::open(d.path(), MapKind::Low)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("maps.npy") && err.contains("too large"),
            "{err}"
        );
    }

    #[test]
    fn incomplete_or_foreign_meta_is_refused() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(
            d.path().join(META_FILE),
            r#"{"complete": false, "settings": {"map_shape": [7,7], "full_shape": [112,112]}}"#,
        )
        .unwrap();
        let err = MapSource::open(d.path(), MapKind::Low)
            .unwrap_err()
            .to_string();
        assert!(err.contains("has not finished"), "{err}");
        std::fs::write(d.path().join(META_FILE), r#"{"kind": "embeddings"}"#).unwrap();
        let err = MapSource::open(d.path(), MapKind::Low)
            .unwrap_err()
            .to_string();
        assert!(err.contains("map_shape"), "{err}");
    }
}
