use thiserror::Error;

/// Errors from key handling, signature checks and encryption.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CryptoError {
    /// A signature did not verify under the given key and domain.
    #[error("signature verification failed")]
    BadSignature,
    /// A public key's bytes do not encode a valid point for its scheme.
    #[error("invalid {scheme} public key: {reason}")]
    BadPublicKey {
        /// The scheme the key claimed.
        scheme: &'static str,
        /// Why it was refused.
        reason: String,
    },
    /// A key belongs to a different suite than the one in use.
    #[error("wrong suite: expected {expected}, got {actual}")]
    WrongSuite {
        /// The suite the chain uses.
        expected: Suite,
        /// The suite of the key or signature.
        actual: Suite,
    },
    /// A private key file could not be read.
    #[error("invalid private key: {0}")]
    BadPrivateKey(String),
    /// The private key is encrypted and no passphrase was given.
    #[error(
        "the private key is encrypted: give its passphrase (KEXIN_KEY_PASSPHRASE_FILE or \
         KEXIN_KEY_PASSPHRASE)"
    )]
    KeyEncrypted,
    /// An encrypted private key did not decrypt with the passphrase given.
    #[error("cannot decrypt the private key: wrong passphrase, or the key file is damaged")]
    WrongPassphrase,
    /// Authenticated decryption failed (wrong key, nonce, associated data or tampered bytes).
    #[error("decryption failed: ciphertext or associated data was altered, or the key is wrong")]
    DecryptionFailed,
    /// A symmetric key had the wrong length for the suite.
    #[error("symmetric key for {suite} must be {expected} bytes, got {actual}")]
    BadSymmetricKey {
        /// The suite.
        suite: Suite,
        /// Required length.
        expected: usize,
        /// Given length.
        actual: usize,
    },
}

use crate::Suite;
