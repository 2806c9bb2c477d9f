//! Contract addresses of signers, and the EVM chain id of a Kexin chain.

use kexin_crypto::{PublicKey, Suite};
use revm::primitives::Address;

/// The domain separator of [`address_of`].
pub const ADDRESS_DOMAIN: &[u8] = b"kexin-evm-address-v1";

/// The address that a signer's transactions act as in contracts (`msg.sender`, `tx.origin`):
/// the last 20 bytes of `H(ADDRESS_DOMAIN || scheme tag || key bytes)`, where `H` is the
/// chain's hash (SM3 on `gm`, SHA-256 on `intl`), the scheme tag is the key's one-byte tag
/// (SM2 1, Ed25519 2, ECDSA P-256 3) and the key bytes are its canonical encoding (32 bytes
/// Ed25519, 33 compressed SM2, 65 uncompressed P-256).
///
/// It depends only on the chain's suite and the key, so every node derives the same address
/// whatever node received the transaction.
pub fn address_of(suite: Suite, key: &PublicKey) -> Address {
    let digest = suite.hash_parts(&[ADDRESS_DOMAIN, &[key.scheme().tag()], key.as_bytes()]);
    Address::from_slice(&digest.as_bytes()[12..])
}

/// The EVM chain id (`block.chainid`) of the Kexin chain `chain_id`: the first 8 bytes,
/// big-endian, of `H("kexin-evm-chain-id-v1" || chain_id)`, with the top 11 bits cleared so
/// that it stays below 2^53 (exact in JavaScript tools).
pub fn evm_chain_id(suite: Suite, chain_id: &str) -> u64 {
    let digest = suite.hash_parts(&[b"kexin-evm-chain-id-v1", chain_id.as_bytes()]);
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest.as_bytes()[..8]);
    u64::from_be_bytes(first) & ((1 << 53) - 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use kexin_crypto::SigningKey;

    #[test]
    fn an_address_is_the_tail_of_the_chain_hash_of_the_tagged_key() {
        for suite in [Suite::Intl, Suite::Gm] {
            let key = SigningKey::from_seed(suite, &[9; 32]).unwrap().public_key();
            let mut input = ADDRESS_DOMAIN.to_vec();
            input.push(key.scheme().tag());
            input.extend_from_slice(key.as_bytes());
            let expected = suite.hash(&input);
            assert_eq!(
                address_of(suite, &key).as_slice(),
                &expected.as_bytes()[12..]
            );
        }
    }

    #[test]
    fn addresses_differ_by_key_and_by_chain_hash() {
        let a = SigningKey::from_seed(Suite::Intl, &[1; 32])
            .unwrap()
            .public_key();
        let b = SigningKey::from_seed(Suite::Intl, &[2; 32])
            .unwrap()
            .public_key();
        assert_ne!(address_of(Suite::Intl, &a), address_of(Suite::Intl, &b));
        // The same key bytes hashed with SM3 give another address.
        assert_ne!(address_of(Suite::Intl, &a), address_of(Suite::Gm, &a));
    }

    /// The vectors of docs/formats.md §5.10: they must never change.
    #[test]
    fn frozen_vectors() {
        let cases = [
            (
                Suite::Intl,
                "fd1724385aa0c75b64fb78cd602fa1d991fdebf76b13c58ed702eac835e9f618",
                "0xE2c83F5D32aDe0D07d8dd9dB37a757AF4C572e7B",
                2239327228609036,
            ),
            (
                Suite::Gm,
                "02f74a2b9cc64f03c807097cb6d15a5533833698de169a2b6a7dbea119b3523017",
                "0x1c68D09cA58635e2005F016014B561B45cF221b9",
                6968594327665615,
            ),
        ];
        for (suite, key_hex, address, chain_id) in cases {
            let key = SigningKey::from_seed(suite, &[9; 32]).unwrap().public_key();
            assert_eq!(hex::encode(key.as_bytes()), key_hex);
            assert_eq!(address_of(suite, &key).to_checksum(None), address);
            assert_eq!(evm_chain_id(suite, "kexin-demo"), chain_id);
        }
    }

    #[test]
    fn the_evm_chain_id_is_stable_and_below_2_pow_53() {
        let id = evm_chain_id(Suite::Intl, "kexin-demo");
        assert_eq!(id, evm_chain_id(Suite::Intl, "kexin-demo"));
        assert_ne!(id, evm_chain_id(Suite::Intl, "kexin-demo2"));
        assert!(id < 1 << 53);
    }
}
