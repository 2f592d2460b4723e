//! Golden comparisons: a command's output folder against outputs kept from an earlier
//! commit (tests/golden.rs for `amva analyze`, tests/demo.rs for `amva demo`).
//!
//! Two modes:
//! - [`Mode::Exact`] (the machine that made the fixture, or computations that do not
//!   depend on the CPU): summary.json and other .json as JSON with numbers within 1e-12;
//!   every other file byte for byte; files kept as a digest only (every .npy, and what the
//!   caller adds) by SHA-256 (`MANIFEST.sha256`); every PNG pixel by pixel, allowing
//!   [`PNG_TOLERANCE`] grey level per channel (anti-aliasing rounding).
//! - [`Mode::Tolerant`] (another CPU: the models' floating-point results depend on the
//!   engine's kernels, which depend on the vector units): numbers within
//!   [`Tolerance`]'s bounds (JSON, CSV cells, the explorer's data), text cells equal in
//!   all but a stated share of cells (a near-tie can swap two images' groups or ranks),
//!   files kept as a digest by their fingerprint (`FINGERPRINTS.json`: shape and
//!   statistics of every array, an 8 x 8 thumbnail of every image), and figures by their
//!   largest grey-level difference and the share of pixels that moved by more than a bound.
//!
//! Both modes compare every file; neither passes without comparing.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde_json::{json, Value};

/// Every file below `dir`, relative, sorted.
pub fn files(dir: &Path) -> BTreeSet<PathBuf> {
    let mut out = BTreeSet::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap_or_else(|e| panic!("{}: {e}", d.display())) {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.insert(p.strip_prefix(dir).unwrap().to_path_buf());
            }
        }
    }
    out
}

/// A text output with this run's paths replaced by placeholders (`replace`).
pub fn normalised_text(path: &Path, replace: &[(String, &str)]) -> String {
    let mut text = std::fs::read_to_string(path).unwrap();
    for (from, to) in replace {
        // Paths appear JSON-escaped; these hold no characters JSON escapes.
        text = text.replace(from.as_str(), to);
    }
    text
}

/// summary.json with this run's paths replaced and the command line and run time dropped.
pub fn normalised_summary(path: &Path, replace: &[(String, &str)]) -> Value {
    let mut v: Value = serde_json::from_str(&normalised_text(path, replace)).unwrap();
    let obj = v.as_object_mut().unwrap();
    obj.remove("command_line");
    if let Some(c) = obj.get_mut("computation").and_then(Value::as_object_mut) {
        c.remove("seconds");
    }
    v
}

/// Text files, compared after [`normalised_text`].
fn is_text(f: &Path) -> bool {
    let ext = f.extension().and_then(|e| e.to_str()).unwrap_or("");
    matches!(ext, "json" | "csv" | "js" | "html" | "txt")
}

/// How far a number may move in [`Mode::Tolerant`].
#[derive(Debug, Clone, Copy)]
pub struct Tolerance {
    /// Relative bound: |a - b| <= rel * max(|a|, |b|) ...
    pub rel: f64,
    /// ... or |a - b| <= abs.
    pub abs: f64,
    /// Share of text cells (CSV fields, JSON strings) that may differ, and of the images
    /// kept as a digest whose thumbnail may move by more than `thumb_levels`.
    pub text_share: f64,
    /// A figure's pixels may move by more than this many grey levels ...
    pub png_levels: u8,
    /// ... in at most this share of its pixels.
    pub png_share: f64,
    /// Thumbnail cells of an image kept as a digest may move by this many grey levels.
    pub thumb_levels: f64,
}

/// The bounds of [`Mode::Tolerant`] for the demo: the models' outputs move by about 1e-6
/// between CPUs, which can move a map by 1e-5 and, where two images nearly tie at a
/// group's cut, swap one image between groups (a change of about 1 % of a group mean) and move a
/// permutation count by one (0.001 of a p-value).
pub const ACROSS_CPUS: Tolerance = Tolerance {
    rel: 0.02,
    abs: 0.002,
    text_share: 0.02,
    png_levels: 32,
    png_share: 0.02,
    thumb_levels: 6.0,
};

/// How the outputs are compared.
#[derive(Debug, Clone, Copy)]
pub enum Mode {
    /// Byte for byte (numbers in JSON within 1e-12, figures within 1 grey level).
    Exact,
    /// Within the bounds.
    Tolerant(Tolerance),
}

impl Mode {
    fn close(&self, a: f64, b: f64) -> bool {
        if a.is_nan() && b.is_nan() {
            return true;
        }
        match self {
            Mode::Exact => (a - b).abs() <= 1e-12 * a.abs().max(1.0),
            Mode::Tolerant(t) => {
                (a - b).abs() <= t.abs || (a - b).abs() <= t.rel * a.abs().max(b.abs())
            }
        }
    }
}

/// Differences between two JSON trees; strings that differ are counted in `text`.
fn json_diff(
    mode: Mode,
    path: &str,
    want: &Value,
    got: &Value,
    out: &mut Vec<String>,
    text: &mut Counts,
) {
    match (want, got) {
        (Value::Object(a), Value::Object(b)) => {
            let keys: BTreeSet<&String> = a.keys().chain(b.keys()).collect();
            for k in keys {
                match (a.get(k), b.get(k)) {
                    (Some(x), Some(y)) => json_diff(mode, &format!("{path}.{k}"), x, y, out, text),
                    (x, _) => out.push(format!(
                        "{path}.{k}: {}",
                        if x.is_some() { "missing" } else { "new" }
                    )),
                }
            }
        }
        (Value::Array(a), Value::Array(b)) if a.len() == b.len() => {
            for (i, (x, y)) in a.iter().zip(b).enumerate() {
                json_diff(mode, &format!("{path}[{i}]"), x, y, out, text);
            }
        }
        (Value::Number(a), Value::Number(b)) => {
            let (x, y) = (a.as_f64().unwrap(), b.as_f64().unwrap());
            if !mode.close(x, y) {
                out.push(format!("{path}: {x} -> {y}"));
            }
        }
        (Value::String(a), Value::String(b)) if matches!(mode, Mode::Tolerant(_)) => {
            text.add(a == b, || format!("{path}: {a} -> {b}"));
        }
        (a, b) if a == b => {}
        (a, b) => out.push(format!("{path}: {a} -> {b}")),
    }
}

/// Text cells compared, and those that differ (with the first few named).
#[derive(Default)]
struct Counts {
    cells: usize,
    differ: usize,
    first: Vec<String>,
}

impl Counts {
    fn add(&mut self, same: bool, what: impl FnOnce() -> String) {
        self.cells += 1;
        if !same {
            self.differ += 1;
            if self.first.len() < 5 {
                self.first.push(what());
            }
        }
    }

    /// A problem when more than `share` of the cells differ.
    fn check(&self, name: &str, share: f64, out: &mut Vec<String>) {
        if self.differ as f64 > share * self.cells as f64 {
            out.push(format!(
                "{name}: {} of {} differ (bound {:.1} %), e.g. {:?}",
                self.differ,
                self.cells,
                100.0 * share,
                self.first
            ));
        }
    }
}

/// A CSV compared cell by cell: numbers within the mode's bounds, text counted.
fn csv_diff(
    mode: Mode,
    name: &str,
    want: &str,
    got: &str,
    out: &mut Vec<String>,
    text: &mut Counts,
) {
    let read = |t: &str| -> Vec<Vec<String>> {
        let mut rd = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(t.as_bytes());
        rd.records()
            .map(|r| r.unwrap().iter().map(String::from).collect())
            .collect()
    };
    let (a, b) = (read(want), read(got));
    if a.len() != b.len() {
        out.push(format!("{name}: {} rows -> {}", a.len(), b.len()));
        return;
    }
    for (i, (ra, rb)) in a.iter().zip(&b).enumerate() {
        if ra.len() != rb.len() {
            out.push(format!(
                "{name} row {i}: {} fields -> {}",
                ra.len(),
                rb.len()
            ));
            continue;
        }
        for (x, y) in ra.iter().zip(rb) {
            match (x.parse::<f64>(), y.parse::<f64>()) {
                (Ok(p), Ok(q)) if !mode.close(p, q) => {
                    out.push(format!("{name} row {i}: {x} -> {y}"))
                }
                (Ok(_), Ok(_)) => {}
                _ => text.add(x == y, || format!("{name} row {i}: {x} -> {y}")),
            }
        }
    }
}

pub const MANIFEST: &str = "MANIFEST.sha256";
pub const FINGERPRINTS: &str = "FINGERPRINTS.json";

/// SHA-256 of a file's bytes.
pub fn digest(path: &Path) -> String {
    amva_io::cache::sha256_hex(&std::fs::read(path).unwrap())
}

/// Kept as a digest only (they would be most of the fixture's size): every array, the
/// explorer's JPEG sprite sheets and the report's gallery figures.
pub fn hashed(f: &Path) -> bool {
    let name = f.file_name().and_then(|n| n.to_str()).unwrap_or("");
    f.extension().is_some_and(|e| e == "npy" || e == "jpg") || name.starts_with("gallery_")
}

/// The manifest: relative path -> digest.
pub fn read_manifest(dir: &Path) -> BTreeMap<PathBuf, String> {
    std::fs::read_to_string(dir.join(MANIFEST))
        .unwrap()
        .lines()
        .filter_map(|l| l.split_once("  "))
        .map(|(h, p)| (PathBuf::from(p), h.to_string()))
        .collect()
}

/// What is kept of a digest-only file to compare it on another CPU: an array's shape,
/// mean, standard deviation, extremes and 32 evenly spaced values; an image's size and
/// 8 x 8 grid of block means per channel.
pub fn fingerprint(path: &Path) -> Value {
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
    if ext == "npy" {
        let a = amva_io::npy::read_f32(path).unwrap();
        let v: Vec<f64> = a.iter().map(|&x| f64::from(x)).collect();
        let n = v.len().max(1) as f64;
        let mean = v.iter().sum::<f64>() / n;
        let std = (v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n).sqrt();
        let (lo, hi) = v
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &x| {
                (a.min(x), b.max(x))
            });
        let samples: Vec<f64> = (0..32.min(v.len()))
            .map(|k| v[k * v.len() / 32.min(v.len())])
            .collect();
        return json!({"shape": a.shape(), "mean": mean, "std": std, "min": lo, "max": hi,
                      "samples": samples});
    }
    match image::open(path) {
        Ok(img) => {
            let img = img.to_rgb8();
            let (w, h) = img.dimensions();
            let mut cells = vec![0f64; 8 * 8 * 3];
            let mut count = vec![0f64; 8 * 8];
            for (x, y, p) in img.enumerate_pixels() {
                let c = (y * 8 / h) as usize * 8 + (x * 8 / w) as usize;
                count[c] += 1.0;
                for k in 0..3 {
                    cells[c * 3 + k] += f64::from(p.0[k]);
                }
            }
            for (c, n) in count.iter().enumerate() {
                for k in 0..3 {
                    // A tenth of a grey level is far below the bound; it keeps the file small.
                    cells[c * 3 + k] = (10.0 * cells[c * 3 + k] / n.max(1.0)).round() / 10.0;
                }
            }
            json!({"size": [w, h], "thumb": cells})
        }
        Err(_) => json!({"text": std::fs::read_to_string(path).unwrap_or_default()}),
    }
}

/// Differences between two fingerprints (tolerant mode); images whose thumbnail moved
/// are counted in `images` (a near-tie can put another image in a gallery).
fn fingerprint_diff(
    t: Tolerance,
    name: &str,
    want: &Value,
    got: &Value,
    out: &mut Vec<String>,
    images: &mut Counts,
) {
    if let Some(shape) = want.get("shape") {
        if Some(shape) != got.get("shape") {
            out.push(format!("{name}: shape {shape} -> {}", got["shape"]));
            return;
        }
        let scale = want["min"]
            .as_f64()
            .unwrap_or(0.0)
            .abs()
            .max(want["max"].as_f64().unwrap_or(0.0).abs())
            .max(1e-12);
        let mode = Mode::Tolerant(Tolerance {
            abs: t.abs * scale,
            ..t
        });
        let mut text = Counts::default();
        json_diff(mode, name, want, got, out, &mut text);
    } else if let Some(thumb) = want.get("thumb") {
        if want["size"] != got["size"] {
            out.push(format!("{name}: size {} -> {}", want["size"], got["size"]));
            return;
        }
        let (a, b) = (thumb.as_array().unwrap(), got["thumb"].as_array().unwrap());
        let worst = a
            .iter()
            .zip(b)
            .map(|(x, y)| (x.as_f64().unwrap() - y.as_f64().unwrap()).abs())
            .fold(0.0, f64::max);
        images.add(worst <= t.thumb_levels, || {
            format!("{name}: a thumbnail cell moved by {worst:.1} grey levels")
        });
    } else if want != got {
        out.push(format!("{name}: text differs"));
    }
}

/// Largest change of a pixel channel that counts as the same drawing (exact mode).
pub const PNG_TOLERANCE: u8 = 1;

/// (pixels that differ, pixels that differ by more than `bound` in a channel, the largest
/// channel difference).
pub fn png_diff(want: &Path, got: &Path, bound: u8) -> Result<(usize, usize, u8), String> {
    let a = image::open(want).map_err(|e| e.to_string())?.to_rgb8();
    let b = image::open(got).map_err(|e| e.to_string())?.to_rgb8();
    if a.dimensions() != b.dimensions() {
        return Err(format!("size {:?} -> {:?}", a.dimensions(), b.dimensions()));
    }
    let (mut changed, mut large, mut max) = (0, 0, 0);
    for (p, q) in a.pixels().zip(b.pixels()) {
        let d =
            p.0.iter()
                .zip(q.0)
                .map(|(x, y)| x.abs_diff(y))
                .max()
                .unwrap_or(0);
        changed += usize::from(d > 0);
        large += usize::from(d > bound);
        max = max.max(d);
    }
    Ok((changed, large, max))
}

/// True when `AMVA_GOLDEN_WRITE=1`: the test writes the kept outputs instead of comparing.
pub fn writing() -> bool {
    std::env::var_os("AMVA_GOLDEN_WRITE").is_some_and(|v| v == "1")
}

/// The explorer's data file: `window.AMVA_EXPLORER = {...};` as JSON.
fn explorer_data(text: &str) -> Value {
    let body = text
        .trim()
        .trim_start_matches("window.AMVA_EXPLORER = ")
        .trim_end_matches(';');
    serde_json::from_str(body).unwrap_or_else(|e| panic!("explorer data: {e}"))
}

/// One kept output folder and how to read it.
pub struct Golden<'a> {
    /// Printed with the counts.
    pub name: &'a str,
    /// The kept outputs.
    pub expected: PathBuf,
    /// (text of this run, placeholder) pairs applied to summary.json.
    pub replace: Vec<(String, &'static str)>,
    /// Files left out (every report.html always is: it holds the version and command line).
    pub skip: &'a dyn Fn(&Path) -> bool,
    /// Files kept as SHA-256 only, beside every .npy.
    pub digest_only: &'a dyn Fn(&Path) -> bool,
}

/// What a comparison found.
struct Found {
    problems: Vec<String>,
    text: Counts,
    images: Counts,
    pngs: usize,
    changed_pixels: usize,
    max_diff: u8,
}

impl Golden<'_> {
    fn ignored(&self, f: &Path) -> bool {
        f.file_name().is_some_and(|n| n == "report.html") || (self.skip)(f)
    }

    fn hashed(&self, f: &Path) -> bool {
        hashed(f) || (self.digest_only)(f)
    }

    /// Replaces the kept outputs with those in `out`.
    pub fn write(&self, out: &Path) {
        let expected = &self.expected;
        let _ = std::fs::remove_dir_all(expected);
        let mut manifest = String::new();
        let mut prints = serde_json::Map::new();
        for f in files(out).into_iter().filter(|f| !self.ignored(f)) {
            if self.hashed(&f) {
                let p = out.join(&f);
                manifest.push_str(&format!("{}  {}\n", digest(&p), f.display()));
                prints.insert(f.display().to_string(), fingerprint(&p));
                continue;
            }
            let dst = expected.join(&f);
            std::fs::create_dir_all(dst.parent().unwrap()).unwrap();
            if f.file_name().is_some_and(|n| n == "summary.json") {
                let v = normalised_summary(&out.join(&f), &self.replace);
                std::fs::write(dst, serde_json::to_string_pretty(&v).unwrap() + "\n").unwrap();
            } else if is_text(&f) {
                std::fs::write(dst, normalised_text(&out.join(&f), &self.replace)).unwrap();
            } else {
                std::fs::copy(out.join(&f), dst).unwrap();
            }
        }
        std::fs::create_dir_all(expected).unwrap();
        std::fs::write(expected.join(MANIFEST), manifest).unwrap();
        let prints = serde_json::to_string(&Value::Object(prints)).unwrap();
        std::fs::write(expected.join(FINGERPRINTS), prints + "\n").unwrap();
        eprintln!("{}: wrote {}", self.name, expected.display());
    }

    /// Compares `out` with the kept outputs in `mode`; panics listing every difference.
    pub fn compare(&self, out: &Path, mode: Mode) {
        let manifest = read_manifest(&self.expected);
        let prints: BTreeMap<String, Value> = serde_json::from_str(
            &std::fs::read_to_string(self.expected.join(FINGERPRINTS)).unwrap(),
        )
        .unwrap();
        let mut want_files = files(&self.expected);
        want_files.remove(Path::new(MANIFEST));
        want_files.remove(Path::new(FINGERPRINTS));
        want_files.extend(manifest.keys().cloned());
        let mut got_files = files(out);
        got_files.retain(|f| !self.ignored(f));
        let mut found = Found {
            problems: Vec::new(),
            text: Counts::default(),
            images: Counts::default(),
            pngs: 0,
            changed_pixels: 0,
            max_diff: 0,
        };
        for f in want_files.symmetric_difference(&got_files) {
            let what = if want_files.contains(f) {
                "not written any more"
            } else {
                "new file"
            };
            found.problems.push(format!("{}: {what}", f.display()));
        }
        for f in want_files.intersection(&got_files) {
            let kept = manifest
                .get(f)
                .map(|h| (h, &prints[&f.display().to_string()]));
            self.compare_file(f, kept, out, mode, &mut found);
        }
        if let Mode::Tolerant(t) = mode {
            found
                .text
                .check("text cells", t.text_share, &mut found.problems);
            let images = "images kept as a digest";
            found
                .images
                .check(images, t.text_share, &mut found.problems);
        }
        eprintln!(
            "{} ({mode:?}): {} files compared ({} PNG; {} pixels changed, by at most {} grey levels; {} of {} text cells differ), {} differences",
            self.name,
            want_files.len(),
            found.pngs,
            found.changed_pixels,
            found.max_diff,
            found.text.differ,
            found.text.cells,
            found.problems.len()
        );
        assert!(
            want_files.len() > 10 && found.problems.is_empty(),
            "{}: outputs differ from the golden ones:\n{}",
            self.name,
            found.problems.join("\n")
        );
    }

    fn compare_file(
        &self,
        f: &Path,
        kept: Option<(&String, &Value)>,
        out: &Path,
        mode: Mode,
        found: &mut Found,
    ) {
        let (w, g) = (self.expected.join(f), out.join(f));
        let name = f.display().to_string();
        let ext = f.extension().and_then(|e| e.to_str()).unwrap_or("");
        let problems = &mut found.problems;
        if let Some((hash, print)) = kept {
            match mode {
                Mode::Exact if *hash != digest(&g) => {
                    problems.push(format!("{name}: SHA-256 differs"))
                }
                Mode::Exact => {}
                Mode::Tolerant(t) => {
                    let got = fingerprint(&g);
                    fingerprint_diff(t, &name, print, &got, problems, &mut found.images)
                }
            }
            return;
        }
        let parse = |text: String| -> Value { serde_json::from_str(&text).unwrap() };
        let kept_text = || std::fs::read_to_string(&w).unwrap();
        let got_text = || normalised_text(&g, &self.replace);
        if f.file_name().is_some_and(|n| n == "summary.json") {
            let got = normalised_summary(&g, &self.replace);
            json_diff(
                mode,
                "summary",
                &parse(kept_text()),
                &got,
                problems,
                &mut found.text,
            );
        } else if ext == "json" {
            let (a, b) = (parse(kept_text()), parse(got_text()));
            json_diff(mode, &name, &a, &b, problems, &mut found.text);
        } else if ext == "png" {
            found.pngs += 1;
            let (bound, share) = match mode {
                Mode::Exact => (PNG_TOLERANCE, 0.0),
                Mode::Tolerant(t) => (t.png_levels, t.png_share),
            };
            match png_diff(&w, &g, bound) {
                Ok((n, large, max)) => {
                    found.changed_pixels += n;
                    found.max_diff = found.max_diff.max(max);
                    let pixels = image::image_dimensions(&w).map(|(a, b)| a * b).unwrap_or(1);
                    if large as f64 > share * f64::from(pixels) {
                        problems.push(format!(
                            "{name}: {n} pixels changed, {large} by more than {bound} grey levels (up to {max})"
                        ));
                    }
                }
                Err(e) => problems.push(format!("{name}: {e}")),
            }
        } else if matches!(mode, Mode::Tolerant(_)) && ext == "csv" {
            csv_diff(
                mode,
                &name,
                &kept_text(),
                &got_text(),
                problems,
                &mut found.text,
            );
        } else if matches!(mode, Mode::Tolerant(_)) && name.ends_with("data.js") {
            let (a, b) = (explorer_data(&kept_text()), explorer_data(&got_text()));
            json_diff(mode, &name, &a, &b, problems, &mut found.text);
        } else if is_text(f) {
            if kept_text() != got_text() {
                problems.push(format!("{name}: text differs"));
            }
        } else if std::fs::read(&w).unwrap() != std::fs::read(&g).unwrap() {
            problems.push(format!("{name}: bytes differ"));
        }
    }
}
