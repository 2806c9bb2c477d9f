//! The ledger's errors.

use kexin_crypto::Hash;
use kexin_merkle::ProofError;
use kexin_types::CertificateError;

use crate::store::StoreError;

/// Why a ledger operation failed. Each variant has a stable [`LedgerError::code`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LedgerError {
    /// The storage engine failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Stored data is missing or does not decode or does not agree with other stored data.
    #[error("ledger data is corrupt: {0}")]
    Corrupt(String),
    /// The store was created for another genesis.
    #[error("the store belongs to genesis {stored}, not to the given genesis {given}")]
    GenesisMismatch {
        /// The genesis hash in the store.
        stored: Hash,
        /// The hash of the genesis given to `open`.
        given: Hash,
    },
    /// The genesis given to `open` is invalid.
    #[error("invalid genesis: {0}")]
    InvalidGenesis(String),
    /// A block's timestamp is not after its parent's.
    #[error("block timestamp {proposed_ms} ms is not after the parent's {parent_ms} ms")]
    TimestampNotMonotonic {
        /// The parent's timestamp (the genesis timestamp for height 1).
        parent_ms: u64,
        /// The proposed timestamp.
        proposed_ms: u64,
    },
    /// The proposer is not a validator of this chain.
    #[error("invalid proposer: {0}")]
    InvalidProposer(String),
    /// A transaction cannot go into a block of this chain.
    #[error("transaction {index} cannot be included: {reason}")]
    InvalidTransaction {
        /// Index of the transaction in the proposed block.
        index: usize,
        /// Why.
        reason: String,
    },
    /// A transaction is already committed, or twice in the proposed block.
    #[error("transaction {0} is already in the ledger or repeated in the block")]
    DuplicateTransaction(Hash),
    /// The block exceeds a protocol limit.
    #[error("block too large: {0}")]
    BlockTooLarge(String),
    /// A block's height is beyond the next height.
    #[error("height gap: the next block is {expected}, got {got}")]
    HeightGap {
        /// The next height.
        expected: u64,
        /// The block's height.
        got: u64,
    },
    /// Another block is already committed at this height.
    #[error("block {proposed} conflicts with committed block {committed} at height {height}")]
    ConflictingBlock {
        /// The height.
        height: u64,
        /// The committed block's hash.
        committed: Hash,
        /// The offered block's hash.
        proposed: Hash,
    },
    /// A block's parent is not the head.
    #[error("block at height {height} has parent {got}, but the head is {expected}")]
    ParentMismatch {
        /// The block's height.
        height: u64,
        /// The head hash (or genesis hash).
        expected: Hash,
        /// The block's parent hash.
        got: Hash,
    },
    /// The certificate does not prove the block final.
    #[error("invalid commit certificate: {0}")]
    InvalidCertificate(#[from] CertificateError),
    /// A prepared block was altered after `prepare`, or prepared by another ledger.
    #[error("invalid prepared block: {0}")]
    InvalidPreparedBlock(String),
    /// A log size beyond the committed log.
    #[error("log size {requested} is beyond the committed log size {log_size}")]
    LogSizeOutOfRange {
        /// The size asked for.
        requested: u64,
        /// The committed log size.
        log_size: u64,
    },
    /// A proof request that makes no sense (e.g. old size above new size).
    #[error("invalid proof request: {0}")]
    InvalidProofRequest(#[from] ProofError),
    /// An earlier commit failed in the store; the ledger refuses writes until reopened,
    /// because the store may or may not hold that block.
    #[error("an earlier commit failed ({0}); reopen the ledger to resume writing")]
    NeedsReopen(String),
}

impl LedgerError {
    /// A stable, machine-readable error code.
    pub fn code(&self) -> &'static str {
        match self {
            LedgerError::Store(e) => e.code(),
            LedgerError::Corrupt(_) => "ledger_corrupt",
            LedgerError::GenesisMismatch { .. } => "genesis_mismatch",
            LedgerError::InvalidGenesis(_) => "invalid_genesis",
            LedgerError::TimestampNotMonotonic { .. } => "timestamp_not_monotonic",
            LedgerError::InvalidProposer(_) => "invalid_proposer",
            LedgerError::InvalidTransaction { .. } => "invalid_transaction",
            LedgerError::DuplicateTransaction(_) => "duplicate_transaction",
            LedgerError::BlockTooLarge(_) => "block_too_large",
            LedgerError::HeightGap { .. } => "height_gap",
            LedgerError::ConflictingBlock { .. } => "conflicting_block",
            LedgerError::ParentMismatch { .. } => "parent_mismatch",
            LedgerError::InvalidCertificate(_) => "invalid_certificate",
            LedgerError::InvalidPreparedBlock(_) => "invalid_prepared_block",
            LedgerError::LogSizeOutOfRange { .. } => "log_size_out_of_range",
            LedgerError::InvalidProofRequest(_) => "invalid_proof_request",
            LedgerError::NeedsReopen(_) => "needs_reopen",
        }
    }

    pub(crate) fn corrupt(what: impl std::fmt::Display) -> LedgerError {
        LedgerError::Corrupt(what.to_string())
    }
}
