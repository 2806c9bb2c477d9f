use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::hash::{Hash, Hasher};

/// A chain's cryptographic suite, fixed at genesis.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Suite {
    /// Chinese national cryptography: SM2 signatures, SM3 hashing, SM4-GCM encryption.
    Gm,
    /// International: Ed25519 signatures, SHA-256 hashing, AES-256-GCM encryption.
    Intl,
}

impl Suite {
    /// The one-byte tag used in canonical encodings (`gm` = 1, `intl` = 2).
    pub const fn tag(self) -> u8 {
        match self {
            Suite::Gm => 1,
            Suite::Intl => 2,
        }
    }

    /// The suite for a canonical tag.
    pub const fn from_tag(tag: u8) -> Option<Suite> {
        match tag {
            1 => Some(Suite::Gm),
            2 => Some(Suite::Intl),
            _ => None,
        }
    }

    /// The suite's name as written in genesis files: `gm` or `intl`.
    pub const fn name(self) -> &'static str {
        match self {
            Suite::Gm => "gm",
            Suite::Intl => "intl",
        }
    }

    /// The name of the suite's hash function.
    pub const fn hash_name(self) -> &'static str {
        match self {
            Suite::Gm => "SM3",
            Suite::Intl => "SHA-256",
        }
    }

    /// The name of the suite's signature scheme.
    pub const fn signature_name(self) -> &'static str {
        match self {
            Suite::Gm => "SM2",
            Suite::Intl => "Ed25519",
        }
    }

    /// A fresh incremental hasher for this suite.
    pub fn hasher(self) -> Hasher {
        Hasher::new(self)
    }

    /// Hashes one byte string.
    pub fn hash(self, data: &[u8]) -> Hash {
        let mut h = self.hasher();
        h.update(data);
        h.finalize()
    }

    /// Hashes the concatenation of several byte strings.
    pub fn hash_parts(self, parts: &[&[u8]]) -> Hash {
        let mut h = self.hasher();
        for p in parts {
            h.update(p);
        }
        h.finalize()
    }
}

impl fmt::Display for Suite {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Suite {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "gm" => Ok(Suite::Gm),
            "intl" => Ok(Suite::Intl),
            other => Err(format!(
                "unknown suite {other:?}: expected \"gm\" or \"intl\""
            )),
        }
    }
}
