//! Blocks, their headers and commit certificates.

use kexin_crypto::{Domain, Hash, PublicKey, Signature, SigningKey, Suite};
use serde::{Deserialize, Serialize};

use crate::codec::{Decode, DecodeError, Encode, Reader, Writer};
use crate::domains;
use crate::genesis::{Genesis, ValidatorSets};
use crate::limits::*;
use crate::tx::{Transaction, decode_public_key, encode_public_key};

/// A block header: everything a receipt verifier needs from a block.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlockHeader {
    /// Format version: the block's protocol version, 3 or 4 ([`crate::protocol`]). Omitted
    /// from JSON when 3.
    #[serde(
        default = "crate::protocol::v3",
        skip_serializing_if = "crate::protocol::is_v3"
    )]
    pub version: u8,
    /// Height; the first block after genesis is 1.
    pub height: u64,
    /// Hash of the previous block's header (the genesis hash for height 1).
    pub parent_hash: Hash,
    /// Milliseconds since the Unix epoch, from the proposer; strictly greater than the parent's.
    pub timestamp_ms: u64,
    /// The proposing validator's public key.
    pub proposer: PublicKey,
    /// Transactions in this block.
    pub tx_count: u32,
    /// Size of the transaction log after this block.
    pub log_size: u64,
    /// Root of the transaction log after this block.
    pub log_root: Hash,
    /// Root of the authenticated state after this block.
    pub state_root: Hash,
    /// At the last block of a consensus epoch: the hash of the next epoch's validators
    /// ([`EpochSet::hash`](crate::EpochSet::hash)); all zero in every other block.
    #[serde(default, skip_serializing_if = "Hash::is_zero")]
    pub next_validators: Hash,
    /// Version 4: the root of the block's transaction outcomes
    /// ([`outcomes_root`](crate::outcome::outcomes_root)); absent in version 3.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcomes_root: Option<Hash>,
}

impl BlockHeader {
    /// The block hash: `H("kexin:block:v1" || header encoding)`.
    pub fn hash(&self, suite: Suite) -> Hash {
        let mut h = suite.hasher();
        h.update(domains::BLOCK_HASH);
        h.update(&self.encode());
        h.finalize()
    }
}

impl Encode for BlockHeader {
    fn encode_to(&self, out: &mut Vec<u8>) {
        out.put_u8(self.version);
        out.put_u64(self.height);
        out.extend_from_slice(self.parent_hash.as_bytes());
        out.put_u64(self.timestamp_ms);
        encode_public_key(out, &self.proposer);
        out.put_u32(self.tx_count);
        out.put_u64(self.log_size);
        out.extend_from_slice(self.log_root.as_bytes());
        out.extend_from_slice(self.state_root.as_bytes());
        out.extend_from_slice(self.next_validators.as_bytes());
        if self.version >= crate::protocol::V4 {
            out.extend_from_slice(self.outcomes_root.unwrap_or(Hash::ZERO).as_bytes());
        }
    }
}

impl Decode for BlockHeader {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let version = r.u8("header version")?;
        if !crate::protocol::supported(version) {
            return Err(DecodeError::invalid(
                "header version",
                format!(
                    "unsupported version {version} (this decoder reads {} to {})",
                    crate::protocol::V3,
                    crate::protocol::CURRENT
                ),
            ));
        }
        let height = r.u64("height")?;
        if height == 0 {
            return Err(DecodeError::invalid("height", "blocks start at height 1"));
        }
        let parent_hash = r.hash("parent_hash")?;
        let timestamp_ms = r.u64("timestamp_ms")?;
        let proposer = decode_public_key(r, "proposer")?;
        let tx_count = r.count("tx_count", MAX_BLOCK_TXS, true)?;
        let log_size = r.u64("log_size")?;
        if log_size < tx_count as u64 {
            return Err(DecodeError::invalid(
                "log_size",
                "smaller than the block's tx_count",
            ));
        }
        let log_root = r.hash("log_root")?;
        let state_root = r.hash("state_root")?;
        let next_validators = r.hash("next_validators")?;
        let outcomes_root = if version >= crate::protocol::V4 {
            Some(r.hash("outcomes_root")?)
        } else {
            None
        };
        Ok(BlockHeader {
            version,
            outcomes_root,
            height,
            parent_hash,
            timestamp_ms,
            proposer,
            tx_count,
            log_size,
            log_root,
            state_root,
            next_validators,
        })
    }
}

/// A block: header and transactions, in log order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Block {
    /// The header.
    pub header: BlockHeader,
    /// The transactions; `header.tx_count` of them.
    pub transactions: Vec<Transaction>,
}

impl Encode for Block {
    fn encode_to(&self, out: &mut Vec<u8>) {
        self.header.encode_to(out);
        for tx in &self.transactions {
            let start = out.len();
            out.put_u32(0);
            tx.encode_to(out);
            let len = (out.len() - start - 4) as u32;
            out[start..start + 4].copy_from_slice(&len.to_be_bytes());
        }
    }
}

impl Decode for Block {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let header = BlockHeader::decode_from(r)?;
        let mut transactions = Vec::with_capacity(header.tx_count.min(1024) as usize);
        for _ in 0..header.tx_count {
            let len = r.u32("transaction length")? as usize;
            if len > MAX_TX_BYTES {
                return Err(DecodeError::TooLarge {
                    field: "transaction",
                    limit: MAX_TX_BYTES as u64,
                    actual: len as u64,
                });
            }
            transactions.push(Transaction::decode(r.take("transaction", len)?)?);
        }
        Ok(Block {
            header,
            transactions,
        })
    }
}

/// Decodes a block from untrusted bytes, checking the size limit first.
pub fn decode_block(bytes: &[u8]) -> Result<Block, DecodeError> {
    if bytes.len() > MAX_BLOCK_BYTES {
        return Err(DecodeError::TooLarge {
            field: "block",
            limit: MAX_BLOCK_BYTES as u64,
            actual: bytes.len() as u64,
        });
    }
    Block::decode(bytes)
}

/// One validator's signature in a certificate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ValidatorSignature {
    /// Index of the signing validator. In a [`CommitCertificate::Signatures`] certificate it
    /// indexes the genesis validator list; in a [`CommitCertificate::Finalization`] certificate
    /// it indexes [`Genesis::consensus_order`] (the validators' keys sorted by their bytes).
    pub validator: u16,
    /// The signature: over the block hash in domain `kexin/commit` + chain id (kind 1), or over
    /// [`finalize_signing_input`] (kind 2).
    pub signature: Signature,
}

/// Proof that a block is final.
///
/// Kind 1 (`signatures`) is a quorum of validator signatures over the block hash, made by the
/// single-validator ledger. Kind 2 (`finalization`) is the finalization certificate of the
/// `simplex` BFT consensus: a quorum of finalize votes for the block hash in a view.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum CommitCertificate {
    /// Validator signatures over the block hash, strictly ascending by validator index.
    Signatures {
        /// The signatures.
        signatures: Vec<ValidatorSignature>,
    },
    /// A simplex finalization certificate: finalize votes of a quorum of validators, strictly
    /// ascending by their index in [`Genesis::consensus_order`], each over
    /// [`finalize_signing_input`]`(chain_id, epoch, view, parent_view, block_hash)`.
    Finalization {
        /// The consensus epoch of the finalized proposal.
        epoch: u64,
        /// The consensus view in which the block was proposed and finalized.
        view: u64,
        /// The view of the proposal's parent.
        parent_view: u64,
        /// The finalize votes.
        signatures: Vec<ValidatorSignature>,
    },
    /// The block was finalized as an ancestor of a later block that has its own certificate:
    /// the headers of the blocks after it, each naming the previous one as its parent, and the
    /// last one's certificate (kind 1 or 2; ancestor certificates do not nest).
    Ancestor {
        /// Headers of heights `h+1 ..= h+k` (1 ≤ k ≤ [`MAX_ANCESTOR_HEADERS`]).
        headers: Vec<BlockHeader>,
        /// The certificate of the last header's block.
        certificate: Box<CommitCertificate>,
    },
}

/// Most headers an ancestor certificate may carry.
pub const MAX_ANCESTOR_HEADERS: usize = 1024;

/// The base namespace of the chain's `simplex` consensus: `"kexin/simplex/" || chain_id`.
///
/// Consensus derives its vote namespaces from it by appending `_NOTARIZE`, `_NULLIFY`,
/// `_FINALIZE` (and `_SEED`); the consensus adapter passes exactly these bytes to the engine.
pub fn simplex_namespace(chain_id: &str) -> Vec<u8> {
    let mut ns = Vec::with_capacity(domains::SIMPLEX_NAMESPACE_PREFIX.len() + chain_id.len());
    ns.extend_from_slice(domains::SIMPLEX_NAMESPACE_PREFIX.as_bytes());
    ns.extend_from_slice(chain_id.as_bytes());
    ns
}

/// Suffix commonware's `simplex` appends to the base namespace for finalize votes.
const FINALIZE_SUFFIX: &[u8] = b"_FINALIZE";

/// Appends `value` as an unsigned LEB128 varint (7 bits per byte, least significant group
/// first, high bit set on every byte but the last), the minimal encoding: commonware's `UInt`.
fn put_varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8 & 0x7f) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

/// The exact bytes a validator signs for a finalize vote on `block_hash` in `(epoch, view)`
/// with parent view `parent_view`: how commonware's `simplex` (2026.10) signs a `Finalize`
/// vote with an attributable scheme, `union_unique(finalize_namespace, proposal.encode())`.
///
/// ```text
/// fns   = "kexin/simplex/" || chain_id || "_FINALIZE"
/// input = varint(len(fns)) || fns || varint(epoch) || varint(view) || varint(parent_view)
///         || block_hash
/// ```
///
/// `varint` is unsigned LEB128. Sign it with `SigningKey::sign_raw`; verify with
/// `PublicKey::verify_raw`.
pub fn finalize_signing_input(
    chain_id: &str,
    epoch: u64,
    view: u64,
    parent_view: u64,
    block_hash: &Hash,
) -> Vec<u8> {
    let mut fns = simplex_namespace(chain_id);
    fns.extend_from_slice(FINALIZE_SUFFIX);
    let mut input = Vec::with_capacity(fns.len() + 3 * 10 + 2 + 32);
    put_varint(&mut input, fns.len() as u64);
    input.extend_from_slice(&fns);
    put_varint(&mut input, epoch);
    put_varint(&mut input, view);
    put_varint(&mut input, parent_view);
    input.extend_from_slice(block_hash.as_bytes());
    input
}

impl CommitCertificate {
    /// A certificate with one validator's signature over `block_hash`.
    pub fn sign_single(
        chain_id: &str,
        validator: u16,
        key: &SigningKey,
        block_hash: &Hash,
    ) -> Self {
        let signature = key.sign(
            &Domain::new(domains::COMMIT_SIGNATURE, chain_id),
            block_hash.as_bytes(),
        );
        CommitCertificate::Signatures {
            signatures: vec![ValidatorSignature {
                validator,
                signature,
            }],
        }
    }

    /// Checks that a quorum of genesis validators signed `block_hash` (a certificate of a
    /// later epoch fails with [`CertificateError::UnknownEpoch`]: use
    /// [`CommitCertificate::verify_in`] with that epoch's validators).
    pub fn verify(&self, genesis: &Genesis, block_hash: &Hash) -> Result<(), CertificateError> {
        self.verify_in(genesis, genesis, block_hash)
    }

    /// Checks that the certificate is of the consensus epoch of the block at `height` it
    /// certifies (for an ancestor certificate, of the epoch of the last header's block). A
    /// certificate of another epoch is refused even if that epoch's validators signed it:
    /// validators of an old epoch must not be able to certify blocks of a later one.
    pub fn check_epoch(&self, genesis: &Genesis, height: u64) -> Result<(), CertificateError> {
        let (epoch, certified) = match self {
            CommitCertificate::Signatures { .. } => return Ok(()),
            CommitCertificate::Finalization { epoch, .. } => (*epoch, height),
            CommitCertificate::Ancestor {
                headers,
                certificate,
            } => match (&**certificate, headers.last()) {
                (CommitCertificate::Finalization { epoch, .. }, Some(last)) => {
                    (*epoch, last.height)
                }
                _ => return Ok(()),
            },
        };
        let expected = genesis.epoch_of(certified);
        if epoch != expected {
            return Err(CertificateError::WrongEpoch {
                height: certified,
                expected,
                got: epoch,
            });
        }
        Ok(())
    }

    /// [`CommitCertificate::check_epoch`], and the rule for kind 1: a certificate of genesis
    /// validator signatures (direct, or ending an ancestor certificate) is accepted only for
    /// a block whose consensus epoch's validators, as `sets` knows them, are exactly the
    /// genesis validators. Without it, keys of genesis validators removed by governance (or
    /// leaked long after they stopped validating) could certify a block at any height.
    pub fn check_epoch_in(
        &self,
        genesis: &Genesis,
        sets: &impl ValidatorSets,
        height: u64,
    ) -> Result<(), CertificateError> {
        self.check_epoch(genesis, height)?;
        let certified = match self {
            CommitCertificate::Signatures { .. } => height,
            CommitCertificate::Ancestor {
                headers,
                certificate,
            } if matches!(**certificate, CommitCertificate::Signatures { .. }) => {
                headers.last().map_or(height, |h| h.height)
            }
            _ => return Ok(()),
        };
        let epoch = genesis.epoch_of(certified);
        if epoch == 0 {
            return Ok(());
        }
        let mut genesis_keys = genesis.consensus_order();
        genesis_keys.dedup();
        match sets.epoch_keys(epoch) {
            Some(keys) if keys == genesis_keys => Ok(()),
            Some(_) => Err(CertificateError::GenesisSignaturesOutOfEpoch { epoch }),
            None => Err(CertificateError::UnknownEpoch(epoch)),
        }
    }

    /// Checks that a quorum of the validators of the certificate's epoch, as `sets` knows
    /// them, signed `block_hash`.
    pub fn verify_in(
        &self,
        genesis: &Genesis,
        sets: &impl ValidatorSets,
        block_hash: &Hash,
    ) -> Result<(), CertificateError> {
        match self {
            CommitCertificate::Signatures { signatures } => {
                let domain = Domain::new(domains::COMMIT_SIGNATURE, &genesis.chain_id);
                let keys: Vec<PublicKey> =
                    genesis.validators.iter().map(|v| v.public_key).collect();
                verify_quorum(&keys, signatures, |key, signature| {
                    key.verify(&domain, block_hash.as_bytes(), signature)
                        .is_ok()
                })
            }
            CommitCertificate::Finalization {
                epoch,
                view,
                parent_view,
                signatures,
            } => {
                let input = finalize_signing_input(
                    &genesis.chain_id,
                    *epoch,
                    *view,
                    *parent_view,
                    block_hash,
                );
                let keys = sets
                    .epoch_keys(*epoch)
                    .ok_or(CertificateError::UnknownEpoch(*epoch))?;
                verify_quorum(&keys, signatures, |key, signature| {
                    key.verify_raw(&input, signature).is_ok()
                })
            }
            CommitCertificate::Ancestor {
                headers,
                certificate,
            } => {
                if headers.is_empty() || headers.len() > MAX_ANCESTOR_HEADERS {
                    return Err(CertificateError::BadLink(format!(
                        "{} headers, must be 1..={MAX_ANCESTOR_HEADERS}",
                        headers.len()
                    )));
                }
                if matches!(**certificate, CommitCertificate::Ancestor { .. }) {
                    return Err(CertificateError::BadLink(
                        "ancestor certificates do not nest".into(),
                    ));
                }
                let mut parent = *block_hash;
                let mut parent_height: Option<u64> = None;
                for (i, header) in headers.iter().enumerate() {
                    if header.parent_hash != parent {
                        return Err(CertificateError::BadLink(format!(
                            "header {i} does not name the previous block as its parent"
                        )));
                    }
                    if let Some(h) = parent_height
                        && header.height != h.saturating_add(1)
                    {
                        return Err(CertificateError::BadLink(format!(
                            "header {i} is at height {}, expected {}",
                            header.height,
                            h.saturating_add(1)
                        )));
                    }
                    parent_height = Some(header.height);
                    parent = header.hash(genesis.suite);
                }
                certificate.verify_in(genesis, sets, &parent)
            }
        }
    }
}

/// Checks `signatures` left to right (strictly ascending, index in `keys`, valid under
/// `verifies`), then that there are at least a quorum of them.
fn verify_quorum(
    keys: &[PublicKey],
    signatures: &[ValidatorSignature],
    verifies: impl Fn(&PublicKey, &Signature) -> bool,
) -> Result<(), CertificateError> {
    let mut prev: Option<u16> = None;
    for vs in signatures {
        if prev.is_some_and(|p| p >= vs.validator) {
            return Err(CertificateError::NotCanonical);
        }
        prev = Some(vs.validator);
        let key = keys
            .get(vs.validator as usize)
            .ok_or(CertificateError::UnknownValidator(vs.validator))?;
        if !verifies(key, &vs.signature) {
            return Err(CertificateError::BadSignature(vs.validator));
        }
    }
    let quorum = crate::genesis::quorum_of(keys.len());
    if signatures.len() < quorum {
        return Err(CertificateError::NoQuorum {
            have: signatures.len(),
            need: quorum,
        });
    }
    Ok(())
}

/// Why a certificate does not prove finality.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CertificateError {
    /// A signature names a validator index not in the set.
    #[error("certificate names validator {0}, which is not in the validator set")]
    UnknownValidator(u16),
    /// A signature does not verify.
    #[error("certificate signature of validator {0} does not verify")]
    BadSignature(u16),
    /// Fewer valid signatures than the quorum.
    #[error("certificate has {have} signature(s), a quorum is {need}")]
    NoQuorum {
        /// Valid distinct signatures.
        have: usize,
        /// Quorum size.
        need: usize,
    },
    /// Signatures are not strictly ascending by validator index.
    #[error("certificate signatures are not strictly ascending by validator index")]
    NotCanonical,
    /// An ancestor certificate's header chain does not link the block to the certified one.
    #[error("ancestor certificate: {0}")]
    BadLink(String),
    /// The certificate is of an epoch whose validator set the verifier does not have.
    #[error(
        "certificate is of consensus epoch {0}, whose validator set this verifier does not have (validators changed by governance; fetch the epoch's set)"
    )]
    UnknownEpoch(u64),
    /// A kind 1 certificate (genesis validator signatures) for a block of an epoch whose
    /// validators are not the genesis validators.
    #[error(
        "genesis validator signatures (kind 1) certify only blocks of epochs whose validators are the genesis validators; epoch {epoch}'s differ"
    )]
    GenesisSignaturesOutOfEpoch {
        /// The certified block's epoch.
        epoch: u64,
    },
    /// The certificate's epoch is not the epoch of the block it certifies.
    #[error("the certificate is of epoch {got}, but height {height} is in epoch {expected}")]
    WrongEpoch {
        /// The certified block's height.
        height: u64,
        /// Its epoch.
        expected: u64,
        /// The certificate's.
        got: u64,
    },
    /// An epoch link does not prove its validator set.
    #[error("epoch {epoch} link: {why}")]
    BadEpochLink {
        /// The link's epoch.
        epoch: u64,
        /// What is wrong.
        why: String,
    },
}

fn encode_signatures(out: &mut Vec<u8>, signatures: &[ValidatorSignature]) {
    out.put_u16(signatures.len() as u16);
    for s in signatures {
        out.put_u16(s.validator);
        out.extend_from_slice(&s.signature.0);
    }
}

/// Reads `u16 count || count × (u16 validator || sig)`: count in
/// `1..=MAX_CERTIFICATE_SIGNATURES`, validators strictly ascending.
fn decode_signatures(r: &mut Reader<'_>) -> Result<Vec<ValidatorSignature>, DecodeError> {
    let n = r.u16("signature count")? as u32;
    if n == 0 {
        return Err(DecodeError::invalid("signature count", "must not be empty"));
    }
    if n > MAX_CERTIFICATE_SIGNATURES {
        return Err(DecodeError::TooLarge {
            field: "signature count",
            limit: MAX_CERTIFICATE_SIGNATURES as u64,
            actual: n as u64,
        });
    }
    let mut signatures = Vec::with_capacity(n as usize);
    let mut prev: Option<u16> = None;
    for _ in 0..n {
        let validator = r.u16("validator index")?;
        if prev.is_some_and(|p| p >= validator) {
            return Err(DecodeError::invalid(
                "validator index",
                "signatures must be strictly ascending by validator index",
            ));
        }
        prev = Some(validator);
        let signature = Signature(r.array("signature")?);
        signatures.push(ValidatorSignature {
            validator,
            signature,
        });
    }
    Ok(signatures)
}

impl Encode for CommitCertificate {
    fn encode_to(&self, out: &mut Vec<u8>) {
        match self {
            CommitCertificate::Signatures { signatures } => {
                out.put_u8(1);
                encode_signatures(out, signatures);
            }
            CommitCertificate::Finalization {
                epoch,
                view,
                parent_view,
                signatures,
            } => {
                out.put_u8(2);
                out.put_u64(*epoch);
                out.put_u64(*view);
                out.put_u64(*parent_view);
                encode_signatures(out, signatures);
            }
            CommitCertificate::Ancestor {
                headers,
                certificate,
            } => {
                out.put_u8(3);
                out.put_u16(headers.len() as u16);
                for h in headers {
                    h.encode_to(out);
                }
                certificate.encode_to(out);
            }
        }
    }
}

impl Decode for CommitCertificate {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        match r.u8("certificate kind")? {
            1 => Ok(CommitCertificate::Signatures {
                signatures: decode_signatures(r)?,
            }),
            2 => {
                let epoch = r.u64("epoch")?;
                let view = r.u64("view")?;
                let parent_view = r.u64("parent_view")?;
                Ok(CommitCertificate::Finalization {
                    epoch,
                    view,
                    parent_view,
                    signatures: decode_signatures(r)?,
                })
            }
            3 => {
                let n = r.u16("header count")? as usize;
                if n == 0 {
                    return Err(DecodeError::invalid("header count", "must not be empty"));
                }
                if n > MAX_ANCESTOR_HEADERS {
                    return Err(DecodeError::TooLarge {
                        field: "header count",
                        limit: MAX_ANCESTOR_HEADERS as u64,
                        actual: n as u64,
                    });
                }
                let mut headers = Vec::with_capacity(n);
                for _ in 0..n {
                    headers.push(BlockHeader::decode_from(r)?);
                }
                let certificate = CommitCertificate::decode_from(r)?;
                if matches!(certificate, CommitCertificate::Ancestor { .. }) {
                    return Err(DecodeError::invalid(
                        "certificate kind",
                        "ancestor certificates do not nest",
                    ));
                }
                Ok(CommitCertificate::Ancestor {
                    headers,
                    certificate: Box::new(certificate),
                })
            }
            k => Err(DecodeError::invalid(
                "certificate kind",
                format!("unknown kind {k}"),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn varint(v: u64) -> Vec<u8> {
        let mut out = Vec::new();
        put_varint(&mut out, v);
        out
    }

    #[test]
    fn varints_are_minimal_unsigned_leb128() {
        let vectors: [(u64, &[u8]); 9] = [
            (0, &[0x00]),
            (1, &[0x01]),
            (127, &[0x7f]),
            (128, &[0x80, 0x01]),
            (300, &[0xac, 0x02]),
            (16_383, &[0xff, 0x7f]),
            (16_384, &[0x80, 0x80, 0x01]),
            (u32::MAX as u64, &[0xff, 0xff, 0xff, 0xff, 0x0f]),
            (
                u64::MAX,
                &[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01],
            ),
        ];
        for (value, bytes) in vectors {
            assert_eq!(varint(value), bytes, "{value}");
        }
    }
}

/// A signed tree head: a finalized header and its certificate.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// The header (with height, log size and root, state root).
    pub header: BlockHeader,
    /// Proof of finality.
    pub certificate: CommitCertificate,
}

impl Checkpoint {
    /// Verifies the certificate over the header against `genesis` (epoch 0 only).
    pub fn verify(&self, genesis: &Genesis) -> Result<Hash, CertificateError> {
        self.verify_in(genesis, genesis)
    }

    /// Verifies the certificate over the header with the validator sets `sets` knows.
    pub fn verify_in(
        &self,
        genesis: &Genesis,
        sets: &impl ValidatorSets,
    ) -> Result<Hash, CertificateError> {
        let hash = self.header.hash(genesis.suite);
        self.certificate
            .check_epoch_in(genesis, sets, self.header.height)?;
        self.certificate.verify_in(genesis, sets, &hash)?;
        Ok(hash)
    }
}

impl Encode for Checkpoint {
    fn encode_to(&self, out: &mut Vec<u8>) {
        self.header.encode_to(out);
        self.certificate.encode_to(out);
    }
}

impl Decode for Checkpoint {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Checkpoint {
            header: BlockHeader::decode_from(r)?,
            certificate: CommitCertificate::decode_from(r)?,
        })
    }
}
