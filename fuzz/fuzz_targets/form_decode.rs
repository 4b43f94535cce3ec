#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| iam_contract::fuzzing::form_decode(data));
