//! Map finishing (ALGORITHMS 1.5) against a textbook per-pixel implementation.

use amva_math::resample::{
    bilinear_upsample, finish_map, min_max_normalise, upsample_into, Upsampler,
};
use amva_math::MathError;
use proptest::prelude::*;

/// Textbook bilinear interpolation with half-pixel centres (align_corners=False),
/// one output pixel at a time, in f64.
fn naive_upsample(src: &[f32], h: usize, w: usize, oh: usize, ow: usize) -> Vec<f64> {
    naive_upsample_with(src, h, w, oh, ow, |o, n_in, n_out| {
        ((o as f64 + 0.5) * n_in as f64 / n_out as f64 - 0.5).max(0.0)
    })
}

/// The same, but with the source coordinate computed in f32 the way PyTorch's
/// CPU kernel does (`scale = (float)in / out; src = scale * (o + 0.5f) - 0.5f`).
/// When in / out is not a power of two, the f32 coordinate differs from the exact
/// one by up to ~1e-6 pixel, which moves the interpolated value by that times the
/// local slope.
fn naive_upsample_f32_coords(src: &[f32], h: usize, w: usize, oh: usize, ow: usize) -> Vec<f64> {
    naive_upsample_with(src, h, w, oh, ow, |o, n_in, n_out| {
        let scale = n_in as f32 / n_out as f32;
        f64::from((scale * (o as f32 + 0.5) - 0.5).max(0.0))
    })
}

fn naive_upsample_with(
    src: &[f32],
    h: usize,
    w: usize,
    oh: usize,
    ow: usize,
    source_coord: impl Fn(usize, usize, usize) -> f64,
) -> Vec<f64> {
    let coord = |o: usize, n_in: usize, n_out: usize| {
        let s = source_coord(o, n_in, n_out);
        let i0 = (s.floor() as usize).min(n_in - 1);
        let i1 = (i0 + 1).min(n_in - 1);
        let f = (s - i0 as f64).min(1.0);
        (i0, i1, f)
    };
    let at = |y: usize, x: usize| f64::from(src[y * w + x]);
    let mut out = Vec::with_capacity(oh * ow);
    for oy in 0..oh {
        let (y0, y1, fy) = coord(oy, h, oh);
        for ox in 0..ow {
            let (x0, x1, fx) = coord(ox, w, ow);
            let top = (1.0 - fx) * at(y0, x0) + fx * at(y0, x1);
            let bottom = (1.0 - fx) * at(y1, x0) + fx * at(y1, x1);
            out.push((1.0 - fy) * top + fy * bottom);
        }
    }
    out
}

/// Min-max to [0, 1]. `source_flat`: the low-resolution map was constant, which
/// makes the map flat by definition (its exact upsampling is constant too).
fn naive_min_max(v: &[f64], source_flat: bool) -> (Vec<f64>, bool) {
    let lo = v.iter().cloned().fold(f64::INFINITY, f64::min);
    let hi = v.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    if source_flat || hi == lo {
        (vec![0.0; v.len()], true)
    } else {
        (v.iter().map(|x| (x - lo) / (hi - lo)).collect(), false)
    }
}

fn all_equal(v: &[f32]) -> bool {
    v.iter().all(|&x| x == v[0])
}

fn assert_close(got: &[f32], want: &[f64], tol: f64) {
    assert_eq!(got.len(), want.len());
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(
            (f64::from(*g) - w).abs() <= tol,
            "index {i}: got {g}, want {w}"
        );
    }
}

fn map_strategy() -> impl Strategy<Value = (usize, usize, usize, usize, Vec<f32>)> {
    (1usize..9, 1usize..9, 1usize..40, 1usize..40).prop_flat_map(|(h, w, oh, ow)| {
        (
            Just(h),
            Just(w),
            Just(oh),
            Just(ow),
            prop::collection::vec(-2.0f32..2.0, h * w),
        )
    })
}

proptest! {
    #[test]
    fn upsample_matches_textbook_formula((h, w, oh, ow, src) in map_strategy()) {
        let got = bilinear_upsample(&src, h, w, oh, ow).unwrap();
        assert_close(&got, &naive_upsample_f32_coords(&src, h, w, oh, ow), 1e-6);
        // Against exact coordinates: off by at most the f32 coordinate error
        // (< 1e-6 px here) times the slope (< 4 per px for values in [-2, 2]).
        assert_close(&got, &naive_upsample(&src, h, w, oh, ow), 1e-5);
    }

    #[test]
    fn finish_map_is_relu_upsample_minmax((h, w, oh, ow, src) in map_strategy()) {
        let relu: Vec<f32> = src.iter().map(|v| v.max(0.0)).collect();
        let up = naive_upsample_f32_coords(&relu, h, w, oh, ow);
        let (want, want_flat) = naive_min_max(&up, all_equal(&relu));
        let got = finish_map(&src, h, w, oh, ow).unwrap();
        prop_assert_eq!(got.flat, want_flat);
        // Normalising divides by the span; keep the tolerance relative to it.
        let span = up.iter().cloned().fold(f64::NEG_INFINITY, f64::max)
            - up.iter().cloned().fold(f64::INFINITY, f64::min);
        let tol = if span > 0.0 { 1e-6 / span.min(1.0) } else { 0.0 };
        assert_close(&got.data, &want, tol.max(1e-6));
        if !got.flat {
            let lo = got.data.iter().cloned().fold(f32::INFINITY, f32::min);
            let hi = got.data.iter().cloned().fold(f32::NEG_INFINITY, f32::max);
            prop_assert_eq!((lo, hi), (0.0, 1.0));
        }
    }

    #[test]
    fn mask_into_is_upsample_then_minmax_without_relu((h, w, oh, ow, src) in map_strategy()) {
        let up = naive_upsample_f32_coords(&src, h, w, oh, ow);
        let (want, want_flat) = naive_min_max(&up, all_equal(&src));
        let sampler = Upsampler::new(h, w, oh, ow).unwrap();
        let mut dst = vec![f32::NAN; oh * ow];
        let range = sampler.mask_into(&src, &mut dst).unwrap();
        prop_assert_eq!(range.is_flat(), want_flat);
        if !want_flat {
            // The reported range is the source channel's, exactly.
            let lo = src.iter().cloned().fold(f32::INFINITY, f32::min);
            let hi = src.iter().cloned().fold(f32::NEG_INFINITY, f32::max);
            prop_assert_eq!((range.min, range.max), (lo, hi));
        }
        let up_span = up.iter().cloned().fold(f64::NEG_INFINITY, f64::max)
            - up.iter().cloned().fold(f64::INFINITY, f64::min);
        let tol = if want_flat { 0.0 } else { (1e-6 / up_span).max(1e-6) };
        assert_close(&dst, &want, tol);
    }
}

#[test]
fn pytorch_reference_2x2_to_4x4() {
    // torch.nn.functional.interpolate(torch.arange(4.).view(1, 1, 2, 2), size=(4, 4),
    //     mode="bilinear", align_corners=False), as PyTorch documents and prints it.
    let want = [
        0.0, 0.25, 0.75, 1.0, 0.5, 0.75, 1.25, 1.5, 1.5, 1.75, 2.25, 2.5, 2.0, 2.25, 2.75, 3.0,
    ];
    let got = bilinear_upsample(&[0.0, 1.0, 2.0, 3.0], 2, 2, 4, 4).unwrap();
    assert_eq!(got, want);
}

#[test]
fn seven_to_112_matches_textbook_and_reuse_is_identical() {
    let src: Vec<f32> = (0..49)
        .map(|i| ((i * 37) % 11) as f32 * 0.3 - 1.0)
        .collect();
    let sampler = Upsampler::new(7, 7, 112, 112).unwrap();
    let a = sampler.upsample(&src).unwrap();
    // 7 / 112 = 1 / 16 is exact in f32, so exact coordinates agree to rounding.
    assert_close(&a, &naive_upsample(&src, 7, 7, 112, 112), 1e-6);
    let mut b = vec![0.0; 112 * 112];
    upsample_into(&src, 7, 7, 112, 112, &mut b).unwrap();
    assert_eq!(a, b);
    let mut c = vec![0.0; 112 * 112];
    let flat = sampler.finish_into(&src, &mut c).unwrap();
    let f = finish_map(&src, 7, 7, 112, 112).unwrap();
    assert_eq!((flat, c), (f.flat, f.data));
}

#[test]
fn constant_and_all_negative_maps_are_flat_zeros() {
    // 7 -> 10 has inexact f32 weights: a constant map upsamples to rounding
    // noise, which must not be stretched to [0, 1].
    for (side, out) in [(7, 112), (7, 10), (1, 3)] {
        let f = finish_map(&vec![0.7; side * side], side, side, out, out).unwrap();
        assert!(f.flat, "{side} -> {out}");
        assert!(f.data.iter().all(|&v| v == 0.0));
        let s = Upsampler::new(side, side, out, out).unwrap();
        let mut dst = vec![1.0; out * out];
        let r = s.mask_into(&vec![0.3; side * side], &mut dst).unwrap();
        assert!(r.is_flat() && r.span() == 0.0);
        assert!(dst.iter().all(|&v| v == 0.0));
    }
    // ReLU turns an all-negative map into zeros: flat too.
    let f = finish_map(&[-1.0, -2.0, -3.0, -4.0], 2, 2, 8, 8).unwrap();
    assert!(f.flat);
    assert!(f.data.iter().all(|&v| v == 0.0));
}

#[test]
fn min_max_normalise_flags_nan_and_empty() {
    let mut v = [1.0, f32::NAN, 3.0];
    let r = min_max_normalise(&mut v);
    assert!(r.is_flat());
    assert_eq!(v, [0.0, 0.0, 0.0]);
    let mut e: [f32; 0] = [];
    assert!(min_max_normalise(&mut e).is_flat());
    let mut v = [2.0, 4.0, 3.0];
    let r = min_max_normalise(&mut v);
    assert_eq!((r.min, r.max), (2.0, 4.0));
    assert_eq!(v, [0.0, 1.0, 0.5]);
}

#[test]
fn bad_shapes_and_values_are_errors() {
    assert!(matches!(
        bilinear_upsample(&[0.0; 5], 2, 2, 4, 4),
        Err(MathError::LengthMismatch {
            expected: 4,
            got: 5,
            ..
        })
    ));
    assert!(matches!(
        Upsampler::new(0, 7, 112, 112),
        Err(MathError::EmptyShape { .. })
    ));
    assert!(matches!(
        Upsampler::new(7, 7, 112, 0),
        Err(MathError::EmptyShape { .. })
    ));
    let s = Upsampler::new(2, 2, 4, 4).unwrap();
    let mut small = [0.0; 15];
    assert!(matches!(
        s.upsample_into(&[0.0; 4], &mut small),
        Err(MathError::LengthMismatch {
            expected: 16,
            got: 15,
            ..
        })
    ));
    assert!(matches!(
        finish_map(&[0.0, f32::NAN, 0.0, 0.0], 2, 2, 4, 4),
        Err(MathError::NonFinite { index: 1, .. })
    ));
}
