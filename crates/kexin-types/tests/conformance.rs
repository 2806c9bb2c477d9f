//! Conformance vectors of every format version (3, 4 and 5), for both suites.
//!
//! The test builds a small chain from fixed seeds (see `common::conformance_chain_v`) at each
//! version and compares every encoding and hash with the pinned values in `tests/fixtures/`:
//!
//! * `conformance-v{3,4}-{intl,gm}.json`: named hex vectors (encodings, hashes, signing inputs,
//!   signatures) plus state proofs; version 4 adds the outcomes, their leaves and roots, the
//!   protocol schedule and the upgrade action;
//! * `genesis-v{3,4}-{intl,gm}.json`: the genesis JSON file of the chain;
//! * `receipt-v{3,5}-{intl,gm}.json`: the JSON form of a receipt (receipt version 3 on the
//!   version 3 chain, 5 with the proven outcome on the version 4 chain), and
//!   `receipt-v5-protocol5-{intl,gm}.json` on the version 5 chain (a version 5 outcome);
//! * version 5 adds contract transactions, version 5 outcomes (gas, return data, logs), a
//!   contract log, a contract account and contract state key hashes.
//!
//! Any difference fails the test: a changed value is a format change and needs a
//! `FORMAT_VERSION` bump (see `docs/formats.md`); a released version's files never change.
//! Every pinned encoding is also decoded and
//! re-encoded byte for byte, and every hash is recomputed from its documented preimage with
//! literal domain strings, so the fixtures double as a check of the documentation.
//!
//! Regenerate (only together with a format version bump, or when adding vectors):
//! `KEXIN_REGENERATE_FIXTURES=1 cargo test -p kexin-types --test conformance`.

mod common;

use std::collections::BTreeMap;
use std::path::PathBuf;

use common::*;
use kexin_crypto::Domain;
use kexin_merkle::{empty_root, leaf_hash, node_hash, smt_leaf_hash, verify_state_proof};
use kexin_types::state::{EvidenceState, NonceState, RecordLocation, StateKey, value_hash};
use kexin_types::*;

/// What a pinned encoding decodes as.
#[derive(Clone, Copy, Debug)]
enum Kind {
    Record,
    PayloadCommitment,
    TxSummary,
    Transaction,
    Genesis,
    Header,
    Block,
    Certificate,
    Checkpoint,
    RecordLocation,
    NonceState,
    EvidenceState,
    Receipt,
    Organisation,
    OrgState,
    CertState,
    GovAction,
    ProposalState,
    ConsortiumState,
    Outcome,
    ProtocolSchedule,
    ContractAccountState,
    ContractLog,
}

/// Decodes `bytes` as `kind` (with the size-checking entry points where they exist) and
/// re-encodes it.
fn reencode(kind: Kind, bytes: &[u8]) -> Result<Vec<u8>, DecodeError> {
    Ok(match kind {
        Kind::Record => EvidenceRecord::decode(bytes)?.encode(),
        Kind::PayloadCommitment => PayloadCommitment::decode(bytes)?.encode(),
        Kind::TxSummary => TxSummary::decode(bytes)?.encode(),
        Kind::Transaction => decode_transaction(bytes)?.encode(),
        Kind::Genesis => Genesis::decode(bytes)?.encode(),
        Kind::Header => BlockHeader::decode(bytes)?.encode(),
        Kind::Block => decode_block(bytes)?.encode(),
        Kind::Certificate => CommitCertificate::decode(bytes)?.encode(),
        Kind::Checkpoint => Checkpoint::decode(bytes)?.encode(),
        Kind::RecordLocation => RecordLocation::decode(bytes)?.encode(),
        Kind::NonceState => NonceState::decode(bytes)?.encode(),
        Kind::EvidenceState => EvidenceState::decode(bytes)?.encode(),
        Kind::Receipt => Receipt::decode(bytes)?.encode(),
        Kind::Organisation => Organisation::decode(bytes)?.encode(),
        Kind::OrgState => OrgState::decode(bytes)?.encode(),
        Kind::CertState => CertState::decode(bytes)?.encode(),
        Kind::GovAction => GovAction::decode(bytes)?.encode(),
        Kind::ProposalState => ProposalState::decode(bytes)?.encode(),
        Kind::ConsortiumState => ConsortiumState::decode(bytes)?.encode(),
        Kind::Outcome => Outcome::decode(bytes)?.encode(),
        Kind::ProtocolSchedule => protocol::ProtocolSchedule::decode(bytes)?.encode(),
        Kind::ContractAccountState => ContractAccountState::decode(bytes)?.encode(),
        Kind::ContractLog => ContractLog::decode(bytes)?.encode(),
    })
}

/// Named vectors in insertion order, and which of them are decodable encodings.
#[derive(Default)]
struct Vectors {
    entries: Vec<(String, String)>,
    encodings: Vec<(String, Kind)>,
}

impl Vectors {
    fn put(&mut self, name: impl Into<String>, bytes: impl AsRef<[u8]>) {
        let name = name.into();
        assert!(
            self.entries.iter().all(|(n, _)| *n != name),
            "duplicate vector name {name}"
        );
        self.entries.push((name, hex(bytes)));
    }

    fn enc(&mut self, name: impl Into<String>, kind: Kind, bytes: impl AsRef<[u8]>) {
        let name = name.into();
        self.encodings.push((name.clone(), kind));
        self.put(name, bytes);
    }
}

/// Everything pinned for one suite.
struct Fixture {
    vectors: Vectors,
    state_proofs: Vec<serde_json::Value>,
    genesis_json: String,
    receipt_json: String,
}

fn suite_name(suite: Suite) -> &'static str {
    suite.name()
}

fn fixtures_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// The literal-string form of every hash preimage, independent of `kexin_types::domains`.
mod literal {
    use super::*;

    pub fn tx_hash(suite: Suite, summary: &[u8]) -> Hash {
        suite.hash_parts(&[b"kexin:tx:v1", summary])
    }
    pub fn metadata_hash(suite: Suite, metadata: &[u8]) -> Hash {
        suite.hash_parts(&[b"kexin:metadata:v1", metadata])
    }
    pub fn record_leaf(suite: Suite, digest: &Hash, metadata_hash: &Hash) -> Hash {
        suite.hash_parts(&[
            &[0x00],
            b"kexin:record:v2",
            digest.as_bytes(),
            metadata_hash.as_bytes(),
        ])
    }
    pub fn log_leaf(suite: Suite, tx_hash: &Hash, sig: &Signature) -> Hash {
        suite.hash_parts(&[&[0x00], b"kexin:log:v1", tx_hash.as_bytes(), &sig.0])
    }
    pub fn block_hash(suite: Suite, header: &[u8]) -> Hash {
        suite.hash_parts(&[b"kexin:block:v1", header])
    }
    pub fn genesis_hash(suite: Suite, genesis: &[u8]) -> Hash {
        suite.hash_parts(&[b"kexin:genesis:v1", genesis])
    }
    pub fn state_key(suite: Suite, kind: u8, key: &[u8]) -> Hash {
        suite.hash_parts(&[b"kexin:state-key:v1", &[kind], key])
    }
    pub fn state_value(suite: Suite, value: &[u8]) -> Hash {
        suite.hash_parts(&[b"kexin:state-value:v1", value])
    }
    pub fn outcome_leaf(suite: Suite, tx_hash: &Hash, outcome: &[u8]) -> Hash {
        suite.hash_parts(&[b"kexin:outcome:v1", tx_hash.as_bytes(), outcome])
    }
    pub fn signing_input(namespace: &str, chain_id: &str, message: &[u8]) -> Vec<u8> {
        let mut out = vec![namespace.len() as u8];
        out.extend_from_slice(namespace.as_bytes());
        out.push(chain_id.len() as u8);
        out.extend_from_slice(chain_id.as_bytes());
        out.extend_from_slice(message);
        out
    }
    /// RFC 6962 MTH over leaf hashes.
    pub fn mth(suite: Suite, leaves: &[Hash]) -> Hash {
        match leaves.len() {
            0 => suite.hash(b""),
            1 => leaves[0],
            n => {
                let mut k = 1;
                while k * 2 < n {
                    k *= 2;
                }
                let (l, r) = (mth(suite, &leaves[..k]), mth(suite, &leaves[k..]));
                suite.hash_parts(&[&[0x01], l.as_bytes(), r.as_bytes()])
            }
        }
    }
}

/// SM2 (GB/T 32918.5) recommended curve parameters, for the independent `Z_A` computation.
mod sm2_params {
    pub const A: &str = "FFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFC";
    pub const B: &str = "28E9FA9E9D9F5E344D5A9E4BCF6509A7F39789F515AB8F92DDBCBD414D940E93";
    pub const GX: &str = "32C4AE2C1F1981195F9904466A39C9948FE30BBFF2660BE1715A4589334C74C7";
    pub const GY: &str = "BC3736A2F4F6779C59BDCEE36B692153D0A9877CC62A474002DF32E52139F0A0";
}

/// The uncompressed `x || y` (64 bytes) of a compressed SM2 key.
fn sm2_uncompressed_xy(key: &PublicKey) -> Vec<u8> {
    use sm2::elliptic_curve::sec1::ToSec1Point as _;
    let p = sm2::PublicKey::from_sec1_bytes(key.as_bytes()).expect("valid SM2 key");
    let u = p.to_sec1_point(false);
    assert_eq!(u.as_bytes()[0], 0x04);
    u.as_bytes()[1..].to_vec()
}

/// `Z_A = SM3(ENTL_A || ID_A || a || b || x_G || y_G || x_A || y_A)` with the default id.
fn sm2_za(key: &PublicKey) -> Hash {
    let id = kexin_crypto::SM2_DEFAULT_USER_ID.as_bytes();
    assert_eq!(id, b"1234567812345678");
    let entl = ((id.len() * 8) as u16).to_be_bytes();
    let p = |h: &str| ::hex::decode(h).unwrap();
    let xy = sm2_uncompressed_xy(key);
    Suite::Gm.hash_parts(&[
        &entl,
        id,
        &p(sm2_params::A),
        &p(sm2_params::B),
        &p(sm2_params::GX),
        &p(sm2_params::GY),
        &xy,
    ])
}

/// Checks an SM2 signature through the prehash interface with `e = SM3(Z_A || M)` computed
/// here, so the documented `Z_A` and `e` are the ones the signature scheme uses.
fn sm2_verify_prehash(key: &PublicKey, e: &Hash, sig: &Signature) {
    use sm2::dsa::signature::hazmat::PrehashVerifier as _;
    let vk =
        sm2::dsa::VerifyingKey::from_sec1_bytes(kexin_crypto::SM2_DEFAULT_USER_ID, key.as_bytes())
            .expect("valid SM2 key");
    let s = sm2::dsa::Signature::from_bytes(&sig.0.into()).expect("valid SM2 signature bytes");
    vk.verify_prehash(e.as_bytes(), &s)
        .expect("SM2 signature verifies with e = SM3(Z_A || signing input)");
}

/// The format versions with pinned conformance files.
const VERSIONS: [u8; 3] = [protocol::V3, protocol::V4, protocol::V5];

/// The receipt version of the conformance chain of format `version` (the receipt file's
/// name): 3 on version 3 (the layout without the signer section), 5 on version 4.
fn receipt_version(version: u8) -> u8 {
    conformance_chain_v(Suite::Intl, version).receipt_version()
}

/// Builds every vector of `suite` at format `version` and cross-checks each against its
/// documented preimage.
fn build(suite: Suite, version: u8) -> Fixture {
    let chain = conformance_chain_v(suite, version);
    let mut v = Vectors::default();

    // ---- keys -------------------------------------------------------------------------
    v.put("suite.tag", [suite.tag()]);
    for (name, seed) in [("signer_a", 1u8), ("signer_b", 2), ("signer_c", 3)] {
        let k = key(suite, seed);
        v.put(format!("key.{name}.seed"), [seed; 32]);
        v.put(format!("key.{name}.public_key"), k.public_key().as_bytes());
    }
    for (i, val) in chain.genesis.validators.iter().enumerate() {
        v.put(format!("key.validator.{i}.seed"), [validator_seed(i); 32]);
        v.put(
            format!("key.validator.{i}.public_key"),
            val.public_key.as_bytes(),
        );
    }
    if suite == Suite::Gm {
        let signer = key(suite, 1).public_key();
        v.put(
            "key.signer_a.sm2_uncompressed_xy",
            sm2_uncompressed_xy(&signer),
        );
        v.put("key.signer_a.sm2_za", sm2_za(&signer));
    }

    // ---- basic hashes -----------------------------------------------------------------
    let empty = empty_root(suite);
    assert_eq!(empty, suite.hash(b""));
    v.put("hash.empty_string", empty);
    v.put("hash.abc", suite.hash(b"abc"));

    // ---- the main transaction ---------------------------------------------------------
    let tx = chain.block(2).transactions[0].clone();
    let mut record_leaves = Vec::new();
    for (i, rec) in tx.records().iter().enumerate() {
        let enc = rec.encode();
        // The record is its digest followed by its metadata (salt first).
        let meta = rec.metadata.encode();
        assert_eq!(enc, [rec.digest.as_bytes().as_slice(), &meta].concat());
        assert_eq!(&meta[..16], rec.metadata.salt.0.as_slice());
        let mh = rec.metadata_hash(suite);
        assert_eq!(mh, literal::metadata_hash(suite, &meta));
        let leaf = rec.leaf_hash(suite);
        assert_eq!(leaf, literal::record_leaf(suite, &rec.digest, &mh));
        assert_eq!(
            leaf,
            leaf_hash(
                suite,
                &[
                    b"kexin:record:v2".as_slice(),
                    rec.digest.as_bytes(),
                    mh.as_bytes()
                ]
                .concat()
            )
        );
        v.enc(format!("tx.record.{i}.encoding"), Kind::Record, &enc);
        v.put(format!("tx.record.{i}.metadata_hash"), mh);
        v.put(format!("tx.record.{i}.leaf_hash"), leaf);
        record_leaves.push(leaf);
    }
    let records_root = literal::mth(suite, &record_leaves);
    let summary = tx.summary();
    assert_eq!(
        summary.payload,
        PayloadCommitment::Evidence {
            record_count: 3,
            records_root
        }
    );
    v.put("tx.records_root", records_root);
    v.enc(
        "tx.payload_commitment.encoding",
        Kind::PayloadCommitment,
        summary.payload.encode(),
    );
    let summary_enc = summary.encode();
    v.enc("tx.summary.encoding", Kind::TxSummary, &summary_enc);
    let tx_hash = tx.hash();
    assert_eq!(tx_hash, literal::tx_hash(suite, &summary_enc));
    v.put("tx.hash", tx_hash);
    let signing_input = literal::signing_input("kexin/tx", CHAIN_ID, tx_hash.as_bytes());
    assert_eq!(
        signing_input,
        Domain::new(domains::TX_SIGNATURE, CHAIN_ID).signing_input(tx_hash.as_bytes())
    );
    v.put("tx.signing_input", &signing_input);
    // Signing is deterministic for both suites (SM2: RFC 6979 nonces with HMAC-SM3).
    let again = chain.sign(&key(suite, 1), 42, tx.payload.clone());
    assert_eq!(
        again.signature, tx.signature,
        "{suite}: signing is not deterministic"
    );
    if suite == Suite::Gm {
        let signer = tx.signer;
        let e = Suite::Gm.hash_parts(&[sm2_za(&signer).as_bytes(), &signing_input]);
        sm2_verify_prehash(&signer, &e, &tx.signature);
        v.put("tx.sm2_e", e);
    }
    v.put("tx.signature", tx.signature.0);
    let tx_enc = tx.encode();
    v.enc("tx.encoding", Kind::Transaction, &tx_enc);
    let sealed = SealedTx::new(tx.clone());
    sealed.verify(CHAIN_ID, suite).expect("main tx verifies");
    assert_eq!(sealed.encoded_len(), tx_enc.len());
    let log_leaf = sealed.log_leaf_hash();
    assert_eq!(log_leaf, literal::log_leaf(suite, &tx_hash, &tx.signature));
    v.put("tx.log_leaf_hash", log_leaf);

    // ---- identities: a transaction under a certificate -----------------------------------
    // Certificates are opaque DER to the format; these bytes stand in for real ones.
    let user_cert = CertDer(b"conformance user certificate DER".to_vec());
    let revoked_cert = CertDer(b"conformance revoked certificate DER".to_vec());
    let cert_id = user_cert.id(suite);
    assert_eq!(
        cert_id,
        suite.hash_parts(&[b"kexin:cert:v1", user_cert.as_bytes()])
    );
    v.put("identity.user_cert.der", user_cert.as_bytes());
    v.put("identity.user_cert.id", cert_id);
    let revoke = Transaction::sign_versioned(
        version,
        CHAIN_ID,
        &key(suite, 2),
        Some((&user_cert, true)),
        7,
        Payload::RevokeCert {
            cert: revoked_cert.clone(),
            reason: RevocationReason::KeyCompromise,
        },
    );
    let commitment = revoke.summary().payload;
    let mut body = (revoked_cert.as_bytes().len() as u16)
        .to_be_bytes()
        .to_vec();
    body.extend_from_slice(revoked_cert.as_bytes());
    body.push(1);
    assert_eq!(
        commitment,
        PayloadCommitment::Digest {
            kind: 2,
            digest: suite.hash_parts(&[b"kexin:payload:v1", &[2], &body]),
        }
    );
    v.enc(
        "identity.revoke_tx.payload_commitment.encoding",
        Kind::PayloadCommitment,
        commitment.encode(),
    );
    let summary_enc = revoke.summary().encode();
    v.enc(
        "identity.revoke_tx.summary.encoding",
        Kind::TxSummary,
        &summary_enc,
    );
    assert_eq!(revoke.hash(), literal::tx_hash(suite, &summary_enc));
    v.put("identity.revoke_tx.hash", revoke.hash());
    v.enc(
        "identity.revoke_tx.encoding",
        Kind::Transaction,
        revoke.encode(),
    );
    SealedTx::new(revoke.clone())
        .verify(CHAIN_ID, suite)
        .expect("revoke tx verifies");
    let cert_state = CertState {
        org: "org1".into(),
        name: "alice".into(),
        role: Role::Writer,
        public_key: key(suite, 2).public_key(),
        issuer: chain.genesis.organisations[0].ca_certs[0].id(suite),
        serial: "01".into(),
        not_before_ms: GENESIS_TIMESTAMP_MS,
        not_after_ms: GENESIS_TIMESTAMP_MS + 365 * 86_400_000,
        registered_at: 3,
        revoked: Some(Revocation {
            height: 5,
            reason: RevocationReason::Superseded,
        }),
    };
    v.enc(
        "identity.cert_state.encoding",
        Kind::CertState,
        cert_state.encode(),
    );
    let cert_key = StateKey::Cert(cert_id).hash(suite);
    assert_eq!(cert_key, literal::state_key(suite, 4, cert_id.as_bytes()));
    v.put("identity.cert_state.key_hash", cert_key);
    let org_state = OrgState {
        org: chain.genesis.organisations[0].clone(),
        updated_at: 9,
    };
    v.enc(
        "identity.org.encoding",
        Kind::Organisation,
        org_state.org.encode(),
    );
    v.enc(
        "identity.org_state.encoding",
        Kind::OrgState,
        org_state.encode(),
    );
    let org_key = StateKey::Org("org1".into()).hash(suite);
    assert_eq!(org_key, literal::state_key(suite, 3, b"org1"));
    v.put("identity.org_state.key_hash", org_key);

    // ---- governance: a proposal, a vote, the proposal's and the consortium's state ----------
    let action = GovAction::SetParam {
        name: "gov.proposal_ttl_ms".into(),
        value: 86_400_000,
    };
    v.enc("gov.action.encoding", Kind::GovAction, action.encode());
    let propose = Transaction::sign_versioned(
        version,
        CHAIN_ID,
        &key(suite, 2),
        Some((&user_cert, false)),
        8,
        Payload::Propose {
            action: action.clone(),
        },
    );
    assert_eq!(
        propose.summary().payload,
        PayloadCommitment::Digest {
            kind: 4,
            digest: suite.hash_parts(&[b"kexin:payload:v1", &[4], &action.encode()]),
        }
    );
    v.enc(
        "gov.propose_tx.encoding",
        Kind::Transaction,
        propose.encode(),
    );
    v.put("gov.propose_tx.hash", propose.hash());
    let vote = Transaction::sign_versioned(
        version,
        CHAIN_ID,
        &key(suite, 3),
        Some((&revoked_cert, true)),
        1,
        Payload::Vote {
            proposal: propose.hash(),
            approve: true,
        },
    );
    v.enc("gov.vote_tx.encoding", Kind::Transaction, vote.encode());
    v.put("gov.vote_tx.hash", vote.hash());
    let proposal_state = ProposalState {
        action,
        proposer_org: "org1".into(),
        created_at: 4,
        expires_ms: GENESIS_TIMESTAMP_MS + 7 * 86_400_000,
        votes: vec![kexin_types::Vote {
            org: "org1".into(),
            approve: true,
            height: 4,
            cert: cert_id,
        }],
        status: ProposalStatus::Passed { height: 6 },
    };
    v.enc(
        "gov.proposal_state.encoding",
        Kind::ProposalState,
        proposal_state.encode(),
    );
    let pkey = StateKey::Proposal(propose.hash()).hash(suite);
    assert_eq!(
        pkey,
        literal::state_key(suite, 5, propose.hash().as_bytes())
    );
    v.put("gov.proposal_state.key_hash", pkey);
    let mut consortium = ConsortiumState::from_genesis(&chain.genesis);
    consortium.set_param("gov.proposal_ttl_ms", 86_400_000);
    consortium.updated_at = 6;
    v.enc(
        "gov.consortium_state.encoding",
        Kind::ConsortiumState,
        consortium.encode(),
    );
    let ckey = StateKey::Consortium.hash(suite);
    assert_eq!(ckey, literal::state_key(suite, 6, b""));
    v.put("gov.consortium_state.key_hash", ckey);

    // ---- version 4: outcomes, the upgrade action and the protocol schedule -------------------
    if version >= protocol::V4 {
        let success = Outcome::success(
            31,
            vec![
                Event::new("evidence", "records_attested")
                    .with("count", 3)
                    .with("new_digests", 2)
                    .with("org", "org1"),
                Event::new("identity", "certificate_registered").with("cert", cert_id),
            ],
        );
        v.enc("outcome.success.encoding", Kind::Outcome, success.encode());
        let failed = Outcome::failed(
            "cert_revoked",
            "the signer's certificate was revoked at height 5",
            30,
        );
        v.enc("outcome.failed.encoding", Kind::Outcome, failed.encode());
        let leaf = literal::outcome_leaf(suite, &tx_hash, &failed.encode());
        assert_eq!(leaf, failed.leaf_hash(suite, &tx_hash));
        v.put("outcome.failed.leaf_hash", leaf);
        let upgrade = GovAction::ProtocolUpgrade {
            version: protocol::V4,
            height: 1000,
        };
        v.enc(
            "gov.protocol_upgrade.encoding",
            Kind::GovAction,
            upgrade.encode(),
        );
        let schedule = protocol::ProtocolSchedule {
            upgrades: vec![protocol::Upgrade {
                version: protocol::V4,
                height: 1000,
                voted_at: 640,
            }],
        };
        v.enc(
            "protocol.schedule.encoding",
            Kind::ProtocolSchedule,
            schedule.encode(),
        );
        let skey = state::Key::new(state::namespace::PROTOCOL, Vec::new()).hash(suite);
        assert_eq!(skey, literal::state_key(suite, 8, b""));
        v.put("protocol.schedule.key_hash", skey);
    }

    // ---- version 5: contract transactions, outcomes with gas and logs, contract state --------
    if version >= protocol::V5 {
        let signer = key(suite, 1);
        let deploy = Transaction::sign_versioned(
            protocol::V5,
            CHAIN_ID,
            &signer,
            None,
            43,
            Payload::ContractDeploy {
                gas_limit: 3_000_000,
                code: vec![0x60, 0x80, 0x60, 0x40, 0x52, 0x34, 0x80, 0x15],
                abi: None,
            },
        );
        v.enc(
            "contract.deploy_tx.encoding",
            Kind::Transaction,
            deploy.encode(),
        );
        v.put("contract.deploy_tx.hash", deploy.hash());
        let contract = ContractAddress([0xe2; 20]);
        let call = Transaction::sign_versioned(
            protocol::V5,
            CHAIN_ID,
            &signer,
            None,
            44,
            Payload::ContractCall {
                contract,
                gas_limit: 200_000,
                input: vec![0xa9, 0x05, 0x9c, 0xbb, 0, 0, 0, 1],
            },
        );
        v.enc(
            "contract.call_tx.encoding",
            Kind::Transaction,
            call.encode(),
        );
        v.enc(
            "contract.call_tx.summary",
            Kind::TxSummary,
            call.summary().encode(),
        );
        v.put("contract.call_tx.hash", call.hash());
        let log = ContractLog {
            address: contract,
            topics: vec![Hash([0xdd; 32]), Hash([0x01; 32])],
            data: vec![0, 0, 0, 250],
        };
        v.enc("contract.log.encoding", Kind::ContractLog, log.encode());
        let success =
            Outcome::success(210, vec![]).with_contract(51_234, vec![0, 0, 0, 1], vec![log]);
        v.enc("outcome.v5.call.encoding", Kind::Outcome, success.encode());
        let call_hash = call.hash();
        let leaf = literal::outcome_leaf(suite, &call_hash, &success.encode());
        assert_eq!(leaf, success.leaf_hash(suite, &call_hash));
        v.put("outcome.v5.call.leaf_hash", leaf);
        let reverted = Outcome::failed("contract_reverted", "reverted: not allowed", 210)
            .with_contract(23_456, vec![0x08, 0xc3, 0x79, 0xa0], vec![]);
        v.enc(
            "outcome.v5.reverted.encoding",
            Kind::Outcome,
            reverted.encode(),
        );
        let account = ContractAccountState {
            nonce: 0,
            code_hash: Hash([0xc5; 32]),
            frozen: false,
            created_at: 2,
            creator_org: "org1".into(),
        };
        v.enc(
            "contract.account_state.encoding",
            Kind::ContractAccountState,
            account.encode(),
        );
        let akey = state::Key::new(state::namespace::CONTRACT_ACCOUNT, contract.0.to_vec());
        assert_eq!(akey.hash(suite), literal::state_key(suite, 9, &contract.0));
        v.put("contract.account.key_hash", akey.hash(suite));
        let mut slot_key = contract.0.to_vec();
        slot_key.extend_from_slice(&[0u8; 31]);
        slot_key.push(3);
        let skey = state::Key::new(state::namespace::CONTRACT_STORAGE, slot_key.clone());
        assert_eq!(skey.hash(suite), literal::state_key(suite, 11, &slot_key));
        v.put("contract.storage.key_hash", skey.hash(suite));
    }

    // ---- genesis ------------------------------------------------------------------------
    let genesis_enc = chain.genesis.encode();
    v.enc("genesis.encoding", Kind::Genesis, &genesis_enc);
    assert_eq!(
        chain.genesis.hash(),
        literal::genesis_hash(suite, &genesis_enc)
    );
    v.put("genesis.hash", chain.genesis.hash());
    assert_eq!(chain.genesis.quorum(), 3);

    // ---- blocks ---------------------------------------------------------------------------
    let mut leaves = Vec::new();
    let mut parent = chain.genesis.hash();
    for block in &chain.blocks {
        let h = block.header.height;
        for (i, t) in block.transactions.iter().enumerate() {
            let s = SealedTx::new(t.clone());
            v.enc(
                format!("block.{h}.tx.{i}.encoding"),
                Kind::Transaction,
                t.encode(),
            );
            v.put(format!("block.{h}.tx.{i}.hash"), s.hash());
            v.put(format!("block.{h}.tx.{i}.log_leaf_hash"), s.log_leaf_hash());
            leaves.push(s.log_leaf_hash());
        }
        if let Some(root) = block.header.outcomes_root {
            let mut outcome_leaves = Vec::new();
            for (i, (tx_hash, outcome)) in block.outcomes.iter().enumerate() {
                let enc = outcome.encode();
                let leaf = literal::outcome_leaf(suite, tx_hash, &enc);
                assert_eq!(leaf, outcome.leaf_hash(suite, tx_hash));
                v.enc(
                    format!("block.{h}.tx.{i}.outcome.encoding"),
                    Kind::Outcome,
                    &enc,
                );
                v.put(format!("block.{h}.tx.{i}.outcome.leaf_hash"), leaf);
                outcome_leaves.push(leaf);
            }
            assert_eq!(root, literal::mth(suite, &outcome_leaves));
            v.put(format!("block.{h}.outcomes_root"), root);
        }
        assert_eq!(block.header.parent_hash, parent);
        assert_eq!(block.header.log_size, leaves.len() as u64);
        assert_eq!(block.header.log_root, literal::mth(suite, &leaves));
        v.put(format!("block.{h}.log_root"), block.header.log_root);
        let header_enc = block.header.encode();
        v.enc(
            format!("block.{h}.header.encoding"),
            Kind::Header,
            &header_enc,
        );
        assert_eq!(block.hash, literal::block_hash(suite, &header_enc));
        v.put(format!("block.{h}.hash"), block.hash);
        let full = Block {
            header: block.header.clone(),
            transactions: block.transactions.clone(),
        };
        v.enc(format!("block.{h}.encoding"), Kind::Block, full.encode());
        v.put(
            format!("block.{h}.commit_signing_input"),
            literal::signing_input("kexin/commit", CHAIN_ID, block.hash.as_bytes()),
        );
        block
            .certificate
            .verify(&chain.genesis, &block.hash)
            .expect("quorum certificate verifies");
        v.enc(
            format!("block.{h}.certificate.encoding"),
            Kind::Certificate,
            block.certificate.encode(),
        );
        parent = block.hash;
    }
    // The checkpoint of block 2 with a certificate of validators 0, 1 and 3 (a quorum of 4).
    let b2 = chain.block(2);
    let checkpoint = Checkpoint {
        header: b2.header.clone(),
        certificate: chain.certificate(&b2.hash, &[0, 1, 3]),
    };
    assert_eq!(checkpoint.verify(&chain.genesis), Ok(b2.hash));
    v.enc(
        "checkpoint.certificate.encoding",
        Kind::Certificate,
        checkpoint.certificate.encode(),
    );
    v.enc("checkpoint.encoding", Kind::Checkpoint, checkpoint.encode());

    // ---- state ------------------------------------------------------------------------------
    let mut state_proofs = Vec::new();
    let mut expected_entries = BTreeMap::new();
    for (name, seed) in [("signer_a", 1u8), ("signer_b", 2), ("signer_c", 3)] {
        let pk = key(suite, seed).public_key();
        let state = chain.nonces[&pk];
        let key_hash = StateKey::Nonce(pk).hash(suite);
        assert_eq!(key_hash, literal::state_key(suite, 1, pk.as_bytes()));
        let value = state.encode();
        let vh = value_hash(suite, &value);
        assert_eq!(vh, literal::state_value(suite, &value));
        v.put(format!("state.nonce.{name}.key_hash"), key_hash);
        v.enc(
            format!("state.nonce.{name}.value"),
            Kind::NonceState,
            &value,
        );
        v.put(format!("state.nonce.{name}.value_hash"), vh);
        v.put(
            format!("state.nonce.{name}.smt_leaf_hash"),
            smt_leaf_hash(suite, &key_hash, &vh),
        );
        expected_entries.insert(key_hash, vh);
    }
    for (i, (digest, state)) in chain.evidence.iter().enumerate() {
        let key_hash = StateKey::Evidence(*digest).hash(suite);
        assert_eq!(key_hash, literal::state_key(suite, 2, digest.as_bytes()));
        let value = state.encode();
        let vh = value_hash(suite, &value);
        assert_eq!(vh, literal::state_value(suite, &value));
        v.put(format!("state.evidence.{i}.digest"), digest);
        v.put(format!("state.evidence.{i}.key_hash"), key_hash);
        v.enc(
            format!("state.evidence.{i}.value"),
            Kind::EvidenceState,
            &value,
        );
        v.put(format!("state.evidence.{i}.value_hash"), vh);
        expected_entries.insert(key_hash, vh);
    }
    let loc = chain.evidence.values().next().expect("evidence").first;
    v.enc(
        "state.record_location.example",
        Kind::RecordLocation,
        loc.encode(),
    );
    assert_eq!(
        chain.state.iter().collect::<BTreeMap<_, _>>(),
        expected_entries
    );
    let root = chain.state.root();
    assert_eq!(root, b2.header.state_root);
    v.put("state.root", root);
    // A membership proof (signer A's nonce) and an absence proof (a digest never recorded).
    let present = StateKey::Nonce(key(suite, 1).public_key()).hash(suite);
    let absent = StateKey::Evidence(suite.hash(b"never recorded")).hash(suite);
    for (what, k) in [("membership", present), ("absence", absent)] {
        let proof = chain.state.prove(&k);
        let value = chain.state.get(&k);
        verify_state_proof(suite, &root, &k, value.as_ref(), &proof).expect("state proof");
        state_proofs.push(serde_json::json!({
            "what": what,
            "root": root,
            "key": k,
            "value_hash": value,
            "proof": proof,
        }));
    }
    // An SMT over two fixed keys, small enough to check by hand:
    // root = H(0x03 || leaf(k0) || leaf(k1)) when k0 starts with bit 0 and k1 with bit 1.
    let (k0, k1) = (Hash([0x00; 32]), Hash([0x80; 32]));
    let (v0, v1) = (suite.hash(b"v0"), suite.hash(b"v1"));
    let two = kexin_merkle::SparseMerkleTree::new(suite)
        .apply(&BTreeMap::from([(k0, Some(v0)), (k1, Some(v1))]));
    let by_hand = kexin_merkle::smt_node_hash(
        suite,
        &smt_leaf_hash(suite, &k0, &v0),
        &smt_leaf_hash(suite, &k1, &v1),
    );
    assert_eq!(two.root(), by_hand);
    v.put("smt.two_keys.root", two.root());

    // ---- receipt ---------------------------------------------------------------------------
    // Record 1 (with external_ref) of transaction 0 of block 2: log index 1 of 3.
    let receipt_bytes = chain.receipt_bytes(2, 0, 1);
    let receipt = Receipt::decode(&receipt_bytes).expect("receipt decodes");
    assert_eq!(receipt.encode(), receipt_bytes);
    let verified = receipt.verify(&chain.genesis).expect("receipt verifies");
    assert_eq!(verified.tx_hash, tx_hash);
    assert_eq!(verified.block_hash, b2.hash);
    assert_eq!(verified.height, 2);
    assert_eq!(verified.digest, tx.records()[1].digest);
    assert_eq!(receipt.log_proof.leaf_index, 1);
    assert_eq!(receipt.log_proof.tree_size, 3);
    // The log proof of leaf 1 of 3 is [leaf 0, leaf 2]; the root is H(1 || H(1 || l0 || l1) || l2).
    assert_eq!(receipt.log_proof.path, vec![leaves[0], leaves[2]]);
    assert_eq!(receipt.version, chain.receipt_version());
    assert_eq!(
        verified.outcome.as_ref(),
        b2.header.outcomes_root.map(|_| &b2.outcomes[0].1)
    );
    assert_eq!(
        b2.header.log_root,
        node_hash(suite, &node_hash(suite, &leaves[0], &leaves[1]), &leaves[2])
    );
    v.enc("receipt.encoding", Kind::Receipt, &receipt_bytes);
    v.put("receipt.tx_hash", verified.tx_hash);
    v.put("receipt.block_hash", verified.block_hash);
    // The same receipt with the metadata withheld: what a node serves to a requester who may
    // not see it. It verifies just the same.
    let withheld_bytes = chain.receipt_bytes_with(2, 0, 1, false);
    let withheld = Receipt::decode(&withheld_bytes).expect("withheld receipt decodes");
    assert_eq!(withheld, receipt.clone().withheld());
    assert_eq!(
        withheld
            .verify(&chain.genesis)
            .expect("withheld verifies")
            .tx_hash,
        tx_hash
    );
    v.enc("receipt.withheld.encoding", Kind::Receipt, &withheld_bytes);

    // ---- a signed read ---------------------------------------------------------------------
    // Signer B reads the main transaction 3 s after the genesis time.
    let target = format!("/v1/transactions/{tx_hash}");
    let at = GENESIS_TIMESTAMP_MS + 3000;
    let mut message = vec![3u8];
    message.extend_from_slice(b"GET");
    message.extend_from_slice(&(target.len() as u16).to_be_bytes());
    message.extend_from_slice(target.as_bytes());
    message.extend_from_slice(&at.to_be_bytes());
    let read_input = literal::signing_input("kexin:read:v1", CHAIN_ID, &message);
    assert_eq!(
        kexin_types::signed_read::signing_input(CHAIN_ID, "GET", &target, at).unwrap(),
        read_input
    );
    let read_sig = kexin_types::signed_read::sign(&key(suite, 2), CHAIN_ID, "GET", &target, at)
        .expect("valid read");
    kexin_types::signed_read::verify(
        &key(suite, 2).public_key(),
        CHAIN_ID,
        "GET",
        &target,
        at,
        &read_sig,
    )
    .expect("read signature verifies");
    v.put("read.signing_input", &read_input);
    v.put("read.signature", read_sig.0);

    let genesis_json = chain.genesis.to_json() + "\n";
    let receipt_json = receipt.to_json() + "\n";
    Fixture {
        vectors: v,
        state_proofs,
        genesis_json,
        receipt_json,
    }
}

/// The conformance file's text (hand-written so the vectors keep their order).
fn render(suite: Suite, version: u8, f: &Fixture) -> String {
    let q = |s: &str| serde_json::to_string(s).expect("string");
    let mut out = String::from("{\n");
    out += &format!("  \"format_version\": {version},\n");
    out += &format!("  \"suite\": {},\n", q(suite.name()));
    out += &format!("  \"chain_id\": {},\n", q(CHAIN_ID));
    out += "  \"generated_by\": \"crates/kexin-types/tests/conformance.rs (KEXIN_REGENERATE_FIXTURES=1)\",\n";
    out += "  \"note\": \"All values are lowercase hex. Changing any value requires a format version bump.\",\n";
    out += "  \"vectors\": {\n";
    let n = f.vectors.entries.len();
    for (i, (name, value)) in f.vectors.entries.iter().enumerate() {
        let comma = if i + 1 < n { "," } else { "" };
        out += &format!("    {}: {}{comma}\n", q(name), q(value));
    }
    out += "  },\n";
    out += "  \"state_proofs\": [\n";
    let n = f.state_proofs.len();
    for (i, p) in f.state_proofs.iter().enumerate() {
        let comma = if i + 1 < n { "," } else { "" };
        out += &format!("    {}{comma}\n", serde_json::to_string(p).expect("json"));
    }
    out += "  ]\n}\n";
    out
}

/// The receipt file of the conformance chain of format `version`. Blocks of versions 4 and 5
/// both have receipts of version 5: from version 5 on the name also says the protocol version.
fn receipt_file(suite_name: &str, version: u8) -> String {
    let rv = receipt_version(version);
    if version >= protocol::V5 {
        format!("receipt-v{rv}-protocol{version}-{suite_name}.json")
    } else {
        format!("receipt-v{rv}-{suite_name}.json")
    }
}

fn files(suite: Suite, version: u8, f: &Fixture) -> Vec<(PathBuf, String)> {
    let dir = fixtures_dir();
    let s = suite_name(suite);
    vec![
        (
            dir.join(format!("conformance-v{version}-{s}.json")),
            render(suite, version, f),
        ),
        (
            dir.join(format!("genesis-v{version}-{s}.json")),
            f.genesis_json.clone(),
        ),
        (dir.join(receipt_file(s, version)), f.receipt_json.clone()),
    ]
}

fn regenerate() -> bool {
    std::env::var("KEXIN_REGENERATE_FIXTURES").is_ok_and(|v| v == "1")
}

/// Reads a pinned conformance file's vectors.
fn pinned_vectors(suite: Suite, version: u8) -> BTreeMap<String, String> {
    ensure_regenerated();
    let path = fixtures_dir().join(format!("conformance-v{version}-{}.json", suite_name(suite)));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; run KEXIN_REGENERATE_FIXTURES=1 cargo test -p kexin-types --test conformance",
            path.display()
        )
    });
    let json: serde_json::Value = serde_json::from_str(&text).expect("fixture is JSON");
    assert_eq!(json["format_version"], version);
    json["vectors"]
        .as_object()
        .expect("vectors object")
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().expect("hex string").to_owned()))
        .collect()
}

/// With `KEXIN_REGENERATE_FIXTURES=1`, rewrites every fixture file (once per test run, before
/// any test reads them).
fn ensure_regenerated() {
    static DONE: std::sync::OnceLock<()> = std::sync::OnceLock::new();
    DONE.get_or_init(|| {
        if !regenerate() {
            return;
        }
        std::fs::create_dir_all(fixtures_dir()).expect("fixtures dir");
        for (suite, version) in SUITES.into_iter().flat_map(|s| VERSIONS.map(|v| (s, v))) {
            for (path, text) in files(suite, version, &build(suite, version)) {
                std::fs::write(&path, text).expect("write fixture");
                eprintln!("wrote {}", path.display());
            }
        }
    });
}

fn check_suite(suite: Suite) {
    for version in VERSIONS {
        check_version(suite, version);
    }
}

fn check_version(suite: Suite, version: u8) {
    ensure_regenerated();
    let fixture = build(suite, version);
    let files = files(suite, version, &fixture);

    // 1. Every vector equals the pinned one (named report first, then the exact text).
    let pinned = pinned_vectors(suite, version);
    let mut diffs = Vec::new();
    for (name, value) in &fixture.vectors.entries {
        match pinned.get(name) {
            None => diffs.push(format!("{name}: missing from the fixture")),
            Some(p) if p != value => {
                diffs.push(format!("{name}:\n  pinned   {p}\n  computed {value}"))
            }
            Some(_) => {}
        }
    }
    for name in pinned.keys() {
        if !fixture.vectors.entries.iter().any(|(n, _)| n == name) {
            diffs.push(format!("{name}: in the fixture but no longer computed"));
        }
    }
    assert!(
        diffs.is_empty(),
        "{suite} v{version}: {} conformance vector(s) changed; this is a format change (bump \
         FORMAT_VERSION, then regenerate with KEXIN_REGENERATE_FIXTURES=1):\n{}",
        diffs.len(),
        diffs.join("\n")
    );
    for (path, text) in &files {
        let pinned =
            std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert_eq!(
            &pinned,
            text,
            "{} differs from the computed fixture",
            path.display()
        );
    }

    // 2. Every pinned encoding decodes and re-encodes to the same bytes.
    for (name, kind) in &fixture.vectors.encodings {
        let bytes = ::hex::decode(&pinned[name]).expect("hex");
        let again = reencode(*kind, &bytes)
            .unwrap_or_else(|e| panic!("{suite}: {name} ({kind:?}) does not decode: {e}"));
        assert_eq!(
            again, bytes,
            "{suite}: {name} ({kind:?}) does not re-encode identically"
        );
    }
}

#[test]
fn intl_vectors_match_the_fixtures() {
    check_suite(Suite::Intl);
}

#[test]
fn gm_vectors_match_the_fixtures() {
    check_suite(Suite::Gm);
}

/// The pinned files alone are enough to verify: decode genesis and receipt from the fixture
/// files (binary and JSON) and verify, as an outside verifier would.
#[test]
fn pinned_receipts_verify_from_the_files_alone() {
    for (suite, version) in SUITES.into_iter().flat_map(|s| VERSIONS.map(|v| (s, v))) {
        let s = suite_name(suite);
        let v = pinned_vectors(suite, version);
        let genesis_bin = Genesis::decode(&::hex::decode(&v["genesis.encoding"]).unwrap()).unwrap();
        let genesis_json = Genesis::from_json(
            &std::fs::read_to_string(fixtures_dir().join(format!("genesis-v{version}-{s}.json")))
                .unwrap(),
        )
        .unwrap();
        assert_eq!(genesis_bin, genesis_json);
        assert_eq!(genesis_bin.version, version);
        assert_eq!(genesis_bin.hash().to_hex(), v["genesis.hash"]);

        let from_bin = Receipt::decode(&::hex::decode(&v["receipt.encoding"]).unwrap()).unwrap();
        let from_json = Receipt::from_json(
            &std::fs::read_to_string(fixtures_dir().join(receipt_file(s, version))).unwrap(),
        )
        .unwrap();
        assert_eq!(
            from_bin, from_json,
            "{suite}: binary and JSON receipts differ"
        );
        for r in [&from_bin, &from_json] {
            let ok = r.verify(&genesis_bin).unwrap();
            assert_eq!(ok.tx_hash.to_hex(), v["receipt.tx_hash"]);
            assert_eq!(ok.block_hash.to_hex(), v["receipt.block_hash"]);
            assert_eq!(ok.tx_hash.to_hex(), v["tx.hash"]);
            match version {
                protocol::V3 => assert_eq!(ok.outcome, None),
                _ => assert_eq!(
                    ok.outcome.map(|o| o.encode()),
                    Some(::hex::decode(&v["block.2.tx.0.outcome.encoding"]).unwrap())
                ),
            }
        }
        let cp = Checkpoint::decode(&::hex::decode(&v["checkpoint.encoding"]).unwrap()).unwrap();
        assert_eq!(cp.verify(&genesis_bin).unwrap().to_hex(), v["block.2.hash"]);
        let tx = decode_transaction(&::hex::decode(&v["tx.encoding"]).unwrap()).unwrap();
        SealedTx::new(tx).verify(CHAIN_ID, suite).unwrap();
    }
}

/// The JSON receipt's field names and hex conventions, as documented.
#[test]
fn receipt_json_shape() {
    let chain = conformance_chain_v(Suite::Gm, protocol::V4);
    let r = chain.receipt(2, 0, 1);
    let json: serde_json::Value = serde_json::from_str(&r.to_json()).unwrap();
    let obj = json.as_object().unwrap();
    let keys: Vec<&str> = obj.keys().map(String::as_str).collect();
    let mut want = vec![
        "version",
        "chain_id",
        "suite",
        "record",
        "record_proof",
        "transaction",
        "log_proof",
        "block_hash",
        "header",
        "certificate",
        "signer_cert",
        "outcome",
    ];
    want.sort_unstable();
    assert_eq!(keys, want);
    assert_eq!(json["suite"], "gm");
    assert_eq!(json["version"], RECEIPT_VERSION_5);
    let mut outcome_keys: Vec<&str> = json["outcome"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    outcome_keys.sort_unstable();
    // A success has no code or message.
    assert_eq!(outcome_keys, ["cost", "events", "proof", "status"]);
    assert_eq!(json["outcome"]["status"], "success");
    assert_eq!(json["outcome"]["proof"]["tree_size"], 2);
    let tx = json["transaction"].as_object().unwrap();
    let mut tx_keys: Vec<&str> = tx.keys().map(String::as_str).collect();
    tx_keys.sort_unstable();
    assert_eq!(
        tx_keys,
        [
            "cert",
            "chain_id",
            "hash",
            "nonce",
            "payload",
            "signature",
            "signer",
            "version"
        ]
    );
    assert_eq!(json["transaction"]["version"], 4);
    assert_eq!(json["transaction"]["payload"]["type"], "evidence");
    assert_eq!(json["transaction"]["payload"]["record_count"], 3);
    assert_eq!(json["certificate"]["kind"], "signatures");
    assert_eq!(json["transaction"]["signer"].as_str().unwrap().len(), 66);
    assert_eq!(
        json["transaction"]["signature"].as_str().unwrap().len(),
        128
    );
    let mut record_keys: Vec<&str> = json["record"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    record_keys.sort_unstable();
    assert_eq!(record_keys, ["digest", "metadata", "metadata_hash"]);
    assert_eq!(
        json["record"]["metadata"]["external_ref"],
        "s3://evidence/2024/photo-01.png"
    );
    assert_eq!(json["record"]["metadata"]["salt"], "22".repeat(16));
    // A record without external_ref omits the field.
    let r0 = chain.receipt(2, 0, 0);
    let json0: serde_json::Value = serde_json::from_str(&r0.to_json()).unwrap();
    assert!(json0["record"]["metadata"].get("external_ref").is_none());
    // Withheld metadata is the string "withheld".
    let json1: serde_json::Value = serde_json::from_str(&r.clone().withheld().to_json()).unwrap();
    assert_eq!(json1["record"]["metadata"], "withheld");
    // Hex is written lowercase.
    let text = r.to_json();
    assert!(
        !text
            .chars()
            .any(|c| c.is_ascii_uppercase() && c.is_ascii_hexdigit())
    );
}

/// SM2 signatures from RustCrypto are deterministic (RFC 6979 nonces), so pinning them is
/// sound; a different SM2 implementation may produce other (equally valid) signatures.
#[test]
fn signatures_are_deterministic() {
    for suite in SUITES {
        let k = key(suite, 1);
        let d = Domain::new(domains::TX_SIGNATURE, CHAIN_ID);
        assert_eq!(k.sign(&d, b"m"), k.sign(&d, b"m"));
        assert_eq!(sample_tx(suite), sample_tx(suite));
        assert_eq!(sample_tx(suite).version, protocol::V3);
    }
}

/// The frozen receipt version 4 fixtures (made and pinned, with their X.509 checks, by
/// `crates/kexin-client/tests/receipt_v4.rs`) verify here from the files alone: the signer's
/// certificate is the one the transaction names, and the CA-set proof holds.
#[test]
fn pinned_v4_receipts_verify_from_the_files_alone() {
    for suite in SUITES {
        let s = suite_name(suite);
        let read = |name: String| std::fs::read_to_string(fixtures_dir().join(name)).unwrap();
        let genesis = Genesis::from_json(&read(format!("receipt-v4-genesis-{s}.json"))).unwrap();
        let r = Receipt::from_json(&read(format!("receipt-v4-{s}.json"))).unwrap();
        assert_eq!(r.version, RECEIPT_VERSION);
        let v = r.verify(&genesis).unwrap();
        let signer = v.signer.expect("a version 4 receipt names its signer");
        assert_eq!(Some(signer.cert_id), r.transaction.summary.cert);
        assert_eq!(signer.proven_org, None);
        assert_eq!(signer.signer, r.transaction.summary.signer);
        assert_eq!(signer.at_ms, r.header.timestamp_ms);
        // The binary form: the version 3 layout, then the signer section.
        let bytes = r.encode();
        assert_eq!(bytes[0], 4);
        assert_eq!(Receipt::decode(&bytes).unwrap(), r);
        let der = &r.signer_cert.as_ref().unwrap().cert;
        let mut tail = vec![1u8];
        tail.extend_from_slice(&(der.as_bytes().len() as u16).to_be_bytes());
        tail.extend_from_slice(der.as_bytes());
        tail.push(0);
        assert!(bytes.ends_with(&tail), "{suite}: signer section");

        let t = TxReceipt::from_json(&read(format!("tx-receipt-v4-{s}.json"))).unwrap();
        let v = t.verify(&genesis).unwrap();
        let signer = v.signer.unwrap();
        assert_eq!(signer.proven_at, Some(1));
        let org = signer.proven_org.unwrap();
        assert_eq!(org.name, "org1");
        assert_eq!(org.ca_certs.len(), 2);
        assert_eq!(org.ca_certs[0], genesis.organisations[0].ca_certs[0]);
    }
}
