//! Everything amva reads and writes: images and image lists, NumPy arrays, atomic
//! files, and checksummed downloads from public package registries into the cache.

pub mod atomic;
mod error;
pub mod fetch;
pub mod images;
pub mod models;
pub mod npy;
pub mod npy_writer;
pub mod outputs;
pub mod pairs;

pub use error::{Error, Result};
