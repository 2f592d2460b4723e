//! `amva engine install`: the ONNX Runtime shared library from the official
//! `onnxruntime` CPU wheel on PyPI, checked against the SHA-256 that PyPI publishes for
//! the file (PEP 691 simple index), extracted into `<cache>/onnxruntime/`.

use amva_model::Error;

/// Result type of the engine installation (the engine crate's errors).
type Result<T, E = Error> = std::result::Result<T, E>;
use std::io::Read;
use std::path::PathBuf;

/// The wheel version installed by default (tested with amva).
pub const DEFAULT_VERSION: &str = "1.32.0";

/// The platform tag fragment of this machine's wheel.
fn platform_fragment() -> Option<(&'static str, &'static str)> {
    // (fragment in the wheel file name, library file name prefix inside the wheel)
    if cfg!(all(target_os = "linux", target_arch = "x86_64")) {
        Some(("manylinux", "libonnxruntime.so"))
    } else if cfg!(all(target_os = "linux", target_arch = "aarch64")) {
        Some(("aarch64", "libonnxruntime.so"))
    } else if cfg!(all(target_os = "macos", target_arch = "aarch64")) {
        Some(("macosx", "libonnxruntime."))
    } else if cfg!(all(target_os = "windows", target_arch = "x86_64")) {
        Some(("win_amd64", "onnxruntime.dll"))
    } else {
        None
    }
}

/// One wheel file on the index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wheel {
    pub filename: String,
    pub url: String,
    pub sha256: String,
}

/// The wheel links of a PEP 503 simple-index page: `<a href="URL#sha256=HEX">FILE</a>`.
pub fn parse_simple_index(html: &str) -> Vec<Wheel> {
    html.split("href=\"")
        .skip(1)
        .filter_map(|rest| {
            let href = rest.split('"').next()?.replace("&amp;", "&");
            let (url, sha) = href.split_once("#sha256=")?;
            let filename = url.rsplit('/').next()?.to_string();
            Some(Wheel {
                filename,
                url: url.to_string(),
                sha256: sha.to_string(),
            })
        })
        .collect()
}

/// Picks this platform's wheel of `version` from the index's wheels.
pub fn pick_wheel(wheels: &[Wheel], version: &str) -> Result<Wheel> {
    let (frag, _) = platform_fragment()
        .ok_or_else(|| Error::OrtUnavailable("no onnxruntime wheel for this platform".into()))?;
    let prefix = format!("onnxruntime-{version}-");
    let arch_ok = |f: &str| match frag {
        "manylinux" => f.contains("manylinux") && f.ends_with("x86_64.whl"),
        "aarch64" => f.contains("manylinux") && f.ends_with("aarch64.whl"),
        other => f.contains(other),
    };
    let mut found: Vec<&Wheel> = wheels
        .iter()
        .filter(|w| w.filename.starts_with(&prefix) && arch_ok(&w.filename))
        .collect();
    found.sort_by(|a, b| a.filename.cmp(&b.filename));
    found.pop().cloned().ok_or_else(|| {
        Error::OrtUnavailable(format!(
            "PyPI lists no onnxruntime {version} wheel for this platform"
        ))
    })
}

/// Downloads, verifies and installs the library; returns its path. `note` hears of
/// the wheel's download before it starts.
pub fn install(version: &str, note: &dyn Fn(&str)) -> Result<PathBuf> {
    let index_url =
        std::env::var("AMVA_PYPI_SIMPLE").unwrap_or_else(|_| "https://pypi.org/simple".into());
    let url = format!("{}/onnxruntime/", index_url.trim_end_matches('/'));
    let index = crate::download(&url, 64 << 20)?;
    let wheel = pick_wheel(
        &parse_simple_index(&String::from_utf8_lossy(&index)),
        version,
    )?;
    note(&format!("downloading {} ({})", wheel.filename, wheel.url));
    let bytes = crate::download_verified(&wheel.url, &wheel.sha256, 1 << 30)?;
    let (name, lib) = extract_library(&bytes, &wheel.filename)?;
    let dir = amva_model::ort_engine_dir()?;
    amva_io::cache::install_files(&dir, &[(name.clone(), lib)])?;
    Ok(dir.join(name))
}

/// The ONNX Runtime library inside a wheel (zip): `onnxruntime/capi/libonnxruntime.so.<v>`.
pub fn extract_library(wheel: &[u8], what: &str) -> Result<(String, Vec<u8>)> {
    let (_, lib_prefix) =
        platform_fragment().ok_or_else(|| Error::OrtUnavailable("unsupported platform".into()))?;
    let bad = |e: String| Error::OrtUnavailable(format!("{what}: {e}"));
    let mut zip =
        zip::ZipArchive::new(std::io::Cursor::new(wheel)).map_err(|e| bad(e.to_string()))?;
    for i in 0..zip.len() {
        let mut f = zip.by_index(i).map_err(|e| bad(e.to_string()))?;
        let name = f.name().map_err(|e| bad(e.to_string()))?.to_string();
        let file = name.rsplit('/').next().unwrap_or(&name).to_string();
        if name.contains("capi/") && file.starts_with(lib_prefix) && !file.contains("providers") {
            let mut data = Vec::with_capacity(f.size() as usize);
            f.read_to_end(&mut data).map_err(|e| bad(e.to_string()))?;
            return Ok((file, data));
        }
    }
    Err(bad("the wheel has no onnxruntime/capi/ library".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg(all(target_os = "linux", target_arch = "x86_64"))]
    fn picks_the_linux_wheel_of_the_version() {
        let html = r#"<a href="https://f/p/onnxruntime-1.32.0-cp311-cp311-win_amd64.whl#sha256=aa">x</a>
            <a href="https://f/p/onnxruntime-1.32.0-cp311-cp311-manylinux_2_28_x86_64.whl#sha256=bb" data-requires-python="&gt;=3.10">x</a>
            <a href="https://f/p/onnxruntime-1.31.0-cp311-cp311-manylinux_2_28_x86_64.whl#sha256=cc">x</a>
            <a href="https://f/p/onnxruntime-1.32.0-cp312-cp312-manylinux_2_28_aarch64.whl#sha256=dd">x</a>"#;
        let wheels = parse_simple_index(html);
        assert_eq!(wheels.len(), 4);
        let w = pick_wheel(&wheels, "1.32.0").unwrap();
        assert_eq!(
            w.url,
            "https://f/p/onnxruntime-1.32.0-cp311-cp311-manylinux_2_28_x86_64.whl"
        );
        assert_eq!(w.sha256, "bb");
        assert!(pick_wheel(&wheels, "9.9.9")
            .unwrap_err()
            .to_string()
            .contains("9.9.9"));
    }
}
