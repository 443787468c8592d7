#![no_main]
//! Fuzz target `task_token`: see `cairn::fuzz_entry::task_token`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| cairn::fuzz_entry::task_token(data));
