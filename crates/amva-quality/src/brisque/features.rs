//! The 36 BRISQUE features (Mittal et al. 2012) exactly as the PyPI `brisque`
//! package computes them, which is what the published LIVE model was fitted to:
//!
//! 1. grey = 0.2125 R + 0.7154 G + 0.0721 B on [0, 1] (scikit-image `rgb2gray`);
//! 2. MSCN coefficients `(I - mu) / (sigma + 1/255)`, with `mu` and `E[I^2]` from a
//!    normalised 7x7 Gaussian (sigma 7/6) convolved "same" with **zero** padding
//!    (`scipy.signal.convolve2d`), `sigma = sqrt(|mu^2 - E[I^2]|)`;
//! 3. an asymmetric generalised Gaussian (AGGD) fit by moment matching of the MSCN
//!    coefficients (alpha, (sl^2 + sr^2) / 2) and of their four neighbour products
//!    (horizontal, vertical, main and secondary diagonal: alpha, mean, sl^2, sr^2);
//! 4. the same 18 numbers again on the image halved by bicubic interpolation as
//!    OpenCV's `resize(fx=0.5, INTER_CUBIC)` does it (a = -0.75, edge pixels
//!    replicated, output size rounded half to even).
//!
//! The AGGD shape is the root of `Γ(2/a)^2 / (Γ(1/a) Γ(3/a)) = R̂`; the package finds
//! it with `scipy.optimize.root` from 0.2, this module by bisection (the left side
//! rises monotonically from 0 to 3/4, so the root is unique).

use image::RgbImage;

/// Number of BRISQUE features.
pub const FEATURES: usize = 36;

/// A grey image of `f64` values, row-major.
#[derive(Debug, Clone, PartialEq)]
pub struct Plane {
    pub width: usize,
    pub height: usize,
    pub data: Vec<f64>,
}

impl Plane {
    fn at(&self, x: usize, y: usize) -> f64 {
        self.data[y * self.width + x]
    }
}

/// scikit-image's `rgb2gray` of an 8-bit image: ITU-R 709 luma of the [0, 1] values.
pub fn grey(img: &RgbImage) -> Plane {
    let data = img
        .pixels()
        .map(|p| {
            let [r, g, b] = p.0.map(|v| v as f64 / 255.0);
            r * 0.2125 + g * 0.7154 + b * 0.0721
        })
        .collect();
    Plane {
        width: img.width() as usize,
        height: img.height() as usize,
        data,
    }
}

/// numpy's pairwise summation of a short contiguous array (`np.sum` for n <= 128):
/// eight running sums, combined as ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7)),
/// then the remainder added in order.
fn numpy_sum(a: &[f64]) -> f64 {
    let n = a.len();
    if n < 8 {
        return a.iter().fold(0.0, |s, v| s + v);
    }
    let mut r = [0.0; 8];
    r.copy_from_slice(&a[..8]);
    let mut i = 8;
    while i < n - n % 8 {
        for j in 0..8 {
            r[j] += a[i + j];
        }
        i += 8;
    }
    let mut res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
    for v in &a[i..] {
        res += v;
    }
    res
}

/// The normalised 7x7 Gaussian of the package (sigma 7/6, centred at index 3), computed
/// with numpy's operation order so that it is bit-identical: flat image regions then
/// give the same tiny rounding residues, whose signs decide which side of the AGGD
/// fit a zero-ish coefficient falls on.
fn gaussian_kernel() -> [[f64; 7]; 7] {
    let sigma: f64 = 7.0 / 6.0;
    let s2 = sigma * sigma;
    let mut flat = [0.0; 49];
    for (i, v) in flat.iter_mut().enumerate() {
        let (dx, dy) = ((i % 7) as i64 - 3, (i / 7) as i64 - 3);
        let d2 = -(dx * dx + dy * dy) as f64;
        *v = 1.0 / (2.0 * std::f64::consts::PI * s2) * (d2 / (2.0 * s2)).exp();
    }
    let sum = numpy_sum(&flat);
    std::array::from_fn(|y| std::array::from_fn(|x| flat[y * 7 + x] / sum))
}

/// `scipy.signal.convolve2d(image, kernel, 'same')` with zero fill, in scipy's order of
/// summation (kernel rows, then columns, against the flipped image window), so the
/// result is bit-identical.
fn convolve_same(p: &Plane, k: &[[f64; 7]; 7]) -> Plane {
    let (w, h) = (p.width as isize, p.height as isize);
    let mut out = vec![0.0; p.data.len()];
    for y in 0..h {
        for x in 0..w {
            let mut s = 0.0;
            for (j, row) in k.iter().enumerate() {
                let sy = y + 3 - j as isize;
                if sy < 0 || sy >= h {
                    continue;
                }
                for (i, kv) in row.iter().enumerate() {
                    let sx = x + 3 - i as isize;
                    if sx >= 0 && sx < w {
                        s += kv * p.data[(sy * w + sx) as usize];
                    }
                }
            }
            out[(y * w + x) as usize] = s;
        }
    }
    Plane {
        width: p.width,
        height: p.height,
        data: out,
    }
}

/// Mean-subtracted contrast-normalised coefficients of a [0, 1] grey image.
pub fn mscn(p: &Plane) -> Plane {
    const C: f64 = 1.0 / 255.0;
    let k = gaussian_kernel();
    let mu = convolve_same(p, &k);
    let sq = Plane {
        width: p.width,
        height: p.height,
        data: p.data.iter().map(|v| v * v).collect(),
    };
    let mu_sq = convolve_same(&sq, &k);
    let data = p
        .data
        .iter()
        .zip(&mu.data)
        .zip(&mu_sq.data)
        .map(|((i, m), m2)| (i - m) / ((m * m - m2).abs().sqrt() + C))
        .collect();
    Plane {
        width: p.width,
        height: p.height,
        data,
    }
}

/// Parameters of an asymmetric generalised Gaussian fit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Aggd {
    /// Shape.
    pub alpha: f64,
    /// Mean of the fitted distribution.
    pub mean: f64,
    /// Left and right scale (root mean square of the negative / non-negative values).
    pub sigma_l: f64,
    pub sigma_r: f64,
}

/// `ln Γ(x)` for x > 0.
fn ln_gamma(x: f64) -> f64 {
    libm::lgamma(x)
}

/// `Γ(2/a)^2 / (Γ(1/a) Γ(3/a))`, rising from 0 (a -> 0) to 3/4 (a -> inf).
fn phi(a: f64) -> f64 {
    (2.0 * ln_gamma(2.0 / a) - ln_gamma(1.0 / a) - ln_gamma(3.0 / a)).exp()
}

/// The shape `a` with `phi(a) = target`, by bisection on [0.01, 100] (clamped to the
/// ends when the target lies outside phi's range there).
fn solve_shape(target: f64) -> f64 {
    let (mut lo, mut hi) = (0.01_f64, 100.0_f64);
    if !target.is_finite() {
        return f64::NAN;
    }
    if target <= phi(lo) {
        return lo;
    }
    if target >= phi(hi) {
        return hi;
    }
    // Bisection to the last bit: ~60 halvings of [0.01, 100].
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if mid <= lo || mid >= hi {
            break;
        }
        if phi(mid) < target {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    0.5 * (lo + hi)
}

/// Moment-matching AGGD fit of `values` (the package's `asymmetric_generalized_gaussian_fit`).
/// An empty side (e.g. no negative values) gives NaN parameters, as in the package.
pub fn aggd_fit(values: impl Iterator<Item = f64>) -> Aggd {
    let (mut n, mut abs_sum, mut sq_sum) = (0usize, 0.0, 0.0);
    let (mut ln, mut lsq, mut rn, mut rsq) = (0usize, 0.0, 0usize, 0.0);
    for v in values {
        n += 1;
        abs_sum += v.abs();
        sq_sum += v * v;
        if v < 0.0 {
            ln += 1;
            lsq += v * v;
        } else {
            rn += 1;
            rsq += v * v;
        }
    }
    let nf = n as f64;
    let r_hat = (abs_sum / nf).powi(2) / (sq_sum / nf);
    let sigma_l = (lsq / ln as f64).sqrt();
    let sigma_r = (rsq / rn as f64).sqrt();
    let gamma = sigma_l / sigma_r;
    let big_r = r_hat * (gamma.powi(3) + 1.0) * (gamma + 1.0) / (gamma * gamma + 1.0).powi(2);
    let alpha = solve_shape(big_r);
    let (g1, g2, g3) = (
        ln_gamma(1.0 / alpha),
        ln_gamma(2.0 / alpha),
        ln_gamma(3.0 / alpha),
    );
    let constant = (0.5 * (g1 - g3)).exp();
    let mean = (sigma_r - sigma_l) * constant * (g2 - g1).exp();
    Aggd {
        alpha,
        mean,
        sigma_l,
        sigma_r,
    }
}

/// The 18 features of one scale.
pub fn scale_features(p: &Plane) -> [f64; 18] {
    let m = mscn(p);
    let (w, h) = (m.width, m.height);
    let mut out = [0.0; 18];
    let a = aggd_fit(m.data.iter().copied());
    out[0] = a.alpha;
    out[1] = (a.sigma_l * a.sigma_l + a.sigma_r * a.sigma_r) / 2.0;
    // Neighbour products in the package's order: horizontal, vertical, main
    // diagonal, secondary diagonal. (dx0, dy0) and (dx1, dy1) are the two
    // neighbours' offsets from the top-left of each product.
    let offsets = [
        ((0, 0), (1, 0)),
        ((0, 0), (0, 1)),
        ((0, 0), (1, 1)),
        ((0, 1), (1, 0)),
    ];
    for (i, ((ax, ay), (bx, by))) in offsets.into_iter().enumerate() {
        let (pw, ph) = (w - (ax.max(bx)), h - (ay.max(by)));
        let products = (0..ph)
            .flat_map(|y| (0..pw).map(move |x| (x, y)))
            .map(|(x, y)| m.at(x + ax, y + ay) * m.at(x + bx, y + by));
        let a = aggd_fit(products);
        out[2 + 4 * i] = a.alpha;
        out[3 + 4 * i] = a.mean;
        out[4 + 4 * i] = a.sigma_l * a.sigma_l;
        out[5 + 4 * i] = a.sigma_r * a.sigma_r;
    }
    out
}

/// OpenCV's bicubic weights at fraction 1/2 (a = -0.75).
const HALF_CUBIC: [f64; 4] = [-0.09375, 0.59375, 0.59375, -0.09375];

/// `cv2.resize(p, None, fx=0.5, fy=0.5, interpolation=INTER_CUBIC)`: output sizes
/// rounded half to even; output pixel i reads source pixels 2i-1 .. 2i+2 (replicated
/// at the edges), horizontal pass first.
pub fn half_cubic(p: &Plane) -> Plane {
    let half = |n: usize| ((n as f64) * 0.5).round_ties_even() as usize;
    let (ow, oh) = (half(p.width), half(p.height));
    let clamp = |i: isize, n: usize| i.clamp(0, n as isize - 1) as usize;
    let mut tmp = vec![0.0; ow * p.height];
    for y in 0..p.height {
        for x in 0..ow {
            let mut s = 0.0;
            for (k, c) in HALF_CUBIC.iter().enumerate() {
                s += p.at(clamp(2 * x as isize - 1 + k as isize, p.width), y) * c;
            }
            tmp[y * ow + x] = s;
        }
    }
    let mut data = vec![0.0; ow * oh];
    for y in 0..oh {
        for x in 0..ow {
            let mut s = 0.0;
            for (k, c) in HALF_CUBIC.iter().enumerate() {
                s += tmp[clamp(2 * y as isize - 1 + k as isize, p.height) * ow + x] * c;
            }
            data[y * ow + x] = s;
        }
    }
    Plane {
        width: ow,
        height: oh,
        data,
    }
}

/// Smallest width and height BRISQUE is computed for (both scales need neighbours).
pub const MIN_SIDE: u32 = 8;

/// The 36 features of an image: 18 at full size, 18 at half size. NaN for images
/// smaller than [`MIN_SIDE`] and for flat images (the fits are undefined).
pub fn features(img: &RgbImage) -> [f64; FEATURES] {
    let mut out = [f64::NAN; FEATURES];
    if img.width() < MIN_SIDE || img.height() < MIN_SIDE {
        return out;
    }
    let g = grey(img);
    out[..18].copy_from_slice(&scale_features(&g));
    out[18..].copy_from_slice(&scale_features(&half_cubic(&g)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lcg(seed: &mut u64) -> f64 {
        *seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (*seed >> 11) as f64 / (1u64 << 53) as f64
    }

    fn random_plane(w: usize, h: usize, seed: u64) -> Plane {
        let mut s = seed;
        Plane {
            width: w,
            height: h,
            data: (0..w * h).map(|_| lcg(&mut s)).collect(),
        }
    }

    /// Naive "same" convolution: flipped kernel over a zero-padded copy.
    fn naive_convolve(p: &Plane, k: &[[f64; 7]; 7]) -> Vec<f64> {
        let (w, h) = (p.width as isize, p.height as isize);
        let get = |x: isize, y: isize| {
            if x < 0 || y < 0 || x >= w || y >= h {
                0.0
            } else {
                p.data[(y * w + x) as usize]
            }
        };
        let mut out = Vec::new();
        for y in 0..h {
            for x in 0..w {
                let mut s = 0.0;
                for i in 0..7isize {
                    for j in 0..7isize {
                        // convolution: out[y,x] = sum k[i,j] * in[y - (i-3), x - (j-3)]
                        s += k[i as usize][j as usize] * get(x - (j - 3), y - (i - 3));
                    }
                }
                out.push(s);
            }
        }
        out
    }

    #[test]
    fn kernel_is_bit_identical_to_numpy() {
        // From numpy 1.26: np.sum(g).hex(), k[3,3].hex(), k[0,0].hex() of the package's kernel.
        let k = gaussian_kernel();
        assert_eq!(k[3][3], f64::from_bits(0x3fbe0db00311d7f1));
        assert_eq!(k[0][0], f64::from_bits(0x3f24ad805ce81344));
        let v: Vec<f64> = (0..49).map(|i| i as f64 * 0.1 + 1.0 / 3.0).collect();
        // Pairwise differs from a left fold here; check the definition on a case by hand.
        let by_hand = {
            let mut r: Vec<f64> = v[..8].to_vec();
            for blk in 1..6 {
                for j in 0..8 {
                    r[j] += v[blk * 8 + j];
                }
            }
            ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7])) + v[48]
        };
        assert_eq!(numpy_sum(&v), by_hand);
    }

    #[test]
    fn convolution_matches_naive_zero_padded_version() {
        let p = random_plane(13, 9, 3);
        let k = gaussian_kernel();
        let total: f64 = k.iter().flatten().sum();
        assert!((total - 1.0).abs() < 1e-15);
        let fast = convolve_same(&p, &k).data;
        for (a, b) in fast.iter().zip(naive_convolve(&p, &k)) {
            assert!((a - b).abs() < 1e-14);
        }
    }

    #[test]
    fn shape_solver_inverts_phi() {
        for a in [0.2, 0.5, 1.0, 2.0, 3.7, 10.0] {
            let got = solve_shape(phi(a));
            assert!((got - a).abs() < 1e-9 * a.max(1.0), "{a} -> {got}");
        }
        // Gaussian: phi(2) = Γ(1)^2 / (Γ(1/2) Γ(3/2)) = 2/π.
        assert!((phi(2.0) - 2.0 / std::f64::consts::PI).abs() < 1e-14);
    }

    /// Samples of an AGGD by inverse CDF of |x|^a (a Gamma(1/a) variable), naive.
    #[test]
    fn aggd_fit_recovers_a_gaussian_and_a_laplacian() {
        // Box-Muller normal samples with sigma 0.7: alpha ~ 2, sigma_l ~ sigma_r ~ 0.7, mean ~ 0.
        let mut s = 11u64;
        let normal: Vec<f64> = (0..200_000)
            .map(|_| {
                let (u, v) = (lcg(&mut s).max(1e-300), lcg(&mut s));
                0.7 * (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
            })
            .collect();
        let a = aggd_fit(normal.iter().copied());
        assert!((a.alpha - 2.0).abs() < 0.05, "{a:?}");
        assert!(
            (a.sigma_l - 0.7).abs() < 0.01 && (a.sigma_r - 0.7).abs() < 0.01,
            "{a:?}"
        );
        assert!(a.mean.abs() < 0.01, "{a:?}");
        // Laplacian (alpha = 1), asymmetric scales 0.5 left and 1.0 right (in RMS terms:
        // exponential with scale b has RMS b*sqrt(2)).
        let lap: Vec<f64> = (0..200_000)
            .map(|i| {
                let e = -lcg(&mut s).max(1e-300).ln();
                if i % 2 == 0 {
                    -0.5 * e
                } else {
                    1.0 * e
                }
            })
            .collect();
        let a = aggd_fit(lap.iter().copied());
        assert!((a.sigma_l - 0.5 * 2f64.sqrt()).abs() < 0.02, "{a:?}");
        assert!((a.sigma_r - 2f64.sqrt()).abs() < 0.04, "{a:?}");
        // Moment matching of the generalised ratio gives alpha near 1 for this mixture.
        assert!((a.alpha - 1.0).abs() < 0.1, "{a:?}");
    }

    #[test]
    #[allow(clippy::needless_range_loop)] // the naive version indexes on purpose
    fn half_cubic_matches_naive_formula_with_replicated_edges() {
        for (w, h) in [(8usize, 8usize), (9, 5), (112, 112), (7, 3)] {
            let p = random_plane(w, h, (w * 31 + h) as u64);
            let d = half_cubic(&p);
            assert_eq!(
                (d.width, d.height),
                (
                    ((w as f64) / 2.0).round_ties_even() as usize,
                    ((h as f64) / 2.0).round_ties_even() as usize
                )
            );
            // Naive: 2-D weights w[i] * w[j], separable by definition.
            let src = |x: isize, y: isize| {
                p.at(
                    x.clamp(0, w as isize - 1) as usize,
                    y.clamp(0, h as isize - 1) as usize,
                )
            };
            for y in 0..d.height {
                for x in 0..d.width {
                    let mut s = 0.0;
                    for i in 0..4 {
                        for j in 0..4 {
                            s += HALF_CUBIC[i]
                                * HALF_CUBIC[j]
                                * src(
                                    2 * x as isize - 1 + j as isize,
                                    2 * y as isize - 1 + i as isize,
                                );
                        }
                    }
                    assert!((s - d.at(x, y)).abs() < 1e-13);
                }
            }
        }
        // The weights are Keys' cubic with a = -0.75 at t = 1/2 and 3/2 and sum to one.
        let keys = |t: f64| {
            let a = -0.75;
            let t = t.abs();
            if t <= 1.0 {
                (a + 2.0) * t.powi(3) - (a + 3.0) * t * t + 1.0
            } else {
                a * t.powi(3) - 5.0 * a * t * t + 8.0 * a * t - 4.0 * a
            }
        };
        assert_eq!(HALF_CUBIC, [keys(1.5), keys(0.5), keys(0.5), keys(1.5)]);
    }

    #[test]
    fn mscn_of_a_flat_image_is_zero_inside() {
        let p = Plane {
            width: 20,
            height: 20,
            data: vec![0.5; 400],
        };
        let m = mscn(&p);
        // Away from the zero-padded border the local mean is the value itself.
        assert!(m.at(10, 10).abs() < 1e-6);
        // At the border the zero padding pulls the mean down: positive coefficients.
        assert!(m.at(0, 0) > 0.1);
    }
}
