//! Deterministic execution of Kexin blocks: runs transactions through the execution modules on
//! a journal above a state view and returns the state writes and each transaction's outcome,
//! without touching storage.
//!
//! Execution is a pure function of (state view, genesis, height, block timestamp,
//! transactions): no clocks, no randomness, no hash-map iteration, so every validator computes
//! the same state root. Signatures are checked before execution (mempool admission, block
//! verification); here a transaction can still fail on the state. Each kind of transaction is
//! handled by a module ([`modules`]): nonce, identity, evidence, audit, governance, epoch.
//! Each owns namespaces of the state, checks at admission, applies, emits events and reports
//! its cost. How failures count depends on the block's protocol version (see [`executor`]).
//!
//! ```
//! use kexin_crypto::{SigningKey, Suite};
//! use kexin_exec::{MemoryState, execute_block};
//! use kexin_types::{EvidenceRecord, Payload, RecordMetadata, Salt, SealedTx, Transaction};
//! let key = SigningKey::generate(Suite::Intl);
//! let rec = EvidenceRecord { digest: Suite::Intl.hash(b"x"), metadata: RecordMetadata { salt: Salt([7; 16]), content_type: "text/plain".into(), label: "x".into(), external_ref: None } };
//! let tx = SealedTx::new(Transaction::sign("demo", &key, 1, Payload::Evidence { records: vec![rec] }));
//! # let genesis = kexin_types::Genesis { version: kexin_types::FORMAT_VERSION, chain_id: "demo".into(), suite: Suite::Intl, timestamp_ms: 0, organisations: vec![], validators: vec![kexin_types::Validator { name: "v".into(), org: String::new(), public_key: key.public_key(), address: String::new() }], epoch_length: 100 };
//! let ctx = kexin_exec::BlockContext { genesis: &genesis, height: 1, timestamp_ms: 1 };
//! let executed = execute_block(&MemoryState::default(), &ctx, &[tx]).unwrap();
//! assert_eq!(executed.writes.len(), 2); // the signer's nonce and the digest's evidence entry
//! assert!(executed.outcomes[0].is_success());
//! ```

use std::collections::BTreeMap;

use kexin_crypto::Hash;
use kexin_types::state::Key;
use kexin_types::{CertDer, CertState, Genesis, Outcome, SealedTx, Suite};

mod error;
pub mod executor;
pub mod journal;
pub mod modules;
pub mod protocol;

pub use error::{ExecError, TxRejection};
use executor::{Executor, Step};
pub use journal::{Journal, MemoryState, StateView};
pub use modules::contract;
pub use modules::epoch::{change_pending as validator_change_pending, epoch_validators};
pub use modules::identity::permission_for;
pub use modules::nonce::next_nonce;
pub use modules::tx_cost;

/// Where a block executes: the chain's genesis, the block's height and its timestamp (the
/// time certificates are checked at).
#[derive(Clone, Copy, Debug)]
pub struct BlockContext<'g> {
    /// The chain's genesis (organisations as they were at the start).
    pub genesis: &'g Genesis,
    /// The block's height.
    pub height: u64,
    /// The block's timestamp, ms since the Unix epoch.
    pub timestamp_ms: u64,
}

/// What executing a block produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Executed {
    /// The state writes.
    pub writes: BTreeMap<Key, Vec<u8>>,
    /// Each transaction's outcome, in block order.
    pub outcomes: Vec<Outcome>,
    /// The block's protocol version.
    pub version: u8,
}

fn executor<'v, 'g, V: StateView>(
    view: &'v V,
    ctx: &BlockContext<'g>,
) -> Result<(Executor<'v, 'g>, u8), ExecError> {
    let version = protocol::version_at(view, ctx.genesis, ctx.height)?;
    let ex = Executor::new(*ctx, Journal::new(view), protocol::mode(version)?);
    Ok((ex, version))
}

/// Executes a block's transactions (already signature-checked) on top of `view`, as a
/// follower does. A transaction that cannot be in the block (a wrong nonce; in protocol
/// version 3, any refusal) makes the whole block invalid
/// ([`ExecError::InvalidTransaction`]).
pub fn execute_block<V: StateView>(
    view: &V,
    ctx: &BlockContext<'_>,
    txs: &[SealedTx],
) -> Result<Executed, ExecError> {
    let (mut ex, version) = executor(view, ctx)?;
    let mut outcomes = Vec::with_capacity(txs.len());
    for (index, tx) in txs.iter().enumerate() {
        match ex.step(tx)? {
            Step::Included(o) => outcomes.push(o),
            Step::Refused(reason) => {
                return Err(ExecError::InvalidTransaction {
                    index,
                    hash: tx.hash(),
                    reason: Box::new(reason),
                });
            }
        }
    }
    Ok(Executed {
        writes: ex.finish()?,
        outcomes,
        version,
    })
}

/// Checks a transaction for admission to the mempool against the committed state: that it is
/// in the chain's current format version, that its signer may act (certificate and
/// permission) and that its payload applies now. The nonce is not checked here (the mempool
/// orders nonces).
pub fn check_admission<V: StateView>(
    view: &V,
    ctx: &BlockContext<'_>,
    tx: &SealedTx,
) -> Result<Result<(), TxRejection>, ExecError> {
    let (ex, version) = executor(view, ctx)?;
    if tx.tx().version != version {
        return Ok(Err(TxRejection::UnsupportedVersion {
            tx: tx.tx().version,
            chain: version,
        }));
    }
    Ok(ex.admissible(tx)?.map(|_| ()))
}

/// Checks a certificate as a transaction attaching it would be checked at `ctx`: chained to a
/// member's CA, valid at the block's time and not revoked. Returns the registry entry (the
/// registered one when the chain knows it).
pub fn check_certificate<V: StateView>(
    view: &V,
    ctx: &BlockContext<'_>,
    der: &CertDer,
) -> Result<Result<CertState, TxRejection>, ExecError> {
    if !ctx.genesis.is_permissioned() {
        return Ok(Err(TxRejection::NoOrganisations(
            "there are no organisations whose certificates could be checked",
        )));
    }
    let st = Journal::new(view);
    let state = match modules::identity::check_new_cert(ctx, &st, der)? {
        Ok(state) => state,
        Err(r) => return Ok(Err(r)),
    };
    let id = der.id(ctx.genesis.suite);
    match st.read::<CertState>(kexin_types::state::StateKey::Cert(id))? {
        Some(CertState {
            revoked: Some(revocation),
            ..
        }) => Ok(Err(TxRejection::CertRevoked { id, revocation })),
        Some(registered) => Ok(Ok(registered)),
        None => Ok(Ok(state)),
    }
}

/// A block built from candidate transactions.
#[derive(Debug)]
pub struct BuiltBlock {
    /// The transactions in the block, in order.
    pub included: Vec<SealedTx>,
    /// Their outcomes.
    pub outcomes: Vec<Outcome>,
    /// Candidates that can never be included, with why.
    pub rejected: Vec<(Hash, TxRejection)>,
    /// Candidates whose signer has an earlier nonce missing: they wait.
    pub deferred: Vec<Hash>,
    /// The state writes of the included transactions.
    pub writes: BTreeMap<Key, Vec<u8>>,
    /// The block's protocol version.
    pub version: u8,
}

/// Builds a block from candidates in order, as a proposer does: each candidate that can be in
/// the block is applied (in protocol version 4, possibly as a `failed` outcome); a candidate
/// with a nonce gap is deferred; one that can never be included is rejected.
pub fn build_block<V: StateView>(
    view: &V,
    ctx: &BlockContext<'_>,
    candidates: Vec<SealedTx>,
) -> Result<BuiltBlock, ExecError> {
    let (mut ex, version) = executor(view, ctx)?;
    let mut included = Vec::with_capacity(candidates.len());
    let mut outcomes = Vec::with_capacity(candidates.len());
    let mut rejected = Vec::new();
    let mut deferred = Vec::new();
    for tx in candidates {
        match ex.step(&tx)? {
            Step::Included(o) => {
                outcomes.push(o);
                included.push(tx);
            }
            // A transaction waiting for an earlier nonce whose signer can no longer act (its
            // certificate revoked or expired meanwhile) would only ever fail: it is rejected,
            // as protocol version 3 rejects it, instead of waiting for a nonce that its signer
            // can no longer fill.
            Step::Refused(TxRejection::NonceGap { .. }) => match ex.authorized(&tx)? {
                Ok(()) => deferred.push(tx.hash()),
                Err(reason) => rejected.push((tx.hash(), reason)),
            },
            // The block's contract gas is spent: the transaction waits for the next block.
            Step::Refused(TxRejection::BlockGasFull { .. }) => deferred.push(tx.hash()),
            Step::Refused(reason) => rejected.push((tx.hash(), reason)),
        }
    }
    Ok(BuiltBlock {
        included,
        outcomes,
        rejected,
        deferred,
        writes: ex.finish()?,
        version,
    })
}

/// One line saying what a payload does, from the module that handles it.
pub fn describe(payload: &kexin_types::Payload, suite: Suite) -> String {
    modules::module_for(payload).describe(payload, suite)
}

#[cfg(test)]
mod tests;
