//! Kexin's durable ledger: blocks, transaction log, authenticated state and indexes, committed atomically per block.
//!
//! A [`Ledger`] sits on a [`KvStore`] — [`RedbStore`] on disk, [`MemStore`] in tests — and
//! keeps, for one chain ([`kexin_types::Genesis`]):
//!
//! * the blocks and their commit certificates, by height and by hash;
//! * the RFC 6962 transaction log: every perfect-subtree node, so inclusion and consistency
//!   proofs are `O(log n)` reads, and the frontier (peaks) for appending;
//! * the authenticated state: values in the store, their hashes in an in-memory
//!   [`SparseMerkleTree`](kexin_merkle::SparseMerkleTree) rebuilt at open;
//! * indexes: transaction hash → location, evidence digest → record locations, contract →
//!   the transactions that deployed and called it.
//!
//! Everything a block changes goes into **one** atomic, durable store commit, so after a crash
//! the ledger reopens at exactly the last committed block. Writing is two steps:
//! [`Ledger::prepare`] computes the block (header, roots, all index entries) without writing,
//! and [`Ledger::commit`] writes it once consensus has certified it.
//!
//! ```
//! use std::collections::BTreeMap;
//! use std::sync::Arc;
//! use kexin_crypto::{SigningKey, Suite};
//! use kexin_ledger::{BlockEffects, Ledger, MemStore};
//! use kexin_types::{CommitCertificate, EvidenceRecord, Genesis, Outcome, Payload, SealedTx, Transaction, Validator};
//!
//! let validator = SigningKey::generate(Suite::Intl);
//! let genesis = Genesis {
//!     version: kexin_types::FORMAT_VERSION,
//!     chain_id: "demo".into(),
//!     suite: Suite::Intl,
//!     timestamp_ms: 1_700_000_000_000,
//!     organisations: vec![],
//!     validators: vec![Validator { name: "node0".into(), org: String::new(), public_key: validator.public_key(), address: String::new() }], epoch_length: 100,
//! };
//! let ledger = Ledger::open(Arc::new(MemStore::new()), genesis.clone()).unwrap();
//!
//! let client = SigningKey::generate(Suite::Intl);
//! let record = EvidenceRecord {
//!     digest: Suite::Intl.hash(b"contract.pdf bytes"),
//!     metadata: kexin_types::RecordMetadata {
//!         salt: kexin_types::Salt([7; 16]),
//!         content_type: "application/pdf".into(),
//!         label: "contract.pdf".into(),
//!         external_ref: None,
//!     },
//! };
//! let tx = SealedTx::new(Transaction::sign("demo", &client, 1, Payload::Evidence { records: vec![record] }));
//! let tx_hash = tx.hash();
//! // What the executor reports (kexin-exec): the state writes (none here, to keep the example
//! // short) and one outcome per transaction, which the header commits to (a version 5
//! // block's outcomes are of version 5).
//! let outcome = Outcome::success(11, vec![]).in_version(kexin_types::outcome::OUTCOME_VERSION_CONTRACTS);
//! let effects = BlockEffects {
//!     version: kexin_types::FORMAT_VERSION,
//!     writes: BTreeMap::new(),
//!     outcomes: vec![outcome],
//! };
//! let prepared = ledger
//!     .prepare(vec![tx], effects, 1_700_000_001_000, validator.public_key())
//!     .unwrap();
//! let cert = CommitCertificate::sign_single("demo", 0, &validator, &prepared.hash);
//! ledger.commit(prepared, &cert).unwrap();
//!
//! assert_eq!(ledger.height(), 1);
//! let receipts = ledger.receipts(&tx_hash).unwrap().unwrap();
//! let verified = receipts[0].verify(&genesis).unwrap();
//! assert!(verified.outcome.unwrap().is_success());
//! ```

mod contract_index;
mod error;
mod fjall_store;
mod ledger;
mod redb_store;
pub mod schema;
mod store;

pub use contract_index::{ContractTx, MAX_CONTRACT_TXS_PAGE};
pub use error::LedgerError;
pub use fjall_store::FjallStore;
pub use ledger::{
    BlockEffects, Head, Ledger, NoteLocation, PreparedBlock, StateProofResponse, TxLocation,
};
pub use redb_store::{DEFAULT_CACHE_BYTES, RedbStore};
pub use store::{BatchOp, Entry, KvStore, MemStore, ScanFn, StoreError, Table, WriteBatch};
