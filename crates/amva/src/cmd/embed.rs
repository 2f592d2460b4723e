//! `amva embed`: embeddings of a set of images.

use crate::common::{self, ImageArgs, ModelArgs, Ui};
use anyhow::Result;
use std::path::PathBuf;

#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:
  amva embed --images faces/ --out emb/
  amva embed --images list.csv --out emb/ --engine tract --resize

Writes embeddings.npy (N x D float32, raw, not normalised), index.csv (row,image),
failed.csv (image,reason) and meta.json (model SHA-256, engine, preprocessing).")]
pub struct Args {
    #[command(flatten)]
    pub images: ImageArgs,
    /// Output folder.
    #[arg(long)]
    pub out: PathBuf,
    #[command(flatten)]
    pub model: ModelArgs,
    /// Images per inference batch (0: the calibrated best under --engine auto; else tract 1, ONNX Runtime 8).
    #[arg(long, default_value_t = 0)]
    pub batch: usize,
}

/// Images decoded and embedded per step (bounds memory).
const CHUNK: usize = 256;

pub fn run(a: Args, ui: &Ui) -> Result<()> {
    let start = std::time::Instant::now();
    let model = a.model.load(ui)?;
    let list = amva_io::images::ImageList::open(&a.images.images)?;
    anyhow::ensure!(
        !list.is_empty(),
        "{}: no images found",
        a.images.images.display()
    );
    std::fs::create_dir_all(&a.out)?;
    let mut writer = amva_io::npy_writer::NpyWriter::create(
        &a.out.join("embeddings.npy"),
        &[model.embedding_dim],
    )?;
    let (mut ids, mut failed) = (Vec::new(), Vec::new());
    let batch_used = if a.batch == 0 {
        model.preferred_batch()
    } else {
        a.batch
    };
    let pb = ui.progress(list.len() as u64, "embed");
    for chunk in list.items.chunks(CHUNK) {
        let loaded =
            amva_model::preprocess::load_batch(chunk, &model.spec.preprocess, a.images.resize);
        let emb = model.embed_parallel(&loaded.input, loaded.ok.len(), batch_used)?;
        writer.append(&emb)?;
        ids.extend(loaded.ok.iter().map(|&i| chunk[i].id.clone()));
        for (id, why) in &loaded.failed {
            pb.suspend(|| ui.note(&format!("skipped {id}: {why}")));
        }
        failed.extend(loaded.failed);
        pb.inc(chunk.len() as u64);
    }
    pb.finish_and_clear();
    writer.finish()?;
    common::write_index(&a.out.join("index.csv"), &ids)?;
    common::write_failed(&a.out.join("failed.csv"), &failed)?;
    let meta = serde_json::json!({
        "amva_version": env!("CARGO_PKG_VERSION"),
        "kind": "embeddings",
        "model": model.graph.path, "model_sha256": model.graph.sha256,
        "engine": model.engine().to_string(), "engine_choice": model.engine_choice(),
        "spec": model.spec,
        "images": a.images.images, "resize": a.images.resize,
        "count": ids.len(), "failed": failed.len(), "dim": model.embedding_dim,
    });
    amva_io::atomic::write_json(&a.out.join("meta.json"), &meta)?;
    let secs = start.elapsed().as_secs_f64();
    ui.summary(
        &format!(
            "embedded {} images ({} failed) in {secs:.1} s ({:.1} images/s) with {} -> {}",
            ids.len(), failed.len(), ids.len() as f64 / secs, model.engine(), a.out.display()
        ),
        serde_json::json!({"command": "embed", "images": ids.len(), "failed": failed.len(), "seconds": secs, "engine": model.engine().to_string(), "engine_choice": model.engine_choice(), "batch": batch_used, "out": a.out}),
    );
    anyhow::ensure!(
        !ids.is_empty(),
        "no image could be embedded (see {})",
        a.out.join("failed.csv").display()
    );
    Ok(())
}
