//! `serfiq`: SER-FIQ (Terhörst et al. 2020; ALGORITHMS 7.2) on any model whose last
//! layers are a small head. The graph is cut at a named tensor (default: the model's `serfiq_input`, `662`
//! for the bundled model, the 512x1x1 output of the global depthwise convolution); the
//! head from there to the embedding runs T times (default 100) on the image's
//! activation with dropout, and
//!
//! `quality = 2 / (1 + exp(mean pairwise Euclidean distance of the L2-normalised outputs))`.
//!
//! **Dropout** is inverted dropout, as `torch.nn.Dropout` in training mode: every value of
//! the head input is zeroed with probability p (default 0.5) and the kept ones are
//! scaled by 1 / (1 - p), independently for each of the T passes. The scaling keeps
//! the expected input unchanged; it does not change the ranking much but makes the
//! distances comparable to the published implementation's.
//!
//! **Seeds**: each image has its own random stream, `ChaCha8(seed)` with stream
//! [`crate::id_stream`]`(image id)`, so a score does not depend on batching, thread
//! order or the other images of the run. The T passes of one image are one batch.

use crate::{Direction, Item, QualityError, QualityMethod, Result};
use amva_model::{FrModel, Net};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use std::sync::Arc;

/// SER-FIQ settings.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct SerFiqOptions {
    /// Tensor the head starts from; `None` = the model's `serfiq_input`.
    pub layer: Option<String>,
    /// Stochastic passes per image (T).
    pub passes: usize,
    /// Dropout probability p.
    pub dropout: f64,
    /// Seed of the dropout masks.
    pub seed: u64,
}

impl Default for SerFiqOptions {
    fn default() -> Self {
        SerFiqOptions {
            layer: None,
            passes: 100,
            dropout: 0.5,
            seed: 0,
        }
    }
}

/// The SER-FIQ score of T embeddings (`t` rows of `d` values): normalise each row,
/// average the Euclidean distance over all pairs i < j, `2 / (1 + exp(mean))`.
pub fn serfiq_score(embeddings: &[f32], t: usize, d: usize) -> f64 {
    let rows: Vec<Vec<f64>> = embeddings
        .chunks(d)
        .take(t)
        .map(|r| {
            let n = crate::magnitude::l2_norm(r);
            r.iter()
                .map(|x| if n > 0.0 { *x as f64 / n } else { 0.0 })
                .collect()
        })
        .collect();
    let (mut sum, mut pairs) = (0.0, 0usize);
    for i in 0..rows.len() {
        for j in i + 1..rows.len() {
            sum += rows[i]
                .iter()
                .zip(&rows[j])
                .map(|(a, b)| (a - b) * (a - b))
                .sum::<f64>()
                .sqrt();
            pairs += 1;
        }
    }
    let mean = if pairs == 0 { 0.0 } else { sum / pairs as f64 };
    2.0 / (1.0 + mean.exp())
}

/// `t` copies of `input`, each with its own inverted-dropout mask.
pub fn dropout_copies(input: &[f32], t: usize, p: f64, rng: &mut ChaCha8Rng) -> Vec<f32> {
    let scale = (1.0 / (1.0 - p)) as f32;
    let mut out = Vec::with_capacity(input.len() * t);
    for _ in 0..t {
        out.extend(input.iter().map(|v| {
            if rng.random::<f64>() < p {
                0.0
            } else {
                v * scale
            }
        }));
    }
    out
}

/// The `serfiq` method.
pub struct SerFiq {
    model: Arc<FrModel>,
    tap: Net,
    head: Net,
    layer: String,
    /// Per-image shape of the head input.
    pub layer_shape: Vec<usize>,
    pub options: SerFiqOptions,
}

impl SerFiq {
    /// Cuts `model` at the layer (option, else the model's `serfiq_input`).
    pub fn new(model: Arc<FrModel>, options: SerFiqOptions) -> Result<Self> {
        if options.passes < 2 {
            return Err(QualityError::Parameter {
                what: "SER-FIQ passes",
                value: options.passes.to_string(),
                expected: "at least 2",
            });
        }
        if !(0.0..1.0).contains(&options.dropout) {
            return Err(QualityError::Parameter {
                what: "SER-FIQ dropout",
                value: options.dropout.to_string(),
                expected: "a probability in [0, 1)",
            });
        }
        let layer = options.layer.clone().or_else(|| model.spec.serfiq_input.clone()).ok_or_else(|| QualityError::Model {
            what: model.graph.path.display().to_string(),
            reason: "no SER-FIQ layer: set serfiq_input in the model's .toml or pass --serfiq-layer (the input of the last small layers, e.g. the pooled features before the final linear layer)".into(),
        })?;
        let tap = model.tap(&[&layer])?;
        // One probe pass gives the per-image shape of the layer.
        let probe = tap.run(&vec![0.0; model.input_len()], 1)?;
        let layer_shape = probe[0].shape[1..].to_vec();
        let head = model.cut(&layer, &layer_shape)?;
        // Each image's T dropout copies and their T embeddings, on every core at once.
        let per_pass = layer_shape.iter().product::<usize>() + model.embedding_dim;
        let each = 4 * per_pass as u64 * rayon::current_num_threads() as u64;
        let what = "the dropout copies and embeddings of the images scored at once";
        amva_io::memory::check_count("--serfiq-passes", options.passes, each, what)?;
        Ok(SerFiq {
            model,
            tap,
            head,
            layer,
            layer_shape,
            options,
        })
    }

    /// The score of one image from its head input.
    fn score_one(&self, id: &str, head_input: &[f32]) -> Result<f64> {
        let t = self.options.passes;
        let mut rng = ChaCha8Rng::seed_from_u64(self.options.seed);
        rng.set_stream(crate::id_stream(id));
        let batch = dropout_copies(head_input, t, self.options.dropout, &mut rng);
        let out = self.head.run(&batch, t)?;
        Ok(serfiq_score(&out[0].data, t, self.model.embedding_dim))
    }
}

impl QualityMethod for SerFiq {
    fn name(&self) -> &str {
        "serfiq"
    }

    fn direction(&self) -> Direction {
        Direction::Higher
    }

    fn params(&self) -> serde_json::Value {
        serde_json::json!({
            "layer": self.layer, "layer_shape": self.layer_shape,
            "passes": self.options.passes, "dropout": self.options.dropout,
            "dropout_kind": "inverted (kept values scaled by 1/(1-p)), independent per pass",
            "seed": self.options.seed, "seed_stream": "ChaCha8(seed), stream FNV-1a(image id)",
            "model": self.model.graph.path, "model_sha256": self.model.graph.sha256,
            "engine": self.model.engine().to_string(),
        })
    }

    fn input_size(&self) -> Option<(u32, u32)> {
        let p = &self.model.spec.preprocess;
        Some((p.width, p.height))
    }

    fn score(&self, items: &[Item<'_>]) -> Result<Vec<f64>> {
        let input = crate::magnitude::model_input(&self.model, items);
        let per = self.model.input_len();
        items
            .par_iter()
            .zip(input.par_chunks(per))
            .map(|(it, x)| {
                let tapped = self.tap.run(x, 1)?;
                self.score_one(it.id, &tapped[0].data)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn score_matches_the_naive_formula() {
        let (t, d) = (5, 3);
        let mut s = 9u64;
        let e: Vec<f32> = (0..t * d)
            .map(|_| {
                s = s.wrapping_mul(6364136223846793005).wrapping_add(1);
                ((s >> 40) as f32 / (1u64 << 24) as f32) - 0.5
            })
            .collect();
        // Naive: normalise, all ordered pairs i != j, halve.
        let norm: Vec<Vec<f64>> = e
            .chunks(d)
            .map(|r| {
                let n = r.iter().map(|x| (*x as f64).powi(2)).sum::<f64>().sqrt();
                r.iter().map(|x| *x as f64 / n).collect()
            })
            .collect();
        let mut total = 0.0;
        for i in 0..t {
            for j in 0..t {
                if i != j {
                    total += norm[i]
                        .iter()
                        .zip(&norm[j])
                        .map(|(a, b)| (a - b).powi(2))
                        .sum::<f64>()
                        .sqrt();
                }
            }
        }
        let mean = total / (t * (t - 1)) as f64;
        assert!((serfiq_score(&e, t, d) - 2.0 / (1.0 + mean.exp())).abs() < 1e-12);
        // Identical outputs: distance 0, quality 1.
        assert_eq!(serfiq_score(&[1.0, 2.0, 1.0, 2.0], 2, 2), 1.0);
    }

    #[test]
    fn dropout_zeroes_about_p_and_scales_the_rest() {
        let input = vec![2.0f32; 1000];
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let out = dropout_copies(&input, 10, 0.5, &mut rng);
        let zeros = out.iter().filter(|v| **v == 0.0).count();
        assert!((zeros as f64 / 10_000.0 - 0.5).abs() < 0.03, "{zeros}");
        assert!(out.iter().all(|v| *v == 0.0 || *v == 4.0));
        // Same seed and stream, same masks.
        let mut rng2 = ChaCha8Rng::seed_from_u64(1);
        assert_eq!(out, dropout_copies(&input, 10, 0.5, &mut rng2));
    }
}
