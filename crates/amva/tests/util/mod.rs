//! Helpers for tests that drive the real `amva` binary (shared by every test file).
#![allow(dead_code)]

pub mod cmd;
pub mod golden;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// `../shared` beside the repository, if present (else prints why the test skips).
pub fn shared() -> Option<PathBuf> {
    shared_with(&["models/fr_feature.onnx"])
}

/// `../shared` if it holds every one of `needs` (paths inside it), else prints which is
/// missing and why the test skips.
/// Under AMVA_REQUIRE_DATA=1 (CI) a missing item fails the test instead.
#[track_caller]
pub fn shared_with(needs: &[&str]) -> Option<PathBuf> {
    amva_testkit::shared_with(needs)
}

/// Skips the test with `reason` (fails it under AMVA_REQUIRE_DATA=1).
#[track_caller]
pub fn skip(reason: &str) {
    amva_testkit::skip(reason)
}

/// The amva binary with AMVA_MODELS pointing at the shared models and a private cache.
pub fn amva(shared: &std::path::Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_amva"));
    c.env("AMVA_MODELS", shared.join("models"));
    c
}

/// Runs and returns the output, printing stderr when it failed.
pub fn run(mut c: Command) -> Output {
    let out = c.output().expect("amva runs");
    if !out.status.success() {
        eprintln!("stderr: {}", String::from_utf8_lossy(&out.stderr));
    }
    out
}

/// The last stdout line parsed as JSON (commands print their --json summary there).
pub fn json_summary(out: &Output) -> serde_json::Value {
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text.lines().last().unwrap_or_else(|| {
        panic!(
            "no stdout; stderr: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    serde_json::from_str(line).unwrap_or_else(|e| panic!("summary is not JSON ({e}): {line}"))
}

/// ONNX Runtime usable for this test run?
pub fn ort_installed() -> bool {
    let out = Command::new(env!("CARGO_BIN_EXE_amva"))
        .args(["engine", "status", "--json"])
        .output()
        .expect("amva runs");
    let v = json_summary(&out);
    if v["ort"] == true {
        true
    } else {
        skip("the ort part: ONNX Runtime is not installed (amva engine install)");
        false
    }
}

/// What `amva engine status --json` says `--engine auto` runs the default model with
/// (`{"engine": ..., "batch": ...}`; null before the first calibration).
pub fn auto_engine(shared: &Path) -> serde_json::Value {
    let out = amva(shared)
        .args(["engine", "status", "--json"])
        .output()
        .expect("amva runs");
    json_summary(&out)["auto"].clone()
}

/// Loads report.html in headless Chromium (driven by `amva_browser`) and checks that
/// the page holds `expected_images` images, that every one decoded, and that nothing
/// was logged as an error (console errors, exceptions, failed loads).
pub fn check_in_chromium(report: &Path, expected_images: usize) {
    let Some(chromium) = amva_testkit::chromium() else {
        return;
    };
    let mut b = amva_browser::Browser::launch(&chromium).unwrap();
    let page = report.canonicalize().unwrap();
    b.open(&format!("file://{}", page.display())).unwrap();
    let counts = b
        .wait_for(
            "(function(){var im=document.images,bad=0;for(var i=0;i<im.length;i++){if(!(im[i].complete&&im[i].naturalWidth>0)){bad++;}}return bad===0?[im.length]:null;})()",
            30.0,
        )
        .unwrap_or_else(|e| panic!("{}: images did not all load: {e}", report.display()));
    eprintln!("chromium: {} images decoded", counts[0]);
    assert_eq!(counts[0].as_u64().unwrap() as usize, expected_images);
    let errors = b.errors();
    assert!(errors.is_empty(), "{}: {errors:?}", report.display());
}

/// The files directly in `dir` (name, bytes), sorted by name; folders read as empty.
fn files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut v: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read(&p).unwrap_or_default(),
            )
        })
        .collect();
    v.sort();
    v
}

/// Same file names with the same bytes in `a` and `b`.
pub fn assert_same_files(a: &Path, b: &Path) {
    let (fa, fb) = (files(a), files(b));
    let names = |f: &[(String, Vec<u8>)]| f.iter().map(|x| x.0.clone()).collect::<Vec<_>>();
    assert_eq!(names(&fa), names(&fb), "{} vs {}", a.display(), b.display());
    for ((n, x), (_, y)) in fa.iter().zip(&fb) {
        assert!(
            x == y,
            "{n} differs between {} and {}",
            a.display(),
            b.display()
        );
    }
}
