//! amva's Python module `amva._native`: the command line (`cli`, behind the `amva`
//! command that `pip install .` installs), one command with its error raised (`run`,
//! behind the numpy API of `python/amva/__init__.py`), a map store written from an
//! array (`write_map_store`) and an image decoded as amva decodes it (`read_image`). Every call releases the GIL while amva works.

#[cfg(feature = "python")]
mod module {
    use pyo3::create_exception;
    use pyo3::exceptions::PyException;
    use pyo3::prelude::*;
    use std::ffi::OsString;
    use std::path::PathBuf;

    create_exception!(
        _native,
        AmvaError,
        PyException,
        "An amva command failed; the message says why."
    );

    /// The `amva` program on `argv` (its name first): what it prints, and its exit code.
    #[pyfunction]
    fn cli(py: Python<'_>, argv: Vec<String>) -> u8 {
        let args: Vec<OsString> = argv.into_iter().map(OsString::from).collect();
        py.detach(|| amva::main(&args))
    }

    /// One amva command on `argv` (its name first); raises `AmvaError` with amva's
    /// message (and its causes) when it fails.
    #[pyfunction]
    fn run(py: Python<'_>, argv: Vec<String>) -> PyResult<()> {
        let args: Vec<OsString> = argv.into_iter().map(OsString::from).collect();
        py.detach(|| amva::run(&args))
            .map_err(|e| AmvaError::new_err(message(&e)))
    }

    /// amva's message, then each cause that it does not already say.
    fn message(e: &anyhow::Error) -> String {
        let mut text = e.to_string();
        for cause in e.chain().skip(1) {
            let c = cause.to_string();
            if !text.contains(&c) {
                text.push_str(&format!("\n  caused by: {c}"));
            }
        }
        text
    }

    /// One image decoded as amva decodes it (EXIF orientation applied, size limits):
    /// its RGB bytes (row-major), width and height.
    #[pyfunction]
    fn read_image(py: Python<'_>, path: PathBuf) -> PyResult<(Vec<u8>, u32, u32)> {
        let decoded = py
            .detach(|| amva_io::images::load_checked(&path))
            .map_err(|e| AmvaError::new_err(e.to_string()))?;
        let (w, h) = decoded.image.dimensions();
        Ok((decoded.image.into_raw(), w, h))
    }

    /// Writes a map store (finished maps: N x h x w little-endian float32 bytes in
    /// `maps`, row-major) with the image ids `ids` into `dir`, as `amva analyze --maps`
    /// reads it (`amva_maps::import::write_store`).
    #[pyfunction]
    fn write_map_store(
        py: Python<'_>,
        dir: PathBuf,
        ids: Vec<String>,
        maps: &[u8],
        shape: (usize, usize),
    ) -> PyResult<()> {
        let values: Vec<f32> = maps
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        py.detach(|| {
            let extra = serde_json::json!({ "source": "amva.analyze (maps from Python)" });
            amva_maps::import::write_store(&dir, &ids, shape, shape, &values, true, extra)
        })
        .map_err(|e| AmvaError::new_err(e.to_string()))
    }

    #[pymodule]
    fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
        m.add("AmvaError", m.py().get_type::<AmvaError>())?;
        m.add_function(wrap_pyfunction!(cli, m)?)?;
        m.add_function(wrap_pyfunction!(run, m)?)?;
        m.add_function(wrap_pyfunction!(write_map_store, m)?)?;
        m.add_function(wrap_pyfunction!(read_image, m)?)?;
        Ok(())
    }
}
