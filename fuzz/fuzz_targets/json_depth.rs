#![no_main]
//! Fuzz target `json_depth`: see `cairn::fuzz_entry::json_depth`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| cairn::fuzz_entry::json_depth(data));
