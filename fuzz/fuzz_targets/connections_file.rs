#![no_main]
//! Fuzz target `connections_file`: see `cairn::fuzz_entry::connections_file`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| cairn::fuzz_entry::connections_file(data));
