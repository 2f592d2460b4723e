//! Pair maps (ALGORITHMS 1.8): why two faces match or fail. For image a compared with
//! image b, the *similar* map marks the regions of a that support the match with b and
//! the *dissimilar* map the regions that work against it. Both are driven by the
//! cosine similarity s(x) = cos(f(x), e_b) to the other image's embedding, the way the
//! single-image maps are driven by the image's own embedding.
//!
//! A map is a set of square windows (side `window`, step `stride`, the last window of
//! each row and column flush with the border). Each window i gives one number from one
//! pass of the model, the change of the similarity when the window is filled:
//! d_i = s(x with window i filled) - s(x). Grey filling (0 in input space, as the
//! faithfulness curves) removes what the window shows: d_i < 0 where it supported the
//! match. Filling from the other image (`Swap`: both faces are aligned to one
//! template, so its window shows the same part of the face) asks what would change if
//! a looked like b there: d_i > 0 where a works against the match.
//!
//! The low-resolution map is the window values (rows x columns of windows); the full
//! map puts each value at its window's centre, bilinear between centres and the nearest
//! value beyond the outermost ones, then min-max to [0, 1] ([`PairGrid::interpolate`],
//! [`finish`]).

use crate::{Error, Result};
use amva_model::{FrModel, Layout};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

/// The windows of one occlusion grid on a `width` x `height` image.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grid {
    pub window: usize,
    pub stride: usize,
}

/// A grid placed on an image: window corners by row and column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PairGrid {
    pub grid: Grid,
    pub width: usize,
    pub height: usize,
    pub xs: Vec<usize>,
    pub ys: Vec<usize>,
}

/// Window corners along one side: 0, stride, 2 stride, ..., the last flush with the end.
fn corners(side: usize, window: usize, stride: usize) -> Vec<usize> {
    let last = side - window;
    let mut c: Vec<usize> = (0..)
        .map(|i| i * stride)
        .take_while(|&p| p < last)
        .collect();
    c.push(last);
    c
}

impl PairGrid {
    /// The grid on a `width` x `height` image; the window must fit and the stride be >= 1.
    pub fn new(grid: Grid, width: usize, height: usize) -> Result<Self> {
        if grid.window == 0 || grid.window > width.min(height) || grid.stride == 0 {
            return Err(Error::BadParameter {
                what: "pair-map grid",
                value: format!("window {} stride {}", grid.window, grid.stride),
                expected: "a window of 1 to the image's side in pixels and a stride >= 1",
            });
        }
        Ok(PairGrid {
            grid,
            width,
            height,
            xs: corners(width, grid.window, grid.stride),
            ys: corners(height, grid.window, grid.stride),
        })
    }

    /// Number of windows (rows x columns), one model pass each.
    pub fn len(&self) -> usize {
        self.xs.len() * self.ys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// (rows, columns) of the low-resolution map.
    pub fn shape(&self) -> (usize, usize) {
        (self.ys.len(), self.xs.len())
    }

    /// Top-left corner (x, y) of window i (row-major).
    pub fn corner(&self, i: usize) -> (usize, usize) {
        (self.xs[i % self.xs.len()], self.ys[i / self.xs.len()])
    }

    /// The full-size map of window values, interpolated: each window's value sits at
    /// its centre; a pixel centre between window centres is bilinear in the four around
    /// it (the centres need not be evenly spaced: the last window is flush), and beyond
    /// the outermost centres the nearest value holds.
    pub fn interpolate(&self, values: &[f32]) -> Vec<f32> {
        let half = self.grid.window as f64 / 2.0;
        let weights = |corners: &[usize], side: usize| -> Vec<(usize, usize, f64)> {
            let c: Vec<f64> = corners.iter().map(|&p| p as f64 + half).collect();
            (0..side)
                .map(|p| {
                    let x = p as f64 + 0.5;
                    match c.iter().position(|&ci| ci > x) {
                        Some(0) => (0, 0, 0.0),
                        None => (c.len() - 1, c.len() - 1, 0.0),
                        Some(j) => (j - 1, j, (x - c[j - 1]) / (c[j] - c[j - 1])),
                    }
                })
                .collect()
        };
        let (wx, wy) = (
            weights(&self.xs, self.width),
            weights(&self.ys, self.height),
        );
        let cols = self.xs.len();
        let v = |r: usize, c: usize| values[r * cols + c] as f64;
        let mut out = Vec::with_capacity(self.width * self.height);
        for &(r0, r1, ty) in &wy {
            for &(c0, c1, tx) in &wx {
                let top = v(r0, c0) * (1.0 - tx) + v(r0, c1) * tx;
                let bottom = v(r1, c0) * (1.0 - tx) + v(r1, c1) * tx;
                out.push((top * (1.0 - ty) + bottom * ty) as f32);
            }
        }
        out
    }
}

/// Min-max to [0, 1]; a constant map becomes all zeros (as every finished map).
pub fn finish(mut map: Vec<f32>) -> Vec<f32> {
    amva_math::resample::min_max_normalise(&mut map);
    map
}

/// Writes `x` with the window at (x0, y0) of side `k` replaced by `fill` (grey, 0,
/// when `None`) into `out`; images are `width` pixels wide in `layout`.
pub fn fill_window(
    x: &[f32],
    fill: Option<&[f32]>,
    (x0, y0, k): (usize, usize, usize),
    width: usize,
    layout: Layout,
    out: &mut [f32],
) {
    out.copy_from_slice(x);
    let pixels = x.len() / 3;
    for y in y0..y0 + k {
        for p in y * width + x0..y * width + x0 + k {
            for c in 0..3 {
                let at = match layout {
                    Layout::Nchw => c * pixels + p,
                    Layout::Nhwc => p * 3 + c,
                };
                out[at] = fill.map_or(0.0, |f| f[at]);
            }
        }
    }
}

/// d_i = cos(f(x with window i filled), target) - base for every window of `grid`, the
/// passes spread over the cores in chunks of `batch`.
pub fn window_deltas(
    model: &FrModel,
    x: &[f32],
    fill: Option<&[f32]>,
    target: &[f32],
    base: f32,
    grid: &PairGrid,
    batch: usize,
) -> Result<Vec<f32>> {
    let per = model.input_len();
    let layout = model.spec.preprocess.layout;
    let windows: Vec<usize> = (0..grid.len()).collect();
    let d = model.embedding_dim;
    let out = windows
        .par_chunks(batch.max(1))
        .map_init(
            || vec![0.0f32; batch.max(1) * per],
            |buf, chunk| -> Result<Vec<f32>> {
                for (slot, &i) in buf.chunks_exact_mut(per).zip(chunk) {
                    let (x0, y0) = grid.corner(i);
                    fill_window(
                        x,
                        fill,
                        (x0, y0, grid.grid.window),
                        grid.width,
                        layout,
                        slot,
                    );
                }
                let f = model.forward(&buf[..chunk.len() * per], chunk.len())?;
                Ok(f.embeddings
                    .chunks_exact(d)
                    .map(|e| amva_model::fr::cosine(e, target) - base)
                    .collect())
            },
        )
        .collect::<Result<Vec<_>>>()?;
    Ok(out.concat())
}

/// What fills a window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Fill {
    /// 0 in input space (mid-grey after normalisation): the window's content removed.
    Grey,
    /// The other image's same window (both faces on one template).
    Other,
}

/// One set of passes: a grid and what fills its windows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Probe {
    pub grid: Grid,
    pub fill: Fill,
}

impl Probe {
    pub const fn new(window: usize, stride: usize, fill: Fill) -> Self {
        Probe {
            grid: Grid { window, stride },
            fill,
        }
    }
}

/// How the two maps of a pair are made: the similar map is ReLU(-d) of its probe, the
/// dissimilar map ReLU(d) of its own; when both probes are the same, their passes are
/// shared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PairMethod {
    pub similar: Probe,
    pub dissimilar: Probe,
}

/// The pair-map methods by name (`amva compare --method`), the default first. Every
/// method tried and its measured quality is in docs/comparisons.md.
pub const PAIR_METHODS: [(&str, PairMethod); 5] = [
    (
        "swap",
        PairMethod {
            similar: Probe::new(24, 12, Fill::Grey),
            dissimilar: Probe::new(32, 20, Fill::Other),
        },
    ),
    (
        "swap-fast",
        PairMethod {
            similar: Probe::new(56, 28, Fill::Grey),
            dissimilar: Probe::new(32, 20, Fill::Other),
        },
    ),
    (
        "swap-fine",
        PairMethod {
            similar: Probe::new(32, 16, Fill::Grey),
            dissimilar: Probe::new(28, 8, Fill::Other),
        },
    ),
    (
        "occlusion",
        PairMethod {
            similar: Probe::new(16, 8, Fill::Grey),
            dissimilar: Probe::new(16, 8, Fill::Grey),
        },
    ),
    (
        "occlusion-fast",
        PairMethod {
            similar: Probe::new(32, 16, Fill::Grey),
            dissimilar: Probe::new(32, 16, Fill::Grey),
        },
    ),
];

impl PairMethod {
    /// The method called `name` in [`PAIR_METHODS`].
    pub fn named(name: &str) -> Result<PairMethod> {
        PAIR_METHODS
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, m)| *m)
            .ok_or_else(|| Error::BadParameter {
                what: "pair-map method",
                value: name.into(),
                expected: "swap, swap-fast, swap-fine, occlusion or occlusion-fast",
            })
    }

    /// Model passes per image map (one per window; shared probes count once).
    pub fn passes(&self, width: usize, height: usize) -> Result<usize> {
        let n = |p: &Probe| PairGrid::new(p.grid, width, height).map(|g| g.len());
        Ok(if self.similar == self.dissimilar {
            n(&self.similar)?
        } else {
            n(&self.similar)? + n(&self.dissimilar)?
        })
    }
}

/// The two low-resolution maps of one image against the other (window values).
#[derive(Debug, Clone, PartialEq)]
pub struct PairMap {
    pub similar: Vec<f32>,
    pub dissimilar: Vec<f32>,
}

/// One image prepared for pair maps: its preprocessed tensor and embedding.
#[derive(Debug, Clone, Copy)]
pub struct Face<'a> {
    pub x: &'a [f32],
    pub embedding: &'a [f32],
}

/// Makes pair maps with one model and method.
pub struct PairMapper<'m> {
    pub model: &'m FrModel,
    pub method: PairMethod,
    similar: PairGrid,
    dissimilar: PairGrid,
    batch: usize,
    passes: usize,
    /// Finished full-size maps are kept too (`--full`).
    pub keeps_full: bool,
}

impl<'m> PairMapper<'m> {
    pub fn new(model: &'m FrModel, method: PairMethod) -> Result<Self> {
        let p = &model.spec.preprocess;
        let (w, h) = (p.width as usize, p.height as usize);
        Ok(PairMapper {
            model,
            method,
            similar: PairGrid::new(method.similar.grid, w, h)?,
            dissimilar: PairGrid::new(method.dissimilar.grid, w, h)?,
            batch: model.parallel_pass_batch(),
            passes: method.passes(w, h)?,
            keeps_full: false,
        })
    }

    /// Model passes of one image's two maps.
    pub fn passes_per_map(&self) -> usize {
        self.passes
    }

    /// The grids of the similar and the dissimilar map.
    pub fn grids(&self) -> (&PairGrid, &PairGrid) {
        (&self.similar, &self.dissimilar)
    }

    /// The maps of `a` against `b`.
    pub fn map(&self, a: Face, b: Face) -> Result<PairMap> {
        let base = amva_model::fr::cosine(a.embedding, b.embedding);
        let deltas = |probe: &Probe, grid: &PairGrid| {
            let fill = (probe.fill == Fill::Other).then_some(b.x);
            window_deltas(self.model, a.x, fill, b.embedding, base, grid, self.batch)
        };
        let relu = |d: &[f32], sign: f32| d.iter().map(|v| (v * sign).max(0.0)).collect();
        let m = &self.method;
        let ds = deltas(&m.dissimilar, &self.dissimilar)?;
        let ss = if m.similar == m.dissimilar {
            ds.clone()
        } else {
            deltas(&m.similar, &self.similar)?
        };
        Ok(PairMap {
            similar: relu(&ss, -1.0),
            dissimilar: relu(&ds, 1.0),
        })
    }

    /// Finished full-size maps (similar, dissimilar) of a [`PairMap`].
    pub fn full(&self, m: &PairMap) -> (Vec<f32>, Vec<f32>) {
        (
            finish(self.similar.interpolate(&m.similar)),
            finish(self.dissimilar.interpolate(&m.dissimilar)),
        )
    }
}
