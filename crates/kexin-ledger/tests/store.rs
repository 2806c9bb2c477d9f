//! The storage layer: both engines behave as the `KvStore` contract says.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use common::CrashDisk;
use kexin_ledger::{KvStore, MemStore, RedbStore, Table, WriteBatch};

fn stores() -> Vec<(&'static str, Arc<dyn KvStore>, Option<tempfile::TempDir>)> {
    let dir = tempfile::tempdir().unwrap();
    let redb = RedbStore::open(&dir.path().join("sub/ledger.redb")).unwrap();
    let dir2 = tempfile::tempdir().unwrap();
    let fjall = kexin_ledger::FjallStore::open(&dir2.path().join("f")).unwrap();
    vec![
        ("mem", Arc::new(MemStore::new()), None),
        ("redb", Arc::new(redb), Some(dir)),
        ("fjall", Arc::new(fjall), Some(dir2)),
    ]
}

fn all(store: &dyn KvStore, table: Table) -> Vec<(Vec<u8>, Vec<u8>)> {
    let mut out = Vec::new();
    store
        .for_each(table, &mut |k, v| {
            out.push((k.to_vec(), v.to_vec()));
            Ok(())
        })
        .unwrap();
    out
}

#[test]
fn commit_get_scan_and_delete() {
    for (name, store, _dir) in stores() {
        assert_eq!(store.get(Table::State, b"a").unwrap(), None, "{name}");
        store.commit(WriteBatch::new()).unwrap();

        let mut b = WriteBatch::new();
        for k in [
            &b"ab"[..],
            b"ab\x00",
            b"ab\xff\xff",
            b"aa\xff",
            b"ac",
            b"a",
            b"b",
        ] {
            b.put(Table::State, k.to_vec(), [k, b"-v"].concat());
        }
        b.put(Table::Meta, b"ab".to_vec(), b"meta".to_vec());
        b.put(Table::State, b"x".to_vec(), b"1".to_vec());
        b.put(Table::State, b"x".to_vec(), b"2".to_vec()); // later op wins
        assert_eq!(b.len(), 10);
        store.commit(b).unwrap();

        assert_eq!(
            store.get(Table::State, b"ab").unwrap().unwrap(),
            b"ab-v",
            "{name}"
        );
        assert_eq!(
            store.get(Table::State, b"x").unwrap().unwrap(),
            b"2",
            "{name}"
        );
        assert_eq!(
            store.get(Table::Meta, b"ab").unwrap().unwrap(),
            b"meta",
            "{name}"
        );
        assert_eq!(
            store.get(Table::Blocks, b"ab").unwrap(),
            None,
            "{name}: tables are separate"
        );

        let keys = |v: Vec<(Vec<u8>, Vec<u8>)>| v.into_iter().map(|(k, _)| k).collect::<Vec<_>>();
        assert_eq!(
            keys(store.scan_prefix(Table::State, b"ab", 100).unwrap()),
            vec![b"ab".to_vec(), b"ab\x00".to_vec(), b"ab\xff\xff".to_vec()],
            "{name}"
        );
        assert_eq!(
            keys(store.scan_prefix(Table::State, b"ab", 2).unwrap()),
            vec![b"ab".to_vec(), b"ab\x00".to_vec()],
            "{name}: limit"
        );
        assert!(
            store
                .scan_prefix(Table::State, b"ab", 0)
                .unwrap()
                .is_empty()
        );
        assert_eq!(
            keys(
                store
                    .scan_prefix_from(Table::State, b"ab", b"ab\x01", 100)
                    .unwrap()
            ),
            vec![b"ab\xff\xff".to_vec()],
            "{name}: a page starts at its key and stays in the prefix"
        );
        assert_eq!(
            keys(
                store
                    .scan_prefix_from(Table::State, b"ab", b"a", 1)
                    .unwrap()
            ),
            vec![b"ab".to_vec()],
            "{name}: a start before the prefix starts at the prefix"
        );
        assert!(
            store
                .scan_prefix_from(Table::State, b"ab", b"ac", 10)
                .unwrap()
                .is_empty(),
            "{name}: a start past the prefix finds nothing"
        );
        assert!(
            store
                .scan_prefix(Table::State, b"zz", 10)
                .unwrap()
                .is_empty()
        );
        assert_eq!(
            store.scan_prefix(Table::State, b"", 100).unwrap().len(),
            8,
            "{name}"
        );

        let everything = all(store.as_ref(), Table::State);
        let mut sorted = everything.clone();
        sorted.sort();
        assert_eq!(everything, sorted, "{name}: for_each is in key order");
        assert_eq!(everything.len(), 8);

        let mut b = WriteBatch::new();
        b.delete(Table::State, b"ab".to_vec());
        b.delete(Table::State, b"never-there".to_vec());
        store.commit(b).unwrap();
        assert_eq!(store.get(Table::State, b"ab").unwrap(), None, "{name}");
        assert_eq!(all(store.as_ref(), Table::State).len(), 7);
        assert!(store.size_on_disk().unwrap() > 0);

        // for_each stops at the callback's first error.
        let mut seen = 0;
        let r = store.for_each(Table::State, &mut |_, _| {
            seen += 1;
            Err(kexin_ledger::StoreError::Engine("stop".into()))
        });
        assert!(r.is_err());
        assert_eq!(seen, 1);
    }
}

#[test]
fn redb_data_survives_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("l.redb");
    {
        let s = RedbStore::open(&path).unwrap();
        let mut b = WriteBatch::new();
        b.put(Table::Blocks, 1u64.to_be_bytes(), b"block".to_vec());
        s.commit(b).unwrap();
        // A second handle on the same file is refused while the first is open.
        assert!(RedbStore::open(&path).is_err());
    }
    let s = RedbStore::open(&path).unwrap();
    assert_eq!(
        s.get(Table::Blocks, &1u64.to_be_bytes()).unwrap().unwrap(),
        b"block"
    );
    assert_eq!(s.path(), Some(path.as_path()));
}

/// Readers running during commits see every batch whole or not at all: each batch writes the
/// same counter under two tables (`Txs` first in table order, `EvidenceIndex` last); a reader
/// that reads `Txs` and then `EvidenceIndex` must never find the second behind the first.
#[test]
fn concurrent_readers_never_see_part_of_a_batch() {
    fn counter(store: &dyn KvStore, table: Table) -> u32 {
        store
            .get(table, b"counter")
            .unwrap()
            .map_or(0, |v| u32::from_be_bytes(v.try_into().unwrap()))
    }
    for (name, store, _dir) in stores() {
        let stop = Arc::new(AtomicBool::new(false));
        let reader = {
            let store = store.clone();
            let stop = stop.clone();
            std::thread::spawn(move || {
                let mut checks = 0u64;
                while !stop.load(Ordering::Relaxed) || checks == 0 {
                    let a = counter(store.as_ref(), Table::Txs);
                    let b = counter(store.as_ref(), Table::EvidenceIndex);
                    // Separate reads are separate snapshots; the later one may be ahead, never
                    // behind.
                    assert!(b >= a, "saw half a batch: txs {a}, evidence {b}");
                    checks += 1;
                }
                checks
            })
        };
        // Many cheap commits in memory, fewer fsynced ones on disk.
        let rounds = if name == "mem" { 20_000u32 } else { 100 };
        for i in 1..=rounds {
            let mut b = WriteBatch::new();
            b.put(Table::Txs, b"counter".to_vec(), i.to_be_bytes());
            b.put(Table::State, i.to_be_bytes(), vec![1; 64]);
            b.put(Table::EvidenceIndex, b"counter".to_vec(), i.to_be_bytes());
            store.commit(b).unwrap();
        }
        stop.store(true, Ordering::Relaxed);
        assert!(reader.join().unwrap() > 0, "{name}");
        assert_eq!(counter(store.as_ref(), Table::EvidenceIndex), rounds);
    }
}

fn big_batch(round: u8) -> WriteBatch {
    let mut b = WriteBatch::new();
    for i in 0u16..600 {
        let k = [&[round][..], &i.to_be_bytes()].concat();
        b.put(Table::EvidenceIndex, k.clone(), vec![]);
        b.put(Table::State, k, vec![round; 100]);
    }
    b.put(Table::Blocks, [round], vec![round; 50_000]);
    b.put(Table::Meta, b"round".to_vec(), vec![round]);
    b
}

/// A redb batch is all-or-nothing across a power loss at any I/O operation: the disk image,
/// with only synced data or with every issued write, opens and holds a prefix of the committed
/// batches, each complete.
#[test]
fn redb_batch_is_all_or_nothing_across_power_loss() {
    // Count the I/O operations of the whole workload.
    let probe = CrashDisk::new(None);
    {
        let s = RedbStore::with_backend(probe.clone()).unwrap();
        for round in 1..=3 {
            s.commit(big_batch(round)).unwrap();
        }
    }
    let total = probe.ops();
    assert!(total > 10, "{total} ops");
    let mut outcomes = std::collections::BTreeSet::new();
    for fail_from in 1..=total {
        let disk = CrashDisk::new(Some(fail_from));
        let mut acked = 0u8;
        let mut created = false;
        if let Ok(s) = RedbStore::with_backend(disk.clone()) {
            created = true;
            for round in 1..=3 {
                if s.commit(big_batch(round)).is_err() {
                    break;
                }
                acked = round;
            }
        }
        for (kind, image) in [
            ("durable", disk.durable_image()),
            ("live", disk.live_image()),
        ] {
            let s = match RedbStore::with_backend(CrashDisk::from_image(image)) {
                Ok(s) => s,
                // Power lost while redb was creating its file (RedbStore::open avoids this
                // by creating under a temporary name and renaming).
                Err(_) if !created => continue,
                Err(e) => panic!("fail at {fail_from}, {kind} image: {e}"),
            };
            let round = s.get(Table::Meta, b"round").unwrap().map_or(0, |v| v[0]);
            assert!(
                round >= acked,
                "fail at {fail_from} ({kind}): acknowledged round {acked} lost, found {round}"
            );
            outcomes.insert(round);
            for r in 1..=3u8 {
                let present = if r <= round { 600 } else { 0 };
                let idx = s
                    .scan_prefix(Table::EvidenceIndex, &[r], usize::MAX)
                    .unwrap();
                let st = s.scan_prefix(Table::State, &[r], usize::MAX).unwrap();
                assert_eq!(idx.len(), present, "fail at {fail_from} ({kind}) round {r}");
                assert_eq!(st.len(), present, "fail at {fail_from} ({kind}) round {r}");
                assert!(st.iter().all(|(_, v)| v == &vec![r; 100]));
                assert_eq!(
                    s.get(Table::Blocks, &[r]).unwrap().is_some(),
                    r <= round,
                    "fail at {fail_from} ({kind}) round {r}"
                );
            }
        }
    }
    // The sweep did hit crashes before, between and after the batches.
    assert!(
        outcomes.contains(&0) && outcomes.contains(&3),
        "{outcomes:?}"
    );
}
