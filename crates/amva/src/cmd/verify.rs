//! `amva verify`: face verification on a pairs file.

use crate::common::{ModelArgs, Ui};
use anyhow::{Context, Result};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:
  amva verify --pairs pairs.tsv --images aligned112/
  amva verify --pairs pairs.tsv --embeddings emb/ --out verify/

The pairs file is CSV or TSV with a header: img_a, img_b, label (1 = same person).")]
pub struct Args {
    #[command(flatten)]
    pub input: PairInputs,
    /// Output folder for scores.csv and summary.json.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// A pairs file and where the embeddings of its images come from (`verify`, `edc`).
#[derive(clap::Args, Debug)]
pub struct PairInputs {
    /// Pairs file: img_a, img_b, label (1 mated, 0 non-mated); CSV or TSV with a header.
    #[arg(long)]
    pub pairs: PathBuf,
    /// Embeddings folder from `amva embed`.
    #[arg(long, conflicts_with = "images")]
    pub embeddings: Option<PathBuf>,
    /// Or: image folder (ids as in the pairs file); embeds what the pairs need.
    #[arg(long)]
    pub images: Option<PathBuf>,
    /// Resize images of the wrong size (with --images).
    #[arg(long)]
    pub resize: bool,
    #[command(flatten)]
    pub model: ModelArgs,
}

/// Embeddings of the images a pairs file names, and what made them (the engine, or
/// "precomputed"). Images that could not be embedded are reported on stderr; the pairs
/// naming them have no embedding and are excluded downstream.
pub struct PairEmbeddings {
    pub embeddings: HashMap<String, Vec<f32>>,
    pub engine: String,
}

impl PairInputs {
    /// The files and folders read, for the output guard.
    pub fn inputs(&self) -> Vec<amva_io::outputs::Input<'_>> {
        let mut v = vec![crate::common::input("--pairs", &self.pairs)];
        v.extend(
            self.embeddings
                .as_deref()
                .map(|p| crate::common::input("--embeddings", p)),
        );
        v.extend(
            self.images
                .as_deref()
                .map(|p| crate::common::input("--images", p)),
        );
        v.extend(
            self.model
                .model
                .as_deref()
                .map(|p| crate::common::input("--model", p)),
        );
        v
    }

    /// Reads `--embeddings`, or embeds every image the pairs name from `--images`.
    /// Embeddings holding NaN or infinity are dropped, each named on stderr, so the
    /// pairs naming them are excluded like pairs without an embedding.
    pub fn embed(&self, pairs: &[Pair], ui: &Ui) -> Result<PairEmbeddings> {
        let mut e = self.embed_all(pairs, ui)?;
        let mut bad: Vec<String> = e
            .embeddings
            .iter()
            .filter(|(_, v)| v.iter().any(|x| !x.is_finite()))
            .map(|(id, _)| id.clone())
            .collect();
        bad.sort();
        for id in &bad {
            e.embeddings.remove(id);
            ui.note(&format!(
                "{id}: its embedding holds NaN or infinity; the pairs naming it are excluded"
            ));
        }
        Ok(e)
    }

    fn embed_all(&self, pairs: &[Pair], ui: &Ui) -> Result<PairEmbeddings> {
        match (&self.embeddings, &self.images) {
            (Some(dir), _) => Ok(PairEmbeddings {
                embeddings: read_embeddings(dir)
                    .with_context(|| format!("reading embeddings from {}", dir.display()))?,
                engine: "precomputed".into(),
            }),
            (None, Some(root)) => embed_pair_images(root, pairs, &self.model, self.resize, ui),
            (None, None) => {
                anyhow::bail!("give --embeddings DIR (from `amva embed`) or --images DIR")
            }
        }
    }
}

fn embed_pair_images(
    root: &Path,
    pairs: &[Pair],
    model: &ModelArgs,
    resize: bool,
    ui: &Ui,
) -> Result<PairEmbeddings> {
    let model = model.load(ui)?;
    let mut ids: Vec<String> = pairs
        .iter()
        .flat_map(|p| [p.a.clone(), p.b.clone()])
        .collect();
    ids.sort();
    ids.dedup();
    let items: Vec<_> = ids
        .iter()
        .map(|id| amva_io::images::ImageItem {
            id: id.clone(),
            path: root.join(id),
        })
        .collect();
    let pb = ui.progress(items.len() as u64, "embed");
    let (mut map, mut failed) = (HashMap::new(), Vec::new());
    for chunk in items.chunks(256) {
        let loaded = amva_model::preprocess::load_batch(chunk, &model.spec.preprocess, resize);
        let e = model.embed_parallel(&loaded.input, loaded.ok.len(), model.preferred_batch())?;
        for (k, &i) in loaded.ok.iter().enumerate() {
            map.insert(
                chunk[i].id.clone(),
                e[k * model.embedding_dim..(k + 1) * model.embedding_dim].to_vec(),
            );
        }
        failed.extend(loaded.failed);
        pb.inc(chunk.len() as u64);
    }
    pb.finish_and_clear();
    for (id, why) in failed.iter().take(10) {
        ui.note(&format!("could not embed {id}: {why}"));
    }
    if failed.len() > 10 {
        ui.note(&format!(
            "... and {} more images could not be embedded",
            failed.len() - 10
        ));
    }
    Ok(PairEmbeddings {
        embeddings: map,
        engine: model.engine().to_string(),
    })
}

/// One comparison of a pairs file.
#[derive(Debug, Clone)]
pub struct Pair {
    pub a: String,
    pub b: String,
    pub mated: bool,
}

/// Reads a pairs file: header, then img_a, img_b, label (1/0); CSV or TSV.
pub fn read_pairs(path: &Path) -> Result<Vec<Pair>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let delim = if text.lines().next().unwrap_or("").contains('\t') {
        b'\t'
    } else {
        b','
    };
    let mut r = csv::ReaderBuilder::new()
        .delimiter(delim)
        .from_reader(text.as_bytes());
    let mut pairs = Vec::new();
    for (i, rec) in r.records().enumerate() {
        let line = i + 2;
        let rec = rec.with_context(|| format!("{}: line {line}", path.display()))?;
        anyhow::ensure!(
            rec.len() >= 3,
            "{}: line {line}: expected img_a, img_b, label; got {} columns",
            path.display(),
            rec.len()
        );
        let mated = match rec[2].trim() {
            "1" | "true" | "True" => true,
            "0" | "false" | "False" => false,
            other => anyhow::bail!(
                "{}: line {line}: label '{other}' is not 1 or 0",
                path.display()
            ),
        };
        let (a, b) = (rec[0].trim(), rec[1].trim());
        anyhow::ensure!(
            a != b,
            "{}: line {line}: '{a}' is compared with itself; expected two different images",
            path.display()
        );
        pairs.push(Pair {
            a: a.into(),
            b: b.into(),
            mated,
        });
    }
    anyhow::ensure!(!pairs.is_empty(), "{}: no pairs", path.display());
    Ok(pairs)
}

/// Embeddings by image id: from an `amva embed` folder.
pub fn read_embeddings(dir: &Path) -> Result<HashMap<String, Vec<f32>>> {
    let ids = crate::common::read_index(&dir.join("index.csv"))?;
    let arr = amva_io::npy::read_f32(&dir.join("embeddings.npy"))?;
    anyhow::ensure!(
        arr.shape().len() == 2 && arr.shape()[0] == ids.len(),
        "{}: embeddings.npy has shape {:?} but index.csv has {} rows",
        dir.display(),
        arr.shape(),
        ids.len()
    );
    let d = arr.shape()[1];
    let flat: Vec<f32> = arr.iter().copied().collect();
    Ok(ids
        .into_iter()
        .enumerate()
        .map(|(i, id)| (id, flat[i * d..(i + 1) * d].to_vec()))
        .collect())
}

/// Verification metrics of scored comparisons.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Metrics {
    pub mated: usize,
    pub non_mated: usize,
    pub best_accuracy: f64,
    pub best_threshold: f64,
    pub fnmr_at_fmr_1e2: f64,
    pub threshold_fmr_1e2: f64,
    pub fnmr_at_fmr_1e3: f64,
    pub threshold_fmr_1e3: f64,
}

/// Best accuracy over thresholds and FNMR at FMR 1e-2 and 1e-3.
pub fn metrics(scores: &[(f64, bool)]) -> Result<Metrics> {
    let gen: Vec<f64> = scores.iter().filter(|s| s.1).map(|s| s.0).collect();
    let imp: Vec<f64> = scores.iter().filter(|s| !s.1).map(|s| s.0).collect();
    anyhow::ensure!(
        !imp.is_empty(),
        "the pairs have no non-mated comparisons: the FMR threshold is undefined"
    );
    anyhow::ensure!(
        !gen.is_empty(),
        "the pairs have no mated comparisons: FNMR is undefined"
    );
    let (best_accuracy, best_threshold) = best_accuracy(scores);
    let t2 = threshold_at_fmr(&imp, 1e-2);
    let t3 = threshold_at_fmr(&imp, 1e-3);
    let fnmr = |t: f64| gen.iter().filter(|&&s| s <= t).count() as f64 / gen.len() as f64;
    Ok(Metrics {
        mated: gen.len(),
        non_mated: imp.len(),
        best_accuracy,
        best_threshold,
        fnmr_at_fmr_1e2: fnmr(t2),
        threshold_fmr_1e2: t2,
        fnmr_at_fmr_1e3: fnmr(t3),
        threshold_fmr_1e3: t3,
    })
}

/// The threshold t such that accepting scores > t gives FMR <= `fmr`: with impostor
/// scores sorted descending, the (floor(fmr * n) + 1)-th largest (ties at t are rejected).
pub fn threshold_at_fmr(impostors: &[f64], fmr: f64) -> f64 {
    let mut s = impostors.to_vec();
    s.sort_by(|a, b| b.total_cmp(a));
    let k = ((fmr * s.len() as f64).floor() as usize).min(s.len() - 1);
    s[k]
}

/// Best accuracy over all thresholds (accept score > t) and that threshold.
pub fn best_accuracy(scores: &[(f64, bool)]) -> (f64, f64) {
    let mut s = scores.to_vec();
    s.sort_by(|a, b| a.0.total_cmp(&b.0));
    let n = s.len() as f64;
    // Threshold below everything: all accepted, correct = mated count.
    let mut correct = s.iter().filter(|x| x.1).count() as f64;
    let (mut best, mut best_t) = (correct / n, f64::NEG_INFINITY);
    let mut i = 0;
    while i < s.len() {
        let t = s[i].0;
        // Move every item with score == t to the rejected side.
        // total_cmp: a NaN that slipped through must not stall the loop.
        while i < s.len() && s[i].0.total_cmp(&t).is_eq() {
            correct += if s[i].1 { -1.0 } else { 1.0 };
            i += 1;
        }
        if correct / n > best {
            best = correct / n;
            best_t = t;
        }
    }
    (best, best_t)
}

pub fn run(a: Args, ui: &Ui) -> Result<()> {
    let _lock = match &a.out {
        Some(out) => Some(amva_io::outputs::claim_dir(
            out,
            &a.input.inputs(),
            "verification",
        )?),
        None => None,
    };
    let pairs = read_pairs(&a.input.pairs)?;
    let PairEmbeddings {
        embeddings: emb,
        engine,
        ..
    } = a.input.embed(&pairs, ui)?;
    let mut scored = Vec::new();
    let mut missing = 0usize;
    for p in &pairs {
        match (emb.get(&p.a), emb.get(&p.b)) {
            (Some(x), Some(y)) => scored.push((p, amva_model::fr::cosine(x, y) as f64)),
            _ => missing += 1,
        }
    }
    if missing > 0 {
        ui.note(&format!(
            "{missing} pairs name images without an embedding; excluded"
        ));
    }
    let m = metrics(
        &scored
            .iter()
            .map(|(p, s)| (*s, p.mated))
            .collect::<Vec<_>>(),
    )?;
    if let Some(out) = &a.out {
        let mut w = csv::Writer::from_writer(Vec::new());
        w.write_record(["img_a", "img_b", "label", "score"])?;
        for (p, s) in &scored {
            w.write_record([
                p.a.as_str(),
                p.b.as_str(),
                if p.mated { "1" } else { "0" },
                &format!("{s:.6}"),
            ])?;
        }
        amva_io::atomic::write_atomic(&out.join("scores.csv"), &w.into_inner()?)?;
        amva_io::atomic::write_json(
            &out.join("summary.json"),
            &serde_json::json!({"metrics": m, "excluded_pairs": missing, "engine": engine, "pairs": a.input.pairs}),
        )?;
    }
    ui.summary(
        &format!(
            "{} mated + {} non-mated pairs: best accuracy {:.4}, FNMR {:.4} at FMR 1e-2, {:.4} at FMR 1e-3 ({engine})",
            m.mated, m.non_mated, m.best_accuracy, m.fnmr_at_fmr_1e2, m.fnmr_at_fmr_1e3
        ),
        serde_json::json!({"command": "verify", "metrics": m, "excluded_pairs": missing, "engine": engine}),
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Naive: every candidate threshold, count.
    fn naive_best(scores: &[(f64, bool)]) -> f64 {
        let mut cands: Vec<f64> = scores.iter().map(|s| s.0).collect();
        cands.push(f64::NEG_INFINITY);
        cands
            .iter()
            .map(|&t| {
                scores.iter().filter(|s| (s.0 > t) == s.1).count() as f64 / scores.len() as f64
            })
            .fold(0.0, f64::max)
    }

    #[test]
    fn best_accuracy_matches_naive_with_ties() {
        let mut x = 12345u64;
        for _ in 0..50 {
            let scores: Vec<(f64, bool)> = (0..40)
                .map(|_| {
                    x = x
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                    (((x >> 33) % 10) as f64 / 10.0, (x >> 20) & 1 == 1)
                })
                .collect();
            assert!((best_accuracy(&scores).0 - naive_best(&scores)).abs() < 1e-12);
        }
    }

    #[test]
    fn fmr_threshold_bounds_the_false_matches() {
        let imp: Vec<f64> = (0..1000).map(|i| i as f64 / 1000.0).collect();
        for fmr in [1e-3, 1e-2, 0.1] {
            let t = threshold_at_fmr(&imp, fmr);
            let fm = imp.iter().filter(|&&s| s > t).count() as f64 / imp.len() as f64;
            assert!(fm <= fmr + 1e-12, "fmr {fmr}: got {fm}");
            // And it is the smallest such threshold among the scores.
            let below = imp
                .iter()
                .filter(|&&s| s < t)
                .cloned()
                .fold(f64::NEG_INFINITY, f64::max);
            assert!(imp.iter().filter(|&&s| s > below).count() as f64 / 1000.0 > fmr);
        }
    }
}
