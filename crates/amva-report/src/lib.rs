//! What amva shows, drawn from the typed results of amva-analysis: the analysis report
//! (report.html and every figure), the galleries of single images, explorer.html, the
//! explanation figure of one image (`amva explain`) and the EDC figure. Pixels come from
//! amva-draw; nothing here computes a statistic.
//!
//! - [`analyze()`]: the whole `amva analyze` run: amva-analysis computes, this crate draws,
//!   then every file is written (numbers first, report.html last);
//! - [`report`]: the report page, answer first ([`findings`]: the key findings and the
//!   summary figure), its front matter and whole-run sections, from
//!   [`method`] (one section per FIQA method), [`labels`] (`--groups`), [`gallery`] and
//!   [`edc`], built from the blocks of [`page`]; [`figures`] collects the PNGs;
//! - [`trace`]: every number of a report's tables looked up in the file it names;
//! - [`explorer`]: every image in one sortable, filterable page (`assets/`);
//! - [`explain`]: images against an analysis' reference, with their figures (`amva explain`).
//!
//! ```no_run
//! use amva_analysis::AnalyzeOptions;
//! use amva_report::{analyze, ReportOptions};
//! let opts = AnalyzeOptions::new("maps/", vec!["magface.csv".into()], "analysis/");
//! let outcome = analyze(&opts, &ReportOptions::default(), &mut |_stage, _done, _total| {})?;
//! println!("{} notes", outcome.notes.len());
//! # Ok::<(), amva_report::ReportError>(())
//! ```

pub mod analyze;
pub mod audit;
pub mod comparisons;
pub mod edc;
mod error;
pub mod explain;
pub mod explorer;
pub mod figures;
pub mod findings;
pub mod gallery;
pub mod labels;
pub mod method;
pub mod page;
pub mod pair;
pub mod report;
pub mod trace;

pub use analyze::analyze;
pub use error::{ReportError, Result};
pub use page::{Item, ReportSection};
pub use report::ReportOptions;
