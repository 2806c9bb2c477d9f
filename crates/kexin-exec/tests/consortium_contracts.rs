//! Contracts on a chain with organisations (protocol version 5): the identity and evidence
//! precompiles (a signer's address points at the certificate it acts under, revocation shows,
//! an evidence digest reports its first recorder's organisation), and a contract's lifecycle
//! under the consortium's vote (freeze, unfreeze, upgrade). Both suites.

#[path = "../../kexin-evm/tests/common/mod.rs"]
mod solc;

use alloy_sol_types::{SolCall, sol};
use kexin_crypto::Suite;
use kexin_types::state::{Key, StateKey, namespace};
use kexin_types::{
    ContractAddress, EvidenceRecord, GovAction, Outcome, Payload, RevocationReason, Role,
};

sol! {
    interface ICounter {
        function value() external view returns (uint256);
        function inc() external;
        function version() external pure returns (uint256);
    }
    interface IRelay {
        function incVia(address counter) external;
    }
    interface ICrypto {
        struct Identity {
            bool known;
            bytes32 certId;
            string org;
            string name;
            string role;
            bool revoked;
            uint64 notBeforeMs;
            uint64 notAfterMs;
        }
        struct Evidence {
            bool recorded;
            uint64 count;
            uint64 firstHeight;
            string firstOrg;
            uint64 lastHeight;
        }
        function identityOf(address who) external view returns (Identity memory);
        function evidenceOf(bytes32 digest) external view returns (Evidence memory);
        function onlyOrg1Writer() external view returns (string memory);
    }
}

#[path = "common/consortium.rs"]
mod consortium;

use consortium::*;

fn lookups_answer(suite: Suite) {
    let (org1, org2) = (Org::new(suite, "org1", 101), Org::new(suite, "org2", 102));
    let mut chain = consortium(suite, &[&org1, &org2]);
    let mut admin = org1.issue(suite, "admin1", Role::Admin, 11);
    let mut alice = org1.issue(suite, "alice", Role::Writer, 12);
    let mut bob = org2.issue(suite, "bob", Role::Writer, 13);

    // The admin deploys the contract; alice records a document; bob records another's twin.
    let deploy = admin.tx(Payload::ContractDeploy {
        gas_limit: 3_000_000,
        code: solc::contract("Crypto").bytecode.clone(),
        abi: None,
    });
    let o = chain.run(&[deploy]).remove(0);
    assert!(o.is_success(), "{o:?}");
    let crypto = ContractAddress(o.return_data.clone().try_into().unwrap());
    let digest = suite.hash(b"invoice 42");
    let record = |label: &str| Payload::Evidence {
        records: vec![EvidenceRecord {
            digest,
            metadata: kexin_types::RecordMetadata {
                salt: kexin_types::Salt([7; 16]),
                content_type: "text/plain".into(),
                label: label.into(),
                external_ref: None,
            },
        }],
    };
    let first = alice.tx(record("invoice"));
    let outcomes = chain.run(&[first]);
    assert!(outcomes[0].is_success(), "{outcomes:?}");
    let first_height = chain.height;
    let again = bob.tx(record("copy"));
    assert!(chain.run(&[again])[0].is_success());

    // The evidence lookup: recorded twice, first by org1.
    let e = chain.query(
        &bob,
        crypto,
        ICrypto::evidenceOfCall {
            digest: digest.0.into(),
        },
    );
    assert!(e.recorded);
    assert_eq!(
        (e.count, e.firstHeight, e.firstOrg.as_str(), e.lastHeight),
        (2, first_height, "org1", chain.height)
    );
    let none = chain.query(
        &bob,
        crypto,
        ICrypto::evidenceOfCall {
            digest: [9u8; 32].into(),
        },
    );
    assert!(!none.recorded);

    // The identity lookup: alice's address points at her certificate, kept in namespace 12.
    let id = chain.query(
        &bob,
        crypto,
        ICrypto::identityOfCall {
            who: alice.address(suite),
        },
    );
    let alice_cert = alice.cert.id(suite);
    assert!(id.known && !id.revoked);
    assert_eq!(id.certId.0, alice_cert.0);
    assert_eq!(
        (id.org.as_str(), id.name.as_str(), id.role.as_str()),
        ("org1", "alice", "writer")
    );
    assert_eq!((id.notBeforeMs, id.notAfterMs), (0, 1000 * DAY));
    let key = Key::new(namespace::ADDRESS_CERT, alice.address(suite).0.0.to_vec());
    assert_eq!(chain.state.0.get(&key), Some(&alice_cert.0.to_vec()));
    // Someone who never signed is unknown.
    let carol = org1.issue(suite, "carol", Role::Writer, 14);
    let unknown = chain.query(
        &bob,
        crypto,
        ICrypto::identityOfCall {
            who: carol.address(suite),
        },
    );
    assert!(!unknown.known && unknown.org.is_empty());

    // A role check in a contract: alice passes, bob's transaction fails with the reason.
    let name = chain.query(&alice, crypto, ICrypto::onlyOrg1WriterCall {});
    assert_eq!(name, "alice");
    let call = bob.tx(Payload::ContractCall {
        contract: crypto,
        gas_limit: 200_000,
        input: ICrypto::onlyOrg1WriterCall {}.abi_encode(),
    });
    let o = chain.run(&[call]).remove(0);
    assert_eq!(o.code.as_deref(), Some("contract_reverted"));
    assert!(
        o.message
            .as_deref()
            .unwrap_or("")
            .contains("only org1's writers"),
        "{o:?}"
    );

    // Org1's admin revokes alice's certificate: the lookup says so at once.
    let revoke = admin.tx(Payload::RevokeCert {
        cert: alice.cert.clone(),
        reason: RevocationReason::KeyCompromise,
    });
    assert!(chain.run(&[revoke])[0].is_success());
    let id = chain.query(
        &bob,
        crypto,
        ICrypto::identityOfCall {
            who: alice.address(suite),
        },
    );
    assert!(id.known && id.revoked);
    let cert_state = chain.state.0.get(&StateKey::Cert(alice_cert).to_key());
    assert!(cert_state.is_some());
}

#[test]
fn identity_and_evidence_lookups_answer_from_the_state_intl() {
    lookups_answer(Suite::Intl);
}

#[test]
fn identity_and_evidence_lookups_answer_from_the_state_gm() {
    lookups_answer(Suite::Gm);
}

/// Org1's and org2's admins pass `action` (two of two votes).
fn pass(chain: &mut Chain, a1: &mut Id, a2: &mut Id, action: GovAction) -> Vec<Outcome> {
    let propose = a1.tx(Payload::Propose { action });
    let id = propose.hash();
    let o = chain.run(&[propose]).remove(0);
    assert!(o.is_success(), "{o:?}");
    chain.run(&[a2.tx(Payload::Vote {
        proposal: id,
        approve: true,
    })])
}

fn lifecycle_by_vote(suite: Suite) {
    let (org1, org2) = (Org::new(suite, "org1", 101), Org::new(suite, "org2", 102));
    let mut chain = consortium(suite, &[&org1, &org2]);
    let mut a1 = org1.issue(suite, "admin1", Role::Admin, 11);
    let mut a2 = org2.issue(suite, "admin2", Role::Admin, 21);
    let mut bob = org2.issue(suite, "bob", Role::Writer, 13);
    let deploy = |chain: &mut Chain, a1: &mut Id, name: &str| {
        let tx = a1.tx(Payload::ContractDeploy {
            gas_limit: 3_000_000,
            code: solc::contract(name).bytecode.clone(),
            abi: None,
        });
        let o = chain.run(&[tx]).remove(0);
        assert!(o.is_success(), "{o:?}");
        ContractAddress(o.return_data.clone().try_into().unwrap())
    };
    let counter = deploy(&mut chain, &mut a1, "CounterV1");
    let relay = deploy(&mut chain, &mut a1, "Relay");
    let call = |chain: &mut Chain, who: &mut Id, to: ContractAddress, input: Vec<u8>| {
        let tx = who.tx(Payload::ContractCall {
            contract: to,
            gas_limit: 200_000,
            input,
        });
        chain.run(&[tx]).remove(0)
    };
    let inc = ICounter::incCall {}.abi_encode();
    let via = IRelay::incViaCall {
        counter: counter.0.into(),
    }
    .abi_encode();
    assert!(call(&mut chain, &mut bob, counter, inc.clone()).is_success());
    assert!(call(&mut chain, &mut bob, relay, via.clone()).is_success());
    let value = |chain: &Chain, bob: &Id| chain.query(bob, counter, ICounter::valueCall {});
    assert_eq!(value(&chain, &bob), alloy_sol_types::private::U256::from(2));

    // Frozen by vote: a direct call fails with contract_frozen, a call through another
    // contract reverts, a query is refused; the value stays.
    let passed = pass(
        &mut chain,
        &mut a1,
        &mut a2,
        GovAction::FreezeContract { contract: counter },
    );
    assert!(passed[0].is_success(), "{passed:?}");
    assert!(
        passed[0]
            .events
            .iter()
            .any(|e| e.topic == "contract_frozen"),
        "{passed:?}"
    );
    let o = call(&mut chain, &mut bob, counter, inc.clone());
    assert_eq!(o.code.as_deref(), Some("contract_frozen"), "{o:?}");
    let o = call(&mut chain, &mut bob, relay, via.clone());
    assert_eq!(o.code.as_deref(), Some("contract_reverted"), "{o:?}");
    let refused = kexin_exec::contract::query(
        &chain.state,
        &chain.genesis,
        chain.height,
        10 * DAY,
        None,
        counter,
        &ICounter::valueCall {}.abi_encode(),
        None,
    )
    .unwrap();
    assert!(
        matches!(&refused, Err(r) if r.code() == "contract_frozen"),
        "{refused:?}"
    );
    // Freezing twice is refused at the proposal.
    let again = a1.tx(Payload::Propose {
        action: GovAction::FreezeContract { contract: counter },
    });
    let o = chain.run(&[again]).remove(0);
    assert_eq!(o.code.as_deref(), Some("contract_frozen"), "{o:?}");

    // Unfrozen by vote: calls work again, from where they stopped.
    let passed = pass(
        &mut chain,
        &mut a1,
        &mut a2,
        GovAction::UnfreezeContract { contract: counter },
    );
    assert!(passed[0].is_success(), "{passed:?}");
    assert!(call(&mut chain, &mut bob, counter, inc.clone()).is_success());
    assert_eq!(value(&chain, &bob), alloy_sol_types::private::U256::from(3));

    // Upgraded by vote to V2's runtime code: same address, same storage, new behaviour.
    let v2 = kexin_evm::artifact::runtime_code("CounterV2", &solc::contract("CounterV2").bytecode)
        .unwrap();
    let passed = pass(
        &mut chain,
        &mut a1,
        &mut a2,
        GovAction::UpgradeContract {
            contract: counter,
            code: v2.clone(),
        },
    );
    assert!(passed[0].is_success(), "{passed:?}");
    assert_eq!(
        chain.query(&bob, counter, ICounter::versionCall {}),
        alloy_sol_types::private::U256::from(2)
    );
    assert!(call(&mut chain, &mut bob, counter, inc).is_success());
    assert_eq!(
        value(&chain, &bob),
        alloy_sol_types::private::U256::from(13)
    );
    // The same code again, or code over the limit, is refused at the proposal.
    for (code, expect) in [
        (v2, "contract_unchanged"),
        (vec![0x60; 25 * 1024], "code_too_large"),
    ] {
        let tx = a1.tx(Payload::Propose {
            action: GovAction::UpgradeContract {
                contract: counter,
                code,
            },
        });
        let o = chain.run(&[tx]).remove(0);
        assert_eq!(o.code.as_deref(), Some(expect), "{o:?}");
    }
    // Only a contract can be frozen, or named.
    for action in [
        GovAction::FreezeContract {
            contract: ContractAddress([0x42; 20]),
        },
        GovAction::NameContract {
            name: "counter".into(),
            contract: ContractAddress([0x42; 20]),
        },
    ] {
        let tx = a1.tx(Payload::Propose { action });
        assert_eq!(chain.run(&[tx])[0].code.as_deref(), Some("no_contract"));
    }

    // A name the consortium agrees on: written in namespace 13 when the vote passes, moved by
    // a later vote, refused when it already names that contract.
    let name = |contract| GovAction::NameContract {
        name: "counter".into(),
        contract,
    };
    assert_eq!(
        kexin_exec::contract::named(&chain.state, "counter").unwrap(),
        None
    );
    let passed = pass(&mut chain, &mut a1, &mut a2, name(counter));
    assert!(passed[0].is_success(), "{passed:?}");
    assert!(
        passed[0].events.iter().any(|e| e.topic == "contract_named"),
        "{passed:?}"
    );
    assert_eq!(
        kexin_exec::contract::named(&chain.state, "counter").unwrap(),
        Some(counter)
    );
    let tx = a1.tx(Payload::Propose {
        action: name(counter),
    });
    assert_eq!(
        chain.run(&[tx])[0].code.as_deref(),
        Some("contract_unchanged")
    );
    let passed = pass(&mut chain, &mut a1, &mut a2, name(relay));
    assert!(passed[0].is_success(), "{passed:?}");
    assert_eq!(
        kexin_exec::contract::named(&chain.state, "counter").unwrap(),
        Some(relay)
    );
}

#[test]
fn contracts_are_frozen_unfrozen_and_upgraded_by_vote_intl() {
    lifecycle_by_vote(Suite::Intl);
}

#[test]
fn contracts_are_frozen_unfrozen_and_upgraded_by_vote_gm() {
    lifecycle_by_vote(Suite::Gm);
}
