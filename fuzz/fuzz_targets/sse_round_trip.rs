//! Fuzz target `sse_round_trip`: see `check_sse_round_trip` in ../src/checks.rs for the property it checks.
#![no_main]

#[path = "../src/checks.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::check_sse_round_trip(data));
