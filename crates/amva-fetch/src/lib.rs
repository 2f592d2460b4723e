//! Checksummed downloads from public package registries (npm, PyPI) into amva's cache:
//! the default models ([`models`]), ONNX Runtime ([`ort`]), the BRISQUE model
//! ([`brisque`]); sample photos use [`download_verified`] too.
//!
//! The functions that may download take `note: &dyn Fn(&str)`, told of each download
//! before it starts ("downloading ... from URL into DIR"); the caller decides whether
//! and how that reaches the user.
//!
//! Every download is pinned by SHA-256 (`amva_io::cache::verify`); a mismatch is an
//! error naming both hashes and nothing is written. `file://` URLs read from disk, for
//! tests and offline mirrors. This is the only crate with an HTTP/TLS stack.

pub mod brisque;
pub mod models;
pub mod ort;

use std::io::Read;

/// Everything that can go wrong while fetching: reading or writing the cache or the
/// network (amva-io's errors), or the engine and quality crates refusing what came.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Io(#[from] amva_io::Error),
    #[error(transparent)]
    Model(#[from] amva_model::Error),
    #[error(transparent)]
    Quality(#[from] amva_quality::QualityError),
}

/// Result type of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Downloads `url` fully into memory (at most `limit` bytes) and verifies its SHA-256.
/// `file://` URLs are read from disk, which lets tests and offline mirrors use the same path.
pub fn download_verified(url: &str, sha256: &str, limit: u64) -> amva_io::Result<Vec<u8>> {
    let bytes = download(url, limit)?;
    amva_io::cache::verify(url, &bytes, sha256)?;
    Ok(bytes)
}

/// Downloads `url` into memory (at most `limit` bytes), unverified.
pub fn download(url: &str, limit: u64) -> amva_io::Result<Vec<u8>> {
    if let Some(path) = url.strip_prefix("file://") {
        return std::fs::read(path).map_err(|e| amva_io::Error::Other(format!("{path}: {e}")));
    }
    let fail = |reason: String| amva_io::Error::Download {
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
pub fn untar_gz(
    bytes: &[u8],
    keep: impl Fn(&str) -> bool,
) -> amva_io::Result<Vec<(String, Vec<u8>)>> {
    let gz = flate2::read::GzDecoder::new(bytes);
    let mut archive = tar::Archive::new(gz);
    let bad = |e: std::io::Error| amva_io::Error::Other(format!("corrupt tarball: {e}"));
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn npm_url_layout() {
        std::env::remove_var("AMVA_NPM_REGISTRY");
        assert_eq!(
            npm_tarball_url("faceplugin-face-recognition-js", "0.0.1"),
            "https://registry.npmjs.org/faceplugin-face-recognition-js/-/faceplugin-face-recognition-js-0.0.1.tgz"
        );
    }
}
