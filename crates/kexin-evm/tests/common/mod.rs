//! Compiling the test contracts (`crates/kexin-evm/tests/contracts/`) and the reference
//! contracts (`contracts/scf`, `contracts/trace`) with the pinned `solc` (npm,
//! `contracts/package.json`). Other crates' tests include this file with `#[path]`.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

/// A compiled contract.
#[derive(Clone, Debug)]
pub struct Compiled {
    /// Its creation bytecode.
    pub bytecode: Vec<u8>,
}

/// The workspace root (every crate sits two levels below it).
fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Every contract of `tests/contracts/*.sol`, compiled once per test binary by `solc` from
/// `contracts/node_modules` (run `npm ci --prefix contracts` first).
pub fn contracts() -> &'static BTreeMap<String, Compiled> {
    static ALL: OnceLock<BTreeMap<String, Compiled>> = OnceLock::new();
    ALL.get_or_init(compile_all)
}

/// The contract `name`.
pub fn contract(name: &str) -> &'static Compiled {
    contracts()
        .get(name)
        .unwrap_or_else(|| panic!("no contract {name} in tests/contracts"))
}

/// The whole standard-JSON output of solc for the test contracts (an artifact file as solc
/// writes it).
pub fn solc_output() -> &'static serde_json::Value {
    static OUT: OnceLock<serde_json::Value> = OnceLock::new();
    OUT.get_or_init(run_solc)
}

fn compile_all() -> BTreeMap<String, Compiled> {
    let output = solc_output();
    let mut all = BTreeMap::new();
    for (_, file) in output["contracts"].as_object().expect("contracts") {
        for (name, c) in file.as_object().expect("file") {
            let hex_code = c["evm"]["bytecode"]["object"].as_str().expect("bytecode");
            all.insert(
                name.clone(),
                Compiled {
                    bytecode: hex::decode(hex_code).expect("hex bytecode"),
                },
            );
        }
    }
    all
}

/// The reference contracts (`contracts/scf/*.sol`, `contracts/trace/*.sol`), compiled once per
/// test binary: solc's standard-JSON output, with the settings of [`solc_output`].
pub fn reference_output() -> &'static serde_json::Value {
    static OUT: OnceLock<serde_json::Value> = OnceLock::new();
    OUT.get_or_init(|| compile_dirs(&["contracts/scf", "contracts/trace"]))
}

/// The reference contract `name`.
pub fn reference(name: &str) -> Compiled {
    let out = reference_output();
    for (_, file) in out["contracts"].as_object().expect("contracts") {
        if let Some(c) = file.get(name) {
            let hex_code = c["evm"]["bytecode"]["object"].as_str().expect("bytecode");
            return Compiled {
                bytecode: hex::decode(hex_code).expect("hex bytecode"),
            };
        }
    }
    panic!("no reference contract {name} in contracts/scf or contracts/trace")
}

fn run_solc() -> serde_json::Value {
    compile_dirs(&["crates/kexin-evm/tests/contracts"])
}

/// Every `.sol` file of `dirs` (relative to the repository; missing ones are skipped), with
/// the Kexin library as "kexin/Kexin.sol", compiled by the pinned solc.
fn compile_dirs(dirs: &[&str]) -> serde_json::Value {
    let solc = repo_root().join("contracts/node_modules/solc/solc.js");
    assert!(
        solc.exists(),
        "{} is missing: run `npm ci --prefix contracts` (the pinned Solidity compiler)",
        solc.display()
    );
    let mut sources = serde_json::Map::new();
    for dir in dirs {
        let Ok(entries) = std::fs::read_dir(repo_root().join(dir)) else {
            continue;
        };
        for entry in entries {
            let path = entry.expect("dir entry").path();
            if path.extension().is_some_and(|e| e == "sol") {
                let name = path.file_name().unwrap().to_string_lossy().into_owned();
                let content = std::fs::read_to_string(&path).expect("read source");
                sources.insert(name, serde_json::json!({ "content": content }));
            }
        }
    }
    // The Kexin libraries, imported as "kexin/Kexin.sol" and "kexin/Apps.sol".
    for lib in ["Kexin.sol", "Apps.sol"] {
        let path = repo_root().join("contracts/lib").join(lib);
        let content = std::fs::read_to_string(&path).expect("contracts/lib");
        sources.insert(
            format!("kexin/{lib}"),
            serde_json::json!({ "content": content }),
        );
    }
    let input = serde_json::json!({
        "language": "Solidity",
        "sources": sources,
        "settings": {
            "evmVersion": "prague",
            "optimizer": { "enabled": true, "runs": 200 },
            "outputSelection": { "*": { "*": ["abi", "evm.bytecode.object"] } }
        }
    });
    // The solc module run by a two-line script that writes the output to a file: the solcjs
    // command line exits before a piped stdout over 64 KiB is flushed.
    static RUN: AtomicUsize = AtomicUsize::new(0);
    let out_path = std::env::temp_dir().join(format!(
        "kexin-solc-{}-{}.json",
        std::process::id(),
        RUN.fetch_add(1, Ordering::Relaxed)
    ));
    let script = "const fs = require('fs'); const input = fs.readFileSync(0, 'utf8'); \
                  fs.writeFileSync(process.argv[2], require(process.argv[1]).compile(input));";
    let mut child = Command::new("node")
        .arg("-e")
        .arg(script)
        .arg(solc.parent().expect("the solc package"))
        .arg(&out_path)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run node (Node.js is needed to run solc)");
    {
        use std::io::Write as _;
        let mut stdin = child.stdin.take().unwrap();
        stdin
            .write_all(input.to_string().as_bytes())
            .expect("write solc input");
    }
    let out = child.wait_with_output().expect("solc");
    assert!(
        out.status.success(),
        "solc failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json = std::fs::read_to_string(&out_path).expect("solc's output file");
    let _ = std::fs::remove_file(&out_path);
    let output: serde_json::Value = serde_json::from_str(&json).expect("solc JSON");
    if let Some(errors) = output["errors"].as_array() {
        let fatal: Vec<&str> = errors
            .iter()
            .filter(|e| e["severity"] == "error")
            .filter_map(|e| e["formattedMessage"].as_str())
            .collect();
        assert!(fatal.is_empty(), "solc errors:\n{}", fatal.join("\n"));
    }
    output
}
