//! Errors for bad attack inputs and parameters.

use tch::{Kind, Tensor};

/// Why an attack refused to run.
#[derive(Debug, thiserror::Error)]
pub enum AttackError {
    #[error("images must be a 4-D float32 tensor (N, C, H, W), got shape {shape:?} of kind {kind:?}")]
    Images { shape: Vec<i64>, kind: Kind },
    #[error(
        "labels must be a 1-D int64 tensor with one label per image ({images} images), got shape {shape:?} of kind {kind:?}"
    )]
    Labels { images: i64, shape: Vec<i64>, kind: Kind },
    #[error("label {label} is outside the classifier's {classes} classes")]
    LabelOutOfRange { label: i64, classes: i64 },
    #[error("{attack} needs a classifier with at least {needed} classes, this one has {classes}")]
    TooFewClasses { attack: &'static str, needed: i64, classes: i64 },
    #[error("parameter `{name}` = {value} is invalid: must be {requirement}")]
    Parameter { name: &'static str, value: String, requirement: &'static str },
}

/// Checks the shapes and kinds of an image batch and its labels.
pub(crate) fn check_batch(x: &Tensor, y: &Tensor) -> Result<(), AttackError> {
    if x.dim() != 4 || x.kind() != Kind::Float {
        return Err(AttackError::Images { shape: x.size(), kind: x.kind() });
    }
    if y.dim() != 1 || y.kind() != Kind::Int64 || y.size()[0] != x.size()[0] {
        return Err(AttackError::Labels { images: x.size()[0], shape: y.size(), kind: y.kind() });
    }
    Ok(())
}

/// Checks that every label is a valid class of a classifier with `classes` outputs.
pub(crate) fn check_labels(y: &Tensor, classes: i64) -> Result<(), AttackError> {
    if y.numel() == 0 {
        return Ok(());
    }
    let (lo, hi) = (y.min().int64_value(&[]), y.max().int64_value(&[]));
    for label in [lo, hi] {
        if !(0..classes).contains(&label) {
            return Err(AttackError::LabelOutOfRange { label, classes });
        }
    }
    Ok(())
}

/// Checks that ε is a finite non-negative radius.
pub(crate) fn check_eps(eps: f64) -> Result<(), AttackError> {
    positive_or_zero("eps", eps)
}

pub(crate) fn positive_or_zero(name: &'static str, value: f64) -> Result<(), AttackError> {
    if value.is_finite() && value >= 0.0 {
        Ok(())
    } else {
        Err(AttackError::Parameter { name, value: value.to_string(), requirement: "finite and >= 0" })
    }
}

pub(crate) fn at_least_one(name: &'static str, value: usize) -> Result<(), AttackError> {
    if value >= 1 {
        Ok(())
    } else {
        Err(AttackError::Parameter { name, value: value.to_string(), requirement: ">= 1" })
    }
}
