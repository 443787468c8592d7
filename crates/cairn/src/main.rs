//! The `cairn` binary: a thin entry point; everything lives in the library.

/// jemalloc (`tikv-jemallocator`) instead of the platform's malloc, for the binary only (the
/// library and its tests keep the platform's). Measured 2026-12-04 on the 2-core machine, the
/// same build with each allocator, `cairn bench`: Pass-chain 82–83k state transitions/s
/// against 66–69k with glibc; a Distributed Map of 100,000 EXPRESS children 132k items/s
/// against 53k; activity round trips equal or better; peak RSS 3–13% higher in the memory
/// scenarios (parked pollers, waiting executions), and alike for Distributed Maps. malloc was
/// 15–20% of the server's profile (docs/performance.md).
#[cfg(not(target_env = "msvc"))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> anyhow::Result<()> {
    cairn::cli::main()
}
