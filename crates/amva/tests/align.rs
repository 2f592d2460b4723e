//! `amva align` end to end: LFW dev with the detector (faces found, landmarks against the
//! reference, verification of the crops), given landmarks, the photo set (single and
//! group photos, one photo at four resolutions), and bad input.

use amva_align::image::{self, RgbImage};
mod util;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn shared() -> Option<PathBuf> {
    util::shared_with(&["models/fr_detect.onnx", "faces/lfw-dev/index.csv"])
}

fn amva(shared: &Path, args: &[&str]) -> Output {
    let out = Command::new(env!("CARGO_BIN_EXE_amva"))
        .args(args)
        .env("AMVA_MODELS", shared.join("models"))
        .output()
        .expect("runs amva");
    eprintln!(
        "amva {}\n{}{}",
        args.join(" "),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn ok(shared: &Path, args: &[&str]) -> serde_json::Value {
    let out = amva(shared, args);
    assert!(out.status.success(), "amva {} failed", args.join(" "));
    let line = String::from_utf8_lossy(&out.stdout)
        .lines()
        .last()
        .unwrap_or("")
        .to_string();
    serde_json::from_str(&line).unwrap_or(serde_json::Value::Null)
}

/// Rows of a CSV file as header-name -> value maps.
fn read_csv(path: &Path) -> Vec<HashMap<String, String>> {
    let mut r = csv::Reader::from_path(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let head: Vec<String> = r.headers().unwrap().iter().map(String::from).collect();
    r.records()
        .map(|rec| {
            head.iter()
                .cloned()
                .zip(rec.unwrap().iter().map(String::from))
                .collect()
        })
        .collect()
}

fn num(row: &HashMap<String, String>, k: &str) -> f64 {
    row[k]
        .parse()
        .unwrap_or_else(|_| panic!("column {k}: '{}'", row[k]))
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// The reference five points (deep-funneled frame) by image id; rows without them are left out.
fn reference_landmarks(lfw: &Path) -> HashMap<String, [f64; 10]> {
    let mut r = csv::Reader::from_path(lfw.join("index.csv")).unwrap();
    r.records()
        .filter_map(|rec| {
            let rec = rec.unwrap();
            let v: Vec<f64> = rec[2]
                .split_whitespace()
                .map(|x| x.parse().unwrap())
                .collect();
            (v.len() == 10).then(|| (rec[0].to_string(), std::array::from_fn(|i| v[i])))
        })
        .collect()
}

/// LFW dev with the detector: faces found, landmarks near the reference, verification
/// accuracy of the crops; then the photo set, judged with the FMR = 1e-3 threshold of
/// that LFW run.
#[test]
fn detector_route_on_lfw_and_photos() {
    let Some(shared) = shared() else { return };
    let lfw = shared.join("faces/lfw-dev");
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("lfw");
    let summary = ok(
        &shared,
        &[
            "align",
            "--images",
            s(&lfw.join("raw250_deepfunneled")),
            "--out",
            s(&out),
            "--json",
        ],
    );
    assert_eq!(summary["images"], 2810);

    // Found: one face per image (the largest).
    let faces = read_csv(&out.join("faces.csv"));
    let found = faces.iter().filter(|r| r["face"] == "0").count();
    let found_rate = found as f64 / 2810.0;
    // Landmarks: mean distance of the five detected points from the reference.
    let reference = reference_landmarks(&lfw);
    let cols = [
        "leye_x", "leye_y", "reye_x", "reye_y", "nose_x", "nose_y", "lmouth_x", "lmouth_y",
        "rmouth_x", "rmouth_y",
    ];
    let mut errs = Vec::new();
    for r in &faces {
        if let Some(want) = reference.get(&r["image"]) {
            let got: Vec<f64> = cols.iter().map(|c| num(r, c)).collect();
            errs.push(
                (0..5)
                    .map(|k| (got[2 * k] - want[2 * k]).hypot(got[2 * k + 1] - want[2 * k + 1]))
                    .sum::<f64>()
                    / 5.0,
            );
        }
    }
    let within = errs.iter().filter(|&&e| e <= 5.0).count() as f64 / reference.len() as f64;
    let mean_err = errs.iter().sum::<f64>() / errs.len() as f64;
    eprintln!("LFW dev: faces found in {found}/2810 images ({:.2} %); landmarks within 5 px (mean of 5) in {:.2} % of {} images with reference; mean error {mean_err:.2} px", 100.0 * found_rate, 100.0 * within, reference.len());
    assert!(found_rate >= 0.99);
    assert!(within >= 0.95);

    // Verification with these crops.
    let v = ok(
        &shared,
        &[
            "verify",
            "--images",
            s(&out),
            "--pairs",
            s(&lfw.join("pairs_generated.tsv")),
            "--json",
        ],
    );
    let m = &v["metrics"];
    let best = m["best_accuracy"].as_f64().unwrap();
    let threshold = m["threshold_fmr_1e3"].as_f64().unwrap();
    eprintln!("LFW dev pairs on detector-aligned crops: best accuracy {best:.4}, threshold at FMR 1e-3 {threshold:.4}, FNMR there {}", m["fnmr_at_fmr_1e3"]);
    assert!(best >= 0.985);

    // The photo set: every single-person photo gives one face; group photos several.
    let photos = shared.join("faces/photos-face-recognition");
    let pout = tmp.path().join("photos");
    ok(
        &shared,
        &["align", "--images", s(&photos), "--out", s(&pout), "--json"],
    );
    let pfaces = read_csv(&pout.join("faces.csv"));
    let singles: Vec<String> = amva_io::images::ImageList::open(&photos)
        .unwrap()
        .items
        .into_iter()
        .map(|i| i.id)
        .filter(|id| !id.starts_with("MULTI/"))
        .collect();
    assert_eq!(singles.len(), 20);
    for id in &singles {
        assert_eq!(
            pfaces.iter().filter(|r| &r["image"] == id).count(),
            1,
            "{id}"
        );
    }
    let mout = tmp.path().join("multi");
    ok(
        &shared,
        &[
            "align",
            "--images",
            s(&photos.join("MULTI")),
            "--out",
            s(&mout),
            "--all-faces",
            "--preview",
            "--json",
        ],
    );
    let mfaces = read_csv(&mout.join("faces.csv"));
    for id in [
        "examples__knn_examples__test__kit_with_rose.jpg",
        "examples__knn_examples__test__obama_and_biden.jpg",
        "examples__two_people.jpg",
    ] {
        let n = mfaces.iter().filter(|r| r["image"] == id).count();
        eprintln!("{id}: {n} faces");
        assert!(n >= 2, "{id}: {n} faces");
        assert!(mout
            .join("preview")
            .join(id)
            .with_extension("jpg")
            .is_file());
        assert!(mout.join(id.replace(".jpg", "_face1.jpg")).is_file());
    }

    // One Obama photo at 240p, 480p, 720p, 1080p: all pairs verify above the LFW threshold.
    let res = ["240p", "480p", "720p", "1080p"].map(|r| format!("obama/examples__obama-{r}.jpg"));
    let mut pairs = String::from("img_a\timg_b\tlabel\n");
    for i in 0..4 {
        for j in i + 1..4 {
            pairs += &format!("{}\t{}\t1\n", res[i], res[j]);
        }
        // Non-mated pairs only so that the metrics are defined; not judged here.
        pairs += &format!("{}\tbiden/examples__biden.jpg\t0\n", res[i]);
    }
    std::fs::write(tmp.path().join("obama_pairs.tsv"), pairs).unwrap();
    let vout = tmp.path().join("obama_verify");
    ok(
        &shared,
        &[
            "verify",
            "--images",
            s(&pout),
            "--pairs",
            s(&tmp.path().join("obama_pairs.tsv")),
            "--out",
            s(&vout),
            "--json",
        ],
    );
    let scores = read_csv(&vout.join("scores.csv"));
    let mated: Vec<&HashMap<String, String>> =
        scores.iter().filter(|r| r["label"] == "1").collect();
    assert_eq!(mated.len(), 6);
    for r in mated {
        let sc = num(r, "score");
        eprintln!(
            "{} vs {}: {sc:.4} (threshold {threshold:.4})",
            r["img_a"], r["img_b"]
        );
        assert!(
            sc > threshold,
            "{} vs {}: {sc} <= {threshold}",
            r["img_a"],
            r["img_b"]
        );
    }
}

/// Given landmarks in the LFW index layout: the 17 rows without deep-funneled landmarks
/// are listed as failed, the crops equal the reference crops up to JPEG noise.
#[test]
fn given_landmarks_in_the_lfw_index_layout() {
    let Some(shared) = shared() else { return };
    let lfw = shared.join("faces/lfw-dev");
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("given");
    let summary = ok(
        &shared,
        &[
            "align",
            "--images",
            s(&lfw.join("raw250_deepfunneled")),
            "--landmarks",
            s(&lfw.join("index.csv")),
            "--out",
            s(&out),
            "--json",
        ],
    );
    assert_eq!(summary["faces"], 2793);
    let failed = read_csv(&out.join("failed.csv"));
    assert_eq!(failed.len(), 17);
    assert!(failed.iter().all(|r| r["reason"].contains("no landmarks")));
    let faces = read_csv(&out.join("faces.csv"));
    assert!(faces
        .iter()
        .all(|r| r["x1"].is_empty() && num(r, "residual") >= 0.0));
    // Residual: the five points of an aligned crop do not fit the template exactly.
    let mean_residual = faces.iter().map(|r| num(r, "residual")).sum::<f64>() / faces.len() as f64;
    assert!(
        mean_residual > 0.1 && mean_residual < 10.0,
        "{mean_residual}"
    );
    // Crops against the reference (first 50 ids whose reference OpenCV reproduces).
    let skip: std::collections::HashSet<String> = read_csv(Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../amva-align/fixtures/aligned112_not_reproducible.csv"
    )))
    .into_iter()
    .map(|r| r["image"].clone())
    .collect();
    let mut n = 0;
    for r in faces
        .iter()
        .filter(|r| !skip.contains(&r["image"]))
        .take(50)
    {
        let a = amva_io::images::load_rgb(&out.join(&r["path"])).unwrap();
        let b = amva_io::images::load_rgb(&lfw.join("aligned112").join(&r["image"])).unwrap();
        let mad = a
            .as_raw()
            .iter()
            .zip(b.as_raw())
            .map(|(x, y)| (*x as f64 - *y as f64).abs())
            .sum::<f64>()
            / a.as_raw().len() as f64;
        assert!(mad <= 4.0, "{}: {mad}", r["image"]);
        n += 1;
    }
    assert_eq!(n, 50);
}

fn lfw_face(shared: &Path) -> RgbImage {
    amva_io::images::load_rgb(
        &shared.join("faces/lfw-dev/raw250_deepfunneled/Aaron_Peirsol/Aaron_Peirsol_0001.jpg"),
    )
    .unwrap()
}

/// No face, an unreadable file and a face below --min-face are listed in failed.csv
/// without stopping the run; malformed landmark files stop it with the line named.
#[test]
fn bad_input_is_reported() {
    let Some(shared) = shared() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("in");
    std::fs::create_dir_all(&dir).unwrap();
    lfw_face(&shared).save(dir.join("face.png")).unwrap();
    // A smooth gradient: no face.
    RgbImage::from_fn(320, 240, |x, y| {
        image::Rgb([(x / 2) as u8, (y / 2) as u8, 128])
    })
    .save(dir.join("noface.png"))
    .unwrap();
    std::fs::write(dir.join("broken.jpg"), b"not a jpeg at all").unwrap();
    // The face shrunk to 80 px and placed in a large grey frame: a face box of ~35 px.
    let small = image::imageops::resize(
        &lfw_face(&shared),
        80,
        80,
        image::imageops::FilterType::Triangle,
    );
    let mut frame = RgbImage::from_pixel(640, 480, image::Rgb([120, 120, 120]));
    image::imageops::overlay(&mut frame, &small, 280, 200);
    frame.save(dir.join("tiny.png")).unwrap();

    let out = tmp.path().join("out");
    let summary = ok(
        &shared,
        &[
            "align",
            "--images",
            s(&dir),
            "--out",
            s(&out),
            "--min-face",
            "60",
            "--json",
        ],
    );
    assert_eq!(summary["faces"], 1);
    let failed: HashMap<String, String> = read_csv(&out.join("failed.csv"))
        .into_iter()
        .map(|r| (r["image"].clone(), r["reason"].clone()))
        .collect();
    assert_eq!(failed.len(), 3, "{failed:?}");
    assert!(failed["noface.png"].contains("no face"), "{failed:?}");
    assert!(failed["broken.jpg"].contains("unreadable"), "{failed:?}");
    assert!(failed["tiny.png"].contains("too small"), "{failed:?}");
    assert!(out.join("face.png").is_file());
    // With a lower limit, the small face is aligned.
    let out2 = tmp.path().join("out2");
    let summary = ok(
        &shared,
        &[
            "align",
            "--images",
            s(&dir),
            "--out",
            s(&out2),
            "--min-face",
            "10",
            "--json",
        ],
    );
    assert_eq!(summary["faces"], 2);
    assert!(out2.join("tiny.png").is_file());

    // Writing the crops into the photo folder itself is refused.
    let o = amva(&shared, &["align", "--images", s(&dir), "--out", s(&dir)]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("never writes over or inside its inputs"));

    // Landmark files: a missing column and a non-numeric value are errors naming the line.
    let head = "image,lex,ley,rex,rey,nx,ny,lmx,lmy,rmx,rmy\n";
    let good = "face.png,101.55,111.73,142.99,111.18,124.84,140.86,103.23,155.33,146.83,153.65\n";
    for (body, line, what) in [
        (
            format!("{head}{good}noface.png,1,2,3,4,5,6,7,8,9\n"),
            3,
            "columns",
        ),
        (
            format!("{head}{good}noface.png,1,2,3,4,5,6,seven,8,9,10\n"),
            3,
            "'seven' is not a number",
        ),
    ] {
        let csv_path = tmp.path().join("marks.csv");
        std::fs::write(&csv_path, body).unwrap();
        let o = amva(
            &shared,
            &[
                "align",
                "--images",
                s(&dir),
                "--landmarks",
                s(&csv_path),
                "--out",
                s(&tmp.path().join("out3")),
            ],
        );
        assert_eq!(o.status.code(), Some(1));
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(
            err.contains(&format!("line {line}:")) && err.contains(what),
            "{err}"
        );
    }
    // A good file: the listed image is aligned, the unlisted ones are failed.
    let csv_path = tmp.path().join("marks.csv");
    std::fs::write(&csv_path, format!("{head}{good}")).unwrap();
    let out4 = tmp.path().join("out4");
    let summary = ok(
        &shared,
        &[
            "align",
            "--images",
            s(&dir),
            "--landmarks",
            s(&csv_path),
            "--out",
            s(&out4),
            "--size",
            "224",
            "--json",
        ],
    );
    assert_eq!(summary["faces"], 1);
    let crop = amva_io::images::load_rgb(&out4.join("face.png")).unwrap();
    assert_eq!(crop.dimensions(), (224, 224));
    let failed = read_csv(&out4.join("failed.csv"));
    assert_eq!(failed.len(), 3);
}
