#![no_main]
//! Fuzz target `mock_file`: see `cairn::fuzz_entry::mock_file`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| cairn::fuzz_entry::mock_file(data));
