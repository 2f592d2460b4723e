//! Embeddings of a list of images in bounded chunks: the loop that `amva embed` and
//! `amva verify --images` share (decode, check, preprocess, embed on all cores, set aside
//! what failed and every embedding that is not finite).

use crate::preprocess::load_batch_with;
use crate::{EngineChoice, Error, FrModel, ModelSpec};
use amva_io::images::ImageItem;
use std::path::Path;

/// Images decoded and embedded per step: memory is bounded by this, not by the list.
pub const CHUNK: usize = 256;

/// Why an image whose embedding is not finite is left out.
pub const NON_FINITE: &str =
    "the model's embedding holds NaN or infinity (check the settings' mean and std)";

/// How the images are read and batched.
#[derive(Debug, Clone, Copy)]
pub struct EmbedOptions {
    /// Resize images of the wrong size instead of refusing them.
    pub resize: bool,
    /// Refuse damaged files that still decode, instead of using them with a warning.
    pub strict: bool,
    /// Images per inference call.
    pub batch: usize,
}

/// (image id, reason) of the images without an embedding, and of those embedded with a
/// warning (damaged files that still decoded).
#[derive(Debug, Default)]
pub struct Problems {
    pub failed: Vec<(String, String)>,
    pub warnings: Vec<(String, String)>,
}

/// meta.json of an embeddings folder (`amva embed --out`): the model, engine and
/// preprocessing the embeddings were made with.
#[derive(Debug, Clone, serde::Serialize)]
pub struct EmbeddingsMeta<'a> {
    pub amva_version: &'a str,
    /// Always "embeddings".
    pub kind: &'static str,
    pub model: &'a Path,
    pub model_sha256: &'a str,
    pub engine: String,
    pub engine_choice: &'a EngineChoice,
    pub spec: &'a ModelSpec,
    /// The image folder or list, as given.
    pub images: &'a Path,
    pub resize: bool,
    /// Embeddings written.
    pub count: usize,
    /// Images without one (failed.csv).
    pub failed: usize,
    /// Images embedded although their file is damaged (warnings.csv).
    pub warnings: usize,
    /// Length of each embedding.
    pub dim: usize,
}

impl<'a> EmbeddingsMeta<'a> {
    /// The record of `model`'s embeddings of `images`: `count` written, `problems` aside.
    pub fn new(
        amva_version: &'a str,
        model: &'a FrModel,
        (images, resize): (&'a Path, bool),
        count: usize,
        problems: &Problems,
    ) -> Self {
        EmbeddingsMeta {
            amva_version,
            kind: "embeddings",
            model: &model.graph.path,
            model_sha256: &model.graph.sha256,
            engine: model.engine().to_string(),
            engine_choice: model.engine_choice(),
            spec: &model.spec,
            images,
            resize,
            count,
            failed: problems.failed.len(),
            warnings: problems.warnings.len(),
            dim: model.embedding_dim,
        }
    }

    /// Writes `dir/meta.json` (atomically; keys in alphabetical order, as it always was).
    pub fn write(&self, dir: &Path) -> crate::Result<()> {
        Ok(amva_io::atomic::write_json_sorted(
            &dir.join("meta.json"),
            self,
        )?)
    }
}

impl FrModel {
    /// Embeds `items` chunk by chunk. `each(id, embedding)` receives every finite
    /// embedding, in the items' order; `chunk_done(images, problems)` follows each chunk
    /// (for progress and notes). Images that did not load, and those whose embedding holds
    /// NaN or infinity ([`NON_FINITE`]), are in the returned `failed`.
    pub fn embed_items<E: From<Error>>(
        &self,
        items: &[ImageItem],
        opts: EmbedOptions,
        mut each: impl FnMut(&str, &[f32]) -> Result<(), E>,
        mut chunk_done: impl FnMut(usize, &Problems),
    ) -> Result<Problems, E> {
        let mut all = Problems::default();
        for chunk in items.chunks(CHUNK) {
            let loaded = load_batch_with(chunk, &self.spec.preprocess, opts.resize, opts.strict);
            let emb = self.embed_parallel(&loaded.input, loaded.ok.len(), opts.batch)?;
            let mut problems = Problems {
                failed: loaded.failed,
                warnings: loaded.warnings,
            };
            for (&i, e) in loaded.ok.iter().zip(emb.chunks(self.embedding_dim)) {
                if e.iter().all(|v| v.is_finite()) {
                    each(&chunk[i].id, e)?;
                } else {
                    problems
                        .failed
                        .push((chunk[i].id.clone(), NON_FINITE.into()));
                }
            }
            chunk_done(chunk.len(), &problems);
            all.failed.extend(problems.failed);
            all.warnings.extend(problems.warnings);
        }
        Ok(all)
    }
}
