//! Entry points of the fuzz targets, shared with the stable replay test
//! (`crates/amva/tests/fuzz_corpus.rs`): each writes the fuzz input where a command
//! would find its file and calls the library function that command calls. `Ok` and
//! `Err` are both fine; a panic, a hang or unbounded memory is a bug. An `Err` must
//! name the file it is about (checked here, so the fuzzer reports a message that
//! does not).
#![allow(dead_code)]

use std::path::{Path, PathBuf};

/// An entry point: `Ok` when the input was accepted, else the error message.
pub type Entry = fn(&[u8]) -> Result<(), String>;

/// The targets by name (the folder of their corpus under `fuzz/corpus/`).
pub const TARGETS: &[(&str, Entry)] = &[
    ("image", image),
    ("scores", scores),
    ("pairs", pairs),
    ("landmarks", landmarks),
    ("map_store", map_store),
    ("model_settings", model_settings),
];

/// Separates the files of a multi-file input (a map store, a score file and its sidecar).
pub const SEPARATOR: &[u8] = b"\n%%%%\n";

/// Splits `data` at [`SEPARATOR`] into at most `n` parts; absent parts are `None`.
pub fn split(data: &[u8], n: usize) -> Vec<Option<&[u8]>> {
    let mut parts = Vec::with_capacity(n);
    let mut rest = data;
    while parts.len() + 1 < n {
        match rest.windows(SEPARATOR.len()).position(|w| w == SEPARATOR) {
            Some(at) => {
                parts.push(Some(&rest[..at]));
                rest = &rest[at + SEPARATOR.len()..];
            }
            None => break,
        }
    }
    parts.push(Some(rest));
    parts.resize(n, None);
    parts
}

/// An empty folder of this process and thread (the replay test runs targets in
/// parallel threads), made anew for every input.
fn fresh_dir(name: &str) -> PathBuf {
    let thread = format!("{:?}", std::thread::current().id());
    let thread: String = thread.chars().filter(char::is_ascii_digit).collect();
    let dir = std::env::temp_dir()
        .join(format!("amva-fuzz-{}-{thread}", std::process::id()))
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("creating the fuzz scratch folder");
    dir
}

/// Writes `bytes` (if present) to `dir/name`; returns the path.
fn put(dir: &Path, name: &str, bytes: Option<&[u8]>) -> PathBuf {
    let path = dir.join(name);
    if let Some(b) = bytes {
        std::fs::write(&path, b).expect("writing a fuzz input file");
    }
    path
}

/// `Err(message)`, checked to name `what` (a file or folder name).
fn named(message: String, what: &[&str]) -> Result<(), String> {
    assert!(
        what.iter().any(|w| message.contains(w)),
        "error does not name any of {what:?}: {message}"
    );
    Err(message)
}

/// `amva maps`/`embed`/`verify`: decode with the size limits and damage warning,
/// fit (with --resize) and preprocess for the default model.
pub fn image(data: &[u8]) -> Result<(), String> {
    let dir = fresh_dir("image");
    let path = put(&dir, "face.jpg", Some(data));
    let items = [amva_io::images::ImageItem {
        id: "face.jpg".into(),
        path,
    }];
    let p = amva_model::ModelSpec::default_model().preprocess;
    let b = amva_model::preprocess::load_batch_with(&items, &p, true, false);
    assert_eq!(b.ok.len() + b.failed.len(), 1, "one image, one outcome");
    assert_eq!(b.input.len(), b.ok.len() * p.len(), "one tensor per image");
    assert!(b.input.iter().all(|v| v.is_finite()), "tensor not finite");
    match b.failed.into_iter().next() {
        None => Ok(()),
        Some((id, why)) => {
            assert_eq!(id, "face.jpg");
            named(why, &["face.jpg"])
        }
    }
}

/// `amva analyze`/`edc`/`demo`: a score file, then optionally its sidecar.
pub fn scores(data: &[u8]) -> Result<(), String> {
    let dir = fresh_dir("scores");
    let parts = split(data, 2);
    let csv = put(&dir, "scores.csv", parts[0]);
    put(&dir, "scores.meta.json", parts[1]);
    match amva_quality::scores::read_score_file(&csv) {
        Ok(methods) => {
            for m in &methods {
                assert!(
                    m.scores.iter().all(|r| r.score.is_finite()),
                    "non-finite score kept"
                );
                assert!(
                    m.non_finite.iter().all(|r| !r.score.is_finite()),
                    "finite score set aside"
                );
            }
            Ok(())
        }
        Err(e) => named(e.to_string(), &["scores.csv", "scores.meta.json"]),
    }
}

/// `amva verify`/`edc`: a pairs file.
pub fn pairs(data: &[u8]) -> Result<(), String> {
    let dir = fresh_dir("pairs");
    let path = put(&dir, "pairs.csv", Some(data));
    match amva_io::pairs::read_pairs(&path) {
        Ok(pairs) => {
            assert!(!pairs.is_empty(), "no pairs accepted");
            assert!(pairs.iter().all(|p| p.a != p.b), "self-pair accepted");
            Ok(())
        }
        Err(e) => named(e.to_string(), &["pairs.csv"]),
    }
}

/// `amva align --landmarks`: a landmarks CSV.
pub fn landmarks(data: &[u8]) -> Result<(), String> {
    let dir = fresh_dir("landmarks");
    let path = put(&dir, "landmarks.csv", Some(data));
    match amva_align::landmarks_csv::read_landmarks_csv(&path) {
        Ok(_) => Ok(()),
        Err(e) => named(e.to_string(), &["landmarks.csv"]),
    }
}

/// `amva analyze --maps` (streamed; also as `--full-maps`) and `amva merge`/`explain`
/// (`MapStore`, whole):
/// a store of meta.json, index.csv and maps.npy (also written as maps_full.npy).
pub fn map_store(data: &[u8]) -> Result<(), String> {
    use amva_maps::source::{MapKind, MapSource};
    let dir = fresh_dir("store");
    let parts = split(data, 3);
    put(&dir, "meta.json", parts[0]);
    put(&dir, "index.csv", parts[1]);
    put(&dir, "maps.npy", parts[2]);
    put(&dir, "maps_full.npy", parts[2]);
    let files = [
        "store",
        "meta.json",
        "index.csv",
        "maps.npy",
        "maps_full.npy",
    ];
    let check = |r: amva_maps::Result<()>| r.or_else(|e| named(e.to_string(), &files));
    let stream = |kind| {
        check(MapSource::open(&dir, kind).and_then(|s| {
            let mut dst = vec![0f32; s.pixels()];
            s.for_each_chunk(64, |first, rows| -> amva_maps::Result<()> {
                for (i, row) in rows.chunks_exact(s.row_len()).enumerate() {
                    s.finish_into(first + i, row, &mut dst)?;
                    assert!(dst.iter().all(|v| v.is_finite()), "finished map not finite");
                }
                Ok(())
            })
        }))
    };
    // What `amva analyze` reads by default decides the outcome; the same bytes as
    // finished maps (--full-maps, well-formed only when the shapes agree) and the
    // whole-store reader are exercised too, their errors checked to name a file.
    let low = stream(MapKind::Low);
    let _ = stream(MapKind::Full);
    let _ = check(
        amva_maps::store::MapStore::open(&dir)
            .and_then(|store| (0..store.len()).try_for_each(|i| store.full(i).map(|_| ()))),
    );
    low
}

/// The input the default model (`fr_feature.onnx`) declares: N x 3 x 112 x 112.
pub const DEFAULT_MODEL_INPUT: [Option<i64>; 4] = [None, Some(3), Some(112), Some(112)];

/// `amva maps --model-config` and `amva model`: a settings file (TOML, or JSON when it
/// starts with `{`), validated, then checked against the default model's input as
/// `FrModel::load` does before loading anything of that size.
pub fn model_settings(data: &[u8]) -> Result<(), String> {
    let dir = fresh_dir("settings");
    let name = if data.first() == Some(&b'{') {
        "model.json"
    } else {
        "model.toml"
    };
    let path = put(&dir, name, Some(data));
    let spec = match amva_model::ModelSpec::from_file(&path) {
        Ok(s) => s,
        Err(e) => return named(e.to_string(), &[name]),
    };
    spec.preprocess
        .check_input(&DEFAULT_MODEL_INPUT)
        .map_err(|reason| format!("{name}: {reason}"))
}
