//! Fuzz target `decode_receipt`: arbitrary bytes into the decoder; what decodes must re-encode to the input.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| kexin_fuzz::fuzz_decode_receipt(data));
