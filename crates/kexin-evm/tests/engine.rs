//! The engine on contracts compiled by the pinned `solc`: deploy, call, query, events, every
//! kind of failure, limits, and the caller's address.

mod common;

use alloy_sol_types::{SolCall, SolError, SolEvent, SolValue, sol};
use kexin_crypto::{SigningKey, Suite};
use kexin_evm::{
    Address, BlockInfo, Bytes, Call, ContractView, EvmConfig, EvmError, EvmOutcome, EvmStatus,
    MemoryContracts, RevertReason, U256, address_of, evm_chain_id, execute, query,
};

sol! {
    interface IToken {
        function name() external view returns (string);
        function owner() external view returns (address);
        function balanceOf(address) external view returns (uint256);
        function transfer(address to, uint256 value) external returns (bool);
        event Transfer(address indexed from, address indexed to, uint256 value);
        error InsufficientBalance(address from, uint256 balance, uint256 needed);
    }
    interface IFaults {
        function counter() external view returns (uint256);
        function failWithReason() external;
        function overflow() external returns (uint256);
        function divide(uint256 a, uint256 b) external pure returns (uint256);
        function spin() external;
        function invalid() external pure;
        function bump() external returns (uint256);
    }
}

const GAS: u64 = 5_000_000;

fn config() -> EvmConfig {
    EvmConfig {
        chain_id: evm_chain_id(Suite::Intl, "evm-test"),
        max_code_size: 24 * 1024,
        max_initcode_size: 48 * 1024,
    }
}

fn block(height: u64) -> BlockInfo {
    BlockInfo {
        height,
        timestamp_ms: 1_700_000_000_000 + height * 1000,
        gas_limit: 30_000_000,
    }
}

fn signer(seed: u8) -> Address {
    address_of(
        Suite::Intl,
        &SigningKey::from_seed(Suite::Intl, &[seed; 32])
            .unwrap()
            .public_key(),
    )
}

/// Runs and applies a call; panics unless it succeeds.
fn run(state: &mut MemoryContracts, caller: Address, call: Call) -> EvmOutcome {
    let out = execute(state, &config(), &block(1), caller, &call, GAS).expect("runs");
    assert_eq!(out.status, EvmStatus::Success, "{out:?}");
    state.apply(&out.changes);
    out
}

fn deploy(state: &mut MemoryContracts, caller: Address, name: &str, args: Vec<u8>) -> Address {
    let mut init = common::contract(name).bytecode.clone();
    init.extend(args);
    let out = run(
        state,
        caller,
        Call::Create {
            init_code: init.into(),
        },
    );
    out.created.expect("a creation returns its address")
}

fn call(to: Address, data: Vec<u8>) -> Call {
    Call::Call {
        to,
        data: data.into(),
    }
}

fn balance(state: &MemoryContracts, token: Address, who: Address) -> U256 {
    let out = query(
        state,
        &config(),
        &block(1),
        who,
        &call(token, IToken::balanceOfCall(who).abi_encode()),
        GAS,
    )
    .expect("query");
    IToken::balanceOfCall::abi_decode_returns(&out.output).expect("uint256")
}

#[test]
fn a_token_deploys_transfers_and_answers_queries() {
    let mut state = MemoryContracts::new();
    let alice = signer(1);
    let bob = signer(2);
    let args = ("Kexin Yuan".to_string(), U256::from(1000)).abi_encode_params();
    let token = deploy(&mut state, alice, "Token", args);
    // CREATE's address: keccak256(rlp(sender, nonce)), Ethereum's rule, from nonce 0.
    assert_eq!(token, alice.create(0));
    assert!(state.account(&token).unwrap().unwrap().has_code());
    assert_eq!(state.account(&alice).unwrap().unwrap().nonce, 1);

    let name = query(
        &state,
        &config(),
        &block(1),
        bob,
        &call(token, IToken::nameCall {}.abi_encode()),
        GAS,
    )
    .unwrap();
    assert_eq!(
        IToken::nameCall::abi_decode_returns(&name.output).unwrap(),
        "Kexin Yuan"
    );
    // msg.sender in the constructor was the signer's derived address.
    let owner = query(
        &state,
        &config(),
        &block(1),
        bob,
        &call(token, IToken::ownerCall {}.abi_encode()),
        GAS,
    )
    .unwrap();
    assert_eq!(
        IToken::ownerCall::abi_decode_returns(&owner.output).unwrap(),
        alice
    );
    assert_eq!(balance(&state, token, alice), U256::from(1000));

    let out = run(
        &mut state,
        alice,
        call(
            token,
            IToken::transferCall {
                to: bob,
                value: U256::from(250),
            }
            .abi_encode(),
        ),
    );
    assert!(IToken::transferCall::abi_decode_returns(&out.output).unwrap());
    assert_eq!(out.logs.len(), 1);
    let log = &out.logs[0];
    assert_eq!(log.address, token);
    let ev = IToken::Transfer::decode_log_data(&log.data).expect("a Transfer event");
    assert_eq!((ev.from, ev.to, ev.value), (alice, bob, U256::from(250)));
    // Two balance slots changed; a call leaves the caller's nonce (it counts creations).
    assert_eq!(out.changes.storage.len(), 2, "{:?}", out.changes.storage);
    assert!(
        out.changes.accounts.is_empty(),
        "{:?}",
        out.changes.accounts
    );
    assert!(out.changes.code.is_empty());
    assert_eq!(balance(&state, token, alice), U256::from(750));
    assert_eq!(state.account(&alice).unwrap().unwrap().nonce, 1);
    // The next deployment gets the address of nonce 1.
    let second = deploy(&mut state, alice, "Faults", vec![]);
    assert_eq!(second, alice.create(1));
    assert_eq!(balance(&state, token, bob), U256::from(250));
}

#[test]
fn a_custom_error_reverts_with_its_data_and_changes_nothing() {
    let mut state = MemoryContracts::new();
    let alice = signer(1);
    let bob = signer(2);
    let token = deploy(
        &mut state,
        alice,
        "Token",
        ("T".to_string(), U256::from(10)).abi_encode_params(),
    );
    let before = state.clone();
    let out = execute(
        &state,
        &config(),
        &block(2),
        bob,
        &call(
            token,
            IToken::transferCall {
                to: alice,
                value: U256::from(5),
            }
            .abi_encode(),
        ),
        GAS,
    )
    .unwrap();
    let EvmStatus::Revert(RevertReason::Custom { selector, data }) = &out.status else {
        panic!("expected a custom error: {out:?}");
    };
    assert_eq!(*selector, IToken::InsufficientBalance::SELECTOR);
    let err = IToken::InsufficientBalance::abi_decode(data).expect("decodes with the ABI");
    assert_eq!(
        (err.from, err.balance, err.needed),
        (bob, U256::ZERO, U256::from(5))
    );
    assert!(out.changes.is_empty() && out.logs.is_empty());
    assert!(out.gas_used > 21_000 && out.gas_used < GAS);
    assert_eq!(state, before);
}

#[test]
fn reverts_panics_and_halts_are_decoded_and_change_nothing() {
    let mut state = MemoryContracts::new();
    let alice = signer(1);
    let faults = deploy(&mut state, alice, "Faults", vec![]);
    let try_call = |data: Vec<u8>, gas: u64| {
        execute(
            &state,
            &config(),
            &block(2),
            alice,
            &call(faults, data),
            gas,
        )
        .unwrap()
    };

    let out = try_call(IFaults::failWithReasonCall {}.abi_encode(), GAS);
    assert_eq!(
        out.status,
        EvmStatus::Revert(RevertReason::Error("not allowed".into()))
    );
    assert_eq!(out.status_message(), "reverted: not allowed");
    assert!(out.changes.is_empty());

    let out = try_call(IFaults::overflowCall {}.abi_encode(), GAS);
    assert!(
        matches!(out.status, EvmStatus::Revert(RevertReason::Panic { code, .. }) if code == U256::from(0x11)),
        "{out:?}"
    );
    assert!(out.changes.is_empty());

    let out = try_call(
        IFaults::divideCall {
            a: U256::from(1),
            b: U256::ZERO,
        }
        .abi_encode(),
        GAS,
    );
    assert!(
        matches!(out.status, EvmStatus::Revert(RevertReason::Panic { code, .. }) if code == U256::from(0x12)),
        "{out:?}"
    );

    let out = try_call(IFaults::spinCall {}.abi_encode(), 1_000_000);
    assert!(
        matches!(&out.status, EvmStatus::Halt(r) if r.contains("OutOfGas")),
        "{out:?}"
    );
    assert_eq!(out.gas_used, 1_000_000, "a halt uses all its gas");
    assert!(out.changes.is_empty());

    let out = try_call(IFaults::invalidCall {}.abi_encode(), GAS);
    assert!(matches!(&out.status, EvmStatus::Halt(_)), "{out:?}");
    assert_eq!(out.gas_used, GAS);

    // Nothing above touched the counter.
    let counter = query(
        &state,
        &config(),
        &block(2),
        alice,
        &call(faults, IFaults::counterCall {}.abi_encode()),
        GAS,
    )
    .unwrap();
    assert_eq!(
        IFaults::counterCall::abi_decode_returns(&counter.output).unwrap(),
        U256::ZERO
    );
}

#[test]
fn a_query_returns_the_result_and_keeps_nothing() {
    let mut state = MemoryContracts::new();
    let alice = signer(1);
    let faults = deploy(&mut state, alice, "Faults", vec![]);
    let bump = call(faults, IFaults::bumpCall {}.abi_encode());
    let q = query(&state, &config(), &block(2), alice, &bump, GAS).unwrap();
    assert!(q.is_success());
    assert_eq!(
        IFaults::bumpCall::abi_decode_returns(&q.output).unwrap(),
        U256::from(1)
    );
    assert!(q.changes.is_empty());
    // The same call as a transaction does change the state.
    let e = execute(&state, &config(), &block(2), alice, &bump, GAS).unwrap();
    assert_eq!(e.output, q.output);
    assert_eq!(e.changes.storage.len(), 1);
    run(&mut state, alice, bump.clone());
    let again = query(&state, &config(), &block(3), alice, &bump, GAS).unwrap();
    assert_eq!(
        IFaults::bumpCall::abi_decode_returns(&again.output).unwrap(),
        U256::from(2)
    );
}

#[test]
fn the_same_call_on_the_same_state_gives_the_same_outcome() {
    let mut state = MemoryContracts::new();
    let alice = signer(1);
    let token = deploy(
        &mut state,
        alice,
        "Token",
        ("T".to_string(), U256::from(10)).abi_encode_params(),
    );
    let c = call(
        token,
        IToken::transferCall {
            to: signer(3),
            value: U256::from(1),
        }
        .abi_encode(),
    );
    let a = execute(&state, &config(), &block(2), alice, &c, GAS).unwrap();
    let b = execute(&state, &config(), &block(2), alice, &c, GAS).unwrap();
    assert_eq!(a, b);
}

#[test]
fn transactions_outside_the_limits_are_rejected_before_running() {
    let mut state = MemoryContracts::new();
    let alice = signer(1);
    let faults = deploy(&mut state, alice, "Faults", vec![]);
    let bump = call(faults, IFaults::bumpCall {}.abi_encode());
    // Below the intrinsic gas of a transaction.
    let e = execute(&state, &config(), &block(2), alice, &bump, 1_000).unwrap_err();
    assert!(
        matches!(e, EvmError::Rejected(ref m) if m.contains("gas")),
        "{e}"
    );
    // Above the block's gas limit.
    let e = execute(&state, &config(), &block(2), alice, &bump, 30_000_001).unwrap_err();
    assert!(matches!(e, EvmError::Rejected(_)), "{e}");
    // Init code over the limit.
    let small = EvmConfig {
        max_initcode_size: 100,
        ..config()
    };
    let init = Call::Create {
        init_code: Bytes::from(common::contract("Token").bytecode.clone()),
    };
    let e = execute(&state, &small, &block(2), alice, &init, GAS).unwrap_err();
    assert!(matches!(e, EvmError::Rejected(_)), "{e}");
}

#[test]
fn deployed_code_over_the_size_limit_halts_the_creation() {
    let state = MemoryContracts::new();
    let tiny = EvmConfig {
        max_code_size: 64,
        ..config()
    };
    let args = ("T".to_string(), U256::from(1)).abi_encode_params();
    let mut init = common::contract("Token").bytecode.clone();
    init.extend(args);
    let out = execute(
        &state,
        &tiny,
        &block(1),
        signer(1),
        &Call::Create {
            init_code: init.into(),
        },
        GAS,
    )
    .unwrap();
    assert!(
        matches!(&out.status, EvmStatus::Halt(r) if r.contains("CreateContractSizeLimit")),
        "{out:?}"
    );
    assert!(out.created.is_none() && out.changes.is_empty());
}
