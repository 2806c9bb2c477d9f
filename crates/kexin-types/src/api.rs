//! JSON shapes of the REST API (`/v1/...`), shared by the server and the client SDK.

use kexin_crypto::{Hash, PublicKey, Signature, Suite};
use kexin_merkle::{ConsistencyProof, StateProof};
use serde::{Deserialize, Serialize};

use crate::block::{BlockHeader, Checkpoint, CommitCertificate};
use crate::epoch::{EpochChain, EpochLink};
use crate::genesis::Genesis;
use crate::identity::CertDer;
use crate::receipt::{Receipt, ReceiptError};
use crate::state::{EvidenceState, NonceState, RecordLocation};
use crate::tx::{Payload, RecordView, Transaction, WITHHELD};

/// Every API error body: `{"code": "...", "message": "..."}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiError {
    /// A stable, machine-readable code (`bad_signature`, `nonce_replayed`, `not_found`, ...).
    pub code: String,
    /// A human-readable explanation.
    pub message: String,
}

/// `POST /v1/transactions` body.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SubmitRequest {
    /// The canonical transaction encoding, hex.
    pub tx: String,
}

/// `POST /v1/transactions` answer (202 Accepted).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubmitResponse {
    /// The transaction hash.
    pub hash: Hash,
    /// `pending` (accepted into the mempool) or `committed` (already final).
    pub status: TxState,
}

/// `POST /v1/transactions/batch` body: up to 4,096 transactions, admitted in order.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SubmitBatchRequest {
    /// Canonical transaction encodings, hex.
    pub txs: Vec<String>,
}

/// One transaction's outcome in a batch: `status` when admitted, `error` (the code and message
/// `POST /v1/transactions` would have answered) when refused. `hash` is absent only when the
/// item does not decode.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchItemResult {
    /// The transaction hash.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hash: Option<Hash>,
    /// `pending` when admitted (or already pending).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<TxState>,
    /// Why it was refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ApiError>,
}

/// `POST /v1/transactions/batch` answer (200): one result per transaction, in request order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubmitBatchResponse {
    /// Results, in the order of the request's `txs`.
    pub results: Vec<BatchItemResult>,
    /// How many were admitted.
    pub accepted: usize,
}

/// Where a transaction stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TxState {
    /// In the mempool, not yet final.
    Pending,
    /// Final: in a committed block.
    Committed,
    /// Dropped by this node: it can never be applied (`error` says why, e.g. `cert_revoked`
    /// for a certificate revoked after the transaction was admitted, or `nonce_replayed`).
    Rejected,
    /// Admitted, but this node can no longer include it (`error` says why: `unavailable`
    /// when its consensus engine stopped). Another node that has it may still.
    Dropped,
}

/// `GET /v1/transactions/{hash}/status`: where a transaction stands, without its body.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TxStatusResponse {
    /// The transaction hash.
    pub hash: Hash,
    /// Pending or committed.
    pub status: TxState,
    /// Block height, when committed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub height: Option<u64>,
    /// Index in the block, when committed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tx_index: Option<u32>,
    /// Index in the transaction log, when committed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_index: Option<u64>,
    /// Why it was rejected, when rejected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ApiError>,
}

impl TxStatusResponse {
    /// A pending transaction.
    pub fn pending(hash: Hash) -> Self {
        TxStatusResponse {
            hash,
            status: TxState::Pending,
            height: None,
            tx_index: None,
            log_index: None,
            error: None,
        }
    }

    /// A transaction this node dropped, with why.
    pub fn rejected(hash: Hash, code: String, message: String) -> Self {
        TxStatusResponse {
            hash,
            status: TxState::Rejected,
            height: None,
            tx_index: None,
            log_index: None,
            error: Some(ApiError { code, message }),
        }
    }

    /// A pending transaction this node can no longer include, with why.
    pub fn dropped(hash: Hash, code: String, message: String) -> Self {
        TxStatusResponse {
            status: TxState::Dropped,
            ..Self::rejected(hash, code, message)
        }
    }

    /// A committed transaction at a location.
    pub fn committed(hash: Hash, height: u64, tx_index: u32, log_index: u64) -> Self {
        TxStatusResponse {
            hash,
            status: TxState::Committed,
            height: Some(height),
            tx_index: Some(tx_index),
            log_index: Some(log_index),
            error: None,
        }
    }
}

/// `GET /v1/transactions/{hash}`: the status fields and the transaction.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TxResponse {
    /// Where it stands (flattened into the same JSON object).
    #[serde(flatten)]
    pub status: TxStatusResponse,
    /// The transaction, its records' metadata withheld unless the requester may see it.
    pub transaction: TxView,
    /// What it did, once committed: `success` or `failed` (with `code` and `message`), its
    /// cost and events.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<TxOutcomeView>,
    /// A contract transaction's call and logs decoded with the ABIs published with the
    /// contracts' deployments (absent when nothing could be decoded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decoded: Option<DecodedContractTx>,
}

/// A field of a decoded call or event: its name in the ABI and its value as text (numbers in
/// decimal, addresses checksummed, bytes `0x` hex, strings quoted, arrays `[..]`, tuples
/// `(..)`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DecodedField {
    /// The parameter's name (empty when the ABI does not name it).
    pub name: String,
    /// Its Solidity type.
    #[serde(rename = "type")]
    pub ty: String,
    /// Its value as text.
    pub value: String,
}

/// A contract call's calldata decoded with the contract's ABI.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DecodedCall {
    /// The function's name.
    pub function: String,
    /// Its signature, e.g. `transfer(address,uint256)`.
    pub signature: String,
    /// Its arguments.
    pub args: Vec<DecodedField>,
}

/// A log decoded with the emitting contract's ABI.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DecodedEvent {
    /// The event's name.
    pub event: String,
    /// Its signature, e.g. `Transfer(address,address,uint256)`.
    pub signature: String,
    /// Its fields, in the order the event declares them.
    pub fields: Vec<DecodedField>,
}

/// What the ABIs published with contracts decode of a contract transaction.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DecodedContractTx {
    /// The call (a `contract_call` to a contract with a published ABI).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub call: Option<DecodedCall>,
    /// The outcome's logs in order, each decoded with its emitting contract's ABI (`null`
    /// where none decodes it).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub logs: Vec<Option<DecodedEvent>>,
}

/// A committed transaction's outcome as the API shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TxOutcomeView {
    /// The outcome.
    #[serde(flatten)]
    pub outcome: crate::Outcome,
    /// Whether the block's header commits to it (protocol version 4), so that the
    /// transaction's receipt proves it. A version 3 block commits to no outcome: every
    /// transaction in it took effect, and its events are those this node's execution reported
    /// (none for a block stored by a build before outcomes existed).
    pub committed: bool,
}

/// A transaction as the API shows it: like [`Transaction`]'s JSON, except that each evidence
/// record is a [`RecordView`] (digest and metadata hash, and the metadata only for a
/// requester allowed to see it).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TxView {
    /// The format version (omitted when 3).
    #[serde(
        default = "crate::protocol::v3",
        skip_serializing_if = "crate::protocol::is_v3"
    )]
    pub version: u8,
    /// The chain the transaction is for.
    pub chain_id: String,
    /// Who signed it.
    pub signer: PublicKey,
    /// Its nonce.
    pub nonce: u64,
    /// The certificate it was signed under.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cert: Option<Hash>,
    /// What it does.
    pub payload: PayloadView,
    /// The certificate attached to it (its first use).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attached_cert: Option<CertDer>,
    /// The signature.
    pub signature: Signature,
}

impl TxView {
    /// The view of `tx`: with its records' metadata if `disclose`, without otherwise.
    pub fn new(tx: &Transaction, disclose: bool) -> TxView {
        let suite = tx.signer.suite();
        let payload = match &tx.payload {
            Payload::Evidence { records } => PayloadView::Evidence {
                records: records
                    .iter()
                    .map(|r| {
                        if disclose {
                            r.disclosed(suite)
                        } else {
                            r.withheld(suite)
                        }
                    })
                    .collect(),
            },
            Payload::AuditNote { subject, .. } if !disclose => {
                PayloadView::WithheldNote { subject: *subject }
            }
            other => PayloadView::Other(other.clone()),
        };
        TxView {
            version: tx.version,
            chain_id: tx.chain_id.clone(),
            signer: tx.signer,
            nonce: tx.nonce,
            cert: tx.cert,
            payload,
            attached_cert: tx.attached_cert.clone(),
            signature: tx.signature,
        }
    }

    /// The evidence records (none for other payloads).
    pub fn records(&self) -> &[RecordView] {
        match &self.payload {
            PayloadView::Evidence { records } => records,
            PayloadView::Other(_) | PayloadView::WithheldNote { .. } => &[],
        }
    }

    /// The whole transaction, when every record's metadata (or the note's text) is
    /// disclosed, or it carries none; `None` when something is withheld.
    pub fn transaction(&self) -> Option<Transaction> {
        let payload = match &self.payload {
            PayloadView::Evidence { records } => Payload::Evidence {
                records: records
                    .iter()
                    .map(RecordView::record)
                    .collect::<Option<Vec<_>>>()?,
            },
            PayloadView::Other(p) => p.clone(),
            PayloadView::WithheldNote { .. } => return None,
        };
        Some(Transaction {
            version: self.version,
            chain_id: self.chain_id.clone(),
            signer: self.signer,
            nonce: self.nonce,
            cert: self.cert,
            payload,
            attached_cert: self.attached_cert.clone(),
            signature: self.signature,
        })
    }
}

/// A payload as the API shows it: evidence records as [`RecordView`]s, any other payload as
/// it is. JSON: `{"type": "evidence", "records": [...]}`, or the [`Payload`] JSON.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PayloadView {
    /// Evidence (kind 1).
    Evidence {
        /// The records, in order.
        records: Vec<RecordView>,
    },
    /// An audit note whose text is withheld (shown to auditors and to readers of the
    /// auditor's organisation only). JSON: `{"type": "audit_note", "subject": ..., "text":
    /// "withheld"}`.
    WithheldNote {
        /// What the note is about.
        subject: Hash,
    },
    /// Any other payload, which holds no private data.
    Other(Payload),
}

impl Serialize for PayloadView {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Evidence<'a> {
            r#type: &'static str,
            records: &'a [RecordView],
        }
        #[derive(Serialize)]
        struct Note<'a> {
            r#type: &'static str,
            subject: &'a Hash,
            text: &'static str,
        }
        match self {
            PayloadView::Evidence { records } => Evidence {
                r#type: "evidence",
                records,
            }
            .serialize(s),
            PayloadView::WithheldNote { subject } => Note {
                r#type: "audit_note",
                subject,
                text: WITHHELD,
            }
            .serialize(s),
            PayloadView::Other(p) => p.serialize(s),
        }
    }
}

impl<'de> Deserialize<'de> for PayloadView {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<PayloadView, D::Error> {
        use serde::de::Error as _;
        let value = serde_json::Value::deserialize(d)?;
        if value.get("type").and_then(|t| t.as_str()) == Some("evidence") {
            let records = value
                .get("records")
                .cloned()
                .ok_or_else(|| D::Error::missing_field("records"))?;
            let records = Vec::<RecordView>::deserialize(records).map_err(D::Error::custom)?;
            return Ok(PayloadView::Evidence { records });
        }
        if value.get("type").and_then(|t| t.as_str()) == Some("audit_note")
            && value.get("text").and_then(|t| t.as_str()) == Some(WITHHELD)
        {
            let subject = value
                .get("subject")
                .cloned()
                .ok_or_else(|| D::Error::missing_field("subject"))?;
            let subject = Hash::deserialize(subject).map_err(D::Error::custom)?;
            return Ok(PayloadView::WithheldNote { subject });
        }
        Payload::deserialize(value)
            .map(PayloadView::Other)
            .map_err(D::Error::custom)
    }
}

/// `GET /v1/transactions/{hash}/receipts`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ReceiptsResponse {
    /// The transaction hash.
    pub tx_hash: Hash,
    /// One receipt per evidence record, in record order.
    pub receipts: Vec<Receipt>,
}

/// `GET /v1/audit-notes/{subject}`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AuditNotesResponse {
    /// The subject.
    pub subject: Hash,
    /// The notes about it, oldest first (at most the page limit).
    pub notes: Vec<AuditNoteEntry>,
}

/// One audit note.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AuditNoteEntry {
    /// The note's transaction (its receipt is at `/v1/transactions/{tx_hash}/receipt`).
    pub tx_hash: Hash,
    /// Block height.
    pub height: u64,
    /// Index of the transaction in its block.
    pub tx_index: u32,
    /// The block's timestamp (milliseconds since the Unix epoch).
    pub timestamp_ms: u64,
    /// The auditor's organisation, from the certificate registry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub org: Option<String>,
    /// The certificate the note was written under.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cert: Option<Hash>,
    /// The note's text; `"withheld"` for anyone but auditors and readers of the auditor's
    /// organisation.
    #[serde(with = "note_text")]
    pub text: Option<String>,
}

mod note_text {
    use serde::{Deserialize, Deserializer, Serializer};

    use super::WITHHELD;

    pub fn serialize<S: Serializer>(t: &Option<String>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(t.as_deref().unwrap_or(WITHHELD))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
        let t = String::deserialize(d)?;
        Ok((t != WITHHELD).then_some(t))
    }
}

/// `GET /v1/blocks/{height|hash|latest}`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct BlockResponse {
    /// The block hash.
    pub hash: Hash,
    /// The header.
    pub header: BlockHeader,
    /// The commit certificate.
    pub certificate: CommitCertificate,
    /// Hashes of the block's transactions, in order.
    pub transactions: Vec<Hash>,
}

/// One record found by digest.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct EvidenceEntry {
    /// Where it is.
    pub location: RecordLocation,
    /// Its transaction.
    pub tx_hash: Hash,
    /// Who signed it.
    pub signer: PublicKey,
    /// The block's timestamp.
    pub timestamp_ms: u64,
    /// The record: digest and metadata hash, and the metadata if the requester may see it.
    pub record: RecordView,
}

/// `GET /v1/evidence/{digest}`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct EvidenceResponse {
    /// The digest.
    pub digest: Hash,
    /// Every record with that digest, oldest first (at most the page limit).
    pub records: Vec<EvidenceEntry>,
}

/// `GET /v1/checkpoint`: the latest signed tree head, with the epoch links that let it be
/// checked from the genesis alone.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CheckpointResponse {
    /// The block hash.
    pub block_hash: Hash,
    /// The header: height, log size and root, state root.
    pub header: BlockHeader,
    /// The certificate.
    pub certificate: CommitCertificate,
    /// The links of epochs `1 ..=` the head's epoch (empty in epoch 0), as in receipts.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub epochs: Vec<EpochLink>,
}

impl CheckpointResponse {
    /// Verifies the checkpoint from the genesis alone: the epoch links, then the certificate
    /// over the header by a quorum of its epoch's validators, and that `block_hash` is the
    /// header's hash. Returns the block hash.
    pub fn verify(&self, genesis: &Genesis) -> Result<Hash, ReceiptError> {
        let chain = EpochChain::verify(genesis, &self.epochs)?;
        let checkpoint = Checkpoint {
            header: self.header.clone(),
            certificate: self.certificate.clone(),
        };
        let hash = checkpoint.verify_in(genesis, &chain)?;
        if hash != self.block_hash {
            return Err(ReceiptError::BlockHashMismatch {
                claimed: self.block_hash,
                computed: hash,
            });
        }
        Ok(hash)
    }
}

/// `GET /v1/proofs/consistency?from=M&to=N`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ConsistencyResponse {
    /// Root of the log at size `from`.
    pub old_root: Hash,
    /// Root of the log at size `to`.
    pub new_root: Hash,
    /// The proof.
    pub proof: ConsistencyProof,
}

/// The decoded value of a state key.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum StateValue {
    /// A signer's nonce record.
    Nonce(NonceState),
    /// A digest's evidence entry.
    Evidence(EvidenceState),
    /// An organisation's CA set (changed since genesis).
    Org(crate::OrgState),
    /// A certificate registry entry.
    Cert(crate::CertState),
    /// A governance proposal.
    Proposal(crate::ProposalState),
    /// The consortium's members and parameters.
    Consortium(crate::ConsortiumState),
    /// The validators of a consensus epoch.
    Epoch(crate::EpochSet),
}

/// `GET /v1/state/nonce/{public-key}` and `GET /v1/state/evidence/{digest}`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct StateProofResponse {
    /// The key's hash (its position in the tree).
    pub key_hash: Hash,
    /// The decoded value, or null when absent.
    pub value: Option<StateValue>,
    /// The value's canonical bytes, hex, or null when absent.
    pub value_hex: Option<String>,
    /// Membership proof (value present) or absence proof.
    pub proof: StateProof,
    /// The state root the proof is against (the head's).
    pub state_root: Hash,
    /// The head height.
    pub height: u64,
}

/// `GET /v1/chain`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ChainInfo {
    /// The chain id.
    pub chain_id: String,
    /// The suite.
    pub suite: Suite,
    /// The genesis hash.
    pub genesis_hash: Hash,
    /// The genesis document.
    pub genesis: Genesis,
    /// Current height (0 before the first block).
    pub height: u64,
    /// The consensus epoch of the next block.
    #[serde(default)]
    pub epoch: u64,
    /// The last height of that epoch: validator changes passed by governance take effect
    /// after it.
    #[serde(default)]
    pub epoch_last_height: u64,
    /// The validators of that epoch.
    #[serde(default)]
    pub validators: Vec<crate::Validator>,
    /// The protocol version of the next block (see [`crate::protocol`]): transactions
    /// submitted now use it.
    #[serde(default = "crate::protocol::v3")]
    pub protocol_version: u8,
    /// The protocol upgrades the organisations voted, in force or to come.
    #[serde(default)]
    pub protocol_upgrades: Vec<crate::protocol::Upgrade>,
    /// The protocol versions the answering node's build runs.
    #[serde(default)]
    pub protocol_supported: Vec<u8>,
}

/// `GET /v1/epochs/{epoch}`: a consensus epoch's validators, with the link that proves them
/// from the genesis (for epochs after the first).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct EpochResponse {
    /// The epoch.
    pub epoch: u64,
    /// Its first height (0, the genesis, for epoch 0).
    pub first_height: u64,
    /// Its last height.
    pub last_height: u64,
    /// Its validators.
    pub validators: Vec<crate::Validator>,
    /// The link: the set, the previous epoch's last header committing to it, and that
    /// header's certificate. Absent for epoch 0 (the genesis's validators).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<crate::EpochLink>,
}

/// `GET /v1/health`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct HealthResponse {
    /// `ok` when the node serves requests.
    pub status: String,
    /// Current height.
    pub height: u64,
    /// Transactions waiting in the mempool.
    pub mempool: u64,
    /// `validator` or `observer`.
    #[serde(default)]
    pub role: String,
    /// Peers heard from (consensus votes) in the last 10 seconds.
    #[serde(default)]
    pub peers: u64,
    /// Certificates expiring within the node's warning window (`pki.expiry_warning_days`),
    /// soonest first; omitted when none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub expiring: Vec<ExpiringCert>,
    /// Whether the node is ready: its engine runs and, if it validates, it hears from a
    /// quorum of validators. `GET /v1/health/ready` answers 503 while this is false.
    #[serde(default)]
    pub ready: bool,
    /// Why it is not ready (empty when ready).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reasons: Vec<String>,
    /// Validators of the current epoch heard from in the last 10 seconds, itself included.
    #[serde(default)]
    pub validators_online: u64,
    /// Validators of the current epoch.
    #[serde(default)]
    pub validators_total: u64,
}

/// One certificate of the registry (`GET /v1/certs`).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CertEntry {
    /// The certificate id, `H("kexin:cert:v1" || DER)`.
    pub id: Hash,
    /// What the chain recorded.
    #[serde(flatten)]
    pub state: crate::CertState,
}

/// `GET /v1/certs[?org=ORG][&limit=N]`: registered certificates, in id order.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CertListResponse {
    /// The committed height the list is read at.
    pub height: u64,
    /// The certificates.
    pub certs: Vec<CertEntry>,
}

/// A CA certificate of an organisation.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CaEntry {
    /// The CA certificate's id.
    pub id: Hash,
    /// Its DER, hex.
    pub cert: crate::CertDer,
}

/// An organisation as it stands (`GET /v1/orgs`).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct OrgInfo {
    /// Its name.
    pub name: String,
    /// Its CA certificates now.
    pub ca_certs: Vec<CaEntry>,
    /// The validators it operates, as governance left them (they validate from the epoch
    /// after the change).
    pub validators: Vec<String>,
    /// The height its CA set last changed (absent: as in genesis).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<u64>,
}

/// `GET /v1/orgs`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct OrgListResponse {
    /// The committed height the list is read at.
    pub height: u64,
    /// The organisations.
    pub orgs: Vec<OrgInfo>,
}

/// A certificate that expires within the node's warning window (in `GET /v1/health`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExpiringCert {
    /// `ca`, a role name (`admin`, `writer`, ...) for a registered certificate, or `this node`
    /// for the answering node's own certificate.
    pub kind: String,
    /// The organisation.
    pub org: String,
    /// The holder (`CN`).
    pub name: String,
    /// The certificate id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<Hash>,
    /// End of validity, ms since the Unix epoch.
    pub not_after_ms: u64,
    /// Whole days left (negative once expired).
    pub days_left: i64,
    /// Whether it has expired.
    pub expired: bool,
}

/// One proposal (`GET /v1/gov/proposals`).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ProposalEntry {
    /// The proposal id (the proposing transaction's hash).
    pub id: Hash,
    /// `open`, `passed`, `rejected` or `expired`, at the node's clock.
    pub state: String,
    /// What the chain recorded.
    pub proposal: crate::ProposalState,
}

/// `GET /v1/gov/proposals[?limit=N]`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ProposalListResponse {
    /// The committed height the list is read at.
    pub height: u64,
    /// The proposals, in id order.
    pub proposals: Vec<ProposalEntry>,
}

/// A governable parameter and its value (`GET /v1/gov/consortium`).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ParamValue {
    /// The parameter's name.
    pub name: String,
    /// Its value now.
    pub value: u64,
    /// Its default.
    pub default: u64,
    /// What it means.
    pub doc: String,
}

/// `GET /v1/gov/consortium`: member organisations, parameters and the votes a proposal needs.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ConsortiumResponse {
    /// The committed height.
    pub height: u64,
    /// Member organisations, by name.
    pub members: Vec<String>,
    /// Every governable parameter.
    pub params: Vec<ParamValue>,
    /// Yes votes a proposal needs to pass now.
    pub votes_needed: usize,
}

/// A committed block in lists and the event stream (`GET /v1/blocks`, event `block`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlockSummary {
    /// Its height.
    pub height: u64,
    /// Its hash.
    pub hash: Hash,
    /// The proposer's timestamp, ms since the Unix epoch.
    pub timestamp_ms: u64,
    /// The proposing validator's key.
    pub proposer: PublicKey,
    /// The proposing validator's name, when it is a validator of the genesis or of the
    /// current epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proposer_name: Option<String>,
    /// Transactions in it.
    pub tx_count: u32,
    /// Evidence records in it.
    pub records: u64,
}

/// `GET /v1/blocks[?limit=N][&cursor=C]`: committed blocks, newest first.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct BlockListResponse {
    /// The committed height the list is read at.
    pub height: u64,
    /// The blocks.
    pub blocks: Vec<BlockSummary>,
    /// Pass as `cursor` for the next (older) page; absent at the first block.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// A committed transaction in lists and the event stream (`GET /v1/transactions`, event
/// `transaction`). Public facts only: kind, signer and counts, never payload contents.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TxSummaryEntry {
    /// The transaction hash.
    pub hash: Hash,
    /// The block it is in.
    pub height: u64,
    /// Its position in the block.
    pub index: u32,
    /// The block's timestamp, ms since the Unix epoch.
    pub timestamp_ms: u64,
    /// The payload kind: `evidence`, `revoke_cert`, `add_ca`, `propose`, `vote` or
    /// `audit_note`.
    pub kind: String,
    /// The signer's key.
    pub signer: PublicKey,
    /// The signer's certificate id, if it signed under one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cert: Option<Hash>,
    /// The certificate's organisation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub org: Option<String>,
    /// Evidence records (0 for other kinds).
    pub records: u64,
}

/// `GET /v1/transactions[?limit=N][&cursor=C]`: committed transactions, newest first.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TxListResponse {
    /// The committed height the list is read at.
    pub height: u64,
    /// The transactions.
    pub transactions: Vec<TxSummaryEntry>,
    /// Pass as `cursor` for the next (older) page; absent at the first transaction.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// A governance transaction in the event stream (event `governance`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GovernanceEvent {
    /// The transaction hash (for a proposal, the proposal id).
    pub tx_hash: Hash,
    /// The block it is in.
    pub height: u64,
    /// `propose`, `vote`, `revoke_cert` or `add_ca`.
    pub kind: String,
    /// The proposal a vote is on, or the proposal itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proposal: Option<Hash>,
    /// What a proposal does (`add_org`, `set_param`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
    /// A vote's direction.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approve: Option<bool>,
    /// The signer's organisation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub org: Option<String>,
}

/// An event a module emitted for a committed transaction (event `event` of the stream; see
/// [`crate::Event`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModuleEvent {
    /// The transaction that emitted it.
    pub tx_hash: Hash,
    /// Its block.
    pub height: u64,
    /// The transaction's index in the block.
    pub tx_index: u32,
    /// The module (`evidence`, `identity`, `governance`, `epoch`, `audit`).
    pub module: String,
    /// What happened (`records_attested`, `certificate_revoked`, `proposal_passed`, ...).
    pub topic: String,
    /// Details by name.
    #[serde(default)]
    pub attributes: std::collections::BTreeMap<String, String>,
    /// The organisation of the transaction's signer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub org: Option<String>,
}

/// Committed work in one time bucket of `GET /v1/stats`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatsBucket {
    /// The bucket's start, ms since the Unix epoch (block timestamps at or after it, before
    /// the next bucket's start).
    pub start_ms: u64,
    /// Blocks.
    pub blocks: u64,
    /// Transactions.
    pub transactions: u64,
    /// Evidence records.
    pub records: u64,
}

/// `GET /v1/stats[?window_s=S][&bucket_s=B]`: committed blocks, transactions and records per
/// time bucket over the last `window_s` seconds, by block timestamp.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct StatsResponse {
    /// The committed height.
    pub height: u64,
    /// The node's clock when answering, ms since the Unix epoch.
    pub now_ms: u64,
    /// The window, seconds.
    pub window_s: u64,
    /// The bucket width, seconds.
    pub bucket_s: u64,
    /// The buckets, oldest first; the last one ends at `now_ms`.
    pub buckets: Vec<StatsBucket>,
    /// Transactions in the window.
    pub transactions: u64,
    /// Evidence records in the window.
    pub records: u64,
    /// Blocks in the window.
    pub blocks: u64,
    /// Whether older blocks in the window were left out (more than the scan limit).
    #[serde(default)]
    pub truncated: bool,
}

/// A validator of the current epoch as the answering node sees it (`GET /v1/validators`).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ValidatorEntry {
    /// Its name.
    pub name: String,
    /// Its organisation.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub org: String,
    /// Its consensus key.
    pub public_key: PublicKey,
    /// Its on-chain address, if governance set one.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub address: String,
    /// Whether the answering node heard its consensus votes in the last 10 seconds (always
    /// true for the answering node itself).
    pub online: bool,
    /// Whether it is the answering node.
    pub is_self: bool,
    /// Milliseconds since the answering node last heard from it (absent: never, or itself).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_seen_ms: Option<u64>,
}

/// `GET /v1/validators`: the current epoch's validators and which are online.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ValidatorsResponse {
    /// The committed height.
    pub height: u64,
    /// The epoch of the next block.
    pub epoch: u64,
    /// Validators online.
    pub online: u64,
    /// Validators in the epoch.
    pub total: u64,
    /// Votes a block needs.
    pub quorum: u64,
    /// The validators, in the epoch's order.
    pub validators: Vec<ValidatorEntry>,
}

/// `GET /v1/contracts/{address}`: a contract account.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContractResponse {
    /// The address.
    pub address: crate::ContractAddress,
    /// `keccak256` of its code.
    pub code_hash: Hash,
    /// The size of its code, in bytes (0 for a signer's account).
    pub code_size: u64,
    /// The contracts it created.
    pub nonce: u64,
    /// Whether the consortium froze it.
    pub frozen: bool,
    /// The height of the block that created it (0 for a signer's account).
    pub created_at: u64,
    /// The organisation of the identity that deployed it (empty on an open chain).
    pub creator_org: String,
    /// The transaction that deployed it (absent for a signer's account, or a contract another
    /// contract created).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deploy_tx: Option<Hash>,
    /// The deploying signer's address (`msg.sender` of the deployment).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployer: Option<crate::ContractAddress>,
    /// The certificate the deployment was signed under (consortium chains).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployer_cert: Option<Hash>,
    /// The JSON ABI published with the deployment (payload kind 9), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub abi: Option<serde_json::Value>,
    /// The committed height this answer reads.
    pub height: u64,
}

/// `GET /v1/names/{name}`: the contract the consortium named `name` (governance action
/// `name_contract`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContractNameResponse {
    /// The name.
    pub name: String,
    /// The contract it names.
    pub contract: crate::ContractAddress,
    /// The committed height this answer reads.
    pub height: u64,
}

/// One transaction that deployed or called a contract.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContractTxEntry {
    /// The transaction.
    pub tx_hash: Hash,
    /// Its block.
    pub height: u64,
    /// Its index in the block.
    pub tx_index: u32,
    /// `contract_deploy` or `contract_call`.
    pub kind: String,
    /// The signer's address (`msg.sender`).
    pub from: crate::ContractAddress,
    /// The signer's organisation (consortium chains).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub org: Option<String>,
    /// `success` or `failed`.
    pub status: crate::Status,
    /// Why it failed (`contract_reverted`, `out_of_gas`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// The gas it used.
    pub gas_used: u64,
    /// A call's function selector, `0x` and 8 hex digits (absent for a deployment, or
    /// calldata shorter than 4 bytes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selector: Option<String>,
    /// A call decoded with the contract's published ABI.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub call: Option<DecodedCall>,
}

/// `GET /v1/contracts/{address}/transactions`: a page of the transactions that deployed or
/// called a contract, newest first.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContractTxsResponse {
    /// The contract.
    pub contract: crate::ContractAddress,
    /// The transactions, newest first.
    pub transactions: Vec<ContractTxEntry>,
    /// Pass as `before` for the next (older) page; absent on the last page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_before: Option<u64>,
    /// The committed height this answer reads.
    pub height: u64,
}

/// `POST /v1/contracts/{address}/query`: a read-only call.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContractQueryRequest {
    /// The ABI calldata (selector and arguments), `0x` hex. Leave it out to name a
    /// `function` of the contract's published ABI instead.
    #[serde(default, with = "crate::contract::hex0x")]
    pub input: Vec<u8>,
    /// A function of the ABI published with the contract's deployment, by name; the node
    /// encodes the call from `args` and decodes the answer into `decoded`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub function: Option<String>,
    /// The arguments of `function`, as text (decimal or `0x` numbers, `0x` bytes and
    /// addresses, `true`/`false`, `[a, b]` arrays, `(a, b)` tuples, strings as they are).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub args: Vec<String>,
    /// The caller (`msg.sender`): the zero address when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<crate::ContractAddress>,
    /// Most gas the call may use (at most, and by default, the chain's `contract.tx_gas_limit`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gas_limit: Option<u64>,
}

/// The answer of a read-only call.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContractQueryResponse {
    /// `success`, or `failed` (it reverted, ran out of gas or halted).
    pub status: crate::Status,
    /// Why it failed: `contract_reverted`, `out_of_gas` or `contract_halted`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// Why it failed, for people (a revert's decoded reason).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The gas it used.
    pub gas_used: u64,
    /// What it returned (a revert's data when it reverted), `0x` hex.
    #[serde(with = "crate::contract::hex0x")]
    pub return_data: Vec<u8>,
    /// For a call by `function`, what it returned decoded with the published ABI: the single
    /// return value, or an object of the values by name. Integers are decimal strings, bytes
    /// `0x` hex, structs objects by field name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decoded: Option<serde_json::Value>,
    /// The committed height of the state it read.
    pub height: u64,
}
