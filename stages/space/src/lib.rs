//! The NAS-Bench-201 cell search space: strings, official index order, isomorphism classes, parameter and FLOP counts.
