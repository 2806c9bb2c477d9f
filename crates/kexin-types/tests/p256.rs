//! Transactions signed with ECDSA P-256 keys (user certificates on `intl` chains): the key is
//! encoded with scheme tag 3, the transaction roundtrips and verifies, and any change to the
//! signature (including its high-`s` twin) fails. P-256 keys are never validator keys.

mod common;

use common::*;
use kexin_crypto::KeyScheme;
use kexin_types::*;

fn p256_key(n: u8) -> kexin_crypto::SigningKey {
    kexin_crypto::SigningKey::from_scheme_seed(KeyScheme::EcdsaP256, &[n; 32]).unwrap()
}

fn p256_tx() -> Transaction {
    Transaction::sign(
        CHAIN_ID,
        &p256_key(1),
        42,
        evidence(sample_records(Suite::Intl)),
    )
}

#[test]
fn p256_transaction_encodes_with_tag_3_and_verifies() {
    let tx = p256_tx();
    let bytes = tx.encode();
    // version, str8 chain id, then the signer: tag 3 and the 65-byte uncompressed point.
    let at = 2 + CHAIN_ID.len();
    assert_eq!(bytes[at], 3);
    assert_eq!(bytes[at + 1], 0x04);
    assert_eq!(&bytes[at + 1..at + 66], tx.signer.as_bytes());
    // The same transaction with an Ed25519 key is 33 bytes shorter.
    let ed = Transaction::sign(
        CHAIN_ID,
        &key(Suite::Intl, 1),
        42,
        evidence(sample_records(Suite::Intl)),
    );
    assert_eq!(bytes.len(), ed.encode().len() + 33);

    let back = decode_transaction(&bytes).unwrap();
    assert_eq!(back, tx);
    assert_eq!(back.encode(), bytes);
    assert_eq!(back.signer.scheme(), KeyScheme::EcdsaP256);
    let sealed = SealedTx::new(back);
    sealed.verify(CHAIN_ID, Suite::Intl).unwrap();
    // The hash is SHA-256, the intl hash, and the signature is deterministic.
    assert_eq!(sealed.hash(), p256_tx().summary().hash());
    assert_eq!(sealed.tx().signature, p256_tx().signature);

    // A P-256 key belongs to intl: refused on a gm chain by suite, on another chain by id.
    assert!(matches!(
        sealed.verify(CHAIN_ID, Suite::Gm),
        Err(TxError::WrongSuite {
            expected: Suite::Gm,
            actual: Suite::Intl
        })
    ));
    assert!(matches!(
        sealed.verify("another-chain", Suite::Intl),
        Err(TxError::WrongChain { .. })
    ));
}

#[test]
fn every_signature_byte_matters() {
    let tx = p256_tx();
    for i in 0..64 {
        for bit in [0x01u8, 0x80] {
            let mut t = tx.clone();
            t.signature.0[i] ^= bit;
            // Through the wire format too: the encoding carries the signature as given.
            let t = decode_transaction(&t.encode()).unwrap();
            assert!(
                matches!(
                    SealedTx::new(t).verify(CHAIN_ID, Suite::Intl),
                    Err(TxError::BadSignature)
                ),
                "byte {i} bit {bit:#04x}"
            );
        }
    }
    // Another key, or another nonce under the same signature.
    let mut t = tx.clone();
    t.signer = p256_key(2).public_key();
    assert!(SealedTx::new(t).verify(CHAIN_ID, Suite::Intl).is_err());
    let mut t = tx.clone();
    t.nonce += 1;
    assert!(SealedTx::new(t).verify(CHAIN_ID, Suite::Intl).is_err());
}

/// `(r, n - s)` verifies as plain ECDSA; Kexin refuses it, so the log leaf (which hashes the
/// signature bytes) has one value per transaction.
#[test]
fn the_high_s_twin_is_refused() {
    let tx = p256_tx();
    let sig = p256::ecdsa::Signature::from_slice(&tx.signature.0).unwrap();
    let (r, s) = sig.split_scalars();
    let twin = p256::ecdsa::Signature::from_scalars(r.to_bytes(), (-*s).to_bytes()).unwrap();
    assert_ne!(twin, sig);
    let mut t = tx.clone();
    t.signature = Signature(twin.to_bytes().into());
    assert!(matches!(
        SealedTx::new(t).verify(CHAIN_ID, Suite::Intl),
        Err(TxError::BadSignature)
    ));
}

#[test]
fn p256_keys_cannot_be_validators() {
    let (genesis, _) = common::genesis(Suite::Intl, 4);
    let mut g = genesis.clone();
    g.validators[1].public_key = p256_key(9).public_key();
    let err = Genesis::decode(&g.encode()).unwrap_err();
    assert!(err.to_string().contains("validators use Ed25519"), "{err}");
    assert!(g.validate().is_err());
    // Unchanged: the genesis with Ed25519 validators still decodes.
    assert_eq!(Genesis::decode(&genesis.encode()).unwrap(), genesis);
}
