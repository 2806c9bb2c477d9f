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
    let id = alice_doc["id"].as_str().unwrap();
    let text = ok(&run(&[
        "cert".as_ref(),
        "show".as_ref(),
        id.as_ref(),
        "--node".as_ref(),
        url.as_ref(),
    ]));
    assert!(text.contains("revoked at height"), "{text}");
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
