//! Least-squares similarity transforms (rotation, uniform scale, translation; no
//! reflection; ALGORITHMS 8.3) and the ArcFace five-point template (defined in
//! `amva_math::region`).
//!
//! For 2-D points the Umeyama (1991) solution has a closed form: with both point sets
//! centred, the transform `x' = a x - b y + tx`, `y' = b x + a y + ty` minimising the
//! squared error has `a = Σ(x x' + y y') / Σ(x² + y²)` and `b = Σ(x y' - y x') / Σ(x² + y²)`.
//! This is the same optimum `skimage.transform.SimilarityTransform.estimate` (which
//! insightface's `norm_crop` uses) reaches through an SVD, written without one.

use crate::{AlignError, Result};

/// A point `[x, y]` in pixels; the ArcFace template and its scaling live in amva-math
/// (one definition, shared with the face region of the analysis).
pub use amva_math::region::{arcface_template, Point, ARCFACE_112};

/// `x' = a x - b y + tx`, `y' = b x + a y + ty`: scale `sqrt(a² + b²)`, angle `atan2(b, a)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Similarity {
    pub a: f64,
    pub b: f64,
    pub tx: f64,
    pub ty: f64,
}

impl Similarity {
    /// The identity transform.
    pub const IDENTITY: Similarity = Similarity {
        a: 1.0,
        b: 0.0,
        tx: 0.0,
        ty: 0.0,
    };

    /// From scale, angle (radians, counter-clockwise in x-right/y-up terms) and translation.
    pub fn from_parts(scale: f64, angle: f64, tx: f64, ty: f64) -> Similarity {
        Similarity {
            a: scale * angle.cos(),
            b: scale * angle.sin(),
            tx,
            ty,
        }
    }

    /// Maps one point.
    pub fn apply(&self, p: Point) -> Point {
        [
            self.a * p[0] - self.b * p[1] + self.tx,
            self.b * p[0] + self.a * p[1] + self.ty,
        ]
    }

    /// The uniform scale factor.
    pub fn scale(&self) -> f64 {
        self.a.hypot(self.b)
    }

    /// The inverse transform; `None` when the scale is zero.
    pub fn inverse(&self) -> Option<Similarity> {
        let d = self.a * self.a + self.b * self.b;
        if d == 0.0 || !d.is_finite() {
            return None;
        }
        let (a, b) = (self.a / d, -self.b / d);
        // x = R⁻¹ (x' - t)
        Some(Similarity {
            a,
            b,
            tx: -(a * self.tx - b * self.ty),
            ty: -(b * self.tx + a * self.ty),
        })
    }

    /// The 2 x 3 matrix `[[a, -b, tx], [b, a, ty]]` as OpenCV's `warpAffine` takes it.
    pub fn matrix(&self) -> [[f64; 3]; 2] {
        [[self.a, -self.b, self.tx], [self.b, self.a, self.ty]]
    }

    /// Root-mean-square distance between the mapped `src` points and `dst`.
    pub fn rms_residual(&self, src: &[Point], dst: &[Point]) -> f64 {
        if src.is_empty() {
            return 0.0;
        }
        let sum: f64 = src
            .iter()
            .zip(dst)
            .map(|(s, d)| {
                let m = self.apply(*s);
                (m[0] - d[0]).powi(2) + (m[1] - d[1]).powi(2)
            })
            .sum();
        (sum / src.len() as f64).sqrt()
    }
}

/// The least-squares similarity transform taking `src` onto `dst` (Umeyama, no reflection).
pub fn umeyama(src: &[Point], dst: &[Point]) -> Result<Similarity> {
    if src.len() != dst.len() {
        return Err(AlignError::PointCount {
            src: src.len(),
            dst: dst.len(),
        });
    }
    if src.len() < 2 {
        return Err(AlignError::DegenerateLandmarks(format!(
            "{} point(s); need at least 2",
            src.len()
        )));
    }
    if src
        .iter()
        .chain(dst)
        .any(|p| !p[0].is_finite() || !p[1].is_finite())
    {
        return Err(AlignError::DegenerateLandmarks(
            "a coordinate is not a finite number".into(),
        ));
    }
    let n = src.len() as f64;
    let mean = |pts: &[Point]| {
        let s = pts
            .iter()
            .fold([0.0, 0.0], |acc, p| [acc[0] + p[0], acc[1] + p[1]]);
        [s[0] / n, s[1] / n]
    };
    let (ms, md) = (mean(src), mean(dst));
    let (mut sxx, mut num_a, mut num_b) = (0.0, 0.0, 0.0);
    for (s, d) in src.iter().zip(dst) {
        let (x, y) = (s[0] - ms[0], s[1] - ms[1]);
        let (u, v) = (d[0] - md[0], d[1] - md[1]);
        sxx += x * x + y * y;
        num_a += x * u + y * v;
        num_b += x * v - y * u;
    }
    // Relative to the spread of the coordinates, so that far-from-origin points still count.
    let scale_ref = src
        .iter()
        .map(|p| p[0].abs().max(p[1].abs()))
        .fold(1.0, f64::max);
    if sxx <= 1e-18 * scale_ref * scale_ref * n {
        return Err(AlignError::DegenerateLandmarks(
            "all source points coincide".into(),
        ));
    }
    let (a, b) = (num_a / sxx, num_b / sxx);
    Ok(Similarity {
        a,
        b,
        tx: md[0] - (a * ms[0] - b * ms[1]),
        ty: md[1] - (b * ms[0] + a * ms[1]),
    })
}
