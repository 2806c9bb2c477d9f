//! A consortium chain executed in memory for contract tests: organisations with CAs, identities
//! with certificates and nonces, and blocks run by the real executor at a controllable time.
//! Included with `#[path]` by the tests that need it.
#![allow(dead_code)]

use alloy_sol_types::SolCall;
use kexin_crypto::{SigningKey, Suite};
use kexin_exec::{BlockContext, MemoryState, execute_block};
use kexin_pki::{Certificate, Terms};
use kexin_types::{
    CertDer, ContractAddress, Genesis, Organisation, Outcome, Payload, Role, SealedTx, Transaction,
    Validator, protocol,
};

pub const CHAIN: &str = "lookups-test";
pub const DAY: u64 = 86_400_000;
/// The first block's time: ten days after the genesis.
pub const START_MS: u64 = 10 * DAY;

/// An organisation: its CA certificate and key.
pub struct Org {
    pub name: String,
    pub ca: Certificate,
    pub key: SigningKey,
}

/// An identity: a key, its certificate and its last nonce.
pub struct Id {
    pub key: SigningKey,
    pub cert: CertDer,
    pub nonce: u64,
}

impl Id {
    /// A version 5 transaction of the next nonce, with the certificate attached (so that it is
    /// registered whether or not an earlier transaction took effect).
    pub fn tx(&mut self, payload: Payload) -> SealedTx {
        self.nonce += 1;
        SealedTx::new(Transaction::sign_versioned(
            protocol::V5,
            CHAIN,
            &self.key,
            Some((&self.cert, true)),
            self.nonce,
            payload,
        ))
    }

    /// Its contract address (`msg.sender`).
    pub fn address(&self, suite: Suite) -> kexin_evm::Address {
        kexin_evm::address_of(suite, &self.key.public_key())
    }
}

pub fn terms(serial: u8) -> Terms {
    Terms {
        serial: serial as u64,
        not_before_ms: 0,
        not_after_ms: 1000 * DAY,
    }
}

impl Org {
    pub fn new(suite: Suite, name: &str, seed: u8) -> Org {
        let key = SigningKey::from_seed(suite, &[seed; 32]).unwrap();
        let ca = kexin_pki::self_signed_ca(name, &key, &terms(seed)).unwrap();
        Org {
            name: name.into(),
            ca,
            key,
        }
    }

    /// A certificate of `role` for `name`, with a key from `seed`.
    pub fn issue(&self, suite: Suite, name: &str, role: Role, seed: u8) -> Id {
        let key = SigningKey::from_seed(suite, &[seed; 32]).unwrap();
        let cert = kexin_pki::issue(
            &self.ca,
            &self.key,
            name,
            role,
            &key.public_key(),
            &terms(seed),
        )
        .unwrap();
        Id {
            key,
            cert: CertDer(cert.der().to_vec()),
            nonce: 0,
        }
    }
}

/// The chain: genesis, state, height and the time of the last block.
pub struct Chain {
    pub genesis: Genesis,
    pub state: MemoryState,
    pub height: u64,
    pub time_ms: u64,
}

impl Chain {
    /// Runs a block of `txs` one second after the last one.
    pub fn run(&mut self, txs: &[SealedTx]) -> Vec<Outcome> {
        self.height += 1;
        self.time_ms += 1000;
        let ctx = BlockContext {
            genesis: &self.genesis,
            height: self.height,
            timestamp_ms: self.time_ms,
        };
        let executed = execute_block(&self.state, &ctx, txs).expect("the block executes");
        self.state.commit(executed.writes);
        executed.outcomes
    }

    /// Moves the clock `ms` forward (the next block's time is one second later still).
    pub fn advance(&mut self, ms: u64) {
        self.time_ms += ms;
    }

    /// A read-only call on the committed state as `from`, which must succeed.
    pub fn query<C: SolCall>(&self, from: &Id, contract: ContractAddress, call: C) -> C::Return {
        let out = self.query_raw(from, contract, &call.abi_encode());
        assert!(out.failure.is_none(), "{:?}", out.failure);
        C::abi_decode_returns(&out.return_data).unwrap()
    }

    /// A read-only call of `input` on the committed state as `from`.
    pub fn query_raw(
        &self,
        from: &Id,
        contract: ContractAddress,
        input: &[u8],
    ) -> kexin_exec::contract::QueryOutcome {
        let from = ContractAddress(from.address(self.genesis.suite).0.0);
        kexin_exec::contract::query(
            &self.state,
            &self.genesis,
            self.height,
            self.time_ms,
            Some(from),
            contract,
            input,
            None,
        )
        .unwrap()
        .unwrap()
    }
}

/// A version 5 chain of `orgs`, with one validator of the first.
pub fn consortium(suite: Suite, orgs: &[&Org]) -> Chain {
    let genesis = Genesis {
        version: protocol::V5,
        epoch_length: kexin_types::limits::DEFAULT_EPOCH_LENGTH,
        chain_id: CHAIN.into(),
        suite,
        timestamp_ms: 0,
        organisations: orgs
            .iter()
            .map(|o| Organisation {
                name: o.name.clone(),
                ca_certs: vec![CertDer(o.ca.der().to_vec())],
            })
            .collect(),
        validators: vec![Validator {
            name: "node0".into(),
            org: orgs[0].name.clone(),
            public_key: SigningKey::from_seed(suite, &[1; 32]).unwrap().public_key(),
            address: String::new(),
        }],
    };
    genesis.validate().unwrap();
    Chain {
        genesis,
        state: MemoryState::default(),
        height: 0,
        time_ms: START_MS,
    }
}
