//! `--engine auto` runs what this machine's calibration measured fastest, read from the
//! cache; explicit engines win. Needs ../shared (the default model, LFW faces).

mod util;

use std::path::Path;
use std::process::Command;

fn in_home(shared: &Path, home: &Path, ort_lib: &serde_json::Value) -> Command {
    let mut c = util::amva(shared);
    c.env("AMVA_HOME", home);
    if let Some(lib) = ort_lib.as_str() {
        c.env("ORT_DYLIB_PATH", lib);
    }
    c
}

fn json_of(mut c: Command) -> serde_json::Value {
    c.arg("--json");
    let out = util::run(c);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    util::json_summary(&out)
}

#[test]
fn auto_runs_the_configuration_the_cached_calibration_names() {
    let Some(sh) = util::shared_with(&["models/fr_feature.onnx", "faces/magface-toy"]) else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path().join("home");
    // ONNX Runtime as installed for this user, if it is (the private cache has none).
    let status = json_of({
        let mut c = util::amva(&sh);
        c.args(["engine", "status"]);
        c
    });
    let lib = status["ort_library"].clone();

    // A real calibration in the private cache.
    let cal = json_of({
        let mut c = in_home(&sh, &home, &lib);
        c.args(["engine", "calibrate"]);
        c
    })["calibration"]
        .clone();
    let measured = cal["measured"].as_array().unwrap().clone();
    assert!(measured.len() >= 2, "{cal}");
    let fastest = measured
        .iter()
        .max_by(|a, b| {
            a["images_per_s"]
                .as_f64()
                .unwrap()
                .total_cmp(&b["images_per_s"].as_f64().unwrap())
        })
        .unwrap();
    assert_eq!(
        cal["choice"], fastest["config"],
        "the fastest configuration is chosen"
    );

    // Fake the cache: name the slowest configuration instead. auto must run that one,
    // which proves it reads the cache instead of measuring again.
    let slowest = measured
        .iter()
        .min_by(|a, b| {
            a["images_per_s"]
                .as_f64()
                .unwrap()
                .total_cmp(&b["images_per_s"].as_f64().unwrap())
        })
        .unwrap()["config"]
        .clone();
    assert_ne!(slowest, cal["choice"]);
    let file = home.join("engine-calibration.json");
    let mut all: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(all.as_array().map(Vec::len), Some(1));
    all[0]["choice"] = slowest.clone();
    // Measured on a quiet machine, as far as amva knows: not provisional, so no run
    // measures again.
    all[0]["idle"] = serde_json::json!(1.0);
    std::fs::write(&file, all.to_string()).unwrap();

    let status = json_of({
        let mut c = in_home(&sh, &home, &lib);
        c.args(["engine", "status"]);
        c
    });
    assert_eq!(status["auto"], slowest);

    let embed = |engine: &str, out: &str| {
        json_of({
            let mut c = in_home(&sh, &home, &lib);
            c.args(["embed", "--engine", engine, "--images"])
                .arg(sh.join("faces/magface-toy"))
                .arg("--out")
                .arg(tmp.path().join(out));
            c
        })
    };
    let auto = embed("auto", "auto");
    assert_eq!(auto["engine_choice"]["config"], slowest, "{auto}");
    assert_eq!(auto["engine"], slowest["engine"]);
    assert_eq!(auto["batch"], slowest["batch"]);
    assert!(
        auto["engine_choice"]["reason"]
            .as_str()
            .unwrap()
            .contains("calibration"),
        "{auto}"
    );
    // The cache was not rewritten by the runs.
    let after: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(after[0]["choice"], slowest);

    // A run resumes on the engine it started with, whatever auto names now.
    let store = tmp.path().join("maps");
    let maps = |extra: &[&str]| {
        let mut c = in_home(&sh, &home, &lib);
        c.args([
            "maps",
            "--method",
            "activation",
            "--part-size",
            "2",
            "--images",
        ])
        .arg(sh.join("faces/magface-toy"))
        .arg("--out")
        .arg(&store)
        .args(extra);
        c.output().unwrap()
    };
    let started = if slowest["engine"] == "tract" {
        "ort"
    } else {
        "tract"
    };
    if started == "tract" || lib.is_string() {
        let first = maps(&["--engine", started, "--stop-after-parts", "1"]);
        assert!(!first.status.success(), "stopped after one part as asked");
        let resumed = maps(&[]);
        let err = String::from_utf8_lossy(&resumed.stderr);
        assert!(resumed.status.success(), "{err}");
        assert!(err.contains(&format!("on its engine, {started}")), "{err}");
        let meta: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(store.join("meta.json")).unwrap())
                .unwrap();
        assert_eq!(meta["settings"]["engine"], started);
        assert_eq!(meta["complete"], true);
    }

    // An explicit engine always wins.
    let other = if slowest["engine"] == "tract" && lib.is_string() {
        "ort"
    } else {
        "tract"
    };
    let explicit = embed(other, "explicit");
    assert_eq!(explicit["engine"], other, "{explicit}");
    assert!(
        explicit["engine_choice"]["reason"]
            .as_str()
            .unwrap()
            .contains("--engine"),
        "{explicit}"
    );
}
