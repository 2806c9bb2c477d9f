//! What the engine reads (a [`ContractView`]) and what a call changes ([`StateChanges`]).

use std::collections::{BTreeMap, BTreeSet};
use std::convert::Infallible;

use revm::primitives::{Address, B256, Bytes, KECCAK_EMPTY, U256, keccak256};

/// An account as the contract state keeps it: no balance (Kexin has no native currency).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ContractAccount {
    /// The EVM nonce: contracts this account created (a signer's also counts its calls, as
    /// Ethereum's does); it decides the address of the next `CREATE`.
    pub nonce: u64,
    /// `keccak256` of the account's code; [`KECCAK_EMPTY`] for an account without code.
    pub code_hash: B256,
}

impl ContractAccount {
    /// Whether the account has code (is a contract).
    pub fn has_code(&self) -> bool {
        self.code_hash != KECCAK_EMPTY
    }
}

/// Read access to the contract state a call executes on. Implementations are deterministic
/// views of one state (a block's journal over the committed state).
pub trait ContractView {
    /// The view's failure (a corrupt or unreadable store); it aborts the execution.
    type Error: std::error::Error + Send + Sync + 'static;

    /// The account at `address`, if it exists.
    fn account(&self, address: &Address) -> Result<Option<ContractAccount>, Self::Error>;

    /// The code whose `keccak256` is `code_hash`.
    fn code(&self, code_hash: &B256) -> Result<Option<Bytes>, Self::Error>;

    /// The value of `slot` in `address`'s storage (zero when never written).
    fn storage(&self, address: &Address, slot: &U256) -> Result<U256, Self::Error>;

    /// The hash of the block at `height` (`BLOCKHASH`), if the view knows it; zero otherwise.
    fn block_hash(&self, height: u64) -> Result<Option<B256>, Self::Error> {
        let _ = height;
        Ok(None)
    }

    /// The certificate the key behind signer address `address` acts under, if the chain knows
    /// one (the identity precompile).
    fn identity(&self, address: &Address) -> Result<Option<IdentityInfo>, Self::Error> {
        let _ = address;
        Ok(None)
    }

    /// What the chain knows of evidence digest `digest` (the evidence precompile).
    fn evidence(&self, digest: &B256) -> Result<Option<EvidenceInfo>, Self::Error> {
        let _ = digest;
        Ok(None)
    }
}

/// A signer's certificate as the identity precompile reports it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IdentityInfo {
    /// The certificate id.
    pub cert_id: B256,
    /// Its organisation (`O=`).
    pub org: String,
    /// Its holder (`CN=`).
    pub name: String,
    /// Its role (`OU=`: `admin`, `writer`, `reader`, `auditor`, ...).
    pub role: String,
    /// Whether it was revoked.
    pub revoked: bool,
    /// Start of validity, ms since the Unix epoch.
    pub not_before_ms: u64,
    /// End of validity, ms since the Unix epoch.
    pub not_after_ms: u64,
}

/// An evidence digest as the evidence precompile reports it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EvidenceInfo {
    /// How many records carry the digest.
    pub count: u64,
    /// The height of the first.
    pub first_height: u64,
    /// The organisation that recorded the first (empty when unknown: on an open chain, or
    /// recorded before protocol version 5).
    pub first_org: String,
    /// The height of the latest.
    pub last_height: u64,
}

/// What a successful call changed, in a fixed (sorted) order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StateChanges {
    /// Accounts created or changed (nonce, code).
    pub accounts: BTreeMap<Address, ContractAccount>,
    /// Code deployed, by `keccak256`.
    pub code: BTreeMap<B256, Bytes>,
    /// Storage slots changed: the new value (zero: the slot is cleared).
    pub storage: BTreeMap<(Address, U256), U256>,
    /// Accounts removed (a contract that self-destructed in the transaction that created it).
    pub destroyed: BTreeSet<Address>,
}

impl StateChanges {
    /// Whether nothing changed.
    pub fn is_empty(&self) -> bool {
        self.accounts.is_empty()
            && self.code.is_empty()
            && self.storage.is_empty()
            && self.destroyed.is_empty()
    }
}

/// A contract state in memory: for tests and tools.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MemoryContracts {
    /// The accounts.
    pub accounts: BTreeMap<Address, ContractAccount>,
    /// The code, by `keccak256`.
    pub code: BTreeMap<B256, Bytes>,
    /// The non-zero storage slots.
    pub storage: BTreeMap<(Address, U256), U256>,
    /// Signer identities, by address.
    pub identities: BTreeMap<Address, IdentityInfo>,
    /// Evidence digests.
    pub evidence: BTreeMap<B256, EvidenceInfo>,
}

impl MemoryContracts {
    /// An empty state.
    pub fn new() -> MemoryContracts {
        MemoryContracts::default()
    }

    /// Applies a call's changes.
    pub fn apply(&mut self, changes: &StateChanges) {
        for address in &changes.destroyed {
            self.accounts.remove(address);
            let slots: Vec<(Address, U256)> = self
                .storage
                .range((*address, U256::ZERO)..=(*address, U256::MAX))
                .map(|(k, _)| *k)
                .collect();
            for k in slots {
                self.storage.remove(&k);
            }
        }
        self.accounts
            .extend(changes.accounts.iter().map(|(a, acc)| (*a, *acc)));
        for (hash, code) in &changes.code {
            debug_assert_eq!(keccak256(code), *hash);
            self.code.insert(*hash, code.clone());
        }
        for (key, value) in &changes.storage {
            if value.is_zero() {
                self.storage.remove(key);
            } else {
                self.storage.insert(*key, *value);
            }
        }
    }
}

impl ContractView for MemoryContracts {
    type Error = Infallible;

    fn account(&self, address: &Address) -> Result<Option<ContractAccount>, Infallible> {
        Ok(self.accounts.get(address).copied())
    }

    fn code(&self, code_hash: &B256) -> Result<Option<Bytes>, Infallible> {
        Ok(self.code.get(code_hash).cloned())
    }

    fn storage(&self, address: &Address, slot: &U256) -> Result<U256, Infallible> {
        Ok(self
            .storage
            .get(&(*address, *slot))
            .copied()
            .unwrap_or_default())
    }

    fn identity(&self, address: &Address) -> Result<Option<IdentityInfo>, Infallible> {
        Ok(self.identities.get(address).cloned())
    }

    fn evidence(&self, digest: &B256) -> Result<Option<EvidenceInfo>, Infallible> {
        Ok(self.evidence.get(digest).cloned())
    }
}
