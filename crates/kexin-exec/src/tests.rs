//! Unit tests of the executor: nonces, evidence entries, block building, determinism, and
//! the outcomes of protocol version 4.

use std::collections::BTreeMap;

use kexin_types::state::{EvidenceState, Key, NonceState, RecordLocation, StateKey};
use kexin_types::{Decode, Payload, SealedTx};

use super::*;
use kexin_crypto::{SigningKey, Suite};
use kexin_types::{EvidenceRecord, Transaction};

fn rec(d: &[u8]) -> EvidenceRecord {
    EvidenceRecord {
        digest: Suite::Intl.hash(d),
        metadata: kexin_types::RecordMetadata {
            salt: kexin_types::Salt([7; 16]),
            content_type: "text/plain".into(),
            label: String::from_utf8_lossy(d).into_owned(),
            external_ref: None,
        },
    }
}

/// An evidence transaction in format 3, the version of [`genesis`].
fn tx(key: &SigningKey, nonce: u64, digests: &[&[u8]]) -> SealedTx {
    SealedTx::new(Transaction::sign_versioned(
        kexin_types::protocol::V3,
        "test",
        key,
        None,
        nonce,
        Payload::Evidence {
            records: digests.iter().map(|d| rec(d)).collect(),
        },
    ))
}

fn genesis() -> kexin_types::Genesis {
    let v = SigningKey::from_seed(Suite::Intl, &[99; 32]).unwrap();
    kexin_types::Genesis {
        version: kexin_types::protocol::V3,
        epoch_length: kexin_types::limits::DEFAULT_EPOCH_LENGTH,
        chain_id: "test".into(),
        suite: Suite::Intl,
        timestamp_ms: 0,
        organisations: vec![],
        validators: vec![kexin_types::Validator {
            name: "v".into(),
            org: String::new(),
            public_key: v.public_key(),
            address: String::new(),
        }],
    }
}

fn execute_block(
    state: &MemoryState,
    height: u64,
    txs: &[SealedTx],
) -> Result<BTreeMap<Key, Vec<u8>>, ExecError> {
    let g = genesis();
    let ctx = BlockContext {
        genesis: &g,
        height,
        timestamp_ms: height,
    };
    super::execute_block(state, &ctx, txs).map(|e| e.writes)
}

fn build_block(
    state: &MemoryState,
    height: u64,
    candidates: Vec<SealedTx>,
) -> Result<BuiltBlock, ExecError> {
    let g = genesis();
    let ctx = BlockContext {
        genesis: &g,
        height,
        timestamp_ms: height,
    };
    super::build_block(state, &ctx, candidates)
}

fn commit(state: &mut MemoryState, writes: BTreeMap<Key, Vec<u8>>) {
    state.commit(writes);
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
    let ns = NonceState::decode(state.value(StateKey::Nonce(key.public_key())).unwrap()).unwrap();
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
    let err = execute_block(&state, 2, &[tx(&key, 3, &[b"c"]), tx(&key, 3, &[b"d"])]).unwrap_err();
    assert_eq!(refusal(err), (1, "nonce_replayed"));
    let err = execute_block(&state, 2, &[tx(&key, 3, &[b"c"]), tx(&key, 5, &[b"d"])]).unwrap_err();
    assert_eq!(refusal(err), (1, "nonce_gap"));
    // Out of order within a block is a gap too: the block order is the execution order.
    let err = execute_block(&state, 2, &[tx(&key, 4, &[b"c"]), tx(&key, 3, &[b"d"])]).unwrap_err();
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
    let e = EvidenceState::decode(
        state
            .value(StateKey::Evidence(Suite::Intl.hash(b"x")))
            .unwrap(),
    )
    .unwrap();
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
        .insert(StateKey::Nonce(key.public_key()).to_key(), vec![1, 2, 3]);
    let err = execute_block(&state, 1, &[tx(&key, 1, &[b"a"])]).unwrap_err();
    assert!(matches!(err, ExecError::CorruptState { .. }), "{err}");
}

fn genesis_v4() -> kexin_types::Genesis {
    kexin_types::Genesis {
        version: kexin_types::protocol::V4,
        ..genesis()
    }
}

fn execute_v4(state: &MemoryState, height: u64, txs: &[SealedTx]) -> Result<Executed, ExecError> {
    let g = genesis_v4();
    let ctx = BlockContext {
        genesis: &g,
        height,
        timestamp_ms: height,
    };
    super::execute_block(state, &ctx, txs)
}

#[test]
fn v4_every_included_transaction_has_an_outcome_with_cost_and_events() {
    let a = SigningKey::from_seed(Suite::Intl, &[21; 32]).unwrap();
    let b = SigningKey::from_seed(Suite::Intl, &[22; 32]).unwrap();
    let ok = tx(&a, 1, &[b"x", b"y"]);
    // An audit note on a chain without organisations cannot take effect.
    let note = SealedTx::new(Transaction::sign_versioned(
        kexin_types::protocol::V4,
        "test",
        &b,
        None,
        1,
        Payload::AuditNote {
            subject: Suite::Intl.hash(b"x"),
            text: "n".into(),
        },
    ));
    let ex = execute_v4(&MemoryState::default(), 1, &[ok.clone(), note.clone()]).unwrap();
    assert_eq!(ex.version, 4);
    assert_eq!(ex.outcomes.len(), 2);
    let success = &ex.outcomes[0];
    assert!(success.is_success());
    assert_eq!(
        success.cost,
        modules::BASE_COST + 2 * modules::evidence::RECORD_COST
    );
    assert_eq!(success.events.len(), 1);
    let e = &success.events[0];
    assert_eq!(
        (e.module.as_str(), e.topic.as_str()),
        ("evidence", "records_attested")
    );
    assert_eq!(e.attribute("count"), Some("2"));
    assert_eq!(e.attribute("new_digests"), Some("2"));
    let failed = &ex.outcomes[1];
    assert_eq!(failed.code.as_deref(), Some("no_organisations"));
    assert_eq!(failed.cost, tx_cost(&note));
    // The failed note consumed b's nonce: its replay is now refused, its successor accepted.
    let mut state = MemoryState::default();
    state.commit(ex.writes);
    let nb = NonceState::decode(state.value(StateKey::Nonce(b.public_key())).unwrap()).unwrap();
    assert_eq!((nb.last_nonce, nb.tx_count), (1, 1));
    let err = execute_v4(&state, 2, &[note]).unwrap_err();
    assert_eq!(refusal(err), (0, "nonce_replayed"));
    // Outcomes encode within their limits.
    for o in &execute_v4(&MemoryState::default(), 1, &[ok])
        .unwrap()
        .outcomes
    {
        o.validate().unwrap();
    }
}

#[test]
fn v4_a_wrong_nonce_still_invalidates_the_block() {
    let a = SigningKey::from_seed(Suite::Intl, &[23; 32]).unwrap();
    let err = execute_v4(&MemoryState::default(), 1, &[tx(&a, 2, &[b"x"])]).unwrap_err();
    assert_eq!(refusal(err), (0, "nonce_gap"));
    let err = execute_v4(
        &MemoryState::default(),
        1,
        &[tx(&a, 1, &[b"x"]), tx(&a, 1, &[b"y"])],
    )
    .unwrap_err();
    assert_eq!(refusal(err), (1, "nonce_replayed"));
}

#[test]
fn the_protocol_version_follows_the_voted_schedule() {
    use kexin_types::Encode;
    use kexin_types::protocol::{ProtocolSchedule, Upgrade};
    let a = SigningKey::from_seed(Suite::Intl, &[24; 32]).unwrap();
    let mut state = MemoryState::default();
    let schedule = ProtocolSchedule {
        upgrades: vec![Upgrade {
            version: 4,
            height: 5,
            voted_at: 2,
        }],
    };
    state.0.insert(protocol::schedule_key(), schedule.encode());
    let g = genesis();
    let at = |h| {
        let ctx = BlockContext {
            genesis: &g,
            height: h,
            timestamp_ms: h,
        };
        super::execute_block(&state, &ctx, &[tx(&a, 1, &[b"x"])])
            .unwrap()
            .version
    };
    assert_eq!(at(4), 3);
    assert_eq!(at(5), 4);
    // A version this build does not run stops execution with a clear error.
    let future = ProtocolSchedule {
        upgrades: vec![Upgrade {
            version: 9,
            height: 5,
            voted_at: 2,
        }],
    };
    state.0.insert(protocol::schedule_key(), future.encode());
    let ctx = BlockContext {
        genesis: &g,
        height: 5,
        timestamp_ms: 5,
    };
    let err = super::execute_block(&state, &ctx, &[]).unwrap_err();
    assert!(
        matches!(err, ExecError::UnsupportedProtocol { version: 9, .. }),
        "{err}"
    );
    assert!(
        err.to_string().contains("upgrade the node's binary"),
        "{err}"
    );
}

#[test]
fn transactions_newer_than_the_block_are_refused_and_admission_takes_the_current_version_only() {
    let a = SigningKey::from_seed(Suite::Intl, &[25; 32]).unwrap();
    let v4 = SealedTx::new(Transaction::sign_versioned(
        4,
        "test",
        &a,
        None,
        1,
        Payload::Evidence {
            records: vec![rec(b"x")],
        },
    ));
    let v3 = tx(&a, 1, &[b"x"]);
    // A version 3 block refuses a version 4 transaction; admission names both versions.
    let err = execute_block(&MemoryState::default(), 1, std::slice::from_ref(&v4)).unwrap_err();
    assert_eq!(refusal(err), (0, "unsupported_version"));
    let g3 = genesis();
    let g4 = genesis_v4();
    let ctx = |g| BlockContext {
        genesis: g,
        height: 1,
        timestamp_ms: 1,
    };
    let state = MemoryState::default();
    let r = check_admission(&state, &ctx(&g3), &v4)
        .unwrap()
        .unwrap_err();
    assert_eq!(r.code(), "unsupported_version");
    assert!(
        r.to_string()
            .contains("format version 4 on a chain at protocol version 3"),
        "{r}"
    );
    check_admission(&state, &ctx(&g3), &v3).unwrap().unwrap();
    // A version 4 chain admits version 4 only, but its blocks still take version 3
    // transactions (those admitted before the upgrade).
    let r = check_admission(&state, &ctx(&g4), &v3)
        .unwrap()
        .unwrap_err();
    assert_eq!(r.code(), "unsupported_version");
    check_admission(&state, &ctx(&g4), &v4).unwrap().unwrap();
    assert!(execute_v4(&state, 1, &[v3]).unwrap().outcomes[0].is_success());
    assert!(execute_v4(&state, 1, &[v4]).unwrap().outcomes[0].is_success());
}
