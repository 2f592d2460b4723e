//! The typed results of a run, stage by stage: what is summarised, drawn and written.

use crate::compare::Comparison;
use crate::images::PerImage;
use crate::labels::LabelResults;
use crate::setstats::PassReport;
use crate::significance::Significance;
use crate::summary::{AcrossMethods, Summary};
use crate::validate::Plan;

/// What a run produced.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The contents of summary.json.
    pub summary: Summary,
    /// How the statistics were computed.
    pub passes: PassReport,
    /// Things the user should know (also in the report and summary.json).
    pub notes: Vec<String>,
    /// The output folder.
    pub out: std::path::PathBuf,
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
    /// Every image scored, ranked and explained.
    pub images: PerImage,
    /// The categorical groups (`--groups`).
    pub labels: Option<LabelResults>,
    /// Recognition per label (`--groups` with `--pairs`).
    pub label_verification: Option<crate::labels::LabelVerification>,
    /// The EDC of every method (`--pairs`).
    pub edc: Option<crate::edc::EdcResult>,
    /// Comparisons failing at the EDC's threshold, by quality groups (`--pairs`).
    pub failures: Option<crate::failures::Failures>,
}

/// One FIQA method in the brief of a run.
#[derive(Debug, Clone, serde::Serialize)]
pub struct MethodBrief {
    /// Images with a map and a finite score.
    pub matched: usize,
    /// Images in the high group.
    pub high: Option<usize>,
    /// Images in the low group.
    pub low: Option<usize>,
    /// Mean AM-V outside the face region, high group.
    pub outside_amv_high: Option<f64>,
    /// The same, low group.
    pub outside_amv_low: Option<f64>,
    /// The permutation test's one-sided p-value, if it ran.
    pub p_value: Option<f64>,
}

/// The brief of a run (`amva analyze --json`): the counts and each method's finding.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Brief {
    /// The output folder.
    pub out: std::path::PathBuf,
    /// Maps analysed.
    pub maps: usize,
    /// Per method.
    pub methods: std::collections::BTreeMap<String, MethodBrief>,
    /// Passes over the maps.
    pub passes: usize,
    /// Run time.
    pub seconds: f64,
}

impl Outcome {
    /// The brief of this run (see [`Brief`]).
    pub fn brief(&self) -> Brief {
        let s = &self.summary;
        let methods = s
            .methods
            .iter()
            .map(|(name, m)| {
                let (high, low) = (m.high(), m.low());
                let outside = |g: Option<&crate::summary::GroupSummary>| {
                    g.and_then(|g| g.region.amv).map(|r| r.outside)
                };
                let brief = MethodBrief {
                    matched: m.images.matched,
                    high: high.map(|g| g.n),
                    low: low.map(|g| g.n),
                    outside_amv_high: outside(high),
                    outside_amv_low: outside(low),
                    p_value: m.permutation_test.run().map(|t| t.p_value),
                };
                (name.clone(), brief)
            })
            .collect();
        Brief {
            out: self.out.clone(),
            maps: s.maps.count,
            methods,
            passes: self.passes.passes,
            seconds: s.computation.seconds,
        }
    }

    /// The one-line summary of this run for the terminal.
    pub fn line(&self) -> String {
        let s = &self.summary;
        let parts: Vec<String> = s
            .methods
            .iter()
            .map(|(name, m)| {
                let detail = match m.permutation_test.run() {
                    Some(t) => format!(
                        "outside AM-V low-high {:.4} (p = {:.4})",
                        t.observed, t.p_value
                    ),
                    None => "no permutation test".into(),
                };
                format!("{name}: {} matched, {detail}", m.images.matched)
            })
            .collect();
        format!(
            "analysed {} maps, {} method(s) [{}] in {:.1} s ({} pass(es)) -> {}",
            s.maps.count,
            s.methods.len(),
            parts.join("; "),
            s.computation.seconds,
            self.passes.passes,
            self.out.join(crate::files::REPORT).display()
        )
    }
}
