//! Golden comparisons: a command's output folder against outputs kept from an earlier
//! commit (tests/golden.rs for `amva analyze`, tests/demo.rs for `amva demo`).
//!
//! - summary.json: same keys and strings (this run's paths replaced by placeholders, the
//!   command line and run time dropped), numbers within 1e-12;
//! - other .json: as JSON, numbers within 1e-12; every other file byte for byte;
//! - files kept as a digest only (every .npy, and what the caller adds): SHA-256, listed in
//!   the folder's `MANIFEST.sha256`;
//! - every PNG against the kept PNG, pixel by pixel, allowing 1 grey level per channel
//!   (anti-aliasing rounding); the count of changed pixels is printed.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde_json::Value;

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

/// summary.json with this run's paths replaced and the run time dropped.
pub fn normalised_summary(path: &Path, replace: &[(String, &str)]) -> Value {
    let mut text = std::fs::read_to_string(path).unwrap();
    for (from, to) in replace {
        // Paths appear JSON-escaped; these hold no characters JSON escapes.
        text = text.replace(from.as_str(), to);
    }
    let mut v: Value = serde_json::from_str(&text).unwrap();
    let obj = v.as_object_mut().unwrap();
    obj.remove("command_line");
    if let Some(c) = obj.get_mut("computation").and_then(Value::as_object_mut) {
        c.remove("seconds");
    }
    if let Some(figs) = obj.get_mut("figures").and_then(Value::as_array_mut) {
        figs.retain(|f| {
            !f["file"]
                .as_str()
                .is_some_and(|p| newer_than_fixtures(Path::new(p)))
        });
    }
    v
}

/// Differences between two JSON trees (numbers within 1e-12, relative above 1).
pub fn json_diff(path: &str, want: &Value, got: &Value, out: &mut Vec<String>) {
    match (want, got) {
        (Value::Object(a), Value::Object(b)) => {
            let keys: BTreeSet<&String> = a.keys().chain(b.keys()).collect();
            for k in keys {
                match (a.get(k), b.get(k)) {
                    (Some(x), Some(y)) => json_diff(&format!("{path}.{k}"), x, y, out),
                    (x, _) => out.push(format!(
                        "{path}.{k}: {}",
                        if x.is_some() { "missing" } else { "new" }
                    )),
                }
            }
        }
        (Value::Array(a), Value::Array(b)) if a.len() == b.len() => {
            for (i, (x, y)) in a.iter().zip(b).enumerate() {
                json_diff(&format!("{path}[{i}]"), x, y, out);
            }
        }
        (Value::Number(a), Value::Number(b)) => {
            let (x, y) = (a.as_f64().unwrap(), b.as_f64().unwrap());
            if (x - y).abs() > 1e-12 * x.abs().max(1.0) {
                out.push(format!("{path}: {x} -> {y}"));
            }
        }
        (a, b) if a == b => {}
        (a, b) => out.push(format!("{path}: {a} -> {b}")),
    }
}

pub const MANIFEST: &str = "MANIFEST.sha256";

/// SHA-256 of a file's bytes.
pub fn digest(path: &Path) -> String {
    amva_io::cache::sha256_hex(&std::fs::read(path).unwrap())
}

/// Kept as a digest only (the arrays would be most of the fixture's size).
pub fn hashed(f: &Path) -> bool {
    f.extension().is_some_and(|e| e == "npy")
}

/// The manifest: relative path -> digest.
pub fn read_manifest(dir: &Path) -> std::collections::BTreeMap<PathBuf, String> {
    std::fs::read_to_string(dir.join(MANIFEST))
        .unwrap()
        .lines()
        .filter_map(|l| l.split_once("  "))
        .map(|(h, p)| (PathBuf::from(p), h.to_string()))
        .collect()
}

/// Largest change of a pixel channel that counts as the same drawing.
pub const PNG_TOLERANCE: u8 = 1;

/// (pixels that differ, pixels that differ by more than [`PNG_TOLERANCE`] in a channel,
/// the largest channel difference).
pub fn png_diff(want: &Path, got: &Path) -> Result<(usize, usize, u8), String> {
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
        large += usize::from(d > PNG_TOLERANCE);
        max = max.max(d);
    }
    Ok((changed, large, max))
}

/// True when `AMVA_GOLDEN_WRITE=1`: the test writes the kept outputs instead of comparing.
pub fn writing() -> bool {
    std::env::var_os("AMVA_GOLDEN_WRITE").is_some_and(|v| v == "1")
}

/// Outputs the analysis gained after the fixtures were made (issue 12: every image
/// explained): images.csv, the typicality reference, the galleries, the explorer, the
/// categorical groups and the EDC.
/// Their numbers are tested against naive implementations
/// (`amva-analysis/tests/naive.rs`) and in the browser (`analyze.rs`), not pinned here.
fn newer_than_fixtures(f: &Path) -> bool {
    let under = |dir: &str| f.components().any(|c| c.as_os_str() == dir);
    let name = f.file_name().and_then(|n| n.to_str()).unwrap_or("");
    name == "images.csv"
        || name == "explorer.html"
        || name.starts_with("gallery_")
        || under("typicality")
        || under("explorer")
        // --groups and --pairs (the demo passes its degradation kinds and pairs)
        || name.starts_with("labels")
        || under("labels")
        || under("edc")
        || name == "edc.png"
        || (f.parent() == Some(Path::new("")) && (name == "groups.csv" || name == "pairs.csv"))
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

impl Golden<'_> {
    fn ignored(&self, f: &Path) -> bool {
        f.file_name().is_some_and(|n| n == "report.html")
            || (self.skip)(f)
            || newer_than_fixtures(f)
    }

    fn hashed(&self, f: &Path) -> bool {
        hashed(f) || (self.digest_only)(f)
    }

    /// Replaces the kept outputs with those in `out`.
    pub fn write(&self, out: &Path) {
        let expected = &self.expected;
        let _ = std::fs::remove_dir_all(expected);
        let mut manifest = String::new();
        for f in files(out).into_iter().filter(|f| !self.ignored(f)) {
            if self.hashed(&f) {
                manifest.push_str(&format!("{}  {}\n", digest(&out.join(&f)), f.display()));
                continue;
            }
            let dst = expected.join(&f);
            std::fs::create_dir_all(dst.parent().unwrap()).unwrap();
            if f.file_name().is_some_and(|n| n == "summary.json") {
                let v = normalised_summary(&out.join(&f), &self.replace);
                std::fs::write(dst, serde_json::to_string_pretty(&v).unwrap() + "\n").unwrap();
            } else {
                std::fs::copy(out.join(&f), dst).unwrap();
            }
        }
        std::fs::create_dir_all(expected).unwrap();
        std::fs::write(expected.join(MANIFEST), manifest).unwrap();
        eprintln!("{}: wrote {}", self.name, expected.display());
    }

    /// Compares `out` with the kept outputs; panics listing every difference.
    pub fn compare(&self, out: &Path) {
        let mut problems: Vec<String> = Vec::new();
        let manifest = read_manifest(&self.expected);
        let mut want_files = files(&self.expected);
        want_files.remove(Path::new(MANIFEST));
        want_files.extend(manifest.keys().cloned());
        let mut got_files = files(out);
        got_files.retain(|f| !self.ignored(f));
        for f in want_files.symmetric_difference(&got_files) {
            problems.push(format!(
                "{}: {}",
                f.display(),
                if want_files.contains(f) {
                    "not written any more"
                } else {
                    "new file"
                }
            ));
        }
        let (mut pngs, mut changed_pixels, mut max_diff) = (0, 0, 0);
        for f in want_files.intersection(&got_files) {
            let (w, g) = (self.expected.join(f), out.join(f));
            let ext = f.extension().and_then(|e| e.to_str()).unwrap_or("");
            pngs += usize::from(ext == "png");
            if let Some(h) = manifest.get(f) {
                if *h != digest(&g) {
                    problems.push(format!("{}: SHA-256 differs", f.display()));
                }
                continue;
            }
            if f.file_name().is_some_and(|n| n == "summary.json") {
                let want: Value =
                    serde_json::from_str(&std::fs::read_to_string(&w).unwrap()).unwrap();
                let got = normalised_summary(&g, &self.replace);
                json_diff("summary", &want, &got, &mut problems);
            } else if ext == "png" {
                match png_diff(&w, &g) {
                    Ok((n, large, max)) => {
                        changed_pixels += n;
                        max_diff = max_diff.max(max);
                        if large > 0 {
                            problems.push(format!(
                            "{}: {n} pixels changed, {large} by more than {PNG_TOLERANCE} grey level (up to {max})",
                            f.display()
                        ));
                        }
                    }
                    Err(e) => problems.push(format!("{}: {e}", f.display())),
                }
            } else if ext == "json" {
                let parse = |p: &Path| -> Value {
                    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
                };
                json_diff(
                    &f.display().to_string(),
                    &parse(&w),
                    &parse(&g),
                    &mut problems,
                );
            } else if std::fs::read(&w).unwrap() != std::fs::read(&g).unwrap() {
                problems.push(format!("{}: bytes differ", f.display()));
            }
        }
        eprintln!(
        "{}: {} files compared ({pngs} PNG; {changed_pixels} pixels changed, by at most {max_diff} grey level), {} differences",
        self.name,
        want_files.len(),
        problems.len()
    );
        assert!(
            problems.is_empty(),
            "{}: outputs differ from the golden ones:\n{}",
            self.name,
            problems.join("\n")
        );
    }
}
