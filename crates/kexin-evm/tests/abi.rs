//! Artifacts in every accepted format, and calls encoded from text and decoded back, on
//! contracts compiled by the pinned solc.

mod common;

use kexin_crypto::{SigningKey, Suite};
use kexin_evm::abi::{
    self, AbiError, decode_custom_error, decode_log, decode_output, encode_call,
    encode_constructor, find_function, parse_signature,
};
use kexin_evm::artifact::{ArtifactError, load_artifact};
use kexin_evm::{
    Address, BlockInfo, Call, EvmConfig, EvmStatus, MemoryContracts, RevertReason, address_of,
    evm_chain_id, execute,
};
use serde_json::json;

fn standard_json() -> Vec<u8> {
    serde_json::to_vec(common::solc_output()).unwrap()
}

fn token_json() -> &'static serde_json::Value {
    &common::solc_output()["contracts"]["Token.sol"]["Token"]
}

#[test]
fn every_accepted_format_gives_the_same_contract() {
    let from_solc = load_artifact(&standard_json(), Some("Token"), "x").unwrap();
    assert_eq!(from_solc.name, "Token");
    assert_eq!(from_solc.bytecode, common::contract("Token").bytecode);
    assert!(from_solc.abi.function("transfer").is_some());

    let code = token_json()["evm"]["bytecode"]["object"].as_str().unwrap();
    let abi = token_json()["abi"].clone();
    // solc --combined-json abi,bin (older solc writes the ABI as a string).
    let combined = json!({
        "contracts": { "src/Token.sol:Token": { "abi": abi.to_string(), "bin": code } },
        "version": "0.8.37+commit.x"
    });
    // Hardhat.
    let hardhat = json!({
        "_format": "hh-sol-artifact-1", "contractName": "Token", "sourceName": "contracts/Token.sol",
        "abi": abi, "bytecode": format!("0x{code}"), "deployedBytecode": "0x",
        "linkReferences": {}, "deployedLinkReferences": {}
    });
    // Foundry (out/Token.sol/Token.json): no name inside, the caller gives the stem.
    let foundry = json!({
        "abi": abi, "bytecode": { "object": format!("0x{code}"), "linkReferences": {} },
        "deployedBytecode": { "object": "0x" }, "methodIdentifiers": {}
    });
    for (what, file) in [
        ("combined", combined),
        ("hardhat", hardhat),
        ("foundry", foundry),
    ] {
        let a = load_artifact(&serde_json::to_vec(&file).unwrap(), None, "Token").unwrap();
        assert_eq!(a, from_solc, "{what}");
    }
}

#[test]
fn files_that_are_not_usable_artifacts_are_refused_with_a_reason() {
    let e = load_artifact(b"pragma solidity", None, "x").unwrap_err();
    assert_eq!(e.code(), "artifact_not_json");
    let e = load_artifact(b"{\"hello\": 1}", None, "x").unwrap_err();
    assert_eq!(e, ArtifactError::Format);
    let e = load_artifact(&standard_json(), None, "x").unwrap_err();
    assert_eq!(e.code(), "artifact_ambiguous");
    assert!(
        e.to_string().contains("Token") && e.to_string().contains("Faults"),
        "{e}"
    );
    let e = load_artifact(&standard_json(), Some("Nope"), "x").unwrap_err();
    assert!(
        e.to_string().starts_with("no contract Nope in the file"),
        "{e}"
    );
    let e = load_artifact(&standard_json(), Some("IBump"), "x").unwrap_err();
    assert_eq!(e, ArtifactError::NoBytecode("IBump".into()));
    let unlinked = json!({"contractName": "L", "abi": [], "bytecode": "0x6080__$3b1c0f64d26fe3d8b38e8a2f0d5e1a1e9f$__6000"});
    let e = load_artifact(unlinked.to_string().as_bytes(), None, "x").unwrap_err();
    assert_eq!(e.code(), "artifact_unlinked");
    let bad = json!({"contractName": "B", "abi": [], "bytecode": "0x60zz"});
    let e = load_artifact(bad.to_string().as_bytes(), None, "x").unwrap_err();
    assert_eq!(e.code(), "artifact_invalid");
    let bad_abi = json!({"contractName": "B", "abi": {"not": "a list"}, "bytecode": "0x6000"});
    let e = load_artifact(bad_abi.to_string().as_bytes(), None, "x").unwrap_err();
    assert!(e.to_string().contains("the ABI does not parse"), "{e}");
}

fn config() -> EvmConfig {
    EvmConfig {
        chain_id: evm_chain_id(Suite::Intl, "abi-test"),
        max_code_size: 24 * 1024,
        max_initcode_size: 48 * 1024,
    }
}

const BLOCK: BlockInfo = BlockInfo {
    height: 1,
    timestamp_ms: 1_700_000_000_000,
    gas_limit: 30_000_000,
};

fn signer(seed: u8) -> Address {
    address_of(
        Suite::Intl,
        &SigningKey::from_seed(Suite::Intl, &[seed; 32])
            .unwrap()
            .public_key(),
    )
}

fn args(a: &[&str]) -> Vec<String> {
    a.iter().map(|s| s.to_string()).collect()
}

#[test]
fn calls_from_text_run_and_their_results_decode_back() {
    let artifact = load_artifact(&standard_json(), Some("Token"), "x").unwrap();
    let (alice, bob) = (signer(1), signer(2));
    let mut state = MemoryContracts::new();
    let mut init = artifact.bytecode.clone();
    init.extend(encode_constructor(&artifact.abi, &args(&["Kexin Yuan", "1000"])).unwrap());
    let out = execute(
        &state,
        &config(),
        &BLOCK,
        alice,
        &Call::Create {
            init_code: init.into(),
        },
        5_000_000,
    )
    .unwrap();
    assert!(out.is_success(), "{out:?}");
    state.apply(&out.changes);
    let token = out.created.unwrap();
    // The constructor's Transfer event, decoded with the ABI.
    let minted = decode_log(&artifact.abi, &out.logs[0]).expect("a known event");
    assert_eq!(minted.name, "Transfer");
    assert_eq!(
        minted.fields,
        vec![
            ("from".to_string(), Address::ZERO.to_checksum(None)),
            ("to".to_string(), alice.to_checksum(None)),
            ("value".to_string(), "1000".to_string()),
        ]
    );

    let transfer = parse_signature("transfer(address,uint256)").unwrap();
    let data = encode_call(&transfer, &args(&[&bob.to_string(), "250"])).unwrap();
    let out = execute(
        &state,
        &config(),
        &BLOCK,
        alice,
        &Call::Call {
            to: token,
            data: data.into(),
        },
        5_000_000,
    )
    .unwrap();
    assert_eq!(
        decode_output(
            &parse_signature("transfer(address,uint256)(bool)").unwrap(),
            &out.output
        )
        .unwrap(),
        vec!["true"]
    );
    state.apply(&out.changes);

    for sig in [
        "balanceOf(address)(uint256)",
        "function balanceOf(address who) returns (uint256)",
        "balanceOf(address) returns (uint256)",
    ] {
        let f = parse_signature(sig).unwrap();
        let q = kexin_evm::query(
            &state,
            &config(),
            &BLOCK,
            bob,
            &Call::Call {
                to: token,
                data: encode_call(&f, &args(&[&alice.to_string()]))
                    .unwrap()
                    .into(),
            },
            5_000_000,
        )
        .unwrap();
        assert_eq!(decode_output(&f, &q.output).unwrap(), vec!["750"], "{sig}");
    }
    // By name from the ABI.
    let name = find_function(&artifact.abi, "name").unwrap();
    let q = kexin_evm::query(
        &state,
        &config(),
        &BLOCK,
        bob,
        &Call::Call {
            to: token,
            data: encode_call(name, &[]).unwrap().into(),
        },
        5_000_000,
    )
    .unwrap();
    assert_eq!(
        decode_output(name, &q.output).unwrap(),
        vec!["\"Kexin Yuan\""]
    );

    // A custom error, named with its arguments when the ABI is known.
    let data = encode_call(&transfer, &args(&[&alice.to_string(), "5"])).unwrap();
    let out = execute(
        &state,
        &config(),
        &BLOCK,
        signer(3),
        &Call::Call {
            to: token,
            data: data.into(),
        },
        5_000_000,
    )
    .unwrap();
    let EvmStatus::Revert(RevertReason::Custom { data, .. }) = &out.status else {
        panic!("{out:?}")
    };
    assert_eq!(
        decode_custom_error(&artifact.abi, data).unwrap(),
        format!(
            "InsufficientBalance(from: {}, balance: 0, needed: 5)",
            signer(3).to_checksum(None)
        )
    );
}

#[test]
fn bad_signatures_and_arguments_are_named_precisely() {
    let artifact = load_artifact(&standard_json(), Some("Token"), "x").unwrap();
    let e = parse_signature("transfer(address,uint256").unwrap_err();
    assert_eq!(e.code(), "abi_signature");
    let transfer = parse_signature("transfer(address to, uint256 value)").unwrap();
    let e = encode_call(
        &transfer,
        &args(&["0x0000000000000000000000000000000000000001"]),
    )
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        "transfer(address,uint256) takes 2 argument(s) (address, uint256), 1 given"
    );
    let e = encode_call(
        &transfer,
        &args(&["0x0000000000000000000000000000000000000001", "12abc"]),
    )
    .unwrap_err();
    let AbiError::Argument {
        position, name, ty, ..
    } = &e
    else {
        panic!("{e:?}")
    };
    assert_eq!(
        (*position, name.as_str(), ty.as_str()),
        (2, "value", "uint256")
    );
    assert!(
        e.to_string()
            .starts_with("argument 2 (value: uint256): \"12abc\" is not a valid uint256"),
        "{e}"
    );
    let e = encode_call(&transfer, &args(&["0x12", "1"])).unwrap_err();
    assert!(matches!(e, AbiError::Argument { position: 1, .. }), "{e}");
    let e = encode_constructor(&artifact.abi, &args(&["only a name"])).unwrap_err();
    assert_eq!(e.code(), "abi_argument_count");
    let e = find_function(&artifact.abi, "mint").unwrap_err();
    assert!(
        e.to_string().contains("no function \"mint\"") && e.to_string().contains("transfer"),
        "{e}"
    );
    let f = parse_signature("balanceOf(address)(uint256)").unwrap();
    let e = decode_output(&f, &[1, 2, 3]).unwrap_err();
    assert_eq!(e.code(), "abi_decode");
    assert!(abi::parse_type("uint257").is_err());
}

#[test]
fn return_values_decode_to_json_with_structs_by_field_name() {
    use alloy_dyn_abi::DynSolValue;
    use revm::primitives::U256;
    let abi: abi::JsonAbi = serde_json::from_value(json!([{
        "type": "function", "name": "batch", "stateMutability": "view",
        "inputs": [{"name": "id", "type": "string"}],
        "outputs": [{"name": "", "type": "tuple", "components": [
            {"name": "producer", "type": "string"},
            {"name": "recalled", "type": "bool"},
            {"name": "count", "type": "uint256"},
            {"name": "events", "type": "tuple[]", "components": [
                {"name": "kind", "type": "uint8"},
                {"name": "doc", "type": "bytes32"}
            ]}
        ]}]
    }, {
        "type": "function", "name": "pair", "stateMutability": "view", "inputs": [],
        "outputs": [{"name": "a", "type": "uint64"}, {"name": "b", "type": "string"}]
    }, {
        "type": "function", "name": "anon", "stateMutability": "view", "inputs": [],
        "outputs": [{"name": "", "type": "uint64"}, {"name": "b", "type": "int8"}]
    }]))
    .unwrap();
    let word = |v: u64| DynSolValue::Uint(U256::from(v), 256);
    let event = |kind: u64, doc: u8| {
        DynSolValue::Tuple(vec![
            DynSolValue::Uint(U256::from(kind), 8),
            DynSolValue::FixedBytes([doc; 32].into(), 32),
        ])
    };
    let data = DynSolValue::Tuple(vec![DynSolValue::Tuple(vec![
        DynSolValue::String("org1".into()),
        DynSolValue::Bool(true),
        word(u64::MAX),
        DynSolValue::Array(vec![event(1, 0), event(2, 0xab)]),
    ])])
    .abi_encode_params();
    let batch = find_function(&abi, "batch").unwrap();
    assert_eq!(
        abi::decode_output_json(batch, &data).unwrap(),
        json!({
            "producer": "org1",
            "recalled": true,
            "count": u64::MAX.to_string(),
            "events": [
                {"kind": "1", "doc": format!("0x{}", "00".repeat(32))},
                {"kind": "2", "doc": format!("0x{}", "ab".repeat(32))},
            ],
        })
    );
    let pair = find_function(&abi, "pair").unwrap();
    let data = DynSolValue::Tuple(vec![
        DynSolValue::Uint(U256::from(7), 64),
        DynSolValue::String("x".into()),
    ])
    .abi_encode_params();
    assert_eq!(
        abi::decode_output_json(pair, &data).unwrap(),
        json!({"a": "7", "b": "x"})
    );
    // An unnamed value among several: an array.
    let anon = find_function(&abi, "anon").unwrap();
    let data = DynSolValue::Tuple(vec![
        DynSolValue::Uint(U256::from(7), 64),
        DynSolValue::Int(revm::primitives::I256::MINUS_ONE, 8),
    ])
    .abi_encode_params();
    assert_eq!(
        abi::decode_output_json(anon, &data).unwrap(),
        json!(["7", "-1"])
    );
    // Data that is not the function's return type is refused.
    let err = abi::decode_output_json(pair, &[1, 2, 3]).unwrap_err();
    assert_eq!(err.code(), "abi_decode");
}
