//! Deterministic execution of Kexin blocks: applies transactions to a state view and returns
//! the state writes, without touching storage.
//!
//! Execution is a pure function of (state view, height, transactions): no clocks, no
//! randomness, no hash-map iteration, so every validator computes the same state root.
//! Signatures are checked before execution (mempool admission, block verification); here a
//! transaction can still fail on the state: its nonce must be exactly one more than its
//! signer's last committed nonce (the first transaction of a signer uses nonce 1). Nonces
//! without gaps mean a transaction can never be overtaken by its signer's later ones: a
//! proposer that holds nonce k+1 but not yet k waits for k instead of turning it into a
//! replay.
//!
//! ```
//! use std::collections::BTreeMap;
//! use kexin_crypto::{SigningKey, Suite};
//! use kexin_exec::{MemoryState, execute_block};
//! use kexin_types::{EvidenceRecord, Payload, SealedTx, Transaction};
//! let key = SigningKey::generate(Suite::Intl);
//! let rec = EvidenceRecord { digest: Suite::Intl.hash(b"x"), content_type: "text/plain".into(), label: "x".into(), external_ref: None };
//! let tx = SealedTx::new(Transaction::sign("demo", &key, 1, Payload::Evidence { records: vec![rec] }));
//! let writes = execute_block(&MemoryState::default(), 1, &[tx]).unwrap();
//! assert_eq!(writes.len(), 2); // the signer's nonce and the digest's evidence entry
//! ```

use std::collections::BTreeMap;

use kexin_crypto::{Hash, PublicKey};
use kexin_types::state::{EvidenceState, NonceState, RecordLocation, StateKey};
use kexin_types::{Decode, DecodeError, Encode, Payload, SealedTx};

/// Read access to the committed state a block executes on.
pub trait StateView {
    /// The committed value of `key`, if any.
    fn get(&self, key: &StateKey) -> Result<Option<Vec<u8>>, ExecError>;
}

/// A state view over a map, for tests and tools.
#[derive(Default, Clone, Debug)]
pub struct MemoryState(pub BTreeMap<StateKey, Vec<u8>>);

impl StateView for MemoryState {
    fn get(&self, key: &StateKey) -> Result<Option<Vec<u8>>, ExecError> {
        Ok(self.0.get(key).cloned())
    }
}

/// Why a transaction cannot be applied to the current state.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TxRejection {
    /// The nonce was already used (or a greater one was).
    #[error(
        "nonce {nonce} of signer {signer} is not greater than its last committed nonce {last}: the transaction is a replay or was overtaken"
    )]
    NonceReplayed {
        /// The signer.
        signer: String,
        /// The transaction's nonce.
        nonce: u64,
        /// The last nonce committed (or applied earlier in the same block).
        last: u64,
    },
    /// An earlier nonce of the signer is not applied yet: the transaction must wait for it.
    #[error(
        "nonce {nonce} of signer {signer} leaves a gap: the next nonce it may use is {expected}"
    )]
    NonceGap {
        /// The signer.
        signer: String,
        /// The transaction's nonce.
        nonce: u64,
        /// The nonce the signer's next transaction must carry.
        expected: u64,
    },
}

impl TxRejection {
    /// A stable, machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            TxRejection::NonceReplayed { .. } => "nonce_replayed",
            TxRejection::NonceGap { .. } => "nonce_gap",
        }
    }
}

/// Errors of execution itself (not of a transaction).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ExecError {
    /// A stored state value does not decode: the store is corrupt.
    #[error("corrupt state value for {key:?}: {source}")]
    CorruptState {
        /// The key.
        key: StateKey,
        /// The decode error.
        source: DecodeError,
    },
    /// The state could not be read.
    #[error("state read failed: {0}")]
    Read(String),
    /// A transaction in a block cannot be applied: the block is invalid.
    #[error("transaction {index} ({hash}) is invalid: {reason}")]
    InvalidTransaction {
        /// Index in the block.
        index: usize,
        /// Its hash.
        hash: Hash,
        /// Why.
        reason: TxRejection,
    },
    /// A block holds more records than a block may.
    #[error("height overflow")]
    HeightOverflow,
}

/// Applies transactions one by one on an overlay of writes above a view.
struct Overlay<'v, V: StateView + ?Sized> {
    view: &'v V,
    nonces: BTreeMap<PublicKey, NonceState>,
    evidence: BTreeMap<Hash, EvidenceState>,
    height: u64,
    applied: u32,
}

impl<'v, V: StateView + ?Sized> Overlay<'v, V> {
    fn new(view: &'v V, height: u64) -> Self {
        Overlay {
            view,
            nonces: BTreeMap::new(),
            evidence: BTreeMap::new(),
            height,
            applied: 0,
        }
    }

    fn read<T: Decode>(&self, key: StateKey) -> Result<Option<T>, ExecError> {
        match self.view.get(&key)? {
            None => Ok(None),
            Some(bytes) => T::decode(&bytes)
                .map(Some)
                .map_err(|source| ExecError::CorruptState { key, source }),
        }
    }

    fn nonce_state(&self, signer: &PublicKey) -> Result<Option<NonceState>, ExecError> {
        match self.nonces.get(signer) {
            Some(s) => Ok(Some(*s)),
            None => self.read(StateKey::Nonce(*signer)),
        }
    }

    /// Checks `tx` against the state without applying it.
    fn check(&self, tx: &SealedTx) -> Result<Result<(), TxRejection>, ExecError> {
        let t = tx.tx();
        let state = self.nonce_state(&t.signer)?;
        let expected = next_nonce(state.as_ref());
        if t.nonce < expected {
            return Ok(Err(TxRejection::NonceReplayed {
                signer: t.signer.to_hex(),
                nonce: t.nonce,
                last: state.map_or(0, |s| s.last_nonce),
            }));
        }
        if t.nonce > expected {
            return Ok(Err(TxRejection::NonceGap {
                signer: t.signer.to_hex(),
                nonce: t.nonce,
                expected,
            }));
        }
        Ok(Ok(()))
    }

    /// Applies a transaction already checked.
    fn apply(&mut self, tx: &SealedTx) -> Result<(), ExecError> {
        let t = tx.tx();
        let prev = self.nonce_state(&t.signer)?;
        self.nonces.insert(
            t.signer,
            NonceState {
                last_nonce: t.nonce,
                tx_count: prev.map_or(0, |s| s.tx_count) + 1,
            },
        );
        let tx_index = self.applied;
        match &t.payload {
            Payload::Evidence { records } => {
                for (i, rec) in records.iter().enumerate() {
                    let loc = RecordLocation {
                        height: self.height,
                        tx_index,
                        record_index: i as u32,
                    };
                    let entry = match self.evidence.get(&rec.digest) {
                        Some(e) => Some(*e),
                        None => self.read::<EvidenceState>(StateKey::Evidence(rec.digest))?,
                    };
                    let next = match entry {
                        None => EvidenceState {
                            count: 1,
                            first: loc,
                            last: loc,
                        },
                        Some(e) => EvidenceState {
                            count: e.count + 1,
                            first: e.first,
                            last: loc,
                        },
                    };
                    self.evidence.insert(rec.digest, next);
                }
            }
        }
        self.applied += 1;
        Ok(())
    }

    fn into_writes(self) -> BTreeMap<StateKey, Vec<u8>> {
        let mut out = BTreeMap::new();
        for (k, v) in self.nonces {
            out.insert(StateKey::Nonce(k), v.encode());
        }
        for (k, v) in self.evidence {
            out.insert(StateKey::Evidence(k), v.encode());
        }
        out
    }
}

/// Executes a block's transactions strictly: any transaction that cannot be applied makes the
/// block invalid. Returns the state writes (key → new value bytes).
pub fn execute_block<V: StateView + ?Sized>(
    view: &V,
    height: u64,
    txs: &[SealedTx],
) -> Result<BTreeMap<StateKey, Vec<u8>>, ExecError> {
    let mut overlay = Overlay::new(view, height);
    for (index, tx) in txs.iter().enumerate() {
        if let Err(reason) = overlay.check(tx)? {
            return Err(ExecError::InvalidTransaction {
                index,
                hash: tx.hash(),
                reason,
            });
        }
        overlay.apply(tx)?;
    }
    Ok(overlay.into_writes())
}

/// The outcome of building a block from candidates.
#[derive(Debug)]
pub struct BuiltBlock {
    /// The transactions included, in block order.
    pub included: Vec<SealedTx>,
    /// Candidates that can never be applied on this chain (replays), with the reason.
    pub rejected: Vec<(Hash, TxRejection)>,
    /// Candidates left out because an earlier nonce of their signer is missing: they stay
    /// pending until it arrives.
    pub deferred: Vec<Hash>,
    /// The state writes of the included transactions.
    pub writes: BTreeMap<StateKey, Vec<u8>>,
}

/// Builds a block from candidate transactions (already signature-checked): applies each in
/// order and leaves out those that cannot be applied (yet). `execute_block` on the result
/// succeeds.
pub fn build_block<V: StateView + ?Sized>(
    view: &V,
    height: u64,
    candidates: Vec<SealedTx>,
) -> Result<BuiltBlock, ExecError> {
    let mut overlay = Overlay::new(view, height);
    let mut included = Vec::with_capacity(candidates.len());
    let mut rejected = Vec::new();
    let mut deferred = Vec::new();
    for tx in candidates {
        match overlay.check(&tx)? {
            Ok(()) => {
                overlay.apply(&tx)?;
                included.push(tx);
            }
            Err(TxRejection::NonceGap { .. }) => deferred.push(tx.hash()),
            Err(reason) => rejected.push((tx.hash(), reason)),
        }
    }
    Ok(BuiltBlock {
        included,
        rejected,
        deferred,
        writes: overlay.into_writes(),
    })
}

/// The next nonce a signer may use given its committed state value: `last_nonce + 1`, or 1.
pub fn next_nonce(state: Option<&NonceState>) -> u64 {
    state.map_or(1, |s| s.last_nonce.saturating_add(1))
}

#[cfg(test)]
mod tests {
    use super::*;
    use kexin_crypto::{SigningKey, Suite};
    use kexin_types::{EvidenceRecord, Transaction};

    fn rec(d: &[u8]) -> EvidenceRecord {
        EvidenceRecord {
            digest: Suite::Intl.hash(d),
            content_type: "text/plain".into(),
            label: String::from_utf8_lossy(d).into_owned(),
            external_ref: None,
        }
    }

    fn tx(key: &SigningKey, nonce: u64, digests: &[&[u8]]) -> SealedTx {
        SealedTx::new(Transaction::sign(
            "test",
            key,
            nonce,
            Payload::Evidence {
                records: digests.iter().map(|d| rec(d)).collect(),
            },
        ))
    }

    fn commit(state: &mut MemoryState, writes: BTreeMap<StateKey, Vec<u8>>) {
        state.0.extend(writes);
    }

    fn refusal(err: ExecError) -> (usize, &'static str) {
        match err {
            ExecError::InvalidTransaction { index, reason, .. } => (index, reason.code()),
            e => panic!("unexpected {e}"),
        }
    }

    #[test]
    fn nonces_follow_one_another_across_blocks_and_within_a_block() {
        let key = SigningKey::from_seed(Suite::Intl, &[1; 32]).unwrap();
        let mut state = MemoryState::default();
        // A signer's first transaction uses nonce 1.
        let err = execute_block(&state, 1, &[tx(&key, 2, &[b"a"])]).unwrap_err();
        assert_eq!(refusal(err), (0, "nonce_gap"));
        let w = execute_block(&state, 1, &[tx(&key, 1, &[b"a"]), tx(&key, 2, &[b"b"])]).unwrap();
        commit(&mut state, w);
        let ns = NonceState::decode(&state.0[&StateKey::Nonce(key.public_key())]).unwrap();
        assert_eq!(
            ns,
            NonceState {
                last_nonce: 2,
                tx_count: 2
            }
        );
        assert_eq!(next_nonce(Some(&ns)), 3);

        // Replays of a committed nonce are refused, and so is any gap.
        for (n, code) in [
            (1, "nonce_replayed"),
            (2, "nonce_replayed"),
            (4, "nonce_gap"),
        ] {
            let err = execute_block(&state, 2, &[tx(&key, n, &[b"c"])]).unwrap_err();
            assert_eq!(refusal(err), (0, code), "nonce {n}");
        }
        // Within one block, the second use of a nonce is refused, and so is a skipped one.
        let err =
            execute_block(&state, 2, &[tx(&key, 3, &[b"c"]), tx(&key, 3, &[b"d"])]).unwrap_err();
        assert_eq!(refusal(err), (1, "nonce_replayed"));
        let err =
            execute_block(&state, 2, &[tx(&key, 3, &[b"c"]), tx(&key, 5, &[b"d"])]).unwrap_err();
        assert_eq!(refusal(err), (1, "nonce_gap"));
        // Out of order within a block is a gap too: the block order is the execution order.
        let err =
            execute_block(&state, 2, &[tx(&key, 4, &[b"c"]), tx(&key, 3, &[b"d"])]).unwrap_err();
        assert_eq!(refusal(err), (0, "nonce_gap"));
    }

    #[test]
    fn build_block_leaves_out_replays_defers_gaps_and_result_executes() {
        let key = SigningKey::from_seed(Suite::Intl, &[2; 32]).unwrap();
        let other = SigningKey::from_seed(Suite::Intl, &[9; 32]).unwrap();
        let state = MemoryState::default();
        let gapped = tx(&key, 4, &[b"d"]);
        let replay = tx(&key, 1, &[b"b2"]);
        let built = build_block(
            &state,
            1,
            vec![
                tx(&key, 1, &[b"b"]),
                tx(&key, 2, &[b"a"]),
                gapped.clone(),
                replay.clone(),
                tx(&other, 1, &[b"c"]),
            ],
        )
        .unwrap();
        assert_eq!(built.included.len(), 3);
        assert_eq!(built.rejected.len(), 1);
        assert_eq!(built.rejected[0].0, replay.hash());
        assert_eq!(built.rejected[0].1.code(), "nonce_replayed");
        assert_eq!(built.deferred, vec![gapped.hash()]);
        let again = execute_block(&state, 1, &built.included).unwrap();
        assert_eq!(again, built.writes);
    }

    #[test]
    fn evidence_entries_count_first_and_last_locations() {
        let a = SigningKey::from_seed(Suite::Intl, &[3; 32]).unwrap();
        let b = SigningKey::from_seed(Suite::Intl, &[4; 32]).unwrap();
        let mut state = MemoryState::default();
        let w = execute_block(&state, 7, &[tx(&a, 1, &[b"x", b"y", b"x"])]).unwrap();
        commit(&mut state, w);
        let w = execute_block(&state, 8, &[tx(&b, 1, &[b"z"]), tx(&b, 2, &[b"x"])]).unwrap();
        commit(&mut state, w);
        let e =
            EvidenceState::decode(&state.0[&StateKey::Evidence(Suite::Intl.hash(b"x"))]).unwrap();
        assert_eq!(e.count, 3);
        assert_eq!(
            e.first,
            RecordLocation {
                height: 7,
                tx_index: 0,
                record_index: 0
            }
        );
        assert_eq!(
            e.last,
            RecordLocation {
                height: 8,
                tx_index: 1,
                record_index: 0
            }
        );
    }

    #[test]
    fn execution_is_deterministic_regardless_of_map_state() {
        let keys: Vec<SigningKey> = (0..5u8)
            .map(|i| SigningKey::from_seed(Suite::Intl, &[10 + i; 32]).unwrap())
            .collect();
        let txs: Vec<SealedTx> = keys
            .iter()
            .enumerate()
            .map(|(i, k)| tx(k, 1, &[&[i as u8], b"shared"]))
            .collect();
        let w1 = execute_block(&MemoryState::default(), 1, &txs).unwrap();
        let w2 = execute_block(&MemoryState::default(), 1, &txs).unwrap();
        assert_eq!(w1, w2);
        // Different order of the same transactions gives different locations, so different writes.
        let mut rev = txs.clone();
        rev.reverse();
        assert_ne!(execute_block(&MemoryState::default(), 1, &rev).unwrap(), w1);
    }

    #[test]
    fn corrupt_state_is_an_error_not_a_panic() {
        let key = SigningKey::from_seed(Suite::Intl, &[5; 32]).unwrap();
        let mut state = MemoryState::default();
        state
            .0
            .insert(StateKey::Nonce(key.public_key()), vec![1, 2, 3]);
        let err = execute_block(&state, 1, &[tx(&key, 1, &[b"a"])]).unwrap_err();
        assert!(matches!(err, ExecError::CorruptState { .. }), "{err}");
    }
}
