//! The first stage: every option and input checked, scores joined to the maps and the
//! groups formed, before anything is computed or written.

use std::collections::HashMap;
use std::path::PathBuf;

use amva_math::region::{face_region_mask, ARCFACE_SIZE};

use crate::compare::{Geometry, Stat};
use crate::groups::{join_and_group, MethodGroups};
use crate::options::AnalyzeOptions;
use crate::{AnalysisError, Result};
use amva_maps::source::MapSource;
use amva_quality::scores::{read_score_files, MethodScores};

/// A validated run: the open store, the scores and groups of every method, the region.
#[derive(Debug)]
pub struct Plan {
    /// The map store.
    pub source: MapSource,
    /// Scores of each method.
    pub methods: Vec<MethodScores>,
    /// Groups of each method (aligned with `methods`).
    pub groups: Vec<MethodGroups>,
    /// File-name-safe key of each method.
    pub keys: Vec<String>,
    /// Shape and face region of the maps.
    pub geometry: Geometry,
    /// The statistics of this run, in report order.
    pub stats: Vec<Stat>,
    /// Image id -> face image, for the pictures of faces (with `faces`).
    pub faces: Option<HashMap<String, PathBuf>>,
    /// The categorical groups (`--groups FILE`), joined to the maps.
    pub labels: Option<crate::labels::LabelInput>,
    /// Things the user should know.
    pub notes: Vec<String>,
}

fn option_error(option: &str, reason: String) -> AnalysisError {
    AnalysisError::Option {
        option: option.into(),
        reason,
    }
}

/// Checks `opts` and opens, reads and joins every input.
pub fn validate(opts: &AnalyzeOptions) -> Result<Plan> {
    if !(opts.region_margin >= 0.0 && opts.region_margin.is_finite()) {
        return Err(option_error(
            "--region-margin",
            format!("{} is not a number of pixels >= 0", opts.region_margin),
        ));
    }
    if let Some(b) = opts.rules.bins.filter(|b| *b < 2) {
        return Err(option_error(
            "--bins",
            format!("{b}: a trend needs at least 2 bins"),
        ));
    }
    let source = MapSource::open(&opts.maps, opts.map_kind)?;
    if source.is_empty() {
        return Err(AnalysisError::store(
            opts.maps.join(amva_maps::store::INDEX_FILE),
            "no maps listed; expected a store from `amva maps` over at least one image",
        ));
    }
    if let (Ok(a), Ok(b)) = (opts.out.canonicalize(), opts.maps.canonicalize()) {
        if a == b {
            return Err(option_error(
                "--out",
                "is the map store itself; choose another folder".into(),
            ));
        }
    }
    let methods: Vec<MethodScores> = read_score_files(&opts.scores, &opts.directions)?;
    let groups: Vec<MethodGroups> = methods
        .iter()
        .map(|m| join_and_group(source.ids(), &opts.maps, m, &opts.rules))
        .collect::<Result<_>>()?;
    let names: Vec<&str> = groups.iter().map(|g| g.name.as_str()).collect();
    let keys = crate::keys::unique_keys(&names);
    let geometry = geometry(opts, source.full_shape())?;
    let mut notes: Vec<String> = methods.iter().filter_map(|m| m.direction_note()).collect();
    notes.extend(left_out_notes(&source, &groups));
    let faces = if opts.faces {
        face_images(opts, &source, &mut notes)
    } else {
        None
    };
    notes.extend(groups.iter().flat_map(|g| g.tie_notes()));
    let labels = opts
        .groups
        .as_deref()
        .map(|p| crate::labels::read_labels(p, source.ids()))
        .transpose()?;
    if let Some(l) = &labels {
        notes.extend(crate::labels::notes(l));
    }
    for g in groups.iter().filter(|g| g.overlap > 0) {
        notes.push(format!(
            "method '{}': {} images are in both the high ({}) and the low ({}) group",
            g.name, g.overlap, g.high.rule, g.low.rule
        ));
    }
    Ok(Plan {
        source,
        methods,
        groups,
        keys,
        geometry,
        stats: Stat::list(opts.compat_paper),
        faces,
        labels,
        notes,
    })
}

/// The face region of the `(h, w)` maps, grown by the margin scaled to them.
fn geometry(opts: &AnalyzeOptions, (h, w): (usize, usize)) -> Result<Geometry> {
    let margin_px = opts.region_margin * w as f64 / ARCFACE_SIZE;
    let inside = face_region_mask(h, w, margin_px).map_err(|e| {
        option_error(
            "--region-margin",
            format!(
                "{} px (on the {h} x {w} maps: {margin_px:.2} px): {e}",
                opts.region_margin
            ),
        )
    })?;
    let outside = inside.iter().map(|i| !i).collect();
    Ok(Geometry {
        shape: (h, w),
        inside,
        outside,
        margin_px,
        symmetric: opts.symmetric,
    })
}

/// The face images for the mean faces: `--images`, else the images the maps were made
/// from when that folder still exists; a note when there are none.
fn face_images(
    opts: &AnalyzeOptions,
    source: &MapSource,
    notes: &mut Vec<String>,
) -> Option<HashMap<String, PathBuf>> {
    let spec = opts.images.clone().or_else(|| {
        source
            .info()
            .images
            .as_ref()
            .map(PathBuf::from)
            .filter(|p| p.exists())
    });
    let Some(spec) = spec else {
        notes.push("no mean faces under the overlays: the images of the maps were not found (give --images)".into());
        return None;
    };
    match amva_io::images::ImageList::open(&spec) {
        Ok(list) => Some(list.items.into_iter().map(|it| (it.id, it.path)).collect()),
        Err(e) => {
            notes.push(format!("no mean faces under the overlays: {e}"));
            None
        }
    }
}

/// What was left out of the join, said on stderr (the ids are in unmatched.csv): scores
/// without a map, maps without a score, and a store that is one shard of a run.
fn left_out_notes(source: &MapSource, groups: &[MethodGroups]) -> Vec<String> {
    let mut notes = Vec::new();
    if let Some(shard) = source.info().raw.get("shard").and_then(|s| s.as_str()) {
        notes.push(format!(
            "the map store is shard {shard} of a run, not the whole run: `amva merge` the shards first to analyse every image"
        ));
    }
    for g in groups {
        let scored = g.rows.len() + g.without_map.len();
        if !g.without_map.is_empty() {
            notes.push(format!(
                "method '{}': {} of {scored} scored images have no map in the store: left out (listed in unmatched.csv)",
                g.name,
                g.without_map.len()
            ));
        }
        if !g.without_score.is_empty() {
            notes.push(format!(
                "method '{}': {} of {} maps have no finite score: left out (listed in unmatched.csv)",
                g.name,
                g.without_score.len(),
                source.len()
            ));
        }
    }
    notes
}
