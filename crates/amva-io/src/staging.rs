//! Outputs of many files appear whole or not at all. A command writes into a hidden
//! staging folder inside its claimed output folder (`<out>/.staging.<pid>.tmp/`), then
//! [`Staging::publish`] moves each entry into place, the output's marker file (the one
//! its readers open first: `meta.json` of a store, `summary.json` of an analysis) last.
//!
//! - A run stopped before publishing leaves only the hidden staging folder: the output
//!   is absent, and the next claim of the folder removes it.
//! - A run stopped while publishing (a few renames) leaves a journal in its staging
//!   folder naming every entry it moves; the next claim removes those entries, so the
//!   folder never holds a mix of two runs, nor an output without its marker.
//! - A run that fails removes its staging folder (drop).

use crate::{Error, Result};
use std::path::{Path, PathBuf};

/// The staging folder's name before its `.<pid>.tmp` ending.
const PREFIX: &str = ".staging";
/// The journal of a publish, inside the staging folder: one entry name per line.
const JOURNAL: &str = ".publishing";

/// A multi-file output being written: see the module's documentation.
#[derive(Debug)]
pub struct Staging {
    out: PathBuf,
    dir: PathBuf,
    marker: &'static str,
    published: bool,
}

impl Staging {
    /// Starts an output of `out` (a folder the caller has claimed) whose readers look
    /// for `marker`.
    pub fn begin(out: &Path, marker: &'static str) -> Result<Self> {
        let dir = crate::atomic::temp_path(&out.join(PREFIX));
        if dir.exists() {
            std::fs::remove_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
        }
        std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
        Ok(Staging {
            out: out.to_path_buf(),
            dir,
            marker,
            published: false,
        })
    }

    /// Where the command writes its files.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Moves every written entry into the output folder, replacing its namesake, the
    /// marker last (after the old marker is removed, so no reader takes a half-replaced
    /// folder for a finished one).
    pub fn publish(mut self) -> Result<()> {
        let names = self.entries()?;
        let journal = self.dir.join(JOURNAL);
        crate::atomic::write_atomic(&journal, names.join("\n").as_bytes())?;
        remove_entry(&self.out.join(self.marker))?;
        for name in &names {
            replace(&self.dir.join(name), &self.out.join(name))?;
        }
        std::fs::remove_dir_all(&self.dir).map_err(|e| Error::io(&self.dir, e))?;
        self.published = true;
        Ok(())
    }

    /// The staged entries, the marker last; an error when the run wrote no marker.
    fn entries(&self) -> Result<Vec<String>> {
        let mut names = Vec::new();
        for e in std::fs::read_dir(&self.dir).map_err(|e| Error::io(&self.dir, e))? {
            let e = e.map_err(|e| Error::io(&self.dir, e))?;
            let name = e.file_name().to_string_lossy().into_owned();
            if name != JOURNAL && name != self.marker {
                names.push(name);
            }
        }
        names.sort();
        if !self.dir.join(self.marker).exists() {
            return Err(Error::Output {
                path: self.out.clone(),
                reason: format!("the run wrote no {}; nothing was published", self.marker),
            });
        }
        names.push(self.marker.to_string());
        Ok(names)
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        if !self.published {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// Clears what stopped runs left in `out` (locked by the caller): staging folders, and
/// the entries of an interrupted publish (named in its journal). Returns the names of
/// the entries removed.
pub fn recover(out: &Path) -> Result<Vec<String>> {
    let mut removed = Vec::new();
    let Ok(entries) = std::fs::read_dir(out) else {
        return Ok(removed);
    };
    for e in entries.flatten() {
        let dir = e.path();
        if !is_stale_staging(&dir) {
            continue;
        }
        if let Ok(journal) = std::fs::read_to_string(dir.join(JOURNAL)) {
            for name in journal.lines().filter(|n| is_plain_name(n)) {
                let path = out.join(name);
                if path.symlink_metadata().is_ok() {
                    remove_entry(&path)?;
                    removed.push(name.to_string());
                }
            }
        }
        std::fs::remove_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
    }
    Ok(removed)
}

/// `.staging.<pid>.tmp` of another process than this one.
fn is_stale_staging(path: &Path) -> bool {
    let stem = path.file_name().and_then(|n| n.to_str()).and_then(|n| {
        n.strip_suffix(".tmp")
            .and_then(|n| n.rsplit_once('.'))
            .map(|(s, _)| s)
    });
    stem == Some(PREFIX)
        && path.is_dir()
        && crate::atomic::temp_pid(path).is_some_and(|pid| pid != std::process::id())
}

/// A journal line that names an entry of the folder itself (never a path elsewhere).
fn is_plain_name(name: &str) -> bool {
    !name.is_empty() && name != "." && name != ".." && !name.contains(['/', '\\'])
}

/// Removes a file, link or folder; nothing when it does not exist.
fn remove_entry(path: &Path) -> Result<()> {
    let result = match path.symlink_metadata() {
        Ok(m) if m.is_dir() => std::fs::remove_dir_all(path),
        Ok(_) => std::fs::remove_file(path),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => Err(e),
    };
    result.map_err(|e| Error::io(path, e))
}

/// Moves `from` to `to`, replacing what is there (a file is replaced in one rename; a
/// folder is removed first).
fn replace(from: &Path, to: &Path) -> Result<()> {
    let from_dir = from.is_dir();
    match to.symlink_metadata() {
        Ok(m) if m.is_dir() || from_dir => remove_entry(to)?,
        _ => {}
    }
    std::fs::rename(from, to).map_err(|e| Error::io(to, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(path: &Path, text: &str) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    #[test]
    fn publish_replaces_the_old_output_and_leaves_no_staging() {
        let d = tempfile::tempdir().unwrap();
        let out = d.path();
        write(&out.join("meta.json"), "old");
        write(&out.join("figures/old.png"), "old");
        write(&out.join("keep.txt"), "user's");
        let s = Staging::begin(out, "meta.json").unwrap();
        write(&s.dir().join("figures/new.png"), "new");
        write(&s.dir().join("data.csv"), "new");
        write(&s.dir().join("meta.json"), "new");
        s.publish().unwrap();
        assert_eq!(
            std::fs::read_to_string(out.join("meta.json")).unwrap(),
            "new"
        );
        assert!(out.join("figures/new.png").is_file());
        assert!(
            !out.join("figures/old.png").exists(),
            "the old folder is replaced"
        );
        assert!(
            out.join("keep.txt").is_file(),
            "entries the run does not write stay"
        );
        let left: Vec<_> = std::fs::read_dir(out)
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with('.'))
            .collect();
        assert!(left.is_empty(), "{left:?}");
    }

    #[test]
    fn a_failed_run_and_a_run_without_marker_leave_nothing() {
        let d = tempfile::tempdir().unwrap();
        {
            let s = Staging::begin(d.path(), "meta.json").unwrap();
            write(&s.dir().join("maps.npy"), "x");
        }
        let s = Staging::begin(d.path(), "meta.json").unwrap();
        write(&s.dir().join("maps.npy"), "x");
        let err = s.publish().unwrap_err().to_string();
        assert!(err.contains("meta.json"), "{err}");
        assert_eq!(std::fs::read_dir(d.path()).unwrap().count(), 0);
    }

    /// A stopped run's staging folder, and the entries of a publish it was in the middle
    /// of, are removed by the next claim; this run's own staging and other files stay.
    #[test]
    fn recover_undoes_an_interrupted_publish() {
        let d = tempfile::tempdir().unwrap();
        let out = &d.path().join("out");
        let stale = out.join(".staging.4242.tmp");
        write(&stale.join("meta.json"), "new");
        write(
            &stale.join(JOURNAL),
            "maps.npy\nindex.csv\nmeta.json\n../escape",
        );
        write(&out.join("maps.npy"), "moved already");
        write(&out.join("index.csv"), "old");
        write(&d.path().join("escape"), "outside");
        write(&out.join("user.txt"), "x");
        write(&out.join(".staging.4243.tmp/maps.npy"), "never published");
        let mine = Staging::begin(out, "meta.json").unwrap();
        let mut removed = recover(out).unwrap();
        removed.sort();
        assert_eq!(removed, ["index.csv", "maps.npy"]);
        assert!(!stale.exists() && !out.join(".staging.4243.tmp").exists());
        assert!(mine.dir().is_dir(), "this run's staging stays");
        assert!(out.join("user.txt").is_file());
        assert!(d.path().join("escape").is_file());
    }
}
