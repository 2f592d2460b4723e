//! The lists of images a run left out or used with a warning, beside its outputs:
//! `failed.csv` (`image,reason`) and `warnings.csv` (`image,warning`). One writer and
//! one reader for every command and store that keeps such lists.

use crate::{Error, Result};
use std::path::Path;

/// The first `k` of `n` items named in a note, then how many more: "a, b and 3 more".
///
/// ```
/// let names = ["a", "b", "c", "d"].map(String::from);
/// assert_eq!(amva_io::image_notes::first_few(names.into_iter(), 4, 2), "a, b and 2 more");
/// ```
pub fn first_few(shown: impl Iterator<Item = String>, n: usize, k: usize) -> String {
    let list: Vec<String> = shown.take(k).collect();
    let more = if n > k {
        format!(" and {} more", n - k)
    } else {
        String::new()
    };
    format!("{}{more}", list.join(", "))
}

/// Writes `failed.csv` (image,reason): the images a run could not use.
pub fn write_failed(path: &Path, rows: &[(String, String)]) -> Result<()> {
    write(path, "reason", rows)
}

/// Writes `warnings.csv` (image,warning): images used although their file is damaged.
pub fn write_warnings(path: &Path, rows: &[(String, String)]) -> Result<()> {
    write(path, "warning", rows)
}

/// A CSV of (image, `column`) rows, written atomically.
fn write(path: &Path, column: &str, rows: &[(String, String)]) -> Result<()> {
    let bad = |e: csv::Error| Error::List {
        path: path.into(),
        reason: e.to_string(),
    };
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(["image", column]).map_err(bad)?;
    for (id, why) in rows {
        w.write_record([id, why]).map_err(bad)?;
    }
    let bytes = w.into_inner().map_err(|e| Error::List {
        path: path.into(),
        reason: e.to_string(),
    })?;
    crate::atomic::write_atomic(path, &bytes)
}

/// Reads a list written by [`write_failed`] or [`write_warnings`]: (image, reason) rows.
pub fn read(path: &Path) -> Result<Vec<(String, String)>> {
    let mut r = csv::Reader::from_path(path).map_err(|e| Error::List {
        path: path.into(),
        reason: e.to_string(),
    })?;
    r.records()
        .enumerate()
        .map(|(i, rec)| {
            let rec = rec.map_err(|e| Error::List {
                path: path.into(),
                reason: format!("line {}: {e}", i + 2),
            })?;
            Ok((
                rec.get(0).unwrap_or("").to_string(),
                rec.get(1).unwrap_or("").to_string(),
            ))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_round_trip_with_their_headers_and_quoting() {
        let dir = tempfile::tempdir().unwrap();
        let rows = vec![
            ("a.jpg".to_string(), "no face, \"tiny\"".to_string()),
            ("b/c.png".to_string(), String::new()),
        ];
        let (failed, warnings) = (dir.path().join("failed.csv"), dir.path().join("w.csv"));
        write_failed(&failed, &rows).unwrap();
        write_warnings(&warnings, &rows[..1]).unwrap();
        assert_eq!(
            std::fs::read_to_string(&failed).unwrap(),
            "image,reason\na.jpg,\"no face, \"\"tiny\"\"\"\nb/c.png,\n"
        );
        assert!(std::fs::read_to_string(&warnings)
            .unwrap()
            .starts_with("image,warning\n"));
        assert_eq!(read(&failed).unwrap(), rows);
        assert_eq!(read(&warnings).unwrap(), rows[..1]);
        write_failed(&failed, &[]).unwrap();
        assert_eq!(std::fs::read_to_string(&failed).unwrap(), "image,reason\n");
        assert!(read(&failed).unwrap().is_empty());
    }

    #[test]
    fn a_missing_list_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let err = read(&dir.path().join("gone.csv")).unwrap_err().to_string();
        assert!(err.contains("gone.csv"), "{err}");
    }
}
