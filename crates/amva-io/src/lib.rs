//! Everything amva reads and writes: images and image lists, NumPy arrays, atomic
//! files, the lists of failed and damaged images, pairs and embeddings, score-free
//! model lookup and the cache's checksums. No network code: downloads live in
//! `amva-fetch`.

pub mod atomic;
pub mod cache;
mod error;
pub mod image_notes;
pub mod images;
pub mod memory;
pub mod models;
pub mod npy;
pub mod npy_writer;
pub mod outputs;
pub mod pairs;
pub mod staging;
pub mod table;

pub use error::{Error, Result};
