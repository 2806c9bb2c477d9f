//! The protocol version of a block, from the genesis and the upgrade schedule in the state.

use kexin_types::protocol::{self, ProtocolSchedule};
use kexin_types::state::{Key, namespace};
use kexin_types::{Decode, Genesis};

use crate::executor::Mode;
use crate::{ExecError, StateView};

/// The key of the upgrade schedule.
pub fn schedule_key() -> Key {
    Key::new(namespace::PROTOCOL, Vec::new())
}

/// The upgrade schedule in `view` (empty when none was voted).
pub fn schedule<V: StateView + ?Sized>(view: &V) -> Result<ProtocolSchedule, ExecError> {
    let key = schedule_key();
    match view.get(&key)? {
        None => Ok(ProtocolSchedule::default()),
        Some(bytes) => ProtocolSchedule::decode(&bytes)
            .map_err(|source| ExecError::CorruptState { key, source }),
    }
}

/// The protocol version of the block at `height` on top of `view` (its parent's state).
pub fn version_at<V: StateView + ?Sized>(
    view: &V,
    genesis: &Genesis,
    height: u64,
) -> Result<u8, ExecError> {
    Ok(schedule(view)?.version_at(genesis.version, height))
}

pub(crate) fn mode(version: u8) -> Result<Mode, ExecError> {
    match version {
        protocol::V3 => Ok(Mode::V3),
        protocol::V4 => Ok(Mode::V4),
        protocol::V5 => Ok(Mode::V5),
        v => Err(ExecError::UnsupportedProtocol {
            version: v,
            supported: protocol::CURRENT,
        }),
    }
}
