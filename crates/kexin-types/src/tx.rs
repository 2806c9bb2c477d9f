//! Transactions and their payloads.

use std::sync::Arc;

use kexin_crypto::{Domain, Hash, PublicKey, Signature, SigningKey, Suite};
use serde::{Deserialize, Serialize};

use crate::codec::{Decode, DecodeError, Encode, Reader, Writer};
use crate::gov::GovAction;
use crate::identity::{CertDer, RevocationReason};
use crate::limits::*;
use crate::{FORMAT_VERSION, domains};

/// One piece of evidence: a digest and a little metadata.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EvidenceRecord {
    /// The SM3 or SHA-256 digest (by the chain's suite) of the evidenced data.
    pub digest: Hash,
    /// A media type such as `application/pdf` (at most 127 bytes).
    pub content_type: String,
    /// A free-form label, e.g. a file name or case number.
    pub label: String,
    /// An optional reference to where the data lives outside the ledger.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_ref: Option<String>,
}

impl EvidenceRecord {
    /// Total metadata bytes counted against [`MAX_METADATA_BYTES`].
    pub fn metadata_len(&self) -> usize {
        self.content_type.len()
            + self.label.len()
            + self.external_ref.as_ref().map_or(0, |s| s.len())
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
        if self.metadata_len() > MAX_METADATA_BYTES {
            return Err(DecodeError::TooLarge {
                field: "record metadata",
                limit: MAX_METADATA_BYTES as u64,
                actual: self.metadata_len() as u64,
            });
        }
        Ok(())
    }

    /// The leaf hash of this record in its transaction's record tree:
    /// `H(0x00 || "kexin:record:v1" || encoding)`.
    pub fn leaf_hash(&self, suite: Suite) -> Hash {
        let mut data = domains::RECORD_LEAF.to_vec();
        self.encode_to(&mut data);
        kexin_merkle::leaf_hash(suite, &data)
    }
}

impl Encode for EvidenceRecord {
    fn encode_to(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self.digest.as_bytes());
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

impl Decode for EvidenceRecord {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let digest = r.hash("record digest")?;
        let content_type = r.str8("content_type", MAX_CONTENT_TYPE_BYTES)?;
        let label = r.str16("label", MAX_METADATA_BYTES)?;
        let external_ref = if r.flag("external_ref tag")? {
            Some(r.str16("external_ref", MAX_METADATA_BYTES)?)
        } else {
            None
        };
        let rec = EvidenceRecord {
            digest,
            content_type,
            label,
            external_ref,
        };
        rec.validate()?;
        Ok(rec)
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
        }
    }

    /// The payload kind's name.
    pub fn kind_name(&self) -> &'static str {
        match self {
            Payload::Evidence { .. } => "evidence",
            Payload::RevokeCert { .. } => "revoke_cert",
            Payload::AddCa { .. } => "add_ca",
            Payload::Propose { .. } => "propose",
            Payload::Vote { .. } => "vote",
        }
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
        /// The payload kind (2..=5).
        kind: u8,
        /// The digest.
        digest: Hash,
    },
}

impl PayloadCommitment {
    fn kind(&self) -> u8 {
        match self {
            PayloadCommitment::Evidence { .. } => 1,
            PayloadCommitment::Digest { kind, .. } => *kind,
        }
    }
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
            kind @ 2..=5 => Ok(PayloadCommitment::Digest {
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
    chain_id: &str,
    signer: &PublicKey,
    nonce: u64,
    cert: Option<&Hash>,
) {
    out.put_u8(FORMAT_VERSION);
    out.put_str8(chain_id);
    out.put_u8(signer.suite().tag());
    out.extend_from_slice(signer.as_bytes());
    out.put_u64(nonce);
    match cert {
        None => out.put_u8(0),
        Some(id) => {
            out.put_u8(1);
            out.extend_from_slice(id.as_bytes());
        }
    }
}

type Header = (String, PublicKey, u64, Option<Hash>);

fn decode_header(r: &mut Reader<'_>) -> Result<Header, DecodeError> {
    let version = r.u8("version")?;
    if version != FORMAT_VERSION {
        return Err(DecodeError::invalid(
            "version",
            format!("unsupported version {version}"),
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
    Ok((chain_id, signer, nonce, cert))
}

/// Reads `u8 suite tag || key bytes` (32 bytes for intl, 33 for gm), checking the point.
pub(crate) fn decode_public_key(
    r: &mut Reader<'_>,
    field: &'static str,
) -> Result<PublicKey, DecodeError> {
    let tag = r.u8(field)?;
    let suite = Suite::from_tag(tag)
        .ok_or_else(|| DecodeError::invalid(field, format!("unknown suite tag {tag}")))?;
    let bytes = r.take(field, PublicKey::len_for(suite))?;
    PublicKey::from_bytes(suite, bytes).map_err(|e| DecodeError::invalid(field, e))
}

pub(crate) fn encode_public_key(out: &mut Vec<u8>, key: &PublicKey) {
    out.put_u8(key.suite().tag());
    out.extend_from_slice(key.as_bytes());
}

impl Encode for TxSummary {
    fn encode_to(&self, out: &mut Vec<u8>) {
        encode_header(
            out,
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
        let (chain_id, signer, nonce, cert) = decode_header(r)?;
        let payload = PayloadCommitment::decode_from(r)?;
        Ok(TxSummary {
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
    /// Builds and signs a transaction without a certificate (open chains only).
    pub fn sign(chain_id: &str, key: &SigningKey, nonce: u64, payload: Payload) -> Transaction {
        Transaction::sign_as(chain_id, key, None, nonce, payload)
    }

    /// Builds and signs a transaction acting under a certificate: `cert` is the certificate
    /// and whether to attach it (needed until the chain has registered it).
    pub fn sign_as(
        chain_id: &str,
        key: &SigningKey,
        cert: Option<(&CertDer, bool)>,
        nonce: u64,
        payload: Payload,
    ) -> Transaction {
        let suite = key.suite();
        let mut tx = Transaction {
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
        validate_chain_id(&self.chain_id)?;
        match &self.payload {
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
                    if rec.label.len() > u16::MAX as usize {
                        return Err(DecodeError::TooLarge {
                            field: "label",
                            limit: MAX_METADATA_BYTES as u64,
                            actual: rec.label.len() as u64,
                        });
                    }
                }
            }
            Payload::RevokeCert { cert, .. } | Payload::AddCa { cert } => {
                cert.check_len("certificate")?
            }
            Payload::Propose { action } => action.validate()?,
            Payload::Vote { .. } => {}
        }
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
        let (chain_id, signer, nonce, cert) = decode_header(r)?;
        let kind = r.u8("payload kind")?;
        let payload = Payload::decode_body(kind, r)?;
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
