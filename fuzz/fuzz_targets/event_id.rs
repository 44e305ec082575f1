//! Fuzz target `event_id`: see `check_event_id` in ../src/checks.rs for the property it checks.
#![no_main]

#[path = "../src/checks.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::check_event_id(data));
