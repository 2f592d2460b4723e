//! Exact per-pixel set statistics over the maps of one group (ALGORITHMS 3).
//!
//! - MAM (mean) and AM-V (standard deviation, n - 1) by Welford's streaming
//!   update in `f64`; shards merge with Chan's formula, so a sharded run gives
//!   the same numbers as one run (up to rounding).
//! - Median, MAD and the paper's `std_mad` on one column of values (one pixel
//!   across N maps) by selection (`select_nth_unstable`, O(N) expected), and
//!   [`robust_stats`] for a whole N x P stack, pixel by pixel, with bounded
//!   extra memory.
//!
//! ```
//! use amva_math::stats::{Welford, robust_stats, MedianKind};
//! let maps = [[0.0_f32, 1.0], [2.0, 1.0], [4.0, 1.0]];
//! let mut acc = Welford::new(2);
//! for m in &maps { acc.push(m).unwrap(); }
//! assert_eq!(acc.mean().unwrap(), &[2.0, 1.0]);
//! assert_eq!(acc.std().unwrap(), vec![2.0, 0.0]);
//!
//! let stack: Vec<f32> = maps.concat();
//! let r = robust_stats(&stack, 3, 2, MedianKind::Middle, false).unwrap();
//! assert_eq!(r.median, vec![2.0, 1.0]);
//! ```

use crate::{check_len, MathError, Result};

/// Scale that turns a MAD into an estimate of a normal standard deviation.
pub const MAD_SCALE: f64 = 1.4826;

/// Streaming per-pixel mean and variance (Welford), mergeable (Chan et al.).
#[derive(Debug, Clone, PartialEq)]
pub struct Welford {
    count: u64,
    mean: Vec<f64>,
    m2: Vec<f64>,
}

impl Welford {
    /// An empty accumulator for maps of `pixels` values.
    pub fn new(pixels: usize) -> Self {
        Welford {
            count: 0,
            mean: vec![0.0; pixels],
            m2: vec![0.0; pixels],
        }
    }

    /// Accumulates every row of a row-major `n x pixels` stack.
    pub fn from_stack<T: Copy + Into<f64>>(stack: &[T], n: usize, pixels: usize) -> Result<Self> {
        check_len("map stack (n x pixels)", n * pixels, stack.len())?;
        let mut acc = Welford::new(pixels);
        if pixels > 0 {
            for map in stack.chunks_exact(pixels) {
                acc.push(map)?;
            }
        }
        Ok(acc)
    }

    /// Pixels per map.
    pub fn pixels(&self) -> usize {
        self.mean.len()
    }

    /// Number of maps pushed (including merged ones).
    pub fn count(&self) -> u64 {
        self.count
    }

    /// Adds one map. NaN values propagate into that pixel's results.
    pub fn push<T: Copy + Into<f64>>(&mut self, map: &[T]) -> Result<()> {
        check_len("map pushed into the accumulator", self.pixels(), map.len())?;
        self.count += 1;
        let n = self.count as f64;
        for ((mean, m2), &x) in self.mean.iter_mut().zip(self.m2.iter_mut()).zip(map) {
            let x: f64 = x.into();
            let delta = x - *mean;
            *mean += delta / n;
            *m2 += delta * (x - *mean);
        }
        Ok(())
    }

    /// Merges another accumulator (e.g. another shard) into this one with Chan's
    /// pairwise formula.
    pub fn merge(&mut self, other: &Welford) -> Result<()> {
        check_len("accumulator being merged", self.pixels(), other.pixels())?;
        if other.count == 0 {
            return Ok(());
        }
        if self.count == 0 {
            *self = other.clone();
            return Ok(());
        }
        let (na, nb) = (self.count as f64, other.count as f64);
        let n = na + nb;
        for i in 0..self.mean.len() {
            let delta = other.mean[i] - self.mean[i];
            self.mean[i] += delta * (nb / n);
            self.m2[i] += other.m2[i] + delta * delta * (na * nb / n);
        }
        self.count += other.count;
        Ok(())
    }

    /// Per-pixel mean (MAM). Errors when no map was pushed.
    pub fn mean(&self) -> Result<&[f64]> {
        if self.count == 0 {
            return Err(MathError::TooFewValues {
                what: "mean of maps",
                needed: 1,
                got: 0,
            });
        }
        Ok(&self.mean)
    }

    /// Per-pixel sample variance, n - 1 in the denominator. Errors when fewer
    /// than two maps were pushed.
    pub fn variance(&self) -> Result<Vec<f64>> {
        if self.count < 2 {
            return Err(MathError::TooFewValues {
                what: "standard deviation of maps (n - 1)",
                needed: 2,
                got: self.count as usize,
            });
        }
        let d = (self.count - 1) as f64;
        Ok(self.m2.iter().map(|m2| m2 / d).collect())
    }

    /// Per-pixel standard deviation with n - 1 (AM-V, like `torch.std`).
    pub fn std(&self) -> Result<Vec<f64>> {
        Ok(self.variance()?.into_iter().map(f64::sqrt).collect())
    }
}

/// Which middle value a median takes when n is even.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum MedianKind {
    /// Mean of the two middle values (the default, sound definition).
    #[default]
    Middle,
    /// The lower middle value, as `torch.median` returns (`--compat paper`).
    LowerMiddle,
}

/// Median of a column. Reorders `values` (partial selection, O(n) expected).
/// Returns NaN when a value is NaN. Errors on an empty column.
pub fn median(values: &mut [f64], kind: MedianKind) -> Result<f64> {
    let n = values.len();
    if n == 0 {
        return Err(MathError::TooFewValues {
            what: "median",
            needed: 1,
            got: 0,
        });
    }
    if values.iter().any(|v| v.is_nan()) {
        return Ok(f64::NAN);
    }
    let lower_index = (n - 1) / 2;
    let (_, &mut lower, upper_part) = values.select_nth_unstable_by(lower_index, f64::total_cmp);
    if n % 2 == 1 || kind == MedianKind::LowerMiddle {
        return Ok(lower);
    }
    // After selection every value above the lower middle is >= it, so the upper
    // middle is the smallest of them.
    let upper = upper_part.iter().copied().fold(f64::INFINITY, f64::min);
    Ok((lower + upper) / 2.0)
}

/// MAD of a column around a given `median`: `1.4826 * median(|x - median|)`,
/// with the same [`MedianKind`] for the outer median. Overwrites `values` with
/// the absolute deviations.
pub fn mad(values: &mut [f64], median_value: f64, kind: MedianKind) -> Result<f64> {
    for v in values.iter_mut() {
        *v = (*v - median_value).abs();
    }
    Ok(MAD_SCALE * median(values, kind)?)
}

/// The paper's `std_mad`: `torch.std((x - median) ** 2)`, i.e. the n - 1
/// standard deviation of the squared deviations from the median (two-pass, f64).
/// Errors with fewer than two values.
pub fn std_mad_paper(values: &[f64], median_value: f64) -> Result<f64> {
    let n = values.len();
    if n < 2 {
        return Err(MathError::TooFewValues {
            what: "std_mad (n - 1)",
            needed: 2,
            got: n,
        });
    }
    let sq = |x: f64| (x - median_value) * (x - median_value);
    let mean = values.iter().map(|&x| sq(x)).sum::<f64>() / n as f64;
    let ss: f64 = values
        .iter()
        .map(|&x| (sq(x) - mean) * (sq(x) - mean))
        .sum();
    Ok((ss / (n - 1) as f64).sqrt())
}

/// Median, MAD and optionally `std_mad` of one column.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ColumnStats {
    /// Median (per [`MedianKind`]).
    pub median: f64,
    /// `1.4826 * median(|x - median|)`.
    pub mad: f64,
    /// The paper's `std_mad`, when asked for.
    pub std_mad: Option<f64>,
}

/// All robust statistics of one column. Reorders and then overwrites `values`.
pub fn column_stats(
    values: &mut [f64],
    kind: MedianKind,
    with_std_mad: bool,
) -> Result<ColumnStats> {
    let med = median(values, kind)?;
    // std_mad needs the original values (order does not matter), so it goes
    // before mad() overwrites them.
    let std_mad = if with_std_mad {
        Some(std_mad_paper(values, med)?)
    } else {
        None
    };
    let mad = mad(values, med, kind)?;
    Ok(ColumnStats {
        median: med,
        mad,
        std_mad,
    })
}

/// Per-pixel robust statistics of a stack.
#[derive(Debug, Clone, PartialEq)]
pub struct RobustStats {
    /// Per-pixel median.
    pub median: Vec<f64>,
    /// Per-pixel MAD (scaled by 1.4826).
    pub mad: Vec<f64>,
    /// Per-pixel `std_mad` of the paper, when asked for.
    pub std_mad: Option<Vec<f64>>,
}

/// Upper bound on the transposition buffer of [`robust_stats`], in bytes.
const BLOCK_BYTES: usize = 8 << 20;

/// Median, MAD (and optionally `std_mad`) of every pixel of a row-major
/// `n x pixels` stack (n maps of `pixels` values).
///
/// Pixels are processed in blocks: a block of columns is transposed into a
/// buffer of at most 8 MiB (at least one column), then each column is handled
/// by selection. Extra memory is that buffer plus the outputs.
pub fn robust_stats<T: Copy + Into<f64>>(
    stack: &[T],
    n: usize,
    pixels: usize,
    kind: MedianKind,
    with_std_mad: bool,
) -> Result<RobustStats> {
    check_len("map stack (n x pixels)", n * pixels, stack.len())?;
    let needed = if with_std_mad { 2 } else { 1 };
    if n < needed {
        return Err(MathError::TooFewValues {
            what: if with_std_mad {
                "std_mad (n - 1)"
            } else {
                "median"
            },
            needed,
            got: n,
        });
    }
    let block = (BLOCK_BYTES / (8 * n)).clamp(1, pixels.max(1));
    let mut buf = vec![0.0f64; block * n];
    let mut out = RobustStats {
        median: Vec::with_capacity(pixels),
        mad: Vec::with_capacity(pixels),
        std_mad: with_std_mad.then(|| Vec::with_capacity(pixels)),
    };
    let mut p0 = 0;
    while p0 < pixels {
        let bw = block.min(pixels - p0);
        // Row by row so reads are contiguous; writes go to column j at buf[j * n + r].
        for (r, row) in stack.chunks_exact(pixels).enumerate() {
            for (j, &x) in row[p0..p0 + bw].iter().enumerate() {
                buf[j * n + r] = x.into();
            }
        }
        for column in buf.chunks_exact_mut(n).take(bw) {
            let s = column_stats(column, kind, with_std_mad)?;
            out.median.push(s.median);
            out.mad.push(s.mad);
            if let (Some(dst), Some(v)) = (out.std_mad.as_mut(), s.std_mad) {
                dst.push(v);
            }
        }
        p0 += bw;
    }
    Ok(out)
}
