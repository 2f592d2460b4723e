//! One module per command: typed options (`Args`) and `run`.

pub mod align;
pub mod analyze;
pub mod audit;
pub mod bench;
pub mod bench_analyze;
pub mod bench_compare;
pub mod bench_maps;
pub mod bench_quality;
pub mod bench_scale;
pub mod bench_util;
pub mod compare;
pub mod demo;
pub mod edc;
pub mod embed;
pub mod engine;
pub mod explain;
pub mod faithfulness;
pub mod maps;
pub mod merge;
pub mod model;
pub mod quality;
pub mod verify;
