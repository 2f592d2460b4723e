//! `amva compare` as one call: the pair maps of every comparison of a pairs file (or
//! of one shard of it), part by part into a resumable comparison store.

use crate::pair::{Face, PairMap, PairMapper};
use crate::pair_store::{CompareMeta, Comparison, Mapped, PairPart, PairStoreWriter};
use crate::Result;
use amva_io::images::ImageItem;
use std::collections::HashMap;
use std::path::Path;

/// Comparisons per part: what an interrupted run can lose.
pub const PART: usize = 8;

/// What one run is asked.
pub struct PairRun<'a> {
    pub mapper: &'a PairMapper<'a>,
    /// The images' folder: pair ids are paths below it.
    pub root: &'a Path,
    /// Fit images of another size to the model's input.
    pub resize: bool,
    /// Comparisons per part (the unit of resuming; [`PART`] by default).
    pub part_size: usize,
    /// Stop (as if killed) after writing this many parts (tests of resuming).
    pub stop_after_parts: Option<usize>,
}

/// Maps the comparisons of `meta.rows` of `all` into `out` (resuming a run there);
/// `done(k)` is called with the number of comparisons finished so far. `None` when
/// stopped by `stop_after_parts`.
pub fn run(
    r: &PairRun,
    all: &[Comparison],
    out: &Path,
    meta: CompareMeta,
    mut done: impl FnMut(usize),
) -> Result<Option<CompareMeta>> {
    let [first, end] = meta.rows;
    let mut w = PairStoreWriter::open(out, meta)?;
    if w.is_complete() {
        return w.finish().map(Some);
    }
    let todo = &all[first + w.rows_done()..end];
    done(w.rows_done());
    for (k, chunk) in todo.chunks(r.part_size.max(1)).enumerate() {
        if r.stop_after_parts == Some(k) {
            return Ok(None);
        }
        let part = map_part(r, chunk)?;
        w.write_part(&part)?;
        done(w.rows_done());
    }
    w.finish().map(Some)
}

/// Loaded images of a part: tensor and embedding by id, or why not.
struct Loaded {
    x: HashMap<String, Vec<f32>>,
    e: HashMap<String, Vec<f32>>,
    failed: HashMap<String, String>,
}

fn load(r: &PairRun, chunk: &[Comparison]) -> Result<Loaded> {
    let model = r.mapper.model;
    let mut ids: Vec<&String> = chunk.iter().flat_map(|c| [&c.a, &c.b]).collect();
    ids.sort();
    ids.dedup();
    let items: Vec<ImageItem> = ids
        .iter()
        .map(|id| ImageItem {
            id: (*id).clone(),
            path: r.root.join(id),
        })
        .collect();
    let batch = amva_model::preprocess::load_batch(&items, &model.spec.preprocess, r.resize);
    let per = model.input_len();
    let e = model.embed_parallel(&batch.input, batch.ok.len(), model.preferred_batch())?;
    let d = model.embedding_dim;
    let mut out = Loaded {
        x: HashMap::new(),
        e: HashMap::new(),
        failed: batch.failed.into_iter().collect(),
    };
    for (k, &i) in batch.ok.iter().enumerate() {
        out.x.insert(
            items[i].id.clone(),
            batch.input[k * per..(k + 1) * per].to_vec(),
        );
        out.e
            .insert(items[i].id.clone(), e[k * d..(k + 1) * d].to_vec());
    }
    Ok(out)
}

/// The maps of one part's comparisons.
fn map_part(r: &PairRun, chunk: &[Comparison]) -> Result<PairPart> {
    let m = r.mapper;
    let loaded = load(r, chunk)?;
    let mut part = PairPart::default();
    let face = |id: &str| Face {
        x: &loaded.x[id],
        embedding: &loaded.e[id],
    };
    for c in chunk {
        let why = [&c.a, &c.b]
            .into_iter()
            .find_map(|id| loaded.failed.get(id.as_str()).map(|w| format!("{id}: {w}")));
        if let Some(why) = why {
            part.failed.push((c.clone(), why));
            continue;
        }
        let ab = m.map(face(&c.a), face(&c.b))?;
        let ba = m.map(face(&c.b), face(&c.a))?;
        push_maps(m, &mut part, [&ab, &ba]);
        part.passes += 2 * m.passes_per_map() as u64;
        part.mapped.push(Mapped {
            comparison: c.clone(),
            similarity: amva_model::fr::cosine(&loaded.e[&c.a], &loaded.e[&c.b]),
        });
    }
    if !m.keeps_full {
        part.arrays[2].clear();
        part.arrays[3].clear();
    }
    Ok(part)
}

/// Appends [k, 0] and [k, 1] of the four arrays.
fn push_maps(m: &PairMapper, part: &mut PairPart, maps: [&PairMap; 2]) {
    for map in maps {
        part.arrays[0].extend_from_slice(&map.similar);
        part.arrays[1].extend_from_slice(&map.dissimilar);
        if m.keeps_full {
            let (s, d) = m.full(map);
            part.arrays[2].extend(s);
            part.arrays[3].extend(d);
        }
    }
}

/// The comparisons of a pairs file, in its order (row = position).
pub fn comparisons(numbered: &[(usize, amva_io::pairs::Pair)]) -> Vec<Comparison> {
    numbered
        .iter()
        .enumerate()
        .map(|(row, (line, p))| Comparison {
            row,
            line: *line,
            a: p.a.clone(),
            b: p.b.clone(),
            mated: Some(p.mated),
        })
        .collect()
}

/// meta.json of a run of `r` over `all` (this shard's rows of it).
pub fn meta(
    r: &PairRun,
    method: &str,
    all: &[Comparison],
    shard: Option<(usize, usize)>,
) -> CompareMeta {
    let m = r.mapper;
    let (sg, dg) = m.grids();
    let p = &m.model.spec.preprocess;
    CompareMeta {
        kind: crate::pair_store::KIND.into(),
        settings: crate::pair_store::CompareSettings {
            method: method.into(),
            probes: m.method,
            model_sha256: m.model.graph.sha256.clone(),
            engine: m.model.engine().to_string(),
            resize: r.resize,
            pairs_digest: crate::pair_store::digest(all),
            comparisons: all.len(),
            similar_shape: [sg.shape().0, sg.shape().1],
            dissimilar_shape: [dg.shape().0, dg.shape().1],
            full_shape: [p.height as usize, p.width as usize],
            full: m.keeps_full,
            rebuild: "window (r, c) of a grid covers pixels [ys[r], ys[r] + window) x [xs[c], xs[c] + window), \
                      corners 0, stride, 2 stride, ... and the last flush with the border; its value sits at its \
                      centre, pixel centres are bilinear between window centres and take the nearest value beyond \
                      the outermost ones, then min-max to [0, 1] (ALGORITHMS 1.8)"
                .into(),
        },
        shard: shard.map(|(i, n)| format!("{i}/{n}")),
        rows: crate::pair_store::shard_rows(all.len(), shard),
        count: 0,
        failed: 0,
        passes: 0,
        complete: false,
    }
}
