//! amva's cache folder and the checksums of what is in it, without any network code
//! (downloads are the `amva-fetch` crate's; only the crates that download depend on it).
//!
//! Every downloaded file is pinned by SHA-256 ([`verify`]); a mismatch is an error naming
//! both hashes and nothing is written. Installs into the cache ([`install_files`]) go to a
//! temporary folder first and are renamed into place, so an interrupted download never
//! leaves half a model behind.

use crate::{Error, Result};
use sha2::{Digest, Sha256};
use std::io::Read;
use std::path::{Path, PathBuf};

/// amva's cache folder: `$AMVA_HOME`, else the platform cache dir + `amva`.
pub fn cache_dir() -> Result<PathBuf> {
    if let Some(home) = std::env::var_os("AMVA_HOME").filter(|h| !h.is_empty()) {
        return Ok(PathBuf::from(home));
    }
    dirs::cache_dir()
        .map(|d| d.join("amva"))
        .ok_or_else(|| Error::Other("no cache directory on this platform: set AMVA_HOME".into()))
}

/// Hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// Hex SHA-256 of a file, streamed.
pub fn sha256_file(path: &Path) -> Result<String> {
    let mut f = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = f.read(&mut buf).map_err(|e| Error::io(path, e))?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(hex(&h.finalize()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Checks `bytes` against an expected SHA-256; `what` names the thing in the error.
pub fn verify(what: &str, bytes: &[u8], expected: &str) -> Result<()> {
    let actual = sha256_hex(bytes);
    if actual.eq_ignore_ascii_case(expected) {
        Ok(())
    } else {
        Err(Error::Checksum {
            what: what.into(),
            expected: expected.to_lowercase(),
            actual,
        })
    }
}

/// Writes `files` (name, bytes) into `dir` atomically as a whole: they are written to a
/// sibling temp folder, then each is renamed into `dir`. Existing other files stay.
pub fn install_files(dir: &Path, files: &[(String, Vec<u8>)]) -> Result<()> {
    let parent = dir.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
    let tmp = crate::atomic::temp_path(dir);
    std::fs::create_dir_all(&tmp).map_err(|e| Error::io(&tmp, e))?;
    let result = (|| -> Result<()> {
        for (name, data) in files {
            let p = tmp.join(name);
            std::fs::write(&p, data).map_err(|e| Error::io(&p, e))?;
        }
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        for (name, _) in files {
            let (from, to) = (tmp.join(name), dir.join(name));
            std::fs::rename(&from, &to).map_err(|e| Error::io(&to, e))?;
        }
        Ok(())
    })();
    let _ = std::fs::remove_dir_all(&tmp);
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_of_known_string() {
        // FIPS 180-2 test vector.
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn mismatch_names_both_hashes() {
        let err = verify("x.tgz", b"abc", &"0".repeat(64))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(&"0".repeat(64)) && err.contains("ba7816bf"),
            "{err}"
        );
        assert!(err.contains("x.tgz"));
    }
}
