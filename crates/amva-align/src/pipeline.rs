//! The model-running part: detector, landmark model, and the whole chain from a photo
//! to aligned crops.

use crate::detect::{self, BoxF, Detection, PriorConfig};
use crate::landmarks::{self, CropRect, LANDMARK_INPUT};
use crate::similarity::{arcface_template, umeyama, Point, Similarity};
use crate::warp;
use crate::{AlignError, Result};
use amva_model::{EngineKind, Net};
use image::RgbImage;
use std::path::Path;

/// Settings of [`Aligner`].
#[derive(Debug, Clone, PartialEq)]
pub struct AlignOptions {
    /// Side of the aligned crops (the ArcFace template is scaled by `size / 112`).
    pub size: u32,
    /// Align every face found instead of only the largest.
    pub all_faces: bool,
    /// Faces whose detector box is less than this many pixels high are skipped.
    pub min_face: f32,
    /// Minimum face probability (the JS's `confidence_threshold`).
    pub score_threshold: f32,
    /// IoU above which a lower-scoring box is suppressed.
    pub nms_iou: f32,
    /// Candidates kept before suppression (the JS's `top_k`).
    pub top_k: usize,
}

impl Default for AlignOptions {
    fn default() -> Self {
        AlignOptions {
            size: 112,
            all_faces: false,
            min_face: 20.0,
            score_threshold: 0.65,
            nms_iou: 0.4,
            top_k: 750,
        }
    }
}

impl AlignOptions {
    fn check(&self) -> Result<()> {
        if !(16..=4096).contains(&self.size) {
            return Err(AlignError::Option(format!(
                "crop size {} is outside 16..=4096",
                self.size
            )));
        }
        if self.min_face.is_nan() || self.min_face < 0.0 {
            return Err(AlignError::Option(format!(
                "minimum face size {} is not >= 0",
                self.min_face
            )));
        }
        if !(0.0..=1.0).contains(&self.score_threshold) || !(0.0..=1.0).contains(&self.nms_iou) {
            return Err(AlignError::Option(
                "score threshold and NMS IoU must be within 0..=1".into(),
            ));
        }
        Ok(())
    }
}

/// `fr_detect.onnx` (or a detector with the same anchors and outputs `scores`, `boxes`).
pub struct Detector {
    net: Net,
    cfg: PriorConfig,
}

impl Detector {
    /// Opens the detector; its input must be 3 x 240 x 320.
    pub fn open(path: &Path, engine: EngineKind) -> Result<Detector> {
        let net = Net::open(path, &["scores", "boxes"], engine)?;
        let cfg = PriorConfig::RFB_320;
        if net.item_shape() != [3, cfg.height as usize, cfg.width as usize] {
            return Err(AlignError::ModelOutput {
                model: path.display().to_string(),
                what: format!("input shape {:?}, expected [3, 240, 320]", net.item_shape()),
            });
        }
        Ok(Detector { net, cfg })
    }

    /// The network input for `img`: resized to 320 x 240 (bilinear, like `cv2.resize`),
    /// planar RGB, `(v - 127) / 128`. RGB is the order Ultra-Light trains with; the JS
    /// effectively feeds BGR (a canvas's RGBA through `COLOR_BGR2RGB`). On the 2,810 LFW
    /// dev images both find every face and put the five points within 5 px of the
    /// reference for 98.6 % (RGB) and 98.7 % (BGR) of them.
    pub fn input(&self, img: &RgbImage) -> Vec<f32> {
        let (w, h) = (self.cfg.width, self.cfg.height);
        let small = warp::resize_linear(img, w, h);
        let plane = (w * h) as usize;
        let mut out = vec![0f32; 3 * plane];
        for (i, p) in small.pixels().enumerate() {
            for c in 0..3 {
                out[c * plane + i] = (p.0[c] as f32 - 127.0) / 128.0;
            }
        }
        out
    }

    /// Faces in `img` after score filtering and non-maximum suppression, best first,
    /// boxes in image pixels (as the detector outputs them, not yet squared).
    pub fn detect(&self, img: &RgbImage, opts: &AlignOptions) -> Result<Vec<Detection>> {
        if img.width() < 2 || img.height() < 2 {
            return Ok(Vec::new());
        }
        let out = self.net.run(&self.input(img), 1)?;
        let n = self.cfg.len();
        let (scores, boxes) = (&out[0].data, &out[1].data);
        if scores.len() != n * 2 || boxes.len() != n * 4 {
            return Err(AlignError::ModelOutput {
                model: "face detector".into(),
                what: format!(
                    "outputs of {} and {} values, expected {} and {}",
                    scores.len(),
                    boxes.len(),
                    n * 2,
                    n * 4
                ),
            });
        }
        let cands = detect::candidates(
            scores,
            boxes,
            opts.score_threshold,
            opts.top_k,
            img.width(),
            img.height(),
        );
        Ok(detect::nms(&cands, opts.nms_iou))
    }
}

/// `fr_landmark.onnx`: 68 points from a 64 x 64 grey crop.
pub struct LandmarkNet {
    net: Net,
}

impl LandmarkNet {
    /// Opens the landmark model; its input must be 1 x 64 x 64 and its output 136 values.
    pub fn open(path: &Path, engine: EngineKind) -> Result<LandmarkNet> {
        let net = Net::open(path, &[], engine)?;
        let s = LANDMARK_INPUT as usize;
        if net.item_shape() != [1, s, s] {
            return Err(AlignError::ModelOutput {
                model: path.display().to_string(),
                what: format!("input shape {:?}, expected [1, 64, 64]", net.item_shape()),
            });
        }
        Ok(LandmarkNet { net })
    }

    /// The model input for a crop: resized to 64 x 64 (bilinear), grey, `v / 256`.
    /// Grey uses the BT.601 weights (0.299 R + 0.587 G + 0.114 B); the JS, converting
    /// a canvas's RGBA with `COLOR_BGR2GRAY`, swaps the R and B weights, which moves the
    /// landmarks by hundredths of a pixel on LFW.
    pub fn input(img: &RgbImage, crop: &CropRect) -> Vec<f32> {
        let part = image::imageops::crop_imm(img, crop.x, crop.y, crop.w, crop.h).to_image();
        let small = warp::resize_linear(&part, LANDMARK_INPUT, LANDMARK_INPUT);
        small
            .pixels()
            .map(|p| warp::grey_value(p.0) as f32 / 256.0)
            .collect()
    }

    /// 68 points in image pixels for the face in `square` (a box from [`detect::square_box`]);
    /// `None` when the box has no pixels inside the image.
    pub fn predict(&self, img: &RgbImage, square: &BoxF) -> Result<Option<Vec<Point>>> {
        let Some(crop) = landmarks::landmark_crop(square, img.width(), img.height()) else {
            return Ok(None);
        };
        let out = self.net.run(&Self::input(img, &crop), 1)?;
        let v = &out[0].data;
        if v.len() != 136 {
            return Err(AlignError::ModelOutput {
                model: "landmark model".into(),
                what: format!("{} outputs, expected 136", v.len()),
            });
        }
        Ok(Some(landmarks::crop_to_image(v, &crop)))
    }
}

/// One aligned face.
#[derive(Debug, Clone)]
pub struct AlignedFace {
    /// 0 for the largest face; with all faces, in order of decreasing box area.
    pub index: usize,
    /// The detection (absent when landmarks were given).
    pub detection: Option<Detection>,
    /// The 68 landmarks in image pixels (absent when landmarks were given).
    pub landmarks68: Option<Vec<Point>>,
    /// The five alignment points in image pixels.
    pub landmarks: [Point; 5],
    /// Image pixels to crop pixels.
    pub transform: Similarity,
    /// RMS distance (crop pixels) between the mapped points and the template.
    pub residual: f64,
    /// The crop.
    pub image: RgbImage,
}

/// Aligns `img` with known five points (image-left eye, image-right eye, nose tip,
/// left and right mouth corners) onto the ArcFace template of a `size` crop.
pub fn align_with_landmarks(img: &RgbImage, pts: &[Point; 5], size: u32) -> Result<AlignedFace> {
    let dst = arcface_template(size);
    let t = umeyama(pts, &dst)?;
    Ok(AlignedFace {
        index: 0,
        detection: None,
        landmarks68: None,
        landmarks: *pts,
        transform: t,
        residual: t.rms_residual(pts, &dst),
        image: warp::warp_similarity(img, &t, size, size),
    })
}

/// What the detector chain found in one image.
#[derive(Debug, Clone, Default)]
pub struct FaceSearch {
    /// Aligned faces (the largest only, unless all faces were asked for).
    pub faces: Vec<AlignedFace>,
    /// Faces skipped for being smaller than the minimum size.
    pub too_small: Vec<Detection>,
}

/// Detector + landmark model + alignment settings; shareable across threads.
pub struct Aligner {
    pub detector: Detector,
    pub landmarks: LandmarkNet,
    pub options: AlignOptions,
}

impl Aligner {
    /// Opens both models from explicit paths.
    pub fn from_paths(
        detector: &Path,
        landmark: &Path,
        engine: EngineKind,
        options: AlignOptions,
    ) -> Result<Aligner> {
        options.check()?;
        Ok(Aligner {
            detector: Detector::open(detector, engine)?,
            landmarks: LandmarkNet::open(landmark, engine)?,
            options,
        })
    }

    /// Opens `fr_detect.onnx` and `fr_landmark.onnx` from `$AMVA_MODELS` or the cache
    /// (which `amva_fetch::models::ensure` fills).
    pub fn open_default(engine: EngineKind, options: AlignOptions) -> Result<Aligner> {
        let src = amva_io::models::ModelSource::from_env()?;
        let det = src.model(amva_io::models::FR_DETECT)?;
        let lm = src.model(amva_io::models::FR_LANDMARK)?;
        Self::from_paths(&det, &lm, engine, options)
    }

    /// The engine that runs the models.
    pub fn engine(&self) -> EngineKind {
        self.detector.net.engine()
    }

    /// Detects, picks faces, estimates landmarks and aligns.
    pub fn search(&self, img: &RgbImage) -> Result<FaceSearch> {
        let mut dets = self.detector.detect(img, &self.options)?;
        // Largest first: the index of a face is its rank by box area.
        dets.sort_by(|a, b| b.bbox.area().total_cmp(&a.bbox.area()));
        if !self.options.all_faces {
            dets.truncate(1);
        }
        let mut found = FaceSearch::default();
        for d in dets {
            if d.bbox.height() < self.options.min_face {
                found.too_small.push(d);
                continue;
            }
            let square = detect::square_box(&d.bbox, img.width(), img.height());
            let Some(p68) = self.landmarks.predict(img, &square)? else {
                found.too_small.push(d);
                continue;
            };
            let Some(p5) = landmarks::reduce_68_to_5(&p68) else {
                return Err(AlignError::ModelOutput {
                    model: "landmark model".into(),
                    what: format!("{} points, expected 68", p68.len()),
                });
            };
            let mut face = align_with_landmarks(img, &p5, self.options.size)?;
            face.index = found.faces.len();
            face.detection = Some(d);
            face.landmarks68 = Some(p68);
            found.faces.push(face);
        }
        Ok(found)
    }
}

/// The aligned faces of one photo (the largest, or all with `options.all_faces`);
/// empty when no face of at least `options.min_face` pixels is found.
pub fn align_image(img: &RgbImage, aligner: &Aligner) -> Result<Vec<AlignedFace>> {
    Ok(aligner.search(img)?.faces)
}
