//! The nonce module: replay protection. A signer's transactions carry nonces 1, 2, 3, ...
//! without gaps, so a transaction can never be overtaken by its signer's later ones: a
//! proposer that holds nonce k+1 but not yet k waits for k instead of turning it into a
//! replay. Namespace 1 holds each signer's [`NonceState`].

use kexin_types::SealedTx;
use kexin_types::state::{NonceState, StateKey, namespace};

use super::{Checked, Module};
use crate::journal::Journal;
use crate::{ExecError, TxRejection};

/// The nonce module.
pub struct Nonce;

impl Module for Nonce {
    fn name(&self) -> &'static str {
        "nonce"
    }

    fn namespaces(&self) -> &'static [u8] {
        &[namespace::NONCE]
    }
}

/// The nonce a signer's next transaction must carry.
pub fn next_nonce(state: Option<&NonceState>) -> u64 {
    state.map_or(1, |s| s.last_nonce.saturating_add(1))
}

/// Whether `tx` carries exactly its signer's next nonce.
pub fn check(tx: &SealedTx, st: &Journal<'_>) -> Checked {
    let t = tx.tx();
    let state: Option<NonceState> = st.read(StateKey::Nonce(t.signer))?;
    let expected = next_nonce(state.as_ref());
    if t.nonce < expected {
        return Ok(Err(TxRejection::NonceReplayed {
            signer: t.signer.to_hex(),
            nonce: t.nonce,
            last: state.map_or(0, |s| s.last_nonce),
        }));
    }
    if t.nonce > expected {
        return Ok(Err(TxRejection::NonceGap {
            signer: t.signer.to_hex(),
            nonce: t.nonce,
            expected,
        }));
    }
    Ok(Ok(()))
}

/// Consumes `tx`'s nonce (checked with [`check`]).
pub fn consume(tx: &SealedTx, st: &mut Journal<'_>) -> Result<(), ExecError> {
    let t = tx.tx();
    let prev: Option<NonceState> = st.read(StateKey::Nonce(t.signer))?;
    st.write(
        StateKey::Nonce(t.signer),
        &NonceState {
            last_nonce: t.nonce,
            tx_count: prev.map_or(0, |s| s.tx_count) + 1,
        },
    );
    Ok(())
}
