//! A running node: ledger, mempool and ordering engine, with the submission path.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use anyhow::Context as _;
use kexin_crypto::{Hash, PublicKey, SigningKey};
use kexin_ledger::{FjallStore, KvStore, Ledger, LedgerError, RedbStore};
use kexin_mempool::{AdmissionError, Admitted, Mempool, MempoolConfig};
use kexin_types::{DecodeError, Encode as _, Genesis, SealedTx, decode_transaction};

use crate::app::{LedgerApp, ProposalLimits};
use crate::config::{NodeConfig, StorageEngine};
use crate::layout;
use crate::metrics::{CertExpiry, CommitStats, Metrics, Snapshot};
use crate::network::{self, NetworkHandle, NetworkParams};

/// Why a submitted transaction was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SubmitError {
    /// The bytes are not a canonical transaction.
    #[error("malformed transaction: {0}")]
    Decode(#[from] DecodeError),
    /// Admission refused it.
    #[error(transparent)]
    Admission(#[from] AdmissionError),
    /// The same transaction is already committed.
    #[error("transaction {hash} is already committed at height {height}: replayed nonce {nonce}")]
    AlreadyCommitted {
        /// The transaction.
        hash: Hash,
        /// Where.
        height: u64,
        /// Its nonce.
        nonce: u64,
    },
    /// The transaction cannot act as it claims: its certificate, role or payload is refused
    /// (the same rules execution applies).
    #[error("{0}")]
    Refused(kexin_exec::TxRejection),
    /// Execution could not read the state.
    #[error("state error: {0}")]
    Exec(#[from] kexin_exec::ExecError),
    /// The node cannot take transactions (its engine stopped).
    #[error("node is not accepting transactions: {0}")]
    Unavailable(String),
    /// Storage failed.
    #[error("storage error: {0}")]
    Ledger(#[from] LedgerError),
}

impl SubmitError {
    /// A stable, machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            SubmitError::Decode(e) => e.code(),
            SubmitError::Admission(e) => e.code(),
            SubmitError::AlreadyCommitted { .. } => "nonce_replayed",
            SubmitError::Refused(r) => r.code(),
            SubmitError::Unavailable(_) => "unavailable",
            SubmitError::Ledger(_) | SubmitError::Exec(_) => "internal",
        }
    }
}

/// Opens the ledger store of `dir` with the configured engine, refusing to open a directory
/// that holds the other engine's data (which would look like an empty chain).
pub(crate) fn open_store(
    dir: &Path,
    storage: &crate::config::StorageConfig,
) -> anyhow::Result<Arc<dyn KvStore>> {
    let engine = storage.engine;
    let redb_path = dir.join(layout::LEDGER_REDB);
    let fjall_path = dir.join(layout::LEDGER_FJALL);
    let (path, name, other, other_name) = match engine {
        StorageEngine::Fjall => (&fjall_path, "fjall", &redb_path, "redb"),
        StorageEngine::Redb => (&redb_path, "redb", &fjall_path, "fjall"),
    };
    if other.exists() {
        anyhow::bail!(
            "{} holds a {other_name} ledger but storage.engine is \"{name}\"; set storage.engine = \"{other_name}\" in config.toml",
            dir.display()
        );
    }
    let context = || format!("cannot open the ledger in {}", path.display());
    Ok(match engine {
        StorageEngine::Fjall => Arc::new(
            FjallStore::open_with(path, storage.cache_bytes, storage.max_open_files)
                .with_context(context)?,
        ),
        StorageEngine::Redb => Arc::new(
            RedbStore::open_with_cache(path, storage.cache_bytes as usize).with_context(context)?,
        ),
    })
}

/// Whether a node votes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// Its key is a genesis validator: it proposes and votes.
    Validator,
    /// A read-only node: follows the chain, verifies every finalized block, serves the API.
    Observer,
}

impl Role {
    /// `validator` or `observer`.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Validator => "validator",
            Role::Observer => "observer",
        }
    }
}

/// A running node.
pub struct Node {
    key: PublicKey,
    dir: PathBuf,
    config: NodeConfig,
    ledger: Arc<Ledger>,
    mempool: Arc<Mempool>,
    network: Mutex<Option<NetworkHandle>>,
    peers: network::PeerWatch,
    /// Why the network and consensus stopped by themselves (`None` while they run).
    failure: tokio::sync::watch::Sender<Option<String>>,
    metrics: Arc<Metrics>,
    height: tokio::sync::watch::Receiver<u64>,
}

/// A validator of the current epoch as this node sees it.
#[derive(Clone, Debug)]
pub struct ValidatorStatus {
    /// The validator.
    pub validator: kexin_types::Validator,
    /// Whether it is this node.
    pub is_self: bool,
    /// Whether it was heard from (consensus votes) within [`Node::LIVE_WINDOW`], or is this
    /// node.
    pub online: bool,
    /// How long ago it was last heard from (`None`: never, or this node).
    pub last_seen: Option<std::time::Duration>,
}

/// A transaction submitted here is gossiped again if still pending after this long.
const REGOSSIP_AFTER: std::time::Duration = std::time::Duration::from_secs(2);
/// Most transactions gossiped again per round.
const REGOSSIP_LIMIT: usize = 4096;

/// What admitting one transaction gave: its hash and whether it was new, or why not.
pub type Submitted = Result<(Hash, Admitted), SubmitError>;

/// Whether a peer that gossiped a transaction refused with `e` misbehaved. Honest peers
/// gossip only what they admitted, so bytes that are not a transaction, a bad signature or
/// another chain's transaction are offences; replays, nonce races and full mempools are not.
fn is_gossip_offence(e: &SubmitError) -> bool {
    matches!(
        e,
        SubmitError::Decode(_) | SubmitError::Admission(AdmissionError::Invalid(_))
    )
}

/// Decodes, checks and admits a transaction into `mempool`.
fn admit(
    ledger: &Ledger,
    mempool: &Mempool,
    bytes: &[u8],
) -> Result<(Hash, Admitted), SubmitError> {
    let tx = SealedTx::new(decode_transaction(bytes)?);
    let hash = tx.hash();
    if let Some(loc) = ledger.tx_location(&hash)? {
        return Err(SubmitError::AlreadyCommitted {
            hash,
            height: loc.height,
            nonce: tx.tx().nonce,
        });
    }
    // Identity, permission and payload rules, as the next block would apply them now.
    let genesis = ledger.genesis();
    let ctx = kexin_exec::BlockContext {
        genesis,
        height: ledger.height() + 1,
        timestamp_ms: crate::app::now_ms(),
    };
    kexin_exec::check_admission(&crate::app::LedgerView::committed(ledger), &ctx, &tx)?
        .map_err(SubmitError::Refused)?;
    let last = crate::app::last_nonce(ledger, &tx.tx().signer)?;
    let admitted = mempool.admit(tx, last)?;
    Ok((hash, admitted))
}

/// Checks every organisation CA in genesis is a CA certificate of the chain's suite, in
/// force when the chain was created.
fn check_genesis_cas(genesis: &Genesis) -> anyhow::Result<()> {
    for org in &genesis.organisations {
        for (i, der) in org.ca_certs.iter().enumerate() {
            let ca = kexin_pki::Certificate::from_der(der.as_bytes())
                .map_err(|e| anyhow::anyhow!("organisation {} CA {i}: {e}", org.name))?;
            kexin_pki::check_ca(&ca, genesis.suite, genesis.timestamp_ms)
                .map_err(|e| anyhow::anyhow!("organisation {} CA {i}: {e}", org.name))?;
            if ca.org().as_deref() != Some(org.name.as_str()) {
                anyhow::bail!(
                    "organisation {} CA {i} names organisation {:?}",
                    org.name,
                    ca.org().unwrap_or_default()
                );
            }
        }
    }
    Ok(())
}

/// How often expiring certificates are logged.
const EXPIRY_LOG_INTERVAL: std::time::Duration = std::time::Duration::from_secs(3600);

/// Logs expiring certificates now and every hour while the ledger is open.
fn spawn_expiry_watch(ledger: &Arc<Ledger>, dir: &Path, config: &NodeConfig) {
    let days = config.pki.expiry_warning_days;
    if days == 0 || !ledger.genesis().is_permissioned() {
        return;
    }
    let weak = Arc::downgrade(ledger);
    let own = dir.join(crate::ca::NODE_CERT);
    let window = u64::from(days) * 86_400_000;
    let spawned = std::thread::Builder::new()
        .name("kexin-expiry".into())
        .spawn(move || {
            loop {
                let Some(ledger) = weak.upgrade() else { return };
                match crate::expiry::expiring(
                    &ledger,
                    ledger.genesis(),
                    Some(&own),
                    crate::app::now_ms(),
                    window,
                ) {
                    Ok(list) => crate::expiry::log_warnings(&list),
                    Err(e) => tracing::warn!("cannot check certificate expiry: {e}"),
                }
                drop(ledger);
                // Sleep in short steps so the thread ends soon after the ledger closes.
                let until = std::time::Instant::now() + EXPIRY_LOG_INTERVAL;
                while std::time::Instant::now() < until {
                    std::thread::sleep(std::time::Duration::from_secs(1));
                    if weak.strong_count() == 0 {
                        return;
                    }
                }
            }
        });
    if let Err(e) = spawned {
        tracing::warn!("cannot start the certificate expiry watch: {e}");
    }
}

impl Node {
    /// Opens the node directory made by [`crate::init`] and joins the network.
    pub fn open(dir: &Path) -> anyhow::Result<Node> {
        let genesis_path = dir.join(layout::GENESIS);
        let text = std::fs::read_to_string(&genesis_path).with_context(|| {
            format!(
                "cannot read {} (run `kexin node init --dir {}` first)",
                genesis_path.display(),
                dir.display()
            )
        })?;
        let genesis = Genesis::from_json(&text)
            .map_err(|e| anyhow::anyhow!("{}: {e}", genesis_path.display()))?;
        let config = NodeConfig::load(&dir.join(layout::CONFIG))?;
        let key_path = dir.join(layout::VALIDATOR_KEY);
        let pem = std::fs::read_to_string(&key_path)
            .with_context(|| format!("cannot read {}", key_path.display()))?;
        let key = SigningKey::from_pem_env(&pem)
            .map_err(|e| anyhow::anyhow!("{}: {e}", key_path.display()))?;
        if key.suite() != genesis.suite {
            anyhow::bail!(
                "{}: a {} key on a {} chain",
                key_path.display(),
                key.suite(),
                genesis.suite
            );
        }

        let (soft, hard) = crate::fdlimit::raise(&config)?;
        tracing::debug!(
            soft,
            hard,
            need = crate::fdlimit::required(&config),
            "open-file limit"
        );
        std::fs::create_dir_all(dir.join(layout::DATA))?;
        let store = open_store(dir, &config.storage)?;
        check_genesis_cas(&genesis)
            .map_err(|e| anyhow::anyhow!("{}: {e}", genesis_path.display()))?;
        let ledger = Arc::new(Ledger::open(store, genesis.clone())?);
        tracing::info!(chain = %genesis.chain_id, suite = %genesis.suite, height = ledger.height(), "ledger opened");
        spawn_expiry_watch(&ledger, dir, &config);

        let mempool = Arc::new(Mempool::new(
            MempoolConfig {
                max_txs: config.mempool.max_txs,
                max_records: config.mempool.max_records,
                max_bytes: config.mempool.max_bytes,
                max_nonce_lead: config.mempool.max_nonce_lead,
            },
            &genesis.chain_id,
            genesis.suite,
        ));
        let limits = ProposalLimits {
            max_txs: config.block.max_txs as usize,
            max_records: config.block.max_records as usize,
        };
        let metrics = Arc::new(Metrics::new());
        let (height_tx, height) = tokio::sync::watch::channel(ledger.height());
        let on_commit: crate::app::CommitHook = {
            let metrics = metrics.clone();
            Arc::new(move |block: &kexin_types::Block| {
                let now = crate::app::now_ms();
                metrics.committed(CommitStats::of(block, now), now);
                height_tx.send_replace(block.header.height);
            })
        };
        let app = Arc::new(
            LedgerApp::new(ledger.clone(), mempool.clone(), key.public_key(), limits)
                .with_commit_hook(on_commit)
                .with_empty_blocks(config.block.empty_blocks)
                .with_gap_timeout(std::time::Duration::from_secs(config.mempool.gap_timeout_s)),
        );
        let gossip_in: network::GossipSink = {
            let ledger = ledger.clone();
            let mempool = mempool.clone();
            Arc::new(move |bytes: &[u8]| match admit(&ledger, &mempool, bytes) {
                Ok(_) => Ok(()),
                Err(e) if is_gossip_offence(&e) => Err(e.to_string()),
                Err(e) => {
                    tracing::debug!(code = e.code(), "gossiped transaction not admitted: {e}");
                    Ok(())
                }
            })
        };
        let regossip: network::Regossip = {
            let mempool = mempool.clone();
            Arc::new(move || {
                mempool
                    .due_for_regossip(REGOSSIP_AFTER, REGOSSIP_LIMIT)
                    .iter()
                    .map(|t| t.tx().encode())
                    .collect()
            })
        };
        let peers = network::PeerWatch::default();
        let params_key = key.public_key();
        let failure = tokio::sync::watch::Sender::new(None::<String>);
        let fatal: network::Fatal = {
            let failure = failure.clone();
            Arc::new(move |why: String| {
                failure.send_replace(Some(why));
            })
        };
        let network = network::spawn(NetworkParams {
            peers: peers.clone(),
            dir: dir.to_owned(),
            config: config.clone(),
            genesis,
            key,
            app,
            gossip_in,
            regossip,
            fatal,
        })?;
        let node = Node {
            key: params_key,
            dir: dir.to_owned(),
            config,
            ledger,
            mempool,
            network: Mutex::new(Some(network)),
            peers,
            failure,
            metrics,
            height,
        };
        tracing::info!(role = node.role().as_str(), key = %params_key, "node identity");
        Ok(node)
    }

    /// Whether this node votes.
    pub fn role(&self) -> Role {
        match self.current_validators() {
            Ok(set) if set.iter().any(|v| v.public_key == self.key) => Role::Validator,
            _ => Role::Observer,
        }
    }

    /// The consensus epoch of the next block and its validators (committed here).
    pub fn current_epoch(&self) -> (u64, u64) {
        let g = self.ledger.genesis();
        let epoch = g.epoch_of(self.ledger.height() + 1);
        (epoch, g.epoch_last(epoch))
    }

    /// The validators of the current epoch.
    pub fn current_validators(&self) -> anyhow::Result<Vec<kexin_types::Validator>> {
        let (epoch, _) = self.current_epoch();
        kexin_exec::epoch_validators(
            &crate::app::LedgerView::committed(&self.ledger),
            self.ledger.genesis(),
            epoch,
        )?
        .ok_or_else(|| anyhow::anyhow!("the validators of epoch {epoch} are not committed"))
    }

    /// The node directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The configuration.
    pub fn config(&self) -> &NodeConfig {
        &self.config
    }

    /// Certificates expiring within `pki.expiry_warning_days` (empty when that is 0).
    pub fn expiring(&self) -> Result<Vec<kexin_types::api::ExpiringCert>, LedgerError> {
        let days = self.config.pki.expiry_warning_days;
        if days == 0 {
            return Ok(Vec::new());
        }
        crate::expiry::expiring(
            &self.ledger,
            self.ledger.genesis(),
            Some(&self.dir.join(crate::ca::NODE_CERT)),
            crate::app::now_ms(),
            u64::from(days) * 86_400_000,
        )
    }

    /// The genesis.
    pub fn genesis(&self) -> &Genesis {
        self.ledger.genesis()
    }

    /// The ledger (read side for the API).
    pub fn ledger(&self) -> &Arc<Ledger> {
        &self.ledger
    }

    /// The mempool.
    pub fn mempool(&self) -> &Arc<Mempool> {
        &self.mempool
    }

    /// Why the engine stopped by itself, if it did. Once it has, the node takes no more
    /// transactions, is not ready, and reports its pending transactions as dropped; the
    /// process should exit so that a supervisor restarts it ([`Node::failed`]).
    pub fn engine_error(&self) -> Option<String> {
        self.failure.borrow().clone()
    }

    /// Changes to `Some(why)` when the engine stops by itself.
    pub fn failed(&self) -> tokio::sync::watch::Receiver<Option<String>> {
        self.failure.subscribe()
    }

    /// The signer's last committed nonce (0 if none).
    pub fn last_nonce(&self, signer: &kexin_crypto::PublicKey) -> Result<u64, LedgerError> {
        crate::app::last_nonce(&self.ledger, signer)
    }

    /// Decodes, checks and admits a transaction, then gossips it to the other validators.
    /// CPU-heavy for big batches (hashing every record, verifying the signature): call it off
    /// the async reactor.
    pub fn submit(&self, bytes: &[u8]) -> Result<(Hash, Admitted), SubmitError> {
        self.accepting()?;
        self.admit_local(bytes)
    }

    /// Admits transactions one after the other (a signer's nonces in the order given), each
    /// with the checks of [`Node::submit`], and gossips the new ones. One result per input.
    pub fn submit_batch(&self, txs: &[Vec<u8>]) -> Result<Vec<Submitted>, SubmitError> {
        self.accepting()?;
        Ok(txs.iter().map(|bytes| self.admit_local(bytes)).collect())
    }

    /// Refuses submissions once the engine has stopped.
    fn accepting(&self) -> Result<(), SubmitError> {
        match self.engine_error() {
            Some(e) => {
                let e = SubmitError::Unavailable(e);
                self.metrics.rejected(e.code());
                Err(e)
            }
            None => Ok(()),
        }
    }

    /// Admits a transaction submitted to this node; a new one is marked local (resent until
    /// committed) and gossiped.
    fn admit_local(&self, bytes: &[u8]) -> Submitted {
        let (hash, admitted) = admit(&self.ledger, &self.mempool, bytes).inspect_err(|e| {
            self.metrics.rejected(e.code());
        })?;
        match admitted {
            Admitted::New => self.metrics.accepted(),
            _ => self.metrics.duplicate(),
        }
        if admitted == Admitted::New {
            self.mempool.mark_local(&hash);
            if let Some(net) = self
                .network
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .as_ref()
            {
                net.gossip(bytes.to_vec());
            }
        }
        Ok((hash, admitted))
    }

    /// A peer heard from (consensus votes) within this window counts as online.
    pub const LIVE_WINDOW: std::time::Duration = std::time::Duration::from_secs(10);

    /// Peers heard from (consensus votes) within [`Node::LIVE_WINDOW`].
    pub fn peers(&self) -> usize {
        self.peers.live(Self::LIVE_WINDOW)
    }

    /// The validators of the current epoch, with whether each is online as seen from here.
    pub fn validator_status(&self) -> anyhow::Result<Vec<ValidatorStatus>> {
        Ok(self
            .current_validators()?
            .into_iter()
            .map(|v| {
                let is_self = v.public_key == self.key;
                let last_seen = if is_self {
                    None
                } else {
                    self.peers.last_heard(&v.public_key)
                };
                ValidatorStatus {
                    online: is_self || last_seen.is_some_and(|t| t <= Self::LIVE_WINDOW),
                    is_self,
                    last_seen,
                    validator: v,
                }
            })
            .collect())
    }

    /// This node's metrics (counters fed by commits and submissions).
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// The current validators as seen from here, and why this node is not ready to serve
    /// and commit (empty when it is). A node is ready when its engine runs and, if it
    /// validates, it hears from enough validators for a quorum. Cheap enough to poll: it reads
    /// the validator set once and looks each validator up by its key bytes.
    pub fn readiness(&self) -> (Vec<ValidatorStatus>, Vec<String>) {
        let mut reasons = Vec::new();
        if let Some(e) = self.engine_error() {
            reasons.push(format!("the ordering engine stopped: {e}"));
        }
        let set = match self.validator_status() {
            Ok(set) => set,
            Err(e) => {
                reasons.push(format!("cannot read the current validators: {e}"));
                Vec::new()
            }
        };
        let total = set.len();
        let online = set.iter().filter(|v| v.online).count();
        let quorum = kexin_types::quorum_of(total);
        if set.iter().any(|v| v.is_self) && online < quorum {
            reasons.push(format!(
                "hears from {online} of {total} validators (this node included) in the last \
                 {}s; a quorum needs {quorum}",
                Self::LIVE_WINDOW.as_secs()
            ));
        }
        (set, reasons)
    }

    /// The metrics in the Prometheus text format, with the gauges read now.
    pub fn metrics_text(&self) -> Result<String, LedgerError> {
        let now = crate::app::now_ms();
        let certs = crate::expiry::expiring(
            &self.ledger,
            self.ledger.genesis(),
            Some(&self.dir.join(crate::ca::NODE_CERT)),
            now,
            u64::MAX,
        )?
        .into_iter()
        .map(|c| CertExpiry {
            seconds_left: (c.not_after_ms as i128 - i128::from(now)).div_euclid(1000) as i64,
            kind: c.kind,
            org: c.org,
            name: c.name,
            id: c.id.map(|h| h.to_hex()).unwrap_or_default(),
        })
        .collect();
        let (status, reasons) = self.readiness();
        Ok(self.metrics.encode(&Snapshot {
            height: self.ledger.height(),
            mempool_txs: self.mempool.len() as u64,
            mempool_records: self.mempool.records() as u64,
            peers: self.peers() as u64,
            validators_online: status.iter().filter(|v| v.online).count() as u64,
            validators: status.len() as u64,
            storage_bytes: self.ledger.storage_bytes(),
            certs,
            ready: reasons.is_empty(),
        }))
    }

    /// The committed height, updated as blocks commit (for live feeds).
    pub fn watch_height(&self) -> tokio::sync::watch::Receiver<u64> {
        self.height.clone()
    }

    /// Stops the network and consensus, and waits for them.
    pub fn shutdown(&self) {
        let net = self
            .network
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        if let Some(mut net) = net {
            net.stop();
        }
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.shutdown();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kexin_types::TxError;

    #[test]
    fn only_what_no_honest_peer_sends_is_a_gossip_offence() {
        let malformed = SubmitError::Decode(decode_transaction(&[1, 2, 3]).unwrap_err());
        let bad_signature = SubmitError::Admission(AdmissionError::Invalid(TxError::BadSignature));
        assert!(is_gossip_offence(&malformed));
        assert!(is_gossip_offence(&bad_signature));
        for benign in [
            SubmitError::Admission(AdmissionError::NonceReplayed { nonce: 1, last: 1 }),
            SubmitError::Admission(AdmissionError::NonceConflict {
                nonce: 2,
                other: Hash::ZERO,
            }),
            SubmitError::Admission(AdmissionError::NonceTooFar {
                nonce: 9,
                next: 1,
                max_lead: 2,
            }),
            SubmitError::Admission(AdmissionError::Full { what: "bytes" }),
            SubmitError::AlreadyCommitted {
                hash: Hash::ZERO,
                height: 1,
                nonce: 1,
            },
            SubmitError::Unavailable("stopped".into()),
        ] {
            assert!(!is_gossip_offence(&benign), "{benign}");
        }
    }
}
