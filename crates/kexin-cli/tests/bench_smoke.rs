//! `kexin bench` starts its own node (no --node), loads it briefly, and reports JSON last.

mod common;

use common::*;
use serde_json::Value;

#[test]
fn bench_self_hosted_reports_json_last() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("bench-node");
    let o = kexin([
        "bench",
        "--dir",
        dir.to_str().unwrap(),
        "--suite",
        "intl",
        "--duration",
        "1.5",
        "--records-per-tx",
        "16",
        "--signers",
        "2",
        "--json",
    ]);
    let out = ok(&o);
    let last = out.lines().last().expect("some output");
    let v: Value = serde_json::from_str(last).unwrap_or_else(|e| panic!("{e}: {last}"));
    for field in [
        "signed_tx_per_s",
        "evidence_records_per_s",
        "p50_ms",
        "p99_ms",
        "duration_s",
        "records",
        "txs",
    ] {
        assert!(v[field].is_number(), "{field} missing: {last}");
    }
    let txs = v["txs"].as_u64().unwrap();
    assert!(txs > 0, "{last}");
    // Every accepted transaction was committed: none lost, none refused.
    assert_eq!(v["submitted_txs"].as_u64(), Some(txs), "{last}");
    assert_eq!(v["uncommitted_txs"].as_u64(), Some(0), "{last}");
    assert_eq!(v["rejected_txs"].as_u64(), Some(0), "{last}");
    assert_eq!(v["records"].as_u64().unwrap(), txs * 16);
    assert_eq!(v["suite"], "intl");
    assert!(v["p50_ms"].as_f64().unwrap() <= v["p99_ms"].as_f64().unwrap());
    // The node it started was stopped cleanly (a clean stop removes D/api-url).
    assert!(!dir.join("api-url").exists(), "node not stopped cleanly");
}
