#![no_main]
//! Fuzz target `functions_file`: see `cairn::fuzz_entry::functions_file`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| cairn::fuzz_entry::functions_file(data));
