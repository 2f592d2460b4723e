//! `amva maps`: activation maps of a set of images, written as a map store
//! (resumable part by part, shardable, mergeable with `amva merge`).

use crate::common::{self, ImageArgs, ModelArgs, Tagged, Ui};
use amva_io::images::{ImageItem, ImageList};
use amva_maps::store::{list_digest, sorted_list};
use amva_maps::{
    CamRunner, Channels, MapParams, Method, ReadOptions, RunSettings, Score, StoreBrief, StoreMeta,
    StoreWriter,
};
use amva_model::{EngineKind, FrModel};
use anyhow::{Context, Result};
use std::path::{Path, PathBuf};

/// How maps are computed (shared by `maps`, `faithfulness`, `bench maps`).
#[derive(clap::Args, Debug, Clone)]
pub struct CamArgs {
    /// Score-CAM weighting: baseline (s_k - cos(f(0), e0), the default), raw (s_k), softmax (pytorch-grad-cam's).
    #[arg(long, default_value = "baseline")]
    pub score: Score,
    /// Softmax temperature for --score softmax.
    #[arg(long, default_value_t = 1.0)]
    pub temperature: f64,
    /// Score-CAM channels: all; fast (a quarter of the model passes: the top (K+1)/4-1 by
    /// variance, 127 of 512; error measured in docs/fast-scorecam.md); or top:N (the N of
    /// highest activation variance).
    #[arg(long, default_value = "all", value_name = "all|fast|top:N")]
    pub cam_channels: Channels,
    /// Items per model call for the extra passes (default: 4 with ONNX Runtime, 1 with tract; 64 head runs for ablation).
    #[arg(long)]
    pub batch: Option<usize>,
}

impl CamArgs {
    /// Parameters of `method` for the engine that runs `model`.
    pub fn params(&self, method: Method, model: &FrModel) -> MapParams {
        MapParams {
            method,
            score: self.score,
            temperature: self.temperature,
            channels: self.cam_channels,
            batch: self
                .batch
                .unwrap_or_else(|| MapParams::default_batch(method, model)),
        }
    }
}

#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:
  # Score-CAM, the paper's method (513 model passes per image)
  amva maps --images faces/ --out maps/
  # Ablation-CAM: about as fast as one pass per image
  amva maps --images faces/ --out maps-abl/ --method ablation
  # this machine's eighth of the images; join the eight with `amva merge`
  amva maps --images list.csv --out part2/ --shard 2/8
  # pytorch-grad-cam's weighting on the 256 most variable channels
  amva maps --images faces/ --out maps/ --score softmax --cam-channels top:256
  # Score-CAM at a quarter of the model passes (bounded, measured error)
  amva maps --images faces/ --out maps-fast/ --cam-channels fast

Writes maps.npy (N x h x w float32: the weighted sum m before ReLU, upsampling and
min-max, from which every full map is rebuilt exactly), index.csv (row,image,flags),
failed.csv, meta.json; with --full also maps_full.npy (N x H x W). Rows are in image-id
order. An interrupted run continues where it stopped when rerun with the same arguments;
other arguments are refused, naming the difference.")]
pub struct Args {
    #[command(flatten)]
    pub images: ImageArgs,
    /// Output folder (a map store).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Map method: scorecam (ALGORITHMS 1.1), ablation (1.3), eigencam or activation (1.2).
    #[arg(long, default_value = "scorecam")]
    pub method: Method,
    #[command(flatten)]
    pub cam: CamArgs,
    #[command(flatten)]
    pub model: ModelArgs,
    /// Also write the full-resolution maps (maps_full.npy, N x H x W).
    #[arg(long)]
    pub full: bool,
    /// Only the i-th of n deterministic shares of the images (1-based), e.g. 2/8.
    #[arg(long, value_parser = common::parse_shard, value_name = "i/n")]
    pub shard: Option<(usize, usize)>,
    /// Images per part (the unit of resuming); default by method.
    #[arg(long, hide = true)]
    pub part_size: Option<usize>,
    /// Stop (as if killed) after writing this many parts; for testing resumption.
    #[arg(long, hide = true)]
    pub stop_after_parts: Option<usize>,
}

/// The engine of the run a store in `out` was started with, if any.
fn started_engine(out: &Path) -> Option<EngineKind> {
    StoreMeta::read(out).ok()?.settings.engine.parse().ok()
}

/// Images per part: a few minutes of work at most, so little is lost to an interruption.
pub fn default_part_size(method: Method) -> usize {
    match method {
        Method::ScoreCam => 16,
        Method::Ablation => 128,
        _ => 256,
    }
}

/// The summary of `amva maps --json`.
#[derive(serde::Serialize)]
struct MapsBrief<'a> {
    #[serde(flatten)]
    store: StoreBrief<'a>,
    seconds: f64,
    /// The store was finished before this run: nothing was computed.
    already_complete: bool,
}

/// The model, on the engine a store in `--out` was started with when `--engine auto`:
/// auto's calibrated choice may have changed since, and a store mixes no engines.
fn load_model(a: &Args, ui: &Ui) -> Result<FrModel> {
    let mut model_args = a.model.clone();
    if model_args.engine == EngineKind::Auto {
        if let Some(engine) = started_engine(&a.out) {
            ui.note(&format!(
                "resuming {} on its engine, {engine} (pass --engine to choose another --out)",
                a.out.display()
            ));
            model_args.engine = engine;
        }
    }
    model_args.load(ui)
}

/// What the store records of this run: `list`'s maps by `runner` of `model`.
fn run_settings(
    a: &Args,
    model: &FrModel,
    runner: &CamRunner,
    list: &ImageList,
    part_size: usize,
) -> RunSettings {
    let (h, w) = runner.map_shape();
    let (fh, fw) = runner.full_shape();
    RunSettings {
        amva_version: env!("CARGO_PKG_VERSION").into(),
        model_sha256: model.graph.sha256.clone(),
        engine: model.engine().to_string(),
        layer: model.spec.target.clone(),
        params: runner.params().clone(),
        spec: model.spec.clone(),
        image_count: list.len(),
        images_sha256: list_digest(list),
        resize: a.images.resize,
        full: a.full,
        part_size,
        map_shape: [h, w],
        full_shape: [fh, fw],
    }
}

/// Computes and appends the parts the store does not hold yet.
fn write_parts(
    a: &Args,
    runner: &CamRunner,
    parts: &[&[ImageItem]],
    writer: &mut StoreWriter,
    todo: usize,
    ui: &Ui,
) -> Result<()> {
    let pb = ui.progress(todo as u64, a.method.to_string().as_str());
    let read = ReadOptions {
        resize: a.images.resize,
        strict: a.images.strict,
        full: a.full,
    };
    for (written_now, chunk) in parts.iter().skip(writer.parts_done()).enumerate() {
        let part = runner
            .map_part(chunk, read, &|k| pb.inc(k as u64), &|msg| {
                pb.suspend(|| ui.note(msg))
            })
            .with_context(|| {
                format!(
                    "computing maps of {} .. {}",
                    chunk[0].id,
                    chunk[chunk.len() - 1].id
                )
            })?;
        writer.write_part(&part)?;
        if a.stop_after_parts == Some(written_now + 1) {
            pb.finish_and_clear();
            anyhow::bail!(
                "stopped after {} parts as asked (--stop-after-parts); rerun without it to resume",
                written_now + 1
            );
        }
    }
    pb.finish_and_clear();
    Ok(())
}

pub fn run(a: Args, ui: &Ui) -> Result<()> {
    let start = std::time::Instant::now();
    let inputs = common::images_and_model(&a.images.images, a.model.model.as_deref());
    let _lock = amva_io::outputs::claim_dir(&a.out, &inputs, "maps")?;
    let model = load_model(&a, ui)?;
    let runner = CamRunner::new(&model, a.cam.params(a.method, &model))?;
    let list = sorted_list(
        crate::common::open_images(&a.images.images, ui)?,
        &a.images.images,
    )?;
    anyhow::ensure!(
        !list.is_empty(),
        "{}: no images found",
        a.images.images.display()
    );
    let part_size = a
        .part_size
        .unwrap_or_else(|| default_part_size(a.method))
        .max(1);
    let settings = run_settings(&a, &model, &runner, &list, part_size);
    let meta = StoreMeta::new(&model.graph.path, &a.images.images, settings, a.shard);
    let mut writer = StoreWriter::open(&a.out, meta)?;
    writer.list_skipped(&list.skipped);
    let items = match a.shard {
        Some((i, n)) => list.shard(i, n),
        None => list,
    };
    let parts: Vec<_> = items.items.chunks(part_size).collect();
    if writer.is_complete() {
        let meta = writer.finish(parts.len())?;
        let brief = MapsBrief {
            store: meta.brief(&a.out),
            seconds: start.elapsed().as_secs_f64(),
            already_complete: true,
        };
        ui.summary(
            &format!(
                "{} already holds the finished maps of {} images; nothing to do",
                a.out.display(),
                meta.count
            ),
            Tagged::new("maps", &brief),
        );
        return Ok(());
    }
    if writer.parts_done() > 0 {
        ui.note(&format!(
            "resuming {}: {} of {} parts ({} images) already done",
            a.out.display(),
            writer.parts_done(),
            parts.len(),
            writer.images_done()
        ));
    }
    let todo = items.len() - writer.images_done().min(items.len());
    write_parts(&a, &runner, &parts, &mut writer, todo, ui)?;
    let meta = writer.finish(parts.len())?;
    let secs = start.elapsed().as_secs_f64();
    let s = &meta.settings;
    ui.summary(
        &format!(
            "maps: {} images ({} failed, {} flat, {} with warnings) with {} on {} in {secs:.1} s ({:.2} images/s) -> {}",
            meta.count,
            meta.failed,
            meta.flat,
            meta.warnings,
            s.params.method,
            s.engine,
            todo as f64 / secs,
            a.out.display()
        ),
        Tagged::new(
            "maps",
            &MapsBrief {
                store: meta.brief(&a.out),
                seconds: secs,
                already_complete: false,
            },
        ),
    );
    if items.is_empty() {
        // More shards than images: this shard's store is empty, and merge joins it.
        ui.note(&format!(
            "shard {} holds none of the {} images; wrote an empty store",
            meta.shard.as_deref().unwrap_or("?"),
            meta.settings.image_count
        ));
        return Ok(());
    }
    anyhow::ensure!(
        meta.count > 0,
        "no image could be mapped (see {})",
        a.out.join("failed.csv").display()
    );
    Ok(())
}
