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

/// What a float32 `.npy` header says. One parser for both readers ([`read_f32`] loads
/// the whole array, [`read_f32_header`] lets a reader stream rows from the offset).
/// Hand-written because ndarray-npy, which could load arrays, keeps its header parser
/// private, and streaming readers need the data's offset.
struct Header {
    shape: Vec<usize>,
    /// Where the values start.
    offset: u64,
    /// Bytes of the values (4 per value of the shape).
    data_len: u64,
    /// Bytes in the file after the header.
    file_len: u64,
    big_endian: bool,
    fortran_order: bool,
    /// The header text, for messages.
    text: String,
}

/// Reads and checks the header of a float32 `.npy` file (`<f4` or `>f4`, either order):
/// magic, version, descr and shape, and that the file holds all the data.
fn read_header(path: &Path, f: &mut std::fs::File) -> Result<Header> {
    let bad = |reason: String| Error::Npy {
        path: path.into(),
        reason,
    };
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
    let text = String::from_utf8_lossy(&header).trim().to_string();
    let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    let big_endian = match () {
        _ if compact.contains("'descr':'<f4'") => false,
        _ if compact.contains("'descr':'>f4'") => true,
        _ => {
            return Err(bad(format!(
                "expected little-endian float32 ('<f4') values; header {text}"
            )))
        }
    };
    let shape_text = compact
        .split("'shape':(")
        .nth(1)
        .and_then(|s| s.split(')').next())
        .ok_or_else(|| bad(format!("no shape in header {text}")))?;
    let shape = shape_text
        .split(',')
        .filter(|s| !s.is_empty())
        .map(|s| s.parse::<usize>())
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|_| bad(format!("bad shape ({shape_text})")))?;
    let offset = start + len as u64;
    let data_len = shape
        .iter()
        .try_fold(4u64, |bytes, &d| bytes.checked_mul(d as u64))
        .filter(|bytes| bytes.checked_add(offset).is_some())
        .ok_or_else(|| bad(format!("shape {shape:?} is too large for any file")))?;
    let actual = f.metadata().map_err(|e| Error::io(path, e))?.len();
    if actual < offset + data_len {
        return Err(bad(format!(
            "holds {actual} bytes, but shape {shape:?} needs {}: the file is truncated",
            offset + data_len
        )));
    }
    Ok(Header {
        fortran_order: compact.contains("'fortran_order':True"),
        shape,
        offset,
        data_len,
        file_len: actual - offset,
        big_endian,
        text,
    })
}

/// Parses the header of a little-endian float32 C-order `.npy` file; returns the
/// shape and the offset of the data, after checking that the file holds all of it.
/// For readers that stream an array row by row instead of loading it whole.
pub fn read_f32_header(path: &Path) -> Result<(Vec<usize>, u64)> {
    let mut f = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let h = read_header(path, &mut f)?;
    let bad = |reason: String| Error::Npy {
        path: path.into(),
        reason,
    };
    if h.big_endian {
        return Err(bad(format!(
            "expected little-endian float32 ('<f4') values; header {}",
            h.text
        )));
    }
    if h.fortran_order {
        return Err(bad("Fortran-ordered arrays are not supported".into()));
    }
    Ok((h.shape, h.offset))
}

/// Reads a float32 `.npy` file (any dimensionality, either byte order; a Fortran-order
/// file comes back in the same logical order, laid out in C order).
pub fn read_f32(path: &Path) -> Result<ArrayD<f32>> {
    let mut f = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let h = read_header(path, &mut f)?;
    if h.file_len != h.data_len {
        return Err(Error::Npy {
            path: path.into(),
            reason: format!(
                "{} bytes follow the header, but shape {:?} needs {}",
                h.file_len, h.shape, h.data_len
            ),
        });
    }
    let mut bytes = Vec::with_capacity(h.data_len as usize);
    f.read_to_end(&mut bytes).map_err(|e| Error::io(path, e))?;
    let from = if h.big_endian {
        f32::from_be_bytes
    } else {
        f32::from_le_bytes
    };
    let data: Vec<f32> = bytes
        .chunks_exact(4)
        .map(|b| from([b[0], b[1], b[2], b[3]]))
        .collect();
    let array = if h.fortran_order {
        let reversed: Vec<usize> = h.shape.iter().rev().copied().collect();
        ArrayD::from_shape_vec(IxDyn(&reversed), data)
            .map(|a| a.reversed_axes().as_standard_layout().into_owned())
    } else {
        ArrayD::from_shape_vec(IxDyn(&h.shape), data)
    };
    array.map_err(|e| Error::Npy {
        path: path.into(),
        reason: format!("shape {:?}: {e}", h.shape),
    })
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

    /// A `.npy` file as NumPy writes it, with any header dict and value bytes.
    fn npy_file(dir: &Path, dict: &str, values: &[u8]) -> std::path::PathBuf {
        let mut dict = dict.to_string();
        dict.push_str(&" ".repeat((64 - (10 + dict.len() + 1) % 64) % 64));
        dict.push('\n');
        let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
        bytes.extend_from_slice(&(dict.len() as u16).to_le_bytes());
        bytes.extend_from_slice(dict.as_bytes());
        bytes.extend_from_slice(values);
        let p = dir.join("x.npy");
        std::fs::write(&p, bytes).unwrap();
        p
    }

    #[test]
    fn big_endian_and_fortran_order_load_in_logical_order() {
        let dir = tempfile::tempdir().unwrap();
        // The 2 x 3 array [[0, 1, 2], [3, 4, 5]], stored column by column, big-endian.
        let fortran: Vec<u8> = [0.0f32, 3.0, 1.0, 4.0, 2.0, 5.0]
            .iter()
            .flat_map(|v| v.to_be_bytes())
            .collect();
        let p = npy_file(
            dir.path(),
            "{'descr': '>f4', 'fortran_order': True, 'shape': (2, 3), }",
            &fortran,
        );
        let a = read_f32(&p).unwrap();
        assert_eq!(a.shape(), &[2, 3]);
        assert_eq!(
            a.iter().copied().collect::<Vec<_>>(),
            [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]
        );
        assert_eq!(a.as_slice(), Some(&[0.0, 1.0, 2.0, 3.0, 4.0, 5.0][..]));
        // The streaming reader takes only what it can stream: little-endian, C order.
        let err = read_f32_header(&p).unwrap_err().to_string();
        assert!(err.contains("little-endian"), "{err}");
    }

    #[test]
    fn both_readers_agree_and_refuse_what_does_not_fit() {
        let dir = tempfile::tempdir().unwrap();
        let values: Vec<u8> = (0..6).flat_map(|i| (i as f32).to_le_bytes()).collect();
        let dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 2), }";
        let p = npy_file(dir.path(), dict, &values);
        let (shape, offset) = read_f32_header(&p).unwrap();
        assert_eq!(shape, [3, 2]);
        assert_eq!(offset, std::fs::metadata(&p).unwrap().len() - 24);
        assert_eq!(read_f32(&p).unwrap().shape(), &[3, 2]);
        // Truncated: both refuse, naming the sizes.
        let p = npy_file(dir.path(), dict, &values[..20]);
        for err in [
            read_f32(&p).unwrap_err().to_string(),
            read_f32_header(&p).unwrap_err().to_string(),
        ] {
            assert!(err.contains("truncated") && err.contains("x.npy"), "{err}");
        }
        // Bytes after the data: the whole-array reader refuses them.
        let mut more = values.clone();
        more.extend_from_slice(&[0; 4]);
        let p = npy_file(dir.path(), dict, &more);
        let err = read_f32(&p).unwrap_err().to_string();
        assert!(err.contains("28 bytes follow"), "{err}");
        // Not float32.
        let p = npy_file(
            dir.path(),
            "{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }",
            &[0; 24],
        );
        let err = read_f32(&p).unwrap_err().to_string();
        assert!(err.contains("float32"), "{err}");
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
