//! The evidence module: records (payload kind 1). Namespace 2 indexes every digest ever
//! recorded: how often, and where first and last ([`EvidenceState`]).

use kexin_crypto::Suite;
use kexin_types::state::{EvidenceState, RecordLocation, StateKey, namespace};
use kexin_types::{Event, Payload};

use super::{Checked, Module, TxCx};
use crate::journal::Journal;

/// The evidence module.
pub struct Evidence;

/// Cost units per record.
pub const RECORD_COST: u64 = 1;

impl Module for Evidence {
    fn name(&self) -> &'static str {
        "evidence"
    }

    fn namespaces(&self) -> &'static [u8] {
        &[namespace::EVIDENCE]
    }

    fn payload_kinds(&self) -> &'static [u8] {
        &[1]
    }

    fn apply(&self, cx: &TxCx<'_>, st: &mut Journal<'_>, events: &mut Vec<Event>) -> Checked {
        let Payload::Evidence { records } = cx.payload() else {
            return Ok(Ok(()));
        };
        let mut new = 0u64;
        // From protocol version 5 a new digest keeps its first recorder's organisation (for
        // the evidence precompile).
        let org = cx.org();
        let first_org = (cx.version >= kexin_types::protocol::V5 && !org.is_empty()).then_some(org);
        for (i, rec) in records.iter().enumerate() {
            let loc = RecordLocation {
                height: cx.block.height,
                tx_index: cx.index,
                record_index: i as u32,
            };
            let key = StateKey::Evidence(rec.digest);
            let next = match st.read::<EvidenceState>(key.clone())? {
                None => {
                    new += 1;
                    EvidenceState {
                        count: 1,
                        first: loc,
                        last: loc,
                        first_org: first_org.clone(),
                    }
                }
                Some(e) => EvidenceState {
                    count: e.count + 1,
                    last: loc,
                    ..e
                },
            };
            st.write(key, &next);
        }
        let mut event = Event::new("evidence", "records_attested")
            .with("count", records.len())
            .with("new_digests", new)
            .with("org", cx.org());
        if let kexin_types::PayloadCommitment::Evidence { records_root, .. } =
            &cx.tx.summary().payload
        {
            event = event.with("records_root", records_root);
        }
        events.push(event);
        Ok(Ok(()))
    }

    fn cost(&self, payload: &Payload) -> u64 {
        payload.records().len() as u64 * RECORD_COST
    }

    fn describe(&self, payload: &Payload, _suite: Suite) -> String {
        format!("evidence, {} record(s)", payload.records().len())
    }
}
