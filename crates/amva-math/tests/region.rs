//! Face region masks (ALGORITHMS 4.2) against a brute-force hull test.

use amva_math::region::{
    convex_hull, face_region_mask, hull_mask, region_means, within_hull, Point, ARCFACE_112,
    DEFAULT_REGION_MARGIN,
};
use amva_math::MathError;
use proptest::prelude::*;

fn cross(o: Point, a: Point, b: Point) -> f64 {
    (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])
}

/// In the hull iff in some triangle of three input points (Carathéodory in 2-D).
fn naive_in_hull(points: &[Point], p: Point) -> bool {
    let n = points.len();
    for i in 0..n {
        for j in i + 1..n {
            for k in j + 1..n {
                let (a, b, c) = (points[i], points[j], points[k]);
                let (d1, d2, d3) = (cross(a, b, p), cross(b, c, p), cross(c, a, p));
                let neg = d1 < 0.0 || d2 < 0.0 || d3 < 0.0;
                let pos = d1 > 0.0 || d2 > 0.0 || d3 > 0.0;
                if !(neg && pos) && cross(a, b, c) != 0.0 {
                    return true;
                }
            }
        }
    }
    false
}

fn seg_dist(p: Point, a: Point, b: Point) -> f64 {
    // Sample-free closed form, written independently: project and clamp.
    let ab = [b[0] - a[0], b[1] - a[1]];
    let ap = [p[0] - a[0], p[1] - a[1]];
    let l2 = ab[0] * ab[0] + ab[1] * ab[1];
    let t = if l2 == 0.0 {
        0.0
    } else {
        ((ap[0] * ab[0] + ap[1] * ab[1]) / l2).clamp(0.0, 1.0)
    };
    ((ap[0] - t * ab[0]).powi(2) + (ap[1] - t * ab[1]).powi(2)).sqrt()
}

/// Distance from an outside point to the hull = min distance to any segment
/// between two input points (every such segment lies in the hull, and the hull
/// edges are among them).
fn naive_within(points: &[Point], p: Point, margin: f64) -> bool {
    if naive_in_hull(points, p) {
        return true;
    }
    let mut d = f64::INFINITY;
    for i in 0..points.len() {
        for j in i..points.len() {
            d = d.min(seg_dist(p, points[i], points[j]));
        }
    }
    d <= margin
}

fn naive_mask(points: &[Point], margin: f64, h: usize, w: usize) -> Vec<bool> {
    let mut m = Vec::new();
    for y in 0..h {
        for x in 0..w {
            m.push(naive_within(
                points,
                [x as f64 + 0.5, y as f64 + 0.5],
                margin,
            ));
        }
    }
    m
}

proptest! {
    #[test]
    fn mask_matches_brute_force(points in prop::collection::vec((0.0f64..20.0, 0.0f64..16.0).prop_map(|(x, y)| [x, y]), 1..8),
                                margin in prop_oneof![Just(0.0), 0.0f64..4.0], h in 1usize..18, w in 1usize..22) {
        let got = hull_mask(&points, margin, h, w).unwrap();
        let want = naive_mask(&points, margin, h, w);
        prop_assert_eq!(got, want);
        // Every input point lies in its own hull.
        let hull = convex_hull(&points);
        for p in &points {
            prop_assert!(within_hull(&hull, *p, 1e-9));
        }
    }
}

#[test]
fn template_is_the_arcface_one_from_algorithms_md() {
    let rounded = [
        (38.29, 51.70),
        (73.53, 51.50),
        (56.03, 71.74),
        (41.55, 92.37),
        (70.73, 92.20),
    ];
    for (p, (x, y)) in ARCFACE_112.iter().zip(rounded) {
        assert!(
            (p[0] - x).abs() < 0.005 && (p[1] - y).abs() < 0.005,
            "{p:?}"
        );
    }
    // All five are hull vertices except the nose, which lies inside.
    let hull = convex_hull(&ARCFACE_112);
    assert_eq!(hull.len(), 4);
    assert!(!hull.contains(&ARCFACE_112[2]));
}

#[test]
fn face_region_at_112_and_scaled() {
    let mask = face_region_mask(112, 112, DEFAULT_REGION_MARGIN).unwrap();
    let want = naive_mask(&ARCFACE_112, DEFAULT_REGION_MARGIN, 112, 112);
    assert_eq!(mask, want);
    let inside = mask.iter().filter(|&&m| m).count();
    // Hull area (trapezoid-like quad ~ 33 x 41 px) grown by 12 px: a few thousand pixels.
    assert!((2500..5000).contains(&inside), "{inside}");
    // Each landmark's pixel is inside even without margin growth of more than 1 px.
    let tight = face_region_mask(112, 112, 1.0).unwrap();
    for p in ARCFACE_112 {
        assert!(tight[p[1] as usize * 112 + p[0] as usize], "{p:?}");
    }
    // 224 x 224 is the template doubled; margin in the new grid's pixels.
    let big = face_region_mask(224, 224, 24.0).unwrap();
    let doubled: Vec<Point> = ARCFACE_112
        .iter()
        .map(|p| [2.0 * p[0], 2.0 * p[1]])
        .collect();
    assert_eq!(big, naive_mask(&doubled, 24.0, 224, 224));
    // 7 x 7 with the margin scaled along: centre in, corners out.
    let small = face_region_mask(7, 7, DEFAULT_REGION_MARGIN * 7.0 / 112.0).unwrap();
    assert!(small[3 * 7 + 3]);
    assert!(!small[0] && !small[6] && !small[48]);
}

#[test]
fn region_means_match_naive() {
    let mask = face_region_mask(112, 112, DEFAULT_REGION_MARGIN).unwrap();
    let map: Vec<f32> = (0..112 * 112)
        .map(|i| ((i * 31) % 97) as f32 / 96.0)
        .collect();
    let r = region_means(&map, &mask).unwrap();
    let (mut si, mut ni, mut so, mut no) = (0.0, 0, 0.0, 0);
    for (v, m) in map.iter().zip(&mask) {
        if *m {
            si += f64::from(*v);
            ni += 1;
        } else {
            so += f64::from(*v);
            no += 1;
        }
    }
    assert_eq!((r.n_inside, r.n_outside), (ni, no));
    assert!((r.inside - si / ni as f64).abs() < 1e-12);
    assert!((r.outside - so / no as f64).abs() < 1e-12);
    assert!((r.ratio - (so / no as f64) / (si / ni as f64)).abs() < 1e-12);
    assert_eq!(
        region_means(&[1.0f64, 2.0], &[true, true]).unwrap_err(),
        MathError::EmptyRegion {
            inside: 2,
            outside: 0
        }
    );
    assert!(matches!(
        region_means(&[1.0f64], &[true, false]),
        Err(MathError::LengthMismatch { .. })
    ));
    assert!(matches!(
        hull_mask(&[[1.0, 1.0]], -1.0, 4, 4),
        Err(MathError::InvalidParameter { .. })
    ));
    assert!(matches!(
        hull_mask(&[], 1.0, 4, 4),
        Err(MathError::TooFewValues { .. })
    ));
    assert!(matches!(
        hull_mask(&[[f64::NAN, 1.0]], 1.0, 4, 4),
        Err(MathError::NonFinite { .. })
    ));
    assert!(matches!(
        face_region_mask(0, 4, 1.0),
        Err(MathError::EmptyShape { .. })
    ));
}
