//! The one-node chain every API test runs on.

use std::path::Path;
use std::sync::Arc;

use kexin_crypto::Suite;
use kexin_node::{InitOptions, Node};
use kexin_types::Genesis;

/// A one-node chain made by `kexin_node::init` in a new temporary directory, its genesis
/// edited by `edit` before the node first opens it, with fast blocks (20 ms). Keep the
/// directory until the node is dropped.
pub fn one_node(
    suite: Suite,
    chain_id: &str,
    edit: impl FnOnce(&mut Genesis),
) -> (Arc<Node>, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    init(dir.path(), suite, chain_id, edit);
    let node = Arc::new(Node::open(dir.path()).unwrap());
    (node, dir)
}

fn init(dir: &Path, suite: Suite, chain_id: &str, edit: impl FnOnce(&mut Genesis)) {
    kexin_node::init(&InitOptions {
        dir: dir.to_owned(),
        suite,
        chain_id: Some(chain_id.into()),
        api_addr: "127.0.0.1:0".parse().unwrap(),
    })
    .unwrap();
    let path = dir.join("genesis.json");
    let mut genesis = Genesis::from_json(&std::fs::read_to_string(&path).unwrap()).unwrap();
    edit(&mut genesis);
    std::fs::write(&path, genesis.to_json()).unwrap();
    let cfg = dir.join("config.toml");
    let text = std::fs::read_to_string(&cfg)
        .unwrap()
        .replace("interval_ms = 100", "interval_ms = 20");
    std::fs::write(&cfg, text).unwrap();
}
