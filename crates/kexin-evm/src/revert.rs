//! Why a call reverted: the revert data decoded.

use std::fmt;

use alloy_sol_types::{Panic, Revert, SolError};
use revm::primitives::{Bytes, U256};

/// The data a reverting call returned, decoded as far as the standard errors allow.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RevertReason {
    /// No data (`revert()`, `require(cond)` without a message).
    Empty,
    /// `Error(string)`: `revert("...")`, `require(cond, "...")`.
    Error(String),
    /// `Panic(uint256)`: a failed `assert`, an arithmetic overflow, a division by zero, ...
    Panic {
        /// The panic code (0x01 assert, 0x11 overflow, 0x12 division by zero, ...).
        code: U256,
        /// What the code means, when it is one Solidity defines.
        meaning: Option<&'static str>,
    },
    /// A custom error (`error E(...)`): its 4-byte selector and the whole revert data. The ABI
    /// of the contract decodes it.
    Custom {
        /// The error's selector.
        selector: [u8; 4],
        /// The revert data (selector and arguments).
        data: Bytes,
    },
    /// Fewer than 4 bytes, or a standard selector whose arguments do not decode.
    Malformed(Bytes),
}

impl RevertReason {
    /// Decodes revert data.
    pub fn decode(data: &[u8]) -> RevertReason {
        if data.is_empty() {
            return RevertReason::Empty;
        }
        let Some(selector) = data.get(..4) else {
            return RevertReason::Malformed(Bytes::copy_from_slice(data));
        };
        let selector: [u8; 4] = selector.try_into().expect("4 bytes");
        if selector == Revert::SELECTOR {
            return match Revert::abi_decode(data) {
                Ok(r) => RevertReason::Error(r.reason),
                Err(_) => RevertReason::Malformed(Bytes::copy_from_slice(data)),
            };
        }
        if selector == Panic::SELECTOR {
            return match Panic::abi_decode(data) {
                Ok(p) => RevertReason::Panic {
                    code: p.code,
                    meaning: p.kind().map(|k| k.as_str()),
                },
                Err(_) => RevertReason::Malformed(Bytes::copy_from_slice(data)),
            };
        }
        RevertReason::Custom {
            selector,
            data: Bytes::copy_from_slice(data),
        }
    }
}

impl fmt::Display for RevertReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RevertReason::Empty => f.write_str("reverted without a reason"),
            RevertReason::Error(reason) => write!(f, "reverted: {reason}"),
            RevertReason::Panic { code, meaning } => match meaning {
                Some(m) => write!(f, "panic 0x{code:x}: {m}"),
                None => write!(f, "panic 0x{code:x}"),
            },
            RevertReason::Custom { selector, data } => write!(
                f,
                "custom error 0x{} ({} bytes of data)",
                hex4(selector),
                data.len()
            ),
            RevertReason::Malformed(data) => {
                write!(
                    f,
                    "reverted with {} bytes that no standard error decodes",
                    data.len()
                )
            }
        }
    }
}

fn hex4(b: &[u8; 4]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn standard_errors_decode_and_others_are_named() {
        let e = Revert::from("no").abi_encode();
        assert_eq!(RevertReason::decode(&e), RevertReason::Error("no".into()));
        let p = Panic {
            code: U256::from(0x11),
        }
        .abi_encode();
        let RevertReason::Panic { code, meaning } = RevertReason::decode(&p) else {
            panic!("not a panic");
        };
        assert_eq!(code, U256::from(0x11));
        assert!(meaning.unwrap().contains("overflow"), "{meaning:?}");
        assert_eq!(RevertReason::decode(&[]), RevertReason::Empty);
        assert!(matches!(
            RevertReason::decode(&[1, 2]),
            RevertReason::Malformed(_)
        ));
        let custom = [0xde, 0xad, 0xbe, 0xef, 0, 1];
        assert_eq!(
            RevertReason::decode(&custom).to_string(),
            "custom error 0xdeadbeef (6 bytes of data)"
        );
        // Error(string)'s selector with arguments that do not decode.
        let mut bad = Revert::SELECTOR.to_vec();
        bad.push(7);
        assert!(matches!(
            RevertReason::decode(&bad),
            RevertReason::Malformed(_)
        ));
    }
}
