//! The comparison store of `amva compare` (ALGORITHMS 1.8): one folder per run.
//!
//! - `index.csv`: `row,line,a,b,label,similarity`; `row` is the row of the .npy files,
//!   `line` the pairs file's line;
//! - `similar.npy`, `dissimilar.npy`: N x 2 x h x w float32 window values (each map's
//!   own grid, in meta.json); [k, 0] is image a's map against b, [k, 1] b's against a;
//! - with `--full`: `similar_full.npy`, `dissimilar_full.npy`: N x 2 x H x W, finished
//!   (each pixel the mean of the windows covering it, then min-max to [0, 1]);
//! - `failed.csv`: `line,a,b,reason` of comparisons that could not be mapped;
//! - `meta.json`: the settings, the grids and how to rebuild full size, the shard.
//!
//! While a run is under way, finished parts live in `parts/` (the arrays first, then
//! `NNNNNN.json`, whose atomic appearance marks the part complete); a rerun with the
//! same settings continues after the last complete part, and the end of the run joins
//! the parts, so an interrupted run ends with exactly the files of an uninterrupted
//! one. [`merge`] joins the folders of `--shard i/n` runs into the folder of one run.

use crate::pair::PairMethod;
use crate::store::part_path;
use crate::{Error, Result};
use amva_io::npy_writer::NpyWriter;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

pub const INDEX_FILE: &str = "index.csv";
pub const META_FILE: &str = "meta.json";
pub const FAILED_FILE: &str = "failed.csv";
pub use crate::format::PARTS_DIR;
/// The four arrays: (file, part suffix).
pub const ARRAYS: [(&str, &str); 4] = [
    ("similar.npy", "similar"),
    ("dissimilar.npy", "dissimilar"),
    ("similar_full.npy", "similar_full"),
    ("dissimilar_full.npy", "dissimilar_full"),
];
/// The `kind` of a comparison store's meta.json.
pub const KIND: &str = "comparisons";

/// One comparison of a pairs file, in its order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Comparison {
    /// Position among all comparisons of the pairs file (0-based).
    pub row: usize,
    /// The pairs file's line.
    pub line: usize,
    pub a: String,
    pub b: String,
    /// The pairs file's label (none for `--pair A B`).
    pub mated: Option<bool>,
}

/// A label as index.csv writes it: 1, 0, or empty.
fn label(mated: Option<bool>) -> String {
    mated.map_or(String::new(), |m| (m as u8).to_string())
}

/// A mapped comparison: its row of index.csv.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Mapped {
    pub comparison: Comparison,
    pub similarity: f32,
}

/// What a run is asked; a resumed run and the shards of a merge must agree on all of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CompareSettings {
    pub method: String,
    pub probes: PairMethod,
    /// SHA-256 of the model file, and the engine that ran it.
    pub model_sha256: String,
    pub engine: String,
    pub resize: bool,
    /// SHA-256 of the comparisons (row, a, b, label), all shards together.
    pub pairs_digest: String,
    /// All comparisons of the pairs file (all shards).
    pub comparisons: usize,
    /// [rows, columns] of the similar and the dissimilar window grids.
    pub similar_shape: [usize; 2],
    pub dissimilar_shape: [usize; 2],
    /// [H, W] of the full maps (the model's input).
    pub full_shape: [usize; 2],
    pub full: bool,
    /// How full size is rebuilt from the window values.
    pub rebuild: String,
}

/// meta.json of a comparison store.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CompareMeta {
    pub kind: String,
    pub settings: CompareSettings,
    /// `i/n` of a shard run.
    pub shard: Option<String>,
    /// Rows of this folder's comparisons: [first, end).
    pub rows: [usize; 2],
    pub count: usize,
    pub failed: usize,
    /// Model passes run for the maps (2 x passes per map x comparisons; the one
    /// embedding pass per image is not counted).
    pub passes: u64,
    pub complete: bool,
}

impl CompareMeta {
    pub fn read(dir: &Path) -> Result<Self> {
        let p = dir.join(META_FILE);
        let text = std::fs::read_to_string(&p).map_err(|e| Error::file(&p, e))?;
        let meta: CompareMeta = serde_json::from_str(&text)
            .map_err(|e| Error::store(&p, format!("not a comparison store's meta.json: {e}")))?;
        if meta.kind != KIND {
            return Err(Error::store(
                &p,
                format!("kind '{}', expected '{KIND}'", meta.kind),
            ));
        }
        Ok(meta)
    }

    fn write(&self, dir: &Path) -> Result<()> {
        Ok(amva_io::atomic::write_json(&dir.join(META_FILE), self)?)
    }
}

/// True when `dir` holds a comparison store (its meta.json says so).
pub fn is_comparison_store(dir: &Path) -> bool {
    std::fs::read_to_string(dir.join(META_FILE))
        .ok()
        .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
        .is_some_and(|v| v["kind"] == KIND)
}

/// SHA-256 of the comparisons, one `row,a,b,label` per line.
pub fn digest(all: &[Comparison]) -> String {
    let text: String = all
        .iter()
        .map(|c| format!("{},{},{},{}\n", c.row, c.a, c.b, label(c.mated)))
        .collect();
    amva_io::cache::sha256_hex(text.as_bytes())
}

/// The rows [first, end) of shard `i` of `n` (1-based i) of `count` comparisons.
pub fn shard_rows(count: usize, shard: Option<(usize, usize)>) -> [usize; 2] {
    match shard {
        Some((i, n)) => [(i - 1) * count / n, i * count / n],
        None => [0, count],
    }
}

/// One finished part: its comparisons and their maps, a x 2 x ... each.
#[derive(Debug, Clone, Default)]
pub struct PairPart {
    pub mapped: Vec<Mapped>,
    /// (comparison, reason) of comparisons that could not be mapped.
    pub failed: Vec<(Comparison, String)>,
    /// similar, dissimilar, similar_full, dissimilar_full (the last two empty without
    /// `--full`).
    pub arrays: [Vec<f32>; 4],
    pub passes: u64,
}

#[derive(Debug, Serialize, Deserialize)]
struct PartRecord {
    mapped: Vec<Mapped>,
    failed: Vec<(Comparison, String)>,
    passes: u64,
}

/// Writes a comparison store part by part; resumes a run with equal settings.
#[derive(Debug)]
pub struct PairStoreWriter {
    dir: PathBuf,
    meta: CompareMeta,
    parts_done: usize,
    rows_done: usize,
}

impl PairStoreWriter {
    /// Starts a store in `dir`, or resumes the run there; refuses other settings (naming
    /// them) and a non-empty folder that is not a comparison store.
    pub fn open(dir: &Path, meta: CompareMeta) -> Result<Self> {
        std::fs::create_dir_all(dir).map_err(|e| Error::file(dir, e))?;
        let mut w = PairStoreWriter {
            dir: dir.into(),
            meta: meta.clone(),
            parts_done: 0,
            rows_done: 0,
        };
        if !dir.join(META_FILE).exists() {
            if let Some(f) = [INDEX_FILE, PARTS_DIR, ARRAYS[0].0]
                .iter()
                .find(|f| dir.join(f).exists())
            {
                return Err(Error::store(
                    dir,
                    format!("has {f} but no meta.json; choose an empty folder"),
                ));
            }
            meta.write(dir)?;
            return Ok(w);
        }
        let stored = CompareMeta::read(dir)?;
        let diff = differences(&stored, &meta);
        if !diff.is_empty() {
            return Err(Error::SettingsDiffer {
                path: dir.join(META_FILE),
                differences: diff.join("; "),
            });
        }
        w.meta = stored;
        if !w.meta.complete {
            w.scan_parts()?;
        }
        Ok(w)
    }

    /// Counts the complete parts and removes the files of a half-written one.
    fn scan_parts(&mut self) -> Result<()> {
        let mut i = 0;
        while part_path(&self.dir, i, "json").exists() {
            let rec = self.read_record(i)?;
            self.rows_done += rec.mapped.len() + rec.failed.len();
            i += 1;
        }
        self.parts_done = i;
        crate::store::remove_unfinished_parts(&self.dir, i)
    }

    fn read_record(&self, i: usize) -> Result<PartRecord> {
        crate::store::read_part_record(&self.dir, i)
    }

    pub fn is_complete(&self) -> bool {
        self.meta.complete
    }

    /// Comparisons (mapped or failed) in the parts already written.
    pub fn rows_done(&self) -> usize {
        self.rows_done
    }

    /// Item shapes of the four arrays (2 x h x w).
    fn shapes(&self) -> [[usize; 3]; 4] {
        let s = &self.meta.settings;
        let [fh, fw] = s.full_shape;
        [
            [2, s.similar_shape[0], s.similar_shape[1]],
            [2, s.dissimilar_shape[0], s.dissimilar_shape[1]],
            [2, fh, fw],
            [2, fh, fw],
        ]
    }

    /// Writes the next part: the arrays first, the record last, each atomically.
    pub fn write_part(&mut self, part: &PairPart) -> Result<()> {
        let n = part.mapped.len();
        let i = self.parts_done;
        let kept = if self.meta.settings.full { 4 } else { 2 };
        for (k, shape) in self.shapes().iter().enumerate().take(kept) {
            let want = n * shape.iter().product::<usize>();
            if part.arrays[k].len() != want {
                return Err(Error::Shape {
                    what: format!("part {i} {}", ARRAYS[k].1),
                    expected: want,
                    got: part.arrays[k].len(),
                });
            }
            let path = part_path(&self.dir, i, &format!("{}.npy", ARRAYS[k].1));
            amva_io::npy::write_f32(&path, &[n, shape[0], shape[1], shape[2]], &part.arrays[k])?;
        }
        let rec = PartRecord {
            mapped: part.mapped.clone(),
            failed: part.failed.clone(),
            passes: part.passes,
        };
        amva_io::atomic::write_json(&part_path(&self.dir, i, "json"), &rec)?;
        self.parts_done += 1;
        self.rows_done += n + part.failed.len();
        Ok(())
    }

    /// Joins the parts into the store's files, marks meta.json complete, removes the parts.
    pub fn finish(mut self) -> Result<CompareMeta> {
        if !self.meta.complete {
            let recs: Vec<PartRecord> = (0..self.parts_done)
                .map(|i| self.read_record(i))
                .collect::<Result<_>>()?;
            let kept = if self.meta.settings.full { 4 } else { 2 };
            for (k, shape) in self.shapes().iter().enumerate().take(kept) {
                let mut w = NpyWriter::create(&self.dir.join(ARRAYS[k].0), shape)?;
                for (i, rec) in recs.iter().enumerate() {
                    let path = part_path(&self.dir, i, &format!("{}.npy", ARRAYS[k].1));
                    w.append(&read_rows(&path, rec.mapped.len(), shape)?)?;
                }
                w.finish()?;
            }
            let mapped: Vec<Mapped> = recs.iter().flat_map(|r| r.mapped.clone()).collect();
            let failed: Vec<(Comparison, String)> =
                recs.iter().flat_map(|r| r.failed.clone()).collect();
            write_index(&self.dir.join(INDEX_FILE), &mapped)?;
            write_failed(&self.dir.join(FAILED_FILE), &failed)?;
            self.meta.count = mapped.len();
            self.meta.failed = failed.len();
            self.meta.passes = recs.iter().map(|r| r.passes).sum();
            self.meta.complete = true;
            self.meta.write(&self.dir)?;
        }
        let parts = self.dir.join(PARTS_DIR);
        if parts.exists() {
            std::fs::remove_dir_all(&parts).map_err(|e| Error::file(&parts, e))?;
        }
        Ok(self.meta)
    }
}

/// The settings and shard that differ between a stored and a requested run.
fn differences(stored: &CompareMeta, now: &CompareMeta) -> Vec<String> {
    let a = serde_json::to_value(&stored.settings).unwrap_or_default();
    let b = serde_json::to_value(&now.settings).unwrap_or_default();
    let mut diff: Vec<String> = a
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(k, v)| b.get(k.as_str()) != Some(v))
        .map(|(k, v)| format!("{k}: {v} in meta.json, {} now", b[k.as_str()]))
        .collect();
    if stored.shard != now.shard || stored.rows != now.rows {
        diff.push(format!(
            "shard: {} in meta.json, {} now",
            stored.shard.as_deref().unwrap_or("none"),
            now.shard.as_deref().unwrap_or("none")
        ));
    }
    diff
}

/// `rows` items of `shape` from a .npy file, checked.
fn read_rows(path: &Path, rows: usize, shape: &[usize; 3]) -> Result<Vec<f32>> {
    let a = amva_io::npy::read_f32(path)?;
    let want = [rows, shape[0], shape[1], shape[2]];
    if a.shape() != want {
        return Err(Error::store(
            path,
            format!("shape {:?}, expected {want:?}", a.shape()),
        ));
    }
    Ok(a.into_raw_vec_and_offset().0)
}

/// Writes index.csv: `row,line,a,b,label,similarity`.
pub fn write_index(path: &Path, rows: &[Mapped]) -> Result<()> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let err = |e: csv::Error| Error::store(path, e.to_string());
    w.write_record(["row", "line", "a", "b", "label", "similarity"])
        .map_err(err)?;
    for m in rows {
        let c = &m.comparison;
        w.write_record([
            c.row.to_string(),
            c.line.to_string(),
            c.a.clone(),
            c.b.clone(),
            label(c.mated),
            format!("{}", m.similarity),
        ])
        .map_err(err)?;
    }
    let bytes = w
        .into_inner()
        .map_err(|e| Error::store(path, e.to_string()))?;
    Ok(amva_io::atomic::write_atomic(path, &bytes)?)
}

/// Reads index.csv back.
pub fn read_index(path: &Path) -> Result<Vec<Mapped>> {
    let bad = |line: usize, why: String| Error::store(path, format!("line {line}: {why}"));
    let mut r = csv::Reader::from_path(path).map_err(|e| Error::store(path, e.to_string()))?;
    let mut out = Vec::new();
    for (i, rec) in r.records().enumerate() {
        let rec = rec.map_err(|e| bad(i + 2, e.to_string()))?;
        if rec.len() != 6 {
            return Err(bad(i + 2, format!("{} columns, expected 6", rec.len())));
        }
        let num = |k: usize| {
            rec[k]
                .parse::<usize>()
                .map_err(|e| bad(i + 2, format!("{}: {e}", &rec[k])))
        };
        out.push(Mapped {
            comparison: Comparison {
                row: num(0)?,
                line: num(1)?,
                a: rec[2].into(),
                b: rec[3].into(),
                mated: match &rec[4] {
                    "1" => Some(true),
                    "0" => Some(false),
                    _ => None,
                },
            },
            similarity: rec[5]
                .parse()
                .map_err(|e| bad(i + 2, format!("similarity: {e}")))?,
        });
    }
    Ok(out)
}

/// Writes failed.csv: `line,a,b,reason`.
fn write_failed(path: &Path, rows: &[(Comparison, String)]) -> Result<()> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let err = |e: csv::Error| Error::store(path, e.to_string());
    w.write_record(["line", "a", "b", "reason"]).map_err(err)?;
    for (c, why) in rows {
        w.write_record([c.line.to_string(), c.a.clone(), c.b.clone(), why.clone()])
            .map_err(err)?;
    }
    let bytes = w
        .into_inner()
        .map_err(|e| Error::store(path, e.to_string()))?;
    Ok(amva_io::atomic::write_atomic(path, &bytes)?)
}

/// Reads failed.csv back: (comparison without row, reason).
fn read_failed(path: &Path) -> Result<Vec<(Comparison, String)>> {
    let mut r = csv::Reader::from_path(path).map_err(|e| Error::store(path, e.to_string()))?;
    r.records()
        .map(|rec| {
            let rec = rec.map_err(|e| Error::store(path, e.to_string()))?;
            let line = rec[0]
                .parse()
                .map_err(|_| Error::store(path, format!("line '{}'", &rec[0])))?;
            let c = Comparison {
                row: 0,
                line,
                a: rec[1].into(),
                b: rec[2].into(),
                mated: None,
            };
            Ok((c, rec[3].to_string()))
        })
        .collect()
}

/// Joins the complete stores of all n shards of one run into `out`, equal to the
/// store of a single run (same rows, values and meta.json).
pub fn merge(dirs: &[PathBuf], out: &Path) -> Result<CompareMeta> {
    let mut metas: Vec<(CompareMeta, &PathBuf)> = dirs
        .iter()
        .map(|d| CompareMeta::read(d).map(|m| (m, d)))
        .collect::<Result<_>>()?;
    metas.sort_by_key(|(m, _)| m.rows[0]);
    let first = &metas[0].0;
    let mut end = 0;
    for (m, d) in &metas {
        if !m.complete {
            return Err(Error::store(
                d,
                "not complete; finish its run first (rerun the same command)",
            ));
        }
        let diff = differences(
            &CompareMeta {
                shard: None,
                rows: [0, 0],
                ..m.clone()
            },
            &CompareMeta {
                shard: None,
                rows: [0, 0],
                ..first.clone()
            },
        );
        if !diff.is_empty() {
            return Err(Error::store(
                d,
                format!(
                    "made with other settings than {}: {}",
                    metas[0].1.display(),
                    diff.join("; ")
                ),
            ));
        }
        if m.rows[0] != end {
            return Err(Error::store(
                d,
                format!(
                    "starts at row {}, expected {end}: a shard is missing or given twice",
                    m.rows[0]
                ),
            ));
        }
        end = m.rows[1];
    }
    if end != first.settings.comparisons {
        return Err(Error::store(
            metas[metas.len() - 1].1,
            format!(
                "the shards end at row {end} of {}: a shard is missing",
                first.settings.comparisons
            ),
        ));
    }
    let meta = CompareMeta {
        shard: None,
        rows: [0, end],
        complete: false,
        count: 0,
        failed: 0,
        passes: 0,
        ..first.clone()
    };
    // Whole or not at all: written into a staging folder, meta.json published last.
    let stage = amva_io::staging::Staging::begin(out, META_FILE)?;
    let meta = write_merged(&metas, meta, stage.dir())?;
    stage.publish()?;
    Ok(meta)
}

/// The merged store of the shards `metas`, written into `out`.
fn write_merged(
    metas: &[(CompareMeta, &PathBuf)],
    mut meta: CompareMeta,
    out: &Path,
) -> Result<CompareMeta> {
    let w = PairStoreWriter {
        dir: out.into(),
        meta: meta.clone(),
        parts_done: 0,
        rows_done: 0,
    };
    let kept = if meta.settings.full { 4 } else { 2 };
    for (k, shape) in w.shapes().iter().enumerate().take(kept) {
        let mut nw = NpyWriter::create(&out.join(ARRAYS[k].0), shape)?;
        for (m, d) in metas {
            nw.append(&read_rows(&d.join(ARRAYS[k].0), m.count, shape)?)?;
        }
        nw.finish()?;
    }
    let mut mapped = Vec::new();
    let mut failed = Vec::new();
    for (m, d) in metas {
        mapped.extend(read_index(&d.join(INDEX_FILE))?);
        failed.extend(read_failed(&d.join(FAILED_FILE))?);
        meta.passes += m.passes;
    }
    write_index(&out.join(INDEX_FILE), &mapped)?;
    write_failed(&out.join(FAILED_FILE), &failed)?;
    meta.count = mapped.len();
    meta.failed = failed.len();
    meta.complete = true;
    meta.write(out)?;
    Ok(meta)
}
