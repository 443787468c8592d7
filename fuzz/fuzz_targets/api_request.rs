#![no_main]
//! Fuzz target `api_request`: see `cairn::fuzz_entry::api_request`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| cairn::fuzz_entry::api_request(data));
