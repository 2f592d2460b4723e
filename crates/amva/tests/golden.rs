//! Golden test of `amva analyze`: the outputs of an earlier commit, kept in
//! tests/fixtures/analyze-golden/expected (see its README for which), against the outputs
//! of the code now. Correctness is tested elsewhere (naive recomputations in
//! amva-analysis/tests/naive.rs and tests/analyze.rs); this test says that a change of
//! structure changed no number, no array and no pixel. Every output is compared (see
//! `util/golden.rs`), in exact mode: the inputs are fixed arrays and scores, and the
//! analysis is pure Rust, so the outputs do not depend on the CPU.
//!
//! - summary.json: same keys and strings (paths of this run replaced by placeholders,
//!   the run time dropped), numbers within 1e-12;
//! - every .csv, .js, .html and .json: byte for byte / as JSON;
//! - every .npy, the explorer's sprite sheets and the gallery figures: byte for byte,
//!   through their SHA-256 in the case's `MANIFEST.sha256` (they would be most of the
//!   fixture's size);
//! - every other PNG: against the kept PNG, pixel by pixel: a drawing change may move a
//!   pixel by at most 1 grey level per channel (anti-aliasing rounding); the count of
//!   changed pixels and the largest difference are printed.
//!
//! `AMVA_GOLDEN_WRITE=1 cargo test -p amva --test golden` writes the expected outputs
//! from the code at hand instead of comparing (see the fixture's README for when that is
//! legitimate).

mod util;
use std::path::{Path, PathBuf};
use std::process::Command;
use util::golden::{Golden, Mode, ACROSS_CPUS};

fn fixture() -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/analyze-golden"
    ))
}

/// One analysis of the fixture's inputs: extra arguments after --maps/--out.
struct Case {
    name: &'static str,
    /// The input set under the fixture's inputs/.
    inputs: &'static str,
    args: Vec<String>,
    /// Score files, relative to the input set.
    scores: Vec<PathBuf>,
}

/// Runs `case` (face images for the mean faces from `faces`; score files made by the
/// test in `scores_dir`) and compares with, or writes, its expected outputs.
fn run_case(case: &Case, faces: Option<&Path>, scores_dir: Option<&Path>) {
    let tmp = tempfile::tempdir().unwrap();
    let out = analyze_case(case, faces, tmp.path());
    let golden = golden_of(case, faces, scores_dir, tmp.path());
    if util::golden::writing() {
        golden.write(&out);
    } else {
        golden.compare(&out, Mode::Exact);
    }
}

/// Runs `amva analyze` on `case` into `tmp/out`; returns the output folder.
fn analyze_case(case: &Case, faces: Option<&Path>, tmp: &Path) -> PathBuf {
    let inputs = fixture().join("inputs").join(case.inputs);
    let out = tmp.join("out");
    let mut c = Command::new(env!("CARGO_BIN_EXE_amva"));
    c.args(["analyze", "--quiet", "--maps"])
        .arg(inputs.join("maps"))
        .arg("--out")
        .arg(&out)
        .arg("--scores")
        .args(case.scores.iter().map(|s| {
            if s.is_absolute() {
                s.clone()
            } else {
                inputs.join(s)
            }
        }))
        .args(&case.args);
    if let Some(f) = faces {
        c.arg("--images").arg(f);
    }
    let o = util::run(c);
    assert!(o.status.success(), "{}: amva analyze failed", case.name);
    out
}

/// The kept outputs of `case` and the placeholders of this run's paths.
fn golden_of(
    case: &Case,
    faces: Option<&Path>,
    scores_dir: Option<&Path>,
    tmp: &Path,
) -> Golden<'static> {
    let inputs = fixture().join("inputs").join(case.inputs);
    let mut replace = vec![
        (inputs.display().to_string(), "<INPUTS>"),
        (tmp.display().to_string(), "<TMP>"),
    ];
    if let Some(f) = faces {
        replace.push((f.display().to_string(), "<FACES>"));
    }
    if let Some(d) = scores_dir {
        replace.push((d.display().to_string(), "<SCORES>"));
    }
    Golden {
        name: case.name,
        expected: fixture().join("expected").join(case.name),
        replace,
        skip: &never,
        digest_only: &never,
    }
}

fn never(_: &Path) -> bool {
    false
}

/// Three FIQA methods from one long-format file with its direction sidecar (the demo's
/// shape), quality bins, the permutation test, mean faces under the overlays.
#[test]
fn analyze_outputs_equal_the_golden_outputs_three_methods() {
    let Some(shared) = util::shared_with(&["faces/lfw-dev/aligned112"]) else {
        return;
    };
    let case = Case {
        name: "three_methods",
        inputs: "lfw200",
        args: ["--bins", "3", "--seed", "1", "--permutations", "200"]
            .map(String::from)
            .to_vec(),
        scores: vec!["scores.csv".into()],
    };
    run_case(&case, Some(&shared.join("faces/lfw-dev/aligned112")), None);
}

/// One method in the image,score shape with non-finite, missing and unknown ids;
/// overlapping groups (no permutation test), --symmetric, --compat paper, no face images.
#[test]
fn analyze_outputs_equal_the_golden_outputs_options() {
    let tmp = tempfile::tempdir().unwrap();
    // magnitude's rows, every 17th NaN, the first 5 unscored, one id without a map.
    let text = std::fs::read_to_string(fixture().join("inputs/lfw200/scores.csv")).unwrap();
    let mut body = String::from("image,score\n");
    let rows = text
        .lines()
        .skip(1)
        .map(|l| l.split(',').collect::<Vec<_>>())
        .filter(|f| f.len() == 3 && f[1] == "magnitude");
    for (i, f) in rows.enumerate().skip(5) {
        let score = if i % 17 == 0 { "NaN" } else { f[2] };
        body.push_str(&format!("{},{score}\n", f[0]));
    }
    body.push_str("nobody/ghost.jpg,12.5\n");
    let scores = tmp.path().join("gappy.csv");
    std::fs::write(&scores, body).unwrap();
    let case = Case {
        name: "options",
        inputs: "lfw200",
        args: [
            "--high",
            "top:60%",
            "--low",
            "bottom:60%",
            "--symmetric",
            "--compat",
            "paper",
            "--region-margin",
            "8",
            "--permutations",
            "50",
        ]
        .map(String::from)
        .to_vec(),
        scores: vec![scores],
    };
    run_case(&case, None, Some(tmp.path()));
}

/// Categorical groups and comparisons (issue 12's --groups and --pairs): labels, the
/// EDC of each method from precomputed embeddings, the galleries and the explorer.
#[test]
fn analyze_outputs_equal_the_golden_outputs_groups_and_pairs() {
    let inputs = fixture().join("inputs/lfw-pairs");
    let case = Case {
        name: "groups_pairs",
        inputs: "lfw-pairs",
        args: vec![
            "--groups".into(),
            inputs.join("groups.csv").display().to_string(),
            "--pairs".into(),
            inputs.join("pairs.csv").display().to_string(),
            "--embeddings".into(),
            inputs.join("embeddings").display().to_string(),
            "--gallery".into(),
            "3".into(),
            "--permutations".into(),
            "100".into(),
        ],
        scores: vec!["scores.csv".into()],
    };
    run_case(&case, None, None);
}

/// The tolerant comparison of the demo golden (another CPU) accepts what a CPU changes
/// (numbers within the stated bounds, a few pixels) and refuses a real change; the exact
/// one refuses both. Made from a real output folder, changed by hand.
#[test]
fn golden_comparison_modes_accept_noise_only_where_stated() {
    let options = Case {
        name: "options",
        inputs: "lfw200",
        args: ["--permutations", "20", "--gallery", "2"]
            .map(String::from)
            .to_vec(),
        scores: vec!["scores.csv".into()],
    };
    let tmp = tempfile::tempdir().unwrap();
    let out = analyze_case(&options, None, tmp.path());
    let kept = tmp.path().join("kept");
    let golden = Golden {
        name: "modes",
        expected: kept.clone(),
        replace: vec![(tmp.path().display().to_string(), "<TMP>")],
        skip: &never,
        digest_only: &never,
    };
    golden.write(&out);
    golden.compare(&out, Mode::Exact);
    let compares = |mode: Mode| {
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| golden.compare(&out, mode)))
            .is_ok()
    };
    // CPU-sized noise: an array scaled by 1 + 1e-6, a summary number moved by 1e-7 of
    // itself, one pixel of a figure moved by 100 grey levels.
    let array = out.join("arrays/magnitude/high_amv.npy");
    let a = amva_io::npy::read_f32(&array).unwrap();
    let scale = |k: f32| {
        let v: Vec<f32> = a.iter().map(|x| x * k).collect();
        amva_io::npy::write_f32(&array, a.shape(), &v).unwrap();
    };
    scale(1.0 + 1e-6);
    let summary = out.join("summary.json");
    let text = std::fs::read_to_string(&summary).unwrap();
    let mut v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let p = &mut v["methods"]["magnitude"]["permutation_test"]["observed"];
    let observed = p.as_f64().unwrap();
    *p = serde_json::json!(observed * (1.0 + 1e-7));
    std::fs::write(&summary, serde_json::to_string(&v).unwrap()).unwrap();
    let fig = out.join("figures/magnitude_amv_high_low.png");
    let mut img = image::open(&fig).unwrap().to_rgb8();
    let px = img.get_pixel_mut(10, 10);
    px.0[0] = px.0[0].wrapping_add(100);
    img.save(&fig).unwrap();
    assert!(!compares(Mode::Exact), "exact mode let CPU noise through");
    assert!(
        compares(Mode::Tolerant(ACROSS_CPUS)),
        "tolerant mode refused CPU noise"
    );
    // A real change: the array 50 % larger.
    scale(1.5);
    assert!(
        !compares(Mode::Tolerant(ACROSS_CPUS)),
        "tolerant mode let a 50 % change through"
    );
    scale(1.0);
    v["methods"]["magnitude"]["permutation_test"]["observed"] = serde_json::json!(observed * 1.2);
    std::fs::write(&summary, serde_json::to_string(&v).unwrap()).unwrap();
    assert!(
        !compares(Mode::Tolerant(ACROSS_CPUS)),
        "tolerant mode let a 20 % change through"
    );
}
