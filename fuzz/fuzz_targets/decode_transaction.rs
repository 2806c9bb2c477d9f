//! Fuzz target `decode_transaction`: arbitrary bytes into the decoder; what decodes must re-encode to the input.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| kexin_fuzz::fuzz_decode_transaction(data));
