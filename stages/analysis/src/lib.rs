//! Rank correlations and importers for published NAS benchmarks (NAS-RobBench-201, Jung et al., NAS-Bench-201).
