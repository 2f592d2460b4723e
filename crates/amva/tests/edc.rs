//! `amva edc` end to end: against a naive sort-cut-count implementation (with ties and
//! a lower-is-better method), bad input, and real LFW pairs.

mod util;
use util::shared;

use std::collections::HashMap;
use std::path::Path;
use std::process::Command;

fn amva() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_amva"));
    c.arg("--quiet");
    c
}

/// A tiny deterministic generator, independent of the code under test.
struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// A synthetic set: `n` images of `n / 3` people with 8-d embeddings, pairs, and two
/// quality methods with integer scores (many ties): `q` (higher) and `neg` (= -q, lower).
struct Synthetic {
    dir: tempfile::TempDir,
    emb: HashMap<String, Vec<f32>>,
    quality: HashMap<String, f64>,
    pairs: Vec<(String, String, bool)>,
}

fn synthetic(seed: u64) -> Synthetic {
    let mut r = Lcg(seed);
    let n = 60;
    let dir = tempfile::tempdir().unwrap();
    let ids: Vec<String> = (0..n)
        .map(|i| format!("person{}/img{i}.jpg", i / 3))
        .collect();
    let centers: Vec<Vec<f32>> = (0..n / 3)
        .map(|_| (0..8).map(|_| (r.next() * 2.0 - 1.0) as f32).collect())
        .collect();
    let mut emb = HashMap::new();
    let mut quality = HashMap::new();
    for (i, id) in ids.iter().enumerate() {
        let q = (r.next() * 4.0).floor();
        // Low quality: more noise, so more false non-matches.
        let noise = 0.3 + 0.4 * (3.0 - q) / 3.0;
        let v: Vec<f32> = centers[i / 3]
            .iter()
            .map(|c| c + (noise * (r.next() * 2.0 - 1.0)) as f32)
            .collect();
        emb.insert(id.clone(), v);
        quality.insert(id.clone(), q);
    }
    let mut pairs = Vec::new();
    for i in 0..n {
        for j in i + 1..n {
            let mated = i / 3 == j / 3;
            if mated || r.next() < 0.1 {
                pairs.push((ids[i].clone(), ids[j].clone(), mated));
            }
        }
    }
    // Files: embeddings folder as `amva embed` writes it, long scores with sidecar, pairs.
    let e = dir.path().join("emb");
    std::fs::create_dir_all(&e).unwrap();
    let flat: Vec<f32> = ids.iter().flat_map(|id| emb[id].clone()).collect();
    amva_io::npy::write_f32(&e.join("embeddings.npy"), &[n, 8], &flat).unwrap();
    let mut index = String::from("row,image\n");
    for (i, id) in ids.iter().enumerate() {
        index += &format!("{i},{id}\n");
    }
    std::fs::write(e.join("index.csv"), index).unwrap();
    std::fs::write(e.join("meta.json"), r#"{"kind": "embeddings"}"#).unwrap();
    let mut s = String::from("image,method,score\n");
    for id in &ids {
        s += &format!("{id},q,{}\n{id},neg,{}\n", quality[id], -quality[id]);
    }
    std::fs::write(dir.path().join("scores.csv"), s).unwrap();
    std::fs::write(
        dir.path().join("scores.meta.json"),
        r#"{"methods": {"q": {"direction": "higher"}, "neg": {"direction": "lower"}}}"#,
    )
    .unwrap();
    write_pairs(&dir.path().join("pairs.tsv"), &pairs);
    Synthetic {
        dir,
        emb,
        quality,
        pairs,
    }
}

fn write_pairs(path: &Path, pairs: &[(String, String, bool)]) {
    let mut p = String::from("img_a\timg_b\tlabel\n");
    for (a, b, m) in pairs {
        p += &format!("{a}\t{b}\t{}\n", u8::from(*m));
    }
    std::fs::write(path, p).unwrap();
}

fn cosine(a: &[f32], b: &[f32]) -> f64 {
    let dot: f64 = a.iter().zip(b).map(|(x, y)| *x as f64 * *y as f64).sum();
    let na: f64 = a.iter().map(|x| (*x as f64).powi(2)).sum::<f64>().sqrt();
    let nb: f64 = b.iter().map(|x| (*x as f64).powi(2)).sum::<f64>().sqrt();
    dot / (na * nb)
}

fn edc(s: &Synthetic, extra: &[&str]) -> std::process::Output {
    let d = s.dir.path();
    amva()
        .arg("edc")
        .arg("--pairs")
        .arg(d.join("pairs.tsv"))
        .arg("--embeddings")
        .arg(d.join("emb"))
        .arg("--scores")
        .arg(d.join("scores.csv"))
        .arg("--out")
        .arg(d.join("out"))
        .args(extra)
        .output()
        .unwrap()
}

/// curves.csv rows of one method.
fn curve(out: &Path, method: &str) -> Vec<(f64, f64)> {
    let mut r = csv::Reader::from_path(out.join("curves.csv")).unwrap();
    r.records()
        .map(|x| x.unwrap())
        .filter(|x| &x[0] == method)
        .map(|x| (x[1].parse().unwrap(), x[2].parse().unwrap()))
        .collect()
}

#[test]
fn curves_match_a_naive_sort_cut_count_with_ties() {
    for seed in [1u64, 2, 3] {
        let s = synthetic(seed);
        let o = edc(&s, &["--fmr", "0.05", "--json"]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let out = s.dir.path().join("out");
        // Naive threshold: impostor scores descending, the one at floor(fmr * n).
        let scored: Vec<(f64, bool, f64)> = s
            .pairs
            .iter()
            .map(|(a, b, m)| {
                (
                    cosine(&s.emb[a], &s.emb[b]),
                    *m,
                    s.quality[a].min(s.quality[b]),
                )
            })
            .collect();
        let mut imp: Vec<f64> = scored.iter().filter(|x| !x.1).map(|x| x.0).collect();
        imp.sort_by(|a, b| b.total_cmp(a));
        let t = imp[(0.05 * imp.len() as f64).floor() as usize];
        // Naive curve: for every quality level, drop the mated comparisons below it, count.
        let mated: Vec<(f64, f64)> = scored.iter().filter(|x| x.1).map(|x| (x.2, x.0)).collect();
        let mut levels: Vec<f64> = mated.iter().map(|m| m.0).collect();
        levels.sort_by(f64::total_cmp);
        levels.dedup();
        let mut naive: Vec<(f64, f64)> = levels
            .iter()
            .map(|l| {
                let kept: Vec<_> = mated.iter().filter(|m| m.0 >= *l).collect();
                let fnm = kept.iter().filter(|m| m.1 <= t).count();
                (
                    (mated.len() - kept.len()) as f64 / mated.len() as f64,
                    fnm as f64 / kept.len() as f64,
                )
            })
            .collect();
        naive.push((1.0, 0.0));
        for method in ["q", "neg"] {
            let got = curve(&out, method);
            assert_eq!(
                got.len(),
                naive.len(),
                "seed {seed} {method}: {got:?} vs {naive:?}"
            );
            for (g, n) in got.iter().zip(&naive) {
                assert!(
                    (g.0 - n.0).abs() < 1e-12 && (g.1 - n.1).abs() < 1e-12,
                    "seed {seed} {method}: {g:?} vs {n:?}"
                );
            }
        }
        // pAUC(0.2) of the step function, naively on a fine grid.
        let step = |d: f64| naive.iter().rev().find(|p| p.0 <= d).unwrap().1;
        let n = 100_000;
        let want: f64 = (0..n)
            .map(|i| step((i as f64 + 0.5) / n as f64 * 0.2))
            .sum::<f64>()
            * 0.2
            / n as f64;
        let table = std::fs::read_to_string(out.join("pauc.csv")).unwrap();
        let row = table.lines().find(|l| l.starts_with("q,")).unwrap();
        let pauc: f64 = row.split(',').nth(3).unwrap().parse().unwrap();
        assert!(
            (pauc - want).abs() < 1e-5,
            "seed {seed}: pAUC {pauc} vs naive {want}"
        );
        assert!(out.join("edc.png").is_file() && out.join("edc.json").is_file());
        // The random reference is there, with one point per discard count.
        assert_eq!(curve(&out, "random").len(), mated.len() + 1);
    }
}

#[test]
fn pairs_without_embeddings_are_listed_excluded_and_counted() {
    let mut s = synthetic(5);
    s.pairs
        .push(("ghost/a.jpg".into(), s.pairs[0].0.clone(), true));
    s.pairs
        .push(("ghost/b.jpg".into(), "ghost/c.jpg".into(), false));
    write_pairs(&s.dir.path().join("pairs.tsv"), &s.pairs);
    let o = edc(&s, &["--json"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let summary: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(summary["excluded_pairs"], 2);
    let listed = std::fs::read_to_string(s.dir.path().join("out/excluded_pairs.csv")).unwrap();
    assert!(listed.contains("no embedding for ghost/a.jpg"), "{listed}");
    assert!(listed.contains("ghost/b.jpg and ghost/c.jpg"), "{listed}");
    assert_eq!(listed.lines().count(), 3);
}

#[test]
fn no_impostor_pairs_is_a_clear_error() {
    let mut s = synthetic(6);
    s.pairs.retain(|p| p.2);
    write_pairs(&s.dir.path().join("pairs.tsv"), &s.pairs);
    let o = edc(&s, &[]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("non-mated") && err.contains("threshold") && err.contains("undefined"),
        "{err}"
    );
}

#[test]
fn unknown_method_names_the_available_ones() {
    let s = synthetic(7);
    let o = edc(&s, &["--fiqa", "q,magface"]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("'magface'") && err.contains("neg, q"), "{err}");
}

/// LFW dev, default model, FMR 1e-3: discarding by magnitude or SER-FIQ quality lowers
/// FNMR much faster than discarding at random. Embeds and scores all 2,810 images.
#[test]
fn magnitude_and_serfiq_beat_random_on_lfw() {
    let Some(shared) = shared() else { return };
    let dir = tempfile::tempdir().unwrap();
    let images = shared.join("faces/lfw-dev/aligned112");
    let scores = dir.path().join("scores.csv");
    let run = |c: &mut Command| {
        let o = c
            .env("AMVA_MODELS", shared.join("models"))
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8_lossy(&o.stdout).to_string()
    };
    run(amva()
        .args(["quality", "--fiqa", "magnitude,serfiq", "--images"])
        .arg(&images)
        .arg("--out")
        .arg(&scores));
    let out = dir.path().join("edc");
    let summary = run(amva()
        .args(["edc", "--json", "--pairs"])
        .arg(shared.join("faces/lfw-dev/pairs_generated.tsv"))
        .arg("--images")
        .arg(&images)
        .arg("--scores")
        .arg(&scores)
        .arg("--out")
        .arg(&out));
    eprintln!("{summary}");
    let table = std::fs::read_to_string(out.join("pauc.csv")).unwrap();
    eprintln!("{table}");
    let ratio = |m: &str| -> f64 {
        let row = table
            .lines()
            .find(|l| l.starts_with(&format!("{m},")))
            .unwrap();
        row.split(',').nth(6).unwrap().parse().unwrap()
    };
    for m in ["magnitude", "serfiq"] {
        assert!(ratio(m) <= 0.6, "{m}: pAUC(0.2) is {} x random", ratio(m));
    }
}
