//! Face detection, landmarks and alignment: from ordinary photos to ArcFace-template
//! crops (112 x 112 by default; ALGORITHMS 8).
//!
//! Pure arithmetic (no I/O, no model) lives in [`similarity`] (Umeyama similarity,
//! template), [`warp`] (OpenCV-compatible warp and resize), [`detect`] (anchors, decoding,
//! NMS) and [`landmarks`] (landmark crop, 68 to 5 points). [`pipeline`] runs the models
//! (`fr_detect.onnx`, `fr_landmark.onnx`) through `amva_model::Net`; [`landmarks_csv`]
//! reads given landmarks; [`draw`] makes previews; [`folder`] aligns a whole image list
//! and writes its crops (`amva align`).
//!
//! ```no_run
//! use amva_align::{align_image, Aligner, AlignOptions};
//! let aligner = Aligner::open_default(amva_model::EngineKind::Auto, AlignOptions::default())?;
//! let photo = amva_io::images::load_rgb(std::path::Path::new("photo.jpg"))?;
//! for face in align_image(&photo, &aligner)? {
//!     face.image.save(format!("face{}.png", face.index))?;
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod detect;
pub mod draw;
pub mod encode;
mod error;
pub mod folder;
pub mod landmarks;
pub mod landmarks_csv;
pub mod meta;
pub mod pipeline;
pub mod similarity;
pub mod warp;

pub use error::{AlignError, Result};
/// The image crate this crate's images come from (`image::RgbImage`).
pub use image;
pub use pipeline::{
    align_image, align_with_landmarks, AlignOptions, AlignedFace, Aligner, FaceSearch,
};
pub use similarity::{arcface_template, umeyama, Point, Similarity, ARCFACE_112};
