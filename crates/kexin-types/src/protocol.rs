//! Protocol versions: which rules and formats a chain's blocks follow, and the upgrades its
//! organisations voted.
//!
//! A chain starts at its genesis's version (3 for chains started before version 4 existed).
//! A `protocol-upgrade` proposal that passes schedules a new version from a height on: blocks
//! from that height follow it. The schedule lives in the state (namespace 8, key empty), so
//! every node derives the version of every height from the chain itself.

use serde::{Deserialize, Serialize};

use crate::codec::{Decode, DecodeError, Encode, Reader, Writer};

/// Protocol version 3: blocks without outcomes; a transaction that cannot take effect
/// invalidates its block.
pub const V3: u8 = 3;
/// Protocol version 4: execution modules, transaction outcomes and events, headers with an
/// outcomes root.
pub const V4: u8 = 4;
/// Protocol version 5: contracts (payload kinds 7 `contract_deploy` and 8 `contract_call`,
/// in transactions of version 5), and outcomes that carry the gas a transaction used, its
/// return data and its logs.
pub const V5: u8 = 5;
/// The newest protocol version this build runs (it runs every version from [`V3`] on).
pub const CURRENT: u8 = V5;
/// Most upgrades a schedule keeps.
pub const MAX_UPGRADES: u32 = 64;

/// `3`, the serde default of the version of formats that had none in JSON.
pub fn v3() -> u8 {
    V3
}

/// Whether `version` is 3 (JSON omits a version 3).
pub fn is_v3(version: &u8) -> bool {
    *version == V3
}

/// Whether this build runs protocol `version`.
pub fn supported(version: u8) -> bool {
    (V3..=CURRENT).contains(&version)
}

/// An upgrade voted by the organisations: from `height` on, blocks follow `version`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Upgrade {
    /// The protocol version.
    pub version: u8,
    /// The first height that follows it.
    pub height: u64,
    /// The height of the block in which the proposal passed.
    pub voted_at: u64,
}

/// Value of the protocol key (namespace 8): the upgrades, in ascending height and version.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProtocolSchedule {
    /// The upgrades voted so far.
    pub upgrades: Vec<Upgrade>,
}

impl ProtocolSchedule {
    /// The version of blocks at `height` on a chain whose genesis has `genesis_version`.
    pub fn version_at(&self, genesis_version: u8, height: u64) -> u8 {
        self.upgrades
            .iter()
            .rev()
            .find(|u| u.height <= height)
            .map_or(genesis_version, |u| u.version)
    }

    /// The last version scheduled (in force or not yet), or `genesis_version`.
    pub fn latest(&self, genesis_version: u8) -> u8 {
        self.upgrades.last().map_or(genesis_version, |u| u.version)
    }

    /// The next upgrade after `height`, if one is scheduled.
    pub fn next_after(&self, height: u64) -> Option<Upgrade> {
        self.upgrades.iter().find(|u| u.height > height).copied()
    }
}

/// Binary form: `u8 n || n × (u8 version || u64 height || u64 voted_at)`.
impl Encode for ProtocolSchedule {
    fn encode_to(&self, out: &mut Vec<u8>) {
        out.put_u8(self.upgrades.len() as u8);
        for u in &self.upgrades {
            out.put_u8(u.version);
            out.put_u64(u.height);
            out.put_u64(u.voted_at);
        }
    }
}

impl Decode for ProtocolSchedule {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let n = r.u8("upgrade count")? as u32;
        if n > MAX_UPGRADES {
            return Err(DecodeError::TooLarge {
                field: "upgrade count",
                limit: MAX_UPGRADES as u64,
                actual: n as u64,
            });
        }
        let mut upgrades: Vec<Upgrade> = Vec::with_capacity(n as usize);
        for _ in 0..n {
            let u = Upgrade {
                version: r.u8("upgrade version")?,
                height: r.u64("upgrade height")?,
                voted_at: r.u64("upgrade voted_at")?,
            };
            if let Some(last) = upgrades.last()
                && (u.version <= last.version || u.height <= last.height)
            {
                return Err(DecodeError::invalid(
                    "upgrades",
                    "must ascend in version and height",
                ));
            }
            upgrades.push(u);
        }
        Ok(ProtocolSchedule { upgrades })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_version_of_a_height_follows_the_schedule() {
        let s = ProtocolSchedule {
            upgrades: vec![Upgrade {
                version: 4,
                height: 10,
                voted_at: 3,
            }],
        };
        assert_eq!(s.version_at(3, 9), 3);
        assert_eq!(s.version_at(3, 10), 4);
        assert_eq!(s.latest(3), 4);
        assert_eq!(s.next_after(9).map(|u| u.height), Some(10));
        assert_eq!(s.next_after(10), None);
        assert_eq!(ProtocolSchedule::decode(&s.encode()).unwrap(), s);
        assert_eq!(ProtocolSchedule::default().version_at(4, 1), 4);
        let mut bad = s.clone();
        bad.upgrades.push(bad.upgrades[0]);
        assert!(ProtocolSchedule::decode(&bad.encode()).is_err());
    }
}
