//! A faithfulness study (`amva faithfulness`): deletion and insertion curves
//! (ALGORITHMS 1.4) of several map methods on the same images, against a seeded
//! uniform random map, summarised as means with bootstrap intervals and mean curves.
//!
//! [`run_study`] computes; [`Study`] renders its tables (per image, summary, the text
//! table), its figure and its record ([`StudyRecord`], faithfulness.json). The command
//! writes them.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use amva_io::images::ImageItem;
use amva_math::compare::{bootstrap_mean_ci, Interval};
use amva_model::FrModel;

use crate::faithfulness::random_map;
use crate::{
    forward_each, CamRunner, Channels, Curves, Error, Faithfulness, MapParams, Method, Result,
};
use serde::Serialize;

/// Images processed per step (bounds memory; the maps of all methods are kept per step).
const CHUNK: usize = 16;

/// A compared method: a CAM method or the random reference. Score-CAM may name its
/// channels (`scorecam:fast`, `scorecam:top:64`) so that variants compare in one run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Compared {
    /// A method, with Score-CAM's channels when they are named (else the run's).
    Cam(Method, Option<Channels>),
    Random,
}

impl std::str::FromStr for Compared {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        let t = s.trim();
        if t.eq_ignore_ascii_case("random") {
            return Ok(Compared::Random);
        }
        match t.split_once(':') {
            None => Ok(Compared::Cam(t.parse()?, None)),
            Some((m, ch)) => match m.parse()? {
                Method::ScoreCam => Ok(Compared::Cam(Method::ScoreCam, Some(ch.parse()?))),
                _ => Err(Error::BadParameter {
                    what: "method",
                    value: s.into(),
                    expected: "channels only with scorecam (scorecam:fast, scorecam:top:N)",
                }),
            },
        }
    }
}

impl std::fmt::Display for Compared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Compared::Cam(m, None) => write!(f, "{m}"),
            Compared::Cam(m, Some(c)) => write!(f, "{m}:{c}"),
            Compared::Random => f.write_str("random"),
        }
    }
}

/// One method's results.
#[derive(Debug, Clone)]
pub struct MethodResult {
    pub name: String,
    /// (image id, curves), in image order.
    pub per_image: Vec<(String, Curves)>,
    /// Mean deletion score (area) with its bootstrap interval.
    pub deletion: Interval,
    /// Mean insertion score with its bootstrap interval.
    pub insertion: Interval,
    /// Mean deletion curve, steps + 1 points.
    pub deletion_curve: Vec<f64>,
    /// Mean insertion curve.
    pub insertion_curve: Vec<f64>,
    /// Mean model (Ablation-CAM: head) passes per image, the unmasked pass included
    /// (0 for the random map).
    pub passes: f64,
    /// Per image (in `per_image` order), the Pearson correlation of this method's full
    /// map with the reference method's ([`Study::reference`]); None for the reference
    /// itself and where a map is constant.
    pub agreement: Vec<Option<f64>>,
}

/// The whole study.
#[derive(Debug, Clone)]
pub struct Study {
    pub steps: usize,
    /// The first CAM method compared: every other method's maps are correlated with its.
    pub reference: Option<String>,
    pub methods: Vec<MethodResult>,
    /// Images that could not be read: (id, why).
    pub failed: Vec<(String, String)>,
}

/// How the study runs.
#[derive(Debug, Clone, Copy)]
pub struct StudyOptions {
    pub steps: usize,
    /// Seed of the random maps and of the bootstrap.
    pub seed: u64,
    /// Bootstrap resamples.
    pub boot: usize,
    /// Resize images of the wrong size.
    pub resize: bool,
    /// Images per model call in the curves.
    pub batch: usize,
}

/// Curves of every method on every image of `items`. `runners` holds a runner per
/// CAM method (None for the random map). `progress(n)` is called with each image done
/// (read or failed); `note` gets one line per image that could not be read.
pub fn run_study(
    model: &FrModel,
    runners: &[(Compared, Option<CamRunner>)],
    items: &[ImageItem],
    opts: &StudyOptions,
    progress: &dyn Fn(usize),
    note: &dyn Fn(&str),
) -> Result<Study> {
    let faith = Faithfulness::new(model, opts.steps, opts.batch)?;
    check_bootstrap(opts)?;
    let reference = runners.iter().position(|(_, r)| r.is_some());
    let mut results: Vec<Vec<ImageResult>> = vec![Vec::new(); runners.len()];
    let mut failed = Vec::new();
    for chunk in items.chunks(CHUNK) {
        let loaded = amva_model::preprocess::load_batch(chunk, &model.spec.preprocess, opts.resize);
        for (id, why) in &loaded.failed {
            note(&format!("skipped {id}: {why}"));
        }
        progress(loaded.failed.len());
        failed.extend(loaded.failed.iter().cloned());
        let ids: Vec<&str> = loaded.ok.iter().map(|&i| chunk[i].id.as_str()).collect();
        let found = ChunkMaps::compute(model, runners, &loaded.input, &ids, opts.seed)?;
        for (j, id) in ids.iter().enumerate() {
            let curves = found.curves(model, &faith, &loaded.input, j)?;
            for (mi, (r, c)) in results.iter_mut().zip(curves).enumerate() {
                r.push(ImageResult {
                    id: id.to_string(),
                    curves: c,
                    passes: found.passes[mi][j],
                    agreement: found.agreement(reference, mi, j),
                });
            }
            progress(1);
        }
    }
    if results.first().is_none_or(|r| r.is_empty()) {
        return Err(Error::BadParameter {
            what: "images",
            value: format!("{} listed, {} unreadable", items.len(), failed.len()),
            expected: "at least one readable image",
        });
    }
    let methods = runners
        .iter()
        .zip(results)
        .map(|((c, _), rows)| summarise(c.to_string(), rows, opts))
        .collect::<Result<_>>()?;
    Ok(Study {
        steps: opts.steps,
        reference: reference.map(|i| runners[i].0.to_string()),
        methods,
        failed,
    })
}

/// The full maps of one compared method, made elsewhere (e.g. by the audit).
#[derive(Debug, Clone, Copy)]
pub struct GivenMaps<'a> {
    pub name: &'a str,
    /// One finished map (H x W) per image.
    pub full: &'a [Vec<f32>],
    /// Model (or head) passes per image, the unmasked pass included.
    pub passes: &'a [usize],
}

/// The faithfulness study of maps already made: `input` holds the `ids.len()`
/// preprocessed images, `embeddings` their unmasked embeddings. Every map is
/// correlated with the first method's, as in [`run_study`].
pub fn study_of_maps(
    model: &FrModel,
    methods: &[GivenMaps<'_>],
    input: &[f32],
    embeddings: &[Vec<f32>],
    ids: &[String],
    opts: &StudyOptions,
    progress: &dyn Fn(usize),
) -> Result<Study> {
    let faith = Faithfulness::new(model, opts.steps, opts.batch)?;
    check_bootstrap(opts)?;
    let per = model.input_len();
    let mut results: Vec<Vec<ImageResult>> = vec![Vec::new(); methods.len()];
    for (j, id) in ids.iter().enumerate() {
        let maps: Vec<&[f32]> = methods.iter().map(|m| m.full[j].as_slice()).collect();
        let curves = faith.curves(&input[j * per..(j + 1) * per], &embeddings[j], &maps)?;
        for (mi, (r, c)) in results.iter_mut().zip(curves).enumerate() {
            r.push(ImageResult {
                id: id.clone(),
                curves: c,
                passes: methods[mi].passes[j],
                agreement: (mi > 0)
                    .then(|| map_pearson(&methods[0].full[j], &methods[mi].full[j]))
                    .flatten(),
            });
        }
        progress(1);
    }
    let methods_out = methods
        .iter()
        .zip(results)
        .map(|(m, rows)| summarise(m.name.to_string(), rows, opts))
        .collect::<Result<_>>()?;
    Ok(Study {
        steps: opts.steps,
        reference: methods.first().map(|m| m.name.to_string()),
        methods: methods_out,
        failed: Vec::new(),
    })
}

/// Pearson correlation of two maps; None when one is constant.
fn map_pearson(a: &[f32], b: &[f32]) -> Option<f64> {
    let as64 = |v: &[f32]| v.iter().map(|&x| f64::from(x)).collect::<Vec<_>>();
    amva_math::compare::pearson(&as64(a), &as64(b)).ok()
}

/// One method on one image.
#[derive(Debug, Clone)]
struct ImageResult {
    id: String,
    curves: Curves,
    passes: usize,
    agreement: Option<f64>,
}

/// The full maps of every method for the images of one loaded chunk, and their cost.
struct ChunkMaps {
    passes_run: Vec<crate::Pass>,
    /// full[method][image]
    full: Vec<Vec<Vec<f32>>>,
    /// passes[method][image]: model (or head) passes, the unmasked one included.
    passes: Vec<Vec<usize>>,
}

impl ChunkMaps {
    fn compute(
        model: &FrModel,
        runners: &[(Compared, Option<CamRunner>)],
        input: &[f32],
        ids: &[&str],
        seed: u64,
    ) -> Result<Self> {
        let passes_run = forward_each(model, input, ids.len())?;
        let pixels = model.spec.preprocess.height as usize * model.spec.preprocess.width as usize;
        let (mut full, mut passes) = (Vec::new(), Vec::new());
        for (_, runner) in runners {
            let Some(r) = runner else {
                full.push(ids.iter().map(|id| random_map(seed, id, pixels)).collect());
                passes.push(vec![0; ids.len()]);
                continue;
            };
            let low = r.maps_with(input, &passes_run, &|_| {})?;
            passes.push(low.iter().map(|m| m.passes + 1).collect());
            full.push(
                low.iter()
                    .map(|m| r.finish(&m.m).map(|f| f.data))
                    .collect::<Result<_>>()?,
            );
        }
        Ok(ChunkMaps {
            passes_run,
            full,
            passes,
        })
    }

    /// Deletion and insertion curves of every method on image `j`.
    fn curves(
        &self,
        model: &FrModel,
        faith: &Faithfulness<'_>,
        input: &[f32],
        j: usize,
    ) -> Result<Vec<Curves>> {
        let per = model.input_len();
        let maps: Vec<&[f32]> = self.full.iter().map(|m| m[j].as_slice()).collect();
        let embedding = &self.passes_run[j].embedding;
        faith.curves(&input[j * per..(j + 1) * per], embedding, &maps)
    }

    /// Pearson of method `mi`'s map of image `j` with the reference method's (None for
    /// the reference itself, or when a map is constant).
    fn agreement(&self, reference: Option<usize>, mi: usize, j: usize) -> Option<f64> {
        let r = reference.filter(|&r| r != mi)?;
        map_pearson(&self.full[r][j], &self.full[mi][j])
    }
}

/// `--bootstrap` checked against free memory before the study runs (each resample's
/// mean is kept: 8 bytes).
fn check_bootstrap(o: &StudyOptions) -> Result<()> {
    Ok(amva_io::memory::check_count(
        "--bootstrap",
        o.boot,
        8,
        "the bootstrap means",
    )?)
}

fn summarise(name: String, rows: Vec<ImageResult>, o: &StudyOptions) -> Result<MethodResult> {
    let mean_curve = |del: bool| -> Vec<f64> {
        (0..=o.steps)
            .map(|s| {
                let v = |c: &Curves| if del { c.deletion[s] } else { c.insertion[s] };
                rows.iter().map(|r| v(&r.curves)).sum::<f64>() / rows.len() as f64
            })
            .collect()
    };
    let del: Vec<f64> = rows.iter().map(|r| r.curves.deletion_score()).collect();
    let ins: Vec<f64> = rows.iter().map(|r| r.curves.insertion_score()).collect();
    let ci = |v: &[f64]| {
        bootstrap_mean_ci(v, o.boot, 0.95, o.seed)
            .map_err(Error::math(format!("{name}: bootstrap")))
    };
    Ok(MethodResult {
        deletion: ci(&del)?,
        insertion: ci(&ins)?,
        deletion_curve: mean_curve(true),
        insertion_curve: mean_curve(false),
        passes: rows.iter().map(|r| r.passes as f64).sum::<f64>() / rows.len() as f64,
        agreement: rows.iter().map(|r| r.agreement).collect(),
        per_image: rows.into_iter().map(|r| (r.id, r.curves)).collect(),
        name,
    })
}

/// A median and 5th percentile over images, and how many images had a value.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Spread {
    pub median: f64,
    pub p5: f64,
    /// Images where the measure is defined (both maps non-constant, or identical).
    pub images: usize,
}

impl Spread {
    /// The spread of `values` (None: undefined for that image); None when no value.
    pub fn of(values: &[Option<f64>]) -> Option<Spread> {
        let mut v: Vec<f64> = values.iter().flatten().copied().collect();
        if v.is_empty() {
            return None;
        }
        v.sort_by(f64::total_cmp);
        Some(Spread {
            median: amva_math::compare::quantile_linear(&v, 0.5),
            p5: amva_math::compare::quantile_linear(&v, 0.05),
            images: v.len(),
        })
    }
}

impl MethodResult {
    /// (median, 5th percentile) of the per-image agreement with the reference (linear
    /// interpolation between order statistics), None without values.
    pub fn agreement_summary(&self) -> Option<(f64, f64)> {
        Spread::of(&self.agreement).map(|s| (s.median, s.p5))
    }
}

/// An optional number as a CSV field (empty when absent).
fn field(v: Option<f64>) -> String {
    v.map(|x| x.to_string()).unwrap_or_default()
}

impl Study {
    /// Images with curves.
    pub fn count(&self) -> usize {
        self.methods.first().map_or(0, |m| m.per_image.len())
    }

    /// per_image.csv: image,method,deletion,insertion,pearson_vs_reference (empty for
    /// the reference itself).
    pub fn per_image_csv(&self) -> Result<Vec<u8>> {
        let mut w = csv::Writer::from_writer(Vec::new());
        w.write_record([
            "image",
            "method",
            "deletion",
            "insertion",
            "pearson_vs_reference",
        ])
        .map_err(csv_error)?;
        for m in &self.methods {
            for ((id, c), r) in m.per_image.iter().zip(&m.agreement) {
                let (d, i) = (c.deletion_score(), c.insertion_score());
                w.write_record([
                    id.as_str(),
                    &m.name,
                    &d.to_string(),
                    &i.to_string(),
                    &field(*r),
                ])
                .map_err(csv_error)?;
            }
        }
        w.into_inner().map_err(|e| csv_error(e.into_error().into()))
    }

    /// summary.csv: per method, the means and their interval bounds.
    pub fn summary_csv(&self) -> Result<Vec<u8>> {
        let mut w = csv::Writer::from_writer(Vec::new());
        w.write_record([
            "method",
            "images",
            "deletion_mean",
            "deletion_lo",
            "deletion_hi",
            "insertion_mean",
            "insertion_lo",
            "insertion_hi",
            "passes_per_image",
            "pearson_median",
            "pearson_p5",
        ])
        .map_err(csv_error)?;
        for m in &self.methods {
            let (d, i) = (&m.deletion, &m.insertion);
            let row = [d.estimate, d.lo, d.hi, i.estimate, i.lo, i.hi].map(|v| v.to_string());
            let mut rec = vec![m.name.clone(), self.count().to_string()];
            rec.extend(row);
            let agree = m.agreement_summary();
            rec.extend([
                m.passes.to_string(),
                field(agree.map(|a| a.0)),
                field(agree.map(|a| a.1)),
            ]);
            w.write_record(&rec).map_err(csv_error)?;
        }
        w.into_inner().map_err(|e| csv_error(e.into_error().into()))
    }

    /// curves.png: mean deletion and insertion curves of every method, side by side.
    pub fn figure(&self) -> std::result::Result<image::RgbImage, amva_draw::DrawError> {
        use amva_draw::{Corner, LinePlot, Series, Styled, TAB10};
        let xs: Vec<f64> = (0..=self.steps)
            .map(|s| s as f64 / self.steps as f64)
            .collect();
        // Cosines can dip below 0 (the all-grey image); keep those ends visible.
        let y_min = self
            .methods
            .iter()
            .flat_map(|m| m.deletion_curve.iter().chain(&m.insertion_curve))
            .fold(0.0f64, |a, &v| a.min(v))
            - 0.02;
        // Two panels, each with its legend where its curves are not: deletion curves
        // fall to the lower right, insertion curves rise to the upper right.
        let panel = |title: String, x_label: &str, corner| {
            LinePlot::new(title)
                .axis_labels(x_label, "cosine similarity to the original embedding")
                .legend_corner(corner)
                .x_range(0.0, 1.0)
                .y_range(y_min, 1.02)
                .size(720, 560)
        };
        let n = self.count();
        let mut deletion = panel(
            format!("Deletion, mean of {n} images (lower area = more faithful)"),
            "fraction of pixels removed (highest map value first)",
            Corner::UpperRight,
        );
        let mut insertion = panel(
            format!("Insertion, mean of {n} images (higher area = more faithful)"),
            "fraction of pixels inserted (highest map value first)",
            Corner::LowerRight,
        );
        for (i, m) in self.methods.iter().enumerate() {
            let line = |curve: &[f64], area: f64| {
                let pts = xs.iter().copied().zip(curve.iter().copied()).collect();
                Series::line(format!("{} (area {area:.3})", m.name), pts)
                    .color(TAB10[i % TAB10.len()])
            };
            deletion = deletion.series(line(&m.deletion_curve, m.deletion.estimate));
            insertion = insertion.series(line(&m.insertion_curve, m.insertion.estimate));
        }
        Ok(amva_draw::side_by_side(&[
            deletion.render()?,
            insertion.render()?,
        ]))
    }

    /// The table printed at the end of the command.
    pub fn table(&self) -> String {
        let r = self.reference.as_deref().unwrap_or("-");
        let mut t = format!(
            "{:<16} {:>26} {:>26} {:>8} {:>24}\n",
            "method",
            "deletion (lower better)",
            "insertion (higher better)",
            "passes",
            format!("Pearson vs {r} (median, p5)")
        );
        for m in &self.methods {
            let (d, i) = (&m.deletion, &m.insertion);
            let agree = match m.agreement_summary() {
                Some((med, p5)) => format!("{med:.4}, {p5:.4}"),
                None => "-".into(),
            };
            let _ = writeln!(
                t,
                "{:<16} {:>8.4} [{:.4}, {:.4}] {:>8.4} [{:.4}, {:.4}] {:>8.1} {:>24}",
                m.name, d.estimate, d.lo, d.hi, i.estimate, i.lo, i.hi, m.passes, agree
            );
        }
        t
    }
}

/// How the random reference map is drawn (recorded in faithfulness.json).
pub const RANDOM_MAP: &str =
    "uniform in [0, 1) per pixel, ChaCha8 seeded with seed XOR FNV-1a(image id)";

/// A mean with its bootstrap interval, as faithfulness.json and the summaries write it.
#[derive(Debug, Clone, Copy, Serialize, serde::Deserialize)]
pub struct IntervalRecord {
    pub mean: f64,
    pub lo: f64,
    pub hi: f64,
    pub level: f64,
}

impl From<&Interval> for IntervalRecord {
    fn from(iv: &Interval) -> Self {
        IntervalRecord {
            mean: iv.estimate,
            lo: iv.lo,
            hi: iv.hi,
            level: iv.level,
        }
    }
}

/// What the study did not compute itself but its record names: the run's inputs.
#[derive(Debug, Clone, Copy)]
pub struct StudyInputs<'a> {
    pub amva_version: &'a str,
    /// The image folder or list, as given.
    pub images: &'a Path,
    /// `--limit`.
    pub limit: Option<usize>,
    /// Multiply-adds of one model pass, when shape inference could count them.
    pub multiply_adds: Option<u64>,
}

/// faithfulness.json: every parameter, the seed, and each method's means and curves.
#[derive(Debug, Clone, Serialize)]
pub struct StudyRecord<'a> {
    /// Always "faithfulness".
    pub kind: &'static str,
    pub amva_version: &'a str,
    pub model: &'a Path,
    pub model_sha256: &'a str,
    pub engine: String,
    pub layer: &'a str,
    pub images: &'a Path,
    pub limit: Option<usize>,
    /// Images with curves.
    pub count: usize,
    /// Images that could not be read.
    pub failed: usize,
    pub steps: usize,
    pub seed: u64,
    pub bootstrap_resamples: usize,
    /// Images per model call in the curves.
    pub pass_batch: usize,
    pub random_map: &'static str,
    /// Each CAM method's parameters, by its name (`scorecam:fast`).
    pub map_parameters: BTreeMap<String, &'a MapParams>,
    pub methods: BTreeMap<&'a str, MethodRecord<'a>>,
    /// The method every map is correlated with.
    pub reference: &'a Option<String>,
    pub model_multiply_adds_per_pass: Option<u64>,
}

/// One method in faithfulness.json.
#[derive(Debug, Clone, Serialize)]
pub struct MethodRecord<'a> {
    pub deletion: IntervalRecord,
    pub insertion: IntervalRecord,
    pub mean_deletion_curve: &'a [f64],
    pub mean_insertion_curve: &'a [f64],
    pub passes_per_image: f64,
    /// Median and 5th percentile of the Pearson correlation with the reference's maps.
    pub pearson_vs_reference: Option<Agreement>,
}

/// Median and 5th percentile of a method's per-image agreement with the reference.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Agreement {
    pub median: f64,
    pub p5: f64,
}

impl Study {
    /// The record of this study of `model` with `runners` and `opts` (faithfulness.json).
    pub fn record<'a>(
        &'a self,
        model: &'a FrModel,
        runners: &'a [(Compared, Option<CamRunner>)],
        opts: &StudyOptions,
        inputs: StudyInputs<'a>,
    ) -> StudyRecord<'a> {
        let map_parameters = runners
            .iter()
            .filter_map(|(c, r)| r.as_ref().map(|r| (c.to_string(), r.params())))
            .collect();
        let methods = self
            .methods
            .iter()
            .map(|m| {
                let record = MethodRecord {
                    deletion: (&m.deletion).into(),
                    insertion: (&m.insertion).into(),
                    mean_deletion_curve: &m.deletion_curve,
                    mean_insertion_curve: &m.insertion_curve,
                    passes_per_image: m.passes,
                    pearson_vs_reference: m
                        .agreement_summary()
                        .map(|(median, p5)| Agreement { median, p5 }),
                };
                (m.name.as_str(), record)
            })
            .collect();
        StudyRecord {
            kind: "faithfulness",
            amva_version: inputs.amva_version,
            model: &model.graph.path,
            model_sha256: &model.graph.sha256,
            engine: model.engine().to_string(),
            layer: &model.spec.target,
            images: inputs.images,
            limit: inputs.limit,
            count: self.count(),
            failed: self.failed.len(),
            steps: opts.steps,
            seed: opts.seed,
            bootstrap_resamples: opts.boot,
            pass_batch: opts.batch,
            random_map: RANDOM_MAP,
            map_parameters,
            methods,
            reference: &self.reference,
            model_multiply_adds_per_pass: inputs.multiply_adds,
        }
    }
}

fn csv_error(e: csv::Error) -> Error {
    Error::BadParameter {
        what: "faithfulness table",
        value: e.to_string(),
        expected: "a CSV writable in memory",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compared_methods_name_score_cam_channels() {
        let c: Compared = "scorecam:fast".parse().unwrap();
        assert_eq!(c, Compared::Cam(Method::ScoreCam, Some(Channels::Fast)));
        assert_eq!(c.to_string(), "scorecam:fast");
        let c: Compared = "scorecam:top:64".parse().unwrap();
        assert_eq!(c, Compared::Cam(Method::ScoreCam, Some(Channels::Top(64))));
        assert_eq!(
            "ablation".parse::<Compared>().unwrap(),
            Compared::Cam(Method::Ablation, None)
        );
        assert_eq!("Random".parse::<Compared>().unwrap(), Compared::Random);
        let err = "ablation:fast".parse::<Compared>().unwrap_err().to_string();
        assert!(err.contains("only with scorecam"), "{err}");
        assert!("scorecam:top:0".parse::<Compared>().is_err());
    }
}
