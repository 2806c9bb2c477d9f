//! Traceability end to end through the real binary on a 4-validator consortium made by
//! `kexin net up`: org1 (a producer, also the platform operator) deploys the traceability
//! contract and the consortium names it `trace`; a batch is registered and its history
//! recorded by each role (an inspection with the attested lab report), a regulator recalls it,
//! and a sale after the recall is refused with the contract's reason.

mod common;

use std::path::Path;

use common::*;
use serde_json::Value;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_is_traced_from_production_to_sale_and_recalled() {
    let mut net = Net::up("gm", 4);
    net.wait_healthy().await;
    let url = net.url(0);
    let d = net.dir.clone();
    let id = |org: &str, role: &str| d.join(org).join(role);
    let run = |args: &[&str], identity: Option<&Path>| kexin_at(&url, args, identity);

    let out = run(&["trace", "show", "GOJI-1"], None);
    assert_eq!(failed(&out), "not_named", "{}", stderr(&out));
    let deployed: Value = serde_json::from_str(&ok(&run(
        &["trace", "deploy", "--json"],
        Some(&id("org1", "admin")),
    )))
    .unwrap();
    let proposal = deployed["name_proposal"].as_str().unwrap().to_owned();
    for org in ["org2", "org3"] {
        ok(&run(
            &["gov", "vote", "--proposal", &proposal, "--yes"],
            Some(&id(org, "admin")),
        ));
    }
    for (org, flags) in [
        ("org1", &["--producer"][..]),
        ("org2", &["--inspector", "--regulator"][..]),
        ("org3", &["--logistics"][..]),
        ("org4", &["--retailer"][..]),
    ] {
        let mut a = vec!["trace", "roles", org];
        a.extend_from_slice(flags);
        ok(&run(&a, Some(&id("org1", "admin"))));
    }

    let batch = "GOJI-2026-001";
    ok(&run(
        &[
            "trace",
            "register",
            batch,
            "--name",
            "Goji berries, 500 g",
            "--attributes",
            "origin=Ningxia; grade=A",
        ],
        Some(&id("org1", "writer")),
    ));
    let out = run(
        &["trace", "register", "GOJI 1", "--name", "x"],
        Some(&id("org1", "writer")),
    );
    assert_eq!(failed(&out), "contract_reverted");
    assert!(
        stderr(&out).contains("character 5 is not"),
        "{}",
        stderr(&out)
    );

    let report = net.path("lab-report.pdf");
    write(
        &report,
        b"%PDF lab report GOJI-2026-001: residues within limits",
    );
    let digest = net.attest(1, &report, &net.path("receipts"))["record"]["digest"]
        .as_str()
        .unwrap()
        .to_owned();
    let event = |kind: &str, extra: &[&str], who: &Path| {
        let mut a = vec!["trace", "event", batch, "--kind", kind];
        a.extend_from_slice(extra);
        run(&a, Some(who))
    };
    ok(&event(
        "production",
        &["--note", "harvested"],
        &id("org1", "writer"),
    ));
    let out = event("inspection", &[], &id("org2", "writer"));
    assert!(
        stderr(&out).contains("an inspection needs the attested report's digest"),
        "{}",
        stderr(&out)
    );
    ok(&event(
        "inspection",
        &["--doc", &digest, "--note", "passed"],
        &id("org2", "writer"),
    ));
    let out = event("shipment", &[], &id("org4", "writer"));
    assert!(
        stderr(&out).contains("org4 is not registered as a logistics provider"),
        "{}",
        stderr(&out)
    );
    ok(&event("shipment", &[], &id("org3", "writer")));
    ok(&event("receipt", &[], &id("org4", "writer")));
    assert_eq!(
        failed(&event("delivery", &[], &id("org4", "writer"))),
        "invalid_kind"
    );

    ok(&run(
        &["trace", "recall", batch, "--reason", "mould in samples"],
        Some(&id("org2", "writer")),
    ));
    let out = event("sale", &[], &id("org4", "writer"));
    assert_eq!(failed(&out), "contract_reverted");
    assert!(
        stderr(&out).contains("is recalled (mould in samples): it cannot be sold"),
        "{}",
        stderr(&out)
    );

    let shown: Value =
        serde_json::from_str(&ok(&run(&["trace", "show", batch, "--json"], None))).unwrap();
    let kinds: Vec<&str> = shown["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        ["production", "inspection", "shipment", "receipt"],
        "{shown}"
    );
    assert_eq!(shown["history"][1]["doc"], digest, "{shown}");
    assert_eq!(shown["history"][1]["org"], "org2", "{shown}");
    assert_eq!(
        (shown["recalled"].as_bool(), shown["recalled_by"].as_str()),
        (Some(true), Some("org2")),
        "{shown}"
    );
    let text = ok(&run(&["trace", "show", batch], None));
    assert!(
        text.contains("RECALLED     by org2") && text.contains("inspection  org2"),
        "{text}"
    );
    assert!(shown["recalled_height"].as_u64() > shown["history"][3]["height"].as_u64());

    // The label: the trace page's address as a QR code, PNG or SVG by the extension; only for
    // a registered batch (unless offline), never for an id that cannot be in a URL.
    let labels = tempfile::tempdir().unwrap();
    let png = labels.path().join("label.png");
    let out = run(
        &["trace", "qr", batch, "--out", png.to_str().unwrap()],
        None,
    );
    assert_eq!(
        ok(&out).trim(),
        format!("{}/explorer/trace/{batch}", url.trim_end_matches('/'))
    );
    let bytes = std::fs::read(&png).unwrap();
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
    let svg = labels.path().join("label.svg");
    let json: Value = serde_json::from_str(&ok(&run(
        &[
            "trace",
            "qr",
            batch,
            "--out",
            svg.to_str().unwrap(),
            "--base-url",
            "https://trace.example.com",
            "--json",
        ],
        None,
    )))
    .unwrap();
    assert_eq!(
        json["url"],
        format!("https://trace.example.com/explorer/trace/{batch}")
    );
    assert!(std::fs::read_to_string(&svg).unwrap().contains("<svg"));
    let missing = labels.path().join("missing.png");
    let out = run(
        &[
            "trace",
            "qr",
            "NO-SUCH-1",
            "--out",
            missing.to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(failed(&out), "contract_reverted", "{}", stderr(&out));
    assert!(
        stderr(&out).contains("no product NO-SUCH-1"),
        "{}",
        stderr(&out)
    );
    assert!(!missing.exists());
    ok(&run(
        &[
            "trace",
            "qr",
            "NO-SUCH-1",
            "--offline",
            "--out",
            missing.to_str().unwrap(),
        ],
        None,
    ));
    assert!(missing.exists());
    for (args, code) in [
        (&["GOJI/1", "--out", "x.png"][..], "invalid_argument"),
        (&[batch, "--out", "label.gif"][..], "invalid_argument"),
    ] {
        let mut a = vec!["trace", "qr"];
        a.extend_from_slice(args);
        assert_eq!(failed(&run(&a, None)), code, "{args:?}");
    }
    net.down().await;
}
