//! Writing the map store (its files: [`crate::format`]): runs, part by part, resumable.
//!
//! Rows are in image-id order. While a run is under way, finished parts live in
//! `parts/` (`NNNNNN.npy`, `NNNNNN.full.npy`, then `NNNNNN.json`, whose atomic
//! appearance marks the part complete); a rerun with the same settings continues after
//! the last complete part, and the end of the run joins the parts into the files above,
//! so an interrupted run ends with exactly the files of an uninterrupted one.
//! [`merge`] joins the stores of `--shard i/n` runs into the store of a single run.

use crate::format::{settings_differences, write_index};
use crate::source::{MapKind, MapSource};
use crate::{Error, Result};
use amva_io::image_notes;
use amva_io::images::ImageList;
use amva_io::npy_writer::NpyWriter;
use amva_math::resample::{FinishedMap, Upsampler};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

pub use crate::format::{
    check_shapes, RunSettings, StoreMeta, FAILED_FILE, FLAT, FULL_FILE, INDEX_FILE, MAPS_FILE,
    MAX_MAP_SIDE, META_FILE, PARTS_DIR, WARNINGS_FILE,
};

/// An image list in the order map stores use (sorted by id), refusing duplicate ids.
pub fn sorted_list(mut list: ImageList, source: &Path) -> Result<ImageList> {
    list.items.sort_by(|a, b| a.id.cmp(&b.id));
    if let Some(w) = list.items.windows(2).find(|w| w[0].id == w[1].id) {
        return Err(Error::DuplicateId {
            path: source.into(),
            id: w[0].id.clone(),
        });
    }
    Ok(list)
}

/// SHA-256 of the ids of `list`, one per line: identifies the image set in meta.json.
pub fn list_digest(list: &ImageList) -> String {
    let mut text = String::new();
    for it in &list.items {
        text.push_str(&it.id);
        text.push('\n');
    }
    amva_io::cache::sha256_hex(text.as_bytes())
}

/// One finished part of a run.
#[derive(Debug, Clone, Default)]
pub struct Part {
    /// Ids of the stored maps, in order.
    pub ids: Vec<String>,
    /// Flags of each map ("" or "flat").
    pub flags: Vec<String>,
    /// ids.len() x h x w.
    pub low: Vec<f32>,
    /// ids.len() x H x W when the store keeps full maps.
    pub full: Option<Vec<f32>>,
    /// (image id, reason) of images that could not be read.
    pub failed: Vec<(String, String)>,
    /// (image id, warning) of stored maps whose file is damaged but decoded.
    pub warnings: Vec<(String, String)>,
    /// Extra passes run.
    pub passes: u64,
}

#[derive(Debug, Serialize, Deserialize)]
struct PartRecord {
    ids: Vec<String>,
    flags: Vec<String>,
    failed: Vec<(String, String)>,
    #[serde(default)]
    warnings: Vec<(String, String)>,
    passes: u64,
}

/// Writes a store part by part; resumes a run with equal settings.
#[derive(Debug)]
pub struct StoreWriter {
    dir: PathBuf,
    meta: StoreMeta,
    parts_done: usize,
    images_done: usize,
    /// Files of the image folder not read (their type, hidden): listed in failed.csv.
    skipped: Vec<(String, String)>,
}

/// `parts/NNNNNN.ext` of a run folder (the map store's and the comparison store's).
pub(crate) fn part_path(dir: &Path, i: usize, ext: &str) -> PathBuf {
    dir.join(PARTS_DIR).join(format!("{i:06}.{ext}"))
}

/// The record (`NNNNNN.json`) of part `i` of a run folder.
pub(crate) fn read_part_record<T: serde::de::DeserializeOwned>(dir: &Path, i: usize) -> Result<T> {
    let p = part_path(dir, i, "json");
    let text = std::fs::read_to_string(&p).map_err(|e| Error::file(&p, e))?;
    serde_json::from_str(&text)
        .map_err(|e| Error::store(&p, format!("unreadable part record: {e}")))
}

/// Removes the files of parts `done` and later (cut off mid-write: their record is
/// missing) and any temporary file from the run folder's parts/; they are written again.
pub(crate) fn remove_unfinished_parts(dir: &Path, done: usize) -> Result<()> {
    let parts = dir.join(PARTS_DIR);
    if !parts.is_dir() {
        return Ok(());
    }
    for e in std::fs::read_dir(&parts).map_err(|e| Error::file(&parts, e))? {
        let p = e.map_err(|e| Error::file(&parts, e))?.path();
        let name = p
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let index: Option<usize> = name.get(..6).and_then(|s| s.parse().ok());
        if index.is_none_or(|j| j >= done) || name.ends_with(".tmp") {
            std::fs::remove_file(&p).map_err(|e| Error::file(&p, e))?;
        }
    }
    Ok(())
}

impl StoreWriter {
    /// Starts a store in `dir`, or resumes the run there. Refuses a folder made with
    /// other settings (naming each difference) and a non-empty folder that is not a store.
    pub fn open(dir: &Path, meta: StoreMeta) -> Result<Self> {
        std::fs::create_dir_all(dir).map_err(|e| Error::file(dir, e))?;
        let meta_path = dir.join(META_FILE);
        if !meta_path.exists() {
            let clutter = [MAPS_FILE, INDEX_FILE, PARTS_DIR]
                .iter()
                .find(|f| dir.join(f).exists());
            if let Some(f) = clutter {
                return Err(Error::store(
                    dir,
                    format!("has {f} but no meta.json; choose an empty folder"),
                ));
            }
            meta.write(dir)?;
            return Ok(StoreWriter {
                dir: dir.into(),
                meta,
                parts_done: 0,
                images_done: 0,
                skipped: Vec::new(),
            });
        }
        let stored = StoreMeta::read(dir)?;
        let mut diff = settings_differences(&stored.settings, &meta.settings);
        if stored.shard != meta.shard {
            diff.push(format!(
                "shard: {} in meta.json, {} now",
                stored.shard.as_deref().unwrap_or("none"),
                meta.shard.as_deref().unwrap_or("none")
            ));
        }
        if !diff.is_empty() {
            return Err(Error::SettingsDiffer {
                path: meta_path,
                differences: diff.join("; "),
            });
        }
        let mut w = StoreWriter {
            dir: dir.into(),
            meta: stored,
            parts_done: 0,
            images_done: 0,
            skipped: Vec::new(),
        };
        if !w.meta.complete {
            w.scan_parts()?;
        }
        Ok(w)
    }

    /// The files of the image folder that were not read (`ImageList::skipped`): listed
    /// in the finished store's failed.csv with why.
    pub fn list_skipped(&mut self, skipped: &[(String, String)]) {
        self.skipped = skipped.to_vec();
    }

    /// Counts the complete parts (0, 1, ... with a record) and removes half-written ones.
    fn scan_parts(&mut self) -> Result<()> {
        let mut i = 0;
        while part_path(&self.dir, i, "json").exists() {
            let rec = self.read_record(i)?;
            self.images_done += rec.ids.len() + rec.failed.len();
            i += 1;
        }
        self.parts_done = i;
        remove_unfinished_parts(&self.dir, i)
    }

    fn read_record(&self, i: usize) -> Result<PartRecord> {
        read_part_record(&self.dir, i)
    }

    /// True when the folder already holds the finished store.
    pub fn is_complete(&self) -> bool {
        self.meta.complete
    }

    /// Parts already written (the next part to write has this index).
    pub fn parts_done(&self) -> usize {
        self.parts_done
    }

    /// Images (stored or failed) in the parts already written.
    pub fn images_done(&self) -> usize {
        self.images_done
    }

    /// The metadata (counts are filled in by [`StoreWriter::finish`]).
    pub fn meta(&self) -> &StoreMeta {
        &self.meta
    }

    /// Writes the next part: the maps first, the record last, each atomically.
    pub fn write_part(&mut self, part: &Part) -> Result<()> {
        let s = &self.meta.settings;
        let [h, w] = s.map_shape;
        let [fh, fw] = s.full_shape;
        let n = part.ids.len();
        let bad = |what: &str, expected: usize, got: usize| Error::Shape {
            what: format!("part {} {what}", self.parts_done),
            expected,
            got,
        };
        if part.low.len() != n * h * w {
            return Err(bad("low-resolution maps", n * h * w, part.low.len()));
        }
        if part.flags.len() != n {
            return Err(bad("flags", n, part.flags.len()));
        }
        let i = self.parts_done;
        amva_io::npy::write_f32(&part_path(&self.dir, i, "npy"), &[n, h, w], &part.low)?;
        match (&part.full, s.full) {
            (Some(full), true) => {
                if full.len() != n * fh * fw {
                    return Err(bad("full maps", n * fh * fw, full.len()));
                }
                amva_io::npy::write_f32(&part_path(&self.dir, i, "full.npy"), &[n, fh, fw], full)?;
            }
            (None, false) => {}
            _ => {
                return Err(Error::store(
                    &self.dir,
                    "full maps given for a store without --full, or missing",
                ))
            }
        }
        let rec = PartRecord {
            ids: part.ids.clone(),
            flags: part.flags.clone(),
            failed: part.failed.clone(),
            warnings: part.warnings.clone(),
            passes: part.passes,
        };
        amva_io::atomic::write_json(&part_path(&self.dir, i, "json"), &rec)?;
        self.parts_done += 1;
        self.images_done += n + part.failed.len();
        Ok(())
    }

    /// Joins the `parts` parts into the store files, marks meta.json complete and removes
    /// the parts. Errors when a part is missing.
    pub fn finish(mut self, parts: usize) -> Result<StoreMeta> {
        if self.meta.complete {
            self.remove_parts()?;
            return Ok(self.meta);
        }
        if self.parts_done != parts {
            return Err(Error::store(
                &self.dir,
                format!("{} of {parts} parts written", self.parts_done),
            ));
        }
        let s = self.meta.settings.clone();
        let mut low = NpyWriter::create(&self.dir.join(MAPS_FILE), &s.map_shape)?;
        let mut full = if s.full {
            Some(NpyWriter::create(&self.dir.join(FULL_FILE), &s.full_shape)?)
        } else {
            None
        };
        let (mut ids, mut flags, mut failed, mut warnings, mut passes) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new(), 0u64);
        for i in 0..parts {
            let rec = self.read_record(i)?;
            let maps = read_values(&part_path(&self.dir, i, "npy"), rec.ids.len(), &s.map_shape)?;
            low.append(&maps)?;
            if let Some(fw) = full.as_mut() {
                fw.append(&read_values(
                    &part_path(&self.dir, i, "full.npy"),
                    rec.ids.len(),
                    &s.full_shape,
                )?)?;
            }
            ids.extend(rec.ids);
            flags.extend(rec.flags);
            failed.extend(rec.failed);
            warnings.extend(rec.warnings);
            passes += rec.passes;
        }
        low.finish()?;
        if let Some(fw) = full {
            fw.finish()?;
        }
        write_index(&self.dir.join(INDEX_FILE), &ids, &flags)?;
        failed.extend(self.skipped.iter().cloned());
        image_notes::write_failed(&self.dir.join(FAILED_FILE), &failed)?;
        image_notes::write_warnings(&self.dir.join(WARNINGS_FILE), &warnings)?;
        self.meta.count = ids.len();
        self.meta.failed = failed.len();
        self.meta.flat = flags.iter().filter(|f| f.as_str() == FLAT).count();
        self.meta.warnings = warnings.len();
        self.meta.passes = passes;
        self.meta.complete = true;
        self.meta.write(&self.dir)?;
        self.remove_parts()?;
        Ok(self.meta)
    }

    fn remove_parts(&self) -> Result<()> {
        let p = self.dir.join(PARTS_DIR);
        if p.exists() {
            std::fs::remove_dir_all(&p).map_err(|e| Error::file(&p, e))?;
        }
        Ok(())
    }
}

fn read_values(path: &Path, rows: usize, item: &[usize; 2]) -> Result<Vec<f32>> {
    let a = amva_io::npy::read_f32(path)?;
    let want = [rows, item[0], item[1]];
    if a.shape() != want {
        return Err(Error::store(
            path,
            format!("shape {:?}, expected {want:?}", a.shape()),
        ));
    }
    Ok(a.iter().copied().collect())
}

/// A finished store, read back whole (through [`MapSource`], the one reader): ids,
/// low-resolution maps, and the full map of any image rebuilt exactly as ALGORITHMS 1.5
/// says (the same function the run used).
#[derive(Debug)]
pub struct MapStore {
    dir: PathBuf,
    meta: StoreMeta,
    ids: Vec<String>,
    flags: Vec<String>,
    low: Vec<f32>,
    up: Upsampler,
}

impl MapStore {
    /// Opens the store in `dir`. Errors when the run is not complete or the files disagree.
    pub fn open(dir: &Path) -> Result<Self> {
        let meta = StoreMeta::read(dir)?;
        if !meta.complete {
            return Err(Error::store(dir, "the run that writes this store has not finished; rerun `amva maps` with the same arguments to complete it"));
        }
        let source = MapSource::open(dir, MapKind::Low)?;
        let mut low = Vec::with_capacity(source.len() * source.row_len());
        source.for_each_chunk(256, |_, rows| -> Result<()> {
            low.extend_from_slice(rows);
            Ok(())
        })?;
        let ids = source.ids().to_vec();
        let flags = source.flags().to_vec();
        let [h, w] = meta.settings.map_shape;
        let [fh, fw] = meta.settings.full_shape;
        let up = Upsampler::new(h, w, fh, fw).map_err(Error::math(dir.display().to_string()))?;
        Ok(MapStore {
            dir: dir.into(),
            meta,
            ids,
            flags,
            low,
            up,
        })
    }

    /// The folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// meta.json.
    pub fn meta(&self) -> &StoreMeta {
        &self.meta
    }

    /// Number of maps.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// True when no map is stored.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// Image ids, in row order.
    pub fn ids(&self) -> &[String] {
        &self.ids
    }

    /// Row of an image id.
    pub fn position(&self, id: &str) -> Option<usize> {
        self.ids.binary_search_by(|x| x.as_str().cmp(id)).ok()
    }

    /// Flags of row `i` ("" or "flat").
    pub fn flags(&self, i: usize) -> &str {
        &self.flags[i]
    }

    /// (h, w) of the low-resolution maps.
    pub fn map_shape(&self) -> (usize, usize) {
        let [h, w] = self.meta.settings.map_shape;
        (h, w)
    }

    /// (H, W) of the full maps.
    pub fn full_shape(&self) -> (usize, usize) {
        let [h, w] = self.meta.settings.full_shape;
        (h, w)
    }

    /// The low-resolution map m of row `i` (h * w values).
    pub fn low(&self, i: usize) -> &[f32] {
        let hw = self.up.source_shape().0 * self.up.source_shape().1;
        &self.low[i * hw..(i + 1) * hw]
    }

    /// All low-resolution maps, row after row.
    pub fn low_all(&self) -> &[f32] {
        &self.low
    }

    /// The full map of row `i`: ReLU, bilinear upsample, min-max (ALGORITHMS 1.5).
    pub fn full(&self, i: usize) -> Result<FinishedMap> {
        finish_stored(self.low(i), &self.up).map_err(|e| self.in_store(i, e))
    }

    /// Like [`MapStore::full`] into `dst` (H * W values); returns true when flat.
    pub fn full_into(&self, i: usize, dst: &mut [f32]) -> Result<bool> {
        let m = self.low(i);
        check_finite(m).map_err(|e| self.in_store(i, e))?;
        self.up
            .finish_into(m, dst)
            .map_err(Error::math(format!("{}: row {i}", self.dir.display())))
    }

    /// The full map of an image id.
    pub fn full_of(&self, id: &str) -> Result<FinishedMap> {
        let i = self.position(id).ok_or_else(|| Error::UnknownImage {
            path: self.dir.clone(),
            id: id.into(),
        })?;
        self.full(i)
    }

    /// The images listed in failed.csv.
    pub fn failed(&self) -> Result<Vec<(String, String)>> {
        Ok(image_notes::read(&self.dir.join(FAILED_FILE))?)
    }

    fn in_store(&self, i: usize, e: Error) -> Error {
        match e {
            Error::Math { what, source } => Error::Math {
                what: format!("{}: row {i} ({}): {what}", self.dir.display(), self.ids[i]),
                source,
            },
            e => e,
        }
    }
}

fn check_finite(m: &[f32]) -> Result<()> {
    match m.iter().position(|v| !v.is_finite()) {
        None => Ok(()),
        Some(index) => Err(Error::Math {
            what: "low-resolution map".into(),
            source: amva_math::MathError::NonFinite {
                what: "low-resolution map",
                index,
                value: f64::from(m[index]),
            },
        }),
    }
}

fn finish_stored(m: &[f32], up: &Upsampler) -> Result<FinishedMap> {
    check_finite(m)?;
    up.finish(m).map_err(Error::math("map"))
}

/// The full map (H x W) of a stored low-resolution map m (h x w), exactly as every
/// run and reader computes it: the common ending of ALGORITHMS 1.5.
pub fn full_map(m: &[f32], h: usize, w: usize, out_h: usize, out_w: usize) -> Result<FinishedMap> {
    amva_math::resample::finish_map(m, h, w, out_h, out_w).map_err(Error::math("map"))
}

/// Joins the stores of `amva maps --shard i/n` runs (all n of them, any order) into
/// `out`, which then equals the store of a single run: rows in image-id order, the
/// same values, the same meta.json. Returns the merged metadata.
pub fn merge(dirs: &[PathBuf], out: &Path) -> Result<StoreMeta> {
    if dirs.is_empty() {
        return Err(Error::store(
            out,
            "nothing to merge: give the shard folders",
        ));
    }
    let stores: Vec<MapStore> = dirs
        .iter()
        .map(|d| MapStore::open(d))
        .collect::<Result<_>>()?;
    check_shards(&stores, out)?;
    check_merge_out(dirs, out)?;
    let rows = merged_rows(&stores)?;
    // Whole or not at all: written into a staging folder, meta.json published last.
    let stage = amva_io::staging::Staging::begin(out, META_FILE)?;
    let meta = write_merged(&stores, &rows, stage.dir())?;
    stage.publish()?;
    Ok(meta)
}

/// The merged store of `rows` of `stores`, written into `out`.
fn write_merged(
    stores: &[MapStore],
    rows: &[(&str, usize, usize)],
    out: &Path,
) -> Result<StoreMeta> {
    let first = &stores[0];
    write_merged_maps(stores, rows, out)?;
    let ids: Vec<String> = rows.iter().map(|r| r.0.to_string()).collect();
    let flags: Vec<String> = rows
        .iter()
        .map(|&(_, st, r)| stores[st].flags[r].clone())
        .collect();
    write_index(&out.join(INDEX_FILE), &ids, &flags)?;
    let (failed, warnings) = merged_notes(stores, out)?;
    let mut meta = first.meta.clone();
    meta.shard = None;
    meta.count = ids.len();
    meta.failed = failed;
    meta.flat = stores.iter().map(|s| s.meta.flat).sum();
    meta.warnings = warnings;
    meta.passes = stores.iter().map(|s| s.meta.passes).sum();
    meta.complete = true;
    meta.write(out)?;
    Ok(meta)
}

/// The stores are shards of one run: the same settings, one split, each shard once,
/// none missing.
fn check_shards(stores: &[MapStore], out: &Path) -> Result<()> {
    let first = &stores[0];
    let mut seen = Vec::new();
    let mut total_n = None;
    for s in stores {
        let diff = settings_differences(&first.meta.settings, &s.meta.settings);
        if !diff.is_empty() {
            return Err(Error::store(
                &s.dir,
                format!(
                    "made with other settings than {}: {}",
                    first.dir.display(),
                    diff.join("; ")
                        .replace("in meta.json", "there")
                        .replace(" now", " here")
                ),
            ));
        }
        let shard = s.meta.shard.as_deref().ok_or_else(|| {
            Error::store(
                &s.dir,
                "not a shard (meta.json has no shard); merge joins the outputs of --shard i/n runs",
            )
        })?;
        let (i, n) = shard
            .split_once('/')
            .and_then(|(i, n)| Some((i.parse::<usize>().ok()?, n.parse::<usize>().ok()?)))
            .ok_or_else(|| Error::store(&s.dir, format!("bad shard '{shard}' in meta.json")))?;
        if *total_n.get_or_insert(n) != n {
            return Err(Error::store(
                &s.dir,
                format!(
                    "shard {shard} is of a split into {n}, the others into {}",
                    total_n.unwrap_or(n)
                ),
            ));
        }
        if seen.contains(&i) {
            return Err(Error::store(&s.dir, format!("shard {shard} given twice")));
        }
        seen.push(i);
    }
    let n = total_n.unwrap_or(0);
    let missing: Vec<String> = (1..=n)
        .filter(|i| !seen.contains(i))
        .map(|i| format!("{i}/{n}"))
        .collect();
    if !missing.is_empty() {
        return Err(Error::store(
            out,
            format!("shards missing: {}", missing.join(", ")),
        ));
    }
    Ok(())
}

/// The merge's output folder holds no store and is none of the inputs.
fn check_merge_out(dirs: &[PathBuf], out: &Path) -> Result<()> {
    if out.join(META_FILE).exists() || out.join(MAPS_FILE).exists() {
        return Err(Error::store(
            out,
            "already holds a store; choose an empty folder",
        ));
    }
    for d in dirs {
        if d.canonicalize().ok() == out.canonicalize().ok() && out.exists() {
            return Err(Error::store(out, "the output folder is one of the inputs"));
        }
    }
    Ok(())
}

/// Every row of every shard as (id, shard, row), in image-id order; an id in two
/// shards is refused.
fn merged_rows(stores: &[MapStore]) -> Result<Vec<(&str, usize, usize)>> {
    let mut rows: Vec<(&str, usize, usize)> = stores
        .iter()
        .enumerate()
        .flat_map(|(s, st)| {
            st.ids
                .iter()
                .enumerate()
                .map(move |(r, id)| (id.as_str(), s, r))
        })
        .collect();
    rows.sort_by(|a, b| a.0.cmp(b.0));
    if let Some(w) = rows.windows(2).find(|w| w[0].0 == w[1].0) {
        return Err(Error::store(
            &stores[w[1].1].dir,
            format!(
                "image '{}' is also in {}",
                w[0].0,
                stores[w[0].1].dir.display()
            ),
        ));
    }
    Ok(rows)
}

/// maps.npy (and maps_full.npy) of the merged store, rows in `rows`' order.
fn write_merged_maps(stores: &[MapStore], rows: &[(&str, usize, usize)], out: &Path) -> Result<()> {
    let s = &stores[0].meta.settings;
    let mut low = NpyWriter::create(&out.join(MAPS_FILE), &s.map_shape)?;
    for &(_, st, r) in rows {
        low.append(stores[st].low(r))?;
    }
    low.finish()?;
    if s.full {
        let fulls: Vec<Vec<f32>> = stores
            .iter()
            .map(|st| read_values(&st.dir.join(FULL_FILE), st.len(), &s.full_shape))
            .collect::<Result<_>>()?;
        let per = s.full_shape[0] * s.full_shape[1];
        let mut fw = NpyWriter::create(&out.join(FULL_FILE), &s.full_shape)?;
        for &(_, st, r) in rows {
            fw.append(&fulls[st][r * per..(r + 1) * per])?;
        }
        fw.finish()?;
    }
    Ok(())
}

/// failed.csv and warnings.csv of the merged store (every shard's, by image id);
/// returns their counts.
fn merged_notes(stores: &[MapStore], out: &Path) -> Result<(usize, usize)> {
    let mut failed: Vec<(String, String)> = Vec::new();
    for st in stores {
        failed.extend(st.failed()?);
    }
    failed.sort_by(|a, b| a.0.cmp(&b.0));
    failed.dedup(); // every shard lists the folder's skipped files
    image_notes::write_failed(&out.join(FAILED_FILE), &failed)?;
    let mut warnings: Vec<(String, String)> = Vec::new();
    for st in stores {
        let p = st.dir.join(WARNINGS_FILE);
        if p.exists() {
            warnings.extend(image_notes::read(&p)?);
        }
    }
    warnings.sort_by(|a, b| a.0.cmp(&b.0));
    image_notes::write_warnings(&out.join(WARNINGS_FILE), &warnings)?;
    Ok((failed.len(), warnings.len()))
}
