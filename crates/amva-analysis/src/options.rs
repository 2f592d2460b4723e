//! Everything the analysis of `amva analyze` is asked to compute (what it draws is
//! amva-report's `ReportOptions`).

use std::path::PathBuf;

use amva_maps::source::MapKind;
use amva_math::groups::Direction;

use crate::groups::GroupRules;
use crate::setstats::DEFAULT_BUDGET;

/// Default growth of the face region, in pixels of the 112 x 112 frame.
pub const DEFAULT_MARGIN: f64 = 12.0;

/// Everything the analysis is asked to compute.
#[derive(Debug, Clone)]
pub struct AnalyzeOptions {
    /// The map store.
    pub maps: PathBuf,
    /// Which array of the store.
    pub map_kind: MapKind,
    /// Score files.
    pub scores: Vec<PathBuf>,
    /// Output folder.
    pub out: PathBuf,
    /// Group rules.
    pub rules: GroupRules,
    /// `--direction` overrides.
    pub directions: Vec<(String, Direction)>,
    /// Growth of the face region in pixels of the 112 x 112 frame (scaled to the maps).
    pub region_margin: f64,
    /// Average deviation maps with their mirror image.
    pub symmetric: bool,
    /// Also the paper's lower median, its MAD and `std_mad`.
    pub compat_paper: bool,
    /// Seed of the permutation test.
    pub seed: u64,
    /// Permutations (0: no test).
    pub permutations: usize,
    /// Bytes for the robust statistics' columns (and the direct permutation data).
    pub budget_bytes: usize,
    /// Face images (folder or list) for the pictures of faces (mean faces, galleries,
    /// explorer); default: the `images` the maps were made from, when that folder still
    /// exists.
    pub images: Option<PathBuf>,
    /// Look the face images up (off when nothing is drawn: benchmarks).
    pub faces: bool,
    /// The command line, for summary.json and the report.
    pub command_line: Option<String>,
    /// Categorical groups: CSV `image,group` (any labels).
    pub groups: Option<PathBuf>,
    /// Comparisons for the EDC of each method (`--pairs`), if any.
    pub edc: Option<crate::edc::EdcInput>,
}

impl AnalyzeOptions {
    /// Defaults: `top:10%` vs `bottom:10%`, margin 12, seed 0, 1,000 permutations.
    pub fn new(maps: impl Into<PathBuf>, scores: Vec<PathBuf>, out: impl Into<PathBuf>) -> Self {
        AnalyzeOptions {
            maps: maps.into(),
            map_kind: MapKind::Low,
            scores,
            out: out.into(),
            rules: GroupRules {
                high: "top:10%".parse().expect("valid rule"),
                low: "bottom:10%".parse().expect("valid rule"),
                bins: None,
            },
            directions: Vec::new(),
            region_margin: DEFAULT_MARGIN,
            symmetric: false,
            compat_paper: false,
            seed: 0,
            permutations: amva_math::compare::DEFAULT_PERMUTATIONS,
            budget_bytes: DEFAULT_BUDGET,
            images: None,
            faces: true,
            command_line: None,
            groups: None,
            edc: None,
        }
    }
}
