//! Kexin's precompiles, called from Solidity through contracts/lib/Kexin.sol.

mod common;

use alloy_sol_types::{SolCall, sol};
use kexin_crypto::{KeyScheme, SigningKey, Suite};
use kexin_evm::{
    Address, B256, BlockInfo, Bytes, Call, ContractAccount, ContractView, EvidenceInfo, EvmConfig,
    EvmError, EvmOutcome, EvmStatus, IdentityInfo, MemoryContracts, RevertReason, U256, address_of,
    evm_chain_id, execute, query,
};

sol! {
    interface ICrypto {
        function sm3(bytes data) external view returns (bytes32);
        function sm2(bytes key, bytes userId, bytes message, bytes signature) external view returns (bool);
        function ed25519(bytes32 key, bytes message, bytes signature) external view returns (bool);
        function p256(bytes key, bytes message, bytes signature) external view returns (bool);
        function keccak(bytes data) external pure returns (bytes32);
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
        function callerActsAs(string org, string role) external view returns (bool);
        function onlyOrg1Writer() external view returns (string memory);
    }
}

const GAS: u64 = 5_000_000;

fn config() -> EvmConfig {
    EvmConfig {
        chain_id: evm_chain_id(Suite::Gm, "evm-test"),
        max_code_size: 24 * 1024,
        max_initcode_size: 48 * 1024,
    }
}

fn block() -> BlockInfo {
    BlockInfo {
        height: 1,
        timestamp_ms: 1_700_000_000_000,
        gas_limit: 30_000_000,
    }
}

/// A state with the Crypto contract deployed; its address and a caller.
fn setup() -> (MemoryContracts, Address, Address) {
    let mut state = MemoryContracts::new();
    let caller = address_of(
        Suite::Gm,
        &SigningKey::from_seed(Suite::Gm, &[5; 32])
            .unwrap()
            .public_key(),
    );
    let init = common::contract("Crypto").bytecode.clone();
    let out = execute(
        &state,
        &config(),
        &block(),
        caller,
        &Call::Create {
            init_code: init.into(),
        },
        GAS,
    )
    .unwrap();
    assert!(out.is_success(), "{out:?}");
    state.apply(&out.changes);
    (state, out.created.unwrap(), caller)
}

fn ask(state: &MemoryContracts, caller: Address, to: Address, data: Vec<u8>) -> EvmOutcome {
    query(
        state,
        &config(),
        &block(),
        caller,
        &Call::Call {
            to,
            data: data.into(),
        },
        GAS,
    )
    .unwrap()
}

fn verdict<C: SolCall<Return = bool>>(
    state: &MemoryContracts,
    caller: Address,
    to: Address,
    call: C,
) -> bool {
    let out = ask(state, caller, to, call.abi_encode());
    assert!(out.is_success(), "{out:?}");
    C::abi_decode_returns(&out.output).unwrap()
}

#[test]
fn sm3_is_the_national_hash_and_keccak_stays_ethereums() {
    let (state, crypto, caller) = setup();
    let out = ask(
        &state,
        caller,
        crypto,
        ICrypto::sm3Call {
            data: Bytes::from_static(b"abc"),
        }
        .abi_encode(),
    );
    let digest = ICrypto::sm3Call::abi_decode_returns(&out.output).unwrap();
    // GB/T 32905-2016, example 1.
    assert_eq!(
        hex::encode(digest),
        "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"
    );
    let long = vec![0x61u8; 1000];
    let out = ask(
        &state,
        caller,
        crypto,
        ICrypto::sm3Call {
            data: long.clone().into(),
        }
        .abi_encode(),
    );
    let digest = ICrypto::sm3Call::abi_decode_returns(&out.output).unwrap();
    assert_eq!(digest.0, Suite::Gm.hash(&long).0);
    let out = ask(
        &state,
        caller,
        crypto,
        ICrypto::keccakCall {
            data: Bytes::from_static(b""),
        }
        .abi_encode(),
    );
    assert_eq!(
        hex::encode(ICrypto::keccakCall::abi_decode_returns(&out.output).unwrap()),
        "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"
    );
}

#[test]
fn sm2_signatures_check_under_the_given_user_id() {
    let (state, crypto, caller) = setup();
    // Kexin's own keys sign with the default user id.
    let key = SigningKey::from_seed(Suite::Gm, &[7; 32]).unwrap();
    let msg = b"invoice 2026-0042".to_vec();
    let sig = key.sign_raw(&msg);
    let call = |user_id: &[u8], message: &[u8], signature: &[u8]| ICrypto::sm2Call {
        key: key.public_key().as_bytes().to_vec().into(),
        userId: user_id.to_vec().into(),
        message: message.to_vec().into(),
        signature: signature.to_vec().into(),
    };
    assert!(verdict(
        &state,
        caller,
        crypto,
        call(b"1234567812345678", &msg, &sig.0)
    ));
    assert!(!verdict(
        &state,
        caller,
        crypto,
        call(b"someone-else", &msg, &sig.0)
    ));
    assert!(!verdict(
        &state,
        caller,
        crypto,
        call(b"1234567812345678", b"invoice 2026-0043", &sig.0)
    ));

    // A signature made outside Kexin under another user id (and an uncompressed key).
    use sm2::dsa::signature::Signer as _;
    use sm2::elliptic_curve::sec1::ToSec1Point as _;
    let d = sm2::NonZeroScalar::from_repr([9u8; 32].into()).unwrap();
    let sk = sm2::dsa::SigningKey::from_nonzero_scalar("alice@bank.example", d).unwrap();
    let s: sm2::dsa::Signature = sk.sign(&msg);
    let point = sk.verifying_key().to_sec1_point(false);
    let ext = ICrypto::sm2Call {
        key: point.as_bytes().to_vec().into(),
        userId: Bytes::from_static(b"alice@bank.example"),
        message: msg.clone().into(),
        signature: s.to_bytes().to_vec().into(),
    };
    assert!(verdict(&state, caller, crypto, ext));

    // A 63-byte signature is malformed: the call reverts with the precompile's reason.
    let out = ask(
        &state,
        caller,
        crypto,
        call(b"1234567812345678", &msg, &sig.0[..63]).abi_encode(),
    );
    assert_eq!(
        out.status,
        EvmStatus::Revert(RevertReason::Error(
            "SM2 precompile: a signature is 64 bytes (r || s), got 63".into()
        ))
    );
}

#[test]
fn ed25519_and_p256_signatures_check() {
    let (state, crypto, caller) = setup();
    let ed = SigningKey::from_seed(Suite::Intl, &[3; 32]).unwrap();
    let msg = b"release kexin 1.0".to_vec();
    let sig = ed.sign_raw(&msg);
    let key = B256::from_slice(ed.public_key().as_bytes());
    let call = |message: &[u8], signature: &[u8]| ICrypto::ed25519Call {
        key,
        message: message.to_vec().into(),
        signature: signature.to_vec().into(),
    };
    assert!(verdict(&state, caller, crypto, call(&msg, &sig.0)));
    let mut bad = sig.0;
    bad[5] ^= 1;
    assert!(!verdict(&state, caller, crypto, call(&msg, &bad)));

    let p = SigningKey::generate_scheme(KeyScheme::EcdsaP256);
    let sig = p.sign_raw(&msg);
    let call = |key: &[u8], message: &[u8]| ICrypto::p256Call {
        key: key.to_vec().into(),
        message: message.to_vec().into(),
        signature: sig.0.to_vec().into(),
    };
    assert!(verdict(
        &state,
        caller,
        crypto,
        call(p.public_key().as_bytes(), &msg)
    ));
    assert!(!verdict(
        &state,
        caller,
        crypto,
        call(p.public_key().as_bytes(), b"other")
    ));
    // A key that is not a P-256 point is malformed.
    let out = ask(&state, caller, crypto, call(&[4u8; 65], &msg).abi_encode());
    assert!(
        matches!(&out.status, EvmStatus::Revert(RevertReason::Error(m)) if m.starts_with("P-256 precompile: invalid ECDSA P-256 public key")),
        "{out:?}"
    );
}

#[test]
fn garbage_sent_to_a_precompile_reverts_with_a_reason() {
    let (state, _, caller) = setup();
    let c = Call::Call {
        to: kexin_evm::precompiles::ED25519_VERIFY,
        data: Bytes::from_static(b"garbage"),
    };
    let out = execute(&state, &config(), &block(), caller, &c, GAS).unwrap();
    assert_eq!(
        out.status,
        EvmStatus::Revert(RevertReason::Error(
            "Ed25519 precompile: the input is not abi.encode(bytes32, bytes, bytes)".into()
        ))
    );
    assert!(out.changes.is_empty());
}

fn writer_of_org1(cert: u8) -> IdentityInfo {
    IdentityInfo {
        cert_id: B256::repeat_byte(cert),
        org: "org1".into(),
        name: "alice".into(),
        role: "writer".into(),
        revoked: false,
        not_before_ms: 1_600_000_000_000,
        not_after_ms: 1_800_000_000_000,
    }
}

#[test]
fn the_identity_precompile_answers_the_certificate_behind_an_address() {
    let (mut state, crypto, caller) = setup();
    let stranger = Address::repeat_byte(0x77);
    // Unknown: every field empty.
    let out = ask(
        &state,
        caller,
        crypto,
        ICrypto::identityOfCall { who: stranger }.abi_encode(),
    );
    assert!(out.is_success(), "{out:?}");
    let id = ICrypto::identityOfCall::abi_decode_returns(&out.output).unwrap();
    assert!(!id.known);
    assert_eq!(
        (id.certId, id.org.as_str(), id.role.as_str()),
        (B256::ZERO, "", "")
    );
    assert!(!verdict(
        &state,
        caller,
        crypto,
        ICrypto::callerActsAsCall {
            org: "org1".into(),
            role: "writer".into()
        }
    ));

    state.identities.insert(caller, writer_of_org1(9));
    let out = ask(
        &state,
        stranger,
        crypto,
        ICrypto::identityOfCall { who: caller }.abi_encode(),
    );
    let id = ICrypto::identityOfCall::abi_decode_returns(&out.output).unwrap();
    assert!(id.known && !id.revoked);
    assert_eq!(id.certId, B256::repeat_byte(9));
    assert_eq!(
        (id.org.as_str(), id.name.as_str(), id.role.as_str()),
        ("org1", "alice", "writer")
    );
    assert_eq!(
        (id.notBeforeMs, id.notAfterMs),
        (1_600_000_000_000, 1_800_000_000_000)
    );
    let acts = |state: &MemoryContracts, org: &str, role: &str| {
        verdict(
            state,
            caller,
            crypto,
            ICrypto::callerActsAsCall {
                org: org.into(),
                role: role.into(),
            },
        )
    };
    assert!(acts(&state, "org1", "writer"));
    assert!(acts(&state, "org1", ""));
    assert!(!acts(&state, "org1", "admin"));
    assert!(!acts(&state, "org2", "writer"));

    // The role check of an application: the writer passes, a stranger is refused.
    let out = ask(
        &state,
        caller,
        crypto,
        ICrypto::onlyOrg1WriterCall {}.abi_encode(),
    );
    assert_eq!(
        ICrypto::onlyOrg1WriterCall::abi_decode_returns(&out.output).unwrap(),
        "alice"
    );
    let out = ask(
        &state,
        stranger,
        crypto,
        ICrypto::onlyOrg1WriterCall {}.abi_encode(),
    );
    assert_eq!(
        out.status,
        EvmStatus::Revert(RevertReason::Error("only org1's writers".into()))
    );

    // Revoked, or outside its validity at the block's time: no longer acts as anything.
    let mut revoked = writer_of_org1(9);
    revoked.revoked = true;
    state.identities.insert(caller, revoked);
    assert!(!acts(&state, "org1", "writer"));
    let mut expired = writer_of_org1(9);
    expired.not_after_ms = block().timestamp_ms - 1;
    state.identities.insert(caller, expired);
    assert!(!acts(&state, "org1", "writer"));
}

#[test]
fn the_evidence_precompile_answers_whether_a_digest_was_recorded() {
    let (mut state, crypto, caller) = setup();
    let digest = B256::repeat_byte(0xd1);
    let evidence = |state: &MemoryContracts| {
        let out = ask(
            state,
            caller,
            crypto,
            ICrypto::evidenceOfCall { digest }.abi_encode(),
        );
        assert!(out.is_success(), "{out:?}");
        ICrypto::evidenceOfCall::abi_decode_returns(&out.output).unwrap()
    };
    let e = evidence(&state);
    assert!(!e.recorded);
    assert_eq!((e.count, e.firstHeight, e.firstOrg.as_str()), (0, 0, ""));
    state.evidence.insert(
        digest,
        EvidenceInfo {
            count: 3,
            first_height: 7,
            first_org: "org2".into(),
            last_height: 40,
        },
    );
    let e = evidence(&state);
    assert!(e.recorded);
    assert_eq!(
        (e.count, e.firstHeight, e.firstOrg.as_str(), e.lastHeight),
        (3, 7, "org2", 40)
    );
}

#[test]
fn lookups_charge_their_gas_and_refuse_malformed_input() {
    let (state, _, caller) = setup();
    let direct = |to: Address, data: Vec<u8>, gas: u64| {
        execute(
            &state,
            &config(),
            &block(),
            caller,
            &Call::Call {
                to,
                data: data.into(),
            },
            gas,
        )
        .unwrap()
    };
    let identity = kexin_evm::precompiles::IDENTITY;
    let evidence = kexin_evm::precompiles::EVIDENCE;
    // A word whose first 12 bytes are not zero is not an address.
    let out = direct(identity, vec![0xff; 32], GAS);
    assert_eq!(
        out.status,
        EvmStatus::Revert(RevertReason::Error(
            "identity precompile: the input is not abi.encode(address)".into()
        ))
    );
    let out = direct(evidence, vec![1; 31], GAS);
    assert_eq!(
        out.status,
        EvmStatus::Revert(RevertReason::Error(
            "evidence precompile: the input is not abi.encode(bytes32)".into()
        ))
    );
    // 21,000 intrinsic + 16 per non-zero calldata byte + 2,600: enough succeeds, one less
    // runs out of gas.
    let data = vec![1u8; 32];
    let exact = 21_000 + 16 * 32 + 2_600;
    assert!(direct(evidence, data.clone(), exact).is_success());
    let short = direct(evidence, data, exact - 1);
    assert!(
        matches!(&short.status, EvmStatus::Halt(h) if h.contains("OutOfGas")),
        "{short:?}"
    );
}

/// A view whose lookups fail (a corrupt store).
struct Broken(MemoryContracts);

#[derive(Debug, thiserror::Error)]
#[error("the store is corrupt")]
struct Corrupt;

impl ContractView for Broken {
    type Error = Corrupt;

    fn account(&self, a: &Address) -> Result<Option<ContractAccount>, Corrupt> {
        Ok(self.0.account(a).unwrap())
    }

    fn code(&self, h: &B256) -> Result<Option<Bytes>, Corrupt> {
        Ok(self.0.code(h).unwrap())
    }

    fn storage(&self, a: &Address, s: &U256) -> Result<U256, Corrupt> {
        Ok(self.0.storage(a, s).unwrap())
    }

    fn identity(&self, _: &Address) -> Result<Option<IdentityInfo>, Corrupt> {
        Err(Corrupt)
    }
}

#[test]
fn a_lookup_that_cannot_read_the_state_aborts_the_call() {
    let (state, crypto, caller) = setup();
    let broken = Broken(state);
    let r = execute(
        &broken,
        &config(),
        &block(),
        caller,
        &Call::Call {
            to: crypto,
            data: ICrypto::identityOfCall { who: caller }.abi_encode().into(),
        },
        GAS,
    );
    assert!(matches!(r, Err(EvmError::View(Corrupt))), "{r:?}");
}
