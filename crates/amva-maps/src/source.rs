//! Reading a map store as a stream of finished maps, in bounded memory.
//!
//! A store (written by `amva maps`, see `amva_maps::store`; its files are
//! `amva_maps::format`'s) holds `maps.npy` (N x h x w float32, the low-resolution maps
//! m), `index.csv` (row,image,flags) and `meta.json`. [`MapSource`] reads `meta.json`
//! loosely ([`StoreInfo`]: only the shapes are required, so stores from other tools and
//! synthetic ones work) and streams `maps.npy` in chunks of rows: memory does not grow
//! with N. The full map of a row is rebuilt
//! with [`amva_math::resample::Upsampler::finish_into`], the very function every
//! writer and reader of stores uses (ALGORITHMS 1.5). This is the one reader of a
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

use crate::format::{read_index, FLAT, FULL_FILE, INDEX_FILE, MAPS_FILE};
use crate::{Error, Result};

pub use crate::format::{read_store_info, StoreInfo};

/// Which array of a store is analysed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MapKind {
    /// `maps.npy`: low-resolution maps, finished on the fly (the default).
    Low,
    /// `maps_full.npy`: maps already finished, used as they are.
    Full,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::META_FILE;
    use crate::import::write_store;

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
