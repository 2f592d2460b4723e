//! NumPy `.npy` files, so Python users load every array amva writes with `np.load`.

use crate::{Error, Result};
use ndarray::{ArrayD, IxDyn};
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
