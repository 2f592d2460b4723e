//! `amva embed`: embeddings of a set of images.

use crate::common::{self, ImageArgs, ModelArgs, Tagged, Ui};
use amva_io::staging::Staging;
use amva_model::embed::{EmbedOptions, Problems};
use amva_model::embeddings::{EmbeddingsMeta, Writer, KIND};
use amva_model::EngineChoice;
use anyhow::Result;
use std::path::{Path, PathBuf};

#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:
  amva embed --images faces/ --out emb/
  amva embed --images list.csv --out emb/ --engine tract --resize

Writes embeddings.npy (N x D float32, raw, not normalised), index.csv (row,image),
failed.csv (image,reason), warnings.csv (image,warning: damaged files that still
decoded; --strict leaves them out) and meta.json (model SHA-256, engine, preprocessing).
An embedding holding NaN or infinity is not written: its image is listed in failed.csv.")]
pub struct Args {
    #[command(flatten)]
    pub images: ImageArgs,
    /// Output folder.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    #[command(flatten)]
    pub model: ModelArgs,
    /// Images per model call (0: the calibrated best under --engine auto; else tract 1, ONNX Runtime 8).
    #[arg(long, default_value_t = 0)]
    pub batch: usize,
}

pub fn run(a: Args, ui: &Ui) -> Result<()> {
    let start = std::time::Instant::now();
    let inputs = common::images_and_model(&a.images.images, a.model.model.as_deref());
    let _lock = amva_io::outputs::claim_dir(&a.out, &inputs, KIND)?;
    let model = a.model.load(ui)?;
    let list = common::open_images(&a.images.images, ui)?;
    anyhow::ensure!(
        !list.is_empty(),
        "{}: no images found",
        a.images.images.display()
    );
    // Whole or not at all: written into a staging folder, meta.json published last.
    let stage = Staging::begin(&a.out, amva_model::embeddings::META_FILE)?;
    let mut writer = Writer::create(stage.dir(), model.embedding_dim)?;
    let batch_used = if a.batch == 0 {
        model.preferred_batch()
    } else {
        a.batch
    };
    let opts = EmbedOptions {
        resize: a.images.resize,
        strict: a.images.strict,
        batch: batch_used,
    };
    let pb = ui.progress(list.len() as u64, "embed");
    let problems = model.embed_items(
        &list.items,
        opts,
        |id, e| -> Result<()> { Ok(writer.append(id, e)?) },
        |n, p| {
            for (id, why) in p.failed.iter().chain(&p.warnings) {
                pb.suspend(|| ui.note(&format!("{id}: {why}")));
            }
            pb.inc(n as u64);
        },
    )?;
    pb.finish_and_clear();
    let Problems { failed, warnings } = problems;
    let meta = EmbeddingsMeta {
        failed: failed.len(),
        warnings: warnings.len(),
        ..EmbeddingsMeta::new(&model, &a.images.images, a.images.resize)
    };
    let not_read: Vec<_> = failed.iter().chain(&list.skipped).cloned().collect();
    amva_io::image_notes::write_failed(&stage.dir().join("failed.csv"), &not_read)?;
    amva_io::image_notes::write_warnings(&stage.dir().join("warnings.csv"), &warnings)?;
    let ids = writer.finish(meta)?;
    stage.publish()?;
    let engine = model.engine().to_string();
    let secs = start.elapsed().as_secs_f64();
    let brief = EmbedBrief {
        images: ids.len(),
        failed: failed.len(),
        warnings: warnings.len(),
        seconds: secs,
        engine: &engine,
        engine_choice: model.engine_choice(),
        batch: batch_used,
        out: &a.out,
    };
    ui.summary(
        &format!(
            "embedded {} images ({} failed, {} with warnings) in {secs:.1} s ({:.1} images/s) with {} -> {}",
            ids.len(), failed.len(), warnings.len(), ids.len() as f64 / secs, model.engine(), a.out.display()
        ),
        Tagged::new("embed", &brief),
    );
    anyhow::ensure!(
        !ids.is_empty(),
        "no image could be embedded (see {})",
        a.out.join("failed.csv").display()
    );
    Ok(())
}

/// The summary of `amva embed --json`.
#[derive(serde::Serialize)]
struct EmbedBrief<'a> {
    images: usize,
    failed: usize,
    warnings: usize,
    seconds: f64,
    engine: &'a str,
    engine_choice: &'a EngineChoice,
    /// Images per model call.
    batch: usize,
    out: &'a Path,
}
