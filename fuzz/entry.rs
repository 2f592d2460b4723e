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
    ("table", table),
    ("exif", exif),
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

/// Ids of a store for the groups file when the image list was refused.
const TABLE_IDS: [&str; 4] = ["a.jpg", "b.jpg", "c.jpg", "d.jpg"];

/// The header and the data rows of `text` that are not blank, split by the csv crate
/// itself (not by `amva_io::table`): tab-separated when the header's line (the first
/// line that is not empty: csv skips empty lines) holds a tab.
fn table_rows(text: &str) -> (csv::StringRecord, Vec<csv::StringRecord>) {
    let first = text
        .split(['\n', '\r'])
        .find(|l| !l.is_empty())
        .unwrap_or("");
    let mut r = csv::ReaderBuilder::new()
        .delimiter(if first.contains('\t') { b'\t' } else { b',' })
        .flexible(true)
        .from_reader(text.as_bytes());
    let header = r.headers().cloned().unwrap_or_default();
    let rows = r
        .records()
        .map(|rec| rec.expect("a table accepted by amva that csv cannot split"))
        .filter(|rec| !rec.iter().all(|f| f.trim().is_empty()))
        .collect();
    (header, rows)
}

/// `Err(message)` naming `file`; a "line N" in it is a line of `text` (1-based).
fn named_line(message: String, file: &str, text: &[u8]) -> Result<(), String> {
    if let Some(at) = message.find("line ") {
        let digits: String = message[at + 5..]
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        if let Ok(n) = digits.parse::<usize>() {
            let lines = 1 + text.iter().filter(|&&b| b == b'\n').count();
            assert!(
                (1..=lines).contains(&n),
                "line {n} of a {lines}-line file: {message}"
            );
        }
    }
    named(message, &[file])
}

/// A user's table read strictly (`amva_io::table::strict_rows`), the same bytes as
/// the image list of `amva maps`/`embed`/`quality` (`ImageList::open` on a CSV/TSV with
/// a path column) and as the groups file of `amva analyze --groups`
/// (`amva_analysis::labels::read_labels`, against the list's ids). Accepted tables are
/// re-split with the csv crate: no row of another width than the header is accepted,
/// and every non-blank row is counted once (an image, or a label's image, a label too
/// small or an unmatched line).
pub fn table(data: &[u8]) -> Result<(), String> {
    let dir = fresh_dir("table");
    let list_path = put(&dir, "list.csv", Some(data));
    let groups_path = put(&dir, "groups.csv", Some(data));
    let strict = |text: &str| {
        let (header, rows) = table_rows(text);
        for rec in &rows {
            assert_eq!(
                rec.len(),
                header.len(),
                "a row of another width than the header {header:?} was accepted: {rec:?}"
            );
        }
        (header, rows)
    };
    let list = match amva_io::images::ImageList::open(&list_path) {
        Ok(list) => {
            let text = std::str::from_utf8(data).expect("a list accepted that is not UTF-8");
            let (header, rows) = strict(text);
            assert_eq!(list.len(), rows.len(), "one image per non-blank row");
            // Each id is its row's path (relative paths as written, `/`-separated).
            let col = ["path", "image", "img", "file", "relpath", "filename"]
                .iter()
                .find_map(|n| header.iter().position(|h| h.trim().eq_ignore_ascii_case(n)))
                .unwrap_or(0);
            for (it, rec) in list.items.iter().zip(&rows) {
                let raw = rec[col].trim();
                assert!(!raw.is_empty(), "empty path accepted");
                if !std::path::Path::new(raw).is_absolute() {
                    assert_eq!(
                        it.id,
                        raw.replace('\\', "/"),
                        "the id is not its row's path"
                    );
                }
            }
            Ok(list.items.into_iter().map(|it| it.id).collect::<Vec<_>>())
        }
        Err(e) => Err(named_line(e.to_string(), "list.csv", data).unwrap_err()),
    };
    let ids: Vec<String> = match &list {
        Ok(ids) => ids.clone(),
        Err(_) => TABLE_IDS.iter().map(|s| s.to_string()).collect(),
    };
    let groups = match amva_analysis::labels::read_labels(&groups_path, &ids) {
        Ok(input) => {
            let text = std::str::from_utf8(data).expect("groups accepted that are not UTF-8");
            let used: usize = input.labels.iter().map(|l| l.rows.len()).sum();
            let small: usize = input.too_small.iter().map(|(_, n)| n).sum();
            assert_eq!(
                used + small + input.unmatched.len(),
                strict(text).1.len(),
                "every non-blank row used, too small or unmatched, once"
            );
            assert_eq!(input.of_row.len(), ids.len());
            for (k, l) in input.labels.iter().enumerate() {
                assert!(l.rows.len() >= 2, "a label of fewer than two images kept");
                assert!(l.rows.windows(2).all(|w| w[0] < w[1]), "rows not ascending");
                assert!(l.rows.iter().all(|&r| input.of_row[r] == Some(k)));
            }
            assert_eq!(input.of_row.iter().flatten().count(), used);
            assert!(input.too_small.iter().all(|(_, n)| *n < 2));
            Ok(())
        }
        Err(e) => named_line(e.to_string(), "groups.csv", data),
    };
    list.map(|_| ()).and(groups)
}

/// Longest EXIF block a JPEG APP1 segment holds after its `Exif\0\0` header.
const MAX_JPEG_EXIF: usize = 65_533 - 6;

/// The synthetic photo the EXIF blocks are put in: 16 x 8, left half red, right blue.
fn exif_photo() -> image::RgbImage {
    image::RgbImage::from_fn(16, 8, |x, _| {
        image::Rgb(if x < 8 { [250, 0, 0] } else { [0, 0, 250] })
    })
}

/// The photo as a JPEG (`png` false) or PNG carrying `exif` as its EXIF block.
fn with_exif(exif: &[u8], png: bool) -> Vec<u8> {
    use image::ImageEncoder;
    let img = exif_photo();
    let mut out = Vec::new();
    let (w, h) = img.dimensions();
    let colour = image::ExtendedColorType::Rgb8;
    if png {
        let mut enc = image::codecs::png::PngEncoder::new(&mut out);
        enc.set_exif_metadata(exif.to_vec()).unwrap();
        enc.write_image(img.as_raw(), w, h, colour).unwrap();
    } else {
        let mut enc = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 90);
        enc.set_exif_metadata(exif.to_vec()).unwrap();
        enc.write_image(img.as_raw(), w, h, colour).unwrap();
    }
    out
}

/// The EXIF orientation `d.turned` says was applied (None: none), checked against the
/// image's size: `(w, h)` as stored, swapped by orientations 5 to 8; and its notes.
fn check_turned(d: &amva_io::images::Decoded, (w, h): (u32, u32)) -> Option<u8> {
    let turned = d.turned.as_deref().map(|t| {
        let n = t
            .strip_prefix("EXIF orientation ")
            .and_then(|r| r.split(' ').next())
            .and_then(|n| n.parse::<u8>().ok())
            .unwrap_or_else(|| panic!("turned does not say the orientation: {t}"));
        assert!(
            (2..=8).contains(&n),
            "orientation {n} said to be applied: {t}"
        );
        n
    });
    let want = if turned.is_some_and(|n| n >= 5) {
        (h, w)
    } else {
        (w, h)
    };
    assert_eq!(
        d.image.dimensions(),
        want,
        "{w}x{h} as stored, turned {:?}",
        d.turned
    );
    let notes = d.notes();
    assert_eq!(notes.is_some(), d.warning.is_some() || d.turned.is_some());
    for part in [&d.warning, &d.turned].into_iter().flatten() {
        assert!(notes.as_deref().unwrap().contains(part.as_str()));
    }
    turned
}

/// EXIF orientation when decoding a photo (`amva_io::images::load_checked`, as
/// `amva quality` and, fitted, `amva maps`/`embed` read images): the input as an image
/// file (any format; the outcome), then as the EXIF block of a valid 16 x 8 JPEG and
/// PNG, which must decode whatever their EXIF says, turned exactly as the block's
/// orientation tag asks.
pub fn exif(data: &[u8]) -> Result<(), String> {
    use image::metadata::Orientation;
    let dir = fresh_dir("exif");
    let path = put(&dir, "photo.jpg", Some(data));
    let outcome = match amva_io::images::load_checked(&path) {
        Ok(d) => {
            let stored = image::ImageReader::new(std::io::Cursor::new(data))
                .with_guessed_format()
                .expect("reading from memory")
                .into_dimensions()
                .expect("a photo decoded whose header gives no size");
            check_turned(&d, stored);
            Ok(())
        }
        Err(e) => named(e.to_string(), &["photo.jpg"]),
    };
    for (name, block, png) in [
        ("exif.jpg", &data[..data.len().min(MAX_JPEG_EXIF)], false),
        ("exif.png", data, true),
    ] {
        if block.is_empty() {
            continue;
        }
        let p = put(&dir, name, Some(&with_exif(block, png)));
        let d = amva_io::images::load_checked(&p)
            .unwrap_or_else(|e| panic!("a valid photo refused for its EXIF block: {e}"));
        assert_eq!(d.warning, None, "{name}: a whole photo said to be damaged");
        let turned = check_turned(&d, (16, 8));
        let asked = Orientation::from_exif_chunk(block)
            .map(Orientation::to_exif)
            .filter(|&n| n != 1);
        assert_eq!(
            turned, asked,
            "{name}: orientation applied, asked by the EXIF block"
        );
        // The red (left) half lands where the orientation takes it.
        let red_at = match turned.unwrap_or(1) {
            1 | 4 => (3, 4),  // left
            2 | 3 => (12, 4), // right
            5 | 6 => (4, 3),  // top (of 8 x 16)
            _ => (4, 12),     // 7, 8: bottom
        };
        let px = d.image.get_pixel(red_at.0, red_at.1);
        assert!(
            px[0] > 200 && px[2] < 60,
            "{name}: red not at {red_at:?} after {turned:?}"
        );
    }
    outcome
}
