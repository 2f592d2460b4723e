//! `amva bench scale`: the cost model of a map run on a cluster. Measures, on this
//! machine, images/s of each map method for tasks of 1 and 2 threads (with every core
//! busy), the per-shard fixed cost (a real `amva maps` process on a one-image shard:
//! start, model load, plan build), the cost of listing the image set, and the cost of
//! `amva merge` per shard and per image; then projects wall time and core-hours for N
//! images on k nodes of c cores (amva_maps::cost).

use super::bench_util::median_secs;
use crate::common::{Tagged, Ui};
use amva_maps::cost::{human_secs, project, Cluster, Projection, ShardCost};
use amva_maps::{CamRunner, MapParams, Method};
use amva_model::{EngineKind, FrModel, ModelSpec};
use anyhow::{Context, Result};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

#[derive(clap::Args, Debug)]
#[command(after_help = "Example:
  amva bench scale --images ../shared/faces/lfw-dev/aligned112
  amva bench scale --images faces/ --project 1000000 --cluster 1x2,50x32 --json

Run it on a node of the cluster the projection is for, and on a quiet machine.")]
pub struct Args {
    /// Aligned face images (the listing cost is measured on the whole set).
    #[arg(long, value_name = "DIR|LIST")]
    pub images: PathBuf,
    /// Map methods to measure and project.
    #[arg(
        long,
        default_value = "scorecam,ablation",
        value_delimiter = ',',
        value_name = "METHOD,..."
    )]
    pub methods: Vec<Method>,
    /// Number of faces per task for the Score-CAM rates.
    #[arg(long, default_value_t = 2)]
    pub n_scorecam: usize,
    /// Number of faces per task for the other methods' rates.
    #[arg(long, default_value_t = 64)]
    pub n: usize,
    /// Repetitions of each timing (the median is used).
    #[arg(long, default_value_t = 3, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
    pub rounds: usize,
    /// Engine of the shard tasks (the README's recipes use tract).
    #[arg(long, default_value = "tract")]
    pub engine: EngineKind,
    /// Image counts to project.
    #[arg(long, default_value = "100000,1000000", value_delimiter = ',')]
    pub project: Vec<u64>,
    /// Clusters to project for, as NODESxCORES.
    #[arg(long, default_value = "1x2,10x32,100x32", value_delimiter = ',', value_parser = parse_cluster)]
    pub cluster: Vec<Cluster>,
    /// Faces in the merge measurement (first of the sorted set).
    #[arg(long, default_value_t = 256)]
    pub merge_images: usize,
}

fn parse_cluster(s: &str) -> std::result::Result<Cluster, String> {
    let bad = || format!("'{s}': expected NODESxCORES, e.g. 10x32");
    let (k, c) = s.split_once(['x', 'X']).ok_or_else(bad)?;
    let (nodes, cores) = (
        k.trim().parse().map_err(|_| bad())?,
        c.trim().parse().map_err(|_| bad())?,
    );
    if nodes == 0 || cores == 0 {
        return Err(bad());
    }
    Ok(Cluster { nodes, cores })
}

pub fn run(a: Args, ui: &Ui) -> Result<()> {
    let cpu = amva_model::calibrate::cpu_model();
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    ui.note(&format!(
        "CPU: {cpu}, {cores} cores; engine {}; binary {}",
        a.engine,
        exe()?.display()
    ));
    let tmp = std::env::temp_dir().join(format!("amva-bench-scale-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).with_context(|| format!("creating {}", tmp.display()))?;
    let result = measure_and_project(&a, ui, &tmp, &cpu, cores);
    let _ = std::fs::remove_dir_all(&tmp);
    result
}

fn measure_and_project(a: &Args, ui: &Ui, tmp: &Path, cpu: &str, cores: usize) -> Result<()> {
    let path = crate::common::default_model(amva_io::models::FR_FEATURE)?;
    let model = FrModel::load(&path, ModelSpec::default_model(), a.engine)?;
    let (list_total, count) = list_secs(&a.images, a.rounds)?;
    let list_per_image = list_total / count as f64;
    println!(
        "listing, sorting, hashing {count} ids: {:.1} ms ({:.2} us/image)",
        list_total * 1e3,
        list_per_image * 1e6
    );
    let (merge_once, merge_shard, merge_image) = merge_costs(a, tmp)?;
    println!(
        "merge: {:.1} ms once, {:.1} ms per shard, {:.1} us per image",
        merge_once * 1e3,
        merge_shard * 1e3,
        merge_image * 1e6
    );
    let mut rows = Vec::new();
    for &method in &a.methods {
        let n = if method == Method::ScoreCam {
            a.n_scorecam
        } else {
            a.n
        };
        let rates = rates(&model, method, &a.images, n, a.rounds, cores, ui)?;
        let fixed = fixed_secs(a, method, tmp, count, list_total, rates.last().map(|r| r.1))?;
        for &(threads, rate, alone) in &rates {
            println!(
                "{method:<10} {threads} thread(s)/task: {rate:8.3} images/s per task with all {cores} cores busy ({alone:.3} alone), {:.3} images/s per core; fixed {fixed:.2} s per shard",
                rate / threads as f64,
            );
            let cost = ShardCost {
                threads,
                rate,
                fixed_secs: fixed,
                list_secs_per_image: list_per_image,
                merge_secs: merge_once,
                merge_secs_per_shard: merge_shard,
                merge_secs_per_image: merge_image,
            };
            rows.push((method, cost, alone));
        }
    }
    let projections = print_projections(a, &rows);
    let brief = ScaleBrief {
        cpu,
        cores,
        engine: a.engine.to_string(),
        measured: rows
            .iter()
            .map(|(method, cost, rate_alone)| Measured {
                method: *method,
                cost,
                rate_alone: *rate_alone,
            })
            .collect(),
        projections,
    };
    ui.summary("bench scale done", Tagged::new("bench scale", &brief));
    Ok(())
}

fn exe() -> Result<PathBuf> {
    std::env::current_exe().context("finding the amva binary")
}

/// Seconds to list, sort and hash the ids of `dir` (what every shard does first), and the count.
fn list_secs(dir: &Path, rounds: usize) -> Result<(f64, usize)> {
    let mut count = 0;
    let secs = median_secs(rounds, || {
        let list = amva_maps::store::sorted_list(amva_io::images::ImageList::open(dir)?, dir)?;
        amva_maps::store::list_digest(&list);
        count = list.len();
        Ok(())
    })?;
    anyhow::ensure!(count > 0, "{}: no images", dir.display());
    Ok((secs, count))
}

/// (threads, images/s per task with every core busy, images/s of one task alone) for
/// tasks of 1 and 2 threads (as many as fit the cores). Busy: cores / threads tasks run
/// at once, each in its own thread pool, each on the same `n` faces.
fn rates(
    model: &FrModel,
    method: Method,
    dir: &Path,
    n: usize,
    rounds: usize,
    cores: usize,
    ui: &Ui,
) -> Result<Vec<(usize, f64, f64)>> {
    let list = amva_maps::store::sorted_list(amva_io::images::ImageList::open(dir)?, dir)?;
    let items: Vec<_> = list.items.iter().take(n.max(1)).cloned().collect();
    let batch = amva_model::preprocess::load_batch(&items, &model.spec.preprocess, true);
    anyhow::ensure!(
        batch.failed.is_empty(),
        "unreadable images: {:?}",
        batch.failed
    );
    let k = batch.ok.len();
    let params = MapParams {
        batch: MapParams::default_batch(method, model),
        ..MapParams::new(method)
    };
    let runner = CamRunner::new(model, params)?;
    let mut out = Vec::new();
    for threads in [1usize, 2].into_iter().filter(|&t| t <= cores) {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()?;
        let one = || -> Result<()> {
            pool.install(|| runner.maps(&batch.input, k, &|_| {}).map(|_| ()))?;
            Ok(())
        };
        pool.install(|| runner.maps(&batch.input[..model.input_len()], 1, &|_| {}))?; // plans
        ui.note(&format!(
            "timing {method}, {threads} thread(s) per task ..."
        ));
        let alone = k as f64 / median_secs(rounds, one)?;
        let tasks = (cores / threads).max(1);
        let busy = if tasks == 1 {
            alone
        } else {
            k as f64 / concurrent_secs(&runner, &batch.input, k, threads, tasks, rounds)?
        };
        out.push((threads, busy, alone));
    }
    Ok(out)
}

/// Seconds (median) for `tasks` tasks at once, each in its own pool of `threads`
/// threads, each mapping the same `k` images.
fn concurrent_secs(
    runner: &CamRunner,
    input: &[f32],
    k: usize,
    threads: usize,
    tasks: usize,
    rounds: usize,
) -> Result<f64> {
    median_secs(rounds, || {
        std::thread::scope(|s| {
            let handles: Vec<_> = (0..tasks)
                .map(|_| {
                    s.spawn(|| -> Result<()> {
                        let p = rayon::ThreadPoolBuilder::new()
                            .num_threads(threads)
                            .build()?;
                        p.install(|| runner.maps(input, k, &|_| {}))?;
                        Ok(())
                    })
                })
                .collect();
            handles
                .into_iter()
                .try_for_each(|h| h.join().map_err(|_| anyhow::anyhow!("a task panicked"))?)
        })
    })
}

/// An `amva maps` run on `images` with `extra` arguments, in seconds.
fn timed_maps(
    a: &Args,
    images: &Path,
    out: &Path,
    method: Method,
    extra: &[String],
) -> Result<f64> {
    let start = Instant::now();
    let o = Command::new(exe()?)
        .args(["--quiet", "maps", "--images"])
        .arg(images)
        .arg("--out")
        .arg(out)
        .args([
            "--method",
            &method.to_string(),
            "--engine",
            &a.engine.to_string(),
        ])
        .args(extra)
        .output()?;
    anyhow::ensure!(
        o.status.success(),
        "amva maps failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    Ok(start.elapsed().as_secs_f64())
}

/// A shard's fixed cost: an `amva maps` process on a one-image shard of the whole set,
/// less the listing and one image's work (at `rate2`, the 2-thread rate). Score-CAM's
/// one image (513 passes) would drown the start-up in noise, so its start-up is taken
/// from the mean activation, which builds the same batch-1 plan of the whole network.
fn fixed_secs(
    a: &Args,
    method: Method,
    tmp: &Path,
    count: usize,
    list: f64,
    rate2: Option<f64>,
) -> Result<f64> {
    let mut i = 0;
    let secs = median_secs(a.rounds, || {
        i += 1;
        let out = tmp.join(format!("fixed-{method}-{i}"));
        let probe = match method {
            Method::ScoreCam => Method::Activation,
            m => m,
        };
        timed_maps(
            a,
            &a.images,
            &out,
            probe,
            &["--shard".into(), format!("1/{count}")],
        )?;
        Ok(())
    })?;
    let one_image = match method {
        Method::ScoreCam => 0.0, // the mean activation of one image: milliseconds
        _ => rate2.map_or(0.0, |r| 1.0 / r),
    };
    Ok((secs - list - one_image).max(0.0))
}

/// `amva merge` seconds (once, per shard, per image), from merges of a 1-shard and an
/// 8-shard split of the same m faces and a 1-shard split of m/8 (mean activation, the
/// fastest method, makes the stores).
fn merge_costs(a: &Args, tmp: &Path) -> Result<(f64, f64, f64)> {
    let list =
        amva_maps::store::sorted_list(amva_io::images::ImageList::open(&a.images)?, &a.images)?;
    // 8 shards of at least 2 faces each.
    anyhow::ensure!(
        list.len() >= 16,
        "{}: the merge measurement needs at least 16 faces, found {}",
        a.images.display(),
        list.len()
    );
    let m = a.merge_images.clamp(16, list.len());
    let all = merge_secs(a, tmp, &list.items[..m], 1)?;
    let split = merge_secs(a, tmp, &list.items[..m], 8)?;
    let few = merge_secs(a, tmp, &list.items[..m / 8], 1)?;
    let per_shard = ((split - all) / 7.0).max(0.0);
    let per_image = ((all - few) / (m - m / 8) as f64).max(0.0);
    let once = (few - per_shard - per_image * (m / 8) as f64).max(0.0);
    Ok((once, per_shard, per_image))
}

/// Seconds of `amva merge` (median) of an n-shard split of `items` made with `amva maps`.
fn merge_secs(
    a: &Args,
    tmp: &Path,
    items: &[amva_io::images::ImageItem],
    shards: usize,
) -> Result<f64> {
    let tag = format!("merge-{}x{shards}", items.len());
    let csv = tmp.join(format!("{tag}.csv"));
    let text: String = std::iter::once("path".to_string())
        .chain(items.iter().map(|it| it.path.display().to_string()))
        .map(|l| l + "\n")
        .collect();
    std::fs::write(&csv, text)?;
    let dirs: Vec<PathBuf> = (1..=shards)
        .map(|i| tmp.join(format!("{tag}-{i}")))
        .collect();
    for (i, d) in dirs.iter().enumerate() {
        let shard = format!("{}/{shards}", i + 1);
        timed_maps(a, &csv, d, Method::Activation, &["--shard".into(), shard])?;
    }
    let mut r = 0;
    median_secs(a.rounds, || {
        r += 1;
        let o = Command::new(exe()?)
            .args(["--quiet", "merge"])
            .args(&dirs)
            .arg("--out")
            .arg(tmp.join(format!("{tag}-merged-{r}")))
            .output()?;
        anyhow::ensure!(
            o.status.success(),
            "amva merge failed: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        Ok(())
    })
}

/// The projection table (markdown) for every image count, method, task size and cluster.
fn print_projections(a: &Args, rows: &[(Method, ShardCost, f64)]) -> Vec<Projected> {
    let mut json = Vec::new();
    println!("\n| images | method | threads/task | cluster | shards | wall time | core-hours |");
    println!("|---|---|---|---|---|---|---|");
    for &n in &a.project {
        for (method, cost, _) in rows {
            for &cl in &a.cluster {
                let p = project(cost, n, cl, None);
                println!(
                    "| {n} | {method} | {} | {} x {} cores | {} | {} | {:.0} |",
                    cost.threads,
                    cl.nodes,
                    cl.cores,
                    p.shards,
                    human_secs(p.wall_secs),
                    p.core_hours
                );
                json.push(Projected {
                    images: n,
                    method: *method,
                    threads: cost.threads,
                    cluster: cl,
                    projection: p,
                });
            }
        }
    }
    json
}

/// The summary of `amva bench scale --json`.
#[derive(serde::Serialize)]
struct ScaleBrief<'a> {
    cpu: &'a str,
    cores: usize,
    engine: String,
    measured: Vec<Measured<'a>>,
    projections: Vec<Projected>,
}

/// A method's measured cost at one task size.
#[derive(serde::Serialize)]
struct Measured<'a> {
    method: Method,
    cost: &'a ShardCost,
    /// Images/s of one task on an otherwise idle machine.
    rate_alone: f64,
}

/// One row of the projection table.
#[derive(serde::Serialize)]
struct Projected {
    images: u64,
    method: Method,
    threads: usize,
    cluster: Cluster,
    projection: Projection,
}
