//! The verdict of the outside-region AM-V test (ALGORITHMS 4.9): holds, reversed or not
//! significant, by one stated rule shared by the key findings and the map audit.

use serde::{Deserialize, Serialize};

/// One-sided level of the verdicts.
pub const LEVEL: f64 = 0.05;

/// The rule of the verdicts, as the report and summary.json state it.
pub const RULE: &str = "holds: the low group's mean AM-V outside the central face region minus the high group's is positive with one-sided permutation p < 0.05; reversed: the opposite one-sided test (high minus low, the same permutations) has p < 0.05; not significant: neither; not tested: the permutation test did not run.";

/// What the outside AM-V test says for one FIQA method (and one map method).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Low minus high is positive with p < 0.05 (the one-sided test).
    Holds,
    /// The opposite one-sided test (high minus low, same permutations) has p < 0.05.
    Reversed,
    /// Neither.
    NotSignificant,
}

impl Verdict {
    /// The verdict of an observed difference, its p-value and its permutation null;
    /// also returns the p-value of the opposite test, (#{null <= observed} + 1) / (n + 1).
    pub fn of(observed: f64, p_value: f64, null: &[f64]) -> (Verdict, f64) {
        let tol = 100.0 * f64::EPSILON * observed.abs();
        let below = null.iter().filter(|&&t| t <= observed + tol).count();
        let p_reversed = (below + 1) as f64 / (null.len() + 1) as f64;
        let v = if observed > 0.0 && p_value < LEVEL {
            Verdict::Holds
        } else if p_reversed < LEVEL {
            Verdict::Reversed
        } else {
            Verdict::NotSignificant
        };
        (v, p_reversed)
    }
}

impl std::fmt::Display for Verdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Verdict::Holds => "holds",
            Verdict::Reversed => "reversed",
            Verdict::NotSignificant => "not significant",
        })
    }
}
