//! Test support shared by every amva crate's tests: where the real data is, and one way
//! to skip a test that lacks something.
//!
//! On a user's fresh machine a test that needs `../shared` (the real models and faces),
//! headless Chromium, ONNX Runtime or the package registries skips with a printed reason.
//! CI sets `AMVA_REQUIRE_DATA=1`, which turns every such skip into a failure, so a green
//! CI run cannot hide a test that did not run.
//!
//! ```no_run
//! let Some(shared) = amva_testkit::shared_with(&["models/fr_feature.onnx"]) else { return };
//! ```

use std::path::{Path, PathBuf};

/// True when skips must fail (`AMVA_REQUIRE_DATA=1`, set by `.ci/run`).
pub fn data_required() -> bool {
    std::env::var("AMVA_REQUIRE_DATA").is_ok_and(|v| v == "1")
}

/// Skips the calling test with `reason`, or fails it when `AMVA_REQUIRE_DATA=1`.
#[track_caller]
pub fn skip(reason: &str) {
    if data_required() {
        panic!("AMVA_REQUIRE_DATA=1, so this test may not skip: {reason}");
    }
    eprintln!("skipped: {reason}");
}

/// `../shared` beside the repository (it may not exist).
pub fn shared_path() -> PathBuf {
    let p = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared"));
    p.canonicalize().unwrap_or_else(|_| p.to_path_buf())
}

/// `../shared` if it holds every one of `needs` (paths inside it); otherwise the test
/// skips (see [`skip`]) naming what is missing.
#[track_caller]
pub fn shared_with(needs: &[&str]) -> Option<PathBuf> {
    let p = shared_path();
    match needs.iter().find(|n| !p.join(n).exists()) {
        None => Some(p),
        Some(n) => {
            skip(&format!(
                "{} not found (the shared models and faces are absent)",
                p.join(n).display()
            ));
            None
        }
    }
}

/// Debian's headless Chromium, if installed; otherwise the test skips.
#[track_caller]
pub fn chromium() -> Option<PathBuf> {
    let p = PathBuf::from("/usr/bin/chromium");
    if p.exists() {
        Some(p)
    } else {
        skip("/usr/bin/chromium is missing (Debian package `chromium`)");
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_file_skips_or_fails_as_the_environment_says() {
        let missing = "no/such/file/for/amva-testkit";
        let r = std::panic::catch_unwind(|| shared_with(&[missing]));
        if data_required() {
            let msg = r.expect_err("must fail under AMVA_REQUIRE_DATA=1");
            let msg = msg.downcast_ref::<String>().cloned().unwrap_or_default();
            assert!(msg.contains(missing), "{msg}");
        } else {
            assert_eq!(r.expect("skips without AMVA_REQUIRE_DATA"), None);
        }
    }
}
