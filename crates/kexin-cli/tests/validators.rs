//! Validator-set changes end to end on a 4-validator consortium made by `kexin net up` with
//! short epochs, while org1's writer keeps attesting: org5 joins by vote, gets a node
//! (`kexin net add-node`) that governance makes a validator from the next epoch, which then
//! follows and serves the chain as a validator; a genesis validator is removed the same way.
//! Every attest succeeds and its receipts verify offline from the genesis alone (through the
//! epoch links they carry), before and after the changes.

mod common;

use std::ffi::OsString;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use common::*;
use serde_json::Value;

const EPOCH: u64 = 12;

fn args(list: &[&dyn AsRef<std::ffi::OsStr>]) -> Vec<OsString> {
    list.iter().map(|a| a.as_ref().to_os_string()).collect()
}

async fn get(url: &str, path: &str) -> Value {
    reqwest::Client::builder()
        .no_proxy()
        .build()
        .unwrap()
        .get(format!("{url}{path}"))
        .timeout(Duration::from_secs(5))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// Keys of the current epoch's validators, as `url` says.
async fn validator_keys(url: &str) -> (u64, Vec<String>) {
    let chain = get(url, "/v1/chain").await;
    let keys = chain["validators"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["public_key"].as_str().unwrap().to_owned())
        .collect();
    (chain["epoch"].as_u64().unwrap(), keys)
}

/// Waits until `check` holds of the validator keys node `url` reports; returns the epoch.
async fn wait_for_set(net: &Net, url: &str, what: &str, check: impl Fn(&[String]) -> bool) -> u64 {
    let deadline = Instant::now() + Duration::from_secs(180);
    loop {
        let (epoch, keys) = validator_keys(url).await;
        if check(&keys) {
            return epoch;
        }
        assert!(
            Instant::now() < deadline,
            "{what}: still epoch {epoch} with {keys:?}\n{}",
            net.logs()
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

struct Load {
    ok: AtomicUsize,
    failures: std::sync::Mutex<Vec<String>>,
}

/// org1's writer attests a new file through node 0 every few hundred milliseconds.
fn load_loop(load: Arc<Load>, dir: PathBuf, url: String, work: PathBuf, stop: Arc<AtomicBool>) {
    let mut n = 0;
    while !stop.load(Ordering::SeqCst) {
        n += 1;
        let file = work.join(format!("in/load-{n}.txt"));
        write(&file, format!("load {n}: {}\n", random_hex32()).as_bytes());
        let o = kexin(args(&[
            &"attest",
            &file,
            &"--node",
            &url,
            &"--out",
            &work.join("receipts"),
            &"--timeout",
            &"120",
            &"--identity",
            &dir.join("org1/writer"),
        ]));
        if o.status.success() {
            load.ok.fetch_add(1, Ordering::SeqCst);
        } else {
            load.failures
                .lock()
                .unwrap()
                .push(format!("attest {n}: {}", stderr(&o)));
        }
        std::thread::sleep(Duration::from_millis(300));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn validators_join_and_leave_by_vote_at_epoch_boundaries_under_load() {
    let _serial = SERIAL.lock().await;
    let mut net = Net::up_with("intl", 4, &["--epoch-length", &EPOCH.to_string()]);
    net.wait_healthy().await;
    let d = net.dir.clone();
    let url0 = net.url(0);
    let genesis: Value =
        serde_json::from_str(&std::fs::read_to_string(net.genesis()).unwrap()).unwrap();
    assert_eq!(genesis["epoch_length"], EPOCH);
    let (epoch, start_keys) = validator_keys(&url0).await;
    assert_eq!((epoch, start_keys.len()), (0, 4));

    let load = Arc::new(Load {
        ok: AtomicUsize::new(0),
        failures: std::sync::Mutex::new(Vec::new()),
    });
    let stop = Arc::new(AtomicBool::new(false));
    let loader = {
        let (l, s, dir, url, work) = (
            load.clone(),
            stop.clone(),
            d.clone(),
            url0.clone(),
            net.path("load"),
        );
        std::thread::spawn(move || load_loop(l, dir, url, work, s))
    };

    let gov = |org: &str, action: &[&dyn AsRef<std::ffi::OsStr>]| -> Value {
        let mut a = args(&[
            &"gov",
            &"propose",
            &"--node",
            &url0,
            &"--identity",
            &d.join(org).join("admin"),
        ]);
        a.extend(args(action));
        a.push("--json".into());
        serde_json::from_str(&ok(&kexin(a))).unwrap()
    };
    let vote = |org: &str, id: &str| -> Value {
        serde_json::from_str(&ok(&kexin(args(&[
            &"gov",
            &"vote",
            &"--node",
            &url0,
            &"--identity",
            &d.join(org).join("admin"),
            &"--proposal",
            &id,
            &"--yes",
            &"--json",
        ]))))
        .unwrap()
    };

    // org5 joins: its CA, then a vote of org1 (proposing), org2 and org3: 3 of 4.
    ok(&kexin(args(&[
        &"ca",
        &"init",
        &"--org",
        &"org5",
        &"--suite",
        &"intl",
        &"--out",
        &d.join("org5"),
    ])));
    let doc = gov(
        "org1",
        &[
            &"add-org",
            &"--name",
            &"org5",
            &"--ca",
            &d.join("org5/ca.pem"),
        ],
    );
    let id = doc["id"].as_str().unwrap().to_owned();
    vote("org2", &id);
    assert_eq!(vote("org3", &id)["state"], "passed");

    // An admin for org5, which votes from now on.
    ok(&kexin(args(&[
        &"cert",
        &"issue",
        &"--dir",
        &d,
        &"--org",
        &"org5",
        &"--name",
        &"admin",
        &"--role",
        &"admin",
        &"--out",
        &d.join("org5/admin"),
    ])));
    // An organisation without a CA in the network directory gets no node, and nothing is
    // written.
    let o = kexin(args(&[
        &"net",
        &"add-node",
        &"--dir",
        &d,
        &"--org",
        &"org9",
    ]));
    assert_eq!(failed(&o), "add_node", "{}", stderr(&o));
    assert!(stderr(&o).contains("org9"), "{}", stderr(&o));
    assert!(!d.join("node-4").exists());
    // A node for org5; until it validates, the others do not connect to it.
    let added: Value = serde_json::from_str(&ok(&kexin(args(&[
        &"net",
        &"add-node",
        &"--dir",
        &d,
        &"--org",
        &"org5",
        &"--json",
    ]))))
    .unwrap();
    assert_eq!(added["index"], 4, "{added}");
    assert_eq!(added["org"], "org5", "{added}");
    let key4 = added["public_key"].as_str().unwrap().to_owned();
    let addr4 = added["p2p_address"].as_str().unwrap().to_owned();
    assert!(d.join("node-4/keys/node-cert.pem").is_file());
    ok(&kexin(args(&[&"net", &"start-node", &"4", &"--dir", &d])));
    let url4 = net.url(4);
    assert_eq!(get(&url4, "/v1/health").await["role"], "observer");

    // Refused: a key already validating, and an organisation that is not a member.
    let o = kexin(args(&[
        &"gov",
        &"propose",
        &"--node",
        &url0,
        &"--identity",
        &d.join("org1/admin"),
        &"add-validator",
        &"--name",
        &"dup",
        &"--org",
        &"org1",
        &"--public-key",
        &start_keys[0],
        &"--address",
        &"127.0.0.1:1",
        &"--json",
    ]));
    assert_eq!(failed(&o), "validator_exists", "{}", stderr(&o));
    let o = kexin(args(&[
        &"gov",
        &"propose",
        &"--node",
        &url0,
        &"--identity",
        &d.join("org1/admin"),
        &"add-validator",
        &"--name",
        &"x",
        &"--org",
        &"org9",
        &"--public-key",
        &key4,
        &"--address",
        &addr4,
        &"--json",
    ]));
    assert_eq!(failed(&o), "unknown_org", "{}", stderr(&o));

    // Make it a validator: 5 members now, 4 yes votes needed.
    let doc = gov(
        "org1",
        &[
            &"add-validator",
            &"--name",
            &"node4",
            &"--org",
            &"org5",
            &"--public-key",
            &key4,
            &"--address",
            &addr4,
        ],
    );
    let id = doc["id"].as_str().unwrap().to_owned();
    vote("org2", &id);
    vote("org3", &id);
    let passed = vote("org4", &id);
    assert_eq!(passed["state"], "passed", "{passed}");
    // (A second change proposed before the boundary would be refused with
    // validator_change_pending; the boundary comes too quickly here to race it reliably:
    // kexin-exec's identity tests cover the rule.)
    // At the next epoch boundary node 4 validates, and it catches up to the others.
    let joined = wait_for_set(&net, &url0, "node 4 joins", |k| {
        k.len() == 5 && k.contains(&key4)
    })
    .await;
    assert!(joined >= 1);
    let deadline = Instant::now() + Duration::from_secs(180);
    loop {
        let h4 = get(&url4, "/v1/health").await;
        let h0 = get(&url0, "/v1/health").await;
        if h4["role"] == "validator"
            && h4["height"].as_u64().unwrap() + 2 >= h0["height"].as_u64().unwrap()
            && h4["height"].as_u64().unwrap() >= joined * EPOCH
        {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "node 4 did not catch up: {h4} vs {h0}\n{}",
            net.logs()
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    // The epoch's link proves its set from the genesis.
    let e = get(&url4, &format!("/v1/epochs/{joined}")).await;
    assert_eq!(e["validators"].as_array().unwrap().len(), 5, "{e}");
    assert_eq!(e["link"]["header"]["height"], joined * EPOCH - 1, "{e}");
    let unknown = get(&url0, "/v1/epochs/999999").await;
    assert_eq!(unknown["code"], "unknown_epoch", "{unknown}");
    let bad = get(&url0, "/v1/epochs/x").await;
    assert_eq!(bad["code"], "invalid_epoch", "{bad}");

    // Remove validator node3 (org4's) the same way; the chain goes on with four.
    let removed_key = start_keys
        .iter()
        .find(|k| {
            genesis["validators"]
                .as_array()
                .unwrap()
                .iter()
                .any(|v| v["name"] == "node3" && v["public_key"] == **k)
        })
        .unwrap()
        .clone();
    let doc = gov(
        "org2",
        &[&"remove-validator", &"--public-key", &removed_key],
    );
    let id = doc["id"].as_str().unwrap().to_owned();
    vote("org1", &id);
    vote("org3", &id);
    assert_eq!(vote("org5", &id)["state"], "passed");
    let left = wait_for_set(&net, &url0, "node 3 leaves", |k| {
        k.len() == 4 && !k.contains(&removed_key) && k.contains(&key4)
    })
    .await;
    assert!(left > joined);

    // Attest through the new validator and verify offline from the genesis alone.
    let file = net.path("in/after.txt");
    write(&file, b"after the validator changes\n");
    let out = net.path("receipts-after");
    let o = net.attest_with(
        4,
        &file,
        &out,
        &["--identity".into(), d.join("org1/writer").into()],
    );
    ok(&o);
    let receipt: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("after.txt.receipt.json")).unwrap())
            .unwrap();
    assert!(
        receipt["certificate"]["epoch"].as_u64().unwrap_or(0) >= left
            || receipt["certificate"]["certificate"]["epoch"]
                .as_u64()
                .unwrap_or(0)
                >= left,
        "{receipt}"
    );
    assert_eq!(
        receipt["epochs"].as_array().unwrap().len() as u64,
        receipt["header"]["height"].as_u64().unwrap() / EPOCH,
        "one link per epoch after the first"
    );
    net.verify(&file, &out);
    // The checkpoint (a later signed tree head) carries its epoch links too and verifies from
    // the genesis alone; without them the removed validator's epoch is unknown.
    let cp: kexin_types::api::CheckpointResponse =
        serde_json::from_value(get(&url4, "/v1/checkpoint").await).unwrap();
    let genesis_doc =
        kexin_types::Genesis::from_json(&std::fs::read_to_string(net.genesis()).unwrap()).unwrap();
    assert!(cp.epochs.len() as u64 >= left, "{} links", cp.epochs.len());
    assert_eq!(cp.verify(&genesis_doc).unwrap(), cp.block_hash);
    let mut bare = cp.clone();
    bare.epochs.clear();
    assert_eq!(
        bare.verify(&genesis_doc).unwrap_err().code(),
        "bad_certificate"
    );

    // `net status` shows the epoch's validators, node 4 among them.
    let st: Value = serde_json::from_slice(&net.status().stdout).unwrap();
    assert_eq!(st["validators"].as_array().unwrap().len(), 4, "{st}");
    assert_eq!(st["nodes"][4]["role"], "validator", "{st}");

    stop.store(true, Ordering::SeqCst);
    loader.join().unwrap();
    let failures = load.failures.lock().unwrap().clone();
    assert!(failures.is_empty(), "failed attests: {failures:#?}");
    assert!(load.ok.load(Ordering::SeqCst) >= 3);
    net.down().await;
}
