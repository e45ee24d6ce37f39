//! Fuzz target `api`: the checks are `taawun_api::fuzzing::api` (see docs/reliability.md, "Fuzzing").
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| taawun_api::fuzzing::api(data));
