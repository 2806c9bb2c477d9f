//! Crash consistency: a commit that fails (or a power loss at any I/O operation) leaves a
//! store that reopens at exactly a committed height, with that height's roots, nothing of a
//! later block, and from which the chain continues to the same final state.

mod common;

use std::sync::Arc;

use common::{Chain, CrashDisk, FaultyStore, Roots, check_receipts, roots, scenario};
use kexin_crypto::Suite;
use kexin_ledger::{KvStore, Ledger, LedgerError, MemStore, RedbStore, Table};
use kexin_types::SealedTx;

/// The roots after each height of the scenario, from an undisturbed run.
fn reference(chain: &Chain) -> Vec<Roots> {
    let ledger = Ledger::open(Arc::new(MemStore::new()), chain.genesis.clone()).unwrap();
    let mut out = vec![roots(&ledger)];
    for (txs, ts) in scenario(chain) {
        chain.commit(&ledger, &txs, ts).unwrap();
        out.push(roots(&ledger));
    }
    out
}

fn count(store: &dyn KvStore, table: Table) -> usize {
    let mut n = 0;
    store
        .for_each(table, &mut |_, _| {
            n += 1;
            Ok(())
        })
        .unwrap();
    n
}

/// Checks a reopened ledger is exactly at a committed height and holds nothing beyond it, then
/// finishes the scenario on it and checks the final state. Returns the height it reopened at.
fn check_recovered(chain: &Chain, store: Arc<dyn KvStore>, reference: &[Roots], what: &str) -> u64 {
    let blocks = scenario(chain);
    let ledger = Ledger::open(store.clone(), chain.genesis.clone())
        .unwrap_or_else(|e| panic!("{what}: reopen failed: {e}"));
    let h = ledger.height();
    assert_eq!(
        roots(&ledger),
        reference[h as usize],
        "{what}: roots at height {h}"
    );

    // Nothing of a later block: no block, certificate, index entry, log node or extra state.
    let committed_txs: Vec<SealedTx> = blocks[..h as usize]
        .iter()
        .flat_map(|(t, _)| t.clone())
        .collect();
    let later_txs: Vec<SealedTx> = blocks[h as usize..]
        .iter()
        .flat_map(|(t, _)| t.clone())
        .collect();
    for stx in &later_txs {
        assert!(
            ledger.tx_location(&stx.hash()).unwrap().is_none(),
            "{what}: later tx indexed"
        );
    }
    assert!(ledger.block(h + 1).unwrap().is_none(), "{what}");
    assert_eq!(count(store.as_ref(), Table::Blocks), h as usize, "{what}");
    assert_eq!(
        count(store.as_ref(), Table::Certificates),
        h as usize,
        "{what}"
    );
    assert_eq!(
        count(store.as_ref(), Table::BlockHashes),
        h as usize,
        "{what}"
    );
    assert_eq!(
        count(store.as_ref(), Table::Txs),
        committed_txs.len(),
        "{what}"
    );
    let records: usize = committed_txs.iter().map(|t| t.tx().records().len()).sum();
    assert_eq!(
        count(store.as_ref(), Table::EvidenceIndex),
        records,
        "{what}"
    );
    let log_size = reference[h as usize].log_size;
    // A log of n leaves has 2n - popcount(n) perfect-subtree nodes.
    assert_eq!(
        count(store.as_ref(), Table::LogNodes) as u64,
        2 * log_size - u64::from(log_size.count_ones()),
        "{what}"
    );
    check_receipts(&ledger, &committed_txs);

    // The chain continues from here to the same final state.
    for (txs, ts) in &blocks[h as usize..] {
        chain.commit(&ledger, txs, *ts).unwrap();
    }
    assert_eq!(
        roots(&ledger),
        *reference.last().unwrap(),
        "{what}: final roots"
    );
    h
}

/// The KvStore-level fault: commit number k fails, before writing or after writing
/// (reported failed although durable). Covers every commit of the scenario, the genesis write
/// included.
#[test]
fn failed_commit_at_each_point_reopens_at_a_committed_height() {
    let chain = Chain::new(Suite::Intl);
    let reference = reference(&chain);
    let blocks = scenario(&chain);
    let total_commits = 1 + blocks.len() as u64;
    for after in [false, true] {
        for fail_at in 1..=total_commits {
            let what = format!(
                "commit {fail_at} fails {}",
                if after {
                    "after writing"
                } else {
                    "before writing"
                }
            );
            let inner: Arc<dyn KvStore> = Arc::new(MemStore::new());
            let faulty = Arc::new(FaultyStore::new(inner.clone(), fail_at, after));
            let mut acked = 0u64;
            match Ledger::open(faulty.clone(), chain.genesis.clone()) {
                Err(e) => {
                    assert_eq!(fail_at, 1, "{what}");
                    assert_eq!(e.code(), "storage_io");
                }
                Ok(ledger) => {
                    let mut failed = false;
                    for (txs, ts) in &blocks {
                        match chain.commit(&ledger, txs, *ts) {
                            Ok(_) => acked = ledger.height(),
                            Err(e) => {
                                assert_eq!(e.code(), "storage_io", "{what}: {e}");
                                failed = true;
                                break;
                            }
                        }
                    }
                    assert!(failed, "{what}: the fault was not hit");
                    // The in-memory state did not move; readers still work; writes are refused.
                    assert_eq!(roots(&ledger), reference[acked as usize], "{what}");
                    assert!(ledger.checkpoint().is_ok());
                    let (txs, ts) = &blocks[acked as usize];
                    let err = chain.prepare(&ledger, txs, *ts).unwrap_err();
                    assert!(matches!(err, LedgerError::NeedsReopen(_)), "{what}: {err}");
                }
            }
            let h = check_recovered(&chain, inner, &reference, &what);
            // Failing before writing loses the block; failing after writing keeps it.
            let expected = if fail_at == 1 {
                0
            } else {
                acked + u64::from(after)
            };
            assert_eq!(h, expected, "{what}");
        }
    }
}

/// Power loss at every I/O operation of redb under the ledger, with the disk keeping only
/// synced data or every write issued before the loss.
#[test]
fn redb_power_loss_at_every_io_operation() {
    let chain = Chain::new(Suite::Intl);
    let reference = reference(&chain);
    let blocks = scenario(&chain);

    // Returns whether the database was created, and the last acknowledged height.
    let run = |disk: &CrashDisk| -> (bool, u64) {
        let mut acked = 0;
        let Ok(store) = RedbStore::with_backend(disk.clone()) else {
            return (false, acked);
        };
        let Ok(ledger) = Ledger::open(Arc::new(store), chain.genesis.clone()) else {
            return (true, acked);
        };
        for (txs, ts) in &blocks {
            if chain.commit(&ledger, txs, *ts).is_err() {
                break;
            }
            acked = ledger.height();
        }
        (true, acked)
    };
    let probe = CrashDisk::new(None);
    assert_eq!(run(&probe), (true, blocks.len() as u64));
    let total = probe.ops();

    let mut heights = std::collections::BTreeSet::new();
    for fail_from in 1..=total {
        let disk = CrashDisk::new(Some(fail_from));
        let (created, acked) = run(&disk);
        for (kind, image) in [
            ("durable", disk.durable_image()),
            ("live", disk.live_image()),
        ] {
            let what = format!("power loss at I/O {fail_from}/{total}, {kind} image");
            let store = match RedbStore::with_backend(CrashDisk::from_image(image)) {
                Ok(store) => store,
                // A crash while redb creates its file can leave a file that is not a database
                // yet; `RedbStore::open` avoids that by creating under a temporary name.
                Err(_) if !created => continue,
                Err(e) => panic!("{what}: {e}"),
            };
            let h = check_recovered(&chain, Arc::new(store), &reference, &what);
            assert!(
                h >= acked,
                "{what}: acknowledged height {acked} lost (reopened at {h})"
            );
            heights.insert(h);
        }
    }
    // The sweep crashed before the first block, between blocks and after the last.
    assert!(
        heights.len() > blocks.len() / 2 && heights.contains(&0),
        "{heights:?}"
    );
}
