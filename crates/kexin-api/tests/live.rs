//! The live routes in process: block and transaction lists with their cursors, throughput
//! stats, validators online, readiness, Prometheus metrics and the event stream with resume.

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
use kexin_types::{Encode, EvidenceRecord, Payload, Transaction};
use serde_json::Value;
use tower::ServiceExt as _;

/// Fields drop in order: the node stops before its directory goes.
struct Harness {
    app: Router,
    node: Arc<Node>,
    _dir: tempfile::TempDir,
}

/// A one-node chain with fast blocks.
fn start(suite: Suite) -> Harness {
    start_with(suite, |_| {})
}

/// A one-node chain with fast blocks, its genesis edited by `edit` first.
fn start_with(suite: Suite, edit: impl FnOnce(&mut kexin_types::Genesis)) -> Harness {
    let (node, dir) = common::one_node(suite, "live-test", edit);
    let app = kexin_api::router(node.clone());
    Harness {
        app,
        node,
        _dir: dir,
    }
}

async fn get(app: &Router, uri: &str) -> (StatusCode, Value) {
    let resp = app
        .clone()
        .oneshot(Request::get(uri).body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = resp.status();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    let json = serde_json::from_slice(&bytes)
        .unwrap_or_else(|_| panic!("GET {uri}: not JSON: {}", String::from_utf8_lossy(&bytes)));
    (status, json)
}

async fn get_as<T: serde::de::DeserializeOwned>(app: &Router, uri: &str) -> T {
    let (status, json) = get(app, uri).await;
    assert_eq!(status, StatusCode::OK, "GET {uri}: {json}");
    serde_json::from_value(json).unwrap()
}

fn assert_error(status: StatusCode, json: &Value, want: StatusCode, code: &str) {
    assert_eq!(status, want, "{json}");
    assert_eq!(json["code"], code, "{json}");
    assert!(json["message"].as_str().is_some_and(|m| !m.is_empty()));
}

fn evidence(suite: Suite, key: &SigningKey, nonce: u64, n: usize) -> Transaction {
    let records = (0..n)
        .map(|i| EvidenceRecord {
            digest: suite.hash(format!("live-{nonce}-{i}").as_bytes()),
            metadata: kexin_types::RecordMetadata {
                salt: kexin_types::Salt([9; 16]),
                content_type: "text/plain".into(),
                label: format!("doc-{nonce}-{i}"),
                external_ref: None,
            },
        })
        .collect();
    Transaction::sign("live-test", key, nonce, Payload::Evidence { records })
}

async fn submit(app: &Router, tx: &Transaction) -> (StatusCode, Value) {
    let body = serde_json::to_string(&SubmitRequest {
        tx: hex::encode(tx.encode()),
    })
    .unwrap();
    let resp = app
        .clone()
        .oneshot(
            Request::post("/v1/transactions")
                .header("content-type", "application/json")
                .body(Body::from(body))
                .unwrap(),
        )
        .await
        .unwrap();
    let status = resp.status();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    (status, serde_json::from_slice(&bytes).unwrap())
}

async fn wait_committed(app: &Router, hash: &Hash) -> u64 {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (_, json) = get(app, &format!("/v1/transactions/{hash}/status")).await;
        if json["status"] == "committed" {
            return json["height"].as_u64().unwrap();
        }
        assert!(Instant::now() < deadline, "{hash} not committed: {json}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Commits three evidence transactions (1, 2 and 3 records); returns their hashes and heights.
async fn commit_three(h: &Harness, suite: Suite) -> Vec<(Hash, u64)> {
    let key = SigningKey::generate(suite);
    let mut out = Vec::new();
    for nonce in 1..=3 {
        let tx = evidence(suite, &key, nonce, nonce as usize);
        let (status, json) = submit(&h.app, &tx).await;
        assert_eq!(status, StatusCode::ACCEPTED, "{json}");
        let hash = Hash::from_hex(json["hash"].as_str().unwrap()).unwrap();
        let height = wait_committed(&h.app, &hash).await;
        out.push((hash, height));
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn block_and_transaction_lists_page_newest_first_to_the_end() {
    let suite = Suite::Intl;
    let h = start(suite);
    let committed = commit_three(&h, suite).await;
    let height = h.node.ledger().height();

    // Blocks, one per page, down to block 1.
    let mut seen = Vec::new();
    let mut uri = "/v1/blocks?limit=1".to_owned();
    loop {
        let page: BlockListResponse = get_as(&h.app, &uri).await;
        assert!(page.blocks.len() <= 1);
        for b in &page.blocks {
            let (block, _) = h.node.ledger().block(b.height).unwrap().unwrap();
            assert_eq!(b.hash, block.header.hash(suite));
            assert_eq!(b.tx_count, block.header.tx_count);
            assert_eq!(b.proposer, block.header.proposer);
            assert_eq!(b.proposer_name.as_deref(), Some("node0"));
        }
        seen.extend(page.blocks.iter().map(|b| b.height));
        match page.next_cursor {
            Some(c) => uri = format!("/v1/blocks?limit=1&cursor={c}"),
            None => break,
        }
    }
    assert_eq!(seen, (1..=height).rev().collect::<Vec<_>>());
    let all: BlockListResponse = get_as(&h.app, "/v1/blocks?limit=100").await;
    let records: u64 = all.blocks.iter().map(|b| b.records).sum();
    assert_eq!(records, 1 + 2 + 3);

    // Transactions, two per page: newest first, each with its block and kind.
    let mut txs = Vec::new();
    let mut uri = "/v1/transactions?limit=2".to_owned();
    loop {
        let page: TxListResponse = get_as(&h.app, &uri).await;
        assert!(page.transactions.len() <= 2);
        txs.extend(page.transactions);
        match page.next_cursor {
            Some(c) => uri = format!("/v1/transactions?limit=2&cursor={c}"),
            None => break,
        }
    }
    let want: Vec<(Hash, u64)> = committed.iter().rev().copied().collect();
    let got: Vec<(Hash, u64)> = txs.iter().map(|t| (t.hash, t.height)).collect();
    assert_eq!(got, want);
    assert!(txs.iter().all(|t| t.kind == "evidence"));
    assert_eq!(
        txs.iter().map(|t| t.records).collect::<Vec<_>>(),
        vec![3, 2, 1]
    );

    // Bad pages are refused.
    for bad in [
        "/v1/blocks?limit=0",
        "/v1/blocks?limit=101",
        "/v1/blocks?limit=abc",
        "/v1/blocks?cursor=x",
        "/v1/blocks?page=2",
        "/v1/transactions?limit=1000000",
        "/v1/transactions?cursor=5",
        "/v1/transactions?cursor=a.b",
    ] {
        let (status, json) = get(&h.app, bad).await;
        assert_error(status, &json, StatusCode::BAD_REQUEST, "invalid_query");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stats_validators_health_and_metrics_report_what_happened() {
    let suite = Suite::Gm;
    let h = start(suite);
    commit_three(&h, suite).await;
    let height = h.node.ledger().height();

    let stats: StatsResponse = get_as(&h.app, "/v1/stats?window_s=600&bucket_s=60").await;
    assert_eq!(stats.buckets.len(), 10);
    assert_eq!(stats.records, 6);
    assert_eq!(stats.transactions, 3);
    assert_eq!(
        stats.blocks,
        stats.buckets.iter().map(|b| b.blocks).sum::<u64>()
    );
    assert!(stats.blocks >= 1 && stats.blocks <= height);
    assert!(!stats.truncated);
    for w in stats.buckets.windows(2) {
        assert_eq!(w[1].start_ms - w[0].start_ms, 60_000);
    }
    for bad in [
        "/v1/stats?window_s=0",
        "/v1/stats?window_s=999999",
        "/v1/stats?window_s=300&bucket_s=7",
        "/v1/stats?window_s=3600&bucket_s=1",
        "/v1/stats?bucket_s=0",
    ] {
        let (status, json) = get(&h.app, bad).await;
        assert_error(status, &json, StatusCode::BAD_REQUEST, "invalid_query");
    }

    let v: ValidatorsResponse = get_as(&h.app, "/v1/validators").await;
    assert_eq!((v.online, v.total, v.quorum), (1, 1, 1));
    assert!(v.validators[0].is_self && v.validators[0].online);
    assert_eq!(
        v.validators[0].public_key,
        h.node.genesis().validators[0].public_key
    );

    let health: HealthResponse = get_as(&h.app, "/v1/health").await;
    assert!(health.ready, "{:?}", health.reasons);
    assert!(health.reasons.is_empty());
    assert_eq!((health.validators_online, health.validators_total), (1, 1));
    let ready: HealthResponse = get_as(&h.app, "/v1/health/ready").await;
    assert!(ready.ready);

    // A replay is refused and counted by its code.
    let key = SigningKey::generate(suite);
    let tx = evidence(suite, &key, 1, 1);
    assert_eq!(submit(&h.app, &tx).await.0, StatusCode::ACCEPTED);
    let hash = tx_hash(&tx);
    wait_committed(&h.app, &hash).await;
    let (status, json) = submit(&h.app, &tx).await;
    assert_eq!(status, StatusCode::CONFLICT, "{json}");
    let code = json["code"].as_str().unwrap().to_owned();

    let resp = h
        .app
        .clone()
        .oneshot(Request::get("/metrics").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let ctype = resp.headers()["content-type"].to_str().unwrap().to_owned();
    assert!(ctype.starts_with("application/openmetrics-text"), "{ctype}");
    let text = String::from_utf8(
        resp.into_body()
            .collect()
            .await
            .unwrap()
            .to_bytes()
            .to_vec(),
    )
    .unwrap();
    let value = |series: &str| -> f64 {
        text.lines()
            .find(|l| l.starts_with(series) && l[series.len()..].starts_with(' '))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no {series} in\n{text}"))
    };
    assert_eq!(value("kexin_height"), h.node.ledger().height() as f64);
    assert_eq!(value("kexin_tx_accepted_total"), 4.0);
    assert_eq!(
        value(&format!("kexin_tx_rejected_total{{code=\"{code}\"}}")),
        1.0
    );
    assert_eq!(value("kexin_records_committed_total"), 7.0);
    assert_eq!(value("kexin_transactions_committed_total"), 4.0);
    assert!(value("kexin_finalization_latency_seconds_count") >= 1.0);
    assert_eq!(value("kexin_validators_online"), 1.0);
    assert_eq!(value("kexin_validators"), 1.0);
    assert_eq!(value("kexin_ready"), 1.0);
    assert_eq!(value("kexin_mempool_transactions"), 0.0);
    assert!(value("kexin_storage_bytes") > 0.0);
    // A chain without organisations has no certificates to expire.
    assert!(!text.contains("kexin_cert_expiry_min_seconds{}"), "{text}");
    assert!(text.ends_with("# EOF\n"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_report_how_long_each_certificate_has_left() {
    let suite = Suite::Intl;
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
    let id = kexin_types::CertDer(ca.der().to_vec()).id(suite);
    let h = start_with(suite, |genesis| {
        genesis.organisations = vec![kexin_types::Organisation {
            name: "org1".into(),
            ca_certs: vec![kexin_types::CertDer(ca.der().to_vec())],
        }];
        genesis.validators[0].org = "org1".into();
    });
    let text = h.node.metrics_text().unwrap();
    let series = format!(
        "kexin_cert_expiry_seconds{{kind=\"ca\",org=\"org1\",name=\"org1 CA\",id=\"{id}\"}}"
    );
    let line = text
        .lines()
        .find(|l| l.starts_with(&series))
        .unwrap_or_else(|| panic!("no {series} in\n{text}"));
    let left: i64 = line.rsplit(' ').next().unwrap().parse().unwrap();
    assert!((86_000..=86_400).contains(&left), "{line}");
    assert!(
        text.contains(&format!("kexin_cert_expiry_min_seconds{{}} {left}")),
        "{text}"
    );
}

fn tx_hash(tx: &Transaction) -> Hash {
    kexin_types::SealedTx::new(tx.clone()).hash()
}

/// One parsed Server-Sent Event.
#[derive(Debug)]
struct Sse {
    event: String,
    id: Option<String>,
    data: Value,
}

/// Reads events from an SSE body until `done` says stop (or 30 s pass).
async fn read_events(body: Body, done: impl Fn(&[Sse]) -> bool) -> Vec<Sse> {
    let mut body = body;
    let mut buf = String::new();
    let mut events = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while !done(&events) {
        let left = deadline.saturating_duration_since(Instant::now());
        assert!(!left.is_zero(), "events so far: {events:?}");
        let Ok(Some(frame)) = tokio::time::timeout(left, body.frame()).await else {
            panic!("stream ended or stalled; events so far: {events:?}");
        };
        if let Ok(data) = frame.unwrap().into_data() {
            buf.push_str(std::str::from_utf8(&data).unwrap());
        }
        while let Some(end) = buf.find("\n\n") {
            let block: String = buf.drain(..end + 2).collect();
            let (mut event, mut id, mut data) = (String::new(), None, String::new());
            for line in block.lines() {
                if let Some(v) = line.strip_prefix("event: ") {
                    event = v.to_owned();
                } else if let Some(v) = line.strip_prefix("id: ") {
                    id = Some(v.to_owned());
                } else if let Some(v) = line.strip_prefix("data: ") {
                    data.push_str(v);
                }
            }
            if event.is_empty() {
                continue; // keep-alive comment
            }
            events.push(Sse {
                event,
                id,
                data: serde_json::from_str(&data).unwrap(),
            });
        }
    }
    events
}

/// The status and JSON body of a refused request.
async fn refusal(resp: axum::response::Response) -> (StatusCode, Value) {
    let status = resp.status();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    (status, serde_json::from_slice(&bytes).unwrap())
}

async fn open_events(app: &Router, uri: &str, last_id: Option<&str>) -> axum::response::Response {
    let mut req = Request::get(uri);
    if let Some(id) = last_id {
        req = req.header("last-event-id", id);
    }
    app.clone()
        .oneshot(req.body(Body::empty()).unwrap())
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_replay_from_a_height_resume_after_an_id_and_follow_new_blocks() {
    let suite = Suite::Intl;
    let h = start(suite);
    let committed = commit_three(&h, suite).await;
    let last = committed[2].1;

    // Replay from block 1: every block in order, each block's transactions before it, and
    // the id on the block event.
    let resp = open_events(&h.app, "/v1/events?from_height=1", None).await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()["content-type"], "text/event-stream");
    let events = read_events(resp.into_body(), |e| {
        e.iter()
            .any(|e| e.event == "block" && e.data["height"] == last)
    })
    .await;
    let blocks: Vec<u64> = events
        .iter()
        .filter(|e| e.event == "block")
        .map(|e| e.data["height"].as_u64().unwrap())
        .collect();
    assert_eq!(blocks, (1..=last).collect::<Vec<_>>());
    for e in &events {
        if e.event == "block" {
            assert_eq!(e.id.as_deref(), Some(e.data["height"].to_string().as_str()));
        } else {
            assert_eq!(e.id, None, "{e:?}");
        }
    }
    for (hash, height) in &committed {
        let at = events
            .iter()
            .position(|e| e.event == "transaction" && e.data["hash"] == hash.to_hex())
            .unwrap_or_else(|| panic!("no event for {hash}"));
        assert_eq!(events[at].data["height"], *height);
        assert_eq!(events[at].data["kind"], "evidence");
        let block_at = events
            .iter()
            .position(|e| e.event == "block" && e.data["height"] == *height)
            .unwrap();
        assert!(at < block_at);
    }

    // Resume after the first transaction's block: nothing at or below it again.
    let first = committed[0].1;
    let resp = open_events(&h.app, "/v1/events", Some(&first.to_string())).await;
    let events = read_events(resp.into_body(), |e| {
        e.iter()
            .any(|e| e.event == "block" && e.data["height"] == last)
    })
    .await;
    assert_eq!(events[0].data["height"], first + 1, "{events:?}");
    assert!(
        events
            .iter()
            .all(|e| e.data["height"].as_u64().unwrap() > first)
    );

    // Only blocks, following live: a new transaction's block arrives on an open stream.
    let resp = open_events(&h.app, "/v1/events?types=block", None).await;
    let key = SigningKey::generate(suite);
    let tx = evidence(suite, &key, 1, 1);
    assert_eq!(submit(&h.app, &tx).await.0, StatusCode::ACCEPTED);
    let height = wait_committed(&h.app, &tx_hash(&tx)).await;
    let events = read_events(resp.into_body(), |e| {
        e.iter().any(|e| e.data["height"].as_u64() >= Some(height))
    })
    .await;
    assert!(events.iter().all(|e| e.event == "block"));
    assert!(
        events
            .iter()
            .all(|e| e.data["height"].as_u64().unwrap() > last)
    );

    // Bad requests.
    for (uri, id) in [
        ("/v1/events?types=block,votes", None),
        ("/v1/events?from_height=-1", None),
        ("/v1/events?since=3", None),
        ("/v1/events", Some("abc")),
    ] {
        let (status, json) = refusal(open_events(&h.app, uri, id).await).await;
        assert_error(status, &json, StatusCode::BAD_REQUEST, "invalid_query");
    }
}

/// Module events (`event`) carry what each transaction did, filtered by module, topic and
/// organisation; `GET /v1/transactions/{hash}` reports the same outcome.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn module_events_are_filtered_and_match_the_transaction_outcome() {
    let suite = Suite::Intl;
    let h = start(suite);
    let committed = commit_three(&h, suite).await;
    let last = committed[2].1;
    let uri = "/v1/events?from_height=1&module=evidence&topic=records_attested";
    let resp = open_events(&h.app, uri, None).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let events = read_events(resp.into_body(), |e| {
        e.iter().any(|e| e.data["height"].as_u64() == Some(last))
    })
    .await;
    assert!(events.iter().all(|e| e.event == "event"), "{events:?}");
    for (hash, height) in &committed {
        let e = events
            .iter()
            .find(|e| e.data["tx_hash"] == hash.to_hex())
            .unwrap_or_else(|| panic!("no module event for {hash}: {events:?}"));
        assert_eq!(e.data["height"], *height);
        assert_eq!(e.data["module"], "evidence");
        assert_eq!(e.data["topic"], "records_attested");
        // The transaction's outcome says the same.
        let (status, tx) = get(&h.app, &format!("/v1/transactions/{hash}")).await;
        assert_eq!(status, StatusCode::OK);
        let outcome = &tx["outcome"];
        assert_eq!(outcome["status"], "success", "{tx}");
        assert_eq!(
            outcome["committed"], true,
            "a version 4 block's header commits to its outcomes"
        );
        assert!(outcome["cost"].as_u64().unwrap() >= 11);
        assert_eq!(outcome["events"][0]["attributes"], e.data["attributes"]);
        assert_eq!(
            e.data["attributes"]["count"],
            tx["transaction"]["payload"]["records"]
                .as_array()
                .unwrap()
                .len()
                .to_string()
        );
    }
    // A filter that matches nothing sends no module event; the stream stays open.
    let resp = open_events(&h.app, "/v1/events?from_height=1&module=governance", None).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let mut body = resp.into_body();
    let nothing = tokio::time::timeout(Duration::from_millis(500), body.frame()).await;
    assert!(nothing.is_err(), "no event matches module=governance");
    // Filters need module events.
    for uri in [
        "/v1/events?types=block&module=evidence",
        "/v1/events?module=",
        "/v1/events?types=event,bogus",
    ] {
        let (status, json) = refusal(open_events(&h.app, uri, None).await).await;
        assert_error(status, &json, StatusCode::BAD_REQUEST, "invalid_query");
    }
    // A contract filter alone means contract logs alone: these blocks have none, so nothing
    // is sent (no block events either).
    let contract = "0x00000000000000000000000000000000000000aa";
    let resp = open_events(
        &h.app,
        &format!("/v1/events?from_height=1&contract={contract}"),
        None,
    )
    .await;
    assert_eq!(resp.status(), StatusCode::OK);
    let mut body = resp.into_body();
    let nothing = tokio::time::timeout(Duration::from_millis(500), body.frame()).await;
    assert!(
        nothing.is_err(),
        "no contract log in these blocks: {nothing:?}"
    );
    // Bad contract and topic0 filters, and filters without their event type.
    let topic = "ab".repeat(32);
    for (uri, says) in [
        ("/v1/events?contract=0x12".to_owned(), "contract must be"),
        ("/v1/events?contract=xyz".to_owned(), "contract must be"),
        (
            format!("/v1/events?topic0=0x{}", &topic[1..]),
            "topic0 must be",
        ),
        ("/v1/events?topic0=0xzz".to_owned(), "topic0 must be"),
        (
            format!("/v1/events?types=block&contract={contract}"),
            "add log to types",
        ),
        (
            format!("/v1/events?types=event&topic0={topic}"),
            "add log to types",
        ),
    ] {
        let (status, json) = refusal(open_events(&h.app, &uri, None).await).await;
        assert_error(status, &json, StatusCode::BAD_REQUEST, "invalid_query");
        assert!(
            json["message"].as_str().unwrap().contains(says),
            "{uri}: {json}"
        );
    }
    // The contract log page refuses bad ranges and values.
    for uri in [
        format!("/v1/contracts/{contract}/events?from_height=3&to_height=2"),
        format!("/v1/contracts/{contract}/events?from_height=0"),
        format!("/v1/contracts/{contract}/events?limit=1001"),
        format!("/v1/contracts/{contract}/events?topic0=12"),
        format!("/v1/contracts/{contract}/events?height=2"),
    ] {
        let (status, json) = get(&h.app, &uri).await;
        assert_error(status, &json, StatusCode::BAD_REQUEST, "invalid_query");
    }
    let (status, json) = get(&h.app, "/v1/contracts/0x12/events").await;
    assert_error(status, &json, StatusCode::BAD_REQUEST, "invalid_address");
    // A range past the head scans nothing; one from 1 scans to the head.
    let page = get_as::<Value>(
        &h.app,
        &format!("/v1/contracts/{contract}/events?from_height={}", last + 100),
    )
    .await;
    assert_eq!(page["logs"], serde_json::json!([]), "{page}");
    assert!(page.get("next_from_height").is_none(), "{page}");
    let page = get_as::<Value>(&h.app, &format!("/v1/contracts/{contract}/events")).await;
    assert_eq!(page["from_height"], 1, "{page}");
    assert!(page["to_height"].as_u64().unwrap() >= last, "{page}");

    // A contract that logs: its deployment emits topic A (no data) then topic B (the word
    // 42); each call of it emits topic A. Topic A is the hash of `Poked()`, an event of the
    // ABI published with the deployment; topic B is no event of it.
    let (a, b) = (kexin_evm::keccak256(b"Poked()").0, [0xbb; 32]);
    let abi = r#"[{"type":"function","name":"poke","inputs":[{"name":"n","type":"uint256"}],"outputs":[],"stateMutability":"nonpayable"},{"type":"event","name":"Poked","inputs":[],"anonymous":false}]"#;
    let log1 = |topic: [u8; 32], word: Option<u8>| {
        let mut c = Vec::new();
        if let Some(w) = word {
            c.extend([0x60, w, 0x60, 0x00, 0x52]); // MSTORE(0, w)
        }
        c.push(0x7f); // PUSH32 topic
        c.extend(topic);
        c.extend([
            0x60,
            if word.is_some() { 0x20 } else { 0 },
            0x60,
            0x00,
            0xa1,
        ]); // LOG1
        c
    };
    let mut runtime = log1(a, None);
    runtime.push(0x00);
    let mut init = log1(a, None);
    init.extend(log1(b, Some(0x2a)));
    let offset = (init.len() + 11) as u8;
    // CODECOPY(0, offset, len); RETURN(0, len)
    init.extend([
        0x60,
        runtime.len() as u8,
        0x80,
        0x60,
        offset,
        0x60,
        0x00,
        0x39,
    ]);
    init.extend([0x60, 0x00, 0xf3]);
    init.extend(&runtime);
    let key = SigningKey::generate(suite);
    let deploy = Transaction::sign(
        "live-test",
        &key,
        1,
        Payload::ContractDeploy {
            gas_limit: 200_000,
            code: init,
            abi: Some(abi.into()),
        },
    );
    let (status, json) = submit(&h.app, &deploy).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{json}");
    let deployed_at = wait_committed(&h.app, &tx_hash(&deploy)).await;
    let (_, tx) = get(&h.app, &format!("/v1/transactions/{}", tx_hash(&deploy))).await;
    assert_eq!(tx["outcome"]["status"], "success", "{tx}");
    let address = tx["outcome"]["return_data"].as_str().unwrap().to_owned();
    let call = Transaction::sign(
        "live-test",
        &key,
        2,
        Payload::ContractCall {
            contract: address.parse().unwrap(),
            gas_limit: 100_000,
            // poke(7): the runtime ignores its calldata.
            input: [
                &kexin_evm::keccak256(b"poke(uint256)")[..4],
                &[0u8; 31][..],
                &[7u8][..],
            ]
            .concat(),
        },
    );
    let (status, json) = submit(&h.app, &call).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{json}");
    let called_at = wait_committed(&h.app, &tx_hash(&call)).await;
    assert!(called_at > deployed_at);
    let (a_hex, b_hex) = (hex::encode(a), hex::encode(b));
    let word = format!("0x{}2a", "0".repeat(62));
    // The stream, filtered by contract: its three logs, nothing else.
    let logs_of = |events: &[Sse]| events.iter().filter(|e| e.event == "log").count();
    let resp = open_events(
        &h.app,
        &format!("/v1/events?from_height=1&contract={address}"),
        None,
    )
    .await;
    assert_eq!(resp.status(), StatusCode::OK);
    let events = read_events(resp.into_body(), |e| logs_of(e) == 3).await;
    assert!(events.iter().all(|e| e.event == "log"), "{events:?}");
    let (first, second, third) = (&events[0].data, &events[1].data, &events[2].data);
    assert_eq!(first["tx_hash"], tx_hash(&deploy).to_hex(), "{first}");
    assert_eq!(first["height"], deployed_at, "{first}");
    assert_eq!(first["log_index"], 0, "{first}");
    assert_eq!(first["contract"], address, "{first}");
    assert_eq!(first["topics"], serde_json::json!([a_hex]), "{first}");
    assert_eq!(first["data"], "0x", "{first}");
    assert_eq!(second["log_index"], 1, "{second}");
    assert_eq!(second["topics"], serde_json::json!([b_hex]), "{second}");
    assert_eq!(second["data"], word, "{second}");
    assert_eq!(third["tx_hash"], tx_hash(&call).to_hex(), "{third}");
    assert_eq!(third["height"], called_at, "{third}");
    assert_eq!(third["tx_index"], 0, "{third}");
    // The last event of a block carries its height for resuming.
    assert_eq!(events[1].id, Some(deployed_at.to_string()));
    // By topic0 (0x optional), with block events asked for too.
    let resp = open_events(
        &h.app,
        &format!("/v1/events?from_height={deployed_at}&types=log,block&topic0=0x{b_hex}"),
        None,
    )
    .await;
    let events = read_events(resp.into_body(), |e| {
        e.iter()
            .any(|e| e.event == "block" && e.data["height"] == called_at)
    })
    .await;
    let logs: Vec<_> = events.iter().filter(|e| e.event == "log").collect();
    assert_eq!(logs.len(), 1, "{events:?}");
    assert_eq!(logs[0].data["topics"][0], b_hex);
    assert!(events.iter().any(|e| e.event == "block"));
    // The page: the same logs, filtered and paged at block boundaries.
    let page = get_as::<Value>(&h.app, &format!("/v1/contracts/{address}/events")).await;
    let logs = page["logs"].as_array().unwrap();
    assert_eq!(logs.len(), 3, "{page}");
    // Decoded with the published ABI where it can (the stream does not decode).
    let undecoded = |l: &Value| {
        let mut l = l.clone();
        l.as_object_mut().unwrap().remove("decoded");
        l
    };
    assert_eq!(&undecoded(&logs[0]), first);
    assert_eq!(&undecoded(&logs[1]), second);
    assert_eq!(&undecoded(&logs[2]), third);
    assert_eq!(logs[0]["decoded"]["event"], "Poked", "{page}");
    assert_eq!(logs[0]["decoded"]["signature"], "Poked()", "{page}");
    assert!(
        logs[1].get("decoded").is_none(),
        "topic B is no event: {page}"
    );
    assert_eq!(logs[2]["decoded"]["event"], "Poked", "{page}");
    let page = get_as::<Value>(
        &h.app,
        &format!("/v1/contracts/{address}/events?topic0={a_hex}"),
    )
    .await;
    assert_eq!(page["logs"].as_array().unwrap().len(), 2, "{page}");
    // limit=1: the deployment's block is answered whole (two logs), the call's comes next.
    let page = get_as::<Value>(&h.app, &format!("/v1/contracts/{address}/events?limit=1")).await;
    assert_eq!(page["logs"].as_array().unwrap().len(), 2, "{page}");
    assert_eq!(page["next_from_height"], called_at, "{page}");
    assert_eq!(page["to_height"], called_at - 1, "{page}");
    let page = get_as::<Value>(
        &h.app,
        &format!("/v1/contracts/{address}/events?limit=1&from_height={called_at}"),
    )
    .await;
    assert_eq!(page["logs"].as_array().unwrap().len(), 1, "{page}");
    assert!(page.get("next_from_height").is_none(), "{page}");
    let page = get_as::<Value>(
        &h.app,
        &format!("/v1/contracts/{address}/events?to_height={deployed_at}"),
    )
    .await;
    assert_eq!(page["logs"].as_array().unwrap().len(), 2, "{page}");
    assert_eq!(page["to_height"], deployed_at, "{page}");

    // The contract: its deployment, deployer and published ABI.
    let c = get_as::<Value>(&h.app, &format!("/v1/contracts/{address}")).await;
    assert_eq!(c["deploy_tx"], tx_hash(&deploy).to_hex(), "{c}");
    let deployer =
        kexin_types::ContractAddress(kexin_evm::address_of(suite, &key.public_key()).0.0)
            .to_string();
    assert_eq!(c["deployer"], deployer, "{c}");
    assert_eq!(c["abi"], serde_json::from_str::<Value>(abi).unwrap(), "{c}");
    // Its transactions, newest first, the call decoded.
    let page = get_as::<Value>(&h.app, &format!("/v1/contracts/{address}/transactions")).await;
    let txs = page["transactions"].as_array().unwrap();
    assert_eq!(txs.len(), 2, "{page}");
    assert_eq!(txs[0]["tx_hash"], tx_hash(&call).to_hex(), "{page}");
    assert_eq!(txs[0]["kind"], "contract_call", "{page}");
    assert_eq!(txs[0]["height"], called_at, "{page}");
    assert_eq!(txs[0]["status"], "success", "{page}");
    assert_eq!(txs[0]["from"], deployer, "{page}");
    assert_eq!(txs[0]["call"]["signature"], "poke(uint256)", "{page}");
    assert_eq!(
        txs[0]["call"]["args"],
        serde_json::json!([{"name": "n", "type": "uint256", "value": "7"}]),
        "{page}"
    );
    assert_eq!(
        txs[0]["selector"],
        format!(
            "0x{}",
            hex::encode(&kexin_evm::keccak256(b"poke(uint256)")[..4])
        )
    );
    assert_eq!(txs[1]["tx_hash"], tx_hash(&deploy).to_hex(), "{page}");
    assert_eq!(txs[1]["kind"], "contract_deploy", "{page}");
    assert!(txs[1]["gas_used"].as_u64().unwrap() > 0, "{page}");
    assert!(page.get("next_before").is_none(), "{page}");
    // Paged: one a page, continued with `before`.
    let first_page = get_as::<Value>(
        &h.app,
        &format!("/v1/contracts/{address}/transactions?limit=1"),
    )
    .await;
    assert_eq!(first_page["transactions"][0], txs[0], "{first_page}");
    let before = first_page["next_before"].as_u64().unwrap();
    let rest = get_as::<Value>(
        &h.app,
        &format!("/v1/contracts/{address}/transactions?limit=1&before={before}"),
    )
    .await;
    assert_eq!(rest["transactions"][0], txs[1], "{rest}");
    for uri in [
        format!("/v1/contracts/{address}/transactions?limit=0"),
        format!("/v1/contracts/{address}/transactions?limit=201"),
        format!("/v1/contracts/{address}/transactions?after=3"),
    ] {
        let (status, json) = get(&h.app, &uri).await;
        assert_error(status, &json, StatusCode::BAD_REQUEST, "invalid_query");
    }
    let (status, json) = get(&h.app, "/v1/contracts/0x12/transactions").await;
    assert_error(status, &json, StatusCode::BAD_REQUEST, "invalid_address");
    // An address nothing deployed or called: an empty page.
    let none = get_as::<Value>(
        &h.app,
        &format!("/v1/contracts/0x{}/transactions", "42".repeat(20)),
    )
    .await;
    assert_eq!(none["transactions"], serde_json::json!([]), "{none}");
    // The transactions themselves, decoded.
    let tx = get_as::<Value>(&h.app, &format!("/v1/transactions/{}", tx_hash(&call))).await;
    assert_eq!(tx["decoded"]["call"]["function"], "poke", "{tx}");
    assert_eq!(tx["decoded"]["logs"][0]["event"], "Poked", "{tx}");
    let tx = get_as::<Value>(&h.app, &format!("/v1/transactions/{}", tx_hash(&deploy))).await;
    assert!(tx["decoded"].get("call").is_none(), "{tx}");
    assert_eq!(tx["decoded"]["logs"][0]["event"], "Poked", "{tx}");
    assert_eq!(tx["decoded"]["logs"][1], Value::Null, "{tx}");
    assert_eq!(tx["transaction"]["payload"]["abi"], abi, "{tx}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn event_streams_are_limited_and_free_their_slot_when_closed() {
    let h = start(Suite::Intl);
    let mut open = Vec::new();
    for _ in 0..kexin_api::MAX_SUBSCRIBERS {
        let resp = open_events(&h.app, "/v1/events", None).await;
        assert_eq!(resp.status(), StatusCode::OK);
        open.push(resp);
    }
    let resp = open_events(&h.app, "/v1/events", None).await;
    let status = resp.status();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    let json: Value = serde_json::from_slice(&bytes).unwrap();
    assert_error(
        status,
        &json,
        StatusCode::SERVICE_UNAVAILABLE,
        "too_many_subscribers",
    );
    drop(open.pop());
    let resp = open_events(&h.app, "/v1/events", None).await;
    assert_eq!(resp.status(), StatusCode::OK);
}

/// A log writer that keeps what is written, for checking log levels.
#[derive(Clone, Default)]
struct Captured(Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

/// `GET /v1/events` from the peer `ip`, as the server sees a connection from it.
async fn open_events_from(app: &Router, ip: [u8; 4]) -> axum::response::Response {
    let mut req = Request::get("/v1/events").body(Body::empty()).unwrap();
    req.extensions_mut()
        .insert(axum::extract::ConnectInfo(std::net::SocketAddr::from((
            ip, 40_000,
        ))));
    app.clone().oneshot(req).await.unwrap()
}

#[tokio::test(flavor = "current_thread")]
async fn one_client_cannot_take_every_event_stream() {
    let h = start(Suite::Intl);
    let logs = Captured::default();
    let writer = logs.clone();
    let _log = tracing::subscriber::set_default(
        tracing_subscriber::fmt()
            .with_max_level(tracing::Level::DEBUG)
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish(),
    );
    let greedy = [10, 0, 0, 1];
    let mut open = Vec::new();
    for _ in 0..kexin_api::MAX_SUBSCRIBERS_PER_CLIENT {
        let resp = open_events_from(&h.app, greedy).await;
        assert_eq!(resp.status(), StatusCode::OK);
        open.push(resp);
    }
    // One more from the same address: 429, logged as a warning.
    let resp = open_events_from(&h.app, greedy).await;
    let status = resp.status();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    let json: Value = serde_json::from_slice(&bytes).unwrap();
    assert_error(
        status,
        &json,
        StatusCode::TOO_MANY_REQUESTS,
        "too_many_subscribers",
    );
    assert!(
        json["message"].as_str().unwrap().contains("10.0.0.1"),
        "{json}"
    );
    let text = logs.text();
    assert!(
        text.lines()
            .any(|l| l.contains("WARN") && l.contains("event stream refused")),
        "{text}"
    );
    assert!(!text.contains("ERROR"), "{text}");
    // Another client is served, and the greedy one again once it closes a stream.
    let other = open_events_from(&h.app, [10, 0, 0, 2]).await;
    assert_eq!(other.status(), StatusCode::OK);
    drop(open.pop());
    let resp = open_events_from(&h.app, greedy).await;
    assert_eq!(resp.status(), StatusCode::OK);
    open.push(resp);

    // The node's own limit: its refusal is a warning too, not an error.
    let mut more = Vec::new();
    let mut ip = 0u32;
    loop {
        ip += 1;
        let [a, b, c, d] = (0x0b00_0000 + ip / 8).to_be_bytes();
        let resp = open_events_from(&h.app, [a, b, c, d]).await;
        if resp.status() != StatusCode::OK {
            let status = resp.status();
            let bytes = resp.into_body().collect().await.unwrap().to_bytes();
            let json: Value = serde_json::from_slice(&bytes).unwrap();
            assert_error(
                status,
                &json,
                StatusCode::SERVICE_UNAVAILABLE,
                "too_many_subscribers",
            );
            break;
        }
        more.push(resp);
    }
    assert_eq!(
        open.len() + 1 + more.len(),
        kexin_api::MAX_SUBSCRIBERS,
        "every slot was taken before the refusal"
    );
    let text = logs.text();
    assert!(!text.contains("ERROR"), "{text}");
    assert!(
        text.lines()
            .any(|l| l.contains("WARN") && l.contains("too_many_subscribers")),
        "{text}"
    );
}
