//! `kexin bench` starts its own node (no --node), loads it briefly, and reports JSON last;
//! `--workload erc20` does so with token transfers on the embedded `BenchToken`.

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
    // The longest wait with transactions pending and no block: within the run, and under
    // the 5 s that would have failed it.
    let stall = v["longest_stall_ms"].as_f64().expect("longest_stall_ms");
    assert!(stall > 0.0 && stall <= 5_000.0, "{last}");
    // The node it started was stopped cleanly (a clean stop removes D/api-url).
    assert!(!dir.join("api-url").exists(), "node not stopped cleanly");
}

/// `kexin bench --workload erc20` (one node it starts itself): deploys the token, mints,
/// transfers for a few seconds, reads every outcome back and checks the books.
#[test]
fn bench_erc20_reports_contract_calls() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("bench-erc20");
    let o = kexin([
        "bench",
        "--workload",
        "erc20",
        "--dir",
        dir.to_str().unwrap(),
        "--suite",
        "gm",
        "--duration",
        "3",
        "--signers",
        "2",
        "--json",
    ]);
    let out = ok(&o);
    let last = out.lines().last().expect("some output");
    let v: Value = serde_json::from_str(last).unwrap_or_else(|e| panic!("{e}: {last}"));
    assert_eq!(v["workload"], "erc20", "{last}");
    assert_eq!(v["suite"], "gm", "{last}");
    let calls_per_s = v["contract_calls_per_s"].as_f64().expect(last);
    assert!(calls_per_s > 0.0, "{last}");
    assert_eq!(v["failed_calls"].as_u64(), Some(0), "{last}");
    let committed = v["committed_calls"].as_u64().unwrap();
    assert!(committed > 0, "{last}");
    // Every committed call's outcome was read back, and the token's books add up: each call
    // moved exactly one token from a signer to a recipient.
    let check = &v["check"];
    assert_eq!(
        check["outcomes_checked"].as_u64(),
        Some(committed),
        "{last}"
    );
    assert_eq!(check["balances"]["consistent"], true, "{last}");
    let stall = v["erc20_phase"]["longest_stall_ms"].as_f64().expect(last);
    assert!(stall > 0.0 && stall <= 5_000.0, "{last}");
    assert_eq!(
        check["balances"]["recipients_sum"].as_u64(),
        Some(committed),
        "{last}"
    );
    // The gas limit sits just above what a transfer to a fresh address uses (plus what
    // another address's calldata may cost more: 240 gas), up to the next thousand.
    let setup = &v["setup"];
    let probe = setup["probe_gas_used"].as_u64().unwrap();
    let limit = setup["gas_limit_per_call"].as_u64().unwrap();
    assert!(
        probe > 21_000 && limit > probe + 240 && limit <= probe + 1_240,
        "{last}"
    );
    assert!(check["gas_used_max"].as_u64().unwrap() < limit, "{last}");
    let phase = &v["erc20_phase"];
    assert_eq!(phase["txs"].as_u64(), Some(committed), "{last}");
    assert_eq!(phase["rejected_txs"].as_u64(), Some(0), "{last}");
    assert_eq!(phase["uncommitted_txs"].as_u64(), Some(0), "{last}");
    assert!(v["contract_p50_ms"].as_f64().unwrap() <= v["contract_p99_ms"].as_f64().unwrap());
    assert!(!dir.join("api-url").exists(), "node not stopped cleanly");
}

#[test]
fn bench_erc20_refuses_scale() {
    let o = kexin(["bench", "--workload", "erc20", "--scale", "1M"]);
    assert_eq!(failed(&o), "usage");
}

/// The token `kexin bench --workload erc20` deploys is embedded in the binary as solc output
/// (`src/bench/BenchToken.json`): recompiling `src/bench/BenchToken.sol` with the pinned solc
/// must give the same bytecode and ABI. `KEXIN_BLESS_BENCH_TOKEN=1` rewrites the embedded
/// file from a fresh compilation instead (after changing the source).
#[test]
fn bench_token_artifact_matches_its_source() {
    let compiled = solc::compile_bench_token();
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/bench/BenchToken.json");
    if std::env::var_os("KEXIN_BLESS_BENCH_TOKEN").is_some() {
        std::fs::write(&path, format!("{}\n", compiled.text)).unwrap();
    }
    let embedded: Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).expect("embedded JSON");
    let ours = &embedded["contracts"]["BenchToken.sol"]["BenchToken"];
    let fresh = &compiled.json["contracts"]["BenchToken.sol"]["BenchToken"];
    let code = |c: &Value| c["evm"]["bytecode"]["object"].as_str().map(str::to_owned);
    assert!(
        code(fresh).is_some_and(|c| c.len() > 1000),
        "solc gave no bytecode"
    );
    assert_eq!(
        code(ours),
        code(fresh),
        "src/bench/BenchToken.json is not BenchToken.sol's solc output: \
         run this test with KEXIN_BLESS_BENCH_TOKEN=1 to refresh it"
    );
    assert_eq!(ours["abi"], fresh["abi"], "the embedded ABI differs");
}

/// Compiling `src/bench/BenchToken.sol` with the repository's pinned solc (npm, in
/// `contracts/node_modules`), with the settings of `kexin-evm`'s test contracts.
mod solc {
    use std::path::Path;
    use std::process::{Command, Stdio};

    pub struct Output {
        /// solc's standard-JSON output as it printed it.
        pub text: String,
        pub json: serde_json::Value,
    }

    pub fn compile_bench_token() -> Output {
        let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
        let solc = crate_dir.join("../../contracts/node_modules/solc/solc.js");
        assert!(
            solc.exists(),
            "{} is missing: run `npm ci --prefix contracts` (the pinned Solidity compiler)",
            solc.display()
        );
        let source = std::fs::read_to_string(crate_dir.join("src/bench/BenchToken.sol")).unwrap();
        let input = serde_json::json!({
            "language": "Solidity",
            "sources": { "BenchToken.sol": { "content": source } },
            "settings": {
                "evmVersion": "prague",
                "optimizer": { "enabled": true, "runs": 200 },
                "outputSelection": { "*": { "*": ["abi", "evm.bytecode.object"] } }
            }
        });
        let mut child = Command::new("node")
            .arg(&solc)
            .arg("--standard-json")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run node (Node.js is needed to run solc)");
        {
            use std::io::Write as _;
            let mut stdin = child.stdin.take().unwrap();
            stdin.write_all(input.to_string().as_bytes()).unwrap();
        }
        let out = child.wait_with_output().expect("solc");
        assert!(
            out.status.success(),
            "solc failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let stdout = String::from_utf8(out.stdout).expect("utf-8");
        // solcjs may print a note line before the JSON.
        let text = stdout[stdout.find('{').expect("solc printed no JSON")..]
            .trim_end()
            .to_owned();
        let json: serde_json::Value = serde_json::from_str(&text).expect("solc JSON");
        if let Some(errors) = json["errors"].as_array() {
            let fatal: Vec<&str> = errors
                .iter()
                .filter(|e| e["severity"] == "error")
                .filter_map(|e| e["formattedMessage"].as_str())
                .collect();
            assert!(fatal.is_empty(), "solc errors:\n{}", fatal.join("\n"));
        }
        Output { text, json }
    }
}
