//! `amva audit` on real faces with the default model, as a user runs it: audit.json,
//! audit.html opened in Chromium, the map stores it writes analysed with
//! `amva analyze --audit`, and its refusals.

mod util;

use std::path::Path;
use util::{amva, json_summary, run, shared};

/// `n` LFW dev faces copied into `dir`, and a score file ranking them by position.
fn faces_and_scores(shared: &Path, dir: &Path, n: usize) -> std::path::PathBuf {
    let list = amva_io::images::ImageList::open(&shared.join("faces/lfw-dev/aligned112")).unwrap();
    let faces = dir.join("faces");
    std::fs::create_dir_all(&faces).unwrap();
    let mut csv = String::from("image,method,score\n");
    for (k, item) in list
        .items
        .iter()
        .step_by(list.len() / n)
        .take(n)
        .enumerate()
    {
        let name = format!("face{k:02}.jpg");
        std::fs::copy(&item.path, faces.join(&name)).unwrap();
        csv.push_str(&format!("{name},toy,{}\n", k as f64 * 0.5));
    }
    let scores = dir.join("toy.csv");
    std::fs::write(&scores, csv).unwrap();
    scores
}

#[test]
fn audit_of_the_default_model_on_real_faces() {
    let Some(shared) = shared() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let scores = faces_and_scores(&shared, tmp.path(), 8);
    let out = tmp.path().join("audit");
    let mut c = amva(&shared);
    c.args(["audit", "--images"])
        .arg(tmp.path().join("faces"))
        .arg("--out")
        .arg(&out)
        .args([
            "--n",
            "8",
            "--cascade-steps",
            "1",
            "--cam-channels",
            "top:16",
            "--steps",
            "5",
        ])
        .args([
            "--bootstrap",
            "200",
            "--high",
            "top:50%",
            "--low",
            "bottom:50%",
        ])
        .args(["--direction", "toy=higher", "--json", "--scores"])
        .arg(&scores);
    let o = run(c);
    assert!(o.status.success());
    let summary = json_summary(&o);
    assert_eq!(summary["command"], "audit", "{summary}");
    let record: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("audit.json")).unwrap()).unwrap();
    // Every method, every pair, every step.
    let methods = record["methods"].as_array().unwrap();
    assert_eq!(methods.len(), 4);
    assert_eq!(record["equivalence"].as_array().unwrap().len(), 6);
    assert_eq!(record["randomisation"].as_array().unwrap().len(), 4 * 2);
    for m in methods {
        let name = m["method"].as_str().unwrap();
        let rho = m["step1_spearman_median"].as_f64().unwrap();
        // Maps made from the activations alone never see the head.
        if name == "activation" || name == "eigencam" {
            assert_eq!(rho, 1.0, "{name}");
            assert_eq!(m["decision_independent"], true);
        }
        assert!((-1.0..=1.0).contains(&rho), "{name}: {rho}");
    }
    // Randomising the head changes the model's output.
    let step1 = &record["randomisation"][0];
    assert!(
        step1["output_cosine_median"].as_f64().unwrap() < 0.9,
        "{step1}"
    );
    // The analysis agreement: one finding per map method, traced to its summary.json.
    let findings = record["analysis"]["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 4);
    for f in findings {
        assert!(Path::new(f["summary"].as_str().unwrap()).is_file(), "{f}");
        assert_eq!((f["high"].as_u64(), f["low"].as_u64()), (Some(4), Some(4)));
    }
    assert!(record["recommendation"]["rule"]
        .as_str()
        .unwrap()
        .contains("cheapest_equivalent"));
    for f in [
        "figures/randomisation_scorecam.png",
        "figures/cascade_maps.png",
        "figures/faithfulness.png",
        "faithfulness/summary.csv",
        "maps/ablation/maps.npy",
    ] {
        assert!(out.join(f).is_file(), "{f}");
    }

    // The audit's store of Ablation-CAM maps, analysed with the audit's verdict.
    let analysis = tmp.path().join("analysis");
    let mut c = amva(&shared);
    c.args(["analyze", "--maps"])
        .arg(out.join("maps/ablation"))
        .arg("--scores")
        .arg(&scores)
        .args([
            "--direction",
            "toy=higher",
            "--high",
            "top:50%",
            "--low",
            "bottom:50%",
        ])
        .arg("--out")
        .arg(&analysis)
        .arg("--audit")
        .arg(&out);
    assert!(run(c).status.success());
    let report = std::fs::read_to_string(analysis.join("report.html")).unwrap();
    assert!(
        report.contains("Map audit of"),
        "the verdict box is in report.html"
    );
    assert!(
        report.contains("the ablation maps"),
        "the verdict names the method"
    );

    // audit.html as a person sees it.
    let Some(chromium) = amva_testkit::chromium() else {
        return;
    };
    let mut b = amva_browser::Browser::launch(&chromium).unwrap();
    b.open(&format!("file://{}", out.join("audit.html").display()))
        .unwrap();
    b.wait_for("document.readyState === 'complete'", 30.0)
        .unwrap();
    let text = b.eval("document.body.innerText").unwrap();
    let text = text.as_str().unwrap();
    for heading in [
        "Verdict",
        "Equivalence",
        "Cascading model randomisation",
        "Faithfulness",
        "Analysis agreement",
    ] {
        assert!(text.contains(heading), "audit.html lacks {heading}");
    }
    let images = b
        .eval("Array.from(document.images).filter(i => !(i.complete && i.naturalWidth > 0)).length")
        .unwrap();
    assert_eq!(images, 0, "every figure loads");
    assert!(b.eval("document.images.length").unwrap().as_u64().unwrap() >= 6);
    let errors = b.errors();
    assert!(errors.is_empty(), "{errors:?}");
}

#[test]
fn audit_refuses_what_it_cannot_do() {
    let Some(shared) = shared() else { return };
    let tmp = tempfile::tempdir().unwrap();
    faces_and_scores(&shared, tmp.path(), 2);
    let attempt = |extra: &[&str]| {
        let mut c = amva(&shared);
        c.args(["audit", "--images"])
            .arg(tmp.path().join("faces"))
            .arg("--out")
            .arg(tmp.path().join("out"))
            .args(extra);
        c.output().unwrap()
    };
    let o = attempt(&["--methods", "random"]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("always in the audit"));
    let o = attempt(&["--n", "1"]);
    assert!(String::from_utf8_lossy(&o.stderr).contains("--n: at least 2"));
    // The audit never writes inside its inputs.
    let mut c = amva(&shared);
    c.args(["audit", "--images"])
        .arg(tmp.path().join("faces"))
        .arg("--out")
        .arg(tmp.path().join("faces/audit"));
    let o = c.output().unwrap();
    assert!(!o.status.success());
    assert!(!tmp.path().join("faces/audit").exists());
    // An analysis pointed at a folder that holds no audit says so.
    let maps = tmp.path().join("maps");
    std::fs::create_dir_all(&maps).unwrap();
    let mut c = amva(&shared);
    c.args(["analyze", "--maps"])
        .arg(&maps)
        .arg("--scores")
        .arg(tmp.path().join("toy.csv"))
        .arg("--out")
        .arg(tmp.path().join("a"))
        .arg("--audit")
        .arg(tmp.path().join("faces"));
    let o = c.output().unwrap();
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("--audit") && err.contains("audit.json"),
        "{err}"
    );
}
