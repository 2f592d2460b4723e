//! Every analysed image on its own: each method's score, rank and group, its
//! explanation against each method's high-quality group (the code of `amva explain`:
//! [`explain_map`]), and its map typicality, the same explanation against ALL maps of
//! the store (ALGORITHMS 5.3: the whole set as the reference): the mean |z| of the
//! map against the MAM and AM-V of every map. Lower typicality = a more typical map.
//!
//! Two streaming passes over the store: the MAM and AM-V of all maps (Welford), then
//! every map against every reference. Memory is one chunk of maps and the results.

use std::path::Path;

use amva_maps::source::MapSource;
use amva_math::groups::rank;
use amva_math::stats::Welford;
use rayon::prelude::*;

use crate::explain::{explain_map, ExplainScores, InMemory, Reference, DEFAULT_EPS};
use crate::setstats::GroupStats;
use crate::validate::Plan;
use crate::{AnalysisError, Result};

/// The name of the typicality score (and of its method in score files).
pub const TYPICALITY: &str = "typicality";

/// The columns of `images.csv` (and the explorer) for one method (prefixed with its
/// key): score, rank, group, then the first scores of explain.csv.
pub fn method_columns() -> Vec<&'static str> {
    let mut c = vec!["score", "rank", "group"];
    c.extend(&ExplainScores::NAMES[..ExplainScores::KEPT]);
    c
}

/// Maps read per chunk.
const CHUNK: usize = 256;

/// One image's scores.
#[derive(Debug, Clone, PartialEq)]
pub struct ImageScores {
    /// Against all maps; typicality is `typical.mean_abs_z`.
    pub typical: ExplainScores,
    /// Against each method's high group (aligned with the plan's methods).
    pub methods: Vec<ExplainScores>,
    /// The map is flat (all zero).
    pub flat: bool,
}

/// Where an image stands in one method.
#[derive(Debug, Clone, PartialEq)]
pub struct Standing {
    /// Its score (None: no finite score).
    pub score: Option<f64>,
    /// 1 = best, among the images with a map and a finite score.
    pub rank: Option<usize>,
    /// The keys of the groups it is in (`high`, `low`, `bin03`), in group order.
    pub groups: Vec<String>,
}

/// Every image of the store, scored.
#[derive(Debug, Clone)]
pub struct PerImage {
    /// All maps of the store: the typicality reference.
    pub typical: Reference,
    /// Each method's high group (aligned with the plan's methods).
    pub references: Vec<Reference>,
    /// Per store row.
    pub images: Vec<ImageScores>,
    /// Per method, per store row.
    pub standings: Vec<Vec<Standing>>,
}

impl PerImage {
    /// Typicality of store row `row`.
    pub fn typicality(&self, row: usize) -> f64 {
        self.images[row].typical.mean_abs_z
    }
}

/// Scores every image of the plan's store (see the module docs) against all maps and
/// against each method's high group (`high`, aligned with the plan's methods).
pub fn per_image(plan: &Plan, high: &[&GroupStats], out: &Path) -> Result<PerImage> {
    let geo = &plan.geometry;
    let meta = &plan.source.info().raw;
    let all = InMemory {
        dir: out,
        method: "all maps",
        rule: "all",
        n: 0,
        shape: geo.shape,
        inside: &geo.inside,
        margin_px: geo.margin_px,
        maps_meta: meta,
    };
    let typical = all_maps_reference(&plan.source, all)?;
    let references: Vec<Reference> = plan
        .groups
        .iter()
        .zip(high)
        .map(|(g, s)| {
            let high = InMemory {
                method: &g.name,
                rule: &g.high.rule,
                n: s.n,
                ..all
            };
            Reference::in_memory(high, &s.mean, &s.std)
        })
        .collect();
    let images = score_all(&plan.source, &typical, &references)?;
    let standings = plan
        .groups
        .iter()
        .map(|g| standings(g, plan.source.ids()))
        .collect::<Result<_>>()?;
    Ok(PerImage {
        typical,
        references,
        images,
        standings,
    })
}

/// The MAM and AM-V of every map of `source` as a reference (`group.n` is replaced
/// by the number of maps).
pub fn all_maps_reference(source: &MapSource, group: InMemory<'_>) -> Result<Reference> {
    let mut acc = Welford::new(source.pixels());
    for_each_finished(source, &mut |_, maps| {
        for m in maps.chunks_exact(source.pixels()) {
            acc.push(m)
                .map_err(AnalysisError::math("MAM of all maps"))?;
        }
        Ok(())
    })?;
    let mam = acc.mean().map_err(AnalysisError::math("MAM of all maps"))?;
    let amv = acc.std().map_err(AnalysisError::math("AM-V of all maps"))?;
    Ok(Reference::in_memory(
        InMemory {
            n: source.len(),
            ..group
        },
        mam,
        &amv,
    ))
}

/// Typicality of every map of the store `maps` against all of them (ALGORITHMS 5.3, with
/// the whole store as the reference, `eps` as in `amva explain`), in store order with
/// the store's ids: `amva quality --fiqa typicality --maps DIR`. Equal to the
/// `typicality` column of `amva analyze`'s images.csv over the same store.
pub fn typicality(maps: &Path) -> Result<(Vec<String>, Vec<f64>)> {
    let source = MapSource::open(maps, amva_maps::source::MapKind::Low)?;
    let (h, w) = source.full_shape();
    let margin_px = crate::options::DEFAULT_MARGIN * w as f64 / amva_math::region::ARCFACE_SIZE;
    let inside = amva_math::region::face_region_mask(h, w, margin_px)
        .map_err(AnalysisError::math("face region"))?;
    let reference = all_maps_reference(
        &source,
        InMemory {
            dir: maps,
            method: "all maps",
            rule: "all",
            n: 0,
            shape: (h, w),
            inside: &inside,
            margin_px,
            maps_meta: &source.info().raw,
        },
    )?;
    let scores = score_all(&source, &reference, &[])?;
    let values = scores.iter().map(|s| s.typical.mean_abs_z).collect();
    Ok((source.ids().to_vec(), values))
}

/// Streams the finished maps of `source`, a chunk at a time: `f(first_row, maps)`.
fn for_each_finished(
    source: &MapSource,
    f: &mut dyn FnMut(usize, &[f32]) -> Result<()>,
) -> Result<()> {
    let (len, px) = (source.row_len(), source.pixels());
    let mut finished = vec![0f32; CHUNK * px];
    source.for_each_chunk(CHUNK, |first, stored: &[f32]| -> Result<()> {
        let n = stored.len() / len;
        finished[..n * px]
            .par_chunks_mut(px)
            .zip(stored.par_chunks(len))
            .enumerate()
            .try_for_each(|(k, (dst, src))| {
                source
                    .finish_into(first + k, src, dst)
                    .map(|_| ())
                    .map_err(AnalysisError::from)
            })?;
        f(first, &finished[..n * px])
    })
}

/// Every map against `typical` and each of `references`, in store order.
fn score_all(
    source: &MapSource,
    typical: &Reference,
    references: &[Reference],
) -> Result<Vec<ImageScores>> {
    let px = source.pixels();
    let mut out = Vec::with_capacity(source.len());
    for_each_finished(source, &mut |_, maps| {
        let chunk: Vec<ImageScores> = maps
            .par_chunks(px)
            .map(|m| {
                let typical = explain_map(typical, m, DEFAULT_EPS)?.scores;
                let methods = references
                    .iter()
                    .map(|r| explain_map(r, m, DEFAULT_EPS).map(|e| e.scores))
                    .collect::<Result<_>>()?;
                Ok(ImageScores {
                    typical,
                    methods,
                    flat: m.iter().all(|&v| v == 0.0),
                })
            })
            .collect::<Result<_>>()?;
        out.extend(chunk);
        Ok(())
    })?;
    Ok(out)
}

/// Score, rank and groups of every store row (`ids`) in one method; ties are ranked
/// by image id, as the groups are (ALGORITHMS 2).
fn standings(g: &crate::groups::MethodGroups, ids: &[String]) -> Result<Vec<Standing>> {
    let mut out = vec![
        Standing {
            score: None,
            rank: None,
            groups: Vec::new(),
        };
        ids.len()
    ];
    let names: Vec<String> = g.rows.iter().map(|&r| ids[r].clone()).collect();
    let ranking = rank(&names, &g.scores, g.direction)
        .map_err(AnalysisError::math(format!("ranks of method '{}'", g.name)))?;
    for (pos, &i) in ranking.best_first.iter().enumerate() {
        let s = &mut out[g.rows[i]];
        s.score = Some(g.scores[i]);
        s.rank = Some(pos + 1);
    }
    for grp in g.all_groups() {
        for &r in &grp.rows {
            out[r].groups.push(grp.key.clone());
        }
    }
    Ok(out)
}

/// Map typicality as the score file of `amva quality --fiqa typicality --maps DIR`: one
/// method, `typicality`, lower is better (a more typical map), one score per map of the
/// store (see [`typicality`]); non-finite values are kept aside as in any score file.
pub fn typicality_scores(maps: &Path) -> Result<amva_quality::Scores> {
    let (ids, values) = typicality(maps)?;
    let params = serde_json::json!({
        "maps": maps, "eps": DEFAULT_EPS,
        "definition": "mean |z| of the map against the MAM and AM-V of all maps of the store (ALGORITHMS 5); lower = more typical",
    });
    let mut m =
        amva_quality::MethodScores::computed(TYPICALITY, amva_quality::Direction::Lower, params);
    for (image, score) in ids.into_iter().zip(values) {
        let row = amva_quality::ScoreRow {
            image,
            score,
            line: 0,
        };
        if score.is_finite() {
            m.scores.push(row);
        } else {
            m.non_finite.push(row);
        }
    }
    let mut scores = amva_quality::Scores::default();
    scores.methods.insert(TYPICALITY.into(), m);
    Ok(scores)
}
