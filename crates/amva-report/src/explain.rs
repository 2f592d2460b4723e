//! Images against a reference of `amva analyze` (ALGORITHMS 5), drawn: the figure of one
//! image (its map over the face, its deviation from the reference group's mean map, its
//! z-map), and `amva explain` as one call ([`explain_images`]: maps computed with the
//! reference's model, compared by `amva_analysis::explain`, drawn and written).

use std::path::{Path, PathBuf};

use serde::Serialize;

use amva_analysis::explain::{explain_map, ExplainScores, Explanation, Reference};
use amva_analysis::validate::Plan;
use amva_draw::{side_by_side, Heatmap, Outline, RgbImage};
use amva_draw::{HeatStyled, Styled};

use amva_analysis::compare::to_f32;

use crate::{ReportError, Result};

/// The face image of store row `row` of the plan, fitted to the maps' shape; grey when
/// the run has no face images or this one cannot be read (galleries, explorer tiles).
pub fn face(plan: &Plan, row: usize) -> RgbImage {
    let (h, w) = (plan.geometry.shape.0 as u32, plan.geometry.shape.1 as u32);
    plan.faces
        .as_ref()
        .and_then(|f| f.get(&plan.source.ids()[row]))
        .and_then(|p| amva_io::images::load_fitted(p, w, h, true).ok())
        .unwrap_or_else(|| RgbImage::from_pixel(w, h, image::Rgb([128; 3])))
}

/// The figure of one image: its map, the deviation overlay (`0.5 * jet + image`) and
/// the z-map, side by side, each with a colour bar saying what its values mean.
pub fn explanation_figure(
    reference: &Reference,
    expl: &Explanation,
    map: &[f32],
    face: &RgbImage,
    id: &str,
) -> Result<RgbImage> {
    explanation_figure_sized(reference, expl, map, face, id, (560, 520))
}

/// [`explanation_figure`] with panels of `size` (width, height) pixels: the report's
/// galleries draw the same figure smaller.
pub fn explanation_figure_sized(
    reference: &Reference,
    expl: &Explanation,
    map: &[f32],
    face: &RgbImage,
    id: &str,
    size: (u32, u32),
) -> Result<RgbImage> {
    let (h, w) = reference.shape;
    let outline = Outline::new(reference.inside.clone(), h, w, "central face region")
        .map_err(ReportError::draw("region outline"))?;
    let s = &expl.scores;
    let own = Heatmap::new(map.to_vec(), h, w)
        .map_err(ReportError::draw(id))?
        .title(format!("Activation map of {id}"))
        .colorbar_label("activation (min-max scaled: 1 = strongest pixel)")
        .range(0.0, 1.0)
        .underlay(face.clone(), amva_draw::Blend::Alpha(0.55))
        .size(size.0, size.1)
        .render()
        .map_err(ReportError::draw(id))?;
    let dev = amva_draw::overlay_figure(face, &to_f32(&expl.deviation), h, w)
        .map_err(ReportError::draw(id))?
        .title(format!(
            "|AM - MAM| vs {} {} (n = {})",
            reference.method, reference.rule, reference.n
        ))
        .colorbar_label("|AM - MAM_ref| (0-1 activation units), 0.5 x jet + image")
        .outline(outline.clone())
        .note(format!(
            "mean {:.4}: inside {:.4}, outside {:.4}; outside share {:.1}%",
            s.mean_abs_deviation,
            s.inside,
            s.outside,
            100.0 * s.outside_share
        ))
        .size(size.0, size.1)
        .render()
        .map_err(ReportError::draw(id))?;
    let zmax = s.max_abs_z.clamp(1.0, 10.0);
    let zimg = Heatmap::new(to_f32(&expl.z), h, w)
        .map_err(ReportError::draw(id))?
        .title("z-map against the reference")
        .colorbar_label("z = (AM - MAM_ref) / max(AM-V_ref, eps), reference std units")
        .range(-zmax as f32, zmax as f32)
        .outline(outline)
        .note(format!(
            "mean |z| {:.3}: inside {:.3}, outside {:.3}; max |z| {:.2}",
            s.mean_abs_z, s.mean_abs_z_inside, s.mean_abs_z_outside, s.max_abs_z
        ))
        .size(size.0, size.1)
        .render()
        .map_err(ReportError::draw(id))?;
    Ok(side_by_side(&[own, dev, zimg]))
}

/// How [`explain_images`] reads and compares.
#[derive(Debug, Clone, Copy)]
pub struct ExplainOptions {
    /// Floor of the reference AM-V in the z-map's denominator.
    pub eps: f64,
    /// Resize images of the wrong size (otherwise they are listed as failed).
    pub resize: bool,
}

/// (image id, reason) of the images that could not be explained.
pub type Failures = Vec<(String, String)>;

/// Explains every image of `items` against `reference` with maps from `runner` (made
/// with the reference's model and map parameters): per image a figure, its map, its
/// deviation and its z-map (`.npy`) in `out`, named after the file stem (made unique),
/// and its scores. Returns the explained images and the (id, reason) of those that
/// could not be read. `progress(n)` is called as images are done.
pub fn explain_images(
    reference: &Reference,
    runner: &amva_maps::CamRunner<'_>,
    items: &[amva_io::images::ImageItem],
    opts: &ExplainOptions,
    out: &Path,
    progress: &(dyn Fn(usize) + Sync),
) -> Result<(Vec<Explained>, Failures)> {
    let read = amva_maps::ReadOptions {
        resize: opts.resize,
        strict: false,
        full: true,
    };
    let part = runner.map_part(items, read, progress, &|_| {})?;
    let (h, w) = reference.shape;
    let full = part.full.as_deref().unwrap_or_default();
    let mut rows = Vec::new();
    let mut used_stems: Vec<String> = Vec::new();
    for (k, (id, flags)) in part.ids.iter().zip(&part.flags).enumerate() {
        let map = &full[k * h * w..(k + 1) * h * w];
        let stem = unique_stem(id, &mut used_stems);
        let e = explain_map(reference, map, opts.eps)?;
        write_explanation(reference, &e, map, items, id, &stem, out)?;
        rows.push(Explained {
            image: id.clone(),
            figure: format!("{stem}.png"),
            flat_map: flags == amva_maps::store::FLAT,
            map_file: format!("{stem}_map.npy"),
            deviation_file: format!("{stem}_deviation.npy"),
            z_file: format!("{stem}_z.npy"),
            scores: e.scores,
        });
    }
    Ok((rows, part.failed))
}

/// The file stem of `id`, made unique among `used` (`a`, `a_2`, `a_3`, ...).
fn unique_stem(id: &str, used: &mut Vec<String>) -> String {
    let base = amva_analysis::keys::file_stem(id);
    let mut stem = base.clone();
    let mut k = 2;
    while used.contains(&stem) {
        stem = format!("{base}_{k}");
        k += 1;
    }
    used.push(stem.clone());
    stem
}

/// The figure and the three arrays of one explained image.
fn write_explanation(
    reference: &Reference,
    e: &Explanation,
    map: &[f32],
    items: &[amva_io::images::ImageItem],
    id: &str,
    stem: &str,
    out: &Path,
) -> Result<()> {
    let (h, w) = reference.shape;
    let path = items
        .iter()
        .find(|it| it.id == id)
        .map(|it| it.path.as_path());
    let path = path.ok_or_else(|| ReportError::output(out, format!("no image '{id}'")))?;
    let face = amva_io::images::load_fitted(path, w as u32, h as u32, true)?;
    let fig = explanation_figure(reference, e, map, &face, id)?;
    let png = out.join(format!("{stem}.png"));
    amva_draw::write_png_atomic(&png, &fig)
        .map_err(ReportError::draw(png.display().to_string()))?;
    let f32s = |v: &[f64]| v.iter().map(|&x| x as f32).collect::<Vec<_>>();
    amva_io::npy::write_f32(&out.join(format!("{stem}_map.npy")), &[h, w], map)?;
    let dev = out.join(format!("{stem}_deviation.npy"));
    amva_io::npy::write_f32(&dev, &[h, w], &f32s(&e.deviation))?;
    amva_io::npy::write_f32(&out.join(format!("{stem}_z.npy")), &[h, w], &f32s(&e.z))?;
    Ok(())
}

/// One explained image, as listed in explain.json.
#[derive(Debug, Clone, Serialize)]
pub struct Explained {
    pub image: String,
    pub figure: String,
    pub flat_map: bool,
    pub map_file: String,
    pub deviation_file: String,
    pub z_file: String,
    pub scores: ExplainScores,
}

/// explain.csv: one row of scores per image.
pub fn scores_csv(rows: &[Explained]) -> Result<Vec<u8>> {
    let csv_err = |e: csv::Error| ReportError::output("explain.csv", e.to_string());
    let mut wr = csv::Writer::from_writer(Vec::new());
    let mut header = vec!["image"];
    header.extend(ExplainScores::NAMES);
    wr.write_record(&header).map_err(csv_err)?;
    for r in rows {
        let mut rec = vec![r.image.clone()];
        rec.extend(r.scores.values().map(|v| format!("{v}")));
        wr.write_record(&rec).map_err(csv_err)?;
    }
    wr.into_inner()
        .map_err(|e| ReportError::output("explain.csv", e.to_string()))
}

/// What `amva explain` is asked.
pub struct ExplainRun {
    /// The output folder of `amva analyze`.
    pub reference: PathBuf,
    /// The FIQA method whose high group is the reference (None: the first).
    pub method: Option<String>,
    /// The images to explain.
    pub images: Vec<PathBuf>,
    /// The model (None: the one recorded with the reference's maps when that file is
    /// still there, else `default_model` of [`explain`]).
    pub model: Option<PathBuf>,
    /// The engine.
    pub engine: amva_model::EngineKind,
    /// Floor of the reference AM-V in the z-map's denominator.
    pub eps: f64,
    /// Resize images of the wrong size.
    pub resize: bool,
    /// The output folder.
    pub out: PathBuf,
}

/// The reference group of explain.json.
#[derive(Debug, Clone, Serialize)]
pub struct ReferenceGroup {
    pub dir: PathBuf,
    pub method: String,
    pub group: &'static str,
    pub rule: String,
    pub n: usize,
}

/// An image that could not be explained.
#[derive(Debug, Clone, Serialize)]
pub struct NotExplained {
    pub image: String,
    pub reason: String,
}

/// explain.json: what was compared with what, and every image's files and scores.
#[derive(Debug, Clone, Serialize)]
pub struct ExplainDoc {
    pub amva_version: &'static str,
    pub kind: &'static str,
    pub reference: ReferenceGroup,
    pub model: PathBuf,
    pub model_sha256: String,
    pub engine: String,
    pub map_method: amva_maps::Method,
    pub layer: String,
    pub eps: f64,
    pub images: Vec<Explained>,
    pub failed: Vec<NotExplained>,
}

/// `amva explain`: each image's map computed with the reference's model, map method and
/// parameters (from the maps' meta.json the analysis kept), compared with the reference
/// group, drawn and written into `run.out` with explain.json and explain.csv. A model with
/// another checksum than the reference's is refused before it is loaded. `notes` get
/// what the user should know; `progress(n)` follows the images.
pub fn explain(
    run: &ExplainRun,
    default_model: &dyn Fn() -> std::result::Result<PathBuf, String>,
    notes: &mut dyn FnMut(String),
    progress: &(dyn Fn(usize) + Sync),
) -> Result<ExplainDoc> {
    let reference = Reference::open(&run.reference, run.method.as_deref())?;
    let meta: amva_maps::StoreMeta = serde_json::from_value(reference.maps_meta.clone())
        .map_err(|_| {
            ReportError::output(
                run.reference.join(amva_analysis::files::MAPS_META),
                "the reference's maps were not made by `amva maps` (no model, layer and parameters recorded), so comparable maps cannot be computed",
            )
        })?;
    let s = &meta.settings;
    let model_path = match &run.model {
        Some(p) => p.clone(),
        None if Path::new(&meta.model).is_file() => PathBuf::from(&meta.model),
        None => default_model().map_err(|e| ReportError::output(&meta.model, e))?,
    };
    // The checksum first: a different model is refused before it is even loaded.
    let sha = amva_io::cache::sha256_file(&model_path)?;
    reference.check_model(&model_path, &sha)?;
    let model = amva_model::FrModel::load(&model_path, s.spec.clone(), run.engine)
        .map_err(|e| ReportError::output(&model_path, format!("loading the model: {e}")))?;
    if model.engine().to_string() != s.engine {
        notes(format!(
            "note: the reference's maps were computed with {}, these with {} (maps agree up to float rounding)",
            s.engine,
            model.engine()
        ));
    }
    let runner = amva_maps::CamRunner::new(&model, s.params.clone())?;
    if runner.full_shape() != reference.shape {
        return Err(ReportError::output(
            &run.reference,
            format!(
                "the model's maps are {:?}, the reference's {:?}",
                runner.full_shape(),
                reference.shape
            ),
        ));
    }
    std::fs::create_dir_all(&run.out).map_err(|e| ReportError::file(&run.out, e))?;
    let items: Vec<amva_io::images::ImageItem> = run
        .images
        .iter()
        .zip(short_ids(&run.images))
        .map(|(p, id)| amva_io::images::ImageItem {
            id,
            path: p.clone(),
        })
        .collect();
    let opts = ExplainOptions {
        eps: run.eps,
        resize: run.resize,
    };
    let (rows, failed) = explain_images(&reference, &runner, &items, &opts, &run.out, progress)?;
    let doc = ExplainDoc {
        amva_version: env!("CARGO_PKG_VERSION"),
        kind: "explanation",
        reference: ReferenceGroup {
            dir: run.reference.clone(),
            method: reference.method.clone(),
            group: "high",
            rule: reference.rule.clone(),
            n: reference.n,
        },
        model: model_path,
        model_sha256: sha,
        engine: model.engine().to_string(),
        map_method: s.params.method,
        layer: s.layer.clone(),
        eps: run.eps,
        images: rows,
        failed: failed
            .into_iter()
            .map(|(image, reason)| NotExplained { image, reason })
            .collect(),
    };
    amva_io::atomic::write_json(&run.out.join("explain.json"), &doc)?;
    amva_io::atomic::write_atomic(&run.out.join("explain.csv"), &scores_csv(&doc.images)?)?;
    Ok(doc)
}

/// Image ids of loose image paths: the paths relative to the folder all of them share
/// (just the file name for one image or one folder), with '/' separators.
pub fn short_ids(paths: &[PathBuf]) -> Vec<String> {
    let abs: Vec<PathBuf> = paths
        .iter()
        .map(|p| std::path::absolute(p).unwrap_or_else(|_| p.clone()))
        .collect();
    let mut common: Option<PathBuf> = abs.first().and_then(|p| p.parent()).map(PathBuf::from);
    for p in &abs {
        while let Some(c) = &common {
            if p.starts_with(c) {
                break;
            }
            common = c.parent().map(PathBuf::from);
        }
    }
    abs.iter()
        .zip(paths)
        .map(|(p, orig)| {
            let rel = common
                .as_ref()
                .and_then(|c| p.strip_prefix(c).ok())
                .unwrap_or(orig);
            rel.components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join("/")
        })
        .collect()
}
