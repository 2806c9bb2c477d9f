//! Recovery from a damaged data directory, following the runbook in docs/operations.md:
//! `kexin node check` names the damaged store, the operator moves it aside, and the restarted
//! node rebuilds it (from its consensus archive, or from its peers) until it agrees with the
//! other validators again.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use common::*;

/// Stops node `i` of `net` with SIGTERM (a clean shutdown) and waits for it to exit.
async fn stop_node(net: &Net, i: usize) {
    let pid = net.pid(i);
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status()
            .unwrap()
            .success()
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    while alive(pid) {
        assert!(Instant::now() < deadline, "node {i} did not stop");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn start_node(net: &Net, i: usize) {
    ok(&kexin([
        "net".as_ref(),
        "start-node".as_ref(),
        i.to_string().as_ref(),
        "--dir".as_ref(),
        net.dir.as_os_str(),
    ]));
}

fn check(dir: &Path) -> std::process::Output {
    kexin([
        "node".as_ref(),
        "check".as_ref(),
        "--dir".as_ref(),
        dir.as_os_str(),
    ])
}

/// Every regular file under `dir`, recursively.
fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let entry = entry.unwrap();
            let ty = entry.file_type().unwrap();
            if ty.is_dir() {
                stack.push(entry.path());
            } else if ty.is_file() {
                out.push(entry.path());
            }
        }
    }
    out.sort();
    out
}

/// Flips one byte in the middle of every file of at least 1 KiB under `dir`.
fn flip_bytes(dir: &Path) -> usize {
    let mut flipped = 0;
    for path in files(dir) {
        let mut bytes = std::fs::read(&path).unwrap();
        if bytes.len() < 1024 {
            continue;
        }
        let at = bytes.len() / 2;
        bytes[at] ^= 0x5a;
        std::fs::write(&path, bytes).unwrap();
        flipped += 1;
    }
    flipped
}

async fn height_of(net: &Net, i: usize) -> u64 {
    net.client(i).latest_block().await.unwrap().header.height
}

/// Attests a fresh file through node `via` and returns the receipt's height.
fn attest_one(net: &Net, via: usize, name: &str) -> u64 {
    let file = net.path(&format!("in/{name}.txt"));
    write(
        &file,
        format!("recovery test: {name} {}\n", random_hex32()).as_bytes(),
    );
    let receipt = net.attest(via, &file, &net.path("receipts"));
    receipt["header"]["height"]
        .as_u64()
        .expect("receipt height")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_damaged_store_is_found_and_rebuilt_by_the_runbook() {
    let mut net = Net::up("intl", 4);
    net.wait_healthy().await;
    let mut height = 0;
    for k in 0..3 {
        height = attest_one(&net, 0, &format!("before-{k}"));
    }
    net.wait_agree(&[0, 1, 2, 3], height).await;
    let node3 = net.node_dir(3);

    // A sound node passes the check. Its clean shutdown logged no errors.
    stop_node(&net, 3).await;
    let log = std::fs::read_to_string(node3.join("node.log")).unwrap_or_default();
    let errors: Vec<&str> = log.lines().filter(|l| l.contains(" ERROR ")).collect();
    assert!(
        errors.is_empty(),
        "a clean run and shutdown logged errors:\n{}",
        errors.join("\n")
    );
    assert!(log.contains("stopped"), "{}", tail(&log, 20));
    let out = ok(&check(&node3));
    assert!(out.contains("ok: the ledger agrees"), "{out}");
    assert!(
        out.contains(&format!("verified   {}", height_of_dir_claim(&out))),
        "{out}"
    );

    // 1. The ledger is damaged: the check names it and exits 1.
    let ledger = node3.join("data/ledger.fjall");
    assert!(flip_bytes(&ledger) > 0);
    let o = check(&node3);
    assert!(!o.status.success(), "{}", stdout(&o));
    let text = format!("{}{}", stdout(&o), stderr(&o));
    assert!(
        text.contains("DAMAGED") || text.contains("damaged"),
        "{text}"
    );
    assert!(text.contains("ledger.fjall"), "{text}");
    // The runbook: move the ledger aside and start the node; it replays its archive.
    std::fs::rename(&ledger, net.path("ledger.fjall.damaged")).unwrap();
    start_node(&net, 3);
    let h = attest_one(&net, 1, "after-ledger");
    net.wait_agree(&[0, 1, 2, 3], h).await;
    let log = std::fs::read_to_string(node3.join("node.log")).unwrap_or_default();
    assert!(
        log.contains("replaying the missing blocks from its archive"),
        "{}",
        tail(&log, 30)
    );
    assert!(!log.contains("height gap"), "{}", tail(&log, 30));
    stop_node(&net, 3).await;
    ok(&check(&node3));

    // 2. The consensus data is damaged: the runbook moves it aside; the node fetches the
    // blocks from its peers and joins consensus again.
    let consensus = node3.join("data/consensus");
    assert!(flip_bytes(&consensus) > 0);
    std::fs::rename(&consensus, net.path("consensus.damaged")).unwrap();
    start_node(&net, 3);
    let h = attest_one(&net, 2, "after-consensus");
    net.wait_agree(&[0, 1, 2, 3], h).await;
    // Node 3 votes again: with node 0 stopped, the three others are the quorum.
    stop_node(&net, 0).await;
    let h = attest_one(&net, 3, "node-3-in-quorum");
    net.wait_agree(&[1, 2, 3], h).await;
    start_node(&net, 0);
    net.wait_agree(&[0, 1, 2, 3], h).await;
    assert!(height_of(&net, 3).await >= h);
    stop_node(&net, 3).await;
    ok(&check(&node3));
    start_node(&net, 3);
    net.down().await;
}

/// The height `kexin node check` printed.
fn height_of_dir_claim(out: &str) -> u64 {
    out.lines()
        .find_map(|l| l.strip_prefix("height     "))
        .and_then(|h| h.trim().parse().ok())
        .unwrap_or_else(|| panic!("no height line in:\n{out}"))
}
