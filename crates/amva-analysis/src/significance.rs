//! The permutation test of the outside-region AM-V difference (ALGORITHMS 4.6): which
//! maps are pooled while the statistics pass over the store, which methods cannot be
//! tested and why, and the test itself.

use std::collections::BTreeMap;

use amva_math::compare::{permutation_test, Alternative, PermutationOptions};
use amva_math::resample::Upsampler;

use crate::groups::MethodGroups;
use crate::permutation::{OutsideAmvDifference, Pooled, PooledCollector};
use crate::{AnalysisError, Result};
use amva_maps::source::{MapKind, MapSource};

/// Outcome of the permutation test of one method.
#[derive(Debug, Clone, PartialEq)]
pub struct PermutationOutcome {
    /// Observed `mean_outside(AM-V low) - mean_outside(AM-V high)`.
    pub observed: f64,
    /// One-sided p-value.
    pub p_value: f64,
    /// Permutations at least as large as the observation.
    pub extreme: usize,
    /// Permutations run.
    pub n_perm: usize,
    /// The statistic of every permutation, in order.
    pub null: Vec<f64>,
}

/// The pooled maps of the permutation tests and how they were collected.
#[derive(Debug, Clone, Copy)]
pub struct PermutationData<'a> {
    /// The collected data.
    pub pooled: &'a Pooled,
    /// The store rows they belong to, ascending.
    pub pool_rows: &'a [usize],
    /// The store's upsampler.
    pub up: &'a Upsampler,
    /// True outside the central face region.
    pub outside: &'a [bool],
}

/// Runs the permutation test of the outside AM-V difference for one method's
/// `high` and `low` rows (disjoint, all pooled).
pub fn permutation_outside_amv(
    data: &PermutationData<'_>,
    high: &[usize],
    low: &[usize],
    n_perm: usize,
    seed: u64,
) -> Result<PermutationOutcome> {
    let PermutationData {
        pooled,
        pool_rows,
        up,
        outside,
    } = *data;
    let index = |r: &usize| {
        pool_rows.binary_search(r).map_err(|_| {
            AnalysisError::store("permutation test", format!("row {r} was not pooled"))
        })
    };
    let items: Vec<usize> = high.iter().chain(low).map(index).collect::<Result<_>>()?;
    let labels: Vec<bool> = (0..items.len()).map(|i| i >= high.len()).collect();
    let stat = OutsideAmvDifference::new(pooled, items, up, outside)?;
    let mut values = Vec::with_capacity(n_perm + 1);
    let r = permutation_test(
        &labels,
        |l| {
            let t = stat.statistic(l);
            values.push(t);
            t
        },
        &PermutationOptions {
            n_perm,
            seed,
            alternative: Alternative::Greater,
        },
    )
    .map_err(AnalysisError::math(
        "permutation test of the outside AM-V difference",
    ))?;
    Ok(PermutationOutcome {
        observed: r.observed,
        p_value: r.p_value,
        extreme: r.extreme,
        n_perm: r.n_perm,
        null: values.split_off(1),
    })
}

/// Which maps to pool for the tests, and the methods that cannot be tested.
#[derive(Debug, Clone, Default)]
pub struct PoolPlan {
    /// Store rows of every tested group, ascending.
    pub rows: Vec<usize>,
    /// Method index -> why it is not tested.
    pub skipped: BTreeMap<usize, String>,
}

impl PoolPlan {
    /// Plans the pool of `permutations` > 0 tests of every method within `budget` bytes.
    pub fn new(
        groups: &[MethodGroups],
        source: &MapSource,
        outside: &[bool],
        permutations: usize,
        budget: usize,
    ) -> Self {
        let mut plan = PoolPlan::default();
        if permutations == 0 {
            return plan;
        }
        for (i, g) in groups.iter().enumerate() {
            if g.overlap > 0 {
                plan.skipped.insert(i, format!("{} images are in both the high and the low group, so the labels cannot be permuted", g.overlap));
                continue;
            }
            plan.rows.extend(&g.high.rows);
            plan.rows.extend(&g.low.rows);
        }
        plan.rows.sort_unstable();
        plan.rows.dedup();
        let low_rank = source.kind() == MapKind::Low;
        let outside_count = outside.iter().filter(|o| **o).count();
        let bytes = PooledCollector::bytes_for(
            plan.rows.len(),
            low_rank.then(|| source.row_len()),
            outside_count,
        );
        if !plan.rows.is_empty() && !low_rank && bytes > budget {
            for i in 0..groups.len() {
                plan.skipped.entry(i).or_insert_with(|| format!(
                    "the pooled full maps need {} MiB, more than the memory budget ({} MiB); raise --memory",
                    bytes >> 20,
                    budget >> 20
                ));
            }
            plan.rows.clear();
        }
        plan
    }

    /// The collector that gathers the pool during the statistics passes, if any.
    pub fn collector(&self, source: &MapSource, outside: &[bool]) -> Option<PooledCollector> {
        let low_rank = source.kind() == MapKind::Low;
        (!self.rows.is_empty()).then(|| {
            PooledCollector::new(
                self.rows.clone(),
                low_rank.then(|| source.upsampler()),
                outside,
            )
        })
    }
}

/// The permutation test of one method: run, or why not.
#[derive(Debug, Clone, PartialEq)]
pub enum Significance {
    /// It ran; `low_rank` tells how T was computed.
    Run {
        /// The outcome.
        outcome: PermutationOutcome,
        /// T from low-rank moments of the stored maps (else from the full maps).
        low_rank: bool,
    },
    /// It did not run, and why.
    Skipped(String),
}

/// Tests method `index` with the pooled data (`None`: nothing was pooled).
pub fn test_method(
    index: usize,
    groups: &MethodGroups,
    plan: &PoolPlan,
    pooled: Option<&Pooled>,
    source: &MapSource,
    outside: &[bool],
    (n_perm, seed): (usize, u64),
) -> Result<Significance> {
    if let Some(reason) = plan.skipped.get(&index) {
        return Ok(Significance::Skipped(reason.clone()));
    }
    let Some(pooled) = pooled else {
        return Ok(Significance::Skipped("--permutations 0".into()));
    };
    let data = PermutationData {
        pooled,
        pool_rows: &plan.rows,
        up: source.upsampler(),
        outside,
    };
    let outcome =
        permutation_outside_amv(&data, &groups.high.rows, &groups.low.rows, n_perm, seed)?;
    Ok(Significance::Run {
        outcome,
        low_rank: matches!(pooled, Pooled::LowRank { .. }),
    })
}
