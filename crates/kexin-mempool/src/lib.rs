//! Kexin's mempool: holds admitted transactions until a block includes them.
//!
//! Admission checks what can be checked without executing (chain id, suite, signature, size)
//! plus the signer's committed nonce; it deduplicates by transaction hash, refuses a second
//! transaction with the same signer and nonce, and refuses new work when full (the API turns
//! that into HTTP 429). A transaction whose nonce is ahead of its signer's next one waits here
//! until the nonces before it arrive (at most [`MempoolConfig::max_nonce_lead`] ahead, and
//! dropped by [`Mempool::evict_stalled`] if the gap is never filled). [`Mempool::select`]
//! hands the block builder transactions in arrival order, with each signer's transactions in
//! ascending nonce order.
//!
//! ```
//! use kexin_crypto::{SigningKey, Suite};
//! use kexin_mempool::{Mempool, MempoolConfig};
//! use kexin_types::{EvidenceRecord, Payload, RecordMetadata, Salt, SealedTx, Transaction};
//! let pool = Mempool::new(MempoolConfig::default(), "demo", Suite::Intl);
//! let key = SigningKey::generate(Suite::Intl);
//! let rec = EvidenceRecord { digest: Suite::Intl.hash(b"x"), metadata: RecordMetadata { salt: Salt([7; 16]), content_type: "text/plain".into(), label: "x".into(), external_ref: None } };
//! let tx = SealedTx::new(Transaction::sign("demo", &key, 1, Payload::Evidence { records: vec![rec] }));
//! pool.admit(tx, 0).unwrap();
//! assert_eq!(pool.select(10, 100_000, 1 << 20, &|_| false).len(), 1);
//! ```

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use kexin_crypto::{Hash, PublicKey, Suite};
use kexin_types::{SealedTx, TxError};

/// Mempool limits.
#[derive(Clone, Debug)]
pub struct MempoolConfig {
    /// Most transactions held.
    pub max_txs: usize,
    /// Most evidence records held.
    pub max_records: usize,
    /// Most encoded bytes held.
    pub max_bytes: usize,
    /// How far past its signer's next nonce a transaction may be admitted (it waits for the
    /// nonces in between).
    pub max_nonce_lead: u64,
}

impl Default for MempoolConfig {
    fn default() -> Self {
        MempoolConfig {
            max_txs: 100_000,
            max_records: 2_000_000,
            max_bytes: 1 << 30,
            max_nonce_lead: 65_536,
        }
    }
}

/// Why a transaction was not admitted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AdmissionError {
    /// Chain, suite or signature check failed.
    #[error(transparent)]
    Invalid(#[from] TxError),
    /// The nonce is not above the signer's last committed nonce.
    #[error(
        "nonce {nonce} is not greater than the signer's last committed nonce {last}: the transaction is a replay or was overtaken"
    )]
    NonceReplayed {
        /// The transaction's nonce.
        nonce: u64,
        /// The signer's last committed nonce.
        last: u64,
    },
    /// The nonce is too far ahead of the signer's next nonce.
    #[error(
        "nonce {nonce} is more than {max_lead} ahead of the signer's next nonce {next}: submit the nonces in between first"
    )]
    NonceTooFar {
        /// The transaction's nonce.
        nonce: u64,
        /// The signer's next nonce.
        next: u64,
        /// The admitted lead.
        max_lead: u64,
    },
    /// Another pending transaction of the signer has this nonce.
    #[error("another pending transaction ({other}) of this signer already uses nonce {nonce}")]
    NonceConflict {
        /// The nonce.
        nonce: u64,
        /// The pending transaction.
        other: Hash,
    },
    /// The mempool is at a limit; retry later.
    #[error("mempool full ({what}): retry later")]
    Full {
        /// Which limit.
        what: &'static str,
    },
}

impl AdmissionError {
    /// A stable, machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            AdmissionError::Invalid(e) => e.code(),
            AdmissionError::NonceReplayed { .. } => "nonce_replayed",
            AdmissionError::NonceTooFar { .. } => "nonce_too_far",
            AdmissionError::NonceConflict { .. } => "nonce_conflict",
            AdmissionError::Full { .. } => "mempool_full",
        }
    }
}

/// What admission did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admitted {
    /// Newly added.
    New,
    /// The same transaction was already pending.
    AlreadyPending,
}

/// A pending transaction.
struct Entry {
    tx: Arc<SealedTx>,
    /// When it was admitted (to evict gaps that are never filled).
    admitted_at: Instant,
}

#[derive(Default)]
struct Inner {
    by_hash: BTreeMap<Hash, Entry>,
    by_signer: BTreeMap<PublicKey, BTreeMap<u64, Hash>>,
    arrivals: VecDeque<Hash>,
    /// Transactions submitted to this node (not learnt by gossip), with when they were last
    /// gossiped: this node may be the only one holding them.
    local: BTreeMap<Hash, Instant>,
    records: usize,
    bytes: usize,
    /// Why recently dropped transactions were refused when building a block, so a client
    /// polling their status learns the reason (bounded: oldest forgotten first).
    rejected: BTreeMap<Hash, Rejected>,
    rejected_order: VecDeque<Hash>,
}

/// Why a pending transaction was dropped: a stable code and a message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rejected {
    /// The refusal's code (e.g. `cert_revoked`, `nonce_replayed`).
    pub code: String,
    /// What was wrong.
    pub message: String,
}

/// How many dropped transactions' reasons are remembered.
pub const REJECTED_MEMORY: usize = 65_536;

/// The mempool. Cheap to share behind an `Arc`; all methods take `&self`.
pub struct Mempool {
    config: MempoolConfig,
    chain_id: String,
    suite: Suite,
    inner: Mutex<Inner>,
}

impl Mempool {
    /// An empty mempool for a chain.
    pub fn new(config: MempoolConfig, chain_id: &str, suite: Suite) -> Mempool {
        Mempool {
            config,
            chain_id: chain_id.to_owned(),
            suite,
            inner: Mutex::new(Inner::default()),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Checks and admits a transaction. `last_committed_nonce` is the signer's last committed
    /// nonce (0 if none). Signature verification happens outside the lock.
    pub fn admit(
        &self,
        tx: SealedTx,
        last_committed_nonce: u64,
    ) -> Result<Admitted, AdmissionError> {
        if self.lock().by_hash.contains_key(&tx.hash()) {
            return Ok(Admitted::AlreadyPending);
        }
        tx.verify(&self.chain_id, self.suite)?;
        let nonce = tx.tx().nonce;
        if nonce <= last_committed_nonce {
            return Err(AdmissionError::NonceReplayed {
                nonce,
                last: last_committed_nonce,
            });
        }
        let next = last_committed_nonce.saturating_add(1);
        if nonce - next > self.config.max_nonce_lead {
            return Err(AdmissionError::NonceTooFar {
                nonce,
                next,
                max_lead: self.config.max_nonce_lead,
            });
        }
        let mut inner = self.lock();
        if inner.by_hash.contains_key(&tx.hash()) {
            return Ok(Admitted::AlreadyPending);
        }
        if let Some(other) = inner
            .by_signer
            .get(&tx.tx().signer)
            .and_then(|m| m.get(&nonce))
        {
            return Err(AdmissionError::NonceConflict {
                nonce,
                other: *other,
            });
        }
        let records = tx.tx().records().len();
        if inner.by_hash.len() >= self.config.max_txs {
            return Err(AdmissionError::Full {
                what: "transactions",
            });
        }
        if inner.records + records > self.config.max_records {
            return Err(AdmissionError::Full { what: "records" });
        }
        if inner.bytes + tx.encoded_len() > self.config.max_bytes {
            return Err(AdmissionError::Full { what: "bytes" });
        }
        let hash = tx.hash();
        inner.records += records;
        inner.bytes += tx.encoded_len();
        inner
            .by_signer
            .entry(tx.tx().signer)
            .or_default()
            .insert(nonce, hash);
        inner.arrivals.push_back(hash);
        inner.by_hash.insert(
            hash,
            Entry {
                tx: Arc::new(tx),
                admitted_at: Instant::now(),
            },
        );
        Ok(Admitted::New)
    }

    /// Drops pending transactions that can never be applied, remembering why (see
    /// [`Mempool::rejection`]).
    pub fn reject(&self, refused: &[(Hash, Rejected)]) {
        let hashes: Vec<Hash> = refused.iter().map(|(h, _)| *h).collect();
        self.remove(&hashes);
        let mut inner = self.lock();
        for (hash, why) in refused {
            if inner.rejected.insert(*hash, why.clone()).is_none() {
                inner.rejected_order.push_back(*hash);
            }
        }
        while inner.rejected_order.len() > REJECTED_MEMORY {
            if let Some(old) = inner.rejected_order.pop_front() {
                inner.rejected.remove(&old);
            }
        }
    }

    /// Why a transaction that is no longer pending was dropped, if this node dropped it
    /// recently (and it was not admitted again since).
    pub fn rejection(&self, hash: &Hash) -> Option<Rejected> {
        let inner = self.lock();
        if inner.by_hash.contains_key(hash) {
            return None;
        }
        inner.rejected.get(hash).cloned()
    }

    /// Whether a transaction is pending.
    pub fn get(&self, hash: &Hash) -> Option<Arc<SealedTx>> {
        self.lock().by_hash.get(hash).map(|e| e.tx.clone())
    }

    /// Pending transactions.
    pub fn len(&self) -> usize {
        self.lock().by_hash.len()
    }

    /// Whether nothing is pending.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Pending evidence records.
    pub fn records(&self) -> usize {
        self.lock().records
    }

    /// Picks transactions for a block without removing them: in arrival order up to the
    /// limits, passing over those `skip` names (already in an uncommitted ancestor block), then
    /// each signer's picks are reordered by ascending nonce within the slots that signer
    /// occupies.
    pub fn select(
        &self,
        max_txs: usize,
        max_records: usize,
        max_bytes: usize,
        skip: &dyn Fn(&Hash) -> bool,
    ) -> Vec<SealedTx> {
        let inner = self.lock();
        let mut picked: Vec<Arc<SealedTx>> = Vec::new();
        let (mut records, mut bytes) = (0usize, 0usize);
        for hash in &inner.arrivals {
            let Some(Entry { tx, .. }) = inner.by_hash.get(hash) else {
                continue;
            };
            if skip(hash) {
                continue;
            }
            let r = tx.tx().records().len();
            if picked.len() + 1 > max_txs
                || records + r > max_records
                || bytes + tx.encoded_len() > max_bytes
            {
                break;
            }
            records += r;
            bytes += tx.encoded_len();
            picked.push(tx.clone());
        }
        drop(inner);
        // Reorder each signer's transactions by nonce inside the slots it holds.
        let mut slots: BTreeMap<PublicKey, Vec<usize>> = BTreeMap::new();
        for (i, tx) in picked.iter().enumerate() {
            slots.entry(tx.tx().signer).or_default().push(i);
        }
        let mut ordered: Vec<Option<Arc<SealedTx>>> = vec![None; picked.len()];
        for positions in slots.values() {
            let mut txs: Vec<&Arc<SealedTx>> = positions.iter().map(|&i| &picked[i]).collect();
            txs.sort_by_key(|t| t.tx().nonce);
            for (&pos, tx) in positions.iter().zip(txs) {
                ordered[pos] = Some(tx.clone());
            }
        }
        ordered
            .into_iter()
            .map(|t| SealedTx::clone(&t.expect("every slot filled")))
            .collect()
    }

    /// Marks a pending transaction as submitted to this node (and just gossiped).
    pub fn mark_local(&self, hash: &Hash) {
        let mut inner = self.lock();
        if inner.by_hash.contains_key(hash) {
            inner.local.insert(*hash, Instant::now());
        }
    }

    /// Transactions submitted to this node that are still pending and were last gossiped
    /// more than `every` ago, oldest first, at most `limit`; marks them gossiped now. Gossip
    /// is best effort, so a node resends what only it may hold until it is committed.
    pub fn due_for_regossip(&self, every: Duration, limit: usize) -> Vec<Arc<SealedTx>> {
        let now = Instant::now();
        let mut inner = self.lock();
        let mut due: Vec<(Instant, Hash)> = inner
            .local
            .iter()
            .filter(|(_, t)| now.saturating_duration_since(**t) > every)
            .map(|(h, t)| (*t, *h))
            .collect();
        due.sort();
        due.truncate(limit);
        let mut out = Vec::with_capacity(due.len());
        for (_, hash) in due {
            inner.local.insert(hash, now);
            if let Some(entry) = inner.by_hash.get(&hash) {
                out.push(entry.tx.clone());
            }
        }
        out
    }

    /// Drops what can no longer be committed: each signer's transactions whose nonce is not
    /// above `last_nonce(signer)` (replays now), and those pending for longer than `max_age`
    /// behind a gap in the signer's nonces (the nonce that would fill it never arrived).
    /// Signers for whom `last_nonce` answers `None` (state unreadable) are left alone.
    /// Returns the hashes dropped.
    pub fn evict_stalled(
        &self,
        max_age: Duration,
        last_nonce: &dyn Fn(&PublicKey) -> Option<u64>,
    ) -> Vec<Hash> {
        // Read the nonces (storage) without holding the lock that admission needs.
        let signers: Vec<PublicKey> = self.lock().by_signer.keys().copied().collect();
        let lasts: Vec<(PublicKey, u64)> = signers
            .into_iter()
            .filter_map(|s| last_nonce(&s).map(|last| (s, last)))
            .collect();
        let now = Instant::now();
        let mut dropped = Vec::new();
        {
            let inner = self.lock();
            for (signer, last) in lasts {
                let Some(nonces) = inner.by_signer.get(&signer) else {
                    continue;
                };
                let mut next = last.saturating_add(1);
                for (&nonce, hash) in nonces {
                    if nonce < next {
                        dropped.push((
                            *hash,
                            Rejected {
                                code: "nonce_replayed".into(),
                                message: format!(
                                    "nonce {nonce} was used by another committed transaction of the signer (last committed nonce {last})"
                                ),
                            },
                        ));
                    } else if nonce == next {
                        next += 1;
                    } else {
                        let age = inner.by_hash.get(hash).map_or(Duration::ZERO, |e| {
                            now.saturating_duration_since(e.admitted_at)
                        });
                        if age > max_age {
                            dropped.push((
                                *hash,
                                Rejected {
                                    code: "nonce_gap".into(),
                                    message: format!(
                                        "waited {}s behind a nonce gap: nonce {next} never arrived",
                                        age.as_secs()
                                    ),
                                },
                            ));
                        }
                    }
                }
            }
        }
        // Remembered with why, so a client polling the transaction learns it.
        self.reject(&dropped);
        dropped.into_iter().map(|(h, _)| h).collect()
    }

    /// Removes transactions (committed or found invalid).
    pub fn remove(&self, hashes: &[Hash]) {
        let mut inner = self.lock();
        for h in hashes {
            if let Some(Entry { tx, .. }) = inner.by_hash.remove(h) {
                inner.local.remove(h);
                inner.records -= tx.tx().records().len();
                inner.bytes -= tx.encoded_len();
                let signer = tx.tx().signer;
                if let Some(m) = inner.by_signer.get_mut(&signer) {
                    m.remove(&tx.tx().nonce);
                    if m.is_empty() {
                        inner.by_signer.remove(&signer);
                    }
                }
            }
        }
        // Drop arrival entries of removed transactions from the front; the rest are skipped
        // lazily by `select` and trimmed when the queue gets much longer than the pool.
        while let Some(front) = inner.arrivals.front() {
            if inner.by_hash.contains_key(front) {
                break;
            }
            inner.arrivals.pop_front();
        }
        if inner.arrivals.len() > 2 * inner.by_hash.len() + 1024 {
            let Inner {
                arrivals, by_hash, ..
            } = &mut *inner;
            arrivals.retain(|h| by_hash.contains_key(h));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kexin_crypto::SigningKey;
    use kexin_types::{EvidenceRecord, Payload, Transaction};

    fn tx(key: &SigningKey, nonce: u64, n: usize) -> SealedTx {
        let records = (0..n)
            .map(|i| EvidenceRecord {
                digest: Suite::Intl.hash(&[nonce as u8, i as u8]),
                metadata: kexin_types::RecordMetadata {
                    salt: kexin_types::Salt([7; 16]),
                    content_type: "text/plain".into(),
                    label: format!("r{i}"),
                    external_ref: None,
                },
            })
            .collect();
        SealedTx::new(Transaction::sign(
            "c",
            key,
            nonce,
            Payload::Evidence { records },
        ))
    }

    fn pool(max_txs: usize) -> Mempool {
        Mempool::new(
            MempoolConfig {
                max_txs,
                ..MempoolConfig::default()
            },
            "c",
            Suite::Intl,
        )
    }

    #[test]
    fn refuses_bad_signature_wrong_chain_replay_conflict_and_full() {
        let key = SigningKey::from_seed(Suite::Intl, &[1; 32]).unwrap();
        let p = pool(2);
        let mut bad = tx(&key, 1, 1).tx().clone();
        bad.signature.0[0] ^= 1;
        assert_eq!(
            p.admit(SealedTx::new(bad), 0).unwrap_err().code(),
            "bad_signature"
        );
        let other = SealedTx::new(Transaction::sign(
            "other",
            &key,
            1,
            tx(&key, 1, 1).tx().payload.clone(),
        ));
        assert_eq!(p.admit(other, 0).unwrap_err().code(), "wrong_chain");
        let gm = SigningKey::from_seed(Suite::Gm, &[1; 32]).unwrap();
        assert_eq!(p.admit(tx(&gm, 1, 1), 0).unwrap_err().code(), "wrong_suite");
        assert_eq!(
            p.admit(tx(&key, 3, 1), 3).unwrap_err().code(),
            "nonce_replayed"
        );
        assert_eq!(p.admit(tx(&key, 4, 1), 3).unwrap(), Admitted::New);
        assert_eq!(
            p.admit(tx(&key, 4, 1), 3).unwrap(),
            Admitted::AlreadyPending
        );
        assert_eq!(
            p.admit(tx(&key, 4, 2), 3).unwrap_err().code(),
            "nonce_conflict"
        );
        assert_eq!(p.admit(tx(&key, 5, 1), 3).unwrap(), Admitted::New);
        assert_eq!(
            p.admit(tx(&key, 6, 1), 3).unwrap_err().code(),
            "mempool_full"
        );
        assert_eq!(p.len(), 2);
    }

    #[test]
    fn select_orders_each_signer_by_nonce_and_respects_limits() {
        let a = SigningKey::from_seed(Suite::Intl, &[2; 32]).unwrap();
        let b = SigningKey::from_seed(Suite::Intl, &[3; 32]).unwrap();
        let p = pool(100);
        for (k, n) in [(&a, 3), (&b, 1), (&a, 1), (&a, 2)] {
            p.admit(tx(k, n, 2), 0).unwrap();
        }
        let picked = p.select(10, 100, 1 << 20, &|_| false);
        let order: Vec<(bool, u64)> = picked
            .iter()
            .map(|t| (t.tx().signer == a.public_key(), t.tx().nonce))
            .collect();
        assert_eq!(order, vec![(true, 1), (false, 1), (true, 2), (true, 3)]);
        assert_eq!(p.select(2, 100, 1 << 20, &|_| false).len(), 2);
        assert_eq!(
            p.select(10, 5, 1 << 20, &|_| false).len(),
            2,
            "record limit"
        );
        // Skipped transactions (in an uncommitted ancestor) leave their slots to later ones.
        let first_two: Vec<Hash> = picked.iter().take(2).map(|t| t.hash()).collect();
        let rest = p.select(2, 100, 1 << 20, &|h| first_two.contains(h));
        let rest: Vec<Hash> = rest.iter().map(|t| t.hash()).collect();
        let expected: Vec<Hash> = picked.iter().skip(2).map(|t| t.hash()).collect();
        assert_eq!(rest, expected);
        let hashes: Vec<Hash> = picked.iter().take(2).map(|t| t.hash()).collect();
        p.remove(&hashes);
        assert_eq!(p.len(), 2);
        assert_eq!(p.records(), 4);
        assert!(p.get(&hashes[0]).is_none());
    }

    #[test]
    fn nonces_far_ahead_are_refused() {
        let key = SigningKey::from_seed(Suite::Intl, &[4; 32]).unwrap();
        let p = Mempool::new(
            MempoolConfig {
                max_nonce_lead: 10,
                ..MempoolConfig::default()
            },
            "c",
            Suite::Intl,
        );
        // Next nonce is 6; 16 is exactly 10 ahead, 17 is one too many.
        assert_eq!(p.admit(tx(&key, 16, 1), 5).unwrap(), Admitted::New);
        let err = p.admit(tx(&key, 17, 1), 5).unwrap_err();
        assert_eq!(err.code(), "nonce_too_far");
        assert!(err.to_string().contains("next nonce 6"), "{err}");
        assert_eq!(p.len(), 1);
    }

    #[test]
    fn evict_stalled_drops_replays_and_old_gaps_only() {
        let a = SigningKey::from_seed(Suite::Intl, &[5; 32]).unwrap();
        let b = SigningKey::from_seed(Suite::Intl, &[6; 32]).unwrap();
        let p = pool(100);
        // a: 1, 2, 3 pending, then 5 behind the gap at 4. b: 7 behind a gap (next is 1).
        let a_txs: Vec<SealedTx> = [1, 2, 3, 5].iter().map(|&n| tx(&a, n, 1)).collect();
        for t in &a_txs {
            p.admit(t.clone(), 0).unwrap();
        }
        let b7 = tx(&b, 7, 1);
        p.admit(b7.clone(), 0).unwrap();
        let a_last = a.public_key();
        // Nothing is old yet: only a's nonce 1, now committed elsewhere, is a replay.
        let last = |s: &PublicKey| Some(if *s == a_last { 1 } else { 0 });
        assert_eq!(
            p.evict_stalled(Duration::from_secs(3600), &last),
            vec![a_txs[0].hash()]
        );
        assert_eq!(p.len(), 4);
        std::thread::sleep(Duration::from_millis(20));
        // Everything is old now: contiguous 2, 3 stay; 5 (gap at 4) and b's 7 go.
        let mut dropped = p.evict_stalled(Duration::from_millis(10), &last);
        dropped.sort();
        let mut expected = vec![a_txs[3].hash(), b7.hash()];
        expected.sort();
        assert_eq!(dropped, expected);
        assert_eq!(p.len(), 2);
        assert!(p.get(&a_txs[1].hash()).is_some());
        assert!(p.get(&a_txs[2].hash()).is_some());
        // A client polling them learns why.
        let code = |h: &Hash| p.rejection(h).map(|r| r.code);
        assert_eq!(code(&a_txs[0].hash()).as_deref(), Some("nonce_replayed"));
        assert_eq!(code(&a_txs[3].hash()).as_deref(), Some("nonce_gap"));
        assert_eq!(code(&b7.hash()).as_deref(), Some("nonce_gap"));
        assert_eq!(code(&a_txs[1].hash()), None);
    }

    #[test]
    fn local_transactions_are_due_for_regossip_until_removed() {
        let key = SigningKey::from_seed(Suite::Intl, &[7; 32]).unwrap();
        let p = pool(100);
        let (a, b, c) = (tx(&key, 1, 1), tx(&key, 2, 1), tx(&key, 3, 1));
        for t in [&a, &b, &c] {
            p.admit(t.clone(), 0).unwrap();
        }
        // a and b were submitted here; c came by gossip.
        p.mark_local(&a.hash());
        p.mark_local(&b.hash());
        p.mark_local(&Hash::ZERO); // not pending: ignored
        assert!(p.due_for_regossip(Duration::from_secs(60), 10).is_empty());
        std::thread::sleep(Duration::from_millis(20));
        let due = p.due_for_regossip(Duration::from_millis(10), 1);
        assert_eq!(due.len(), 1, "the limit holds");
        assert_eq!(due[0].hash(), a.hash(), "oldest first");
        // a was just resent; b is still due, then nothing until the interval passes again.
        let due: Vec<Hash> = p
            .due_for_regossip(Duration::from_millis(10), 10)
            .iter()
            .map(|t| t.hash())
            .collect();
        assert_eq!(due, vec![b.hash()]);
        assert!(p.due_for_regossip(Duration::from_millis(10), 10).is_empty());
        // Committed (removed): never resent.
        p.remove(&[a.hash()]);
        std::thread::sleep(Duration::from_millis(20));
        let due: Vec<Hash> = p
            .due_for_regossip(Duration::from_millis(10), 10)
            .iter()
            .map(|t| t.hash())
            .collect();
        assert_eq!(due, vec![b.hash()]);
    }

    #[test]
    fn rejected_transactions_are_dropped_and_remembered_with_why() {
        let key = SigningKey::from_seed(Suite::Intl, &[7; 32]).unwrap();
        let p = pool(10);
        let a = tx(&key, 1, 2);
        let b = tx(&key, 2, 1);
        p.admit(a.clone(), 0).unwrap();
        p.admit(b.clone(), 0).unwrap();
        assert_eq!(p.rejection(&a.hash()), None, "pending is not rejected");
        let why = Rejected {
            code: "cert_revoked".into(),
            message: "revoked at height 9".into(),
        };
        p.reject(&[(a.hash(), why.clone())]);
        assert!(p.get(&a.hash()).is_none());
        assert_eq!((p.len(), p.records()), (1, 1));
        assert_eq!(p.rejection(&a.hash()), Some(why));
        assert_eq!(p.rejection(&b.hash()), None);
        // Admitted again (e.g. after the reason went away), it is pending, not rejected.
        p.admit(a.clone(), 0).unwrap();
        assert_eq!(p.rejection(&a.hash()), None);
        // The memory is bounded: the oldest reasons are forgotten first.
        let many: Vec<(Hash, Rejected)> = (0..REJECTED_MEMORY as u32 + 5)
            .map(|i| {
                let mut h = [0u8; 32];
                h[..4].copy_from_slice(&i.to_be_bytes());
                (
                    Hash(h),
                    Rejected {
                        code: "nonce_replayed".into(),
                        message: String::new(),
                    },
                )
            })
            .collect();
        p.reject(&many);
        assert_eq!(p.rejection(&many[0].0), None);
        assert!(p.rejection(&many[many.len() - 1].0).is_some());
        assert_eq!(p.lock().rejected.len(), REJECTED_MEMORY);
    }
}
