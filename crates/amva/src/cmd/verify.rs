//! `amva verify`: face verification on a pairs file.

use crate::common::{ModelArgs, Ui};
use amva_io::pairs::{read_embeddings, read_pairs, Pair};
use anyhow::Result;
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
                embeddings: read_embeddings(dir)?,
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
    let items = amva_io::pairs::pair_images(pairs, root);
    let opts = amva_model::embed::EmbedOptions {
        resize,
        strict: false,
        batch: model.preferred_batch(),
    };
    let pb = ui.progress(items.len() as u64, "embed");
    let mut map = HashMap::new();
    let failed = model
        .embed_items(
            &items,
            opts,
            |id, e| -> Result<()> {
                map.insert(id.to_string(), e.to_vec());
                Ok(())
            },
            |n, _| pb.inc(n as u64),
        )?
        .failed;
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
    let m = amva_math::verify::verification_metrics(
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
