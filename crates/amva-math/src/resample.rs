//! The common ending of every activation map (ALGORITHMS 1.5): ReLU, bilinear
//! upsampling with half-pixel centres, min-max normalisation to [0, 1].
//!
//! Upsampling reproduces PyTorch's
//! `F.interpolate(x, size=(out_h, out_w), mode="bilinear", align_corners=False)`
//! step by step, in `f32` like PyTorch's CPU kernel:
//!
//! ```text
//! scale = in / out                      (f32)
//! src   = max(scale * (i + 0.5) - 0.5, 0)
//! i0    = min(floor(src), in - 1);  i1 = i0 + (i0 < in - 1)
//! l1    = clamp(src - i0, 0, 1);    l0 = 1 - l1   (l1 = 0 when i1 == i0: same value, no rounding noise)
//! out   = l0y * (l0x * s[y0,x0] + l1x * s[y0,x1]) + l1y * (l0x * s[y1,x0] + l1x * s[y1,x1])
//! ```
//!
//! Written by hand rather than taken from a resize crate because bit-level
//! agreement with PyTorch's index and weight rules (source clamped at 0, edge
//! clamp, `f32` weights) is the point, and the tables are tiny.
//!
//! ```
//! use amva_math::resample::{finish_map, Upsampler};
//! let low = vec![0.0_f32, 1.0, 2.0, 3.0];
//! let full = finish_map(&low, 2, 2, 4, 4).unwrap();
//! assert!(!full.flat);
//! assert_eq!(full.data.len(), 16);
//!
//! // Reuse the index/weight tables for many maps of the same size.
//! let up = Upsampler::new(2, 2, 4, 4).unwrap();
//! let mut mask = vec![0.0_f32; 16];
//! let range = up.mask_into(&low, &mut mask).unwrap();
//! assert_eq!((range.min, range.max), (0.0, 3.0));
//! ```

use crate::{check_len, MathError, Result};

/// Interpolation table of one axis: for every output index the two source
/// indices and their weights.
#[derive(Debug, Clone, PartialEq)]
struct Axis {
    i0: Vec<usize>,
    i1: Vec<usize>,
    l0: Vec<f32>,
    l1: Vec<f32>,
}

impl Axis {
    /// PyTorch's `area_pixel_compute_source_index` + `compute_source_index_and_lambda`
    /// for `align_corners=False` and no explicit scale factor.
    fn new(in_size: usize, out_size: usize) -> Self {
        let scale = in_size as f32 / out_size as f32;
        let last = in_size - 1;
        let mut axis = Axis {
            i0: Vec::with_capacity(out_size),
            i1: Vec::with_capacity(out_size),
            l0: Vec::with_capacity(out_size),
            l1: Vec::with_capacity(out_size),
        };
        for i in 0..out_size {
            let src = (scale * (i as f32 + 0.5) - 0.5).max(0.0);
            // src >= 0, so the cast truncates towards zero = floor.
            let i0 = (src as usize).min(last);
            let i1 = if i0 < last { i0 + 1 } else { i0 };
            // When both taps hit the same pixel PyTorch still splits the weight
            // (l0 * v + l1 * v), which can be 1 ulp off v; weight 1 on one tap is
            // the same value without that noise, so constant edges stay constant.
            let l1 = if i1 == i0 {
                0.0
            } else {
                (src - i0 as f32).clamp(0.0, 1.0)
            };
            axis.i0.push(i0);
            axis.i1.push(i1);
            axis.l0.push(1.0 - l1);
            axis.l1.push(l1);
        }
        axis
    }
}

/// Bilinear upsampler for one fixed pair of sizes, with its index and weight
/// tables computed once. Cheap to share across threads (`&self` only).
#[derive(Debug, Clone, PartialEq)]
pub struct Upsampler {
    h: usize,
    w: usize,
    out_h: usize,
    out_w: usize,
    rows: Axis,
    cols: Axis,
}

/// Minimum and maximum of a buffer before min-max normalisation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MinMax {
    /// Smallest value (NaN if the buffer held a NaN).
    pub min: f32,
    /// Largest value (NaN if the buffer held a NaN).
    pub max: f32,
}

impl MinMax {
    /// `max - min`.
    pub fn span(&self) -> f32 {
        self.max - self.min
    }

    /// True when normalisation is impossible: max equals min, a NaN was present,
    /// or the span is infinite. Such buffers are set to all zeros.
    pub fn is_flat(&self) -> bool {
        let span = self.span();
        !(span > 0.0 && span.is_finite())
    }
}

/// A finished full-resolution map.
#[derive(Debug, Clone, PartialEq)]
pub struct FinishedMap {
    /// `out_h * out_w` values in [0, 1], row-major.
    pub data: Vec<f32>,
    /// True when the upsampled map was constant (max == min) and `data` is all
    /// zeros. Callers count these in the run summary.
    pub flat: bool,
}

impl Upsampler {
    /// Tables for upsampling `h x w` maps to `out_h x out_w`.
    ///
    /// Errors with [`MathError::EmptyShape`] when a side is zero.
    pub fn new(h: usize, w: usize, out_h: usize, out_w: usize) -> Result<Self> {
        if h == 0 || w == 0 {
            return Err(MathError::EmptyShape {
                what: "upsampling source",
                h,
                w,
            });
        }
        if out_h == 0 || out_w == 0 {
            return Err(MathError::EmptyShape {
                what: "upsampling output",
                h: out_h,
                w: out_w,
            });
        }
        Ok(Upsampler {
            h,
            w,
            out_h,
            out_w,
            rows: Axis::new(h, out_h),
            cols: Axis::new(w, out_w),
        })
    }

    /// Source shape `(h, w)`.
    pub fn source_shape(&self) -> (usize, usize) {
        (self.h, self.w)
    }

    /// Output shape `(out_h, out_w)`.
    pub fn output_shape(&self) -> (usize, usize) {
        (self.out_h, self.out_w)
    }

    /// Upsamples `src` (`h * w`, row-major) into `dst` (`out_h * out_w`). No allocation.
    pub fn upsample_into(&self, src: &[f32], dst: &mut [f32]) -> Result<()> {
        self.check(src, dst)?;
        self.interpolate(src, dst, |v| v);
        Ok(())
    }

    /// Output rows `y0..y1` of the ReLU'd, upsampled `src` into `dst` (`(y1 - y0) *
    /// out_w` values), bit for bit the same rows as the whole upsampling: for readers
    /// that need a few rows of every map (the block passes of the median).
    ///
    /// # Panics
    /// When `src` is not `h * w` values, `y1` exceeds `out_h` or `dst` has the wrong
    /// length (caller bugs, not input errors).
    pub fn upsample_rows_into(&self, src: &[f32], y0: usize, y1: usize, dst: &mut [f32]) {
        assert!(src.len() == self.h * self.w && y0 <= y1 && y1 <= self.out_h);
        assert_eq!(dst.len(), (y1 - y0) * self.out_w);
        self.interpolate_rows(src, y0, dst, |v| if v < 0.0 { 0.0 } else { v });
    }

    /// Upsamples `src` into a new buffer.
    pub fn upsample(&self, src: &[f32]) -> Result<Vec<f32>> {
        let mut dst = vec![0.0; self.out_h * self.out_w];
        self.upsample_into(src, &mut dst)?;
        Ok(dst)
    }

    /// Score-CAM mask of one activation channel: upsample (no ReLU) into `dst`,
    /// then min-max normalise `dst` in place. No allocation.
    ///
    /// Returns the range of the **source** channel, which is exact, so that the
    /// caller can skip channels whose `span()` is below its threshold (1e-12 in
    /// ALGORITHMS 1.1): upsampling a constant channel in `f32` leaves rounding
    /// noise of about 1e-7 that would otherwise pass such a test. A flat channel
    /// comes back as all zeros.
    pub fn mask_into(&self, src: &[f32], dst: &mut [f32]) -> Result<MinMax> {
        self.check(src, dst)?;
        let range = min_max(src.iter().copied());
        if range.is_flat() {
            dst.fill(0.0);
            return Ok(range);
        }
        self.interpolate(src, dst, |v| v);
        let out = min_max_normalise(dst);
        // Downsampling can skip the pixels that made the source non-constant.
        Ok(if out.is_flat() { out } else { range })
    }

    /// The common ending into a caller buffer: ReLU, upsample, min-max to [0, 1].
    /// Returns true when the map was flat (then `dst` is all zeros). No allocation.
    ///
    /// Flatness is decided on the ReLU'd source map (all values equal), not on
    /// the upsampled one, where `f32` weights leave rounding noise on a constant
    /// map; and, when downsampling, also when the output itself is constant.
    pub fn finish_into(&self, src: &[f32], dst: &mut [f32]) -> Result<bool> {
        self.check(src, dst)?;
        // NaN passes through (NaN < 0 is false) so the map is reported flat, not hidden.
        let relu = |v: f32| if v < 0.0 { 0.0 } else { v };
        if min_max(src.iter().map(|&v| relu(v))).is_flat() {
            dst.fill(0.0);
            return Ok(true);
        }
        // Bilinear weights are non-negative, so the ReLU can be applied on the fly
        // while reading the source instead of in a scratch copy.
        self.interpolate(src, dst, relu);
        Ok(min_max_normalise(dst).is_flat())
    }

    /// The common ending into a new [`FinishedMap`].
    pub fn finish(&self, src: &[f32]) -> Result<FinishedMap> {
        let mut data = vec![0.0; self.out_h * self.out_w];
        let flat = self.finish_into(src, &mut data)?;
        Ok(FinishedMap { data, flat })
    }

    fn check(&self, src: &[f32], dst: &[f32]) -> Result<()> {
        check_len("upsampling source", self.h * self.w, src.len())?;
        check_len("upsampling output", self.out_h * self.out_w, dst.len())
    }

    #[inline]
    fn interpolate(&self, src: &[f32], dst: &mut [f32], load: impl Fn(f32) -> f32) {
        self.interpolate_rows(src, 0, dst, load);
    }

    /// Output rows `y0..` (as many as `dst` holds) of the interpolation.
    fn interpolate_rows(&self, src: &[f32], y0: usize, dst: &mut [f32], load: impl Fn(f32) -> f32) {
        let cols = &self.cols;
        for (oy, out_row) in (y0..).zip(dst.chunks_exact_mut(self.out_w)) {
            let r0 = &src[self.rows.i0[oy] * self.w..][..self.w];
            let r1 = &src[self.rows.i1[oy] * self.w..][..self.w];
            let (wy0, wy1) = (self.rows.l0[oy], self.rows.l1[oy]);
            for (ox, out) in out_row.iter_mut().enumerate() {
                let (x0, x1) = (cols.i0[ox], cols.i1[ox]);
                let (wx0, wx1) = (cols.l0[ox], cols.l1[ox]);
                let top = wx0 * load(r0[x0]) + wx1 * load(r0[x1]);
                let bottom = wx0 * load(r1[x0]) + wx1 * load(r1[x1]);
                *out = wy0 * top + wy1 * bottom;
            }
        }
    }
}

/// Bilinear upsampling of one `h x w` map to `out_h x out_w`, exactly like
/// PyTorch `F.interpolate(mode="bilinear", align_corners=False)`.
/// For many maps of one size, build an [`Upsampler`] once instead.
pub fn bilinear_upsample(
    src: &[f32],
    h: usize,
    w: usize,
    out_h: usize,
    out_w: usize,
) -> Result<Vec<f32>> {
    Upsampler::new(h, w, out_h, out_w)?.upsample(src)
}

/// Like [`bilinear_upsample`] but writes into `dst` (`out_h * out_w` values).
pub fn upsample_into(
    src: &[f32],
    h: usize,
    w: usize,
    out_h: usize,
    out_w: usize,
    dst: &mut [f32],
) -> Result<()> {
    Upsampler::new(h, w, out_h, out_w)?.upsample_into(src, dst)
}

/// Min-max normalises `data` in place to [0, 1]: `(x - min) / (max - min)`.
///
/// Returns the range before normalisation. When it [`is_flat`](MinMax::is_flat)
/// (max == min, a NaN anywhere, or an infinite span) every value is set to 0.
/// An empty buffer is flat.
pub fn min_max_normalise(data: &mut [f32]) -> MinMax {
    let range = min_max(data.iter().copied());
    if range.is_flat() {
        data.fill(0.0);
    } else {
        let span = range.span();
        for v in data.iter_mut() {
            *v = (*v - range.min) / span;
        }
    }
    range
}

/// Minimum and maximum; both NaN if any value is NaN; (+inf, -inf) when empty.
fn min_max(values: impl Iterator<Item = f32>) -> MinMax {
    let mut range = MinMax {
        min: f32::INFINITY,
        max: f32::NEG_INFINITY,
    };
    for v in values {
        if v.is_nan() {
            return MinMax {
                min: f32::NAN,
                max: f32::NAN,
            };
        }
        range.min = range.min.min(v);
        range.max = range.max.max(v);
    }
    range
}

/// The common ending of every activation map: ReLU, bilinear upsample
/// (half-pixel centres) to `out_h x out_w`, min-max to [0, 1]. A map that is
/// constant after ReLU becomes all zeros with `flat = true` (see
/// [`Upsampler::finish_into`]).
///
/// Errors when `m` is not `h * w` long, a side is zero, or `m` holds a
/// non-finite value (a NaN map is a bug upstream, not a flat map).
pub fn finish_map(
    m: &[f32],
    h: usize,
    w: usize,
    out_h: usize,
    out_w: usize,
) -> Result<FinishedMap> {
    if let Some(index) = m.iter().position(|v| !v.is_finite()) {
        return Err(MathError::NonFinite {
            what: "low-resolution map",
            index,
            value: f64::from(m[index]),
        });
    }
    Upsampler::new(h, w, out_h, out_w)?.finish(m)
}
