//! `kexin net`: a local network of real `kexin node run` processes, driven by the real binary.
//!
//! The network tests run one after another (a 4-node network already fills a 2-core machine),
//! and every wait is a poll against a deadline.

mod common;

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use common::*;
use kexin_crypto::Suite;
use kexin_node::{NetInitOptions, NodeConfig, init_network};
use kexin_types::Genesis;
use serde_json::Value;

/// Waits until `pid` is gone.
async fn wait_gone(pid: u32, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while alive(pid) {
        assert!(Instant::now() < deadline, "{what} (pid {pid}) still alive");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn check_nodes(doc: &Value, n: usize) -> Vec<u32> {
    check_nodes_with_observers(doc, n, 0)
}

/// `n` validators then `observers` read-only nodes.
fn check_nodes_with_observers(doc: &Value, n: usize, observers: usize) -> Vec<u32> {
    let nodes = doc["nodes"].as_array().expect("nodes array");
    assert_eq!(nodes.len(), n + observers, "{doc}");
    let mut pids = Vec::new();
    for (i, node) in nodes.iter().enumerate() {
        assert_eq!(node["index"], i, "{doc}");
        let role = if i < n { "validator" } else { "observer" };
        assert_eq!(node["role"], role, "{doc}");
        let pid = node["pid"]
            .as_u64()
            .unwrap_or_else(|| panic!("no pid: {doc}"));
        pids.push(pid as u32);
        let api = node["api"]
            .as_str()
            .unwrap_or_else(|| panic!("no api: {doc}"));
        assert!(api.starts_with("http://127.0.0.1:"), "{doc}");
        assert!(node["height"].is_u64(), "{doc}");
        assert!(node.get("peers").is_some(), "{doc}");
    }
    pids
}

fn receipt_height(receipt: &Value) -> u64 {
    receipt["header"]["height"]
        .as_u64()
        .expect("receipt height")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn net_of_four_intl_survives_a_crash_and_catches_up() {
    let _serial = SERIAL.lock().await;
    let mut net = Net::up("intl", 4);
    let doc = net.wait_healthy().await;
    let pids = check_nodes(&doc, 4);
    for (i, pid) in pids.iter().enumerate() {
        assert_eq!(*pid, net.pid(i));
        assert!(alive(*pid));
    }
    let up_log = std::fs::read_to_string(net.path("up.log")).unwrap();
    for i in 0..4 {
        assert!(
            up_log.contains(&format!("node {i}: http://127.0.0.1:")),
            "{up_log}"
        );
    }
    assert!(up_log.contains("kexin net status --dir"), "{up_log}");

    // Evidence through node 0, verified offline against the shared genesis.
    let f1 = net.path("in/contract.txt");
    write(&f1, b"the consortium contract\n");
    let out = net.path("receipts");
    let r1 = net.attest(0, &f1, &out);
    net.verify(&f1, &out);
    let h1 = receipt_height(&r1);
    assert!(h1 >= 1);
    let hash1 = net.wait_agree(&[0, 1, 2, 3], h1).await;
    assert_eq!(r1["block_hash"].as_str().unwrap(), hash1.to_hex());

    // Crash node 2; the other three are still a quorum (3 of 4).
    let old2 = net.pid(2);
    assert!(
        Command::new("kill")
            .args(["-KILL", &old2.to_string()])
            .status()
            .unwrap()
            .success()
    );
    wait_gone(old2, "node 2").await;
    let o = net.status();
    assert_eq!(failed(&o), "unhealthy");
    let doc: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(doc["nodes"][2]["healthy"], false, "{doc}");
    assert_eq!(doc["nodes"][2]["height"], Value::Null, "{doc}");
    assert_eq!(doc["nodes"][2]["pid"], Value::Null, "{doc}");
    assert_eq!(doc["nodes"][0]["healthy"], true, "{doc}");

    let f2 = net.path("in/invoice.txt");
    write(&f2, b"the invoice, after the crash\n");
    let r2 = net.attest(1, &f2, &out);
    net.verify(&f2, &out);
    let h2 = receipt_height(&r2);
    assert!(h2 > h1, "{h2} <= {h1}");
    net.wait_agree(&[0, 1, 3], h2).await;

    // Restart node 2; it catches up with the others.
    let o = kexin([
        "net".as_ref(),
        "start-node".as_ref(),
        "2".as_ref(),
        "--dir".as_ref(),
        net.dir.as_os_str(),
    ]);
    let text = ok(&o);
    assert!(text.contains("node 2: http://127.0.0.1:"), "{text}");
    let new2 = net.pid(2);
    assert_ne!(new2, old2);
    assert!(alive(new2));
    let hash2 = net.wait_agree(&[0, 1, 2, 3], h2).await;
    assert_eq!(r2["block_hash"].as_str().unwrap(), hash2.to_hex());
    let doc = net.wait_healthy().await;
    check_nodes(&doc, 4);

    // Starting a running node is refused.
    let o = kexin([
        "net".as_ref(),
        "start-node".as_ref(),
        "2".as_ref(),
        "--dir".as_ref(),
        net.dir.as_os_str(),
    ]);
    assert_eq!(failed(&o), "running");

    // Down: every process is gone, and so are the pid files.
    let text = net.down().await;
    assert!(text.contains("stopped"), "{text}");
    for pid in pids.iter().chain([&new2]) {
        wait_gone(*pid, "a node").await;
    }
    for i in 0..4 {
        assert!(!net.node_dir(i).join("pid").exists(), "node {i} pid file");
    }
    assert!(!net.dir.join("net.pid").exists());
    let o = net.status();
    assert_eq!(failed(&o), "unhealthy");

    // Down again: nothing to do, still success.
    let text = net.down().await;
    assert!(text.contains("nothing was running"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn net_of_four_gm_attests_and_verifies() {
    let _serial = SERIAL.lock().await;
    // Four validators and one read-only node (the regulator's), which takes the submission.
    let mut net = Net::up_with("gm", 4, &["--observers", "1"]);
    let doc = net.wait_healthy().await;
    let pids = check_nodes_with_observers(&doc, 4, 1);
    let genesis = Genesis::from_json(&std::fs::read_to_string(net.genesis()).unwrap()).unwrap();
    assert_eq!(genesis.suite, Suite::Gm);
    assert_eq!(genesis.validators.len(), 4);

    let f = net.path("in/合同.txt");
    write(&f, "电子合同 v1\n".as_bytes());
    let out = net.path("receipts");
    let r = net.attest(4, &f, &out);
    net.verify(&f, &out);
    assert_eq!(r["suite"], "gm");
    let h = receipt_height(&r);
    let hash = net.wait_agree(&[0, 1, 2, 3, 4], h).await;
    assert_eq!(r["block_hash"].as_str().unwrap(), hash.to_hex());

    net.down().await;
    for pid in pids {
        wait_gone(pid, "a node").await;
    }
}

fn tmp_dir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("kexin-net-test-")
        .tempdir()
        .unwrap()
}

fn net_cmd(args: &[&str], dir: &Path) -> Output {
    let mut all: Vec<&std::ffi::OsStr> = vec!["net".as_ref()];
    all.extend(args.iter().map(|a| std::ffi::OsStr::new(*a)));
    all.push("--dir".as_ref());
    all.push(dir.as_os_str());
    kexin(all)
}

#[test]
fn init_network_refuses_zero_nodes_and_an_existing_genesis() {
    let t = tmp_dir();
    let err = init_network(&NetInitOptions::new(t.path(), 0, Suite::Intl)).unwrap_err();
    assert!(err.to_string().contains("1..="), "{err}");
    assert!(!t.path().join("genesis.json").exists());
    assert!(!t.path().join("node-0").exists());

    init_network(&NetInitOptions::new(t.path(), 2, Suite::Gm)).unwrap();
    let err = init_network(&NetInitOptions::new(t.path(), 2, Suite::Gm)).unwrap_err();
    assert!(err.to_string().contains("already"), "{err}");

    // The CLI refuses 0 nodes before creating anything.
    let t = tmp_dir();
    let dir = t.path().join("net");
    let o = net_cmd(&["up", "--nodes", "0"], &dir);
    assert!(!o.status.success());
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(!dir.join("genesis.json").exists());
}

#[test]
fn generated_configs_list_every_peer() {
    let t = tmp_dir();
    let report = init_network(&NetInitOptions::new(t.path(), 4, Suite::Intl)).unwrap();
    let genesis =
        Genesis::from_json(&std::fs::read_to_string(t.path().join("genesis.json")).unwrap())
            .unwrap();
    assert_eq!(genesis.validators.len(), 4);
    assert_eq!(genesis.quorum(), 3);
    let mut listens = std::collections::BTreeSet::new();
    for i in 0..4 {
        let dir = t.path().join(format!("node-{i}"));
        let copy = Genesis::from_json(&std::fs::read_to_string(dir.join("genesis.json")).unwrap())
            .unwrap();
        assert_eq!(copy, genesis);
        let config = NodeConfig::load(&dir.join("config.toml")).unwrap();
        assert!(listens.insert(config.api.listen));
        assert!(listens.insert(config.network.listen));
        assert_eq!(config.network.listen, report.p2p_addrs[i]);
        let peers: Vec<_> = config
            .network
            .peers
            .iter()
            .map(|p| (p.public_key, p.address))
            .collect();
        let expected: Vec<(_, SocketAddr)> = genesis
            .validators
            .iter()
            .map(|v| v.public_key)
            .zip(report.p2p_addrs.iter().copied())
            .collect();
        assert_eq!(peers, expected, "node {i}");
        let key = kexin_client::load_key(dir.join("keys/validator.pem")).expect("validator key");
        assert_eq!(key.public_key(), genesis.validators[i].public_key);
        assert!(kexin_client::load_key(dir.join("keys/client.pem")).is_ok());
    }
}

#[test]
fn net_commands_with_nothing_running() {
    let t = tmp_dir();
    let dir = t.path().join("net");

    // No network at all.
    let o = net_cmd(&["status"], &dir);
    assert_eq!(failed(&o), "not_found");
    let o = net_cmd(&["down"], &dir);
    assert!(ok(&o).contains("nothing was running"));

    // A network that is not running.
    init_network(&NetInitOptions::new(&dir, 3, Suite::Intl)).unwrap();
    let o = net_cmd(&["status", "--json"], &dir);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(failed(&o), "unhealthy");
    let doc: Value = serde_json::from_slice(&o.stdout).unwrap();
    let nodes = doc["nodes"].as_array().unwrap();
    assert_eq!(nodes.len(), 3);
    for (i, n) in nodes.iter().enumerate() {
        assert_eq!(n["index"], i);
        assert_eq!(n["role"], "validator");
        for field in ["api", "pid", "height", "peers"] {
            assert_eq!(n[field], Value::Null, "{field}: {doc}");
        }
    }
    let o = net_cmd(&["status"], &dir);
    assert_eq!(failed(&o), "unhealthy");
    assert!(stdout(&o).contains("NODE"), "{}", stdout(&o));

    // A node whose key is not in the genesis is an observer; a stale pid file is ignored.
    let stray = t.path().join("stray.pem");
    ok(&kexin([
        "keys".as_ref(),
        "new".as_ref(),
        "--suite".as_ref(),
        "intl".as_ref(),
        "--out".as_ref(),
        stray.as_os_str(),
    ]));
    let node2 = dir.join("node-2");
    std::fs::remove_file(node2.join("keys/validator.pem")).unwrap();
    std::fs::copy(&stray, node2.join("keys/validator.pem")).unwrap();
    std::fs::write(node2.join("pid"), format!("{}\n", u32::MAX - 1)).unwrap();
    let o = net_cmd(&["status", "--json"], &dir);
    let doc: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(doc["nodes"][2]["role"], "observer", "{doc}");
    assert_eq!(doc["nodes"][2]["pid"], Value::Null, "{doc}");

    let o = net_cmd(&["down"], &dir);
    assert!(ok(&o).contains("nothing was running"));
    assert!(!node2.join("pid").exists(), "stale pid file left behind");
    let o = net_cmd(&["start-node", "7"], &dir);
    assert_eq!(failed(&o), "not_found");
    let o = net_cmd(&["up", "--nodes", "5"], &dir);
    assert_eq!(failed(&o), "mismatch");
    let o = net_cmd(&["up", "--suite", "gm"], &dir);
    assert_eq!(failed(&o), "mismatch");
    let o = net_cmd(&["up", "--protocol-version", "3"], &dir);
    assert_eq!(failed(&o), "mismatch");
    assert!(stderr(&o).contains("--protocol-version"), "{}", stderr(&o));
    assert!(!dir.join("net.pid").exists());
}
