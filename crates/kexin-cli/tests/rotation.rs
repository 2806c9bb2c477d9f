//! Rotation without outage (issue 4, item 5): every certificate of a running 4-validator
//! network is rotated — each organisation's CA (`kexin ca rotate`), its writer and admin
//! certificates and every node certificate (`kexin cert issue` under the new CAs), the
//! superseded writer and admin certificates revoked (`kexin cert revoke --reason superseded`) —
//! while every organisation's writer keeps attesting evidence, and not one transaction fails.

mod common;

use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::*;
use kexin_crypto::Suite;
use kexin_pki::Certificate;
use serde_json::Value;

const ORGS: usize = 4;
/// Files (and, with `--batch 1`, transactions) per `kexin attest` run of the load.
const FILES_PER_RUN: usize = 3;
/// How long the load keeps going after the last revocation.
const TAIL: Duration = Duration::from_secs(4);
/// Longest the whole scenario may wait for the load to reach a point.
const LOAD_TIMEOUT: Duration = Duration::from_secs(60);

fn run(args: &[&OsStr]) -> std::process::Output {
    kexin(args)
}

fn json(o: &std::process::Output) -> Value {
    serde_json::from_str(&ok(o)).unwrap_or_else(|e| panic!("not JSON ({e}): {}", stdout(o)))
}

fn read_cert(path: &Path) -> Certificate {
    Certificate::from_pem(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

/// Whether `cert` chains to `ca` now.
fn issued_by(cert: &Path, ca: &Path) -> bool {
    kexin_pki::verify(&read_cert(cert), &read_cert(ca), Suite::Intl, now_ms()).is_ok()
}

/// One organisation's writer attesting in a loop: `kexin attest` of a few new files at a time
/// (one transaction each), each run waiting until all are final, then the next.
struct Load {
    org: usize,
    /// The identity the next run acts as, and its generation (0: the writer of `net up`,
    /// 1: the writer issued under the new CA).
    identity: Mutex<(PathBuf, usize)>,
    /// Per successful run: the generation it acted as and the transactions it committed.
    done: Mutex<Vec<(usize, usize)>>,
    failures: Mutex<Vec<String>>,
    runs: AtomicUsize,
}

impl Load {
    fn runs_of(&self, generation: usize) -> usize {
        let done = self.done.lock().unwrap();
        done.iter().filter(|(g, _)| *g == generation).count()
    }

    fn txs(&self) -> usize {
        self.done.lock().unwrap().iter().map(|(_, t)| t).sum()
    }
}

/// Runs `load` against `url` until `stop`.
fn load_loop(load: Arc<Load>, url: String, work: PathBuf, stop: Arc<AtomicBool>) {
    while !stop.load(Ordering::SeqCst) {
        let n = load.runs.fetch_add(1, Ordering::SeqCst);
        let (identity, generation) = load.identity.lock().unwrap().clone();
        let input = work.join(format!("in-{n}"));
        for f in 0..FILES_PER_RUN {
            write(
                &input.join(format!("org{}-{n}-{f}.txt", load.org)),
                format!("org{} run {n} file {f}: {}\n", load.org, random_hex32()).as_bytes(),
            );
        }
        let out = work.join(format!("receipts-{n}"));
        let args: Vec<OsString> = vec![
            "attest".into(),
            input.into(),
            "--node".into(),
            url.clone().into(),
            "--out".into(),
            out.clone().into(),
            "--identity".into(),
            identity.clone().into(),
            "--batch".into(),
            "1".into(),
            "--timeout".into(),
            "60".into(),
            "--json".into(),
        ];
        let o = kexin(&args);
        if !o.status.success() {
            load.failures.lock().unwrap().push(format!(
                "org{} run {n} as {}: {}",
                load.org,
                identity.display(),
                stderr(&o).trim()
            ));
            continue;
        }
        let summary: Value = serde_json::from_slice(&o.stdout).unwrap();
        let receipts = std::fs::read_dir(&out)
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .file_name()
                    .to_string_lossy()
                    .ends_with(".receipt.json")
            })
            .count();
        if summary["records"] != FILES_PER_RUN || receipts != FILES_PER_RUN {
            load.failures.lock().unwrap().push(format!(
                "org{} run {n}: {receipts} receipt(s) for {FILES_PER_RUN} files: {summary}",
                load.org
            ));
            continue;
        }
        let txs = summary["txs"].as_u64().unwrap() as usize;
        load.done.lock().unwrap().push((generation, txs));
    }
}

/// Waits until `cond` holds for every load, failing early when a load run failed.
async fn wait_loads(loads: &[Arc<Load>], what: &str, net: &Net, cond: impl Fn(&Load) -> bool) {
    let deadline = Instant::now() + LOAD_TIMEOUT;
    loop {
        for l in loads {
            let failures = l.failures.lock().unwrap();
            assert!(
                failures.is_empty(),
                "load of org{} failed while waiting for {what}:\n{}\n{}",
                l.org,
                failures.join("\n"),
                net.logs()
            );
        }
        if loads.iter().all(|l| cond(l)) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the load did not reach {what} within {LOAD_TIMEOUT:?}\n{}",
            net.logs()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// `kexin cert issue ... --json` under `org`'s (new) CA into the identity directory `out`.
fn issue(net: &Net, org: &str, name: &str, role: &str, out: &Path) -> Value {
    json(&run(&[
        "cert".as_ref(),
        "issue".as_ref(),
        "--dir".as_ref(),
        net.dir.as_os_str(),
        "--org".as_ref(),
        org.as_ref(),
        "--name".as_ref(),
        name.as_ref(),
        "--role".as_ref(),
        role.as_ref(),
        "--out".as_ref(),
        out.as_os_str(),
        "--json".as_ref(),
    ]))
}

/// `kexin cert revoke --name NAME --serial S --reason superseded --admin ADMIN --json`.
fn revoke_superseded(net: &Net, org: &str, name: &str, serial: &str, admin: &Path) -> Value {
    let doc = json(&run(&[
        "cert".as_ref(),
        "revoke".as_ref(),
        "--dir".as_ref(),
        net.dir.as_os_str(),
        "--org".as_ref(),
        org.as_ref(),
        "--name".as_ref(),
        name.as_ref(),
        "--serial".as_ref(),
        serial.as_ref(),
        "--reason".as_ref(),
        "superseded".as_ref(),
        "--admin".as_ref(),
        admin.as_os_str(),
        "--json".as_ref(),
    ]));
    let revoked = doc["revoked"].as_array().unwrap();
    assert_eq!(revoked.len(), 1, "{doc}");
    assert_eq!(revoked[0]["serial"], serial, "{doc}");
    assert_eq!(revoked[0]["reason"], "superseded", "{doc}");
    doc
}

/// The serial of the certificate in `dir/cert.pem`.
fn serial(dir: &Path) -> String {
    read_cert(&dir.join("cert.pem")).serial_hex()
}

/// Every node lists `want` CAs for every organisation.
async fn wait_ca_counts(net: &Net, want: usize) {
    let deadline = Instant::now() + NET_TIMEOUT;
    'poll: loop {
        for i in 0..ORGS {
            let counts: Vec<usize> = match net.client(i).orgs().await {
                Ok(r) => r.orgs.iter().map(|o| o.ca_certs.len()).collect(),
                Err(_) => Vec::new(),
            };
            if counts != vec![want; ORGS] {
                assert!(
                    Instant::now() < deadline,
                    "node {i} lists {counts:?} CAs per organisation, not {want} each\n{}",
                    net.logs()
                );
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue 'poll;
            }
        }
        return;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotate_every_certificate_under_load_with_zero_failed_transactions() {
    let _serial = SERIAL.lock().await;
    let started = Instant::now();
    let mut net = Net::up("intl", 4);
    net.wait_healthy().await;
    let d = net.dir.clone();
    let org_dir = |k: usize| d.join(format!("org{k}"));

    // What the network started with.
    let old_ca_pem: Vec<String> = (1..=ORGS)
        .map(|k| std::fs::read_to_string(org_dir(k).join("ca.pem")).unwrap())
        .collect();
    let old_writer_serial: Vec<String> = (1..=ORGS)
        .map(|k| serial(&org_dir(k).join("writer")))
        .collect();
    let old_admin_serial: Vec<String> = (1..=ORGS)
        .map(|k| serial(&org_dir(k).join("admin")))
        .collect();

    // The load: org K's writer attests through node K-1.
    let stop = Arc::new(AtomicBool::new(false));
    let mut loads = Vec::new();
    let mut threads = Vec::new();
    for k in 1..=ORGS {
        let load = Arc::new(Load {
            org: k,
            identity: Mutex::new((org_dir(k).join("writer"), 0)),
            done: Mutex::new(Vec::new()),
            failures: Mutex::new(Vec::new()),
            runs: AtomicUsize::new(0),
        });
        let (l, url, work, s) = (
            load.clone(),
            net.url(k - 1),
            net.path(&format!("load-org{k}")),
            stop.clone(),
        );
        threads.push(std::thread::spawn(move || load_loop(l, url, work, s)));
        loads.push(load);
    }
    wait_loads(&loads, "a first committed run per writer", &net, |l| {
        l.runs_of(0) >= 1
    })
    .await;

    // A refusal first: a writer may not add a CA. The chain refuses the add_ca transaction,
    // the command says why, and the new CA it made is discarded.
    let o = run(&[
        "ca".as_ref(),
        "rotate".as_ref(),
        "--dir".as_ref(),
        d.as_os_str(),
        "--org".as_ref(),
        "org1".as_ref(),
        "--admin".as_ref(),
        org_dir(1).join("writer").as_os_str(),
    ]);
    assert_eq!(failed(&o), "permission_denied", "{}", stderr(&o));
    assert!(!org_dir(1).join("ca-next").exists());
    assert_eq!(
        std::fs::read_to_string(org_dir(1).join("ca.pem")).unwrap(),
        old_ca_pem[0]
    );

    // 1. Every organisation rotates its CA (as its admin of `net up`).
    let mut rotated = Vec::new();
    for k in 1..=ORGS {
        let org = format!("org{k}");
        let doc = json(&run(&[
            "ca".as_ref(),
            "rotate".as_ref(),
            "--dir".as_ref(),
            d.as_os_str(),
            "--org".as_ref(),
            org.as_ref(),
            "--json".as_ref(),
        ]));
        assert_eq!(doc["org"], org.as_str(), "{doc}");
        assert_eq!(doc["ca"]["role"], "ca", "{doc}");
        assert!(doc["tx_hash"].is_string(), "{doc}");
        assert_eq!(doc["cas"].as_array().unwrap().len(), 2, "{doc}");
        assert_eq!(doc["cas"][1], doc["ca"]["id"], "{doc}");
        assert_eq!(doc["cas"][0], doc["previous"]["id"], "{doc}");
        // The new CA issues from now on; the old one is kept beside it.
        let dir = org_dir(k);
        let new_ca = read_cert(&dir.join("ca.pem"));
        assert_eq!(new_ca.serial_hex(), doc["ca"]["serial"].as_str().unwrap());
        let old_serial = doc["previous"]["serial"].as_str().unwrap();
        assert_eq!(
            std::fs::read_to_string(dir.join(format!("ca-{old_serial}.pem"))).unwrap(),
            old_ca_pem[k - 1]
        );
        assert!(dir.join(format!("ca-key-{old_serial}.pem")).is_file());
        assert!(!dir.join("ca-next").exists());
        rotated.push(doc);
    }
    // `ca rotate` waited for the network's nodes to list the new CAs; check it, since new
    // certificates are admitted only by a node that has committed their CA's add_ca.
    wait_ca_counts(&net, 2).await;
    // The overlap: the old CAs' certificates keep working after the rotations.
    let old_runs: Vec<usize> = loads.iter().map(|l| l.runs_of(0)).collect();
    wait_loads(
        &loads,
        "a run per old writer after the CA rotations",
        &net,
        |l| l.runs_of(0) > old_runs[l.org - 1],
    )
    .await;

    // 2. New certificates under the new CAs: writer and admin (new keys), and every node's
    //    certificate for its existing validator key. Node 3's is short-lived, so that the
    //    expiry warnings have something to show.
    for k in 1..=ORGS {
        let org = format!("org{k}");
        let dir = org_dir(k);
        let w = issue(&net, &org, "writer", "writer", &dir.join("writer-2"));
        assert_ne!(w["serial"].as_str().unwrap(), old_writer_serial[k - 1]);
        issue(&net, &org, "admin", "admin", &dir.join("admin-2"));
        for who in ["writer-2", "admin-2"] {
            let cert = dir.join(who).join("cert.pem");
            assert!(issued_by(&cert, &dir.join("ca.pem")), "{who} of {org}");
            let old_ca = dir.join(format!(
                "ca-{}.pem",
                rotated[k - 1]["previous"]["serial"].as_str().unwrap()
            ));
            assert!(!issued_by(&cert, &old_ca), "{who} of {org}");
        }
        let node = net.node_dir(k - 1);
        let key = node.join("keys/validator.pem");
        let key_before = std::fs::read(&key).unwrap();
        let cert_file = node.join("keys/node-cert.pem");
        let days = if k == ORGS { "20" } else { "365" };
        let doc = json(&run(&[
            "cert".as_ref(),
            "issue".as_ref(),
            "--dir".as_ref(),
            d.as_os_str(),
            "--org".as_ref(),
            org.as_ref(),
            "--name".as_ref(),
            format!("node{}", k - 1).as_ref(),
            "--role".as_ref(),
            "node".as_ref(),
            "--key".as_ref(),
            key.as_os_str(),
            "--cert-out".as_ref(),
            cert_file.as_os_str(),
            "--days".as_ref(),
            days.as_ref(),
            "--json".as_ref(),
        ]));
        assert_eq!(doc["role"], "node", "{doc}");
        assert!(issued_by(&cert_file, &dir.join("ca.pem")));
        assert_eq!(std::fs::read(&key).unwrap(), key_before);
        assert!(!node.join("keys/key.pem").exists());
    }

    // 3. Switch the load to the new writers. A run reads its identity when it starts, so the
    //    switch happens between runs, and nothing pauses. Before the old writers are revoked,
    //    wait until every loop has finished a run as its new writer: the loops are sequential,
    //    so from then on no run as an old writer is in flight — its transactions would (rightly)
    //    be refused with cert_revoked, which is a failed transaction, not a rotation.
    for (k, l) in loads.iter().enumerate() {
        *l.identity.lock().unwrap() = (org_dir(k + 1).join("writer-2"), 1);
    }
    wait_loads(&loads, "a committed run per new writer", &net, |l| {
        l.runs_of(1) >= 1
    })
    .await;

    // 4. Revoke the superseded writer and admin certificates, as the new admins.
    for k in 1..=ORGS {
        let org = format!("org{k}");
        let admin2 = org_dir(k).join("admin-2");
        revoke_superseded(&net, &org, "writer", &old_writer_serial[k - 1], &admin2);
        revoke_superseded(&net, &org, "admin", &old_admin_serial[k - 1], &admin2);
    }

    // 5. The load goes on a little under the new certificates only.
    let runs_at_revocation: Vec<usize> = loads.iter().map(|l| l.runs_of(1)).collect();
    tokio::time::sleep(TAIL).await;
    wait_loads(&loads, "more runs after the revocations", &net, |l| {
        l.runs_of(1) > runs_at_revocation[l.org - 1]
    })
    .await;
    stop.store(true, Ordering::SeqCst);
    for t in threads {
        t.join().unwrap();
    }

    // Zero failed transactions: every run of every writer committed every transaction.
    let mut total = 0;
    for l in &loads {
        let failures = l.failures.lock().unwrap();
        assert!(
            failures.is_empty(),
            "org{}: {} failed run(s):\n{}",
            l.org,
            failures.len(),
            failures.join("\n")
        );
        assert!(l.runs_of(0) >= 1 && l.runs_of(1) >= 2, "org{}", l.org);
        assert_eq!(
            l.runs.load(Ordering::SeqCst),
            l.done.lock().unwrap().len(),
            "org{}: every run started has committed",
            l.org
        );
        total += l.txs();
    }
    assert!(total >= ORGS * 3 * FILES_PER_RUN, "{total} transactions");
    eprintln!(
        "{total} transactions committed under load, none failed ({:.1} s so far)",
        started.elapsed().as_secs_f64()
    );

    // The old writers are refused; the new ones work. (Through node 0, where `cert revoke`
    // waited for the revocations to be final.)
    for k in 1..=ORGS {
        let f = net.path(&format!("after/org{k}.txt"));
        write(
            &f,
            format!("after the rotation {}\n", random_hex32()).as_bytes(),
        );
        let signer =
            |who: &str| -> Vec<OsString> { vec!["--identity".into(), org_dir(k).join(who).into()] };
        let o = net.attest_with(
            0,
            &f,
            &net.path(&format!("after-old-{k}")),
            &signer("writer"),
        );
        assert_eq!(failed(&o), "cert_revoked", "{}", stderr(&o));
        ok(&net.attest_with(
            0,
            &f,
            &net.path(&format!("after-new-{k}")),
            &signer("writer-2"),
        ));
        net.verify(&f, &net.path(&format!("after-new-{k}")));
        // The receipt (version 4) names its signer: the new writer of org{k}, certified by the CA
        // added after the genesis, which the receipt proves in the chain's state.
        let receipt = net
            .path(&format!("after-new-{k}"))
            .join(format!("org{k}.txt.receipt.json"));
        let text = ok(&run(&[
            "verify".as_ref(),
            f.as_os_str(),
            "--receipt".as_ref(),
            receipt.as_os_str(),
            "--genesis".as_ref(),
            net.genesis().as_os_str(),
        ]));
        let line = |start: &str| {
            text.lines()
                .find(|l| l.trim_start().starts_with(start))
                .unwrap_or_else(|| panic!("no {start:?} line in:\n{text}"))
                .to_owned()
        };
        assert!(line("organisation").ends_with(&format!("org{k}")), "{text}");
        assert!(line("role").ends_with("writer"), "{text}");
        assert!(
            line("subject").ends_with(&format!("CN=writer,OU=writer,O=org{k}")),
            "{text}"
        );
        assert!(
            line("signer cert").contains("proven in the chain's state"),
            "{text}"
        );
    }
    // The old admin is refused too: rotating with it fails (and leaves nothing behind).
    let o = run(&[
        "ca".as_ref(),
        "rotate".as_ref(),
        "--dir".as_ref(),
        d.as_os_str(),
        "--org".as_ref(),
        "org2".as_ref(),
        "--admin".as_ref(),
        org_dir(2).join("admin").as_os_str(),
    ]);
    assert_eq!(failed(&o), "cert_revoked", "{}", stderr(&o));
    assert!(!org_dir(2).join("ca-next").exists());

    // Two CAs per organisation on chain: the genesis CA and the new one.
    let orgs = json(&run(&[
        "org".as_ref(),
        "list".as_ref(),
        "--node".as_ref(),
        net.url(0).as_ref(),
        "--json".as_ref(),
    ]));
    for (k, o) in orgs["orgs"].as_array().unwrap().iter().enumerate() {
        let cas = o["cas"].as_array().unwrap();
        assert_eq!(cas.len(), 2, "{orgs}");
        assert_eq!(cas[0]["id"], rotated[k]["previous"]["id"], "{orgs}");
        assert_eq!(cas[1]["id"], rotated[k]["ca"]["id"], "{orgs}");
        assert!(o["updated_at"].as_u64().is_some(), "{orgs}");
    }
    // The registry has the revocations, with their reason.
    let certs = json(&run(&[
        "cert".as_ref(),
        "list".as_ref(),
        "--node".as_ref(),
        net.url(0).as_ref(),
        "--json".as_ref(),
    ]));
    let superseded = certs["certs"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["revoked"]["reason"] == "superseded")
        .count();
    assert_eq!(superseded, 2 * ORGS, "{certs}");

    // `net status` gathers the nodes' expiry warnings: node 3's new certificate lasts 20 days,
    // within the default 30-day window.
    let status = json(&net.status());
    assert_eq!(status["nodes"].as_array().unwrap().len(), 4, "{status}");
    assert_eq!(status["expiry_warning_days"], 30, "{status}");
    let expiring = status["expiring"].as_array().unwrap();
    assert_eq!(expiring.len(), 1, "{status}");
    let e = &expiring[0];
    assert_eq!(e["kind"], "this node", "{status}");
    assert_eq!(e["org"], "org4", "{status}");
    assert_eq!(e["name"], "node3", "{status}");
    assert_eq!(e["nodes"], serde_json::json!([3]), "{status}");
    assert_eq!(e["expired"], false, "{status}");
    assert!(matches!(e["days_left"].as_i64(), Some(19 | 20)), "{status}");
    let text = ok(&run(&[
        "net".as_ref(),
        "status".as_ref(),
        "--dir".as_ref(),
        d.as_os_str(),
    ]));
    assert!(
        text.contains("certificates expiring within 30 days: 1 "),
        "{text}"
    );
    assert!(text.contains("node3"), "{text}");

    net.down().await;
    eprintln!(
        "rotation scenario took {:.1} s",
        started.elapsed().as_secs_f64()
    );
}
