//! The contract module in blocks of protocol version 5: deploy and call through the executor,
//! outcomes with gas, return data and logs, every failure as a `failed` outcome that consumed
//! its nonce and changed nothing else, the block's gas limit, and the version rules.

#[path = "../../kexin-evm/tests/common/mod.rs"]
mod solc;

use std::collections::BTreeMap;

use alloy_sol_types::{SolCall, SolValue, sol};
use kexin_crypto::{SigningKey, Suite};
use kexin_evm::{Address, U256, address_of};
use kexin_exec::{BlockContext, MemoryState, TxRejection, build_block, execute_block};
use kexin_types::state::{Key, namespace};
use kexin_types::{ContractAddress, Genesis, Outcome, Payload, SealedTx, Transaction, protocol};

sol! {
    interface IToken {
        function balanceOf(address) external view returns (uint256);
        function transfer(address to, uint256 value) external returns (bool);
    }
    interface IFaults {
        function spin() external;
        function bump() external returns (uint256);
    }
}

const CHAIN: &str = "contracts-test";

fn genesis(version: u8) -> Genesis {
    let v = SigningKey::from_seed(Suite::Intl, &[99; 32]).unwrap();
    Genesis {
        version,
        epoch_length: kexin_types::limits::DEFAULT_EPOCH_LENGTH,
        chain_id: CHAIN.into(),
        suite: Suite::Intl,
        timestamp_ms: 0,
        organisations: vec![],
        validators: vec![kexin_types::Validator {
            name: "v".into(),
            org: String::new(),
            public_key: v.public_key(),
            address: String::new(),
        }],
    }
}

struct Chain {
    genesis: Genesis,
    state: MemoryState,
    height: u64,
    nonces: BTreeMap<u8, u64>,
}

impl Chain {
    fn new(version: u8) -> Chain {
        Chain {
            genesis: genesis(version),
            state: MemoryState::default(),
            height: 0,
            nonces: BTreeMap::new(),
        }
    }

    fn key(seed: u8) -> SigningKey {
        SigningKey::from_seed(Suite::Intl, &[seed; 32]).unwrap()
    }

    fn address(seed: u8) -> Address {
        address_of(Suite::Intl, &Chain::key(seed).public_key())
    }

    fn tx(&mut self, seed: u8, payload: Payload) -> SealedTx {
        let n = self.nonces.entry(seed).or_insert(0);
        *n += 1;
        SealedTx::new(Transaction::sign_versioned(
            protocol::V5,
            CHAIN,
            &Chain::key(seed),
            None,
            *n,
            payload,
        ))
    }

    /// Executes a block as a follower does and applies its writes.
    fn run(&mut self, txs: &[SealedTx]) -> Vec<Outcome> {
        self.height += 1;
        let ctx = BlockContext {
            genesis: &self.genesis,
            height: self.height,
            timestamp_ms: self.height * 1000,
        };
        let executed = execute_block(&self.state, &ctx, txs).expect("the block executes");
        self.state.commit(executed.writes);
        executed.outcomes
    }

    fn deploy(&mut self, seed: u8, name: &str, args: Vec<u8>) -> (Outcome, ContractAddress) {
        let mut code = solc::contract(name).bytecode.clone();
        code.extend(args);
        let tx = self.tx(
            seed,
            Payload::ContractDeploy {
                gas_limit: 3_000_000,
                code,
                abi: None,
            },
        );
        let o = self.run(&[tx]).remove(0);
        let address = ContractAddress(o.return_data.clone().try_into().unwrap_or([0; 20]));
        (o, address)
    }

    fn call(
        &mut self,
        seed: u8,
        contract: ContractAddress,
        input: Vec<u8>,
        gas_limit: u64,
    ) -> Outcome {
        let tx = self.tx(
            seed,
            Payload::ContractCall {
                contract,
                gas_limit,
                input,
            },
        );
        self.run(&[tx]).remove(0)
    }

    fn storage(&self) -> usize {
        self.state
            .0
            .keys()
            .filter(|k| k.namespace == namespace::CONTRACT_STORAGE)
            .count()
    }
}

#[test]
fn a_deployed_token_moves_balances_and_reports_gas_return_data_and_logs() {
    let mut chain = Chain::new(protocol::V5);
    let args = ("Kexin Yuan".to_string(), U256::from(1000)).abi_encode_params();
    let (o, token) = chain.deploy(1, "Token", args);
    assert!(o.is_success(), "{o:?}");
    assert_eq!(o.version, 5);
    // The deployment returns the contract's address: Ethereum's CREATE address of the
    // signer's derived address.
    assert_eq!(token.0, Chain::address(1).create(0).0.0);
    assert!(
        o.gas_used > 100_000 && o.gas_used < 3_000_000,
        "{}",
        o.gas_used
    );
    assert_eq!(o.cost, 10 + 3_000, "10 + gas limit / 1000");
    assert_eq!(o.logs.len(), 1, "the constructor's Transfer");
    let deployed = &o
        .events
        .iter()
        .find(|e| e.topic == "deployed")
        .expect("a deployed event");
    assert_eq!(deployed.attributes["address"], token.to_string());
    // The account, its code and its storage are in the state.
    let acc = kexin_types::ContractAccountState::decode_key(&chain.state, &token);
    assert_eq!(acc.created_at, 1);
    assert!(chain.storage() >= 3);

    let bob = Chain::address(2);
    let o = chain.call(
        1,
        token,
        IToken::transferCall {
            to: bob,
            value: U256::from(250),
        }
        .abi_encode(),
        200_000,
    );
    assert!(o.is_success(), "{o:?}");
    assert!(IToken::transferCall::abi_decode_returns(&o.return_data).unwrap());
    assert_eq!(o.logs.len(), 1);
    assert_eq!(o.logs[0].address, token);
    assert_eq!(o.logs[0].topics.len(), 3, "signature, from, to");
    assert_eq!(U256::from_be_slice(&o.logs[0].data), U256::from(250));
    // A call does not write the caller's account (its EVM nonce counts creations only).
    let accounts = chain
        .state
        .0
        .keys()
        .filter(|k| k.namespace == namespace::CONTRACT_ACCOUNT)
        .count();
    assert_eq!(accounts, 2, "the deployer and the token");
}

trait DecodeKey {
    fn decode_key(state: &MemoryState, address: &ContractAddress) -> Self;
}

impl DecodeKey for kexin_types::ContractAccountState {
    fn decode_key(state: &MemoryState, address: &ContractAddress) -> Self {
        use kexin_types::Decode;
        let bytes = state
            .0
            .get(&Key::new(namespace::CONTRACT_ACCOUNT, address.0.to_vec()))
            .expect("the account is stored");
        kexin_types::ContractAccountState::decode(bytes).unwrap()
    }
}

#[test]
fn failures_are_included_as_failed_with_the_nonce_consumed_and_nothing_else() {
    let mut chain = Chain::new(protocol::V5);
    let (_, token) = chain.deploy(
        1,
        "Token",
        ("T".to_string(), U256::from(10)).abi_encode_params(),
    );
    let (_, faults) = chain.deploy(1, "Faults", vec![]);
    let before = chain.state.0.clone();

    // A revert with a custom error: its data is kept for the ABI to decode.
    let o = chain.call(
        3,
        token,
        IToken::transferCall {
            to: Chain::address(1),
            value: U256::from(5),
        }
        .abi_encode(),
        200_000,
    );
    assert_eq!(o.code.as_deref(), Some("contract_reverted"), "{o:?}");
    assert!(
        o.message.as_deref().unwrap().starts_with("custom error 0x"),
        "{o:?}"
    );
    assert_eq!(o.return_data.len(), 4 + 3 * 32);
    assert!(o.gas_used > 21_000 && o.logs.is_empty());
    // Out of gas uses all of it.
    let o = chain.call(3, faults, IFaults::spinCall {}.abi_encode(), 100_000);
    assert_eq!(o.code.as_deref(), Some("out_of_gas"), "{o:?}");
    assert_eq!(o.gas_used, 100_000);
    // No contract at the address.
    let o = chain.call(3, ContractAddress([0x42; 20]), vec![], 100_000);
    assert_eq!(o.code.as_deref(), Some("no_contract"), "{o:?}");
    assert_eq!(o.gas_used, 0);
    // Over the chain's per-transaction gas limit (10,000,000 by default).
    let o = chain.call(3, faults, IFaults::bumpCall {}.abi_encode(), 10_000_001);
    assert_eq!(o.code.as_deref(), Some("gas_limit_too_high"), "{o:?}");
    // Below the intrinsic gas: the EVM refuses to start.
    let o = chain.call(3, faults, IFaults::bumpCall {}.abi_encode(), 1_000);
    assert_eq!(o.code.as_deref(), Some("contract_rejected"), "{o:?}");

    // Only signer 3's nonce changed.
    let mut changed: Vec<&Key> = chain
        .state
        .0
        .iter()
        .filter(|(k, v)| before.get(*k) != Some(*v))
        .map(|(k, _)| k)
        .collect();
    changed.dedup();
    assert_eq!(changed.len(), 1, "{changed:?}");
    assert_eq!(changed[0].namespace, namespace::NONCE);
}

#[test]
fn a_block_holds_contract_transactions_up_to_its_gas_limit_and_defers_the_rest() {
    let mut chain = Chain::new(protocol::V5);
    let (_, faults) = chain.deploy(1, "Faults", vec![]);
    // 30,000,000 per block by default: three of 10,000,000 fit, the fourth waits.
    let txs: Vec<SealedTx> = (10..14)
        .map(|seed| {
            chain.tx(
                seed,
                Payload::ContractCall {
                    contract: faults,
                    gas_limit: 10_000_000,
                    input: IFaults::bumpCall {}.abi_encode(),
                },
            )
        })
        .collect();
    let ctx = BlockContext {
        genesis: &chain.genesis,
        height: 2,
        timestamp_ms: 2000,
    };
    let built = build_block(&chain.state, &ctx, txs.clone()).unwrap();
    assert_eq!(built.included.len(), 3);
    assert_eq!(built.deferred, vec![txs[3].hash()]);
    assert!(built.rejected.is_empty());
    // A follower refuses a block over the limit.
    let err = execute_block(&chain.state, &ctx, &txs).unwrap_err();
    assert!(
        matches!(err, kexin_exec::ExecError::InvalidTransaction { index: 3, ref reason, .. } if matches!(**reason, TxRejection::BlockGasFull { asked: 10_000_000, left: 0 })),
        "{err}"
    );
}

#[test]
fn contracts_need_protocol_version_5_and_other_outcomes_of_a_v5_block_are_version_5() {
    let mut v4 = Chain::new(protocol::V4);
    let code = solc::contract("Faults").bytecode.clone();
    let tx = v4.tx(
        1,
        Payload::ContractDeploy {
            gas_limit: 1_000_000,
            code,
            abi: None,
        },
    );
    let ctx = BlockContext {
        genesis: &v4.genesis,
        height: 1,
        timestamp_ms: 1000,
    };
    let err = execute_block(&v4.state, &ctx, &[tx]).unwrap_err();
    assert!(err.to_string().contains("version 5"), "{err}");

    let mut v5 = Chain::new(protocol::V5);
    let ev = v5.tx(
        1,
        Payload::AuditNote {
            subject: kexin_types::Hash::ZERO,
            text: "x".into(),
        },
    );
    let o = v5.run(&[ev]).remove(0);
    assert_eq!((o.version, o.gas_used), (5, 0));
}

#[test]
fn a_query_reads_without_writing_and_refuses_an_address_without_code() {
    let mut chain = Chain::new(protocol::V5);
    let (_, token) = chain.deploy(
        1,
        "Token",
        ("T".to_string(), U256::from(77)).abi_encode_params(),
    );
    let before = chain.state.0.clone();
    let input = IToken::balanceOfCall(Chain::address(1)).abi_encode();
    let q = kexin_exec::contract::query(
        &chain.state,
        &chain.genesis,
        1,
        1000,
        None,
        token,
        &input,
        None,
    )
    .unwrap()
    .unwrap();
    assert_eq!(q.failure, None);
    assert_eq!(U256::from_be_slice(&q.return_data), U256::from(77));
    assert!(q.gas_used > 21_000);
    // A call that would write (a transfer) as a query: it runs, and nothing is kept.
    let transfer = IToken::transferCall {
        to: Chain::address(2),
        value: U256::from(7),
    }
    .abi_encode();
    let from = Some(ContractAddress(Chain::address(1).0.0));
    let q = kexin_exec::contract::query(
        &chain.state,
        &chain.genesis,
        1,
        1000,
        from,
        token,
        &transfer,
        Some(100_000),
    )
    .unwrap()
    .unwrap();
    assert_eq!(q.failure, None);
    assert_eq!(chain.state.0, before);
    // From an address without tokens it reverts, with the reason.
    let q = kexin_exec::contract::query(
        &chain.state,
        &chain.genesis,
        1,
        1000,
        None,
        token,
        &transfer,
        None,
    )
    .unwrap()
    .unwrap();
    assert_eq!(q.failure.as_ref().map(|f| f.0), Some("contract_reverted"));
    let e = kexin_exec::contract::query(
        &chain.state,
        &chain.genesis,
        1,
        1000,
        None,
        ContractAddress([9; 20]),
        &input,
        None,
    )
    .unwrap()
    .unwrap_err();
    assert_eq!(e.code(), "no_contract");
    let (acc, size) = kexin_exec::contract::contract_info(&chain.state, &token)
        .unwrap()
        .unwrap();
    assert!(size > 100 && acc.created_at == 1);
    assert!(
        kexin_exec::contract::contract_info(&chain.state, &ContractAddress([9; 20]))
            .unwrap()
            .is_none()
    );
}
