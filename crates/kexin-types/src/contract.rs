//! Contract formats (protocol version 5): contract addresses, the logs a contract call emits,
//! contract accounts in the state, and the limits of contract payloads and outcomes.

use std::fmt;
use std::str::FromStr;

use kexin_crypto::Hash;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::codec::{Decode, DecodeError, Encode, Reader, Writer};

/// Largest init code of a `contract_deploy` payload, in bytes (the format's bound; the chain
/// parameter `contract.max_initcode_bytes` may be lower).
pub const MAX_INITCODE_BYTES: usize = 48 * 1024;
/// Largest calldata of a `contract_call` payload, in bytes.
pub const MAX_CALLDATA_BYTES: usize = 128 * 1024;
/// Largest gas limit a contract payload may carry (the chain parameter `contract.tx_gas_limit`
/// is lower).
pub const MAX_TX_GAS: u64 = 1_000_000_000;
/// Largest JSON ABI a `contract_deploy` payload may publish (kind 9), in bytes.
pub const MAX_ABI_BYTES: usize = 128 * 1024;
/// Largest return data an outcome keeps, in bytes.
pub const MAX_RETURN_BYTES: usize = 64 * 1024;
/// Most logs one transaction's outcome keeps.
pub const MAX_LOGS_PER_TX: usize = 256;
/// Most topics of a log (`LOG0` to `LOG4`).
pub const MAX_LOG_TOPICS: usize = 4;
/// Largest data of one log, in bytes.
pub const MAX_LOG_DATA_BYTES: usize = 64 * 1024;

/// A 20-byte contract (or signer) address. JSON: `"0x"` and 40 lowercase hex digits (any case
/// is read).
#[derive(Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ContractAddress(pub [u8; 20]);

impl fmt::Display for ContractAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "0x{}", hex::encode(self.0))
    }
}

impl fmt::Debug for ContractAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl FromStr for ContractAddress {
    type Err = DecodeError;

    fn from_str(s: &str) -> Result<ContractAddress, DecodeError> {
        let digits = s
            .strip_prefix("0x")
            .or_else(|| s.strip_prefix("0X"))
            .unwrap_or(s);
        let bytes = hex::decode(digits)
            .map_err(|e| DecodeError::invalid("contract address", format!("{s:?}: {e}")))?;
        let arr: [u8; 20] = bytes.try_into().map_err(|b: Vec<u8>| {
            DecodeError::invalid(
                "contract address",
                format!("{s:?} is {} bytes, an address is 20", b.len()),
            )
        })?;
        Ok(ContractAddress(arr))
    }
}

impl Serialize for ContractAddress {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for ContractAddress {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<ContractAddress, D::Error> {
        String::deserialize(d)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

/// Serde for byte strings as `"0x"` and lowercase hex (reads any case, with or without `0x`).
pub mod hex0x {
    use serde::{Deserialize, Deserializer, Serializer};

    /// Writes `0x…`.
    pub fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format!("0x{}", hex::encode(bytes)))
    }

    /// Reads hex, with or without `0x`.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let s = String::deserialize(d)?;
        let digits = s.strip_prefix("0x").unwrap_or(&s);
        hex::decode(digits).map_err(|e| serde::de::Error::custom(format!("hex bytes: {e}")))
    }
}

/// A log a contract emitted (a Solidity event): the emitting contract, up to four topics (the
/// first is the event's signature hash, unless anonymous) and data.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContractLog {
    /// The contract that emitted it.
    pub address: ContractAddress,
    /// Its topics, 0..=4.
    pub topics: Vec<Hash>,
    /// Its data.
    #[serde(with = "hex0x")]
    pub data: Vec<u8>,
}

impl ContractLog {
    /// Checks the limits the decoder enforces.
    pub fn validate(&self) -> Result<(), DecodeError> {
        if self.topics.len() > MAX_LOG_TOPICS {
            return Err(DecodeError::TooLarge {
                field: "log topics",
                limit: MAX_LOG_TOPICS as u64,
                actual: self.topics.len() as u64,
            });
        }
        if self.data.len() > MAX_LOG_DATA_BYTES {
            return Err(DecodeError::TooLarge {
                field: "log data",
                limit: MAX_LOG_DATA_BYTES as u64,
                actual: self.data.len() as u64,
            });
        }
        Ok(())
    }
}

/// Binary form: `address (20) || u8 n || n × topic (32) || u32 len || data`.
impl Encode for ContractLog {
    fn encode_to(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.address.0);
        out.put_u8(self.topics.len() as u8);
        for t in &self.topics {
            out.extend_from_slice(t.as_bytes());
        }
        put_bytes32(out, &self.data);
    }
}

impl Decode for ContractLog {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let address = ContractAddress(r.array("log address")?);
        let n = r.u8("log topics")? as usize;
        if n > MAX_LOG_TOPICS {
            return Err(DecodeError::TooLarge {
                field: "log topics",
                limit: MAX_LOG_TOPICS as u64,
                actual: n as u64,
            });
        }
        let topics = (0..n)
            .map(|_| r.hash("log topic"))
            .collect::<Result<Vec<_>, _>>()?;
        let data = read_bytes32(r, "log data", MAX_LOG_DATA_BYTES, true)?;
        Ok(ContractLog {
            address,
            topics,
            data,
        })
    }
}

/// Checks that `abi` is a JSON ABI as solc writes it: a JSON array of objects, each with a
/// string `type`, within [`MAX_ABI_BYTES`]. (The entries' other fields are read by the tools
/// that decode with it; execution ignores the ABI.)
pub fn validate_abi(abi: &str) -> Result<(), DecodeError> {
    if abi.len() > MAX_ABI_BYTES {
        return Err(DecodeError::TooLarge {
            field: "ABI",
            limit: MAX_ABI_BYTES as u64,
            actual: abi.len() as u64,
        });
    }
    let entries: Vec<serde_json::Map<String, serde_json::Value>> = serde_json::from_str(abi)
        .map_err(|e| {
            DecodeError::invalid("ABI", format!("not a JSON array of ABI entries: {e}"))
        })?;
    for (i, entry) in entries.iter().enumerate() {
        if !entry.get("type").is_some_and(serde_json::Value::is_string) {
            return Err(DecodeError::invalid(
                "ABI",
                format!("entry {i} has no string \"type\""),
            ));
        }
    }
    Ok(())
}

/// Writes `u32 len || bytes`.
pub(crate) fn put_bytes32(out: &mut Vec<u8>, bytes: &[u8]) {
    out.put_u32(bytes.len() as u32);
    out.extend_from_slice(bytes);
}

/// Reads `u32 len || bytes`, `len` in `0..=max` (`1..=max` unless `allow_empty`).
pub(crate) fn read_bytes32(
    r: &mut Reader<'_>,
    field: &'static str,
    max: usize,
    allow_empty: bool,
) -> Result<Vec<u8>, DecodeError> {
    let len = r.count(field, max as u32, allow_empty)? as usize;
    Ok(r.take(field, len)?.to_vec())
}

/// A contract account in the state (namespace 9): a contract, or a signer that deployed one.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContractAccountState {
    /// The EVM nonce: how many contracts the account created (its next `CREATE` address).
    pub nonce: u64,
    /// `keccak256` of the code; `keccak256("")` for an account without code.
    pub code_hash: Hash,
    /// Whether the consortium froze the contract (calls fail with `contract_frozen`).
    #[serde(default)]
    pub frozen: bool,
    /// The height of the block that created the contract (0 for a signer's account).
    pub created_at: u64,
    /// The organisation of the identity that deployed it (empty for a signer's account, or on
    /// an open chain).
    #[serde(default)]
    pub creator_org: String,
}

/// Binary form: `u8 version (1) || u64 nonce || code_hash (32) || u8 frozen || u64 created_at
/// || str8 creator_org`.
impl Encode for ContractAccountState {
    fn encode_to(&self, out: &mut Vec<u8>) {
        out.put_u8(1);
        out.put_u64(self.nonce);
        out.extend_from_slice(self.code_hash.as_bytes());
        out.put_u8(self.frozen as u8);
        out.put_u64(self.created_at);
        out.put_str8(&self.creator_org);
    }
}

impl Decode for ContractAccountState {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let version = r.u8("contract account version")?;
        if version != 1 {
            return Err(DecodeError::invalid(
                "contract account version",
                format!("unsupported version {version}"),
            ));
        }
        Ok(ContractAccountState {
            nonce: r.u64("contract nonce")?,
            code_hash: r.hash("code hash")?,
            frozen: r.flag("frozen")?,
            created_at: r.u64("created at")?,
            creator_org: r.str8("creator org", crate::limits::MAX_NAME_BYTES)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_read_any_case_and_print_lowercase() {
        let a: ContractAddress = "0xE2c83F5D32aDe0D07d8dd9dB37a757AF4C572e7B"
            .parse()
            .unwrap();
        assert_eq!(a.to_string(), "0xe2c83f5d32ade0d07d8dd9db37a757af4c572e7b");
        assert!("0x1234".parse::<ContractAddress>().is_err());
        assert!("0xzz".parse::<ContractAddress>().is_err());
        let json = serde_json::to_string(&a).unwrap();
        assert_eq!(serde_json::from_str::<ContractAddress>(&json).unwrap(), a);
    }

    #[test]
    fn logs_and_accounts_round_trip_and_refuse_what_is_over_the_limits() {
        let log = ContractLog {
            address: ContractAddress([7; 20]),
            topics: vec![Hash([1; 32]), Hash([2; 32])],
            data: vec![9; 70],
        };
        let bytes = log.encode();
        assert_eq!(bytes.len(), 20 + 1 + 64 + 4 + 70);
        assert_eq!(ContractLog::decode(&bytes).unwrap(), log);
        let mut five = log.clone();
        five.topics = vec![Hash::ZERO; 5];
        assert!(ContractLog::decode(&five.encode()).is_err());
        assert!(five.validate().is_err());
        let acc = ContractAccountState {
            nonce: 3,
            code_hash: Hash([5; 32]),
            frozen: true,
            created_at: 42,
            creator_org: "org1".into(),
        };
        assert_eq!(ContractAccountState::decode(&acc.encode()).unwrap(), acc);
        let mut bad = acc.encode();
        bad[0] = 2;
        assert!(ContractAccountState::decode(&bad).is_err());
    }
}
