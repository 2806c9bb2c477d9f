//! One contract creation or call on `revm`: [`execute`] and [`query`].

use revm::context::Evm;
use revm::context::result::{EVMError, ExecutionResult, Output};
use revm::context::{BlockEnv, CfgEnv, Context, TxEnv};
use revm::context_interface::ContextTr;
use revm::database_interface::{DBErrorMarker, Database};
use revm::handler::instructions::EthInstructions;
use revm::primitives::hardfork::SpecId;
use revm::primitives::{Address, B256, Bytes, KECCAK_EMPTY, Log, TxKind, U256};
use revm::state::{AccountInfo, Bytecode, EvmState};
use revm::{ExecuteEvm, MainContext};

use crate::precompiles::KexinPrecompiles;

use crate::revert::RevertReason;
use crate::view::{ContractAccount, ContractView, EvidenceInfo, IdentityInfo, StateChanges};

/// The EVM revision Kexin runs (Prague): compile with `evmVersion` `prague` or earlier.
pub const SPEC: SpecId = SpecId::PRAGUE;

/// The chain's contract parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EvmConfig {
    /// `block.chainid` ([`crate::evm_chain_id`] of the Kexin chain id).
    pub chain_id: u64,
    /// The largest deployed code, in bytes (Ethereum's is 24 KiB).
    pub max_code_size: usize,
    /// The largest init code, in bytes (Ethereum's is 48 KiB).
    pub max_initcode_size: usize,
}

/// The block a call executes in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BlockInfo {
    /// `block.number`: the block's height.
    pub height: u64,
    /// The block's timestamp in milliseconds; `block.timestamp` is it in whole seconds.
    pub timestamp_ms: u64,
    /// `block.gaslimit`: no call may have a larger gas limit.
    pub gas_limit: u64,
}

/// What a transaction asks the engine to run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Call {
    /// Deploy a contract: run `init_code`, keep what it returns as the contract's code.
    Create {
        /// The init code (creation bytecode with its ABI-encoded constructor arguments).
        init_code: Bytes,
    },
    /// Call the contract at `to` with ABI calldata.
    Call {
        /// The contract.
        to: Address,
        /// The calldata (selector and arguments).
        data: Bytes,
    },
}

/// How a call ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EvmStatus {
    /// It returned (or stopped) normally; its changes stand.
    Success,
    /// It reverted (`revert`, `require`, a failed `assert`, a custom error): nothing changes.
    Revert(RevertReason),
    /// It halted: out of gas, an invalid opcode, a stack overflow, ...: nothing changes and all
    /// its gas is used. The reason names the halt.
    Halt(String),
}

/// What one call did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EvmOutcome {
    /// How it ended.
    pub status: EvmStatus,
    /// The gas it used (after refunds).
    pub gas_used: u64,
    /// Its return data (a call's return value, a revert's data; a creation's deployed code).
    pub output: Bytes,
    /// The address of the contract a successful creation deployed.
    pub created: Option<Address>,
    /// The logs (events) it emitted, in order; none unless it succeeded.
    pub logs: Vec<Log>,
    /// The state it changed; empty unless it succeeded.
    pub changes: StateChanges,
}

impl EvmOutcome {
    /// Whether the call succeeded.
    pub fn is_success(&self) -> bool {
        self.status == EvmStatus::Success
    }

    /// One line saying how it ended, for outcomes and error messages.
    pub fn status_message(&self) -> String {
        match &self.status {
            EvmStatus::Success => "success".into(),
            EvmStatus::Revert(reason) => reason.to_string(),
            EvmStatus::Halt(reason) => format!("halted: {reason}"),
        }
    }
}

/// Why a call could not run at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EvmError<E> {
    /// The state could not be read: execution stops (the block cannot execute).
    #[error("contract state: {0}")]
    View(#[source] E),
    /// The transaction cannot execute: a gas limit below its intrinsic gas or above the
    /// block's, init code over the size limit, a caller that is a contract, ...
    #[error("{0}")]
    Rejected(String),
}

/// The view's error inside `revm`.
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
struct ViewError<E>(E);

impl<E: std::error::Error + Send + Sync + 'static> DBErrorMarker for ViewError<E> {}

/// `revm`'s database over a [`ContractView`]: balances are zero, code is loaded by hash. The
/// Kexin precompiles' lookups go through it too ([`Lookups`]); a view failure there is kept in
/// `failure` (a precompile can only report a string) and returned after the call.
struct Db<'a, V: ContractView + ?Sized> {
    view: &'a V,
    failure: Option<V::Error>,
}

/// A lookup failed because the state could not be read (the error is kept by the database).
#[derive(Debug)]
pub(crate) struct Unreadable;

/// What the Kexin precompiles read from the state.
pub(crate) trait Lookups {
    /// [`ContractView::identity`].
    fn identity(&mut self, address: &Address) -> Result<Option<IdentityInfo>, Unreadable>;
    /// [`ContractView::evidence`].
    fn evidence(&mut self, digest: &B256) -> Result<Option<EvidenceInfo>, Unreadable>;
}

impl<V: ContractView + ?Sized> Lookups for Db<'_, V> {
    fn identity(&mut self, address: &Address) -> Result<Option<IdentityInfo>, Unreadable> {
        self.view.identity(address).map_err(|e| {
            self.failure = Some(e);
            Unreadable
        })
    }

    fn evidence(&mut self, digest: &B256) -> Result<Option<EvidenceInfo>, Unreadable> {
        self.view.evidence(digest).map_err(|e| {
            self.failure = Some(e);
            Unreadable
        })
    }
}

impl<V: ContractView + ?Sized> Database for Db<'_, V> {
    type Error = ViewError<V::Error>;

    fn basic(&mut self, address: Address) -> Result<Option<AccountInfo>, Self::Error> {
        Ok(self
            .view
            .account(&address)
            .map_err(ViewError)?
            .map(|a| AccountInfo {
                balance: U256::ZERO,
                nonce: a.nonce,
                code_hash: a.code_hash,
                account_id: None,
                // Loaded by hash on first use (`code_by_hash`).
                code: None,
            }))
    }

    fn code_by_hash(&mut self, code_hash: B256) -> Result<Bytecode, Self::Error> {
        if code_hash == KECCAK_EMPTY || code_hash == B256::ZERO {
            return Ok(Bytecode::default());
        }
        // An account whose code is missing would run as empty code: a store that lost code
        // is corrupt, and the view says so through its error; absent here means no code.
        Ok(self
            .view
            .code(&code_hash)
            .map_err(ViewError)?
            .map(Bytecode::new_raw)
            .unwrap_or_default())
    }

    fn storage(&mut self, address: Address, index: U256) -> Result<U256, Self::Error> {
        self.view.storage(&address, &index).map_err(ViewError)
    }

    fn block_hash(&mut self, number: u64) -> Result<B256, Self::Error> {
        Ok(self
            .view
            .block_hash(number)
            .map_err(ViewError)?
            .unwrap_or_default())
    }
}

/// Runs `call` for `caller` with `gas_limit` on `view`, in `block`: the outcome, with the
/// changes a success makes (not applied: the caller writes them).
///
/// Deterministic: the same view, configuration, block and call give the same outcome on
/// every node. The caller's EVM nonce is its account's; a successful creation increments it,
/// a call does not (it counts the contracts the account created, and decides the address of
/// the next `CREATE`).
pub fn execute<V: ContractView + ?Sized>(
    view: &V,
    config: &EvmConfig,
    block: &BlockInfo,
    caller: Address,
    call: &Call,
    gas_limit: u64,
) -> Result<EvmOutcome, EvmError<V::Error>> {
    let before = view.account(&caller).map_err(EvmError::View)?;
    let nonce = before.map_or(0, |a| a.nonce);
    let (kind, data) = match call {
        Call::Create { init_code } => (TxKind::Create, init_code.clone()),
        Call::Call { to, data } => (TxKind::Call(*to), data.clone()),
    };
    let tx = TxEnv {
        caller,
        gas_limit,
        gas_price: 0,
        kind,
        value: U256::ZERO,
        data,
        nonce,
        chain_id: Some(config.chain_id),
        ..TxEnv::default()
    };
    let mut cfg = CfgEnv::new_with_spec(SPEC);
    cfg.chain_id = config.chain_id;
    cfg.limit_contract_code_size = Some(config.max_code_size);
    cfg.limit_contract_initcode_size = Some(config.max_initcode_size);
    cfg.tx_gas_limit_cap = Some(block.gas_limit);
    let block_env = BlockEnv {
        number: U256::from(block.height),
        timestamp: U256::from(block.timestamp_ms / 1000),
        gas_limit: block.gas_limit,
        basefee: 0,
        prevrandao: Some(B256::ZERO),
        ..BlockEnv::default()
    };
    let ctx = Context::mainnet()
        .with_db(Db {
            view,
            failure: None,
        })
        .with_cfg(cfg)
        .with_block(block_env);
    let mut evm = Evm::new(
        ctx,
        EthInstructions::new_mainnet_with_spec(SPEC),
        KexinPrecompiles::new(SPEC),
    );
    let done = evm.transact(tx);
    // A precompile's lookup that could not read the state aborts the call like any read.
    if let Some(e) = evm.ctx.db_mut().failure.take() {
        return Err(EvmError::View(e));
    }
    let done = done.map_err(|e| match e {
        EVMError::Database(ViewError(e)) => EvmError::View(e),
        EVMError::Transaction(t) => EvmError::Rejected(t.to_string()),
        other => EvmError::Rejected(other.to_string()),
    })?;
    let mut out = outcome(done.result, &done.state);
    // A signer's EVM nonce counts the contracts it created: a call does not bump it (Ethereum
    // bumps it for every transaction; Kexin's own nonce orders transactions). This saves a
    // state write per call.
    if matches!(call, Call::Call { .. })
        && let Some(after) = out.changes.accounts.get(&caller)
        && after.nonce == nonce + 1
        && after.code_hash == before.map_or(KECCAK_EMPTY, |a| a.code_hash)
    {
        out.changes.accounts.remove(&caller);
    }
    Ok(out)
}

/// Runs `call` read-only: [`execute`] with the changes discarded (a `query`: no
/// transaction, nothing stored).
pub fn query<V: ContractView + ?Sized>(
    view: &V,
    config: &EvmConfig,
    block: &BlockInfo,
    caller: Address,
    call: &Call,
    gas_limit: u64,
) -> Result<EvmOutcome, EvmError<V::Error>> {
    let mut out = execute(view, config, block, caller, call, gas_limit)?;
    out.changes = StateChanges::default();
    Ok(out)
}

fn outcome(result: ExecutionResult, state: &EvmState) -> EvmOutcome {
    match result {
        ExecutionResult::Success {
            gas, logs, output, ..
        } => {
            let (output, created) = match output {
                Output::Call(b) => (b, None),
                Output::Create(b, a) => (b, a),
            };
            EvmOutcome {
                status: EvmStatus::Success,
                gas_used: gas.tx_gas_used(),
                output,
                created,
                logs,
                changes: changes(state),
            }
        }
        ExecutionResult::Revert { gas, output, .. } => EvmOutcome {
            status: EvmStatus::Revert(RevertReason::decode(&output)),
            gas_used: gas.tx_gas_used(),
            output,
            created: None,
            logs: Vec::new(),
            changes: StateChanges::default(),
        },
        ExecutionResult::Halt { reason, gas, .. } => EvmOutcome {
            status: EvmStatus::Halt(format!("{reason:?}")),
            gas_used: gas.tx_gas_used(),
            output: Bytes::new(),
            created: None,
            logs: Vec::new(),
            changes: StateChanges::default(),
        },
    }
}

/// The changes in `state` (revm's touched accounts), sorted.
fn changes(state: &EvmState) -> StateChanges {
    let mut out = StateChanges::default();
    for (address, account) in state {
        if !account.is_touched() {
            continue;
        }
        if account.is_selfdestructed() {
            out.destroyed.insert(*address);
            continue;
        }
        let info = &account.info;
        let now = ContractAccount {
            nonce: info.nonce,
            code_hash: info.code_hash,
        };
        let before = account.original_info();
        let changed = account.is_created()
            || before.nonce != info.nonce
            || before.code_hash != info.code_hash;
        // Empty accounts (a touched precompile, a call to nowhere) are not stored.
        if changed && (now.nonce != 0 || now.has_code()) {
            out.accounts.insert(*address, now);
            if account.is_created()
                && now.has_code()
                && let Some(code) = &info.code
            {
                out.code.insert(info.code_hash, code.original_bytes());
            }
        }
        for (slot, value) in &account.storage {
            if value.is_changed() {
                out.storage.insert((*address, *slot), value.present_value);
            }
        }
    }
    out
}
