//! Stores written from maps made elsewhere: maps in memory ([`write_store`]) or streamed
//! one at a time ([`StoreImport`], e.g. synthetic stores of any size). The result opens
//! with [`crate::source::MapSource`] like a store of `amva maps`; its meta.json is the
//! minimal [`ImportedMeta`] (shapes, the caller's extra settings, the count).

use std::path::{Path, PathBuf};

use amva_io::npy_writer::NpyWriter;

use crate::format::{
    write_index, ImportedMeta, ImportedSettings, FULL_FILE, INDEX_FILE, KIND, MAPS_FILE,
};
use crate::{Error, Result};

/// The caller's extra settings as a JSON object (anything else: none).
fn extra_settings(extra: serde_json::Value) -> serde_json::Map<String, serde_json::Value> {
    match extra {
        serde_json::Value::Object(m) => m,
        _ => serde_json::Map::new(),
    }
}

/// Writes a map store that [`crate::source::MapSource`] can open: `maps.npy`,
/// `index.csv`, and a minimal `meta.json` with the shapes and `extra` fields merged into
/// `settings`. For tests, benchmarks and maps imported from elsewhere. With `full`, the
/// maps are finished maps and go to `maps_full.npy` (and `maps.npy` gets the same values
/// when the shapes agree).
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
    let flags = vec![String::new(); ids.len()];
    write_index(&dir.join(INDEX_FILE), ids, &flags)?;
    meta(map_shape, full_shape, full, ids.len(), extra).write(dir)
}

fn meta(
    map_shape: (usize, usize),
    full_shape: (usize, usize),
    full: bool,
    count: usize,
    extra: serde_json::Value,
) -> ImportedMeta {
    ImportedMeta {
        kind: KIND,
        settings: ImportedSettings {
            map_shape: [map_shape.0, map_shape.1],
            full_shape: [full_shape.0, full_shape.1],
            full,
            extra: extra_settings(extra),
        },
        complete: true,
        count,
    }
}

/// A store of low-resolution maps written one map at a time, in bounded memory:
/// [`StoreImport::create`], [`StoreImport::append`] for each map, then
/// [`StoreImport::finish`] writes index.csv and meta.json.
pub struct StoreImport {
    dir: PathBuf,
    map_shape: (usize, usize),
    full_shape: (usize, usize),
    maps: NpyWriter,
    ids: Vec<String>,
}

impl StoreImport {
    /// Starts a store in `dir` of `map_shape` maps finished to `full_shape`.
    pub fn create(
        dir: &Path,
        map_shape: (usize, usize),
        full_shape: (usize, usize),
    ) -> Result<Self> {
        std::fs::create_dir_all(dir).map_err(|e| Error::file(dir, e))?;
        let maps = NpyWriter::create(&dir.join(MAPS_FILE), &[map_shape.0, map_shape.1])?;
        Ok(StoreImport {
            dir: dir.into(),
            map_shape,
            full_shape,
            maps,
            ids: Vec::new(),
        })
    }

    /// Appends the map of image `id` (h x w values).
    pub fn append(&mut self, id: &str, map: &[f32]) -> Result<()> {
        self.maps.append(map)?;
        self.ids.push(id.into());
        Ok(())
    }

    /// Writes index.csv and meta.json (with `extra` settings); returns the count.
    pub fn finish(self, extra: serde_json::Value) -> Result<usize> {
        self.maps.finish()?;
        let flags = vec![String::new(); self.ids.len()];
        write_index(&self.dir.join(INDEX_FILE), &self.ids, &flags)?;
        let n = self.ids.len();
        meta(self.map_shape, self.full_shape, false, n, extra).write(&self.dir)?;
        Ok(n)
    }
}
