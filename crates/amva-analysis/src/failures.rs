//! Comparisons that fail at the EDC's fixed threshold (`amva analyze --pairs`,
//! ALGORITHMS 6.9): false non-matches (mated, score <= t) and false matches (non-mated,
//! score > t), counted per FIQA method by the quality groups of their two images.
//!
//! An image's group for a method is `high`, `low`, `both` (in both groups, possible with
//! wide rules), `middle` (scored, in neither) or `unscored` (no map or no finite score).
//! The two groups of a comparison are sorted, so (low, high) and (high, low) are one row.

use std::collections::BTreeMap;

use amva_quality::PairScore;

use crate::groups::MethodGroups;

/// The outcomes counted.
pub const FALSE_NON_MATCH: &str = "false non-match";
pub const FALSE_MATCH: &str = "false match";

/// One row of failures.csv.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailureRow {
    pub method: String,
    pub outcome: &'static str,
    pub group_a: &'static str,
    pub group_b: &'static str,
    pub comparisons: usize,
}

/// Every failing comparison and the counts by groups.
#[derive(Debug, Clone)]
pub struct Failures {
    /// The decision threshold (a comparison matches when its score is above it).
    pub threshold: f64,
    /// Failing comparisons: false non-matches first, lowest score first, then false
    /// matches, highest score first.
    pub failing: Vec<PairScore>,
    pub rows: Vec<FailureRow>,
}

/// The outcome of a comparison at `t`, if it fails.
pub fn outcome(p: &PairScore, t: f64) -> Option<&'static str> {
    match (p.mated, p.score > t) {
        (true, false) => Some(FALSE_NON_MATCH),
        (false, true) => Some(FALSE_MATCH),
        _ => None,
    }
}

/// Each image's group for one method, by store row.
pub fn group_of_rows(g: &MethodGroups, n_rows: usize) -> Vec<&'static str> {
    let mut of = vec!["unscored"; n_rows];
    for &r in &g.rows {
        of[r] = "middle";
    }
    for &r in &g.high.rows {
        of[r] = "high";
    }
    for &r in &g.low.rows {
        of[r] = if of[r] == "high" { "both" } else { "low" };
    }
    of
}

/// The failures of `pairs` at `threshold` for every method of `groups` (store `ids`).
pub fn failures(
    groups: &[MethodGroups],
    ids: &[String],
    pairs: &[PairScore],
    threshold: f64,
) -> Failures {
    let row: std::collections::HashMap<&str, usize> = ids
        .iter()
        .enumerate()
        .map(|(i, id)| (id.as_str(), i))
        .collect();
    let mut failing: Vec<PairScore> = pairs
        .iter()
        .filter(|p| outcome(p, threshold).is_some())
        .cloned()
        .collect();
    failing.sort_by(|a, b| {
        b.mated.cmp(&a.mated).then(if a.mated {
            a.score.total_cmp(&b.score)
        } else {
            b.score.total_cmp(&a.score)
        })
    });
    let mut rows = Vec::new();
    for g in groups {
        let of = group_of_rows(g, ids.len());
        let group = |id: &str| row.get(id).map_or("unscored", |&r| of[r]);
        let mut counts: BTreeMap<(&'static str, &'static str, &'static str), usize> =
            BTreeMap::new();
        for p in &failing {
            let (mut a, mut b) = (group(&p.a), group(&p.b));
            if a > b {
                std::mem::swap(&mut a, &mut b);
            }
            *counts
                .entry((outcome(p, threshold).unwrap_or(""), a, b))
                .or_default() += 1;
        }
        rows.extend(
            counts
                .into_iter()
                .map(|((outcome, group_a, group_b), comparisons)| FailureRow {
                    method: g.name.clone(),
                    outcome,
                    group_a,
                    group_b,
                    comparisons,
                }),
        );
    }
    Failures {
        threshold,
        failing,
        rows,
    }
}

/// Header of failures.csv.
pub const HEADER: [&str; 5] = ["method", "outcome", "group_a", "group_b", "comparisons"];

/// failures.csv rows.
pub fn csv_rows(f: &Failures) -> Vec<[String; 5]> {
    f.rows
        .iter()
        .map(|r| {
            [
                r.method.clone(),
                r.outcome.into(),
                r.group_a.into(),
                r.group_b.into(),
                r.comparisons.to_string(),
            ]
        })
        .collect()
}

/// A method's false non-matches, those of them with at least one image in its low group
/// (`low` or `both`), and its false matches.
pub fn counts(f: &Failures, method: &str) -> (usize, usize, usize) {
    let (mut fnm, mut low, mut fm) = (0, 0, 0);
    for r in f.rows.iter().filter(|r| r.method == method) {
        if r.outcome == FALSE_MATCH {
            fm += r.comparisons;
        } else if r.outcome == FALSE_NON_MATCH {
            fnm += r.comparisons;
            if [r.group_a, r.group_b]
                .iter()
                .any(|g| *g == "low" || *g == "both")
            {
                low += r.comparisons;
            }
        }
    }
    (fnm, low, fm)
}

/// The share of a method's false non-matches with at least one image in its low group
/// (None without false non-matches).
pub fn low_share(f: &Failures, method: &str) -> Option<f64> {
    let (all, low, _) = counts(f, method);
    (all > 0).then(|| low as f64 / all as f64)
}

/// How the pair maps of the failing comparisons are made (`amva analyze --pair-maps K`).
pub struct PairMapsRun<'a> {
    pub model: &'a amva_model::FrModel,
    /// The method's name and its probes.
    pub method: (&'a str, amva_maps::pair::PairMethod),
    /// The face images' folder (pair ids are below it).
    pub root: &'a std::path::Path,
    pub resize: bool,
    /// At most this many comparisons are mapped.
    pub k: usize,
}

/// The failing comparisons of `input` at its EDC threshold, worst first (false
/// non-matches by lowest similarity, then false matches by highest), at most `k`, with
/// the pairs file's lines.
pub fn failing_comparisons(
    input: &crate::edc::EdcInput,
    k: usize,
) -> crate::Result<Vec<amva_maps::pair_store::Comparison>> {
    let all: Vec<amva_math::edc::Comparison> = input
        .pairs
        .iter()
        .map(|p| amva_math::edc::Comparison {
            score: p.score,
            mated: p.mated,
            quality_a: 0.0,
            quality_b: 0.0,
        })
        .collect();
    let t = amva_math::edc::threshold_at_fmr(&all, input.options.target_fmr)
        .map_err(crate::AnalysisError::math("EDC threshold"))?
        .value;
    let lines = amva_io::pairs::lines_by_comparison(&input.source.pairs)?;
    let key = |a: &str, b: &str| {
        let (a, b) = amva_io::pairs::comparison_key(a, b);
        (a.to_string(), b.to_string())
    };
    let f = failures(&[], &[], &input.pairs, t);
    Ok(f.failing
        .iter()
        .take(k)
        .enumerate()
        .map(|(row, p)| amva_maps::pair_store::Comparison {
            row,
            line: lines.get(&key(&p.a, &p.b)).copied().unwrap_or(0),
            a: p.a.clone(),
            b: p.b.clone(),
            mated: Some(p.mated),
        })
        .collect())
}

/// Maps the failing comparisons of `input` into `dir` (a comparison store with full
/// maps, resumed when it holds a run with the same settings). `done(k, n)` reports
/// progress. Returns the store's meta.json, or `None` when nothing fails.
pub fn map_failing(
    run: &PairMapsRun,
    input: &crate::edc::EdcInput,
    dir: &std::path::Path,
    mut done: impl FnMut(usize, usize),
) -> crate::Result<Option<amva_maps::pair_store::CompareMeta>> {
    use amva_maps::pair_run;
    let todo = failing_comparisons(input, run.k)?;
    if todo.is_empty() {
        return Ok(None);
    }
    let mut mapper = amva_maps::pair::PairMapper::new(run.model, run.method.1)?;
    mapper.keeps_full = true;
    let r = pair_run::PairRun {
        mapper: &mapper,
        root: run.root,
        resize: run.resize,
        part_size: pair_run::PART,
        stop_after_parts: None,
    };
    let meta = pair_run::meta(&r, run.method.0, &todo, None);
    let n = todo.len();
    Ok(pair_run::run(&r, &todo, dir, meta, |k| done(k, n))?)
}
