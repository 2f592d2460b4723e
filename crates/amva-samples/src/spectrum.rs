//! The demo's synthetic quality spectrum: every aligned face, clean and degraded at every
//! level of every kind ([`DegradationKind::ALL`] x [`LEVELS`]), written as PNGs with an index,
//! and its ground truth: each FIQA method's rank correlation with the degradation level.

use crate::degrade::{apply, Degradation, DegradationKind, LEVELS};
use amva_io::images::{ImageItem, ImageList};
use std::collections::{BTreeMap, HashMap};
use std::path::Path;

/// Why the spectrum could not be made or written.
#[derive(Debug, thiserror::Error)]
pub enum SpectrumError {
    #[error(transparent)]
    Io(#[from] amva_io::Error),
    #[error(transparent)]
    Png(#[from] amva_draw::DrawError),
    #[error("spectrum index: {0}")]
    Csv(#[from] csv::Error),
}

type Result<T> = std::result::Result<T, SpectrumError>;

/// One image of the spectrum.
#[derive(Debug, Clone, PartialEq)]
pub struct SpectrumItem {
    /// `<face>/clean.png` or `<face>/<kind>_<level>.png`, below the images folder.
    pub id: String,
    /// The face it was made from (its id, made a file name).
    pub face: String,
    /// None for the clean face.
    pub kind: Option<DegradationKind>,
    /// 0 for the clean face, else 1..=LEVELS.
    pub level: u8,
}

/// Every face of `faces`, clean and degraded at every level of every kind, as PNGs below
/// `images` (an image already there is kept: an interrupted demo continues). The seed of
/// face `i` at `level` is `seed + 1000 i + level`. `done` is called after each face.
pub fn build(
    faces: &ImageList,
    images: &Path,
    seed: u64,
    done: &dyn Fn(),
) -> Result<Vec<SpectrumItem>> {
    let mut items = Vec::new();
    for (fi, face) in faces.items.iter().enumerate() {
        let face_seed = seed.wrapping_add(fi as u64 * 1000);
        items.extend(degrade_face(face, images, face_seed)?);
        done();
    }
    Ok(items)
}

/// One face's clean copy and degradations.
fn degrade_face(face: &ImageItem, images: &Path, seed: u64) -> Result<Vec<SpectrumItem>> {
    let img = amva_io::images::load_rgb(&face.path)?;
    let name = face
        .id
        .trim_end_matches(".png")
        .trim_end_matches(".jpg")
        .replace('/', "_");
    let mut items = Vec::new();
    let mut save = |kind: Option<DegradationKind>, level: u8, im: &image::RgbImage| {
        let file = match kind {
            None => "clean.png".to_string(),
            Some(k) => format!("{}_{level}.png", k.name()),
        };
        let id = format!("{name}/{file}");
        let path = images.join(&id);
        if !path.is_file() {
            amva_io::atomic::write_atomic(&path, &amva_draw::encode_png(im)?)?;
        }
        items.push(SpectrumItem {
            id,
            face: name.clone(),
            kind,
            level,
        });
        Ok::<_, SpectrumError>(())
    };
    save(None, 0, &img)?;
    for kind in DegradationKind::ALL {
        for level in 1..=LEVELS {
            let d = Degradation { kind, level };
            save(
                Some(kind),
                level,
                &apply(&img, d, seed.wrapping_add(level as u64)),
            )?;
        }
    }
    Ok(items)
}

/// spectrum.csv: image, face, degradation, level, parameter, unit (one row per item).
pub fn index_csv(items: &[SpectrumItem]) -> Result<Vec<u8>> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(["image", "face", "degradation", "level", "parameter", "unit"])?;
    for it in items {
        let (kind, param, unit) = match it.kind {
            None => ("none".to_string(), String::new(), String::new()),
            Some(k) => (
                k.name().to_string(),
                k.parameter(it.level).to_string(),
                k.unit().to_string(),
            ),
        };
        let level = it.level.to_string();
        w.write_record([it.id.as_str(), &it.face, &kind, &level, &param, &unit])?;
    }
    w.into_inner()
        .map_err(|e| csv::Error::from(e.into_error()).into())
}

/// groups.csv for `amva analyze --groups`: each image's degradation kind (`clean` for
/// the undegraded faces).
pub fn groups_csv(items: &[SpectrumItem]) -> Result<Vec<u8>> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(["image", "group"])?;
    for it in items {
        w.write_record([it.id.as_str(), it.kind.map_or("clean", |k| k.name())])?;
    }
    w.into_inner()
        .map_err(|e| csv::Error::from(e.into_error()).into())
}

/// The person a sample face shows: the five Obama photos (`obama`, `obama2`, `obama3`,
/// `obama_partial_face`, `obama_partial_face2`) show one person; every other sample
/// face (Biden, Tom Hanks, the six people of insightface's `t1`) is a person of its own.
pub fn identity(face: &str) -> &str {
    if face.starts_with("obama") {
        "obama"
    } else {
        face
    }
}

/// pairs.csv for `amva analyze --pairs`: every clean face (the enrolment) against every
/// other image of the spectrum (the probes, clean or degraded); mated when both show
/// the same person ([`identity`]).
pub fn pairs_csv(items: &[SpectrumItem]) -> Result<Vec<u8>> {
    let mut pairs = Vec::new();
    for a in items.iter().filter(|it| it.kind.is_none()) {
        // (a, b) and (b, a) are one comparison: two clean faces are paired once.
        let once = |b: &&SpectrumItem| b.id != a.id && (b.kind.is_some() || a.id < b.id);
        for b in items.iter().filter(once) {
            pairs.push(amva_io::pairs::Pair {
                a: a.id.clone(),
                b: b.id.clone(),
                mated: identity(&a.face) == identity(&b.face),
            });
        }
    }
    Ok(amva_io::pairs::pairs_csv(&pairs)?)
}

/// One method's rank correlation with one degradation kind's level.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Correlation {
    /// Spearman of the quality (higher = better) vs the level (0 = clean); NaN when it
    /// is undefined (fewer than two distinct values).
    pub rho: f64,
    /// Images with a finite quality that entered it.
    pub n: usize,
}

/// Per FIQA method, in the given order: its correlation per kind, in
/// [`DegradationKind::ALL`] order.
#[derive(Debug, Clone, PartialEq)]
pub struct Correlations(pub Vec<(String, Vec<Correlation>)>);

/// Per method and degradation kind: Spearman of the quality (already turned so that
/// higher is better) vs the degradation level over the clean faces and that kind's
/// images. A method that sees the degradation gives a negative value.
pub fn correlations(
    items: &[SpectrumItem],
    methods: &[(String, HashMap<&str, f64>)],
) -> Correlations {
    let per_kind = |quality: &HashMap<&str, f64>, kind: DegradationKind| {
        let (x, y): (Vec<f64>, Vec<f64>) = items
            .iter()
            .filter(|it| it.kind.is_none() || it.kind == Some(kind))
            .filter_map(|it| {
                quality
                    .get(it.id.as_str())
                    .map(|&v| (f64::from(it.level), v))
            })
            .filter(|(_, v)| v.is_finite())
            .unzip();
        Correlation {
            rho: amva_math::compare::spearman(&x, &y).unwrap_or(f64::NAN),
            n: x.len(),
        }
    };
    Correlations(
        methods
            .iter()
            .map(|(m, q)| {
                (
                    m.clone(),
                    DegradationKind::ALL.map(|k| per_kind(q, k)).to_vec(),
                )
            })
            .collect(),
    )
}

impl Correlations {
    /// degradation_correlation.csv: method, degradation, spearman_quality_vs_level (4
    /// decimals), n.
    pub fn csv(&self) -> Result<Vec<u8>> {
        let mut w = csv::Writer::from_writer(Vec::new());
        w.write_record(["method", "degradation", "spearman_quality_vs_level", "n"])?;
        for (m, row) in &self.0 {
            for (kind, c) in DegradationKind::ALL.iter().zip(row) {
                let rho = format!("{:.4}", c.rho);
                w.write_record([m.as_str(), kind.name(), &rho, &c.n.to_string()])?;
            }
        }
        w.into_inner()
            .map_err(|e| csv::Error::from(e.into_error()).into())
    }

    /// Method -> degradation kind -> Spearman, both in alphabetical order (the demo's
    /// summary; NaN is written as null).
    pub fn by_kind(&self) -> BTreeMap<&str, BTreeMap<&'static str, f64>> {
        self.0
            .iter()
            .map(|(m, row)| {
                let kinds = DegradationKind::ALL
                    .iter()
                    .zip(row)
                    .map(|(k, c)| (k.name(), c.rho))
                    .collect();
                (m.as_str(), kinds)
            })
            .collect()
    }
}
