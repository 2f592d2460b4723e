//! Issue 2 acceptance through the binary: verification on LFW with both engines, and bad input.

mod util;
use util::*;

fn verify(shared: &std::path::Path, engine: &str) -> serde_json::Value {
    let lfw = shared.join("faces/lfw-dev");
    let mut c = amva(shared);
    c.args(["verify", "--json", "--engine", engine, "--pairs"])
        .arg(lfw.join("pairs_generated.tsv"))
        .arg("--images")
        .arg(lfw.join("aligned112"));
    let out = run(c);
    assert!(out.status.success());
    json_summary(&out)
}

fn check_lfw(v: &serde_json::Value, engine: &str) {
    let m = &v["metrics"];
    let acc = m["best_accuracy"].as_f64().unwrap();
    let fnmr = m["fnmr_at_fmr_1e3"].as_f64().unwrap();
    eprintln!("{engine}: LFW dev best accuracy {acc:.4}, FNMR@FMR1e-3 {fnmr:.4}");
    assert_eq!(m["mated"], 2150);
    assert_eq!(m["non_mated"], 2150);
    assert!(acc >= 0.99, "{engine}: best accuracy {acc}");
    assert!(fnmr <= 0.02, "{engine}: FNMR at FMR 1e-3 {fnmr}");
}

#[test]
fn lfw_verification_with_tract() {
    let Some(s) = shared() else { return };
    check_lfw(&verify(&s, "tract"), "tract");
}

#[test]
fn lfw_verification_with_ort() {
    let Some(s) = shared() else { return };
    if !ort_installed() {
        return;
    }
    let v = verify(&s, "ort");
    assert_eq!(v["engine"], "ort");
    check_lfw(&v, "ort");
}

/// Corrupt, greyscale and wrong-size images: listed, not fatal; --resize accepts the last.
#[test]
fn embed_lists_bad_images_and_goes_on() {
    let Some(s) = shared() else { return };
    let dir = tempfile::tempdir().unwrap();
    let imgs = dir.path().join("imgs");
    std::fs::create_dir_all(&imgs).unwrap();
    std::fs::copy(s.join("faces/magface-toy/9.jpg"), imgs.join("a_good.jpg")).unwrap();
    std::fs::write(imgs.join("b_corrupt.jpg"), b"\xFF\xD8\xFF\xE0garbage").unwrap();
    let grey = image::open(s.join("faces/magface-toy/9.jpg"))
        .unwrap()
        .to_luma8();
    grey.save(imgs.join("c_grey.pgm")).unwrap();
    image::RgbImage::from_pixel(100, 80, image::Rgb([90, 100, 110]))
        .save(imgs.join("d_small.png"))
        .unwrap();

    let out_dir = dir.path().join("emb");
    let mut c = amva(&s);
    c.args(["embed", "--json", "--engine", "tract", "--images"])
        .arg(&imgs)
        .arg("--out")
        .arg(&out_dir);
    let out = run(c);
    assert!(out.status.success());
    let v = json_summary(&out);
    assert_eq!(v["images"], 2, "{v}");
    assert_eq!(v["failed"], 2, "{v}");
    let failed = std::fs::read_to_string(out_dir.join("failed.csv")).unwrap();
    assert!(
        failed.contains("b_corrupt.jpg")
            && failed.contains("d_small.png")
            && failed.contains("100x80"),
        "{failed}"
    );
    let index = std::fs::read_to_string(out_dir.join("index.csv")).unwrap();
    assert!(index.contains("a_good.jpg") && index.contains("c_grey.pgm"));
    let emb = amva_io_npy(&out_dir.join("embeddings.npy"));
    assert_eq!(emb.0, vec![2, 512]);
    // The greyscale copy of a face embeds close to the colour original, not like noise.
    let (a, b) = (&emb.1[..512], &emb.1[512..]);
    let cos = dot(a, b) / (dot(a, a).sqrt() * dot(b, b).sqrt());
    assert!(cos > 0.7, "grey vs colour cosine {cos}");
    let meta_text = std::fs::read_to_string(out_dir.join("meta.json")).unwrap();
    let meta: serde_json::Value = serde_json::from_str(&meta_text).unwrap();
    // Keys sorted at every level (nested spec and engine choice too), as the file always was.
    assert_eq!(
        meta_text.trim_end(),
        serde_json::to_string_pretty(&meta).unwrap(),
        "meta.json keys not sorted"
    );
    assert_eq!(
        meta["model_sha256"],
        "87aacdfe57510db2af90c0251df680e8eec88f122ee94712121d09bcaaaf3581"
    );

    let mut c = amva(&s);
    c.args([
        "embed", "--json", "--engine", "tract", "--resize", "--images",
    ])
    .arg(&imgs)
    .arg("--out")
    .arg(&out_dir);
    let v = json_summary(&run(c));
    assert_eq!(
        (v["images"].as_u64(), v["failed"].as_u64()),
        (Some(3), Some(1)),
        "{v}"
    );
}

#[test]
fn missing_model_and_unknown_layer_are_clear_errors() {
    let Some(s) = shared() else { return };
    let mut c = amva(&s);
    c.args(["model", "--model", "/nonexistent/fr.onnx"]);
    let out = run(c);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/fr.onnx"));

    let mut c = amva(&s);
    c.args(["model", "--engine", "tract", "--layer", "5O7"]);
    let out = run(c);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        err.contains("5O7") && err.contains("507 [1, 512, 7, 7]"),
        "{err}"
    );
}

#[test]
fn bad_usage_exits_2() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_amva"))
        .args(["embed", "--no-such-flag"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn amva_io_npy(p: &std::path::Path) -> (Vec<usize>, Vec<f32>) {
    let a = amva_io::npy::read_f32(p).unwrap();
    (a.shape().to_vec(), a.iter().copied().collect())
}
