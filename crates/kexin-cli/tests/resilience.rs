//! A node that cannot die silently: API clients cannot exhaust its file descriptors, and a
//! node whose consensus engine stops turns unready, reports its pending transactions as
//! dropped and exits non-zero (so a supervisor restarts it).

mod common;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use common::*;
use kexin_client::{Client, evidence_record, load_key, sign_evidence};
use kexin_crypto::SigningKey;
use kexin_types::Genesis;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn chain_id(node: &TestNode) -> String {
    let text = std::fs::read_to_string(node.genesis()).unwrap();
    Genesis::from_json(&text).unwrap().chain_id
}

/// Submits one evidence transaction with `nonce`; its hash.
async fn submit(
    client: &Client,
    chain: &str,
    key: &SigningKey,
    nonce: u64,
    label: &str,
) -> kexin_crypto::Hash {
    let digest = key
        .suite()
        .hash(format!("resilience {label} {}", key.public_key()).as_bytes());
    let record = evidence_record(digest, label.to_owned(), "text/plain").unwrap();
    let tx = sign_evidence(chain, key, nonce, vec![record]);
    client.submit(&tx).await.expect("submitted").hash
}

/// Raises this test process's own soft open-file limit to its hard limit; the result.
fn raise_own_limit() -> u64 {
    use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
    let l = getrlimit(Resource::Nofile);
    let _ = setrlimit(
        Resource::Nofile,
        Rlimit {
            current: l.maximum,
            maximum: l.maximum,
        },
    );
    getrlimit(Resource::Nofile).current.unwrap_or(u64::MAX)
}

/// Opens a connection to `to` from the loopback address 127.0.0.2 (another client IP than
/// the honest client's 127.0.0.1).
async fn connect_from_other_client(to: SocketAddr) -> std::io::Result<tokio::net::TcpStream> {
    let socket = tokio::net::TcpSocket::new_v4()?;
    socket.bind("127.0.0.2:0".parse().unwrap())?;
    tokio::time::timeout(Duration::from_secs(5), socket.connect(to))
        .await
        .map_err(|_| std::io::Error::other("connect timed out"))?
}

/// With the common open-file limit of 1024, a client holding a thousand idle connections to
/// the API used to exhaust the node's descriptors and kill its consensus engine. Now the
/// API bounds them, and the node keeps finalizing what an honest client submits.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_connections_cannot_exhaust_descriptors() {
    let own = raise_own_limit();
    let mut node = TestNode::init("intl");
    node.nofile = Some(1024);
    node.start().await;
    let addr: SocketAddr = node.url.trim_start_matches("http://").parse().unwrap();

    // The hostile client: up to 1000 idle connections, held open.
    let want = 1000.min(own.saturating_sub(200) as usize);
    assert!(
        want >= 600,
        "this test needs ~1200 descriptors; the hard limit is {own}"
    );
    let mut held = Vec::new();
    for _ in 0..want {
        match connect_from_other_client(addr).await {
            Ok(s) => held.push(s),
            Err(e) => panic!("connect failed after {} connections: {e}", held.len()),
        }
    }
    // Over the per-client cap (32 by default), connections are answered 429 and closed.
    let mut refused = 0;
    let mut open = 0;
    for s in held.iter_mut().rev().take(64) {
        let mut buf = vec![0u8; 512];
        match tokio::time::timeout(Duration::from_millis(500), s.read(&mut buf)).await {
            Ok(Ok(n)) if n > 0 => {
                let text = String::from_utf8_lossy(&buf[..n]);
                assert!(text.starts_with("HTTP/1.1 429"), "{text}");
                assert!(text.contains("\"too_many_connections\""), "{text}");
                refused += 1;
            }
            Ok(_) => refused += 1, // closed after the answer was read by the kernel
            Err(_) => open += 1,   // still open and idle: within the cap
        }
    }
    assert!(refused >= 32, "refused {refused}, open {open}");

    // The honest client is served and its transactions are finalized.
    let client = Client::new(&node.url).unwrap();
    let key = load_key(node.client_key()).unwrap();
    let chain = chain_id(&node);
    let height = || async {
        match client.checkpoint().await {
            Ok(c) => c.header.height,
            Err(e) if e.is_not_found() => 0,
            Err(e) => panic!("{e}"),
        }
    };
    let start = height().await;
    let mut nonce = client.next_nonce(&key.public_key()).await.unwrap();
    for i in 0..3 {
        let h = submit(&client, &chain, &key, nonce, &format!("honest {i}")).await;
        nonce += 1;
        client
            .wait_committed(&h, Duration::from_secs(30))
            .await
            .expect("committed while the connections are held");
    }
    let end = height().await;
    assert!(end > start, "height {start} -> {end}");
    let health = reqwest::get(format!("{}/v1/health/ready", node.url))
        .await
        .unwrap();
    assert_eq!(health.status(), 200, "{}", health.text().await.unwrap());
    drop(held);
    let log = node.log();
    assert!(!log.contains("Too many open files"), "{}", tail(&log, 40));
    assert!(!log.contains("panicked"), "{}", tail(&log, 40));
    assert!(
        log.contains("refused an API connection: too many from this client"),
        "{}",
        tail(&log, 40)
    );
}

/// Slow or malformed requests are cut off by the HTTP layer with JSON errors.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_http_layer_refuses_with_json_and_times_out_slow_clients() {
    let mut node = TestNode::init("intl");
    let config = node.dir.join("config.toml");
    let mut text = std::fs::read_to_string(&config).unwrap();
    for (line, short) in [
        (
            "header_read_timeout_ms = 10000",
            "header_read_timeout_ms = 1000",
        ),
        (
            "body_read_timeout_ms = 30000",
            "body_read_timeout_ms = 1000",
        ),
        ("idle_timeout_ms = 60000", "idle_timeout_ms = 1500"),
    ] {
        assert!(text.contains(line), "{line} not in config.toml:\n{text}");
        text = text.replace(line, short);
    }
    std::fs::write(&config, text).unwrap();
    node.start().await;
    let addr: SocketAddr = node.url.trim_start_matches("http://").parse().unwrap();

    async fn exchange(addr: SocketAddr, request: &[u8]) -> String {
        let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
        // The server may answer and close before it has read all of an oversized request.
        let _ = s.write_all(request).await;
        let mut out = Vec::new();
        let _ = tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut out)).await;
        String::from_utf8_lossy(&out).into_owned()
    }
    fn json_error(response: &str, status: &str, code: &str) {
        assert!(
            response.starts_with(&format!("HTTP/1.1 {status}")),
            "{response}"
        );
        let (head, body) = response.split_once("\r\n\r\n").unwrap();
        assert!(head.contains("content-type: application/json"), "{head}");
        assert!(head.contains("x-content-type-options: nosniff"), "{head}");
        let v: serde_json::Value =
            serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {body}"));
        assert_eq!(v["code"], code, "{body}");
        assert!(!v["message"].as_str().unwrap().is_empty());
    }

    // A malformed request line.
    json_error(
        &exchange(addr, b"GARBAGE\r\n\r\n").await,
        "400",
        "malformed_request",
    );
    // A URI beyond the head limit.
    let long = format!(
        "GET /v1/blocks/{} HTTP/1.1\r\nhost: x\r\n\r\n",
        "9".repeat(17_000)
    );
    let r = exchange(addr, long.as_bytes()).await;
    assert!(
        r.starts_with("HTTP/1.1 414") || r.starts_with("HTTP/1.1 431"),
        "{r}"
    );
    json_error(&r, &r[9..12], "too_large");
    // Headers beyond the head limit.
    let big = format!(
        "GET /v1/health HTTP/1.1\r\nhost: x\r\nx-big: {}\r\n\r\n",
        "a".repeat(17_000)
    );
    json_error(&exchange(addr, big.as_bytes()).await, "431", "too_large");

    // A body that never arrives: 408 body_timeout after body_read_timeout_ms.
    let started = Instant::now();
    let r = exchange(
        addr,
        b"POST /v1/transactions HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{",
    )
    .await;
    json_error(&r, "408", "body_timeout");
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "{:?}",
        started.elapsed()
    );

    // A head that never completes: the connection is closed after header_read_timeout_ms.
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    s.write_all(b"GET /v1/health HTTP/1.1\r\nhost: x\r\n")
        .await
        .unwrap();
    let started = Instant::now();
    let mut out = Vec::new();
    let n = tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut out)).await;
    assert!(n.is_ok(), "a half-sent head is not cut off");
    assert!(started.elapsed() < Duration::from_secs(8));

    // An idle keep-alive connection is closed too.
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    s.write_all(b"GET /v1/health HTTP/1.1\r\nhost: x\r\n\r\n")
        .await
        .unwrap();
    let mut buf = vec![0u8; 65536];
    let n = s.read(&mut buf).await.unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
    let started = Instant::now();
    let closed = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            match s.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    })
    .await;
    assert!(closed.is_ok(), "an idle connection stays open");
    assert!(started.elapsed() < Duration::from_secs(8));

    // The node is still fine.
    let health = reqwest::get(format!("{}/v1/health/ready", node.url))
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
}

/// A node whose consensus engine dies stops taking transactions, turns unready with the
/// reason, reports what it can no longer include as `dropped`, and exits non-zero.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_whose_engine_dies_turns_unready_and_exits() {
    let mut node = TestNode::init("intl");
    node.env
        .push(("KEXIN_TEST_ABORT_ENGINE_AT".into(), "2".into()));
    node.start().await;
    let client = Client::new(&node.url).unwrap();
    let key = load_key(node.client_key()).unwrap();
    let chain = chain_id(&node);
    let nonce = client.next_nonce(&key.public_key()).await.unwrap();
    // Blocks 1 and 2 commit; then the engine is aborted. The second transaction goes in
    // after one that waits behind a nonce gap, so that one is pending when the engine dies
    // (submitted after block 2, it could find the engine already gone).
    let mut stuck = None;
    for i in 0..2 {
        if i == 1 {
            stuck = Some(submit(&client, &chain, &key, nonce + 5, "behind a gap").await);
        }
        let h = submit(&client, &chain, &key, nonce + i, &format!("before {i}")).await;
        client
            .wait_committed(&h, Duration::from_secs(30))
            .await
            .expect("committed");
    }
    let stuck = stuck.expect("submitted before block 2");

    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let reason = loop {
        let r = http
            .get(format!("{}/v1/health/ready", node.url))
            .send()
            .await
            .expect("the node answers while it is not ready");
        if r.status() == 503 {
            break r.text().await.unwrap();
        }
        assert!(
            Instant::now() < deadline,
            "still ready; log:\n{}",
            tail(&node.log(), 40)
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(reason.contains("engine stopped"), "{reason}");

    let status: serde_json::Value = http
        .get(format!("{}/v1/transactions/{stuck}/status", node.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(status["status"], "dropped", "{status}");
    assert_eq!(status["error"]["code"], "unavailable", "{status}");

    let digest = key.suite().hash(b"resilience after the engine died");
    let record = evidence_record(digest, "after".to_owned(), "text/plain").unwrap();
    let late = sign_evidence(&chain, &key, nonce + 2, vec![record]);
    match client.submit(&late).await {
        Err(kexin_client::ClientError::Api { status, code, .. }) => {
            assert_eq!((status, code.as_str()), (503, "unavailable"));
        }
        other => panic!("a node whose engine stopped took a transaction: {other:?}"),
    }

    let exit = node
        .wait_exit(Duration::from_secs(30))
        .unwrap_or_else(|| panic!("the node did not exit; log:\n{}", tail(&node.log(), 40)));
    assert!(!exit.success(), "{exit}");
    assert_ne!(exit.code(), Some(101), "exited by a panic, not by design");
    let log = node.log();
    assert!(
        log.contains("the consensus engine stopped"),
        "{}",
        tail(&log, 40)
    );
}
