//! The ordering boundary of Kexin: what the consensus engine asks of the ledger
//! ([`Application`]: propose, verify, finalized) and the adapter that drives it from the
//! commonware engine (simplex consensus with its marshal block layer).
//!
//! The ledger side never knows which engine orders its blocks. [`driver`] implements
//! commonware's marshal `Application` over any [`Application`]; [`engine`] wires simplex,
//! marshal, block broadcast and backfill over four p2p channels. Blocks are verified
//! speculatively on top of notarized but not yet finalized parents, so consensus never waits
//! for a commit to vote; finalized blocks are committed in height order, idempotently, and
//! acknowledged to the engine only once durable.

pub mod block;
pub mod driver;
pub mod engine;
pub mod scheme;

pub use block::{BlockCfg, ChainBlock};

use kexin_crypto::{Hash, Suite};
use kexin_types::{Block, CommitCertificate};

/// How much work is waiting to be ordered.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Pending {
    /// Pending transactions.
    pub txs: usize,
    /// Pending evidence records.
    pub records: usize,
}

/// Where a block stands relative to this node's chain.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Standing {
    /// Committed here (the genesis counts, at height 0).
    Committed,
    /// Verified or proposed here, on top of the committed chain, not yet final.
    Prepared,
    /// At or below the committed height with another hash: can never be on the chain.
    Conflicting,
    /// Not seen yet.
    Unknown,
}

/// The ledger side of ordering. Methods take `&self` and may block (execution, disk): the
/// adapter calls them off the async reactor.
pub trait Application: Send + Sync + 'static {
    /// Application failures.
    type Error: std::error::Error + Send + Sync + 'static;

    /// The chain's suite.
    fn suite(&self) -> Suite;

    /// The genesis hash (the parent of block 1).
    fn genesis_hash(&self) -> Hash;

    /// Blocks per consensus epoch, fixed in genesis: epoch `e` holds heights
    /// `e × len ..= (e + 1) × len − 1`.
    fn epoch_length(&self) -> u64;

    /// The validators of consensus `epoch` once this node has committed the block that fixes
    /// them (the last block of the epoch before; genesis for epoch 0), else `None`.
    fn epoch_validators(&self, epoch: u64) -> Option<Vec<kexin_types::Validator>>;

    /// Whether governance changed the validators and the change waits for the next epoch:
    /// leaders then propose (empty) blocks at once, so the boundary comes soon on a quiet
    /// chain.
    fn epoch_change_pending(&self) -> bool {
        false
    }

    /// What is waiting in the mempool.
    fn pending(&self) -> Pending;

    /// The committed height.
    fn committed_height(&self) -> u64;

    /// Where the block `hash` at `height` stands.
    fn standing(&self, hash: &Hash, height: u64) -> Standing;

    /// Builds a block on `parent` (committed or prepared here) from pending transactions, with
    /// a timestamp of at least `now_ms`. `None` when nothing valid is pending, unless
    /// `allow_empty` and the chain above the committed head up to `parent` holds transactions:
    /// then an empty block, whose finalization finalizes them (a quiet chain would otherwise
    /// leave its notarized tip unfinalized for good once its finalize votes were lost).
    fn propose(
        &self,
        parent: &Hash,
        now_ms: u64,
        allow_empty: bool,
    ) -> Result<Option<Block>, Self::Error>;

    /// Verifies a block whose parent is committed or prepared here, as a follower: height,
    /// parent, timestamp, signatures, strict re-execution, every root in the header. On success
    /// the block is prepared.
    fn verify(&self, block: &Block) -> Result<(), Self::Error>;

    /// Whether `error` is a local failure (storage, corruption) rather than a verdict on the
    /// block: the adapter then withholds its vote instead of voting against.
    fn is_internal(error: &Self::Error) -> bool;

    /// Applies and durably commits a finalized block. Idempotent by height. Returns only once
    /// the commit is on disk; only then is the block acknowledged to the engine.
    fn finalized(&self, block: &Block, certificate: CommitCertificate) -> Result<(), Self::Error>;

    /// Why this node cannot go past its committed height (for example: the next block follows
    /// a protocol version this build does not run), if it cannot. The finalizer stops the node
    /// with this reason rather than let it fall behind or fork.
    fn halt_reason(&self) -> Option<String> {
        None
    }
}
