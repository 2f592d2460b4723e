//! Golden test of `amva analyze`: the outputs of the code before the refactor of the
//! analysis into typed stages (issue 11), kept in tests/fixtures/analyze-golden/expected,
//! against the outputs of the code now. Correctness is tested elsewhere (naive
//! recomputations in amva-analysis/tests/naive.rs and tests/analyze.rs); this test says
//! that a change of structure changed no number, no array and no pixel.
//!
//! - summary.json: same keys and strings (paths of this run replaced by placeholders,
//!   the run time dropped), numbers within 1e-12;
//! - every .csv and .json: byte for byte / as JSON;
//! - every .npy: byte for byte, through its SHA-256 in the case's `MANIFEST.sha256`
//!   (the arrays themselves would be most of the fixture's size);
//! - every PNG: its decoded pixels through their SHA-256 in the manifest, and for the
//!   `options` case also against the kept PNG, pixel by pixel (the count of changed
//!   pixels is printed; none may change).
//!
//! `AMVA_GOLDEN_WRITE=1 cargo test -p amva --test golden` writes the expected outputs
//! from the code at hand instead of comparing (see the fixture's README for when that is
//! legitimate).

mod util;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

fn fixture() -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/analyze-golden"
    ))
}

fn writing() -> bool {
    std::env::var_os("AMVA_GOLDEN_WRITE").is_some_and(|v| v == "1")
}

/// One analysis of the fixture's inputs: extra arguments after --maps/--out.
struct Case {
    name: &'static str,
    /// Keep the PNGs themselves (else only their pixels' SHA-256).
    keep_png: bool,
    args: Vec<String>,
    /// Score files, relative to the fixture's inputs/lfw200.
    scores: Vec<PathBuf>,
}

/// Every file below `dir`, relative, sorted.
fn files(dir: &Path) -> BTreeSet<PathBuf> {
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
fn normalised_summary(path: &Path, replace: &[(String, &str)]) -> Value {
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
    v
}

/// Differences between two JSON trees (numbers within 1e-12, relative above 1).
fn json_diff(path: &str, want: &Value, got: &Value, out: &mut Vec<String>) {
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

const MANIFEST: &str = "MANIFEST.sha256";

/// SHA-256 of a file's bytes (.npy) or of a PNG's size and decoded RGB pixels.
fn digest(path: &Path) -> String {
    let bytes = std::fs::read(path).unwrap();
    if path.extension().is_some_and(|e| e == "png") {
        let img = image::load_from_memory(&bytes).unwrap().to_rgb8();
        let mut v = format!("{}x{}\n", img.width(), img.height()).into_bytes();
        v.extend_from_slice(img.as_raw());
        amva_io::cache::sha256_hex(&v)
    } else {
        amva_io::cache::sha256_hex(&bytes)
    }
}

fn hashed(f: &Path) -> bool {
    f.extension().is_some_and(|e| e == "npy" || e == "png")
}

/// The manifest: relative path -> digest.
fn read_manifest(dir: &Path) -> std::collections::BTreeMap<PathBuf, String> {
    std::fs::read_to_string(dir.join(MANIFEST))
        .unwrap()
        .lines()
        .filter_map(|l| l.split_once("  "))
        .map(|(h, p)| (PathBuf::from(p), h.to_string()))
        .collect()
}

/// (pixels that differ, pixels that differ by more than 1 grey level per channel).
fn png_diff(want: &Path, got: &Path) -> Result<(usize, usize), String> {
    let a = image::open(want).map_err(|e| e.to_string())?.to_rgb8();
    let b = image::open(got).map_err(|e| e.to_string())?.to_rgb8();
    if a.dimensions() != b.dimensions() {
        return Err(format!("size {:?} -> {:?}", a.dimensions(), b.dimensions()));
    }
    let (mut changed, mut large) = (0, 0);
    for (p, q) in a.pixels().zip(b.pixels()) {
        if p != q {
            changed += 1;
            if p.0.iter().zip(q.0).any(|(x, y)| x.abs_diff(y) > 1) {
                large += 1;
            }
        }
    }
    Ok((changed, large))
}

/// Runs `case` (face images for the mean faces from `faces`; score files made by the
/// test in `scores_dir`) and compares with, or writes, its expected outputs.
fn run_case(case: &Case, faces: Option<&Path>, scores_dir: Option<&Path>) {
    let inputs = fixture().join("inputs/lfw200");
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let mut c = Command::new(env!("CARGO_BIN_EXE_amva"));
    c.args(["analyze", "--quiet", "--maps"])
        .arg(inputs.join("maps"))
        .arg("--out")
        .arg(&out)
        .arg("--scores")
        .args(case.scores.iter().map(|s| {
            if s.is_absolute() {
                s.clone()
            } else {
                inputs.join(s)
            }
        }))
        .args(&case.args);
    if let Some(f) = faces {
        c.arg("--images").arg(f);
    }
    let o = util::run(c);
    assert!(o.status.success(), "{}: amva analyze failed", case.name);
    let mut replace = vec![
        (inputs.display().to_string(), "<INPUTS>"),
        (tmp.path().display().to_string(), "<TMP>"),
    ];
    if let Some(f) = faces {
        replace.push((f.display().to_string(), "<FACES>"));
    }
    if let Some(d) = scores_dir {
        replace.push((d.display().to_string(), "<SCORES>"));
    }
    let expected = fixture().join("expected").join(case.name);
    if writing() {
        let _ = std::fs::remove_dir_all(&expected);
        let mut manifest = String::new();
        for f in files(&out) {
            if f == Path::new("report.html") {
                continue;
            }
            if hashed(&f) {
                manifest.push_str(&format!("{}  {}\n", digest(&out.join(&f)), f.display()));
                let png = f.extension().is_some_and(|e| e == "png");
                if !(png && case.keep_png) {
                    continue;
                }
            }
            let dst = expected.join(&f);
            std::fs::create_dir_all(dst.parent().unwrap()).unwrap();
            if f == Path::new("summary.json") {
                let v = normalised_summary(&out.join(&f), &replace);
                std::fs::write(dst, serde_json::to_string_pretty(&v).unwrap() + "\n").unwrap();
            } else {
                std::fs::copy(out.join(&f), dst).unwrap();
            }
        }
        std::fs::write(expected.join(MANIFEST), manifest).unwrap();
        eprintln!("{}: wrote {}", case.name, expected.display());
        return;
    }
    let mut problems: Vec<String> = Vec::new();
    let manifest = read_manifest(&expected);
    let mut want_files = files(&expected);
    want_files.remove(Path::new(MANIFEST));
    want_files.extend(manifest.keys().cloned());
    let mut got_files = files(&out);
    got_files.remove(Path::new("report.html"));
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
    let (mut pngs, mut changed_pixels) = (0, 0);
    for f in want_files.intersection(&got_files) {
        let (w, g) = (expected.join(f), out.join(f));
        let ext = f.extension().and_then(|e| e.to_str()).unwrap_or("");
        pngs += usize::from(ext == "png");
        if let Some(h) = manifest.get(f) {
            if *h != digest(&g) {
                problems.push(format!("{}: SHA-256 differs", f.display()));
            }
            if ext != "png" || !w.is_file() {
                continue;
            }
        }
        if f == Path::new("summary.json") {
            let want: Value = serde_json::from_str(&std::fs::read_to_string(&w).unwrap()).unwrap();
            let got = normalised_summary(&g, &replace);
            json_diff("summary", &want, &got, &mut problems);
        } else if ext == "png" {
            match png_diff(&w, &g) {
                Ok((0, _)) => {}
                Ok((n, large)) => {
                    changed_pixels += n;
                    problems.push(format!(
                        "{}: {n} pixels changed ({large} by more than 1 grey level)",
                        f.display()
                    ));
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
        "{}: {} files compared ({pngs} PNG; {changed_pixels} pixels changed in the kept ones), {} differences",
        case.name,
        want_files.len(),
        problems.len()
    );
    assert!(
        problems.is_empty(),
        "{}: outputs differ from the golden ones:\n{}",
        case.name,
        problems.join("\n")
    );
}

/// Three FIQA methods from one long-format file with its direction sidecar (the demo's
/// shape), quality bins, the permutation test, mean faces under the overlays.
#[test]
fn analyze_outputs_equal_the_golden_outputs_three_methods() {
    let Some(shared) = util::shared_with(&["faces/lfw-dev/aligned112"]) else {
        return;
    };
    let case = Case {
        name: "three_methods",
        keep_png: false,
        args: ["--bins", "3", "--seed", "1", "--permutations", "200"]
            .map(String::from)
            .to_vec(),
        scores: vec!["scores.csv".into()],
    };
    run_case(&case, Some(&shared.join("faces/lfw-dev/aligned112")), None);
}

/// One method in the image,score shape with non-finite, missing and unknown ids;
/// overlapping groups (no permutation test), --symmetric, --compat paper, no face images.
#[test]
fn analyze_outputs_equal_the_golden_outputs_options() {
    let tmp = tempfile::tempdir().unwrap();
    // magnitude's rows, every 17th NaN, the first 5 unscored, one id without a map.
    let text = std::fs::read_to_string(fixture().join("inputs/lfw200/scores.csv")).unwrap();
    let mut body = String::from("image,score\n");
    let rows = text
        .lines()
        .skip(1)
        .map(|l| l.split(',').collect::<Vec<_>>())
        .filter(|f| f.len() == 3 && f[1] == "magnitude");
    for (i, f) in rows.enumerate().skip(5) {
        let score = if i % 17 == 0 { "NaN" } else { f[2] };
        body.push_str(&format!("{},{score}\n", f[0]));
    }
    body.push_str("nobody/ghost.jpg,12.5\n");
    let scores = tmp.path().join("gappy.csv");
    std::fs::write(&scores, body).unwrap();
    let case = Case {
        name: "options",
        keep_png: true,
        args: [
            "--high",
            "top:60%",
            "--low",
            "bottom:60%",
            "--symmetric",
            "--compat",
            "paper",
            "--region-margin",
            "8",
            "--permutations",
            "50",
        ]
        .map(String::from)
        .to_vec(),
        scores: vec![scores],
    };
    run_case(&case, None, Some(tmp.path()));
}
