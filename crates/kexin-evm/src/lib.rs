//! The contract module's engine: runs Solidity contracts (EVM bytecode) on `revm` over Kexin's
//! state, deterministically and without I/O, and reports what a call did.
//!
//! - [`execute`] runs one contract creation or call for a signer and returns an
//!   [`EvmOutcome`]: success, revert (with its decoded reason, [`RevertReason`]) or halt (out
//!   of gas, invalid opcode, ...), the gas used, the return data, the logs, and the state
//!   changes ([`StateChanges`]) in a fixed order. A revert or halt changes nothing.
//! - [`query`] runs a read-only call: the same execution, its changes discarded.
//! - [`address_of`] derives a signer's contract address (`msg.sender`) from its public key with
//!   the chain's hash, so that every node computes the same one.
//!
//! Beside Ethereum's precompiles, Kexin's ([`precompiles`]) hash with SM3, check SM2 (with a
//! user id), Ed25519 and P-256 signatures, and look up a signer's certificate and an evidence
//! digest in the chain's state.
//!
//! The state is read through [`ContractView`] (accounts, code by hash, storage slots); the
//! caller (the executor's contract module) writes the returned changes into its journal.
//! There are no fees and no native currency: every balance is zero, gas only bounds work.
//! `keccak256` is standard, so code compiled by any Solidity toolchain runs unchanged.

pub mod abi;
mod address;
pub mod artifact;
mod engine;
pub mod precompiles;
mod revert;
mod view;

pub use address::{ADDRESS_DOMAIN, address_of, evm_chain_id};
pub use engine::{
    BlockInfo, Call, EvmConfig, EvmError, EvmOutcome, EvmStatus, SPEC, execute, query,
};
pub use revert::RevertReason;
pub use view::{
    ContractAccount, ContractView, EvidenceInfo, IdentityInfo, MemoryContracts, StateChanges,
};

/// EVM types used in this crate's interface (from `revm`'s primitives).
pub use revm::primitives::{Address, B256, Bytes, KECCAK_EMPTY, Log, U256, keccak256};
