//! `amva bench maps`: images/s of each map method on each usable engine, and of the
//! pytorch-grad-cam Score-CAM peer (benches/peers/scorecam_peer.py) on the same faces in
//! the same run, with the ratio. Images are decoded before timing.

use super::bench_util::median_secs;
use crate::common::{Tagged, Ui};
use amva_maps::{CamRunner, MapParams, Method};
use amva_model::{EngineKind, FrModel};
use anyhow::{Context, Result};
use std::path::{Path, PathBuf};

/// What `--methods` times by default: every map method.
const TIMED: &str = "scorecam,ablation,eigencam,activation";

#[derive(clap::Args, Debug)]
#[command(after_help = "Example:
  amva bench maps --images ../shared/faces/lfw-dev/aligned112
  amva bench maps --images faces/ --n-scorecam 8 --peer-python .venv-peer/bin/python

The peer runs when its Python (with torch, onnx2torch, grad-cam; see
benches/peers/requirements.txt) is given: --peer-python, else $AMVA_PEER_PYTHON; without
either it is skipped. Run on a quiet machine: other load skews the ratio.")]
pub struct Args {
    /// Aligned face images (the same ones go to amva and the peer: evenly spread over the sorted list).
    #[arg(long, value_name = "DIR|LIST")]
    pub images: PathBuf,
    /// Number of faces for the Score-CAM measurements (amva and peer).
    #[arg(long, default_value_t = 4)]
    pub n_scorecam: usize,
    /// Number of faces for the single-pass and ablation measurements.
    #[arg(long, default_value_t = 128)]
    pub n: usize,
    /// Repetitions of the fast methods (the median is reported).
    #[arg(long, default_value_t = 3, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
    pub rounds: usize,
    /// Repetitions of the Score-CAM measurements, amva's and the peer's (the medians are
    /// compared: single runs of either vary by up to 1.8x on a shared VM).
    #[arg(long, default_value_t = 3, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
    pub scorecam_rounds: usize,
    /// Map methods to time.
    #[arg(long, value_delimiter = ',', default_value = TIMED, value_name = "METHOD,...")]
    pub methods: Vec<Method>,
    /// Score-CAM masked images per model call (default: 4 with ONNX Runtime, 1 with tract).
    #[arg(long)]
    pub scorecam_batch: Option<usize>,
    /// Python of the peer's virtual environment (default: $AMVA_PEER_PYTHON; neither: no peer).
    #[arg(long, value_name = "PYTHON")]
    pub peer_python: Option<PathBuf>,
    /// Skip the peer.
    #[arg(long)]
    pub no_peer: bool,
    /// Another FR model (its settings file beside it, or --model-config); no peer then.
    #[command(flatten)]
    pub model: crate::common::ModelFiles,
}

/// ", median of N" for a figure measured N > 1 times.
fn median_note(rounds: usize) -> String {
    if rounds > 1 {
        format!(", median of {rounds}")
    } else {
        String::new()
    }
}

/// The same spread of faces as the peer script takes: every (len / n)-th of the sorted list.
fn faces(dir: &Path, n: usize) -> Result<Vec<amva_io::images::ImageItem>> {
    let list = amva_maps::store::sorted_list(amva_io::images::ImageList::open(dir)?, dir)?;
    anyhow::ensure!(!list.is_empty(), "{}: no images", dir.display());
    let step = (list.len() / n.max(1)).max(1);
    Ok((0..n.min(list.len()))
        .map(|i| list.items[i * step].clone())
        .collect())
}

/// The peer's Python: `--peer-python`, else `$AMVA_PEER_PYTHON`; no guess at a path
/// (a default would be one machine's folder).
fn peer_python(a: &Args) -> Option<PathBuf> {
    a.peer_python
        .clone()
        .or_else(|| std::env::var_os("AMVA_PEER_PYTHON").map(PathBuf::from))
        .filter(|p| p.is_file())
}

fn peer_script() -> Option<PathBuf> {
    [
        PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../benches/peers/scorecam_peer.py"
        )),
        PathBuf::from("benches/peers/scorecam_peer.py"),
    ]
    .into_iter()
    .find(|p| p.is_file())
}

/// The summary of `amva bench maps --json`.
#[derive(serde::Serialize)]
struct MapsBrief<'a> {
    model: Option<&'a Path>,
    cpu: &'a str,
    idle: Option<f64>,
    threads: usize,
    results: Vec<MethodRate>,
    /// The peer's own JSON line, as it printed it.
    #[serde(skip_serializing_if = "Option::is_none")]
    peer: Option<serde_json::Value>,
    /// amva's best Score-CAM rate over the peer's.
    #[serde(skip_serializing_if = "Option::is_none")]
    ratio_scorecam_vs_peer: Option<f64>,
}

/// Images/s of one map method on one engine.
#[derive(serde::Serialize)]
struct MethodRate {
    method: Method,
    engine: String,
    batch: usize,
    images: usize,
    images_per_second: f64,
}

pub fn run(a: Args, machine: &super::bench_util::Machine, ui: &Ui) -> Result<()> {
    let mut kinds = vec![EngineKind::Tract];
    if amva_model::engine::ort_available() {
        kinds.push(EngineKind::Ort);
    } else {
        ui.note("ONNX Runtime not installed (`amva engine install`): measuring tract only");
    }
    let threads = rayon::current_num_threads();
    let mut results = Vec::new();
    for kind in &kinds {
        results.extend(measure(&a, *kind, threads, ui)?);
    }
    let mut brief = MapsBrief {
        model: a.model.model.as_deref(),
        cpu: &machine.cpu,
        idle: machine.idle,
        threads,
        results,
        peer: None,
        ratio_scorecam_vs_peer: None,
    };
    if a.model.model.is_some() && !a.no_peer {
        ui.note("no peer for --model: the pytorch-grad-cam peer runs the default model");
    }
    if a.methods.contains(&Method::ScoreCam) && !a.no_peer && a.model.model.is_none() {
        if let Some((peer, rate)) = run_peer(&a, machine, ui)? {
            brief.peer = Some(peer);
            let best = brief
                .results
                .iter()
                .filter(|r| r.method == Method::ScoreCam)
                .max_by(|x, y| x.images_per_second.total_cmp(&y.images_per_second));
            if let Some(best) = best {
                let ratio = best.images_per_second / rate;
                println!(
                    "ratio amva Score-CAM ({}) / peer: {ratio:.2}x (goal >= 1.5x)",
                    best.engine
                );
                brief.ratio_scorecam_vs_peer = Some(ratio);
            }
        }
    }
    ui.summary("bench maps done", Tagged::new("bench maps", &brief));
    Ok(())
}

/// Images/s of each method of `--methods` on engine `kind`, printed as measured.
fn measure(a: &Args, kind: EngineKind, threads: usize, ui: &Ui) -> Result<Vec<MethodRate>> {
    let (path, spec) = a.model.path_and_spec(kind)?;
    let model = FrModel::load(&path, spec, kind)?;
    let mut rows = Vec::new();
    for &method in &a.methods {
        let (n, rounds) = if method == Method::ScoreCam {
            (a.n_scorecam, a.scorecam_rounds)
        } else {
            (a.n, a.rounds)
        };
        let items = faces(&a.images, n)?;
        let batch = amva_model::preprocess::load_batch(&items, &model.spec.preprocess, true);
        anyhow::ensure!(
            batch.failed.is_empty(),
            "unreadable images: {:?}",
            batch.failed
        );
        let n = batch.ok.len();
        let batch_size = match (method, a.scorecam_batch) {
            (Method::ScoreCam, Some(b)) => b,
            _ => MapParams::default_batch(method, &model),
        };
        let params = MapParams {
            batch: batch_size,
            ..MapParams::new(method)
        };
        let runner = CamRunner::new(&model, params.clone())?;
        // Warm-up: builds the engine's plans for the batch sizes used.
        runner.maps(&batch.input[..model.input_len()], 1, &|_| {})?;
        let pb = ui.progress((n * rounds) as u64, &method.to_string());
        let secs = median_secs(rounds, || {
            runner.maps(&batch.input, n, &|k| pb.inc(k as u64))?;
            Ok(())
        })?;
        pb.finish_and_clear();
        let rate = n as f64 / secs;
        println!(
            "{:<10} {:<5} batch {:>2}: {rate:9.2} images/s ({:.3} s/image; {n} faces, {threads} threads{})",
            method.to_string(),
            kind.to_string(),
            params.batch,
            secs / n as f64,
            median_note(rounds)
        );
        rows.push(MethodRate {
            method,
            engine: kind.to_string(),
            batch: params.batch,
            images: n,
            images_per_second: rate,
        });
    }
    Ok(rows)
}

/// Runs the pytorch-grad-cam peer on the Score-CAM faces: its JSON line and its rate
/// (images/s), or None when it cannot run (with a note saying why).
fn run_peer(
    a: &Args,
    machine: &super::bench_util::Machine,
    ui: &Ui,
) -> Result<Option<(serde_json::Value, f64)>> {
    let (py, script) = match (peer_python(a), peer_script()) {
        (Some(py), Some(script)) => (py, script),
        (None, _) => {
            ui.note("peer skipped: no Python with the peer's packages (set --peer-python or AMVA_PEER_PYTHON; see benches/peers/requirements.txt)");
            return Ok(None);
        }
        (_, None) => {
            ui.note(
                "peer skipped: benches/peers/scorecam_peer.py not found (run from the repository)",
            );
            return Ok(None);
        }
    };
    ui.note(&format!(
        "running the pytorch-grad-cam peer ({} {})",
        py.display(),
        script.display()
    ));
    let mut peer = std::process::Command::new(&py);
    if machine.busy() && std::env::var_os("OMP_WAIT_POLICY").is_none() {
        // Spinning OpenMP threads collapse (10-30x) when other processes hold the cores;
        // sleeping waits keep the peer's figure meaningful. Printed beside the results:
        // it changes the peer's setup.
        println!("peer environment: OMP_WAIT_POLICY=PASSIVE (the cores were busy)");
        peer.env("OMP_WAIT_POLICY", "PASSIVE");
    }
    let out = peer
        .arg(&script)
        .args(["bench", "--images"])
        .arg(&a.images)
        .args(["--n", &a.n_scorecam.to_string()])
        .args(["--rounds", &a.scorecam_rounds.to_string(), "--model"])
        .arg(crate::common::default_model(amva_io::models::FR_FEATURE)?)
        .output()
        .with_context(|| format!("running {}", py.display()))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    // The peer's last JSON line, kept whole in the output; its rate read typed.
    #[derive(serde::Deserialize)]
    struct PeerRate {
        seconds_per_image: f64,
    }
    let parsed: Option<serde_json::Value> = stdout
        .lines()
        .rev()
        .find_map(|l| serde_json::from_str(l).ok());
    let rate = parsed
        .clone()
        .and_then(|v| serde_json::from_value::<PeerRate>(v).ok());
    match (parsed, rate) {
        (Some(parsed), Some(r)) if out.status.success() => {
            let s = r.seconds_per_image;
            let rate = 1.0 / s;
            println!(
                "peer (pytorch-grad-cam ScoreCAM, batch 8, torch 2 threads): {rate:9.2} images/s ({s:.3} s/image; {} faces{})",
                a.n_scorecam,
                median_note(a.scorecam_rounds)
            );
            Ok(Some((parsed, rate)))
        }
        _ => {
            ui.note(&format!(
                "the peer failed (exit {:?}); skipped: {}",
                out.status.code(),
                String::from_utf8_lossy(&out.stderr)
                    .lines()
                    .last()
                    .unwrap_or("")
            ));
            Ok(None)
        }
    }
}
