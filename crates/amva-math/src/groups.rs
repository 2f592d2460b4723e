//! Quality groups (ALGORITHMS 2): which images a FIQA method calls good or bad.
//!
//! All rank-based rules use one total order of the images with a finite score,
//! best to worst: by score (descending for [`Direction::Higher`], ascending for
//! [`Direction::Lower`]), and among equal scores by image id, lexicographically
//! ascending (the smaller id ranks as the better one). `top:k` takes the first
//! k of that order, `bottom:k` the last k, and `bins:B` cuts it into B runs.
//! Because it is one order, `top:k` and `bottom:(n - k)` partition the images,
//! and every run is reproducible.
//!
//! ```
//! use amva_math::groups::{select, Direction, Rule};
//! let ids: Vec<String> = ["a", "b", "c", "d"].iter().map(|s| s.to_string()).collect();
//! let scores = [0.9, f64::NAN, 0.1, 0.5];
//! let rule: Rule = "top:50%".parse().unwrap();
//! let sel = select(&ids, &scores, Direction::Higher, &rule).unwrap();
//! assert_eq!(sel.groups, vec![vec![0, 3]]); // ceil(50% of 3 valid) = 2
//! assert_eq!(sel.excluded, vec![1]);        // NaN score, listed
//! ```

use std::cmp::Ordering;
use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;

use crate::{check_len, MathError, Result};

/// Which way a quality score points: the one definition every crate uses (score
/// files, FIQA methods, groups, EDC). Serialised as `"higher"` / `"lower"`.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// Higher scores are better (the default; e.g. MagFace, SER-FIQ).
    #[default]
    Higher,
    /// Lower scores are better (e.g. BRISQUE).
    Lower,
}

impl Direction {
    /// The score turned so that higher is better (negated for `Lower`).
    pub fn corrected(self, score: f64) -> f64 {
        match self {
            Direction::Higher => score,
            Direction::Lower => -score,
        }
    }
}

impl FromStr for Direction {
    type Err = MathError;

    /// Parses `higher` or `lower` (case-insensitive, surrounding space ignored), also
    /// spelt `high`/`low`, `higher_is_better`/`lower_is_better` or
    /// `higher is better`/`lower is better`.
    fn from_str(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "higher" | "high" | "higher_is_better" | "higher is better" => Ok(Direction::Higher),
            "lower" | "low" | "lower_is_better" | "lower is better" => Ok(Direction::Lower),
            _ => Err(MathError::InvalidDirection {
                input: s.to_string(),
            }),
        }
    }
}

impl Direction {
    /// The words reports use: "higher is better" / "lower is better".
    pub fn describe(self) -> &'static str {
        match self {
            Direction::Higher => "higher is better",
            Direction::Lower => "lower is better",
        }
    }
}

impl fmt::Display for Direction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Direction::Higher => "higher",
            Direction::Lower => "lower",
        })
    }
}

/// A percentage kept as an exact decimal (`digits / 10^scale` percent), so that
/// `ceil(P% * n)` is computed in integers: `top:10%` of 30 is exactly 3, never 4
/// through a rounding error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Percent {
    digits: u64,
    scale: u32,
}

impl Percent {
    /// The percentage as a float (for display and plotting only).
    pub fn value(&self) -> f64 {
        self.digits as f64 / 10f64.powi(self.scale as i32)
    }

    /// `ceil(P / 100 * n)`, exactly.
    pub fn count_of(&self, n: usize) -> usize {
        let num = u128::from(self.digits) * n as u128;
        let den = 100u128 * 10u128.pow(self.scale);
        num.div_ceil(den) as usize
    }

    fn parse(text: &str) -> std::result::Result<Self, String> {
        let (int, frac) = match text.split_once('.') {
            Some((i, f)) => (i, f),
            None => (text, ""),
        };
        let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if (int.is_empty() && frac.is_empty()) || !all_digits(int) || !all_digits(frac) {
            return Err(format!("'{text}%' is not a plain decimal percentage"));
        }
        if int.len() + frac.len() > 18 {
            return Err(format!("'{text}%' has too many digits"));
        }
        let joined = format!("{int}{frac}");
        let digits: u64 = joined
            .parse()
            .map_err(|_| format!("'{text}%' is not a number"))?;
        let scale = frac.len() as u32;
        let p = Percent { digits, scale };
        // 0 < P <= 100, compared exactly.
        if digits == 0 || u128::from(digits) > 100u128 * 10u128.pow(scale) {
            return Err(format!("percentage {text}% must be in (0, 100]"));
        }
        Ok(p)
    }
}

impl fmt::Display for Percent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.scale == 0 {
            return write!(f, "{}", self.digits);
        }
        let s = format!("{:0width$}", self.digits, width = self.scale as usize + 1);
        let (int, frac) = s.split_at(s.len() - self.scale as usize);
        write!(f, "{int}.{frac}")
    }
}

/// How many images a `top`/`bottom` rule takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Amount {
    /// `ceil(P% * n)` of the n images with a finite score.
    Percent(Percent),
    /// A fixed count (all valid images if fewer exist).
    Count(usize),
}

impl Amount {
    /// The number of images taken out of `n` valid ones (at most `n`).
    pub fn count_of(&self, n: usize) -> usize {
        match self {
            Amount::Percent(p) => p.count_of(n),
            Amount::Count(k) => *k,
        }
        .min(n)
    }
}

impl fmt::Display for Amount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Amount::Percent(p) => write!(f, "{p}%"),
            Amount::Count(k) => write!(f, "{k}"),
        }
    }
}

/// A group rule, parsed from `top:10%`, `bottom:10%`, `top:N`, `bottom:N`,
/// `above:T`, `below:T` or `bins:B`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Rule {
    /// The best images.
    Top(Amount),
    /// The worst images.
    Bottom(Amount),
    /// Raw score `>= T`, whatever the direction (so `above:T` and `below:T`
    /// partition the images).
    Above(f64),
    /// Raw score `< T`, whatever the direction.
    Below(f64),
    /// B equal-count bins, worst to best. With n valid images, bin b (0-based,
    /// from the worst) takes ranks `floor(b n / B) .. floor((b + 1) n / B)` counted
    /// from the worst; sizes differ by at most one.
    Bins(usize),
}

impl FromStr for Rule {
    type Err = MathError;

    fn from_str(s: &str) -> Result<Self> {
        let bad = |reason: String| MathError::InvalidRule {
            input: s.to_string(),
            reason,
        };
        let text = s.trim();
        let (kind, arg) = text
            .split_once(':')
            .ok_or_else(|| bad("missing ':' between the kind and its value".into()))?;
        let kind = kind.trim().to_ascii_lowercase();
        let arg = arg.trim();
        if arg.is_empty() {
            return Err(bad(format!("'{kind}' needs a value after ':'")));
        }
        let amount = |arg: &str| -> std::result::Result<Amount, String> {
            if let Some(p) = arg.strip_suffix('%') {
                Percent::parse(p.trim()).map(Amount::Percent)
            } else {
                match arg.parse::<usize>() {
                    Ok(0) => Err("the count must be at least 1".into()),
                    Ok(k) => Ok(Amount::Count(k)),
                    Err(_) => Err(format!(
                        "'{arg}' is neither a count nor a percentage like 10%"
                    )),
                }
            }
        };
        let threshold = |arg: &str| -> std::result::Result<f64, String> {
            match arg.parse::<f64>() {
                Ok(t) if t.is_finite() => Ok(t),
                _ => Err(format!("'{arg}' is not a finite number")),
            }
        };
        match kind.as_str() {
            "top" => amount(arg).map(Rule::Top).map_err(bad),
            "bottom" => amount(arg).map(Rule::Bottom).map_err(bad),
            "above" => threshold(arg).map(Rule::Above).map_err(bad),
            "below" => threshold(arg).map(Rule::Below).map_err(bad),
            "bins" => match arg.parse::<usize>() {
                Ok(b) if b >= 1 => Ok(Rule::Bins(b)),
                _ => Err(bad(format!("'{arg}' is not a bin count of at least 1"))),
            },
            other => Err(bad(format!("unknown kind '{other}'"))),
        }
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Rule::Top(a) => write!(f, "top:{a}"),
            Rule::Bottom(a) => write!(f, "bottom:{a}"),
            Rule::Above(t) => write!(f, "above:{t}"),
            Rule::Below(t) => write!(f, "below:{t}"),
            Rule::Bins(b) => write!(f, "bins:{b}"),
        }
    }
}

/// All images with a finite score in rank order, and the ones left out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ranking {
    /// Row indices, best first (see the module docs for the order).
    pub best_first: Vec<usize>,
    /// Rows whose score is NaN or infinite, ascending.
    pub excluded: Vec<usize>,
}

/// The result of applying a [`Rule`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selection {
    /// The selected row indices, each group ascending. One group for
    /// top/bottom/above/below; B groups, worst to best, for `bins:B`.
    pub groups: Vec<Vec<usize>>,
    /// Rows excluded for a non-finite score, ascending. Callers list them.
    pub excluded: Vec<usize>,
}

/// Ranks the images with a finite score, best first; ties by id ascending.
///
/// Errors when `ids` and `scores` differ in length or an id is repeated.
pub fn rank(ids: &[String], scores: &[f64], direction: Direction) -> Result<Ranking> {
    check_len("quality scores (one per image id)", ids.len(), scores.len())?;
    let mut seen: HashMap<&str, usize> = HashMap::with_capacity(ids.len());
    for (row, id) in ids.iter().enumerate() {
        if let Some(first) = seen.insert(id.as_str(), row) {
            return Err(MathError::DuplicateId {
                id: id.clone(),
                first,
                second: row,
            });
        }
    }
    let (mut valid, excluded): (Vec<usize>, Vec<usize>) =
        (0..ids.len()).partition(|&i| scores[i].is_finite());
    valid.sort_by(|&a, &b| {
        // Finite scores: partial_cmp is total here, and treats -0.0 == 0.0.
        let by_score = match direction {
            Direction::Higher => scores[b].partial_cmp(&scores[a]),
            Direction::Lower => scores[a].partial_cmp(&scores[b]),
        }
        .unwrap_or(Ordering::Equal);
        by_score.then_with(|| ids[a].cmp(&ids[b]))
    });
    Ok(Ranking {
        best_first: valid,
        excluded,
    })
}

/// Applies `rule` to the images: see [`Rule`] for each kind.
///
/// Errors with [`MathError::EmptyGroup`] (naming the rule) when the group, or any
/// bin, would be empty; with the errors of [`rank`] otherwise.
pub fn select(
    ids: &[String],
    scores: &[f64],
    direction: Direction,
    rule: &Rule,
) -> Result<Selection> {
    let Ranking {
        best_first,
        excluded,
    } = rank(ids, scores, direction)?;
    let n = best_first.len();
    let empty = || MathError::EmptyGroup {
        rule: rule.to_string(),
        valid: n,
    };
    let sorted = |mut g: Vec<usize>| {
        g.sort_unstable();
        g
    };
    let groups = match rule {
        Rule::Top(amount) => vec![sorted(best_first[..amount.count_of(n)].to_vec())],
        Rule::Bottom(amount) => vec![sorted(best_first[n - amount.count_of(n)..].to_vec())],
        Rule::Above(t) => vec![best_first
            .iter()
            .copied()
            .filter(|&i| scores[i] >= *t)
            .collect()],
        Rule::Below(t) => vec![best_first
            .iter()
            .copied()
            .filter(|&i| scores[i] < *t)
            .collect()],
        Rule::Bins(b) => {
            if *b > n {
                return Err(empty());
            }
            let worst_first: Vec<usize> = best_first.iter().rev().copied().collect();
            (0..*b)
                .map(|k| sorted(worst_first[k * n / b..(k + 1) * n / b].to_vec()))
                .collect()
        }
    };
    let groups: Vec<Vec<usize>> = groups.into_iter().map(sorted).collect();
    if groups.iter().any(|g| g.is_empty()) {
        return Err(empty());
    }
    Ok(Selection { groups, excluded })
}

/// Images of a group that share their score with images outside it: the rank order
/// (ties by image id) decided which of them went in, not the score.
#[derive(Debug, Clone, PartialEq)]
pub struct EdgeTie {
    /// The lowest and highest tied score.
    pub scores: (f64, f64),
    /// Tied images inside the group.
    pub inside: usize,
    /// Tied images outside it (finite scores only).
    pub outside: usize,
}

impl EdgeTie {
    /// One sentence for a report: how many were tied and how the tie was broken.
    pub fn note(&self, group: &str) -> String {
        let (lo, hi) = self.scores;
        let at = if lo == hi {
            format!("score {lo}")
        } else {
            format!("scores {lo} .. {hi}")
        };
        format!(
            "{} images in the {group} group and {} outside it tie at {at}; the tie was broken by image id (the smaller id ranks better), not by quality",
            self.inside, self.outside
        )
    }
}

/// The tie across `group`'s edge, if any (`group` as in [`Selection::groups`]).
pub fn edge_tie(scores: &[f64], group: &[usize]) -> Option<EdgeTie> {
    use std::collections::HashSet;
    let inside: HashSet<usize> = group.iter().copied().collect();
    let inner: HashSet<u64> = group.iter().map(|&i| scores[i].to_bits()).collect();
    let outer: HashSet<u64> = (0..scores.len())
        .filter(|i| !inside.contains(i) && scores[*i].is_finite())
        .map(|i| scores[i].to_bits())
        .collect();
    let rows: Vec<usize> = (0..scores.len())
        .filter(|&i| {
            let k = scores[i].to_bits();
            scores[i].is_finite() && inner.contains(&k) && outer.contains(&k)
        })
        .collect();
    if rows.is_empty() {
        return None;
    }
    let lo = rows
        .iter()
        .map(|&i| scores[i])
        .fold(f64::INFINITY, f64::min);
    let hi = rows
        .iter()
        .map(|&i| scores[i])
        .fold(f64::NEG_INFINITY, f64::max);
    let inside_n = rows.iter().filter(|i| inside.contains(i)).count();
    Some(EdgeTie {
        scores: (lo, hi),
        inside: inside_n,
        outside: rows.len() - inside_n,
    })
}
