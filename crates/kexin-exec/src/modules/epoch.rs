//! The epoch module: the validator set of each consensus epoch. Governance changes the
//! consortium's validators (one change per epoch, so that the validators that continue always
//! make a quorum of the new set); at the last block of an epoch this module writes the next
//! epoch's set to namespace 7 ([`EpochSet`]), which the header's `next_validators` commits
//! to.

use kexin_types::gov::EpochSet;
use kexin_types::state::{StateKey, namespace};
use kexin_types::{ConsortiumState, Decode, Genesis, Validator};

use super::Module;
use super::identity::consortium;
use crate::journal::{Journal, StateView};
use crate::{BlockContext, ExecError, TxRejection};

/// The epoch module.
pub struct Epochs;

impl Module for Epochs {
    fn name(&self) -> &'static str {
        "epoch"
    }

    fn namespaces(&self) -> &'static [u8] {
        &[namespace::EPOCH]
    }

    fn end_block(&self, block: &BlockContext<'_>, st: &mut Journal<'_>) -> Result<(), ExecError> {
        let genesis = block.genesis;
        let epoch = genesis.epoch_of(block.height);
        if block.height != genesis.epoch_last(epoch) {
            return Ok(());
        }
        let set = EpochSet {
            epoch: epoch + 1,
            validators: consortium(block, st)?.validators,
        };
        st.write(StateKey::Epoch(set.epoch), &set);
        Ok(())
    }
}

/// The validators of consensus epoch `epoch`: genesis's for epoch 0, else the set stored at
/// the end of the epoch before (`None` before that block executed).
pub fn epoch_validators<V: StateView + ?Sized>(
    view: &V,
    genesis: &Genesis,
    epoch: u64,
) -> Result<Option<Vec<Validator>>, ExecError> {
    if epoch == 0 {
        return Ok(Some(genesis.validators.clone()));
    }
    let key = StateKey::Epoch(epoch).to_key();
    match view.get(&key)? {
        None => Ok(None),
        Some(bytes) => EpochSet::decode(&bytes)
            .map(|s| Some(s.validators))
            .map_err(|source| ExecError::CorruptState { key, source }),
    }
}

/// Whether governance changed the validators and the change waits for the next epoch, seen
/// from the state `view` at block `height`.
pub fn change_pending<V: StateView + ?Sized>(
    view: &V,
    genesis: &Genesis,
    height: u64,
) -> Result<bool, ExecError> {
    let key = StateKey::Consortium.to_key();
    let Some(bytes) = view.get(&key)? else {
        return Ok(false);
    };
    let consortium = ConsortiumState::decode(&bytes)
        .map_err(|source| ExecError::CorruptState { key, source })?;
    let current = epoch_validators(view, genesis, genesis.epoch_of(height))?.unwrap_or_default();
    Ok(kexin_types::consensus_order(&current)
        != kexin_types::consensus_order(&consortium.validators))
}

/// Refuses a validator change while another one waits for the next epoch.
pub fn no_pending_change(
    block: &BlockContext<'_>,
    st: &Journal<'_>,
    consortium: &ConsortiumState,
) -> Result<Result<(), TxRejection>, ExecError> {
    let genesis = block.genesis;
    let epoch = genesis.epoch_of(block.height);
    let current = epoch_validators(st, genesis, epoch)?
        .ok_or_else(|| ExecError::Read(format!("no validator set is stored for epoch {epoch}")))?;
    if kexin_types::consensus_order(&current)
        != kexin_types::consensus_order(&consortium.validators)
    {
        return Ok(Err(TxRejection::ValidatorChangePending {
            epoch: epoch + 1,
            height: genesis.epoch_last(epoch) + 1,
        }));
    }
    Ok(Ok(()))
}
