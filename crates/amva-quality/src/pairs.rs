//! Comparisons: the pairs of a pairs file (`amva_io::pairs`) scored by the cosine of
//! their two embeddings (ALGORITHMS 6.1). One scorer for `amva verify`, `amva edc` and
//! `amva analyze --pairs`: a pair whose images lack an embedding is left out and listed
//! with the reason, never guessed.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use amva_io::pairs::Pair;
use amva_model::FrModel;
use serde::Serialize;

use crate::Result;

/// One comparison with its similarity score.
#[derive(Debug, Clone, PartialEq)]
pub struct PairScore {
    pub a: String,
    pub b: String,
    /// Same person.
    pub mated: bool,
    /// Similarity (higher = more similar).
    pub score: f64,
}

/// Pairs left out for want of an embedding: img_a, img_b, label (1/0), reason.
pub type Excluded = Vec<[String; 4]>;

/// Scores the pairs whose images both have an embedding in `emb`; the others are
/// returned as (img_a, img_b, label, reason).
pub fn score_pairs(pairs: &[Pair], emb: &HashMap<String, Vec<f32>>) -> (Vec<PairScore>, Excluded) {
    let (mut scored, mut excluded) = (Vec::new(), Vec::new());
    for p in pairs {
        match (emb.get(&p.a), emb.get(&p.b)) {
            (Some(x), Some(y)) => scored.push(PairScore {
                a: p.a.clone(),
                b: p.b.clone(),
                mated: p.mated,
                score: amva_model::fr::cosine(x, y) as f64,
            }),
            (x, y) => {
                let missing: Vec<&str> = [(x.is_none(), p.a.as_str()), (y.is_none(), p.b.as_str())]
                    .iter()
                    .filter(|m| m.0)
                    .map(|m| m.1)
                    .collect();
                excluded.push([
                    p.a.clone(),
                    p.b.clone(),
                    if p.mated { "1" } else { "0" }.into(),
                    format!("no embedding for {}", missing.join(" and ")),
                ]);
            }
        }
    }
    (scored, excluded)
}

/// Where the embeddings of a pairs file's images come from.
#[derive(Clone, Copy)]
pub enum EmbeddingSource<'a> {
    /// A folder written by `amva embed`.
    Folder(&'a Path),
    /// The images below `root` (ids as in the pairs file), embedded by `model`.
    Images {
        root: &'a Path,
        model: &'a FrModel,
        /// Resize images of the wrong size instead of leaving them out.
        resize: bool,
    },
}

impl<'a> EmbeddingSource<'a> {
    /// The embeddings folder, if that is the source.
    pub fn folder(&self) -> Option<&'a Path> {
        match self {
            EmbeddingSource::Folder(d) => Some(d),
            EmbeddingSource::Images { .. } => None,
        }
    }

    /// The image folder, if the images are embedded.
    pub fn images(&self) -> Option<&'a Path> {
        match self {
            EmbeddingSource::Folder(_) => None,
            EmbeddingSource::Images { root, .. } => Some(root),
        }
    }
}

/// The embeddings of the images a pairs file names.
#[derive(Debug, Default)]
pub struct PairEmbeddings {
    /// By image id; every one finite.
    pub embeddings: HashMap<String, Vec<f32>>,
    /// What made them: the engine, or `precomputed`.
    pub engine: String,
    /// (image id, reason) of the images that could not be embedded.
    pub failed: Vec<(String, String)>,
    /// Images of a precomputed folder whose embedding holds NaN or infinity (left out).
    pub non_finite: Vec<String>,
}

impl PairEmbeddings {
    /// What the user should know: the images that could not be embedded (the first ten,
    /// then a count) and those whose embedding is not finite.
    pub fn notes(&self) -> Vec<String> {
        let mut v: Vec<String> = self
            .failed
            .iter()
            .take(10)
            .map(|(id, why)| format!("could not embed {id}: {why}"))
            .collect();
        if self.failed.len() > 10 {
            v.push(format!(
                "... and {} more images could not be embedded",
                self.failed.len() - 10
            ));
        }
        v.extend(self.non_finite.iter().map(|id| {
            format!("{id}: its embedding holds NaN or infinity; the pairs naming it are excluded")
        }));
        v
    }
}

/// Reads or computes the embeddings `pairs` need from `source`. Embeddings holding NaN
/// or infinity are left out (listed), so the pairs naming them are excluded like pairs
/// without an embedding. `progress(done, total)` follows the embedding of images.
pub fn embeddings(
    source: EmbeddingSource<'_>,
    pairs: &[Pair],
    progress: &mut dyn FnMut(usize, usize),
) -> Result<PairEmbeddings> {
    let mut e = match source {
        EmbeddingSource::Folder(dir) => PairEmbeddings {
            embeddings: amva_model::embeddings::read(dir)?,
            engine: "precomputed".into(),
            ..PairEmbeddings::default()
        },
        EmbeddingSource::Images {
            root,
            model,
            resize,
        } => embed_images(root, model, resize, pairs, progress)?,
    };
    let mut bad: Vec<String> = e
        .embeddings
        .iter()
        .filter(|(_, v)| v.iter().any(|x| !x.is_finite()))
        .map(|(id, _)| id.clone())
        .collect();
    bad.sort();
    for id in &bad {
        e.embeddings.remove(id);
    }
    e.non_finite = bad;
    Ok(e)
}

fn embed_images(
    root: &Path,
    model: &FrModel,
    resize: bool,
    pairs: &[Pair],
    progress: &mut dyn FnMut(usize, usize),
) -> Result<PairEmbeddings> {
    let items = amva_io::pairs::pair_images(pairs, root);
    let opts = amva_model::embed::EmbedOptions {
        resize,
        strict: false,
        batch: model.preferred_batch(),
    };
    let mut map = HashMap::new();
    let mut done = 0;
    let failed = model
        .embed_items(
            &items,
            opts,
            |id, e| -> Result<()> {
                map.insert(id.to_string(), e.to_vec());
                Ok(())
            },
            |n, _| {
                done += n;
                progress(done, items.len());
            },
        )?
        .failed;
    Ok(PairEmbeddings {
        embeddings: map,
        engine: model.engine().to_string(),
        failed,
        non_finite: Vec::new(),
    })
}

/// The comparisons of a pairs file, scored.
#[derive(Debug)]
pub struct ScoredPairs {
    /// Pairs in the file.
    pub total: usize,
    /// Pairs with both embeddings, scored, in file order.
    pub scored: Vec<PairScore>,
    /// Pairs left out for want of an embedding.
    pub excluded: Excluded,
    /// What made the embeddings: the engine, or `precomputed`.
    pub engine: String,
    /// What the user should know (images not embedded, embeddings not finite).
    pub notes: Vec<String>,
}

/// Reads the pairs file `path`, reads or computes the embeddings its images need from
/// `source`, and scores every pair that has both (see [`embeddings`], [`score_pairs`]).
pub fn score_pairs_file(
    path: &Path,
    source: EmbeddingSource<'_>,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<ScoredPairs> {
    let pairs = amva_io::pairs::read_pairs(path)?;
    let emb = embeddings(source, &pairs, progress)?;
    let (scored, excluded) = score_pairs(&pairs, &emb.embeddings);
    Ok(ScoredPairs {
        total: pairs.len(),
        scored,
        excluded,
        notes: emb.notes(),
        engine: emb.engine,
    })
}

/// What `amva verify` found: the metrics, the pairs left out and the engine.
#[derive(Debug, Clone, Serialize)]
pub struct Verification {
    /// Best accuracy, FNMR at FMR 1e-2 and 1e-3, and the counts.
    pub metrics: amva_math::verify::Metrics,
    /// Pairs left out for want of an embedding.
    pub excluded_pairs: usize,
    /// What made the embeddings.
    pub engine: String,
}

/// The summary.json of `amva verify --out`.
#[derive(Serialize)]
struct VerifyFile<'a> {
    #[serde(flatten)]
    verification: &'a Verification,
    pairs: &'a Path,
}

/// `amva verify`: the pairs of `path` scored (see [`score_pairs_file`]) and their
/// verification metrics; with `out`, scores.csv (img_a,img_b,label,score) and
/// summary.json written there. Returns the result and the notes for the user.
pub fn verify(
    path: &Path,
    source: EmbeddingSource<'_>,
    out: Option<&Path>,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<(Verification, Vec<String>)> {
    let scored = score_pairs_file(path, source, progress)?;
    let mut notes = scored.notes;
    if !scored.excluded.is_empty() {
        notes.push(format!(
            "{} pairs name images without an embedding; excluded",
            scored.excluded.len()
        ));
    }
    let pairs: Vec<(f64, bool)> = scored.scored.iter().map(|p| (p.score, p.mated)).collect();
    let v = Verification {
        metrics: amva_math::verify::verification_metrics(&pairs)?,
        excluded_pairs: scored.excluded.len(),
        engine: scored.engine,
    };
    if let Some(out) = out {
        write_scores_csv(&out.join("scores.csv"), &scored.scored)?;
        let file = VerifyFile {
            verification: &v,
            pairs: path,
        };
        amva_io::atomic::write_json(&out.join("summary.json"), &file)?;
    }
    Ok((v, notes))
}

/// scores.csv of `amva verify`: img_a, img_b, label, score (6 decimals).
fn write_scores_csv(path: &Path, scored: &[PairScore]) -> Result<()> {
    let err = |e: csv::Error| crate::QualityError::Scores {
        path: path.into(),
        reason: e.to_string(),
    };
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(["img_a", "img_b", "label", "score"])
        .map_err(err)?;
    for p in scored {
        let label = if p.mated { "1" } else { "0" };
        w.write_record([
            p.a.as_str(),
            p.b.as_str(),
            label,
            &format!("{:.6}", p.score),
        ])
        .map_err(err)?;
    }
    let bytes = w.into_inner().map_err(|e| crate::QualityError::Scores {
        path: path.into(),
        reason: e.to_string(),
    })?;
    Ok(amva_io::atomic::write_atomic(path, &bytes)?)
}

/// Where the comparisons of an EDC came from, recorded in edc.json: the pairs file, the
/// embeddings or images, the scores (`amva edc`) or the engine that embedded the faces
/// (`amva analyze --pairs`), and how many pairs were left out.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PairSource {
    /// The pairs file.
    pub pairs: PathBuf,
    /// The score file (`amva edc`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scores: Option<PathBuf>,
    /// The embeddings folder, if one was given.
    pub embeddings: Option<PathBuf>,
    /// The face images embedded, if any.
    pub images: Option<PathBuf>,
    /// What made the embeddings (`amva analyze --pairs`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub engine: Option<String>,
    /// Pairs in the file.
    pub pairs_total: usize,
    /// Pairs left out for want of an embedding.
    pub pairs_excluded_without_embedding: usize,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair(a: &str, b: &str, mated: bool) -> Pair {
        Pair {
            a: a.into(),
            b: b.into(),
            mated,
        }
    }

    #[test]
    fn pairs_without_an_embedding_are_listed_with_the_missing_image() {
        let emb: HashMap<String, Vec<f32>> = [
            ("a".to_string(), vec![1.0, 0.0]),
            ("b".to_string(), vec![1.0, 1.0]),
        ]
        .into();
        let pairs = [
            pair("a", "b", true),
            pair("a", "c", false),
            pair("d", "c", true),
        ];
        let (scored, excluded) = score_pairs(&pairs, &emb);
        assert_eq!(scored.len(), 1);
        assert!((scored[0].score - std::f64::consts::FRAC_1_SQRT_2).abs() < 1e-6);
        assert_eq!(
            excluded[0],
            ["a", "c", "0", "no embedding for c"].map(String::from)
        );
        assert_eq!(excluded[1][3], "no embedding for d and c");
    }
}
