//! `kexin node check`: verifies a stopped node's ledger against its own blocks and
//! certificates, and says which part of the data directory is damaged.
//!
//! The check opens the ledger store (the storage engine verifies its own checksums as it
//! reads), then replays every stored block, in height order, into a scratch ledger in a
//! temporary directory through the same path a finalized block takes (re-execution, every
//! root recomputed, the finalization certificate checked against the epoch's validators). A
//! stored block that does not replay, a header that differs from the replayed one, a
//! transaction index that points elsewhere, or a head (log, state) that differs from the
//! replayed head is damage.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use kexin_crypto::{Hash, SigningKey};
use kexin_ledger::Ledger;
use kexin_mempool::{Mempool, MempoolConfig};
use kexin_types::Genesis;

use crate::app::{LedgerApp, ProposalLimits};
use crate::config::NodeConfig;
use crate::layout;

/// Which part of a node's data a problem is in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Part {
    /// The node's configuration or genesis.
    Setup,
    /// The ledger store (`data/ledger.fjall` or `data/ledger.redb`).
    Ledger,
}

/// One problem found.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Problem {
    /// Where.
    pub part: Part,
    /// The path of the damaged store.
    pub path: PathBuf,
    /// The first height affected, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub height: Option<u64>,
    /// What is wrong.
    pub message: String,
}

/// What `check` found.
#[derive(Clone, Debug, serde::Serialize)]
pub struct CheckReport {
    /// The committed height the ledger claims.
    pub height: u64,
    /// Blocks replayed and found consistent.
    pub verified: u64,
    /// The replayed head's state root, when every block replayed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state_root: Option<Hash>,
    /// The ledger store checked.
    pub ledger_path: PathBuf,
    /// The consensus engine's storage (not checked block by block: the engine checks its
    /// journals' checksums when it opens them).
    pub consensus_path: PathBuf,
    /// What is damaged (empty: nothing found).
    pub problems: Vec<Problem>,
}

impl CheckReport {
    /// Whether nothing is damaged.
    pub fn ok(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Checks the stopped node in `dir` (the node must not be running: the stores are locked
/// while it runs). `progress` is called with each verified height.
pub fn check(dir: &Path, progress: &dyn Fn(u64, u64)) -> anyhow::Result<CheckReport> {
    let genesis_path = dir.join(layout::GENESIS);
    let text = std::fs::read_to_string(&genesis_path)
        .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", genesis_path.display()))?;
    let genesis = Genesis::from_json(&text)
        .map_err(|e| anyhow::anyhow!("{}: {e}", genesis_path.display()))?;
    let config = NodeConfig::load(&dir.join(layout::CONFIG))?;
    let ledger_path = dir.join(match config.storage.engine {
        crate::config::StorageEngine::Fjall => layout::LEDGER_FJALL,
        crate::config::StorageEngine::Redb => layout::LEDGER_REDB,
    });
    let mut report = CheckReport {
        height: 0,
        verified: 0,
        state_root: None,
        ledger_path: ledger_path.clone(),
        consensus_path: dir.join(layout::CONSENSUS),
        problems: Vec::new(),
    };
    let damaged = |height: Option<u64>, message: String| Problem {
        part: Part::Ledger,
        path: ledger_path.clone(),
        height,
        message,
    };
    if !ledger_path.exists() {
        report.problems.push(damaged(
            None,
            "the ledger store is missing (a node that never ran has none)".into(),
        ));
        return Ok(report);
    }
    let store = match crate::node::open_store(dir, &config.storage) {
        Ok(store) => store,
        Err(e) => {
            let text = format!("{e:#}");
            if text.contains("lock") || text.contains("Locked") || text.contains("in use") {
                anyhow::bail!("{text} (is the node running? stop it first)");
            }
            report.problems.push(damaged(None, text));
            return Ok(report);
        }
    };
    let stored = match Ledger::open(store, genesis.clone()) {
        Ok(l) => l,
        Err(e) => {
            report
                .problems
                .push(damaged(None, format!("cannot open the ledger: {e}")));
            return Ok(report);
        }
    };
    report.height = stored.height();

    // The replay target: a scratch ledger of the same engine in a temporary directory.
    let scratch_dir = Scratch::new(
        dir.join(layout::DATA)
            .join(format!(".kexin-check-{}", std::process::id())),
    )?;
    let scratch_store = crate::node::open_store(&scratch_dir.0, &config.storage)?;
    let scratch = Arc::new(Ledger::open(scratch_store, genesis.clone())?);
    let mempool = Arc::new(Mempool::new(
        MempoolConfig::default(),
        &genesis.chain_id,
        genesis.suite,
    ));
    // The replaying app never proposes: any key of the suite will do.
    let key = SigningKey::generate(genesis.suite);
    let app = LedgerApp::new(
        scratch.clone(),
        mempool,
        key.public_key(),
        ProposalLimits {
            max_txs: 1,
            max_records: 1,
        },
    );
    for height in 1..=report.height {
        let (block, certificate) = match stored.block(height) {
            Ok(Some(b)) => b,
            Ok(None) => {
                report.problems.push(damaged(
                    Some(height),
                    format!(
                        "block {height} is missing (the ledger claims height {})",
                        report.height
                    ),
                ));
                return Ok(report);
            }
            Err(e) => {
                report
                    .problems
                    .push(damaged(Some(height), format!("block {height}: {e}")));
                return Ok(report);
            }
        };
        let stored_hash = stored.block_hash_at(height).ok().flatten();
        let hash = block.header.hash(genesis.suite);
        if stored_hash != Some(hash) {
            report.problems.push(damaged(
                Some(height),
                format!("block {height}: the height index names another block than the one stored"),
            ));
            return Ok(report);
        }
        if let Err(e) = kexin_consensus::Application::finalized(&app, &block, certificate) {
            report.problems.push(damaged(
                Some(height),
                format!("block {height} does not replay: {e}"),
            ));
            return Ok(report);
        }
        for (index, tx) in block.transactions.iter().enumerate() {
            let tx_hash = tx.hash();
            match stored.tx_location(&tx_hash) {
                Ok(Some(loc)) if loc.height == height && loc.tx_index as usize == index => {}
                other => {
                    report.problems.push(damaged(
                        Some(height),
                        format!(
                            "block {height}: the transaction index for transaction {index} \
                             ({tx_hash}) is wrong: {other:?}"
                        ),
                    ));
                    return Ok(report);
                }
            }
        }
        report.verified = height;
        progress(height, report.height);
    }
    if scratch.log_head() != stored.log_head() {
        report.problems.push(damaged(
            Some(report.height),
            "the stored transaction log head differs from the replayed one".into(),
        ));
    } else if scratch.state_root() != stored.state_root() {
        report.problems.push(damaged(
            Some(report.height),
            "the stored state differs from the replayed state".into(),
        ));
    } else {
        report.state_root = Some(stored.state_root());
    }
    Ok(report)
}

/// A scratch node directory, removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new(path: PathBuf) -> anyhow::Result<Scratch> {
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(path.join(layout::DATA))
            .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", path.display()))?;
        Ok(Scratch(path))
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
