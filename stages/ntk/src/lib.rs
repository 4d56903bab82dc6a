//! Empirical neural tangent kernels of tch networks and the NTK generalization-bound terms.
