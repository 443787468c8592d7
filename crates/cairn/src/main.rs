//! The `cairn` binary: a thin entry point; everything lives in the library.

fn main() -> anyhow::Result<()> {
    cairn::cli::main()
}
