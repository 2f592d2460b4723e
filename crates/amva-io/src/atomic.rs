//! Finished work is never lost: files are written under a temporary name in the same
//! folder and renamed into place, so a reader sees either the old file or the new one.

use crate::{Error, Result};
use std::io::Write;
use std::path::{Path, PathBuf};

/// The temporary name used while `path` is being written.
pub fn temp_path(path: &Path) -> PathBuf {
    let mut name = path
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    name.push(format!(".{}.tmp", std::process::id()));
    path.with_file_name(name)
}

/// The process id in a temporary name made by [`temp_path`] (`<name>.<pid>.tmp`), if
/// `path` is one.
pub fn temp_pid(path: &Path) -> Option<u32> {
    let name = path.file_name()?.to_str()?;
    let (_, pid) = name.strip_suffix(".tmp")?.rsplit_once('.')?;
    if pid.is_empty() || !pid.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    pid.parse().ok()
}

/// Writes `bytes` to `path` atomically (temp file + fsync + rename).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    write_atomic_with(path, |w| w.write_all(bytes))
}

/// Writes through `fill` to a temp file, then renames it to `path`.
pub fn write_atomic_with(
    path: &Path,
    fill: impl FnOnce(&mut std::io::BufWriter<std::fs::File>) -> std::io::Result<()>,
) -> Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    }
    let tmp = temp_path(path);
    let result = (|| {
        let file = std::fs::File::create(&tmp)?;
        let mut w = std::io::BufWriter::new(file);
        fill(&mut w)?;
        let file = w.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(Error::io(path, e));
    }
    Ok(())
}

/// Serialises `value` as pretty JSON and writes it atomically.
pub fn write_json<T: serde::Serialize>(path: &Path, value: &T) -> Result<()> {
    let text = serde_json::to_string_pretty(value)
        .map_err(|e| Error::Other(format!("{}: {e}", path.display())))?;
    write_atomic(path, (text + "\n").as_bytes())
}

/// Like [`write_json`], with the keys of every object in alphabetical order, at every
/// level. The records that were first written through `serde_json::json!` (whose objects
/// sort their keys) are written this way from their typed structs, so the files stay byte
/// for byte what they were: the aligned folder's and the embeddings' meta.json and
/// faithfulness.json.
pub fn write_json_sorted<T: serde::Serialize>(path: &Path, value: &T) -> Result<()> {
    let value = serde_json::to_value(value)
        .map_err(|e| Error::Other(format!("{}: {e}", path.display())))?;
    write_json(path, &value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_whole_file_and_leaves_no_temp() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("sub/a.txt");
        write_atomic(&p, b"first").unwrap();
        write_atomic(&p, b"second").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"second");
        let names: Vec<_> = std::fs::read_dir(p.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 1, "temp file left behind: {names:?}");
    }

    #[test]
    fn failed_fill_keeps_old_content() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.txt");
        write_atomic(&p, b"old").unwrap();
        let err = write_atomic_with(&p, |_| Err(std::io::Error::other("boom"))).unwrap_err();
        assert!(err.to_string().contains("a.txt"), "{err}");
        assert_eq!(std::fs::read(&p).unwrap(), b"old");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn sorted_json_orders_the_keys_at_every_level_as_json_macro_objects_do() {
        #[derive(serde::Serialize)]
        struct Inner {
            z: f32,
            a: Option<u8>,
        }
        #[derive(serde::Serialize)]
        struct Outer {
            zeta: Inner,
            alpha: &'static str,
        }
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("m.json");
        let v = Outer {
            zeta: Inner { z: 0.65, a: None },
            alpha: "x",
        };
        write_json_sorted(&p, &v).unwrap();
        let made = std::fs::read_to_string(&p).unwrap();
        // What the records were before they were typed: `json!` of the same values.
        let before = serde_json::json!({"zeta": {"z": 0.65f32, "a": null}, "alpha": "x"});
        assert_eq!(made, serde_json::to_string_pretty(&before).unwrap() + "\n");
        assert!(made.find("alpha") < made.find("zeta"), "{made}");
        assert!(made.find("\"a\"") < made.find("\"z\""), "{made}");
    }
}
