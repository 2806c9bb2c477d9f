//! Bodies of Kexin's fuzz targets: untrusted bytes into a decoder; whatever decodes must
//! re-encode to exactly the input (the canonical-form rule of `docs/formats.md`: every value has
//! exactly one encoding, so a decoder that accepts two byte strings for one value is a bug).
//!
//! The cargo-fuzz binaries in `fuzz_targets/` call these, and the stable-toolchain smoke test
//! `crates/kexin-types/tests/fuzz_smoke.rs` includes this file by path and runs the same bodies
//! over mutated conformance fixtures, so CI exercises them without nightly.

use kexin_types::{Decode, Encode, Receipt, decode_block, decode_transaction};

/// `decode_transaction`: decodes as a transaction; if it decodes, re-encodes identically.
pub fn fuzz_decode_transaction(data: &[u8]) {
    if let Ok(tx) = decode_transaction(data) {
        assert_eq!(
            tx.encode(),
            data,
            "transaction decoded from non-canonical bytes"
        );
        // The summary of anything that decodes is itself encodable and hashable.
        let _ = tx.hash();
    }
}

/// `decode_block`: decodes as a block; if it decodes, re-encodes identically.
pub fn fuzz_decode_block(data: &[u8]) {
    if let Ok(block) = decode_block(data) {
        assert_eq!(
            block.encode(),
            data,
            "block decoded from non-canonical bytes"
        );
        assert_eq!(block.transactions.len(), block.header.tx_count as usize);
    }
}

/// `decode_receipt`: decodes as a receipt; if it decodes, re-encodes identically (the JSON-only
/// hashes are recomputed by the decoder, so they cannot disagree).
pub fn fuzz_decode_receipt(data: &[u8]) {
    if let Ok(receipt) = Receipt::decode(data) {
        assert_eq!(
            receipt.encode(),
            data,
            "receipt decoded from non-canonical bytes"
        );
        assert_eq!(receipt.transaction.hash, receipt.transaction.summary.hash());
        assert_eq!(receipt.block_hash, receipt.header.hash(receipt.suite));
    }
}
