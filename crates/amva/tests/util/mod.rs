//! Helpers for tests that drive the real `amva` binary (shared by every test file).
#![allow(dead_code)]

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

/// Loads report.html in headless Chromium and checks that every image decoded and nothing
/// was logged as an error. How: a copy of the page gets a small script at the top of
/// <head> that records error events (capture phase: also failed images) and
/// console.error calls, and on `load` writes `{images, broken, errors}` into a <pre>;
/// `--dump-dom` prints the DOM after load and the test reads that <pre>. Chromium's own
/// console log lines (`--enable-logging=stderr`, "CONSOLE") must be absent too.
pub fn check_in_chromium(report: &Path, expected_images: usize) {
    let Some(chromium) = amva_testkit::chromium() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let html = std::fs::read_to_string(report).unwrap();
    let probe = r#"<script>(function(){var errs=[];
window.addEventListener('error',function(e){var t=e.target;errs.push(t&&t.tagName?('failed '+t.tagName+' '+String(t.src||'').slice(0,40)):String(e.message));},true);
var ce=console.error;console.error=function(){errs.push('console.error: '+Array.prototype.join.call(arguments,' '));ce.apply(console,arguments);};
window.addEventListener('load',function(){var im=document.images,bad=[];for(var i=0;i<im.length;i++){if(!(im[i].complete&&im[i].naturalWidth>0)){bad.push(i);}}
var p=document.createElement('pre');p.id='amva-check';p.textContent=JSON.stringify({images:im.length,broken:bad,errors:errs});document.body.appendChild(p);});})();</script>"#;
    assert!(html.contains("<head>"));
    let page = tmp.path().join("report-check.html");
    std::fs::write(&page, html.replacen("<head>", &format!("<head>{probe}"), 1)).unwrap();
    let out = Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--enable-logging=stderr",
            "--v=0",
            "--virtual-time-budget=10000",
        ])
        .arg(format!(
            "--user-data-dir={}",
            tmp.path().join("profile").display()
        ))
        .arg("--dump-dom")
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("chromium runs");
    let dom = String::from_utf8_lossy(&out.stdout);
    let err = String::from_utf8_lossy(&out.stderr);
    let start = dom
        .find("<pre id=\"amva-check\">")
        .unwrap_or_else(|| panic!("no check result in the DOM; chromium said:\n{err}"))
        + "<pre id=\"amva-check\">".len();
    let end = start + dom[start..].find("</pre>").unwrap();
    let text = dom[start..end]
        .replace("&quot;", "\"")
        .replace("&amp;", "&");
    let v: serde_json::Value =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
    eprintln!("chromium: {v}");
    assert_eq!(
        v["images"].as_u64().unwrap() as usize,
        expected_images,
        "{v}"
    );
    assert_eq!(v["broken"], serde_json::json!([]), "{v}");
    assert_eq!(v["errors"], serde_json::json!([]), "{v}");
    let console: Vec<&str> = err.lines().filter(|l| l.contains("CONSOLE")).collect();
    assert!(console.is_empty(), "console output: {console:?}");
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
