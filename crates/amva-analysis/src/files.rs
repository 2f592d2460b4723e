//! Names of the files of an analysis, relative to its output folder: made here and
//! nowhere else.

use crate::stat::Stat;

/// The region mask.
pub const REGION_MASK: &str = "arrays/region_mask.npy";
/// Every id without a partner.
pub const UNMATCHED: &str = "unmatched.csv";
/// The report.
pub const REPORT: &str = "report.html";
/// Every number of the run.
pub const SUMMARY: &str = "summary.json";
/// A copy of the maps' meta.json (for `amva explain`).
pub const MAPS_META: &str = "maps_meta.json";
/// Per label of `--groups`: images, region means, the test against the rest.
pub const LABELS_CSV: &str = "labels.csv";
/// D-AM-V of every pair of labels.
pub const LABELS_PAIRS_CSV: &str = "labels_pairs.csv";
/// Labels crossed with each method's high and low group.
pub const LABELS_CROSSED_CSV: &str = "labels_crossed.csv";
/// Recognition per label at one global threshold per target FMR (`--groups --pairs`).
pub const LABELS_VERIFICATION_CSV: &str = "labels_verification.csv";
/// The Fairness Discrepancy Rate at each target FMR (`--groups --pairs`).
pub const LABELS_FDR_CSV: &str = "labels_fdr.csv";
/// Comparisons failing at the EDC's threshold, by the quality groups of their images.
pub const FAILURES_CSV: &str = "failures.csv";
/// The comparison store of the failing comparisons' pair maps (`--pair-maps`).
pub const COMPARISONS_DIR: &str = "comparisons";
/// A per-pixel statistic of a label.
pub fn label_stat(key: &str, stat: &str) -> String {
    format!("arrays/labels/{key}_{stat}.npy")
}
/// D-AM-V of two labels.
pub fn label_d_amv(a: &str, b: &str) -> String {
    format!("arrays/labels/d_amv_{a}__{b}.npy")
}
/// Every image: typicality, scores, ranks, groups, explanations.
pub const IMAGES_CSV: &str = "images.csv";
/// The MAM of all maps (typicality's reference).
pub const TYPICAL_MAM: &str = "arrays/typicality/all_mam.npy";
/// The AM-V of all maps (typicality's reference).
pub const TYPICAL_AMV: &str = "arrays/typicality/all_amv.npy";

/// A per-pixel statistic of a group.
pub fn group_stat(key: &str, group: &str, s: Stat) -> String {
    format!("arrays/{key}/{group}_{}.npy", s.key())
}
/// A deviation map.
pub fn deviation(key: &str, s: Stat) -> String {
    format!("arrays/{key}/d_{}.npy", s.key())
}
/// The kernel densities of a statistic.
pub fn kde(key: &str, s: Stat) -> String {
    format!("arrays/{key}/kde_{}.npy", s.key())
}
/// An AM-V profile (`axis` x or y).
pub fn profile(key: &str, axis: &str) -> String {
    format!("arrays/{key}/profile_{axis}.npy")
}
/// The permutation values.
pub fn permutation(key: &str) -> String {
    format!("arrays/{key}/permutation.npy")
}
/// The bins' region means.
pub fn bins_region(key: &str) -> String {
    format!("arrays/{key}/bins_region.npy")
}
/// The groups of a method.
pub fn groups_csv(key: &str) -> String {
    format!("groups/{key}.csv")
}
