//! Helpers for tests that drive the real `amva` binary (shared by every test file).
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Command, Output};

/// `../shared` beside the repository, if present (else prints why the test skips).
pub fn shared() -> Option<PathBuf> {
    let p = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared"));
    if p.join("models/fr_feature.onnx").is_file() {
        Some(p.canonicalize().unwrap_or(p))
    } else {
        eprintln!("skipped: ../shared (real models and faces) is absent");
        None
    }
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
        eprintln!("skipped the ort part: ONNX Runtime is not installed (amva engine install)");
        false
    }
}
