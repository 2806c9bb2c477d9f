//! Wires Kexin's ledger, execution, mempool and ordering engine into a running node.
//!
//! A node lives in one directory (see [`layout`]): `genesis.json`, `config.toml`,
//! `keys/validator.pem`, `keys/client.pem` and `data/` with the ledger database. [`init`]
//! creates it; [`Node::open`] runs it. The REST API is served over a `Node` by `kexin-api`.
//!
//! ```no_run
//! let node = kexin_node::Node::open(std::path::Path::new("/var/lib/kexin"))?;
//! println!("height {}", node.ledger().height());
//! # Ok::<(), anyhow::Error>(())
//! ```

mod app;
pub mod ca;
pub mod check;
pub mod config;
pub mod expiry;
pub mod fdlimit;
mod init;
pub mod metrics;
mod network;
mod node;

pub use app::{BlockError, CommitHook, LedgerApp, LedgerView, ProposalLimits};
pub use config::NodeConfig;
pub use init::{
    AddNodeReport, DEFAULT_SUITE, InitOptions, InitReport, NetInitOptions, NetInitReport, add_node,
    init, init_network, net_org_name, write_key,
};
pub use node::{Node, Role, SubmitError, Submitted, ValidatorStatus};

/// File names inside a node directory.
pub mod layout {
    /// The chain's genesis.
    pub const GENESIS: &str = "genesis.json";
    /// The node configuration.
    pub const CONFIG: &str = "config.toml";
    /// The validator's signing key (PKCS#8 PEM).
    pub const VALIDATOR_KEY: &str = "keys/validator.pem";
    /// A client key for `kexin attest --key`.
    pub const CLIENT_KEY: &str = "keys/client.pem";
    /// The data folder.
    pub const DATA: &str = "data";
    /// The ledger database with `storage.engine = "redb"`.
    pub const LEDGER_REDB: &str = "data/ledger.redb";
    /// The ledger database directory with `storage.engine = "fjall"`.
    pub const LEDGER_FJALL: &str = "data/ledger.fjall";
    /// The consensus engine's own storage (commonware journals and archives).
    pub const CONSENSUS: &str = "data/consensus";
    /// Written by `kexin node run`: the URL the API serves.
    pub const API_URL: &str = "api-url";
}
