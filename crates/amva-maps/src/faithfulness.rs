//! Deletion and insertion faithfulness of a map (ALGORITHMS 1.4).
//!
//! Pixels are ranked by map value, highest first (ties: lower pixel index first, so
//! runs are reproducible). After step s of S the top floor(s * P / S) pixels are set to
//! 0, which is mid-grey in normalised input space (deletion), or only they are kept
//! on an all-grey image (insertion). The curve is cos(f(x_s), e0); the score is the
//! trapezoid area over the fraction s / S in [0, 1]. Both ends of both curves are known
//! without a pass: the untouched image gives e0 itself (similarity 1) and the all-grey
//! image gives f(0).

use crate::cam::apply_mask;
use crate::Result;
use amva_model::FrModel;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::Serialize;

/// Deletion and insertion curves of one map (S + 1 points each, fraction 0 to 1).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Curves {
    pub deletion: Vec<f64>,
    pub insertion: Vec<f64>,
}

impl Curves {
    /// Area under the deletion curve: lower is more faithful.
    pub fn deletion_score(&self) -> f64 {
        trapezoid(&self.deletion)
    }

    /// Area under the insertion curve: higher is more faithful.
    pub fn insertion_score(&self) -> f64 {
        trapezoid(&self.insertion)
    }
}

/// Trapezoid area of a curve sampled at equal steps over [0, 1].
pub fn trapezoid(curve: &[f64]) -> f64 {
    if curve.len() < 2 {
        return 0.0;
    }
    let dx = 1.0 / (curve.len() - 1) as f64;
    curve.windows(2).map(|w| (w[0] + w[1]) * 0.5 * dx).sum()
}

/// Pixel indices by map value, highest first; ties by lower index.
pub fn pixel_order(map: &[f32]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..map.len()).collect();
    order.sort_by(|&a, &b| map[b].total_cmp(&map[a]).then(a.cmp(&b)));
    order
}

/// Pixels changed after each step 0..=steps: floor(s * pixels / steps).
pub fn step_counts(pixels: usize, steps: usize) -> Vec<usize> {
    (0..=steps).map(|s| s * pixels / steps.max(1)).collect()
}

/// The seeded uniform random map of one image: values in [0, 1) per pixel. The stream
/// depends on the seed and the image id only, so shards and subsets agree.
pub fn random_map(seed: u64, id: &str, pixels: usize) -> Vec<f32> {
    // FNV-1a of the id, mixed into the seed: stable across platforms and versions.
    let h = id.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ b as u64).wrapping_mul(0x0000_0100_0000_01b3)
    });
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ h);
    (0..pixels).map(|_| rng.random::<f32>()).collect()
}

/// Runs deletion/insertion for maps with one model.
pub struct Faithfulness<'m> {
    model: &'m FrModel,
    steps: usize,
    batch: usize,
    zero_embedding: Vec<f32>,
}

impl<'m> Faithfulness<'m> {
    /// `steps` >= 1 steps per curve, `batch` images per model call.
    pub fn new(model: &'m FrModel, steps: usize, batch: usize) -> Result<Self> {
        if steps == 0 {
            return Err(crate::Error::BadParameter {
                what: "steps",
                value: "0".into(),
                expected: "at least 1",
            });
        }
        // A step changes 1/steps of the pixels: more steps than pixels change none, and
        // would only allocate (steps x maps) passes.
        let pixels = model.spec.preprocess.width as usize * model.spec.preprocess.height as usize;
        if steps > pixels {
            return Err(crate::Error::BadParameter {
                what: "steps",
                value: steps.to_string(),
                expected: "at most the model input's pixel count (each step changes 1/steps of the pixels)",
            });
        }
        let zero = model.forward(&vec![0.0; model.input_len()], 1)?;
        Ok(Faithfulness {
            model,
            steps,
            batch: batch.max(1),
            zero_embedding: zero.embeddings,
        })
    }

    /// Curves of several full-resolution maps (H x W each) of one image `x` with
    /// embedding `e0`. The passes of all maps run together, spread over the cores.
    pub fn curves(&self, x: &[f32], e0: &[f32], maps: &[&[f32]]) -> Result<Vec<Curves>> {
        self.curves_to(x, e0, e0, maps)
    }

    /// [`Faithfulness::curves`] on the similarity to another embedding `target` (a
    /// pair's other image): the curves run from cos(e0, target) to cos(f(grey), target).
    pub fn curves_to(
        &self,
        x: &[f32],
        e0: &[f32],
        target: &[f32],
        maps: &[&[f32]],
    ) -> Result<Vec<Curves>> {
        let pixels =
            self.model.spec.preprocess.width as usize * self.model.spec.preprocess.height as usize;
        for m in maps {
            if m.len() != pixels {
                return Err(crate::Error::Shape {
                    what: "faithfulness map".into(),
                    expected: pixels,
                    got: m.len(),
                });
            }
        }
        let layout = self.model.spec.preprocess.layout;
        let per = self.model.input_len();
        let s = self.steps;
        let counts = step_counts(pixels, s);
        let orders: Vec<Vec<usize>> = maps.par_iter().map(|m| pixel_order(m)).collect();
        // Inner points only: steps 1..s-1 of deletion and insertion for every map.
        let inner = s.saturating_sub(1);
        let items: Vec<(usize, bool, usize)> = (0..maps.len())
            .flat_map(|m| {
                [true, false]
                    .into_iter()
                    .flat_map(move |del| (1..s).map(move |st| (m, del, st)))
            })
            .collect();
        let d = self.model.embedding_dim;
        let sims: Vec<f64> = items
            .par_chunks(self.batch)
            .map_init(
                || (vec![0.0f32; self.batch * per], vec![0.0f32; pixels]),
                |(buf, mask), chunk| -> Result<Vec<f64>> {
                    for (slot, &(m, del, st)) in buf.chunks_exact_mut(per).zip(chunk) {
                        // Deletion keeps everything but the top pixels; insertion only them.
                        let (base, top) = if del { (1.0, 0.0) } else { (0.0, 1.0) };
                        mask.fill(base);
                        for &p in &orders[m][..counts[st]] {
                            mask[p] = top;
                        }
                        apply_mask(x, mask, layout, slot);
                    }
                    let f = self.model.forward(&buf[..chunk.len() * per], chunk.len())?;
                    Ok(f.embeddings
                        .chunks_exact(d)
                        .map(|e| amva_model::fr::cosine(e, target) as f64)
                        .collect())
                },
            )
            .collect::<Result<Vec<_>>>()?
            .concat();
        let full = amva_model::fr::cosine(e0, target) as f64;
        let grey = amva_model::fr::cosine(&self.zero_embedding, target) as f64;
        Ok((0..maps.len())
            .map(|m| {
                let at = |del: usize, st: usize| sims[(m * 2 + del) * inner + st - 1];
                let mut deletion = vec![full];
                deletion.extend((1..s).map(|st| at(0, st)));
                deletion.push(grey);
                let mut insertion = vec![grey];
                insertion.extend((1..s).map(|st| at(1, st)));
                insertion.push(full);
                Curves {
                    deletion,
                    insertion,
                }
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trapezoid_matches_hand_computed_areas() {
        assert_eq!(trapezoid(&[1.0, 1.0, 1.0]), 1.0);
        assert!((trapezoid(&[0.0, 0.5, 1.0]) - 0.5).abs() < 1e-12);
        assert!((trapezoid(&[1.0, 0.0]) - 0.5).abs() < 1e-12);
        assert_eq!(trapezoid(&[3.0]), 0.0);
    }

    #[test]
    fn pixel_order_is_descending_with_ties_by_index() {
        assert_eq!(pixel_order(&[0.1, 0.9, 0.5, 0.9, 0.0]), vec![1, 3, 2, 0, 4]);
        assert_eq!(step_counts(10, 4), vec![0, 2, 5, 7, 10]);
    }

    #[test]
    fn random_maps_depend_on_seed_and_id_only() {
        let a = random_map(7, "x/1.jpg", 100);
        assert_eq!(a, random_map(7, "x/1.jpg", 100));
        assert_ne!(a, random_map(8, "x/1.jpg", 100));
        assert_ne!(a, random_map(7, "x/2.jpg", 100));
        assert!(a.iter().all(|v| (0.0..1.0).contains(v)));
    }
}
