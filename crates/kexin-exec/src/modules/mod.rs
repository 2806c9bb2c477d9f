//! The execution modules: each owns namespaces of the state, handles some payload kinds
//! (checks them at admission, applies them, describes them), emits events and reports the
//! cost of what it handles. The executor ([`crate::executor`]) dispatches to them.
//!
//! Adding a module: write it behind [`Module`], register it in [`MODULES`], give its payload
//! kinds a [`Payload`] variant and document its namespace, events and costs in
//! `docs/design.md` ("Execution modules").

use kexin_crypto::{Hash, Suite};
use kexin_types::{CertState, Event, Payload, SealedTx};

use crate::journal::Journal;
use crate::{BlockContext, ExecError, TxRejection};

pub mod audit;
pub mod contract;
pub mod epoch;
pub mod evidence;
pub mod governance;
pub mod identity;
pub mod nonce;

/// The outcome of a check or an application: `Err(ExecError)` when the block cannot execute
/// at all (a corrupt store), `Ok(Err(rejection))` when the transaction cannot take effect.
pub type Checked = Result<Result<(), TxRejection>, ExecError>;

/// Cost units every transaction pays: its signature check, nonce and log leaf.
pub const BASE_COST: u64 = 10;
/// Cost units of checking an X.509 certificate against its CA (a signature verification).
pub const CERT_CHECK_COST: u64 = 20;

/// What a module sees of the transaction it handles.
#[derive(Clone, Copy)]
pub struct TxCx<'a> {
    /// The block.
    pub block: BlockContext<'a>,
    /// The transaction.
    pub tx: &'a SealedTx,
    /// Its position in the block.
    pub index: u32,
    /// The certificate it acts under, with its registry entry (`None` on an open chain).
    pub actor: Option<&'a (Hash, CertState)>,
    /// The block's protocol version.
    pub version: u8,
}

impl TxCx<'_> {
    /// The payload.
    pub fn payload(&self) -> &Payload {
        &self.tx.tx().payload
    }

    /// The signer's organisation (empty on an open chain).
    pub fn org(&self) -> String {
        self.actor.map(|(_, s)| s.org.clone()).unwrap_or_default()
    }
}

/// An execution module. Module code is deterministic and does no I/O: it reads and writes
/// the state only through the [`Journal`].
pub trait Module: Sync {
    /// Its name, as events and documents show it.
    fn name(&self) -> &'static str;

    /// The state namespaces it owns (kind bytes, see `kexin_types::state::namespace`).
    fn namespaces(&self) -> &'static [u8];

    /// The payload kinds it handles (none for modules that act on every transaction).
    fn payload_kinds(&self) -> &'static [u8] {
        &[]
    }

    /// Checks a payload of its kinds against the state, writing nothing: at admission, when
    /// building a block and before [`Module::apply`].
    fn check(&self, cx: &TxCx<'_>, st: &Journal<'_>) -> Checked {
        let _ = (cx, st);
        Ok(Ok(()))
    }

    /// Applies a checked payload, emitting events. A rejection here is undone like a failed
    /// check.
    fn apply(&self, cx: &TxCx<'_>, st: &mut Journal<'_>, events: &mut Vec<Event>) -> Checked {
        let _ = (cx, st, events);
        Ok(Ok(()))
    }

    /// [`Module::apply`], also reporting what a contract transaction did on the EVM (the
    /// contract module fills `run`, on failure too); other modules leave it empty.
    fn apply_reporting(
        &self,
        cx: &TxCx<'_>,
        st: &mut Journal<'_>,
        events: &mut Vec<Event>,
        run: &mut Option<contract::ContractRun>,
    ) -> Checked {
        let _ = run;
        self.apply(cx, st, events)
    }

    /// At the end of every block, after its transactions.
    fn end_block(&self, block: &BlockContext<'_>, st: &mut Journal<'_>) -> Result<(), ExecError> {
        let _ = (block, st);
        Ok(())
    }

    /// The cost units of a payload of its kinds, beyond [`BASE_COST`]: a function of the
    /// payload alone, so a block's work is known before it executes.
    fn cost(&self, payload: &Payload) -> u64 {
        let _ = payload;
        0
    }

    /// One line saying what a payload of its kinds does.
    fn describe(&self, payload: &Payload, suite: Suite) -> String {
        let _ = suite;
        payload.kind_name().replace('_', " ")
    }
}

/// Every module, in the order their end-of-block hooks run.
pub static MODULES: &[&dyn Module] = &[
    &nonce::Nonce,
    &identity::Identity,
    &evidence::Evidence,
    &audit::Audit,
    &governance::Governance,
    &epoch::Epochs,
    &contract::Contracts,
];

/// The module that handles `payload`.
pub fn module_for(payload: &Payload) -> &'static dyn Module {
    let kind = payload.kind();
    MODULES
        .iter()
        .copied()
        .find(|m| m.payload_kinds().contains(&kind))
        // Every payload kind has a module (tested below); evidence is a harmless default.
        .unwrap_or(&evidence::Evidence)
}

/// The cost units of a transaction: [`BASE_COST`], its payload's cost, and a certificate
/// check when it attaches a certificate.
pub fn tx_cost(tx: &SealedTx) -> u64 {
    let t = tx.tx();
    let cert = if t.attached_cert.is_some() {
        CERT_CHECK_COST
    } else {
        0
    };
    BASE_COST
        .saturating_add(module_for(&t.payload).cost(&t.payload))
        .saturating_add(cert)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_payload_kind_has_exactly_one_module_and_namespaces_are_disjoint() {
        for kind in 1..=8u8 {
            let owners: Vec<&str> = MODULES
                .iter()
                .filter(|m| m.payload_kinds().contains(&kind))
                .map(|m| m.name())
                .collect();
            assert_eq!(owners.len(), 1, "payload kind {kind}: {owners:?}");
        }
        let mut seen = std::collections::BTreeSet::new();
        for m in MODULES {
            for ns in m.namespaces() {
                assert!(seen.insert(*ns), "namespace {ns} has two owners");
            }
        }
    }
}
