//! Authenticated state: which keys exist, how they hash, and what their values mean.
//!
//! The state is a sparse Merkle tree (see `kexin-merkle`) over 32-byte key hashes
//! `H("kexin:state-key:v1" || u8 kind || key bytes)`, each holding the value hash
//! `H("kexin:state-value:v1" || value bytes)`.

use kexin_crypto::{Hash, KeyScheme, PublicKey, Suite};
use serde::{Deserialize, Serialize};

use crate::codec::{Decode, DecodeError, Encode, Reader, Writer};
use crate::domains;

/// A key of the authenticated state.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(tag = "kind", content = "key", rename_all = "snake_case")]
pub enum StateKey {
    /// Kind 1: the nonce record of a signer (key bytes: the canonical public key bytes).
    Nonce(PublicKey),
    /// Kind 2: the evidence index entry of a digest (key bytes: the 32-byte digest).
    Evidence(Hash),
    /// Kind 3: an organisation's current CA set, once it differs from genesis (key bytes: the
    /// UTF-8 name). Value: [`OrgState`](crate::OrgState).
    Org(String),
    /// Kind 4: a certificate in the registry (key bytes: the 32-byte certificate id).
    /// Value: [`CertState`](crate::CertState).
    Cert(Hash),
    /// Kind 5: a governance proposal (key bytes: the proposal id).
    /// Value: [`ProposalState`](crate::ProposalState).
    Proposal(Hash),
    /// Kind 6: the consortium's members and parameters once governance changed them (key
    /// bytes: empty). Value: [`ConsortiumState`](crate::ConsortiumState).
    Consortium,
    /// Kind 7: the validators of a consensus epoch after the first (key bytes: the epoch,
    /// u64 big-endian). Written when the last block of the previous epoch executes.
    /// Value: [`EpochSet`](crate::gov::EpochSet).
    Epoch(u64),
}

impl StateKey {
    /// The kind byte.
    pub fn kind(&self) -> u8 {
        match self {
            StateKey::Nonce(_) => 1,
            StateKey::Evidence(_) => 2,
            StateKey::Org(_) => 3,
            StateKey::Cert(_) => 4,
            StateKey::Proposal(_) => 5,
            StateKey::Consortium => 6,
            StateKey::Epoch(_) => 7,
        }
    }

    /// The key's position in the tree.
    pub fn hash(&self, suite: Suite) -> Hash {
        let epoch;
        let bytes: &[u8] = match self {
            StateKey::Nonce(pk) => pk.as_bytes(),
            StateKey::Evidence(d) => d.as_bytes(),
            StateKey::Org(name) => name.as_bytes(),
            StateKey::Cert(id) | StateKey::Proposal(id) => id.as_bytes(),
            StateKey::Consortium => &[],
            StateKey::Epoch(e) => {
                epoch = e.to_be_bytes();
                &epoch
            }
        };
        suite.hash_parts(&[domains::STATE_KEY, &[self.kind()], bytes])
    }
}

impl StateKey {
    /// The key bytes within its namespace (see [`StateKey::hash`]).
    pub fn key_bytes(&self) -> Vec<u8> {
        match self {
            StateKey::Nonce(pk) => pk.as_bytes().to_vec(),
            StateKey::Evidence(d) => d.as_bytes().to_vec(),
            StateKey::Org(name) => name.as_bytes().to_vec(),
            StateKey::Cert(id) | StateKey::Proposal(id) => id.as_bytes().to_vec(),
            StateKey::Consortium => Vec::new(),
            StateKey::Epoch(e) => e.to_be_bytes().to_vec(),
        }
    }

    /// The generic form: namespace and key bytes.
    pub fn to_key(&self) -> Key {
        Key {
            namespace: self.kind(),
            bytes: self.key_bytes(),
        }
    }
}

/// The namespaces of the state: the kind byte of every key, owned by one execution module
/// each (`docs/formats.md`, "State"). Kinds 1 to 7 are [`StateKey`]'s.
pub mod namespace {
    /// Signer nonces (the nonce module).
    pub const NONCE: u8 = 1;
    /// The evidence index (the evidence module).
    pub const EVIDENCE: u8 = 2;
    /// Organisations changed since genesis (the identity module; governance adds and removes).
    pub const ORG: u8 = 3;
    /// The certificate registry (the identity module).
    pub const CERT: u8 = 4;
    /// Governance proposals (the governance module).
    pub const PROPOSAL: u8 = 5;
    /// The consortium's members, parameters and validators (the governance module).
    pub const CONSORTIUM: u8 = 6;
    /// The validator sets of epochs (the epoch module).
    pub const EPOCH: u8 = 7;
    /// The protocol upgrade schedule (the governance module; key empty).
    /// Value: [`ProtocolSchedule`](crate::protocol::ProtocolSchedule).
    pub const PROTOCOL: u8 = 8;
    /// Contract accounts (the contract module; key: the 20-byte address).
    /// Value: [`ContractAccountState`](crate::ContractAccountState).
    pub const CONTRACT_ACCOUNT: u8 = 9;
    /// Contract code (the contract module; key: the code's 32-byte `keccak256`). Value: the
    /// code bytes.
    pub const CONTRACT_CODE: u8 = 10;
    /// Contract storage (the contract module; key: the 20-byte address and the 32-byte slot,
    /// big-endian). Value: the 32-byte word, big-endian.
    pub const CONTRACT_STORAGE: u8 = 11;
    /// Signer addresses (the identity module, protocol version 5; key: the 20-byte address of
    /// formats.md §5.10). Value: the 32-byte id of the certificate the address's key last
    /// acted under, for the identity precompile.
    pub const ADDRESS_CERT: u8 = 12;
    /// Contract names the consortium agreed on (the contract module, protocol version 5; key:
    /// the name's bytes, governance action `name_contract`). Value: the 20-byte address.
    pub const CONTRACT_NAME: u8 = 13;
}

/// A key of the state in its generic form: a namespace (the kind byte) and the key bytes
/// within it. Its position in the tree is `H("kexin:state-key:v1" || u8 namespace || bytes)`,
/// the same as the [`StateKey`] it may stand for.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Key {
    /// The namespace's kind byte.
    pub namespace: u8,
    /// The key bytes within the namespace.
    pub bytes: Vec<u8>,
}

impl Key {
    /// A key in `namespace`.
    pub fn new(namespace: u8, bytes: impl Into<Vec<u8>>) -> Key {
        Key {
            namespace,
            bytes: bytes.into(),
        }
    }

    /// The key's position in the tree.
    pub fn hash(&self, suite: Suite) -> Hash {
        suite.hash_parts(&[domains::STATE_KEY, &[self.namespace], &self.bytes])
    }

    /// The typed key this stands for, when its namespace is one of [`StateKey`]'s and its
    /// bytes are well formed.
    pub fn typed(&self) -> Option<StateKey> {
        let hash32 = || <[u8; 32]>::try_from(self.bytes.as_slice()).ok().map(Hash);
        Some(match self.namespace {
            namespace::NONCE => {
                let scheme = [KeyScheme::Ed25519, KeyScheme::Sm2, KeyScheme::EcdsaP256]
                    .into_iter()
                    .find(|s| s.key_len() == self.bytes.len())?;
                StateKey::Nonce(PublicKey::from_scheme_bytes(scheme, &self.bytes).ok()?)
            }
            namespace::EVIDENCE => StateKey::Evidence(hash32()?),
            namespace::ORG => StateKey::Org(String::from_utf8(self.bytes.clone()).ok()?),
            namespace::CERT => StateKey::Cert(hash32()?),
            namespace::PROPOSAL => StateKey::Proposal(hash32()?),
            namespace::CONSORTIUM if self.bytes.is_empty() => StateKey::Consortium,
            namespace::EPOCH => StateKey::Epoch(u64::from_be_bytes(
                <[u8; 8]>::try_from(self.bytes.as_slice()).ok()?,
            )),
            _ => return None,
        })
    }
}

impl From<&StateKey> for Key {
    fn from(k: &StateKey) -> Key {
        k.to_key()
    }
}

impl From<StateKey> for Key {
    fn from(k: StateKey) -> Key {
        k.to_key()
    }
}

/// The hash stored in the tree for a value's canonical bytes.
pub fn value_hash(suite: Suite, value: &[u8]) -> Hash {
    suite.hash_parts(&[domains::STATE_VALUE, value])
}

/// Where a record lives: block height, transaction index in the block, record index in the
/// transaction.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct RecordLocation {
    /// Block height.
    pub height: u64,
    /// Index of the transaction in the block.
    pub tx_index: u32,
    /// Index of the record in the transaction.
    pub record_index: u32,
}

impl Encode for RecordLocation {
    fn encode_to(&self, out: &mut Vec<u8>) {
        out.put_u64(self.height);
        out.put_u32(self.tx_index);
        out.put_u32(self.record_index);
    }
}

impl Decode for RecordLocation {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(RecordLocation {
            height: r.u64("height")?,
            tx_index: r.u32("tx_index")?,
            record_index: r.u32("record_index")?,
        })
    }
}

/// Value of a [`StateKey::Nonce`]: the highest committed nonce of the signer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NonceState {
    /// The highest nonce committed; the next transaction needs a greater one.
    pub last_nonce: u64,
    /// How many transactions of this signer were committed.
    pub tx_count: u64,
}

impl Encode for NonceState {
    fn encode_to(&self, out: &mut Vec<u8>) {
        out.put_u64(self.last_nonce);
        out.put_u64(self.tx_count);
    }
}

impl Decode for NonceState {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(NonceState {
            last_nonce: r.u64("last_nonce")?,
            tx_count: r.u64("tx_count")?,
        })
    }
}

/// Value of a [`StateKey::Evidence`]: how often the digest was recorded, first and last where,
/// and (from protocol version 5) the organisation that recorded it first.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EvidenceState {
    /// Records with this digest.
    pub count: u64,
    /// The first one.
    pub first: RecordLocation,
    /// The latest one.
    pub last: RecordLocation,
    /// The organisation of the signer of the first record, when it was recorded in protocol
    /// version 5 or later on a chain with organisations (what the evidence precompile
    /// answers). Encoded as a trailing `str8`, absent before.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_org: Option<String>,
}

impl Encode for EvidenceState {
    fn encode_to(&self, out: &mut Vec<u8>) {
        out.put_u64(self.count);
        self.first.encode_to(out);
        self.last.encode_to(out);
        if let Some(org) = &self.first_org {
            out.put_str8(org);
        }
    }
}

impl Decode for EvidenceState {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let count = r.u64("count")?;
        if count == 0 {
            return Err(DecodeError::invalid(
                "count",
                "an evidence entry has at least one record",
            ));
        }
        let first = RecordLocation::decode_from(r)?;
        let last = RecordLocation::decode_from(r)?;
        let first_org = if r.remaining() > 0 {
            let org = r.str8("first_org", crate::limits::MAX_NAME_BYTES)?;
            if org.is_empty() {
                return Err(DecodeError::invalid(
                    "first_org",
                    "an organisation name is not empty (absent is encoded by omission)",
                ));
            }
            Some(org)
        } else {
            None
        };
        Ok(EvidenceState {
            count,
            first,
            last,
            first_org,
        })
    }
}
