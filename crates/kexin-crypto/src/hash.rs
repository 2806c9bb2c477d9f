use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::Digest as _;

use crate::Suite;

/// A 32-byte digest (SM3 or SHA-256, by suite). Shown and parsed as lowercase hex.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Hash(pub [u8; 32]);

impl Hash {
    /// The length of every Kexin hash in bytes.
    pub const LEN: usize = 32;

    /// The all-zero hash: the hash of an empty sparse Merkle (state) subtree. (The parent of
    /// block 1 is the genesis hash, and the empty log's root is `H("")`, not this.)
    pub const ZERO: Hash = Hash([0; 32]);

    /// Whether this is [`Hash::ZERO`].
    pub fn is_zero(&self) -> bool {
        self.0 == [0; 32]
    }

    /// The raw bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Lowercase hex.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// Parses exactly 64 hex characters.
    pub fn from_hex(s: &str) -> Result<Hash, HashParseError> {
        if s.len() != 64 {
            return Err(HashParseError(format!(
                "expected 64 hex characters, got {}",
                s.len()
            )));
        }
        let mut out = [0u8; 32];
        hex::decode_to_slice(s, &mut out).map_err(|e| HashParseError(format!("bad hex: {e}")))?;
        Ok(Hash(out))
    }
}

/// A string that is not a 32-byte hex hash.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid hash: {0}")]
pub struct HashParseError(pub String);

impl fmt::Debug for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Hash({})", self.to_hex())
    }
}

impl fmt::Display for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl FromStr for Hash {
    type Err = HashParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Hash::from_hex(s)
    }
}

impl AsRef<[u8]> for Hash {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl Serialize for Hash {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_hex())
    }
}

impl<'de> Deserialize<'de> for Hash {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Hash::from_hex(&s).map_err(serde::de::Error::custom)
    }
}

/// An incremental hasher for a suite's hash function.
#[derive(Clone)]
pub enum Hasher {
    /// SM3 (GB/T 32905).
    Sm3(sm3::Sm3),
    /// SHA-256 (FIPS 180-4).
    Sha256(sha2::Sha256),
}

impl Hasher {
    /// A fresh hasher for `suite`.
    pub fn new(suite: Suite) -> Hasher {
        match suite {
            Suite::Gm => Hasher::Sm3(sm3::Sm3::new()),
            Suite::Intl => Hasher::Sha256(sha2::Sha256::new()),
        }
    }

    /// Feeds bytes.
    pub fn update(&mut self, data: &[u8]) {
        match self {
            Hasher::Sm3(h) => sm3::Digest::update(h, data),
            Hasher::Sha256(h) => h.update(data),
        }
    }

    /// Finishes and returns the digest.
    pub fn finalize(self) -> Hash {
        let mut out = [0u8; 32];
        match self {
            Hasher::Sm3(h) => out.copy_from_slice(&sm3::Digest::finalize(h)),
            Hasher::Sha256(h) => out.copy_from_slice(&h.finalize()),
        }
        Hash(out)
    }
}
