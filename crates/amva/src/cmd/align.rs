//! `amva align`: photos -> aligned crops on the ArcFace template (detector + landmarks,
//! or given five-point landmarks).

use crate::common::{self, Tagged, Ui};
use amva_align::folder::{align_list, write_faces_csv, Aligned, FolderOptions, Source};
use amva_align::landmarks_csv;
use amva_align::meta::{AlignMeta, AlignModels};
use amva_align::{AlignOptions, Aligner};
use amva_io::images::ImageList;
use amva_io::staging::Staging;
use amva_model::EngineKind;
use anyhow::{Context, Result};
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
landmarks); warnings.csv (image,warning: EXIF rotation applied, damage the decoder
forgave); meta.json, written last (the folder appears whole or not at all); with --preview, preview/<image>.jpg with boxes and points drawn.")]
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
    let list = crate::common::open_images(&a.images, ui)?;
    anyhow::ensure!(!list.is_empty(), "{}: no images found", a.images.display());
    let (source, models) = source(&a, &opts, &list, ui)?;
    // Whole or not at all: written into a staging folder, meta.json published last.
    let stage = Staging::begin(&a.out, "meta.json")?;
    let folder = FolderOptions {
        out: stage.dir(),
        preview: a.preview,
        align: opts,
    };
    let pb = ui.progress(list.len() as u64, "align");
    let aligned = align_list(&list, &source, &folder, &|| pb.inc(1))?;
    pb.finish_and_clear();
    for (id, why) in &aligned.failed {
        ui.detail(&format!("{id}: {why}"));
    }
    let mean_residual = aligned.mean_residual();
    let Aligned {
        rows,
        failed,
        too_small,
        warnings,
    } = aligned;
    write_faces_csv(&stage.dir().join("faces.csv"), &rows)?;
    let not_read: Vec<_> = failed.iter().chain(&list.skipped).cloned().collect();
    amva_io::image_notes::write_failed(&stage.dir().join("failed.csv"), &not_read)?;
    amva_io::image_notes::write_warnings(&stage.dir().join("warnings.csv"), &warnings)?;
    if !warnings.is_empty() {
        ui.note(&format!(
            "{} image(s) with warnings (EXIF rotation applied, or damage forgiven): {}",
            warnings.len(),
            a.out.join("warnings.csv").display()
        ));
    }
    let images_ok = list.len() - failed.len();
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
    .write(stage.dir())?;
    stage.publish()?;
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
