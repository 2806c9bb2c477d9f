//! The node's file-descriptor budget: what its configuration needs, and raising the process's
//! soft limit to meet it.
//!
//! A node that runs out of descriptors does not fail cleanly: the consensus engine cannot
//! open its journals. So the node works out at start how many it may need and refuses to
//! start, naming systemd's `LimitNOFILE`, when the hard limit is below that.

use crate::config::NodeConfig;

/// Descriptors kept for everything not sized by the configuration: the consensus engine's
/// journals and archives, the ledger's journal and manifest files, listeners, the runtime's
/// event and timer descriptors, logs.
pub const RESERVED: u64 = 256;

/// What the configuration may hold open at once: API connections, p2p connections to every
/// possible validator and observer (one each way), the ledger's table files, and
/// [`RESERVED`].
pub fn required(config: &NodeConfig) -> u64 {
    config.api.max_connections as u64
        + 2 * peers(config)
        + config.storage.max_open_files as u64
        + RESERVED
}

/// The p2p peers the configuration may connect to: any validator set, and the observers.
fn peers(config: &NodeConfig) -> u64 {
    u64::from(kexin_types::limits::MAX_VALIDATORS) + config.network.observers.len() as u64
}

/// Why the node cannot run with the process's descriptor limit.
#[derive(Debug, thiserror::Error)]
#[error(
    "the open-file limit is {hard} (hard), but this configuration needs up to {required} \
     descriptors (api.max_connections {api} + 2 x {peers} p2p peers + storage.max_open_files \
     {files} + {RESERVED} reserved): raise it (systemd: LimitNOFILE={suggest} in the unit's \
     [Service] section; a shell: ulimit -n {suggest}) or lower api.max_connections / \
     storage.max_open_files in config.toml"
)]
pub struct FdLimitError {
    /// The hard limit.
    pub hard: u64,
    /// What the configuration needs.
    pub required: u64,
    api: usize,
    peers: u64,
    files: usize,
    suggest: u64,
}

/// The soft and hard open-file limits after [`raise`]: `(soft, hard)`.
pub type Limits = (u64, u64);

/// Raises the soft open-file limit to the hard limit, and checks the result covers what
/// `config` needs. Unlimited counts as `u64::MAX`.
pub fn raise(config: &NodeConfig) -> Result<Limits, FdLimitError> {
    use rustix::process::{Resource, getrlimit, setrlimit};
    let limit = getrlimit(Resource::Nofile);
    let hard = limit.maximum.unwrap_or(u64::MAX);
    let mut soft = limit.current.unwrap_or(u64::MAX);
    if soft < hard {
        let raised = rustix::process::Rlimit {
            current: limit.maximum,
            maximum: limit.maximum,
        };
        match setrlimit(Resource::Nofile, raised) {
            Ok(()) => soft = hard,
            Err(e) => tracing::warn!(soft, hard, "cannot raise the open-file limit: {e}"),
        }
    }
    check(config, soft, hard).map(|()| (soft, hard))
}

/// Checks `soft` descriptors cover what `config` needs (`hard` is what the message reports:
/// after [`raise`], the two are equal unless raising failed).
pub fn check(config: &NodeConfig, soft: u64, hard: u64) -> Result<(), FdLimitError> {
    let need = required(config);
    if soft >= need {
        return Ok(());
    }
    Err(FdLimitError {
        hard,
        required: need,
        api: config.api.max_connections,
        peers: peers(config),
        files: config.storage.max_open_files,
        suggest: need.next_power_of_two().max(65_536),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_fit_the_common_limit_of_1024() {
        let config = NodeConfig::default();
        assert!(required(&config) <= 1024, "{}", required(&config));
        assert!(check(&config, 1024, 1024).is_ok());
    }

    #[test]
    fn a_limit_below_the_budget_is_refused_naming_limitnofile() {
        let mut config = NodeConfig::default();
        config.api.max_connections = 4096;
        config.api.max_connections_per_client = 32;
        let need = required(&config);
        assert_eq!(need, 4096 + 2 * 100 + 256 + RESERVED);
        let e = check(&config, 1024, 1024).unwrap_err();
        let msg = e.to_string();
        assert!(msg.contains("LimitNOFILE=65536"), "{msg}");
        assert!(msg.contains(&format!("needs up to {need}")), "{msg}");
        assert!(msg.contains("api.max_connections 4096"), "{msg}");
        assert!(check(&config, need, need).is_ok());
    }
}
