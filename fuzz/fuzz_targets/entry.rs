//! Fuzz target `entry`: the checks are `taawun_core::fuzzing::entry` (see docs/reliability.md, "Fuzzing").
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| taawun_core::fuzzing::entry(data));
