//! The permutation test of the outside-region AM-V difference (ALGORITHMS 4.6; beyond
//! the paper).
//!
//! Null hypothesis: the high/low labels do not matter. Each permutation shuffles the
//! labels of the pooled images (keeping the group sizes), recomputes both groups'
//! per-pixel AM-V, and takes the statistic
//! `T = mean_outside(AM-V(low)) - mean_outside(AM-V(high))`; the p-value is one-sided
//! ("greater"), `(1 + #{T_perm >= T_obs}) / (1 + P)` ([`amva_math::compare::permutation_test`]).
//!
//! Recomputing AM-V from the maps for every permutation costs n x pixels each time
//! and needs every pooled map in memory. For maps finished from a stored low
//! resolution map this is avoided exactly: the finished map of image i is
//! `x_i = A r_i - c_i` with `A` the (sparse, 4 taps per pixel) bilinear upsampling
//! matrix, `r_i = relu(m_i) / span_i` and `c_i = min_i / span_i` (min and span of the
//! upsampled map, ALGORITHMS 1.5). A group's per-pixel sum and sum of squares are then
//! `a_p . S1 - C1` and `a_p' M a_p - 2 a_p . V + C2`, with `S1 = sum r_i`,
//! `M = sum r_i r_i'` (h w x h w), `V = sum c_i r_i`, `C1 = sum c_i`, `C2 = sum c_i^2`:
//! a permutation costs n (h w)^2 / 2 + 16 x pixels instead of n x pixels, and
//! memory is h w + 1 numbers per image. The result differs from the per-pixel path
//! only by floating-point rounding (the per-pixel path upsamples in `f32`); the
//! tests compare both with a naive recomputation. Maps read already finished
//! ([`amva_maps::source::MapKind::Full`]) use the direct form, keeping the outside pixels
//! of each pooled map.

use amva_math::resample::Upsampler;

use rayon::prelude::*;

use amva_maps::source::Finish;

/// Images per parallel piece of a permutation's sums.
const CHUNK: usize = 256;

use crate::{AnalysisError, Result};

/// Per-image data of the pooled images, in one of two exact forms.
#[derive(Debug, Clone, PartialEq)]
pub enum Pooled {
    /// `r_i` (hw values each) and `c_i`, see the module docs.
    LowRank {
        /// h * w.
        hw: usize,
        /// n x hw, row after row.
        r: Vec<f64>,
        /// n values.
        c: Vec<f64>,
    },
    /// The outside pixels of each finished map.
    Direct {
        /// Outside pixels per map.
        outside: usize,
        /// n x outside values.
        x: Vec<f32>,
    },
}

/// Collects [`Pooled`] data row by row as the maps stream past.
#[derive(Debug)]
pub struct PooledCollector {
    rows: Vec<usize>,
    outside_idx: Vec<usize>,
    data: Pooled,
    filled: Vec<bool>,
}

impl PooledCollector {
    /// A collector for the store rows `rows` (ascending). `low_rank` selects the
    /// low-rank form (maps finished from `up`'s source shape); `outside` is the region
    /// mask's complement (true outside).
    pub fn new(rows: Vec<usize>, low_rank: Option<&Upsampler>, outside: &[bool]) -> Self {
        let n = rows.len();
        let outside_idx: Vec<usize> = (0..outside.len()).filter(|&p| outside[p]).collect();
        let data = match low_rank {
            Some(up) => {
                let (h, w) = up.source_shape();
                Pooled::LowRank {
                    hw: h * w,
                    r: vec![0.0; n * h * w],
                    c: vec![0.0; n],
                }
            }
            None => Pooled::Direct {
                outside: outside_idx.len(),
                x: vec![0.0; n * outside_idx.len()],
            },
        };
        PooledCollector {
            filled: vec![false; n],
            rows,
            outside_idx,
            data,
        }
    }

    /// Bytes the collector will hold for `n` rows (to check a memory budget first).
    pub fn bytes_for(n: usize, low_rank_hw: Option<usize>, outside: usize) -> usize {
        match low_rank_hw {
            Some(hw) => n * (hw + 1) * 8,
            None => n * outside * 4,
        }
    }

    /// The pooled rows, ascending.
    pub fn rows(&self) -> &[usize] {
        &self.rows
    }

    /// True when `row` is pooled.
    pub fn wants(&self, row: usize) -> bool {
        self.rows.binary_search(&row).is_ok()
    }

    /// Records store row `row`: its stored map (`stored`, low-resolution or full),
    /// the finished map (`finished`) and how it was finished (`finish`: the min and
    /// span of the upsampled map it was divided by).
    pub fn add(
        &mut self,
        row: usize,
        stored: &[f32],
        finished: &[f32],
        finish: Finish,
    ) -> Result<()> {
        let Ok(i) = self.rows.binary_search(&row) else {
            return Ok(());
        };
        self.filled[i] = true;
        match &mut self.data {
            Pooled::Direct { outside, x } => {
                let dst = &mut x[i * *outside..(i + 1) * *outside];
                for (d, &p) in dst.iter_mut().zip(&self.outside_idx) {
                    *d = finished[p];
                }
            }
            Pooled::LowRank { hw, r, c } => {
                let ri = &mut r[i * *hw..(i + 1) * *hw];
                if finish.flat {
                    ri.fill(0.0);
                    c[i] = 0.0;
                    return Ok(());
                }
                let span = f64::from(finish.span);
                for (d, &v) in ri.iter_mut().zip(stored) {
                    *d = f64::from(if v < 0.0 { 0.0 } else { v }) / span;
                }
                c[i] = f64::from(finish.min) / span;
            }
        }
        Ok(())
    }

    /// The collected data; errors if a pooled row never streamed past.
    pub fn finish(self) -> Result<Pooled> {
        if let Some(i) = self.filled.iter().position(|f| !f) {
            return Err(AnalysisError::store(
                "pooled maps",
                format!("store row {} was never read", self.rows[i]),
            ));
        }
        Ok(self.data)
    }
}

/// Sufficient statistics of a set of low-rank maps.
#[derive(Debug, Clone)]
struct Moments {
    n: f64,
    s1: Vec<f64>,
    c1: f64,
    m: Vec<f64>,
    v: Vec<f64>,
    c2: f64,
}

impl Moments {
    fn zero(hw: usize) -> Self {
        Moments {
            n: 0.0,
            s1: vec![0.0; hw],
            c1: 0.0,
            m: vec![0.0; hw * hw],
            v: vec![0.0; hw],
            c2: 0.0,
        }
    }

    /// Adds one map; `m` gets only its upper triangle (see [`Moments::symmetrise`]).
    fn add(&mut self, r: &[f64], c: f64) {
        let hw = r.len();
        self.n += 1.0;
        self.c1 += c;
        self.c2 += c * c;
        for (j, &rj) in r.iter().enumerate() {
            self.s1[j] += rj;
            self.v[j] += c * rj;
            if rj != 0.0 {
                let row = &mut self.m[j * hw..(j + 1) * hw];
                for (mk, &rk) in row[j..].iter_mut().zip(&r[j..]) {
                    *mk += rj * rk;
                }
            }
        }
    }

    fn merge(&mut self, other: &Moments) {
        let add = |a: &mut [f64], b: &[f64]| a.iter_mut().zip(b).for_each(|(x, y)| *x += y);
        self.n += other.n;
        self.c1 += other.c1;
        self.c2 += other.c2;
        add(&mut self.s1, &other.s1);
        add(&mut self.m, &other.m);
        add(&mut self.v, &other.v);
    }

    fn symmetrise(&mut self, hw: usize) {
        for j in 0..hw {
            for k in 0..j {
                self.m[j * hw + k] = self.m[k * hw + j];
            }
        }
    }

    fn minus(&self, other: &Moments) -> Moments {
        let sub = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(x, y)| x - y).collect();
        Moments {
            n: self.n - other.n,
            s1: sub(&self.s1, &other.s1),
            c1: self.c1 - other.c1,
            m: sub(&self.m, &other.m),
            v: sub(&self.v, &other.v),
            c2: self.c2 - other.c2,
        }
    }
}

/// Sparse rows of the upsampling matrix `A` at the outside pixels.
#[derive(Debug, Clone)]
struct Taps {
    /// For each outside pixel, its (source index, weight) pairs.
    taps: Vec<Vec<(usize, f64)>>,
}

impl Taps {
    /// Upsampling is linear: column j of `A` is the upsampled unit map e_j.
    fn new(up: &Upsampler, outside: &[bool]) -> Result<Self> {
        let (h, w) = up.source_shape();
        let hw = h * w;
        let mut taps: Vec<Vec<(usize, f64)>> =
            vec![Vec::new(); outside.iter().filter(|o| **o).count()];
        let outside_idx: Vec<usize> = (0..outside.len()).filter(|&p| outside[p]).collect();
        let mut e = vec![0f32; hw];
        for j in 0..hw {
            e.fill(0.0);
            e[j] = 1.0;
            let col = up
                .upsample(&e)
                .map_err(AnalysisError::math("upsampling matrix"))?;
            for (t, &p) in taps.iter_mut().zip(&outside_idx) {
                if col[p] != 0.0 {
                    t.push((j, f64::from(col[p])));
                }
            }
        }
        Ok(Taps { taps })
    }
}

/// Mean over the outside pixels of the per-pixel sample std of a group.
fn outside_mean_std_low_rank(mom: &Moments, taps: &Taps, hw: usize) -> f64 {
    let n = mom.n;
    let mut total = 0.0;
    for t in &taps.taps {
        let mut sum = -mom.c1;
        let mut lin = 0.0;
        let mut quad = 0.0;
        for &(j, wj) in t {
            sum += wj * mom.s1[j];
            lin += wj * mom.v[j];
            let row = &mom.m[j * hw..(j + 1) * hw];
            for &(k, wk) in t {
                quad += wj * wk * row[k];
            }
        }
        let sumsq = quad - 2.0 * lin + mom.c2;
        let var = (sumsq - sum * sum / n) / (n - 1.0);
        total += var.max(0.0).sqrt();
    }
    total / taps.taps.len() as f64
}

/// The statistic of the test for any labelling of the pooled images.
pub struct OutsideAmvDifference<'a> {
    pooled: &'a Pooled,
    /// Index into the pooled data of each labelled item.
    items: Vec<usize>,
    taps: Option<Taps>,
    total: Option<Moments>,
    direct_total: Option<(Vec<f64>, Vec<f64>)>,
}

impl<'a> OutsideAmvDifference<'a> {
    /// The statistic over `items` (indices into `pooled`); labels given to
    /// [`OutsideAmvDifference::statistic`] are true for the low group. `up` and
    /// `outside` must be those the pooled data were collected with.
    pub fn new(
        pooled: &'a Pooled,
        items: Vec<usize>,
        up: &Upsampler,
        outside: &[bool],
    ) -> Result<Self> {
        let mut s = OutsideAmvDifference {
            pooled,
            items,
            taps: None,
            total: None,
            direct_total: None,
        };
        match pooled {
            Pooled::LowRank { hw, r, c } => {
                let mut total = Moments::zero(*hw);
                for &i in &s.items {
                    total.add(&r[i * hw..(i + 1) * hw], c[i]);
                }
                total.symmetrise(*hw);
                s.total = Some(total);
                s.taps = Some(Taps::new(up, outside)?);
            }
            Pooled::Direct { outside: p, x } => {
                let (mut s1, mut s2) = (vec![0.0; *p], vec![0.0; *p]);
                for &i in &s.items {
                    for ((a, b), &v) in s1.iter_mut().zip(s2.iter_mut()).zip(&x[i * p..(i + 1) * p])
                    {
                        let v = f64::from(v);
                        *a += v;
                        *b += v * v;
                    }
                }
                s.direct_total = Some((s1, s2));
            }
        }
        Ok(s)
    }

    /// `mean_outside(AM-V(low)) - mean_outside(AM-V(high))` where `low[i]` says whether
    /// item i is in the low group. NaN when a side has fewer than two items.
    pub fn statistic(&self, low: &[bool]) -> f64 {
        let n_low = low.iter().filter(|l| **l).count();
        let n = self.items.len();
        if n_low < 2 || n - n_low < 2 {
            return f64::NAN;
        }
        match self.pooled {
            Pooled::LowRank { hw, r, c } => {
                let (taps, total) = (
                    self.taps.as_ref().expect("set"),
                    self.total.as_ref().expect("set"),
                );
                let members: Vec<usize> = self
                    .items
                    .iter()
                    .zip(low)
                    .filter(|(_, l)| **l)
                    .map(|(&i, _)| i)
                    .collect();
                // Fixed chunks summed in order: the same result on any number of threads.
                let parts: Vec<Moments> = members
                    .par_chunks(CHUNK)
                    .map(|chunk| {
                        let mut m = Moments::zero(*hw);
                        for &i in chunk {
                            m.add(&r[i * hw..(i + 1) * hw], c[i]);
                        }
                        m
                    })
                    .collect();
                let mut lo = Moments::zero(*hw);
                for part in &parts {
                    lo.merge(part);
                }
                lo.symmetrise(*hw);
                let hi = total.minus(&lo);
                outside_mean_std_low_rank(&lo, taps, *hw)
                    - outside_mean_std_low_rank(&hi, taps, *hw)
            }
            Pooled::Direct { outside: p, x } => {
                let (t1, t2) = self.direct_total.as_ref().expect("set");
                let (mut s1, mut s2) = (vec![0.0; *p], vec![0.0; *p]);
                for (&i, _) in self.items.iter().zip(low).filter(|(_, l)| **l) {
                    for ((a, b), &v) in s1.iter_mut().zip(s2.iter_mut()).zip(&x[i * p..(i + 1) * p])
                    {
                        let v = f64::from(v);
                        *a += v;
                        *b += v * v;
                    }
                }
                let std = |sum: f64, sumsq: f64, n: f64| {
                    ((sumsq - sum * sum / n) / (n - 1.0)).max(0.0).sqrt()
                };
                let (nl, nh) = (n_low as f64, (n - n_low) as f64);
                let (mut ml, mut mh) = (0.0, 0.0);
                for k in 0..*p {
                    ml += std(s1[k], s2[k], nl);
                    mh += std(t1[k] - s1[k], t2[k] - s2[k], nh);
                }
                (ml - mh) / *p as f64
            }
        }
    }
}
