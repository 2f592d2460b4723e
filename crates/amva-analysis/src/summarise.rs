//! The typed results of a run as the [`Summary`] written to summary.json, with file
//! names from [`crate::files`], so the summary and the written arrays agree.

use std::path::Path;

use crate::compare::{Comparison, Stat};
use crate::files;
use crate::groups::MethodGroups;
use crate::options::AnalyzeOptions;
use crate::results::{Analysis, MethodResult};
use crate::significance::Significance;
use crate::summary::{
    Computation, DeviationSummary, DirectionOverride, FigureEntry, GroupSummary, ImageCounts,
    MapStats, MapsSummary, MethodSummary, Parameters, PerStat, PermutationRun, PermutationSummary,
    ProfileFile, Profiles, RegionSummary, ScoreFile, ShiftSummary, Summary, TrendSummary,
};
use amva_quality::scores::MethodScores;

fn sha256_file(path: &Path) -> Option<String> {
    amva_io::cache::sha256_file(path).ok()
}

/// The summary of `analysis`: `figures` lists the figures drawn (None: none were, and
/// there is no report), `seconds` is the run time.
pub fn summarise(
    analysis: &Analysis,
    opts: &AnalyzeOptions,
    figures: Option<Vec<FigureEntry>>,
    seconds: f64,
) -> Summary {
    let plan = &analysis.plan;
    let source = &plan.source;
    let info = source.info();
    let (h, w) = plan.geometry.shape;
    let inside_n = plan.geometry.inside.iter().filter(|i| **i).count();
    let p = &analysis.passes;
    let methods = plan
        .groups
        .iter()
        .zip(&plan.methods)
        .zip(plan.keys.iter().zip(&analysis.methods))
        .map(|((g, ms), (key, r))| (g.name.clone(), method_summary(key, g, ms, r, opts)))
        .collect();
    Summary {
        amva_version: env!("CARGO_PKG_VERSION").into(),
        kind: Summary::KIND.into(),
        command_line: opts.command_line.clone(),
        key_findings: Some(crate::findings::key_findings(analysis)),
        parameters: parameters(analysis, opts),
        maps: MapsSummary {
            dir: opts.maps.clone(),
            count: source.len(),
            flagged_flat: source.flagged_flat().iter().filter(|f| **f).count(),
            map_shape: [info.map_shape.0, info.map_shape.1],
            full_shape: [h, w],
            model_sha256: info.model_sha256.clone(),
            method: info.method.clone(),
            layer: info.layer.clone(),
            images: info.images.clone(),
            meta: info.raw.clone(),
        },
        region: RegionSummary {
            mask_file: files::REGION_MASK.into(),
            inside_pixels: inside_n,
            outside_pixels: h * w - inside_n,
            definition: "convex hull of the ArcFace 112 template's 5 landmarks (scaled to the maps), grown by the margin".into(),
        },
        methods,
        across_methods: analysis.across.clone(),
        computation: Computation {
            passes: p.passes,
            block_pixels: p.block_pixels,
            column_bytes: p.column_bytes,
            welford_bytes: p.welford_bytes,
            maps_finished: p.maps_finished,
            seconds,
        },
        unmatched_file: files::UNMATCHED.into(),
        notes: plan.notes.clone(),
        report: figures.as_ref().map(|_| files::REPORT.into()),
        figures,
    }
}

fn parameters(analysis: &Analysis, opts: &AnalyzeOptions) -> Parameters {
    Parameters {
        maps: opts.maps.clone(),
        map_file: analysis
            .plan
            .source
            .data_path()
            .file_name()
            .map(|n| n.to_string_lossy().into_owned()),
        scores: opts
            .scores
            .iter()
            .map(|p| ScoreFile {
                path: p.clone(),
                sha256: sha256_file(p),
            })
            .collect(),
        high: opts.rules.high.to_string(),
        low: opts.rules.low.to_string(),
        bins: opts.rules.bins,
        directions: opts
            .directions
            .iter()
            .map(|(m, d)| DirectionOverride {
                method: m.clone(),
                direction: d.to_string(),
            })
            .collect(),
        region_margin_px_112: opts.region_margin,
        region_margin_px_maps: analysis.plan.geometry.margin_px,
        symmetric: opts.symmetric,
        compat_paper: opts.compat_paper,
        seed: opts.seed,
        permutations: opts.permutations,
        memory_budget_bytes: opts.budget_bytes,
    }
}

fn method_summary(
    key: &str,
    g: &MethodGroups,
    ms: &MethodScores,
    r: &MethodResult,
    opts: &AnalyzeOptions,
) -> MethodSummary {
    let c = &r.comparison;
    MethodSummary {
        key: key.into(),
        direction: g.direction.to_string(),
        direction_source: ms.direction_source.as_str().into(),
        score_file: ms.source.clone(),
        images: ImageCounts {
            finite_scores: ms.scores.len(),
            non_finite_scores: ms.non_finite.len(),
            repeated_rows: ms.repeated,
            matched: g.rows.len(),
            scores_without_map: g.without_map.len(),
            maps_without_score: g.without_score.len(),
            high_low_overlap: g.overlap,
        },
        groups: group_summaries(key, g, c),
        deviation: c
            .deviations
            .iter()
            .map(|d| {
                let s = DeviationSummary {
                    file: files::deviation(key, d.stat),
                    max: d.max,
                    mean: d.mean,
                    region: d.region,
                    symmetric: opts.symmetric,
                };
                (d.stat, s)
            })
            .collect(),
        distribution_shift: shift_summaries(key, c),
        profiles: Profiles {
            x: profile_file(key, "x", "AM-V summed over rows (one value per column)"),
            y: profile_file(key, "y", "AM-V summed over columns (one value per row)"),
        },
        permutation_test: permutation_summary(key, c, &r.significance, opts.seed),
        trend: c.trend.as_ref().map(|t| TrendSummary {
            bins: t.outside.len(),
            outside_amv: t.outside.clone(),
            inside_amv: t.inside.clone(),
            spearman_bin_vs_outside_amv: t.rho,
            spearman_note: t.note.clone(),
            file: files::bins_region(key),
            file_columns: vec!["inside".into(), "outside".into()],
            order: "bin 1 = worst quality".into(),
        }),
        groups_file: files::groups_csv(key),
    }
}

fn group_summaries(key: &str, g: &MethodGroups, c: &Comparison) -> Vec<GroupSummary> {
    g.all_groups()
        .into_iter()
        .zip(&c.groups)
        .map(|(grp, res)| GroupSummary {
            name: grp.name.clone(),
            key: grp.key.clone(),
            rule: grp.rule.clone(),
            n: res.stats.n,
            flat_maps: res.stats.flat,
            score_min: grp.score_range.0,
            score_max: grp.score_range.1,
            stats: res
                .ranges
                .iter()
                .map(|(s, r)| {
                    let m = MapStats {
                        file: files::group_stat(key, &grp.key, s),
                        mean: r.mean,
                        min: r.min,
                        max: r.max,
                    };
                    (s, m)
                })
                .collect(),
            region: res.region.clone(),
        })
        .collect()
}

fn shift_summaries(key: &str, c: &Comparison) -> PerStat<ShiftSummary> {
    c.shifts
        .iter()
        .map(|(s, sh)| {
            let summary = ShiftSummary {
                ks: sh.ks,
                ks_p: sh.ks_p,
                wasserstein: sh.wasserstein,
                kde_file: sh.kde.as_ref().map(|_| files::kde(key, *s)),
                kde_rows: ["grid", "density high", "density low"]
                    .map(String::from)
                    .to_vec(),
                note: sh
                    .kde
                    .is_none()
                    .then(|| "a map is constant: no density curve".to_string()),
            };
            (*s, summary)
        })
        .collect()
}

fn profile_file(key: &str, axis: &str, what: &str) -> ProfileFile {
    ProfileFile {
        file: files::profile(key, axis),
        rows: vec!["AM-V high".into(), "AM-V low".into()],
        what: what.into(),
    }
}

fn permutation_summary(
    key: &str,
    c: &Comparison,
    sig: &Significance,
    seed: u64,
) -> PermutationSummary {
    let (outcome, low_rank) = match sig {
        Significance::Skipped(reason) => {
            return PermutationSummary::Skipped {
                skipped: reason.clone(),
            }
        }
        Significance::Run { outcome, low_rank } => (outcome, *low_rank),
    };
    PermutationSummary::Run(Box::new(PermutationRun {
        statistic: "mean AM-V outside the face region: low group minus high group".into(),
        alternative: "greater".into(),
        observed: outcome.observed,
        observed_per_pixel_path: c.low().region_of(Stat::Amv).outside
            - c.high().region_of(Stat::Amv).outside,
        p_value: outcome.p_value,
        extreme: outcome.extreme,
        n_perm: outcome.n_perm,
        seed,
        method: if low_rank {
            "low-rank moments of the stored low-resolution maps"
        } else {
            "direct, outside pixels of the full maps"
        }
        .into(),
        file: files::permutation(key),
        file_rows: "observed, then one value per permutation".into(),
    }))
}
