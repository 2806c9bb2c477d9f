//! Identity rules of execution on a chain with organisations: certificates registered on first
//! use, checked at the block's timestamp, revoked, rotated, and the permission table. Every
//! refusal is checked by code and leaves the state unchanged.

use std::collections::BTreeMap;

use kexin_crypto::{KeyScheme, SigningKey, Suite};
use kexin_exec::{
    BlockContext, ExecError, MemoryState, build_block, check_admission, check_certificate,
    execute_block,
};
use kexin_pki::{Certificate, Terms};
use kexin_types::state::{Key, StateKey};
use kexin_types::{
    CertDer, CertState, Decode, EvidenceRecord, Genesis, OrgState, Organisation, Payload,
    RevocationReason, Role, SealedTx, Transaction, Validator,
};

const CHAIN: &str = "pki-test";
const DAY: u64 = 86_400_000;
/// The time blocks run at: day 100 after the epoch.
const NOW: u64 = 100 * DAY;

fn terms(serial: u8, from: u64, to: u64) -> Terms {
    Terms {
        serial: serial as u64,
        not_before_ms: from,
        not_after_ms: to,
    }
}

struct Org {
    ca: Certificate,
    ca_key: SigningKey,
}

impl Org {
    fn new(suite: Suite, name: &str, seed: u8) -> Org {
        let ca_key = SigningKey::from_seed(suite, &[seed; 32]).unwrap();
        let ca = kexin_pki::self_signed_ca(name, &ca_key, &terms(seed, 0, 1000 * DAY)).unwrap();
        Org { ca, ca_key }
    }

    fn der(&self) -> CertDer {
        CertDer(self.ca.der().to_vec())
    }

    /// A certificate for a new key (seed `seed`), valid `from..=to`.
    fn issue(&self, suite: Suite, name: &str, role: Role, seed: u8, from: u64, to: u64) -> Id {
        let key = SigningKey::from_seed(suite, &[seed; 32]).unwrap();
        let cert = kexin_pki::issue(
            &self.ca,
            &self.ca_key,
            name,
            role,
            &key.public_key(),
            &terms(seed, from, to),
        )
        .unwrap();
        Id {
            key,
            cert: CertDer(cert.der().to_vec()),
            nonce: 0,
        }
    }
}

impl Org {
    /// A certificate for a new ECDSA P-256 key (seed `seed`), valid `from..=to`.
    fn issue_p256(&self, name: &str, role: Role, seed: u8, from: u64, to: u64) -> Id {
        let key = SigningKey::from_scheme_seed(KeyScheme::EcdsaP256, &[seed; 32]).unwrap();
        let cert = kexin_pki::issue(
            &self.ca,
            &self.ca_key,
            name,
            role,
            &key.public_key(),
            &terms(seed, from, to),
        )
        .unwrap();
        Id {
            key,
            cert: CertDer(cert.der().to_vec()),
            nonce: 0,
        }
    }

    /// Like [`Org::issue_p256`] but with no check of the key rules (a P-256 `node`
    /// certificate, which the issuing function refuses).
    fn issue_p256_unchecked(&self, name: &str, role: Role, seed: u8) -> Id {
        let key = SigningKey::from_scheme_seed(KeyScheme::EcdsaP256, &[seed; 32]).unwrap();
        let cert = kexin_pki::testing::build_unchecked(
            &self.ca,
            &self.ca_key,
            name,
            Some(role),
            &key.public_key(),
            &terms(seed, 0, 200 * DAY),
        )
        .unwrap();
        Id {
            key,
            cert: CertDer(cert.der().to_vec()),
            nonce: 0,
        }
    }
}

/// A key with its certificate and next nonce.
/// A transaction in format 3 without a certificate.
fn sign_v3(key: &SigningKey, nonce: u64, payload: Payload) -> Transaction {
    Transaction::sign_versioned(kexin_types::protocol::V3, CHAIN, key, None, nonce, payload)
}

struct Id {
    key: SigningKey,
    cert: CertDer,
    nonce: u64,
}

impl Id {
    /// A transaction in format 3: the chains here start at version 3 (which version 4 blocks
    /// take too), and the tests run each refusal under both versions.
    fn tx(&mut self, attach: bool, payload: Payload) -> SealedTx {
        self.nonce += 1;
        SealedTx::new(Transaction::sign_versioned(
            kexin_types::protocol::V3,
            CHAIN,
            &self.key,
            Some((&self.cert, attach)),
            self.nonce,
            payload,
        ))
    }

    fn evidence(&mut self, attach: bool) -> SealedTx {
        let label = format!("doc-{}", self.nonce);
        self.tx(attach, evidence(&label))
    }
}

fn evidence(label: &str) -> Payload {
    Payload::Evidence {
        records: vec![EvidenceRecord {
            digest: Suite::Intl.hash(label.as_bytes()),
            metadata: kexin_types::RecordMetadata {
                salt: kexin_types::Salt([7; 16]),
                content_type: "text/plain".into(),
                label: label.into(),
                external_ref: None,
            },
        }],
    }
}

struct Chain {
    suite: Suite,
    genesis: Genesis,
    state: MemoryState,
    height: u64,
    /// Added to every block's timestamp (to run past expiries).
    later_ms: u64,
    org1: Org,
    org2: Org,
    /// Further member organisations (org3, ...), for governance.
    more: Vec<Org>,
}

impl Chain {
    fn new(suite: Suite) -> Chain {
        let org1 = Org::new(suite, "org1", 101);
        let org2 = Org::new(suite, "org2", 102);
        let v = SigningKey::from_seed(suite, &[1; 32]).unwrap();
        let genesis = Genesis {
            version: kexin_types::protocol::V3,
            epoch_length: kexin_types::limits::DEFAULT_EPOCH_LENGTH,
            chain_id: CHAIN.into(),
            suite,
            timestamp_ms: 0,
            organisations: vec![
                Organisation {
                    name: "org1".into(),
                    ca_certs: vec![org1.der()],
                },
                Organisation {
                    name: "org2".into(),
                    ca_certs: vec![org2.der()],
                },
            ],
            validators: vec![Validator {
                name: "node0".into(),
                org: "org1".into(),
                public_key: v.public_key(),
                address: String::new(),
            }],
        };
        genesis.validate().unwrap();
        Chain {
            suite,
            genesis,
            state: MemoryState::default(),
            height: 0,
            later_ms: 0,
            org1,
            org2,
            more: Vec::new(),
        }
    }

    /// A chain of `n` ≥ 2 member organisations (validator in org1).
    fn with_orgs(suite: Suite, n: usize) -> Chain {
        let mut c = Chain::new(suite);
        for i in 3..=n {
            let name = format!("org{i}");
            let org = Org::new(suite, &name, 100 + i as u8);
            c.genesis.organisations.push(Organisation {
                name,
                ca_certs: vec![org.der()],
            });
            c.more.push(org);
        }
        c.genesis.validate().unwrap();
        c
    }

    fn ctx(&self) -> BlockContext<'_> {
        BlockContext {
            genesis: &self.genesis,
            height: self.height + 1,
            timestamp_ms: NOW + self.height + self.later_ms,
        }
    }

    /// Executes a block of `txs` and commits it; returns the writes.
    fn commit(&mut self, txs: &[SealedTx]) -> BTreeMap<Key, Vec<u8>> {
        let writes = execute_block(&self.state, &self.ctx(), txs)
            .expect("block executes")
            .writes;
        self.state.0.extend(writes.clone());
        self.height += 1;
        writes
    }

    /// The code `tx` is refused with, by execution, block building and admission alike,
    /// under both protocol versions: version 3 refuses the block (or leaves the transaction
    /// out); version 4 includes it as `failed`, writing nothing but its nonce (a wrong nonce
    /// still refuses the block). The state is checked unchanged.
    fn refusal(&self, tx: &SealedTx) -> &'static str {
        let before = self.state.0.clone();
        let at = |version: u8| Genesis {
            version,
            ..self.genesis.clone()
        };
        let (g3, g4) = (at(kexin_types::protocol::V3), at(kexin_types::protocol::V4));
        let ctx3 = BlockContext {
            genesis: &g3,
            ..self.ctx()
        };
        let ctx4 = BlockContext {
            genesis: &g4,
            ..self.ctx()
        };
        let code = match execute_block(&self.state, &ctx3, std::slice::from_ref(tx)) {
            Err(ExecError::InvalidTransaction { reason, .. }) => reason.code(),
            other => panic!("expected a refusal, got {other:?}"),
        };
        let built = build_block(&self.state, &ctx3, vec![tx.clone()]).unwrap();
        assert!(built.included.is_empty());
        assert!(
            built.writes.is_empty(),
            "a refused transaction writes nothing"
        );
        let rejected: Vec<&str> = built.rejected.iter().map(|(_, r)| r.code()).collect();
        if code != "nonce_gap" {
            assert_eq!(rejected, [code]);
        }
        if code.starts_with("nonce") {
            match execute_block(&self.state, &ctx4, std::slice::from_ref(tx)) {
                Err(ExecError::InvalidTransaction { reason, .. }) => {
                    assert_eq!(reason.code(), code, "version 4 refuses the block too")
                }
                other => panic!("expected a refusal in version 4, got {other:?}"),
            }
        } else {
            let admission = check_admission(&self.state, &self.ctx(), tx)
                .unwrap()
                .expect_err("admission refuses it too");
            assert_eq!(admission.code(), code, "admission: {admission}");
            let executed = execute_block(&self.state, &ctx4, std::slice::from_ref(tx))
                .expect("version 4 includes it as failed");
            let outcome = &executed.outcomes[0];
            assert_eq!(outcome.code.as_deref(), Some(code), "{outcome:?}");
            assert_eq!(
                executed.writes.keys().collect::<Vec<_>>(),
                [&StateKey::Nonce(tx.tx().signer).to_key()],
                "a failed transaction writes its nonce only"
            );
            let built = build_block(&self.state, &ctx4, vec![tx.clone()]).unwrap();
            assert_eq!(built.included.len(), 1);
            assert_eq!(built.outcomes, executed.outcomes);
        }
        assert_eq!(self.state.0, before);
        code
    }

    fn cert_state(&self, cert: &CertDer) -> Option<CertState> {
        self.state
            .0
            .get(&StateKey::Cert(cert.id(self.suite)).to_key())
            .map(|b| CertState::decode(b).unwrap())
    }
}

const SUITES: [Suite; 2] = [Suite::Intl, Suite::Gm];

#[test]
fn first_use_registers_the_certificate_then_a_reference_suffices() {
    for suite in SUITES {
        let mut c = Chain::new(suite);
        let mut w = c.org1.issue(suite, "alice", Role::Writer, 10, 0, 200 * DAY);
        // Without the certificate attached, an unknown id is refused.
        let t = w.evidence(false);
        assert_eq!(c.refusal(&t), "cert_unknown");
        w.nonce -= 1;
        let writes = c.commit(&[w.evidence(true)]);
        let state = c.cert_state(&w.cert).expect("registered");
        assert!(writes.contains_key(&StateKey::Cert(w.cert.id(suite)).to_key()));
        assert_eq!(
            (state.org.as_str(), state.name.as_str(), state.role),
            ("org1", "alice", Role::Writer)
        );
        assert_eq!(state.public_key, w.key.public_key());
        assert_eq!(state.issuer, c.org1.der().id(suite));
        assert_eq!(state.registered_at, 1);
        assert_eq!((state.not_before_ms, state.not_after_ms), (0, 200 * DAY));
        // Later transactions reference it; attaching it again is harmless.
        c.commit(&[w.evidence(false)]);
        c.commit(&[w.evidence(true)]);
        assert_eq!(c.cert_state(&w.cert).unwrap().registered_at, 1);
    }
}

#[test]
fn certificates_are_checked_at_the_block_timestamp() {
    for suite in SUITES {
        let c = Chain::new(suite);
        let mut expired = c.org1.issue(suite, "old", Role::Writer, 11, 0, NOW - 1);
        assert_eq!(c.refusal(&expired.evidence(true)), "cert_expired");
        let mut early = c
            .org1
            .issue(suite, "new", Role::Writer, 12, NOW + DAY, NOW + 2 * DAY);
        assert_eq!(c.refusal(&early.evidence(true)), "cert_not_yet_valid");
    }
    // A registered certificate expires too.
    let suite = Suite::Intl;
    let mut c = Chain::new(suite);
    let mut w = c.org1.issue(suite, "brief", Role::Writer, 13, 0, NOW + 1);
    c.commit(&[w.evidence(true)]);
    c.height += 5; // the next block is 5 ms later than the certificate's end
    assert_eq!(c.refusal(&w.evidence(false)), "cert_expired");
}

#[test]
fn missing_foreign_and_forged_certificates_are_refused() {
    for suite in SUITES {
        let c = Chain::new(suite);
        // No certificate at all.
        let key = SigningKey::from_seed(suite, &[20; 32]).unwrap();
        let bare = SealedTx::new(sign_v3(&key, 1, evidence("bare")));
        assert_eq!(c.refusal(&bare), "cert_required");
        // An organisation that is not a member.
        let outsider = Org::new(suite, "org9", 103);
        let mut o = outsider.issue(suite, "mallory", Role::Writer, 21, 0, 200 * DAY);
        assert_eq!(c.refusal(&o.evidence(true)), "unknown_org");
        // A rogue CA that calls itself org1: same subject, other key.
        let rogue = Org::new(suite, "org1", 104);
        let mut r = rogue.issue(suite, "mallory", Role::Writer, 22, 0, 200 * DAY);
        assert_eq!(c.refusal(&r.evidence(true)), "cert_wrong_ca");
        // A certificate of org2 presented by a different key.
        let mut w = c.org2.issue(suite, "bob", Role::Writer, 23, 0, 200 * DAY);
        w.key = SigningKey::from_seed(suite, &[24; 32]).unwrap();
        assert_eq!(c.refusal(&w.evidence(true)), "cert_key_mismatch");
        // A tampered certificate: one byte of the signature changed.
        let mut t = c.org2.issue(suite, "carol", Role::Writer, 25, 0, 200 * DAY);
        let last = t.cert.0.len() - 1;
        t.cert.0[last] ^= 1;
        let code = c.refusal(&t.evidence(true));
        assert!(
            ["cert_bad_signature", "cert_malformed"].contains(&code),
            "{code}"
        );
        // Bytes that are not a certificate.
        let mut junk = c.org2.issue(suite, "dave", Role::Writer, 26, 0, 200 * DAY);
        junk.cert = CertDer(b"not a certificate".to_vec());
        assert_eq!(c.refusal(&junk.evidence(true)), "cert_malformed");
        // A CA certificate cannot sign transactions.
        let mut ca = Id {
            key: c.org1.ca_key.clone(),
            cert: c.org1.der(),
            nonce: 0,
        };
        assert_eq!(c.refusal(&ca.evidence(true)), "cert_profile");
    }
}

#[test]
fn roles_decide_what_a_certificate_may_do() {
    for suite in SUITES {
        let mut c = Chain::new(suite);
        // Version 3 rules: the refusal invalidates the block (version 4: `refusal`).
        c.genesis.version = kexin_types::protocol::V3;
        for (i, role) in [Role::Admin, Role::Reader, Role::Auditor, Role::Node]
            .into_iter()
            .enumerate()
        {
            let mut id = c
                .org1
                .issue(suite, "someone", role, 30 + i as u8, 0, 200 * DAY);
            let tx = id.evidence(true);
            assert_eq!(c.refusal(&tx), "permission_denied", "{role}");
            let msg = execute_block(&c.state, &c.ctx(), &[tx])
                .unwrap_err()
                .to_string();
            assert!(
                msg.contains("evidence.write") && msg.contains(role.as_str()),
                "{msg}"
            );
        }
        // A writer cannot manage certificates.
        let mut w = c.org1.issue(suite, "w", Role::Writer, 40, 0, 200 * DAY);
        let victim = c.org1.issue(suite, "v", Role::Writer, 41, 0, 200 * DAY);
        let tx = w.tx(
            true,
            Payload::RevokeCert {
                cert: victim.cert.clone(),
                reason: RevocationReason::KeyCompromise,
            },
        );
        assert_eq!(c.refusal(&tx), "permission_denied");
    }
}

#[test]
fn only_auditors_write_audit_notes_and_a_note_changes_nothing_but_the_nonce() {
    for suite in SUITES {
        let mut c = Chain::new(suite);
        // Version 3 rules: the refusal invalidates the block (version 4: `refusal`).
        c.genesis.version = kexin_types::protocol::V3;
        let note = |text: &str| Payload::AuditNote {
            subject: suite.hash(b"a record under review"),
            text: text.into(),
        };
        // Every role but auditor is refused, naming the permission and the role.
        for (i, role) in [Role::Admin, Role::Writer, Role::Reader, Role::Node]
            .into_iter()
            .enumerate()
        {
            let mut id = c
                .org1
                .issue(suite, "not-an-auditor", role, 130 + i as u8, 0, 200 * DAY);
            let tx = id.tx(true, note("finding"));
            assert_eq!(c.refusal(&tx), "permission_denied", "{role}");
            let msg = execute_block(&c.state, &c.ctx(), &[tx])
                .unwrap_err()
                .to_string();
            assert!(
                msg.contains("audit.note") && msg.contains(role.as_str()),
                "{msg}"
            );
        }
        // An auditor's note is accepted; it writes the nonce (and registers the certificate
        // on first use) and nothing else.
        let mut auditor = c
            .org2
            .issue(suite, "regulator", Role::Auditor, 140, 0, 200 * DAY);
        let writes = c.commit(&[auditor.tx(true, note("Checked: no findings."))]);
        let kinds: Vec<u8> = writes.keys().map(|k| k.namespace).collect();
        assert!(
            kinds.iter().all(|k| [1, 4].contains(k)),
            "a note wrote {:?}",
            writes.keys().collect::<Vec<_>>()
        );
        assert!(
            writes
                .keys()
                .any(|k| matches!(k.typed(), Some(StateKey::Nonce(_))))
        );
        // A second note by the same auditor, now registered.
        let writes = c.commit(&[auditor.tx(false, note("Follow-up: closed."))]);
        assert_eq!(writes.len(), 1, "{:?}", writes.keys().collect::<Vec<_>>());
        // The auditor still may not write anything else.
        let tx = auditor.evidence(false);
        assert_eq!(c.refusal(&tx), "permission_denied");
    }
}

/// Protocol version 4: a transaction whose certificate an earlier transaction of the same
/// block revoked is included as `failed` (its nonce consumed, nothing else written) instead of
/// invalidating the block, by the proposer and every follower alike.
#[test]
fn v4_a_certificate_revoked_earlier_in_the_block_fails_the_transaction_not_the_block() {
    for suite in SUITES {
        let mut c = Chain::new(suite);
        c.genesis.version = kexin_types::protocol::V4;
        let mut admin = c.org1.issue(suite, "admin", Role::Admin, 50, 0, 200 * DAY);
        let mut w = c.org1.issue(suite, "alice", Role::Writer, 51, 0, 200 * DAY);
        c.commit(&[w.evidence(true)]);
        let r = admin.tx(
            true,
            Payload::RevokeCert {
                cert: w.cert.clone(),
                reason: RevocationReason::KeyCompromise,
            },
        );
        let after = w.evidence(false);
        let built = build_block(&c.state, &c.ctx(), vec![r.clone(), after.clone()]).unwrap();
        assert_eq!(built.included.len(), 2, "both are in the block");
        assert!(built.rejected.is_empty() && built.deferred.is_empty());
        let executed = execute_block(&c.state, &c.ctx(), &built.included).unwrap();
        assert_eq!(
            executed.writes, built.writes,
            "followers agree with the proposer"
        );
        assert_eq!(executed.outcomes, built.outcomes);
        assert_eq!(executed.version, 4);
        let [revoked, failed] = &executed.outcomes[..] else {
            panic!("two outcomes")
        };
        assert!(revoked.is_success());
        let topics: Vec<&str> = revoked.events.iter().map(|e| e.topic.as_str()).collect();
        // The admin's certificate, attached, is registered by its first use.
        assert_eq!(topics, ["certificate_registered", "certificate_revoked"]);
        assert_eq!(
            revoked.events[1].attribute("cert"),
            Some(w.cert.id(suite).to_string().as_str())
        );
        assert_eq!(failed.status, kexin_types::Status::Failed);
        assert_eq!(failed.code.as_deref(), Some("cert_revoked"));
        assert!(
            failed
                .message
                .as_deref()
                .unwrap()
                .contains("was revoked at height"),
            "{failed:?}"
        );
        assert!(failed.events.is_empty());
        assert_eq!(failed.cost, kexin_exec::tx_cost(&after));
        // The failed transaction consumed its nonce and wrote nothing else: no evidence entry.
        let digest = after.tx().records()[0].digest;
        assert!(
            !executed
                .writes
                .contains_key(&StateKey::Evidence(digest).to_key())
        );
        let nonce = kexin_types::state::NonceState::decode(
            &executed.writes[&StateKey::Nonce(after.tx().signer).to_key()],
        )
        .unwrap();
        assert_eq!(nonce.last_nonce, after.tx().nonce);
        // A version 3 chain still refuses the whole block.
        c.genesis.version = kexin_types::protocol::V3;
        let err = execute_block(&c.state, &c.ctx(), &built.included).unwrap_err();
        assert!(
            matches!(&err, ExecError::InvalidTransaction { index: 1, reason, .. } if reason.code() == "cert_revoked"),
            "{err}"
        );
    }
}

#[test]
fn a_waiting_transaction_of_a_revoked_signer_is_rejected_not_kept() {
    for version in [kexin_types::protocol::V3, kexin_types::protocol::V4] {
        let suite = Suite::Intl;
        let mut c = Chain::new(suite);
        c.genesis.version = version;
        let mut admin = c.org1.issue(suite, "admin", Role::Admin, 50, 0, 200 * DAY);
        let mut w = c.org1.issue(suite, "alice", Role::Writer, 51, 0, 200 * DAY);
        let mut bob = c.org1.issue(suite, "bob", Role::Writer, 52, 0, 200 * DAY);
        c.commit(&[w.evidence(true), bob.evidence(true)]);
        // Each signer's next nonce is skipped: both transactions wait behind a gap.
        let _ = (w.evidence(false), bob.evidence(false));
        let (w_gapped, bob_gapped) = (w.evidence(false), bob.evidence(false));
        let built = build_block(
            &c.state,
            &c.ctx(),
            vec![w_gapped.clone(), bob_gapped.clone()],
        )
        .unwrap();
        assert_eq!(
            built.deferred,
            [w_gapped.hash(), bob_gapped.hash()],
            "v{version}"
        );
        c.commit(&[admin.tx(
            true,
            Payload::RevokeCert {
                cert: w.cert.clone(),
                reason: RevocationReason::KeyCompromise,
            },
        )]);
        // Alice can never fill her gap (her transactions are refused now): hers is rejected
        // with the reason; bob's keeps waiting.
        let built = build_block(
            &c.state,
            &c.ctx(),
            vec![w_gapped.clone(), bob_gapped.clone()],
        )
        .unwrap();
        assert!(built.included.is_empty() && built.writes.is_empty());
        let rejected: Vec<_> = built.rejected.iter().map(|(h, r)| (*h, r.code())).collect();
        assert_eq!(rejected, [(w_gapped.hash(), "cert_revoked")], "v{version}");
        assert_eq!(built.deferred, [bob_gapped.hash()], "v{version}");
    }
}

#[test]
fn revocation_takes_effect_from_its_block() {
    for suite in SUITES {
        let mut c = Chain::new(suite);
        // Version 3 rules: the refusal invalidates the block (version 4: `refusal`).
        c.genesis.version = kexin_types::protocol::V3;
        let mut admin = c.org1.issue(suite, "admin", Role::Admin, 50, 0, 200 * DAY);
        let mut w = c.org1.issue(suite, "alice", Role::Writer, 51, 0, 200 * DAY);
        c.commit(&[w.evidence(true)]);
        let revoke = |admin: &mut Id, cert: &CertDer| {
            admin.tx(
                true,
                Payload::RevokeCert {
                    cert: cert.clone(),
                    reason: RevocationReason::KeyCompromise,
                },
            )
        };
        // In the same block, a transaction before the revocation passes, one after fails.
        let before = w.evidence(false);
        let r = revoke(&mut admin, &w.cert);
        let after = w.evidence(false);
        let err =
            execute_block(&c.state, &c.ctx(), &[before.clone(), r.clone(), after]).unwrap_err();
        assert!(
            matches!(&err, ExecError::InvalidTransaction { index: 2, reason, .. } if reason.code() == "cert_revoked"),
            "{err}"
        );
        w.nonce -= 1;
        c.commit(&[before, r]);
        let state = c.cert_state(&w.cert).unwrap();
        let rev = state.revoked.expect("revoked");
        assert_eq!(
            (rev.height, rev.reason),
            (c.height, RevocationReason::KeyCompromise)
        );
        assert_eq!(c.refusal(&w.evidence(false)), "cert_revoked");
        w.nonce -= 1;
        assert_eq!(c.refusal(&w.evidence(true)), "cert_revoked");
        // Revoking twice is refused.
        assert_eq!(
            c.refusal(&revoke(&mut admin, &w.cert)),
            "cert_already_revoked"
        );
        admin.nonce -= 1;
        // A certificate never used can be revoked; its first use is then refused.
        let mut unused = c.org1.issue(suite, "bob", Role::Writer, 52, 0, 200 * DAY);
        c.commit(&[revoke(&mut admin, &unused.cert)]);
        assert_eq!(c.refusal(&unused.evidence(true)), "cert_revoked");
        // An admin of org2 cannot revoke org1's certificates.
        let mut admin2 = c.org2.issue(suite, "admin", Role::Admin, 53, 0, 200 * DAY);
        let carol = c.org1.issue(suite, "carol", Role::Writer, 54, 0, 200 * DAY);
        let tx = revoke(&mut admin2, &carol.cert);
        assert_eq!(c.refusal(&tx), "permission_denied");
        let msg = execute_block(&c.state, &c.ctx(), &[tx])
            .unwrap_err()
            .to_string();
        assert!(msg.contains("governance"), "{msg}");
        // A revoked admin can no longer act.
        let mut other_admin = c.org1.issue(suite, "admin2", Role::Admin, 55, 0, 200 * DAY);
        c.commit(&[revoke(&mut other_admin, &admin.cert)]);
        assert_eq!(c.refusal(&revoke(&mut admin, &carol.cert)), "cert_revoked");
    }
}

#[test]
fn a_new_ca_runs_alongside_the_old_one() {
    for suite in SUITES {
        let mut c = Chain::new(suite);
        let mut admin = c.org1.issue(suite, "admin", Role::Admin, 60, 0, 200 * DAY);
        let next = Org::new(suite, "org1", 105);
        let mut new_writer = next.issue(suite, "alice", Role::Writer, 61, 0, 200 * DAY);
        assert_eq!(c.refusal(&new_writer.evidence(true)), "cert_wrong_ca");
        new_writer.nonce -= 1;
        let writes = c.commit(&[admin.tx(true, Payload::AddCa { cert: next.der() })]);
        let org = OrgState::decode(&writes[&StateKey::Org("org1".into()).to_key()]).unwrap();
        assert_eq!(org.org.ca_certs, vec![c.org1.der(), next.der()]);
        assert_eq!(org.updated_at, 1);
        // Both CAs' certificates work.
        let mut old_writer = c.org1.issue(suite, "bob", Role::Writer, 62, 0, 200 * DAY);
        c.commit(&[new_writer.evidence(true), old_writer.evidence(true)]);
        // Adding it again, or adding another org's CA, is refused.
        assert_eq!(
            c.refusal(&admin.tx(false, Payload::AddCa { cert: next.der() })),
            "ca_exists"
        );
        admin.nonce -= 1;
        assert_eq!(
            c.refusal(&admin.tx(false, Payload::AddCa { cert: c.org2.der() })),
            "permission_denied"
        );
        admin.nonce -= 1;
        // A user certificate is not a CA.
        assert_eq!(
            c.refusal(&admin.tx(
                false,
                Payload::AddCa {
                    cert: old_writer.cert.clone()
                }
            )),
            "cert_wrong_ca"
        );
    }
}

#[test]
fn certificates_of_signed_reads_are_checked_like_attached_ones() {
    for suite in SUITES {
        let mut c = Chain::new(suite);
        let check = |c: &Chain, cert: &CertDer| -> Result<CertState, &'static str> {
            check_certificate(&c.state, &c.ctx(), cert)
                .unwrap()
                .map_err(|r| r.code())
        };
        // A reader of org1, never registered: accepted as it would be registered.
        let reader = c.org1.issue(suite, "rita", Role::Reader, 80, 0, 200 * DAY);
        let state = check(&c, &reader.cert).unwrap();
        assert_eq!((state.org.as_str(), state.role), ("org1", Role::Reader));
        assert_eq!(state.public_key, reader.key.public_key());
        assert!(
            c.cert_state(&reader.cert).is_none(),
            "checking writes nothing"
        );
        // Outside its validity, or from a CA the chain does not know.
        let old = c.org1.issue(suite, "old", Role::Reader, 81, 0, NOW - DAY);
        assert_eq!(check(&c, &old.cert).unwrap_err(), "cert_expired");
        let early = c
            .org1
            .issue(suite, "early", Role::Reader, 82, NOW + DAY, 200 * DAY);
        assert_eq!(check(&c, &early.cert).unwrap_err(), "cert_not_yet_valid");
        let stranger =
            Org::new(suite, "org9", 109).issue(suite, "x", Role::Auditor, 83, 0, 200 * DAY);
        assert_eq!(check(&c, &stranger.cert).unwrap_err(), "unknown_org");
        let forged =
            Org::new(suite, "org1", 110).issue(suite, "x", Role::Auditor, 84, 0, 200 * DAY);
        assert_eq!(check(&c, &forged.cert).unwrap_err(), "cert_wrong_ca");
        assert_eq!(check(&c, &c.org1.der()).unwrap_err(), "cert_profile");
        assert_eq!(
            check(&c, &CertDer(b"not DER".to_vec())).unwrap_err(),
            "cert_malformed"
        );
        // Revoking it (never used) registers it revoked: refused from then on.
        let mut admin = c.org1.issue(suite, "admin", Role::Admin, 85, 0, 200 * DAY);
        c.commit(&[admin.tx(
            true,
            Payload::RevokeCert {
                cert: reader.cert.clone(),
                reason: RevocationReason::AffiliationChanged,
            },
        )]);
        assert_eq!(check(&c, &reader.cert).unwrap_err(), "cert_revoked");
        // A registered, unrevoked certificate gives its registry entry.
        let mut w = c.org2.issue(suite, "wendy", Role::Writer, 86, 0, 200 * DAY);
        c.commit(&[w.evidence(true)]);
        assert_eq!(Some(check(&c, &w.cert).unwrap()), c.cert_state(&w.cert));
        // An open chain has no certificates to check.
        c.genesis.organisations.clear();
        c.genesis.validators[0].org.clear();
        assert_eq!(check(&c, &w.cert).unwrap_err(), "no_organisations");
    }
}

#[test]
fn open_chains_take_no_certificates() {
    let suite = Suite::Intl;
    let mut c = Chain::new(suite);
    c.genesis.organisations.clear();
    c.genesis.validators[0].org.clear();
    let mut w = c.org1.issue(suite, "alice", Role::Writer, 70, 0, 200 * DAY);
    assert_eq!(c.refusal(&w.evidence(true)), "no_organisations");
    let key = SigningKey::from_seed(suite, &[71; 32]).unwrap();
    let revoke = SealedTx::new(sign_v3(
        &key,
        1,
        Payload::RevokeCert {
            cert: w.cert.clone(),
            reason: RevocationReason::Unspecified,
        },
    ));
    assert_eq!(c.refusal(&revoke), "no_organisations");
    let bare = SealedTx::new(sign_v3(&key, 1, evidence("ok")));
    c.commit(&[bare]);
}

// ---------------------------------------------------------------------------------------------
// Governance
// ---------------------------------------------------------------------------------------------

use kexin_types::{ConsortiumState, GovAction, ProposalState, ProposalStatus};

fn proposal(c: &Chain, id: &kexin_crypto::Hash) -> ProposalState {
    ProposalState::decode(&c.state.0[&StateKey::Proposal(*id).to_key()]).unwrap()
}

fn consortium(c: &Chain) -> ConsortiumState {
    c.state
        .0
        .get(&StateKey::Consortium.to_key())
        .map(|b| ConsortiumState::decode(b).unwrap())
        .unwrap_or_else(|| ConsortiumState::from_genesis(&c.genesis))
}

fn vote(admin: &mut Id, id: kexin_crypto::Hash, approve: bool) -> SealedTx {
    admin.tx(
        true,
        Payload::Vote {
            proposal: id,
            approve,
        },
    )
}

#[test]
fn an_organisation_joins_by_a_vote_of_more_than_two_thirds() {
    for suite in SUITES {
        let mut c = Chain::with_orgs(suite, 3);
        let mut a1 = c.org1.issue(suite, "admin", Role::Admin, 80, 0, 200 * DAY);
        let mut a2 = c.org2.issue(suite, "admin", Role::Admin, 81, 0, 200 * DAY);
        let mut a3 = c.more[0].issue(suite, "admin", Role::Admin, 82, 0, 200 * DAY);
        let org4 = Org::new(suite, "org4", 106);
        let mut w4 = org4.issue(suite, "w", Role::Writer, 83, 0, 200 * DAY);
        assert_eq!(c.refusal(&w4.evidence(true)), "unknown_org");
        w4.nonce -= 1;
        // A writer cannot propose.
        let mut w1 = c.org1.issue(suite, "w", Role::Writer, 84, 0, 200 * DAY);
        let add = GovAction::AddOrg {
            org: Organisation {
                name: "org4".into(),
                ca_certs: vec![org4.der()],
            },
        };
        let by_writer = w1.tx(
            true,
            Payload::Propose {
                action: add.clone(),
            },
        );
        assert_eq!(c.refusal(&by_writer), "permission_denied");
        // 3 members: 3 yes votes needed (more than 2/3); proposing is org1's yes.
        assert_eq!(consortium(&c).votes_needed(), 3);
        let p = a1.tx(true, Payload::Propose { action: add });
        let id = p.hash();
        c.commit(&[p]);
        assert_eq!(proposal(&c, &id).status, ProposalStatus::Open);
        assert_eq!(proposal(&c, &id).tally(), (1, 0));
        c.commit(&[vote(&mut a2, id, true)]);
        assert_eq!(proposal(&c, &id).status, ProposalStatus::Open);
        // One vote per organisation, whoever of its admins casts it.
        let mut a2b = c.org2.issue(suite, "admin2", Role::Admin, 85, 0, 200 * DAY);
        assert_eq!(c.refusal(&vote(&mut a2b, id, true)), "duplicate_vote");
        assert_eq!(c.refusal(&vote(&mut a1, id, true)), "duplicate_vote");
        a1.nonce -= 1;
        // The third yes passes it and the organisation is a member from that block on.
        c.commit(&[vote(&mut a3, id, true), w4.evidence(true)]);
        let passed = proposal(&c, &id);
        assert_eq!(passed.status, ProposalStatus::Passed { height: c.height });
        assert_eq!(passed.tally(), (3, 0));
        assert_eq!(consortium(&c).members, ["org1", "org2", "org3", "org4"]);
        assert_eq!(consortium(&c).votes_needed(), 3);
        // Closed: more votes are refused.
        let mut a2c = c.org2.issue(suite, "admin3", Role::Admin, 86, 0, 200 * DAY);
        assert_eq!(c.refusal(&vote(&mut a2c, id, false)), "proposal_closed");
        // Adding it again is refused at proposal time.
        let again = GovAction::AddOrg {
            org: Organisation {
                name: "org4".into(),
                ca_certs: vec![org4.der()],
            },
        };
        assert_eq!(
            c.refusal(&a1.tx(false, Payload::Propose { action: again })),
            "org_exists"
        );
    }
}

#[test]
fn proposals_are_rejected_expire_and_unknown_ones_are_refused() {
    let suite = Suite::Intl;
    let mut c = Chain::with_orgs(suite, 4);
    let mut a1 = c.org1.issue(suite, "admin", Role::Admin, 90, 0, 400 * DAY);
    let mut a2 = c.org2.issue(suite, "admin", Role::Admin, 91, 0, 400 * DAY);
    let mut a3 = c.more[0].issue(suite, "admin", Role::Admin, 92, 0, 400 * DAY);
    // 4 members need 3 yes: two no votes make it impossible.
    let p = a1.tx(
        true,
        Payload::Propose {
            action: GovAction::SetParam {
                name: "gov.proposal_ttl_ms".into(),
                value: 3_600_000,
            },
        },
    );
    let id = p.hash();
    c.commit(&[p, vote(&mut a2, id, false)]);
    assert_eq!(proposal(&c, &id).status, ProposalStatus::Open);
    c.commit(&[vote(&mut a3, id, false)]);
    assert_eq!(
        proposal(&c, &id).status,
        ProposalStatus::Rejected { height: c.height }
    );
    assert_eq!(consortium(&c).param("gov.proposal_ttl_ms"), 7 * DAY);
    // Votes on an unknown proposal.
    assert_eq!(
        c.refusal(&vote(&mut a2, kexin_crypto::Hash([9; 32]), true)),
        "unknown_proposal"
    );
    a2.nonce -= 1;
    // A proposal expires after gov.proposal_ttl_ms (7 days by default).
    let p = a1.tx(
        false,
        Payload::Propose {
            action: GovAction::SetParam {
                name: "gov.proposal_ttl_ms".into(),
                value: 7_200_000,
            },
        },
    );
    let id = p.hash();
    c.commit(&[p]);
    c.later_ms = 7 * DAY;
    assert_eq!(c.refusal(&vote(&mut a2, id, true)), "proposal_expired");
    a2.nonce -= 1;
    // A parameter change that passes takes effect in its block.
    c.later_ms = 0;
    let p2 = a1.tx(
        false,
        Payload::Propose {
            action: GovAction::SetParam {
                name: "gov.threshold_den".into(),
                value: 4,
            },
        },
    );
    let id_den = p2.hash();
    c.commit(&[p2, vote(&mut a2, id_den, true), vote(&mut a3, id_den, true)]);
    assert_eq!(consortium(&c).param("gov.threshold_den"), 4);
    // 2/4 of 4 members: more than half, 3 votes.
    assert_eq!(consortium(&c).votes_needed(), 3);
    // An unusable threshold is refused when proposed.
    let bad = a1.tx(
        false,
        Payload::Propose {
            action: GovAction::SetParam {
                name: "gov.threshold_den".into(),
                value: 5,
            },
        },
    );
    assert_eq!(c.refusal(&bad), "invalid_param");
}

#[test]
fn removing_an_organisation_and_revoking_a_foreign_certificate_by_vote() {
    let suite = Suite::Gm;
    let mut c = Chain::with_orgs(suite, 4);
    let mut a1 = c.org1.issue(suite, "admin", Role::Admin, 95, 0, 200 * DAY);
    let mut a2 = c.org2.issue(suite, "admin", Role::Admin, 96, 0, 200 * DAY);
    let mut a3 = c.more[0].issue(suite, "admin", Role::Admin, 97, 0, 200 * DAY);
    let mut w4 = c.more[1].issue(suite, "w", Role::Writer, 98, 0, 200 * DAY);
    let mut w1 = c.org1.issue(suite, "w", Role::Writer, 99, 0, 200 * DAY);
    c.commit(&[w4.evidence(true), w1.evidence(true)]);
    // org1 operates the validator: it cannot be removed.
    let remove1 = GovAction::RemoveOrg {
        name: "org1".into(),
    };
    assert_eq!(
        c.refusal(&a2.tx(true, Payload::Propose { action: remove1 })),
        "org_has_validators"
    );
    a2.nonce -= 1;
    // Remove org4.
    let p = a1.tx(
        true,
        Payload::Propose {
            action: GovAction::RemoveOrg {
                name: "org4".into(),
            },
        },
    );
    let id = p.hash();
    c.commit(&[p, vote(&mut a2, id, true), vote(&mut a3, id, true)]);
    assert_eq!(
        proposal(&c, &id).status,
        ProposalStatus::Passed { height: c.height }
    );
    assert_eq!(consortium(&c).members, ["org1", "org2", "org3"]);
    assert_eq!(c.refusal(&w4.evidence(false)), "unknown_org");
    // Revoke org1's writer by a vote started by org2 (its own admin could, org2's cannot).
    let p = a2.tx(
        false,
        Payload::Propose {
            action: GovAction::RevokeCert {
                cert: w1.cert.clone(),
                reason: RevocationReason::PrivilegeWithdrawn,
            },
        },
    );
    let id = p.hash();
    c.commit(&[p, vote(&mut a3, id, true)]);
    assert!(c.cert_state(&w1.cert).unwrap().revoked.is_none());
    c.commit(&[vote(&mut a1, id, true)]);
    let rev = c.cert_state(&w1.cert).unwrap().revoked.unwrap();
    assert_eq!(
        (rev.height, rev.reason),
        (c.height, RevocationReason::PrivilegeWithdrawn)
    );
    assert_eq!(c.refusal(&w1.evidence(false)), "cert_revoked");
}

#[test]
fn open_chains_have_no_governance() {
    let suite = Suite::Intl;
    let mut c = Chain::new(suite);
    c.genesis.organisations.clear();
    c.genesis.validators[0].org.clear();
    let key = SigningKey::from_seed(suite, &[120; 32]).unwrap();
    let p = SealedTx::new(sign_v3(
        &key,
        1,
        Payload::Propose {
            action: GovAction::RemoveOrg {
                name: "org1".into(),
            },
        },
    ));
    assert_eq!(c.refusal(&p), "no_organisations");
}

fn epoch_set(c: &Chain, epoch: u64) -> Option<kexin_types::EpochSet> {
    c.state
        .0
        .get(&StateKey::Epoch(epoch).to_key())
        .map(|b| kexin_types::EpochSet::decode(b).unwrap())
}

#[test]
fn validators_change_by_vote_and_take_effect_at_the_next_epoch() {
    let suite = Suite::Intl;
    let mut c = Chain::with_orgs(suite, 3);
    c.genesis.epoch_length = 8;
    c.genesis.validate().unwrap();
    let mut a1 = c.org1.issue(suite, "admin", Role::Admin, 60, 0, 200 * DAY);
    let mut a2 = c.org2.issue(suite, "admin", Role::Admin, 61, 0, 200 * DAY);
    let mut a3 = c.more[0].issue(suite, "admin", Role::Admin, 62, 0, 200 * DAY);
    let genesis_key = c.genesis.validators[0].public_key;
    let new_key = SigningKey::from_seed(suite, &[63; 32])
        .unwrap()
        .public_key();
    let node2 = Validator {
        name: "node2".into(),
        org: "org2".into(),
        public_key: new_key,
        address: "node2.org2.example:7000".into(),
    };
    let propose = |admin: &mut Id, action: GovAction| admin.tx(true, Payload::Propose { action });
    // Refused up front: a key of the other suite, an unknown organisation, a taken key or
    // name, removing the only validator, removing a key that is not a validator.
    let gm_key = SigningKey::from_seed(Suite::Gm, &[64; 32])
        .unwrap()
        .public_key();
    let cases = [
        (
            Validator {
                public_key: gm_key,
                ..node2.clone()
            },
            "invalid_validator",
        ),
        (
            Validator {
                org: "org9".into(),
                ..node2.clone()
            },
            "unknown_org",
        ),
        (
            Validator {
                public_key: genesis_key,
                ..node2.clone()
            },
            "validator_exists",
        ),
        (
            Validator {
                name: "node0".into(),
                ..node2.clone()
            },
            "validator_exists",
        ),
    ];
    for (validator, code) in cases {
        assert_eq!(
            c.refusal(&propose(&mut a1, GovAction::AddValidator { validator })),
            code
        );
        a1.nonce -= 1;
    }
    assert_eq!(
        c.refusal(&propose(
            &mut a1,
            GovAction::RemoveValidator {
                public_key: genesis_key
            }
        )),
        "validator_count"
    );
    a1.nonce -= 1;
    assert_eq!(
        c.refusal(&propose(
            &mut a1,
            GovAction::RemoveValidator {
                public_key: new_key
            }
        )),
        "unknown_validator"
    );
    a1.nonce -= 1;

    // Add node2 by a vote of all three organisations at height 2.
    let p = propose(
        &mut a1,
        GovAction::AddValidator {
            validator: node2.clone(),
        },
    );
    let id = p.hash();
    c.commit(&[p]);
    c.commit(&[vote(&mut a2, id, true), vote(&mut a3, id, true)]);
    assert_eq!(
        proposal(&c, &id).status,
        ProposalStatus::Passed { height: 2 }
    );
    assert_eq!(consortium(&c).validators.len(), 2);
    assert_eq!(
        epoch_set(&c, 1),
        None,
        "nothing is fixed before the boundary"
    );
    // org2 now operates a validator: it cannot be removed.
    assert_eq!(
        c.refusal(&propose(
            &mut a1,
            GovAction::RemoveOrg {
                name: "org2".into()
            }
        )),
        "org_has_validators"
    );
    a1.nonce -= 1;
    // One change per epoch: the next one waits for epoch 1 (height 8).
    let remove0 = GovAction::RemoveValidator {
        public_key: genesis_key,
    };
    assert_eq!(
        c.refusal(&propose(&mut a2, remove0.clone())),
        "validator_change_pending"
    );
    a2.nonce -= 1;
    // Heights 3..=6 are ordinary; height 7, the last of epoch 0, fixes epoch 1's set.
    while c.height < 6 {
        let writes = c.commit(&[]);
        assert!(writes.is_empty(), "height {}", c.height);
    }
    let writes = c.commit(&[]);
    assert_eq!(c.height, 7);
    assert_eq!(
        writes.keys().collect::<Vec<_>>(),
        [&StateKey::Epoch(1).to_key()]
    );
    let set = epoch_set(&c, 1).unwrap();
    assert_eq!(set.epoch, 1);
    assert_eq!(
        kexin_types::consensus_order(&set.validators),
        kexin_types::consensus_order(&consortium(&c).validators)
    );
    assert!(set.contains(&new_key) && set.quorum() == 2);
    assert_eq!(
        kexin_exec::epoch_validators(&c.state, &c.genesis, 1)
            .unwrap()
            .unwrap(),
        set.validators
    );
    assert!(!kexin_exec::validator_change_pending(&c.state, &c.genesis, 8).unwrap());
    // In epoch 1 the next change is accepted; it is pending until height 15 fixes epoch 2.
    let p = propose(&mut a2, remove0);
    let id = p.hash();
    c.commit(&[p, vote(&mut a1, id, true), vote(&mut a3, id, true)]);
    assert_eq!(c.height, 8);
    assert!(kexin_exec::validator_change_pending(&c.state, &c.genesis, 9).unwrap());
    while c.height < 15 {
        c.commit(&[]);
    }
    let set2 = epoch_set(&c, 2).unwrap();
    assert_eq!(set2.validators, vec![node2]);
    assert_eq!(
        epoch_set(&c, 1).unwrap(),
        set,
        "earlier epochs keep their set"
    );
    assert!(!kexin_exec::validator_change_pending(&c.state, &c.genesis, 16).unwrap());
}

#[test]
fn p256_user_certificates_act_on_intl() {
    let suite = Suite::Intl;
    let mut c = Chain::new(suite);
    let mut w = c.org1.issue_p256("alice", Role::Writer, 10, 0, 200 * DAY);
    assert_eq!(w.key.public_key().scheme(), KeyScheme::EcdsaP256);
    // The writer attests: its certificate is registered on first use with its P-256 key.
    let writes = c.commit(&[w.evidence(true)]);
    assert!(writes.contains_key(&StateKey::Cert(w.cert.id(suite)).to_key()));
    let state = c.cert_state(&w.cert).expect("registered");
    assert_eq!(
        (state.org.as_str(), state.name.as_str(), state.role),
        ("org1", "alice", Role::Writer)
    );
    assert_eq!(state.public_key, w.key.public_key());
    c.commit(&[w.evidence(false)]);
    // Its certificate certifies its key only: another P-256 key signing under it is refused.
    let mut impostor = Id {
        key: SigningKey::from_scheme_seed(KeyScheme::EcdsaP256, &[11; 32]).unwrap(),
        cert: w.cert.clone(),
        nonce: 0,
    };
    let code = c.refusal(&impostor.evidence(false));
    assert!(code.starts_with("cert_"), "{code}");
    // A P-256 admin manages certificates: it revokes the writer, who is then refused.
    let mut admin = c.org1.issue_p256("boss", Role::Admin, 12, 0, 200 * DAY);
    c.commit(&[admin.tx(
        true,
        Payload::RevokeCert {
            cert: w.cert.clone(),
            reason: RevocationReason::KeyCompromise,
        },
    )]);
    assert!(c.cert_state(&w.cert).unwrap().revoked.is_some());
    assert_eq!(c.refusal(&w.evidence(false)), "cert_revoked");
}

#[test]
fn p256_ca_node_and_validator_keys_are_refused() {
    let suite = Suite::Intl;
    let c = Chain::new(suite);
    // A node certificate with a P-256 key, as another tool could issue it.
    let mut node = c.org1.issue_p256_unchecked("n1", Role::Node, 20);
    assert_eq!(c.refusal(&node.evidence(true)), "cert_wrong_algorithm");
    assert!(c.cert_state(&node.cert).is_none());
    // A CA certificate with a P-256 key, added by an admin of its organisation.
    let mut admin = c.org1.issue(suite, "admin", Role::Admin, 21, 0, 200 * DAY);
    let p256 = SigningKey::from_scheme_seed(KeyScheme::EcdsaP256, &[22; 32]).unwrap();
    let p256_ca = kexin_pki::testing::build_unchecked(
        &c.org1.ca,
        &c.org1.ca_key,
        "",
        None,
        &p256.public_key(),
        &terms(22, 0, 1000 * DAY),
    )
    .unwrap();
    assert_eq!(
        c.refusal(&admin.tx(
            true,
            Payload::AddCa {
                cert: CertDer(p256_ca.der().to_vec())
            }
        )),
        "cert_wrong_algorithm"
    );
    admin.nonce -= 1;
    // A validator added by governance signs votes with Ed25519, never P-256.
    let validator = Validator {
        name: "node2".into(),
        org: "org2".into(),
        public_key: p256.public_key(),
        address: "node2.org2.example:7000".into(),
    };
    assert_eq!(
        c.refusal(&admin.tx(
            true,
            Payload::Propose {
                action: GovAction::AddValidator { validator }
            }
        )),
        "invalid_validator"
    );
}

#[test]
fn p256_is_refused_on_gm() {
    let suite = Suite::Gm;
    let c = Chain::new(suite);
    // A gm CA never issues for a P-256 key; one made anyway is refused on its key.
    let mut w = c.org1.issue_p256_unchecked("w", Role::Writer, 30);
    assert_eq!(c.refusal(&w.evidence(true)), "cert_wrong_algorithm");
    // And the certificate alone (as a signed read would present it) is refused on its key.
    let r = check_certificate(&c.state, &c.ctx(), &w.cert).unwrap();
    assert_eq!(r.unwrap_err().code(), "cert_wrong_algorithm");
}

#[test]
fn a_protocol_upgrade_is_voted_and_takes_effect_at_its_height() {
    for suite in SUITES {
        let mut c = Chain::new(suite);
        c.genesis.version = kexin_types::protocol::V3;
        let mut a1 = c.org1.issue(suite, "admin", Role::Admin, 90, 0, 200 * DAY);
        let mut a2 = c.org2.issue(suite, "admin", Role::Admin, 91, 0, 200 * DAY);
        let upgrade = |admin: &mut Id, version, height| {
            admin.tx(
                true,
                Payload::Propose {
                    action: GovAction::ProtocolUpgrade { version, height },
                },
            )
        };
        // Not above the version the chain runs, or not after the block: refused.
        assert_eq!(c.refusal(&upgrade(&mut a1, 3, 10)), "invalid_upgrade");
        a1.nonce -= 1;
        assert_eq!(c.refusal(&upgrade(&mut a1, 4, 1)), "invalid_upgrade");
        a1.nonce -= 1;
        let at = c.height + 4;
        let p = upgrade(&mut a1, 4, at);
        let id = p.hash();
        c.commit(&[p]);
        assert_eq!(proposal(&c, &id).status, ProposalStatus::Open);
        let version_of_next = |c: &Chain| execute_block(&c.state, &c.ctx(), &[]).unwrap().version;
        assert_eq!(version_of_next(&c), 3);
        // The second organisation's yes passes it: the schedule is in the state.
        let v = vote(&mut a2, id, true);
        let executed = execute_block(&c.state, &c.ctx(), std::slice::from_ref(&v)).unwrap();
        let events: Vec<&str> = executed.outcomes[0]
            .events
            .iter()
            .map(|e| e.topic.as_str())
            .collect();
        assert_eq!(
            events,
            [
                "certificate_registered",
                "vote_cast",
                "proposal_passed",
                "protocol_upgrade_scheduled"
            ]
        );
        c.commit(&[v]);
        assert_eq!(
            proposal(&c, &id).status,
            ProposalStatus::Passed { height: c.height }
        );
        let schedule = kexin_exec::protocol::schedule(&c.state).unwrap();
        assert_eq!(schedule.upgrades.len(), 1);
        assert_eq!(
            (schedule.upgrades[0].version, schedule.upgrades[0].height),
            (4, at)
        );
        // Another upgrade to a version already scheduled is refused.
        assert_eq!(c.refusal(&upgrade(&mut a1, 4, at + 10)), "invalid_upgrade");
        a1.nonce -= 1;
        while c.height + 1 < at {
            assert_eq!(version_of_next(&c), 3);
            c.commit(&[]);
        }
        assert_eq!(version_of_next(&c), 4);
        // An upgrade that would pass only after its height fails when the deciding vote comes.
        c.commit(&[]);
        let late = upgrade(&mut a1, 5, c.height + 2);
        let late_id = late.hash();
        c.commit(&[late]);
        c.commit(&[]);
        c.commit(&[]);
        let executed = execute_block(&c.state, &c.ctx(), &[vote(&mut a2, late_id, true)]).unwrap();
        assert_eq!(
            executed.outcomes[0].code.as_deref(),
            Some("invalid_upgrade")
        );
    }
}
