//! Fuzz target `result`: the checks are `taawun_net::fuzzing::result` (see docs/reliability.md, "Fuzzing").
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| taawun_net::fuzzing::result(data));
