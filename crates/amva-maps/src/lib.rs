//! Activation maps of a face recognition model (ALGORITHMS 1): Score-CAM for
//! embeddings, Ablation-CAM, Eigen-CAM and the mean activation; their deletion and
//! insertion faithfulness; and the map store (resumable, shardable, mergeable) that
//! everything downstream reads.
//!
//! - [`CamRunner`]: maps of a batch of preprocessed images with one model and method.
//! - [`format`]: the store's files, meta.json and index.csv, read and written in one
//!   place; [`import`]: stores written from maps made elsewhere.
//! - [`source::MapSource`]: the one reader of a store's files, streaming finished maps
//!   in bounded memory (what `amva analyze` reads).
//! - [`MapStore`]: a finished store in memory; [`MapStore::full`] rebuilds a full map exactly as
//!   ALGORITHMS 1.5 says. [`StoreWriter`] writes one part at a time and resumes;
//!   [`merge`] joins shards.
//! - [`Faithfulness`]: deletion/insertion curves and scores; [`study`]: a study of
//!   several methods against a random map (`amva faithfulness`).

pub mod audit;
pub mod cam;
pub mod cost;
mod eigen;
mod error;
pub mod faithfulness;
pub mod format;
pub mod import;
mod linear_head;
pub mod pair;
pub mod pair_bench;
pub mod pair_run;
pub mod pair_store;
pub mod params;
pub mod source;
pub mod store;
pub mod study;

pub use cam::{forward_each, CamRunner, LowMap, Pass, ReadOptions};
pub use error::{Error, Result};
pub use faithfulness::{Curves, Faithfulness};
pub use format::{RunSettings, StoreBrief, StoreMeta};
pub use params::{Channels, MapParams, Method, Score};
pub use source::{MapKind, MapSource};
pub use store::{full_map, merge, MapStore, Part, StoreWriter};
