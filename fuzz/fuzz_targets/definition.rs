#![no_main]
//! Fuzz target `definition`: see `cairn::fuzz_entry::definition`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| cairn::fuzz_entry::definition(data));
