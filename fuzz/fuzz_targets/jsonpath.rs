#![no_main]
//! Fuzz target `jsonpath`: see `cairn::fuzz_entry::jsonpath`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| cairn::fuzz_entry::jsonpath(data));
