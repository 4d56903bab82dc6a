//! The robbench pipeline stages: dataset prep, adversarial training, attack evaluation, NTK, bounds, analysis.
