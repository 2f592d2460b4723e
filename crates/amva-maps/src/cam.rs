//! The map methods of ALGORITHMS 1 on a batch of preprocessed images.
//!
//! Throughput (ENGINES.md): the unmasked pass runs one image per call, so that a map
//! never depends on its batch neighbours (resumed and sharded runs then match a single
//! run bit for bit). The method's extra passes (Score-CAM's masked images, Ablation-CAM's
//! ablated activations) of all images of a call form one flat list of jobs that rayon
//! spreads over the cores, so the engine stays busy across image boundaries. Each worker
//! keeps its input and mask buffers for its whole life: nothing is allocated per channel
//! except what the engine itself returns.

use crate::params::{Channels, MapParams, Method, Score};
use crate::{Error, Result};
use amva_math::resample::{FinishedMap, Upsampler};
use amva_model::{FrModel, Layout};
use rayon::prelude::*;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Channels whose activation range is below this are constant: weight 0, never run.
pub const FLAT_CHANNEL: f64 = 1e-12;

/// Embedding and target-layer activations of one image.
#[derive(Debug, Clone)]
pub struct Pass {
    /// e0 = f(x), D values.
    pub embedding: Vec<f32>,
    /// A, K x h x w values.
    pub activations: Vec<f32>,
}

/// A low-resolution map m (h x w, before the common ending) and what it cost.
#[derive(Debug, Clone, PartialEq)]
pub struct LowMap {
    pub m: Vec<f32>,
    /// Model (or head) passes run for this map besides the unmasked one.
    pub passes: usize,
}

/// Computes maps of one method with one model. Cheap to share across threads.
/// How [`CamRunner::map_part`] reads its images and what it keeps.
#[derive(Debug, Clone, Copy, Default)]
pub struct ReadOptions {
    /// Resize images of the wrong size instead of failing them.
    pub resize: bool,
    /// Fail damaged images that still decode, instead of keeping them with a warning.
    pub strict: bool,
    /// Keep the finished (full-size) maps too.
    pub full: bool,
}

pub struct CamRunner<'m> {
    model: &'m FrModel,
    params: MapParams,
    mask_up: Upsampler,
    zero_embedding: Vec<f32>,
    linear_head: Option<crate::linear_head::LinearHead>,
}

impl std::fmt::Debug for CamRunner<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CamRunner")
            .field("params", &self.params)
            .finish()
    }
}

/// The embedding of every image, one image per call, in parallel over the cores.
pub fn forward_each(model: &FrModel, inputs: &[f32], n: usize) -> Result<Vec<Pass>> {
    let per = model.input_len();
    check_len("input images", n * per, inputs.len())?;
    (0..n)
        .into_par_iter()
        .map(|i| {
            let f = model.forward(&inputs[i * per..(i + 1) * per], 1)?;
            Ok(Pass {
                embedding: f.embeddings,
                activations: f.activations,
            })
        })
        .collect()
}

/// Multiplies every colour channel of image `x` by the per-pixel `mask` into `out`.
pub fn apply_mask(x: &[f32], mask: &[f32], layout: Layout, out: &mut [f32]) {
    let pixels = mask.len();
    match layout {
        Layout::Nchw => {
            for ((o, xi), _) in out
                .chunks_exact_mut(pixels)
                .zip(x.chunks_exact(pixels))
                .zip(0..3)
            {
                for ((o, &v), &m) in o.iter_mut().zip(xi).zip(mask) {
                    *o = v * m;
                }
            }
        }
        Layout::Nhwc => {
            for ((o, xi), &m) in out.chunks_exact_mut(3).zip(x.chunks_exact(3)).zip(mask) {
                for (o, &v) in o.iter_mut().zip(xi) {
                    *o = v * m;
                }
            }
        }
    }
}

/// The Score-CAM channels of activations `a` (K x hw): not constant, and with
/// `Top(n)` only the n of highest variance (ties: lower index first; `Fast` is
/// `Top(Channels::fast_count(C))` for the C channels that are not constant, a quarter
/// of `All`'s passes). Ascending order.
pub fn selected_channels(a: &[f32], hw: usize, channels: Channels) -> Vec<usize> {
    let stats: Vec<(usize, f64)> = a
        .chunks_exact(hw)
        .enumerate()
        .filter_map(|(k, ch)| {
            let (lo, hi) = ch
                .iter()
                .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &v| {
                    (lo.min(v as f64), hi.max(v as f64))
                });
            // A NaN range fails the test and the channel is dropped as unusable.
            if (hi - lo) >= FLAT_CHANNEL {
                Some((k, variance(ch)))
            } else {
                None
            }
        })
        .collect();
    let top = match channels {
        Channels::All => None,
        Channels::Top(n) => Some(n),
        Channels::Fast => Some(Channels::fast_count(stats.len())),
    };
    let mut keep: Vec<usize> = match top {
        None => stats.iter().map(|s| s.0).collect(),
        Some(n) => {
            let mut by_var = stats;
            by_var.sort_by(|x, y| y.1.total_cmp(&x.1).then(x.0.cmp(&y.0)));
            by_var.into_iter().take(n).map(|s| s.0).collect()
        }
    };
    keep.sort_unstable();
    keep
}

fn variance(v: &[f32]) -> f64 {
    let n = v.len() as f64;
    let mean = v.iter().map(|&x| x as f64).sum::<f64>() / n;
    v.iter().map(|&x| (x as f64 - mean).powi(2)).sum::<f64>() / n
}

/// Score-CAM channel weights from the similarities `s` of the masked images
/// (ALGORITHMS 1.1 step 5); `baseline` is cos(f(0), e0).
pub fn score_weights(s: &[f64], score: Score, baseline: f64, temperature: f64) -> Vec<f64> {
    match score {
        Score::Baseline => s.iter().map(|&v| v - baseline).collect(),
        Score::Raw => s.to_vec(),
        Score::Softmax => {
            let max = s.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let e: Vec<f64> = s.iter().map(|&v| ((v - max) / temperature).exp()).collect();
            let sum: f64 = e.iter().sum();
            e.into_iter().map(|v| v / sum).collect()
        }
    }
}

/// m = sum_k w_k A_k over `channels` (ascending), accumulated in f64.
fn weighted_sum(a: &[f32], hw: usize, channels: &[usize], w: &[f64]) -> Vec<f32> {
    let mut m = vec![0.0f64; hw];
    for (&k, &wk) in channels.iter().zip(w) {
        for (mp, &v) in m.iter_mut().zip(&a[k * hw..(k + 1) * hw]) {
            *mp += wk * v as f64;
        }
    }
    m.into_iter().map(|v| v as f32).collect()
}

fn check_len(what: &str, expected: usize, got: usize) -> Result<()> {
    if expected == got {
        Ok(())
    } else {
        Err(Error::Shape {
            what: what.into(),
            expected,
            got,
        })
    }
}

/// One unit of parallel work: up to `batch` channels of one image.
struct Job {
    image: usize,
    channels: std::ops::Range<usize>,
}

impl<'m> CamRunner<'m> {
    /// A runner for `params` (with a resolved, non-zero batch). Errors when the method
    /// needs the model's head and the graph cannot be cut at the target layer.
    pub fn new(model: &'m FrModel, params: MapParams) -> Result<Self> {
        params.validate()?;
        let [_, h, w] = model.target_shape;
        let p = &model.spec.preprocess;
        let mask_up = Upsampler::new(h, w, p.height as usize, p.width as usize)
            .map_err(Error::math("target layer"))?;
        let mut linear_head = None;
        if params.method.needs_head() {
            let head = model.head().map_err(|e| Error::NoHead {
                method: params.method.to_string(),
                layer: model.spec.target.clone(),
                reason: {
                    let r = e.to_string();
                    if r.contains("scorecam") {
                        r
                    } else {
                        r + "; use scorecam, which needs no head"
                    }
                },
            })?;
            let [k, h, w] = model.target_shape;
            linear_head = crate::linear_head::LinearHead::probe(head, k, h * w, params.batch)?;
        }
        let zero = model.forward(&vec![0.0; model.input_len()], 1)?;
        Ok(CamRunner {
            model,
            params,
            mask_up,
            zero_embedding: zero.embeddings,
            linear_head,
        })
    }

    /// Ablation-CAM through K batched head passes even when the head is affine (the
    /// closed form is used otherwise; see the `linear_head` module). For tests and
    /// comparisons: both give the same maps to float rounding.
    pub fn without_linear_head(mut self) -> Self {
        self.linear_head = None;
        self
    }

    /// True when Ablation-CAM uses the closed form of an affine head.
    pub fn uses_linear_head(&self) -> bool {
        self.linear_head.is_some()
    }

    /// The parameters this runner uses.
    pub fn params(&self) -> &MapParams {
        &self.params
    }

    /// f(0): the embedding of the all-grey (all-zero) input.
    pub fn zero_embedding(&self) -> &[f32] {
        &self.zero_embedding
    }

    /// Shape (h, w) of the low-resolution maps.
    pub fn map_shape(&self) -> (usize, usize) {
        self.mask_up.source_shape()
    }

    /// Shape (H, W) of the full maps (the model input).
    pub fn full_shape(&self) -> (usize, usize) {
        self.mask_up.output_shape()
    }

    /// The maps of one part of an image list, as [`crate::StoreWriter::write_part`]
    /// takes them: the images are read (unreadable ones listed in `failed`, damaged ones
    /// in `warnings`, or failed with `strict`), mapped and finished (`full` keeps the
    /// finished maps too). `progress(n)` is called as images are done; `note` gets one
    /// line per failed or damaged image.
    pub fn map_part(
        &self,
        items: &[amva_io::images::ImageItem],
        read: ReadOptions,
        progress: &(dyn Fn(usize) + Sync),
        note: &dyn Fn(&str),
    ) -> Result<crate::Part> {
        let p = &self.model.spec.preprocess;
        let loaded = amva_model::preprocess::load_batch_with(items, p, read.resize, read.strict);
        for (id, why) in &loaded.failed {
            note(&format!("skipped {id}: {why}"));
        }
        for (id, why) in &loaded.warnings {
            note(&format!("{id}: {why}"));
        }
        progress(loaded.failed.len());
        let maps = self.maps(&loaded.input, loaded.ok.len(), progress)?;
        let mut part = crate::Part {
            failed: loaded.failed,
            warnings: loaded.warnings,
            full: read.full.then(Vec::new),
            ..crate::Part::default()
        };
        for (&i, map) in loaded.ok.iter().zip(&maps) {
            let id = &items[i].id;
            let finished = self.finish(&map.m).map_err(|e| match e {
                Error::Math { source, .. } => Error::Math {
                    what: format!("finishing the map of {id}"),
                    source,
                },
                e => e,
            })?;
            if let Some(full) = part.full.as_mut() {
                full.extend_from_slice(&finished.data);
            }
            part.ids.push(id.clone());
            let flag = if finished.flat {
                crate::store::FLAT
            } else {
                ""
            };
            part.flags.push(flag.to_string());
            part.low.extend_from_slice(&map.m);
            part.passes += map.passes as u64;
        }
        Ok(part)
    }

    /// The common ending (ReLU, upsample, min-max) of a low-resolution map.
    pub fn finish(&self, m: &[f32]) -> Result<FinishedMap> {
        let (h, w) = self.map_shape();
        let (oh, ow) = self.full_shape();
        amva_math::resample::finish_map(m, h, w, oh, ow).map_err(Error::math("map"))
    }

    /// Maps of `n` preprocessed images (`inputs`, one after the other). `done(k)` is
    /// called as images finish (k at a time), from any thread.
    pub fn maps(
        &self,
        inputs: &[f32],
        n: usize,
        done: &(dyn Fn(usize) + Sync),
    ) -> Result<Vec<LowMap>> {
        let passes = forward_each(self.model, inputs, n)?;
        self.maps_with(inputs, &passes, done)
    }

    /// Like [`CamRunner::maps`] with the unmasked passes already run.
    pub fn maps_with(
        &self,
        inputs: &[f32],
        passes: &[Pass],
        done: &(dyn Fn(usize) + Sync),
    ) -> Result<Vec<LowMap>> {
        let n = passes.len();
        check_len("input images", n * self.model.input_len(), inputs.len())?;
        let k = self.model.target_shape[0];
        let hw = self.model.target_shape[1] * self.model.target_shape[2];
        for p in passes {
            check_len("target activations", k * hw, p.activations.len())?;
        }
        match self.params.method {
            Method::Activation => Ok(passes
                .iter()
                .map(|p| {
                    let all: Vec<usize> = (0..k).collect();
                    let m = weighted_sum(&p.activations, hw, &all, &vec![1.0 / k as f64; k]);
                    done(1);
                    LowMap { m, passes: 0 }
                })
                .collect()),
            Method::EigenCam => Ok(passes
                .par_iter()
                .map(|p| {
                    let m = crate::eigen::eigencam(&p.activations, k, hw);
                    done(1);
                    LowMap { m, passes: 0 }
                })
                .collect()),
            Method::ScoreCam => self.scorecam(inputs, passes, hw, done),
            Method::Ablation => self.ablation(passes, k, hw, done),
        }
    }

    fn jobs(&self, counts: &[usize]) -> Vec<Job> {
        let b = self.params.batch;
        counts
            .iter()
            .enumerate()
            .flat_map(|(image, &c)| {
                (0..c.div_ceil(b)).map(move |j| Job {
                    image,
                    channels: j * b..((j + 1) * b).min(c),
                })
            })
            .collect()
    }

    /// Runs `jobs` over the cores; `work(job, input_buffer, scratch)` returns one value per
    /// channel of the job. Results come back per image, in channel order.
    fn run_jobs(
        &self,
        n: usize,
        counts: &[usize],
        item_len: usize,
        scratch_len: usize,
        done: &(dyn Fn(usize) + Sync),
        work: impl Fn(&Job, &mut [f32], &mut [f32]) -> Result<Vec<f64>> + Sync,
    ) -> Result<Vec<Vec<f64>>> {
        let jobs = self.jobs(counts);
        let remaining: Vec<AtomicUsize> = counts
            .iter()
            .map(|&c| AtomicUsize::new(c.div_ceil(self.params.batch)))
            .collect();
        let empty = counts.iter().filter(|&&c| c == 0).count();
        if empty > 0 {
            done(empty);
        }
        let batch = self.params.batch;
        let results: Vec<Vec<f64>> = jobs
            .par_iter()
            .map_init(
                || (vec![0.0f32; batch * item_len], vec![0.0f32; scratch_len]),
                |(buf, scratch), job| {
                    let r = work(job, buf, scratch)?;
                    if remaining[job.image].fetch_sub(1, Ordering::AcqRel) == 1 {
                        done(1);
                    }
                    Ok(r)
                },
            )
            .collect::<Result<_>>()?;
        let mut per_image: Vec<Vec<f64>> = counts.iter().map(|&c| Vec::with_capacity(c)).collect();
        for (job, r) in jobs.iter().zip(results) {
            per_image[job.image].extend(r);
        }
        debug_assert_eq!(per_image.len(), n);
        Ok(per_image)
    }

    fn scorecam(
        &self,
        inputs: &[f32],
        passes: &[Pass],
        hw: usize,
        done: &(dyn Fn(usize) + Sync),
    ) -> Result<Vec<LowMap>> {
        let per = self.model.input_len();
        let layout = self.model.spec.preprocess.layout;
        let (oh, ow) = self.full_shape();
        let chans: Vec<Vec<usize>> = passes
            .iter()
            .map(|p| selected_channels(&p.activations, hw, self.params.channels))
            .collect();
        let counts: Vec<usize> = chans.iter().map(Vec::len).collect();
        let sims = self.run_jobs(
            passes.len(),
            &counts,
            per,
            oh * ow,
            done,
            |job, buf, mask| {
                let p = &passes[job.image];
                let x = &inputs[job.image * per..(job.image + 1) * per];
                let ks = &chans[job.image][job.channels.clone()];
                for (slot, &k) in buf.chunks_exact_mut(per).zip(ks) {
                    self.mask_up
                        .mask_into(&p.activations[k * hw..(k + 1) * hw], mask)
                        .map_err(Error::math("Score-CAM mask"))?;
                    apply_mask(x, mask, layout, slot);
                }
                let f = self.model.forward(&buf[..ks.len() * per], ks.len())?;
                let d = self.model.embedding_dim;
                Ok(f.embeddings
                    .chunks_exact(d)
                    .map(|e| amva_model::fr::cosine(e, &p.embedding) as f64)
                    .collect())
            },
        )?;
        Ok(passes
            .iter()
            .zip(chans.iter().zip(sims))
            .map(|(p, (ks, s))| {
                let baseline = amva_model::fr::cosine(&self.zero_embedding, &p.embedding) as f64;
                let w = score_weights(&s, self.params.score, baseline, self.params.temperature);
                LowMap {
                    m: weighted_sum(&p.activations, hw, ks, &w),
                    passes: ks.len(),
                }
            })
            .collect())
    }

    fn ablation(
        &self,
        passes: &[Pass],
        k: usize,
        hw: usize,
        done: &(dyn Fn(usize) + Sync),
    ) -> Result<Vec<LowMap>> {
        let head = self.model.head()?;
        let all: Vec<usize> = (0..k).collect();
        if let Some(lin) = &self.linear_head {
            // One head pass per image (batch 1: a map never depends on its neighbours).
            return passes
                .par_iter()
                .map(|p| {
                    let ha = head.run(&p.activations, 1)?;
                    let w = lin.weights(&p.activations, &ha[0].data, &p.embedding);
                    done(1);
                    Ok(LowMap {
                        m: weighted_sum(&p.activations, hw, &all, &w),
                        passes: 1,
                    })
                })
                .collect();
        }
        let per = k * hw;
        let counts = vec![k; passes.len()];
        let sims = self.run_jobs(passes.len(), &counts, per, 0, done, |job, buf, _| {
            let p = &passes[job.image];
            let len = job.channels.len();
            for (slot, ch) in buf.chunks_exact_mut(per).zip(job.channels.clone()) {
                slot.copy_from_slice(&p.activations);
                slot[ch * hw..(ch + 1) * hw].fill(0.0);
            }
            let out = head.run(&buf[..len * per], len)?;
            let e = &out[0].data;
            let d = e.len() / len.max(1);
            Ok(e.chunks_exact(d)
                .map(|ek| 1.0 - amva_model::fr::cosine(ek, &p.embedding) as f64)
                .collect())
        })?;
        Ok(passes
            .iter()
            .zip(sims)
            .map(|(p, w)| LowMap {
                m: weighted_sum(&p.activations, hw, &all, &w),
                passes: k,
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn softmax_weights_sum_to_one_and_follow_the_scores() {
        let s = [0.1, 0.5, -0.3];
        let w = score_weights(&s, Score::Softmax, 0.0, 1.0);
        assert!((w.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        let z: f64 = s.iter().map(|v: &f64| v.exp()).sum();
        for (wi, si) in w.iter().zip(s) {
            assert!((wi - si.exp() / z).abs() < 1e-12);
        }
        assert_eq!(
            score_weights(&s, Score::Baseline, 0.1, 1.0),
            vec![0.0, 0.4, -0.4]
        );
        assert_eq!(score_weights(&s, Score::Raw, 0.1, 1.0), s.to_vec());
    }

    #[test]
    fn channel_selection_drops_constant_channels_and_keeps_the_most_variable() {
        // 4 channels of 4 values: constant, small spread, large spread, medium spread.
        let a = [
            2.0, 2.0, 2.0, 2.0, //
            0.0, 0.1, 0.0, 0.1, //
            0.0, 5.0, 0.0, 5.0, //
            0.0, 1.0, 0.0, 1.0,
        ];
        assert_eq!(selected_channels(&a, 4, Channels::All), vec![1, 2, 3]);
        assert_eq!(selected_channels(&a, 4, Channels::Top(2)), vec![2, 3]);
        assert_eq!(selected_channels(&a, 4, Channels::Top(9)), vec![1, 2, 3]);
        // 3 channels vary: fast keeps max(1, 4 / 4 - 1) = 1, the one of highest variance.
        assert_eq!(selected_channels(&a, 4, Channels::Fast), vec![2]);
    }

    #[test]
    fn masks_apply_to_every_colour_channel_in_both_layouts() {
        let x: Vec<f32> = (0..12).map(|i| i as f32).collect();
        let mask = [1.0, 0.5, 0.0, 2.0];
        let mut out = vec![0.0; 12];
        apply_mask(&x, &mask, Layout::Nchw, &mut out);
        for c in 0..3 {
            for p in 0..4 {
                assert_eq!(out[c * 4 + p], x[c * 4 + p] * mask[p]);
            }
        }
        apply_mask(&x, &mask, Layout::Nhwc, &mut out);
        for p in 0..4 {
            for c in 0..3 {
                assert_eq!(out[p * 3 + c], x[p * 3 + c] * mask[p]);
            }
        }
    }
}
