//! `amva bench ...`: throughput measured in one run, with ratios against a baseline
//! measured in the same run. Timings live here, never in tests.

use super::bench_util::{bench_inputs, median_secs, Machine};
use crate::common::{Tagged, Ui};
use anyhow::Result;
use std::path::PathBuf;

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(subcommand)]
    pub suite: Suite,
}

#[derive(clap::Subcommand, Debug)]
pub enum Suite {
    /// Embeddings/s of each usable engine at batch 1 and 32 (both cores), and their ratio.
    Engines(EnginesArgs),
    /// Images/s of the map methods (and the pytorch-grad-cam peer when available).
    Maps(super::bench_maps::Args),
    /// Images/s of the built-in FIQA methods.
    Quality(super::bench_quality::Args),
    /// Memory and time of `analyze` on many synthetic maps.
    Analyze(super::bench_analyze::Args),
    /// Pair-map methods against ground truth on patched pairs (rise, pointing, deletion).
    Compare(super::bench_compare::Args),
    /// Cost model of a cluster run: images/s at 1 and 2 threads, per-shard costs, projections.
    Scale(super::bench_scale::Args),
}

#[derive(clap::Args, Debug)]
#[command(
    after_help = "Example:\n  amva bench engines --images ../shared/faces/lfw-dev/aligned112 --n 256"
)]
pub struct EnginesArgs {
    /// Face images to embed (default: generated test patterns).
    #[arg(long, value_name = "DIR|LIST")]
    pub images: Option<PathBuf>,
    /// Number of faces per measurement.
    #[arg(long, default_value_t = 256)]
    pub n: usize,
    /// Repetitions (the median is reported).
    #[arg(long, default_value_t = 3)]
    pub rounds: usize,
    #[command(flatten)]
    pub model: crate::common::ModelFiles,
}

pub fn run(a: Args, ui: &Ui) -> Result<()> {
    let machine = Machine::sample();
    println!("{}", machine.line());
    match a.suite {
        Suite::Engines(e) => engines(e, &machine, ui),
        Suite::Maps(m) => super::bench_maps::run(m, &machine, ui),
        Suite::Quality(q) => super::bench_quality::run(q, ui),
        Suite::Analyze(q) => super::bench_analyze::run(q, ui),
        Suite::Compare(c) => super::bench_compare::run(c, ui),
        Suite::Scale(s) => super::bench_scale::run(s, ui),
    }
}

fn engines(a: EnginesArgs, machine: &Machine, ui: &Ui) -> Result<()> {
    let mut kinds = vec![amva_model::EngineKind::Tract];
    if amva_model::engine::ort_available() {
        kinds.push(amva_model::EngineKind::Ort);
    } else {
        ui.note("ONNX Runtime not installed (`amva engine install`): measuring tract only");
    }
    let threads = rayon::current_num_threads();
    let mut rows = Vec::new();
    for kind in &kinds {
        let (path, spec) = a.model.path_and_spec(*kind)?;
        let model = amva_model::FrModel::load(&path, spec, *kind)?;
        let input = bench_inputs(&a.images, a.n, &model.spec.preprocess)?;
        for batch in [1usize, 32] {
            model.embed_parallel(
                &input[..model.input_len() * batch.min(a.n)],
                batch.min(a.n),
                batch,
            )?; // warm-up: builds the plan
            let secs = median_secs(a.rounds, || {
                Ok(model.embed_parallel(&input, a.n, batch).map(|_| ())?)
            })?;
            let rate = a.n as f64 / secs;
            println!("{:<6} batch {batch:>2}: {rate:8.1} embeddings/s ({} images, {threads} threads, median of {})", kind.to_string(), a.n, a.rounds);
            rows.push(EngineRate {
                engine: kind.to_string(),
                batch,
                per_second: rate,
            });
        }
    }
    let rate = |k: &str, b: usize| {
        rows.iter()
            .find(|r| r.engine == k && r.batch == b)
            .map(|r| r.per_second)
    };
    let ratio = |b: usize| match (rate("ort", b), rate("tract", b)) {
        (Some(o), Some(t)) => {
            println!("ratio ort/tract at batch {b}: {:.2}x", o / t);
            Some(o / t)
        }
        _ => None,
    };
    let (ratio_ort_tract_batch1, ratio_ort_tract_batch32) = (ratio(1), ratio(32));
    if let (Some(b1), Some(b32)) = (rate("tract", 1), rate("tract", 32)) {
        println!("ratio tract batch 32/batch 1: {:.2}x", b32 / b1);
    }
    let brief = EnginesBrief {
        model: a.model.model.as_deref(),
        cpu: &machine.cpu,
        idle: machine.idle,
        threads,
        images: a.n,
        results: &rows,
        ratio_ort_tract_batch1,
        ratio_ort_tract_batch32,
    };
    ui.summary("bench engines done", Tagged::new("bench engines", &brief));
    Ok(())
}

/// The summary of `amva bench engines --json`.
#[derive(serde::Serialize)]
struct EnginesBrief<'a> {
    model: Option<&'a std::path::Path>,
    cpu: &'a str,
    idle: Option<f64>,
    threads: usize,
    images: usize,
    results: &'a [EngineRate],
    #[serde(skip_serializing_if = "Option::is_none")]
    ratio_ort_tract_batch1: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ratio_ort_tract_batch32: Option<f64>,
}

/// Embeddings/s of one engine at one batch size.
#[derive(serde::Serialize)]
struct EngineRate {
    engine: String,
    batch: usize,
    per_second: f64,
}
