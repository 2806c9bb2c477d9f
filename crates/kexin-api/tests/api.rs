//! The REST API in process (no sockets): happy path with receipt verification, and every bad
//! input answered with its stable code while nothing changes.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt as _;
use kexin_crypto::{Hash, SigningKey, Suite};
use kexin_node::Node;
use kexin_types::api::*;
use kexin_types::{Encode, EvidenceRecord, Genesis, Payload, Transaction};
use serde_json::Value;
use tower::ServiceExt as _;

struct Harness {
    _dir: tempfile::TempDir,
    node: Arc<Node>,
    app: Router,
}

fn start(suite: Suite) -> Harness {
    start_with(suite, "api-test", |_| {})
}

/// A one-node chain with fast blocks, its genesis edited by `edit` first.
fn start_with(suite: Suite, chain_id: &str, edit: impl FnOnce(&mut Genesis)) -> Harness {
    let (node, dir) = common::one_node(suite, chain_id, edit);
    let app = kexin_api::router(node.clone());
    Harness {
        _dir: dir,
        node,
        app,
    }
}

async fn call(app: &Router, method: &str, uri: &str, body: Option<String>) -> (StatusCode, Value) {
    let req = Request::builder()
        .method(method)
        .uri(uri)
        .header("content-type", "application/json")
        .body(body.map(Body::from).unwrap_or_else(Body::empty))
        .unwrap();
    let resp = app.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    let json = serde_json::from_slice(&bytes).unwrap_or_else(|_| {
        panic!(
            "{method} {uri}: body is not JSON: {}",
            String::from_utf8_lossy(&bytes)
        )
    });
    (status, json)
}

fn records(suite: Suite, tag: &str, n: usize) -> Vec<EvidenceRecord> {
    (0..n)
        .map(|i| EvidenceRecord {
            digest: suite.hash(format!("{tag}-{i}").as_bytes()),
            metadata: kexin_types::RecordMetadata {
                salt: kexin_types::Salt([7; 16]),
                content_type: "application/pdf".into(),
                label: format!("{tag}-{i}.pdf"),
                external_ref: (i % 2 == 0).then(|| format!("s3://bucket/{tag}/{i}")),
            },
        })
        .collect()
}

fn body(tx: &Transaction) -> String {
    serde_json::to_string(&SubmitRequest {
        tx: hex::encode(tx.encode()),
    })
    .unwrap()
}

async fn wait_committed(app: &Router, hash: &Hash) -> Value {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (status, json) =
            call(app, "GET", &format!("/v1/transactions/{hash}/status"), None).await;
        assert_eq!(status, StatusCode::OK, "{json}");
        if json["status"] == "committed" {
            return json;
        }
        assert!(
            Instant::now() < deadline,
            "transaction {hash} not committed in time"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn assert_error(status: StatusCode, json: &Value, want_status: StatusCode, want_code: &str) {
    assert_eq!(status, want_status, "{json}");
    assert_eq!(json["code"], want_code, "{json}");
    assert!(
        json["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{json}"
    );
}

async fn happy_path(suite: Suite) {
    let h = start(suite);
    let genesis: Genesis = h.node.genesis().clone();
    let key = SigningKey::generate(suite);

    let (status, _) = call(&h.app, "GET", "/v1/checkpoint", None).await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "no checkpoint before the first block"
    );

    let recs = records(suite, "happy", 5);
    let tx = Transaction::sign(
        "api-test",
        &key,
        1,
        Payload::Evidence {
            records: recs.clone(),
        },
    );
    let (status, json) = call(&h.app, "POST", "/v1/transactions", Some(body(&tx))).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{json}");
    let hash: Hash = serde_json::from_value(json["hash"].clone()).unwrap();
    assert_eq!(hash, tx.hash());
    let committed = wait_committed(&h.app, &hash).await;
    let height = committed["height"].as_u64().unwrap();
    let (status, full) = call(&h.app, "GET", &format!("/v1/transactions/{hash}"), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(full["status"], "committed");
    assert_eq!(full["height"].as_u64(), Some(height));
    // An open chain: the metadata is public.
    let back: TxView = serde_json::from_value(full["transaction"].clone()).unwrap();
    assert_eq!(back.transaction(), Some(tx.clone()));

    let (status, json) = call(
        &h.app,
        "GET",
        &format!("/v1/transactions/{hash}/receipts"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{json}");
    let receipts: ReceiptsResponse = serde_json::from_value(json).unwrap();
    assert_eq!(receipts.receipts.len(), 5);
    for (i, r) in receipts.receipts.iter().enumerate() {
        let v = r.verify(&genesis).unwrap();
        assert_eq!(v.digest, recs[i].digest);
        assert_eq!(v.height, height);
        assert_eq!(r.record, recs[i].disclosed(suite));
    }

    let (status, json) = call(
        &h.app,
        "GET",
        &format!("/v1/evidence/{}", recs[2].digest),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{json}");
    let ev: EvidenceResponse = serde_json::from_value(json).unwrap();
    assert_eq!(ev.records.len(), 1);
    assert_eq!(ev.records[0].record, recs[2].disclosed(suite));
    assert_eq!(ev.records[0].tx_hash, hash);

    for path in [
        "/v1/blocks/latest".to_string(),
        format!("/v1/blocks/{height}"),
    ] {
        let (status, json) = call(&h.app, "GET", &path, None).await;
        assert_eq!(status, StatusCode::OK, "{json}");
        assert_eq!(json["header"]["height"].as_u64(), Some(height));
        let block_hash = json["hash"].as_str().unwrap().to_owned();
        let (status, by_hash) =
            call(&h.app, "GET", &format!("/v1/blocks/{block_hash}"), None).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(by_hash["header"], json["header"]);
    }

    let (status, json) = call(&h.app, "GET", "/v1/checkpoint", None).await;
    assert_eq!(status, StatusCode::OK);
    let cp: CheckpointResponse = serde_json::from_value(json).unwrap();
    let checkpoint = kexin_types::Checkpoint {
        header: cp.header.clone(),
        certificate: cp.certificate.clone(),
    };
    assert_eq!(checkpoint.verify(&genesis).unwrap(), cp.block_hash);
    assert!(cp.epochs.is_empty(), "epoch 0 needs no links");
    assert_eq!(cp.verify(&genesis).unwrap(), cp.block_hash);
    let mut wrong = cp.clone();
    wrong.block_hash = Hash::ZERO;
    assert_eq!(
        wrong.verify(&genesis).unwrap_err().code(),
        "block_hash_mismatch"
    );

    // A second transaction, then a consistency proof between the two log sizes.
    let tx2 = Transaction::sign(
        "api-test",
        &key,
        2,
        Payload::Evidence {
            records: records(suite, "second", 3),
        },
    );
    let (status, json) = call(&h.app, "POST", "/v1/transactions", Some(body(&tx2))).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{json}");
    wait_committed(&h.app, &tx2.hash()).await;
    let (status, json) = call(&h.app, "GET", "/v1/proofs/consistency?from=1&to=2", None).await;
    assert_eq!(status, StatusCode::OK, "{json}");
    let c: ConsistencyResponse = serde_json::from_value(json).unwrap();
    kexin_merkle::verify_consistency(suite, &c.old_root, &c.new_root, &c.proof).unwrap();

    // State proofs: the signer's nonce is present, an unknown digest is absent.
    let (status, json) = call(
        &h.app,
        "GET",
        &format!("/v1/state/nonce/{}", key.public_key()),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{json}");
    let sp: StateProofResponse = serde_json::from_value(json).unwrap();
    match sp.value {
        Some(StateValue::Nonce(n)) => assert_eq!((n.last_nonce, n.tx_count), (2, 2)),
        other => panic!("unexpected {other:?}"),
    }
    let value = hex::decode(sp.value_hex.unwrap()).unwrap();
    let vh = kexin_types::state::value_hash(suite, &value);
    kexin_merkle::verify_state_proof(suite, &sp.state_root, &sp.key_hash, Some(&vh), &sp.proof)
        .unwrap();
    let unknown = suite.hash(b"never attested");
    let (status, json) = call(
        &h.app,
        "GET",
        &format!("/v1/state/evidence/{unknown}"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{json}");
    let sp: StateProofResponse = serde_json::from_value(json).unwrap();
    assert!(sp.value.is_none());
    kexin_merkle::verify_state_proof(suite, &sp.state_root, &sp.key_hash, None, &sp.proof).unwrap();

    let (status, json) = call(&h.app, "GET", "/v1/chain", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(json["suite"], suite.name());
    let (status, json) = call(&h.app, "GET", "/v1/health", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(json["status"], "ok");
    h.node.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn happy_path_intl() {
    happy_path(Suite::Intl).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn happy_path_gm() {
    happy_path(Suite::Gm).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_inputs_are_refused_and_change_nothing() {
    let suite = Suite::Intl;
    let h = start(suite);
    let key = SigningKey::generate(suite);
    let good = Transaction::sign(
        "api-test",
        &key,
        1,
        Payload::Evidence {
            records: records(suite, "ok", 2),
        },
    );
    let (status, _) = call(&h.app, "POST", "/v1/transactions", Some(body(&good))).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    wait_committed(&h.app, &good.hash()).await;
    let height = h.node.ledger().height();
    let (log_size, log_root) = h.node.ledger().log_head();

    let post = |b: String| call(&h.app, "POST", "/v1/transactions", Some(b));

    let (s, j) = post("{not json".into()).await;
    assert_error(s, &j, StatusCode::BAD_REQUEST, "invalid_json");
    let (s, j) = post(r#"{"tx":"zz"}"#.into()).await;
    assert_error(s, &j, StatusCode::BAD_REQUEST, "invalid_hex");
    let bytes = good.encode();
    let (s, j) =
        post(serde_json::json!({"tx": hex::encode(&bytes[..bytes.len() - 10])}).to_string()).await;
    assert_error(s, &j, StatusCode::BAD_REQUEST, "truncated");
    let mut trailing = bytes.clone();
    trailing.push(0);
    let (s, j) = post(serde_json::json!({"tx": hex::encode(&trailing)}).to_string()).await;
    assert_error(s, &j, StatusCode::BAD_REQUEST, "trailing_bytes");

    let wrong_chain = Transaction::sign(
        "other-chain",
        &key,
        2,
        Payload::Evidence {
            records: records(suite, "wc", 1),
        },
    );
    let (s, j) = post(body(&wrong_chain)).await;
    assert_error(s, &j, StatusCode::BAD_REQUEST, "wrong_chain");

    let gm_key = SigningKey::generate(Suite::Gm);
    let wrong_suite = Transaction::sign(
        "api-test",
        &gm_key,
        1,
        Payload::Evidence {
            records: records(suite, "ws", 1),
        },
    );
    let (s, j) = post(body(&wrong_suite)).await;
    assert_error(s, &j, StatusCode::BAD_REQUEST, "wrong_suite");

    let mut bad_sig = Transaction::sign(
        "api-test",
        &key,
        2,
        Payload::Evidence {
            records: records(suite, "bs", 1),
        },
    );
    bad_sig.signature.0[10] ^= 0x40;
    let (s, j) = post(body(&bad_sig)).await;
    assert_error(s, &j, StatusCode::BAD_REQUEST, "bad_signature");

    // The same signed transaction again, and a fresh one reusing the nonce.
    let (s, j) = post(body(&good)).await;
    assert_error(s, &j, StatusCode::CONFLICT, "nonce_replayed");
    let reuse = Transaction::sign(
        "api-test",
        &key,
        1,
        Payload::Evidence {
            records: records(suite, "reuse", 1),
        },
    );
    let (s, j) = post(body(&reuse)).await;
    assert_error(s, &j, StatusCode::CONFLICT, "nonce_replayed");

    // Oversized batch and metadata, unknown payload type: built by hand since the encoder
    // would not produce them from valid types.
    let mut big = good.clone();
    big.payload = Payload::Evidence {
        records: records(suite, "big", 4097),
    };
    let (s, j) = post(body(&big)).await;
    assert_error(s, &j, StatusCode::BAD_REQUEST, "too_large");
    let mut meta = records(suite, "meta", 1);
    meta[0].metadata.label = "x".repeat(1025);
    let mut fat = good.clone();
    fat.payload = Payload::Evidence { records: meta };
    let (s, j) = post(body(&fat)).await;
    assert_error(s, &j, StatusCode::BAD_REQUEST, "too_large");
    let mut unknown = good.encode();
    let kind_at = 1 + 1 + "api-test".len() + 1 + 32 + 8 + 1;
    assert_eq!(unknown[kind_at], 1, "payload kind offset");
    unknown[kind_at] = 10;
    let (s, j) = post(serde_json::json!({"tx": hex::encode(&unknown)}).to_string()).await;
    assert_error(s, &j, StatusCode::BAD_REQUEST, "malformed");
    assert!(
        j["message"]
            .as_str()
            .unwrap()
            .contains("unknown payload type"),
        "{j}"
    );

    // Reads with bad parameters.
    let (s, j) = call(&h.app, "GET", "/v1/transactions/xyz", None).await;
    assert_error(s, &j, StatusCode::BAD_REQUEST, "invalid_hash");
    let (s, j) = call(
        &h.app,
        "GET",
        &format!("/v1/transactions/{}", Hash::ZERO),
        None,
    )
    .await;
    assert_error(s, &j, StatusCode::NOT_FOUND, "not_found");
    let (s, j) = call(
        &h.app,
        "GET",
        &format!("/v1/evidence/{}", suite.hash(b"nothing")),
        None,
    )
    .await;
    assert_error(s, &j, StatusCode::NOT_FOUND, "not_found");
    let (s, j) = call(
        &h.app,
        "GET",
        &format!("/v1/evidence/{}?limit=0", suite.hash(b"x")),
        None,
    )
    .await;
    assert_error(s, &j, StatusCode::BAD_REQUEST, "invalid_query");
    let (s, j) = call(
        &h.app,
        "GET",
        &format!("/v1/evidence/{}?limit=99999999", suite.hash(b"x")),
        None,
    )
    .await;
    assert_error(s, &j, StatusCode::BAD_REQUEST, "invalid_query");
    let (s, j) = call(&h.app, "GET", "/v1/blocks/abc", None).await;
    assert_error(s, &j, StatusCode::BAD_REQUEST, "invalid_block_id");
    let (s, j) = call(&h.app, "GET", "/v1/blocks/999", None).await;
    assert_error(s, &j, StatusCode::NOT_FOUND, "not_found");
    let (s, j) = call(&h.app, "GET", "/v1/proofs/consistency?from=2&to=1", None).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{j}");
    let (s, j) = call(&h.app, "GET", "/v1/proofs/consistency?from=1&to=99", None).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{j}");
    let (s, j) = call(&h.app, "GET", "/v1/proofs/consistency?from=a", None).await;
    assert_error(s, &j, StatusCode::BAD_REQUEST, "invalid_query");
    let (s, j) = call(&h.app, "GET", "/v1/state/nonce/1234", None).await;
    assert_error(s, &j, StatusCode::BAD_REQUEST, "invalid_public_key");
    let (s, j) = call(&h.app, "GET", "/v1/nope", None).await;
    assert_error(s, &j, StatusCode::NOT_FOUND, "not_found");

    // Nothing was stored: give the engine a chance to (wrongly) cut a block, then compare.
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(h.node.ledger().height(), height);
    assert_eq!(h.node.ledger().log_head(), (log_size, log_root));
    assert_eq!(h.node.mempool().len(), 0);
    h.node.shutdown();
}

fn evidence_tx(suite: Suite, key: &SigningKey, nonce: u64, tag: &str) -> Transaction {
    Transaction::sign(
        "api-test",
        key,
        nonce,
        Payload::Evidence {
            records: records(suite, &format!("{tag}-{nonce}"), 1),
        },
    )
}

fn batch_body(txs: &[Vec<u8>]) -> String {
    serde_json::to_string(&SubmitBatchRequest {
        txs: txs.iter().map(hex::encode).collect(),
    })
    .unwrap()
}

async fn status_of(app: &Router, hash: &Hash) -> String {
    let (s, j) = call(app, "GET", &format!("/v1/transactions/{hash}/status"), None).await;
    assert_eq!(s, StatusCode::OK, "{j}");
    j["status"].as_str().unwrap().to_owned()
}

/// A batch is admitted item by item, in order: each item gets its own result, a nonce gap
/// waits in the mempool until it is filled, and refusals change nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batch_submission_reports_each_item_and_gaps_wait() {
    let suite = Suite::Intl;
    let h = start(suite);
    let key = SigningKey::generate(suite);
    let tx = |n: u64| evidence_tx(suite, &key, n, "batch");
    let mut bad_sig = tx(4);
    bad_sig.signature.0[3] ^= 1;
    let items = vec![
        tx(2).encode(), // before 1: waits for it
        tx(1).encode(),
        tx(3).encode(),
        bad_sig.encode(),
        tx(5).encode(),                          // 4 was refused: waits behind the gap
        tx(1_000_000).encode(),                  // too far ahead
        vec![kexin_types::FORMAT_VERSION, 2, 3], // not a transaction
    ];
    let (s, j) = call(
        &h.app,
        "POST",
        "/v1/transactions/batch",
        Some(batch_body(&items)),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{j}");
    let answer: SubmitBatchResponse = serde_json::from_value(j.clone()).unwrap();
    assert_eq!(answer.results.len(), items.len());
    assert_eq!(answer.accepted, 4, "{j}");
    for (i, n) in [(0, 2), (1, 1), (2, 3), (4, 5)] {
        assert_eq!(answer.results[i].hash, Some(tx(n).hash()), "item {i}");
        assert_eq!(answer.results[i].status, Some(TxState::Pending), "item {i}");
        assert!(answer.results[i].error.is_none(), "item {i}");
    }
    let code = |i: usize| answer.results[i].error.as_ref().unwrap().code.clone();
    assert_eq!(code(3), "bad_signature");
    assert_eq!(answer.results[3].hash, Some(bad_sig.hash()));
    assert_eq!(code(5), "nonce_too_far");
    assert_eq!(code(6), "truncated");
    assert_eq!(answer.results[6].hash, None);

    // What was submitted here is resent by gossip while pending; refusals are not.
    let resend: Vec<Hash> = h
        .node
        .mempool()
        .due_for_regossip(Duration::ZERO, 100)
        .iter()
        .map(|t| t.hash())
        .collect();
    assert!(resend.contains(&tx(5).hash()), "{resend:?}");
    assert!(!resend.contains(&bad_sig.hash()));
    for n in [1, 2, 3] {
        wait_committed(&h.app, &tx(n).hash()).await;
    }
    // Nonce 5 waits for 4; submitting 4 releases both, in order.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(status_of(&h.app, &tx(5).hash()).await, "pending");
    let (s, j) = call(&h.app, "POST", "/v1/transactions", Some(body(&tx(4)))).await;
    assert_eq!(s, StatusCode::ACCEPTED, "{j}");
    let four = wait_committed(&h.app, &tx(4).hash()).await;
    let five = wait_committed(&h.app, &tx(5).hash()).await;
    let position = |j: &Value| {
        (
            j["height"].as_u64().unwrap(),
            j["tx_index"].as_u64().unwrap(),
        )
    };
    assert!(position(&four) < position(&five), "{four} {five}");

    // Whole-batch refusals admit nothing.
    let height = h.node.ledger().height();
    let pending = h.node.mempool().len();
    let post = |b: String| call(&h.app, "POST", "/v1/transactions/batch", Some(b));
    let (s, j) = post(r#"{"txs": []}"#.into()).await;
    assert_error(s, &j, StatusCode::BAD_REQUEST, "empty_batch");
    let many = vec![tx(6).encode(); kexin_api::MAX_SUBMIT_BATCH + 1];
    let (s, j) = post(batch_body(&many)).await;
    assert_error(s, &j, StatusCode::BAD_REQUEST, "batch_too_large");
    let (s, j) =
        post(serde_json::json!({"txs": [hex::encode(tx(6).encode()), "zz"]}).to_string()).await;
    assert_error(s, &j, StatusCode::BAD_REQUEST, "invalid_hex");
    let (s, j) = post(r#"{"tx": "00"}"#.into()).await;
    assert_error(s, &j, StatusCode::BAD_REQUEST, "invalid_json");
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(h.node.mempool().len(), pending);
    assert_eq!(h.node.ledger().height(), height);
    let (s, j) = call(
        &h.app,
        "GET",
        &format!("/v1/transactions/{}/status", tx(6).hash()),
        None,
    )
    .await;
    assert_error(s, &j, StatusCode::NOT_FOUND, "not_found");
}

/// A one-node consortium chain: genesis made by `init`, then given organisation `org1` with a
/// CA made here (before the node first opens it).
fn start_permissioned(suite: Suite) -> (Harness, kexin_pki::Certificate, SigningKey) {
    let ca_key = SigningKey::generate(suite);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    let terms = kexin_pki::Terms {
        serial: 1,
        not_before_ms: now - 60_000,
        not_after_ms: now + 86_400_000,
    };
    let ca = kexin_pki::self_signed_ca("org1", &ca_key, &terms).unwrap();
    let der = kexin_types::CertDer(ca.der().to_vec());
    let h = start_with(suite, "api-pki", |genesis| {
        genesis.organisations = vec![kexin_types::Organisation {
            name: "org1".into(),
            ca_certs: vec![der],
        }];
        genesis.validators[0].org = "org1".into();
    });
    (h, ca, ca_key)
}

/// A key and its certificate under `ca`.
fn identity(
    suite: Suite,
    ca: &kexin_pki::Certificate,
    ca_key: &SigningKey,
    name: &str,
    role: kexin_types::Role,
    serial: u64,
) -> (SigningKey, kexin_types::CertDer) {
    let key = SigningKey::generate(suite);
    let (from, to) = ca.validity_ms();
    let terms = kexin_pki::Terms {
        serial,
        not_before_ms: from,
        not_after_ms: to,
    };
    let cert = kexin_pki::issue(ca, ca_key, name, role, &key.public_key(), &terms).unwrap();
    (key, kexin_types::CertDer(cert.der().to_vec()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn certificates_roles_and_revocation_over_the_api() {
    use kexin_types::{RevocationReason, Role};
    let suite = Suite::Gm;
    let (h, ca, ca_key) = start_permissioned(suite);
    let (wkey, wcert) = identity(suite, &ca, &ca_key, "alice", Role::Writer, 2);
    let (akey, acert) = identity(suite, &ca, &ca_key, "admin", Role::Admin, 3);
    let wid = wcert.id(suite);
    let sign = |key: &SigningKey, cert: &kexin_types::CertDer, attach: bool, nonce, payload| {
        Transaction::sign_as("api-pki", key, Some((cert, attach)), nonce, payload)
    };
    let ev = |tag: &str| Payload::Evidence {
        records: records(suite, tag, 1),
    };

    // Refusals before anything is registered: no certificate, unknown certificate, wrong role.
    let height0 = h.node.ledger().height();
    let bare = Transaction::sign("api-pki", &wkey, 1, ev("bare"));
    let (s, j) = call(&h.app, "POST", "/v1/transactions", Some(body(&bare))).await;
    assert_error(s, &j, StatusCode::BAD_REQUEST, "cert_required");
    let unknown = sign(&wkey, &wcert, false, 1, ev("unknown"));
    let (s, j) = call(&h.app, "POST", "/v1/transactions", Some(body(&unknown))).await;
    assert_error(s, &j, StatusCode::BAD_REQUEST, "cert_unknown");
    let by_admin = sign(&akey, &acert, true, 1, ev("admin"));
    let (s, j) = call(&h.app, "POST", "/v1/transactions", Some(body(&by_admin))).await;
    assert_error(s, &j, StatusCode::FORBIDDEN, "permission_denied");
    assert!(
        j["message"].as_str().unwrap().contains("evidence.write"),
        "{j}"
    );
    assert_eq!(h.node.mempool().len(), 0);
    assert_eq!(h.node.ledger().height(), height0);
    let (s, j) = call(&h.app, "GET", &format!("/v1/state/cert/{wid}"), None).await;
    assert_eq!(s, StatusCode::OK);
    assert!(j["value"].is_null(), "{j}");

    // The writer's first transaction registers its certificate.
    let first = sign(&wkey, &wcert, true, 1, ev("first"));
    let (s, j) = call(&h.app, "POST", "/v1/transactions", Some(body(&first))).await;
    assert_eq!(s, StatusCode::ACCEPTED, "{j}");
    wait_committed(&h.app, &first.hash()).await;
    let (s, j) = call(&h.app, "GET", &format!("/v1/state/cert/{wid}"), None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(j["value"]["kind"], "cert", "{j}");
    assert_eq!(j["value"]["name"], "alice");
    assert_eq!(j["value"]["role"], "writer");
    assert_eq!(j["value"]["org"], "org1");
    let proof: StateProofResponse = serde_json::from_value(j).unwrap();
    let value = hex::decode(proof.value_hex.as_ref().unwrap()).unwrap();
    kexin_merkle::verify_state_proof(
        suite,
        &proof.state_root,
        &proof.key_hash,
        Some(&kexin_types::state::value_hash(suite, &value)),
        &proof.proof,
    )
    .expect("the registry entry is proven against the state root");
    // A reference is enough from now on.
    let second = sign(&wkey, &wcert, false, 2, ev("second"));
    let (s, j) = call(&h.app, "POST", "/v1/transactions", Some(body(&second))).await;
    assert_eq!(s, StatusCode::ACCEPTED, "{j}");
    wait_committed(&h.app, &second.hash()).await;

    // The CA and the writer's certificate expire within a day: well inside the default
    // 30-day warning window.
    let (s, j) = call(&h.app, "GET", "/v1/health", None).await;
    assert_eq!(s, StatusCode::OK);
    let expiring = j["expiring"].as_array().expect("expiry warnings");
    let kinds: Vec<&str> = expiring
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert!(kinds.contains(&"ca") && kinds.contains(&"writer"), "{j}");
    assert!(
        expiring
            .iter()
            .all(|e| e["days_left"] == 0 && e["expired"] == false),
        "{j}"
    );

    // Listing.
    let (s, j) = call(&h.app, "GET", "/v1/certs", None).await;
    assert_eq!(s, StatusCode::OK);
    let certs = j["certs"].as_array().unwrap();
    assert_eq!(certs.len(), 1, "{j}");
    assert_eq!(certs[0]["id"], wid.to_hex());
    let (_, j) = call(&h.app, "GET", "/v1/certs?org=org2", None).await;
    assert!(j["certs"].as_array().unwrap().is_empty());
    for bad in [
        "/v1/certs?limit=0",
        "/v1/certs?limit=10001",
        "/v1/certs?colour=red",
    ] {
        let (s, j) = call(&h.app, "GET", bad, None).await;
        assert_error(s, &j, StatusCode::BAD_REQUEST, "invalid_query");
    }
    let (s, j) = call(&h.app, "GET", "/v1/orgs", None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(j["orgs"][0]["name"], "org1");
    assert_eq!(j["orgs"][0]["validators"][0], "node0");
    assert_eq!(
        j["orgs"][0]["ca_certs"][0]["id"],
        kexin_types::CertDer(ca.der().to_vec()).id(suite).to_hex()
    );
    let (s, j) = call(&h.app, "GET", "/v1/state/cert/xyz", None).await;
    assert_error(s, &j, StatusCode::BAD_REQUEST, "invalid_hash");
    let (s, j) = call(&h.app, "GET", "/v1/state/org/no%20spaces", None).await;
    assert_error(s, &j, StatusCode::BAD_REQUEST, "invalid_name");

    // A transaction admitted before the revocation, waiting behind a nonce gap.
    let waiting = sign(&wkey, &wcert, false, 4, ev("waiting"));
    let (s, j) = call(&h.app, "POST", "/v1/transactions", Some(body(&waiting))).await;
    assert_eq!(s, StatusCode::ACCEPTED, "{j}");

    // The admin revokes the writer; the writer's next transaction is refused.
    let revoke = sign(
        &akey,
        &acert,
        true,
        1,
        Payload::RevokeCert {
            cert: wcert.clone(),
            reason: RevocationReason::KeyCompromise,
        },
    );
    let (s, j) = call(&h.app, "POST", "/v1/transactions", Some(body(&revoke))).await;
    assert_eq!(s, StatusCode::ACCEPTED, "{j}");
    let status = wait_committed(&h.app, &revoke.hash()).await;
    let (_, j) = call(&h.app, "GET", &format!("/v1/state/cert/{wid}"), None).await;
    assert_eq!(j["value"]["revoked"]["reason"], "key-compromise", "{j}");
    assert_eq!(j["value"]["revoked"]["height"], status["height"], "{j}");
    let height = h.node.ledger().height();
    let third = sign(&wkey, &wcert, false, 3, ev("third"));
    let (s, j) = call(&h.app, "POST", "/v1/transactions", Some(body(&third))).await;
    assert_error(s, &j, StatusCode::BAD_REQUEST, "cert_revoked");
    // (Not admitted; `waiting` may still be pending until the next sweep drops it, below.)
    assert!(h.node.mempool().get(&third.hash()).is_none());
    assert!(h.node.ledger().height() >= height);
    // The transaction admitted before the revocation is dropped when a block is built, and
    // its status says why.
    let deadline = Instant::now() + Duration::from_secs(20);
    let j = loop {
        let (s, j) = call(
            &h.app,
            "GET",
            &format!("/v1/transactions/{}/status", waiting.hash()),
            None,
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{j}");
        if j["status"] == "rejected" {
            break j;
        }
        assert_eq!(j["status"], "pending", "{j}");
        assert!(Instant::now() < deadline, "never rejected: {j}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(j["error"]["code"], "cert_revoked", "{j}");
    assert_eq!(h.node.mempool().len(), 0);
    // Revocation transactions have no record receipts.
    let (s, j) = call(
        &h.app,
        "GET",
        &format!("/v1/transactions/{}/receipts", revoke.hash()),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{j}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn governance_over_the_api() {
    use kexin_types::{GovAction, Role};
    let suite = Suite::Intl;
    let (h, ca, ca_key) = start_permissioned(suite);
    let (akey, acert) = identity(suite, &ca, &ca_key, "admin", Role::Admin, 2);
    let (wkey, wcert) = identity(suite, &ca, &ca_key, "writer", Role::Writer, 3);
    let action = GovAction::SetParam {
        name: "gov.proposal_ttl_ms".into(),
        value: 3_600_000,
    };
    // A writer may not propose.
    let by_writer = Transaction::sign_as(
        "api-pki",
        &wkey,
        Some((&wcert, true)),
        1,
        Payload::Propose {
            action: action.clone(),
        },
    );
    let (s, j) = call(&h.app, "POST", "/v1/transactions", Some(body(&by_writer))).await;
    assert_error(s, &j, StatusCode::FORBIDDEN, "permission_denied");
    assert!(
        j["message"].as_str().unwrap().contains("governance.vote"),
        "{j}"
    );

    let (s, j) = call(&h.app, "GET", "/v1/gov/consortium", None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(j["members"], serde_json::json!(["org1"]));
    assert_eq!(j["votes_needed"], 1, "one member: its own yes passes");
    // One member organisation: proposing passes the proposal at once.
    let propose = Transaction::sign_as(
        "api-pki",
        &akey,
        Some((&acert, true)),
        1,
        Payload::Propose { action },
    );
    let id = propose.hash();
    let (s, j) = call(&h.app, "POST", "/v1/transactions", Some(body(&propose))).await;
    assert_eq!(s, StatusCode::ACCEPTED, "{j}");
    let status = wait_committed(&h.app, &id).await;
    let (s, j) = call(&h.app, "GET", "/v1/gov/proposals", None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(j["proposals"][0]["id"], id.to_hex(), "{j}");
    assert_eq!(j["proposals"][0]["state"], "passed", "{j}");
    assert_eq!(
        j["proposals"][0]["proposal"]["status"]["height"],
        status["height"]
    );
    let (_, j) = call(&h.app, "GET", "/v1/gov/consortium", None).await;
    let ttl = j["params"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "gov.proposal_ttl_ms")
        .unwrap()
        .clone();
    assert_eq!(ttl["value"], 3_600_000, "{j}");
    let (s, j) = call(&h.app, "GET", &format!("/v1/state/proposal/{id}"), None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(j["value"]["kind"], "proposal", "{j}");
    // Voting on a decided proposal is refused, and so is a vote on an unknown one.
    let vote = |nonce, proposal| {
        Transaction::sign_as(
            "api-pki",
            &akey,
            Some((&acert, false)),
            nonce,
            Payload::Vote {
                proposal,
                approve: true,
            },
        )
    };
    let (s, j) = call(&h.app, "POST", "/v1/transactions", Some(body(&vote(2, id)))).await;
    assert_error(s, &j, StatusCode::BAD_REQUEST, "proposal_closed");
    let (s, j) = call(
        &h.app,
        "POST",
        "/v1/transactions",
        Some(body(&vote(2, Hash([7; 32])))),
    )
    .await;
    assert_error(s, &j, StatusCode::BAD_REQUEST, "unknown_proposal");
    for bad in ["/v1/gov/proposals?limit=0", "/v1/gov/proposals?limit=1001"] {
        let (s, j) = call(&h.app, "GET", bad, None).await;
        assert_error(s, &j, StatusCode::BAD_REQUEST, "invalid_query");
    }
    let (s, j) = call(&h.app, "GET", "/v1/state/proposal/nothex", None).await;
    assert_error(s, &j, StatusCode::BAD_REQUEST, "invalid_hash");
}

// ---------------------------------------------------------------------------------------------
// Signed reads: private metadata for readers of the owning organisation and auditors
// ---------------------------------------------------------------------------------------------

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

/// A CA for `org` valid from a minute ago for a day.
fn org_ca(suite: Suite, org: &str) -> (kexin_pki::Certificate, SigningKey) {
    let key = SigningKey::generate(suite);
    let now = now_ms();
    let terms = kexin_pki::Terms {
        serial: 1,
        not_before_ms: now - 60_000,
        not_after_ms: now + 86_400_000,
    };
    (kexin_pki::self_signed_ca(org, &key, &terms).unwrap(), key)
}

/// A one-node consortium of `org1` (operating the validator) and `org2`.
fn start_consortium(suite: Suite) -> (Harness, [(kexin_pki::Certificate, SigningKey); 2]) {
    let cas = [org_ca(suite, "org1"), org_ca(suite, "org2")];
    let orgs: Vec<kexin_types::Organisation> = cas
        .iter()
        .zip(["org1", "org2"])
        .map(|((ca, _), name)| kexin_types::Organisation {
            name: name.into(),
            ca_certs: vec![kexin_types::CertDer(ca.der().to_vec())],
        })
        .collect();
    let h = start_with(suite, "api-reads", |genesis| {
        genesis.organisations = orgs;
        genesis.validators[0].org = "org1".into();
    });
    (h, cas)
}

/// Credentials of a signed read.
struct Creds {
    key: SigningKey,
    cert: kexin_types::CertDer,
}

/// A GET, signed with `creds` at `at_ms` when given, answered with status, headers and body.
async fn get_as(
    app: &Router,
    chain_id: &str,
    uri: &str,
    creds: Option<&Creds>,
    at_ms: u64,
) -> (StatusCode, axum::http::HeaderMap, String) {
    let mut req = Request::builder().method("GET").uri(uri);
    if let Some(c) = creds {
        let headers = kexin_types::signed_read::headers(
            &c.key,
            c.cert.as_bytes(),
            chain_id,
            "GET",
            uri,
            at_ms,
        )
        .unwrap();
        for (name, value) in headers {
            req = req.header(name, value);
        }
    }
    raw(app, req.body(Body::empty()).unwrap()).await
}

async fn raw(app: &Router, req: Request<Body>) -> (StatusCode, axum::http::HeaderMap, String) {
    let resp = app.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let headers = resp.headers().clone();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    (status, headers, String::from_utf8(bytes.to_vec()).unwrap())
}

/// The private strings of `records`: labels, content types, external references, salts.
fn secrets(records: &[EvidenceRecord]) -> Vec<String> {
    let mut out = Vec::new();
    for r in records {
        out.push(r.metadata.label.clone());
        out.push(r.metadata.salt.to_hex());
        if let Some(x) = &r.metadata.external_ref {
            out.push(x.clone());
        }
    }
    out.push("application/pdf".into());
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signed_reads_disclose_metadata_to_readers_and_auditors_only() {
    use kexin_types::{RevocationReason, Role};
    let suite = Suite::Gm;
    let chain = "api-reads";
    let (h, [(ca1, ca1_key), (ca2, ca2_key)]) = start_consortium(suite);
    let genesis = h.node.genesis().clone();
    let creds = |ca: &kexin_pki::Certificate, ca_key: &SigningKey, name: &str, role, serial| {
        let (key, cert) = identity(suite, ca, ca_key, name, role, serial);
        Creds { key, cert }
    };
    let writer1 = creds(&ca1, &ca1_key, "wendy", Role::Writer, 2);
    let admin1 = creds(&ca1, &ca1_key, "adam", Role::Admin, 3);
    let reader1 = creds(&ca1, &ca1_key, "rita", Role::Reader, 4);
    let reader2 = creds(&ca2, &ca2_key, "rob", Role::Reader, 5);
    let auditor2 = creds(&ca2, &ca2_key, "ann", Role::Auditor, 6);

    // org1's writer records two documents whose labels and references are confidential.
    let recs = records(suite, "confidential-case-4711", 2);
    let tx = Transaction::sign_as(
        chain,
        &writer1.key,
        Some((&writer1.cert, true)),
        1,
        Payload::Evidence {
            records: recs.clone(),
        },
    );
    let (s, j) = call(&h.app, "POST", "/v1/transactions", Some(body(&tx))).await;
    assert_eq!(s, StatusCode::ACCEPTED, "{j}");
    let hash = tx.hash();
    wait_committed(&h.app, &hash).await;

    let uris = [
        format!("/v1/transactions/{hash}"),
        format!("/v1/transactions/{hash}/receipts"),
        format!("/v1/evidence/{}", recs[1].digest),
        format!("/v1/evidence/{}?limit=5", recs[0].digest),
    ];
    let secret = secrets(&recs);
    let who: [(&str, Option<&Creds>, bool); 6] = [
        ("anonymous", None, false),
        ("reader of org1 (the owner)", Some(&reader1), true),
        ("reader of org2", Some(&reader2), false),
        ("auditor of org2", Some(&auditor2), true),
        ("writer of org1 (the signer)", Some(&writer1), false),
        ("admin of org1", Some(&admin1), false),
    ];
    for (name, c, sees) in who {
        for uri in &uris {
            let (s, headers, text) = get_as(&h.app, chain, uri, c, now_ms()).await;
            assert_eq!(s, StatusCode::OK, "{name} {uri}: {text}");
            assert!(headers.get("vary").is_some(), "{name} {uri}");
            if c.is_some() {
                assert_eq!(headers["cache-control"], "private, no-store");
            }
            let json: Value = serde_json::from_str(&text).unwrap();
            let views: Vec<kexin_types::RecordView> = if uri.ends_with("/receipts") {
                let r: ReceiptsResponse = serde_json::from_value(json.clone()).unwrap();
                assert_eq!(r.receipts.len(), 2);
                for receipt in &r.receipts {
                    let v = receipt.verify(&genesis).expect("every view verifies");
                    assert_eq!(v.metadata_checked, sees, "{name}");
                }
                r.receipts.into_iter().map(|r| r.record).collect()
            } else if uri.starts_with("/v1/evidence/") {
                let r: EvidenceResponse = serde_json::from_value(json.clone()).unwrap();
                r.records.into_iter().map(|e| e.record).collect()
            } else {
                let r: TxResponse = serde_json::from_value(json.clone()).unwrap();
                assert_eq!(r.transaction.transaction().is_some(), sees, "{name}");
                r.transaction.records().to_vec()
            };
            assert!(!views.is_empty());
            for v in &views {
                let rec = recs.iter().find(|r| r.digest == v.digest).unwrap();
                assert_eq!(v.metadata_hash, rec.metadata_hash(suite));
                if sees {
                    assert_eq!(v, &rec.disclosed(suite), "{name} {uri}");
                } else {
                    assert_eq!(v, &rec.withheld(suite), "{name} {uri}");
                }
            }
            if !sees {
                assert!(text.contains(r#""metadata":"withheld""#), "{name} {uri}");
                for s in &secret {
                    assert!(!text.contains(s.as_str()), "{name} {uri}: {s:?} leaked");
                }
            }
        }
    }
    // The same reader sees a record of its own organisation but not org2's: org2's writer
    // records a document.
    let writer2 = creds(&ca2, &ca2_key, "walt", Role::Writer, 7);
    let recs2 = records(suite, "org2-private", 1);
    let tx2 = Transaction::sign_as(
        chain,
        &writer2.key,
        Some((&writer2.cert, true)),
        1,
        Payload::Evidence {
            records: recs2.clone(),
        },
    );
    let (s, j) = call(&h.app, "POST", "/v1/transactions", Some(body(&tx2))).await;
    assert_eq!(s, StatusCode::ACCEPTED, "{j}");
    wait_committed(&h.app, &tx2.hash()).await;
    let uri = format!("/v1/transactions/{}", tx2.hash());
    for (c, sees) in [(&reader1, false), (&reader2, true), (&auditor2, true)] {
        let (s, _, text) = get_as(&h.app, chain, &uri, Some(c), now_ms()).await;
        assert_eq!(s, StatusCode::OK, "{text}");
        let r: TxResponse = serde_json::from_str(&text).unwrap();
        assert_eq!(r.transaction.transaction().is_some(), sees, "{text}");
    }

    // Refusals: 401 with a stable code, and nothing of the records in the answer.
    let uri = format!("/v1/transactions/{hash}");
    let refused = |s: StatusCode, headers: &axum::http::HeaderMap, text: &str, code: &str| {
        assert_eq!(s, StatusCode::UNAUTHORIZED, "{code}: {text}");
        let j: Value = serde_json::from_str(text).unwrap();
        assert_eq!(j["code"], code, "{text}");
        assert!(j["message"].as_str().is_some_and(|m| !m.is_empty()));
        assert_eq!(j.as_object().unwrap().len(), 2, "{text}");
        assert!(headers.get("www-authenticate").is_some());
        for s in &secret {
            assert!(!text.contains(s.as_str()), "{code}: {s:?} leaked");
        }
        assert!(!text.contains(&recs[0].digest.to_hex()), "{text}");
    };
    // A stale or future timestamp.
    for at in [now_ms() - 6 * 60_000, now_ms() + 6 * 60_000] {
        let (s, hd, text) = get_as(&h.app, chain, &uri, Some(&reader1), at).await;
        refused(s, &hd, &text, "auth_stale");
    }
    // A bad signature: one flipped byte, or headers signed for another path or chain.
    let signed = |c: &Creds, chain: &str, path: &str| {
        kexin_types::signed_read::headers(&c.key, c.cert.as_bytes(), chain, "GET", path, now_ms())
            .unwrap()
    };
    let send = |headers: Vec<(&'static str, String)>, uri: &str| {
        let mut req = Request::builder().method("GET").uri(uri);
        for (n, v) in headers {
            req = req.header(n, v);
        }
        raw(&h.app, req.body(Body::empty()).unwrap())
    };
    let mut flipped = signed(&auditor2, chain, &uri).to_vec();
    let sig = &mut flipped[2].1;
    let last = if sig.ends_with('0') { '1' } else { '0' };
    sig.pop();
    sig.push(last);
    let (s, hd, text) = send(flipped, &uri).await;
    refused(s, &hd, &text, "auth_bad_signature");
    let other_path = format!("/v1/transactions/{hash}/status");
    let (s, hd, text) = send(signed(&auditor2, chain, &other_path).to_vec(), &uri).await;
    refused(s, &hd, &text, "auth_bad_signature");
    let (s, hd, text) = send(signed(&auditor2, "other-chain", &uri).to_vec(), &uri).await;
    refused(s, &hd, &text, "auth_bad_signature");
    // Another key's signature under the auditor's certificate.
    let mut stolen = signed(&reader2, chain, &uri).to_vec();
    stolen[0].1 = hex::encode(auditor2.cert.as_bytes());
    let (s, hd, text) = send(stolen, &uri).await;
    refused(s, &hd, &text, "auth_bad_signature");
    // Missing, repeated or malformed headers.
    let full = signed(&reader1, chain, &uri).to_vec();
    for drop in 0..3 {
        let mut partial = full.clone();
        partial.remove(drop);
        let (s, hd, text) = send(partial, &uri).await;
        refused(s, &hd, &text, "auth_malformed");
    }
    let mut twice = full.clone();
    twice.push(full[1].clone());
    let (s, hd, text) = send(twice, &uri).await;
    refused(s, &hd, &text, "auth_malformed");
    for (i, bad) in [(0, "zz"), (1, "-5"), (1, "soon"), (2, "abcd")] {
        let mut b = full.clone();
        b[i].1 = bad.into();
        let (s, hd, text) = send(b, &uri).await;
        refused(s, &hd, &text, "auth_malformed");
    }
    let mut junk = full.clone();
    junk[0].1 = "3003020100".into();
    let (s, hd, text) = send(junk, &uri).await;
    refused(s, &hd, &text, "cert_malformed");
    // Certificates the chain does not accept: an unknown CA (a forged org1 CA, an
    // organisation that is not a member), expired, and a CA certificate itself.
    // A CA that took org1's name, as another chain's org1 CA has: another CA.
    let (forged_ca, forged_key) = org_ca(suite, "org1");
    let forged = creds(&forged_ca, &forged_key, "mallory", Role::Auditor, 9);
    let (s, hd, text) = get_as(&h.app, chain, &uri, Some(&forged), now_ms()).await;
    refused(s, &hd, &text, "cert_wrong_ca");
    // A certificate of the right CA whose CA signature was tampered with is a bad signature.
    let tampered = {
        let mut c = creds(&ca1, &ca1_key, "trudy", Role::Auditor, 13);
        let n = c.cert.0.len();
        c.cert.0[n - 3] ^= 1;
        c
    };
    let (s, hd, text) = get_as(&h.app, chain, &uri, Some(&tampered), now_ms()).await;
    refused(s, &hd, &text, "cert_bad_signature");
    // A key of the other suite (SM2 chain, Ed25519 certificate and key) is refused as a
    // transaction signed by one is: `wrong_suite`.
    let (intl_ca, intl_ca_key) = org_ca(Suite::Intl, "org1");
    let (intl_key, intl_cert) = identity(
        Suite::Intl,
        &intl_ca,
        &intl_ca_key,
        "oscar",
        Role::Auditor,
        12,
    );
    let foreign = Creds {
        key: intl_key,
        cert: intl_cert,
    };
    let (s, hd, text) = get_as(&h.app, chain, &uri, Some(&foreign), now_ms()).await;
    refused(s, &hd, &text, "wrong_suite");
    let (org9_ca, org9_key) = org_ca(suite, "org9");
    let stranger = creds(&org9_ca, &org9_key, "eve", Role::Auditor, 10);
    let (s, hd, text) = get_as(&h.app, chain, &uri, Some(&stranger), now_ms()).await;
    refused(s, &hd, &text, "unknown_org");
    let expired = {
        let key = SigningKey::generate(suite);
        let now = now_ms();
        let terms = kexin_pki::Terms {
            serial: 11,
            not_before_ms: now - 50_000,
            not_after_ms: now - 10_000,
        };
        let cert = kexin_pki::issue(
            &ca1,
            &ca1_key,
            "old",
            Role::Reader,
            &key.public_key(),
            &terms,
        )
        .unwrap();
        Creds {
            key,
            cert: kexin_types::CertDer(cert.der().to_vec()),
        }
    };
    let (s, hd, text) = get_as(&h.app, chain, &uri, Some(&expired), now_ms()).await;
    refused(s, &hd, &text, "cert_expired");
    let ca_itself = Creds {
        key: ca1_key.clone(),
        cert: kexin_types::CertDer(ca1.der().to_vec()),
    };
    let (s, hd, text) = get_as(&h.app, chain, &uri, Some(&ca_itself), now_ms()).await;
    refused(s, &hd, &text, "cert_profile");
    // A revoked reader (never registered: the revocation registers it) is refused from the
    // revoking block on, on every route.
    let revoke = Transaction::sign_as(
        chain,
        &admin1.key,
        Some((&admin1.cert, true)),
        1,
        Payload::RevokeCert {
            cert: reader1.cert.clone(),
            reason: RevocationReason::AffiliationChanged,
        },
    );
    let (s, j) = call(&h.app, "POST", "/v1/transactions", Some(body(&revoke))).await;
    assert_eq!(s, StatusCode::ACCEPTED, "{j}");
    wait_committed(&h.app, &revoke.hash()).await;
    for uri in uris.iter().chain([&"/v1/health".to_string()]) {
        let (s, hd, text) = get_as(&h.app, chain, uri, Some(&reader1), now_ms()).await;
        refused(s, &hd, &text, "cert_revoked");
    }
    // The other identities are unaffected.
    let (s, _, _) = get_as(&h.app, chain, &uri, Some(&auditor2), now_ms()).await;
    assert_eq!(s, StatusCode::OK);
    h.node.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_chains_keep_metadata_public_and_refuse_signed_reads() {
    let suite = Suite::Intl;
    let h = start(suite);
    let key = SigningKey::generate(suite);
    let recs = records(suite, "open", 1);
    let tx = Transaction::sign(
        "api-test",
        &key,
        1,
        Payload::Evidence {
            records: recs.clone(),
        },
    );
    let (s, j) = call(&h.app, "POST", "/v1/transactions", Some(body(&tx))).await;
    assert_eq!(s, StatusCode::ACCEPTED, "{j}");
    wait_committed(&h.app, &tx.hash()).await;
    let (s, _, text) = get_as(
        &h.app,
        "api-test",
        &format!("/v1/transactions/{}/receipts", tx.hash()),
        None,
        0,
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let r: ReceiptsResponse = serde_json::from_str(&text).unwrap();
    assert_eq!(r.receipts[0].record, recs[0].disclosed(suite));
    // There is no CA to check a certificate against: a signed read is refused, not ignored.
    let (ca, ca_key) = org_ca(suite, "org1");
    let (key, cert) = identity(suite, &ca, &ca_key, "rita", kexin_types::Role::Reader, 2);
    let (s, _, text) = get_as(
        &h.app,
        "api-test",
        &format!("/v1/transactions/{}", tx.hash()),
        Some(&Creds { key, cert }),
        now_ms(),
    )
    .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "{text}");
    let j: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(j["code"], "no_organisations");
    h.node.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_notes_and_transaction_receipts_over_the_api() {
    use kexin_types::{Role, TxReceipt};
    let suite = Suite::Intl;
    let chain = "api-reads";
    let (h, [(ca1, ca1_key), (ca2, ca2_key)]) = start_consortium(suite);
    let genesis = h.node.genesis().clone();
    let creds = |ca: &kexin_pki::Certificate, ca_key: &SigningKey, name: &str, role, serial| {
        let (key, cert) = identity(suite, ca, ca_key, name, role, serial);
        Creds { key, cert }
    };
    let writer1 = creds(&ca1, &ca1_key, "wendy", Role::Writer, 2);
    let auditor2 = creds(&ca2, &ca2_key, "ann", Role::Auditor, 3);
    let reader2 = creds(&ca2, &ca2_key, "rob", Role::Reader, 4);
    let reader1 = creds(&ca1, &ca1_key, "rita", Role::Reader, 5);
    let admin1 = creds(&ca1, &ca1_key, "adam", Role::Admin, 6);

    // org1's writer records a document; org2's auditor notes it.
    let recs = records(suite, "filing-2026-q3", 1);
    let ev = Transaction::sign_as(
        chain,
        &writer1.key,
        Some((&writer1.cert, true)),
        1,
        Payload::Evidence {
            records: recs.clone(),
        },
    );
    let text = "Finding 7: figures reconciled with the bank's ledger; confidential.";
    let note = Transaction::sign_as(
        chain,
        &auditor2.key,
        Some((&auditor2.cert, true)),
        1,
        Payload::AuditNote {
            subject: recs[0].digest,
            text: text.into(),
        },
    );
    // A writer's note is refused with the permission it lacks, and nothing is stored.
    let by_writer = Transaction::sign_as(
        chain,
        &writer1.key,
        Some((&writer1.cert, true)),
        2,
        Payload::AuditNote {
            subject: recs[0].digest,
            text: "not mine to write".into(),
        },
    );
    let (s, j) = call(&h.app, "POST", "/v1/transactions", Some(body(&by_writer))).await;
    assert_error(s, &j, StatusCode::FORBIDDEN, "permission_denied");
    assert!(j["message"].as_str().unwrap().contains("audit.note"), "{j}");
    for tx in [&ev, &note] {
        let (s, j) = call(&h.app, "POST", "/v1/transactions", Some(body(tx))).await;
        assert_eq!(s, StatusCode::ACCEPTED, "{j}");
        wait_committed(&h.app, &tx.hash()).await;
    }

    // The notes about the digest: the text for auditors and the auditor's org's readers.
    let uri = format!("/v1/audit-notes/{}", recs[0].digest);
    let who: [(&str, Option<&Creds>, bool); 5] = [
        ("anonymous", None, false),
        ("auditor of org2", Some(&auditor2), true),
        ("reader of org2 (the auditor's)", Some(&reader2), true),
        ("reader of org1", Some(&reader1), false),
        ("admin of org1", Some(&admin1), false),
    ];
    for (name, c, sees) in who {
        let (s, _, body_text) = get_as(&h.app, chain, &uri, c, now_ms()).await;
        assert_eq!(s, StatusCode::OK, "{name}: {body_text}");
        let r: AuditNotesResponse = serde_json::from_str(&body_text).unwrap();
        assert_eq!(r.subject, recs[0].digest);
        assert_eq!(r.notes.len(), 1);
        let n = &r.notes[0];
        assert_eq!(n.tx_hash, note.hash());
        assert_eq!(n.org.as_deref(), Some("org2"));
        assert_eq!(n.text.as_deref(), sees.then_some(text), "{name}");
        assert_eq!(body_text.contains("confidential"), sees, "{name}");

        // The note transaction and its receipt follow the same rule.
        let (s, _, tx_text) = get_as(
            &h.app,
            chain,
            &format!("/v1/transactions/{}", note.hash()),
            c,
            now_ms(),
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{tx_text}");
        assert_eq!(tx_text.contains("confidential"), sees, "{name}: {tx_text}");
        if !sees {
            assert!(tx_text.contains(r#""text":"withheld""#), "{tx_text}");
        }
        let r: TxResponse = serde_json::from_str(&tx_text).unwrap();
        assert_eq!(r.transaction.transaction().is_some(), sees, "{name}");

        let receipt_uri = format!("/v1/transactions/{}/receipt", note.hash());
        let (s, _, rtext) = get_as(&h.app, chain, &receipt_uri, c, now_ms()).await;
        assert_eq!(s, StatusCode::OK, "{rtext}");
        let receipt = TxReceipt::from_json(&rtext).unwrap();
        let v = receipt.verify(&genesis).expect("every view verifies");
        assert_eq!((v.kind, v.payload_checked), ("audit_note", sees), "{name}");
        assert_eq!(rtext.contains("confidential"), sees, "{name}");
    }

    // Every kind has a receipt: the evidence batch (payload for readers of org1 only).
    let uri = format!("/v1/transactions/{}/receipt", ev.hash());
    for (c, sees) in [
        (None, false),
        (Some(&reader1), true),
        (Some(&reader2), false),
    ] {
        let (s, _, rtext) = get_as(&h.app, chain, &uri, c, now_ms()).await;
        assert_eq!(s, StatusCode::OK, "{rtext}");
        let v = TxReceipt::from_json(&rtext)
            .unwrap()
            .verify(&genesis)
            .unwrap();
        assert_eq!((v.kind, v.payload_checked), ("evidence", sees));
        assert_eq!(rtext.contains("filing-2026-q3"), sees);
    }

    // Bad input: clear JSON errors.
    let (s, j) = call(&h.app, "GET", "/v1/audit-notes/xyz", None).await;
    assert_error(s, &j, StatusCode::BAD_REQUEST, "invalid_hash");
    let none = suite.hash(b"nothing noted");
    let (s, j) = call(&h.app, "GET", &format!("/v1/audit-notes/{none}"), None).await;
    assert_error(s, &j, StatusCode::NOT_FOUND, "not_found");
    for q in ["limit=0", "limit=1001", "limit=x"] {
        let (s, j) = call(
            &h.app,
            "GET",
            &format!("/v1/audit-notes/{}?{q}", recs[0].digest),
            None,
        )
        .await;
        assert_error(s, &j, StatusCode::BAD_REQUEST, "invalid_query");
    }
    let (s, j) = call(
        &h.app,
        "GET",
        &format!("/v1/transactions/{none}/receipt"),
        None,
    )
    .await;
    assert_error(s, &j, StatusCode::NOT_FOUND, "not_found");
    let (s, j) = call(&h.app, "GET", "/v1/transactions/12/receipt", None).await;
    assert_error(s, &j, StatusCode::BAD_REQUEST, "invalid_hash");
}

/// On an intl chain, a writer with an ECDSA P-256 certificate submits evidence (admission,
/// execution, receipts), and a reader with a P-256 certificate makes a signed read that
/// discloses its organisation's metadata.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn p256_certificates_submit_and_sign_reads_on_intl() {
    use kexin_crypto::KeyScheme;
    use kexin_types::Role;
    let suite = Suite::Intl;
    let chain = "api-reads";
    let (h, [(ca1, ca1_key), _]) = start_consortium(suite);
    let genesis = h.node.genesis().clone();
    let p256 = |name: &str, role, serial| {
        let key = SigningKey::generate_scheme(KeyScheme::EcdsaP256);
        let (from, to) = ca1.validity_ms();
        let terms = kexin_pki::Terms {
            serial,
            not_before_ms: from,
            not_after_ms: to,
        };
        let cert = kexin_pki::issue(&ca1, &ca1_key, name, role, &key.public_key(), &terms).unwrap();
        Creds {
            key,
            cert: kexin_types::CertDer(cert.der().to_vec()),
        }
    };
    let writer = p256("wendy", Role::Writer, 2);
    let reader = p256("rita", Role::Reader, 3);

    let recs = records(suite, "p256-case", 1);
    let tx = Transaction::sign_as(
        chain,
        &writer.key,
        Some((&writer.cert, true)),
        1,
        Payload::Evidence {
            records: recs.clone(),
        },
    );
    let (s, j) = call(&h.app, "POST", "/v1/transactions", Some(body(&tx))).await;
    assert_eq!(s, StatusCode::ACCEPTED, "{j}");
    let hash = tx.hash();
    wait_committed(&h.app, &hash).await;
    // The nonce route takes the P-256 key (130 hex digits) and proves its nonce.
    let pk = writer.key.public_key().to_hex();
    assert_eq!(pk.len(), 130);
    let (s, j) = call(&h.app, "GET", &format!("/v1/state/nonce/{pk}"), None).await;
    assert_eq!(s, StatusCode::OK, "{j}");
    assert!(j["value"].is_object(), "{j}");
    // A key of the other suite is refused with the code, not looked up.
    let sm2 = SigningKey::generate(Suite::Gm).public_key().to_hex();
    let (s, j) = call(&h.app, "GET", &format!("/v1/state/nonce/{sm2}"), None).await;
    assert_error(s, &j, StatusCode::BAD_REQUEST, "invalid_public_key");
    // A tampered signature is refused at admission.
    let mut bad = Transaction::sign_as(
        chain,
        &writer.key,
        Some((&writer.cert, false)),
        2,
        Payload::Evidence {
            records: records(suite, "p256-bad", 1),
        },
    );
    bad.signature.0[40] ^= 1;
    let (s, j) = call(&h.app, "POST", "/v1/transactions", Some(body(&bad))).await;
    assert_error(s, &j, StatusCode::BAD_REQUEST, "bad_signature");

    let uri = format!("/v1/transactions/{hash}/receipts");
    let (s, _, text) = get_as(&h.app, chain, &uri, Some(&reader), now_ms()).await;
    assert_eq!(s, StatusCode::OK, "{text}");
    let r: ReceiptsResponse = serde_json::from_str(&text).unwrap();
    assert_eq!(r.receipts.len(), 1);
    let v = r.receipts[0]
        .verify(&genesis)
        .expect("the receipt verifies");
    assert!(
        v.metadata_checked,
        "the P-256 reader of org1 sees org1's metadata"
    );
    assert_eq!(r.receipts[0].record, recs[0].disclosed(suite));
    // Anonymous readers do not.
    let (s, _, text) = get_as(&h.app, chain, &uri, None, now_ms()).await;
    assert_eq!(s, StatusCode::OK, "{text}");
    assert!(!text.contains("p256-case"), "{text}");
    // A signed read whose signature is not the reader's is refused.
    let stranger = Creds {
        key: SigningKey::generate_scheme(KeyScheme::EcdsaP256),
        cert: reader.cert.clone(),
    };
    let (s, _, text) = get_as(&h.app, chain, &uri, Some(&stranger), now_ms()).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_answer_tells_browsers_not_to_sniff() {
    let h = start(Suite::Intl);
    for (method, uri) in [
        ("GET", "/v1/health"),
        ("GET", "/v1/chain"),
        ("GET", "/v1/blocks/999999"),
        ("GET", "/v1/no-such-route"),
        ("POST", "/v1/transactions"),
        ("GET", "/metrics"),
        ("GET", "/"),
    ] {
        let req = Request::builder()
            .method(method)
            .uri(uri)
            .body(Body::empty())
            .unwrap();
        let resp = h.app.clone().oneshot(req).await.unwrap();
        assert_eq!(
            resp.headers()
                .get("x-content-type-options")
                .map(|v| v.to_str().unwrap()),
            Some("nosniff"),
            "{method} {uri}: {}",
            resp.status()
        );
    }
}
