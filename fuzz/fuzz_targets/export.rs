//! Fuzz target `export`: the checks are `taawun_ledger::fuzzing::export` (see docs/reliability.md, "Fuzzing").
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| taawun_ledger::fuzzing::export(data));
