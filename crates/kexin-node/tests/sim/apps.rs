//! The applications validators run in the simulation: [`Observed`], an honest [`LedgerApp`]
//! that records every verdict it gives, and [`Tamperer`], a Byzantine one that proposes blocks
//! the honest validators must refuse.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, PoisonError};

use kexin_consensus::{Application, Pending, Standing};
use kexin_crypto::{Hash, PublicKey, SigningKey, Suite};
use kexin_exec::{ExecError, TxRejection};
use kexin_ledger::Ledger;
use kexin_node::{BlockError, LedgerApp};
use kexin_types::{Block, CommitCertificate, EvidenceRecord, Payload, Transaction};

/// Locks a mutex, ignoring poisoning (a panic is reported by the runtime anyway).
pub fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// What a refusal was about, as far as the simulation can tell from the error.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum RefusalKind {
    /// Re-execution gives another state root.
    StateRoot,
    /// A transaction's signature does not verify.
    BadSignature,
    /// A transaction reuses a committed nonce.
    NonceReplayed,
    /// Anything else.
    Other,
}

/// A block an honest validator refused.
#[derive(Clone, Debug)]
pub struct Refusal {
    /// Its hash.
    pub hash: Hash,
    /// Its height.
    pub height: u64,
    /// Its parent.
    pub parent: Hash,
    /// What the error was about.
    pub kind: RefusalKind,
    /// The error.
    pub message: String,
    /// Where the block stood right after the refusal, and the committed height then.
    pub standing_after: (Standing, u64),
}

/// Every verdict of one honest validator, across restarts.
#[derive(Debug, Default)]
pub struct Verdicts {
    /// Blocks verified successfully.
    pub accepted: BTreeSet<Hash>,
    /// Blocks refused.
    pub refused: Vec<Refusal>,
    /// Verifications that failed locally (not a verdict on the block; the driver retries).
    pub internal_failures: usize,
}

fn classify(error: &BlockError) -> RefusalKind {
    match error {
        BlockError::BadHeader(m) if m.contains("state_root") => RefusalKind::StateRoot,
        BlockError::BadTransaction { .. } => RefusalKind::BadSignature,
        BlockError::Exec(ExecError::InvalidTransaction { reason, .. })
            if matches!(**reason, TxRejection::NonceReplayed { .. }) =>
        {
            RefusalKind::NonceReplayed
        }
        _ => RefusalKind::Other,
    }
}

/// An honest validator's application that records its verdicts.
pub struct Observed {
    inner: LedgerApp,
    suite: Suite,
    verdicts: Arc<Mutex<Verdicts>>,
}

impl Observed {
    /// Wraps `inner`; verdicts go to `verdicts`.
    pub fn new(inner: LedgerApp, suite: Suite, verdicts: Arc<Mutex<Verdicts>>) -> Self {
        Observed {
            inner,
            suite,
            verdicts,
        }
    }
}

impl Application for Observed {
    type Error = BlockError;

    fn suite(&self) -> Suite {
        self.inner.suite()
    }

    fn genesis_hash(&self) -> Hash {
        self.inner.genesis_hash()
    }

    fn epoch_length(&self) -> u64 {
        self.inner.epoch_length()
    }

    fn epoch_validators(&self, epoch: u64) -> Option<Vec<kexin_types::Validator>> {
        self.inner.epoch_validators(epoch)
    }

    fn epoch_change_pending(&self) -> bool {
        self.inner.epoch_change_pending()
    }

    fn pending(&self) -> Pending {
        self.inner.pending()
    }

    fn committed_height(&self) -> u64 {
        self.inner.committed_height()
    }

    fn standing(&self, hash: &Hash, height: u64) -> Standing {
        self.inner.standing(hash, height)
    }

    fn propose(
        &self,
        parent: &Hash,
        now_ms: u64,
        allow_empty: bool,
    ) -> Result<Option<Block>, BlockError> {
        self.inner.propose(parent, now_ms, allow_empty)
    }

    fn verify(&self, block: &Block) -> Result<(), BlockError> {
        let hash = block.header.hash(self.suite);
        let verdict = self.inner.verify(block);
        let standing_after = (
            self.inner.standing(&hash, block.header.height),
            self.inner.committed_height(),
        );
        let mut verdicts = lock(&self.verdicts);
        match &verdict {
            Ok(()) => {
                verdicts.accepted.insert(hash);
            }
            Err(e) if LedgerApp::is_internal(e) => verdicts.internal_failures += 1,
            Err(e) => verdicts.refused.push(Refusal {
                hash,
                height: block.header.height,
                parent: block.header.parent_hash,
                kind: classify(e),
                message: e.to_string(),
                standing_after,
            }),
        }
        verdict
    }

    fn is_internal(error: &BlockError) -> bool {
        LedgerApp::is_internal(error)
    }

    fn finalized(&self, block: &Block, certificate: CommitCertificate) -> Result<(), BlockError> {
        self.inner.finalized(block, certificate)
    }
}

/// How a [`Tamperer`] spoils a block.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Tamper {
    /// The header's state root is changed.
    StateRoot,
    /// One transaction's signature has a flipped bit.
    BadSignature,
    /// A new transaction reusing the nonce of a committed one is appended.
    NonceReplay,
}

impl Tamper {
    /// The refusal an honest validator must give.
    pub fn expected(self) -> RefusalKind {
        match self {
            Tamper::StateRoot => RefusalKind::StateRoot,
            Tamper::BadSignature => RefusalKind::BadSignature,
            Tamper::NonceReplay => RefusalKind::NonceReplayed,
        }
    }
}

/// A block a [`Tamperer`] proposed.
#[derive(Clone, Debug)]
pub struct TamperedBlock {
    /// The hash it was proposed under (its header hash).
    pub hash: Hash,
    /// Its height.
    pub height: u64,
    /// What was done to it.
    pub tamper: Tamper,
}

/// A Byzantine validator: verifies and commits like an honest one, but every block it proposes
/// is a valid block (built by the honest inner application) spoiled in one of the [`Tamper`]
/// ways, in rotation.
pub struct Tamperer {
    inner: LedgerApp,
    ledger: Arc<Ledger>,
    suite: Suite,
    /// Client keys, to forge nonce replays with valid signatures.
    clients: BTreeMap<PublicKey, SigningKey>,
    proposed: Arc<Mutex<Vec<TamperedBlock>>>,
}

impl Tamperer {
    /// Wraps `inner`, which runs over `ledger`; tampered proposals go to `proposed`.
    pub fn new(
        inner: LedgerApp,
        ledger: Arc<Ledger>,
        clients: &[SigningKey],
        proposed: Arc<Mutex<Vec<TamperedBlock>>>,
    ) -> Self {
        Tamperer {
            inner,
            suite: ledger.genesis().suite,
            ledger,
            clients: clients
                .iter()
                .map(|k| (k.public_key(), k.clone()))
                .collect(),
            proposed,
        }
    }

    /// A transaction reusing the nonce of the last transaction of the committed head, with a
    /// valid signature over a different payload.
    fn replay(&self) -> Option<Transaction> {
        let head = self.ledger.head()?;
        let (block, _) = self.ledger.block(head.height).ok()??;
        let victim = block.transactions.last()?;
        let key = self.clients.get(&victim.signer)?;
        let record = EvidenceRecord {
            digest: self
                .suite
                .hash(format!("replay of {}", victim.hash()).as_bytes()),
            metadata: kexin_types::RecordMetadata {
                salt: kexin_types::Salt([7; 16]),
                content_type: "application/octet-stream".into(),
                label: "replayed-nonce".into(),
                external_ref: None,
            },
        };
        Some(Transaction::sign(
            &self.ledger.genesis().chain_id,
            key,
            victim.nonce,
            Payload::Evidence {
                records: vec![record],
            },
        ))
    }
}

impl Application for Tamperer {
    type Error = BlockError;

    fn suite(&self) -> Suite {
        self.inner.suite()
    }

    fn genesis_hash(&self) -> Hash {
        self.inner.genesis_hash()
    }

    fn epoch_length(&self) -> u64 {
        self.inner.epoch_length()
    }

    fn epoch_validators(&self, epoch: u64) -> Option<Vec<kexin_types::Validator>> {
        self.inner.epoch_validators(epoch)
    }

    fn epoch_change_pending(&self) -> bool {
        self.inner.epoch_change_pending()
    }

    fn pending(&self) -> Pending {
        self.inner.pending()
    }

    fn committed_height(&self) -> u64 {
        self.inner.committed_height()
    }

    fn standing(&self, hash: &Hash, height: u64) -> Standing {
        self.inner.standing(hash, height)
    }

    fn propose(
        &self,
        parent: &Hash,
        now_ms: u64,
        allow_empty: bool,
    ) -> Result<Option<Block>, BlockError> {
        let Some(mut block) = self.inner.propose(parent, now_ms, allow_empty)? else {
            return Ok(None);
        };
        let mut proposed = lock(&self.proposed);
        let mut tamper = match proposed.len() % 3 {
            0 => Tamper::StateRoot,
            1 => Tamper::BadSignature,
            _ => Tamper::NonceReplay,
        };
        if tamper == Tamper::NonceReplay {
            match self.replay() {
                Some(tx) => {
                    block.transactions.push(tx);
                    block.header.tx_count += 1;
                }
                None => tamper = Tamper::StateRoot,
            }
        }
        match tamper {
            Tamper::StateRoot => {
                block.header.state_root = self
                    .suite
                    .hash_parts(&[b"tampered", block.header.state_root.as_bytes()]);
            }
            Tamper::BadSignature => {
                let last = block.transactions.len() - 1;
                block.transactions[last].signature.0[17] ^= 0x40;
            }
            Tamper::NonceReplay => {}
        }
        proposed.push(TamperedBlock {
            hash: block.header.hash(self.suite),
            height: block.header.height,
            tamper,
        });
        Ok(Some(block))
    }

    fn verify(&self, block: &Block) -> Result<(), BlockError> {
        self.inner.verify(block)
    }

    fn is_internal(error: &BlockError) -> bool {
        LedgerApp::is_internal(error)
    }

    fn finalized(&self, block: &Block, certificate: CommitCertificate) -> Result<(), BlockError> {
        self.inner.finalized(block, certificate)
    }
}
