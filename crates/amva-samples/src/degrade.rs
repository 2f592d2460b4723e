//! Graded degradations of aligned face crops: a quality spectrum with known ground truth
//! (type and level), so an analysis can be checked against what was done to the images
//! (ALGORITHMS 10).
//!
//! Level 0 is the clean image; levels 1-4 get steadily worse. Positions of occluding bars
//! follow the ArcFace 112x112 template (eyes at y = 51.6, mouth at y = 92.3), scaled to the
//! image size.

use image::{Rgb, RgbImage};
use rand::{Rng, SeedableRng};

/// What is done to the image.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DegradationKind {
    GaussianBlur,
    MotionBlur,
    Noise,
    Jpeg,
    Downscale,
    OccludeEyes,
    OccludeMouth,
    Underexpose,
    Overexpose,
    Rotate,
}

/// One degradation at one level (1 = mild .. 4 = severe).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Degradation {
    pub kind: DegradationKind,
    pub level: u8,
}

/// Number of graded levels of every kind.
pub const LEVELS: u8 = 4;

impl DegradationKind {
    /// Every kind, in report order.
    pub const ALL: [DegradationKind; 10] = [
        DegradationKind::GaussianBlur,
        DegradationKind::MotionBlur,
        DegradationKind::Noise,
        DegradationKind::Jpeg,
        DegradationKind::Downscale,
        DegradationKind::OccludeEyes,
        DegradationKind::OccludeMouth,
        DegradationKind::Underexpose,
        DegradationKind::Overexpose,
        DegradationKind::Rotate,
    ];

    /// Short name used in file names and tables.
    pub fn name(self) -> &'static str {
        match self {
            DegradationKind::GaussianBlur => "gaussian_blur",
            DegradationKind::MotionBlur => "motion_blur",
            DegradationKind::Noise => "noise",
            DegradationKind::Jpeg => "jpeg",
            DegradationKind::Downscale => "downscale",
            DegradationKind::OccludeEyes => "occlude_eyes",
            DegradationKind::OccludeMouth => "occlude_mouth",
            DegradationKind::Underexpose => "underexpose",
            DegradationKind::Overexpose => "overexpose",
            DegradationKind::Rotate => "rotate",
        }
    }

    /// The physical parameter at `level` (1..=4), with its unit in [`Self::unit`].
    pub fn parameter(self, level: u8) -> f32 {
        let i = (level.clamp(1, LEVELS) - 1) as usize;
        let table: [f32; 4] = match self {
            DegradationKind::GaussianBlur => [1.0, 2.0, 3.0, 4.5],
            DegradationKind::MotionBlur => [5.0, 9.0, 13.0, 19.0],
            DegradationKind::Noise => [8.0, 16.0, 28.0, 45.0],
            DegradationKind::Jpeg => [30.0, 15.0, 8.0, 3.0],
            DegradationKind::Downscale => [2.0, 3.0, 4.0, 6.0],
            DegradationKind::OccludeEyes | DegradationKind::OccludeMouth => [8.0, 14.0, 20.0, 28.0],
            DegradationKind::Underexpose => [0.6, 0.4, 0.25, 0.12],
            DegradationKind::Overexpose => [1.5, 2.0, 2.8, 4.0],
            DegradationKind::Rotate => [10.0, 20.0, 30.0, 45.0],
        };
        table[i]
    }

    /// What [`Self::parameter`] measures.
    pub fn unit(self) -> &'static str {
        match self {
            DegradationKind::GaussianBlur => "sigma (px)",
            DegradationKind::MotionBlur => "kernel length (px)",
            DegradationKind::Noise => "noise std (grey levels)",
            DegradationKind::Jpeg => "JPEG quality",
            DegradationKind::Downscale => "down-and-up factor",
            DegradationKind::OccludeEyes | DegradationKind::OccludeMouth => {
                "bar height (px at 112)"
            }
            DegradationKind::Underexpose | DegradationKind::Overexpose => "gain",
            DegradationKind::Rotate => "degrees",
        }
    }
}

impl std::str::FromStr for DegradationKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        DegradationKind::ALL
            .into_iter()
            .find(|k| k.name() == s)
            .ok_or_else(|| {
                format!(
                    "unknown degradation '{s}'; known: {}",
                    DegradationKind::ALL.map(|k| k.name()).join(", ")
                )
            })
    }
}

/// Applies `d` to `img`. Random degradations (noise) use `seed`.
pub fn apply(img: &RgbImage, d: Degradation, seed: u64) -> RgbImage {
    let p = d.kind.parameter(d.level);
    match d.kind {
        DegradationKind::GaussianBlur => image::imageops::blur(img, p),
        DegradationKind::MotionBlur => motion_blur(img, p as usize),
        DegradationKind::Noise => noise(img, p, seed),
        DegradationKind::Jpeg => jpeg(img, p as u8),
        DegradationKind::Downscale => down_up(img, p),
        DegradationKind::OccludeEyes => bar(img, 51.6, p),
        DegradationKind::OccludeMouth => bar(img, 92.3, p),
        DegradationKind::Underexpose | DegradationKind::Overexpose => gain(img, p),
        DegradationKind::Rotate => rotate(img, p),
    }
}

/// Horizontal motion blur: mean over a centred window of `len` pixels (edges clamped).
pub fn motion_blur(img: &RgbImage, len: usize) -> RgbImage {
    let (w, h) = img.dimensions();
    let half = (len / 2) as i64;
    RgbImage::from_fn(w, h, |x, y| {
        let mut acc = [0u32; 3];
        for dx in -half..=half {
            let xx = (x as i64 + dx).clamp(0, w as i64 - 1) as u32;
            let p = img.get_pixel(xx, y).0;
            (0..3).for_each(|c| acc[c] += p[c] as u32);
        }
        let n = (2 * half + 1) as u32;
        Rgb(acc.map(|a| ((a + n / 2) / n) as u8))
    })
}

/// Additive Gaussian noise of standard deviation `sigma`, independent per channel as a
/// sensor's noise is. Seeded.
pub fn noise(img: &RgbImage, sigma: f32, seed: u64) -> RgbImage {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let mut out = img.clone();
    for v in out.iter_mut() {
        // Box-Muller.
        let (u1, u2): (f32, f32) = (rng.random::<f32>().max(1e-7), rng.random());
        let z = (-2.0 * u1.ln()).sqrt() * (std::f32::consts::TAU * u2).cos();
        *v = (*v as f32 + sigma * z).round().clamp(0.0, 255.0) as u8;
    }
    out
}

/// JPEG round trip at `quality` (1-100).
pub fn jpeg(img: &RgbImage, quality: u8) -> RgbImage {
    let mut buf = Vec::new();
    let enc = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut buf, quality);
    if img.write_with_encoder(enc).is_err() {
        return img.clone();
    }
    image::load_from_memory(&buf)
        .map(|i| i.to_rgb8())
        .unwrap_or_else(|_| img.clone())
}

/// Down-scaling by `factor` and back up (bilinear both ways): lost resolution.
pub fn down_up(img: &RgbImage, factor: f32) -> RgbImage {
    use image::imageops::{resize, FilterType::Triangle};
    let (w, h) = img.dimensions();
    let small = resize(
        img,
        ((w as f32 / factor).round() as u32).max(1),
        ((h as f32 / factor).round() as u32).max(1),
        Triangle,
    );
    resize(&small, w, h, Triangle)
}

/// A dark grey bar over the face width, centred at template height `y112`, `height112` tall.
pub fn bar(img: &RgbImage, y112: f32, height112: f32) -> RgbImage {
    let (w, h) = img.dimensions();
    let (sx, sy) = (w as f32 / 112.0, h as f32 / 112.0);
    let (y0, y1) = (
        ((y112 - height112 / 2.0) * sy).round().max(0.0) as u32,
        ((y112 + height112 / 2.0) * sy).round().min(h as f32) as u32,
    );
    let (x0, x1) = (
        (18.0 * sx).round() as u32,
        ((94.0 * sx).round() as u32).min(w),
    );
    let mut out = img.clone();
    for y in y0..y1 {
        for x in x0..x1 {
            out.put_pixel(x, y, Rgb([30, 30, 30]));
        }
    }
    out
}

/// Exposure: every value times `g`, clipped.
pub fn gain(img: &RgbImage, g: f32) -> RgbImage {
    let mut out = img.clone();
    out.iter_mut()
        .for_each(|v| *v = (*v as f32 * g).round().clamp(0.0, 255.0) as u8);
    out
}

/// In-plane rotation by `deg` degrees about the centre, bilinear, black outside.
pub fn rotate(img: &RgbImage, deg: f32) -> RgbImage {
    let (w, h) = img.dimensions();
    let (s, c) = deg.to_radians().sin_cos();
    let (cx, cy) = ((w as f32 - 1.0) / 2.0, (h as f32 - 1.0) / 2.0);
    RgbImage::from_fn(w, h, |x, y| {
        // Inverse mapping: where in the source does this output pixel come from?
        let (dx, dy) = (x as f32 - cx, y as f32 - cy);
        let (sx, sy) = (c * dx + s * dy + cx, -s * dx + c * dy + cy);
        sample_bilinear(img, sx, sy)
    })
}

fn sample_bilinear(img: &RgbImage, x: f32, y: f32) -> Rgb<u8> {
    let (w, h) = img.dimensions();
    if x < 0.0 || y < 0.0 || x > (w - 1) as f32 || y > (h - 1) as f32 {
        return Rgb([0, 0, 0]);
    }
    let (x0, y0) = (x.floor() as u32, y.floor() as u32);
    let (x1, y1) = ((x0 + 1).min(w - 1), (y0 + 1).min(h - 1));
    let (fx, fy) = (x - x0 as f32, y - y0 as f32);
    let p = |xx, yy| img.get_pixel(xx, yy).0.map(|v| v as f32);
    let (a, b, cc, d) = (p(x0, y0), p(x1, y0), p(x0, y1), p(x1, y1));
    Rgb(std::array::from_fn(|i| {
        let top = a[i] * (1.0 - fx) + b[i] * fx;
        let bot = cc[i] * (1.0 - fx) + d[i] * fx;
        (top * (1.0 - fy) + bot * fy).round().clamp(0.0, 255.0) as u8
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `kind` at `level` with seed 0.
    fn apply_kind(img: &RgbImage, kind: DegradationKind, level: u8) -> RgbImage {
        apply(img, Degradation { kind, level }, 0)
    }

    fn face_like() -> RgbImage {
        // A textured test image: gradients plus seeded white noise (high frequencies to lose,
        // and no periodic pattern a box filter could alias).
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        RgbImage::from_fn(112, 112, |x, y| {
            let t: u32 = rng.random_range(0..80);
            Rgb([(x + t) as u8, (y + t) as u8, (60 + t) as u8])
        })
    }

    /// Sum of squared horizontal differences: high-frequency energy.
    fn sharpness(img: &RgbImage) -> f64 {
        let (w, h) = img.dimensions();
        let mut s = 0.0;
        for y in 0..h {
            for x in 1..w {
                for c in 0..3 {
                    let d = img.get_pixel(x, y)[c] as f64 - img.get_pixel(x - 1, y)[c] as f64;
                    s += d * d;
                }
            }
        }
        s
    }

    fn mean(img: &RgbImage) -> f64 {
        img.iter().map(|&v| v as f64).sum::<f64>() / img.len() as f64
    }

    #[test]
    fn blur_kinds_lose_sharpness_monotonically() {
        let img = face_like();
        for kind in [
            DegradationKind::GaussianBlur,
            DegradationKind::MotionBlur,
            DegradationKind::Downscale,
        ] {
            let mut prev = sharpness(&img);
            for level in 1..=LEVELS {
                let s = sharpness(&apply(&img, Degradation { kind, level }, 0));
                assert!(
                    s < prev,
                    "{kind:?} level {level}: sharpness {s} not below {prev}"
                );
                prev = s;
            }
        }
    }

    #[test]
    fn motion_blur_matches_naive_window_mean() {
        let img = face_like();
        let out = motion_blur(&img, 5);
        for (x, y) in [(0u32, 0u32), (50, 60), (111, 3), (1, 100)] {
            for c in 0..3 {
                let vals: Vec<u32> = (-2i64..=2)
                    .map(|d| img.get_pixel((x as i64 + d).clamp(0, 111) as u32, y)[c] as u32)
                    .collect();
                let expect = ((vals.iter().sum::<u32>() as f64) / 5.0).round() as u8;
                assert!((out.get_pixel(x, y)[c] as i32 - expect as i32).abs() <= 1);
            }
        }
    }

    #[test]
    fn noise_has_the_stated_std_and_is_seeded() {
        let img = RgbImage::from_pixel(112, 112, Rgb([128, 128, 128]));
        for level in 1..=LEVELS {
            let d = Degradation {
                kind: DegradationKind::Noise,
                level,
            };
            let out = apply(&img, d, 7);
            let diffs: Vec<f64> = out.iter().map(|&v| v as f64 - 128.0).collect();
            let m = diffs.iter().sum::<f64>() / diffs.len() as f64;
            let sd = (diffs.iter().map(|d| (d - m) * (d - m)).sum::<f64>()
                / (diffs.len() - 1) as f64)
                .sqrt();
            let want = d.kind.parameter(level) as f64;
            assert!(
                (sd - want).abs() < 0.05 * want + 0.5,
                "level {level}: std {sd}, want {want}"
            );
            assert_eq!(out, apply(&img, d, 7));
            assert_ne!(out, apply(&img, d, 8));
        }
    }

    #[test]
    fn bars_cover_the_template_rows_only() {
        let img = RgbImage::from_pixel(112, 112, Rgb([200, 200, 200]));
        let out = apply_kind(&img, DegradationKind::OccludeEyes, 2);
        assert_eq!(out.get_pixel(56, 52).0, [30, 30, 30]); // between the eyes
        assert_eq!(out.get_pixel(56, 92).0, [200, 200, 200]); // mouth untouched
        assert_eq!(out.get_pixel(5, 52).0, [200, 200, 200]); // outside the face width
        let out = apply_kind(&img, DegradationKind::OccludeMouth, 4);
        assert_eq!(out.get_pixel(56, 92).0, [30, 30, 30]);
        assert_eq!(out.get_pixel(56, 52).0, [200, 200, 200]);
    }

    #[test]
    fn exposure_moves_the_mean_the_right_way() {
        let img = face_like();
        let m0 = mean(&img);
        let mut prev = m0;
        for level in 1..=LEVELS {
            let m = mean(&apply_kind(&img, DegradationKind::Underexpose, level));
            assert!(m < prev);
            prev = m;
        }
        let m1 = mean(&apply_kind(&img, DegradationKind::Overexpose, 1));
        assert!(m1 > m0);
    }

    #[test]
    fn rotation_matches_exact_quarter_turn_and_blacks_corners() {
        // 90 degrees about the centre of an even-sized image is an exact pixel permutation.
        let img = face_like();
        let out = rotate(&img, 90.0);
        for (x, y) in [(0u32, 0u32), (10, 20), (111, 50), (60, 111)] {
            // Output (x, y) samples source (cx + dy, cy - dx).
            let (sx, sy) = (y, 111 - x);
            assert_eq!(out.get_pixel(x, y), img.get_pixel(sx, sy), "at ({x},{y})");
        }
        let r = apply_kind(&img, DegradationKind::Rotate, 4);
        assert_eq!(r.get_pixel(0, 0).0, [0, 0, 0]);
        assert_eq!(rotate(&img, 0.0), img);
    }

    #[test]
    fn jpeg_quality_lowers_fidelity() {
        let img = face_like();
        let err = |q| -> f64 {
            jpeg(&img, q)
                .iter()
                .zip(img.iter())
                .map(|(a, b)| (*a as f64 - *b as f64).abs())
                .sum()
        };
        assert!(
            err(3) > err(15) && err(15) > err(30),
            "{} {} {}",
            err(3),
            err(15),
            err(30)
        );
    }

    #[test]
    fn names_round_trip() {
        for k in DegradationKind::ALL {
            assert_eq!(k.name().parse::<DegradationKind>().unwrap(), k);
        }
        assert!("fog"
            .parse::<DegradationKind>()
            .unwrap_err()
            .contains("gaussian_blur"));
    }
}
