#![no_main]
//! Fuzz target: see `lancelet_fuzzing::read_file`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    lancelet_fuzzing::read_file(data);
});
