//! Real sample photos from registry packages: the test images of the `face_recognition`
//! source package and the sample images of the `insightface` source package on PyPI.
//! Each archive is pinned by SHA-256 and cached under `<cache>/samples/`.

use std::path::{Path, PathBuf};

/// One registry archive and the images taken from it.
#[derive(Debug, Clone, Copy)]
pub struct SamplePackage {
    pub name: &'static str,
    pub url: &'static str,
    pub sha256: &'static str,
    pub license: &'static str,
    /// Paths inside the archive, and the file name they get in the cache.
    pub files: &'static [(&'static str, &'static str)],
}

/// The packages the demo's photos come from.
pub const PACKAGES: [SamplePackage; 2] = [
    SamplePackage {
        name: "face_recognition 1.3.0 (PyPI sdist)",
        url: "https://files.pythonhosted.org/packages/6c/49/75dda409b94841f01cbbc34114c9b67ec618265084e4d12d37ab838f4fd3/face_recognition-1.3.0.tar.gz",
        sha256: "5e5efdd1686aa566af0d3cc1313b131e4b197657a8ffd03669e6d3fad92705ec",
        license: "MIT (Adam Geitgey); press photos used as test fixtures",
        files: &[
            ("face_recognition-1.3.0/tests/test_images/obama.jpg", "obama.jpg"),
            ("face_recognition-1.3.0/tests/test_images/obama2.jpg", "obama2.jpg"),
            ("face_recognition-1.3.0/tests/test_images/obama3.jpg", "obama3.jpg"),
            ("face_recognition-1.3.0/tests/test_images/biden.jpg", "biden.jpg"),
            ("face_recognition-1.3.0/tests/test_images/obama_partial_face.jpg", "obama_partial_face.jpg"),
            ("face_recognition-1.3.0/tests/test_images/obama_partial_face2.jpg", "obama_partial_face2.jpg"),
        ],
    },
    SamplePackage {
        name: "insightface 0.7.3 (PyPI sdist)",
        url: "https://files.pythonhosted.org/packages/0b/8d/0f4af90999ca96cf8cb846eb5ae27c5ef5b390f9c090dd19e4fa76364c13/insightface-0.7.3.tar.gz",
        sha256: "f191f719612ebb37018f41936814500544cd0f86e6fcd676c023f354c668ddf7",
        license: "MIT (insightface); sample images",
        files: &[
            ("insightface-0.7.3/insightface/data/images/t1.jpg", "t1.jpg"),
            ("insightface-0.7.3/insightface/data/images/Tom_Hanks_54745.png", "Tom_Hanks_54745.png"),
        ],
    },
];

/// The folder of cached sample photos, downloading any package whose files are missing.
/// `AMVA_SAMPLES=DIR` uses a folder that already holds them (offline use).
pub fn sample_photos(note: &dyn Fn(&str)) -> amva_io::Result<PathBuf> {
    if let Some(dir) = std::env::var_os("AMVA_SAMPLES").filter(|d| !d.is_empty()) {
        return Ok(PathBuf::from(dir));
    }
    let dir = amva_io::cache::cache_dir()?.join("samples");
    for pkg in &PACKAGES {
        ensure_package(pkg, &dir, note)?;
    }
    Ok(dir)
}

/// Downloads `pkg` into `dir` unless all its files are already there.
pub fn ensure_package(pkg: &SamplePackage, dir: &Path, note: &dyn Fn(&str)) -> amva_io::Result<()> {
    if pkg.files.iter().all(|(_, name)| dir.join(name).is_file()) {
        return Ok(());
    }
    note(&format!(
        "amva: downloading sample photos: {} ({})",
        pkg.name, pkg.url
    ));
    let bytes = amva_fetch::download_verified(pkg.url, pkg.sha256, 256 << 20)?;
    let entries =
        amva_fetch::untar_gz(&bytes, |p| pkg.files.iter().any(|(inside, _)| *inside == p))?;
    let mut files = Vec::new();
    for (inside, name) in pkg.files {
        let (_, data) = entries.iter().find(|(p, _)| p == inside).ok_or_else(|| {
            amva_io::Error::Other(format!("{}: no {inside} in the archive", pkg.url))
        })?;
        files.push((name.to_string(), data.clone()));
    }
    amva_io::cache::install_files(dir, &files)
}
