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

/// Scrolls to every image of the page in turn, as a reader does, waiting (up to 5 s)
/// for each to finish loading: figures below the first screens load lazily. A promise
/// the browser awaits; it resolves to the number of images.
pub const SCROLL_TO_END: &str = "(async function(){var im=Array.from(document.images);for(var i=0;i<im.length;i++){im[i].scrollIntoView();for(var k=0;k<250&&!im[i].complete;k++){await new Promise(function(r){setTimeout(r,20);});}}window.scrollTo(0,0);return im.length;})()";

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
    // Every figure scrolled into view, as a reader does: those below the first screens
    // load lazily.
    b.eval(SCROLL_TO_END).unwrap();
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

/// Issue 29: an analysis folder answers first. report.html's first section is the key
/// findings, one row per FIQA method of summary.json, and every verdict there equals
/// summary.json's and the stated rule applied to a naive recomputation from
/// arrays/<method>/permutation.npy (observed T, then each permutation's T):
/// p(low > high) = (#{T_i >= T} + 1) / (n + 1), p(high > low) = (#{T_i <= T} + 1) / (n + 1);
/// holds when T > 0 and p(low > high) < 0.05, reversed when p(high > low) < 0.05, else
/// not significant. Returns the verdicts by method.
pub fn check_key_findings(out: &Path) -> Vec<(String, String)> {
    let s = amva_analysis::summary::Summary::read(out).unwrap();
    let k = s
        .key_findings
        .as_ref()
        .expect("summary.json has key_findings");
    assert!(k.rule.contains("p < 0.05") && k.rule.contains("reversed"));
    assert_eq!(k.methods.len(), s.methods.len(), "one row per method");
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    let first = html.find("<h2").expect("a section");
    assert!(
        html[first..].starts_with("<h2 id=\"key-findings\">Key findings</h2>"),
        "the key findings come first: {}",
        &html[first..first + 80]
    );
    let table = &html[first..html[first..].find("</table>").unwrap() + first];
    let mut verdicts = Vec::new();
    for m in &k.methods {
        let key = &s.methods[&m.method].key;
        let perm =
            amva_io::npy::read_f32(&out.join(format!("arrays/{key}/permutation.npy"))).unwrap();
        let v: Vec<f64> = perm.iter().map(|&x| f64::from(x)).collect();
        let (t, null) = (v[0], &v[1..]);
        let n = null.len() as f64;
        let tol = 1e-6 * t.abs().max(1e-9);
        let p = (null.iter().filter(|&&x| x >= t - tol).count() as f64 + 1.0) / (n + 1.0);
        let p_rev = (null.iter().filter(|&&x| x <= t + tol).count() as f64 + 1.0) / (n + 1.0);
        let naive = if t > 0.0 && p < 0.05 {
            "holds"
        } else if p_rev < 0.05 {
            "reversed"
        } else {
            "not significant"
        };
        let got = m.verdict.map(|v| v.to_string()).unwrap();
        assert_eq!(got, naive, "{}: T {t}, p {p}, p reversed {p_rev}", m.method);
        assert!(
            (m.p_value.unwrap() - p).abs() < 1.5 / (n + 1.0),
            "{}",
            m.method
        );
        assert!(
            (m.p_reversed.unwrap() - p_rev).abs() < 1.5 / (n + 1.0),
            "{}",
            m.method
        );
        assert!(
            (m.difference - t).abs() <= 1e-6 * t.abs().max(1e-6),
            "{}",
            m.method
        );
        let row = format!("<a href=\"#method-{key}\">{}</a>", m.method);
        let at = table
            .find(&row)
            .unwrap_or_else(|| panic!("no row for {}", m.method));
        let cell = format!("<a href=\"#method-{key}\"><strong>{naive}</strong></a>");
        assert!(
            table[at..].find(&cell).is_some_and(|i| i < 200),
            "{}: the verdict cell says {naive}",
            m.method
        );
        verdicts.push((m.method.clone(), naive.to_string()));
    }
    verdicts
}

/// Issue 29: every number of the report's tables is in the file its table names; a
/// number changed in summary.json is caught. Returns how many numbers were traced.
pub fn check_traceable(out: &Path) -> usize {
    let report = out.join("report.html");
    let t = amva_report::trace::check(&report).unwrap();
    assert!(
        t.untraced.is_empty(),
        "not in their files: {:?}",
        t.untraced
    );
    assert!(
        t.unsourced.is_empty(),
        "tables without a source: {:?}",
        t.unsourced
    );
    assert!(
        t.numbers > 20 && t.tables >= 3,
        "{} numbers in {} tables",
        t.numbers,
        t.tables
    );
    // One number of summary.json changed (the first method's outside AM-V of its low
    // group, shown in the key findings): the same check must now name it.
    let path = out.join("summary.json");
    let original = std::fs::read_to_string(&path).unwrap();
    let mut v: serde_json::Value = serde_json::from_str(&original).unwrap();
    let x = &mut v["key_findings"]["methods"][0]["outside_amv_low"];
    let old = x.as_f64().unwrap();
    *x = serde_json::json!(old * 1.01 + 1e-3);
    std::fs::write(&path, serde_json::to_string_pretty(&v).unwrap()).unwrap();
    let changed = amva_report::trace::check(&report).unwrap();
    std::fs::write(&path, original).unwrap();
    assert_eq!(changed.numbers, t.numbers);
    assert!(
        changed.untraced.iter().any(|u| u.source == "summary.json"),
        "a changed number in summary.json went unnoticed"
    );
    eprintln!(
        "trace: {} numbers in {} tables found in their files; 1 changed number caught",
        t.numbers, t.tables
    );
    t.numbers
}
