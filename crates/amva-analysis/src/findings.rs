//! The key findings of a run, answer first: per FIQA method, the outside-region AM-V of
//! its high and low groups, their difference with the permutation test (ALGORITHMS 4.6),
//! the D-AM-V ratio, the EDC pAUC ratio to random and the false non-matches in its low
//! group, with a plain verdict by the rule of [`crate::verdict`].

use crate::results::Analysis;
use crate::significance::Significance;
use crate::stat::Stat;
use crate::summary::{KeyFinding, KeyFindings};
use crate::verdict::{Verdict, LEVEL, RULE};

/// The key findings of `analysis`, one row per method in report order.
pub fn key_findings(analysis: &Analysis) -> KeyFindings {
    KeyFindings {
        rule: RULE.into(),
        level: LEVEL,
        threshold: analysis.failures.as_ref().map(|f| f.threshold),
        methods: (0..analysis.plan.groups.len())
            .map(|mi| finding(analysis, mi))
            .collect(),
    }
}

fn finding(analysis: &Analysis, mi: usize) -> KeyFinding {
    let (g, r) = (&analysis.plan.groups[mi], &analysis.methods[mi]);
    let c = &r.comparison;
    let (high, low) = (
        c.high().region_of(Stat::Amv).outside,
        c.low().region_of(Stat::Amv).outside,
    );
    let mut k = KeyFinding {
        method: g.name.clone(),
        key: analysis.plan.keys[mi].clone(),
        high: c.high().stats.n,
        low: c.low().stats.n,
        outside_amv_high: high,
        outside_amv_low: low,
        difference: low - high,
        p_value: None,
        p_reversed: None,
        verdict: None,
        not_tested: None,
        damv_outside_inside: c.deviation(Stat::Amv).map_or(f64::NAN, |d| d.region.ratio),
        pauc_ratio_to_random: None,
        pauc_ratio_ci95: None,
        false_non_matches: None,
        false_non_matches_low: None,
        false_non_matches_low_share: None,
        false_matches: None,
    };
    match &r.significance {
        Significance::Run { outcome, .. } => {
            let (v, p_rev) = Verdict::of(outcome.observed, outcome.p_value, &outcome.null);
            k.difference = outcome.observed;
            k.p_value = Some(outcome.p_value);
            k.p_reversed = Some(p_rev);
            k.verdict = Some(v);
        }
        Significance::Skipped(why) => k.not_tested = Some(why.clone()),
    }
    if let Some(e) = &analysis.edc {
        let m = e.report.methods.iter().find(|m| m.method == g.name);
        k.pauc_ratio_to_random = m.and_then(|m| m.pauc_ratio_to_random);
        k.pauc_ratio_ci95 = e
            .report
            .bootstrap
            .as_ref()
            .and_then(|b| b.ratio_ci95.get(&g.name))
            .map(|&(lo, hi)| [lo, hi]);
    }
    if let Some(f) = &analysis.failures {
        let (fnm, fnm_low, fm) = crate::failures::counts(f, &g.name);
        k.false_non_matches = Some(fnm);
        k.false_non_matches_low = Some(fnm_low);
        k.false_non_matches_low_share = crate::failures::low_share(f, &g.name);
        k.false_matches = Some(fm);
    }
    k
}
