//! Pure computation for amva: no I/O, no model.
//!
//! The modules follow the pipeline described in `docs/ALGORITHMS.md`:
//!
//! - [`resample`]: the common ending of every activation map (ReLU, bilinear
//!   upsampling exactly like PyTorch's `align_corners=False`, min-max to [0, 1])
//!   and the Score-CAM mask helper (ALGORITHMS 1.5, 1.1).
//! - [`groups`]: quality directions and group rules such as `top:10%` (ALGORITHMS 2).
//! - [`stats`]: exact per-pixel set statistics: streaming mean/AM-V (Welford, Chan
//!   merge), median and MAD by selection, the paper's `std_mad` (ALGORITHMS 3).
//! - [`compare`]: deviation maps, mirror symmetry, spatial profiles, KDE, KS,
//!   Wasserstein (ALGORITHMS 4); correlations, Jaccard, permutation tests, bootstrap
//!   (ALGORITHMS 9).
//! - [`region`]: the ArcFace 5-point template, convex hull masks, inside/outside
//!   means (ALGORITHMS 4.2).
//! - [`similarity`]: SSIM and HOG features of two maps (ALGORITHMS 1.7).
//! - [`edc`]: FMR threshold, error-versus-discard curves and pAUC (ALGORITHMS 6).
//! - [`verify`]: verification metrics (best accuracy, FNMR at FMR) on the same threshold
//!   (ALGORITHMS 6.3).
//!
//! Every fallible function returns [`MathError`]; nothing here panics on input a
//! user controls.

pub mod compare;
pub mod edc;
mod error;
pub mod fairness;
pub mod groups;
pub mod region;
pub mod resample;
pub mod similarity;
pub mod stats;
pub mod verify;

pub use error::MathError;

/// Result type of this crate.
pub type Result<T, E = MathError> = std::result::Result<T, E>;

/// Checks that a buffer holds exactly `expected` values.
pub(crate) fn check_len(what: &'static str, expected: usize, got: usize) -> Result<()> {
    if expected == got {
        Ok(())
    } else {
        Err(MathError::LengthMismatch {
            what,
            expected,
            got,
        })
    }
}

/// Checks that every value is finite, naming the first offender.
pub(crate) fn check_finite(what: &'static str, values: &[f64]) -> Result<()> {
    match values.iter().position(|v| !v.is_finite()) {
        None => Ok(()),
        Some(index) => Err(MathError::NonFinite {
            what,
            index,
            value: values[index],
        }),
    }
}
