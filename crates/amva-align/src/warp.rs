//! Pixel resampling the way OpenCV does it, so crops match those made with `cv2`:
//! `warpAffine` (bilinear, constant border 0; ALGORITHMS 8.4) and `resize` (`INTER_LINEAR`).
//! Arithmetic is in floating point; OpenCV's fixed-point rounding differs by at most
//! one grey level.

use crate::similarity::Similarity;
use image::{GrayImage, RgbImage};

/// The `w` x `h` image whose pixel `(x, y)` is `src` at `to_dst⁻¹(x, y)`, bilinearly
/// interpolated; neighbours outside `src` count as 0. Like `cv2.warpAffine(src, M, (w, h))`
/// with `M = to_dst.matrix()`: pixel centres at integer coordinates, no half-pixel shift.
/// A transform with zero scale gives a black image.
pub fn warp_similarity(src: &RgbImage, to_dst: &Similarity, w: u32, h: u32) -> RgbImage {
    let mut out = RgbImage::new(w, h);
    let Some(inv) = to_dst.inverse() else {
        return out;
    };
    for y in 0..h {
        for x in 0..w {
            let [sx, sy] = inv.apply([x as f64, y as f64]);
            out.put_pixel(x, y, image::Rgb(bilinear(src, sx, sy)));
        }
    }
    out
}

/// Bilinear sample of `src` at `(sx, sy)` (integer coordinates are pixel centres),
/// treating everything outside the image as 0.
pub fn bilinear(src: &RgbImage, sx: f64, sy: f64) -> [u8; 3] {
    if !sx.is_finite() || !sy.is_finite() {
        return [0; 3];
    }
    let (x0, y0) = (sx.floor(), sy.floor());
    let (fx, fy) = (sx - x0, sy - y0);
    let (w, h) = (src.width() as i64, src.height() as i64);
    // Far outside: all four neighbours are border.
    if x0 < -2.0 || y0 < -2.0 || x0 > w as f64 + 1.0 || y0 > h as f64 + 1.0 {
        return [0; 3];
    }
    let (x0, y0) = (x0 as i64, y0 as i64);
    let at = |x: i64, y: i64, c: usize| -> f64 {
        if x < 0 || y < 0 || x >= w || y >= h {
            0.0
        } else {
            src.get_pixel(x as u32, y as u32).0[c] as f64
        }
    };
    let mut px = [0u8; 3];
    for (c, v) in px.iter_mut().enumerate() {
        let top = at(x0, y0, c) * (1.0 - fx) + at(x0 + 1, y0, c) * fx;
        let bottom = at(x0, y0 + 1, c) * (1.0 - fx) + at(x0 + 1, y0 + 1, c) * fx;
        *v = round_u8(top * (1.0 - fy) + bottom * fy);
    }
    px
}

fn round_u8(v: f64) -> u8 {
    (v + 0.5).floor().clamp(0.0, 255.0) as u8
}

/// Source index and weight of the right/lower neighbour for destination index `d`,
/// as OpenCV's `INTER_LINEAR` resize computes them (half-pixel centres, clamped edges).
pub fn linear_tap(d: u32, scale: f64, src_len: u32) -> (u32, f64) {
    let f = (d as f64 + 0.5) * scale - 0.5;
    let mut i = f.floor();
    let mut frac = f - i;
    if i < 0.0 {
        i = 0.0;
        frac = 0.0;
    }
    if i >= (src_len - 1) as f64 {
        i = (src_len - 1) as f64;
        frac = 0.0;
    }
    (i as u32, frac)
}

/// Resizes to `w` x `h` like `cv2.resize(src, (w, h))` (bilinear, no antialiasing).
/// `src` must not be empty.
pub fn resize_linear(src: &RgbImage, w: u32, h: u32) -> RgbImage {
    let (sw, sh) = src.dimensions();
    let mut out = RgbImage::new(w, h);
    if sw == 0 || sh == 0 {
        return out;
    }
    let (scx, scy) = (sw as f64 / w as f64, sh as f64 / h as f64);
    let xs: Vec<(u32, f64)> = (0..w).map(|x| linear_tap(x, scx, sw)).collect();
    for y in 0..h {
        let (y0, fy) = linear_tap(y, scy, sh);
        let y1 = (y0 + 1).min(sh - 1);
        for (x, &(x0, fx)) in xs.iter().enumerate() {
            let x1 = (x0 + 1).min(sw - 1);
            let (p00, p10) = (src.get_pixel(x0, y0).0, src.get_pixel(x1, y0).0);
            let (p01, p11) = (src.get_pixel(x0, y1).0, src.get_pixel(x1, y1).0);
            let mut px = [0u8; 3];
            for c in 0..3 {
                let top = p00[c] as f64 * (1.0 - fx) + p10[c] as f64 * fx;
                let bottom = p01[c] as f64 * (1.0 - fx) + p11[c] as f64 * fx;
                px[c] = round_u8(top * (1.0 - fy) + bottom * fy);
            }
            out.put_pixel(x as u32, y, image::Rgb(px));
        }
    }
    out
}

/// Grey value of an RGB pixel with OpenCV's fixed-point `RGB2GRAY` weights
/// (0.299 R + 0.587 G + 0.114 B, rounded).
pub fn grey_value(p: [u8; 3]) -> u8 {
    ((p[0] as u32 * 4899 + p[1] as u32 * 9617 + p[2] as u32 * 1868 + 8192) >> 14) as u8
}

/// The grey version of an RGB image ([`grey_value`] per pixel).
pub fn to_grey(src: &RgbImage) -> GrayImage {
    GrayImage::from_fn(src.width(), src.height(), |x, y| {
        image::Luma([grey_value(src.get_pixel(x, y).0)])
    })
}
