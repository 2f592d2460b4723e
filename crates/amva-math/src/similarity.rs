//! How alike two finished maps are, beyond rank correlation (ALGORITHMS 1.7): the
//! structural similarity index (SSIM) and the Pearson correlation of histogram of
//! oriented gradients (HOG) features, the two measures Adebayo et al. (NeurIPS 2018)
//! report beside Spearman, computed as scikit-image computes them by default.

use crate::{check_len, MathError, Result};

/// SSIM of two maps with values in [0, 1] (`data_range` 1), as scikit-image's
/// `structural_similarity` with its defaults: a 7 x 7 uniform window, K1 = 0.01,
/// K2 = 0.03, sample (n - 1) covariances, averaged over the windows that fit inside the
/// map (a 3-pixel border is left out).
pub fn ssim(a: &[f64], b: &[f64], h: usize, w: usize) -> Result<f64> {
    check_shape("SSIM", a, b, h, w)?;
    const WIN: usize = 7;
    if h < WIN || w < WIN {
        return Err(MathError::TooFewValues {
            what: "SSIM (7 x 7 window)",
            needed: WIN * WIN,
            got: h * w,
        });
    }
    let (c1, c2) = (0.01f64.powi(2), 0.03f64.powi(2));
    let np = (WIN * WIN) as f64;
    let cov_norm = np / (np - 1.0);
    let table = |f: &dyn Fn(usize) -> f64| SummedArea::new(h, w, f);
    let sa = table(&|i| a[i]);
    let sb = table(&|i| b[i]);
    let saa = table(&|i| a[i] * a[i]);
    let sbb = table(&|i| b[i] * b[i]);
    let sab = table(&|i| a[i] * b[i]);
    let mut total = 0.0;
    let mut count = 0usize;
    for y in 0..=h - WIN {
        for x in 0..=w - WIN {
            let m = |t: &SummedArea| t.sum(y, x, WIN) / np;
            let (ux, uy) = (m(&sa), m(&sb));
            let vx = cov_norm * (m(&saa) - ux * ux);
            let vy = cov_norm * (m(&sbb) - uy * uy);
            let vxy = cov_norm * (m(&sab) - ux * uy);
            let num = (2.0 * ux * uy + c1) * (2.0 * vxy + c2);
            let den = (ux * ux + uy * uy + c1) * (vx + vy + c2);
            total += num / den;
            count += 1;
        }
    }
    Ok(total / count as f64)
}

/// Window sums in O(1) each: `t[y][x]` = sum of the values above and left of (y, x).
struct SummedArea {
    w: usize,
    t: Vec<f64>,
}

impl SummedArea {
    fn new(h: usize, w: usize, f: &dyn Fn(usize) -> f64) -> Self {
        let mut t = vec![0.0; (h + 1) * (w + 1)];
        for y in 0..h {
            let mut row = 0.0;
            for x in 0..w {
                row += f(y * w + x);
                t[(y + 1) * (w + 1) + x + 1] = t[y * (w + 1) + x + 1] + row;
            }
        }
        SummedArea { w, t }
    }

    /// Sum of the k x k window whose top left corner is (y, x).
    fn sum(&self, y: usize, x: usize, k: usize) -> f64 {
        let at = |y: usize, x: usize| self.t[y * (self.w + 1) + x];
        at(y + k, x + k) - at(y, x + k) - at(y + k, x) + at(y, x)
    }
}

/// HOG features of a map as scikit-image's `hog` computes them by default: gradients
/// by central differences (0 on the border rows and columns), 9 unsigned orientation
/// bins over [0, 180) degrees, 8 x 8 pixel cells (the magnitude-weighted votes averaged
/// over the cell), blocks of 3 x 3 cells normalised by L2-Hys (L2, clip at 0.2, L2
/// again, epsilon 1e-5), concatenated block by block.
pub fn hog(map: &[f64], h: usize, w: usize) -> Result<Vec<f64>> {
    check_len("HOG map", h * w, map.len())?;
    const BINS: usize = 9;
    const CELL: usize = 8;
    const BLOCK: usize = 3;
    let (cy, cx) = (h / CELL, w / CELL);
    if cy < BLOCK || cx < BLOCK {
        return Err(MathError::TooFewValues {
            what: "HOG (3 x 3 cells of 8 x 8 pixels)",
            needed: (BLOCK * CELL).pow(2),
            got: h * w,
        });
    }
    let mut cells = vec![0.0; cy * cx * BINS];
    for y in 0..cy * CELL {
        for x in 0..cx * CELL {
            let gy = if y == 0 || y == h - 1 {
                0.0
            } else {
                map[(y + 1) * w + x] - map[(y - 1) * w + x]
            };
            let gx = if x == 0 || x == w - 1 {
                0.0
            } else {
                map[y * w + x + 1] - map[y * w + x - 1]
            };
            let magnitude = (gx * gx + gy * gy).sqrt();
            let angle = gy.atan2(gx).to_degrees().rem_euclid(180.0);
            let bin = ((angle / (180.0 / BINS as f64)) as usize).min(BINS - 1);
            cells[((y / CELL) * cx + x / CELL) * BINS + bin] += magnitude / (CELL * CELL) as f64;
        }
    }
    let mut out = Vec::with_capacity((cy - BLOCK + 1) * (cx - BLOCK + 1) * BLOCK * BLOCK * BINS);
    for by in 0..=cy - BLOCK {
        for bx in 0..=cx - BLOCK {
            let mut block = Vec::with_capacity(BLOCK * BLOCK * BINS);
            for y in by..by + BLOCK {
                for x in bx..bx + BLOCK {
                    block.extend_from_slice(&cells[(y * cx + x) * BINS..(y * cx + x + 1) * BINS]);
                }
            }
            out.extend(l2_hys(block));
        }
    }
    Ok(out)
}

fn l2_hys(mut v: Vec<f64>) -> Vec<f64> {
    let eps = 1e-5f64;
    let norm = |v: &[f64]| (v.iter().map(|x| x * x).sum::<f64>() + eps * eps).sqrt();
    let n = norm(&v);
    v.iter_mut().for_each(|x| *x = (*x / n).min(0.2));
    let n = norm(&v);
    v.iter_mut().for_each(|x| *x /= n);
    v
}

/// Pearson correlation of the HOG features of two maps.
pub fn hog_pearson(a: &[f64], b: &[f64], h: usize, w: usize) -> Result<f64> {
    check_shape("HOG correlation", a, b, h, w)?;
    crate::compare::pearson(&hog(a, h, w)?, &hog(b, h, w)?)
}

fn check_shape(what: &'static str, a: &[f64], b: &[f64], h: usize, w: usize) -> Result<()> {
    if h == 0 || w == 0 {
        return Err(MathError::EmptyShape { what, h, w });
    }
    check_len(what, h * w, a.len())?;
    check_len(what, h * w, b.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identical_maps_have_ssim_one() {
        let a: Vec<f64> = (0..400).map(|i| ((i * 37) % 101) as f64 / 100.0).collect();
        assert!((ssim(&a, &a, 20, 20).unwrap() - 1.0).abs() < 1e-12);
        // 20 px hold 2 cells of 8: too few for one 3 x 3 block.
        assert!(hog(&a, 20, 20).is_err());
        let b: Vec<f64> = (0..576).map(|i| ((i * 37) % 101) as f64 / 100.0).collect();
        assert_eq!(hog(&b, 24, 24).unwrap().len(), 9 * 9);
    }
}
