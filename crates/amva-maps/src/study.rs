//! A faithfulness study (`amva faithfulness`): deletion and insertion curves
//! (ALGORITHMS 1.4) of several map methods on the same images, against a seeded
//! uniform random map, summarised as means with bootstrap intervals and mean curves.
//!
//! [`run_study`] computes; [`Study`] renders its tables (per image, summary, the text
//! table) and its figure. The command writes them and the JSON record.

use std::fmt::Write as _;

use amva_io::images::ImageItem;
use amva_math::compare::{bootstrap_mean_ci, Interval};
use amva_model::FrModel;

use crate::faithfulness::random_map;
use crate::{forward_each, CamRunner, Curves, Error, Faithfulness, Method, Result};

/// Images processed per step (bounds memory; the maps of all methods are kept per step).
const CHUNK: usize = 16;

/// A compared method: a CAM method or the random reference.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Compared {
    Cam(Method),
    Random,
}

impl std::str::FromStr for Compared {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        if s.trim().eq_ignore_ascii_case("random") {
            Ok(Compared::Random)
        } else {
            Ok(Compared::Cam(s.parse()?))
        }
    }
}

impl std::fmt::Display for Compared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Compared::Cam(m) => write!(f, "{m}"),
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
}

/// The whole study.
#[derive(Debug, Clone)]
pub struct Study {
    pub steps: usize,
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
    let mut results: Vec<Vec<(String, Curves)>> = vec![Vec::new(); runners.len()];
    let mut failed = Vec::new();
    for chunk in items.chunks(CHUNK) {
        let loaded = amva_model::preprocess::load_batch(chunk, &model.spec.preprocess, opts.resize);
        for (id, why) in &loaded.failed {
            note(&format!("skipped {id}: {why}"));
        }
        progress(loaded.failed.len());
        failed.extend(loaded.failed.iter().cloned());
        let ids: Vec<&str> = loaded.ok.iter().map(|&i| chunk[i].id.as_str()).collect();
        let curves = chunk_curves(model, &faith, runners, &loaded.input, &ids, opts.seed)?;
        for (id, per_method) in ids.iter().zip(curves) {
            for (r, c) in results.iter_mut().zip(per_method) {
                r.push((id.to_string(), c));
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
        methods,
        failed,
    })
}

/// Curves of every method for the images of one loaded chunk: `[image][method]`.
fn chunk_curves(
    model: &FrModel,
    faith: &Faithfulness<'_>,
    runners: &[(Compared, Option<CamRunner>)],
    input: &[f32],
    ids: &[&str],
    seed: u64,
) -> Result<Vec<Vec<Curves>>> {
    let passes = forward_each(model, input, ids.len())?;
    let pixels = model.spec.preprocess.height as usize * model.spec.preprocess.width as usize;
    // full maps[method][image]
    let mut full: Vec<Vec<Vec<f32>>> = Vec::new();
    for (_, runner) in runners {
        full.push(match runner {
            Some(r) => r
                .maps_with(input, &passes, &|_| {})?
                .iter()
                .map(|m| r.finish(&m.m).map(|f| f.data))
                .collect::<Result<Vec<_>>>()?,
            None => ids.iter().map(|id| random_map(seed, id, pixels)).collect(),
        });
    }
    let per = model.input_len();
    (0..ids.len())
        .map(|j| {
            let maps: Vec<&[f32]> = full.iter().map(|m| m[j].as_slice()).collect();
            faith.curves(&input[j * per..(j + 1) * per], &passes[j].embedding, &maps)
        })
        .collect()
}

fn summarise(name: String, rows: Vec<(String, Curves)>, o: &StudyOptions) -> Result<MethodResult> {
    let mean_curve = |del: bool| -> Vec<f64> {
        (0..=o.steps)
            .map(|s| {
                let v = |c: &Curves| if del { c.deletion[s] } else { c.insertion[s] };
                rows.iter().map(|(_, c)| v(c)).sum::<f64>() / rows.len() as f64
            })
            .collect()
    };
    let del: Vec<f64> = rows.iter().map(|(_, c)| c.deletion_score()).collect();
    let ins: Vec<f64> = rows.iter().map(|(_, c)| c.insertion_score()).collect();
    let ci = |v: &[f64]| {
        bootstrap_mean_ci(v, o.boot, 0.95, o.seed)
            .map_err(Error::math(format!("{name}: bootstrap")))
    };
    Ok(MethodResult {
        deletion: ci(&del)?,
        insertion: ci(&ins)?,
        deletion_curve: mean_curve(true),
        insertion_curve: mean_curve(false),
        per_image: rows,
        name,
    })
}

impl Study {
    /// Images with curves.
    pub fn count(&self) -> usize {
        self.methods.first().map_or(0, |m| m.per_image.len())
    }

    /// per_image.csv: image,method,deletion,insertion.
    pub fn per_image_csv(&self) -> Result<Vec<u8>> {
        let mut w = csv::Writer::from_writer(Vec::new());
        w.write_record(["image", "method", "deletion", "insertion"])
            .map_err(csv_error)?;
        for m in &self.methods {
            for (id, c) in &m.per_image {
                let (d, i) = (c.deletion_score(), c.insertion_score());
                w.write_record([id.as_str(), &m.name, &d.to_string(), &i.to_string()])
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
        ])
        .map_err(csv_error)?;
        for m in &self.methods {
            let (d, i) = (&m.deletion, &m.insertion);
            let row = [d.estimate, d.lo, d.hi, i.estimate, i.lo, i.hi].map(|v| v.to_string());
            let mut rec = vec![m.name.clone(), self.count().to_string()];
            rec.extend(row);
            w.write_record(&rec).map_err(csv_error)?;
        }
        w.into_inner().map_err(|e| csv_error(e.into_error().into()))
    }

    /// curves.png: mean deletion and insertion curves of every method, side by side.
    pub fn figure(&self) -> std::result::Result<image::RgbImage, amva_report::ReportError> {
        use amva_report::{Corner, LinePlot, Series, Styled, TAB10};
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
        Ok(amva_report::side_by_side(&[
            deletion.render()?,
            insertion.render()?,
        ]))
    }

    /// The table printed at the end of the command.
    pub fn table(&self) -> String {
        let mut t = format!(
            "{:<11} {:>26} {:>26}\n",
            "method", "deletion (lower better)", "insertion (higher better)"
        );
        for m in &self.methods {
            let (d, i) = (&m.deletion, &m.insertion);
            let _ = writeln!(
                t,
                "{:<11} {:>8.4} [{:.4}, {:.4}] {:>8.4} [{:.4}, {:.4}]",
                m.name, d.estimate, d.lo, d.hi, i.estimate, i.lo, i.hi
            );
        }
        t
    }
}

fn csv_error(e: csv::Error) -> Error {
    Error::BadParameter {
        what: "faithfulness table",
        value: e.to_string(),
        expected: "a CSV writable in memory",
    }
}
