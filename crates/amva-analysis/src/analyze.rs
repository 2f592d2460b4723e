//! The computation of `amva analyze`, in stages that each return typed results:
//!
//! 1. [`validate`](crate::validate::validate): options, store, scores, groups, face
//!    region; nothing is computed before every input is checked;
//! 2. statistics: MAM, AM-V, median, MAD of every group of every method in one set of
//!    passes over the store ([`crate::setstats`]), pooling the maps the tests need;
//! 3. comparisons ([`crate::compare`]): region means, deviation maps, distribution
//!    shift, profiles, the trend over bins, each computed once per method;
//! 4. tests ([`crate::significance`]): the permutation test of each method; agreement
//!    across methods ([`crate::across`]); every image scored and explained
//!    ([`crate::images`]); the categorical groups ([`crate::labels`]); the EDC
//!    ([`crate::edc`]).
//!
//! [`compute`] returns the [`Analysis`]; [`crate::summarise`] makes its summary.json and
//! [`crate::write`] writes its numbers. Drawing (figures, report, galleries, explorer)
//! is amva-report's, which runs these stages and then draws.

use crate::options::AnalyzeOptions;
use crate::permutation::Pooled;
use crate::results::{Analysis, MethodResult, Progress};
use crate::setstats::{group_statistics, GroupStats, PassReport, StatsOptions};
use crate::significance::PoolPlan;
use crate::validate::Plan;
use crate::{across, compare, images, labels, significance, validate, Result};

/// Validates the inputs and computes every result of the analysis (nothing is written).
pub fn compute(opts: &AnalyzeOptions, progress: Progress<'_>) -> Result<Analysis> {
    let plan = validate::validate(opts)?;
    // Each test keeps every permutation's statistic (8 bytes), written out as well.
    let tests = plan.methods.len() + plan.labels.as_ref().map_or(0, |l| 2 * l.labels.len());
    let what = format!("the statistics of {tests} permutation test(s)");
    amva_io::memory::check_count(
        "--permutations",
        opts.permutations,
        16 * tests as u64,
        &what,
    )?;
    let pool = PoolPlan::new(
        &plan.groups,
        &plan.source,
        &plan.geometry.outside,
        opts.permutations,
        opts.budget_bytes,
    );
    let (stats, passes, pooled) = statistics(&plan, &pool, opts, progress)?;
    let methods = compare_and_test(&plan, &pool, pooled.as_ref(), stats, opts, progress)?;
    let across = across::across_methods(&plan.groups);
    progress("images", 0, plan.source.len());
    let high: Vec<_> = methods.iter().map(|m| &m.comparison.high().stats).collect();
    let images = images::per_image(&plan, &high, &opts.out)?;
    let edc = opts
        .edc
        .as_ref()
        .map(|e| crate::edc::edc_of_methods(e, &plan.methods))
        .transpose()?;
    let labels = match &plan.labels {
        Some(input) => {
            progress("groups", 0, input.labels.len());
            let test = (opts.permutations, opts.seed);
            let scope = labels::LabelScope {
                source: &plan.source,
                geometry: &plan.geometry,
                groups: &plan.groups,
            };
            Some(labels::label_statistics(
                scope,
                input,
                opts.budget_bytes,
                test,
            )?)
        }
        None => None,
    };
    let label_verification = match (&plan.labels, &opts.edc) {
        (Some(input), Some(e)) => Some(labels::verification(
            input,
            plan.source.ids(),
            &e.pairs,
            e.options.target_fmr,
        )?),
        _ => None,
    };
    let failures = match (&opts.edc, &edc) {
        (Some(input), Some(result)) => Some(crate::failures::failures(
            &plan.groups,
            plan.source.ids(),
            &input.pairs,
            result.report.threshold,
        )),
        _ => None,
    };
    Ok(Analysis {
        plan,
        methods,
        across,
        passes,
        images,
        labels,
        label_verification,
        edc,
        failures,
    })
}

/// Each method's groups compared and its permutation test run.
fn compare_and_test(
    plan: &Plan,
    pool: &PoolPlan,
    pooled: Option<&Pooled>,
    stats: Vec<Vec<GroupStats>>,
    opts: &AnalyzeOptions,
    progress: Progress<'_>,
) -> Result<Vec<MethodResult>> {
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
            pool,
            pooled,
            &plan.source,
            &plan.geometry.outside,
            (opts.permutations, opts.seed),
        )?;
        methods.push(MethodResult {
            comparison,
            significance,
        });
    }
    Ok(methods)
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

/// The analysis without pictures: computes, then writes every numeric file and
/// summary.json (no figures, report or explorer: those are amva-report's `analyze`).
pub fn numbers(opts: &AnalyzeOptions, progress: Progress<'_>) -> Result<crate::Outcome> {
    numbers_with_results(opts, progress).map(|(_, outcome)| outcome)
}

/// [`numbers`], keeping the typed results too (the audit compares D-AM-V maps).
pub fn numbers_with_results(
    opts: &AnalyzeOptions,
    progress: Progress<'_>,
) -> Result<(Analysis, crate::Outcome)> {
    let started = std::time::Instant::now();
    let opts = AnalyzeOptions {
        faces: false,
        ..opts.clone()
    };
    let analysis = compute(&opts, progress)?;
    let summary =
        crate::summarise::summarise(&analysis, &opts, None, started.elapsed().as_secs_f64());
    crate::write::write_outputs(&analysis, &summary, &opts.out)?;
    let outcome = crate::Outcome {
        summary,
        passes: analysis.passes,
        notes: analysis.plan.notes.clone(),
        out: opts.out.clone(),
    };
    Ok((analysis, outcome))
}
