#![no_main]
//! Fuzz target: see `lancelet_fuzzing::decode_metadata`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    lancelet_fuzzing::decode_metadata(data);
});
