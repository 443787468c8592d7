//! `cairn bench`: throughput and latency figures (see `crate::bench`).

use crate::bench::BenchArgs;

pub fn run(args: BenchArgs) -> anyhow::Result<()> {
    let runtime = super::engine_runtime()?;
    runtime.block_on(crate::bench::run(args))
}
