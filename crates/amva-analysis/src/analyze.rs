//! The whole `amva analyze` run, in stages that each return typed results:
//!
//! 1. [`validate`](validate::validate): options, store, scores, groups, face region;
//!    nothing is computed or written before every input is checked;
//! 2. statistics: MAM, AM-V, median, MAD of every group of every method in one set of
//!    passes over the store ([`crate::setstats`]), pooling the maps the tests need;
//! 3. comparisons ([`compare`]): region means, deviation maps, distribution shift,
//!    profiles, the trend over bins, each computed once per method;
//! 4. tests ([`significance`]): the permutation test of each method; agreement
//!    across methods ([`across`]); every image scored and explained ([`images`]);
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
//! images.csv                every image: typicality; each method's score, rank, group and
//!                           explanation against its high group (as `amva explain`)
//! arrays/typicality/all_{mam,amv}.npy  the MAM and AM-V of all maps (typicality's reference)
//! explorer.html, explorer/   every image in one table (see [`explorer`])
//! labels.csv, labels_pairs.csv, labels_crossed.csv, arrays/labels/   with --groups (see [`labels`])
//! edc/                      with --pairs: the files of `amva edc` (pauc.csv, curves.csv, edc.json, edc.png)
//! unmatched.csv             method,image,reason: every id without a partner, every excluded score
//! ```

use crate::permutation::Pooled;
use crate::setstats::{group_statistics, GroupStats, PassReport, StatsOptions};

use crate::Result;

pub mod across;
pub mod compare;
pub mod explorer;
pub mod gallery;
pub mod images;
pub mod labels;
mod options;
mod page;
pub mod report;
mod report_labels;
mod report_method;
mod results;
pub mod significance;
pub mod summarise;
pub mod validate;
pub mod write;

pub use crate::summary::RegionRow;
pub use compare::{
    deviation_map, distribution_shift, region_row, Comparison, Shift, Stat, KDE_POINTS,
};
pub use options::{AnalyzeOptions, DEFAULT_MARGIN};
pub use page::{Item, ReportSection};
pub use results::{Analysis, MethodResult, Outcome, Progress};
use significance::PoolPlan;
pub use significance::{
    permutation_outside_amv, PermutationData, PermutationOutcome, Significance,
};
use validate::Plan;

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
    progress("images", 0, plan.source.len());
    let images = images::per_image(&plan, &methods, &opts.out)?;
    let edc = opts
        .edc
        .as_ref()
        .map(|e| crate::edc::edc_of_methods(e, &plan.methods))
        .transpose()?;
    let labels = match &plan.labels {
        Some(input) => {
            progress("groups", 0, input.labels.len());
            let test = (opts.permutations, opts.seed);
            Some(labels::label_statistics(
                &plan,
                input,
                opts.budget_bytes,
                test,
            )?)
        }
        None => None,
    };
    let analysis = Analysis {
        plan,
        methods,
        across,
        passes,
        images,
        labels,
        edc,
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
