//! `magnitude`: the L2 norm of the raw (unnormalised) embedding, MagFace's quality.
//! Meaningful for magnitude-aware models; a weak proxy for others (ALGORITHMS 7.1).

use crate::{Direction, Item, QualityMethod, Result};
use amva_model::FrModel;
use rayon::prelude::*;
use std::sync::Arc;

/// L2 norm, accumulated in f64.
pub fn l2_norm(v: &[f32]) -> f64 {
    v.iter()
        .map(|x| (*x as f64) * (*x as f64))
        .sum::<f64>()
        .sqrt()
}

/// Preprocessed tensors of `items` for `model`, one after the other.
pub(crate) fn model_input(model: &FrModel, items: &[Item<'_>]) -> Vec<f32> {
    let p = &model.spec.preprocess;
    let mut input = vec![0.0; items.len() * p.len()];
    input
        .par_chunks_mut(p.len())
        .zip(items)
        .for_each(|(out, it)| p.write_tensor(it.image, out));
    input
}

/// The `magnitude` method over an FR model.
pub struct Magnitude {
    model: Arc<FrModel>,
    /// Images per inference call (calls run in parallel on all cores).
    pub batch: usize,
}

impl Magnitude {
    pub fn new(model: Arc<FrModel>) -> Self {
        Magnitude { model, batch: 1 }
    }
}

impl QualityMethod for Magnitude {
    fn name(&self) -> &str {
        "magnitude"
    }

    fn direction(&self) -> Direction {
        Direction::Higher
    }

    fn params(&self) -> serde_json::Value {
        serde_json::json!({
            "model": self.model.graph.path, "model_sha256": self.model.graph.sha256,
            "embedding": self.model.spec.embedding, "engine": self.model.engine().to_string(),
        })
    }

    fn input_size(&self) -> Option<(u32, u32)> {
        let p = &self.model.spec.preprocess;
        Some((p.width, p.height))
    }

    fn score(&self, items: &[Item<'_>]) -> Result<Vec<f64>> {
        let input = model_input(&self.model, items);
        let emb = self.model.embed_parallel(&input, items.len(), self.batch)?;
        Ok(emb.chunks(self.model.embedding_dim).map(l2_norm).collect())
    }
}
