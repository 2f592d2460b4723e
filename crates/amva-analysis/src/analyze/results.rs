//! The typed results of a run, stage by stage: what is summarised, drawn and written.

use super::compare::Comparison;
use super::images::PerImage;
use super::labels::LabelResults;
use super::significance::Significance;
use super::validate::Plan;
use crate::setstats::PassReport;
use crate::summary::{AcrossMethods, Summary};

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
    /// Every image scored, ranked and explained.
    pub images: PerImage,
    /// The categorical groups (`--groups`).
    pub labels: Option<LabelResults>,
    /// The EDC of every method (`--pairs`).
    pub edc: Option<crate::edc::EdcResult>,
}
