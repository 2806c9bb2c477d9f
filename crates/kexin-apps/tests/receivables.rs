//! The receivables contract (`contracts/scf/Receivables.sol`) executed by the real executor on
//! a consortium of four organisations, both suites: every rule of the lifecycle (onboarding,
//! issue against attested documents, confirm or reject, split, transfer, finance, settle,
//! overdue) and every refusal, with the reason the contract gives.

mod common;

use alloy_sol_types::{SolCall, SolEvent};
use common::consortium::*;
use common::{App, b32, u};
use kexin_crypto::{Hash, Suite};
use kexin_types::{Payload, RevocationReason, Role};

use IReceivables::*;
use kexin_apps::scf::IReceivables;

use kexin_apps::scf::{CORE, FINANCIER, SUPPLIER};

fn get(scf: &App, who: &Id, id: u64) -> View {
    scf.view(who, getCall { id: u(id) })
}

fn story(suite: Suite) {
    let orgs = [
        Org::new(suite, "org1", 101),
        Org::new(suite, "org2", 102),
        Org::new(suite, "org3", 103),
        Org::new(suite, "org4", 104),
    ];
    let chain = consortium(suite, &orgs.iter().collect::<Vec<_>>());
    let mut admin1 = orgs[0].issue(suite, "admin1", Role::Admin, 11);
    let mut writer1 = orgs[0].issue(suite, "clerk1", Role::Writer, 12);
    let mut admin2 = orgs[1].issue(suite, "admin2", Role::Admin, 21);
    let mut writer2 = orgs[1].issue(suite, "clerk2", Role::Writer, 22);
    let mut writer3 = orgs[2].issue(suite, "clerk3", Role::Writer, 32);
    let mut writer4 = orgs[3].issue(suite, "clerk4", Role::Writer, 42);
    let mut reader4 = orgs[3].issue(suite, "auditor4", Role::Reader, 43);

    // org1's admin deploys: org1 is the platform operator.
    let mut scf = App::deploy(chain, &mut admin1, "Receivables");
    let address = scf.address;

    // Onboarding: only the operator's admins set roles.
    let roles = |org: &str, r: u8| setRolesCall {
        org: org.into(),
        newRoles: r,
    };
    scf.refused(
        &mut admin2,
        roles("org2", CORE),
        "only the platform operator org1's admins set roles; org2 is not the operator",
    );
    scf.refused(
        &mut writer1,
        roles("org2", CORE),
        "this needs an admin of the organisation; clerk1 of org1 is a writer",
    );
    scf.refused(&mut admin1, roles("org2", 8), "unknown roles 8");
    scf.refused(
        &mut admin1,
        roles("", CORE),
        "an organisation name is 1 to 64 bytes",
    );
    for (org, r) in [
        ("org1", CORE),
        ("org2", SUPPLIER),
        ("org3", SUPPLIER),
        ("org4", FINANCIER),
    ] {
        scf.ok(&mut admin1, roles(org, r));
    }
    assert_eq!(
        scf.chain
            .query(&writer2, address, rolesCall { org: "org2".into() }),
        SUPPLIER
    );

    // The trade documents are attested first.
    let invoice = scf.attest(&mut writer1, "invoice 2026-0042");
    let contract = scf.attest(&mut writer1, "purchase contract 2026-17");
    let unattested = suite.hash(b"never recorded");
    let now_s = scf.chain.time_ms / 1000;
    let maturity = now_s + 30 * 86_400;
    let issue = |to: &str, amount: u64, docs: &[Hash], maturity: u64| issueCall {
        to: to.into(),
        amount: u(amount),
        currency: "CNY".into(),
        maturity,
        tradeDocs: docs.iter().map(|d| b32(*d)).collect(),
    };

    // Issue: by a core enterprise, to a supplier, against attested documents.
    scf.refused(
        &mut writer2,
        issue("org3", 100, &[invoice], maturity),
        "org2 is not registered as a core enterprise",
    );
    scf.refused(
        &mut writer1,
        issue("org4", 100, &[invoice], maturity),
        "org4 is not registered as a supplier",
    );
    scf.refused(
        &mut writer1,
        issue("org1", 100, &[invoice], maturity),
        "org1 is not registered as a supplier",
    );
    scf.refused(
        &mut writer1,
        issue("org2", 0, &[invoice], maturity),
        "the amount must be above 0",
    );
    scf.refused(
        &mut writer1,
        issue("org2", 100, &[], maturity),
        "a receivable needs 1 to 16 trade documents, got 0",
    );
    scf.refused(
        &mut writer1,
        issue("org2", 100, &[invoice], now_s),
        "is not after the block's time",
    );
    scf.refused(
        &mut writer1,
        issue("org2", 100, &[invoice, unattested], maturity),
        &format!(
            "trade document 0x{} is not attested on the chain",
            unattested.to_hex()
        ),
    );
    // A reader may not call contracts at all (the chain's contract.call permission).
    let o = scf.call(&mut reader4, issue("org2", 100, &[invoice], maturity));
    assert_eq!(o.code.as_deref(), Some("permission_denied"), "{o:?}");
    let o = scf.call(
        &mut writer1,
        issue("org2", 100_000, &[invoice, contract], maturity),
    );
    assert!(o.is_success(), "{o:?}");
    let id = issueCall::abi_decode_returns(&o.return_data).unwrap();
    assert_eq!(id, u(1));
    let issued = IReceivables::Issued::decode_raw_log(
        o.logs[0]
            .topics
            .iter()
            .map(|t| alloy_sol_types::private::FixedBytes::<32>::from(t.0)),
        &o.logs[0].data,
    )
    .unwrap();
    assert_eq!(
        (
            issued.issuer.as_str(),
            issued.holder.as_str(),
            issued.amount,
            issued.currency.as_str()
        ),
        ("org1", "org2", u(100_000), "CNY")
    );
    let v = get(&scf, &writer3, 1);
    assert_eq!(
        (v.status.as_str(), v.holder.as_str(), v.issuer.as_str()),
        ("pending", "org2", "org1")
    );
    assert_eq!(v.docs, vec![b32(invoice), b32(contract)]);
    assert_eq!((v.root, v.parent), (1, 0));

    // Confirm: only an admin of the debtor; a holder may reject before confirmation.
    scf.refused(
        &mut admin2,
        confirmCall { id: u(1) },
        "only the debtor org1 may confirm receivable 1; org2 is not",
    );
    scf.refused(
        &mut writer1,
        confirmCall { id: u(1) },
        "this needs an admin of the organisation",
    );
    scf.refused(
        &mut writer2,
        splitCall {
            id: u(1),
            amounts: vec![u(50_000), u(50_000)],
        },
        "cannot split receivable 1: it is pending, not confirmed",
    );
    scf.refused(&mut writer1, confirmCall { id: u(99) }, "no receivable 99");
    let second: alloy_sol_types::private::U256 =
        scf.ok(&mut writer1, issue("org2", 5_000, &[invoice], maturity));
    assert_eq!(second, u(2));
    scf.refused(
        &mut writer3,
        rejectCall {
            id: u(2),
            reason: "not ours".into(),
        },
        "only the holder org2 may reject receivable 2",
    );
    scf.ok(
        &mut writer2,
        rejectCall {
            id: u(2),
            reason: "goods not delivered".into(),
        },
    );
    assert_eq!(get(&scf, &writer2, 2).status, "rejected");
    scf.refused(
        &mut admin1,
        confirmCall { id: u(2) },
        "receivable 2 is rejected, not pending",
    );
    scf.ok(&mut admin1, confirmCall { id: u(1) });
    scf.refused(
        &mut admin1,
        confirmCall { id: u(1) },
        "receivable 1 is confirmed, not pending",
    );
    scf.refused(
        &mut writer2,
        rejectCall {
            id: u(1),
            reason: String::new(),
        },
        "only a pending one can be rejected",
    );

    // Split: by the holder, into parts that add up exactly.
    let split = |id: u64, amounts: &[u64]| splitCall {
        id: u(id),
        amounts: amounts.iter().map(|a| u(*a)).collect(),
    };
    scf.refused(
        &mut writer3,
        split(1, &[60_000, 40_000]),
        "only the holder org2 may split receivable 1; org3 is not",
    );
    scf.refused(
        &mut writer2,
        split(1, &[60_000, 30_000]),
        "split amounts 60000 + 30000 do not add up to 100000",
    );
    scf.refused(
        &mut writer2,
        split(1, &[100_000]),
        "a split makes 2 to 16 parts, got 1",
    );
    scf.refused(
        &mut writer2,
        split(1, &[0, 100_000]),
        "part 1 of the split is 0",
    );
    scf.refused(
        &mut writer2,
        split(1, &[1; 17]),
        "a split makes 2 to 16 parts, got 17",
    );
    let parts = scf.ok(&mut writer2, split(1, &[60_000, 40_000]));
    assert_eq!(parts, vec![u(3), u(4)]);
    let parent = get(&scf, &writer2, 1);
    assert_eq!(parent.status, "split");
    assert_eq!(parent.children, vec![u(3), u(4)]);
    scf.refused(
        &mut writer2,
        split(1, &[50_000, 50_000]),
        "it is split, not confirmed",
    );
    let p3 = get(&scf, &writer2, 3);
    assert_eq!(
        (p3.root, p3.parent, p3.amount, p3.status.as_str()),
        (1, 1, u(60_000), "confirmed")
    );
    assert_eq!(
        p3.docs,
        vec![b32(invoice), b32(contract)],
        "a part shows its root's documents"
    );

    // Transfer: by the holder, to a supplier; a part moves once per holder.
    let transfer = |id: u64, to: &str| transferCall {
        id: u(id),
        to: to.into(),
    };
    scf.refused(
        &mut writer2,
        transfer(3, "org4"),
        "org4 is not registered as a supplier",
    );
    scf.refused(
        &mut writer2,
        transfer(3, "org2"),
        "org2 already holds receivable 3",
    );
    scf.ok(&mut writer2, transfer(3, "org3"));
    scf.refused(
        &mut writer2,
        transfer(3, "org3"),
        "only the holder org3 may transfer receivable 3; org2 is not",
    );
    assert_eq!(get(&scf, &writer3, 3).holder, "org3");

    // Finance: the holder offers a part to a bank at a discount; the bank accepts.
    let offer = |id: u64, to: &str, rate: u16| offerFinanceCall {
        id: u(id),
        financier: to.into(),
        rateBps: rate,
    };
    scf.refused(
        &mut writer2,
        offer(4, "org3", 350),
        "org3 is not registered as a financier",
    );
    scf.refused(
        &mut writer2,
        offer(4, "org4", 0),
        "a discount rate is 1 to 10000 basis points, got 0",
    );
    scf.refused(&mut writer2, offer(4, "org4", 10_001), "got 10001");
    scf.refused(
        &mut writer3,
        offer(4, "org4", 350),
        "only the holder org2 may finance receivable 4",
    );
    scf.refused(
        &mut writer4,
        acceptFinanceCall { id: u(4) },
        "receivable 4 has no financing offer",
    );
    scf.ok(&mut writer2, offer(4, "org4", 350));
    assert_eq!(get(&scf, &writer2, 4).offeredTo, "org4");
    scf.refused(
        &mut writer2,
        transfer(4, "org3"),
        "receivable 4 is offered to org4 for financing; withdraw the offer first",
    );
    scf.refused(
        &mut writer3,
        acceptFinanceCall { id: u(4) },
        "receivable 4 is offered to org4, not org3",
    );
    scf.refused(
        &mut writer3,
        withdrawFinanceCall { id: u(4) },
        "only the holder or the financier offered receivable 4 may withdraw the offer",
    );
    // The holder withdraws and offers again; the bank accepts.
    scf.ok(&mut writer2, withdrawFinanceCall { id: u(4) });
    assert_eq!(get(&scf, &writer2, 4).offeredTo, "");
    scf.ok(&mut writer2, offer(4, "org4", 350));
    scf.ok(&mut writer4, acceptFinanceCall { id: u(4) });
    let p4 = get(&scf, &writer4, 4);
    assert_eq!(
        (
            p4.holder.as_str(),
            p4.financed,
            p4.financier.as_str(),
            p4.rateBps
        ),
        ("org4", true, "org4", 350)
    );
    assert_eq!(p4.offeredTo, "");
    scf.refused(
        &mut writer4,
        offer(4, "org4", 200),
        "receivable 4 is already financed by org4",
    );

    // Settle: by the debtor's admin, at or after maturity, with the payment's reference.
    let slip = scf.attest(&mut writer1, "payment slip 2026-0042-3");
    let settle = |id: u64, r: &str, doc: Hash| settleCall {
        id: u(id),
        paymentRef: r.into(),
        paymentDoc: b32(doc),
    };
    scf.refused(
        &mut admin1,
        settle(3, "PAY-1", slip),
        &format!("receivable 3 matures at {maturity}"),
    );
    scf.chain.advance(31 * DAY);
    scf.refused(
        &mut admin2,
        settle(3, "PAY-1", slip),
        "only the debtor org1 may settle receivable 3; org2 is not",
    );
    scf.refused(
        &mut admin1,
        settle(3, "", slip),
        "a payment reference is 1 to 128 bytes",
    );
    scf.refused(
        &mut admin1,
        settle(3, "PAY-1", unattested),
        "is not attested on the chain",
    );
    scf.refused(
        &mut admin1,
        settle(1, "PAY-1", slip),
        "receivable 1 is split, not confirmed",
    );
    assert_eq!(
        get(&scf, &writer3, 3).status,
        "overdue",
        "past maturity and unsettled"
    );
    scf.ok(&mut admin1, settle(3, "PAY-1", slip));
    let p3 = get(&scf, &writer3, 3);
    assert_eq!(
        (p3.status.as_str(), p3.paymentRef.as_str(), p3.paymentDoc),
        ("settled", "PAY-1", b32(slip))
    );
    assert!(p3.settledAt > maturity);
    scf.refused(
        &mut admin1,
        settle(3, "PAY-1", slip),
        "receivable 3 is settled, not confirmed",
    );
    // Part 4 stays unsettled: overdue, held by the bank.
    assert_eq!(get(&scf, &writer4, 4).status, "overdue");
    // Without a slip the reference alone settles.
    scf.ok(&mut admin1, settle(4, "PAY-2", Hash::ZERO));
    assert_eq!(get(&scf, &writer4, 4).status, "settled");
    assert_eq!(scf.chain.query(&writer4, address, countCall {}), u(4));
    // Pages: the receivables as `get` returns them, clipped to those that exist.
    let page = |from: u64, limit: u64| {
        scf.view(
            &writer4,
            pageCall {
                fromId: u(from),
                limit: u(limit),
            },
        )
    };
    let all = page(1, 50);
    assert_eq!(
        all.iter().map(|v| v.id).collect::<Vec<_>>(),
        [u(1), u(2), u(3), u(4)]
    );
    assert_eq!(all[3].status, "settled");
    assert_eq!(all[2].holder, get(&scf, &writer4, 3).holder);
    let tail = page(3, 1);
    assert_eq!((tail.len(), tail[0].id), (1, u(3)));
    assert!(page(5, 10).is_empty());
    assert!(page(u64::MAX, 50).is_empty());
    for (from, limit, reason) in [
        (0, 10, "receivable ids start at 1"),
        (1, 0, "a page holds 1 to 50 receivables"),
        (1, 51, "a page holds 1 to 50 receivables"),
    ] {
        let out = scf.chain.query_raw(
            &writer4,
            address,
            &pageCall {
                fromId: u(from),
                limit: u(limit),
            }
            .abi_encode(),
        );
        let (_, message) = out.failure.expect("refused");
        assert!(message.contains(reason), "{message}");
    }

    // The storage layout of the docs: holder hash, amount, state, issuer at b .. b + 3.
    let base = kexin_evm::keccak256([u(3).to_be_bytes::<32>(), [0u8; 32]].concat());
    let at =
        |k: u64| (alloy_sol_types::private::U256::from_be_bytes(base.0) + u(k)).to_be_bytes::<32>();
    assert_eq!(scf.word(at(0)), kexin_evm::keccak256(b"org3").0, "holder");
    assert_eq!(scf.word(at(1)), u(60_000).to_be_bytes::<32>(), "amount");
    assert_eq!(scf.word(at(2))[31], 5, "state Settled");
    assert_eq!(scf.word(at(3)), kexin_evm::keccak256(b"org1").0, "issuer");
    // What a holding proof reads: the slots and the packed words, as `get` reports them.
    use kexin_apps::holding;
    assert_eq!(holding::slot(3, 0), at(0));
    assert_eq!(holding::slot(3, 6), at(6));
    let financed = get(&scf, &writer4, 4);
    let t = holding::terms(&scf.word(holding::slot(4, 2)));
    assert_eq!(
        (
            t.state, t.financed, t.rate_bps, t.maturity, t.root, t.parent
        ),
        (
            5,
            financed.financed,
            financed.rateBps,
            financed.maturity,
            financed.root,
            financed.parent
        )
    );
    assert!(t.financed && t.parent != 0);
    assert_eq!(
        holding::short_string(&scf.word(holding::slot(4, 6))).as_deref(),
        Some(financed.currency.as_str())
    );

    // A revoked certificate no longer acts for its organisation.
    let revoke = admin2.tx(Payload::RevokeCert {
        cert: writer2.cert.clone(),
        reason: RevocationReason::KeyCompromise,
    });
    assert!(scf.chain.run(&[revoke])[0].is_success());
    let o = scf.call(
        &mut writer2,
        rejectCall {
            id: u(1),
            reason: String::new(),
        },
    );
    assert!(!o.is_success());
}

#[test]
fn receivables_follow_every_rule_intl() {
    story(Suite::Intl);
}

#[test]
fn receivables_follow_every_rule_gm() {
    story(Suite::Gm);
}
