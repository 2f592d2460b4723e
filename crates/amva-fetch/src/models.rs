//! Fills the model cache: the default models from the npm registry's tarball of
//! `faceplugin-face-recognition-js@0.0.1` (pins in `amva_io::models`).

use amva_io::models::{ModelSource, DEFAULT_MODELS, NPM_PACKAGE, NPM_TARBALL_SHA256, NPM_VERSION};
use std::path::{Path, PathBuf};

/// The path of default model `name` (`amva_io::models::FR_FEATURE`, ...): from
/// `$AMVA_MODELS`, else the cache, downloading the package into the cache first when
/// the model is not there yet. `note` hears of a download before it starts
/// ("downloading the default models from URL into DIR").
pub fn ensure(name: &str, note: &dyn Fn(&str)) -> amva_io::Result<PathBuf> {
    ensure_in(&ModelSource::from_env()?, name, note)
}

/// [`ensure`] with a given model source. A model in the cache is checked against its
/// pinned SHA-256 before use (a file in `$AMVA_MODELS` is the user's and used as it is):
/// a changed or damaged copy is downloaded again, said through `note`, and when that
/// download fails the error names the file to delete.
pub fn ensure_in(src: &ModelSource, name: &str, note: &dyn Fn(&str)) -> amva_io::Result<PathBuf> {
    match (src, src.model(name)) {
        (ModelSource::EnvDir(_), found) => found,
        (ModelSource::Cache(dir), Ok(path)) => match cached_mismatch(&path, name)? {
            None => Ok(path),
            Some(why) => {
                note(&format!("{why}: downloading it again"));
                download(dir, note).map_err(|e| {
                    amva_io::Error::Other(format!(
                        "{why}, and downloading it again failed ({e}); delete {} and run again",
                        path.display()
                    ))
                })?;
                src.model(name)
            }
        },
        (ModelSource::Cache(dir), Err(_)) => {
            download(dir, note)?;
            src.model(name)
        }
    }
}

/// Why the cached copy of default model `name` at `path` is not the pinned one (None:
/// it is, or `name` has no pin).
pub fn cached_mismatch(path: &Path, name: &str) -> amva_io::Result<Option<String>> {
    let Some((_, sha)) = DEFAULT_MODELS.iter().find(|(n, _)| *n == name) else {
        return Ok(None);
    };
    let actual = amva_io::cache::sha256_file(path)?;
    Ok((!actual.eq_ignore_ascii_case(sha)).then(|| {
        format!(
            "{}: SHA-256 {actual}, not the pinned {sha} (the cached copy was changed or damaged)",
            path.display()
        )
    }))
}

/// Downloads the default models into the cache `dir`.
fn download(dir: &Path, note: &dyn Fn(&str)) -> amva_io::Result<()> {
    let url = crate::npm_tarball_url(NPM_PACKAGE, NPM_VERSION);
    note(&format!(
        "downloading the default models from {url} into {}",
        dir.display()
    ));
    install_models(&url, NPM_TARBALL_SHA256, &DEFAULT_MODELS, dir)
}

/// Downloads the tarball at `url`, checks it against `tarball_sha256`, takes
/// `package/model/<name>` for every model in `models`, checks each one's SHA-256 and
/// installs them into `dir`. On any mismatch nothing is written.
pub fn install_models(
    url: &str,
    tarball_sha256: &str,
    models: &[(&str, &str)],
    dir: &Path,
) -> amva_io::Result<()> {
    let tarball = crate::download_verified(url, tarball_sha256, 512 << 20)?;
    let wanted = |p: &str| {
        models
            .iter()
            .any(|(name, _)| p == format!("package/model/{name}"))
    };
    let entries = crate::untar_gz(&tarball, wanted)?;
    let mut files = Vec::new();
    for (name, sha) in models {
        let (_, data) = entries
            .iter()
            .find(|(p, _)| p.ends_with(&format!("/{name}")))
            .ok_or_else(|| {
                amva_io::Error::Other(format!("{url}: the package has no package/model/{name}"))
            })?;
        amva_io::cache::verify(&format!("{name} in {url}"), data, sha)?;
        files.push((name.to_string(), data.clone()));
    }
    amva_io::cache::install_files(dir, &files)
}

#[cfg(test)]
mod tests {
    use super::*;
    use amva_io::models::FR_FEATURE;
    use amva_testkit::data_required;
    use std::io::Write;

    fn tarball(files: &[(&str, &[u8])]) -> Vec<u8> {
        let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        let mut b = tar::Builder::new(gz);
        for (name, data) in files {
            let mut h = tar::Header::new_gnu();
            h.set_size(data.len() as u64);
            h.set_mode(0o644);
            h.set_cksum();
            b.append_data(&mut h, name, *data).unwrap();
        }
        b.into_inner().unwrap().finish().unwrap()
    }

    fn write_tmp(dir: &Path, bytes: &[u8]) -> String {
        let p = dir.join("pkg.tgz");
        std::fs::File::create(&p).unwrap().write_all(bytes).unwrap();
        format!("file://{}", p.display())
    }

    #[test]
    fn installs_verified_models() {
        let tmp = tempfile::tempdir().unwrap();
        let tgz = tarball(&[
            ("package/model/a.onnx", b"model-a"),
            ("package/README.md", b"x"),
        ]);
        let url = write_tmp(tmp.path(), &tgz);
        let dest = tmp.path().join("cache/models");
        let sha_a = amva_io::cache::sha256_hex(b"model-a");
        install_models(
            &url,
            &amva_io::cache::sha256_hex(&tgz),
            &[("a.onnx", &sha_a)],
            &dest,
        )
        .unwrap();
        assert_eq!(std::fs::read(dest.join("a.onnx")).unwrap(), b"model-a");
        assert_eq!(std::fs::read_dir(&dest).unwrap().count(), 1);
    }

    #[test]
    fn tarball_checksum_mismatch_leaves_cache_untouched() {
        let tmp = tempfile::tempdir().unwrap();
        let tgz = tarball(&[("package/model/a.onnx", b"model-a")]);
        let url = write_tmp(tmp.path(), &tgz);
        let dest = tmp.path().join("cache/models");
        let wrong = "f".repeat(64);
        let err = install_models(
            &url,
            &wrong,
            &[("a.onnx", &amva_io::cache::sha256_hex(b"model-a"))],
            &dest,
        )
        .unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains(&wrong) && msg.contains(&amva_io::cache::sha256_hex(&tgz)),
            "{msg}"
        );
        assert!(!dest.exists(), "cache was written despite the mismatch");
        assert_eq!(
            std::fs::read_dir(tmp.path()).unwrap().count(),
            1,
            "only the tarball itself"
        );
    }

    #[test]
    fn model_checksum_mismatch_leaves_cache_untouched() {
        let tmp = tempfile::tempdir().unwrap();
        let tgz = tarball(&[
            ("package/model/a.onnx", b"tampered"),
            ("package/model/b.onnx", b"model-b"),
        ]);
        let url = write_tmp(tmp.path(), &tgz);
        let dest = tmp.path().join("models");
        let models = [
            ("b.onnx", amva_io::cache::sha256_hex(b"model-b")),
            ("a.onnx", amva_io::cache::sha256_hex(b"model-a")),
        ];
        let models: Vec<(&str, &str)> = models.iter().map(|(n, s)| (*n, s.as_str())).collect();
        let err = install_models(&url, &amva_io::cache::sha256_hex(&tgz), &models, &dest)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("a.onnx") && err.contains(&amva_io::cache::sha256_hex(b"tampered")),
            "{err}"
        );
        assert!(!dest.exists());
    }

    #[test]
    fn env_dir_without_model_is_a_clear_error() {
        let tmp = tempfile::tempdir().unwrap();
        let src = ModelSource::EnvDir(tmp.path().to_path_buf());
        let err = src.model(FR_FEATURE).unwrap_err().to_string();
        assert!(
            err.contains("AMVA_MODELS") && err.contains(FR_FEATURE),
            "{err}"
        );
    }

    #[test]
    fn a_model_in_amva_models_is_used_as_it_is() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::write(tmp.path().join(FR_FEATURE), b"model").unwrap();
        let src = ModelSource::EnvDir(tmp.path().to_path_buf());
        let p = ensure_in(&src, FR_FEATURE, &|m| panic!("unexpected note: {m}")).unwrap();
        assert_eq!(p, tmp.path().join(FR_FEATURE));
    }

    /// Issue 26, row 8: a cached default model whose bytes changed was used silently.
    #[test]
    fn a_changed_model_in_the_cache_is_named_and_the_pinned_one_is_used_as_it_is() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join(FR_FEATURE);
        std::fs::write(&path, b"tampered").unwrap();
        let why = cached_mismatch(&path, FR_FEATURE).unwrap().unwrap();
        assert!(
            why.contains(&amva_io::cache::sha256_hex(b"tampered"))
                && why.contains(DEFAULT_MODELS[1].1)
                && why.contains("changed or damaged"),
            "{why}"
        );
        assert_eq!(cached_mismatch(&path, "not_pinned.onnx").unwrap(), None);
        let Some(shared) = amva_testkit::shared_with(&["models/fr_feature.onnx"]) else {
            return;
        };
        std::fs::copy(shared.join("models").join(FR_FEATURE), &path).unwrap();
        let src = ModelSource::Cache(tmp.path().to_path_buf());
        let p = ensure_in(&src, FR_FEATURE, &|m| panic!("unexpected note: {m}")).unwrap();
        assert_eq!(p, path);
    }

    /// The real package from the npm registry: runs only when AMVA_TEST_NETWORK=1.
    #[test]
    fn real_package_from_npm() {
        // CI (AMVA_REQUIRE_DATA=1) reaches the registries, so it runs there too.
        if std::env::var("AMVA_TEST_NETWORK").as_deref() != Ok("1") && !data_required() {
            amva_testkit::skip("set AMVA_TEST_NETWORK=1 to download the real npm package");
            return;
        }
        let tmp = tempfile::tempdir().unwrap();
        let src = ModelSource::Cache(tmp.path().join("models"));
        let notes = std::cell::RefCell::new(Vec::new());
        let p = ensure_in(&src, FR_FEATURE, &|m| {
            notes.borrow_mut().push(m.to_string())
        })
        .unwrap();
        assert_eq!(notes.borrow().len(), 1, "one download, announced once");
        assert!(notes.borrow()[0].starts_with("downloading the default models from "));
        assert_eq!(
            amva_io::cache::sha256_file(&p).unwrap(),
            DEFAULT_MODELS[1].1
        );
        assert_eq!(
            std::fs::read_dir(tmp.path().join("models"))
                .unwrap()
                .count(),
            4
        );
    }
}
