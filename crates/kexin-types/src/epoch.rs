//! Validator sets of consensus epochs, as an offline verifier learns them: a chain of
//! [`EpochLink`]s from genesis, each certified by the validators of the epoch before.
//!
//! The last block of epoch `k − 1` (height `k × epoch_length − 1`) commits in its header to
//! the validators of epoch `k` ([`BlockHeader::next_validators`]). Its certificate is signed
//! by epoch `k − 1`'s validators, so knowing epoch 0's set (the genesis) and the links of
//! epochs `1 ..= e` in order, a verifier knows epoch `e`'s set without trusting any node.
//! Every epoch needs its link, also when its set did not change: otherwise validators
//! removed long ago could certify a made-up later epoch.

use std::collections::BTreeMap;

use kexin_crypto::{Hash, PublicKey};
use serde::{Deserialize, Serialize};

use crate::block::{BlockHeader, CertificateError, CommitCertificate};

use crate::codec::{Decode, DecodeError, Encode, Reader};
use crate::genesis::{Genesis, ValidatorSets, consensus_order};
use crate::gov::EpochSet;

/// Proof of one epoch's validator set: the set, the header of the epoch before's last block
/// that commits to it, and that block's certificate.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EpochLink {
    /// The epoch's validators.
    pub set: EpochSet,
    /// The header of block `set.epoch × epoch_length − 1`.
    pub header: BlockHeader,
    /// Its commit certificate (by the previous epoch's validators).
    pub certificate: CommitCertificate,
}

impl Encode for EpochLink {
    fn encode_to(&self, out: &mut Vec<u8>) {
        self.set.encode_to(out);
        self.header.encode_to(out);
        self.certificate.encode_to(out);
    }
}

impl Decode for EpochLink {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(EpochLink {
            set: EpochSet::decode_from(r)?,
            header: BlockHeader::decode_from(r)?,
            certificate: CommitCertificate::decode_from(r)?,
        })
    }
}

/// The validator sets a verifier has established: genesis's and those of verified links.
#[derive(Clone, Debug)]
pub struct EpochChain<'g> {
    genesis: &'g Genesis,
    /// Consensus-ordered keys of epochs 1.., contiguous.
    sets: BTreeMap<u64, Vec<PublicKey>>,
}

impl<'g> EpochChain<'g> {
    /// Only epoch 0 (the genesis validators).
    pub fn new(genesis: &'g Genesis) -> Self {
        EpochChain {
            genesis,
            sets: BTreeMap::new(),
        }
    }

    /// Verifies `links` (epochs `1 ..= n`, in order) from genesis.
    pub fn verify(genesis: &'g Genesis, links: &[EpochLink]) -> Result<Self, CertificateError> {
        let mut chain = EpochChain::new(genesis);
        for link in links {
            chain.extend(link)?;
        }
        Ok(chain)
    }

    /// The newest epoch whose set is known.
    pub fn latest(&self) -> u64 {
        self.sets.keys().next_back().copied().unwrap_or(0)
    }

    /// Adds the next epoch's set from its link; a link of an epoch already known must carry
    /// the same set (and is otherwise not checked again).
    pub fn extend(&mut self, link: &EpochLink) -> Result<(), CertificateError> {
        let epoch = link.set.epoch;
        let bad = |why: String| CertificateError::BadEpochLink { epoch, why };
        if epoch == 0 {
            return Err(bad("epoch 0's validators are the genesis's".into()));
        }
        if epoch <= self.latest() {
            return if self.sets.get(&epoch) == Some(&consensus_order(&link.set.validators)) {
                Ok(())
            } else {
                Err(bad("conflicts with the set already established".into()))
            };
        }
        if epoch != self.latest() + 1 {
            return Err(bad(format!(
                "the links must run without gaps: the next one is epoch {}",
                self.latest() + 1
            )));
        }
        let suite = self.genesis.suite;
        let boundary = self.genesis.epoch_last(epoch - 1);
        if link.header.height != boundary {
            return Err(bad(format!(
                "the header is at height {}, the epoch before ends at {boundary}",
                link.header.height
            )));
        }
        if link.set.validators.is_empty()
            || link.set.validators.len() > crate::limits::MAX_VALIDATORS as usize
        {
            return Err(bad("a set has 1..=100 validators".into()));
        }
        if link.header.next_validators != link.set.hash(suite) {
            return Err(bad(
                "the header does not commit to this validator set".into()
            ));
        }
        let hash: Hash = link.header.hash(suite);
        link.certificate
            .check_epoch_in(self.genesis, self, boundary)?;
        link.certificate.verify_in(self.genesis, self, &hash)?;
        self.sets
            .insert(epoch, consensus_order(&link.set.validators));
        Ok(())
    }
}

impl ValidatorSets for EpochChain<'_> {
    fn epoch_keys(&self, epoch: u64) -> Option<Vec<PublicKey>> {
        if epoch == 0 {
            return self.genesis.epoch_keys(0);
        }
        self.sets.get(&epoch).cloned()
    }
}
