//! Activation map variation analysis: from a map store and FIQA scores to quality
//! groups, exact set statistics, comparisons, figures and the HTML report; and the
//! explanation of single images against a reference (ALGORITHMS 2-5).
//!
//! The modules follow the pipeline:
//!
//! - score files are read by `amva_quality::scores` (the one reader: directions from
//!   the sidecar or `--direction`, non-finite scores kept aside and listed).
//! - the map store is read as a stream of finished maps by `amva_maps::source` (the
//!   one reader of stores; bounded memory).
//! - [`groups`]: scores joined to the maps; high, low and quality-bin groups.
//! - [`setstats`]: MAM, AM-V (Welford), median, MAD (and the paper's variants) of
//!   many groups at once, exact, in passes over the store.
//! - [`permutation`]: the permutation test of the outside-region AM-V difference.
//! - [`analyze`]: the whole `amva analyze` run as stages with typed results:
//!   validate, statistics, comparisons, tests, report, write.
//! - [`summary`]: `summary.json` as one typed struct, written and read back.
//! - [`explain`]: one image's map against an `analyze` reference.
//! - [`edc`]: the EDC files and figure (`amva edc`, `amva analyze --pairs`).
//! - [`synthetic`]: synthetic stores for benchmarks.
//!
//! ```no_run
//! use amva_analysis::analyze::{analyze, AnalyzeOptions};
//! let mut opts = AnalyzeOptions::new("maps/", vec!["magface.csv".into()], "analysis/");
//! opts.rules.bins = Some(10);
//! let outcome = analyze(&opts, &mut |_stage, _done, _total| {})?;
//! if let Some(test) = outcome.summary.methods["magface"].permutation_test.run() {
//!     println!("outside AM-V, low - high: {} (p = {})", test.observed, test.p_value);
//! }
//! # Ok::<(), amva_analysis::AnalysisError>(())
//! ```

pub mod analyze;
pub mod edc;
mod error;
pub mod explain;
pub mod figures;
pub mod groups;
pub mod permutation;
pub mod setstats;
pub mod stat;
pub mod summary;
pub mod synthetic;

pub use error::{AnalysisError, Result};
