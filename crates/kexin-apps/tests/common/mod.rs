//! A reference contract deployed on an in-memory consortium, called by identities, for the
//! contracts' rule tests.
#![allow(dead_code)]

#[path = "../../../kexin-evm/tests/common/mod.rs"]
pub mod solc;

#[path = "../../../kexin-exec/tests/common/consortium.rs"]
pub mod consortium;

use alloy_sol_types::SolCall;
use alloy_sol_types::private::{FixedBytes, U256};
use consortium::{Chain, Id};
use kexin_crypto::{Hash, Suite};
use kexin_types::{ContractAddress, EvidenceRecord, Outcome, Payload, RecordMetadata, Salt};

/// A deployed contract on its chain.
pub struct App {
    pub suite: Suite,
    pub chain: Chain,
    pub address: ContractAddress,
}

impl App {
    /// `deployer` deploys the reference contract `name` on `chain`.
    pub fn deploy(mut chain: Chain, deployer: &mut Id, name: &str) -> App {
        let tx = deployer.tx(Payload::ContractDeploy {
            gas_limit: 10_000_000,
            code: solc::reference(name).bytecode,
            abi: None,
        });
        let o = chain.run(&[tx]).remove(0);
        assert!(o.is_success(), "{o:?}");
        App {
            suite: chain.genesis.suite,
            address: ContractAddress(o.return_data.clone().try_into().unwrap()),
            chain,
        }
    }

    /// `who` calls the contract with `call` in a block of its own.
    pub fn call<C: SolCall>(&mut self, who: &mut Id, call: C) -> Outcome {
        let tx = who.tx(Payload::ContractCall {
            contract: self.address,
            gas_limit: 3_000_000,
            input: call.abi_encode(),
        });
        self.chain.run(&[tx]).remove(0)
    }

    /// A call that must succeed; its decoded return.
    #[track_caller]
    pub fn ok<C: SolCall>(&mut self, who: &mut Id, call: C) -> C::Return {
        let o = self.call(who, call);
        assert!(o.is_success(), "{o:?}");
        C::abi_decode_returns(&o.return_data).unwrap()
    }

    /// A call that must revert with a reason containing `reason`.
    #[track_caller]
    pub fn refused<C: SolCall>(&mut self, who: &mut Id, call: C, reason: &str) {
        let o = self.call(who, call);
        assert!(!o.is_success(), "accepted, expected {reason:?}");
        assert_eq!(o.code.as_deref(), Some("contract_reverted"), "{o:?}");
        let message = o.message.clone().unwrap_or_default();
        assert!(
            message.contains(reason),
            "reason {message:?} does not contain {reason:?}"
        );
    }

    /// A read-only call as `who`.
    pub fn view<C: SolCall>(&self, who: &Id, call: C) -> C::Return {
        self.chain.query(who, self.address, call)
    }

    /// `who` attests `doc` as evidence; its digest.
    pub fn attest(&mut self, who: &mut Id, doc: &str) -> Hash {
        let digest = self.suite.hash(doc.as_bytes());
        let tx = who.tx(Payload::Evidence {
            records: vec![EvidenceRecord {
                digest,
                metadata: RecordMetadata {
                    salt: Salt([3; 16]),
                    content_type: "application/pdf".into(),
                    label: doc.into(),
                    external_ref: None,
                },
            }],
        });
        let o = self.chain.run(&[tx]).remove(0);
        assert!(o.is_success(), "{o:?}");
        digest
    }

    /// The storage word at `slot` of the contract (zero when absent).
    pub fn word(&self, slot: [u8; 32]) -> [u8; 32] {
        let key = kexin_types::state_receipt::contract_storage_key(&self.address, &slot);
        let mut w = [0u8; 32];
        if let Some(v) = self.chain.state.0.get(&key) {
            w[32 - v.len()..].copy_from_slice(v);
        }
        w
    }
}

/// A digest as a Solidity `bytes32`.
pub fn b32(h: Hash) -> FixedBytes<32> {
    h.0.into()
}

/// A number as a Solidity `uint256`.
pub fn u(v: u64) -> U256 {
    U256::from(v)
}
