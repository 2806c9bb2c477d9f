//! Governance end to end through the real binary against a 4-validator consortium made by
//! `kexin net up`: a fifth organisation is added by vote, issues a writer that attests, and is
//! removed by vote (its writer is then refused); a duplicate vote, a writer proposing and the
//! removal of an organisation that runs a validator are refused; a parameter change is
//! rejected by two no votes; and a certificate of org1 is revoked by a vote of the others, so
//! that its next transaction is refused.

mod common;

use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};
use std::process::Output;

use common::*;
use serde_json::Value;

/// `kexin ARGS...` where the arguments mix strings and paths.
fn run<I, S>(args: I) -> Output
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    kexin(args)
}

struct Gov<'a> {
    net: &'a Net,
    url: String,
}

impl Gov<'_> {
    fn admin(&self, org: &str) -> PathBuf {
        self.net.dir.join(org).join("admin")
    }

    /// `kexin gov propose --node URL --identity DIR ACTION... --json`, whatever the outcome.
    fn propose_as(&self, identity: &Path, action: &[&OsStr]) -> Output {
        let mut args: Vec<OsString> = vec![
            "gov".into(),
            "propose".into(),
            "--node".into(),
            self.url.clone().into(),
            "--identity".into(),
            identity.into(),
        ];
        args.extend(action.iter().map(|a| a.to_os_string()));
        args.push("--json".into());
        run(args)
    }

    /// A successful proposal by `org`'s admin: its document.
    #[track_caller]
    fn propose(&self, org: &str, action: &[&OsStr]) -> Value {
        let o = self.propose_as(&self.admin(org), action);
        let doc: Value = serde_json::from_str(&ok(&o)).unwrap();
        assert_eq!(doc["org"], org, "{doc}");
        assert_eq!(doc["proposal"]["proposer_org"], org, "{doc}");
        assert_eq!(doc["id"], doc["proposal"]["id"], "{doc}");
        doc
    }

    /// `kexin gov vote --node URL --identity D/ORG/admin --proposal ID --yes|--no --json`.
    fn vote_as(&self, org: &str, id: &str, yes: bool) -> Output {
        run([
            "gov".as_ref(),
            "vote".as_ref(),
            "--node".as_ref(),
            self.url.as_ref(),
            "--identity".as_ref(),
            self.admin(org).as_os_str(),
            "--proposal".as_ref(),
            id.as_ref(),
            if yes { "--yes" } else { "--no" }.as_ref(),
            "--json".as_ref(),
        ])
    }

    /// `kexin gov vote ... --yes` with text output.
    fn vote_text(&self, org: &str, id: &str) -> Output {
        run([
            "gov".as_ref(),
            "vote".as_ref(),
            "--node".as_ref(),
            self.url.as_ref(),
            "--identity".as_ref(),
            self.admin(org).as_os_str(),
            "--proposal".as_ref(),
            id.as_ref(),
            "--yes".as_ref(),
        ])
    }

    /// A successful vote: its document (the proposal's state after it).
    #[track_caller]
    fn vote(&self, org: &str, id: &str, yes: bool) -> Value {
        let doc: Value = serde_json::from_str(&ok(&self.vote_as(org, id, yes))).unwrap();
        assert_eq!(doc["id"], id, "{doc}");
        assert_eq!(doc["org"], org, "{doc}");
        assert_eq!(doc["vote"], if yes { "yes" } else { "no" }, "{doc}");
        assert!(doc["height"].as_u64().unwrap() >= 1, "{doc}");
        doc
    }

    fn show(&self, id: &str, json: bool) -> Output {
        let mut args: Vec<&OsStr> = vec![
            "gov".as_ref(),
            "show".as_ref(),
            "--node".as_ref(),
            self.url.as_ref(),
            id.as_ref(),
        ];
        if json {
            args.push("--json".as_ref());
        }
        run(args)
    }

    fn list(&self) -> Value {
        let o = run(["gov", "list", "--node", self.url.as_str(), "--json"]);
        serde_json::from_str(&ok(&o)).unwrap()
    }

    /// `kexin attest` of a new file through node 0 as `identity`.
    fn attest(&self, name: &str, identity: &Path) -> (Output, PathBuf, PathBuf) {
        let f = self.net.path(&format!("in/{name}"));
        write(&f, format!("{name}: {}\n", random_hex32()).as_bytes());
        let out = self.net.path(&format!("receipts-{name}"));
        let o = self
            .net
            .attest_with(0, &f, &out, &["--identity".into(), identity.into()]);
        (o, f, out)
    }
}

fn s(x: &str) -> &OsStr {
    x.as_ref()
}

async fn governance_scenario(net: &Net) {
    let gov = Gov {
        net,
        url: net.url(0),
    };
    let d = &net.dir;

    // Nothing proposed yet.
    let list = gov.list();
    assert_eq!(list["proposals"].as_array().unwrap().len(), 0, "{list}");
    assert_eq!(list["votes_needed"], 3, "{list}");

    // A CA for org5, made before it joins.
    ok(&run([
        s("ca"),
        s("init"),
        s("--org"),
        s("org5"),
        s("--suite"),
        s("intl"),
        s("--out"),
        d.join("org5").as_os_str(),
    ]));
    let org5_ca = d.join("org5/ca.pem");

    // org1 proposes to add org5: open, with org1's yes, 1 of the 3 yes votes it needs.
    let doc = gov.propose(
        "org1",
        &[
            s("add-org"),
            s("--name"),
            s("org5"),
            s("--ca"),
            org5_ca.as_os_str(),
        ],
    );
    assert_eq!(doc["state"], "open", "{doc}");
    let p = &doc["proposal"];
    assert_eq!(
        (p["yes"].as_u64(), p["no"].as_u64()),
        (Some(1), Some(0)),
        "{doc}"
    );
    assert_eq!(p["votes_needed"], 3, "{doc}");
    assert_eq!(p["members"], 4, "{doc}");
    assert_eq!(p["action"]["type"], "add_org", "{doc}");
    assert_eq!(p["votes"][0]["org"], "org1", "{doc}");
    assert_eq!(p["votes"][0]["approve"], true, "{doc}");
    let add5 = doc["id"].as_str().unwrap().to_owned();
    assert_eq!(add5.len(), 64);

    // org1 already voted (by proposing): a second vote is refused, whoever casts it.
    let o = gov.vote_as("org1", &add5, true);
    assert_eq!(failed(&o), "duplicate_vote", "{}", stderr(&o));
    // A writer may not propose.
    let o = gov.propose_as(
        &d.join("org1/writer"),
        &[
            s("set-param"),
            s("--name"),
            s("gov.proposal_ttl_ms"),
            s("--value"),
            s("3600000"),
        ],
    );
    assert_eq!(failed(&o), "permission_denied", "{}", stderr(&o));
    // Nor vote on a proposal that does not exist.
    let o = gov.vote_as("org2", &random_hex32(), true);
    assert_eq!(failed(&o), "unknown_proposal", "{}", stderr(&o));

    // org2 and org3 vote yes: 3 of 4, passed.
    let doc = gov.vote("org2", &add5, true);
    assert_eq!(doc["state"], "open", "{doc}");
    assert_eq!(doc["proposal"]["yes"], 2, "{doc}");
    let doc = gov.vote("org3", &add5, true);
    assert_eq!(doc["state"], "passed", "{doc}");
    assert_eq!(doc["proposal"]["yes"], 3, "{doc}");
    assert_eq!(doc["proposal"]["decided_at"], doc["height"], "{doc}");
    // It passed by the threshold of 4 members (3 yes); now there are 5 (4 needed).
    assert_eq!(doc["proposal"]["members"], 4, "{doc}");
    assert_eq!(doc["proposal"]["votes_needed"], 3, "{doc}");
    assert_eq!(doc["proposal"]["members_now"], 5, "{doc}");
    assert_eq!(doc["proposal"]["votes_needed_now"], 4, "{doc}");
    // A vote on a decided proposal is closed.
    let o = gov.vote_as("org4", &add5, true);
    assert_eq!(failed(&o), "proposal_closed", "{}", stderr(&o));

    let list = gov.list();
    let entry = list["proposals"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == add5.as_str())
        .unwrap_or_else(|| panic!("{add5} not listed: {list}"));
    assert_eq!(entry["state"], "passed", "{list}");
    assert!(
        list["members"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m == "org5"),
        "{list}"
    );
    let text = ok(&run(["gov", "list", "--node", gov.url.as_str()]));
    assert!(text.contains(&add5) && text.contains("passed"), "{text}");
    let text = ok(&gov.show(&add5, false));
    assert!(text.contains("add organisation org5"), "{text}");
    // `gov show` cannot know the threshold that decided it: it says the one now is now,
    // never that 4 of 5 were needed.
    assert!(!text.contains("4 yes needed of 5"), "{text}");
    assert!(
        text.contains("3 yes, 0 no; a proposal now needs 4 yes of 5 member(s)"),
        "{text}"
    );
    for org in ["org1", "org2", "org3"] {
        assert!(text.contains(org), "{text}");
    }
    let doc: Value = serde_json::from_str(&ok(&gov.show(&add5, true))).unwrap();
    assert_eq!(doc["state"], "passed", "{doc}");
    assert_eq!(doc["votes"].as_array().unwrap().len(), 3, "{doc}");
    assert_eq!(doc["votes"][2]["org"], "org3", "{doc}");
    assert_eq!(failed(&gov.show(&random_hex32(), false)), "not_found");

    // org5 is a member: a writer under its CA attests, and the receipt verifies.
    let w5 = net.path("org5-writer");
    ok(&run([
        s("cert"),
        s("issue"),
        s("--dir"),
        d.as_os_str(),
        s("--org"),
        s("org5"),
        s("--name"),
        s("w5"),
        s("--role"),
        s("writer"),
        s("--out"),
        w5.as_os_str(),
    ]));
    let (o, f, out) = gov.attest("by-org5.txt", &w5);
    ok(&o);
    net.verify(&f, &out);

    // Removing org2, which runs a validator, is refused when proposed.
    let o = gov.propose_as(
        &gov.admin("org2"),
        &[s("remove-org"), s("--name"), s("org2")],
    );
    assert_eq!(failed(&o), "org_has_validators", "{}", stderr(&o));

    // Remove org5 again: 4 of 5 yes needed.
    let doc = gov.propose("org1", &[s("remove-org"), s("--name"), s("org5")]);
    assert_eq!(doc["state"], "open", "{doc}");
    let rm5 = doc["id"].as_str().unwrap().to_owned();
    gov.vote("org2", &rm5, true);
    assert_eq!(gov.vote("org3", &rm5, true)["state"], "open");
    let o = gov.vote_text("org4", &rm5);
    let text = ok(&o);
    // The threshold that decided it (4 of 5), not the one after (3 of 4).
    assert!(
        text.contains("passed: 4 yes, 0 no (4 yes needed of 5 member(s))"),
        "{text}"
    );
    let doc: Value = serde_json::from_str(&ok(&gov.show(&rm5, true))).unwrap();
    assert_eq!(doc["state"], "passed", "{doc}");
    assert_eq!(doc["members_now"], 4, "{doc}");
    assert_eq!(doc["votes_needed"], Value::Null, "{doc}");
    // org5's writer is refused.
    let (o, _, _) = gov.attest("org5-after-removal.txt", &w5);
    assert_eq!(failed(&o), "unknown_org", "{}", stderr(&o));

    // A parameter change that two organisations vote down: rejected.
    let doc = gov.propose(
        "org1",
        &[
            s("set-param"),
            s("--name"),
            s("gov.proposal_ttl_ms"),
            s("--value"),
            s("3600000"),
        ],
    );
    let param = doc["id"].as_str().unwrap().to_owned();
    assert_eq!(gov.vote("org2", &param, false)["state"], "open");
    let doc = gov.vote("org3", &param, false);
    assert_eq!(doc["state"], "rejected", "{doc}");
    assert_eq!(doc["proposal"]["no"], 2, "{doc}");
    let text = ok(&gov.show(&param, false));
    assert!(text.contains("rejected"), "{text}");
    assert_eq!(gov.list()["votes_needed"], 3, "4 members again");

    // org1's writer attests; then org2 proposes to revoke its certificate, org3 and org4
    // agree, and its next transaction is refused.
    let writer1 = d.join("org1/writer");
    let (o, _, _) = gov.attest("org1-before.txt", &writer1);
    ok(&o);
    // A writer holding an ECDSA P-256 key (which intl user certificates may) attests on the
    // live network, and its receipt verifies offline.
    let p256_writer = net.path("org2-p256-writer");
    ok(&run([
        s("cert"),
        s("issue"),
        s("--dir"),
        d.as_os_str(),
        s("--org"),
        s("org2"),
        s("--name"),
        s("pat"),
        s("--role"),
        s("writer"),
        s("--key-type"),
        s("p256"),
        s("--out"),
        p256_writer.as_os_str(),
    ]));
    assert!(
        std::fs::read_to_string(p256_writer.join("key.pem"))
            .unwrap()
            .contains("BEGIN PRIVATE KEY")
    );
    let (o, f, out) = gov.attest("p256.txt", &p256_writer);
    ok(&o);
    net.verify(&f, &out);
    let cert1 = writer1.join("cert.pem");
    let doc = gov.propose(
        "org2",
        &[
            s("revoke-cert"),
            s("--cert"),
            cert1.as_os_str(),
            s("--reason"),
            s("key-compromise"),
        ],
    );
    assert_eq!(doc["proposal"]["action"]["type"], "revoke_cert", "{doc}");
    let revoke = doc["id"].as_str().unwrap().to_owned();
    // org3 votes and keeps the vote's receipt, which verifies offline from the genesis.
    let vote_receipt = net.path("vote-org3.json");
    let o = run([
        s("gov"),
        s("vote"),
        s("--node"),
        s(&gov.url),
        s("--identity"),
        gov.admin("org3").as_os_str(),
        s("--proposal"),
        s(&revoke),
        s("--yes"),
        s("--receipt"),
        vote_receipt.as_os_str(),
    ]);
    let out = ok(&o);
    assert!(out.contains("receipt written to"), "{out}");
    transaction_receipt_checks(net, &vote_receipt, "vote");
    audit_note_checks(&gov, &revoke);
    let doc = gov.vote("org4", &revoke, true);
    assert_eq!(doc["state"], "passed", "{doc}");
    let (o, _, _) = gov.attest("org1-after.txt", &writer1);
    assert_eq!(failed(&o), "cert_revoked", "{}", stderr(&o));
    // Other organisations' writers are unaffected.
    let (o, _, _) = gov.attest("org2-after.txt", &d.join("org2/writer"));
    ok(&o);

    // Every proposal is listed with its final state.
    let list = gov.list();
    let states: Vec<(&str, &str)> = list["proposals"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["id"].as_str().unwrap(), p["state"].as_str().unwrap()))
        .collect();
    assert_eq!(
        states,
        [
            (add5.as_str(), "passed"),
            (rm5.as_str(), "passed"),
            (param.as_str(), "rejected"),
            (revoke.as_str(), "passed"),
        ],
        "{list}"
    );
}

/// `kexin verify --receipt R --genesis G` accepts a transaction receipt of `kind`, and
/// refuses it once its payload or its certificate is altered, or when given a FILE.
fn transaction_receipt_checks(net: &Net, receipt: &Path, kind: &str) {
    let genesis = net.genesis();
    let verify = |r: &Path, json: bool| {
        let mut args = vec![
            s("verify").to_os_string(),
            "--receipt".into(),
            r.into(),
            "--genesis".into(),
            genesis.clone().into(),
        ];
        if json {
            args.push("--json".into());
        }
        run(args)
    };
    let out = ok(&verify(receipt, false));
    assert!(
        out.contains("OK: the receipt proves transaction") && out.contains(&format!("({kind})")),
        "{out}"
    );
    let doc: Value = serde_json::from_str(&ok(&verify(receipt, true))).unwrap();
    assert_eq!(doc["ok"], true, "{doc}");
    assert_eq!(doc["kind"], kind, "{doc}");
    assert_eq!(doc["payload_check"], "checked", "{doc}");
    let text = std::fs::read_to_string(receipt).unwrap();
    let original: Value = serde_json::from_str(&text).unwrap();
    // A vote turned from yes to no, or a note's text changed.
    let mut forged = original.clone();
    match kind {
        "vote" => forged["payload"]["approve"] = Value::Bool(false),
        _ => forged["payload"]["text"] = Value::String("nothing to see here".into()),
    }
    let path = net.path(&format!("forged-{kind}.json"));
    write(&path, forged.to_string().as_bytes());
    assert_eq!(failed(&verify(&path, false)), "payload_mismatch");
    // The certificate stripped of a signature.
    let mut weak = original.clone();
    let sigs = weak["certificate"]["signatures"]
        .as_array_mut()
        .expect("a finalization carries signatures");
    sigs.truncate(1);
    write(&path, weak.to_string().as_bytes());
    assert_eq!(failed(&verify(&path, false)), "bad_certificate");
    // A transaction receipt is not for a file.
    let o = run([
        s("verify"),
        genesis.as_os_str(),
        s("--receipt"),
        receipt.as_os_str(),
        s("--genesis"),
        genesis.as_os_str(),
    ]);
    assert_eq!(failed(&o), "usage");
}

/// An auditor of org2 writes an audit note about `subject`; a writer cannot; the note's
/// text is shown to the auditor, not to anonymous readers.
fn audit_note_checks(gov: &Gov<'_>, subject: &str) {
    let d = &gov.net.dir;
    let auditor = gov.net.path("org2-auditor");
    ok(&run([
        s("cert"),
        s("issue"),
        s("--dir"),
        d.as_os_str(),
        s("--org"),
        s("org2"),
        s("--name"),
        s("regulator"),
        s("--role"),
        s("auditor"),
        s("--out"),
        auditor.as_os_str(),
    ]));
    let note = |identity: &Path, receipt: &Path| {
        run([
            s("audit"),
            s("note"),
            s("--node"),
            s(&gov.url),
            s("--identity"),
            identity.as_os_str(),
            s("--subject"),
            s(subject),
            s("--text"),
            s("Reviewed the revocation request: justified (ticket 88)."),
            s("--receipt"),
            receipt.as_os_str(),
            s("--json"),
        ])
    };
    let by_writer = note(&d.join("org1/writer"), &gov.net.path("no-note.json"));
    assert_eq!(failed(&by_writer), "permission_denied");
    assert!(
        stderr(&by_writer).contains("audit.note"),
        "{}",
        stderr(&by_writer)
    );
    let receipt = gov.net.path("note.json");
    let doc: Value = serde_json::from_str(&ok(&note(&auditor, &receipt))).unwrap();
    assert_eq!(doc["org"], "org2", "{doc}");
    assert_eq!(doc["subject"], subject, "{doc}");
    transaction_receipt_checks(gov.net, &receipt, "audit_note");
    let note_tx = doc["tx_hash"].clone();
    let notes = |identity: Option<&Path>| {
        let mut args = vec![
            s("audit").to_os_string(),
            "notes".into(),
            "--node".into(),
            gov.url.clone().into(),
            subject.into(),
            "--json".into(),
        ];
        if let Some(i) = identity {
            args.extend(["--identity".into(), i.into()]);
        }
        let doc: Value = serde_json::from_str(&ok(&run(args))).unwrap();
        assert_eq!(doc["notes"].as_array().unwrap().len(), 1, "{doc}");
        assert_eq!(doc["notes"][0]["tx_hash"], note_tx, "{doc}");
        assert_eq!(doc["notes"][0]["org"], "org2", "{doc}");
        doc["notes"][0]["text"].as_str().unwrap().to_owned()
    };
    assert_eq!(notes(None), "withheld");
    assert_eq!(
        notes(Some(&auditor)),
        "Reviewed the revocation request: justified (ticket 88)."
    );
    assert_eq!(notes(Some(&d.join("org1/writer"))), "withheld");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn governance_by_vote_on_a_four_org_consortium() {
    let _serial = SERIAL.lock().await;
    let mut net = Net::up("intl", 4);
    net.wait_healthy().await;
    governance_scenario(&net).await;
    net.down().await;
}

/// Mistakes caught before any node is asked (none listens at the URL given).
#[test]
fn usage_mistakes_need_no_node() {
    let node = "http://127.0.0.1:9";
    // No identity: a usage error (exit status 2), as clap gives.
    let o = run([
        "gov",
        "propose",
        "--node",
        node,
        "remove-org",
        "--name",
        "org2",
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("--identity"), "{}", stderr(&o));
    // Neither --yes nor --no, or both.
    for extra in [&[][..], &["--yes", "--no"][..]] {
        let mut args = vec![
            "gov",
            "vote",
            "--node",
            node,
            "--identity",
            "x",
            "--proposal",
        ];
        args.push("00");
        args.extend_from_slice(extra);
        assert_eq!(run(&args).status.code(), Some(2));
    }
    // A parameter that does not exist, or a value out of its range.
    for (name, value) in [("gov.nope", "1"), ("gov.threshold_den", "1")] {
        let o = run([
            "gov",
            "propose",
            "--node",
            node,
            "--identity",
            "x",
            "set-param",
            "--name",
            name,
            "--value",
            value,
        ]);
        assert_eq!(failed(&o), "malformed", "{}", stderr(&o));
    }
    // A proposal id that is not one.
    let o = run([
        "gov",
        "vote",
        "--node",
        node,
        "--identity",
        "x",
        "--proposal",
        "zz",
        "--yes",
    ]);
    assert_eq!(failed(&o), "bad_hash", "{}", stderr(&o));
    let o = run(["gov", "show", "--node", node, "12"]);
    assert_eq!(failed(&o), "bad_hash", "{}", stderr(&o));
    // A CA file that does not exist.
    let o = run([
        "gov",
        "propose",
        "--node",
        node,
        "--identity",
        "x",
        "add-org",
        "--name",
        "org5",
        "--ca",
        "/nonexistent/ca.pem",
    ]);
    assert_eq!(failed(&o), "io", "{}", stderr(&o));
}
