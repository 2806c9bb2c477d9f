//! Transactions and their payloads.

use std::fmt;
use std::sync::Arc;

use kexin_crypto::{Domain, Hash, KeyScheme, PublicKey, Signature, SigningKey, Suite};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::codec::{Decode, DecodeError, Encode, Reader, Writer};
use crate::contract::{
    ContractAddress, MAX_CALLDATA_BYTES, MAX_INITCODE_BYTES, MAX_TX_GAS, put_bytes32, read_bytes32,
};
use crate::domains;
use crate::gov::GovAction;
use crate::identity::{CertDer, RevocationReason};
use crate::limits::*;

/// Bytes of a record's salt.
pub const SALT_BYTES: usize = 16;

/// Random bytes chosen by the client for each record and hashed with its metadata, so that
/// the public metadata hash reveals nothing about metadata an attacker could guess (a label
/// such as a case number or a date). Hex in JSON.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Salt(pub [u8; SALT_BYTES]);

impl Salt {
    /// Lowercase hex.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// Parses 32 hex digits (either case).
    pub fn from_hex(s: &str) -> Result<Salt, String> {
        let bytes = hex::decode(s).map_err(|e| format!("salt must be hex: {e}"))?;
        <[u8; SALT_BYTES]>::try_from(bytes.as_slice())
            .map(Salt)
            .map_err(|_| format!("salt must be {SALT_BYTES} bytes, got {}", bytes.len()))
    }
}

impl fmt::Debug for Salt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Salt({})", self.to_hex())
    }
}

impl fmt::Display for Salt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl Serialize for Salt {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_hex())
    }
}

impl<'de> Deserialize<'de> for Salt {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Salt, D::Error> {
        let s = String::deserialize(d)?;
        Salt::from_hex(&s).map_err(serde::de::Error::custom)
    }
}

/// The private part of an evidence record: what only the owning organisation's readers and
/// auditors may see (`docs/pki.md`, "Signed reads"). The chain commits to it through its
/// [`metadata hash`](RecordMetadata::hash), salted so the hash cannot be reversed by guessing.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordMetadata {
    /// 16 random bytes chosen by the client (kexin-client draws them from the OS RNG).
    pub salt: Salt,
    /// A media type such as `application/pdf` (at most 127 bytes).
    pub content_type: String,
    /// A free-form label, e.g. a file name or case number.
    pub label: String,
    /// An optional reference to where the data lives outside the ledger.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_ref: Option<String>,
}

impl RecordMetadata {
    /// Total metadata bytes counted against [`MAX_METADATA_BYTES`] (the salt is not counted).
    pub fn len(&self) -> usize {
        self.content_type.len()
            + self.label.len()
            + self.external_ref.as_ref().map_or(0, |s| s.len())
    }

    /// Whether there are no metadata bytes at all (the salt is not counted).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Checks the size limits.
    pub fn validate(&self) -> Result<(), DecodeError> {
        if self.content_type.len() > MAX_CONTENT_TYPE_BYTES {
            return Err(DecodeError::TooLarge {
                field: "content_type",
                limit: MAX_CONTENT_TYPE_BYTES as u64,
                actual: self.content_type.len() as u64,
            });
        }
        if self.len() > MAX_METADATA_BYTES {
            return Err(DecodeError::TooLarge {
                field: "record metadata",
                limit: MAX_METADATA_BYTES as u64,
                actual: self.len() as u64,
            });
        }
        Ok(())
    }

    /// The metadata hash the record tree commits to:
    /// `H("kexin:metadata:v1" || salt || str8 content_type || str16 label || external_ref)`,
    /// i.e. the domain followed by this metadata's encoding.
    pub fn hash(&self, suite: Suite) -> Hash {
        let mut h = suite.hasher();
        h.update(domains::RECORD_METADATA);
        h.update(&self.encode());
        h.finalize()
    }
}

impl Encode for RecordMetadata {
    fn encode_to(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.salt.0);
        out.put_u8(self.content_type.len() as u8);
        out.extend_from_slice(self.content_type.as_bytes());
        out.put_str16(&self.label);
        match &self.external_ref {
            None => out.put_u8(0),
            Some(r) => {
                out.put_u8(1);
                out.put_str16(r);
            }
        }
    }
}

impl Decode for RecordMetadata {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let salt = Salt(r.array("record salt")?);
        let content_type = r.str8("content_type", MAX_CONTENT_TYPE_BYTES)?;
        let label = r.str16("label", MAX_METADATA_BYTES)?;
        let external_ref = if r.flag("external_ref tag")? {
            Some(r.str16("external_ref", MAX_METADATA_BYTES)?)
        } else {
            None
        };
        let meta = RecordMetadata {
            salt,
            content_type,
            label,
            external_ref,
        };
        meta.validate()?;
        Ok(meta)
    }
}

/// One piece of evidence: a digest and a little metadata, as a transaction carries it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EvidenceRecord {
    /// The SM3 or SHA-256 digest (by the chain's suite) of the evidenced data.
    pub digest: Hash,
    /// The private part.
    pub metadata: RecordMetadata,
}

impl EvidenceRecord {
    /// Checks the size limits.
    pub fn validate(&self) -> Result<(), DecodeError> {
        self.metadata.validate()
    }

    /// The hash of the record's metadata (see [`RecordMetadata::hash`]).
    pub fn metadata_hash(&self, suite: Suite) -> Hash {
        self.metadata.hash(suite)
    }

    /// The leaf hash of this record in its transaction's record tree:
    /// `H(0x00 || "kexin:record:v2" || digest || metadata_hash)`.
    pub fn leaf_hash(&self, suite: Suite) -> Hash {
        record_leaf_hash(suite, &self.digest, &self.metadata_hash(suite))
    }

    /// The record as shown to someone allowed to see its metadata.
    pub fn disclosed(&self, suite: Suite) -> RecordView {
        RecordView {
            digest: self.digest,
            metadata_hash: self.metadata_hash(suite),
            metadata: Some(self.metadata.clone()),
        }
    }

    /// The record as shown to anyone else: digest and metadata hash only.
    pub fn withheld(&self, suite: Suite) -> RecordView {
        RecordView {
            digest: self.digest,
            metadata_hash: self.metadata_hash(suite),
            metadata: None,
        }
    }
}

/// The leaf hash of a record in its transaction's record tree, from its digest and metadata
/// hash: `H(0x00 || "kexin:record:v2" || digest || metadata_hash)`. Proving a record needs no
/// metadata.
pub fn record_leaf_hash(suite: Suite, digest: &Hash, metadata_hash: &Hash) -> Hash {
    let mut data = Vec::with_capacity(domains::RECORD_LEAF.len() + 64);
    data.extend_from_slice(domains::RECORD_LEAF);
    data.extend_from_slice(digest.as_bytes());
    data.extend_from_slice(metadata_hash.as_bytes());
    kexin_merkle::leaf_hash(suite, &data)
}

impl Encode for EvidenceRecord {
    fn encode_to(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self.digest.as_bytes());
        self.metadata.encode_to(out);
    }
}

impl Decode for EvidenceRecord {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let digest = r.hash("record digest")?;
        let metadata = RecordMetadata::decode_from(r)?;
        Ok(EvidenceRecord { digest, metadata })
    }
}

/// An evidence record as a receipt or the API shows it: the digest and the metadata hash,
/// which are all a proof needs and are public, and the metadata itself only when the reader
/// may see it (in JSON, `"metadata": "withheld"` otherwise).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordView {
    /// The digest of the evidenced data.
    pub digest: Hash,
    /// The hash of the record's metadata ([`RecordMetadata::hash`]).
    pub metadata_hash: Hash,
    /// The metadata, when disclosed; `None` when withheld.
    #[serde(default, with = "withheld")]
    pub metadata: Option<RecordMetadata>,
}

impl RecordView {
    /// The record's leaf hash, from the digest and metadata hash alone.
    pub fn leaf_hash(&self, suite: Suite) -> Hash {
        record_leaf_hash(suite, &self.digest, &self.metadata_hash)
    }

    /// Drops the metadata (keeping its hash).
    pub fn withhold(&mut self) {
        self.metadata = None;
    }

    /// Whether the metadata is withheld.
    pub fn is_withheld(&self) -> bool {
        self.metadata.is_none()
    }

    /// Checks that disclosed metadata is within the limits and hashes to `metadata_hash`;
    /// `Err` carries the hash the metadata actually has (or the limit it breaks).
    pub fn check_metadata(&self, suite: Suite) -> Result<(), MetadataError> {
        let Some(meta) = &self.metadata else {
            return Ok(());
        };
        meta.validate().map_err(MetadataError::Limits)?;
        let computed = meta.hash(suite);
        if computed != self.metadata_hash {
            return Err(MetadataError::Mismatch {
                claimed: self.metadata_hash,
                computed,
            });
        }
        Ok(())
    }

    /// The whole record, when the metadata is disclosed.
    pub fn record(&self) -> Option<EvidenceRecord> {
        self.metadata.as_ref().map(|m| EvidenceRecord {
            digest: self.digest,
            metadata: m.clone(),
        })
    }
}

/// Why a record view's metadata does not check out.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MetadataError {
    /// Over a size limit.
    #[error("{0}")]
    Limits(DecodeError),
    /// It does not hash to the metadata hash.
    #[error("the metadata hashes to {computed}, not to the record's metadata hash {claimed}")]
    Mismatch {
        /// The record's metadata hash.
        claimed: Hash,
        /// The metadata's hash.
        computed: Hash,
    },
}

/// Binary form: `digest || metadata_hash || flag || [RecordMetadata]`.
impl Encode for RecordView {
    fn encode_to(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self.digest.as_bytes());
        out.extend_from_slice(self.metadata_hash.as_bytes());
        match &self.metadata {
            None => out.put_u8(0),
            Some(m) => {
                out.put_u8(1);
                m.encode_to(out);
            }
        }
    }
}

impl Decode for RecordView {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let digest = r.hash("record digest")?;
        let metadata_hash = r.hash("metadata hash")?;
        let metadata = if r.flag("metadata tag")? {
            Some(RecordMetadata::decode_from(r)?)
        } else {
            None
        };
        Ok(RecordView {
            digest,
            metadata_hash,
            metadata,
        })
    }
}

/// The JSON string standing for withheld private data (record metadata, an audit note's text).
pub const WITHHELD: &str = "withheld";

/// Metadata in JSON: the object when disclosed, the string `"withheld"` when not (`null` and
/// a missing field read as withheld too).
mod withheld {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    use super::{RecordMetadata, WITHHELD};

    pub fn serialize<S: Serializer>(m: &Option<RecordMetadata>, s: S) -> Result<S::Ok, S::Error> {
        match m {
            Some(m) => m.serialize(s),
            None => s.serialize_str(WITHHELD),
        }
    }

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Shown {
        Word(String),
        Metadata(RecordMetadata),
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<RecordMetadata>, D::Error> {
        match Option::<Shown>::deserialize(d)? {
            None => Ok(None),
            Some(Shown::Word(w)) if w == WITHHELD => Ok(None),
            Some(Shown::Word(w)) => Err(serde::de::Error::custom(format!(
                "metadata must be an object or \"{WITHHELD}\", not {w:?}"
            ))),
            Some(Shown::Metadata(m)) => Ok(Some(m)),
        }
    }
}

/// What a transaction does.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Payload {
    /// Record a batch of evidence (kind 1).
    Evidence {
        /// 1..=4096 records, all covered by the one transaction signature.
        records: Vec<EvidenceRecord>,
    },
    /// Revoke a certificate (kind 2): by an admin of the certificate's organisation. The
    /// certificate is carried whole, so one that was never used can be revoked too.
    RevokeCert {
        /// The certificate's DER.
        cert: CertDer,
        /// Why.
        reason: RevocationReason,
    },
    /// Add a CA certificate to the signer's organisation (kind 3): by an admin, to rotate the
    /// organisation's CA. Certificates of the old and new CA are accepted side by side.
    AddCa {
        /// The new CA certificate's DER.
        cert: CertDer,
    },
    /// Propose a governance action (kind 4): by an admin of a member organisation. The
    /// proposal's id is this transaction's hash; proposing counts as its organisation's yes.
    Propose {
        /// What passing the proposal does.
        action: GovAction,
    },
    /// Vote on an open proposal (kind 5): by an admin, once per organisation.
    Vote {
        /// The proposal id (the proposing transaction's hash).
        proposal: Hash,
        /// Yes or no.
        approve: bool,
    },
    /// An audit note (kind 6): by an auditor, the one write an auditor may make. It names its
    /// subject by hash (an evidence digest, a transaction hash or a block hash; the subject
    /// need not be on chain, so a note can record that an expected record is missing). The
    /// text is served to auditors only; the chain keeps it like any other payload.
    AuditNote {
        /// What the note is about.
        subject: Hash,
        /// The note: 1..=4096 bytes of UTF-8, no control characters but newline and tab.
        text: String,
    },
    /// Deploy a contract (kind 7, or kind 9 when it carries an ABI; transactions of version 5
    /// and later): run `code` (creation bytecode followed by its ABI-encoded constructor
    /// arguments) with at most `gas_limit` gas; the contract's address is derived from the
    /// signer's (formats.md §5.10).
    ContractDeploy {
        /// Most gas the deployment may use: 1..=[`MAX_TX_GAS`](crate::contract::MAX_TX_GAS).
        gas_limit: u64,
        /// The init code: 1..=[`MAX_INITCODE_BYTES`](crate::contract::MAX_INITCODE_BYTES).
        #[serde(with = "crate::contract::hex0x")]
        code: Vec<u8>,
        /// The contract's JSON ABI, published with it so explorers and tools decode its calls
        /// and events (kind 9): a JSON array of objects with a `type`, 2..=
        /// [`MAX_ABI_BYTES`](crate::contract::MAX_ABI_BYTES) bytes. Execution ignores it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        abi: Option<String>,
    },
    /// Call a contract (kind 8; transactions of version 5 and later) with ABI calldata and at
    /// most `gas_limit` gas.
    ContractCall {
        /// The contract.
        contract: ContractAddress,
        /// Most gas the call may use: 1..=[`MAX_TX_GAS`](crate::contract::MAX_TX_GAS).
        gas_limit: u64,
        /// The calldata (selector and arguments):
        /// 0..=[`MAX_CALLDATA_BYTES`](crate::contract::MAX_CALLDATA_BYTES).
        #[serde(with = "crate::contract::hex0x")]
        input: Vec<u8>,
    },
}

impl Payload {
    /// The payload kind byte.
    pub fn kind(&self) -> u8 {
        match self {
            Payload::Evidence { .. } => 1,
            Payload::RevokeCert { .. } => 2,
            Payload::AddCa { .. } => 3,
            Payload::Propose { .. } => 4,
            Payload::Vote { .. } => 5,
            Payload::AuditNote { .. } => 6,
            Payload::ContractDeploy { abi: None, .. } => 7,
            Payload::ContractCall { .. } => 8,
            Payload::ContractDeploy { abi: Some(_), .. } => 9,
        }
    }

    /// The first transaction version that may carry a payload of this kind.
    pub fn min_tx_version(&self) -> u8 {
        match self {
            Payload::ContractDeploy { .. } | Payload::ContractCall { .. } => crate::protocol::V5,
            _ => crate::protocol::V3,
        }
    }

    /// Checks the format limits the decoder enforces (record count, metadata sizes, certificate
    /// sizes, action fields), for payloads built in memory rather than decoded.
    pub fn validate(&self) -> Result<(), DecodeError> {
        match self {
            Payload::Evidence { records } => {
                if records.is_empty() {
                    return Err(DecodeError::invalid("record count", "must not be empty"));
                }
                if records.len() > MAX_RECORDS_PER_TX as usize {
                    return Err(DecodeError::TooLarge {
                        field: "record count",
                        limit: MAX_RECORDS_PER_TX as u64,
                        actual: records.len() as u64,
                    });
                }
                for rec in records {
                    rec.validate()?;
                    if rec.metadata.label.len() > u16::MAX as usize {
                        return Err(DecodeError::TooLarge {
                            field: "label",
                            limit: MAX_METADATA_BYTES as u64,
                            actual: rec.metadata.label.len() as u64,
                        });
                    }
                }
            }
            Payload::RevokeCert { cert, .. } | Payload::AddCa { cert } => {
                cert.check_len("certificate")?
            }
            Payload::Propose { action } => action.validate()?,
            Payload::Vote { .. } => {}
            Payload::AuditNote { text, .. } => validate_note_text(text)?,
            Payload::ContractDeploy {
                gas_limit,
                code,
                abi,
            } => {
                check_gas(*gas_limit)?;
                check_len("init code", code.len(), MAX_INITCODE_BYTES, false)?;
                if let Some(abi) = abi {
                    crate::contract::validate_abi(abi)?;
                }
            }
            Payload::ContractCall {
                gas_limit, input, ..
            } => {
                check_gas(*gas_limit)?;
                check_len("calldata", input.len(), MAX_CALLDATA_BYTES, true)?;
            }
        }
        Ok(())
    }

    /// The evidence records of an evidence payload (none for other kinds).
    pub fn records(&self) -> &[EvidenceRecord] {
        match self {
            Payload::Evidence { records } => records,
            _ => &[],
        }
    }

    /// The payload kind's name.
    pub fn kind_name(&self) -> &'static str {
        kind_name(self.kind())
    }

    /// The commitment to the payload that the transaction hash covers.
    pub fn commitment(&self, suite: Suite) -> PayloadCommitment {
        match self {
            Payload::Evidence { records } => {
                let leaves: Vec<Hash> = records.iter().map(|r| r.leaf_hash(suite)).collect();
                PayloadCommitment::Evidence {
                    record_count: records.len() as u32,
                    records_root: kexin_merkle::root_from_leaves(suite, &leaves),
                }
            }
            _ => {
                let mut body = Vec::new();
                self.encode_body(&mut body);
                PayloadCommitment::Digest {
                    kind: self.kind(),
                    digest: suite.hash_parts(&[domains::PAYLOAD, &[self.kind()], &body]),
                }
            }
        }
    }

    /// The payload after its kind byte.
    fn encode_body(&self, out: &mut Vec<u8>) {
        match self {
            Payload::Evidence { records } => {
                out.put_u32(records.len() as u32);
                for rec in records {
                    rec.encode_to(out);
                }
            }
            Payload::RevokeCert { cert, reason } => {
                cert.put(out);
                out.put_u8(reason.code());
            }
            Payload::AddCa { cert } => cert.put(out),
            Payload::Propose { action } => action.encode_to(out),
            Payload::Vote { proposal, approve } => {
                out.extend_from_slice(proposal.as_bytes());
                out.put_u8(*approve as u8);
            }
            Payload::AuditNote { subject, text } => {
                out.extend_from_slice(subject.as_bytes());
                out.put_str16(text);
            }
            Payload::ContractDeploy {
                gas_limit,
                code,
                abi,
            } => {
                out.put_u64(*gas_limit);
                put_bytes32(out, code);
                if let Some(abi) = abi {
                    put_bytes32(out, abi.as_bytes());
                }
            }
            Payload::ContractCall {
                contract,
                gas_limit,
                input,
            } => {
                out.extend_from_slice(&contract.0);
                out.put_u64(*gas_limit);
                put_bytes32(out, input);
            }
        }
    }

    fn decode_body(kind: u8, r: &mut Reader<'_>) -> Result<Payload, DecodeError> {
        Ok(match kind {
            1 => {
                let n = r.count("record count", MAX_RECORDS_PER_TX, false)?;
                let mut records = Vec::with_capacity(n as usize);
                for _ in 0..n {
                    records.push(EvidenceRecord::decode_from(r)?);
                }
                Payload::Evidence { records }
            }
            2 => {
                let cert = CertDer::read(r, "revoked certificate")?;
                let reason = RevocationReason::read(r)?;
                Payload::RevokeCert { cert, reason }
            }
            3 => Payload::AddCa {
                cert: CertDer::read(r, "CA certificate")?,
            },
            4 => Payload::Propose {
                action: GovAction::decode_from(r)?,
            },
            5 => Payload::Vote {
                proposal: r.hash("proposal id")?,
                approve: r.flag("vote")?,
            },
            6 => {
                let subject = r.hash("note subject")?;
                let text = r.str16("note text", MAX_NOTE_BYTES)?;
                validate_note_text(&text)?;
                Payload::AuditNote { subject, text }
            }
            7 | 9 => {
                let gas_limit = r.u64("gas limit")?;
                check_gas(gas_limit)?;
                let code = read_bytes32(r, "init code", MAX_INITCODE_BYTES, false)?;
                let abi = if kind == 9 {
                    let bytes = read_bytes32(r, "ABI", crate::contract::MAX_ABI_BYTES, false)?;
                    let abi = String::from_utf8(bytes)
                        .map_err(|_| DecodeError::invalid("ABI", "not UTF-8"))?;
                    crate::contract::validate_abi(&abi)?;
                    Some(abi)
                } else {
                    None
                };
                Payload::ContractDeploy {
                    gas_limit,
                    code,
                    abi,
                }
            }
            8 => {
                let contract = ContractAddress(r.array("contract address")?);
                let gas_limit = r.u64("gas limit")?;
                check_gas(gas_limit)?;
                let input = read_bytes32(r, "calldata", MAX_CALLDATA_BYTES, true)?;
                Payload::ContractCall {
                    contract,
                    gas_limit,
                    input,
                }
            }
            k => {
                return Err(DecodeError::invalid(
                    "payload kind",
                    format!("unknown payload type {k}"),
                ));
            }
        })
    }
}

/// The fixed-size commitment to a payload that stands in for it in the transaction hash, so a
/// receipt for one record need not carry the whole batch.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum PayloadCommitment {
    /// Evidence: `u32 record_count || records_root` where `records_root` is the RFC 6962
    /// root over the records' leaf hashes in order.
    Evidence {
        /// Number of records.
        record_count: u32,
        /// Merkle root over the records.
        records_root: Hash,
    },
    /// Any other payload: `H("kexin:payload:v1" || u8 kind || payload body)`.
    Digest {
        /// The payload kind (2..=9).
        kind: u8,
        /// The digest.
        digest: Hash,
    },
}

impl PayloadCommitment {
    /// The payload kind byte.
    pub fn kind(&self) -> u8 {
        match self {
            PayloadCommitment::Evidence { .. } => 1,
            PayloadCommitment::Digest { kind, .. } => *kind,
        }
    }

    /// The payload kind's name.
    pub fn kind_name(&self) -> &'static str {
        kind_name(self.kind())
    }
}

/// The name of payload kind `kind` (`unknown` for a kind this version does not define).
pub fn kind_name(kind: u8) -> &'static str {
    match kind {
        1 => "evidence",
        2 => "revoke_cert",
        3 => "add_ca",
        4 => "propose",
        5 => "vote",
        6 => "audit_note",
        7 => "contract_deploy",
        8 => "contract_call",
        9 => "contract_deploy",
        _ => "unknown",
    }
}

/// Contract payloads (kinds 7, 8 and 9) exist from transaction version 5 on.
fn check_payload_version(version: u8, payload: &Payload) -> Result<(), DecodeError> {
    if version < payload.min_tx_version() {
        return Err(DecodeError::invalid(
            "payload kind",
            format!(
                "payload kind {} ({}) needs transaction version {}, this one is version {version}",
                payload.kind(),
                payload.kind_name(),
                payload.min_tx_version()
            ),
        ));
    }
    Ok(())
}

/// A contract payload's gas limit: 1..=[`MAX_TX_GAS`].
fn check_gas(gas_limit: u64) -> Result<(), DecodeError> {
    if gas_limit == 0 {
        return Err(DecodeError::invalid("gas limit", "must not be zero"));
    }
    if gas_limit > MAX_TX_GAS {
        return Err(DecodeError::TooLarge {
            field: "gas limit",
            limit: MAX_TX_GAS,
            actual: gas_limit,
        });
    }
    Ok(())
}

/// A byte string's length: `0..=max` (`1..=max` unless `allow_empty`).
fn check_len(
    field: &'static str,
    len: usize,
    max: usize,
    allow_empty: bool,
) -> Result<(), DecodeError> {
    if len == 0 && !allow_empty {
        return Err(DecodeError::invalid(field, "must not be empty"));
    }
    if len > max {
        return Err(DecodeError::TooLarge {
            field,
            limit: max as u64,
            actual: len as u64,
        });
    }
    Ok(())
}

/// Checks an audit note's text: 1..=[`MAX_NOTE_BYTES`] bytes, no control characters but
/// newline and tab.
pub fn validate_note_text(text: &str) -> Result<(), DecodeError> {
    if text.trim().is_empty() {
        return Err(DecodeError::invalid("note text", "must not be empty"));
    }
    if text.len() > MAX_NOTE_BYTES {
        return Err(DecodeError::TooLarge {
            field: "note text",
            limit: MAX_NOTE_BYTES as u64,
            actual: text.len() as u64,
        });
    }
    if let Some(c) = text
        .chars()
        .find(|c| c.is_control() && *c != '\n' && *c != '\t')
    {
        return Err(DecodeError::invalid(
            "note text",
            format!("contains the control character U+{:04X}", c as u32),
        ));
    }
    Ok(())
}

impl Encode for PayloadCommitment {
    fn encode_to(&self, out: &mut Vec<u8>) {
        out.put_u8(self.kind());
        match self {
            PayloadCommitment::Evidence {
                record_count,
                records_root,
            } => {
                out.put_u32(*record_count);
                out.extend_from_slice(records_root.as_bytes());
            }
            PayloadCommitment::Digest { digest, .. } => out.extend_from_slice(digest.as_bytes()),
        }
    }
}

impl Decode for PayloadCommitment {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        match r.u8("payload kind")? {
            1 => {
                let record_count = r.count("record_count", MAX_RECORDS_PER_TX, false)?;
                let records_root = r.hash("records_root")?;
                Ok(PayloadCommitment::Evidence {
                    record_count,
                    records_root,
                })
            }
            kind @ 2..=9 => Ok(PayloadCommitment::Digest {
                kind,
                digest: r.hash("payload digest")?,
            }),
            k => Err(DecodeError::invalid(
                "payload kind",
                format!("unknown payload type {k}"),
            )),
        }
    }
}

/// Checks a chain id: 1..=64 bytes of `[a-z0-9._-]`, starting with a letter or digit.
pub fn validate_chain_id(chain_id: &str) -> Result<(), DecodeError> {
    let ok_len = !chain_id.is_empty() && chain_id.len() <= MAX_CHAIN_ID_BYTES;
    let ok_chars = chain_id
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b));
    let ok_start = chain_id
        .bytes()
        .next()
        .is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
    if ok_len && ok_chars && ok_start {
        Ok(())
    } else {
        Err(DecodeError::invalid(
            "chain_id",
            format!(
                "{chain_id:?} must be 1..=64 bytes of [a-z0-9._-] starting with a letter or digit"
            ),
        ))
    }
}

/// The signed part of a transaction, with the payload replaced by its commitment. Its hash is
/// the transaction hash.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TxSummary {
    /// The transaction's format version: 3, or 4 (protocol version 4 chains). Omitted from
    /// JSON when 3.
    #[serde(
        default = "crate::protocol::v3",
        skip_serializing_if = "crate::protocol::is_v3"
    )]
    pub version: u8,
    /// The chain the transaction is for.
    pub chain_id: String,
    /// Who signed it.
    pub signer: PublicKey,
    /// Replay protection: exactly one more than the signer's previous committed nonce.
    pub nonce: u64,
    /// The id of the certificate the signer acts under (required on chains with
    /// organisations, absent on open chains).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cert: Option<Hash>,
    /// The payload commitment.
    pub payload: PayloadCommitment,
}

impl TxSummary {
    /// The transaction hash: `H("kexin:tx:v1" || encoding)`.
    pub fn hash(&self) -> Hash {
        let suite = self.signer.suite();
        let mut h = suite.hasher();
        h.update(domains::TX_HASH);
        h.update(&self.encode());
        h.finalize()
    }
}

fn encode_header(
    out: &mut Vec<u8>,
    version: u8,
    chain_id: &str,
    signer: &PublicKey,
    nonce: u64,
    cert: Option<&Hash>,
) {
    out.put_u8(version);
    out.put_str8(chain_id);
    encode_public_key(out, signer);
    out.put_u64(nonce);
    match cert {
        None => out.put_u8(0),
        Some(id) => {
            out.put_u8(1);
            out.extend_from_slice(id.as_bytes());
        }
    }
}

type Header = (u8, String, PublicKey, u64, Option<Hash>);

fn decode_header(r: &mut Reader<'_>) -> Result<Header, DecodeError> {
    let version = r.u8("version")?;
    if !crate::protocol::supported(version) {
        return Err(DecodeError::invalid(
            "version",
            format!(
                "unsupported version {version} (this decoder reads {} to {})",
                crate::protocol::V3,
                crate::protocol::CURRENT
            ),
        ));
    }
    let chain_id = r.str8("chain_id", MAX_CHAIN_ID_BYTES)?;
    validate_chain_id(&chain_id)?;
    let signer = decode_public_key(r, "signer")?;
    let nonce = r.u64("nonce")?;
    let cert = if r.flag("cert tag")? {
        Some(r.hash("cert id")?)
    } else {
        None
    };
    Ok((version, chain_id, signer, nonce, cert))
}

/// Reads `u8 scheme tag || key bytes`, checking the point: tag 1 = SM2 (33 bytes, compressed),
/// 2 = Ed25519 (32 bytes), 3 = ECDSA P-256 (65 bytes, uncompressed). Tags 1 and 2 are also the
/// suite tags of `gm` and `intl`, which is all they meant before P-256 keys.
pub(crate) fn decode_public_key(
    r: &mut Reader<'_>,
    field: &'static str,
) -> Result<PublicKey, DecodeError> {
    let tag = r.u8(field)?;
    let scheme = KeyScheme::from_tag(tag)
        .ok_or_else(|| DecodeError::invalid(field, format!("unknown key scheme tag {tag}")))?;
    let bytes = r.take(field, scheme.key_len())?;
    PublicKey::from_scheme_bytes(scheme, bytes).map_err(|e| DecodeError::invalid(field, e))
}

/// Writes `u8 scheme tag || key bytes` (see [`decode_public_key`]).
pub(crate) fn encode_public_key(out: &mut Vec<u8>, key: &PublicKey) {
    out.put_u8(key.scheme().tag());
    out.extend_from_slice(key.as_bytes());
}

impl Encode for TxSummary {
    fn encode_to(&self, out: &mut Vec<u8>) {
        encode_header(
            out,
            self.version,
            &self.chain_id,
            &self.signer,
            self.nonce,
            self.cert.as_ref(),
        );
        self.payload.encode_to(out);
    }
}

impl Decode for TxSummary {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let (version, chain_id, signer, nonce, cert) = decode_header(r)?;
        let payload = PayloadCommitment::decode_from(r)?;
        if payload.kind() >= 7 && version < crate::protocol::V5 {
            return Err(DecodeError::invalid(
                "payload kind",
                format!(
                    "payload kind {} ({}) needs transaction version 5, this one is version {version}",
                    payload.kind(),
                    payload.kind_name()
                ),
            ));
        }
        Ok(TxSummary {
            version,
            chain_id,
            signer,
            nonce,
            cert,
            payload,
        })
    }
}

/// A signed transaction as submitted and stored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transaction {
    /// The format version: the protocol version of the chain when it was signed, 3 or 4
    /// ([`crate::protocol`]). Omitted from JSON when 3.
    #[serde(
        default = "crate::protocol::v3",
        skip_serializing_if = "crate::protocol::is_v3"
    )]
    pub version: u8,
    /// The chain the transaction is for.
    pub chain_id: String,
    /// Who signed it.
    pub signer: PublicKey,
    /// Replay protection.
    pub nonce: u64,
    /// The id of the certificate the signer acts under (see [`TxSummary::cert`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cert: Option<Hash>,
    /// What it does.
    pub payload: Payload,
    /// The certificate itself, attached when the chain may not have seen it yet (its first
    /// use registers it). Not signed directly: its id is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attached_cert: Option<CertDer>,
    /// The signer's signature over the transaction hash in domain `kexin/tx` + chain id.
    pub signature: Signature,
}

impl Transaction {
    /// Builds and signs a transaction in the default format ([`crate::FORMAT_VERSION`])
    /// without a certificate (open chains only).
    pub fn sign(chain_id: &str, key: &SigningKey, nonce: u64, payload: Payload) -> Transaction {
        Transaction::sign_as(chain_id, key, None, nonce, payload)
    }

    /// Builds and signs a transaction in the default format acting under a certificate:
    /// `cert` is the certificate and whether to attach it (needed until the chain has
    /// registered it).
    pub fn sign_as(
        chain_id: &str,
        key: &SigningKey,
        cert: Option<(&CertDer, bool)>,
        nonce: u64,
        payload: Payload,
    ) -> Transaction {
        Transaction::sign_versioned(crate::FORMAT_VERSION, chain_id, key, cert, nonce, payload)
    }

    /// Like [`Transaction::sign_as`], in format `version` (the chain's protocol version, as
    /// `GET /v1/chain` reports it).
    pub fn sign_versioned(
        version: u8,
        chain_id: &str,
        key: &SigningKey,
        cert: Option<(&CertDer, bool)>,
        nonce: u64,
        payload: Payload,
    ) -> Transaction {
        let suite = key.suite();
        let mut tx = Transaction {
            version,
            chain_id: chain_id.to_owned(),
            signer: key.public_key(),
            nonce,
            cert: cert.map(|(c, _)| c.id(suite)),
            payload,
            attached_cert: cert.and_then(|(c, attach)| attach.then(|| c.clone())),
            signature: Signature([0; 64]),
        };
        let hash = tx.summary().hash();
        tx.signature = key.sign(
            &Domain::new(domains::TX_SIGNATURE, chain_id),
            hash.as_bytes(),
        );
        tx
    }

    /// Checks the format limits the decoder enforces (chain id, record count, metadata
    /// sizes), for transactions built in memory rather than decoded.
    pub fn validate(&self) -> Result<(), DecodeError> {
        if !crate::protocol::supported(self.version) {
            return Err(DecodeError::invalid(
                "version",
                format!("unsupported version {}", self.version),
            ));
        }
        validate_chain_id(&self.chain_id)?;
        self.payload.validate()?;
        check_payload_version(self.version, &self.payload)?;
        if let Some(c) = &self.attached_cert {
            if self.cert.is_none() {
                return Err(DecodeError::invalid(
                    "attached cert",
                    "a certificate is attached but the transaction names no certificate id",
                ));
            }
            c.check_len("attached certificate")?;
        }
        Ok(())
    }

    /// The summary whose hash is the transaction hash (computes the payload commitment).
    pub fn summary(&self) -> TxSummary {
        TxSummary {
            version: self.version,
            chain_id: self.chain_id.clone(),
            signer: self.signer,
            nonce: self.nonce,
            cert: self.cert,
            payload: self.payload.commitment(self.signer.suite()),
        }
    }

    /// The transaction hash (see [`TxSummary::hash`]).
    pub fn hash(&self) -> Hash {
        self.summary().hash()
    }

    /// The evidence records, if this is an evidence transaction (none otherwise).
    pub fn records(&self) -> &[EvidenceRecord] {
        match &self.payload {
            Payload::Evidence { records } => records,
            _ => &[],
        }
    }
}

/// A transaction decoded and hashed once, as it moves through mempool, blocks and ledger.
/// Cloning is cheap: the transaction itself is shared.
#[derive(Clone, Debug)]
pub struct SealedTx {
    tx: Arc<Transaction>,
    summary: TxSummary,
    hash: Hash,
    encoded_len: usize,
}

impl SealedTx {
    /// Hashes `tx` (including its payload commitment) once.
    pub fn new(tx: Transaction) -> SealedTx {
        let summary = tx.summary();
        let hash = summary.hash();
        let encoded_len = tx.encode().len();
        SealedTx {
            tx: Arc::new(tx),
            summary,
            hash,
            encoded_len,
        }
    }

    /// The transaction.
    pub fn tx(&self) -> &Transaction {
        &self.tx
    }

    /// Gives the transaction back (copying it only if it is still shared).
    pub fn into_tx(self) -> Transaction {
        Arc::unwrap_or_clone(self.tx)
    }

    /// Its summary.
    pub fn summary(&self) -> &TxSummary {
        &self.summary
    }

    /// Its hash.
    pub fn hash(&self) -> Hash {
        self.hash
    }

    /// Its encoded length in bytes.
    pub fn encoded_len(&self) -> usize {
        self.encoded_len
    }

    /// Checks chain id and suite against the chain, and the signature.
    pub fn verify(&self, chain_id: &str, suite: Suite) -> Result<(), TxError> {
        if self.tx.chain_id != chain_id {
            return Err(TxError::WrongChain {
                expected: chain_id.to_owned(),
                actual: self.tx.chain_id.clone(),
            });
        }
        if self.tx.signer.suite() != suite {
            return Err(TxError::WrongSuite {
                expected: suite,
                actual: self.tx.signer.suite(),
            });
        }
        if let Some(attached) = &self.tx.attached_cert
            && self.tx.cert != Some(attached.id(suite))
        {
            return Err(TxError::CertMismatch);
        }
        self.tx
            .signer
            .verify(
                &Domain::new(domains::TX_SIGNATURE, chain_id),
                self.hash.as_bytes(),
                &self.tx.signature,
            )
            .map_err(|_| TxError::BadSignature)
    }

    /// The log leaf hash of this transaction: `H(0x00 || "kexin:log:v1" || tx_hash || signature)`.
    pub fn log_leaf_hash(&self) -> Hash {
        log_leaf_hash(self.tx.signer.suite(), &self.hash, &self.tx.signature)
    }
}

/// The transaction log's leaf hash for a transaction hash and signature.
pub fn log_leaf_hash(suite: Suite, tx_hash: &Hash, signature: &Signature) -> Hash {
    let mut data = Vec::with_capacity(domains::LOG_LEAF.len() + 96);
    data.extend_from_slice(domains::LOG_LEAF);
    data.extend_from_slice(tx_hash.as_bytes());
    data.extend_from_slice(&signature.0);
    kexin_merkle::leaf_hash(suite, &data)
}

/// Why a transaction is refused (beyond decoding).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TxError {
    /// The transaction names another chain.
    #[error("wrong chain id: this chain is {expected:?}, the transaction is for {actual:?}")]
    WrongChain {
        /// This chain.
        expected: String,
        /// The transaction's chain.
        actual: String,
    },
    /// The signer's key is of another suite.
    #[error("wrong suite: this chain uses {expected}, the transaction is signed with {actual}")]
    WrongSuite {
        /// This chain's suite.
        expected: Suite,
        /// The signer's suite.
        actual: Suite,
    },
    /// The signature does not verify.
    #[error("bad signature: the signature does not match the transaction and signer")]
    BadSignature,
    /// The attached certificate is not the one whose id the transaction names.
    #[error(
        "the attached certificate's id differs from the certificate id the transaction is signed under"
    )]
    CertMismatch,
}

impl TxError {
    /// A stable, machine-readable error code.
    pub fn code(&self) -> &'static str {
        match self {
            TxError::WrongChain { .. } => "wrong_chain",
            TxError::WrongSuite { .. } => "wrong_suite",
            TxError::BadSignature => "bad_signature",
            TxError::CertMismatch => "cert_id_mismatch",
        }
    }
}

impl Encode for Transaction {
    fn encode_to(&self, out: &mut Vec<u8>) {
        encode_header(
            out,
            self.version,
            &self.chain_id,
            &self.signer,
            self.nonce,
            self.cert.as_ref(),
        );
        out.put_u8(self.payload.kind());
        self.payload.encode_body(out);
        match &self.attached_cert {
            None => out.put_u8(0),
            Some(c) => {
                out.put_u8(1);
                c.put(out);
            }
        }
        out.extend_from_slice(&self.signature.0);
    }
}

impl Decode for Transaction {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let (version, chain_id, signer, nonce, cert) = decode_header(r)?;
        let kind = r.u8("payload kind")?;
        let payload = Payload::decode_body(kind, r)?;
        check_payload_version(version, &payload)?;
        let attached_cert = if r.flag("attached cert tag")? {
            if cert.is_none() {
                return Err(DecodeError::invalid(
                    "attached cert",
                    "a certificate is attached but the transaction names no certificate id",
                ));
            }
            Some(CertDer::read(r, "attached cert")?)
        } else {
            None
        };
        let signature = Signature(r.array("signature")?);
        Ok(Transaction {
            version,
            chain_id,
            signer,
            nonce,
            cert,
            payload,
            attached_cert,
            signature,
        })
    }
}

/// Decodes a transaction from untrusted bytes, checking the size limit first.
pub fn decode_transaction(bytes: &[u8]) -> Result<Transaction, DecodeError> {
    if bytes.len() > MAX_TX_BYTES {
        return Err(DecodeError::TooLarge {
            field: "transaction",
            limit: MAX_TX_BYTES as u64,
            actual: bytes.len() as u64,
        });
    }
    Transaction::decode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(suite: Suite) -> EvidenceRecord {
        EvidenceRecord {
            digest: suite.hash(b"data"),
            metadata: RecordMetadata {
                salt: Salt([0xa5; SALT_BYTES]),
                content_type: "application/pdf".into(),
                label: "case-2024-17".into(),
                external_ref: Some("s3://b/k".into()),
            },
        }
    }

    #[test]
    fn leaf_commits_to_digest_and_metadata_hash_only() {
        for suite in [Suite::Intl, Suite::Gm] {
            let r = rec(suite);
            let meta = r.metadata.encode();
            assert_eq!(meta.len(), 16 + 1 + 15 + 2 + 12 + 1 + 2 + 8);
            let mh = suite.hash_parts(&[b"kexin:metadata:v1", &meta]);
            assert_eq!(r.metadata_hash(suite), mh);
            let leaf = suite.hash_parts(&[
                &[0x00],
                b"kexin:record:v2",
                r.digest.as_bytes(),
                mh.as_bytes(),
            ]);
            assert_eq!(r.leaf_hash(suite), leaf);
            assert_eq!(record_leaf_hash(suite, &r.digest, &mh), leaf);
            // The views share the leaf; only the disclosed one has the record back.
            assert_eq!(r.disclosed(suite).leaf_hash(suite), leaf);
            assert_eq!(r.withheld(suite).leaf_hash(suite), leaf);
            assert_eq!(r.disclosed(suite).record(), Some(r.clone()));
            assert_eq!(r.withheld(suite).record(), None);
            // The wire record is the digest followed by the metadata.
            assert_eq!(r.encode(), [r.digest.as_bytes().as_slice(), &meta].concat());
            assert_eq!(EvidenceRecord::decode(&r.encode()).unwrap(), r);
        }
    }

    #[test]
    fn every_metadata_change_changes_the_hash_and_the_leaf() {
        let suite = Suite::Gm;
        let base = rec(suite);
        let (h, leaf) = (base.metadata_hash(suite), base.leaf_hash(suite));
        let mut variants = Vec::new();
        for i in 0..SALT_BYTES {
            for bit in 0..8 {
                let mut r = base.clone();
                r.metadata.salt.0[i] ^= 1 << bit;
                variants.push(r);
            }
        }
        for i in 0..base.metadata.label.len() {
            let mut r = base.clone();
            let mut b = r.metadata.label.into_bytes();
            b[i] ^= 0x01;
            r.metadata.label = String::from_utf8(b).unwrap();
            variants.push(r);
        }
        let mut r = base.clone();
        r.metadata.content_type.push(' ');
        variants.push(r);
        let mut r = base.clone();
        r.metadata.external_ref = None;
        variants.push(r);
        let mut r = base.clone();
        r.metadata.external_ref = Some(String::new());
        variants.push(r);
        // Moving bytes between fields changes the encoding, so the hash.
        let mut r = base.clone();
        r.metadata.content_type = "application/pdfc".into();
        r.metadata.label = "ase-2024-17".into();
        variants.push(r);
        for v in &variants {
            assert_ne!(v.metadata_hash(suite), h, "{v:?}");
            assert_ne!(v.leaf_hash(suite), leaf, "{v:?}");
            // A view that keeps the old hash but carries the changed metadata is caught.
            let view = RecordView {
                metadata: Some(v.metadata.clone()),
                ..base.disclosed(suite)
            };
            assert!(matches!(
                view.check_metadata(suite),
                Err(MetadataError::Mismatch { .. })
            ));
        }
        assert_eq!(base.disclosed(suite).check_metadata(suite), Ok(()));
        assert_eq!(base.withheld(suite).check_metadata(suite), Ok(()));
        // The salt hides equal metadata: same label, different salts, different hashes.
        let mut other = base.clone();
        other.metadata.salt = Salt([0x5a; SALT_BYTES]);
        assert_ne!(other.metadata_hash(suite), h);
    }

    #[test]
    fn record_views_encode_and_read_back() {
        let suite = Suite::Intl;
        let r = rec(suite);
        for view in [r.disclosed(suite), r.withheld(suite)] {
            let bytes = view.encode();
            assert_eq!(RecordView::decode(&bytes).unwrap(), view);
            let json = serde_json::to_string(&view).unwrap();
            assert_eq!(serde_json::from_str::<RecordView>(&json).unwrap(), view);
            if view.is_withheld() {
                assert_eq!(bytes.len(), 65);
                assert_eq!(bytes[64], 0);
                assert!(json.contains(r#""metadata":"withheld""#), "{json}");
            } else {
                assert_eq!(bytes[64], 1);
                assert_eq!(&bytes[65..], r.metadata.encode().as_slice());
            }
        }
        let mut bad = r.withheld(suite).encode();
        bad[64] = 2;
        assert!(RecordView::decode(&bad).is_err());
        assert!(Salt::from_hex("00").is_err());
        assert_eq!(
            Salt::from_hex(&"A5".repeat(16)).unwrap(),
            Salt([0xa5; SALT_BYTES])
        );
    }
}
