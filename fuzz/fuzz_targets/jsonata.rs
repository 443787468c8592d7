#![no_main]
//! Fuzz target `jsonata`: see `cairn::fuzz_entry::jsonata`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| cairn::fuzz_entry::jsonata(data));
