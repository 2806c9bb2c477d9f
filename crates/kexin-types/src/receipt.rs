//! Evidence receipts: everything needed to prove, offline, that a record was finalized.

use std::collections::BTreeSet;

use kexin_crypto::{Domain, Hash, PublicKey, Signature, Suite};
use kexin_merkle::{InclusionProof, ProofLeaf, StateProof};
use serde::{Deserialize, Serialize};

use crate::block::{BlockHeader, CertificateError, CommitCertificate};
use crate::codec::{Decode, DecodeError, Encode, Reader, Writer};
use crate::domains;
use crate::epoch::{EpochChain, EpochLink};
use crate::genesis::{Genesis, ValidatorSets};
use crate::identity::{CertDer, OrgState, Organisation};
use crate::limits::*;
use crate::outcome::Outcome;
use crate::state::{StateKey, value_hash};
use crate::tx::{
    MetadataError, Payload, PayloadCommitment, RecordView, TxSummary, log_leaf_hash,
    validate_chain_id,
};

/// The receipt format version this version writes: 4, whose receipts carry the signer's
/// certificate ([`SignerCert`]).
pub const RECEIPT_VERSION: u8 = 4;

/// The previous receipt format version (no signer certificate), still verified.
pub const RECEIPT_VERSION_3: u8 = 3;

/// The receipt format version of blocks of protocol version 4: version 4 plus the
/// transaction's outcome and its proof against the header's outcomes root
/// ([`ProvenOutcome`]). Receipts of version 3 blocks stay version 4.
pub const RECEIPT_VERSION_5: u8 = 5;

/// The receipt version for a block of header version `header_version` (version 5 for blocks
/// of versions 4 and 5: a version 5 block's outcome carries its own version byte, 5).
pub fn receipt_version_for(header_version: u8) -> u8 {
    if header_version >= crate::protocol::V4 {
        RECEIPT_VERSION_5
    } else {
        RECEIPT_VERSION
    }
}

/// A transaction's outcome with its inclusion proof in its block's outcome tree (leaf
/// [`Outcome::leaf_hash`], `leaf_index` the transaction's index in the block, `tree_size` the
/// block's `tx_count`), against the header's `outcomes_root`. JSON: the outcome's fields and
/// `proof`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProvenOutcome {
    /// The outcome.
    #[serde(flatten)]
    pub outcome: Outcome,
    /// Its proof.
    pub proof: InclusionProof,
}

/// The outcome rules shared by both receipt kinds, once the transaction is proven in the
/// block: receipts of versions 3 and 4 are of version 3 blocks and carry no outcome; a
/// version 5 receipt is of a version 4 block and proves the transaction's outcome against the
/// header's outcomes root.
fn check_outcome(
    suite: Suite,
    version: u8,
    tx_hash: &Hash,
    log_proof: &InclusionProof,
    header: &BlockHeader,
    outcome: Option<&ProvenOutcome>,
) -> Result<Option<Outcome>, ReceiptError> {
    let expected = receipt_version_for(header.version);
    let compatible =
        version == expected || (version == RECEIPT_VERSION_3 && expected == RECEIPT_VERSION);
    if !compatible {
        return Err(ReceiptError::Malformed(format!(
            "a receipt of a block of version {} is receipt version {expected}, not {version}",
            header.version
        )));
    }
    let (Some(root), Some(p)) = (header.outcomes_root, outcome) else {
        if outcome.is_some() {
            return Err(ReceiptError::Malformed(format!(
                "a receipt of version {version} carries no outcome"
            )));
        }
        if header.outcomes_root.is_some() {
            return Err(ReceiptError::OutcomeProof(
                "a receipt of a version 4 block proves the transaction's outcome".into(),
            ));
        }
        return Ok(None);
    };
    p.outcome
        .validate()
        .map_err(|e| ReceiptError::Malformed(format!("outcome: {e}")))?;
    // A block of protocol version 5 writes version 5 outcomes (with gas, return data and
    // logs); a block of version 4 writes version 4 ones.
    let outcome_version = if header.version >= crate::protocol::V5 {
        crate::outcome::OUTCOME_VERSION_CONTRACTS
    } else {
        crate::outcome::OUTCOME_VERSION
    };
    if p.outcome.version != outcome_version {
        return Err(ReceiptError::Malformed(format!(
            "a block of version {} has outcomes of version {outcome_version}, not {}",
            header.version, p.outcome.version
        )));
    }
    let first_in_block = header.log_size - header.tx_count as u64;
    let index = log_proof.leaf_index - first_in_block;
    if p.proof.tree_size != header.tx_count as u64 || p.proof.leaf_index != index {
        return Err(ReceiptError::OutcomeProof(format!(
            "proof is for leaf {} of {}, the transaction is {index} of the block's {}",
            p.proof.leaf_index, p.proof.tree_size, header.tx_count
        )));
    }
    kexin_merkle::verify_inclusion(suite, &p.outcome.leaf_hash(suite, tx_hash), &p.proof, &root)
        .map_err(|e| ReceiptError::OutcomeProof(e.to_string()))?;
    Ok(Some(p.outcome.clone()))
}

/// The signer's certificate in a version 4 receipt, and what proves its issuing CA from the
/// genesis when the genesis does not list that CA.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignerCert {
    /// The X.509 DER of the certificate the transaction names: its id
    /// (`H("kexin:cert:v1" || DER)`) is the transaction's `cert`.
    pub cert: CertDer,
    /// Absent when a CA of the certificate's organisation in the genesis issued it. Present
    /// when the issuing CA was added after genesis (`add_ca`, or an organisation admitted by
    /// governance): the organisation's CA-set entry, proven in the state of a finalized block
    /// at or after the receipt's block.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_set: Option<CaSetProof>,
}

/// An organisation's CA set ([`StateKey::Org`]) proven against the state root of a finalized
/// header.
///
/// The rule: `header.height` is at least the receipt's block height; `certificate` proves
/// `header` final (with the receipt's epoch links, which then run up to `header`'s epoch);
/// `proof` proves that state key `Org(org_state.org.name)` holds the canonical encoding of
/// `org_state` under `header.state_root`. A node keeps only its newest state, so it proves the
/// entry at its head; an organisation's CA set only grows while it is a member (`add_ca`
/// appends), and the transaction's execution already required its certificate's CA to be one
/// of the organisation's at the receipt's block.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaSetProof {
    /// The organisation's CA-set entry.
    pub org_state: OrgState,
    /// Its state proof against `header.state_root`.
    pub proof: StateProof,
    /// A finalized header at or after the receipt's block.
    pub header: BlockHeader,
    /// `header`'s commit certificate.
    pub certificate: CommitCertificate,
}

/// What a version 4 receipt establishes about its signer's certificate before the X.509
/// check: the certificate is the one the transaction names, and the CAs it must chain to. The
/// X.509 check itself (issuer, signature, validity at `at_ms`, profile, and that the
/// certificate certifies `signer`) is `kexin_client::identify_signer`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SignerEvidence {
    /// The certificate id (the transaction's `cert`).
    pub cert_id: Hash,
    /// The certificate's DER.
    pub cert: CertDer,
    /// The organisation as proven in the chain's state (its name and CAs), when the receipt
    /// carries a CA-set proof; `None`: the genesis organisation the certificate names.
    pub proven_org: Option<Organisation>,
    /// The height of the header the CA set was proven at.
    pub proven_at: Option<u64>,
    /// The transaction's signer: the certificate must certify this key.
    pub signer: PublicKey,
    /// The block's timestamp: the certificate and its CA must be valid then.
    pub at_ms: u64,
}

/// The transaction part of a receipt: the signed summary, its hash and signature.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReceiptTx {
    /// The transaction hash (recomputed and compared by the verifier).
    pub hash: Hash,
    /// The signed summary.
    #[serde(flatten)]
    pub summary: TxSummary,
    /// The signer's signature over `hash`.
    pub signature: Signature,
}

/// A receipt for one evidence record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Receipt {
    /// Receipt format version: [`RECEIPT_VERSION`] (4) as written now, or 3.
    pub version: u8,
    /// The chain's id.
    pub chain_id: String,
    /// The chain's suite.
    pub suite: Suite,
    /// The record: digest and metadata hash always, the metadata when disclosed to the holder
    /// (the owning organisation's readers, auditors, the writer that recorded it).
    pub record: RecordView,
    /// The record's inclusion proof in the transaction's record tree (`leaf_index` is the
    /// record's index, `tree_size` the transaction's record count).
    pub record_proof: InclusionProof,
    /// The transaction.
    pub transaction: ReceiptTx,
    /// The transaction's inclusion proof in the log, against `header.log_root`.
    pub log_proof: InclusionProof,
    /// The block hash (recomputed and compared by the verifier).
    pub block_hash: Hash,
    /// The block header.
    pub header: BlockHeader,
    /// The block's commit certificate.
    pub certificate: CommitCertificate,
    /// The validator sets of consensus epochs `1 ..=` the block's epoch, each certified by the
    /// epoch before (empty for a block of epoch 0): what lets the certificate be checked
    /// offline from the genesis alone after governance changed the validators. Links beyond
    /// the block's epoch are allowed (each is verified); a CA-set proof at a later epoch's
    /// header needs them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub epochs: Vec<EpochLink>,
    /// Version 4: the signer's certificate, on a chain with organisations (absent on an open
    /// chain and in version 3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signer_cert: Option<SignerCert>,
    /// Version 5: the transaction's outcome and its proof (a record receipt needs `success`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<ProvenOutcome>,
}

/// What a successful verification established.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct VerifiedReceipt {
    /// The record's digest.
    pub digest: Hash,
    /// The hash of the record's metadata.
    pub metadata_hash: Hash,
    /// Whether the receipt carried the metadata (it was then checked against
    /// `metadata_hash`).
    pub metadata_checked: bool,
    /// The transaction hash.
    pub tx_hash: Hash,
    /// The block height.
    pub height: u64,
    /// The block hash.
    pub block_hash: Hash,
    /// The block timestamp (milliseconds since the Unix epoch).
    pub timestamp_ms: u64,
    /// Version 4 on a chain with organisations: the signer's certificate, for the X.509
    /// check (`kexin_client::identify_signer`).
    pub signer: Option<SignerEvidence>,
    /// Version 5: the transaction's proven outcome (a `success`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outcome: Option<Outcome>,
}

/// Why a receipt does not verify. Each variant has a stable [`ReceiptError::code`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ReceiptError {
    /// The receipt is for another chain.
    #[error("receipt is for chain {actual:?} but the genesis is for {expected:?}")]
    WrongChain {
        /// Genesis chain id.
        expected: String,
        /// Receipt chain id.
        actual: String,
    },
    /// The receipt's suite differs from the chain's.
    #[error("receipt suite {actual} does not match the chain's suite {expected}")]
    WrongSuite {
        /// Genesis suite.
        expected: Suite,
        /// Receipt suite.
        actual: Suite,
    },
    /// The receipt is malformed (limits, versions, fields that disagree).
    #[error("malformed receipt: {0}")]
    Malformed(String),
    /// The metadata does not hash to the record's metadata hash (it was altered, or belongs
    /// to another record).
    #[error("record metadata does not match: {0}")]
    MetadataMismatch(String),
    /// The data does not hash to the record's digest.
    #[error("the data's {hash} digest {actual} does not match the record's digest {expected}")]
    DigestMismatch {
        /// Hash function name.
        hash: &'static str,
        /// The record's digest.
        expected: Hash,
        /// The data's digest.
        actual: Hash,
    },
    /// The record is not in the transaction's record tree.
    #[error("record proof does not verify against the transaction's records root: {0}")]
    RecordProof(String),
    /// The transaction hash in the receipt is not the hash of its summary.
    #[error("transaction hash {claimed} does not match the transaction's contents ({computed})")]
    TxHashMismatch {
        /// The hash in the receipt.
        claimed: Hash,
        /// The recomputed hash.
        computed: Hash,
    },
    /// The signer's signature does not verify.
    #[error("the transaction signature does not verify for signer {0}")]
    TxSignature(String),
    /// The transaction is not in the log at the header's root.
    #[error("log proof does not verify against the block's log root: {0}")]
    LogProof(String),
    /// The block hash in the receipt is not the hash of its header.
    #[error("block hash {claimed} does not match the header ({computed})")]
    BlockHashMismatch {
        /// The hash in the receipt.
        claimed: Hash,
        /// The recomputed hash.
        computed: Hash,
    },
    /// The payload carried by a transaction receipt is not the one the transaction commits to.
    #[error("payload does not match: {0}")]
    PayloadMismatch(String),
    /// The certificate does not prove the block final.
    #[error("commit certificate invalid: {0}")]
    Certificate(#[from] CertificateError),
    /// The header's proposer is not a validator of the block's epoch.
    #[error("the block's proposer {proposer} is not a validator of epoch {epoch}")]
    UnknownProposer {
        /// The proposer's key (hex).
        proposer: String,
        /// The block's epoch.
        epoch: u64,
    },
    /// The signer's certificate is missing, is not the one the transaction names, or does not
    /// chain to its organisation's CA.
    #[error("signer certificate: {0}")]
    SignerCert(String),
    /// The CA-set proof does not prove the organisation's CAs.
    #[error("CA-set proof: {0}")]
    CaSetProof(String),
    /// The outcome is missing or not the one the block's header commits to.
    #[error("outcome proof does not verify against the block's outcomes root: {0}")]
    OutcomeProof(String),
    /// The transaction is in the block but failed: its records were not attested.
    #[error("the transaction failed ({code}: {message}): its records were not attested")]
    TxFailed {
        /// The failure code.
        code: String,
        /// Why.
        message: String,
    },
}

impl ReceiptError {
    /// A stable, machine-readable error code.
    pub fn code(&self) -> &'static str {
        match self {
            ReceiptError::WrongChain { .. } => "wrong_chain",
            ReceiptError::WrongSuite { .. } => "wrong_suite",
            ReceiptError::Malformed(_) => "malformed_receipt",
            ReceiptError::DigestMismatch { .. } => "digest_mismatch",
            ReceiptError::MetadataMismatch(_) => "metadata_mismatch",
            ReceiptError::RecordProof(_) => "bad_record_proof",
            ReceiptError::TxHashMismatch { .. } => "tx_hash_mismatch",
            ReceiptError::TxSignature(_) => "bad_signature",
            ReceiptError::LogProof(_) => "bad_log_proof",
            ReceiptError::BlockHashMismatch { .. } => "block_hash_mismatch",
            ReceiptError::PayloadMismatch(_) => "payload_mismatch",
            ReceiptError::Certificate(_) => "bad_certificate",
            ReceiptError::UnknownProposer { .. } => "unknown_proposer",
            ReceiptError::SignerCert(_) => "bad_signer_cert",
            ReceiptError::CaSetProof(_) => "bad_ca_proof",
            ReceiptError::OutcomeProof(_) => "bad_outcome_proof",
            ReceiptError::TxFailed { .. } => "tx_failed",
        }
    }
}

/// Checks shared by both receipt kinds: chain, suite and version of the envelope.
fn check_envelope(
    genesis: &Genesis,
    version: u8,
    chain_id: &str,
    suite: Suite,
    tx: &ReceiptTx,
    header: &BlockHeader,
) -> Result<(), ReceiptError> {
    if chain_id != genesis.chain_id || tx.summary.chain_id != genesis.chain_id {
        return Err(ReceiptError::WrongChain {
            expected: genesis.chain_id.clone(),
            actual: if chain_id != genesis.chain_id {
                chain_id.to_owned()
            } else {
                tx.summary.chain_id.clone()
            },
        });
    }
    for actual in [suite, tx.summary.signer.suite(), header.proposer.suite()] {
        if actual != genesis.suite {
            return Err(ReceiptError::WrongSuite {
                expected: genesis.suite,
                actual,
            });
        }
    }
    if !(RECEIPT_VERSION_3..=RECEIPT_VERSION_5).contains(&version) {
        return Err(ReceiptError::Malformed(format!(
            "unsupported receipt version {version} (this verifier reads 3 to 5)"
        )));
    }
    Ok(())
}

/// The version rules of the signer certificate, before anything is hashed: version 3 carries
/// none; version 4 carries one exactly when the chain has organisations, and it is the
/// certificate the transaction names.
fn check_signer_cert(
    genesis: &Genesis,
    version: u8,
    tx: &ReceiptTx,
    signer_cert: Option<&SignerCert>,
) -> Result<(), ReceiptError> {
    match (version, signer_cert) {
        (RECEIPT_VERSION_3, None) => return Ok(()),
        (RECEIPT_VERSION_3, Some(_)) => {
            return Err(ReceiptError::Malformed(
                "a version 3 receipt carries no signer_cert".into(),
            ));
        }
        _ => {}
    }
    let Some(sc) = signer_cert else {
        if genesis.is_permissioned() {
            return Err(ReceiptError::SignerCert(
                "a version 4 receipt of a chain with organisations carries the signer's certificate (signer_cert)"
                    .into(),
            ));
        }
        return Ok(());
    };
    if !genesis.is_permissioned() {
        return Err(ReceiptError::Malformed(
            "a receipt of a chain without organisations carries no signer_cert".into(),
        ));
    }
    sc.cert
        .check_len("signer certificate")
        .map_err(|e| ReceiptError::Malformed(e.to_string()))?;
    let id = sc.cert.id(genesis.suite);
    match tx.summary.cert {
        None => Err(ReceiptError::SignerCert(
            "the transaction names no certificate".into(),
        )),
        Some(named) if named != id => Err(ReceiptError::SignerCert(format!(
            "the receipt's certificate has id {id}, the transaction names {named}"
        ))),
        Some(_) => Ok(()),
    }
}

/// After the block is proven final: the proposer is one of its epoch's validators, and the
/// CA-set proof (if any) holds. Returns what the X.509 check needs.
fn check_proposer_and_signer(
    genesis: &Genesis,
    chain: &EpochChain<'_>,
    tx: &ReceiptTx,
    header: &BlockHeader,
    signer_cert: Option<&SignerCert>,
) -> Result<Option<SignerEvidence>, ReceiptError> {
    let epoch = genesis.epoch_of(header.height);
    let keys = chain
        .epoch_keys(epoch)
        .ok_or(CertificateError::UnknownEpoch(epoch))?;
    if !keys.contains(&header.proposer) {
        return Err(ReceiptError::UnknownProposer {
            proposer: header.proposer.to_hex(),
            epoch,
        });
    }
    let Some(sc) = signer_cert else {
        return Ok(None);
    };
    let mut evidence = SignerEvidence {
        cert_id: sc.cert.id(genesis.suite),
        cert: sc.cert.clone(),
        proven_org: None,
        proven_at: None,
        signer: tx.summary.signer,
        at_ms: header.timestamp_ms,
    };
    if let Some(p) = &sc.ca_set {
        let bad = |why: String| ReceiptError::CaSetProof(why);
        if p.header.height < header.height {
            return Err(bad(format!(
                "proven at height {}, before the receipt's block {}",
                p.header.height, header.height
            )));
        }
        p.org_state
            .org
            .validate()
            .map_err(|e| bad(format!("organisation: {e}")))?;
        let hash = p.header.hash(genesis.suite);
        p.certificate
            .check_epoch_in(genesis, chain, p.header.height)
            .and_then(|()| p.certificate.verify_in(genesis, chain, &hash))
            .map_err(|e| bad(format!("the header at height {}: {e}", p.header.height)))?;
        let key = StateKey::Org(p.org_state.org.name.clone()).hash(genesis.suite);
        let value = value_hash(genesis.suite, &p.org_state.encode());
        kexin_merkle::verify_state_proof(
            genesis.suite,
            &p.header.state_root,
            &key,
            Some(&value),
            &p.proof,
        )
        .map_err(|e| bad(e.to_string()))?;
        evidence.proven_org = Some(p.org_state.org.clone());
        evidence.proven_at = Some(p.header.height);
    }
    Ok(Some(evidence))
}

/// Checks shared by both receipt kinds: the transaction hash and signature, the transaction's
/// place in the log of `header`, and the header hash. Returns the transaction hash.
fn check_tx_in_block(
    genesis: &Genesis,
    tx: &ReceiptTx,
    log_proof: &InclusionProof,
    header: &BlockHeader,
    block_hash: &Hash,
) -> Result<Hash, ReceiptError> {
    let suite = genesis.suite;
    // The transaction hash and the signer's signature.
    let tx_hash = tx.summary.hash();
    if tx_hash != tx.hash {
        return Err(ReceiptError::TxHashMismatch {
            claimed: tx.hash,
            computed: tx_hash,
        });
    }
    let signer = tx.summary.signer;
    signer
        .verify(
            &Domain::new(domains::TX_SIGNATURE, &genesis.chain_id),
            tx_hash.as_bytes(),
            &tx.signature,
        )
        .map_err(|_| ReceiptError::TxSignature(signer.to_hex()))?;

    // The transaction is in the log whose root the header commits to, among the block's own
    // transactions.
    if log_proof.tree_size != header.log_size {
        return Err(ReceiptError::LogProof(format!(
            "proof is for a log of {} transactions, the header's log has {}",
            log_proof.tree_size, header.log_size
        )));
    }
    let first_in_block = header
        .log_size
        .checked_sub(header.tx_count as u64)
        .ok_or_else(|| {
            ReceiptError::Malformed(format!(
                "header tx_count {} exceeds its log_size {}",
                header.tx_count, header.log_size
            ))
        })?;
    if log_proof.leaf_index < first_in_block {
        return Err(ReceiptError::LogProof(format!(
            "transaction is at log index {}, before this block's first transaction {first_in_block}",
            log_proof.leaf_index
        )));
    }
    let leaf = log_leaf_hash(suite, &tx_hash, &tx.signature);
    kexin_merkle::verify_inclusion(suite, &leaf, log_proof, &header.log_root)
        .map_err(|e| ReceiptError::LogProof(e.to_string()))?;

    // The header hash.
    let computed = header.hash(suite);
    if computed != *block_hash {
        return Err(ReceiptError::BlockHashMismatch {
            claimed: *block_hash,
            computed,
        });
    }
    Ok(tx_hash)
}

/// The certificate check shared by both receipt kinds: the epoch links from the genesis, the
/// certificate's epoch against the block's height (and the kind 1 rule), a quorum of that
/// epoch's validators, the proposer's membership and the signer's CA-set proof.
fn check_certified(
    genesis: &Genesis,
    epochs: &[EpochLink],
    certificate: &CommitCertificate,
    tx: &ReceiptTx,
    header: &BlockHeader,
    block_hash: &Hash,
    signer_cert: Option<&SignerCert>,
) -> Result<Option<SignerEvidence>, ReceiptError> {
    let chain = EpochChain::verify(genesis, epochs)?;
    certificate.check_epoch_in(genesis, &chain, header.height)?;
    certificate.verify_in(genesis, &chain, block_hash)?;
    check_proposer_and_signer(genesis, &chain, tx, header, signer_cert)
}

impl Receipt {
    /// Checks everything except the certificate; returns the block hash it needs.
    fn verify_without_certificate(
        &self,
        genesis: &Genesis,
    ) -> Result<VerifiedReceipt, ReceiptError> {
        self.check_envelope(genesis)?;
        check_signer_cert(
            genesis,
            self.version,
            &self.transaction,
            self.signer_cert.as_ref(),
        )?;
        let suite = genesis.suite;
        // 1. Disclosed metadata is within the limits and hashes to the metadata hash.
        self.record.check_metadata(suite).map_err(|e| match e {
            MetadataError::Limits(e) => ReceiptError::Malformed(e.to_string()),
            e => ReceiptError::MetadataMismatch(e.to_string()),
        })?;

        // 2. The record (digest and metadata hash) is leaf `record_proof.leaf_index` of the transaction's record tree.
        let PayloadCommitment::Evidence {
            record_count,
            records_root,
        } = self.transaction.summary.payload
        else {
            return Err(ReceiptError::Malformed(
                "an evidence receipt's transaction must be an evidence transaction".into(),
            ));
        };
        if self.record_proof.tree_size != record_count as u64 {
            return Err(ReceiptError::RecordProof(format!(
                "proof is for {} records, the transaction has {record_count}",
                self.record_proof.tree_size
            )));
        }
        kexin_merkle::verify_inclusion(
            suite,
            &self.record.leaf_hash(suite),
            &self.record_proof,
            &records_root,
        )
        .map_err(|e| ReceiptError::RecordProof(e.to_string()))?;

        // 3-5. The transaction hash and signature, its place in the log, the header hash.
        let tx_hash = check_tx_in_block(
            genesis,
            &self.transaction,
            &self.log_proof,
            &self.header,
            &self.block_hash,
        )?;
        // 6. Version 5: the transaction's outcome, which must be a success.
        let outcome = check_outcome(
            suite,
            self.version,
            &tx_hash,
            &self.log_proof,
            &self.header,
            self.outcome.as_ref(),
        )?;
        if let Some(o) = &outcome
            && !o.is_success()
        {
            return Err(ReceiptError::TxFailed {
                code: o.code.clone().unwrap_or_default(),
                message: o.message.clone().unwrap_or_default(),
            });
        }
        Ok(VerifiedReceipt {
            outcome,
            digest: self.record.digest,
            metadata_hash: self.record.metadata_hash,
            metadata_checked: self.record.metadata.is_some(),
            tx_hash,
            height: self.header.height,
            block_hash: self.block_hash,
            timestamp_ms: self.header.timestamp_ms,
            signer: None,
        })
    }

    /// Verifies the receipt against the chain's genesis alone: record proof, transaction hash
    /// and signature, log proof, header hash, the epoch links, and a quorum certificate of the
    /// block's epoch.
    ///
    /// For a version 4 receipt it also checks that the signer's certificate is the one the
    /// transaction names and the CA-set proof, if any; the X.509 check of the certificate
    /// against its CA is `kexin_client::identify_signer` on [`VerifiedReceipt::signer`].
    pub fn verify(&self, genesis: &Genesis) -> Result<VerifiedReceipt, ReceiptError> {
        let mut v = self.verify_without_certificate(genesis)?;
        v.signer = check_certified(
            genesis,
            &self.epochs,
            &self.certificate,
            &self.transaction,
            &self.header,
            &v.block_hash,
            self.signer_cert.as_ref(),
        )?;
        Ok(v)
    }

    /// The envelope checks alone (chain, suite, version): what a verifier can refuse before
    /// hashing a file, so a receipt of another chain is `wrong_chain` whatever the data.
    pub fn check_envelope(&self, genesis: &Genesis) -> Result<(), ReceiptError> {
        check_envelope(
            genesis,
            self.version,
            &self.chain_id,
            self.suite,
            &self.transaction,
            &self.header,
        )
    }

    /// Verifies the receipt and that `data` hashes to the record's digest.
    pub fn verify_data(
        &self,
        genesis: &Genesis,
        data_digest: &Hash,
    ) -> Result<VerifiedReceipt, ReceiptError> {
        // The envelope (chain, suite, version) first: a receipt of another chain is
        // `wrong_chain` whatever the data.
        self.check_envelope(genesis)?;
        if *data_digest != self.record.digest {
            return Err(ReceiptError::DigestMismatch {
                hash: genesis.suite.hash_name(),
                expected: self.record.digest,
                actual: *data_digest,
            });
        }
        self.verify(genesis)
    }

    /// The same receipt without the record's metadata (digest, metadata hash and proofs
    /// stay): what a node serves to a requester who may not see the metadata.
    pub fn withheld(mut self) -> Receipt {
        self.record.withhold();
        self
    }

    /// Parses a receipt JSON document.
    pub fn from_json(json: &str) -> Result<Receipt, ReceiptError> {
        serde_json::from_str(json)
            .map_err(|e| ReceiptError::Malformed(format!("not a receipt JSON document: {e}")))
    }

    /// Pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("receipt serializes")
    }
}

/// A receipt for a whole transaction of any kind (a governance proposal or vote, a
/// certificate revocation, a CA addition, an audit note, or an evidence batch): everything
/// needed to prove, offline and from the genesis alone, that the transaction was finalized.
///
/// In a block of protocol version 3 every transaction took effect (one that fails its checks
/// is refused and never enters the block), so a verified receipt of version 3 or 4 also proves
/// the transaction took effect at that height. From protocol version 4 a transaction may be
/// included as `failed`: its receipt (version 5) proves its outcome, `success` or `failed`,
/// with its events. JSON is its exchange form.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TxReceipt {
    /// Receipt format version: [`RECEIPT_VERSION`] (4) as written now, or 3.
    pub version: u8,
    /// The chain's id.
    pub chain_id: String,
    /// The chain's suite.
    pub suite: Suite,
    /// The transaction.
    pub transaction: ReceiptTx,
    /// The payload, when disclosed to the holder; the verifier checks it against the
    /// summary's payload commitment. Withheld where the payload is private (the records of an
    /// evidence transaction to a requester who may not read their metadata, an audit note's
    /// text to anyone but an auditor); the summary still commits to it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload: Option<Payload>,
    /// The transaction's inclusion proof in the log, against `header.log_root`.
    pub log_proof: InclusionProof,
    /// The block hash (recomputed and compared by the verifier).
    pub block_hash: Hash,
    /// The block header.
    pub header: BlockHeader,
    /// The block's commit certificate.
    pub certificate: CommitCertificate,
    /// The validator sets of consensus epochs `1 ..=` the block's epoch (see
    /// [`Receipt::epochs`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub epochs: Vec<EpochLink>,
    /// Version 4: the signer's certificate (see [`Receipt::signer_cert`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signer_cert: Option<SignerCert>,
    /// Version 5: the transaction's outcome and its proof (see [`ProvenOutcome`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<ProvenOutcome>,
}

/// What a successful [`TxReceipt::verify`] established.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct VerifiedTx {
    /// The transaction hash.
    pub tx_hash: Hash,
    /// The payload kind's name (`vote`, `propose`, `revoke_cert`, ...).
    pub kind: &'static str,
    /// Whether the receipt carried the payload (it was then checked against the commitment).
    pub payload_checked: bool,
    /// The block height.
    pub height: u64,
    /// The block hash.
    pub block_hash: Hash,
    /// The block timestamp (milliseconds since the Unix epoch).
    pub timestamp_ms: u64,
    /// Version 4 on a chain with organisations: the signer's certificate, for the X.509
    /// check (`kexin_client::identify_signer`).
    pub signer: Option<SignerEvidence>,
    /// Version 5: the transaction's proven outcome (`success` or `failed`, with its events).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outcome: Option<Outcome>,
}

impl TxReceipt {
    /// Verifies the receipt against the chain's genesis alone: the payload (if carried)
    /// against the transaction's commitment, the transaction hash and signature, the log
    /// proof, the header hash, the epoch links and a quorum certificate of the block's epoch.
    pub fn verify(&self, genesis: &Genesis) -> Result<VerifiedTx, ReceiptError> {
        check_envelope(
            genesis,
            self.version,
            &self.chain_id,
            self.suite,
            &self.transaction,
            &self.header,
        )?;
        check_signer_cert(
            genesis,
            self.version,
            &self.transaction,
            self.signer_cert.as_ref(),
        )?;
        let commitment = &self.transaction.summary.payload;
        if let Some(payload) = &self.payload {
            payload
                .validate()
                .map_err(|e| ReceiptError::Malformed(format!("payload: {e}")))?;
            let computed = payload.commitment(genesis.suite);
            if computed != *commitment {
                return Err(ReceiptError::PayloadMismatch(format!(
                    "the {} payload does not hash to the transaction's payload commitment",
                    payload.kind_name()
                )));
            }
        }
        let tx_hash = check_tx_in_block(
            genesis,
            &self.transaction,
            &self.log_proof,
            &self.header,
            &self.block_hash,
        )?;
        let outcome = check_outcome(
            genesis.suite,
            self.version,
            &tx_hash,
            &self.log_proof,
            &self.header,
            self.outcome.as_ref(),
        )?;
        let signer = check_certified(
            genesis,
            &self.epochs,
            &self.certificate,
            &self.transaction,
            &self.header,
            &self.block_hash,
            self.signer_cert.as_ref(),
        )?;
        Ok(VerifiedTx {
            tx_hash,
            kind: commitment.kind_name(),
            payload_checked: self.payload.is_some(),
            height: self.header.height,
            block_hash: self.block_hash,
            timestamp_ms: self.header.timestamp_ms,
            signer,
            outcome,
        })
    }

    /// The same receipt without the payload (the summary still commits to it).
    pub fn withheld(mut self) -> TxReceipt {
        self.payload = None;
        self
    }

    /// Parses a transaction receipt JSON document.
    pub fn from_json(json: &str) -> Result<TxReceipt, ReceiptError> {
        serde_json::from_str(json).map_err(|e| {
            ReceiptError::Malformed(format!("not a transaction receipt JSON document: {e}"))
        })
    }

    /// Pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("transaction receipt serializes")
    }
}

/// Verifies many receipts, checking each block's certificate once.
pub struct BatchVerifier<'g> {
    genesis: &'g Genesis,
    certified: BTreeSet<Hash>,
    epochs: EpochChain<'g>,
}

impl<'g> BatchVerifier<'g> {
    /// A verifier for receipts of `genesis`'s chain.
    pub fn new(genesis: &'g Genesis) -> Self {
        BatchVerifier {
            genesis,
            certified: BTreeSet::new(),
            epochs: EpochChain::new(genesis),
        }
    }

    /// Verifies one receipt; the certificate of a block already seen is not checked again,
    /// as long as the certificate bytes are the same ones.
    pub fn verify(&mut self, receipt: &Receipt) -> Result<VerifiedReceipt, ReceiptError> {
        let mut v = receipt.verify_without_certificate(self.genesis)?;
        // Epoch links already verified are only compared; new ones extend the chain.
        for link in &receipt.epochs {
            self.epochs.extend(link)?;
        }
        receipt
            .certificate
            .check_epoch_in(self.genesis, &self.epochs, receipt.header.height)?;
        // Key the cache by block hash *and* certificate so a receipt carrying a forged
        // certificate for an already-seen block is still checked.
        let key = self
            .genesis
            .suite
            .hash_parts(&[v.block_hash.as_bytes(), &receipt.certificate.encode()]);
        if !self.certified.contains(&key) {
            receipt
                .certificate
                .verify_in(self.genesis, &self.epochs, &v.block_hash)?;
            self.certified.insert(key);
        }
        v.signer = check_proposer_and_signer(
            self.genesis,
            &self.epochs,
            &receipt.transaction,
            &receipt.header,
            receipt.signer_cert.as_ref(),
        )?;
        Ok(v)
    }
}

fn encode_proof(out: &mut Vec<u8>, p: &InclusionProof) {
    out.put_u64(p.leaf_index);
    out.put_u64(p.tree_size);
    out.put_u8(p.path.len() as u8);
    for h in &p.path {
        out.extend_from_slice(h.as_bytes());
    }
}

fn decode_proof(r: &mut Reader<'_>, field: &'static str) -> Result<InclusionProof, DecodeError> {
    let leaf_index = r.u64(field)?;
    let tree_size = r.u64(field)?;
    let n = r.u8(field)? as u32;
    if n > MAX_PROOF_PATH {
        return Err(DecodeError::TooLarge {
            field,
            limit: MAX_PROOF_PATH as u64,
            actual: n as u64,
        });
    }
    let mut path = Vec::with_capacity(n as usize);
    for _ in 0..n {
        path.push(r.hash(field)?);
    }
    Ok(InclusionProof {
        leaf_index,
        tree_size,
        path,
    })
}

/// Appends a state proof: `u16 n || n × hash || u8 has_leaf || [key || value_hash]`.
fn encode_state_proof(out: &mut Vec<u8>, p: &StateProof) {
    out.put_u16(p.siblings.len() as u16);
    for h in &p.siblings {
        out.extend_from_slice(h.as_bytes());
    }
    match &p.leaf {
        None => out.put_u8(0),
        Some(l) => {
            out.put_u8(1);
            out.extend_from_slice(l.key.as_bytes());
            out.extend_from_slice(l.value_hash.as_bytes());
        }
    }
}

fn decode_state_proof(r: &mut Reader<'_>) -> Result<StateProof, DecodeError> {
    let n = r.u16("state proof siblings")? as usize;
    if n > kexin_merkle::SMT_MAX_DEPTH {
        return Err(DecodeError::TooLarge {
            field: "state proof siblings",
            limit: kexin_merkle::SMT_MAX_DEPTH as u64,
            actual: n as u64,
        });
    }
    let mut siblings = Vec::with_capacity(n);
    for _ in 0..n {
        siblings.push(r.hash("state proof sibling")?);
    }
    let leaf = if r.flag("state proof leaf")? {
        Some(ProofLeaf {
            key: r.hash("state proof leaf key")?,
            value_hash: r.hash("state proof leaf value hash")?,
        })
    } else {
        None
    };
    Ok(StateProof { siblings, leaf })
}

/// `u32 len || Outcome || inclusion proof`: the section version 5 appends.
fn encode_outcome(out: &mut Vec<u8>, p: Option<&ProvenOutcome>) {
    let Some(p) = p else {
        out.put_u32(0);
        return;
    };
    let bytes = p.outcome.encode();
    out.put_u32(bytes.len() as u32);
    out.extend_from_slice(&bytes);
    encode_proof(out, &p.proof);
}

fn decode_outcome(r: &mut Reader<'_>) -> Result<Option<ProvenOutcome>, DecodeError> {
    let len = r.u32("outcome length")? as usize;
    if len == 0 {
        return Ok(None);
    }
    if len > MAX_TX_BYTES {
        return Err(DecodeError::TooLarge {
            field: "outcome",
            limit: MAX_TX_BYTES as u64,
            actual: len as u64,
        });
    }
    let outcome = Outcome::decode(r.take("outcome", len)?)?;
    let proof = decode_proof(r, "outcome proof")?;
    Ok(Some(ProvenOutcome { outcome, proof }))
}

/// `u8 has_signer_cert || [u16 len || DER || u8 has_ca_set || [OrgState || state proof ||
/// header || certificate]]`: the section version 4 appends.
fn encode_signer_cert(out: &mut Vec<u8>, sc: Option<&SignerCert>) {
    let Some(sc) = sc else {
        out.put_u8(0);
        return;
    };
    out.put_u8(1);
    sc.cert.put(out);
    match &sc.ca_set {
        None => out.put_u8(0),
        Some(p) => {
            out.put_u8(1);
            p.org_state.encode_to(out);
            encode_state_proof(out, &p.proof);
            p.header.encode_to(out);
            p.certificate.encode_to(out);
        }
    }
}

fn decode_signer_cert(r: &mut Reader<'_>) -> Result<Option<SignerCert>, DecodeError> {
    if !r.flag("signer_cert tag")? {
        return Ok(None);
    }
    let cert = CertDer::read(r, "signer certificate")?;
    let ca_set = if r.flag("ca_set tag")? {
        Some(CaSetProof {
            org_state: OrgState::decode_from(r)?,
            proof: decode_state_proof(r)?,
            header: BlockHeader::decode_from(r)?,
            certificate: CommitCertificate::decode_from(r)?,
        })
    } else {
        None
    };
    Ok(Some(SignerCert { cert, ca_set }))
}

/// Binary form: `version || u8 suite || str8 chain_id || record view (digest, metadata hash,
/// optional metadata) || record proof || tx summary || signature || log proof || header ||
/// certificate || u32 n || n × epoch link`, and in version 4 the signer section
/// (`u8 0`, or `u8 1 || u16 len || DER || u8 0`, or `u8 1 || u16 len || DER || u8 1 ||
/// OrgState || state proof || header || certificate`). The two hashes of the JSON form are
/// not encoded; they are recomputed.
impl Encode for Receipt {
    fn encode_to(&self, out: &mut Vec<u8>) {
        out.put_u8(self.version);
        out.put_u8(self.suite.tag());
        out.put_str8(&self.chain_id);
        self.record.encode_to(out);
        encode_proof(out, &self.record_proof);
        self.transaction.summary.encode_to(out);
        out.extend_from_slice(&self.transaction.signature.0);
        encode_proof(out, &self.log_proof);
        self.header.encode_to(out);
        self.certificate.encode_to(out);
        out.put_u32(self.epochs.len() as u32);
        for link in &self.epochs {
            link.encode_to(out);
        }
        if self.version != RECEIPT_VERSION_3 {
            encode_signer_cert(out, self.signer_cert.as_ref());
        }
        if self.version >= RECEIPT_VERSION_5 {
            encode_outcome(out, self.outcome.as_ref());
        }
    }
}

impl Decode for Receipt {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let version = r.u8("receipt version")?;
        if !(RECEIPT_VERSION_3..=RECEIPT_VERSION_5).contains(&version) {
            return Err(DecodeError::invalid(
                "receipt version",
                format!("unsupported version {version}"),
            ));
        }
        let tag = r.u8("suite")?;
        let suite = Suite::from_tag(tag)
            .ok_or_else(|| DecodeError::invalid("suite", format!("unknown suite tag {tag}")))?;
        let chain_id = r.str8("chain_id", MAX_CHAIN_ID_BYTES)?;
        validate_chain_id(&chain_id)?;
        let record = RecordView::decode_from(r)?;
        let record_proof = decode_proof(r, "record proof")?;
        let summary = TxSummary::decode_from(r)?;
        let signature = Signature(r.array("signature")?);
        let log_proof = decode_proof(r, "log proof")?;
        let header = BlockHeader::decode_from(r)?;
        let certificate = CommitCertificate::decode_from(r)?;
        let n = r.count("epoch links", MAX_EPOCH_LINKS, true)?;
        let mut epochs = Vec::with_capacity(n.min(1024) as usize);
        for _ in 0..n {
            epochs.push(EpochLink::decode_from(r)?);
        }
        let signer_cert = if version == RECEIPT_VERSION_3 {
            None
        } else {
            decode_signer_cert(r)?
        };
        let outcome = if version >= RECEIPT_VERSION_5 {
            decode_outcome(r)?
        } else {
            None
        };
        Ok(Receipt {
            outcome,
            version,
            chain_id,
            suite,
            record,
            record_proof,
            transaction: ReceiptTx {
                hash: summary.hash(),
                summary,
                signature,
            },
            log_proof,
            block_hash: header.hash(suite),
            header,
            certificate,
            epochs,
            signer_cert,
        })
    }
}
