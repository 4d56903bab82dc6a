//! How libtorch's CPU tensors get their memory from glibc's malloc.
//!
//! libtorch allocates host tensors with `posix_memalign`, and glibc serves
//! blocks above its adaptive threshold with fresh `mmap`s that `free` hands
//! straight back to the kernel (and trims the heap's top above 128 KiB): a
//! chunked NTK pass or a training step then page-faults its activations in
//! anew, chunk after chunk. Measured on one NTK unit's kernel work (arch
//! 2581, C=16, N=5, 64 samples): 0.9 M page faults and 2.4 s of system time
//! with the defaults, 0.3 M and 1.0 s with the settings below, which keep
//! freed blocks under 32 MiB in the heap for the next chunk. A process's
//! resident memory then stays near its peak instead of falling back.

/// The same settings as a `GLIBC_TUNABLES` value, for a process this one
/// starts (the benchmarks' PyTorch references get the allocator robbench
/// runs with).
pub const GLIBC_TUNABLES: &str = "glibc.malloc.mmap_threshold=33554432:glibc.malloc.trim_threshold=2147483647";

/// Applies the settings to this process. Call before the first tensor.
pub fn keep_freed_tensor_memory() {
    // SAFETY: mallopt only changes malloc's parameters; both values are in
    // the ranges glibc accepts (the threshold at most HEAP_MAX_SIZE / 2).
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20);
        libc::mallopt(libc::M_TRIM_THRESHOLD, i32::MAX);
    }
}
