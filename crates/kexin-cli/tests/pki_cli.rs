//! Organisations and certificates end to end: a consortium made by `kexin net up`, identities
//! issued with `kexin cert issue`, evidence attested under them, refusals by role, and a
//! revocation with `kexin cert revoke` that the next transaction runs into — all through the
//! real binary against real nodes.

mod common;

use std::ffi::{OsStr, OsString};
use std::path::Path;
use std::process::{Command, Output};

use common::*;
use serde_json::Value;

/// `kexin ARGS...` where the arguments mix strings and paths.
fn run(args: &[&OsStr]) -> Output {
    kexin(args)
}

fn identity(dir: &Path) -> Vec<OsString> {
    vec!["--identity".into(), dir.into()]
}

/// Whether an `openssl` binary runs here.
fn have_openssl() -> bool {
    Command::new("openssl")
        .arg("version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Every organisation of a 4-validator network has its CA and identities where the
/// documentation says, and OpenSSL reads the CA certificates.
fn check_layout(net: &Net) {
    assert_eq!(net.org_count(), 4);
    let openssl = have_openssl();
    if !openssl {
        eprintln!("openssl is not installed: skipping the OpenSSL parse of the CA certificates");
    }
    for k in 1..=4 {
        let org = net.dir.join(format!("org{k}"));
        for f in [
            "ca.pem",
            "ca-key.pem",
            "admin/cert.pem",
            "admin/key.pem",
            "writer/cert.pem",
            "writer/key.pem",
        ] {
            assert!(org.join(f).is_file(), "{}", org.join(f).display());
        }
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(org.join("ca-key.pem"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        assert!(
            net.node_dir(k - 1).join("keys/node-cert.pem").is_file(),
            "node {} has no node certificate",
            k - 1
        );
        if openssl {
            let o = Command::new("openssl")
                .args(["x509", "-noout", "-subject", "-in"])
                .arg(org.join("ca.pem"))
                .output()
                .unwrap();
            assert!(o.status.success(), "{}", stderr(&o));
            let subject = stdout(&o);
            assert!(subject.contains(&format!("org{k}")), "{subject}");
        }
    }
}

/// `kexin cert issue --dir D --org ORG --name NAME --role ROLE --out T/NAME --json`.
fn issue(net: &Net, org: &str, name: &str, role: &str) -> (std::path::PathBuf, Value) {
    let out = net.path(name);
    let o = run(&[
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
    ]);
    let doc: Value = serde_json::from_str(&ok(&o)).unwrap();
    assert_eq!(doc["org"], org, "{doc}");
    assert_eq!(doc["name"], name, "{doc}");
    assert_eq!(doc["role"], role, "{doc}");
    assert_eq!(doc["validity"], "valid", "{doc}");
    assert!(out.join("cert.pem").is_file());
    use std::os::unix::fs::PermissionsExt as _;
    let mode = std::fs::metadata(out.join("key.pem"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    let record = net
        .dir
        .join(org)
        .join("issued")
        .join(name)
        .join(format!("{}.pem", doc["serial"].as_str().unwrap()));
    assert_eq!(
        std::fs::read_to_string(record).unwrap(),
        std::fs::read_to_string(out.join("cert.pem")).unwrap()
    );
    (out, doc)
}

/// The attestation of a new file `name` through node `i` under `signer`.
fn attest_new(net: &Net, i: usize, name: &str, signer: &[OsString]) -> Output {
    let f = net.path(&format!("in/{name}"));
    write(&f, format!("{name}: {}\n", random_hex32()).as_bytes());
    net.attest_with(i, &f, &net.path(&format!("receipts-{name}")), signer)
}

/// The transaction hash in the receipt `kexin attest` saved for `contract.txt` in `dir`.
fn receipt_tx_hash(dir: &Path) -> String {
    let text = std::fs::read_to_string(dir.join("contract.txt.receipt.json")).unwrap();
    let receipt: Value = serde_json::from_str(&text).unwrap();
    receipt["transaction"]["hash"].as_str().unwrap().to_owned()
}

/// `kexin tx`, `kexin evidence` and `kexin receipts` on alice's `contract.txt` (org2): without
/// an identity and as org1's reader the metadata is withheld; as org2's reader `reader` and as
/// an auditor of org3 it is shown; the writer's own receipt file carries it.
fn signed_reads(net: &Net, receipts: &Path, reader: &Path) {
    // Alice attested through node 1, which has her block.
    let url = net.url(1);
    let text = std::fs::read_to_string(receipts.join("contract.txt.receipt.json")).unwrap();
    let saved: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        saved["record"]["metadata"]["label"], "contract.txt",
        "{saved}"
    );
    assert_eq!(
        saved["record"]["metadata"]["salt"].as_str().unwrap().len(),
        32
    );
    let tx_hash = receipt_tx_hash(receipts);
    let digest = saved["record"]["digest"].as_str().unwrap().to_owned();
    let (ross, _) = issue(net, "org1", "ross", "reader");
    let (audrey, _) = issue(net, "org3", "audrey", "auditor");
    let tx_as = |who: Option<&Path>, json: bool| {
        let mut args: Vec<OsString> = vec![
            "tx".into(),
            tx_hash.clone().into(),
            "--node".into(),
            url.clone().into(),
        ];
        if let Some(dir) = who {
            args.extend(identity(dir));
        }
        if json {
            args.push("--json".into());
        }
        kexin(&args)
    };
    for (who, sees) in [
        (None, false),
        (Some(ross.as_path()), false),
        (Some(reader), true),
        (Some(audrey.as_path()), true),
        (Some(net.dir.join("org2/writer")).as_deref(), false),
    ] {
        let doc: Value = serde_json::from_str(&ok(&tx_as(who, true))).unwrap();
        let record = &doc["transaction"]["payload"]["records"][0];
        assert_eq!(record["digest"], digest.as_str(), "{doc}");
        assert_eq!(
            record["metadata_hash"], saved["record"]["metadata_hash"],
            "{doc}"
        );
        if sees {
            assert_eq!(
                record["metadata"]["label"], "contract.txt",
                "{who:?}: {doc}"
            );
            assert_eq!(record["metadata"]["content_type"], "text/plain", "{doc}");
        } else {
            assert_eq!(record["metadata"], "withheld", "{who:?}: {doc}");
            assert!(!doc.to_string().contains("contract.txt"), "{doc}");
        }
        let text = ok(&tx_as(who, false));
        assert_eq!(text.contains("\"contract.txt\""), sees, "{who:?}: {text}");
        assert_eq!(text.contains("metadata withheld"), !sees, "{who:?}: {text}");
    }
    // The evidence index, as the auditor and anonymously.
    let evidence = |who: Option<&Path>| {
        let mut args: Vec<OsString> = vec![
            "evidence".into(),
            digest.clone().into(),
            "--node".into(),
            url.clone().into(),
        ];
        if let Some(dir) = who {
            args.extend(identity(dir));
        }
        ok(&kexin(&args))
    };
    assert!(evidence(Some(&audrey)).contains("\"contract.txt\""));
    let text = evidence(None);
    assert!(text.contains("metadata      withheld"), "{text}");
    assert!(!text.contains("contract.txt"), "{text}");
    // Receipts fetched by the reader carry the metadata and verify offline with the file.
    let out = net.path("reader-receipts");
    let mut args: Vec<OsString> = vec![
        "receipts".into(),
        tx_hash.clone().into(),
        "--node".into(),
        url.clone().into(),
        "--genesis".into(),
        net.genesis().into(),
        "--out".into(),
        out.clone().into(),
    ];
    args.extend(identity(reader));
    let text = ok(&kexin(&args));
    assert!(text.contains("\"contract.txt\""), "{text}");
    let file = out.join(format!("{digest}-0.receipt.json"));
    let o = run(&[
        "verify".as_ref(),
        net.path("in/contract.txt").as_os_str(),
        "--receipt".as_ref(),
        file.as_os_str(),
        "--genesis".as_ref(),
        net.genesis().as_os_str(),
        "--json".as_ref(),
    ]);
    let report: Value = serde_json::from_str(&ok(&o)).unwrap();
    assert_eq!(report["metadata"], "checked", "{report}");
    assert_eq!(report["label"], "contract.txt", "{report}");
    // The node's receipt is version 5 (a version 4 chain): it names the signer, alice, org2's
    // writer, certified by the genesis CA of org2, and proves the transaction's outcome.
    assert_eq!(report["version"], 5, "{report}");
    assert_eq!(report["outcome"]["status"], "success", "{report}");
    assert!(
        report["checks"]
            .as_array()
            .unwrap()
            .contains(&"outcome".into()),
        "{report}"
    );
    let signer = &report["signer_certificate"];
    assert_eq!(signer["organisation"], "org2", "{report}");
    assert_eq!(signer["role"], "writer", "{report}");
    assert_eq!(signer["ca"]["source"], "genesis", "{report}");
    assert!(
        signer["subject"].as_str().unwrap() == "CN=alice,OU=writer,O=org2",
        "{report}"
    );
    // Anonymous receipts carry only the hash, and verify just the same.
    let anon = net.path("anonymous-receipts");
    let o = run(&[
        "receipts".as_ref(),
        tx_hash.as_ref(),
        "--node".as_ref(),
        url.as_ref(),
        "--out".as_ref(),
        anon.as_os_str(),
    ]);
    assert!(ok(&o).contains("metadata withheld"));
    let o = run(&[
        "verify".as_ref(),
        net.path("in/contract.txt").as_os_str(),
        "--receipt".as_ref(),
        anon.join(format!("{digest}-0.receipt.json")).as_os_str(),
        "--genesis".as_ref(),
        net.genesis().as_os_str(),
    ]);
    let text = ok(&o);
    assert!(
        text.starts_with("OK:") && text.contains("withheld"),
        "{text}"
    );
    // Tampering with the metadata in a saved receipt is caught.
    let mut tampered: Value =
        serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    tampered["record"]["metadata"]["label"] = "contract-v2.txt".into();
    let bad = net.path("tampered.receipt.json");
    std::fs::write(&bad, tampered.to_string()).unwrap();
    let o = run(&[
        "verify".as_ref(),
        net.path("in/contract.txt").as_os_str(),
        "--receipt".as_ref(),
        bad.as_os_str(),
        "--genesis".as_ref(),
        net.genesis().as_os_str(),
    ]);
    assert_eq!(failed(&o), "metadata_mismatch", "{}", stderr(&o));
}

/// The scenario of issue 4's acceptance: issue, attest, refusals by role, revoke, refusal.
async fn consortium_scenario(net: &Net) {
    check_layout(net);
    let url = net.url(0);

    // The organisations as the chain has them.
    let o = run(&[
        "org".as_ref(),
        "list".as_ref(),
        "--node".as_ref(),
        url.as_ref(),
        "--json".as_ref(),
    ]);
    let orgs: Value = serde_json::from_str(&ok(&o)).unwrap();
    let names: Vec<&str> = orgs["orgs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["org1", "org2", "org3", "org4"], "{orgs}");
    assert_eq!(orgs["orgs"][1]["validators"][0], "node1", "{orgs}");
    assert_eq!(orgs["orgs"][1]["cas"][0]["validity"], "valid", "{orgs}");
    let text = ok(&run(&[
        "org".as_ref(),
        "list".as_ref(),
        "--node".as_ref(),
        url.as_ref(),
    ]));
    assert!(text.contains("org4"), "{text}");

    // Without an identity a consortium refuses to guess.
    let o = attest_new(net, 0, "anonymous.txt", &[]);
    assert_eq!(failed(&o), "identity_required", "{}", stderr(&o));

    // A writer of org2 attests; the receipt verifies offline.
    let (alice, alice_doc) = issue(net, "org2", "alice", "writer");
    let f = net.path("in/contract.txt");
    write(&f, b"the consortium contract\n");
    let receipts = net.path("receipts");
    let o = net.attest_with(1, &f, &receipts, &identity(&alice));
    ok(&o);
    net.verify(&f, &receipts);

    // A network's blocks carry finalization certificates, shown in full (node 1 has the
    // block of the attestation it made final).
    let text = ok(&run(&[
        "block".as_ref(),
        "latest".as_ref(),
        "--node".as_ref(),
        net.url(1).as_ref(),
    ]));
    assert!(!text.contains("not known"), "{text}");
    assert!(
        text.contains("certificate  finalization, epoch 0, view "),
        "{text}"
    );
    assert!(
        text.contains("of 4 validator(s) signed (quorum 3)"),
        "{text}"
    );
    assert!(text.contains("(consensus order)"), "{text}");
    // A second attestation finds the certificate registered (not attached again).
    ok(&attest_new(net, 2, "second.txt", &identity(&alice)));

    // Issuing into an identity directory that exists is refused.
    let o = run(&[
        "cert".as_ref(),
        "issue".as_ref(),
        "--dir".as_ref(),
        net.dir.as_os_str(),
        "--org".as_ref(),
        "org2".as_ref(),
        "--name".as_ref(),
        "alice".as_ref(),
        "--role".as_ref(),
        "writer".as_ref(),
        "--out".as_ref(),
        alice.as_os_str(),
    ]);
    assert_eq!(failed(&o), "exists");

    // An admin may not write evidence, nor may a reader.
    let admin = net.dir.join("org2/admin");
    let o = attest_new(net, 0, "by-admin.txt", &identity(&admin));
    assert_eq!(failed(&o), "permission_denied", "{}", stderr(&o));
    assert!(stderr(&o).contains("permission_denied"));
    let (bob, _) = issue(net, "org2", "bob", "reader");
    let o = attest_new(net, 3, "by-reader.txt", &identity(&bob));
    assert_eq!(failed(&o), "permission_denied", "{}", stderr(&o));

    // Signed reads: alice's record metadata is private to org2's readers and to auditors.
    signed_reads(net, &receipts, &bob);

    // A certificate with somebody else's key is refused before anything is sent.
    let mixed = net.path("mixed");
    std::fs::create_dir_all(&mixed).unwrap();
    std::fs::copy(alice.join("cert.pem"), mixed.join("cert.pem")).unwrap();
    std::fs::copy(bob.join("key.pem"), mixed.join("key.pem")).unwrap();
    let o = attest_new(net, 0, "mixed.txt", &identity(&mixed));
    assert_eq!(failed(&o), "identity_key_mismatch", "{}", stderr(&o));

    // Revoke alice (the default node is found in D) and see her next transaction refused.
    let o = run(&[
        "cert".as_ref(),
        "revoke".as_ref(),
        "--dir".as_ref(),
        net.dir.as_os_str(),
        "--org".as_ref(),
        "org2".as_ref(),
        "--name".as_ref(),
        "alice".as_ref(),
        "--reason".as_ref(),
        "key-compromise".as_ref(),
    ]);
    let text = ok(&o);
    assert!(text.contains("revoked writer certificate"), "{text}");
    assert!(text.contains("key-compromise"), "{text}");
    // (Through node 0, which `cert revoke` used and saw commit the revocation.)
    let o = attest_new(net, 0, "after-revocation.txt", &identity(&alice));
    assert_eq!(failed(&o), "cert_revoked", "{}", stderr(&o));
    assert!(stderr(&o).contains("cert_revoked"));
    // Only the error: no summary of "attested 0 of 1 record(s) ... written" beside it.
    assert!(stdout(&o).trim().is_empty(), "{}", stdout(&o));
    assert!(!stderr(&o).contains("attested"), "{}", stderr(&o));

    // Revoking again has nothing to do.
    let o = run(&[
        "cert".as_ref(),
        "revoke".as_ref(),
        "--dir".as_ref(),
        net.dir.as_os_str(),
        "--org".as_ref(),
        "org2".as_ref(),
        "--name".as_ref(),
        "alice".as_ref(),
        "--reason".as_ref(),
        "superseded".as_ref(),
        "--node".as_ref(),
        url.as_ref(),
        "--json".as_ref(),
    ]);
    let doc: Value = serde_json::from_str(&ok(&o)).unwrap();
    assert_eq!(doc["revoked"].as_array().unwrap().len(), 0, "{doc}");
    assert_eq!(
        doc["already_revoked"][0]["reason"], "key-compromise",
        "{doc}"
    );

    // The registry lists the revocation with its reason.
    let o = run(&[
        "cert".as_ref(),
        "list".as_ref(),
        "--node".as_ref(),
        url.as_ref(),
        "--org".as_ref(),
        "org2".as_ref(),
        "--json".as_ref(),
    ]);
    let list: Value = serde_json::from_str(&ok(&o)).unwrap();
    let certs = list["certs"].as_array().unwrap();
    assert!(certs.iter().all(|c| c["org"] == "org2"), "{list}");
    let entry = certs
        .iter()
        .find(|c| c["name"] == "alice")
        .unwrap_or_else(|| panic!("alice is not listed: {list}"));
    assert_eq!(entry["id"], alice_doc["id"], "{list}");
    assert_eq!(entry["role"], "writer", "{list}");
    assert_eq!(entry["revoked"]["reason"], "key-compromise", "{list}");
    assert!(entry["revoked"]["height"].as_u64().unwrap() >= 1, "{list}");
    // Refused transactions register nothing: bob never made it on chain.
    assert!(!certs.iter().any(|c| c["name"] == "bob"), "{list}");
    let text = ok(&run(&[
        "cert".as_ref(),
        "list".as_ref(),
        "--node".as_ref(),
        url.as_ref(),
    ]));
    assert!(text.contains("revoked at height"), "{text}");
    // `kexin cert list | head -2`, the reader gone: a quiet stop, no panic.
    let o = kexin_into_closed_pipe(["cert", "list", "--node", url.as_str()]);
    assert_quiet_on_closed_stdout(&o, "cert list into a closed pipe");

    // `cert show` decodes a file, and with --node adds the registry entry; by id too.
    let cert_file = alice.join("cert.pem");
    let o = run(&[
        "cert".as_ref(),
        "show".as_ref(),
        cert_file.as_os_str(),
        "--node".as_ref(),
        url.as_ref(),
        "--json".as_ref(),
    ]);
    let doc: Value = serde_json::from_str(&ok(&o)).unwrap();
    assert_eq!(doc["certificate"]["id"], alice_doc["id"], "{doc}");
    assert_eq!(
        doc["registry"]["revoked"]["reason"], "key-compromise",
        "{doc}"
    );
    let text = ok(&run(&[
        "cert".as_ref(),
        "show".as_ref(),
        cert_file.as_os_str(),
    ]));
    assert!(text.contains("alice") && text.contains("org2"), "{text}");
    // With the registry, a revoked certificate is shown as revoked, never `(valid)`.
    let text = ok(&run(&[
        "cert".as_ref(),
        "show".as_ref(),
        cert_file.as_os_str(),
        "--node".as_ref(),
        url.as_ref(),
    ]));
    assert!(!text.contains("(valid)"), "{text}");
    assert!(
        text.contains("(revoked at height") && text.contains("key-compromise"),
        "{text}"
    );
    let id = alice_doc["id"].as_str().unwrap();
    let text = ok(&run(&[
        "cert".as_ref(),
        "show".as_ref(),
        id.as_ref(),
        "--node".as_ref(),
        url.as_ref(),
    ]));
    assert!(text.contains("revoked at height"), "{text}");
    assert!(!text.contains("(valid)"), "{text}");
    let o = run(&[
        "cert".as_ref(),
        "show".as_ref(),
        random_hex32().as_ref(),
        "--node".as_ref(),
        url.as_ref(),
    ]);
    assert_eq!(failed(&o), "not_found");

    // org2's own writer from `net up` still works: only alice was revoked.
    ok(&attest_new(
        net,
        0,
        "still-flowing.txt",
        &identity(&net.dir.join("org2/writer")),
    ));

    // A revoked reader's signed reads are refused, not answered anonymously.
    let o = run(&[
        "cert".as_ref(),
        "revoke".as_ref(),
        "--dir".as_ref(),
        net.dir.as_os_str(),
        "--org".as_ref(),
        "org2".as_ref(),
        "--name".as_ref(),
        "bob".as_ref(),
        "--reason".as_ref(),
        "affiliation-changed".as_ref(),
    ]);
    ok(&o);
    let tx_hash = receipt_tx_hash(&receipts);
    let o = run(&[
        "tx".as_ref(),
        tx_hash.as_ref(),
        "--node".as_ref(),
        url.as_ref(),
        "--identity".as_ref(),
        bob.as_os_str(),
    ]);
    assert_eq!(failed(&o), "cert_revoked", "{}", stderr(&o));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consortium_of_four_intl() {
    let _serial = SERIAL.lock().await;
    let mut net = Net::up("intl", 4);
    net.wait_healthy().await;
    consortium_scenario(&net).await;
    net.down().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consortium_of_four_gm() {
    let _serial = SERIAL.lock().await;
    let mut net = Net::up("gm", 4);
    net.wait_healthy().await;
    consortium_scenario(&net).await;
    net.down().await;
}

#[test]
fn ca_init_and_issue_for_an_organisation_joining_later() {
    let t = tempfile::tempdir().unwrap();
    let dir = t.path().join("net");
    // A CA made by `kexin ca init`, for an organisation that is not a member yet.
    ok(&run(&[
        "ca".as_ref(),
        "init".as_ref(),
        "--org".as_ref(),
        "bank5".as_ref(),
        "--suite".as_ref(),
        "gm".as_ref(),
        "--out".as_ref(),
        dir.join("bank5").as_os_str(),
        "--days".as_ref(),
        "30".as_ref(),
    ]));
    assert!(dir.join("bank5/ca.pem").is_file());
    // A second CA in the same place is refused.
    let o = run(&[
        "ca".as_ref(),
        "init".as_ref(),
        "--org".as_ref(),
        "bank5".as_ref(),
        "--suite".as_ref(),
        "gm".as_ref(),
        "--out".as_ref(),
        dir.join("bank5").as_os_str(),
    ]);
    assert_eq!(failed(&o), "exists");
    // Issuing needs the network's genesis for the suite.
    let out = t.path().join("carol");
    let issue = |dir: &Path| {
        run(&[
            "cert".as_ref(),
            "issue".as_ref(),
            "--dir".as_ref(),
            dir.as_os_str(),
            "--org".as_ref(),
            "bank5".as_ref(),
            "--name".as_ref(),
            "carol".as_ref(),
            "--role".as_ref(),
            "auditor".as_ref(),
            "--out".as_ref(),
            out.as_os_str(),
        ])
    };
    assert_eq!(failed(&issue(&dir)), "not_found");
    // An open gm network in the same directory: the CA issues, with a note that the chain
    // does not know it yet.
    let o = run(&[
        "node".as_ref(),
        "init".as_ref(),
        "--dir".as_ref(),
        dir.join("node-0").as_os_str(),
        "--suite".as_ref(),
        "gm".as_ref(),
    ]);
    ok(&o);
    std::fs::copy(dir.join("node-0/genesis.json"), dir.join("genesis.json")).unwrap();
    let o = issue(&dir);
    let text = ok(&o);
    assert!(text.contains("auditor"), "{text}");
    assert!(stderr(&o).contains("not in"), "{}", stderr(&o));
    assert!(out.join("cert.pem").is_file() && out.join("key.pem").is_file());
    // The wrong organisation directory, or a made-up role, is refused.
    let o = run(&[
        "cert".as_ref(),
        "issue".as_ref(),
        "--dir".as_ref(),
        dir.as_os_str(),
        "--org".as_ref(),
        "bank6".as_ref(),
        "--name".as_ref(),
        "x".as_ref(),
        "--role".as_ref(),
        "writer".as_ref(),
        "--out".as_ref(),
        t.path().join("x").as_os_str(),
    ]);
    assert_eq!(failed(&o), "not_found");
    let o = run(&[
        "cert".as_ref(),
        "issue".as_ref(),
        "--dir".as_ref(),
        dir.as_os_str(),
        "--org".as_ref(),
        "bank5".as_ref(),
        "--name".as_ref(),
        "x".as_ref(),
        "--role".as_ref(),
        "superuser".as_ref(),
        "--out".as_ref(),
        t.path().join("x").as_os_str(),
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));

    // Renewal: the same key, a new certificate in the same directory.
    let old = std::fs::read_to_string(out.join("cert.pem")).unwrap();
    let key = out.join("key.pem");
    let o = run(&[
        "cert".as_ref(),
        "issue".as_ref(),
        "--dir".as_ref(),
        dir.as_os_str(),
        "--org".as_ref(),
        "bank5".as_ref(),
        "--name".as_ref(),
        "carol".as_ref(),
        "--role".as_ref(),
        "auditor".as_ref(),
        "--out".as_ref(),
        out.as_os_str(),
        "--key".as_ref(),
        key.as_os_str(),
    ]);
    ok(&o);
    assert_ne!(std::fs::read_to_string(out.join("cert.pem")).unwrap(), old);
    let issued = std::fs::read_dir(dir.join("bank5/issued/carol"))
        .unwrap()
        .count();
    assert_eq!(issued, 2);

    // Only a certificate, for a key that stays where it is (a node's): --cert-out.
    let node_key = dir.join("node-0/keys/validator.pem");
    let node_cert = dir.join("node-0/keys/node-cert.pem");
    let key_before = std::fs::read(&node_key).unwrap();
    let cert_out = |extra: &[&OsStr]| {
        let mut args: Vec<&OsStr> = vec![
            "cert".as_ref(),
            "issue".as_ref(),
            "--dir".as_ref(),
            dir.as_os_str(),
            "--org".as_ref(),
            "bank5".as_ref(),
            "--name".as_ref(),
            "node0".as_ref(),
            "--role".as_ref(),
            "node".as_ref(),
            "--cert-out".as_ref(),
            node_cert.as_os_str(),
        ];
        args.extend_from_slice(extra);
        run(&args)
    };
    // It needs --key, and does not go with --out.
    assert_eq!(cert_out(&[]).status.code(), Some(2));
    let o = cert_out(&[
        "--key".as_ref(),
        node_key.as_os_str(),
        "--out".as_ref(),
        t.path().join("y").as_os_str(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    for _ in 0..2 {
        // A second time replaces the certificate.
        let o = cert_out(&["--key".as_ref(), node_key.as_os_str(), "--json".as_ref()]);
        let doc: Value = serde_json::from_str(&ok(&o)).unwrap();
        assert_eq!(doc["role"], "node", "{doc}");
        assert_eq!(doc["cert_file"], node_cert.display().to_string(), "{doc}");
        assert_eq!(doc["key_file"], node_key.display().to_string(), "{doc}");
        let text = ok(&run(&[
            "cert".as_ref(),
            "show".as_ref(),
            node_cert.as_os_str(),
        ]));
        assert!(text.contains(doc["serial"].as_str().unwrap()), "{text}");
    }
    assert_eq!(std::fs::read(&node_key).unwrap(), key_before);
    assert!(!dir.join("node-0/keys/key.pem").exists());
    assert_eq!(
        std::fs::read_dir(dir.join("bank5/issued/node0"))
            .unwrap()
            .count(),
        2
    );

    // A CA rotation needs a chain with organisations, and the organisation in it.
    let rotate = |org: &str| {
        run(&[
            "ca".as_ref(),
            "rotate".as_ref(),
            "--dir".as_ref(),
            dir.as_os_str(),
            "--org".as_ref(),
            org.as_ref(),
        ])
    };
    assert_eq!(failed(&rotate("bank5")), "no_organisations");
    assert_eq!(failed(&rotate("..")), "invalid_name");
    assert!(!dir.join("bank5/ca-next").exists());

    // `cert show FILE` needs no node.
    let text = ok(&run(&[
        "cert".as_ref(),
        "show".as_ref(),
        out.join("cert.pem").as_os_str(),
    ]));
    assert!(text.contains("bank5") && text.contains("gm"), "{text}");
}

/// `kexin cert issue --key-type p256` and `--key` with an OpenSSL P-256 key on an intl network
/// directory: user certificates are issued (and OpenSSL verifies them), the identity loads;
/// a P-256 node certificate and P-256 on gm are refused.
#[test]
fn p256_user_certificates_from_the_cli() {
    let t = tempfile::tempdir().unwrap();
    let setup = |suite: &str| {
        let dir = t.path().join(format!("net-{suite}"));
        ok(&run(&[
            "ca".as_ref(),
            "init".as_ref(),
            "--org".as_ref(),
            "bank1".as_ref(),
            "--suite".as_ref(),
            suite.as_ref(),
            "--out".as_ref(),
            dir.join("bank1").as_os_str(),
        ]));
        ok(&run(&[
            "node".as_ref(),
            "init".as_ref(),
            "--dir".as_ref(),
            dir.join("node-0").as_os_str(),
            "--suite".as_ref(),
            suite.as_ref(),
        ]));
        std::fs::copy(dir.join("node-0/genesis.json"), dir.join("genesis.json")).unwrap();
        dir
    };
    let issue = |dir: &Path, name: &str, role: &str, extra: &[&OsStr]| {
        let mut args: Vec<&OsStr> = vec![
            "cert".as_ref(),
            "issue".as_ref(),
            "--dir".as_ref(),
            dir.as_os_str(),
            "--org".as_ref(),
            "bank1".as_ref(),
            "--name".as_ref(),
            name.as_ref(),
            "--role".as_ref(),
            role.as_ref(),
            "--json".as_ref(),
        ];
        args.extend_from_slice(extra);
        run(&args)
    };
    let intl = setup("intl");

    // A new P-256 key: OUT/key.pem and OUT/cert.pem as for any identity.
    let alice = t.path().join("alice");
    let o = issue(
        &intl,
        "alice",
        "writer",
        &[
            "--key-type".as_ref(),
            "p256".as_ref(),
            "--out".as_ref(),
            alice.as_os_str(),
        ],
    );
    let doc: Value = serde_json::from_str(&ok(&o)).unwrap();
    assert_eq!(doc["role"], "writer", "{doc}");
    let key = kexin_client::load_key(alice.join("key.pem")).unwrap();
    assert_eq!(key.scheme(), kexin_crypto::KeyScheme::EcdsaP256);
    assert_eq!(doc["public_key"], key.public_key().to_hex(), "{doc}");
    let id = kexin_client::Identity::load(&alice).unwrap();
    assert_eq!(id.suite(), kexin_crypto::Suite::Intl);
    assert_eq!(id.public_key(), key.public_key());
    assert!(
        ok(&run(&[
            "cert".as_ref(),
            "show".as_ref(),
            alice.join("cert.pem").as_os_str()
        ]))
        .contains("writer")
    );

    // Not for nodes, not on gm, and the default stays the suite's own key.
    let o = issue(
        &intl,
        "n1",
        "node",
        &[
            "--key-type".as_ref(),
            "p256".as_ref(),
            "--out".as_ref(),
            t.path().join("n1").as_os_str(),
        ],
    );
    assert_eq!(failed(&o), "cert_wrong_algorithm", "{}", stderr(&o));
    assert!(!t.path().join("n1/key.pem").exists());
    let gm = setup("gm");
    let o = issue(
        &gm,
        "bob",
        "writer",
        &[
            "--key-type".as_ref(),
            "p256".as_ref(),
            "--out".as_ref(),
            t.path().join("bob").as_os_str(),
        ],
    );
    assert_eq!(failed(&o), "wrong_suite", "{}", stderr(&o));
    let o = issue(
        &intl,
        "carol",
        "reader",
        &["--out".as_ref(), t.path().join("carol").as_os_str()],
    );
    ok(&o);
    let carol = kexin_client::load_key(t.path().join("carol/key.pem")).unwrap();
    assert_eq!(carol.scheme(), kexin_crypto::KeyScheme::Ed25519);

    // An existing key made by OpenSSL, certified with --key; OpenSSL verifies the result.
    if !have_openssl() {
        eprintln!("openssl is not installed: skipping the --key test with an OpenSSL key");
        return;
    }
    let ossl_key = t.path().join("dave.key");
    let o = Command::new("openssl")
        .args([
            "genpkey",
            "-algorithm",
            "EC",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-out",
        ])
        .arg(&ossl_key)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let dave = t.path().join("dave");
    ok(&issue(
        &intl,
        "dave",
        "auditor",
        &[
            "--key".as_ref(),
            ossl_key.as_os_str(),
            "--out".as_ref(),
            dave.as_os_str(),
        ],
    ));
    kexin_client::Identity::load(&dave).unwrap();
    let o = Command::new("openssl")
        .args(["verify", "-x509_strict", "-CAfile"])
        .arg(intl.join("bank1/ca.pem"))
        .arg(dave.join("cert.pem"))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}{}", stdout(&o), stderr(&o));
    // --key-type does not go with --key.
    let o = issue(
        &intl,
        "erin",
        "writer",
        &[
            "--key".as_ref(),
            ossl_key.as_os_str(),
            "--key-type".as_ref(),
            "p256".as_ref(),
            "--out".as_ref(),
            t.path().join("erin").as_os_str(),
        ],
    );
    assert_eq!(o.status.code(), Some(2));
}
