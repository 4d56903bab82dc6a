//! Subcommand implementations.

pub mod bench;
pub mod bench_corruptions;
pub mod bench_process;
pub mod bench_results;
pub mod bench_serve;
pub mod bench_sql;
pub mod import;
pub mod parallel;
pub mod reference;
pub mod report;
pub mod run;
pub mod search;
pub mod slurm;
pub mod space;
pub mod throughput;
