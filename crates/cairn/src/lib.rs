//! Cairn's server runtime, HTTP front end, CLI and benchmarks, as a library so that tests can
//! start a real server on `127.0.0.1:0` in-process.

pub mod api;
pub mod app;
pub mod bench;
pub mod cli;
pub mod clock;
pub mod config;
pub mod console;
pub mod fuzz_entry;
pub mod runtime;
pub mod server;
pub mod tls;
