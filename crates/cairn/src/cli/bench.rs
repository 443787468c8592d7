//! `cairn bench`: throughput and latency figures (see `crate::bench`).

use crate::bench::BenchArgs;
use anyhow::Context;

pub fn run(args: BenchArgs) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(crate::bench::run(args))
}
