//! Colour maps that reproduce matplotlib's byte output exactly.
//!
//! `jet` is built from matplotlib's own piecewise-linear segment data with the same
//! 256-entry lookup table and truncation to bytes that `cmap(v, bytes=True)` uses, so a
//! figure made here and one made by the paper's Python code colour a value identically.
//! `viridis` is matplotlib's 256-entry table (it has no segment data to rebuild it from).

use std::sync::LazyLock;

#[path = "viridis_table.rs"]
mod viridis_table;

/// Number of entries in matplotlib's default lookup tables (`Colormap.N`).
const N: usize = 256;

/// One channel of a matplotlib `LinearSegmentedColormap`: rows `(x, y0, y1)`.
type Segments = &'static [(f64, f64, f64)];

/// matplotlib `_cm._jet_data`, copied verbatim.
const JET_RED: Segments = &[
    (0.00, 0.0, 0.0),
    (0.35, 0.0, 0.0),
    (0.66, 1.0, 1.0),
    (0.89, 1.0, 1.0),
    (1.00, 0.5, 0.5),
];
const JET_GREEN: Segments = &[
    (0.000, 0.0, 0.0),
    (0.125, 0.0, 0.0),
    (0.375, 1.0, 1.0),
    (0.640, 1.0, 1.0),
    (0.910, 0.0, 0.0),
    (1.000, 0.0, 0.0),
];
const JET_BLUE: Segments = &[
    (0.00, 0.5, 0.5),
    (0.11, 1.0, 1.0),
    (0.34, 1.0, 1.0),
    (0.65, 0.0, 0.0),
    (1.00, 0.0, 0.0),
];

/// matplotlib `colors._create_lookup_table(N, data)` with gamma 1, one channel.
///
/// Mirrors numpy's arithmetic (`linspace` as `i * (1 / (N - 1))`, `searchsorted` left) so
/// that values landing near a byte boundary truncate the same way.
fn lookup_table(segments: Segments) -> [f64; N] {
    let scale = (N - 1) as f64;
    let step = 1.0 / scale;
    let mut lut = [0.0; N];
    lut[0] = segments[0].2;
    lut[N - 1] = segments[segments.len() - 1].1;
    for (i, slot) in lut.iter_mut().enumerate().take(N - 1).skip(1) {
        let xind = scale * (i as f64 * step);
        // First breakpoint with x >= xind (numpy searchsorted, side='left').
        let ind = segments
            .iter()
            .position(|s| s.0 * scale >= xind)
            .unwrap_or(segments.len() - 1)
            .max(1);
        let (x0, _, y1_prev) = segments[ind - 1];
        let (x1, y0_next, _) = segments[ind];
        let distance = (xind - x0 * scale) / (x1 * scale - x0 * scale);
        *slot = distance * (y0_next - y1_prev) + y1_prev;
    }
    lut.map(|v| v.clamp(0.0, 1.0))
}

/// matplotlib's `(lut * 255).astype(np.uint8)`: truncation, not rounding.
fn to_byte(v: f64) -> u8 {
    (v * 255.0) as u8
}

static JET: LazyLock<[[u8; 3]; N]> = LazyLock::new(|| {
    let (r, g, b) = (
        lookup_table(JET_RED),
        lookup_table(JET_GREEN),
        lookup_table(JET_BLUE),
    );
    std::array::from_fn(|i| [to_byte(r[i]), to_byte(g[i]), to_byte(b[i])])
});

/// matplotlib's mapping of a float to a lookup-table index: `floor(v * N)`, with `v == 1`
/// and values above 1 on the last entry and values below 0 on the first (matplotlib's
/// default under/over colours are the end colours). `None` for NaN.
fn lut_index(v: f32) -> Option<usize> {
    if v.is_nan() {
        return None;
    }
    // v * 256 is exact in f32 (a power of two), as in matplotlib's float32 path.
    let x = v * N as f32;
    Some(if x < 0.0 {
        0
    } else if x >= (N - 1) as f32 {
        N - 1
    } else {
        x as usize
    })
}

/// The colour matplotlib's `'jet'` gives `v` (in `[0, 1]`) with `bytes=True`.
///
/// Values outside `[0, 1]` get the end colours. NaN gives black (matplotlib's "bad"
/// colour is transparent black).
///
/// ```
/// assert_eq!(amva_draw::jet(0.0), [0, 0, 127]);
/// assert_eq!(amva_draw::jet(1.0), [127, 0, 0]);
/// ```
pub fn jet(v: f32) -> [u8; 3] {
    lut_index(v).map_or([0, 0, 0], |i| JET[i])
}

/// The colour matplotlib's `'viridis'` gives `v` (in `[0, 1]`) with `bytes=True`;
/// out-of-range values and NaN as in [`jet`].
pub fn viridis(v: f32) -> [u8; 3] {
    lut_index(v).map_or([0, 0, 0], |i| viridis_table::VIRIDIS[i])
}

/// ColorBrewer's 11-class RdBu, reversed (blue, white, red): matplotlib's `'RdBu_r'`
/// anchors, in 0-1.
const RDBU_R: [[f64; 3]; 11] = [
    [0.0196078431372549, 0.18823529411764706, 0.3803921568627451],
    [0.12941176470588237, 0.4, 0.6745098039215687],
    [0.2627450980392157, 0.5764705882352941, 0.7647058823529411],
    [0.5725490196078431, 0.7725490196078432, 0.8705882352941177],
    [0.8196078431372549, 0.8980392156862745, 0.9411764705882353],
    [0.9686274509803922, 0.9686274509803922, 0.9686274509803922],
    [0.9921568627450981, 0.8588235294117647, 0.7803921568627451],
    [0.9568627450980393, 0.6470588235294118, 0.5098039215686274],
    [0.8392156862745098, 0.3764705882352941, 0.30196078431372547],
    [0.6980392156862745, 0.09411764705882353, 0.16862745098039217],
    [0.403921568627451, 0.0, 0.12156862745098039],
];

/// The colour of `v` (in `[0, 1]`) in matplotlib's diverging `'RdBu_r'`: blue below the
/// middle, white at 0.5, red above (for signed differences on a range symmetric about
/// 0): matplotlib's 256-entry table, its 11 anchors interpolated linearly in the same
/// floating-point steps, bytes truncated as with `bytes=True`. Out-of-range values and
/// NaN as in [`jet`].
///
/// ```
/// assert_eq!(amva_draw::rdbu_r(0.0), [5, 48, 97]);
/// assert_eq!(amva_draw::rdbu_r(1.0), [103, 0, 31]);
/// ```
pub fn rdbu_r(v: f32) -> [u8; 3] {
    lut_index(v).map_or([0, 0, 0], |i| {
        // In matplotlib's floating-point steps: anchors 1 - linspace(0, 1, 11) reversed,
        // scaled by 255 with the table's positions 255 * linspace(0, 1, 256).
        let last = RDBU_R.len() - 1;
        let lin = |m: usize| if m == last { 1.0 } else { m as f64 * 0.1 };
        let anchor = |j: usize| (1.0 - lin(last - j)) * (N - 1) as f64;
        let step = 1.0 / (N - 1) as f64;
        let x = (N - 1) as f64 * if i == N - 1 { 1.0 } else { i as f64 * step };
        let k = (0..last).rev().find(|&k| anchor(k) < x).unwrap_or(0);
        let t = (x - anchor(k)) / (anchor(k + 1) - anchor(k));
        let (a, b) = (RDBU_R[k], RDBU_R[k + 1]);
        std::array::from_fn(|c| ((t * (b[c] - a[c]) + a[c]) * 255.0) as u8)
    })
}

/// A colour map for heatmaps and colour bars.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Colormap {
    /// matplotlib `'jet'`, the paper's map (see [`jet`]).
    #[default]
    Jet,
    /// matplotlib `'viridis'`, perceptually uniform (see [`viridis`]).
    Viridis,
    /// matplotlib `'RdBu_r'`, diverging, for signed differences (see [`rdbu_r`]).
    RdBuR,
}

impl Colormap {
    /// The colour of `v` in `[0, 1]`.
    pub fn map(self, v: f32) -> [u8; 3] {
        match self {
            Colormap::Jet => jet(v),
            Colormap::Viridis => viridis(v),
            Colormap::RdBuR => rdbu_r(v),
        }
    }

    /// matplotlib's name of the map.
    pub fn name(self) -> &'static str {
        match self {
            Colormap::Jet => "jet",
            Colormap::Viridis => "viridis",
            Colormap::RdBuR => "RdBu_r",
        }
    }
}
