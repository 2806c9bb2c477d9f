//! The ordering boundary of Kexin: what an ordering engine asks of the ledger
//! ([`Application`]: propose, verify, finalized), and the engines that drive it.
//!
//! The ledger side never knows which engine orders its blocks. This crate has the
//! single-validator engine, [`SoloEngine`]: the one validator proposes, verifies its own
//! block exactly as a follower would, signs the commit certificate and hands the block over as
//! finalized. The BFT network replaces it with the commonware simplex engine behind the same
//! [`Application`] interface; execution is already idempotent by height, so a block finalized
//! twice (after a crash, or from a backfill) is applied once.
//!
//! ```no_run
//! # use kexin_consensus::{Application, SoloEngine, SoloConfig, Wakeup};
//! # fn demo<A: Application>(app: A, key: kexin_crypto::SigningKey) {
//! let wakeup = Wakeup::default();
//! let engine = SoloEngine::new(SoloConfig::default(), "demo-chain", 0, key, app, wakeup.clone());
//! std::thread::spawn(move || engine.run());
//! wakeup.notify(); // after admitting a transaction
//! # }
//! ```

mod solo;

pub use solo::{SoloConfig, SoloEngine, Wakeup};

use kexin_types::{Block, CommitCertificate};

/// How much work is waiting to be ordered.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Pending {
    /// Pending transactions.
    pub txs: usize,
    /// Pending evidence records.
    pub records: usize,
}

/// The ledger side of ordering.
pub trait Application: Send + 'static {
    /// Application failures (storage, corruption). A failed `finalized` is fatal.
    type Error: std::error::Error + Send + Sync + 'static;

    /// What is waiting in the mempool.
    fn pending(&self) -> Pending;

    /// Builds the next block on top of the finalized head from pending transactions, with a
    /// timestamp of at least `now_ms` (and above the parent's). `None` when nothing valid is
    /// pending: engines never produce empty blocks.
    fn propose(&mut self, now_ms: u64) -> Result<Option<Block>, Self::Error>;

    /// Checks a proposed block as a follower would: parent, height, timestamp, signatures,
    /// re-execution and every root in the header.
    fn verify(&mut self, block: &Block) -> Result<(), Self::Error>;

    /// Applies and durably commits a finalized block. Idempotent by height. Returns only once
    /// the commit is on disk; only then may anything be acknowledged.
    fn finalized(
        &mut self,
        block: Block,
        certificate: CommitCertificate,
    ) -> Result<(), Self::Error>;
}
