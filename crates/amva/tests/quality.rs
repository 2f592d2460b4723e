//! `amva quality` end to end: real faces, the score files, bad input.

mod util;
use util::shared;

use std::path::Path;
use std::process::Command;

fn amva(shared: Option<&Path>) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_amva"));
    if let Some(s) = shared {
        c.env("AMVA_MODELS", s.join("models"));
    }
    c.arg("--quiet");
    c
}

fn run_ok(c: &mut Command) -> String {
    let out = c.output().expect("run amva");
    assert!(
        out.status.success(),
        "amva failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into()
}

#[test]
fn magface_toy_scores_rank_like_magface() {
    let Some(shared) = shared() else { return };
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("scores.csv");
    run_ok(
        amva(Some(&shared))
            .args(["quality", "--fiqa", "magnitude,serfiq,pose", "--images"])
            .arg(shared.join("faces/magface-toy"))
            .arg("--out")
            .arg(&out),
    );
    let scores = amva_quality::read_scores(&out).expect("read back");
    assert!(dir.path().join("scores.meta.json").is_file());
    let mut reference = std::collections::HashMap::new();
    let mut r = csv::Reader::from_path(shared.join("faces/magface-toy/index.csv")).unwrap();
    for rec in r.records() {
        let rec = rec.unwrap();
        reference.insert(rec[0].to_string(), rec[2].parse::<f64>().unwrap());
    }
    for method in ["magnitude", "serfiq"] {
        let m = scores.get(method).expect(method);
        assert_eq!(m.direction, amva_quality::Direction::Higher);
        assert_eq!(m.scores.len(), 10);
        let ours: Vec<f64> = m.scores.iter().map(|s| s.score).collect();
        let theirs: Vec<f64> = m.scores.iter().map(|s| reference[&s.image]).collect();
        let rho = amva_math::compare::spearman(&ours, &theirs).unwrap();
        eprintln!("amva quality {method} vs MagFace on magface-toy: Spearman {rho:.4}");
        assert!(rho >= 0.7, "{method}: Spearman {rho}");
    }
    // The profile faces (0, 1, 4; looked at) have worse pose quality than the frontal ones (8, 9).
    let pose: std::collections::HashMap<String, f64> = scores
        .get("pose")
        .unwrap()
        .scores
        .iter()
        .map(|r| (r.image.clone(), r.score))
        .collect();
    for p in ["0.jpg", "1.jpg", "4.jpg"] {
        for f in ["8.jpg", "9.jpg"] {
            assert!(
                pose[p] < pose[f],
                "pose quality {p} {} vs {f} {}",
                pose[p],
                pose[f]
            );
        }
    }
    // The seed is recorded, and the same seed gives the same SER-FIQ scores.
    let meta: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("scores.meta.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(meta["methods"]["serfiq"]["params"]["seed"], 0);
    assert_eq!(meta["methods"]["serfiq"]["params"]["passes"], 100);
}

#[test]
fn brisque_scores_any_size_and_points_lower() {
    let Some(shared) = shared() else { return };
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("b.csv");
    let o = amva(Some(&shared))
        .args(["quality", "--fiqa", "brisque", "--images"])
        .arg(shared.join("faces/xqlfw-examples"))
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    if !o.status.success() {
        // Offline machines cannot fetch the model; say so instead of failing.
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains("download"), "{err}");
        amva_testkit::skip(&format!("the BRISQUE model could not be downloaded: {err}"));
        return;
    }
    let s = amva_quality::read_scores(&out).unwrap();
    let b = s.get("brisque").unwrap();
    assert_eq!(b.direction, amva_quality::Direction::Lower);
    assert_eq!(
        b.scores.len(),
        18,
        "496x248 RGBA pairs are scored as they are"
    );
}

#[test]
fn unreadable_and_wrong_size_images_are_listed() {
    let Some(shared) = shared() else { return };
    let dir = tempfile::tempdir().unwrap();
    let imgs = dir.path().join("imgs");
    std::fs::create_dir_all(&imgs).unwrap();
    std::fs::copy(
        shared.join("faces/magface-toy/9.jpg"),
        imgs.join("good.jpg"),
    )
    .unwrap();
    std::fs::copy(
        shared.join("faces/lfw-dev/raw250_deepfunneled/Abdoulaye_Wade/Abdoulaye_Wade_0001.jpg"),
        imgs.join("big.jpg"),
    )
    .unwrap();
    std::fs::write(imgs.join("broken.jpg"), b"\xFF\xD8\xFF\xE0 not a jpeg").unwrap();
    let out = dir.path().join("q.csv");
    run_ok(
        amva(Some(&shared))
            .args(["quality", "--fiqa", "magnitude,pose", "--images"])
            .arg(&imgs)
            .arg("--out")
            .arg(&out),
    );
    let s = amva_quality::read_scores(&out).unwrap();
    assert_eq!(
        s.get("magnitude").unwrap().scores.len(),
        1,
        "250x250 needs --resize for a 112x112 model"
    );
    assert_eq!(
        s.get("pose").unwrap().scores.len(),
        2,
        "the pose model resizes any crop"
    );
    let failed = std::fs::read_to_string(dir.path().join("q.failed.csv")).unwrap();
    assert!(failed.contains("broken.jpg"), "{failed}");
    assert!(
        failed.contains("big.jpg") && failed.contains("magnitude") && failed.contains("--resize"),
        "{failed}"
    );
    // With --resize every readable image is scored.
    run_ok(
        amva(Some(&shared))
            .args(["quality", "--fiqa", "magnitude", "--resize", "--images"])
            .arg(&imgs)
            .arg("--out")
            .arg(&out),
    );
    assert_eq!(
        amva_quality::read_scores(&out)
            .unwrap()
            .get("magnitude")
            .unwrap()
            .scores
            .len(),
        2
    );
}

/// Issue 26, row 6: BRISQUE scored images of a size the run's other methods refuse, and
/// a JPEG of a few MB whose header declares 16000 x 4000 took 2.7 GB (four of them
/// aborted the run). Now BRISQUE takes the size of the run's model (or --resize), and
/// alone it scores at most 4 megapixels; the run goes on with the rest.
#[test]
fn brisque_takes_the_runs_size_and_refuses_huge_images() {
    let Some(shared) = shared() else { return };
    let dir = tempfile::tempdir().unwrap();
    let imgs = dir.path().join("imgs");
    std::fs::create_dir_all(&imgs).unwrap();
    std::fs::copy(
        shared.join("faces/magface-toy/9.jpg"),
        imgs.join("good.jpg"),
    )
    .unwrap();
    std::fs::copy(
        shared.join("faces/lfw-dev/raw250_deepfunneled/Abdoulaye_Wade/Abdoulaye_Wade_0001.jpg"),
        imgs.join("big.jpg"),
    )
    .unwrap();
    image::GrayImage::from_pixel(16_000, 4_000, image::Luma([128]))
        .save(imgs.join("huge.jpg"))
        .unwrap();
    let out = dir.path().join("q.csv");
    let failed = dir.path().join("q.failed.csv");
    run_ok(
        amva(Some(&shared))
            .args(["quality", "--fiqa", "magnitude,brisque", "--images"])
            .arg(&imgs)
            .arg("--out")
            .arg(&out),
    );
    let s = amva_quality::read_scores(&out).unwrap();
    let scored = |m: &str| -> Vec<String> {
        s.get(m)
            .unwrap()
            .scores
            .iter()
            .map(|r| r.image.clone())
            .collect()
    };
    assert_eq!(
        scored("brisque"),
        ["good.jpg"],
        "the size of the run's model"
    );
    assert_eq!(scored("magnitude"), ["good.jpg"]);
    let listed = std::fs::read_to_string(&failed).unwrap();
    let lists = |id: &str, what: &str| {
        listed
            .lines()
            .any(|l| l.starts_with(&format!("{id},")) && l.contains(what))
    };
    assert!(
        lists("big.jpg", "brisque") && lists("huge.jpg", "brisque"),
        "{listed}"
    );
    run_ok(
        amva(Some(&shared))
            .args(["quality", "--fiqa", "brisque", "--images"])
            .arg(&imgs)
            .arg("--out")
            .arg(&out),
    );
    let s = amva_quality::read_scores(&out).unwrap();
    let mut alone: Vec<String> = s
        .get("brisque")
        .unwrap()
        .scores
        .iter()
        .map(|r| r.image.clone())
        .collect();
    alone.sort();
    assert_eq!(
        alone,
        ["big.jpg", "good.jpg"],
        "alone, any size up to 4 megapixels"
    );
    let listed = std::fs::read_to_string(&failed).unwrap();
    assert!(
        listed.lines().any(|l| l.starts_with("huge.jpg,")
            && l.contains("16000x4000")
            && l.contains("4194304")),
        "{listed}"
    );
}

#[test]
fn unknown_method_lists_the_known_ones() {
    let dir = tempfile::tempdir().unwrap();
    let out = amva(None)
        .args(["quality", "--fiqa", "magnitude,faceqnet", "--images"])
        .arg(dir.path())
        .arg("--out")
        .arg(dir.path().join("q.csv"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    for want in [
        "'faceqnet'",
        "magnitude",
        "serfiq",
        "brisque",
        "pose",
        "onnx:PATH",
    ] {
        assert!(err.contains(want), "missing {want}: {err}");
    }
}

#[test]
fn user_onnx_model_needs_its_settings_file() {
    let Some(shared) = shared() else { return };
    let dir = tempfile::tempdir().unwrap();
    // Any fixed-input model will do to check the settings handling: the pose model has
    // three 66-value outputs, so it must be refused as a quality model.
    let model = dir.path().join("notq.onnx");
    std::fs::copy(shared.join("models/fr_pose.onnx"), &model).unwrap();
    let run = |out: &Path| {
        amva(Some(&shared))
            .args(["quality", "--resize", "--fiqa"])
            .arg(format!("onnx:{}", model.display()))
            .arg("--images")
            .arg(shared.join("faces/magface-toy"))
            .arg("--out")
            .arg(out)
            .output()
            .unwrap()
    };
    let o = run(&dir.path().join("a.csv"));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        !o.status.success() && err.contains("notq.toml") && err.contains("channel_order"),
        "{err}"
    );
    std::fs::write(
        dir.path().join("notq.toml"),
        "width = 224\nheight = 224\nchannel_order = \"rgb\"\nmean = [123.7, 116.3, 103.5]\nstd = [58.4, 57.1, 57.4]\nlayout = \"nchw\"\n",
    )
    .unwrap();
    let o = run(&dir.path().join("b.csv"));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        !o.status.success() && err.contains("one number") && err.contains("66"),
        "{err}"
    );
}
