//! [`ChainBlock`]: a Kexin block as the commonware engine sees it.
//!
//! Wire form: `u32 length ‖ block bytes` (the canonical block encoding of docs/formats.md),
//! length 0 for the genesis anchor. The digest is the block's header hash under the chain's
//! suite (SM3 or SHA-256), carried in commonware's 32-byte digest type; the genesis anchor's
//! digest is the genesis hash, the parent of block 1.

use std::sync::Arc;

use bytes::BufMut;
use commonware_codec::Buf;
use commonware_codec::{EncodeSize, Error as CodecError, Read, Write};
use commonware_consensus::types::Height;
use commonware_consensus::{Block as CwBlock, BoundedBlock, Heightable};
use commonware_cryptography::{Digestible, sha256};
use kexin_crypto::{Hash, Suite};
use kexin_types::{Block, Encode, decode_block, limits};

/// The digest type the engine orders: our 32-byte block hash.
pub type Digest = sha256::Digest;

/// Converts a Kexin hash to the engine's digest.
pub fn to_digest(hash: &Hash) -> Digest {
    sha256::Digest(*hash.as_bytes())
}

/// Converts the engine's digest back to a Kexin hash.
pub fn from_digest(digest: &Digest) -> Hash {
    Hash(digest.0)
}

/// What decoding a block needs: the suite (to hash headers) and the genesis hash (the
/// anchor's digest).
#[derive(Clone, Copy, Debug)]
pub struct BlockCfg {
    /// The chain's suite.
    pub suite: Suite,
    /// The genesis hash.
    pub genesis_hash: Hash,
}

/// A block in the engine: the genesis anchor (height 0) or a Kexin block.
#[derive(Clone, Debug)]
pub struct ChainBlock {
    block: Option<Arc<Block>>,
    digest: Digest,
    parent: Digest,
    encoded: Arc<Vec<u8>>,
}

impl ChainBlock {
    /// The height-0 anchor whose digest is the genesis hash.
    pub fn genesis(genesis_hash: Hash) -> ChainBlock {
        ChainBlock {
            block: None,
            digest: to_digest(&genesis_hash),
            parent: sha256::Digest([0; 32]),
            encoded: Arc::new(Vec::new()),
        }
    }

    /// Wraps a Kexin block.
    pub fn new(block: Block, suite: Suite) -> ChainBlock {
        let encoded = block.encode();
        let digest = to_digest(&block.header.hash(suite));
        let parent = to_digest(&block.header.parent_hash);
        ChainBlock {
            block: Some(Arc::new(block)),
            digest,
            parent,
            encoded: Arc::new(encoded),
        }
    }

    /// The Kexin block (`None` for the genesis anchor).
    pub fn block(&self) -> Option<&Arc<Block>> {
        self.block.as_ref()
    }

    /// The block hash.
    pub fn hash(&self) -> Hash {
        from_digest(&self.digest)
    }

    /// The height (0 for the genesis anchor).
    pub fn height_u64(&self) -> u64 {
        self.block.as_ref().map_or(0, |b| b.header.height)
    }
}

impl Heightable for ChainBlock {
    fn height(&self) -> Height {
        Height::new(self.height_u64())
    }
}

impl Digestible for ChainBlock {
    type Digest = Digest;

    fn digest(&self) -> Digest {
        self.digest
    }
}

impl CwBlock for ChainBlock {
    fn parent(&self) -> Digest {
        self.parent
    }
}

impl Write for ChainBlock {
    fn write(&self, buf: &mut impl BufMut) {
        buf.put_u32(self.encoded.len() as u32);
        buf.put_slice(&self.encoded);
    }
}

impl EncodeSize for ChainBlock {
    fn encode_size(&self) -> usize {
        4 + self.encoded.len()
    }
}

impl Read for ChainBlock {
    type Cfg = BlockCfg;

    fn read_cfg(buf: &mut impl Buf, cfg: &BlockCfg) -> Result<Self, CodecError> {
        if buf.remaining() < 4 {
            return Err(CodecError::EndOfBuffer);
        }
        let len = buf.get_u32() as usize;
        if len == 0 {
            return Ok(ChainBlock::genesis(cfg.genesis_hash));
        }
        if len > limits::MAX_BLOCK_BYTES {
            return Err(CodecError::InvalidLength(len));
        }
        if buf.remaining() < len {
            return Err(CodecError::EndOfBuffer);
        }
        let mut bytes = vec![0u8; len];
        buf.copy_to_slice(&mut bytes);
        let block =
            decode_block(&bytes).map_err(|e| CodecError::Wrapped("kexin block", Box::new(e)))?;
        if block.header.height == 0 {
            return Err(CodecError::Invalid(
                "kexin block",
                "height 0 is the genesis",
            ));
        }
        let digest = to_digest(&block.header.hash(cfg.suite));
        let parent = to_digest(&block.header.parent_hash);
        Ok(ChainBlock {
            block: Some(Arc::new(block)),
            digest,
            parent,
            encoded: Arc::new(bytes),
        })
    }
}

impl BoundedBlock for ChainBlock {
    fn max_encode_size(_cfg: &BlockCfg) -> usize {
        4 + limits::MAX_BLOCK_BYTES
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use commonware_codec::{Decode as _, Encode as _};

    #[test]
    fn genesis_anchor_round_trips() {
        let g = Hash([7; 32]);
        let cfg = BlockCfg {
            suite: Suite::Intl,
            genesis_hash: g,
        };
        let anchor = ChainBlock::genesis(g);
        let bytes = anchor.encode();
        assert_eq!(bytes.as_ref(), &[0, 0, 0, 0]);
        let back = ChainBlock::decode_cfg(bytes, &cfg).unwrap();
        assert_eq!(back.digest(), to_digest(&g));
        assert_eq!(back.height_u64(), 0);
    }

    #[test]
    fn truncated_and_oversized_lengths_are_refused() {
        let cfg = BlockCfg {
            suite: Suite::Intl,
            genesis_hash: Hash([0; 32]),
        };
        assert!(ChainBlock::decode_cfg(vec![0u8, 0, 1], &cfg).is_err());
        assert!(ChainBlock::decode_cfg(vec![0u8, 0, 0, 5, 1, 2], &cfg).is_err());
        let huge = ((limits::MAX_BLOCK_BYTES + 1) as u32).to_be_bytes();
        assert!(ChainBlock::decode_cfg(huge.to_vec(), &cfg).is_err());
        assert!(ChainBlock::decode_cfg(vec![0u8, 0, 0, 3, 1, 2, 3], &cfg).is_err());
    }
}
