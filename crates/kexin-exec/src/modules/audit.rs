//! The audit module: audit notes (payload kind 6), the one write an auditor may make. A note
//! changes no state beyond its signer's nonce: the role check is the rule, and the note stays
//! in the transaction log (the ledger indexes it by subject). It owns no namespace.

use kexin_crypto::Suite;
use kexin_types::{Event, Payload};

use super::{Checked, Module, TxCx};
use crate::journal::Journal;

/// The audit module.
pub struct Audit;

/// Cost units of a note per started 256 bytes of text.
pub const NOTE_COST_PER_256_BYTES: u64 = 1;

impl Module for Audit {
    fn name(&self) -> &'static str {
        "audit"
    }

    fn namespaces(&self) -> &'static [u8] {
        &[]
    }

    fn payload_kinds(&self) -> &'static [u8] {
        &[6]
    }

    fn apply(&self, cx: &TxCx<'_>, _st: &mut Journal<'_>, events: &mut Vec<Event>) -> Checked {
        if let Payload::AuditNote { subject, .. } = cx.payload() {
            events.push(
                Event::new("audit", "note_added")
                    .with("subject", subject)
                    .with("org", cx.org()),
            );
        }
        Ok(Ok(()))
    }

    fn cost(&self, payload: &Payload) -> u64 {
        match payload {
            Payload::AuditNote { text, .. } => {
                (text.len() as u64).div_ceil(256).max(1) * NOTE_COST_PER_256_BYTES
            }
            _ => 0,
        }
    }

    fn describe(&self, payload: &Payload, _suite: Suite) -> String {
        match payload {
            Payload::AuditNote { subject, text } => format!("audit note about {subject}: {text:?}"),
            other => other.kind_name().into(),
        }
    }
}
