//! End to end over HTTP: a real node per suite, the real `kexin` binary, and raw requests.

mod common;

use std::path::Path;
use std::time::Duration;

use common::*;
use kexin_client::{Client, evidence_record, load_key, sign_evidence};
use kexin_crypto::{Hash, SigningKey, Suite};
use kexin_types::api::{ApiError, BlockResponse, ChainInfo, SubmitRequest};
use kexin_types::{Encode as _, ReceiptError};
use serde_json::Value;

/// The codes `kexin verify` may report for a tampered receipt.
const RECEIPT_CODES: &[&str] = &[
    "wrong_chain",
    "wrong_suite",
    "malformed_receipt",
    "digest_mismatch",
    "bad_record_proof",
    "tx_hash_mismatch",
    "bad_signature",
    "bad_log_proof",
    "block_hash_mismatch",
    "bad_certificate",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn e2e_http_gm() {
    e2e("gm").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn e2e_http_intl() {
    e2e("intl").await;
}

fn verify_file(file: &Path, receipt: &Path, genesis: &Path) -> std::process::Output {
    kexin([
        "verify".as_ref(),
        file.as_os_str(),
        "--receipt".as_ref(),
        receipt.as_os_str(),
        "--genesis".as_ref(),
        genesis.as_os_str(),
    ])
}

/// Flips one hex digit of the string at `pointer` (a JSON pointer) in a receipt document.
fn alter_hex(doc: &Value, pointer: &str) -> Option<Value> {
    let mut doc = doc.clone();
    let s = doc.pointer_mut(pointer)?;
    let text = s.as_str()?.to_owned();
    assert!(
        text.bytes().all(|b| b.is_ascii_hexdigit()),
        "{pointer} is not hex: {text}"
    );
    let i = text.len() / 2;
    let c = text.as_bytes()[i];
    let flipped = if c == b'0' { '1' } else { '0' };
    let mut new = text.clone();
    new.replace_range(i..=i, &flipped.to_string());
    *s = Value::String(new);
    Some(doc)
}

async fn e2e(suite: &str) {
    let mut node = TestNode::init(suite);
    node.start().await;
    let url = node.url.clone();
    let client = Client::new(&url).unwrap();
    let chain: ChainInfo = client.chain().await.unwrap();
    assert_eq!(chain.suite.name(), suite);
    let s: Suite = chain.suite;

    // Inputs: three files, a directory (with a name clash), and a bare digest.
    let f1 = node.path("in/contract.txt");
    let f2 = node.path("in/scan.pdf");
    let f3 = node.path("in/blob.bin");
    write(&f1, b"the contract, version 1\n");
    write(&f2, b"%PDF-1.7 pretend\n");
    write(
        &f3,
        &(0..5000u32)
            .flat_map(|i| i.to_be_bytes())
            .collect::<Vec<_>>(),
    );
    let d = node.path("in/folder");
    write(&d.join("a.json"), b"{\"a\":1}");
    write(&d.join("sub/contract.txt"), b"another contract\n");
    write(&d.join("sub/z.log"), b"log line\n");
    let digest = random_hex32();
    let out = node.path("receipts");
    let key = node.client_key();

    let o = kexin([
        "attest".as_ref(),
        f1.as_os_str(),
        f2.as_os_str(),
        f3.as_os_str(),
        d.as_os_str(),
        "--digest".as_ref(),
        digest.as_ref(),
        "--node".as_ref(),
        url.as_ref(),
        "--out".as_ref(),
        out.as_os_str(),
        "--key".as_ref(),
        key.as_os_str(),
        "--batch".as_ref(),
        "2".as_ref(),
    ]);
    let text = ok(&o);
    assert!(
        text.contains("attested 7 of 7 record(s) in 4 transaction(s)"),
        "{text}"
    );
    assert!(
        stderr(&o).contains("note: 2 inputs are named \"contract.txt\""),
        "{}",
        stderr(&o)
    );

    let cases: Vec<(std::path::PathBuf, &str)> = vec![
        (f1.clone(), "contract.txt"),
        (f2.clone(), "scan.pdf"),
        (f3.clone(), "blob.bin"),
        (d.join("a.json"), "a.json"),
        (d.join("sub/contract.txt"), "contract.txt~2"),
        (d.join("sub/z.log"), "z.log"),
    ];
    let genesis = node.genesis();
    for (file, name) in &cases {
        let receipt = out.join(format!("{name}.receipt.json"));
        assert!(receipt.exists(), "missing {}", receipt.display());
        let v = ok(&verify_file(file, &receipt, &genesis));
        assert!(v.starts_with("OK:"), "{v}");
        for what in [
            "digest",
            "record proof",
            "tx signature",
            "log proof",
            "header",
            "certificate",
            "height",
            "time",
        ] {
            assert!(v.contains(what), "verify output lacks {what}: {v}");
        }
    }
    // Labels: relative to the PATH given.
    let r: Value = serde_json::from_str(
        &std::fs::read_to_string(out.join("contract.txt~2.receipt.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(r["record"]["metadata"]["label"], "sub/contract.txt");
    assert_eq!(r["record"]["metadata"]["content_type"], "text/plain");

    // The bare digest.
    let digest_receipt = out.join(format!("{digest}.receipt.json"));
    let o = kexin([
        "verify",
        "--digest",
        &digest,
        "--receipt",
        digest_receipt.to_str().unwrap(),
        "--genesis",
        genesis.to_str().unwrap(),
        "--json",
    ]);
    let v: Value = serde_json::from_str(&ok(&o)).unwrap();
    assert_eq!(v["ok"], true);
    assert_eq!(v["digest"], digest);

    // A modified file.
    let receipt1 = out.join("contract.txt.receipt.json");
    let modified = node.path("modified.txt");
    write(&modified, b"the contract, version 2\n");
    let o = verify_file(&modified, &receipt1, &genesis);
    assert_eq!(failed(&o), "digest_mismatch");

    // A receipt with one hex digit altered, field by field.
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(&receipt1).unwrap()).unwrap();
    let fields = [
        "/record/digest",
        "/record_proof/path/0",
        "/transaction/hash",
        "/transaction/signer",
        "/transaction/payload/records_root",
        "/transaction/signature",
        "/log_proof/path/0",
        "/block_hash",
        "/header/parent_hash",
        "/header/proposer",
        "/header/log_root",
        "/header/state_root",
        "/certificate/signatures/0/signature",
    ];
    let mut tried = 0;
    for field in fields {
        let Some(altered) = alter_hex(&doc, field) else {
            continue; // e.g. an empty proof path
        };
        tried += 1;
        let path = node.path("altered.receipt.json");
        std::fs::write(&path, serde_json::to_string_pretty(&altered).unwrap()).unwrap();
        let o = verify_file(&f1, &path, &genesis);
        let code = failed(&o);
        assert!(
            RECEIPT_CODES.contains(&code.as_str()),
            "{field}: unexpected code {code}"
        );
    }
    assert!(tried >= 10, "only {tried} fields altered");
    // Which check catches what, for a few fields.
    for (field, want) in [
        ("/block_hash", "block_hash_mismatch"),
        ("/transaction/hash", "tx_hash_mismatch"),
        ("/transaction/signature", "bad_signature"),
        ("/certificate/signatures/0/signature", "bad_certificate"),
        ("/record/digest", "digest_mismatch"),
    ] {
        let altered = alter_hex(&doc, field).unwrap();
        let path = node.path("altered.receipt.json");
        std::fs::write(&path, serde_json::to_string_pretty(&altered).unwrap()).unwrap();
        assert_eq!(failed(&verify_file(&f1, &path, &genesis)), want, "{field}");
    }

    // A different genesis: another chain, and the same chain id with another validator.
    let other = TestNode::init(suite);
    assert_eq!(
        failed(&verify_file(&f1, &receipt1, &other.genesis())),
        ReceiptError::WrongChain {
            expected: String::new(),
            actual: String::new()
        }
        .code()
    );
    let same_id = tempfile::tempdir().unwrap();
    let same_id_dir = same_id.path().join("n");
    ok(&kexin([
        "node",
        "init",
        "--dir",
        same_id_dir.to_str().unwrap(),
        "--suite",
        suite,
        "--chain-id",
        &chain.chain_id,
        "--api",
        "127.0.0.1:0",
    ]));
    assert_eq!(
        failed(&verify_file(
            &f1,
            &receipt1,
            &same_id_dir.join("genesis.json")
        )),
        "bad_certificate"
    );

    // Queries.
    let f1_digest = doc["record"]["digest"].as_str().unwrap().to_owned();
    let tx_hash = doc["transaction"]["hash"].as_str().unwrap().to_owned();
    let o = ok(&kexin(["evidence", &f1_digest, "--node", &url]));
    assert!(o.contains(&f1_digest) && o.contains(&tx_hash), "{o}");
    let o = ok(&kexin(["evidence", &f1_digest, "--node", &url, "--json"]));
    let v: Value = serde_json::from_str(&o).unwrap();
    assert_eq!(v["records"][0]["tx_hash"], tx_hash.as_str());
    let o = ok(&kexin(["tx", &tx_hash, "--node", &url]));
    assert!(o.contains("committed") && o.contains("contract.txt"), "{o}");
    let o = ok(&kexin(["tx", &tx_hash, "--node", &url, "--json"]));
    let v: Value = serde_json::from_str(&o).unwrap();
    assert_eq!(v["status"], "committed");
    let o = ok(&kexin(["block", "latest", "--node", &url]));
    assert!(o.starts_with("block "), "{o}");
    let o = ok(&kexin(["block", "latest", "--node", &url, "--json"]));
    let latest: BlockResponse = serde_json::from_str(&o).unwrap();
    let height = doc["header"]["height"].as_u64().unwrap();
    let o = ok(&kexin([
        "block",
        &height.to_string(),
        "--node",
        &url,
        "--json",
    ]));
    let at: BlockResponse = serde_json::from_str(&o).unwrap();
    assert!(at.transactions.iter().any(|t| t.to_hex() == tx_hash));
    let o = ok(&kexin([
        "block",
        &at.hash.to_hex(),
        "--node",
        &url,
        "--json",
    ]));
    assert_eq!(
        serde_json::from_str::<BlockResponse>(&o).unwrap().hash,
        at.hash
    );
    assert_eq!(
        failed(&kexin(["evidence", &random_hex32(), "--node", &url])),
        "not_found"
    );
    assert_eq!(
        failed(&kexin(["tx", &random_hex32(), "--node", &url])),
        "not_found"
    );

    // The genesis is kept beside the receipts and works for verification.
    let kept = out.join("genesis.json");
    assert_eq!(
        std::fs::read_to_string(&kept).unwrap().trim(),
        std::fs::read_to_string(&genesis).unwrap().trim()
    );
    ok(&verify_file(&f1, &receipt1, &kept));

    // Receipts are not overwritten without --force.
    let again = kexin([
        "attest".as_ref(),
        f1.as_os_str(),
        "--node".as_ref(),
        url.as_ref(),
        "--out".as_ref(),
        out.as_os_str(),
        "--key".as_ref(),
        key.as_os_str(),
    ]);
    assert_eq!(failed(&again), "exists");

    // Default key ($HOME/.kexin/client-<suite>.pem, created on first use) and KEXIN_NODE.
    let home = node.path("home");
    std::fs::create_dir_all(&home).unwrap();
    let out2 = node.path("receipts2");
    let o = kexin_env(
        [
            "attest".as_ref(),
            f1.as_os_str(),
            "--out".as_ref(),
            out2.as_os_str(),
            "--label".as_ref(),
            "case 2026-17".as_ref(),
        ],
        &[("HOME", home.as_os_str()), ("KEXIN_NODE", url.as_ref())],
    );
    ok(&o);
    let made = home.join(format!(".kexin/client-{suite}.pem"));
    assert!(made.exists(), "{}", stderr(&o));
    assert!(stderr(&o).contains("note: created a new"), "{}", stderr(&o));
    let r2: Value = serde_json::from_str(
        &std::fs::read_to_string(out2.join("contract.txt.receipt.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(r2["record"]["metadata"]["label"], "case 2026-17");
    assert_eq!(
        r2["transaction"]["signer"].as_str().unwrap(),
        load_key(&made).unwrap().public_key().to_hex()
    );
    ok(&verify_file(
        &f1,
        &out2.join("contract.txt.receipt.json"),
        &genesis,
    ));
    // Two records of the same digest are both found.
    let o = ok(&kexin([
        "evidence",
        r2["record"]["digest"].as_str().unwrap(),
        "--node",
        &url,
        "--json",
    ]));
    let v: Value = serde_json::from_str(&o).unwrap();
    assert_eq!(v["records"].as_array().unwrap().len(), 2, "{o}");

    // A node that is not there.
    let dead = kexin([
        "attest".as_ref(),
        f1.as_os_str(),
        "--node".as_ref(),
        "http://127.0.0.1:1".as_ref(),
        "--out".as_ref(),
        node.path("receipts3").as_os_str(),
        "--key".as_ref(),
        key.as_os_str(),
    ]);
    assert_eq!(failed(&dead), "http");

    // The SDK against the real server: nonces, checkpoint, consistency and state proofs.
    let client_pk = load_key(&key).unwrap().public_key();
    assert_eq!(client.next_nonce(&client_pk).await.unwrap(), 5);
    let cp = client.checkpoint().await.unwrap();
    assert!(cp.header.height >= height);
    let cons = client.consistency(1, cp.header.log_size).await.unwrap();
    assert_eq!(cons.proof.old_size, 1);
    assert_eq!(cons.proof.new_size, cp.header.log_size);
    assert_eq!(cons.new_root, cp.header.log_root);
    let st = client
        .evidence_state(&Hash::from_hex(&f1_digest).unwrap())
        .await
        .unwrap();
    match st.value {
        Some(kexin_types::api::StateValue::Evidence(e)) => assert_eq!(e.count, 2),
        other => panic!("unexpected evidence state {other:?}"),
    }
    let st = client
        .evidence_state(&Hash::from_hex(&random_hex32()).unwrap())
        .await
        .unwrap();
    assert!(st.value.is_none() && st.value_hex.is_none());

    // Raw HTTP: bad inputs are refused with the right status and code, and change nothing.
    let before = client.latest_block().await.unwrap();
    assert!(before.header.height >= latest.header.height);
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let post_raw = |body: Vec<u8>| {
        let http = http.clone();
        let url = url.clone();
        async move {
            let r = http
                .post(format!("{url}/v1/transactions"))
                .header("content-type", "application/json")
                .body(body)
                .send()
                .await
                .unwrap();
            let status = r.status().as_u16();
            let bytes = r.bytes().await.unwrap();
            let err: Option<ApiError> = serde_json::from_slice(&bytes).ok();
            (status, err, String::from_utf8_lossy(&bytes).into_owned())
        }
    };
    let post_tx = |bytes: Vec<u8>| {
        let body = serde_json::to_vec(&SubmitRequest {
            tx: hex::encode(bytes),
        })
        .unwrap();
        post_raw(body)
    };
    let expect =
        |(status, err, body): (u16, Option<ApiError>, String), want: u16, code: Option<&str>| {
            assert_eq!(status, want, "{body}");
            let err = err.unwrap_or_else(|| panic!("not an ApiError body: {body}"));
            if let Some(code) = code {
                assert_eq!(err.code, code, "{body}");
            }
            assert!(!err.message.is_empty());
        };

    expect(post_raw(b"{not json".to_vec()).await, 400, None);
    expect(
        post_raw(br#"{"tx":"zz-not-hex"}"#.to_vec()).await,
        400,
        None,
    );
    expect(post_raw(br#"{"tx":"abc"}"#.to_vec()).await, 400, None);

    let client_key = load_key(&key).unwrap();
    let rec = evidence_record(Hash::from_hex(&random_hex32()).unwrap(), "x", "text/plain").unwrap();
    let good = sign_evidence(&chain.chain_id, &client_key, 1_000_000, vec![rec.clone()]).encode();
    expect(
        post_tx(good[..good.len() - 10].to_vec()).await,
        400,
        Some("truncated"),
    );

    let wrong_chain = sign_evidence(
        "some-other-chain",
        &client_key,
        1_000_000,
        vec![rec.clone()],
    );
    expect(
        post_tx(wrong_chain.encode()).await,
        400,
        Some("wrong_chain"),
    );

    let mut bad_sig = sign_evidence(&chain.chain_id, &client_key, 1_000_000, vec![rec.clone()]);
    bad_sig.signature.0[5] ^= 0x01;
    expect(post_tx(bad_sig.encode()).await, 400, Some("bad_signature"));

    let other_suite = if s == Suite::Gm {
        Suite::Intl
    } else {
        Suite::Gm
    };
    let foreign = SigningKey::generate(other_suite);
    let rec_other = evidence_record(other_suite.hash(b"x"), "x", "text/plain").unwrap();
    let wrong_suite = sign_evidence(&chain.chain_id, &foreign, 1, vec![rec_other]);
    expect(
        post_tx(wrong_suite.encode()).await,
        400,
        Some("wrong_suite"),
    );

    // The client key committed nonces 1..=4 in the attest above.
    let replay = sign_evidence(&chain.chain_id, &client_key, 1, vec![rec.clone()]);
    expect(post_tx(replay.encode()).await, 409, Some("nonce_replayed"));

    // An over-limit body (on its own connection: the server answers before reading it all
    // and then drops the connection).
    let huge = vec![b' '; 17 * 1024 * 1024];
    let r = reqwest::Client::builder()
        .no_proxy()
        .build()
        .unwrap()
        .post(format!("{url}/v1/transactions"))
        .header("content-type", "application/json")
        .body(huge)
        .send()
        .await;
    if let Ok(r) = r {
        assert_eq!(r.status().as_u16(), 413);
        assert_eq!(r.json::<ApiError>().await.unwrap().code, "too_large");
    }

    let r = http
        .get(format!("{url}/v1/no/such/route"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 404);
    let e: ApiError = r.json().await.expect("404 body is an ApiError");
    assert!(!e.code.is_empty());

    let r = http
        .get(format!("{url}/v1/evidence/{}", random_hex32()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 404);
    assert_eq!(r.json::<ApiError>().await.unwrap().code, "not_found");

    let r = http
        .get(format!("{url}/v1/transactions/not-a-hash"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);
    r.json::<ApiError>().await.expect("400 body is an ApiError");

    // Give the block builder time to (wrongly) include anything, then compare.
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let after = client.latest_block().await.unwrap();
    assert_eq!(
        after.header.log_size, before.header.log_size,
        "refused transactions were logged"
    );
    for h in before.header.height + 1..=after.header.height {
        let b = client
            .block(kexin_client::BlockId::Height(h))
            .await
            .unwrap();
        assert_eq!(b.header.tx_count, 0, "block {h} has transactions");
    }
    let health = client.health().await.unwrap();
    assert_eq!(health.mempool, 0, "refused transactions are in the mempool");
}
