//! The one error type of amva-math.

/// Everything that can go wrong in amva-math. Variants carry what was expected and
/// what was found so that callers can name the file or image in their own message.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum MathError {
    /// A buffer does not have the length its declared shape implies.
    #[error("{what}: expected {expected} values, got {got}")]
    LengthMismatch {
        /// Which input.
        what: &'static str,
        /// Length implied by the shape.
        expected: usize,
        /// Length received.
        got: usize,
    },

    /// A 2-D shape with a zero side.
    #[error("{what}: shape {h} x {w} has a zero side")]
    EmptyShape {
        /// Which input.
        what: &'static str,
        /// Height.
        h: usize,
        /// Width.
        w: usize,
    },

    /// Too few values for the statistic to be defined (e.g. a sample standard
    /// deviation needs two).
    #[error("{what}: needs at least {needed} values, got {got}")]
    TooFewValues {
        /// Which statistic.
        what: &'static str,
        /// Minimum number of values.
        needed: usize,
        /// Number received.
        got: usize,
    },

    /// A value that must be finite is NaN or infinite.
    #[error("{what}: value at index {index} is {value}, expected a finite number")]
    NonFinite {
        /// Which input.
        what: &'static str,
        /// Position of the first offending value.
        index: usize,
        /// The value itself.
        value: f64,
    },

    /// All values are equal, so the statistic (a correlation, a kernel density
    /// bandwidth) is undefined.
    #[error("{what}: all values are equal, so the result is undefined")]
    ConstantInput {
        /// Which statistic.
        what: &'static str,
    },

    /// A numeric parameter outside its allowed range.
    #[error("{what}: got {value}, expected {expected}")]
    InvalidParameter {
        /// Which parameter.
        what: &'static str,
        /// The value received.
        value: f64,
        /// The allowed range, in words.
        expected: &'static str,
    },

    /// A group rule string that does not parse.
    #[error("invalid group rule '{input}': {reason}; expected one of top:P%, bottom:P%, top:N, bottom:N, above:T, below:T, bins:B")]
    InvalidRule {
        /// The text as given.
        input: String,
        /// What is wrong with it.
        reason: String,
    },

    /// A quality direction string that is neither `higher` nor `lower`.
    #[error("invalid quality direction '{input}': expected 'higher' or 'lower'")]
    InvalidDirection {
        /// The text as given.
        input: String,
    },

    /// Two rows carry the same image id, so tie-breaking by id is ambiguous.
    #[error("image id '{id}' appears twice (rows {first} and {second})")]
    DuplicateId {
        /// The repeated id.
        id: String,
        /// First row with the id.
        first: usize,
        /// Second row with the id.
        second: usize,
    },

    /// A group rule selects no image (or a bin would be empty).
    #[error("group rule '{rule}' selects no image ({valid} images have a finite score)")]
    EmptyGroup {
        /// The rule, as written.
        rule: String,
        /// Number of images with a finite score.
        valid: usize,
    },

    /// A face-region mask with nothing inside or nothing outside.
    #[error("region mask has {inside} pixels inside and {outside} outside; both must be non-zero")]
    EmptyRegion {
        /// Pixels inside the region.
        inside: usize,
        /// Pixels outside the region.
        outside: usize,
    },

    /// No impostor (non-mated) comparison: a threshold at a target FMR is undefined.
    #[error("no impostor (non-mated) comparisons among {total}: the threshold for a target FMR is undefined")]
    NoImpostors {
        /// Number of comparisons given.
        total: usize,
    },

    /// No mated comparison: FNMR is undefined.
    #[error("no mated comparisons among {total}: FNMR is undefined")]
    NoMated {
        /// Number of comparisons given.
        total: usize,
    },
}
