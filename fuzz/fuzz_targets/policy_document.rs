#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| iam_contract::fuzzing::policy_document(data));
