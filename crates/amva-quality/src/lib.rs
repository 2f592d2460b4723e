//! Face image quality assessment (FIQA) without Python, and its recognition utility.
//!
//! Methods (ALGORITHMS 7), each a [`QualityMethod`]:
//! - [`magnitude::Magnitude`]: L2 norm of the raw embedding (MagFace's quality);
//! - [`serfiq::SerFiq`]: SER-FIQ, stochastic embedding robustness under dropout;
//! - [`brisque::Brisque`]: BRISQUE with the published LIVE model (lower is better);
//! - [`pose::Pose`]: `-(|yaw| + |pitch|)` from the head-pose model;
//! - [`onnx::OnnxQuality`]: a user's ONNX model that outputs one number per image.
//!
//! [`score_images`] runs methods over an image list; [`scores`] reads and writes
//! score files (long CSV + JSON sidecar with each method's direction);
//! [`edc::edc_report`] measures a method's utility for recognition (ALGORITHMS 6).

pub mod brisque;
pub mod edc;
mod error;
pub mod magnitude;
pub mod onnx;
pub mod pairs;
pub mod pose;
pub mod registry;
pub mod run;
pub mod scores;
pub mod serfiq;

pub use edc::{edc_report, EdcOptions, EdcReport, PairScore};
pub use error::{QualityError, Result};
pub use registry::{build_methods, parse_methods, MethodSpec, Resources, KNOWN_METHODS};
pub use scores::{
    read_score_file, read_score_files, read_scores, write_scores, Direction, MethodScores,
    ScoreOrigin, ScoreRow, Scores,
};

use image::RgbImage;
use rayon::prelude::*;

/// One image handed to a method: its id (for per-image seeds) and pixels, already at
/// the method's [`QualityMethod::input_size`].
#[derive(Debug, Clone, Copy)]
pub struct Item<'a> {
    pub id: &'a str,
    pub image: &'a RgbImage,
}

/// A FIQA method: a score per image and which way it points.
pub trait QualityMethod: Send + Sync {
    /// Name in score files (`magnitude`, `serfiq`, ...).
    fn name(&self) -> &str;
    /// Which way the score points.
    fn direction(&self) -> Direction;
    /// Parameters recorded in the score file's sidecar (seed, model checksum, ...).
    fn params(&self) -> serde_json::Value;
    /// The image size the method needs, or `None` for any size.
    fn input_size(&self) -> Option<(u32, u32)>;
    /// True when images of another size are always resized (not only with `--resize`):
    /// models made for face crops of any size, such as the pose model.
    fn always_resizes(&self) -> bool {
        false
    }
    /// Scores of `items` (in order). A non-finite score marks an image the method
    /// cannot judge; [`score_images`] lists it as failed.
    fn score(&self, items: &[Item<'_>]) -> Result<Vec<f64>>;
}

/// Scores and failures of a run.
#[derive(Debug, Clone, Default)]
pub struct Run {
    pub scores: Scores,
    /// (image id, reason); the reason starts with the method name when only that
    /// method failed on the image.
    pub failed: Vec<(String, String)>,
    /// (image id, warning): scored although the file is damaged (see `strict`).
    pub warnings: Vec<(String, String)>,
}

/// Images decoded per step (bounds memory; each method sees one chunk at a time).
pub const CHUNK: usize = 64;

/// Runs every method over `items`: each image is decoded once per chunk, fitted to
/// each method's input size (resized when `resize` is set or the method always
/// resizes; otherwise a wrong size is a failure), and scored. Unreadable images and
/// non-finite scores are listed in [`Run::failed`], not fatal; damaged files that decode
/// are scored and listed in [`Run::warnings`], or with `strict` failed. `progress` gets
/// the number of images finished after each chunk.
pub fn score_images(
    methods: &[Box<dyn QualityMethod>],
    items: &[amva_io::images::ImageItem],
    resize: bool,
    strict: bool,
    mut progress: impl FnMut(usize),
) -> Result<Run> {
    let mut run = Run::default();
    for m in methods {
        if run.scores.methods.contains_key(m.name()) {
            return Err(QualityError::Parameter {
                what: "method name",
                value: m.name().to_string(),
                expected: "distinct method names (rename an onnx model with `name` in its .toml)",
            });
        }
        run.scores.methods.insert(
            m.name().to_string(),
            MethodScores::computed(m.name(), m.direction(), m.params()),
        );
    }
    // A method that takes any size (BRISQUE) gets the size the run's other methods need:
    // the same images are refused (or resized) for all of them.
    let run_size = methods
        .iter()
        .filter(|m| !m.always_resizes())
        .find_map(|m| m.input_size());
    for chunk in items.chunks(CHUNK) {
        let ok = decode_chunk(chunk, strict, &mut run);
        for m in methods {
            let fitted: Vec<_> = ok
                .par_iter()
                .map(|(it, img)| match m.input_size().or(run_size) {
                    Some((w, h)) if img.dimensions() != (w, h) => amva_io::images::fit(
                        img.clone(),
                        w,
                        h,
                        resize || m.always_resizes(),
                        &it.path,
                    )
                    .map(Some),
                    None => within_any_size(img, &it.path).map(|_| None),
                    _ => Ok(None),
                })
                .collect();
            let mut batch_ids = Vec::new();
            let mut owned = Vec::new();
            for ((it, img), f) in ok.iter().zip(fitted) {
                match f {
                    Ok(resized) => {
                        batch_ids.push(it.id.as_str());
                        owned.push(
                            resized
                                .map_or(std::borrow::Cow::Borrowed(img), std::borrow::Cow::Owned),
                        );
                    }
                    Err(e) => run
                        .failed
                        .push((it.id.clone(), format!("{}: {e}", m.name()))),
                }
            }
            let batch: Vec<Item<'_>> = batch_ids
                .iter()
                .zip(&owned)
                .map(|(id, img)| Item {
                    id,
                    image: img.as_ref(),
                })
                .collect();
            let scores = if batch.is_empty() {
                Vec::new()
            } else {
                m.score(&batch)?
            };
            let entry = run
                .scores
                .methods
                .get_mut(m.name())
                .expect("inserted above");
            for (id, s) in batch_ids.iter().zip(scores) {
                if s.is_finite() {
                    entry.scores.push(scores::ScoreRow {
                        image: id.to_string(),
                        score: s,
                        line: 0,
                    });
                } else {
                    run.failed.push((
                        id.to_string(),
                        format!(
                            "{}: score is {s} (the method is undefined for this image)",
                            m.name()
                        ),
                    ));
                }
            }
        }
        progress(chunk.len());
    }
    Ok(run)
}

/// Most pixels a method that takes any size scores when no other method of the run
/// fixes the size (BRISQUE's features of a 64-megapixel image take gigabytes).
pub const MAX_ANY_SIZE_PIXELS: u64 = 4_194_304;

/// Refuses an image too large for a method that takes any size.
fn within_any_size(img: &image::RgbImage, path: &std::path::Path) -> amva_io::Result<()> {
    let (w, h) = img.dimensions();
    if u64::from(w) * u64::from(h) <= MAX_ANY_SIZE_PIXELS {
        return Ok(());
    }
    Err(amva_io::Error::Decode {
        path: path.into(),
        reason: format!(
            "{w}x{h} pixels; at most {MAX_ANY_SIZE_PIXELS} pixels (2048 x 2048) are scored by a method that takes any size; crop or resize the face first"
        ),
    })
}

/// Decodes a chunk: the images that are usable, the others (and the damaged ones with
/// `strict`) in `run.failed`, damaged but usable ones in `run.warnings`.
fn decode_chunk<'a>(
    chunk: &'a [amva_io::images::ImageItem],
    strict: bool,
    run: &mut Run,
) -> Vec<(&'a amva_io::images::ImageItem, image::RgbImage)> {
    let decoded: Vec<_> = chunk
        .par_iter()
        .map(|it| amva_io::images::load_checked(&it.path))
        .collect();
    let mut ok = Vec::new();
    for (it, d) in chunk.iter().zip(decoded) {
        match d {
            Ok(d) => match &d.warning {
                Some(w) if strict => run.failed.push((it.id.clone(), format!("{w} (--strict)"))),
                _ => {
                    run.warnings.extend(d.notes().map(|w| (it.id.clone(), w)));
                    ok.push((it, d.image));
                }
            },
            Err(e) => run.failed.push((it.id.clone(), e.to_string())),
        }
    }
    ok
}

/// A stable 64-bit hash of an image id (FNV-1a): the per-image random stream of
/// seeded methods, so that scores do not depend on batching or thread order.
pub fn id_stream(id: &str) -> u64 {
    id.bytes().fold(0xcbf29ce484222325u64, |h, b| {
        (h ^ b as u64).wrapping_mul(0x100000001b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn method_list_parses_and_names_the_known_ones() {
        assert_eq!(
            parse_methods("magnitude, serfiq,brisque,pose,onnx:/m/q.onnx").unwrap(),
            vec![
                MethodSpec::Magnitude,
                MethodSpec::Serfiq,
                MethodSpec::Brisque,
                MethodSpec::Pose,
                MethodSpec::Onnx("/m/q.onnx".into())
            ]
        );
        let err = parse_methods("magnitude,faceqnet").unwrap_err().to_string();
        assert!(
            err.contains("'faceqnet'") && err.contains("serfiq") && err.contains("onnx:PATH"),
            "{err}"
        );
        assert!(parse_methods("pose,pose").is_err());
        assert!(parse_methods("").is_err());
        assert!(parse_methods("onnx:").is_err());
    }

    struct Fake;
    impl QualityMethod for Fake {
        fn name(&self) -> &str {
            "fake"
        }
        fn direction(&self) -> Direction {
            Direction::Lower
        }
        fn params(&self) -> serde_json::Value {
            serde_json::json!({"k": 1})
        }
        fn input_size(&self) -> Option<(u32, u32)> {
            Some((4, 4))
        }
        fn score(&self, items: &[Item<'_>]) -> Result<Vec<f64>> {
            // Mean red value; NaN for an all-black image.
            Ok(items
                .iter()
                .map(|it| {
                    let s: f64 = it.image.pixels().map(|p| p.0[0] as f64).sum();
                    if s == 0.0 {
                        f64::NAN
                    } else {
                        s / 16.0
                    }
                })
                .collect())
        }
    }

    #[test]
    fn runner_lists_unreadable_wrong_size_and_undefined_images() {
        let dir = tempfile::tempdir().unwrap();
        let save = |name: &str, w: u32, v: u8| {
            let p = dir.path().join(name);
            RgbImage::from_pixel(w, w, image::Rgb([v, 0, 0]))
                .save(&p)
                .unwrap();
            amva_io::images::ImageItem {
                id: name.into(),
                path: p,
            }
        };
        let mut items = vec![
            save("a.png", 4, 10),
            save("big.png", 8, 20),
            save("black.png", 4, 0),
        ];
        let broken = dir.path().join("broken.png");
        std::fs::write(&broken, b"nope").unwrap();
        items.push(amva_io::images::ImageItem {
            id: "broken.png".into(),
            path: broken,
        });
        let methods: Vec<Box<dyn QualityMethod>> = vec![Box::new(Fake)];
        let mut seen = 0;
        let run = score_images(&methods, &items, false, false, |n| seen += n).unwrap();
        assert_eq!(seen, 4);
        let m = run.scores.get("fake").unwrap();
        assert_eq!(
            m.scores,
            vec![ScoreRow {
                image: "a.png".into(),
                score: 10.0,
                line: 0
            }]
        );
        assert_eq!(m.direction, Direction::Lower);
        let failed: Vec<&str> = run.failed.iter().map(|f| f.0.as_str()).collect();
        assert_eq!(failed.len(), 3, "{:?}", run.failed);
        for id in ["big.png", "black.png", "broken.png"] {
            assert!(failed.contains(&id), "{id} not in {:?}", run.failed);
        }
        let big = run.failed.iter().find(|f| f.0 == "big.png").unwrap();
        assert!(
            big.1.starts_with("fake: ") && big.1.contains("--resize"),
            "{}",
            big.1
        );
        // With resizing, the 8x8 image is scored.
        let run = score_images(&methods, &items, true, false, |_| {}).unwrap();
        assert_eq!(run.scores.get("fake").unwrap().scores.len(), 2);
    }

    #[test]
    fn id_stream_is_fnv1a() {
        // FNV-1a 64 test vectors.
        assert_eq!(id_stream(""), 0xcbf29ce484222325);
        assert_eq!(id_stream("a"), 0xaf63dc4c8601ec8c);
    }
}
