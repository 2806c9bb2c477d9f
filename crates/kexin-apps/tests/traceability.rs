//! The traceability contract (`contracts/trace/Traceability.sol`) executed by the real
//! executor on a consortium of five organisations, both suites: onboarding, registration,
//! each kind of event by the roles allowed to record it (an inspection with its attested
//! report), the order of the history, a recall by a regulator that stops sales, and every
//! refusal with its reason.

mod common;

use common::consortium::*;
use common::{App, b32};
use kexin_crypto::{Hash, Suite};
use kexin_types::Role;

use ITrace::*;
use kexin_apps::trace::ITrace;

use kexin_apps::trace::{INSPECTOR, LOGISTICS, PRODUCER, REGULATOR, RETAILER};

const PRODUCTION: u8 = 1;
const INSPECTION: u8 = 2;
const SHIPMENT: u8 = 3;
const RECEIPT: u8 = 4;
const SALE: u8 = 5;

fn story(suite: Suite) {
    let orgs = [
        Org::new(suite, "org1", 101),
        Org::new(suite, "org2", 102),
        Org::new(suite, "org3", 103),
        Org::new(suite, "org4", 104),
        Org::new(suite, "org5", 105),
    ];
    let chain = consortium(suite, &orgs.iter().collect::<Vec<_>>());
    let mut admin1 = orgs[0].issue(suite, "admin1", Role::Admin, 11);
    let mut farm = orgs[0].issue(suite, "farm", Role::Writer, 12);
    let mut lab = orgs[1].issue(suite, "lab", Role::Writer, 22);
    let mut truck = orgs[2].issue(suite, "truck", Role::Writer, 32);
    let mut shop = orgs[3].issue(suite, "shop", Role::Writer, 42);
    let mut samr = orgs[4].issue(suite, "samr", Role::Writer, 52);
    let mut admin2 = orgs[1].issue(suite, "admin2", Role::Admin, 21);

    let mut t = App::deploy(chain, &mut admin1, "Traceability");
    let roles = |org: &str, r: u8| setRolesCall {
        org: org.into(),
        newRoles: r,
    };
    t.refused(
        &mut admin2,
        roles("org2", PRODUCER),
        "only the platform operator org1's admins set roles; org2 is not the operator",
    );
    t.refused(&mut admin1, roles("org2", 32), "unknown roles 32");
    for (org, r) in [
        ("org1", PRODUCER),
        ("org2", INSPECTOR),
        ("org3", LOGISTICS),
        ("org4", RETAILER),
        ("org5", REGULATOR),
    ] {
        t.ok(&mut admin1, roles(org, r));
    }

    // Registration: by a producer, with an id fit for a URL.
    let register = |id: &str| registerCall {
        productId: id.into(),
        name: "Goji berries, 500 g".into(),
        attributes: "origin=Ningxia; grade=A".into(),
    };
    t.refused(
        &mut lab,
        register("GOJI-2026-001"),
        "org2 is not registered as a producer",
    );
    t.refused(
        &mut farm,
        register(""),
        "a product id is 1 to 64 characters",
    );
    t.refused(&mut farm, register("GOJI 2026"), "character 5 is not");
    t.refused(&mut farm, register("GOJI/1"), "character 5 is not");
    t.refused(
        &mut farm,
        register(&"x".repeat(65)),
        "a product id is 1 to 64 characters",
    );
    t.ok(&mut farm, register("GOJI-2026-001"));
    t.refused(
        &mut farm,
        register("GOJI-2026-001"),
        "product GOJI-2026-001 is already registered by org1",
    );
    let b = t.view(
        &shop,
        batchCall {
            productId: "GOJI-2026-001".into(),
        },
    );
    assert_eq!(
        (b.producer.as_str(), b.recalled, b.eventCount),
        ("org1", false, alloy_sol_types::private::U256::ZERO)
    );
    // Registered by the block before the refused attempt; not recalled.
    assert_eq!(
        (b.registeredHeight, b.recalledHeight),
        (t.chain.height - 1, 0)
    );

    // The history, each event by its role.
    let report = t.attest(
        &mut lab,
        "lab report GOJI-2026-001: pesticide residue within limits",
    );
    let unattested = suite.hash(b"a report nobody attested");
    let ev = |kind: u8, doc: Hash, note: &str| traceCall {
        productId: "GOJI-2026-001".into(),
        kind,
        doc: b32(doc),
        note: note.into(),
    };
    t.refused(
        &mut lab,
        ev(PRODUCTION, Hash::ZERO, ""),
        "only the producer org1 records production of GOJI-2026-001",
    );
    t.ok(&mut farm, ev(PRODUCTION, Hash::ZERO, "harvested and dried"));
    t.refused(
        &mut truck,
        ev(INSPECTION, report, ""),
        "org3 is not registered as an inspector",
    );
    t.refused(
        &mut lab,
        ev(INSPECTION, Hash::ZERO, ""),
        "an inspection needs the attested report's digest",
    );
    t.refused(
        &mut lab,
        ev(INSPECTION, unattested, ""),
        &format!(
            "document 0x{} is not attested on the chain",
            unattested.to_hex()
        ),
    );
    t.ok(&mut lab, ev(INSPECTION, report, "passed"));
    t.refused(
        &mut shop,
        ev(SHIPMENT, Hash::ZERO, ""),
        "org4 is not registered as a logistics provider",
    );
    t.ok(
        &mut truck,
        ev(SHIPMENT, Hash::ZERO, "cold chain, Yinchuan to Shanghai"),
    );
    t.refused(
        &mut lab,
        ev(RECEIPT, Hash::ZERO, ""),
        "org2 is not registered as a logistics provider or retailer",
    );
    t.ok(&mut shop, ev(RECEIPT, Hash::ZERO, "received at store 12"));
    t.refused(
        &mut truck,
        ev(SALE, Hash::ZERO, ""),
        "org3 is not registered as a retailer",
    );
    t.refused(&mut shop, ev(9, Hash::ZERO, ""), "unknown event kind 9");
    t.refused(
        &mut shop,
        ev(SALE, Hash::ZERO, &"n".repeat(257)),
        "a note is at most 256 bytes",
    );
    let index = t.ok(&mut shop, ev(SALE, Hash::ZERO, "sold"));
    assert_eq!(index, alloy_sol_types::private::U256::from(4));
    let unknown = traceCall {
        productId: "NOPE-1".into(),
        kind: SALE,
        doc: b32(Hash::ZERO),
        note: String::new(),
    };
    t.refused(&mut shop, unknown, "no product NOPE-1");

    let history = t.view(
        &samr,
        eventsCall {
            productId: "GOJI-2026-001".into(),
        },
    );
    let kinds: Vec<u8> = history.iter().map(|e| e.kind).collect();
    assert_eq!(kinds, [PRODUCTION, INSPECTION, SHIPMENT, RECEIPT, SALE]);
    let orgs_seen: Vec<&str> = history.iter().map(|e| e.org.as_str()).collect();
    assert_eq!(orgs_seen, ["org1", "org2", "org3", "org4", "org4"]);
    assert_eq!(history[1].doc, b32(report));
    assert!(
        history
            .windows(2)
            .all(|w| w[0].height < w[1].height && w[0].at <= w[1].at),
        "in order"
    );
    assert_eq!(history[0].note, "harvested and dried");

    // A recall: by the producer or a regulator, once; a recalled batch is not sold.
    let recall = |reason: &str| recallCall {
        productId: "GOJI-2026-001".into(),
        reason: reason.into(),
    };
    t.refused(
        &mut shop,
        recall("bad"),
        "only the producer org1 or a regulator may recall GOJI-2026-001; org4 is neither",
    );
    t.refused(&mut samr, recall(""), "a recall reason is 1 to 256 bytes");
    t.ok(&mut samr, recall("mould found in batch samples"));
    let recall_height = t.chain.height;
    t.refused(
        &mut farm,
        recall("again"),
        "product GOJI-2026-001 was already recalled by org5",
    );
    t.refused(
        &mut shop,
        ev(SALE, Hash::ZERO, ""),
        "product GOJI-2026-001 is recalled (mould found in batch samples): it cannot be sold",
    );
    // Other events still record what happens to it (the goods going back).
    t.ok(
        &mut truck,
        ev(SHIPMENT, Hash::ZERO, "returned to the producer"),
    );
    let b = t.view(
        &shop,
        batchCall {
            productId: "GOJI-2026-001".into(),
        },
    );
    assert!(b.recalled);
    assert_eq!(b.recalledHeight, recall_height);
    assert_eq!(
        (b.recalledBy.as_str(), b.recallReason.as_str()),
        ("org5", "mould found in batch samples")
    );
    assert_eq!(b.eventCount, alloy_sol_types::private::U256::from(6));
    // The producer may recall its own batch.
    t.ok(&mut farm, register("GOJI-2026-002"));
    t.ok(
        &mut farm,
        recallCall {
            productId: "GOJI-2026-002".into(),
            reason: "packaging defect".into(),
        },
    );
    assert_eq!(
        t.view(&shop, countCall {}),
        alloy_sol_types::private::U256::from(2)
    );
}

#[test]
fn traceability_follows_every_rule_intl() {
    story(Suite::Intl);
}

#[test]
fn traceability_follows_every_rule_gm() {
    story(Suite::Gm);
}
