//! Node configuration (`config.toml` in the node's directory).

use std::net::SocketAddr;
use std::path::Path;

use serde::{Deserialize, Serialize};

/// The whole node configuration. Every field has a default; the file only overrides.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NodeConfig {
    /// The REST API.
    pub api: ApiConfig,
    /// Block production.
    pub block: BlockConfig,
    /// Mempool limits.
    pub mempool: MempoolLimits,
    /// Storage engine.
    pub storage: StorageConfig,
    /// Consensus peers and timing.
    pub network: NetworkConfig,
    /// Certificate housekeeping.
    pub pki: PkiConfig,
}

/// Certificate housekeeping.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PkiConfig {
    /// Warn (logs every hour, `GET /v1/health`, `kexin net status`) about certificates that
    /// expire within this many days.
    pub expiry_warning_days: u32,
}

impl Default for PkiConfig {
    fn default() -> Self {
        PkiConfig {
            expiry_warning_days: 30,
        }
    }
}

/// A peer of the consortium network: its node key and where it listens.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PeerConfig {
    /// The peer's node (validator) public key, hex, as in the genesis.
    pub public_key: kexin_crypto::PublicKey,
    /// `host:port` of its p2p listener.
    pub address: SocketAddr,
}

/// The p2p network and consensus timing.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NetworkConfig {
    /// Where this node's p2p listener binds.
    pub listen: SocketAddr,
    /// Every validator of the genesis (this node's own entry may be listed too), with the
    /// address it listens on. Connections from keys not listed are refused.
    pub peers: Vec<PeerConfig>,
    /// Read-only nodes (keys not in the genesis) allowed to connect to this node and follow
    /// the chain: they receive votes, certificates and blocks but never vote.
    pub observers: Vec<PeerConfig>,
    /// How long to wait for a leader's proposal before voting to skip the view, ms.
    pub leader_timeout_ms: u64,
    /// How long to wait for a notarized proposal to be certified, ms.
    pub certification_timeout_ms: u64,
    /// Messages one peer may send on one channel at once (beyond it they are read at up to
    /// 2,000 a second). Memory: the p2p layer reserves this many mailbox slots per channel
    /// for every peer it may track (4 epochs of up to 100 validators, plus observers), about
    /// 1.4 MB per unit on a node (docs/BENCHMARKS.md).
    pub message_burst: u32,
}

impl Default for NetworkConfig {
    fn default() -> Self {
        NetworkConfig {
            listen: "127.0.0.1:0".parse().expect("valid address"),
            peers: Vec::new(),
            observers: Vec::new(),
            leader_timeout_ms: 1_000,
            certification_timeout_ms: 2_000,
            message_burst: 32,
        }
    }
}

/// Which embedded engine holds the ledger (chosen by the evidence-ingest benchmark; see
/// docs/BENCHMARKS.md). Fixed for the life of a data directory.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StorageEngine {
    /// fjall (LSM tree): the default, fastest for batched evidence ingest.
    #[default]
    Fjall,
    /// redb (copy-on-write B-tree).
    Redb,
}

/// Storage settings.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StorageConfig {
    /// `fjall` (default) or `redb`.
    pub engine: StorageEngine,
    /// fjall: most table files kept open at once (more are reopened on use).
    pub max_open_files: usize,
    /// Block cache of the ledger store, bytes (fjall's block cache, redb's page cache).
    pub cache_bytes: u64,
    /// Page cache of the consensus engine's archives (finalized blocks and certificates),
    /// bytes, in 4 KiB pages.
    pub consensus_cache_bytes: usize,
    /// Read and write buffer of each of the consensus engine's journals and archives, bytes
    /// (about ten of them are open).
    pub consensus_io_buffer_bytes: usize,
}

impl Default for StorageConfig {
    fn default() -> Self {
        StorageConfig {
            engine: StorageEngine::default(),
            max_open_files: 256,
            cache_bytes: 32 * 1024 * 1024,
            consensus_cache_bytes: 16 * 1024 * 1024,
            consensus_io_buffer_bytes: 1024 * 1024,
        }
    }
}

/// REST API settings.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ApiConfig {
    /// Address to listen on; port 0 picks a free port (the URL is written to `api-url`).
    pub listen: SocketAddr,
    /// Largest request body accepted, in bytes.
    pub max_body_bytes: usize,
    /// Most API connections open at once; beyond it new connections wait in the listen
    /// backlog (costing no file descriptor) until one closes.
    pub max_connections: usize,
    /// Most API connections open at once from one IP address; more are answered
    /// `429 too_many_connections` and closed. Behind a reverse proxy every client has the
    /// proxy's address: raise it to the proxy's pool size.
    pub max_connections_per_client: usize,
    /// A request head must arrive within this many ms of the connection opening or of the
    /// previous response (so it also bounds how long a keep-alive connection may sit idle).
    pub header_read_timeout_ms: u64,
    /// A request body must arrive whole within this many ms (`408 body_timeout`).
    pub body_read_timeout_ms: u64,
    /// A connection on which no byte moves either way for this many ms is closed (a client
    /// that stopped reading). Event streams send a keep-alive every 15 s.
    pub idle_timeout_ms: u64,
}

/// When blocks are cut.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BlockConfig {
    /// Longest wait from the first pending transaction to its block, in milliseconds.
    pub interval_ms: u64,
    /// A block is cut as soon as this many transactions are pending (and holds at most this many).
    pub max_txs: u32,
    /// A block is cut as soon as this many evidence records are pending (and holds at most this many).
    pub max_records: u32,
    /// Benchmark only: this node, when it leads, proposes a block even with nothing pending,
    /// to measure consensus alone.
    pub empty_blocks: bool,
}

/// Mempool limits; beyond them submissions get HTTP 429.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MempoolLimits {
    /// Most pending transactions.
    pub max_txs: usize,
    /// Most pending evidence records.
    pub max_records: usize,
    /// Most pending bytes.
    pub max_bytes: usize,
    /// How far past a signer's next nonce a transaction is admitted (it waits for the nonces
    /// in between); further is refused with `nonce_too_far`.
    pub max_nonce_lead: u64,
    /// Seconds a transaction may wait behind a gap in its signer's nonces before it is
    /// dropped (the missing nonce never arrived).
    pub gap_timeout_s: u64,
}

impl Default for ApiConfig {
    fn default() -> Self {
        ApiConfig {
            listen: "127.0.0.1:8080".parse().expect("valid address"),
            max_body_bytes: 2 * kexin_types::limits::MAX_TX_BYTES + 1024,
            max_connections: 256,
            max_connections_per_client: 32,
            header_read_timeout_ms: 10_000,
            body_read_timeout_ms: 30_000,
            idle_timeout_ms: 60_000,
        }
    }
}

impl Default for BlockConfig {
    fn default() -> Self {
        BlockConfig {
            interval_ms: 100,
            max_txs: 5_000,
            max_records: 65_536,
            empty_blocks: false,
        }
    }
}

impl Default for MempoolLimits {
    fn default() -> Self {
        MempoolLimits {
            max_txs: 100_000,
            max_records: 1_000_000,
            max_bytes: 512 * 1024 * 1024,
            max_nonce_lead: 65_536,
            gap_timeout_s: 600,
        }
    }
}

/// A configuration value that cannot work.
#[derive(Debug, thiserror::Error)]
#[error("invalid configuration {path}: {field}: {reason}")]
pub struct ConfigError {
    /// The file.
    pub path: String,
    /// The field, dotted (`block.max_txs`).
    pub field: &'static str,
    /// Why.
    pub reason: String,
}

impl NodeConfig {
    /// Reads and validates `path`.
    pub fn load(path: &Path) -> anyhow::Result<NodeConfig> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))?;
        let config: NodeConfig = toml::from_str(&text)
            .map_err(|e| anyhow::anyhow!("invalid configuration {}: {e}", path.display()))?;
        config.validate(&path.display().to_string())?;
        Ok(config)
    }

    /// Checks every value; errors name the field.
    pub fn validate(&self, path: &str) -> Result<(), ConfigError> {
        let err = |field, reason: String| ConfigError {
            path: path.to_owned(),
            field,
            reason,
        };
        if !(1..=60_000).contains(&self.block.interval_ms) {
            return Err(err(
                "block.interval_ms",
                format!("must be 1..=60000, got {}", self.block.interval_ms),
            ));
        }
        let max = kexin_types::limits::MAX_BLOCK_TXS;
        if self.block.max_txs == 0 || self.block.max_txs > max {
            return Err(err(
                "block.max_txs",
                format!("must be 1..={max}, got {}", self.block.max_txs),
            ));
        }
        if self.block.max_records < kexin_types::limits::MAX_RECORDS_PER_TX {
            return Err(err(
                "block.max_records",
                format!(
                    "must be at least {} so a full transaction fits, got {}",
                    kexin_types::limits::MAX_RECORDS_PER_TX,
                    self.block.max_records
                ),
            ));
        }
        if self.mempool.max_txs == 0 {
            return Err(err("mempool.max_txs", "must be at least 1".into()));
        }
        if self.mempool.max_records < kexin_types::limits::MAX_RECORDS_PER_TX as usize {
            return Err(err(
                "mempool.max_records",
                "must hold at least one full transaction".into(),
            ));
        }
        if self.mempool.max_bytes < kexin_types::limits::MAX_TX_BYTES {
            return Err(err(
                "mempool.max_bytes",
                "must hold at least one maximal transaction".into(),
            ));
        }
        if self.mempool.gap_timeout_s == 0 {
            return Err(err("mempool.gap_timeout_s", "must be at least 1".into()));
        }
        if !(50..=60_000).contains(&self.network.leader_timeout_ms) {
            return Err(err(
                "network.leader_timeout_ms",
                format!("must be 50..=60000, got {}", self.network.leader_timeout_ms),
            ));
        }
        if self.pki.expiry_warning_days > 3650 {
            return Err(err(
                "pki.expiry_warning_days",
                format!(
                    "must be 0..=3650 (0 turns warnings off), got {}",
                    self.pki.expiry_warning_days
                ),
            ));
        }
        if self.network.certification_timeout_ms < self.network.leader_timeout_ms {
            return Err(err(
                "network.certification_timeout_ms",
                "must be at least network.leader_timeout_ms".into(),
            ));
        }
        if self.api.max_body_bytes < 1024 {
            return Err(err("api.max_body_bytes", "must be at least 1024".into()));
        }
        if !(1..=65_536).contains(&self.api.max_connections) {
            return Err(err(
                "api.max_connections",
                format!("must be 1..=65536, got {}", self.api.max_connections),
            ));
        }
        if self.api.max_connections_per_client == 0
            || self.api.max_connections_per_client > self.api.max_connections
        {
            return Err(err(
                "api.max_connections_per_client",
                format!(
                    "must be 1..=api.max_connections ({}), got {}",
                    self.api.max_connections, self.api.max_connections_per_client
                ),
            ));
        }
        for (field, ms) in [
            (
                "api.header_read_timeout_ms",
                self.api.header_read_timeout_ms,
            ),
            ("api.body_read_timeout_ms", self.api.body_read_timeout_ms),
            ("api.idle_timeout_ms", self.api.idle_timeout_ms),
        ] {
            if !(100..=3_600_000).contains(&ms) {
                return Err(err(field, format!("must be 100..=3600000 ms, got {ms}")));
            }
        }
        if !(1..=2_000).contains(&self.network.message_burst) {
            return Err(err(
                "network.message_burst",
                format!("must be 1..=2000, got {}", self.network.message_burst),
            ));
        }
        for (field, bytes) in [
            (
                "storage.consensus_cache_bytes",
                self.storage.consensus_cache_bytes,
            ),
            (
                "storage.consensus_io_buffer_bytes",
                self.storage.consensus_io_buffer_bytes,
            ),
        ] {
            if !(4096..=1 << 32).contains(&bytes) {
                return Err(err(
                    field,
                    format!("must be 4096..=4294967296 bytes, got {bytes}"),
                ));
            }
        }
        if self.storage.max_open_files < 16 {
            return Err(err(
                "storage.max_open_files",
                format!("must be at least 16, got {}", self.storage.max_open_files),
            ));
        }
        Ok(())
    }

    /// The TOML text of this configuration.
    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).expect("config serializes")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(edit: impl FnOnce(&mut NodeConfig)) -> String {
        let mut c = NodeConfig::default();
        edit(&mut c);
        c.validate("config.toml").unwrap_err().to_string()
    }

    #[test]
    fn defaults_are_valid_and_documented_values_hold() {
        let c = NodeConfig::default();
        c.validate("config.toml").unwrap();
        assert_eq!(c.api.max_connections, 256);
        assert_eq!(c.api.max_connections_per_client, 32);
        assert_eq!(c.network.message_burst, 32);
        assert_eq!(c.storage.cache_bytes, 32 * 1024 * 1024);
        assert_eq!(c.storage.max_open_files, 256);
        // A file that names none of the new settings reads as the defaults.
        let old: NodeConfig = toml::from_str("[api]\nlisten = \"127.0.0.1:1\"\n").unwrap();
        assert_eq!(old.api.max_connections, 256);
        assert_eq!(old.storage, StorageConfig::default());
    }

    #[test]
    fn limits_out_of_range_are_refused_naming_the_field() {
        let e = refused(|c| c.api.max_connections = 0);
        assert!(e.contains("api.max_connections:"), "{e}");
        let e = refused(|c| c.api.max_connections_per_client = 300);
        assert!(e.contains("api.max_connections_per_client"), "{e}");
        let e = refused(|c| c.api.header_read_timeout_ms = 5);
        assert!(e.contains("api.header_read_timeout_ms"), "{e}");
        let e = refused(|c| c.api.body_read_timeout_ms = 0);
        assert!(e.contains("api.body_read_timeout_ms"), "{e}");
        let e = refused(|c| c.api.idle_timeout_ms = 4_000_000);
        assert!(e.contains("api.idle_timeout_ms"), "{e}");
        let e = refused(|c| c.network.message_burst = 0);
        assert!(e.contains("network.message_burst"), "{e}");
        let e = refused(|c| c.storage.consensus_cache_bytes = 100);
        assert!(e.contains("storage.consensus_cache_bytes"), "{e}");
        let e = refused(|c| c.storage.consensus_io_buffer_bytes = 0);
        assert!(e.contains("storage.consensus_io_buffer_bytes"), "{e}");
        let e = refused(|c| c.storage.max_open_files = 8);
        assert!(e.contains("storage.max_open_files"), "{e}");
    }
}
