//! What a network is: the cell, the skeleton size, the classes and the input
//! normalisation.

use robbench_space::Arch;

use crate::NnError;

/// The shape of a NAS-Bench-201 TinyNetwork and its input normalisation.
#[derive(Clone, Debug, PartialEq)]
pub struct NetworkSpec {
    /// The cell, repeated in every stage.
    pub arch: Arch,
    /// C: channels of the first stage (the others have 2C and 4C).
    pub channels: i64,
    /// N: cells per stage.
    pub cells_per_stage: i64,
    /// Outputs of the linear classifier.
    pub classes: i64,
    /// Per-channel mean of input pixels in [0, 1] (3 values, RGB).
    pub mean: Vec<f64>,
    /// Per-channel standard deviation of input pixels (3 positive values).
    pub std: Vec<f64>,
}

impl NetworkSpec {
    /// Checks the sizes and the normalisation; the error names the culprit.
    pub fn validate(&self) -> Result<(), NnError> {
        for (name, value) in [("C", self.channels), ("N", self.cells_per_stage), ("classes", self.classes)] {
            if value < 1 {
                return Err(NnError::Spec(format!("{name} must be positive, got {value}")));
            }
        }
        // The stem convolution takes RGB input.
        for (name, values) in [("mean", &self.mean), ("std", &self.std)] {
            if values.len() != 3 || values.iter().any(|v| !v.is_finite()) {
                return Err(NnError::Spec(format!("{name} needs 3 finite values (RGB), got {values:?}")));
            }
        }
        if self.std.iter().any(|&s| s <= 0.0) {
            return Err(NnError::Spec(format!("std must be positive, got {:?}", self.std)));
        }
        Ok(())
    }
}
