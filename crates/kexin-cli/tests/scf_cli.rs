//! Supply-chain finance end to end through the real binary on a 4-validator consortium made by
//! `kexin net up`: org1 (a core enterprise, also the platform operator) deploys the receivables
//! contract and the consortium names it `scf`; org1 issues a receivable against an attested
//! invoice to org2 (a tier-1 supplier), confirms it; org2 splits it, transfers a part to org3
//! (tier 2) and has the other financed by org4 (a bank); at maturity org1 settles one part and
//! the other shows overdue. Refusals print the contract's reason with a stable code.

mod common;

use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::*;
use serde_json::Value;

async fn story(suite: &str) {
    let mut net = Net::up(suite, 4);
    net.wait_healthy().await;
    let url = net.url(0);
    let d = net.dir.clone();
    let id = |org: &str, role: &str| d.join(org).join(role);
    let run = |args: &[&str], identity: Option<&Path>| kexin_at(&url, args, identity);
    let json = |o: &std::process::Output| -> Value { serde_json::from_str(&ok(o)).unwrap() };

    // Before deployment, the commands say what is missing.
    let out = run(&["scf", "show", "1"], None);
    assert_eq!(failed(&out), "not_named", "{}", stderr(&out));

    // org1's admin deploys and proposes the name; org2 and org3 vote it through.
    let deployed = json(&run(
        &["scf", "deploy", "--json"],
        Some(&id("org1", "admin")),
    ));
    let proposal = deployed["name_proposal"].as_str().unwrap().to_owned();
    for org in ["org2", "org3"] {
        ok(&run(
            &["gov", "vote", "--proposal", &proposal, "--yes"],
            Some(&id(org, "admin")),
        ));
    }
    let named: Value =
        serde_json::from_str(&ok(&run(&["contract", "show", "scf", "--json"], None))).unwrap();
    assert_eq!(named["address"], deployed["address"], "{named}");

    // Onboarding by the operator's admin; another organisation's admin is refused.
    for (org, flag) in [
        ("org1", "--core"),
        ("org2", "--supplier"),
        ("org3", "--supplier"),
        ("org4", "--financier"),
    ] {
        ok(&run(
            &["scf", "roles", org, flag],
            Some(&id("org1", "admin")),
        ));
    }
    let out = run(
        &["scf", "roles", "org2", "--core"],
        Some(&id("org2", "admin")),
    );
    assert_eq!(failed(&out), "contract_reverted");
    assert!(
        stderr(&out).contains("only the platform operator org1's admins set roles"),
        "{}",
        stderr(&out)
    );

    // The invoice is attested; the receivable is issued against it, maturing in 40 s.
    let invoice = net.path("invoice-2026-0042.pdf");
    write(
        &invoice,
        b"%PDF invoice 2026-0042: 1,000.00 CNY for 200 valves",
    );
    let receipt = net.attest(0, &invoice, &net.path("receipts"));
    let digest = receipt["record"]["digest"].as_str().unwrap().to_owned();
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let maturity_at = now + 40;
    let maturity = kexin_types::time::rfc3339_ms(maturity_at * 1000)[..19].to_owned() + "Z";
    let issue = |amount: &str, doc: &str| {
        run(
            &[
                "scf",
                "issue",
                "--to",
                "org2",
                "--amount",
                amount,
                "--currency",
                "CNY",
                "--maturity",
                &maturity,
                "--doc",
                doc,
            ],
            Some(&id("org1", "writer")),
        )
    };
    let out = issue("100000", &"ab".repeat(32));
    assert_eq!(failed(&out), "contract_reverted");
    assert!(
        stderr(&out).contains("is not attested on the chain"),
        "{}",
        stderr(&out)
    );
    let rid = ok(&issue("100000", &digest)).trim().to_owned();
    assert_eq!(rid, "1");

    // Confirmation by the debtor's admin only.
    let out = run(&["scf", "confirm", "1"], Some(&id("org2", "admin")));
    assert_eq!(failed(&out), "contract_reverted");
    assert!(
        stderr(&out).contains("only the debtor org1 may confirm receivable 1"),
        "{}",
        stderr(&out)
    );
    ok(&run(&["scf", "confirm", "1"], Some(&id("org1", "admin"))));

    // Split: the parts must add up.
    let out = run(
        &["scf", "split", "1", "--parts", "60000,30000"],
        Some(&id("org2", "writer")),
    );
    assert_eq!(failed(&out), "contract_reverted");
    assert!(
        stderr(&out).contains("split amounts 60000 + 30000 do not add up to 100000"),
        "{}",
        stderr(&out)
    );
    let split = json(&run(
        &["scf", "split", "1", "--parts", "60000,40000", "--json"],
        Some(&id("org2", "writer")),
    ));
    assert_eq!(split["parts"], serde_json::json!([2, 3]), "{split}");

    // Part 2 goes to the tier-2 supplier; only its holder moves it afterwards.
    ok(&run(
        &["scf", "transfer", "2", "--to", "org3"],
        Some(&id("org2", "writer")),
    ));
    let out = run(
        &["scf", "transfer", "2", "--to", "org2"],
        Some(&id("org2", "writer")),
    );
    assert!(
        stderr(&out).contains("only the holder org3 may transfer receivable 2; org2 is not"),
        "{}",
        stderr(&out)
    );

    // Part 3 is financed by the bank at 3.5 %.
    ok(&run(
        &["scf", "finance", "3", "--to", "org4", "--rate", "3.5"],
        Some(&id("org2", "writer")),
    ));
    ok(&run(&["scf", "accept", "3"], Some(&id("org4", "writer"))));
    let out = run(
        &["scf", "finance", "3", "--to", "org4", "--rate", "101"],
        Some(&id("org4", "writer")),
    );
    assert_eq!(failed(&out), "invalid_rate");

    // At maturity the debtor settles part 2; part 3 stays unsettled and shows overdue.
    let out = run(
        &["scf", "settle", "2", "--payment-ref", "CNAPS-20261207-01"],
        Some(&id("org1", "admin")),
    );
    assert!(
        stderr(&out).contains("receivable 2 matures at"),
        "{}",
        stderr(&out)
    );
    let wait = maturity_at.saturating_sub(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs(),
    ) + 3;
    tokio::time::sleep(Duration::from_secs(wait)).await;
    // A block past maturity: any transaction moves the chain's time on.
    let mut settled = run(
        &["scf", "settle", "2", "--payment-ref", "CNAPS-20261207-01"],
        Some(&id("org1", "admin")),
    );
    for _ in 0..10 {
        if settled.status.success() {
            break;
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
        settled = run(
            &["scf", "settle", "2", "--payment-ref", "CNAPS-20261207-01"],
            Some(&id("org1", "admin")),
        );
    }
    ok(&settled);

    let show = |n: &str| json(&run(&["scf", "show", n, "--json"], None));
    let p2 = show("2");
    assert_eq!(
        (
            p2["status"].as_str(),
            p2["holder"].as_str(),
            p2["payment_ref"].as_str()
        ),
        (Some("settled"), Some("org3"), Some("CNAPS-20261207-01")),
        "{p2}"
    );
    assert_eq!(
        (p2["parent"].as_u64(), p2["root"].as_u64()),
        (Some(1), Some(1)),
        "{p2}"
    );
    let p3 = show("3");
    assert_eq!(
        (
            p3["status"].as_str(),
            p3["holder"].as_str(),
            p3["financier"].as_str(),
            p3["rate_bps"].as_u64()
        ),
        (Some("overdue"), Some("org4"), Some("org4"), Some(350)),
        "{p3}"
    );
    let root = show("1");
    assert_eq!(root["status"], "split", "{root}");
    assert_eq!(root["children"], serde_json::json!([2, 3]), "{root}");
    assert_eq!(root["docs"], serde_json::json!([digest]), "{root}");
    let text = ok(&run(&["scf", "show", "3"], None));
    assert!(
        text.contains("financed by  org4 at 350 basis points")
            && text.contains("status       overdue"),
        "{text}"
    );
    let held: Value = serde_json::from_str(&ok(&run(
        &["scf", "list", "--holder", "org4", "--json"],
        None,
    )))
    .unwrap();
    let ids: Vec<u64> = held
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_u64().unwrap())
        .collect();
    assert_eq!(ids, [3], "{held}");

    // The bank's offline proof: org4 holds part 3, 40,000 CNY owed by org1, financed at
    // 3.5%, at a height; checked against the genesis alone, and refused once tampered with.
    let proof = net.path("holding-3.json");
    let claim = json(&run(
        &[
            "scf",
            "prove",
            "3",
            "--out",
            proof.to_str().unwrap(),
            "--json",
        ],
        None,
    ));
    assert_eq!(
        (
            claim["holder"].as_str(),
            claim["amount"].as_str(),
            claim["currency"].as_str(),
            claim["debtor"].as_str(),
            claim["state"].as_str(),
            claim["financed"].as_bool(),
            claim["rate_bps"].as_u64(),
            claim["parent"].as_u64(),
        ),
        (
            Some("org4"),
            Some("40000"),
            Some("CNY"),
            Some("org1"),
            Some("confirmed"),
            Some(true),
            Some(350),
            Some(1)
        ),
        "{claim}"
    );
    assert_eq!(claim["maturity"].as_u64(), Some(maturity_at), "{claim}");
    assert_eq!(claim["name"], "scf", "{claim}");
    let genesis = net.genesis();
    let verify = |file: &Path| {
        run(
            &[
                "scf",
                "verify-holding",
                file.to_str().unwrap(),
                "--genesis",
                genesis.to_str().unwrap(),
                "--json",
            ],
            None,
        )
    };
    let verified = json(&verify(&proof));
    assert_eq!(verified, claim);
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(&proof).unwrap()).unwrap();
    let tampered = net.path("tampered.json");
    for (what, edit, reason) in [
        (
            "another holder",
            &(|d: &mut Value| d["claim"]["holder"] = "org2".into()) as &dyn Fn(&mut Value),
            "the holder at that block is not \"org2\"",
        ),
        (
            "a larger amount",
            &|d: &mut Value| d["claim"]["amount"] = "400000".into(),
            "the claim does not match the proven state",
        ),
        (
            "proofs swapped",
            &|d: &mut Value| {
                let holder = d["proofs"]["holder"].clone();
                d["proofs"]["holder"] = d["proofs"]["amount"].clone();
                d["proofs"]["amount"] = holder;
            },
            "the holder proof is of another slot",
        ),
        (
            "another contract's name binding",
            &|d: &mut Value| {
                d["claim"]["contract"] = "0x00000000000000000000000000000000000000aa".into()
            },
            "the holder proof is of another slot",
        ),
        (
            "the name proof swapped for a storage proof",
            &|d: &mut Value| d["proofs"]["name"] = d["proofs"]["amount"].clone(),
            "the name proof is of namespace 11, not 13",
        ),
        (
            "a forged word",
            &|d: &mut Value| {
                d["proofs"]["amount"]["value_hex"] = format!("{:064x}", 400_000).into()
            },
            "the amount proof does not verify",
        ),
    ] {
        let mut d = doc.clone();
        edit(&mut d);
        std::fs::write(&tampered, d.to_string()).unwrap();
        let out = verify(&tampered);
        assert_eq!(
            failed(&out),
            "bad_holding_proof",
            "{what}: {}",
            stderr(&out)
        );
        assert!(stderr(&out).contains(reason), "{what}: {}", stderr(&out));
    }
    net.down().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receivable_is_issued_split_transferred_financed_and_settled_intl() {
    story("intl").await;
}
