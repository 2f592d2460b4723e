//! The map audit (ALGORITHMS 1.7; `amva audit`): how far each map method's maps can be
//! trusted on one model. Every method maps the same images with the trained model and
//! with the model randomised step by step (cascading randomisation); the audit measures
//! how much each method's maps change under randomisation, how alike the methods' maps
//! are (equivalence), and how faithful each is (deletion and insertion, ALGORITHMS 1.4).
//!
//! [`audit_maps`] computes; amva-analysis adds the analysis agreement and the
//! recommendation, amva-report draws the page.

use amva_math::compare::{quantile_linear, spearman};
use amva_math::similarity::{hog_pearson, ssim};
use amva_model::randomise::Cascade;
use amva_model::FrModel;
use rayon::prelude::*;

use crate::faithfulness::random_map;
pub use crate::study::Spread;
use crate::study::{study_of_maps, GivenMaps, Study, StudyOptions};
use crate::{forward_each, CamRunner, MapParams, Result};

/// A map method of the audit: its name (`scorecam`, `scorecam:fast`) and parameters.
#[derive(Debug, Clone)]
pub struct AuditMethod {
    pub name: String,
    pub params: MapParams,
}

/// How the audit runs.
#[derive(Debug, Clone, Copy)]
pub struct AuditOptions {
    /// Shares of the layers before the target (steps 2..=shares + 1 of the cascade).
    pub shares: usize,
    /// Seed of the random weights, the random maps and the bootstrap.
    pub seed: u64,
    /// The faithfulness study's settings (steps, bootstrap, batch).
    pub study: StudyOptions,
}

/// Every method's maps of the audited images with one model.
#[derive(Debug, Clone)]
pub struct MapSet {
    /// low[method][image]: the low-resolution map m (before the common ending).
    pub low: Vec<Vec<Vec<f32>>>,
    /// full[method][image]: the finished map.
    pub full: Vec<Vec<Vec<f32>>>,
    /// passes[method][image]: model (or head) passes, the unmasked one included.
    pub passes: Vec<Vec<usize>>,
    /// The unmasked embeddings, one per image.
    pub embeddings: Vec<Vec<f32>>,
}

/// Two methods' maps compared image by image (Spearman of the finished maps).
#[derive(Debug, Clone, serde::Serialize)]
pub struct Equivalence {
    pub a: String,
    pub b: String,
    pub spearman: Option<Spread>,
}

/// One method at one step of the cascade: its maps against the trained model's.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RandomisationRow {
    pub step: usize,
    pub method: String,
    pub spearman: Option<Spread>,
    pub ssim: Option<Spread>,
    pub hog_pearson: Option<Spread>,
    /// Median cosine of the randomised model's embedding to the trained one's: how much
    /// the step changed the model's output.
    pub output_cosine_median: f64,
}

/// What [`audit_maps`] found.
#[derive(Debug, Clone)]
pub struct MapAudit {
    pub ids: Vec<String>,
    pub methods: Vec<AuditMethod>,
    /// The trained model's maps.
    pub trained: MapSet,
    pub cascade: Cascade,
    pub equivalence: Vec<Equivalence>,
    pub randomisation: Vec<RandomisationRow>,
    /// examples[step - 1][method]: the finished map of the first image at each step.
    pub examples: Vec<Vec<Vec<f32>>>,
    /// Deletion and insertion of every method and of the random map (last).
    pub faithfulness: Study,
    /// (H, W) of the finished maps and (h, w) of the low-resolution ones.
    pub full_shape: (usize, usize),
    pub map_shape: (usize, usize),
}

impl MapAudit {
    /// Mean passes per image of method `i`, the unmasked pass included.
    pub fn passes(&self, i: usize) -> f64 {
        let p = &self.trained.passes[i];
        p.iter().sum::<usize>() as f64 / p.len().max(1) as f64
    }

    /// The finished map of the first image by method `mi` at cascade step `step` (>= 1).
    pub fn example(&self, step: usize, mi: usize) -> &[f32] {
        &self.examples[step - 1][mi]
    }

    /// The randomisation row of `method` at `step`.
    pub fn row(&self, step: usize, method: &str) -> Option<&RandomisationRow> {
        self.randomisation
            .iter()
            .find(|r| r.step == step && r.method == method)
    }
}

/// Progress of the audit: (what, done, total) as models and images finish.
pub type AuditProgress<'a> = &'a (dyn Fn(&str, usize, usize) + Sync);

/// The audit of `methods` on the `ids.len()` preprocessed images in `input` with
/// `model` (see the module documentation).
pub fn audit_maps(
    model: &FrModel,
    methods: &[AuditMethod],
    input: &[f32],
    ids: &[String],
    opts: &AuditOptions,
    cache: &dyn StepCache,
    progress: AuditProgress<'_>,
) -> Result<MapAudit> {
    let cascade = Cascade::plan(
        &model.graph,
        &model.spec.target,
        model.embedding_source(),
        opts.shares,
    )?;
    let steps = cascade.steps.len();
    let stage = |s: usize| {
        if s == 0 {
            "trained model".to_string()
        } else {
            format!("randomised, step {s} of {steps}")
        }
    };
    let shapes = Shapes::of(model);
    let cached = |step: usize, m: &FrModel| -> Result<MapSet> {
        if let Some(set) = cache.load(step, shapes)? {
            progress(&format!("{} (done before)", stage(step)), 1, 1);
            return Ok(set);
        }
        let set = map_set(m, methods, input, ids.len(), &|d, t| {
            progress(&stage(step), d, t)
        })?;
        cache.save(step, &set)?;
        Ok(set)
    };
    let trained = cached(0, model)?;
    let mut randomisation = Vec::new();
    let mut examples = Vec::new();
    for step in 1..=steps {
        let graph = cascade.randomised(&model.graph, step, opts.seed)?;
        let random_model = model.with_graph(graph)?;
        let set = cached(step, &random_model)?;
        randomisation.extend(compare_sets(&trained, &set, methods, step, model));
        examples.push(set.full.iter().map(|f| f[0].clone()).collect());
    }
    let equivalence = equivalence(&trained, methods);
    let faithfulness = faithfulness(model, methods, &trained, input, ids, opts, progress)?;
    let p = &model.spec.preprocess;
    let [_, h, w] = model.target_shape;
    Ok(MapAudit {
        ids: ids.to_vec(),
        methods: methods.to_vec(),
        trained,
        cascade,
        equivalence,
        randomisation,
        examples,
        faithfulness,
        full_shape: (p.height as usize, p.width as usize),
        map_shape: (h, w),
    })
}

/// The map shapes of a model: (h, w) of the low-resolution maps, (H, W) of the finished.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Shapes {
    pub map: (usize, usize),
    pub full: (usize, usize),
}

impl Shapes {
    fn of(model: &FrModel) -> Self {
        let p = &model.spec.preprocess;
        let [_, h, w] = model.target_shape;
        Shapes {
            map: (h, w),
            full: (p.height as usize, p.width as usize),
        }
    }
}

impl MapSet {
    /// A map set from its low-resolution maps (finished here exactly as a run finishes
    /// them), passes and embeddings: what a [`StepCache`] keeps.
    pub fn from_low(
        low: Vec<Vec<Vec<f32>>>,
        passes: Vec<Vec<usize>>,
        embeddings: Vec<Vec<f32>>,
        shapes: Shapes,
    ) -> Result<Self> {
        let ((h, w), (oh, ow)) = (shapes.map, shapes.full);
        let finish = |m: &Vec<f32>| {
            amva_math::resample::finish_map(m, h, w, oh, ow)
                .map(|f| f.data)
                .map_err(crate::Error::math("map"))
        };
        let full = low
            .iter()
            .map(|per| per.iter().map(finish).collect::<Result<Vec<_>>>())
            .collect::<Result<_>>()?;
        Ok(MapSet {
            low,
            full,
            passes,
            embeddings,
        })
    }
}

/// Where the finished steps of an audit are kept (step 0: the trained model), so that
/// an interrupted audit resumes where it stopped.
pub trait StepCache: Sync {
    /// The maps of `step`, if a run with the same inputs finished it.
    fn load(&self, step: usize, shapes: Shapes) -> Result<Option<MapSet>>;
    /// Keeps the maps of a finished step.
    fn save(&self, step: usize, set: &MapSet) -> Result<()>;
}

/// No cache: every step is computed.
pub struct NoCache;

impl StepCache for NoCache {
    fn load(&self, _: usize, _: Shapes) -> Result<Option<MapSet>> {
        Ok(None)
    }
    fn save(&self, _: usize, _: &MapSet) -> Result<()> {
        Ok(())
    }
}

/// Every method's maps of the images with `model`.
fn map_set(
    model: &FrModel,
    methods: &[AuditMethod],
    input: &[f32],
    n: usize,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> Result<MapSet> {
    let passes_run = forward_each(model, input, n)?;
    let total = n * methods.len();
    let done = std::sync::atomic::AtomicUsize::new(0);
    let (mut low, mut passes) = (Vec::new(), Vec::new());
    for m in methods {
        let runner = CamRunner::new(model, m.params.clone())?;
        let tick = |k: usize| {
            let d = done.fetch_add(k, std::sync::atomic::Ordering::Relaxed) + k;
            progress(d, total);
        };
        let maps = runner.maps_with(input, &passes_run, &tick)?;
        passes.push(maps.iter().map(|l| l.passes + 1).collect());
        low.push(maps.into_iter().map(|l| l.m).collect());
    }
    let embeddings = passes_run.into_iter().map(|p| p.embedding).collect();
    MapSet::from_low(low, passes, embeddings, Shapes::of(model))
}

/// How alike two finished maps are: (Spearman, SSIM, HOG Pearson). Identical maps
/// (also constant ones) score 1 on all three; otherwise a measure is None where it is
/// undefined (a constant map).
pub fn map_similarity(a: &[f32], b: &[f32], h: usize, w: usize) -> [Option<f64>; 3] {
    if a == b {
        return [Some(1.0); 3];
    }
    let (a, b) = (as_f64(a), as_f64(b));
    [
        spearman(&a, &b).ok(),
        ssim(&a, &b, h, w).ok(),
        hog_pearson(&a, &b, h, w).ok(),
    ]
}

/// The Spearman part of [`map_similarity`] alone.
fn map_spearman(a: &[f32], b: &[f32]) -> Option<f64> {
    if a == b {
        return Some(1.0);
    }
    spearman(&as_f64(a), &as_f64(b)).ok()
}

fn as_f64(v: &[f32]) -> Vec<f64> {
    v.iter().map(|&x| x as f64).collect()
}

fn compare_sets(
    trained: &MapSet,
    random: &MapSet,
    methods: &[AuditMethod],
    step: usize,
    model: &FrModel,
) -> Vec<RandomisationRow> {
    let p = &model.spec.preprocess;
    let (h, w) = (p.height as usize, p.width as usize);
    let mut cos: Vec<f64> = trained
        .embeddings
        .iter()
        .zip(&random.embeddings)
        .map(|(a, b)| amva_model::fr::cosine(a, b) as f64)
        .collect();
    cos.sort_by(f64::total_cmp);
    let output_cosine_median = quantile_linear(&cos, 0.5);
    methods
        .iter()
        .enumerate()
        .map(|(mi, m)| {
            let sims: Vec<[Option<f64>; 3]> = trained.full[mi]
                .par_iter()
                .zip(&random.full[mi])
                .map(|(a, b)| map_similarity(a, b, h, w))
                .collect();
            let col = |k: usize| Spread::of(&sims.iter().map(|s| s[k]).collect::<Vec<_>>());
            RandomisationRow {
                step,
                method: m.name.clone(),
                spearman: col(0),
                ssim: col(1),
                hog_pearson: col(2),
                output_cosine_median,
            }
        })
        .collect()
}

/// Spearman of every pair of methods' finished maps, image by image.
fn equivalence(set: &MapSet, methods: &[AuditMethod]) -> Vec<Equivalence> {
    let mut out = Vec::new();
    for a in 0..methods.len() {
        for b in a + 1..methods.len() {
            let rho: Vec<Option<f64>> = set.full[a]
                .par_iter()
                .zip(&set.full[b])
                .map(|(x, y)| map_spearman(x, y))
                .collect();
            out.push(Equivalence {
                a: methods[a].name.clone(),
                b: methods[b].name.clone(),
                spearman: Spread::of(&rho),
            });
        }
    }
    out
}

/// Deletion and insertion of every method's trained maps and of the random map.
fn faithfulness(
    model: &FrModel,
    methods: &[AuditMethod],
    set: &MapSet,
    input: &[f32],
    ids: &[String],
    opts: &AuditOptions,
    progress: AuditProgress<'_>,
) -> Result<Study> {
    let pixels = model.spec.preprocess.height as usize * model.spec.preprocess.width as usize;
    let random: Vec<Vec<f32>> = ids
        .iter()
        .map(|id| random_map(opts.seed, id, pixels))
        .collect();
    let zero = vec![0usize; ids.len()];
    let mut given: Vec<GivenMaps<'_>> = methods
        .iter()
        .zip(&set.full)
        .zip(&set.passes)
        .map(|((m, full), passes)| GivenMaps {
            name: &m.name,
            full,
            passes,
        })
        .collect();
    given.push(GivenMaps {
        name: "random",
        full: &random,
        passes: &zero,
    });
    let done = std::sync::atomic::AtomicUsize::new(0);
    study_of_maps(
        model,
        &given,
        input,
        &set.embeddings,
        ids,
        &opts.study,
        &|k| {
            let d = done.fetch_add(k, std::sync::atomic::Ordering::Relaxed) + k;
            progress("faithfulness", d, ids.len());
        },
    )
}
