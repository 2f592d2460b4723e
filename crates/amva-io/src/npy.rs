//! NumPy `.npy` files, so Python users load every array amva writes with `np.load`.

use crate::{Error, Result};
use ndarray::{ArrayD, IxDyn};
use std::io::Read;
use std::path::Path;

/// Writes a float32 array of the given shape atomically as `.npy` (C order).
pub fn write_f32(path: &Path, shape: &[usize], data: &[f32]) -> Result<()> {
    let expected: usize = shape.iter().product();
    if expected != data.len() {
        return Err(Error::Npy {
            path: path.into(),
            reason: format!(
                "shape {shape:?} needs {expected} values, got {}",
                data.len()
            ),
        });
    }
    crate::atomic::write_atomic_with(path, |w| {
        use std::io::Write;
        w.write_all(&npy_header_f32(shape))?;
        for v in data {
            w.write_all(&v.to_le_bytes())?;
        }
        Ok(())
    })
}

/// The `.npy` v1.0 header for a little-endian float32 C-order array of `shape`.
pub fn npy_header_f32(shape: &[usize]) -> Vec<u8> {
    let dims = match shape.len() {
        1 => format!("({},)", shape[0]),
        _ => format!(
            "({})",
            shape
                .iter()
                .map(|d| d.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    let mut dict = format!("{{'descr': '<f4', 'fortran_order': False, 'shape': {dims}, }}");
    // Magic (6) + version (2) + length (2) + dict + newline, padded to a multiple of 64.
    let unpadded = 10 + dict.len() + 1;
    dict.push_str(&" ".repeat((64 - unpadded % 64) % 64));
    dict.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend_from_slice(&(dict.len() as u16).to_le_bytes());
    out.extend_from_slice(dict.as_bytes());
    out
}

/// Parses the header of a little-endian float32 C-order `.npy` file; returns the
/// shape and the offset of the data, after checking that the file holds all of it.
/// For readers that stream an array row by row instead of loading it whole.
pub fn read_f32_header(path: &Path) -> Result<(Vec<usize>, u64)> {
    let bad = |reason: String| Error::Npy {
        path: path.into(),
        reason,
    };
    let mut f = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut magic = [0u8; 8];
    f.read_exact(&mut magic)
        .map_err(|_| bad("too short for a .npy file".into()))?;
    if &magic[..6] != b"\x93NUMPY" {
        return Err(bad("not a .npy file (bad magic)".into()));
    }
    let (len, start) = match magic[6] {
        1 => {
            let mut b = [0u8; 2];
            f.read_exact(&mut b)
                .map_err(|_| bad("truncated header".into()))?;
            (u16::from_le_bytes(b) as usize, 10u64)
        }
        2 | 3 => {
            let mut b = [0u8; 4];
            f.read_exact(&mut b)
                .map_err(|_| bad("truncated header".into()))?;
            (u32::from_le_bytes(b) as usize, 12u64)
        }
        v => return Err(bad(format!(".npy version {v} is not supported"))),
    };
    if len > 1 << 20 {
        return Err(bad(format!("header of {len} bytes is implausible")));
    }
    let mut header = vec![0u8; len];
    f.read_exact(&mut header)
        .map_err(|_| bad("truncated header".into()))?;
    let header = String::from_utf8_lossy(&header);
    let compact: String = header.chars().filter(|c| !c.is_whitespace()).collect();
    if !compact.contains("'descr':'<f4'") {
        return Err(bad(format!(
            "expected little-endian float32 ('<f4') values; header {}",
            header.trim()
        )));
    }
    if compact.contains("'fortran_order':True") {
        return Err(bad("Fortran-ordered arrays are not supported".into()));
    }
    let shape_text = compact
        .split("'shape':(")
        .nth(1)
        .and_then(|s| s.split(')').next())
        .ok_or_else(|| bad(format!("no shape in header {}", header.trim())))?;
    let shape = shape_text
        .split(',')
        .filter(|s| !s.is_empty())
        .map(|s| s.parse::<usize>())
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|_| bad(format!("bad shape ({shape_text})")))?;
    let offset = start + len as u64;
    let expected = shape
        .iter()
        .try_fold(4u64, |bytes, &d| bytes.checked_mul(d as u64))
        .and_then(|bytes| bytes.checked_add(offset))
        .ok_or_else(|| bad(format!("shape {shape:?} is too large for any file")))?;
    let actual = f.metadata().map_err(|e| Error::io(path, e))?.len();
    if actual < expected {
        return Err(bad(format!(
            "holds {actual} bytes, but shape {shape:?} needs {expected}: the file is truncated"
        )));
    }
    Ok((shape, offset))
}

/// Reads a float32 `.npy` file (any dimensionality).
pub fn read_f32(path: &Path) -> Result<ArrayD<f32>> {
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let arr: ArrayD<f32> = ndarray_npy::ReadNpyExt::read_npy(std::io::BufReader::new(file))
        .map_err(|e| Error::Npy {
            path: path.into(),
            reason: format!("expected a float32 .npy array: {e}"),
        })?;
    Ok(arr.into_dimensionality::<IxDyn>().expect("dynamic"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_header_alignment() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.npy");
        let data: Vec<f32> = (0..24).map(|i| i as f32 * 0.5 - 3.0).collect();
        write_f32(&p, &[2, 3, 4], &data).unwrap();
        let bytes = std::fs::read(&p).unwrap();
        let header_len = u16::from_le_bytes([bytes[8], bytes[9]]) as usize;
        assert_eq!((10 + header_len) % 64, 0);
        let back = read_f32(&p).unwrap();
        assert_eq!(back.shape(), &[2, 3, 4]);
        assert_eq!(back.iter().copied().collect::<Vec<_>>(), data);
    }

    #[test]
    fn shape_mismatch_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let err = write_f32(&dir.path().join("b.npy"), &[2, 2], &[1.0])
            .unwrap_err()
            .to_string();
        assert!(err.contains("b.npy") && err.contains("[2, 2]"), "{err}");
    }
}
