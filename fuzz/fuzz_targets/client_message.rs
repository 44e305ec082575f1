//! Fuzz target `client_message`: see `check_client_message` in ../src/checks.rs for the property it checks.
#![no_main]

#[path = "../src/checks.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::check_client_message(data));
