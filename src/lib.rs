//! robbench's command line, as a library shared by its two binaries:
//!
//! - `robbench` answers the commands that touch no tensor (`sql`, `tables`,
//!   `schema`, `runs`, `export`, `verify`, `gc`) without loading libtorch,
//!   and hands every other command to `robbench-torch` beside it;
//! - `robbench-torch` runs everything, with libtorch.
//!
//! This library holds the tensor-free commands and the arguments both
//! binaries parse; it must never depend on `tch` (a test checks the light
//! binary does not load libtorch).

pub mod light;
pub mod serve;
