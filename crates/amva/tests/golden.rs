//! Golden test of `amva analyze`: the outputs of the code before the refactor of the
//! analysis into typed stages (issue 11), kept in tests/fixtures/analyze-golden/expected,
//! against the outputs of the code now. Correctness is tested elsewhere (naive
//! recomputations in amva-analysis/tests/naive.rs and tests/analyze.rs); this test says
//! that a change of structure changed no number, no array and no pixel.
//!
//! - summary.json: same keys and strings (paths of this run replaced by placeholders,
//!   the run time dropped), numbers within 1e-12;
//! - every .csv and .json: byte for byte / as JSON;
//! - every .npy: byte for byte, through its SHA-256 in the case's `MANIFEST.sha256`
//!   (the arrays themselves would be most of the fixture's size);
//! - every PNG: against the kept PNG, pixel by pixel: a drawing change may move a pixel
//!   by at most 1 grey level per channel (anti-aliasing rounding); the count of changed
//!   pixels and the largest difference are printed.
//!
//! `AMVA_GOLDEN_WRITE=1 cargo test -p amva --test golden` writes the expected outputs
//! from the code at hand instead of comparing (see the fixture's README for when that is
//! legitimate).

mod util;
use std::path::{Path, PathBuf};
use std::process::Command;
use util::golden::Golden;

fn fixture() -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/analyze-golden"
    ))
}

/// One analysis of the fixture's inputs: extra arguments after --maps/--out.
struct Case {
    name: &'static str,
    args: Vec<String>,
    /// Score files, relative to the fixture's inputs/lfw200.
    scores: Vec<PathBuf>,
}

/// Runs `case` (face images for the mean faces from `faces`; score files made by the
/// test in `scores_dir`) and compares with, or writes, its expected outputs.
fn run_case(case: &Case, faces: Option<&Path>, scores_dir: Option<&Path>) {
    let inputs = fixture().join("inputs/lfw200");
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
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
    let mut replace = vec![
        (inputs.display().to_string(), "<INPUTS>"),
        (tmp.path().display().to_string(), "<TMP>"),
    ];
    if let Some(f) = faces {
        replace.push((f.display().to_string(), "<FACES>"));
    }
    if let Some(d) = scores_dir {
        replace.push((d.display().to_string(), "<SCORES>"));
    }
    let golden = Golden {
        name: case.name,
        expected: fixture().join("expected").join(case.name),
        replace,
        skip: &|_| false,
        digest_only: &|_| false,
    };
    if util::golden::writing() {
        golden.write(&out);
    } else {
        golden.compare(&out);
    }
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
