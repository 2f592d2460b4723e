//! `amva verify`: face verification on a pairs file.

use crate::common::{ModelArgs, Tagged, Ui};
use amva_model::FrModel;
use amva_quality::pairs::EmbeddingSource;
use anyhow::Result;
use std::path::PathBuf;

#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:
  amva verify --pairs pairs.tsv --images aligned112/
  amva verify --pairs pairs.tsv --embeddings emb/ --out verify/

The pairs file is CSV or TSV with a header: img_a, img_b, label (1 = same person).")]
pub struct Args {
    #[command(flatten)]
    pub input: PairInputs,
    /// Output folder for scores.csv and summary.json.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

/// A pairs file and where the embeddings of its images come from (`verify`, `edc`).
#[derive(clap::Args, Debug)]
pub struct PairInputs {
    /// Pairs file: img_a, img_b, label (1 mated, 0 non-mated); CSV or TSV with a header.
    #[arg(long, value_name = "FILE")]
    pub pairs: PathBuf,
    /// Embeddings folder from `amva embed`.
    #[arg(long, value_name = "DIR", conflicts_with = "images")]
    pub embeddings: Option<PathBuf>,
    /// Or: a folder of the images (ids as in the pairs file); embeds what the pairs need.
    #[arg(long, value_name = "DIR")]
    pub images: Option<PathBuf>,
    /// Resize images of the wrong size (with --images).
    #[arg(long)]
    pub resize: bool,
    #[command(flatten)]
    pub model: ModelArgs,
}

impl PairInputs {
    /// The files and folders read, for the output guard.
    pub fn inputs(&self) -> Vec<amva_io::outputs::Input<'_>> {
        let mut v = vec![crate::common::input("--pairs", &self.pairs)];
        for (flag, path) in [
            ("--embeddings", &self.embeddings),
            ("--images", &self.images),
            ("--model", &self.model.model),
        ] {
            v.extend(path.as_deref().map(|p| crate::common::input(flag, p)));
        }
        v
    }

    /// The model that embeds `--images` (loaded only then).
    pub fn model(&self, ui: &Ui) -> Result<Option<FrModel>> {
        match (&self.embeddings, &self.images) {
            (None, Some(_)) => Ok(Some(self.model.load(ui)?)),
            (None, None) => {
                anyhow::bail!("give --embeddings DIR (from `amva embed`) or --images DIR")
            }
            _ => Ok(None),
        }
    }

    /// Where the embeddings come from: `--embeddings`, or `--images` embedded by `model`.
    pub fn source<'a>(&'a self, model: Option<&'a FrModel>) -> Result<EmbeddingSource<'a>> {
        match (&self.embeddings, &self.images, model) {
            (Some(dir), _, _) => Ok(EmbeddingSource::Folder(dir)),
            (None, Some(root), Some(model)) => Ok(EmbeddingSource::Images {
                root,
                model,
                resize: self.resize,
            }),
            _ => anyhow::bail!("give --embeddings DIR (from `amva embed`) or --images DIR"),
        }
    }
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
    let model = a.input.model(ui)?;
    let source = a.input.source(model.as_ref())?;
    let pb = ui.progress(0, "embed");
    let (v, notes) = amva_quality::pairs::verify(
        &a.input.pairs,
        source,
        a.out.as_deref(),
        &mut |done, total| {
            pb.set_length(total as u64);
            pb.set_position(done as u64);
        },
    )?;
    pb.finish_and_clear();
    for n in &notes {
        ui.note(n);
    }
    let m = &v.metrics;
    ui.summary(
        &format!(
            "{} mated + {} non-mated pairs: best accuracy {:.4}, FNMR {:.4} at FMR 1e-2, {:.4} at FMR 1e-3 ({})",
            m.mated, m.non_mated, m.best_accuracy, m.fnmr_at_fmr_1e2, m.fnmr_at_fmr_1e3, v.engine
        ),
        Tagged::new("verify", &v),
    );
    Ok(())
}
