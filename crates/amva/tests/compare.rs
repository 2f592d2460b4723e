//! `amva compare` end to end on real LFW pairs: the output contract (index.csv, the
//! arrays' shapes, failed.csv with lines), the similarity against `amva embed`'s
//! embeddings, a killed run resumed and a sharded run merged ending byte-identical to
//! one run, the figure of one pair, and the one pairs reader refusing a comparison
//! listed twice in compare, verify and edc.
//!
//! Needs ../shared (model, LFW faces); skips with a message when it is missing.

mod util;

use std::path::{Path, PathBuf};
use std::process::Output;
use util::assert_same_files;

fn shared() -> Option<PathBuf> {
    util::shared_with(&[
        "models/fr_feature.onnx",
        "faces/lfw-dev/aligned112",
        "faces/lfw-dev/pairs_generated.tsv",
    ])
}

fn amva(shared: &Path, args: &[&str]) -> Output {
    let out = util::amva(shared).args(args).output().expect("amva runs");
    eprintln!(
        "amva {}\n{}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn ok(shared: &Path, args: &[&str]) {
    assert!(
        amva(shared, args).status.success(),
        "amva {} failed",
        args.join(" ")
    );
}

/// A pairs file of 3 mated and 2 non-mated LFW dev pairs and one naming a missing image
/// (line 5), and the images folder.
fn pairs_file(shared: &Path, dir: &Path) -> (PathBuf, PathBuf) {
    let text = std::fs::read_to_string(shared.join("faces/lfw-dev/pairs_generated.tsv")).unwrap();
    let rows: Vec<&str> = text.lines().skip(1).collect();
    let mated: Vec<&str> = rows
        .iter()
        .filter(|r| r.ends_with("\t1"))
        .take(3)
        .copied()
        .collect();
    let other: Vec<&str> = rows
        .iter()
        .filter(|r| r.ends_with("\t0"))
        .take(2)
        .copied()
        .collect();
    let a0 = mated[0].split('\t').next().unwrap();
    let mut body = String::from("img_a\timg_b\tlabel\n");
    for r in &mated[..2] {
        body += &format!("{r}\n");
    }
    body += &format!("{a0}\tNobody/missing.jpg\t0\n");
    for r in mated[2..].iter().chain(&other) {
        body += &format!("{r}\n");
    }
    let p = dir.join("pairs.tsv");
    std::fs::write(&p, body).unwrap();
    (p, shared.join("faces/lfw-dev/aligned112"))
}

fn npy_shape(path: &Path) -> Vec<usize> {
    amva_io::npy::read_f32_header(path).unwrap().0
}

#[test]
fn compare_writes_the_contract_and_resumes_and_merges_byte_identical() {
    let Some(shared) = shared() else { return };
    let dir = tempfile::tempdir().unwrap();
    let (pairs, images) = pairs_file(&shared, dir.path());
    let (p, im) = (pairs.to_str().unwrap(), images.to_str().unwrap());
    let out = |name: &str| dir.path().join(name).to_str().unwrap().to_string();
    let base = [
        "compare",
        "--pairs",
        p,
        "--images",
        im,
        "--method",
        "swap-fast",
        "--full",
        "--part-size",
        "2",
    ];
    fn with<'a>(base: &[&'a str], extra: &[&'a str]) -> Vec<&'a str> {
        [base, extra].concat()
    }
    let one = out("one");
    ok(&shared, &with(&base, &["--out", &one]));

    // The contract: 5 mapped comparisons, 1 failed with its line.
    let index = std::fs::read_to_string(dir.path().join("one/index.csv")).unwrap();
    let lines: Vec<&str> = index.lines().collect();
    assert_eq!(lines[0], "row,line,a,b,label,similarity");
    assert_eq!(lines.len(), 6, "{index}");
    assert!(
        lines[3].starts_with("3,5,"),
        "rows keep the pairs file's order and lines: {index}"
    );
    let failed = std::fs::read_to_string(dir.path().join("one/failed.csv")).unwrap();
    assert!(
        failed.contains("4,") && failed.contains("Nobody/missing.jpg"),
        "{failed}"
    );
    let meta: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("one/meta.json")).unwrap()).unwrap();
    let s = &meta["settings"];
    let shape = |k: &str| {
        [
            s[k][0].as_u64().unwrap() as usize,
            s[k][1].as_u64().unwrap() as usize,
        ]
    };
    assert_eq!(
        npy_shape(&dir.path().join("one/similar.npy")),
        [&[5, 2][..], &shape("similar_shape")].concat()
    );
    assert_eq!(
        npy_shape(&dir.path().join("one/dissimilar.npy")),
        [&[5, 2][..], &shape("dissimilar_shape")].concat()
    );
    assert_eq!(
        npy_shape(&dir.path().join("one/similar_full.npy")),
        vec![5, 2, 112, 112]
    );
    let full = amva_io::npy::read_f32(&dir.path().join("one/dissimilar_full.npy")).unwrap();
    assert!(full.iter().all(|v| (0.0..=1.0).contains(v)) && full.iter().any(|&v| v == 1.0));

    // The similarity is the cosine of `amva embed`'s embeddings.
    ok(&shared, &["embed", "--images", im, "--out", &out("emb")]);
    let emb = amva_io::npy::read_f32(&dir.path().join("emb/embeddings.npy")).unwrap();
    let ids: Vec<String> = std::fs::read_to_string(dir.path().join("emb/index.csv"))
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(1).unwrap().to_string())
        .collect();
    let d = emb.shape()[1];
    let e = |id: &str| {
        let i = ids
            .iter()
            .position(|x| x == id)
            .unwrap_or_else(|| panic!("{id} not embedded"));
        emb.as_slice().unwrap()[i * d..(i + 1) * d].to_vec()
    };
    for l in &lines[1..] {
        let c: Vec<&str> = l.split(',').collect();
        let (ea, eb) = (e(c[2]), e(c[3]));
        let dot: f32 = ea.iter().zip(&eb).map(|(x, y)| x * y).sum();
        let n = |v: &[f32]| v.iter().map(|x| x * x).sum::<f32>().sqrt();
        let want = dot / (n(&ea) * n(&eb));
        let got: f32 = c[5].parse().unwrap();
        assert!((got - want).abs() < 1e-4, "{l}: {got} vs {want}");
    }

    // Killed after one part, then resumed: the files of the uninterrupted run.
    let resumed = out("resumed");
    let stopped = amva(
        &shared,
        &with(&base, &["--out", &resumed, "--stop-after-parts", "1"]),
    );
    assert!(!stopped.status.success());
    assert!(dir.path().join("resumed/parts/000000.json").exists());
    ok(&shared, &with(&base, &["--out", &resumed]));
    assert_same_files(&dir.path().join("one"), &dir.path().join("resumed"));

    // Two shards merged: the files of one run.
    ok(
        &shared,
        &with(&base, &["--out", &out("s1"), "--shard", "1/2"]),
    );
    ok(
        &shared,
        &with(&base, &["--out", &out("s2"), "--shard", "2/2"]),
    );
    ok(
        &shared,
        &["merge", &out("s2"), &out("s1"), "--out", &out("merged")],
    );
    assert_same_files(&dir.path().join("one"), &dir.path().join("merged"));
    // One shard alone is refused with what is missing.
    let half = amva(&shared, &["merge", &out("s1"), "--out", &out("half")]);
    assert!(
        !half.status.success()
            && String::from_utf8_lossy(&half.stderr).contains("a shard is missing")
    );
    // Other settings on the same folder are refused, naming them.
    let other = amva(
        &shared,
        &[
            "compare",
            "--pairs",
            p,
            "--images",
            im,
            "--method",
            "occlusion-fast",
            "--full",
            "--out",
            &one,
        ],
    );
    assert!(!other.status.success() && String::from_utf8_lossy(&other.stderr).contains("method"));
}

#[test]
fn one_pair_draws_its_figure_and_duplicates_are_refused_everywhere() {
    let Some(shared) = shared() else { return };
    let dir = tempfile::tempdir().unwrap();
    let images = shared.join("faces/lfw-dev/aligned112");
    let im = images.to_str().unwrap();
    let out = dir.path().join("one");
    ok(
        &shared,
        &[
            "compare",
            "--images",
            im,
            "--pair",
            "Aaron_Peirsol/Aaron_Peirsol_0003.jpg",
            "Aaron_Peirsol/Aaron_Peirsol_0004.jpg",
            "--out",
            out.to_str().unwrap(),
            "--method",
            "swap-fast",
            "--threshold",
            "0.3",
        ],
    );
    let fig = image::open(out.join("pair.png")).unwrap();
    assert!(
        fig.width() > 600 && fig.height() > 600,
        "{:?}",
        (fig.width(), fig.height())
    );
    assert_eq!(
        npy_shape(&out.join("similar_full.npy")),
        vec![1, 2, 112, 112]
    );

    let pairs = dir.path().join("dup.csv");
    std::fs::write(
        &pairs,
        "a,b,label\nA/1.jpg,B/1.jpg,0\nC/1.jpg,C/2.jpg,1\nB/1.jpg,A/1.jpg,1\n",
    )
    .unwrap();
    let p = pairs.to_str().unwrap();
    let scores = dir.path().join("q.csv");
    std::fs::write(
        &scores,
        "image,score\nA/1.jpg,1\nB/1.jpg,2\nC/1.jpg,3\nC/2.jpg,4\n",
    )
    .unwrap();
    let q = scores.to_str().unwrap();
    let o = |n: &str| dir.path().join(n).to_str().unwrap().to_string();
    for args in [
        vec!["compare", "--pairs", p, "--images", im, "--out", &o("c")],
        vec!["verify", "--pairs", p, "--images", im],
        vec![
            "edc",
            "--pairs",
            p,
            "--images",
            im,
            "--scores",
            q,
            "--out",
            &o("e"),
        ],
    ] {
        let r = amva(&shared, &args);
        let err = String::from_utf8_lossy(&r.stderr);
        assert!(!r.status.success(), "{args:?} accepted a duplicate");
        assert!(
            err.contains("lines 2 and 4") && err.contains("twice with both labels"),
            "{args:?}: {err}"
        );
    }
}
