//! Streaming `.npy` writer: rows are appended as they are computed, so memory does not
//! grow with the number of images; the header (with the final row count) is written
//! last and the file renamed into place.

use crate::{Error, Result};
use std::io::{Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// Header bytes reserved at the start of the file (enough for any realistic shape).
const HEADER_LEN: usize = 256;

/// Appends float32 rows of a fixed item shape; `finish` writes the header and renames.
pub struct NpyWriter {
    path: PathBuf,
    tmp: PathBuf,
    file: std::io::BufWriter<std::fs::File>,
    item_shape: Vec<usize>,
    rows: usize,
}

impl NpyWriter {
    /// Starts writing `path` (via a temporary file beside it).
    pub fn create(path: &Path, item_shape: &[usize]) -> Result<Self> {
        let tmp = crate::atomic::temp_path(path);
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        }
        let mut file =
            std::io::BufWriter::new(std::fs::File::create(&tmp).map_err(|e| Error::io(&tmp, e))?);
        file.write_all(&[0u8; HEADER_LEN])
            .map_err(|e| Error::io(&tmp, e))?;
        Ok(NpyWriter {
            path: path.into(),
            tmp,
            file,
            item_shape: item_shape.to_vec(),
            rows: 0,
        })
    }

    /// Appends whole rows (a multiple of the item size).
    pub fn append(&mut self, data: &[f32]) -> Result<()> {
        let per: usize = self.item_shape.iter().product();
        if per == 0 || !data.len().is_multiple_of(per) {
            return Err(Error::Npy {
                path: self.path.clone(),
                reason: format!(
                    "{} values are not whole rows of {:?}",
                    data.len(),
                    self.item_shape
                ),
            });
        }
        let mut bytes = Vec::with_capacity(data.len() * 4);
        for v in data {
            bytes.extend_from_slice(&v.to_le_bytes());
        }
        self.file
            .write_all(&bytes)
            .map_err(|e| Error::io(&self.tmp, e))?;
        self.rows += data.len() / per;
        Ok(())
    }

    /// Rows written so far.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Writes the header and renames the file into place.
    pub fn finish(self) -> Result<PathBuf> {
        let NpyWriter {
            path,
            tmp,
            file,
            item_shape,
            rows,
        } = self;
        let io = |e| Error::io(&tmp, e);
        let mut file = file.into_inner().map_err(|e| io(e.into_error()))?;
        let mut shape = vec![rows];
        shape.extend(item_shape);
        let mut header = crate::npy::npy_header_f32(&shape);
        if header.len() > HEADER_LEN {
            return Err(Error::Npy {
                path,
                reason: format!("shape {shape:?} too long for the header"),
            });
        }
        // Pad the dict with spaces so the data starts exactly at HEADER_LEN.
        let pad = HEADER_LEN - header.len();
        header.pop();
        header.extend(std::iter::repeat_n(b' ', pad));
        header.push(b'\n');
        let dict_len = (HEADER_LEN - 10) as u16;
        header[8..10].copy_from_slice(&dict_len.to_le_bytes());
        file.seek(SeekFrom::Start(0)).map_err(io)?;
        file.write_all(&header).map_err(io)?;
        file.sync_all().map_err(io)?;
        std::fs::rename(&tmp, &path).map_err(|e| Error::io(&path, e))?;
        Ok(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streamed_rows_read_back_as_one_array() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("e.npy");
        let mut w = NpyWriter::create(&p, &[2, 3]).unwrap();
        let data: Vec<f32> = (0..30).map(|i| i as f32 / 7.0).collect();
        w.append(&data[..12]).unwrap();
        w.append(&data[12..]).unwrap();
        assert!(!p.exists(), "visible before finish");
        w.finish().unwrap();
        let a = crate::npy::read_f32(&p).unwrap();
        assert_eq!(a.shape(), &[5, 2, 3]);
        assert_eq!(a.iter().copied().collect::<Vec<_>>(), data);
        let mut w = NpyWriter::create(&p, &[4]).unwrap();
        assert!(w.append(&[1.0; 3]).is_err());
    }

    #[test]
    fn empty_array_is_valid() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("z.npy");
        NpyWriter::create(&p, &[512]).unwrap().finish().unwrap();
        assert_eq!(crate::npy::read_f32(&p).unwrap().shape(), &[0, 512]);
    }
}
