//! Exact per-pixel set statistics of many groups at once, streaming over a map store
//! in bounded memory (ALGORITHMS 3).
//!
//! - MAM and AM-V: one [`Welford`] accumulator (f64, 2 x pixels numbers) per group,
//!   fed in row order during the first pass. Its size does not depend on N.
//! - Median, MAD (and under `--compat paper` the lower median, its MAD and the
//!   paper's `std_mad`): by exact selection on whole columns. The pixels are cut into
//!   blocks so that every group's column of every pixel of a block fits a fixed
//!   budget (`n_group x block x 4` bytes summed over the groups); each block is one
//!   pass over the stored maps, rebuilding the full maps as they stream past. Memory
//!   is the budget (or less), whatever N is; the number of passes grows with N
//!   instead. Values are kept as the `f32` the finished maps are, and widened to
//!   `f64` for selection, exactly as `amva_math::stats::robust_stats` does.
//!
//! Maps stream in chunks; the maps of a chunk are finished in parallel and every
//! group consumes its rows in row order, so results do not depend on the number of
//! threads.

use amva_math::stats::{column_stats, MedianKind, Welford};
use rayon::prelude::*;

use crate::permutation::PooledCollector;
use crate::{AnalysisError, Result};
use amva_maps::source::{Finish, MapSource};

/// How the statistics are computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatsOptions {
    /// Also compute median and MAD (the robust statistics).
    pub robust: bool,
    /// Also compute the paper's lower median, MAD around it, and `std_mad`.
    pub compat_paper: bool,
    /// Bytes allowed for the columns of the robust statistics.
    pub budget_bytes: usize,
    /// Maps read and finished per step.
    pub chunk_rows: usize,
}

impl Default for StatsOptions {
    fn default() -> Self {
        StatsOptions {
            robust: true,
            compat_paper: false,
            budget_bytes: DEFAULT_BUDGET,
            chunk_rows: 256,
        }
    }
}

/// Default budget for the columns of the robust statistics: 256 MiB.
pub const DEFAULT_BUDGET: usize = 256 << 20;

/// Per-pixel statistics of one group (each vector has H * W values).
#[derive(Debug, Clone, PartialEq)]
pub struct GroupStats {
    /// Number of maps.
    pub n: usize,
    /// Maps that were flat (all zero after the common ending).
    pub flat: usize,
    /// MAM: mean.
    pub mean: Vec<f64>,
    /// AM-V: standard deviation with n - 1.
    pub std: Vec<f64>,
    /// Median (mean of the two middle values for even n).
    pub median: Option<Vec<f64>>,
    /// 1.4826 x median |x - median|.
    pub mad: Option<Vec<f64>>,
    /// `--compat paper`: the lower middle value (torch.median).
    pub median_lower: Option<Vec<f64>>,
    /// `--compat paper`: 1.4826 x lower median |x - lower median|.
    pub mad_lower: Option<Vec<f64>>,
    /// `--compat paper`: n - 1 std of (x - lower median)^2.
    pub std_mad: Option<Vec<f64>>,
}

/// How the work went (for the report and the benchmark).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub struct PassReport {
    /// Passes over the stored maps.
    pub passes: usize,
    /// Pixels per block of the robust statistics.
    pub block_pixels: usize,
    /// Bytes of the column buffers of one block (at most the budget).
    pub column_bytes: usize,
    /// Bytes of the Welford state of all groups (independent of N).
    pub welford_bytes: usize,
    /// Maps finished in all passes.
    pub maps_finished: u64,
}

/// Pixels per block and number of passes for `total_cols` maps (summed over the
/// groups) of `pixels` pixels.
pub fn plan(total_cols: usize, pixels: usize, opts: &StatsOptions) -> (usize, usize) {
    if !opts.robust {
        return (pixels, 1);
    }
    let block = (opts.budget_bytes / (4 * total_cols.max(1))).clamp(1, pixels.max(1));
    (block, pixels.div_ceil(block))
}

struct Acc<'a> {
    rows: &'a [usize],
    welford: Welford,
    flat: usize,
    cursor: usize,
    columns: Vec<f32>,
    median: Vec<f64>,
    mad: Vec<f64>,
    median_lower: Vec<f64>,
    mad_lower: Vec<f64>,
    std_mad: Vec<f64>,
}

/// Rows must be ascending and inside the store.
fn check_rows(source: &MapSource, groups: &[&[usize]]) -> Result<()> {
    for (g, rows) in groups.iter().enumerate() {
        if rows.windows(2).any(|w| w[0] >= w[1]) || rows.last().is_some_and(|&r| r >= source.len())
        {
            return Err(AnalysisError::store(
                source.dir(),
                format!(
                    "group {g}: rows must be ascending and below {}",
                    source.len()
                ),
            ));
        }
    }
    Ok(())
}

/// Which rows any group (or the pool) needs, so that the others are skipped.
fn needed_rows(len: usize, groups: &[&[usize]], pooled: Option<&PooledCollector>) -> Vec<bool> {
    let mut needed = vec![false; len];
    for rows in groups {
        for &r in rows.iter() {
            needed[r] = true;
        }
    }
    if let Some(c) = pooled {
        for &r in c.rows() {
            if r < needed.len() {
                needed[r] = true;
            }
        }
    }
    needed
}

impl<'a> Acc<'a> {
    fn new(rows: &'a [usize], p: usize, opts: &StatsOptions) -> Self {
        Acc {
            rows,
            welford: Welford::new(p),
            flat: 0,
            cursor: 0,
            columns: Vec::new(),
            median: Vec::with_capacity(if opts.robust { p } else { 0 }),
            mad: Vec::with_capacity(if opts.robust { p } else { 0 }),
            median_lower: Vec::new(),
            mad_lower: Vec::new(),
            std_mad: Vec::new(),
        }
    }

    /// Median and MAD (and the paper's variants) of the block's columns.
    fn robust_block(&mut self, opts: &StatsOptions) -> Result<()> {
        let acc = self;
        let m = acc.rows.len();
        let cols: Vec<Result<[f64; 5]>> = acc
            .columns
            .par_chunks(m)
            .map_init(
                || vec![0f64; m],
                |scratch, col| -> Result<[f64; 5]> {
                    let fill = |s: &mut Vec<f64>| {
                        for (d, &v) in s.iter_mut().zip(col) {
                            *d = f64::from(v);
                        }
                    };
                    fill(scratch);
                    let s = column_stats(scratch, MedianKind::Middle, false)
                        .map_err(AnalysisError::math("median and MAD"))?;
                    let mut out = [s.median, s.mad, f64::NAN, f64::NAN, f64::NAN];
                    if opts.compat_paper {
                        fill(scratch);
                        let s = column_stats(scratch, MedianKind::LowerMiddle, true)
                            .map_err(AnalysisError::math("--compat paper median and std_mad"))?;
                        out[2] = s.median;
                        out[3] = s.mad;
                        out[4] = s.std_mad.unwrap_or(f64::NAN);
                    }
                    Ok(out)
                },
            )
            .collect();
        for c in cols {
            let c = c?;
            acc.median.push(c[0]);
            acc.mad.push(c[1]);
            if opts.compat_paper {
                acc.median_lower.push(c[2]);
                acc.mad_lower.push(c[3]);
                acc.std_mad.push(c[4]);
            }
        }
        acc.columns = Vec::new();
        Ok(())
    }

    /// The finished statistics of the group.
    fn into_stats(self, opts: &StatsOptions) -> Result<GroupStats> {
        let acc = self;
        let mean = acc
            .welford
            .mean()
            .map_err(AnalysisError::math("mean of maps"))?
            .to_vec();
        let std = acc.welford.std().map_err(AnalysisError::math("AM-V"))?;
        let robust = |v: Vec<f64>, on: bool| if on { Some(v) } else { None };
        Ok(GroupStats {
            n: acc.rows.len(),
            flat: acc.flat,
            mean,
            std,
            median: robust(acc.median, opts.robust),
            mad: robust(acc.mad, opts.robust),
            median_lower: robust(acc.median_lower, opts.robust && opts.compat_paper),
            mad_lower: robust(acc.mad_lower, opts.robust && opts.compat_paper),
            std_mad: robust(acc.std_mad, opts.robust && opts.compat_paper),
        })
    }
}

/// The part of the maps one pass over the store works on: pixels `p0..p0 + bw` of
/// each map, in the output rows `y0..y1` (`seg` pixels from pixel `y0 * w`, the block
/// starting `off` pixels in); the first pass finishes whole maps.
#[derive(Debug, Clone, Copy)]
struct Block {
    first_pass: bool,
    y0: usize,
    y1: usize,
    seg: usize,
    off: usize,
    bw: usize,
}

impl Block {
    /// Pass `pass` of blocks of `block` pixels over maps of `p` pixels, `w` wide.
    fn new(pass: usize, block: usize, p: usize, w: usize) -> Self {
        let (p0, p1) = (pass * block, ((pass + 1) * block).min(p));
        let first_pass = pass == 0;
        let (y0, y1) = if first_pass {
            (0, p / w)
        } else {
            (p0 / w, p1.div_ceil(w))
        };
        Block {
            first_pass,
            y0,
            y1,
            seg: (y1 - y0) * w,
            off: p0 - y0 * w,
            bw: p1 - p0,
        }
    }
}

/// The finishing of one chunk of stored rows into `finished` (whole maps in the first
/// pass, recording how each was finished in `finishes`; only the block's output rows in
/// later passes, rebuilt from those records).
fn finish_chunk(
    source: &MapSource,
    b: Block,
    first: usize,
    stored: &[f32],
    needed: &[bool],
    finished: &mut [f32],
    finishes: &mut [Finish],
) -> Result<()> {
    let (row_len, p) = (source.row_len(), source.pixels());
    let n = stored.len() / row_len;
    if b.first_pass {
        let done: Vec<Result<Finish>> = finished[..n * p]
            .par_chunks_mut(p)
            .zip(stored.par_chunks(row_len))
            .enumerate()
            .map_init(Vec::new, |relu, (i, (dst, src))| {
                if needed[first + i] {
                    Ok(source.finish_with_range(first + i, src, dst, relu)?)
                } else {
                    Ok(UNFINISHED)
                }
            })
            .collect();
        for (i, d) in done.into_iter().enumerate() {
            finishes[first + i] = d?;
        }
    } else {
        let fin = &*finishes;
        finished[..n * b.seg]
            .par_chunks_mut(b.seg)
            .zip(stored.par_chunks(row_len))
            .enumerate()
            .for_each(|(i, (dst, src))| {
                if needed[first + i] {
                    source.finish_rows_into(src, fin[first + i], b.y0, b.y1, dst);
                }
            });
    }
    Ok(())
}

/// A map that was not finished (not needed by any group).
const UNFINISHED: Finish = Finish {
    flat: false,
    min: 0.0,
    span: 1.0,
};

/// Adds the finished maps of the chunk (rows `first..first + n`) to every group that
/// holds them: mean and AM-V (first pass) and the block's columns (robust statistics).
fn accumulate(
    accs: &mut [Acc<'_>],
    b: Block,
    first: usize,
    n: usize,
    finished: &[f32],
    finishes: &[Finish],
    opts: &StatsOptions,
) -> Result<()> {
    accs.par_iter_mut().try_for_each(|acc| -> Result<()> {
        let start = acc.cursor;
        let mut end = start;
        while end < acc.rows.len() && acc.rows[end] < first + n {
            end += 1;
        }
        for k in start..end {
            let i = acc.rows[k] - first;
            let map = &finished[i * b.seg..(i + 1) * b.seg];
            if b.first_pass {
                acc.welford
                    .push(map)
                    .map_err(AnalysisError::math("mean and AM-V"))?;
                acc.flat += usize::from(finishes[acc.rows[k]].flat);
            }
            if opts.robust {
                let m = acc.rows.len();
                for (j, &v) in map[b.off..b.off + b.bw].iter().enumerate() {
                    acc.columns[j * m + k] = v;
                }
            }
        }
        acc.cursor = end;
        Ok(())
    })
}

/// Feeds the pool of the permutation tests the rows of the chunk it wants (first pass).
fn feed_pool(
    pooled: &mut PooledCollector,
    first: usize,
    stored: &[f32],
    finished: &[f32],
    finishes: &[Finish],
    (row_len, p): (usize, usize),
) -> Result<()> {
    for i in 0..stored.len() / row_len {
        if pooled.wants(first + i) {
            pooled.add(
                first + i,
                &stored[i * row_len..(i + 1) * row_len],
                &finished[i * p..(i + 1) * p],
                finishes[first + i],
            )?;
        }
    }
    Ok(())
}

/// Computes [`GroupStats`] for every group (store rows, ascending, at least two
/// each) in as many passes as the budget needs. `pooled`, when given, is fed every
/// pooled row during the first pass (for the permutation test). `progress(k)` is
/// called with the number of maps read after each chunk.
pub fn group_statistics(
    source: &MapSource,
    groups: &[&[usize]],
    opts: &StatsOptions,
    mut pooled: Option<&mut PooledCollector>,
    progress: &mut dyn FnMut(usize),
) -> Result<(Vec<GroupStats>, PassReport)> {
    let p = source.pixels();
    check_rows(source, groups)?;
    let total_cols: usize = groups.iter().map(|g| g.len()).sum();
    let (block, passes) = plan(total_cols, p, opts);
    let mut accs: Vec<Acc> = groups.iter().map(|rows| Acc::new(rows, p, opts)).collect();
    let mut report = PassReport {
        passes,
        block_pixels: block,
        column_bytes: if opts.robust {
            total_cols * block * 4
        } else {
            0
        },
        welford_bytes: groups.len() * p * 16,
        maps_finished: 0,
    };
    let needed = needed_rows(source.len(), groups, pooled.as_deref());
    let row_len = source.row_len();
    let chunk_rows = opts.chunk_rows.max(1);
    let mut finished = vec![0f32; chunk_rows * p];
    // How each needed map was finished (12 bytes per map): later passes rebuild only
    // the rows of their block from it, bit for bit equal to the whole map's.
    let mut finishes: Vec<Finish> = vec![UNFINISHED; source.len()];
    let w = source.full_shape().1;
    for pass in 0..passes {
        let b = Block::new(pass, block, p, w);
        for acc in accs.iter_mut() {
            acc.cursor = 0;
            if opts.robust {
                acc.columns = vec![0f32; acc.rows.len() * b.bw];
            }
        }
        source.for_each_chunk(chunk_rows, |first, stored| -> Result<()> {
            let n = stored.len() / row_len;
            finish_chunk(
                source,
                b,
                first,
                stored,
                &needed,
                &mut finished,
                &mut finishes,
            )?;
            report.maps_finished += (first..first + n).filter(|&r| needed[r]).count() as u64;
            if let (true, Some(c)) = (b.first_pass, pooled.as_deref_mut()) {
                feed_pool(c, first, stored, &finished, &finishes, (row_len, p))?;
            }
            accumulate(&mut accs, b, first, n, &finished, &finishes, opts)?;
            progress(n);
            Ok(())
        })?;
        if opts.robust {
            for acc in accs.iter_mut() {
                acc.robust_block(opts)?;
            }
        }
    }
    let stats = accs
        .into_iter()
        .map(|acc| acc.into_stats(opts))
        .collect::<Result<Vec<_>>>()?;
    Ok((stats, report))
}
