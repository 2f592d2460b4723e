//! The face recognition model: preprocessing as data, ONNX graph surgery, and one
//! inference trait with two engines (tract, pure Rust; ONNX Runtime, optional).
//!
//! Nothing above this crate knows which engine runs.

mod backend;
pub mod calibrate;
pub mod embed;
pub mod embeddings;
pub mod engine;
mod error;
pub mod fr;
pub mod graph;
pub mod inspect;
#[cfg(feature = "ort")]
pub mod ort_engine;
pub mod preprocess;
pub mod randomise;
mod runtime;
pub mod status;
mod tract_engine;

pub use calibrate::{EngineChoice, EngineConfig};
pub use engine::{EngineKind, Net, Output};
pub use error::{Error, Result};
pub use fr::FrModel;
pub use preprocess::{ChannelOrder, Layout, ModelSpec, Preprocess};
pub use status::EngineStatus;

/// Where `amva engine install` puts ONNX Runtime: `<cache>/onnxruntime/`.
pub fn ort_engine_dir() -> Result<std::path::PathBuf> {
    Ok(amva_io::cache::cache_dir()?.join("onnxruntime"))
}
