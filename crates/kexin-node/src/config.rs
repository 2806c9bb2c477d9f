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
}

impl Default for NetworkConfig {
    fn default() -> Self {
        NetworkConfig {
            listen: "127.0.0.1:0".parse().expect("valid address"),
            peers: Vec::new(),
            observers: Vec::new(),
            leader_timeout_ms: 1_000,
            certification_timeout_ms: 2_000,
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
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StorageConfig {
    /// `fjall` (default) or `redb`.
    pub engine: StorageEngine,
}

/// REST API settings.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ApiConfig {
    /// Address to listen on; port 0 picks a free port (the URL is written to `api-url`).
    pub listen: SocketAddr,
    /// Largest request body accepted, in bytes.
    pub max_body_bytes: usize,
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
        Ok(())
    }

    /// The TOML text of this configuration.
    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).expect("config serializes")
    }
}
