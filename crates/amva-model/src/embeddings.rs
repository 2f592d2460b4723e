//! The embeddings folder `amva embed` writes and `amva verify`, `amva edc` and the
//! analysis read: its one reader and its one writer.
//!
//! - `embeddings.npy`: N x D float32, raw (not normalised), one row per image;
//! - `index.csv`: `row,image`, the image id of each row;
//! - `meta.json`: [`EmbeddingsMeta`] (kind `embeddings`, the model and engine).

use crate::{EngineChoice, FrModel, ModelSpec};
use amva_io::{Error, Result};
use serde::Serialize;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// The embeddings' file.
pub const EMBEDDINGS_FILE: &str = "embeddings.npy";
/// The ids' file.
pub const INDEX_FILE: &str = "index.csv";
/// The metadata's file.
pub const META_FILE: &str = "meta.json";
/// The `kind` of an embeddings folder's meta.json (and of its output claim).
pub const KIND: &str = "embeddings";

/// meta.json of an embeddings folder: what made it. Written with its keys sorted at
/// every level (`write_json_sorted`), as it always was.
#[derive(Debug, Serialize)]
pub struct EmbeddingsMeta<'a> {
    pub amva_version: &'static str,
    /// Always [`KIND`].
    pub kind: &'static str,
    pub model: &'a Path,
    pub model_sha256: &'a str,
    pub engine: String,
    pub engine_choice: &'a EngineChoice,
    pub spec: &'a ModelSpec,
    /// The image folder or list, as given.
    pub images: &'a Path,
    pub resize: bool,
    /// Embeddings written.
    pub count: usize,
    /// Images without one (failed.csv).
    pub failed: usize,
    /// Images embedded although their file is damaged (warnings.csv).
    pub warnings: usize,
    /// Length of each embedding.
    pub dim: usize,
}

impl<'a> EmbeddingsMeta<'a> {
    /// The metadata of `count` embeddings of the images in `images` made by `model`.
    pub fn new(model: &'a FrModel, images: &'a Path, resize: bool) -> Self {
        Self {
            amva_version: env!("CARGO_PKG_VERSION"),
            kind: KIND,
            model: &model.graph.path,
            model_sha256: &model.graph.sha256,
            engine: model.engine().to_string(),
            engine_choice: model.engine_choice(),
            spec: &model.spec,
            images,
            resize,
            count: 0,
            failed: 0,
            warnings: 0,
            dim: model.embedding_dim,
        }
    }
}

/// Writes an embeddings folder row by row: [`Writer::append`], then [`Writer::finish`].
pub struct Writer {
    dir: PathBuf,
    npy: amva_io::npy_writer::NpyWriter,
    ids: Vec<String>,
}

impl Writer {
    /// Starts `dir/embeddings.npy` for embeddings of `dim` values.
    pub fn create(dir: &Path, dim: usize) -> Result<Self> {
        let npy = amva_io::npy_writer::NpyWriter::create(&dir.join(EMBEDDINGS_FILE), &[dim])?;
        Ok(Self {
            dir: dir.into(),
            npy,
            ids: Vec::new(),
        })
    }

    /// Adds the embedding of image `id`.
    pub fn append(&mut self, id: &str, embedding: &[f32]) -> Result<()> {
        self.npy.append(embedding)?;
        self.ids.push(id.to_string());
        Ok(())
    }

    /// The ids written so far, in row order.
    pub fn ids(&self) -> &[String] {
        &self.ids
    }

    /// Finishes embeddings.npy, then writes index.csv and, last, meta.json (with the
    /// count of rows written): a folder with meta.json is complete.
    pub fn finish(self, mut meta: EmbeddingsMeta<'_>) -> Result<Vec<String>> {
        self.npy.finish()?;
        write_index(&self.dir.join(INDEX_FILE), &self.ids)?;
        meta.count = self.ids.len();
        amva_io::atomic::write_json_sorted(&self.dir.join(META_FILE), &meta)?;
        Ok(self.ids)
    }
}

/// Writes `index.csv` (row,image).
pub fn write_index(path: &Path, ids: &[String]) -> Result<()> {
    let csv_err = |e: csv::Error| Error::List {
        path: path.into(),
        reason: e.to_string(),
    };
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(["row", "image"]).map_err(csv_err)?;
    for (i, id) in ids.iter().enumerate() {
        w.write_record([i.to_string().as_str(), id])
            .map_err(csv_err)?;
    }
    let bytes = w.into_inner().map_err(|e| Error::Other(e.to_string()))?;
    amva_io::atomic::write_atomic(path, &bytes)
}

/// Reads `index.csv` (row,image) back as ids in row order.
pub fn read_index(path: &Path) -> Result<Vec<String>> {
    let bad = |reason: String| Error::List {
        path: path.into(),
        reason,
    };
    let mut r = csv::Reader::from_path(path).map_err(|e| bad(e.to_string()))?;
    let mut ids = Vec::new();
    for (i, rec) in r.records().enumerate() {
        let rec = rec.map_err(|e| bad(format!("line {}: {e}", i + 2)))?;
        let id = rec.get(1).ok_or_else(|| {
            bad(format!(
                "line {}: no image column; expected row,image",
                i + 2
            ))
        })?;
        ids.push(id.to_string());
    }
    Ok(ids)
}

/// Embeddings by image id, from an embeddings folder. A folder without meta.json (which
/// `amva embed` writes last) is refused as incomplete.
pub fn read(dir: &Path) -> Result<HashMap<String, Vec<f32>>> {
    if !dir.join(META_FILE).is_file() {
        return Err(Error::Npy {
            path: dir.join(META_FILE),
            reason: "missing: an incomplete embeddings folder (an `amva embed` stopped before it finished, or not one at all); run `amva embed` into it again".into(),
        });
    }
    let ids = read_index(&dir.join(INDEX_FILE))?;
    let path = dir.join(EMBEDDINGS_FILE);
    let arr = amva_io::npy::read_f32(&path)?;
    if arr.shape().len() != 2 || arr.shape()[0] != ids.len() {
        return Err(Error::Npy {
            path,
            reason: format!(
                "shape {:?}, but {INDEX_FILE} has {} rows; expected ({}, dim)",
                arr.shape(),
                ids.len(),
                ids.len()
            ),
        });
    }
    let d = arr.shape()[1];
    let flat: Vec<f32> = arr.iter().copied().collect();
    Ok(ids
        .into_iter()
        .enumerate()
        .map(|(i, id)| (id, flat[i * d..(i + 1) * d].to_vec()))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_and_embeddings_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let ids: Vec<String> = vec!["a/1.jpg".into(), "b,2.jpg".into()];
        write_index(&dir.path().join(INDEX_FILE), &ids).unwrap();
        assert_eq!(read_index(&dir.path().join(INDEX_FILE)).unwrap(), ids);
        let mut w = amva_io::npy_writer::NpyWriter::create(&dir.path().join(EMBEDDINGS_FILE), &[3])
            .unwrap();
        w.append(&[1.0, 2.0, 3.0]).unwrap();
        w.append(&[4.0, 5.0, 6.0]).unwrap();
        w.finish().unwrap();
        // Issue 26, row 5: a folder an interrupted embed left without meta.json was read.
        let e = read(dir.path()).unwrap_err().to_string();
        assert!(e.contains("meta.json") && e.contains("incomplete"), "{e}");
        std::fs::write(dir.path().join(META_FILE), "{}").unwrap();
        let e = read(dir.path()).unwrap();
        assert_eq!(e["b,2.jpg"], vec![4.0, 5.0, 6.0]);
        assert_eq!(e["a/1.jpg"], vec![1.0, 2.0, 3.0]);
    }

    #[test]
    fn rows_and_index_must_agree() {
        let dir = tempfile::tempdir().unwrap();
        write_index(&dir.path().join(INDEX_FILE), &["only".into(), "two".into()]).unwrap();
        let mut w = amva_io::npy_writer::NpyWriter::create(&dir.path().join(EMBEDDINGS_FILE), &[2])
            .unwrap();
        w.append(&[1.0, 2.0]).unwrap();
        w.finish().unwrap();
        std::fs::write(dir.path().join(META_FILE), "{}").unwrap();
        let e = read(dir.path()).unwrap_err().to_string();
        assert!(e.contains("embeddings.npy") && e.contains("2 rows"), "{e}");
    }
}
