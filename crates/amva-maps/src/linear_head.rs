//! Ablation-CAM in closed form for heads that are affine (ALGORITHMS 1.3).
//!
//! Many FR models end the spatial part with a global depthwise convolution and a linear
//! layer (the default model: `507` -> depthwise 7x7 -> 1x1 convolution -> embedding), so
//! the head is affine: h(A) = J A + c. Then zeroing channel k gives
//! e_k = h(A) - J (A_k on channel k) = h(A) - sum_p A_k[p] J[k, p], and the K head passes
//! on K ablated copies of A (147 M multiply-adds per image for the default model) become
//! one head pass plus K*h*w*D = 12.8 M multiply-adds, with J measured once per run by
//! K*h*w passes on unit inputs. Whether the head is affine is checked numerically
//! (additivity, negation and scaling on seeded random inputs); any other head takes the
//! batched path. Both paths agree with the naive definition to float rounding.

use crate::Result;
use amva_model::Net;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

/// Relative tolerance of the affinity checks: float rounding in an affine head stays
/// orders of magnitude below it, a ReLU or PReLU on random signs far above.
const AFFINE_TOLERANCE: f64 = 1e-4;
/// Unit inputs are scaled by this (a power of two, so exactly undone) to keep the
/// cancellation h(s e) - h(0) far above the rounding of the bias.
const UNIT_SCALE: f32 = 64.0;

/// J of an affine head: for each input position (k, p) its D-vector of effects.
pub(crate) struct LinearHead {
    hw: usize,
    d: usize,
    j: Vec<f32>,
}

fn dist(a: &[f64], b: &[f64]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).powi(2))
        .sum::<f64>()
        .sqrt()
}

fn norm(a: &[f64]) -> f64 {
    a.iter().map(|x| x * x).sum::<f64>().sqrt()
}

impl LinearHead {
    /// J when `head` (input K x hw per item) is affine, else None.
    pub(crate) fn probe(head: &Net, k: usize, hw: usize, batch: usize) -> Result<Option<Self>> {
        let per = k * hw;
        let mut rng = ChaCha8Rng::seed_from_u64(0x5eed);
        let r1: Vec<f32> = (0..per).map(|_| rng.random_range(-2.0f32..2.0)).collect();
        let r2: Vec<f32> = (0..per).map(|_| rng.random_range(-2.0f32..2.0)).collect();
        let sum: Vec<f32> = r1.iter().zip(&r2).map(|(a, b)| a + b).collect();
        let neg: Vec<f32> = r1.iter().map(|a| -a).collect();
        let triple: Vec<f32> = r1.iter().map(|a| 3.0 * a).collect();
        let zero = vec![0.0f32; per];
        let input: Vec<f32> = [&zero, &r1, &r2, &sum, &neg, &triple]
            .iter()
            .flat_map(|v| v.iter().copied())
            .collect();
        let out = head.run(&input, 6)?;
        let h: Vec<Vec<f64>> = (0..6)
            .map(|i| out[0].item(i).iter().map(|&v| v as f64).collect())
            .collect();
        let d = h[0].len();
        let delta = |i: usize| -> Vec<f64> { h[i].iter().zip(&h[0]).map(|(a, b)| a - b).collect() };
        let (d1, d2) = (delta(1), delta(2));
        let scale = norm(&d1) + norm(&d2);
        if scale == 0.0 {
            return Ok(None);
        }
        let add: Vec<f64> = d1.iter().zip(&d2).map(|(a, b)| a + b).collect();
        let negd: Vec<f64> = d1.iter().map(|a| -a).collect();
        let tripled: Vec<f64> = d1.iter().map(|a| 3.0 * a).collect();
        let affine = dist(&delta(3), &add) <= AFFINE_TOLERANCE * scale
            && dist(&delta(4), &negd) <= AFFINE_TOLERANCE * scale
            && dist(&delta(5), &tripled) <= AFFINE_TOLERANCE * 3.0 * scale;
        if !affine {
            return Ok(None);
        }
        let h0: Vec<f32> = out[0].item(0).to_vec();
        let batch = batch.max(1);
        let j: Vec<f32> = (0..per)
            .collect::<Vec<_>>()
            .par_chunks(batch)
            .map_init(
                || vec![0.0f32; batch * per],
                |buf, units| -> Result<Vec<f32>> {
                    buf.fill(0.0);
                    for (slot, &u) in buf.chunks_exact_mut(per).zip(units) {
                        slot[u] = UNIT_SCALE;
                    }
                    let out = head.run(&buf[..units.len() * per], units.len())?;
                    Ok(out[0]
                        .data
                        .chunks_exact(d)
                        .flat_map(|e| e.iter().zip(&h0).map(|(a, b)| (a - b) / UNIT_SCALE))
                        .collect())
                },
            )
            .collect::<Result<Vec<_>>>()?
            .concat();
        Ok(Some(LinearHead { hw, d, j }))
    }

    /// Ablation weights w_k = 1 - cos(h(A) - J A_k, e0) of activations `a` (K x hw), with
    /// `ha` = h(A) from one head pass.
    pub(crate) fn weights(&self, a: &[f32], ha: &[f32], e0: &[f32]) -> Vec<f64> {
        let (hw, d) = (self.hw, self.d);
        let mut ek = vec![0.0f32; d];
        a.chunks_exact(hw)
            .enumerate()
            .map(|(k, ch)| {
                ek.copy_from_slice(ha);
                for (p, &v) in ch.iter().enumerate() {
                    if v != 0.0 {
                        let col = &self.j[(k * hw + p) * d..(k * hw + p + 1) * d];
                        for (e, &jv) in ek.iter_mut().zip(col) {
                            *e -= v * jv;
                        }
                    }
                }
                1.0 - amva_model::fr::cosine(&ek, e0) as f64
            })
            .collect()
    }
}
