//! The contract module (protocol version 5): deploys and calls Solidity contracts on the EVM
//! (`kexin-evm`), with their accounts, code and storage in the state.
//!
//! Namespaces: 9 contract accounts (20-byte address → `ContractAccountState`), 10 code
//! (32-byte `keccak256` → the code), 11 storage (address ‖ 32-byte slot → 32-byte word). A
//! signer's contract address comes from its key (formats.md §5.10); its EVM nonce counts the
//! contracts it deployed. Gas limits and who may deploy are chain parameters (`contract.*`).

use kexin_evm::{
    Address, B256, BlockInfo, Bytes, Call, ContractAccount, ContractView, EvidenceInfo, EvmConfig,
    EvmError, EvmStatus, IdentityInfo, U256, address_of, evm_chain_id,
};
use kexin_types::state::{Key, namespace};
use kexin_types::{
    ContractAccountState, ContractAddress, ContractLog, Encode, Event, Hash, Payload, Role, Suite,
};

use super::{Checked, Module, TxCx};
use crate::journal::Journal;
use crate::modules::identity::consortium;
use crate::{ExecError, TxRejection};

/// What a contract transaction did on the EVM, for its outcome (kept when it fails too).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ContractRun {
    /// The gas it used.
    pub gas_used: u64,
    /// A call's return data, a revert's data, or a deployment's 20-byte contract address.
    pub return_data: Vec<u8>,
    /// The logs a success emitted.
    pub logs: Vec<ContractLog>,
}

/// The contract module.
pub struct Contracts;

/// Cost units per 1,000 gas of a contract transaction's gas limit.
pub const GAS_PER_COST_UNIT: u64 = 1_000;

fn account_key(address: &[u8; 20]) -> Key {
    Key::new(namespace::CONTRACT_ACCOUNT, address.to_vec())
}

fn code_key(hash: &B256) -> Key {
    Key::new(namespace::CONTRACT_CODE, hash.as_slice().to_vec())
}

fn storage_key(address: &Address, slot: &U256) -> Key {
    let mut k = address.as_slice().to_vec();
    k.extend_from_slice(&slot.to_be_bytes::<32>());
    Key::new(namespace::CONTRACT_STORAGE, k)
}

/// The contract account at `address` (20 bytes).
pub fn account(
    st: &Journal<'_>,
    address: &[u8; 20],
) -> Result<Option<ContractAccountState>, ExecError> {
    st.read::<ContractAccountState>(account_key(address))
}

/// The EVM's view of the state, through the block's journal.
struct JournalView<'a, 'v> {
    st: &'a Journal<'v>,
}

impl ContractView for JournalView<'_, '_> {
    type Error = ExecError;

    fn account(&self, address: &Address) -> Result<Option<ContractAccount>, ExecError> {
        Ok(account(self.st, &address.0.0)?.map(|a| ContractAccount {
            nonce: a.nonce,
            // A frozen contract runs as code that reverts at once: a call into it from
            // another contract fails, and nothing can change its storage.
            code_hash: if a.frozen {
                kexin_evm::keccak256(FROZEN_CODE)
            } else {
                B256::from(a.code_hash.0)
            },
        }))
    }

    fn code(&self, code_hash: &B256) -> Result<Option<Bytes>, ExecError> {
        if *code_hash == kexin_evm::keccak256(FROZEN_CODE) {
            return Ok(Some(Bytes::from_static(FROZEN_CODE)));
        }
        Ok(self.st.get(&code_key(code_hash))?.map(Bytes::from))
    }

    fn identity(&self, address: &Address) -> Result<Option<IdentityInfo>, ExecError> {
        Ok(
            crate::modules::identity::cert_of_address(self.st, &address.0.0)?.map(|(id, c)| {
                IdentityInfo {
                    cert_id: B256::from(id.0),
                    org: c.org,
                    name: c.name,
                    role: c.role.as_str().to_owned(),
                    revoked: c.revoked.is_some(),
                    not_before_ms: c.not_before_ms,
                    not_after_ms: c.not_after_ms,
                }
            }),
        )
    }

    fn evidence(&self, digest: &B256) -> Result<Option<EvidenceInfo>, ExecError> {
        let key = kexin_types::state::StateKey::Evidence(Hash(digest.0));
        Ok(self
            .st
            .read::<kexin_types::state::EvidenceState>(key)?
            .map(|e| EvidenceInfo {
                count: e.count,
                first_height: e.first.height,
                first_org: e.first_org.unwrap_or_default(),
                last_height: e.last.height,
            }))
    }

    fn storage(&self, address: &Address, slot: &U256) -> Result<U256, ExecError> {
        let key = storage_key(address, slot);
        match self.st.get(&key)? {
            None => Ok(U256::ZERO),
            Some(v) => <[u8; 32]>::try_from(v.as_slice())
                .map(U256::from_be_bytes)
                .map_err(|_| ExecError::CorruptState {
                    key,
                    source: kexin_types::DecodeError::Invalid {
                        field: "storage word",
                        reason: format!("{} bytes, a word is 32", v.len()),
                    },
                }),
        }
    }
}

/// The code a frozen contract runs as: `PUSH0 PUSH0 REVERT` (a revert without data).
const FROZEN_CODE: &[u8] = &[0x5f, 0x5f, 0xfd];

/// The state key of contract name `name` (namespace 13).
pub fn name_key(name: &str) -> Key {
    Key::new(namespace::CONTRACT_NAME, name.as_bytes().to_vec())
}

/// The contract named `name` by the consortium, if any.
pub fn named<V: crate::StateView>(
    view: &V,
    name: &str,
) -> Result<Option<ContractAddress>, ExecError> {
    let key = name_key(name);
    match view.get(&key)? {
        None => Ok(None),
        Some(v) => <[u8; 20]>::try_from(v.as_slice())
            .map(|a| Some(ContractAddress(a)))
            .map_err(|_| ExecError::CorruptState {
                key,
                source: kexin_types::DecodeError::Invalid {
                    field: "contract name",
                    reason: format!("{} bytes, an address is 20", v.len()),
                },
            }),
    }
}

/// Checks a contract lifecycle action of governance (kinds 8 to 11) against the state.
pub(crate) fn check_lifecycle(
    block: &crate::BlockContext<'_>,
    st: &Journal<'_>,
    action: &kexin_types::GovAction,
) -> Checked {
    use kexin_types::GovAction;
    let (GovAction::FreezeContract { contract }
    | GovAction::UnfreezeContract { contract }
    | GovAction::UpgradeContract { contract, .. }
    | GovAction::NameContract { contract, .. }) = action
    else {
        return Ok(Ok(()));
    };
    let version = crate::protocol::version_at(st, block.genesis, block.height)?;
    if version < kexin_types::protocol::V5 {
        return Ok(Err(contract_err(
            "contract_governance_unavailable",
            format!(
                "{} needs protocol version 5; this chain is at version {version}",
                action.kind_name()
            ),
        )));
    }
    let acc = match account(st, &contract.0)? {
        Some(a) if a.code_hash != Hash(kexin_evm_empty_code_hash()) => a,
        _ => {
            return Ok(Err(contract_err(
                "no_contract",
                format!("there is no contract at {contract}"),
            )));
        }
    };
    match action {
        GovAction::FreezeContract { .. } if acc.frozen => Ok(Err(contract_err(
            "contract_frozen",
            format!("contract {contract} is already frozen"),
        ))),
        GovAction::UnfreezeContract { .. } if !acc.frozen => Ok(Err(contract_err(
            "contract_not_frozen",
            format!("contract {contract} is not frozen"),
        ))),
        GovAction::NameContract { name, .. } if named(st, name)? == Some(*contract) => {
            Ok(Err(contract_err(
                "contract_unchanged",
                format!("{name:?} already names contract {contract}"),
            )))
        }
        GovAction::UpgradeContract { code, .. } => {
            let max = consortium(block, st)?.param("contract.max_code_bytes");
            if code.len() as u64 > max {
                return Ok(Err(contract_err(
                    "code_too_large",
                    format!(
                        "the new code is {} bytes, above contract.max_code_bytes ({max})",
                        code.len()
                    ),
                )));
            }
            if kexin_evm::keccak256(code).0 == acc.code_hash.0 {
                return Ok(Err(contract_err(
                    "contract_unchanged",
                    format!("contract {contract} already runs this code"),
                )));
            }
            Ok(Ok(()))
        }
        _ => Ok(Ok(())),
    }
}

/// Applies a checked contract lifecycle action of governance (kinds 8 to 11).
pub(crate) fn apply_lifecycle(
    st: &mut Journal<'_>,
    action: &kexin_types::GovAction,
    events: &mut Vec<Event>,
) -> Checked {
    use kexin_types::GovAction;
    if let GovAction::NameContract { name, contract } = action {
        let previous = named(st, name)?;
        st.put(name_key(name), contract.0.to_vec());
        let mut event = Event::new("contract", "contract_named")
            .with("name", name.as_str())
            .with("contract", contract.to_string());
        if let Some(p) = previous {
            event = event.with("previous", p.to_string());
        }
        events.push(event);
        return Ok(Ok(()));
    }
    let (GovAction::FreezeContract { contract }
    | GovAction::UnfreezeContract { contract }
    | GovAction::UpgradeContract { contract, .. }) = action
    else {
        return Ok(Ok(()));
    };
    let Some(mut acc) = account(st, &contract.0)? else {
        return Ok(Err(contract_err(
            "no_contract",
            format!("there is no contract at {contract}"),
        )));
    };
    let event = match action {
        GovAction::FreezeContract { .. } => {
            acc.frozen = true;
            Event::new("contract", "contract_frozen")
        }
        GovAction::UnfreezeContract { .. } => {
            acc.frozen = false;
            Event::new("contract", "contract_unfrozen")
        }
        GovAction::UpgradeContract { code, .. } => {
            let hash = kexin_evm::keccak256(code);
            let old = acc.code_hash;
            acc.code_hash = Hash(hash.0);
            st.put(code_key(&hash), code.clone());
            Event::new("contract", "contract_upgraded")
                .with("old_code_hash", old)
                .with("code_hash", acc.code_hash)
        }
        _ => return Ok(Ok(())),
    };
    st.write(account_key(&contract.0), &acc);
    events.push(event.with("contract", contract.to_string()));
    Ok(Ok(()))
}

fn contract_err(code: &'static str, message: impl Into<String>) -> TxRejection {
    TxRejection::Contract {
        code,
        message: message.into(),
    }
}

/// How a run failed, as an outcome's code and message (`None` when it succeeded).
fn failure(out: &kexin_evm::EvmOutcome) -> Option<(&'static str, String)> {
    match &out.status {
        EvmStatus::Success => None,
        EvmStatus::Revert(reason) => Some(("contract_reverted", reason.to_string())),
        EvmStatus::Halt(reason) if reason.contains("OutOfGas") => Some((
            "out_of_gas",
            format!("ran out of gas ({reason}) after {} gas", out.gas_used),
        )),
        EvmStatus::Halt(reason) => Some(("contract_halted", format!("halted: {reason}"))),
    }
}

/// The chain's contract parameters for the block of `cx`.
struct Params {
    tx_gas_limit: u64,
    block_gas_limit: u64,
    max_code_bytes: u64,
    max_initcode_bytes: u64,
    deployers: u64,
}

fn params(cx: &TxCx<'_>, st: &Journal<'_>) -> Result<Params, ExecError> {
    let c = consortium(&cx.block, st)?;
    Ok(Params {
        tx_gas_limit: c.param("contract.tx_gas_limit"),
        block_gas_limit: c.param("contract.block_gas_limit"),
        max_code_bytes: c.param("contract.max_code_bytes"),
        max_initcode_bytes: c.param("contract.max_initcode_bytes"),
        deployers: c.param("contract.deployers"),
    })
}

/// The block gas limit (`contract.block_gas_limit`) for a block.
pub(crate) fn block_gas_limit(
    block: &crate::BlockContext<'_>,
    st: &Journal<'_>,
) -> Result<u64, ExecError> {
    Ok(consortium(block, st)?.param("contract.block_gas_limit"))
}

/// The gas limit a payload asks for (0 for payloads that are not contract transactions).
pub fn gas_limit(payload: &Payload) -> u64 {
    match payload {
        Payload::ContractDeploy { gas_limit, .. } | Payload::ContractCall { gas_limit, .. } => {
            *gas_limit
        }
        _ => 0,
    }
}

impl Module for Contracts {
    fn name(&self) -> &'static str {
        "contract"
    }

    fn namespaces(&self) -> &'static [u8] {
        &[
            namespace::CONTRACT_ACCOUNT,
            namespace::CONTRACT_CODE,
            namespace::CONTRACT_STORAGE,
            namespace::CONTRACT_NAME,
        ]
    }

    fn payload_kinds(&self) -> &'static [u8] {
        &[7, 8, 9]
    }

    fn check(&self, cx: &TxCx<'_>, st: &Journal<'_>) -> Checked {
        let p = params(cx, st)?;
        let asked = gas_limit(cx.payload());
        if asked > p.tx_gas_limit {
            return Ok(Err(contract_err(
                "gas_limit_too_high",
                format!(
                    "the gas limit {asked} exceeds the chain's contract.tx_gas_limit {}",
                    p.tx_gas_limit
                ),
            )));
        }
        match cx.payload() {
            Payload::ContractDeploy { code, .. } => {
                if code.len() as u64 > p.max_initcode_bytes {
                    return Ok(Err(contract_err(
                        "initcode_too_large",
                        format!(
                            "the init code is {} bytes, the chain's contract.max_initcode_bytes is {}",
                            code.len(),
                            p.max_initcode_bytes
                        ),
                    )));
                }
                if let Some((_, cert)) = cx.actor
                    && cert.role != Role::Admin
                    && p.deployers == 0
                {
                    return Ok(Err(contract_err(
                        "deploy_not_permitted",
                        format!(
                            "only organisation admins may deploy contracts on this chain (contract.deployers = 0); {} is a {}",
                            cert.name, cert.role
                        ),
                    )));
                }
            }
            Payload::ContractCall { contract, .. } => match account(st, &contract.0)? {
                Some(a) if a.code_hash != Hash(kexin_evm_empty_code_hash()) => {
                    if a.frozen {
                        return Ok(Err(contract_err(
                            "contract_frozen",
                            format!("contract {contract} is frozen by the consortium"),
                        )));
                    }
                }
                _ => {
                    return Ok(Err(contract_err(
                        "no_contract",
                        format!("there is no contract at {contract}"),
                    )));
                }
            },
            _ => {}
        }
        Ok(Ok(()))
    }

    fn apply(&self, cx: &TxCx<'_>, st: &mut Journal<'_>, events: &mut Vec<Event>) -> Checked {
        let mut run = None;
        self.apply_reporting(cx, st, events, &mut run)
    }

    fn apply_reporting(
        &self,
        cx: &TxCx<'_>,
        st: &mut Journal<'_>,
        events: &mut Vec<Event>,
        run: &mut Option<ContractRun>,
    ) -> Checked {
        if let Err(r) = self.check(cx, st)? {
            return Ok(Err(r));
        }
        let p = params(cx, st)?;
        let suite = cx.block.genesis.suite;
        let config = EvmConfig {
            chain_id: evm_chain_id(suite, &cx.block.genesis.chain_id),
            max_code_size: p.max_code_bytes as usize,
            max_initcode_size: p.max_initcode_bytes as usize,
        };
        let block = BlockInfo {
            height: cx.block.height,
            timestamp_ms: cx.block.timestamp_ms,
            gas_limit: p.block_gas_limit,
        };
        let caller = address_of(suite, &cx.tx.tx().signer);
        let (call, gas) = match cx.payload() {
            Payload::ContractDeploy {
                code, gas_limit, ..
            } => (
                Call::Create {
                    init_code: Bytes::from(code.clone()),
                },
                *gas_limit,
            ),
            Payload::ContractCall {
                contract,
                gas_limit,
                input,
            } => (
                Call::Call {
                    to: Address::from(contract.0),
                    data: Bytes::from(input.clone()),
                },
                *gas_limit,
            ),
            other => {
                return Err(ExecError::Unchecked(format!(
                    "{} is not a contract payload",
                    other.kind_name()
                )));
            }
        };
        let out = match kexin_evm::execute(&JournalView { st }, &config, &block, caller, &call, gas)
        {
            Ok(out) => out,
            Err(EvmError::View(e)) => return Err(e),
            Err(EvmError::Rejected(m)) => {
                return Ok(Err(contract_err("contract_rejected", m)));
            }
        };
        let logs: Vec<ContractLog> = out
            .logs
            .iter()
            .map(|l| ContractLog {
                address: ContractAddress(l.address.0.0),
                topics: l.data.topics().iter().map(|t| Hash(t.0)).collect(),
                data: l.data.data.to_vec(),
            })
            .collect();
        let mut report = ContractRun {
            gas_used: out.gas_used,
            return_data: out.output.to_vec(),
            logs: Vec::new(),
        };
        let result = match failure(&out) {
            None => {
                report.logs = logs;
                write_changes(cx, st, &out.changes)?;
                if let Some(created) = out.created {
                    report.return_data = created.as_slice().to_vec();
                    let code_hash = out
                        .changes
                        .accounts
                        .get(&created)
                        .map(|a| a.code_hash)
                        .unwrap_or_default();
                    events.push(
                        Event::new("contract", "deployed")
                            .with("address", ContractAddress(created.0.0))
                            .with("code_hash", Hash(code_hash.0)),
                    );
                }
                Ok(())
            }
            Some((code, message)) => Err(contract_err(code, message)),
        };
        *run = Some(report);
        Ok(result)
    }

    fn cost(&self, payload: &Payload) -> u64 {
        gas_limit(payload).div_ceil(GAS_PER_COST_UNIT)
    }

    fn describe(&self, payload: &Payload, _suite: Suite) -> String {
        match payload {
            Payload::ContractDeploy {
                code,
                gas_limit,
                abi,
            } => {
                format!(
                    "deploy a contract ({} bytes of init code, gas ≤ {gas_limit}{})",
                    code.len(),
                    if abi.is_some() { ", with its ABI" } else { "" }
                )
            }
            Payload::ContractCall {
                contract,
                gas_limit,
                input,
            } => match input.get(..4) {
                Some(sel) => format!(
                    "call {contract} (selector 0x{}, gas ≤ {gas_limit})",
                    sel.iter().map(|b| format!("{b:02x}")).collect::<String>()
                ),
                None => format!("call {contract} (no calldata, gas ≤ {gas_limit})"),
            },
            other => other.kind_name().replace('_', " "),
        }
    }
}

/// `keccak256("")`: the code hash of an account without code.
fn kexin_evm_empty_code_hash() -> [u8; 32] {
    kexin_evm::KECCAK_EMPTY.0
}

/// Writes a successful run's changes: accounts (keeping what the state knows of them), new
/// code, storage words.
fn write_changes(
    cx: &TxCx<'_>,
    st: &mut Journal<'_>,
    changes: &kexin_evm::StateChanges,
) -> Result<(), ExecError> {
    for (address, acc) in &changes.accounts {
        let key = account_key(&address.0.0);
        let previous = st.read::<ContractAccountState>(key.clone())?;
        let state = match previous {
            Some(mut prev) => {
                prev.nonce = acc.nonce;
                prev.code_hash = Hash(acc.code_hash.0);
                prev
            }
            None => ContractAccountState {
                nonce: acc.nonce,
                code_hash: Hash(acc.code_hash.0),
                frozen: false,
                created_at: if acc.has_code() { cx.block.height } else { 0 },
                creator_org: if acc.has_code() {
                    cx.org()
                } else {
                    String::new()
                },
            },
        };
        st.put(key, state.encode());
    }
    for (hash, code) in &changes.code {
        st.put(code_key(hash), code.to_vec());
    }
    for ((address, slot), value) in &changes.storage {
        st.put(
            storage_key(address, slot),
            value.to_be_bytes::<32>().to_vec(),
        );
    }
    Ok(())
}

/// What a read-only contract call returned ([`query`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueryOutcome {
    /// `None` when it returned; else the failure's code (`contract_reverted`, `out_of_gas`,
    /// `contract_halted`) and message.
    pub failure: Option<(&'static str, String)>,
    /// The gas it used.
    pub gas_used: u64,
    /// Its return data (a revert's data when it reverted).
    pub return_data: Vec<u8>,
}

/// Runs a read-only call of `contract` with `input` on `view` (the committed state of the
/// block at `height`), as `from` (the zero address when `None`), with at most `gas_limit` gas
/// (and never more than `contract.tx_gas_limit`): nothing is written. Refused when there is no
/// contract at the address (`no_contract`) or the EVM will not start (`contract_rejected`).
#[allow(clippy::too_many_arguments)]
pub fn query<V: crate::StateView>(
    view: &V,
    genesis: &kexin_types::Genesis,
    height: u64,
    timestamp_ms: u64,
    from: Option<ContractAddress>,
    contract: ContractAddress,
    input: &[u8],
    gas_limit: Option<u64>,
) -> Result<Result<QueryOutcome, TxRejection>, ExecError> {
    let st = Journal::new(view);
    let block = crate::BlockContext {
        genesis,
        height,
        timestamp_ms,
    };
    let c = consortium(&block, &st)?;
    let cap = c.param("contract.tx_gas_limit");
    match account(&st, &contract.0)? {
        Some(a) if a.frozen => {
            return Ok(Err(contract_err(
                "contract_frozen",
                format!("contract {contract} is frozen by the consortium"),
            )));
        }
        Some(a) if a.code_hash != Hash(kexin_evm_empty_code_hash()) => {}
        _ => {
            return Ok(Err(contract_err(
                "no_contract",
                format!("there is no contract at {contract}"),
            )));
        }
    }
    let suite = genesis.suite;
    let config = EvmConfig {
        chain_id: evm_chain_id(suite, &genesis.chain_id),
        max_code_size: c.param("contract.max_code_bytes") as usize,
        max_initcode_size: c.param("contract.max_initcode_bytes") as usize,
    };
    let info = BlockInfo {
        height,
        timestamp_ms,
        gas_limit: c.param("contract.block_gas_limit"),
    };
    let call = Call::Call {
        to: Address::from(contract.0),
        data: Bytes::copy_from_slice(input),
    };
    let caller = Address::from(from.map_or([0; 20], |a| a.0));
    let gas = gas_limit.unwrap_or(cap).min(cap);
    let out = match kexin_evm::query(&JournalView { st: &st }, &config, &info, caller, &call, gas) {
        Ok(out) => out,
        Err(EvmError::View(e)) => return Err(e),
        Err(EvmError::Rejected(m)) => return Ok(Err(contract_err("contract_rejected", m))),
    };
    Ok(Ok(QueryOutcome {
        failure: failure(&out),
        gas_used: out.gas_used,
        return_data: out.output.to_vec(),
    }))
}

/// The contract account at `address` and the size of its code, on `view`.
pub fn contract_info<V: crate::StateView>(
    view: &V,
    address: &ContractAddress,
) -> Result<Option<(ContractAccountState, usize)>, ExecError> {
    let st = Journal::new(view);
    let Some(acc) = account(&st, &address.0)? else {
        return Ok(None);
    };
    let size = st
        .get(&code_key(&B256::from(acc.code_hash.0)))?
        .map_or(0, |c| c.len());
    Ok(Some((acc, size)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use kexin_types::Decode;

    #[test]
    fn keys_are_the_documented_bytes() {
        let a = Address::from([7u8; 20]);
        let k = storage_key(&a, &U256::from(1));
        assert_eq!(k.namespace, 11);
        assert_eq!(&k.bytes[..20], &[7u8; 20]);
        assert_eq!(k.bytes[51], 1);
        assert_eq!(k.bytes.len(), 52);
        assert_eq!(account_key(&[7u8; 20]).namespace, 9);
        assert_eq!(code_key(&B256::ZERO).bytes.len(), 32);
        let _ = ContractAccountState::decode(
            &ContractAccountState {
                nonce: 0,
                code_hash: Hash::ZERO,
                frozen: false,
                created_at: 0,
                creator_org: String::new(),
            }
            .encode(),
        )
        .unwrap();
    }
}
