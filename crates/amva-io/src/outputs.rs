//! Where a command may write: never over or inside one of its inputs, never into a
//! folder another kind of output lives in, and never while another run writes there.
//!
//! Every command calls [`claim`] once, before it writes anything; the returned
//! [`OutputLock`] is held until the command ends.

use crate::{Error, Result};
use std::fs::File;
use std::io::{Read, Seek, Write};
use std::path::{Component, Path, PathBuf};

/// An input of a command: the flag that named it, and the path.
#[derive(Debug, Clone, Copy)]
pub struct Input<'a> {
    pub flag: &'a str,
    pub path: &'a Path,
}

/// An output folder: checked against `inputs` (see [`check_not_inputs`]) and against
/// what it already holds (`kind` as in its `meta.json`, see [`check_kind`]), created,
/// and locked (see [`OutputLock`]).
/// What stopped runs left is cleared first (see [`crate::staging::recover`] and
/// [`remove_stale_temps`]), so a rerun after any interruption is never refused for it.
pub fn claim_dir(out: &Path, inputs: &[Input<'_>], kind: &str) -> Result<OutputLock> {
    check_not_inputs(out, inputs)?;
    if out.exists() && !out.is_dir() {
        check_kind(out, kind)?; // refuses a file before anything is created
    }
    let existed = out.exists();
    std::fs::create_dir_all(out).map_err(|e| Error::io(out, e))?;
    let mut lock = OutputLock::acquire(out, true)?;
    if !existed {
        lock.created = Some(out.to_path_buf());
    }
    crate::staging::recover(out)?;
    remove_stale_temps(out);
    check_kind(out, kind)?;
    Ok(lock)
}

/// Removes the temporaries of earlier runs that were stopped while writing into `out`
/// (`<name>.<pid>.tmp`, see [`crate::atomic::temp_path`]): with the folder locked, no
/// other run can be writing them. Best effort: what cannot be removed stays.
pub fn remove_stale_temps(out: &Path) {
    let mut stack = vec![out.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in entries.flatten() {
            let path = e.path();
            match e.file_type() {
                Ok(t) if t.is_dir() => stack.push(path),
                Ok(t) if t.is_file() && is_stale_temp(&path) => {
                    let _ = std::fs::remove_file(&path);
                }
                _ => {}
            }
        }
    }
}

/// `<name>.<pid>.tmp` written by another process than this one.
fn is_stale_temp(path: &Path) -> bool {
    crate::atomic::temp_pid(path).is_some_and(|pid| pid != std::process::id())
}

/// Output files (a main file and its sidecars): each checked against `inputs`, and
/// the main file locked through its name; its folder is created.
pub fn claim_files(files: &[&Path], inputs: &[Input<'_>]) -> Result<OutputLock> {
    for f in files {
        check_not_inputs(f, inputs)?;
    }
    let main = files
        .first()
        .ok_or_else(|| Error::Other("claim_files: no output file".into()))?;
    if main.is_dir() {
        return Err(Error::Output {
            path: main.to_path_buf(),
            reason: "is a folder; expected a file name".into(),
        });
    }
    if let Some(dir) = main.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    }
    OutputLock::acquire(main, false)
}

/// `path` with links resolved, also when its last components do not exist yet: the
/// longest existing prefix is canonicalised and the rest appended.
pub fn resolve(path: &Path) -> Result<PathBuf> {
    let abs = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir()
            .map_err(|e| Error::io(path, e))?
            .join(path)
    };
    let mut rest = Vec::new();
    let mut base = abs.as_path();
    loop {
        if let Ok(real) = std::fs::canonicalize(base) {
            let mut out = real;
            for c in rest.iter().rev() {
                match c {
                    Component::ParentDir => {
                        out.pop();
                    }
                    Component::CurDir => {}
                    c => out.push(c),
                }
            }
            return Ok(out);
        }
        match (base.parent(), base.components().next_back()) {
            (Some(parent), Some(last)) => {
                rest.push(last);
                base = parent;
            }
            _ => return Ok(abs),
        }
    }
}

/// Refuses an output that is one of the inputs, lies inside an input folder, or is a
/// folder holding an input (after resolving links and `..`).
pub fn check_not_inputs(out: &Path, inputs: &[Input<'_>]) -> Result<()> {
    let o = resolve(out)?;
    for input in inputs {
        let i = resolve(input.path)?;
        let problem = if o == i {
            "is that input"
        } else if o.starts_with(&i) {
            "lies inside that input"
        } else if i.starts_with(&o) {
            "holds that input"
        } else {
            continue;
        };
        return Err(Error::Output {
            path: out.into(),
            reason: format!(
                "the output {problem} ({} {}); amva never writes over or inside its inputs: choose another --out",
                input.flag,
                input.path.display()
            ),
        });
    }
    Ok(())
}

/// Refuses a folder holding another kind of output (`meta.json` with another `kind`),
/// or an `index.csv` amva did not write (no `meta.json` beside it).
pub fn check_kind(dir: &Path, kind: &str) -> Result<()> {
    if dir.exists() && !dir.is_dir() {
        return Err(Error::Output {
            path: dir.into(),
            reason: "is a file; expected a folder (or a name that does not exist yet)".into(),
        });
    }
    let meta = dir.join("meta.json");
    let refuse = |reason: String| {
        Err(Error::Output {
            path: dir.into(),
            reason: format!("{reason}; amva will not write over it: choose another --out"),
        })
    };
    match std::fs::read(&meta) {
        Ok(bytes) => {
            /// The one field of an amva meta.json this guard reads.
            #[derive(serde::Deserialize)]
            struct Kind {
                kind: String,
            }
            let found = serde_json::from_slice::<Kind>(&bytes).ok().map(|k| k.kind);
            match found {
                Some(k) if k == kind => Ok(()),
                Some(k) => refuse(format!("holds {k} (meta.json), not {kind}")),
                None => refuse("holds a meta.json amva did not write".into()),
            }
        }
        Err(_) if dir.join("index.csv").exists() => {
            refuse("holds an index.csv without amva's meta.json".into())
        }
        Err(_) => Ok(()),
    }
}

/// An advisory lock on an output (a folder, or a file's name), held while the value
/// lives. The lock file is `<folder>/.amva.lock` or `.<file name>.lock` beside the file
/// and holds the owner's process id. The kernel releases the lock when the owner dies,
/// so a lock file left by a killed run is simply taken over.
#[derive(Debug)]
pub struct OutputLock {
    path: PathBuf,
    _file: File,
    /// The folder this claim created: removed again if the run leaves it empty (a
    /// failed run leaves nothing behind).
    created: Option<PathBuf>,
}

impl OutputLock {
    /// The lock file of an output folder or file.
    pub fn lock_path(out: &Path, dir: bool) -> PathBuf {
        if dir {
            return out.join(".amva.lock");
        }
        let name = out
            .file_name()
            .map(|n| n.to_string_lossy())
            .unwrap_or_default();
        out.with_file_name(format!(".{name}.lock"))
    }

    /// Locks the existing folder `out` (`dir`), or the file name `out`; or says which
    /// process holds the lock.
    pub fn acquire(out: &Path, dir: bool) -> Result<Self> {
        let path = Self::lock_path(out, dir);
        for _ in 0..8 {
            let mut file = std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .open(&path)
                .map_err(|e| Error::io(&path, e))?;
            match file.try_lock() {
                Ok(()) => {}
                Err(std::fs::TryLockError::WouldBlock) => {
                    let mut pid = String::new();
                    let _ = file.read_to_string(&mut pid);
                    return Err(Error::Output {
                        path: out.into(),
                        reason: format!(
                            "another amva run (pid {}) is writing here ({}); wait for it to end or choose another --out",
                            pid.trim(),
                            path.display()
                        ),
                    });
                }
                Err(std::fs::TryLockError::Error(e)) => return Err(Error::io(&path, e)),
            }
            // The previous owner may have removed the file between our open and lock:
            // then we hold a lock on a name nobody sees, and try again.
            if !same_file(&file, &path) {
                continue;
            }
            let write_pid = (|| {
                file.set_len(0)?;
                file.rewind()?;
                write!(file, "{}", std::process::id())?;
                file.sync_all()
            })();
            write_pid.map_err(|e| Error::io(&path, e))?;
            return Ok(OutputLock {
                path,
                _file: file,
                created: None,
            });
        }
        Err(Error::Output {
            path: out.into(),
            reason: format!("could not lock {}: it keeps being replaced", path.display()),
        })
    }
}

#[cfg(unix)]
fn same_file(file: &File, path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (file.metadata(), std::fs::metadata(path)) {
        (Ok(a), Ok(b)) => a.ino() == b.ino() && a.dev() == b.dev(),
        _ => false,
    }
}

#[cfg(not(unix))]
fn same_file(_file: &File, path: &Path) -> bool {
    path.exists()
}

impl Drop for OutputLock {
    fn drop(&mut self) {
        // Removed while still locked, so a waiting run never locks a file that is gone.
        let _ = std::fs::remove_file(&self.path);
        if let Some(dir) = &self.created {
            let _ = std::fs::remove_dir(dir); // fails, as meant, unless it is empty
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input<'a>(path: &'a Path) -> Input<'a> {
        Input {
            flag: "--images",
            path,
        }
    }

    /// Issue 26, row 5: `maps.npy.<pid>.tmp` of a killed run survived later successful
    /// runs into the same folder. Claiming the folder now removes them, and nothing else.
    #[test]
    fn claiming_a_folder_removes_the_temporaries_of_stopped_runs() {
        let d = tempfile::tempdir().unwrap();
        let out = d.path().join("out");
        std::fs::create_dir_all(out.join("figures")).unwrap();
        let keep = ["maps.npy", "notes.tmp", "a.b.tmp", "figures/x.png"];
        let stale = ["maps.npy.4242.tmp", "figures/x.png.77.tmp"];
        for f in keep.iter().chain(&stale) {
            std::fs::write(out.join(f), b"x").unwrap();
        }
        let mine = crate::atomic::temp_path(&out.join("summary.json"));
        std::fs::write(&mine, b"x").unwrap();
        let _lock = claim_dir(&out, &[], "analysis").unwrap();
        for f in keep {
            assert!(out.join(f).is_file(), "{f} was removed");
        }
        for f in stale {
            assert!(!out.join(f).exists(), "{f} is still there");
        }
        assert!(mine.is_file(), "this run's own temporary is kept");
    }

    #[test]
    fn output_over_inside_or_around_an_input_is_refused() {
        let d = tempfile::tempdir().unwrap();
        let faces = d.path().join("faces");
        std::fs::create_dir_all(&faces).unwrap();
        std::fs::write(faces.join("a.jpg"), b"x").unwrap();
        let list = d.path().join("list.csv");
        std::fs::write(&list, b"path\nfaces/a.jpg\n").unwrap();
        for bad in [
            faces.join("a.jpg"),
            faces.join("new/out.csv"),
            faces.join("../faces"),
            list.clone(),
            d.path().to_path_buf(),
        ] {
            let err = check_not_inputs(&bad, &[input(&faces), input(&list)]).unwrap_err();
            assert!(err.to_string().contains("--images"), "{err}");
        }
        check_not_inputs(&d.path().join("out"), &[input(&faces), input(&list)]).unwrap();
        #[cfg(unix)]
        {
            let link = d.path().join("link");
            std::os::unix::fs::symlink(&faces, &link).unwrap();
            assert!(check_not_inputs(&link.join("x.csv"), &[input(&faces)]).is_err());
        }
    }

    #[test]
    fn folder_of_another_kind_is_refused() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("meta.json"), br#"{"kind": "maps"}"#).unwrap();
        let err = check_kind(d.path(), "embeddings").unwrap_err().to_string();
        assert!(err.contains("maps") && err.contains("embeddings"), "{err}");
        check_kind(d.path(), "maps").unwrap();
        let e = tempfile::tempdir().unwrap();
        std::fs::write(e.path().join("index.csv"), b"mine").unwrap();
        assert!(check_kind(e.path(), "embeddings").is_err());
        check_kind(&e.path().join("new"), "embeddings").unwrap();
    }

    #[test]
    fn second_lock_names_the_holder_and_the_lock_goes_with_it() {
        let d = tempfile::tempdir().unwrap();
        let first = OutputLock::acquire(d.path(), true).unwrap();
        let err = OutputLock::acquire(d.path(), true).unwrap_err().to_string();
        assert!(
            err.contains(&format!("pid {}", std::process::id())),
            "{err}"
        );
        drop(first);
        assert!(!d.path().join(".amva.lock").exists());
        // A lock file nobody holds (its owner was killed) is taken over.
        std::fs::write(d.path().join(".amva.lock"), b"999999999").unwrap();
        let _again = OutputLock::acquire(d.path(), true).unwrap();
        let file_out = d.path().join("scores.csv");
        let _f = OutputLock::acquire(&file_out, false).unwrap();
        assert!(d.path().join(".scores.csv.lock").exists());
    }
}
