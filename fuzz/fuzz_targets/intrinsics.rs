#![no_main]
//! Fuzz target `intrinsics`: see `cairn::fuzz_entry::intrinsics`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| cairn::fuzz_entry::intrinsics(data));
