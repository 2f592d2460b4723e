//! Which pair-map method points best: the probes of several methods computed once per
//! patched pair (amva_maps::pair_bench), and every single probe and every combination of
//! a swap probe with a grey probe (product or mean of the finished maps) scored on rise
//! and pointing from the same passes. The table in docs/comparisons.md.
//!
//! cargo run --release -p amva-maps --example pair_methods -- FOLDER N SEED
//! (FOLDER: aligned 112 x 112 crops, one subfolder per identity; AMVA_MODELS or
//! ../shared/models for the default model)

use amva_maps::pair::{finish, window_deltas, Fill, PairGrid, Probe};
use amva_maps::pair_bench::{draw_pairs, mean_inside, patch, patch_box, peak_inside};
use amva_model::{EngineKind, FrModel, ModelSpec};
use std::path::PathBuf;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let root = PathBuf::from(&args[1]);
    let n: usize = args[2].parse().unwrap();
    let seed: u64 = args[3].parse().unwrap();
    let models = std::env::var("AMVA_MODELS").unwrap_or_else(|_| "../shared/models".into());
    let model = FrModel::load(
        &PathBuf::from(models).join("fr_feature.onnx"),
        ModelSpec::default_model(),
        EngineKind::Auto,
    )
    .unwrap();
    let probes = [
        ("other:28/8", Probe::new(28, 8, Fill::Other)),
        ("other:28/12", Probe::new(28, 12, Fill::Other)),
        ("other:32/20", Probe::new(32, 20, Fill::Other)),
        ("grey:16/8", Probe::new(16, 8, Fill::Grey)),
        ("grey:24/12", Probe::new(24, 12, Fill::Grey)),
        ("grey:32/16", Probe::new(32, 16, Fill::Grey)),
    ];
    let grids: Vec<PairGrid> = probes
        .iter()
        .map(|(_, p)| PairGrid::new(p.grid, 112, 112).unwrap())
        .collect();
    let pairs = draw_pairs(&root, n, seed).unwrap();
    let p = &model.spec.preprocess;
    // Per pair: per probe, the finished dissimilar map of the patched and the clean probe image.
    let mut maps: Vec<Vec<[Vec<f32>; 2]>> = Vec::new();
    let mut boxes = Vec::new();
    for (k, pair) in pairs.iter().enumerate() {
        let load = |id: &str| amva_io::images::load_rgb(&root.join(id)).unwrap();
        let (a, b, d) = (load(&pair.a), load(&pair.b), load(&pair.donor));
        let bx = patch_box(pair.region, 112, 28);
        let xs = [p.tensor(&a), p.tensor(&patch(&b, &d, bx)), p.tensor(&b)];
        let e: Vec<Vec<f32>> = xs
            .iter()
            .map(|x| model.forward(x, 1).unwrap().embeddings)
            .collect();
        let mut per = Vec::new();
        for ((_, probe), g) in probes.iter().zip(&grids) {
            let one = |i: usize| {
                let base = amva_model::fr::cosine(&e[i], &e[0]);
                let fill = (probe.fill == Fill::Other).then_some(xs[0].as_slice());
                let d = window_deltas(&model, &xs[i], fill, &e[0], base, g, 1).unwrap();
                finish(g.interpolate(&d.iter().map(|v| v.max(0.0)).collect::<Vec<_>>()))
            };
            per.push([one(1), one(2)]);
        }
        maps.push(per);
        boxes.push(bx);
        eprintln!("pair {} of {}", k + 1, pairs.len());
    }
    type Combine<'a> = &'a dyn Fn(&[[Vec<f32>; 2]], usize) -> Vec<f32>;
    let score = |f: Combine| {
        let (mut rise, mut hit, mut clean) = (0, 0, 0);
        for (per, bx) in maps.iter().zip(&boxes) {
            let (dirty, cl) = (f(per, 0), f(per, 1));
            rise += (mean_inside(&dirty, 112, *bx) > mean_inside(&cl, 112, *bx)) as usize;
            hit += peak_inside(&dirty, 112, *bx, 8) as usize;
            clean += peak_inside(&cl, 112, *bx, 8) as usize;
        }
        let n = maps.len() as f64;
        (rise as f64 / n, hit as f64 / n, clean as f64 / n)
    };
    let passes: Vec<usize> = grids.iter().map(|g| g.len()).collect();
    println!("{} pairs from {}, seed {seed}", pairs.len(), root.display());
    println!("dissimilar map | passes | rise | pointing | pointing (clean)");
    for (i, (name, _)) in probes.iter().enumerate() {
        let (r, h, c) = score(&|per, j| per[i][j].clone());
        println!("{name} | {} | {r:.3} | {h:.3} | {c:.3}", passes[i]);
    }
    for i in 0..3 {
        for j in 3..6 {
            let (r, h, c) = score(&|per, k| {
                finish(
                    per[i][k]
                        .iter()
                        .zip(&per[j][k])
                        .map(|(x, y)| x * y)
                        .collect(),
                )
            });
            println!(
                "{} x {} | {} | {r:.3} | {h:.3} | {c:.3}",
                probes[i].0,
                probes[j].0,
                passes[i] + passes[j]
            );
            let (r, h, c) = score(&|per, k| {
                finish(
                    per[i][k]
                        .iter()
                        .zip(&per[j][k])
                        .map(|(x, y)| x + y)
                        .collect(),
                )
            });
            println!(
                "{} + {} | {} | {r:.3} | {h:.3} | {c:.3}",
                probes[i].0,
                probes[j].0,
                passes[i] + passes[j]
            );
        }
    }
}
