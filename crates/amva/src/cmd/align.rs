//! `amva align`: photos -> aligned crops on the ArcFace template (detector + landmarks,
//! or given five-point landmarks).

use crate::common::{self, Tagged, Ui};
use amva_align::image::RgbImage;
use amva_align::landmarks_csv::{self, LandmarkTable};
use amva_align::meta::{AlignMeta, AlignModels};
use amva_align::{AlignOptions, AlignedFace, Aligner, FaceSearch};
use amva_io::images::{ImageItem, ImageList};
use amva_model::EngineKind;
use anyhow::{Context, Result};
use rayon::prelude::*;
use std::path::{Path, PathBuf};

#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:
  amva align --images photos/ --out aligned/
  amva align --images photos/ --out aligned/ --all-faces --preview
  amva align --images lfw/raw250_deepfunneled --landmarks lfw/index.csv --out aligned/

Without --landmarks, faces are found with fr_detect.onnx and 68 landmarks estimated with
fr_landmark.onnx; the eye centres, nose tip and mouth corners are mapped by a least-squares
similarity onto the ArcFace template (scaled to --size) and the crop is cut with bilinear
interpolation (as cv2.warpAffine, black outside the photo).

--landmarks CSV: either `image,x1,y1,x2,y2,x3,y3,x4,y4,x5,y5` (left eye, right eye, nose
tip, left and right mouth corner, left = image left; header optional), or a column of ten
space-separated numbers in that order whose header starts with
`landmarks5_in_raw250_deepfunneled` or contains `landmark` (the LFW dev index.csv layout).
Image names are paths relative to --images. A row with an empty landmark field lists the
image as failed; missing or non-numeric values are an error naming the line.

Writes, in --out: the crops at the same relative paths (JPEG at quality 95 for .jpg; with
--all-faces `_face<k>` before the extension, k = 0 for the largest face); faces.csv (image,
face, x1,y1,x2,y2 box and score, the five points in the photo, residual = RMS distance of
the mapped points from the template in crop pixels, path = the crop; usable as an
--images list); failed.csv (image,reason: unreadable, no face, face too small, no
landmarks); meta.json; with --preview, preview/<image>.jpg with boxes and points drawn.")]
pub struct Args {
    /// The images: a folder (searched recursively) or a CSV/TSV list with a path column.
    #[arg(long, value_name = "DIR|LIST")]
    pub images: PathBuf,
    /// Output folder.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Five-point landmarks per image (skips detection).
    #[arg(long, value_name = "CSV")]
    pub landmarks: Option<PathBuf>,
    /// Side of the square crops in pixels.
    #[arg(long, default_value_t = 112)]
    pub size: u32,
    /// Align every face, not only the largest.
    #[arg(long)]
    pub all_faces: bool,
    /// Skip faces whose detector box is less than this many pixels high.
    #[arg(long, value_name = "PX", default_value_t = 20.0)]
    pub min_face: f32,
    /// Minimum face probability of a detection.
    #[arg(long, default_value_t = 0.65)]
    pub min_score: f32,
    /// Also write preview/<image>.jpg with the boxes and landmarks drawn.
    #[arg(long)]
    pub preview: bool,
    /// Inference engine for the detector and landmark models: auto, tract, ort.
    #[arg(long, default_value = "auto")]
    pub engine: EngineKind,
}

/// Where the five points come from.
enum Source {
    Detector(Box<Aligner>),
    Given(LandmarkTable),
}

/// One line of faces.csv.
struct FaceRow {
    image: String,
    crop: String,
    face: AlignedFace,
}

/// What happened to all input images.
struct Aligned {
    /// faces.csv.
    rows: Vec<FaceRow>,
    /// (image, why) of the images with no crop.
    failed: Vec<(String, String)>,
    /// Faces skipped for being too small.
    too_small: usize,
}

/// What happened to one input image.
#[derive(Default)]
struct ItemResult {
    rows: Vec<FaceRow>,
    failed: Option<String>,
    too_small: usize,
}

pub fn run(a: Args, ui: &Ui) -> Result<()> {
    let start = std::time::Instant::now();
    anyhow::ensure!(
        a.landmarks.is_none() || !a.all_faces,
        "--all-faces needs the detector; given --landmarks describe one face per image"
    );
    let opts = AlignOptions {
        size: a.size,
        all_faces: a.all_faces,
        min_face: a.min_face,
        score_threshold: a.min_score,
        ..AlignOptions::default()
    };
    // Crops keep the photos' relative paths: in the photos' own folder they would replace them.
    let mut inputs = vec![common::input("--images", &a.images)];
    inputs.extend(
        a.landmarks
            .as_deref()
            .map(|p| common::input("--landmarks", p)),
    );
    let _lock = amva_io::outputs::claim_dir(&a.out, &inputs, "aligned")?;
    let list = ImageList::open(&a.images)?;
    anyhow::ensure!(!list.is_empty(), "{}: no images found", a.images.display());
    let (source, models) = source(&a, &opts, &list, ui)?;
    let Aligned {
        rows,
        failed,
        too_small,
    } = align_all(&list, &source, &a, &opts, ui)?;
    write_faces_csv(&a.out.join("faces.csv"), &rows)?;
    amva_io::image_notes::write_failed(&a.out.join("failed.csv"), &failed)?;
    let images_ok = list.len() - failed.len();
    let mean_residual = if rows.is_empty() {
        0.0
    } else {
        rows.iter().map(|r| r.face.residual).sum::<f64>() / rows.len() as f64
    };
    AlignMeta {
        amva_version: env!("CARGO_PKG_VERSION").into(),
        kind: "aligned",
        mode: if a.landmarks.is_some() {
            "landmarks"
        } else {
            "detector"
        },
        images: a.images.clone(),
        landmarks: a.landmarks.clone(),
        models,
        size: a.size,
        template: AlignMeta::TEMPLATE,
        all_faces: a.all_faces,
        min_face: a.min_face,
        min_score: a.min_score,
        count_images: list.len(),
        count_faces: rows.len(),
        failed: failed.len(),
        too_small_faces: too_small,
    }
    .write(&a.out)?;
    let secs = start.elapsed().as_secs_f64();
    ui.summary(
        &format!(
            "aligned {} faces from {images_ok} of {} images ({} failed; mean residual {mean_residual:.2} px) in {secs:.1} s ({:.1} images/s) -> {}",
            rows.len(),
            list.len(),
            failed.len(),
            list.len() as f64 / secs,
            a.out.display()
        ),
        Tagged::new(
            "align",
            &AlignBrief {
                images: list.len(),
                faces: rows.len(),
                failed: failed.len(),
                too_small_faces: too_small,
                mean_residual,
                seconds: secs,
                out: &a.out,
            },
        ),
    );
    anyhow::ensure!(
        !rows.is_empty(),
        "no face could be aligned (see {})",
        a.out.join("failed.csv").display()
    );
    Ok(())
}

/// Where the points come from (given landmarks, or the detector), and the detector's
/// models for the record.
fn source(
    a: &Args,
    opts: &AlignOptions,
    list: &ImageList,
    ui: &Ui,
) -> Result<(Source, Option<AlignModels>)> {
    let Some(csv) = &a.landmarks else {
        let det = common::default_model(amva_io::models::FR_DETECT)?;
        let lm = common::default_model(amva_io::models::FR_LANDMARK)?;
        let aligner = Aligner::from_paths(&det, &lm, a.engine, opts.clone())
            .context("loading the face detector and landmark model")?;
        ui.detail(&format!(
            "detector {}, landmarks {}, engine {}",
            det.display(),
            lm.display(),
            aligner.engine()
        ));
        let models = AlignModels {
            detector_sha256: amva_io::cache::sha256_file(&det)?,
            landmarks_sha256: amva_io::cache::sha256_file(&lm)?,
            detector: det,
            landmarks: lm,
            engine: aligner.engine().to_string(),
        };
        return Ok((Source::Detector(Box::new(aligner)), Some(models)));
    };
    let table = landmarks_csv::read_landmarks_csv(csv)?;
    if list.items.iter().all(|i| table.get(&i.id).is_none()) {
        anyhow::bail!(
            "none of the {} images is named in {} (names must be paths relative to {}, e.g. '{}')",
            list.len(),
            csv.display(),
            a.images.display(),
            list.items[0].id
        );
    }
    Ok((Source::Given(table), None))
}

/// Every image of `list` aligned on all cores.
fn align_all(
    list: &ImageList,
    source: &Source,
    a: &Args,
    opts: &AlignOptions,
    ui: &Ui,
) -> Result<Aligned> {
    let pb = ui.progress(list.len() as u64, "align");
    let results: Vec<Result<ItemResult>> = list
        .items
        .par_iter()
        .map(|item| {
            let r = process(item, source, a, opts);
            pb.inc(1);
            r
        })
        .collect();
    pb.finish_and_clear();
    let (mut rows, mut failed, mut too_small) = (Vec::new(), Vec::new(), 0usize);
    for (item, r) in list.items.iter().zip(results) {
        let r = r.with_context(|| format!("aligning {}", item.id))?;
        if let Some(why) = r.failed {
            ui.detail(&format!("{}: {why}", item.id));
            failed.push((item.id.clone(), why));
        }
        too_small += r.too_small;
        rows.extend(r.rows);
    }
    Ok(Aligned {
        rows,
        failed,
        too_small,
    })
}

/// The summary of `amva align --json`.
#[derive(serde::Serialize)]
struct AlignBrief<'a> {
    images: usize,
    faces: usize,
    failed: usize,
    too_small_faces: usize,
    /// Mean RMS distance of the mapped points from the template, in crop pixels.
    mean_residual: f64,
    seconds: f64,
    out: &'a Path,
}

/// Aligns one image and writes its crops (and preview). Failures that concern only this
/// image (unreadable, no face) are reported in the result; write errors are returned.
fn process(item: &ImageItem, source: &Source, a: &Args, opts: &AlignOptions) -> Result<ItemResult> {
    let mut res = ItemResult::default();
    let img = match amva_io::images::load_rgb(&item.path) {
        Ok(img) => img,
        Err(e) => {
            res.failed = Some(format!("unreadable: {e}"));
            return Ok(res);
        }
    };
    let found = match source {
        Source::Given(table) => match table.get(&item.id) {
            None => {
                res.failed = Some("not in the --landmarks file".into());
                return Ok(res);
            }
            Some(None) => {
                res.failed = Some("no landmarks (empty field in the --landmarks file)".into());
                return Ok(res);
            }
            Some(Some(pts)) => match amva_align::align_with_landmarks(&img, &pts, opts.size) {
                Ok(face) => FaceSearch {
                    faces: vec![face],
                    too_small: vec![],
                },
                Err(e) => {
                    res.failed = Some(format!("landmarks unusable: {e}"));
                    return Ok(res);
                }
            },
        },
        Source::Detector(aligner) => aligner.search(&img)?,
    };
    res.too_small = found.too_small.len();
    if found.faces.is_empty() {
        res.failed = Some(
            match found
                .too_small
                .iter()
                .map(|d| d.bbox.height())
                .fold(None, |m: Option<f32>, h| Some(m.map_or(h, |m| m.max(h))))
            {
                Some(h) => format!(
                    "face too small: {h:.0} px high, below --min-face {}",
                    opts.min_face
                ),
                None => "no face found".into(),
            },
        );
    }
    if a.preview {
        let view = amva_align::draw::preview(&img, &found)?;
        let rel = Path::new("preview")
            .join(inside_out(&item.id))
            .with_extension("jpg");
        write_image(&a.out.join(&rel), &view, "jpg", 90)?;
    }
    for face in found.faces {
        let crop = crop_id(&item.id, a.all_faces.then_some(face.index));
        let ext = Path::new(&crop)
            .extension()
            .map(|e| e.to_string_lossy().to_ascii_lowercase())
            .unwrap_or_default();
        write_image(&a.out.join(&crop), &face.image, &ext, 95)?;
        res.rows.push(FaceRow {
            image: item.id.clone(),
            crop,
            face,
        });
    }
    Ok(res)
}

/// The crop's id: the image's id, with `_face<k>` before the extension for all-faces runs.
fn crop_id(id: &str, face: Option<usize>) -> String {
    let id = inside_out(id);
    let Some(k) = face else { return id };
    match id.rfind('.').filter(|&dot| !id[dot..].contains('/')) {
        Some(dot) => format!("{}_face{k}{}", &id[..dot], &id[dot..]),
        None => format!("{id}_face{k}"),
    }
}

/// An image id as a path that stays inside --out: ids from a list file can be absolute
/// or climb with `..`, and joined as they are they would write over the source images.
/// Keeps the plain components only ("/data/a/../b.jpg" -> "data/a/b.jpg").
fn inside_out(id: &str) -> String {
    Path::new(&id.replace('\\', "/"))
        .components()
        .filter_map(|c| match c {
            std::path::Component::Normal(p) => Some(p.to_string_lossy().into_owned()),
            _ => None,
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// Encodes by extension (JPEG at `quality`) and writes under a temporary name, then
/// renames: readers never see half a crop. Unlike `write_atomic` there is no fsync:
/// with thousands of small crops it made the run I/O-bound, and a crop lost in a
/// crash is simply made again by the next run.
fn write_image(path: &Path, img: &RgbImage, ext: &str, quality: u8) -> Result<()> {
    let bytes = amva_align::encode::encode_image(img, ext, quality)
        .with_context(|| format!("writing {}", path.display()))?;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let tmp = amva_io::atomic::temp_path(path);
    std::fs::write(&tmp, &bytes)
        .and_then(|_| std::fs::rename(&tmp, path))
        .map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            anyhow::anyhow!("writing {}: {e}", path.display())
        })?;
    Ok(())
}

fn write_faces_csv(path: &Path, rows: &[FaceRow]) -> Result<()> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let mut head = vec!["image", "face", "x1", "y1", "x2", "y2", "score"];
    head.extend([
        "leye_x", "leye_y", "reye_x", "reye_y", "nose_x", "nose_y", "lmouth_x", "lmouth_y",
        "rmouth_x", "rmouth_y",
    ]);
    head.extend(["residual", "path"]);
    w.write_record(&head)?;
    for r in rows {
        let mut rec = vec![r.image.clone(), r.face.index.to_string()];
        match &r.face.detection {
            Some(d) => {
                rec.extend([d.bbox.x1, d.bbox.y1, d.bbox.x2, d.bbox.y2].map(|v| format!("{v:.2}")));
                rec.push(format!("{:.4}", d.score));
            }
            None => rec.extend(std::iter::repeat_n(String::new(), 5)),
        }
        rec.extend(
            r.face
                .landmarks
                .iter()
                .flat_map(|p| [format!("{:.2}", p[0]), format!("{:.2}", p[1])]),
        );
        rec.push(format!("{:.3}", r.face.residual));
        rec.push(r.crop.clone());
        w.write_record(&rec)?;
    }
    amva_io::atomic::write_atomic(path, &w.into_inner()?)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::crop_id;

    #[test]
    fn crop_ids_insert_the_face_index_before_the_extension() {
        assert_eq!(crop_id("a/b.jpg", None), "a/b.jpg");
        assert_eq!(crop_id("a/b.jpg", Some(2)), "a/b_face2.jpg");
        assert_eq!(crop_id("a.b/c", Some(0)), "a.b/c_face0");
        assert_eq!(crop_id("x.tar.png", Some(1)), "x.tar_face1.png");
    }

    #[test]
    fn crops_never_leave_the_output_folder() {
        assert_eq!(crop_id("/data/photos/a.jpg", None), "data/photos/a.jpg");
        assert_eq!(crop_id("../../etc/b.png", Some(0)), "etc/b_face0.png");
        assert_eq!(crop_id("a/./b/../c.jpg", None), "a/b/c.jpg");
        let win = crop_id("C:\\x\\y.jpg", None);
        assert!(
            !std::path::Path::new(&win).is_absolute() && win.ends_with("x/y.jpg"),
            "{win}"
        );
    }
}
