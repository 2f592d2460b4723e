//! The whole `amva analyze` run, in stages that each return typed results:
//!
//! 1. [`validate`](validate::validate): options, store, scores, groups, face region;
//!    nothing is computed or written before every input is checked;
//! 2. statistics: MAM, AM-V, median, MAD of every group of every method in one set of
//!    passes over the store ([`crate::setstats`]), pooling the maps the tests need;
//! 3. comparisons ([`compare`]): region means, deviation maps, distribution shift,
//!    profiles, the trend over bins, each computed once per method;
//! 4. tests ([`significance`]): the permutation test of each method; agreement
//!    across methods ([`across`]);
//! 5. figures and report rendered in memory ([`report`]), the [`Summary`] made from the
//!    results ([`summarise`]);
//! 6. every file written ([`write`]) only then, so a failure leaves no half output.
//!
//! The files:
//!
//! ```text
//! summary.json              every number of the run (the report shows a subset)
//! report.html               one self-contained page: parameters, tables, figures
//! figures/*.png             every figure of the report
//! arrays/region_mask.npy    H x W, 1 inside the central face region
//! arrays/<method>/<group>_<stat>.npy   H x W per-pixel statistics (mam, amv, median, mad, ...)
//! arrays/<method>/d_<stat>.npy         deviation maps |high - low| (not normalised)
//! arrays/<method>/kde_<stat>.npy       3 x G: grid, density of high, density of low
//! arrays/<method>/profile_x.npy, profile_y.npy   2 x W / 2 x H: AM-V of high, low
//! arrays/<method>/permutation.npy      observed statistic, then each permutation's
//! arrays/<method>/bins_region.npy      B x 2: mean AM-V inside, outside per bin
//! groups/<method>.csv       image,row,score,groups
//! unmatched.csv             method,image,reason: every id without a partner, every excluded score
//! ```

use std::path::PathBuf;

use amva_math::groups::Direction;

use crate::groups::GroupRules;
use crate::permutation::Pooled;
use crate::setstats::{group_statistics, GroupStats, PassReport, StatsOptions, DEFAULT_BUDGET};
use crate::summary::{AcrossMethods, Summary};
use crate::Result;
use amva_maps::source::MapKind;

pub mod across;
pub mod compare;
pub mod report;
mod report_method;
pub mod significance;
pub mod summarise;
pub mod validate;
pub mod write;

pub use crate::summary::RegionRow;
pub use compare::{
    deviation_map, distribution_shift, region_row, Comparison, Shift, Stat, KDE_POINTS,
};
pub use report::{Item, ReportSection};
use significance::PoolPlan;
pub use significance::{
    permutation_outside_amv, PermutationData, PermutationOutcome, Significance,
};
use validate::Plan;

/// Default growth of the face region, in pixels of the 112 x 112 frame.
pub const DEFAULT_MARGIN: f64 = 12.0;

/// Everything `amva analyze` is asked to do.
#[derive(Debug, Clone)]
pub struct AnalyzeOptions {
    /// The map store.
    pub maps: PathBuf,
    /// Which array of the store.
    pub map_kind: MapKind,
    /// Score files.
    pub scores: Vec<PathBuf>,
    /// Output folder.
    pub out: PathBuf,
    /// Group rules.
    pub rules: GroupRules,
    /// `--direction` overrides.
    pub directions: Vec<(String, Direction)>,
    /// Growth of the face region in pixels of the 112 x 112 frame (scaled to the maps).
    pub region_margin: f64,
    /// Average deviation maps with their mirror image.
    pub symmetric: bool,
    /// Also the paper's lower median, its MAD and `std_mad`.
    pub compat_paper: bool,
    /// Seed of the permutation test.
    pub seed: u64,
    /// Permutations (0: no test).
    pub permutations: usize,
    /// Bytes for the robust statistics' columns (and the direct permutation data).
    pub budget_bytes: usize,
    /// Face images (folder or list) for the mean faces under the overlays; default: the
    /// `images` the maps were made from, when that folder still exists.
    pub images: Option<PathBuf>,
    /// Write figures and report.html (off for benchmarks: numbers and arrays only).
    pub figures: bool,
    /// The command line, for the report.
    pub command_line: Option<String>,
    /// Extra report sections from the caller, after the methods (see [`ReportSection`]).
    pub sections: Vec<ReportSection>,
}

impl AnalyzeOptions {
    /// Defaults: `top:10%` vs `bottom:10%`, margin 12, seed 0, 1,000 permutations.
    pub fn new(maps: impl Into<PathBuf>, scores: Vec<PathBuf>, out: impl Into<PathBuf>) -> Self {
        AnalyzeOptions {
            maps: maps.into(),
            map_kind: MapKind::Low,
            scores,
            out: out.into(),
            rules: GroupRules {
                high: "top:10%".parse().expect("valid rule"),
                low: "bottom:10%".parse().expect("valid rule"),
                bins: None,
            },
            directions: Vec::new(),
            region_margin: DEFAULT_MARGIN,
            symmetric: false,
            compat_paper: false,
            seed: 0,
            permutations: amva_math::compare::DEFAULT_PERMUTATIONS,
            budget_bytes: DEFAULT_BUDGET,
            images: None,
            figures: true,
            command_line: None,
            sections: Vec::new(),
        }
    }
}

/// What a run produced.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The contents of summary.json.
    pub summary: Summary,
    /// How the statistics were computed.
    pub passes: PassReport,
    /// Things the user should know (also in the report and summary.json).
    pub notes: Vec<String>,
}

/// Progress callback: (stage, done, total).
pub type Progress<'a> = &'a mut dyn FnMut(&str, usize, usize);

/// The results of one method.
#[derive(Debug, Clone)]
pub struct MethodResult {
    /// Its groups compared.
    pub comparison: Comparison,
    /// Its permutation test.
    pub significance: Significance,
}

/// The typed results of a run: what is summarised, drawn and written.
#[derive(Debug)]
pub struct Analysis {
    /// The validated inputs.
    pub plan: Plan,
    /// Per method (aligned with `plan.groups`).
    pub methods: Vec<MethodResult>,
    /// Agreement of the methods.
    pub across: AcrossMethods,
    /// How the statistics were computed.
    pub passes: PassReport,
}

/// Runs the analysis (see the module docs for the stages and the files written).
pub fn analyze(opts: &AnalyzeOptions, progress: Progress<'_>) -> Result<Outcome> {
    let started = std::time::Instant::now();
    let plan = validate::validate(opts)?;
    let pool = PoolPlan::new(
        &plan.groups,
        &plan.source,
        &plan.geometry.outside,
        opts.permutations,
        opts.budget_bytes,
    );
    let (stats, passes, pooled) = statistics(&plan, &pool, opts, progress)?;
    let mut methods = Vec::with_capacity(stats.len());
    for (mi, gstats) in stats.into_iter().enumerate() {
        let name = plan.groups[mi].name.as_str();
        progress(&format!("method {name}"), mi, plan.groups.len());
        let comparison = compare::compare(name, gstats, &plan.stats, &plan.geometry)?;
        if pooled.is_some() && !pool.skipped.contains_key(&mi) {
            progress(&format!("permutations {name}"), 0, opts.permutations);
        }
        let significance = significance::test_method(
            mi,
            &plan.groups[mi],
            &pool,
            pooled.as_ref(),
            &plan.source,
            &plan.geometry.outside,
            (opts.permutations, opts.seed),
        )?;
        methods.push(MethodResult {
            comparison,
            significance,
        });
    }
    let across = across::across_methods(&plan.groups);
    let analysis = Analysis {
        plan,
        methods,
        across,
        passes,
    };
    let rendered = if opts.figures {
        Some(report::render(&analysis, opts)?)
    } else {
        None
    };
    let figures = rendered.as_ref().map(|(f, _)| f.all());
    let seconds = started.elapsed().as_secs_f64();
    let summary = summarise::summarise(&analysis, opts, figures, seconds);
    write::write_outputs(&analysis, &summary, rendered.as_ref(), &opts.out)?;
    Ok(Outcome {
        summary,
        passes,
        notes: analysis.plan.notes,
    })
}

/// Per-group statistics of every method (high, low, then the bins), gathering the
/// maps of the permutation tests on the way.
fn statistics(
    plan: &Plan,
    pool: &PoolPlan,
    opts: &AnalyzeOptions,
    progress: Progress<'_>,
) -> Result<(Vec<Vec<GroupStats>>, PassReport, Option<Pooled>)> {
    let source = &plan.source;
    let mut collector = pool.collector(source, &plan.geometry.outside);
    let all_rows: Vec<&[usize]> = plan
        .groups
        .iter()
        .flat_map(|g| g.all_groups().into_iter().map(|x| x.rows.as_slice()))
        .collect();
    let stats_opts = StatsOptions {
        robust: true,
        compat_paper: opts.compat_paper,
        budget_bytes: opts.budget_bytes,
        chunk_rows: 256,
    };
    let total_cols: usize = all_rows.iter().map(|r| r.len()).sum();
    let passes_needed = crate::setstats::plan(total_cols, source.pixels(), &stats_opts).1;
    let total_reads = source.len() * passes_needed;
    let mut read = 0usize;
    let (stats, passes) = group_statistics(
        source,
        &all_rows,
        &stats_opts,
        collector.as_mut(),
        &mut |n| {
            read += n;
            progress("statistics", read, total_reads);
        },
    )?;
    let pooled = collector.map(|c| c.finish()).transpose()?;
    let mut it = stats.into_iter();
    let per_method = plan
        .groups
        .iter()
        .map(|g| it.by_ref().take(g.all_groups().len()).collect())
        .collect();
    Ok((per_method, passes, pooled))
}
