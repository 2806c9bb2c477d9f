//! Kexin's cryptographic suites: one hash, one signature scheme and one AEAD per chain.
//!
//! A chain picks its [`Suite`] at genesis and uses it for everything: `gm` is the Chinese
//! national suite (SM3, SM2 with the standard default user id, SM4-GCM) and `intl` the
//! international one (SHA-256, Ed25519, AES-256-GCM), whose user certificates may also hold
//! ECDSA P-256 keys ([`KeyScheme::EcdsaP256`]). Every signature is domain-separated by a
//! [`Domain`] (a namespace plus the chain id) so a signature made for one purpose or chain can
//! never be replayed for another.
//!
//! ```
//! use kexin_crypto::{Domain, SigningKey, Suite};
//! let suite = Suite::Intl;
//! let key = SigningKey::generate(suite);
//! let domain = Domain::new("kexin/example", "demo-chain");
//! let digest = suite.hash(b"hello");
//! let sig = key.sign(&domain, digest.as_bytes());
//! assert!(key.public_key().verify(&domain, digest.as_bytes(), &sig).is_ok());
//! ```

mod aead;
mod error;
mod hash;
mod keys;
mod suite;

pub use aead::SymmetricKey;
pub use error::CryptoError;
pub use hash::{Hash, HashParseError, Hasher};
pub use keys::{
    Domain, KeyScheme, PASSPHRASE_ENV, PASSPHRASE_FILE_ENV, PublicKey, SM2_DEFAULT_USER_ID,
    SM2_MAX_USER_ID_BYTES, Signature, SigningKey, passphrase_from_env, sm2_verify_with_user_id,
};
pub use suite::Suite;
