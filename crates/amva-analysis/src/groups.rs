//! Quality groups of each FIQA method over the images that have a map (ALGORITHMS 2).
//!
//! Scores are joined to the maps by image id. Images scored but without a map, maps
//! without a score, and non-finite scores are kept (listed in the output), not
//! dropped silently. The groups themselves come from [`amva_math::groups::select`]:
//! one total order, ties broken by image id.

use std::collections::HashMap;

use amva_math::groups::{select, Direction, Rule};
use amva_math::MathError;

use crate::{AnalysisError, Result};
use amva_quality::scores::{MethodScores, ScoreRow};

/// Fewest maps a group needs: AM-V divides by n - 1.
pub const MIN_GROUP: usize = 2;

/// The rules of one analysis.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupRules {
    /// The high-quality group (default `top:10%`).
    pub high: Rule,
    /// The low-quality group (default `bottom:10%`).
    pub low: Rule,
    /// Equal-count quality bins, worst to best (`--bins B`), if any.
    pub bins: Option<usize>,
}

/// One group of images of one method.
#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    /// Name in reports: `high`, `low`, `bin 1` (worst) ... `bin B` (best).
    pub name: String,
    /// Name in file names: `high`, `low`, `bin01` ...
    pub key: String,
    /// The rule that made it, as written (`top:10%`, `bins:5 #1`).
    pub rule: String,
    /// Rows of the map store, ascending.
    pub rows: Vec<usize>,
    /// Lowest and highest raw score in the group.
    pub score_range: (f64, f64),
}

/// A method's scores joined to the maps, and its groups.
#[derive(Debug, Clone, PartialEq)]
pub struct MethodGroups {
    /// Method name.
    pub name: String,
    /// Which way its scores point.
    pub direction: Direction,
    /// Store rows of the images with a map and a finite score, ascending.
    pub rows: Vec<usize>,
    /// Their scores (aligned with `rows`).
    pub scores: Vec<f64>,
    /// Scored images (finite score) that have no map.
    pub without_map: Vec<ScoreRow>,
    /// Store rows of maps that have no score for this method (not even a non-finite one).
    pub without_score: Vec<usize>,
    /// Rows with a NaN, infinite or empty score: excluded.
    pub non_finite: Vec<ScoreRow>,
    /// The high-quality group.
    pub high: Group,
    /// The low-quality group.
    pub low: Group,
    /// The quality bins, worst first (empty without `--bins`).
    pub bins: Vec<Group>,
    /// Images in both the high and the low group (possible with wide rules).
    pub overlap: usize,
}

impl MethodGroups {
    /// Notes on ties across the edges of the high and low groups: how many images tie
    /// at the edge and that the tie was broken by image id (ALGORITHMS 2).
    pub fn tie_notes(&self) -> Vec<String> {
        [&self.high, &self.low]
            .into_iter()
            .filter_map(|g| {
                let idx: Vec<usize> = g
                    .rows
                    .iter()
                    .filter_map(|r| self.rows.binary_search(r).ok())
                    .collect();
                amva_math::groups::edge_tie(&self.scores, &idx)
                    .map(|t| format!("method '{}': {}", self.name, t.note(&g.name)))
            })
            .collect()
    }

    /// high, low, then the bins.
    pub fn all_groups(&self) -> Vec<&Group> {
        let mut v = vec![&self.high, &self.low];
        v.extend(self.bins.iter());
        v
    }
}

fn group_error(method: &str, group: &str, rule: &str, reason: String) -> AnalysisError {
    AnalysisError::Group {
        method: method.into(),
        group: group.into(),
        rule: rule.into(),
        reason,
    }
}

/// Refuses a method whose every score is NaN, infinite or empty, naming the first row.
fn check_some_finite(scores: &MethodScores) -> Result<()> {
    match (scores.scores.is_empty(), scores.non_finite.first()) {
        (true, Some(first)) => Err(AnalysisError::NoFiniteScores {
            path: scores.source.clone(),
            method: scores.name.clone(),
            count: scores.non_finite.len(),
            image: first.image.clone(),
            line: first.line,
        }),
        _ => Ok(()),
    }
}

/// A method's scores joined to the store: matched rows (ascending) and their scores.
struct Joined {
    rows: Vec<usize>,
    values: Vec<f64>,
    without_map: Vec<ScoreRow>,
    without_score: Vec<usize>,
}

/// Joins `scores` to the store's `ids` (see [`join_and_group`] for the errors).
fn join(ids: &[String], maps_dir: &std::path::Path, scores: &MethodScores) -> Result<Joined> {
    let row_of: HashMap<&str, usize> = ids
        .iter()
        .enumerate()
        .map(|(i, id)| (id.as_str(), i))
        .collect();
    let mut matched: Vec<(usize, f64)> = Vec::with_capacity(scores.scores.len());
    let mut without_map = Vec::new();
    for s in &scores.scores {
        match row_of.get(s.image.as_str()) {
            Some(&r) => matched.push((r, s.score)),
            None => without_map.push(s.clone()),
        }
    }
    check_some_finite(scores)?;
    if matched.is_empty() {
        return Err(AnalysisError::NoMatch {
            method: scores.name.clone(),
            scores: scores.scores.len(),
            maps: maps_dir.into(),
            store_maps: ids.len(),
        });
    }
    matched.sort_by_key(|m| m.0);
    let mut has_score = vec![false; ids.len()];
    for s in scores.scores.iter().chain(&scores.non_finite) {
        if let Some(&r) = row_of.get(s.image.as_str()) {
            has_score[r] = true;
        }
    }
    Ok(Joined {
        rows: matched.iter().map(|m| m.0).collect(),
        values: matched.iter().map(|m| m.1).collect(),
        without_map,
        without_score: (0..ids.len()).filter(|&r| !has_score[r]).collect(),
    })
}

/// Forms the groups of one method from its joined scores.
struct Grouper<'a> {
    name: &'a str,
    direction: Direction,
    joined: &'a Joined,
    names: Vec<String>,
}

impl Grouper<'_> {
    /// The indices (into the joined scores) `rule` selects, one list per group.
    fn apply(&self, rule: &Rule, group: &str) -> Result<Vec<Vec<usize>>> {
        let name = self.name;
        let sel =
            select(&self.names, &self.joined.values, self.direction, rule).map_err(
                |e| match e {
                    MathError::EmptyGroup { valid, .. } => group_error(
                        name,
                        group,
                        &rule.to_string(),
                        format!("selects no image ({valid} images have a map and a finite score)"),
                    ),
                    other => AnalysisError::Math {
                        context: format!("method '{name}', group '{group}' ({rule})"),
                        source: other,
                    },
                },
            )?;
        Ok(sel.groups)
    }

    /// The group of the selected indices `idx`; refuses fewer than [`MIN_GROUP`].
    fn make(&self, label: &str, key: &str, rule: String, idx: Vec<usize>) -> Result<Group> {
        let (rows, values) = (&self.joined.rows, &self.joined.values);
        if idx.len() < MIN_GROUP {
            return Err(group_error(
                self.name,
                label,
                &rule,
                format!(
                    "selects {} image(s); AM-V (n - 1 in the denominator) needs at least {MIN_GROUP} ({} images have a map and a finite score)",
                    idx.len(),
                    rows.len()
                ),
            ));
        }
        let lo = idx.iter().map(|&i| values[i]).fold(f64::INFINITY, f64::min);
        let hi = idx
            .iter()
            .map(|&i| values[i])
            .fold(f64::NEG_INFINITY, f64::max);
        let mut r: Vec<usize> = idx.iter().map(|&i| rows[i]).collect();
        r.sort_unstable();
        Ok(Group {
            name: label.into(),
            key: key.into(),
            rule,
            rows: r,
            score_range: (lo, hi),
        })
    }

    /// The `b` equal-count quality bins, worst first.
    fn bins(&self, b: usize) -> Result<Vec<Group>> {
        let groups = self.apply(&Rule::Bins(b), "bins").map_err(|e| match e {
            AnalysisError::Group { method, rule, .. } => AnalysisError::Group {
                method,
                group: "bins".into(),
                rule,
                reason: format!(
                    "cannot make {b} non-empty bins of {} images",
                    self.joined.rows.len()
                ),
            },
            other => other,
        })?;
        let mut bins = Vec::new();
        for (i, idx) in groups.into_iter().enumerate() {
            let label = if i == 0 {
                "bin 1 (worst)".to_string()
            } else if i + 1 == b {
                format!("bin {b} (best)")
            } else {
                format!("bin {}", i + 1)
            };
            let (key, rule) = (format!("bin{:02}", i + 1), format!("bins:{b} #{}", i + 1));
            bins.push(self.make(&label, &key, rule, idx)?);
        }
        Ok(bins)
    }
}

/// Rows in both of two ascending lists.
fn overlap(a: &[usize], b: &[usize]) -> usize {
    let (mut i, mut j, mut c) = (0, 0, 0);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                c += 1;
                i += 1;
                j += 1;
            }
        }
    }
    c
}

/// Joins `scores` to the store's `ids` and applies `rules`.
///
/// Errors when no image matches ([`AnalysisError::NoMatch`]) and when a group would
/// hold fewer than [`MIN_GROUP`] maps (naming the method and the rule).
pub fn join_and_group(
    ids: &[String],
    maps_dir: &std::path::Path,
    scores: &MethodScores,
    rules: &GroupRules,
) -> Result<MethodGroups> {
    let joined = join(ids, maps_dir, scores)?;
    let g = Grouper {
        name: &scores.name,
        direction: scores.direction,
        names: joined.rows.iter().map(|&r| ids[r].clone()).collect(),
        joined: &joined,
    };
    let high_idx = g.apply(&rules.high, "high")?.remove(0);
    let low_idx = g.apply(&rules.low, "low")?.remove(0);
    let high = g.make("high", "high", rules.high.to_string(), high_idx)?;
    let low = g.make("low", "low", rules.low.to_string(), low_idx)?;
    let bins = match rules.bins {
        Some(b) => g.bins(b)?,
        None => Vec::new(),
    };
    let overlap = overlap(&high.rows, &low.rows);
    Ok(MethodGroups {
        name: scores.name.clone(),
        direction: scores.direction,
        rows: joined.rows,
        scores: joined.values,
        without_map: joined.without_map,
        without_score: joined.without_score,
        non_finite: scores.non_finite.clone(),
        high,
        low,
        bins,
        overlap,
    })
}
