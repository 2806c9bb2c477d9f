//! `kexin verify` on the frozen receipt fixtures of `crates/kexin-types/tests/fixtures`,
//! offline (no node): version 4 receipts name the signer's organisation, role and subject;
//! version 3 receipts still verify; a receipt of another chain is `wrong_chain` before any
//! digest is compared; the command the explorer's receipt page shows works.

mod common;

use std::path::{Path, PathBuf};

use common::*;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../kexin-types/tests/fixtures")
        .join(name)
}

fn arg(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// The record digest of an evidence receipt file.
fn digest_of(receipt: &Path) -> String {
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(receipt).unwrap()).unwrap();
    v["record"]["digest"].as_str().unwrap().to_owned()
}

fn line_with<'a>(out: &'a str, start: &str) -> &'a str {
    out.lines()
        .find(|l| l.trim_start().starts_with(start))
        .unwrap_or_else(|| panic!("no line starting with {start:?} in:\n{out}"))
}

#[test]
fn v4_receipts_print_organisation_role_and_subject() {
    for suite in ["intl", "gm"] {
        let genesis = fixture(&format!("receipt-v4-genesis-{suite}.json"));
        let receipt = fixture(&format!("receipt-v4-{suite}.json"));
        let digest = digest_of(&receipt);
        // The explorer's command: --digest, --receipt, --genesis.
        let out = ok(&kexin([
            "verify",
            "--digest",
            &digest,
            "--receipt",
            arg(&receipt),
            "--genesis",
            arg(&genesis),
        ]));
        assert!(line_with(&out, "organisation").ends_with("org1"), "{out}");
        assert!(line_with(&out, "role").ends_with("writer"), "{out}");
        assert!(
            line_with(&out, "subject").ends_with("CN=alice,OU=writer,O=org1"),
            "{out}"
        );
        assert!(
            line_with(&out, "signer cert").contains("a CA of the genesis"),
            "{out}"
        );
        // FILE: the evidenced data itself ("contract").
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("contract");
        write(&file, b"contract");
        let out = ok(&kexin([
            "verify",
            file.to_str().unwrap(),
            "--receipt",
            arg(&receipt),
            "--genesis",
            arg(&genesis),
        ]));
        assert!(line_with(&out, "organisation").ends_with("org1"), "{out}");
        // JSON names them too.
        let out = ok(&kexin([
            "verify",
            "--digest",
            &digest,
            "--receipt",
            arg(&receipt),
            "--genesis",
            arg(&genesis),
            "--json",
        ]));
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["version"], 4);
        assert_eq!(v["signer_certificate"]["organisation"], "org1");
        assert_eq!(v["signer_certificate"]["role"], "writer");
        assert_eq!(
            v["signer_certificate"]["subject"],
            "CN=alice,OU=writer,O=org1"
        );
        assert_eq!(v["signer_certificate"]["ca"]["source"], "genesis");
        assert!(
            v["checks"]
                .as_array()
                .unwrap()
                .iter()
                .any(|c| c == "signer_cert")
        );

        // A transaction receipt whose signer's CA was added after the genesis.
        let tx = fixture(&format!("tx-receipt-v4-{suite}.json"));
        let out = ok(&kexin([
            "verify",
            "--receipt",
            arg(&tx),
            "--genesis",
            arg(&genesis),
        ]));
        assert!(line_with(&out, "organisation").ends_with("org1"), "{out}");
        assert!(line_with(&out, "role").ends_with("writer"), "{out}");
        assert!(
            line_with(&out, "subject").ends_with("CN=bob,OU=writer,O=org1"),
            "{out}"
        );
        assert!(
            line_with(&out, "signer cert").contains("proven in the chain's state at height 1"),
            "{out}"
        );
    }
}

#[test]
fn v3_receipts_still_verify() {
    for suite in ["intl", "gm"] {
        let genesis = fixture(&format!("genesis-v3-{suite}.json"));
        let receipt = fixture(&format!("receipt-v3-{suite}.json"));
        let out = ok(&kexin([
            "verify",
            "--digest",
            &digest_of(&receipt),
            "--receipt",
            arg(&receipt),
            "--genesis",
            arg(&genesis),
        ]));
        assert!(out.starts_with("OK: "), "{out}");
        assert!(!out.contains("organisation"), "{out}");
    }
}

/// Issue 13, 5.2: the genesis of another chain is `wrong_chain`, with FILE as with --digest,
/// even though the file is not the receipt's data either.
#[test]
fn another_chains_genesis_is_wrong_chain_before_the_digest() {
    let receipt = fixture("receipt-v4-intl.json");
    let other = fixture("genesis-v3-intl.json");
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("not-the-data");
    write(&file, b"something else");
    let code = failed(&kexin([
        "verify",
        file.to_str().unwrap(),
        "--receipt",
        arg(&receipt),
        "--genesis",
        arg(&other),
    ]));
    assert_eq!(code, "wrong_chain");
    let code = failed(&kexin([
        "verify",
        "--digest",
        &"ab".repeat(32),
        "--receipt",
        arg(&receipt),
        "--genesis",
        arg(&other),
    ]));
    assert_eq!(code, "wrong_chain");
    // With the right genesis, the wrong file is a digest mismatch.
    let code = failed(&kexin([
        "verify",
        file.to_str().unwrap(),
        "--receipt",
        arg(&receipt),
        "--genesis",
        arg(&fixture("receipt-v4-genesis-intl.json")),
    ]));
    assert_eq!(code, "digest_mismatch");
}
