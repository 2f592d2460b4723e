//! ONNX Runtime through `ort` with `load-dynamic`: nothing is downloaded at build time;
//! the shared library comes from the official `onnxruntime` wheel on PyPI
//! (`amva engine install`) or `ORT_DYLIB_PATH`. A missing or broken library is an error,
//! never a panic, and `--engine auto` then falls back to tract.
//!
//! ORT returns only graph outputs, so nets are built from models edited by
//! [`crate::graph::OnnxGraph::cut`] (target tensor exposed, batch symbolic).

use crate::backend::{Backend, Output};
use crate::backend::{OrtOptimization, OrtSettings};
use crate::{Error, Result};
use ort::session::builder::GraphOptimizationLevel;
use ort::session::Session;
use ort::value::TensorRef;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};
use tract_onnx::pb::ModelProto;

/// The ONNX Runtime library to load: `$ORT_DYLIB_PATH`, else the installed one.
pub fn library_path() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("ORT_DYLIB_PATH").filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(p));
    }
    let dir = crate::ort_engine_dir().ok()?;
    let mut libs: Vec<PathBuf> = std::fs::read_dir(&dir)
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            let n = p
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            n.starts_with("libonnxruntime.so")
                || n.starts_with("libonnxruntime.dylib")
                || n == "onnxruntime.dll"
        })
        .collect();
    libs.sort();
    libs.pop()
}

static ENV: OnceLock<std::result::Result<ort::environment::Environment, String>> = OnceLock::new();

/// The process-wide ORT environment, loading the library on first use.
pub fn environment() -> Result<&'static ort::environment::Environment> {
    ENV.get_or_init(|| {
        let path = library_path().ok_or_else(|| {
            "no ONNX Runtime library found: run `amva engine install` or set ORT_DYLIB_PATH"
                .to_string()
        })?;
        if !path.is_file() {
            return Err(format!("{}: no such file", path.display()));
        }
        let builder = ort::init_from(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        builder
            .with_name("amva")
            .build()
            .map_err(|e| format!("{}: {e}", path.display()))
    })
    .as_ref()
    .map_err(|e| Error::OrtUnavailable(e.clone()))
}

/// The loaded library's version: from its file name (`libonnxruntime.so.1.32.0`) and the
/// build's git commit (`ort::info()` gives only build information).
pub fn version() -> Option<String> {
    environment().ok()?;
    let name = library_path()?.file_name()?.to_string_lossy().into_owned();
    let number = name.rsplit_once(".so.").map(|(_, v)| v.to_string());
    let commit = ort::info()
        .split(", ")
        .find_map(|p| p.strip_prefix("git-commit-id="))
        .map(str::to_string);
    Some(match (number, commit) {
        (Some(v), Some(c)) => format!("{v} (commit {c})"),
        (Some(v), None) => v,
        (None, Some(c)) => format!("commit {c}"),
        (None, None) => ort::info().to_string(),
    })
}

/// Sessions as the calibration found fastest: by default one one-thread session per core
/// (two one-thread sessions keep both cores busy when callers run batches in parallel).
pub(crate) struct OrtBackend {
    sessions: Vec<Mutex<Session>>,
    input: String,
    outputs: Vec<String>,
}

impl OrtBackend {
    pub(crate) fn new(proto: &ModelProto, path: &Path, settings: OrtSettings) -> Result<Self> {
        let env = environment()?;
        let bytes = crate::graph::encode(proto);
        let load = |e: ort::Error| Error::Load {
            path: path.into(),
            reason: format!("ONNX Runtime: {e}"),
        };
        let level = match settings.optimization {
            OrtOptimization::Basic => GraphOptimizationLevel::Level1,
            OrtOptimization::All => GraphOptimizationLevel::Level3,
        };
        let mut sessions = Vec::with_capacity(settings.sessions);
        for _ in 0..settings.sessions.max(1) {
            let session = Session::builder(env)
                .map_err(load)?
                .with_optimization_level(level)
                .map_err(|e| load(e.into()))?
                .with_intra_threads(settings.threads.max(1))
                .map_err(|e| load(e.into()))?
                .commit_from_memory(&bytes)
                .map_err(load)?;
            sessions.push(Mutex::new(session));
        }
        let graph = proto.graph.as_ref().expect("edited model has a graph");
        let input = graph
            .input
            .first()
            .map(|i| i.name.clone())
            .unwrap_or_default();
        let outputs = graph.output.iter().map(|o| o.name.clone()).collect();
        Ok(OrtBackend {
            sessions,
            input,
            outputs,
        })
    }
}

impl Backend for OrtBackend {
    fn run(&self, input: &[f32], shape: &[usize]) -> Result<Vec<Output>> {
        let run_err = |e: ort::Error| Error::Run {
            engine: "ort",
            reason: e.to_string(),
        };
        // Take a free session if there is one; otherwise wait for the first.
        let mut guard = self
            .sessions
            .iter()
            .find_map(|s| s.try_lock().ok())
            .unwrap_or_else(|| self.sessions[0].lock().expect("session poisoned"));
        let shape_i64: Vec<i64> = shape.iter().map(|&d| d as i64).collect();
        let tensor = TensorRef::from_array_view((shape_i64, input)).map_err(run_err)?;
        let outs = guard
            .run(ort::inputs![self.input.as_str() => tensor])
            .map_err(run_err)?;
        self.outputs
            .iter()
            .map(|name| {
                let (shape, data) = outs[name.as_str()]
                    .try_extract_tensor::<f32>()
                    .map_err(run_err)?;
                Ok(Output {
                    shape: shape.iter().map(|&d| d as usize).collect(),
                    data: data.to_vec(),
                })
            })
            .collect()
    }
}
