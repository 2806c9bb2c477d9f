//! Crash recovery: `kill -9` a node mid-ingest, restart it on the same directory, and check
//! that every receipt it had handed out is still served, byte for byte, and still verifies.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use common::*;
use kexin_client::{Client, evidence_record, load_key, sign_evidence};
use kexin_crypto::{Hash, SigningKey};
use kexin_types::api::ReceiptsResponse;
use kexin_types::{Genesis, Receipt};
use tokio::sync::Mutex;

/// A transaction whose receipts were fetched: the node acknowledged it as final.
struct Acked {
    tx_hash: Hash,
    height: u64,
    /// The raw body of `GET /v1/transactions/{hash}/receipts`.
    body: Vec<u8>,
}

async fn get_receipts_raw(http: &reqwest::Client, url: &str, hash: &Hash) -> Option<Vec<u8>> {
    let r = http
        .get(format!("{url}/v1/transactions/{hash}/receipts"))
        .timeout(Duration::from_secs(10))
        .send()
        .await
        .ok()?;
    if r.status() != 200 {
        return None;
    }
    r.bytes().await.ok().map(|b| b.to_vec())
}

/// Submits evidence transactions one after another (a couple in flight), recording each whose
/// receipts could be fetched, until `stop` is set or the node stops answering.
async fn ingest(
    url: String,
    chain_id: String,
    key: SigningKey,
    acked: Arc<Mutex<Vec<Acked>>>,
    stop: Arc<AtomicBool>,
) {
    let client = Client::new(&url).unwrap();
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let mut nonce = client.next_nonce(&key.public_key()).await.unwrap();
    let mut batch = 0u64;
    while !stop.load(Ordering::SeqCst) {
        // Two transactions per round: both submitted before either is awaited.
        let mut hashes = Vec::new();
        for _ in 0..2 {
            batch += 1;
            let records = (0..25)
                .map(|i| {
                    let d = key
                        .suite()
                        .hash(format!("crash-test {batch} {i} {}", key.public_key()).as_bytes());
                    evidence_record(d, format!("batch-{batch}/{i}"), "text/plain").unwrap()
                })
                .collect();
            let tx = sign_evidence(&chain_id, &key, nonce, records);
            match client.submit(&tx).await {
                Ok(r) => {
                    nonce += 1;
                    hashes.push(r.hash);
                }
                Err(_) => return, // the node is gone
            }
        }
        for h in hashes {
            let Ok(tx) = client.wait_committed(&h, Duration::from_secs(3)).await else {
                return;
            };
            let Some(body) = get_receipts_raw(&http, &url, &h).await else {
                return;
            };
            acked.lock().await.push(Acked {
                tx_hash: h,
                height: tx.height.unwrap(),
                body,
            });
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crash_recovery_fjall_gm() {
    crash_recovery("fjall", "gm").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crash_recovery_redb_intl() {
    crash_recovery("redb", "intl").await;
}

async fn crash_recovery(engine: &str, suite: &str) {
    let mut node = TestNode::init(suite);
    let config = node.dir.join("config.toml");
    let text = std::fs::read_to_string(&config).unwrap();
    assert!(
        text.contains("engine = \"fjall\""),
        "default engine is fjall:\n{text}"
    );
    std::fs::write(
        &config,
        text.replace("engine = \"fjall\"", &format!("engine = \"{engine}\"")),
    )
    .unwrap();
    node.start().await;
    let data = node.dir.join(format!("data/ledger.{engine}"));
    assert!(data.exists(), "{} missing", data.display());
    let genesis = Genesis::from_json(&std::fs::read_to_string(node.genesis()).unwrap()).unwrap();
    let key = load_key(node.client_key()).unwrap();

    let acked = Arc::new(Mutex::new(Vec::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let task = tokio::spawn(ingest(
        node.url.clone(),
        genesis.chain_id.clone(),
        key.clone(),
        acked.clone(),
        stop.clone(),
    ));

    // Let some transactions be acknowledged, then kill -9 while more are in flight.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let n = acked.lock().await.len();
        if n >= 10 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "only {n} transactions acknowledged in 60s; node log:\n{}",
            node.log()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    node.kill9();
    stop.store(true, Ordering::SeqCst);
    tokio::time::timeout(Duration::from_secs(30), task)
        .await
        .expect("ingest loop stops once the node is gone")
        .unwrap();
    let acked = std::mem::take(&mut *acked.lock().await);
    let max_height = acked.iter().map(|a| a.height).max().unwrap();

    node.start().await;
    let client = Client::new(&node.url).unwrap();
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let health = client.health().await.unwrap();
    assert!(
        health.height >= max_height,
        "height {} after restart, but block {max_height} had been acknowledged",
        health.height
    );
    for a in &acked {
        let body = get_receipts_raw(&http, &node.url, &a.tx_hash)
            .await
            .unwrap_or_else(|| panic!("receipts of {} lost after the crash", a.tx_hash));
        assert_eq!(
            body, a.body,
            "receipts of {} changed after the crash",
            a.tx_hash
        );
        let r: ReceiptsResponse = serde_json::from_slice(&body).unwrap();
        assert_eq!(r.receipts.len(), 25);
        for receipt in &r.receipts {
            let v = receipt.verify(&genesis).unwrap();
            assert_eq!(v.tx_hash, a.tx_hash);
            assert_eq!(v.height, a.height);
        }
    }

    // The restarted node keeps accepting and finalizing transactions. Blocks that were in
    // consensus at the crash may still finalize after the restart and consume nonces the
    // node did not report yet: on a replay, ask again.
    let rec = evidence_record(key.suite().hash(b"after the crash"), "after", "text/plain").unwrap();
    let mut attempts = 0;
    let submitted = loop {
        attempts += 1;
        let nonce = client.next_nonce(&key.public_key()).await.unwrap();
        let tx = sign_evidence(&genesis.chain_id, &key, nonce, vec![rec.clone()]);
        let submitted = client.submit(&tx).await.unwrap();
        match client
            .wait_committed(&submitted.hash, Duration::from_secs(30))
            .await
        {
            Ok(_) => break submitted,
            Err(e) if attempts < 5 && e.to_string().contains("replay") => {
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            Err(e) => panic!("the transaction after the crash did not commit: {e}"),
        }
    };
    let receipts = client.receipts(&submitted.hash).await.unwrap();
    let receipt: &Receipt = &receipts.receipts[0];
    assert_eq!(
        receipt.record,
        rec.disclosed(key.suite()),
        "an open chain: metadata is public"
    );
    let v = receipt.verify_data(&genesis, &rec.digest).unwrap();
    assert!(v.height > max_height);
}
