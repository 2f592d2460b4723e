//! What every engine is and takes: the engine kinds, the one trait a backend implements
//! (a batch in, named outputs out), and the configuration a backend runs with (batch,
//! ONNX Runtime's session settings). No engine code here: the backends (`tract_engine`,
//! `ort_engine`) build on this, `runtime` picks one for a configuration.

use crate::Result;
use serde::{Deserialize, Serialize};

/// Which engine runs the model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EngineKind {
    /// The fastest usable engine on this machine, by a cached measurement (see
    /// [`crate::calibrate`]).
    #[default]
    Auto,
    /// tract: pure Rust, always available.
    Tract,
    /// ONNX Runtime (`amva engine install`).
    Ort,
}

impl std::str::FromStr for EngineKind {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "auto" => Ok(EngineKind::Auto),
            "tract" => Ok(EngineKind::Tract),
            "ort" | "onnxruntime" => Ok(EngineKind::Ort),
            other => Err(format!(
                "unknown engine '{other}': expected auto, tract or ort"
            )),
        }
    }
}

impl std::fmt::Display for EngineKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            EngineKind::Auto => "auto",
            EngineKind::Tract => "tract",
            EngineKind::Ort => "ort",
        })
    }
}

/// One output tensor of a run.
#[derive(Debug, Clone, PartialEq)]
pub struct Output {
    pub shape: Vec<usize>,
    pub data: Vec<f32>,
}

impl Output {
    /// Values of one batch item.
    pub fn item(&self, i: usize) -> &[f32] {
        let per = self.data.len() / self.shape[0].max(1);
        &self.data[i * per..(i + 1) * per]
    }
}

/// What an engine implements.
pub(crate) trait Backend: Send + Sync {
    /// Runs a batch `input` of shape `shape`; returns the outputs in the order the net was built with.
    fn run(&self, input: &[f32], shape: &[usize]) -> Result<Vec<Output>>;
}

/// ONNX Runtime's graph optimisation level: `basic` (ORT_ENABLE_BASIC) or `all`
/// (ORT_ENABLE_ALL, which adds the NCHWc layout transform: 3x faster on one CPU, 3x
/// slower on another).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OrtOptimization {
    Basic,
    All,
}

/// How ONNX Runtime sessions are set up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrtSettings {
    pub optimization: OrtOptimization,
    /// Sessions (callers run batches on them in parallel).
    pub sessions: usize,
    /// Intra-op threads of each session.
    pub threads: usize,
}

impl OrtSettings {
    /// One one-thread session per core, all optimisations: amva's choice before calibration.
    pub fn per_core() -> Self {
        OrtSettings {
            optimization: OrtOptimization::All,
            sessions: cores(),
            threads: 1,
        }
    }
}

/// One way to run a model: the engine, the batch callers should use, and ORT's settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct EngineConfig {
    pub engine: EngineKind,
    pub batch: usize,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ort: Option<OrtSettings>,
}

impl EngineConfig {
    /// tract at batch 1 (fixed-size plans, one per core).
    pub fn tract(batch: usize) -> Self {
        EngineConfig {
            engine: EngineKind::Tract,
            batch,
            ort: None,
        }
    }

    /// ONNX Runtime with `settings`.
    pub fn ort(settings: OrtSettings, batch: usize) -> Self {
        EngineConfig {
            engine: EngineKind::Ort,
            batch,
            ort: Some(settings),
        }
    }
}

impl std::fmt::Display for EngineConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.ort {
            Some(o) => write!(
                f,
                "ort ({:?} optimisation, {} session(s) x {} thread(s)), batch {}",
                o.optimization, o.sessions, o.threads, self.batch
            ),
            None => write!(f, "{}, batch {}", self.engine, self.batch),
        }
    }
}

pub(crate) fn cores() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
}
