//! The patched-pair benchmark of pair maps (ALGORITHMS 1.8, the idea of Patch-LFW):
//! mated pairs (a, b) whose probe b gets one face region (an eye, the nose or the
//! mouth: a square centred on the ArcFace template's point) replaced by the same region
//! of another person's aligned face. The clean pair is the control. A good dissimilar
//! map of the probe against a rises inside the patch and peaks there.

use crate::faithfulness::{random_map, Faithfulness};
use crate::pair::{PairMapper, PairMethod};
use crate::{Error, Result};
use amva_io::images::ImageItem;
use amva_math::region::arcface_template;
use image::RgbImage;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Serialize;
use std::path::Path;

/// The patched regions, by their template point(s).
pub const REGIONS: [&str; 4] = ["left eye", "right eye", "nose", "mouth"];

/// One benchmark comparison: a mated pair (a, b) and the donor of b's patch.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PatchedPair {
    pub a: String,
    pub b: String,
    pub donor: String,
    pub region: &'static str,
}

/// Benchmark settings.
#[derive(Debug, Clone, Copy)]
pub struct BenchSetup {
    /// Side of the patch in pixels of a 112 x 112 crop.
    pub patch: usize,
    /// Tolerance of the pointing game, pixels around the patch.
    pub tolerance: usize,
    /// Steps per deletion/insertion curve.
    pub steps: usize,
    pub seed: u64,
}

impl Default for BenchSetup {
    fn default() -> Self {
        BenchSetup {
            patch: 28,
            tolerance: 8,
            steps: 10,
            seed: 0,
        }
    }
}

/// The centre of a region on an `size` x `size` crop.
pub fn region_centre(region: &str, size: u32) -> [f64; 2] {
    let t = arcface_template(size);
    match region {
        "left eye" => t[0],
        "right eye" => t[1],
        "nose" => t[2],
        _ => [(t[3][0] + t[4][0]) / 2.0, (t[3][1] + t[4][1]) / 2.0],
    }
}

/// The patch square (x0, y0, side) of a region on a `size` x `size` crop, inside it.
pub fn patch_box(region: &str, size: u32, side: usize) -> (usize, usize, usize) {
    let [cx, cy] = region_centre(region, size);
    let corner =
        |c: f64| ((c - side as f64 / 2.0).round().max(0.0) as usize).min(size as usize - side);
    (corner(cx), corner(cy), side)
}

/// `b` with the square `(x0, y0, side)` copied from `donor` (same size).
pub fn patch(b: &RgbImage, donor: &RgbImage, (x0, y0, side): (usize, usize, usize)) -> RgbImage {
    let mut out = b.clone();
    for y in y0..y0 + side {
        for x in x0..x0 + side {
            out.put_pixel(x as u32, y as u32, *donor.get_pixel(x as u32, y as u32));
        }
    }
    out
}

/// `n` seeded patched pairs from a folder of aligned crops with one subfolder per
/// identity: a mated pair of an identity with two or more images, a donor image of
/// another identity, and one of the [`REGIONS`]; no pair is drawn twice.
pub fn draw_pairs(root: &Path, n: usize, seed: u64) -> Result<Vec<PatchedPair>> {
    let people = identities(root)?;
    let two: Vec<&Vec<String>> = people.iter().filter(|v| v.len() >= 2).collect();
    if two.is_empty() || people.len() < 2 {
        return Err(Error::Store {
            path: root.into(),
            reason: "expected one subfolder per identity, some with two or more images".into(),
        });
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut out: Vec<PatchedPair> = Vec::with_capacity(n);
    let mut tries = 0;
    while out.len() < n && tries < 100 * n {
        tries += 1;
        let imgs = two.choose(&mut rng).expect("not empty");
        let picked: Vec<&String> = imgs.choose_multiple(&mut rng, 2).collect();
        let (a, b) = (picked[0].clone(), picked[1].clone());
        let donor = loop {
            let other = people.choose(&mut rng).expect("not empty");
            if !std::ptr::eq(other, *imgs) {
                break other.choose(&mut rng).expect("not empty").clone();
            }
        };
        let region = REGIONS[rng.random_range(0..REGIONS.len())];
        if out
            .iter()
            .any(|p| (&p.a, &p.b) == (&a, &b) || (&p.a, &p.b) == (&b, &a))
        {
            continue;
        }
        out.push(PatchedPair {
            a,
            b,
            donor,
            region,
        });
    }
    Ok(out)
}

/// Image ids (relative paths) by identity subfolder, sorted.
fn identities(root: &Path) -> Result<Vec<Vec<String>>> {
    let list = amva_io::images::ImageList::from_dir(root)?;
    let mut by: std::collections::BTreeMap<String, Vec<String>> = Default::default();
    for it in &list.items {
        if let Some((who, _)) = it.id.split_once('/') {
            by.entry(who.to_string()).or_default().push(it.id.clone());
        }
    }
    Ok(by.into_values().collect())
}

/// Numbers of one comparison.
#[derive(Debug, Clone, Serialize)]
pub struct PairResult {
    pub pair: PatchedPair,
    /// Cosine of the clean and the patched pair.
    pub similarity_clean: f32,
    pub similarity_patched: f32,
    /// Mean finished dissimilar map inside the patch, patched and clean.
    pub inside_patched: f32,
    pub inside_clean: f32,
    /// The finished dissimilar map peaks inside the patch (with tolerance).
    pub hit_patched: bool,
    pub hit_clean: bool,
    /// Deletion and insertion areas of the clean pair's similar map (probe against a)
    /// on the similarity, and of a seeded random map.
    pub deletion: f64,
    pub insertion: f64,
    pub deletion_random: f64,
    pub insertion_random: f64,
}

/// Loads a 112 x 112 aligned crop (other sizes are refused).
fn load(root: &Path, id: &str) -> Result<RgbImage> {
    let img = amva_io::images::load_rgb(&root.join(id))?;
    if img.dimensions() != (112, 112) {
        return Err(Error::Store {
            path: root.join(id),
            reason: format!("{:?}: expected a 112 x 112 ArcFace crop", img.dimensions()),
        });
    }
    Ok(img)
}

/// Runs the benchmark of one pair-map method over `pairs` (images below `root`).
pub fn run_pair(
    mapper: &PairMapper,
    faith: &Faithfulness,
    root: &Path,
    pair: &PatchedPair,
    setup: &BenchSetup,
) -> Result<PairResult> {
    let model = mapper.model;
    let p = &model.spec.preprocess;
    let (w, h) = (p.width, p.height);
    let fit = |img: RgbImage, id: &str| amva_io::images::fit(img, w, h, true, &root.join(id));
    let a = load(root, &pair.a)?;
    let b = load(root, &pair.b)?;
    let donor = load(root, &pair.donor)?;
    let bx = patch_box(pair.region, 112, setup.patch);
    let patched = patch(&b, &donor, bx);
    let xs: Vec<Vec<f32>> = [(a, &pair.a), (b, &pair.b), (patched, &pair.b)]
        .into_iter()
        .map(|(img, id)| Ok(p.tensor(&fit(img, id)?)))
        .collect::<Result<_>>()?;
    let e = model.embed_parallel(&xs.concat(), 3, 3)?;
    let d = model.embedding_dim;
    let face = |i: usize| crate::pair::Face {
        x: &xs[i],
        embedding: &e[i * d..(i + 1) * d],
    };
    let clean = mapper.map(face(1), face(0))?;
    let dirty = mapper.map(face(2), face(0))?;
    let (sim_clean, dis_clean) = mapper.full(&clean);
    let (_, dis_dirty) = mapper.full(&dirty);
    // The patch box in the model's frame (the crops are fitted to w x h).
    let scale = w as f64 / 112.0;
    let frame = |v: usize| (v as f64 * scale).round() as usize;
    let inner = (frame(bx.0), frame(bx.1), frame(bx.2));
    let tol = frame(setup.tolerance);
    let random = random_map(setup.seed, &pair.b, sim_clean.len());
    let curves = faith.curves_to(
        &xs[1],
        face(1).embedding,
        face(0).embedding,
        &[&sim_clean, &random],
    )?;
    Ok(PairResult {
        pair: pair.clone(),
        similarity_clean: amva_model::fr::cosine(face(1).embedding, face(0).embedding),
        similarity_patched: amva_model::fr::cosine(face(2).embedding, face(0).embedding),
        inside_patched: mean_inside(&dis_dirty, w as usize, inner),
        inside_clean: mean_inside(&dis_clean, w as usize, inner),
        hit_patched: peak_inside(&dis_dirty, w as usize, inner, tol),
        hit_clean: peak_inside(&dis_clean, w as usize, inner, tol),
        deletion: curves[0].deletion_score(),
        insertion: curves[0].insertion_score(),
        deletion_random: curves[1].deletion_score(),
        insertion_random: curves[1].insertion_score(),
    })
}

/// Mean of a `width`-wide map inside the square (x0, y0, side).
pub fn mean_inside(map: &[f32], width: usize, (x0, y0, side): (usize, usize, usize)) -> f32 {
    let mut s = 0.0f64;
    for y in y0..y0 + side {
        s += map[y * width + x0..y * width + x0 + side]
            .iter()
            .map(|&v| v as f64)
            .sum::<f64>();
    }
    (s / (side * side) as f64) as f32
}

/// The map's highest pixel (ties: the first) lies within `tol` pixels of the square.
pub fn peak_inside(
    map: &[f32],
    width: usize,
    (x0, y0, side): (usize, usize, usize),
    tol: usize,
) -> bool {
    let top = (0..map.len()).fold(0, |best, i| if map[i] > map[best] { i } else { best });
    let (x, y) = (top % width, top / width);
    let within = |v: usize, lo: usize| v + tol >= lo && v < lo + side + tol;
    within(x, x0) && within(y, y0)
}

/// The benchmark's table row of one method.
#[derive(Debug, Clone, Serialize)]
pub struct MethodSummary {
    pub method: String,
    pub pairs: usize,
    pub passes_per_image: usize,
    pub multiply_adds_per_image: u64,
    pub rise: f64,
    pub pointing: f64,
    pub pointing_clean: f64,
    /// Means over pairs with bootstrap 95 % intervals [low, high].
    pub deletion: (f64, [f64; 2]),
    pub insertion: (f64, [f64; 2]),
    pub deletion_random: (f64, [f64; 2]),
    pub insertion_random: (f64, [f64; 2]),
}

/// The summary of one method's pair results.
pub fn summarise(
    method: &str,
    mapper: &PairMapper,
    rows: &[PairResult],
    seed: u64,
) -> Result<MethodSummary> {
    let p = &mapper.model.spec.preprocess;
    let passes = mapper.method.passes(p.width as usize, p.height as usize)?;
    let n = rows.len().max(1) as f64;
    let share = |f: &dyn Fn(&PairResult) -> bool| rows.iter().filter(|r| f(r)).count() as f64 / n;
    let ci = |f: &dyn Fn(&PairResult) -> f64| {
        let v: Vec<f64> = rows.iter().map(f).collect();
        mean_interval(&v, seed)
    };
    Ok(MethodSummary {
        method: method.into(),
        pairs: rows.len(),
        passes_per_image: passes,
        multiply_adds_per_image: passes as u64 * mapper.model.multiply_adds_per_image()?,
        rise: share(&|r| r.inside_patched > r.inside_clean),
        pointing: share(&|r| r.hit_patched),
        pointing_clean: share(&|r| r.hit_clean),
        deletion: ci(&|r| r.deletion),
        insertion: ci(&|r| r.insertion),
        deletion_random: ci(&|r| r.deletion_random),
        insertion_random: ci(&|r| r.insertion_random),
    })
}

/// The mean and its 95 % percentile-bootstrap interval (1,000 seeded resamples).
pub fn mean_interval(v: &[f64], seed: u64) -> (f64, [f64; 2]) {
    if v.is_empty() {
        return (f64::NAN, [f64::NAN; 2]);
    }
    let mean = |s: &mut dyn Iterator<Item = f64>| s.sum::<f64>() / v.len() as f64;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut means: Vec<f64> = (0..1000)
        .map(|_| mean(&mut (0..v.len()).map(|_| v[rng.random_range(0..v.len())])))
        .collect();
    means.sort_by(f64::total_cmp);
    (mean(&mut v.iter().copied()), [means[24], means[974]])
}

/// Items for the images of `pairs` below `root` (for listing what a run reads).
pub fn pair_items(pairs: &[PatchedPair], root: &Path) -> Vec<ImageItem> {
    let mut ids: Vec<&String> = pairs.iter().flat_map(|p| [&p.a, &p.b, &p.donor]).collect();
    ids.sort();
    ids.dedup();
    ids.into_iter()
        .map(|id| ImageItem {
            id: id.clone(),
            path: root.join(id),
        })
        .collect()
}

/// A method given by name or as `dissimilar,similar` probes, each `fill:window/stride`
/// with fill `other` or `grey` (e.g. `other:28/8,grey:32/16`).
pub fn parse_method(spec: &str) -> Result<PairMethod> {
    if let Ok(m) = PairMethod::named(spec) {
        return Ok(m);
    }
    let bad = || {
        Error::BadParameter {
        what: "pair-map method",
        value: spec.into(),
        expected: "a name (swap, swap-fast, swap-fine, occlusion, occlusion-fast) or dissimilar,similar as fill:window/stride (fill other or grey), e.g. other:28/8,grey:32/16",
    }
    };
    let probe = |s: &str| -> Option<crate::pair::Probe> {
        let (fill, grid) = s.split_once(':')?;
        let (w, st) = grid.split_once('/')?;
        let fill = match fill {
            "other" => crate::pair::Fill::Other,
            "grey" => crate::pair::Fill::Grey,
            _ => return None,
        };
        Some(crate::pair::Probe::new(
            w.parse().ok()?,
            st.parse().ok()?,
            fill,
        ))
    };
    let (d, s) = spec.split_once(',').ok_or_else(bad)?;
    Ok(PairMethod {
        dissimilar: probe(d).ok_or_else(bad)?,
        similar: probe(s).ok_or_else(bad)?,
    })
}

/// Every method of `methods` (name, method) over `pairs`: the per-pair results and the
/// summary of each. `done` is called after each pair of each method.
pub fn run_bench(
    model: &amva_model::FrModel,
    methods: &[(String, PairMethod)],
    root: &Path,
    pairs: &[PatchedPair],
    setup: &BenchSetup,
    mut done: impl FnMut(),
) -> Result<Vec<(MethodSummary, Vec<PairResult>)>> {
    let faith = Faithfulness::new(model, setup.steps, model.parallel_pass_batch())?;
    let mut out = Vec::new();
    for (name, method) in methods {
        let mapper = PairMapper::new(model, *method)?;
        let mut rows = Vec::with_capacity(pairs.len());
        for pair in pairs {
            rows.push(run_pair(&mapper, &faith, root, pair, setup)?);
            done();
        }
        out.push((summarise(name, &mapper, &rows, setup.seed)?, rows));
    }
    Ok(out)
}
