//! Fuzz target `sync`: the checks are `taawun_net::fuzzing::sync` (see docs/reliability.md, "Fuzzing").
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| taawun_net::fuzzing::sync(data));
