//! Kexin's data types and their canonical encodings: transactions, blocks, receipts,
//! checkpoints and genesis, with the offline checks a receipt verifier needs.
//!
//! Everything here is pure: no I/O, no clocks, no randomness except when signing.
//!
//! ```
//! use kexin_crypto::{SigningKey, Suite};
//! use kexin_types::{Decode, Encode, EvidenceRecord, Payload, SealedTx, Transaction};
//! let key = SigningKey::generate(Suite::Intl);
//! use kexin_types::{RecordMetadata, Salt};
//! let record = EvidenceRecord {
//!     digest: Suite::Intl.hash(b"contract.pdf bytes"),
//!     metadata: RecordMetadata {
//!         salt: Salt([7; 16]), // random in real use (kexin-client draws it from the OS RNG)
//!         content_type: "application/pdf".into(),
//!         label: "contract.pdf".into(),
//!         external_ref: None,
//!     },
//! };
//! let tx = Transaction::sign("demo", &key, 1, Payload::Evidence { records: vec![record] });
//! let bytes = tx.encode();
//! let back = Transaction::decode(&bytes).unwrap();
//! assert!(SealedTx::new(back).verify("demo", Suite::Intl).is_ok());
//! ```

pub mod api;
mod block;
pub mod codec;
pub mod contract;
mod epoch;
mod genesis;
pub mod gov;
pub mod identity;
pub mod limits;
pub mod outcome;
pub mod protocol;
mod receipt;
pub mod signed_read;
pub mod state;
pub mod state_receipt;
pub mod time;
mod tx;

pub use block::{
    Block, BlockHeader, CertificateError, Checkpoint, CommitCertificate, ValidatorSignature,
    decode_block, finalize_signing_input, simplex_namespace,
};
pub use codec::{Decode, DecodeError, Encode};
pub use contract::{ContractAccountState, ContractAddress, ContractLog};
pub use epoch::{EpochChain, EpochLink};
pub use genesis::{
    Genesis, Validator, ValidatorSets, consensus_order, quorum_of, validate_address,
};
pub use gov::{ConsortiumState, EpochSet, GovAction, ProposalState, ProposalStatus, Vote};
pub use identity::{
    CertDer, CertState, OrgState, Organisation, Permission, Revocation, RevocationReason, Role,
};
pub use kexin_crypto::{Hash, PublicKey, Signature, Suite};
pub use kexin_merkle::{ConsistencyProof, InclusionProof, StateProof};
pub use outcome::{Event, Outcome, Status, outcomes_root};
pub use receipt::{
    BatchVerifier, CaSetProof, ProvenOutcome, RECEIPT_VERSION, RECEIPT_VERSION_3,
    RECEIPT_VERSION_5, Receipt, ReceiptError, ReceiptTx, SignerCert, SignerEvidence, TxReceipt,
    VerifiedReceipt, VerifiedTx, receipt_version_for,
};
pub use tx::{
    EvidenceRecord, MetadataError, Payload, PayloadCommitment, RecordMetadata, RecordView,
    SALT_BYTES, Salt, SealedTx, Transaction, TxError, TxSummary, decode_transaction, log_leaf_hash,
    record_leaf_hash, validate_chain_id, validate_note_text,
};

/// The format version new chains start at and transactions are signed in by default
/// ([`protocol::CURRENT`]). Decoders read every version from 3 to [`protocol::CURRENT`]; a chain
/// started at version 3 moves to 4 by a governance vote ([`GovAction::ProtocolUpgrade`]).
pub const FORMAT_VERSION: u8 = protocol::CURRENT;

/// Domain-separation prefixes of hash preimages and signature namespaces.
pub mod domains {
    /// Prefix of the transaction hash preimage.
    pub const TX_HASH: &[u8] = b"kexin:tx:v1";
    /// Prefix of a record's leaf data in its transaction's record tree (`v2`: the leaf holds
    /// the digest and the metadata hash, no longer the metadata).
    pub const RECORD_LEAF: &[u8] = b"kexin:record:v2";
    /// Prefix of a record's metadata hash preimage.
    pub const RECORD_METADATA: &[u8] = b"kexin:metadata:v1";
    /// Prefix of a transaction's leaf data in the transaction log.
    pub const LOG_LEAF: &[u8] = b"kexin:log:v1";
    /// Prefix of the block hash preimage.
    pub const BLOCK_HASH: &[u8] = b"kexin:block:v1";
    /// Prefix of the genesis hash preimage.
    pub const GENESIS_HASH: &[u8] = b"kexin:genesis:v1";
    /// Prefix of the commitment to a payload other than evidence.
    pub const PAYLOAD: &[u8] = b"kexin:payload:v1";
    /// Prefix of a state key hash preimage.
    pub const STATE_KEY: &[u8] = b"kexin:state-key:v1";
    /// Prefix of a state value hash preimage.
    pub const STATE_VALUE: &[u8] = b"kexin:state-value:v1";
    /// Prefix of a transaction outcome's leaf in its block's outcome tree.
    pub const OUTCOME: &[u8] = b"kexin:outcome:v1";
    /// Prefix of the hash of an epoch's validator set in a block header.
    pub const VALIDATORS: &[u8] = b"kexin:validators:v1";
    /// Signature namespace of transactions.
    pub const TX_SIGNATURE: &str = "kexin/tx";
    /// Signature namespace of commit certificates.
    pub const COMMIT_SIGNATURE: &str = "kexin/commit";
    /// Signature namespace of signed API reads (see [`signed_read`](crate::signed_read)).
    pub const READ_SIGNATURE: &str = "kexin:read:v1";
    /// Prefix of the `simplex` consensus namespace, followed by the chain id
    /// (see [`simplex_namespace`](crate::simplex_namespace)).
    pub const SIMPLEX_NAMESPACE_PREFIX: &str = "kexin/simplex/";
}
