//! Authenticated encryption: SM4-GCM on `gm` chains, AES-256-GCM on `intl` chains.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use zeroize::Zeroizing;

use crate::{CryptoError, Suite};

/// A symmetric key for the suite's AEAD (16 bytes for SM4, 32 bytes for AES-256).
pub struct SymmetricKey {
    suite: Suite,
    bytes: Zeroizing<Vec<u8>>,
}

type Sm4Gcm = aes_gcm::AesGcm<sm4::Sm4, aes_gcm::aead::consts::U12>;

impl SymmetricKey {
    /// Key length for a suite.
    pub const fn len_for(suite: Suite) -> usize {
        match suite {
            Suite::Gm => 16,
            Suite::Intl => 32,
        }
    }

    /// Wraps key bytes, checking the length.
    pub fn new(suite: Suite, bytes: &[u8]) -> Result<SymmetricKey, CryptoError> {
        if bytes.len() != Self::len_for(suite) {
            return Err(CryptoError::BadSymmetricKey {
                suite,
                expected: Self::len_for(suite),
                actual: bytes.len(),
            });
        }
        Ok(SymmetricKey {
            suite,
            bytes: Zeroizing::new(bytes.to_vec()),
        })
    }

    /// A fresh random key.
    pub fn generate(suite: Suite) -> SymmetricKey {
        let mut b = Zeroizing::new(vec![0u8; Self::len_for(suite)]);
        getrandom::fill(&mut b).expect("operating system RNG unavailable");
        SymmetricKey { suite, bytes: b }
    }

    /// Encrypts `plaintext` with a 12-byte nonce (never reuse one under a key); returns
    /// ciphertext followed by the 16-byte tag.
    pub fn seal(&self, nonce: &[u8; 12], aad: &[u8], plaintext: &[u8]) -> Vec<u8> {
        let payload = Payload {
            msg: plaintext,
            aad,
        };
        let nonce = (*nonce).into();
        match self.suite {
            Suite::Gm => Sm4Gcm::new_from_slice(&self.bytes)
                .expect("length checked")
                .encrypt(&nonce, payload),
            Suite::Intl => aes_gcm::Aes256Gcm::new_from_slice(&self.bytes)
                .expect("length checked")
                .encrypt(&nonce, payload),
        }
        .expect("GCM encryption of in-memory data cannot fail")
    }

    /// Decrypts and authenticates what [`SymmetricKey::seal`] produced.
    pub fn open(
        &self,
        nonce: &[u8; 12],
        aad: &[u8],
        ciphertext: &[u8],
    ) -> Result<Vec<u8>, CryptoError> {
        let payload = Payload {
            msg: ciphertext,
            aad,
        };
        let nonce = (*nonce).into();
        match self.suite {
            Suite::Gm => Sm4Gcm::new_from_slice(&self.bytes)
                .expect("length checked")
                .decrypt(&nonce, payload),
            Suite::Intl => aes_gcm::Aes256Gcm::new_from_slice(&self.bytes)
                .expect("length checked")
                .decrypt(&nonce, payload),
        }
        .map_err(|_| CryptoError::DecryptionFailed)
    }
}
