//! Transaction outcomes and events: what an included transaction did (protocol version 4).
//!
//! Every transaction of a version 4 block has an [`Outcome`]: `success`, or `failed` with a
//! stable code and a message; the work it consumed (`cost`, in the units of
//! `docs/design.md`, "Execution"); and the [`Event`]s its modules emitted. A failed
//! transaction consumed its nonce and changed nothing else. The block header commits to the
//! block's outcomes through [`outcomes_root`], so a receipt can prove an outcome offline.

use std::collections::BTreeMap;

use kexin_crypto::{Hash, Suite};
use serde::{Deserialize, Serialize};

use crate::codec::{Decode, DecodeError, Encode, Reader, Writer};
use crate::contract::{ContractLog, MAX_LOGS_PER_TX, MAX_RETURN_BYTES, put_bytes32, read_bytes32};
use crate::domains;

/// The version byte of an outcome's encoding (blocks of protocol version 4).
pub const OUTCOME_VERSION: u8 = 4;
/// The version byte of an outcome that carries gas, return data and logs (blocks of protocol
/// version 5).
pub const OUTCOME_VERSION_CONTRACTS: u8 = 5;
/// Most events one transaction may emit.
pub const MAX_EVENTS_PER_TX: usize = 64;
/// Most attributes of one event.
pub const MAX_EVENT_ATTRIBUTES: usize = 16;
/// Longest module, topic, attribute key or failure code, in bytes.
pub const MAX_NAME_BYTES: usize = 64;
/// Longest attribute value or failure message, in bytes.
pub const MAX_VALUE_BYTES: usize = 1024;

/// Whether a transaction took effect.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Applied: its writes are in the state.
    Success,
    /// Not applied: its nonce is consumed, nothing else changed.
    Failed,
}

impl Status {
    /// `success` or `failed`.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Success => "success",
            Status::Failed => "failed",
        }
    }
}

/// Something a module reports a transaction did, e.g. `evidence` / `record_attested`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    /// The module that emitted it.
    pub module: String,
    /// What happened, in the module's words (`snake_case`).
    pub topic: String,
    /// Details, by name (values are text: hashes in lowercase hex, numbers in decimal).
    #[serde(default)]
    pub attributes: BTreeMap<String, String>,
}

impl Event {
    /// An event without attributes.
    pub fn new(module: &str, topic: &str) -> Event {
        Event {
            module: module.to_owned(),
            topic: topic.to_owned(),
            attributes: BTreeMap::new(),
        }
    }

    /// Adds an attribute.
    pub fn with(mut self, key: &str, value: impl ToString) -> Event {
        self.attributes.insert(key.to_owned(), value.to_string());
        self
    }

    /// The value of attribute `key`.
    pub fn attribute(&self, key: &str) -> Option<&str> {
        self.attributes.get(key).map(String::as_str)
    }

    fn validate(&self) -> Result<(), DecodeError> {
        check_name("event module", &self.module)?;
        check_name("event topic", &self.topic)?;
        if self.attributes.len() > MAX_EVENT_ATTRIBUTES {
            return Err(DecodeError::TooLarge {
                field: "event attributes",
                limit: MAX_EVENT_ATTRIBUTES as u64,
                actual: self.attributes.len() as u64,
            });
        }
        for (k, v) in &self.attributes {
            check_name("attribute key", k)?;
            if v.len() > MAX_VALUE_BYTES {
                return Err(DecodeError::TooLarge {
                    field: "attribute value",
                    limit: MAX_VALUE_BYTES as u64,
                    actual: v.len() as u64,
                });
            }
        }
        Ok(())
    }
}

/// What an included transaction did.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outcome {
    /// `success` or `failed`.
    pub status: Status,
    /// Why it failed: a stable code (the same codes as refusals, e.g. `cert_revoked`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// Why it failed, for people.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The work it consumed, in cost units.
    pub cost: u64,
    /// What it did (none when it failed).
    #[serde(default)]
    pub events: Vec<Event>,
    /// The outcome's format: 4, or 5 in blocks of protocol version 5 (JSON omits a 4).
    #[serde(default = "v4", skip_serializing_if = "is_v4")]
    pub version: u8,
    /// The gas a contract transaction used (version 5; 0 for other transactions).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub gas_used: u64,
    /// What a contract transaction returned: the return value, a revert's data, or a
    /// deployment's contract address (version 5).
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        with = "crate::contract::hex0x"
    )]
    pub return_data: Vec<u8>,
    /// The logs (Solidity events) a successful contract transaction emitted, in order
    /// (version 5).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub logs: Vec<ContractLog>,
}

fn v4() -> u8 {
    OUTCOME_VERSION
}

fn is_v4(v: &u8) -> bool {
    *v == OUTCOME_VERSION
}

fn is_zero(v: &u64) -> bool {
    *v == 0
}

impl Outcome {
    /// A success with its cost and events.
    pub fn success(cost: u64, events: Vec<Event>) -> Outcome {
        Outcome {
            status: Status::Success,
            code: None,
            message: None,
            cost,
            events,
            version: OUTCOME_VERSION,
            gas_used: 0,
            return_data: Vec::new(),
            logs: Vec::new(),
        }
    }

    /// The same outcome in format `version` (5 in blocks of protocol version 5).
    pub fn in_version(mut self, version: u8) -> Outcome {
        self.version = version;
        self
    }

    /// The same outcome with a contract transaction's gas, return data and logs (format 5).
    pub fn with_contract(
        mut self,
        gas_used: u64,
        return_data: Vec<u8>,
        logs: Vec<ContractLog>,
    ) -> Outcome {
        self.version = OUTCOME_VERSION_CONTRACTS;
        self.gas_used = gas_used;
        self.return_data = return_data;
        self.logs = logs;
        self
    }

    /// A failure: the message is cut to [`MAX_VALUE_BYTES`] on a character boundary.
    pub fn failed(code: &str, message: &str, cost: u64) -> Outcome {
        let mut end = message.len().min(MAX_VALUE_BYTES);
        while !message.is_char_boundary(end) {
            end -= 1;
        }
        Outcome {
            status: Status::Failed,
            code: Some(code.to_owned()),
            message: Some(message[..end].to_owned()),
            cost,
            events: Vec::new(),
            version: OUTCOME_VERSION,
            gas_used: 0,
            return_data: Vec::new(),
            logs: Vec::new(),
        }
    }

    /// Whether the transaction took effect.
    pub fn is_success(&self) -> bool {
        self.status == Status::Success
    }

    /// The leaf of the block's outcome tree for transaction `tx_hash`:
    /// `H("kexin:outcome:v1" || tx_hash || encoding)`.
    pub fn leaf_hash(&self, suite: Suite, tx_hash: &Hash) -> Hash {
        suite.hash_parts(&[domains::OUTCOME, tx_hash.as_bytes(), &self.encode()])
    }

    /// Checks the limits the decoder enforces, for outcomes built in memory.
    pub fn validate(&self) -> Result<(), DecodeError> {
        match self.version {
            OUTCOME_VERSION => {
                if self.gas_used != 0 || !self.return_data.is_empty() || !self.logs.is_empty() {
                    return Err(DecodeError::invalid(
                        "outcome",
                        "gas, return data and logs need outcome version 5",
                    ));
                }
            }
            OUTCOME_VERSION_CONTRACTS => {
                if self.return_data.len() > MAX_RETURN_BYTES {
                    return Err(DecodeError::TooLarge {
                        field: "return data",
                        limit: MAX_RETURN_BYTES as u64,
                        actual: self.return_data.len() as u64,
                    });
                }
                if self.logs.len() > MAX_LOGS_PER_TX {
                    return Err(DecodeError::TooLarge {
                        field: "logs",
                        limit: MAX_LOGS_PER_TX as u64,
                        actual: self.logs.len() as u64,
                    });
                }
                if self.status == Status::Failed && !self.logs.is_empty() {
                    return Err(DecodeError::invalid(
                        "outcome",
                        "a failed transaction emits no logs",
                    ));
                }
                self.logs.iter().try_for_each(ContractLog::validate)?;
            }
            v => {
                return Err(DecodeError::invalid(
                    "outcome version",
                    format!("unsupported version {v}"),
                ));
            }
        }
        match (self.status, &self.code, &self.message) {
            (Status::Success, None, None) => {}
            (Status::Success, _, _) => {
                return Err(DecodeError::invalid(
                    "outcome",
                    "a success carries no code or message",
                ));
            }
            (Status::Failed, Some(code), Some(message)) => {
                check_name("failure code", code)?;
                if message.len() > MAX_VALUE_BYTES {
                    return Err(DecodeError::TooLarge {
                        field: "failure message",
                        limit: MAX_VALUE_BYTES as u64,
                        actual: message.len() as u64,
                    });
                }
                if !self.events.is_empty() {
                    return Err(DecodeError::invalid(
                        "outcome",
                        "a failed transaction emits no events",
                    ));
                }
            }
            (Status::Failed, _, _) => {
                return Err(DecodeError::invalid(
                    "outcome",
                    "a failure carries a code and a message",
                ));
            }
        }
        if self.events.len() > MAX_EVENTS_PER_TX {
            return Err(DecodeError::TooLarge {
                field: "events",
                limit: MAX_EVENTS_PER_TX as u64,
                actual: self.events.len() as u64,
            });
        }
        self.events.iter().try_for_each(Event::validate)
    }
}

/// Module, topic, attribute key and code: 1..=64 bytes of `a-z`, `0-9`, `_`, `-`, `.`.
fn check_name(field: &'static str, s: &str) -> Result<(), DecodeError> {
    if s.is_empty() || s.len() > MAX_NAME_BYTES {
        return Err(DecodeError::invalid(
            field,
            format!("must be 1..={MAX_NAME_BYTES} bytes"),
        ));
    }
    if !s
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"_-.".contains(&b))
    {
        return Err(DecodeError::invalid(
            field,
            format!("{s:?} has characters other than a-z, 0-9, '_', '-', '.'"),
        ));
    }
    Ok(())
}

/// Binary form (version 5 appends `u64 gas_used || u32 len || return_data || u16 n || n ×
/// log`, see [`ContractLog`]): `u8 version (4 or 5) || u8 status (0 success, 1 failed) || [str8 code || str16
/// message when failed] || u64 cost || u16 n || n × (str8 module || str8 topic || u8 m || m ×
/// (str8 key || str16 value))`, attributes in key order.
impl Encode for Outcome {
    fn encode_to(&self, out: &mut Vec<u8>) {
        out.put_u8(self.version);
        match self.status {
            Status::Success => out.put_u8(0),
            Status::Failed => {
                out.put_u8(1);
                out.put_str8(self.code.as_deref().unwrap_or_default());
                out.put_str16(self.message.as_deref().unwrap_or_default());
            }
        }
        out.put_u64(self.cost);
        out.put_u16(self.events.len() as u16);
        for e in &self.events {
            out.put_str8(&e.module);
            out.put_str8(&e.topic);
            out.put_u8(e.attributes.len() as u8);
            for (k, v) in &e.attributes {
                out.put_str8(k);
                out.put_str16(v);
            }
        }
        if self.version >= OUTCOME_VERSION_CONTRACTS {
            out.put_u64(self.gas_used);
            put_bytes32(out, &self.return_data);
            out.put_u16(self.logs.len() as u16);
            for log in &self.logs {
                log.encode_to(out);
            }
        }
    }
}

impl Decode for Outcome {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let version = r.u8("outcome version")?;
        if version != OUTCOME_VERSION && version != OUTCOME_VERSION_CONTRACTS {
            return Err(DecodeError::invalid(
                "outcome version",
                format!(
                    "unsupported version {version} (this decoder reads {OUTCOME_VERSION} and {OUTCOME_VERSION_CONTRACTS})"
                ),
            ));
        }
        let (status, code, message) = match r.u8("outcome status")? {
            0 => (Status::Success, None, None),
            1 => (
                Status::Failed,
                Some(r.str8("failure code", MAX_NAME_BYTES)?),
                Some(r.str16("failure message", MAX_VALUE_BYTES)?),
            ),
            s => {
                return Err(DecodeError::invalid(
                    "outcome status",
                    format!("unknown status {s}"),
                ));
            }
        };
        let cost = r.u64("cost")?;
        let n = r.u16("events")? as usize;
        if n > MAX_EVENTS_PER_TX {
            return Err(DecodeError::TooLarge {
                field: "events",
                limit: MAX_EVENTS_PER_TX as u64,
                actual: n as u64,
            });
        }
        let mut events = Vec::with_capacity(n);
        for _ in 0..n {
            let module = r.str8("event module", MAX_NAME_BYTES)?;
            let topic = r.str8("event topic", MAX_NAME_BYTES)?;
            let m = r.u8("event attribute count")? as usize;
            let mut attributes = BTreeMap::new();
            let mut last: Option<String> = None;
            for _ in 0..m {
                let k = r.str8("attribute key", MAX_NAME_BYTES)?;
                let v = r.str16("attribute value", MAX_VALUE_BYTES)?;
                if last.as_ref().is_some_and(|l| *l >= k) {
                    return Err(DecodeError::invalid(
                        "attribute key",
                        "attributes must be in strictly ascending key order",
                    ));
                }
                last = Some(k.clone());
                attributes.insert(k, v);
            }
            events.push(Event {
                module,
                topic,
                attributes,
            });
        }
        let (gas_used, return_data, logs) = if version >= OUTCOME_VERSION_CONTRACTS {
            let gas_used = r.u64("gas used")?;
            let return_data = read_bytes32(r, "return data", MAX_RETURN_BYTES, true)?;
            let n = r.u16("logs")? as usize;
            if n > MAX_LOGS_PER_TX {
                return Err(DecodeError::TooLarge {
                    field: "logs",
                    limit: MAX_LOGS_PER_TX as u64,
                    actual: n as u64,
                });
            }
            let logs = (0..n)
                .map(|_| ContractLog::decode_from(r))
                .collect::<Result<Vec<_>, _>>()?;
            (gas_used, return_data, logs)
        } else {
            (0, Vec::new(), Vec::new())
        };
        let o = Outcome {
            status,
            code,
            message,
            cost,
            events,
            version,
            gas_used,
            return_data,
            logs,
        };
        o.validate()?;
        Ok(o)
    }
}

/// The root of a block's outcome tree: the RFC 6962 Merkle root (as in `kexin-merkle`) over
/// the leaves [`Outcome::leaf_hash`], in block order.
pub fn outcomes_root(suite: Suite, outcomes: &[(Hash, Outcome)]) -> Hash {
    let leaves: Vec<Hash> = outcomes
        .iter()
        .map(|(tx, o)| o.leaf_hash(suite, tx))
        .collect();
    kexin_merkle::root_from_leaves(suite, &leaves)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Outcome {
        Outcome::success(
            7,
            vec![
                Event::new("evidence", "record_attested")
                    .with("digest", "ab")
                    .with("count", 1),
                Event::new("nonce", "nonce_used"),
            ],
        )
    }

    #[test]
    fn outcomes_round_trip_and_refuse_malformed_bytes() {
        let log = ContractLog {
            address: crate::ContractAddress([3; 20]),
            topics: vec![Hash([4; 32])],
            data: vec![5; 40],
        };
        for o in [
            sample(),
            Outcome::failed("cert_revoked", "revoked at 3", 1),
            sample().in_version(OUTCOME_VERSION_CONTRACTS),
            sample().with_contract(51_234, vec![0, 1, 2], vec![log.clone(), log.clone()]),
            Outcome::failed("contract_reverted", "reverted: no", 30).with_contract(
                23_000,
                vec![8, 195, 121, 160],
                vec![],
            ),
        ] {
            let bytes = o.encode();
            assert_eq!(Outcome::decode(&bytes).unwrap(), o);
            // Any truncation is refused, never a panic.
            for n in 0..bytes.len() {
                assert!(Outcome::decode(&bytes[..n]).is_err(), "prefix {n}");
            }
        }
        let mut bad = sample().encode();
        bad[0] = 6;
        let e = Outcome::decode(&bad).unwrap_err().to_string();
        assert!(e.contains("unsupported version 6"), "{e}");
        // A version 4 outcome has no room for gas, return data or logs.
        let mut v4 = sample();
        v4.gas_used = 1;
        assert!(v4.validate().is_err());
        // A failed contract transaction keeps its revert data but emits no logs.
        let failed =
            Outcome::failed("contract_reverted", "x", 1).with_contract(1, vec![], vec![log]);
        assert!(failed.validate().is_err());
        // The version 5 layout appends gas, return data and logs to the version 4 one.
        let v5 = sample().with_contract(7, vec![9], vec![]);
        let (a, b) = (sample().encode(), v5.encode());
        assert_eq!(&b[1..a.len()], &a[1..]);
        assert_eq!(
            &b[a.len()..],
            &[0, 0, 0, 0, 0, 0, 0, 7, 0, 0, 0, 1, 9, 0, 0]
        );
        bad[0] = OUTCOME_VERSION;
        bad[1] = 9;
        assert!(Outcome::decode(&bad).is_err());
    }

    #[test]
    fn a_success_with_a_code_or_a_failure_with_events_is_refused() {
        let mut o = sample();
        o.code = Some("x".into());
        assert!(o.validate().is_err());
        let mut f = Outcome::failed("x", "y", 0);
        f.events.push(Event::new("a", "b"));
        assert!(f.validate().is_err());
        assert!(Event::new("Evidence", "x").validate().is_err());
    }

    #[test]
    fn long_messages_are_cut_on_a_character_boundary() {
        let m = "é".repeat(MAX_VALUE_BYTES);
        let o = Outcome::failed("x", &m, 0);
        let msg = o.message.as_deref().unwrap();
        assert!(msg.len() <= MAX_VALUE_BYTES);
        o.validate().unwrap();
    }

    #[test]
    fn the_root_binds_each_outcome_to_its_transaction() {
        let s = Suite::Intl;
        let a = (s.hash(b"a"), sample());
        let b = (s.hash(b"b"), Outcome::failed("x", "y", 1));
        let root = outcomes_root(s, &[a.clone(), b.clone()]);
        assert_ne!(root, outcomes_root(s, &[b.clone(), a.clone()]));
        let mut forged = a.clone();
        forged.1.cost += 1;
        assert_ne!(root, outcomes_root(s, &[forged, b.clone()]));
        let swapped = (b.0, a.1.clone());
        assert_ne!(root, outcomes_root(s, &[swapped, (a.0, b.1)]));
    }
}
