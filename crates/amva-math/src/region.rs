//! The central face region (ALGORITHMS 4.2): the convex hull of the five
//! reference landmarks of the alignment template, grown by a margin, as a pixel
//! mask; and mean map values inside and outside it.
//!
//! Coordinates are continuous with pixel `(x, y)` covering `[x, x + 1) x [y, y + 1)`;
//! a pixel belongs to the region when its centre `(x + 0.5, y + 0.5)` lies inside
//! the hull or within `margin` pixels of it.
//!
//! ```
//! use amva_math::region::{face_region_mask, DEFAULT_REGION_MARGIN};
//! let mask = face_region_mask(112, 112, DEFAULT_REGION_MARGIN).unwrap();
//! assert!(mask[72 * 112 + 56]);  // the nose tip is inside
//! assert!(!mask[0]);             // the corner is not
//! ```

use crate::{check_len, MathError, Result};

/// A point `[x, y]` in pixels.
pub type Point = [f64; 2];

/// Side of the square frame the ArcFace template is defined in.
pub const ARCFACE_SIZE: f64 = 112.0;

/// The ArcFace 112 x 112 five-point template (insightface `arcface_dst`): left
/// eye, right eye, nose tip, left and right mouth corners, as `[x, y]`.
pub const ARCFACE_112: [Point; 5] = [
    [38.2946, 51.6963],
    [73.5318, 51.5014],
    [56.0252, 71.7366],
    [41.5493, 92.3655],
    [70.7299, 92.2041],
];

/// The template for a `size` x `size` crop: [`ARCFACE_112`] scaled by `size / 112`.
pub fn arcface_template(size: u32) -> [Point; 5] {
    let s = size as f64 / ARCFACE_SIZE;
    ARCFACE_112.map(|[x, y]| [x * s, y * s])
}

/// Default growth of the region, in pixels of a 112 x 112 frame.
pub const DEFAULT_REGION_MARGIN: f64 = 12.0;

fn cross(o: Point, a: Point, b: Point) -> f64 {
    (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])
}

/// Convex hull of `points` (Andrew's monotone chain), counter-clockwise in a
/// y-up frame (clockwise on screen), without repeated or collinear vertices.
/// Fewer than three distinct points come back as they are (deduplicated).
pub fn convex_hull(points: &[Point]) -> Vec<Point> {
    let mut p: Vec<Point> = points.to_vec();
    p.sort_by(|a, b| a[0].total_cmp(&b[0]).then(a[1].total_cmp(&b[1])));
    p.dedup();
    if p.len() < 3 {
        return p;
    }
    let chain = |points: &mut dyn Iterator<Item = Point>| {
        let mut c: Vec<Point> = Vec::with_capacity(p.len());
        for q in points {
            while c.len() >= 2 && cross(c[c.len() - 2], c[c.len() - 1], q) <= 0.0 {
                c.pop();
            }
            c.push(q);
        }
        // The last point of each chain is the first of the other.
        c.pop();
        c
    };
    let mut hull = chain(&mut p.iter().copied());
    hull.extend(chain(&mut p.iter().rev().copied()));
    hull
}

fn segment_distance(p: Point, a: Point, b: Point) -> f64 {
    let (dx, dy) = (b[0] - a[0], b[1] - a[1]);
    let len2 = dx * dx + dy * dy;
    let t = if len2 > 0.0 {
        (((p[0] - a[0]) * dx + (p[1] - a[1]) * dy) / len2).clamp(0.0, 1.0)
    } else {
        0.0
    };
    let (cx, cy) = (a[0] + t * dx - p[0], a[1] + t * dy - p[1]);
    (cx * cx + cy * cy).sqrt()
}

/// True when `p` is inside the convex polygon `hull` (as returned by
/// [`convex_hull`]) or within `margin` of it. Boundary points are inside.
pub fn within_hull(hull: &[Point], p: Point, margin: f64) -> bool {
    let n = hull.len();
    if n == 0 {
        return false;
    }
    if n >= 3 && (0..n).all(|i| cross(hull[i], hull[(i + 1) % n], p) >= 0.0) {
        return true;
    }
    let dist = if n == 1 {
        segment_distance(p, hull[0], hull[0])
    } else {
        (0..n)
            .map(|i| segment_distance(p, hull[i], hull[(i + 1) % n]))
            .fold(f64::INFINITY, f64::min)
    };
    dist <= margin
}

/// Mask (`h x w`, row-major) of the pixels whose centre lies in the convex hull
/// of `points` or within `margin` pixels of it. Points are in the same pixel
/// frame as the mask. Errors on a zero side, a non-finite point or a negative or
/// non-finite margin.
pub fn hull_mask(points: &[Point], margin: f64, h: usize, w: usize) -> Result<Vec<bool>> {
    if h == 0 || w == 0 {
        return Err(MathError::EmptyShape {
            what: "region mask",
            h,
            w,
        });
    }
    if !(margin >= 0.0 && margin.is_finite()) {
        return Err(MathError::InvalidParameter {
            what: "region margin (pixels)",
            value: margin,
            expected: "a finite number >= 0",
        });
    }
    let flat: Vec<f64> = points.iter().flatten().copied().collect();
    crate::check_finite("region landmark coordinate", &flat)?;
    if points.is_empty() {
        return Err(MathError::TooFewValues {
            what: "region landmarks",
            needed: 1,
            got: 0,
        });
    }
    let hull = convex_hull(points);
    let mut mask = Vec::with_capacity(h * w);
    for y in 0..h {
        for x in 0..w {
            mask.push(within_hull(&hull, [x as f64 + 0.5, y as f64 + 0.5], margin));
        }
    }
    Ok(mask)
}

/// The central face region for an `h x w` map aligned to the ArcFace template:
/// the template scaled by `(w / 112, h / 112)`, its hull grown by `margin`
/// pixels **of the `h x w` grid** (to keep the 112-frame margin m on another
/// grid pass `m * w / 112`).
pub fn face_region_mask(h: usize, w: usize, margin: f64) -> Result<Vec<bool>> {
    let (sx, sy) = (w as f64 / ARCFACE_SIZE, h as f64 / ARCFACE_SIZE);
    let points: Vec<Point> = ARCFACE_112.iter().map(|p| [p[0] * sx, p[1] * sy]).collect();
    hull_mask(&points, margin, h, w)
}

/// Mean of a map inside and outside a region.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RegionMeans {
    /// Mean over the pixels where the mask is true.
    pub inside: f64,
    /// Mean over the pixels where the mask is false.
    pub outside: f64,
    /// `outside / inside` (infinite or NaN when `inside` is 0).
    pub ratio: f64,
    /// Number of pixels inside.
    pub n_inside: usize,
    /// Number of pixels outside.
    pub n_outside: usize,
}

/// Mean of `map` inside and outside `mask` (same length). Errors when the lengths
/// differ or either side of the mask is empty.
pub fn region_means<T: Copy + Into<f64>>(map: &[T], mask: &[bool]) -> Result<RegionMeans> {
    check_len(
        "region mask (one flag per map value)",
        map.len(),
        mask.len(),
    )?;
    let (mut si, mut so, mut ni, mut no) = (0.0, 0.0, 0usize, 0usize);
    for (&v, &inside) in map.iter().zip(mask) {
        let v: f64 = v.into();
        if inside {
            si += v;
            ni += 1;
        } else {
            so += v;
            no += 1;
        }
    }
    if ni == 0 || no == 0 {
        return Err(MathError::EmptyRegion {
            inside: ni,
            outside: no,
        });
    }
    let (inside, outside) = (si / ni as f64, so / no as f64);
    Ok(RegionMeans {
        inside,
        outside,
        ratio: outside / inside,
        n_inside: ni,
        n_outside: no,
    })
}
