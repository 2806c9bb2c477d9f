//! The node's Prometheus metrics: what it committed, how fast, what it admitted or refused,
//! and the gauges read at scrape time (height, mempool, peers, storage, certificate expiry).
//!
//! Observability only: nothing here feeds consensus or execution, so wall-clock reads and
//! floating point are fine.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use kexin_types::Block;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::{Registry, Unit};

/// Most certificates given their own `kexin_cert_expiry_seconds` series (the soonest to
/// expire); `kexin_cert_expiry_min_seconds` covers all.
pub const MAX_CERT_SERIES: usize = 256;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CodeLabel {
    code: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CertLabels {
    kind: String,
    org: String,
    name: String,
    id: String,
}

/// What a block commit contributes to the metrics.
#[derive(Clone, Copy, Debug)]
pub struct CommitStats {
    /// The block's height.
    pub height: u64,
    /// Transactions in it.
    pub transactions: u64,
    /// Evidence records in it.
    pub records: u64,
    /// Milliseconds from the proposer's timestamp to the commit here (0 if the clocks say
    /// the commit came first).
    pub latency_ms: u64,
}

impl CommitStats {
    /// The figures of `block`, committed at wall-clock `now_ms`.
    pub fn of(block: &Block, now_ms: u64) -> Self {
        let records = block
            .transactions
            .iter()
            .map(|t| match &t.payload {
                kexin_types::Payload::Evidence { records } => records.len() as u64,
                _ => 0,
            })
            .sum();
        CommitStats {
            height: block.header.height,
            transactions: block.transactions.len() as u64,
            records,
            latency_ms: now_ms.saturating_sub(block.header.timestamp_ms),
        }
    }
}

/// A certificate's validity as the scrape reports it.
#[derive(Clone, Debug)]
pub struct CertExpiry {
    /// `ca`, a role name, or `this node`.
    pub kind: String,
    /// Its organisation.
    pub org: String,
    /// Its holder.
    pub name: String,
    /// Its id, hex (empty if unknown).
    pub id: String,
    /// Seconds until it expires (negative once expired).
    pub seconds_left: i64,
}

/// The gauges read at scrape time.
#[derive(Clone, Debug, Default)]
pub struct Snapshot {
    /// Committed height.
    pub height: u64,
    /// Pending transactions.
    pub mempool_txs: u64,
    /// Pending evidence records.
    pub mempool_records: u64,
    /// Peers heard from recently.
    pub peers: u64,
    /// Validators of the current epoch heard from recently (this node included).
    pub validators_online: u64,
    /// Validators of the current epoch.
    pub validators: u64,
    /// Bytes the ledger's store takes on disk.
    pub storage_bytes: u64,
    /// Every certificate that matters, any order.
    pub certs: Vec<CertExpiry>,
    /// 1 while the node is ready (see `GET /v1/health`).
    pub ready: bool,
}

/// The node's metrics registry.
pub struct Metrics {
    registry: Registry,
    height: Gauge,
    blocks: Counter,
    transactions: Counter,
    records: Counter,
    finalization: Histogram,
    accepted: Counter,
    duplicates: Counter,
    rejected: Family<CodeLabel, Counter>,
    mempool_txs: Gauge,
    mempool_records: Gauge,
    peers: Gauge,
    validators_online: Gauge,
    validators: Gauge,
    storage: Gauge,
    ready: Gauge,
    cert_expiry: Family<CertLabels, Gauge>,
    /// One unlabelled series, present only while there are certificates.
    cert_expiry_min: Family<Vec<(String, String)>, Gauge>,
    last_commit_ms: AtomicU64,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// A registry with every Kexin metric at zero, names prefixed `kexin_`.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("kexin");
        let m = Metrics {
            height: Gauge::default(),
            blocks: Counter::default(),
            transactions: Counter::default(),
            records: Counter::default(),
            // 10 ms .. ~82 s.
            finalization: Histogram::new(
                prometheus_client::metrics::histogram::exponential_buckets(0.01, 2.0, 14),
            ),
            accepted: Counter::default(),
            duplicates: Counter::default(),
            rejected: Family::default(),
            mempool_txs: Gauge::default(),
            mempool_records: Gauge::default(),
            peers: Gauge::default(),
            validators_online: Gauge::default(),
            validators: Gauge::default(),
            storage: Gauge::default(),
            ready: Gauge::default(),
            cert_expiry: Family::default(),
            cert_expiry_min: Family::default(),
            last_commit_ms: AtomicU64::new(0),
            registry: Registry::default(),
        };
        registry.register("height", "Committed height", m.height.clone());
        registry.register(
            "blocks_committed",
            "Blocks committed by this node since it started",
            m.blocks.clone(),
        );
        registry.register(
            "transactions_committed",
            "Transactions in blocks committed since the node started",
            m.transactions.clone(),
        );
        registry.register(
            "records_committed",
            "Evidence records in blocks committed since the node started",
            m.records.clone(),
        );
        registry.register_with_unit(
            "finalization_latency",
            "Time from a block's proposal timestamp to its commit on this node",
            Unit::Seconds,
            m.finalization.clone(),
        );
        registry.register(
            "tx_accepted",
            "Transactions submitted to this node's API and admitted to the mempool",
            m.accepted.clone(),
        );
        registry.register(
            "tx_duplicate",
            "Transactions submitted to this node's API that were already pending",
            m.duplicates.clone(),
        );
        registry.register(
            "tx_rejected",
            "Transactions submitted to this node's API and refused, by error code",
            m.rejected.clone(),
        );
        registry.register(
            "mempool_transactions",
            "Transactions waiting in the mempool",
            m.mempool_txs.clone(),
        );
        registry.register(
            "mempool_records",
            "Evidence records waiting in the mempool",
            m.mempool_records.clone(),
        );
        registry.register(
            "peers",
            "Peers heard from on the consensus channel in the last 10 seconds",
            m.peers.clone(),
        );
        registry.register(
            "validators_online",
            "Validators of the current epoch heard from in the last 10 seconds, this node included",
            m.validators_online.clone(),
        );
        registry.register(
            "validators",
            "Validators of the current epoch",
            m.validators.clone(),
        );
        registry.register_with_unit(
            "storage",
            "Size of the ledger store on disk",
            Unit::Bytes,
            m.storage.clone(),
        );
        registry.register(
            "ready",
            "1 while the node is ready to serve and commit (GET /v1/health), else 0",
            m.ready.clone(),
        );
        registry.register_with_unit(
            "cert_expiry",
            "Seconds until a certificate expires (negative once expired): CAs, this node's \
             certificate and the soonest-expiring registered certificates",
            Unit::Seconds,
            m.cert_expiry.clone(),
        );
        registry.register_with_unit(
            "cert_expiry_min",
            "Seconds until the soonest certificate expiry of all (absent without certificates)",
            Unit::Seconds,
            m.cert_expiry_min.clone(),
        );
        Metrics { registry, ..m }
    }

    /// Records a committed block.
    pub fn committed(&self, stats: CommitStats, now_ms: u64) {
        self.height.set(stats.height as i64);
        self.blocks.inc();
        self.transactions.inc_by(stats.transactions);
        self.records.inc_by(stats.records);
        self.finalization.observe(stats.latency_ms as f64 / 1000.0);
        self.last_commit_ms.store(now_ms, Ordering::Relaxed);
    }

    /// Wall-clock ms of the last commit here (0: none since the node started).
    pub fn last_commit_ms(&self) -> u64 {
        self.last_commit_ms.load(Ordering::Relaxed)
    }

    /// Records a submission admitted as new.
    pub fn accepted(&self) {
        self.accepted.inc();
    }

    /// Records a submission that was already pending.
    pub fn duplicate(&self) {
        self.duplicates.inc();
    }

    /// Records a refused submission.
    pub fn rejected(&self, code: &str) {
        self.rejected
            .get_or_create(&CodeLabel {
                code: code.to_owned(),
            })
            .inc();
    }

    /// The registry in the text exposition format, after setting the scrape-time gauges.
    pub fn encode(&self, snapshot: &Snapshot) -> String {
        self.height.set(snapshot.height as i64);
        self.mempool_txs.set(snapshot.mempool_txs as i64);
        self.mempool_records.set(snapshot.mempool_records as i64);
        self.peers.set(snapshot.peers as i64);
        self.validators_online
            .set(snapshot.validators_online as i64);
        self.validators.set(snapshot.validators as i64);
        self.storage.set(snapshot.storage_bytes as i64);
        self.ready.set(i64::from(snapshot.ready));
        let mut certs: Vec<&CertExpiry> = snapshot.certs.iter().collect();
        certs.sort_by_key(|c| c.seconds_left);
        self.cert_expiry.clear();
        for c in certs.iter().take(MAX_CERT_SERIES) {
            self.cert_expiry
                .get_or_create(&CertLabels {
                    kind: c.kind.clone(),
                    org: c.org.clone(),
                    name: c.name.clone(),
                    id: c.id.clone(),
                })
                .set(c.seconds_left);
        }
        self.cert_expiry_min.clear();
        if let Some(first) = certs.first() {
            self.cert_expiry_min
                .get_or_create(&Vec::new())
                .set(first.seconds_left);
        }
        let mut out = String::new();
        // Writing to a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}

/// Shared handle.
pub type SharedMetrics = Arc<Metrics>;

#[cfg(test)]
mod tests {
    use super::*;

    fn value(text: &str, series: &str) -> Option<f64> {
        text.lines()
            .find(|l| l.starts_with(series) && l[series.len()..].starts_with(' '))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse().ok())
    }

    #[test]
    fn commits_submissions_and_scrape_gauges_show_in_the_text() {
        let m = Metrics::new();
        m.committed(
            CommitStats {
                height: 7,
                transactions: 3,
                records: 12,
                latency_ms: 250,
            },
            1_000,
        );
        m.accepted();
        m.accepted();
        m.duplicate();
        m.rejected("nonce_replayed");
        m.rejected("nonce_replayed");
        m.rejected("bad_signature");
        let text = m.encode(&Snapshot {
            height: 8,
            mempool_txs: 4,
            peers: 3,
            validators_online: 4,
            validators: 4,
            storage_bytes: 4096,
            ready: true,
            certs: vec![
                CertExpiry {
                    kind: "ca".into(),
                    org: "org1".into(),
                    name: "org1 CA".into(),
                    id: "ab".into(),
                    seconds_left: 900,
                },
                CertExpiry {
                    kind: "writer".into(),
                    org: "org2".into(),
                    name: "w\"1".into(),
                    id: "cd".into(),
                    seconds_left: -5,
                },
            ],
            ..Snapshot::default()
        });
        assert_eq!(value(&text, "kexin_height"), Some(8.0));
        assert_eq!(value(&text, "kexin_blocks_committed_total"), Some(1.0));
        assert_eq!(
            value(&text, "kexin_transactions_committed_total"),
            Some(3.0)
        );
        assert_eq!(value(&text, "kexin_records_committed_total"), Some(12.0));
        assert_eq!(value(&text, "kexin_tx_accepted_total"), Some(2.0));
        assert_eq!(value(&text, "kexin_tx_duplicate_total"), Some(1.0));
        assert_eq!(
            value(&text, "kexin_tx_rejected_total{code=\"nonce_replayed\"}"),
            Some(2.0)
        );
        assert_eq!(
            value(&text, "kexin_tx_rejected_total{code=\"bad_signature\"}"),
            Some(1.0)
        );
        assert_eq!(value(&text, "kexin_mempool_transactions"), Some(4.0));
        assert_eq!(value(&text, "kexin_peers"), Some(3.0));
        assert_eq!(value(&text, "kexin_validators_online"), Some(4.0));
        assert_eq!(value(&text, "kexin_storage_bytes"), Some(4096.0));
        assert_eq!(value(&text, "kexin_ready"), Some(1.0));
        assert_eq!(value(&text, "kexin_cert_expiry_min_seconds{}"), Some(-5.0));
        assert_eq!(
            value(&text, "kexin_finalization_latency_seconds_count"),
            Some(1.0)
        );
        assert_eq!(
            value(&text, "kexin_finalization_latency_seconds_sum"),
            Some(0.25)
        );
        // Label values are escaped.
        assert!(text.contains("name=\"w\\\"1\""), "{text}");
        assert_eq!(m.last_commit_ms(), 1_000);
        // A certificate gone from the snapshot is gone from the next scrape.
        let text = m.encode(&Snapshot::default());
        assert!(!text.contains("org1 CA"), "{text}");
        assert_eq!(
            value(&text, "kexin_cert_expiry_min_seconds{}"),
            None,
            "{text}"
        );
        assert_eq!(value(&text, "kexin_ready"), Some(0.0));
    }
}
