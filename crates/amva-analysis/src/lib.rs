//! Activation map variation analysis, the computation: from a map store and FIQA scores
//! to quality groups, exact set statistics, comparisons and tests, every image scored and
//! explained, categorical groups and the EDC, as typed results ([`results::Analysis`]),
//! their summary.json ([`summary::Summary`]) and their numeric files ([`write`])
//! (ALGORITHMS 2-6). Nothing here draws: figures, report.html, galleries and the
//! explorer are amva-report's, which runs [`analyze::compute`] and draws the results.
//!
//! The modules follow the pipeline:
//!
//! - inputs: score files are read by `amva_quality::scores` (the one reader: directions
//!   from the sidecar or `--direction`, non-finite scores kept aside and listed); the
//!   map store is read as a stream of finished maps by `amva_maps::source`;
//! - [`options`]: what is asked; [`validate`]: every input checked and joined (the
//!   [`validate::Plan`]); [`groups`]: scores joined to the maps, high, low and bins;
//! - [`setstats`]: MAM, AM-V (Welford), median, MAD (and the paper's variants) of many
//!   groups at once, exact, in passes over the store; [`stat`] names them;
//! - [`compare`]: region means, deviation maps, distribution shift, profiles, trend;
//! - [`permutation`] and [`significance`]: the permutation test of the outside-region
//!   AM-V difference; [`across`]: agreement of the methods;
//! - [`explain`]: one map against a reference group (ALGORITHMS 5); [`images`]: every
//!   image scored against each method's high group and its map typicality;
//! - [`labels`]: categorical groups (`--groups`); [`edc`]: the EDC (`--pairs`);
//! - [`results`]: the typed results; [`analyze`]: the stages in order;
//! - [`summary`], [`summarise`]: summary.json; [`files`]: the name of every output file;
//!   [`write`]: every numeric file;
//! - [`keys`]: file-name-safe names; [`synthetic`]: synthetic stores for benchmarks.
//!
//! ```no_run
//! use amva_analysis::analyze::compute;
//! use amva_analysis::options::AnalyzeOptions;
//! let mut opts = AnalyzeOptions::new("maps/", vec!["magface.csv".into()], "analysis/");
//! opts.rules.bins = Some(10);
//! let analysis = compute(&opts, &mut |_stage, _done, _total| {})?;
//! if let amva_analysis::significance::Significance::Run { outcome, .. } =
//!     &analysis.methods[0].significance
//! {
//!     // outcome.observed: outside AM-V, low - high; outcome.p_value: one-sided p
//!     assert!(outcome.p_value > 0.0);
//! }
//! # Ok::<(), amva_analysis::AnalysisError>(())
//! ```

pub mod across;
pub mod analyze;
pub mod audit;
pub mod compare;
pub mod edc;
mod error;
pub mod explain;
pub mod failures;
pub mod files;
pub mod findings;
pub mod groups;
pub mod images;
pub mod keys;
pub mod labels;
pub mod options;
pub mod permutation;
pub mod results;
pub mod setstats;
pub mod significance;
pub mod stat;
pub mod summarise;
pub mod summary;
pub mod synthetic;
pub mod validate;
pub mod verdict;
pub mod write;

pub use error::{AnalysisError, Result};
pub use options::{AnalyzeOptions, DEFAULT_MARGIN};
pub use results::{Analysis, MethodResult, Outcome, Progress};
