//! Protocol limits of the current format version. Changing any of them is a format version bump.

/// Most evidence records in one transaction.
pub const MAX_RECORDS_PER_TX: u32 = 4096;
/// Longest audit note text, in bytes.
pub const MAX_NOTE_BYTES: usize = 4096;
/// Most bytes of metadata (content type + label + external reference) in one record.
pub const MAX_METADATA_BYTES: usize = 1024;
/// Longest content type, in bytes.
pub const MAX_CONTENT_TYPE_BYTES: usize = 127;
/// Longest chain id, in bytes (`[a-z0-9._-]`, starting with a letter or digit).
pub const MAX_CHAIN_ID_BYTES: usize = 64;
/// Largest encoded transaction, in bytes (a full batch of records with full metadata fits).
pub const MAX_TX_BYTES: usize = 8 * 1024 * 1024;
/// Most transactions in one block.
pub const MAX_BLOCK_TXS: u32 = 20_000;
/// Largest encoded block, in bytes.
pub const MAX_BLOCK_BYTES: usize = 64 * 1024 * 1024;
/// Most validators in a validator set.
pub const MAX_VALIDATORS: u32 = 100;
/// Longest validator name, in bytes.
pub const MAX_NAME_BYTES: usize = 64;
/// Most signatures in a commit certificate.
pub const MAX_CERTIFICATE_SIGNATURES: u32 = MAX_VALIDATORS;
/// Longest Merkle proof path (a log of 2^64 leaves has at most 64 levels).
pub const MAX_PROOF_PATH: u32 = 64;
/// Largest DER certificate, in bytes.
pub const MAX_CERT_BYTES: usize = 4096;
/// Most CA certificates an organisation holds at once (rotation overlaps two or three).
pub const MAX_ORG_CAS: usize = 4;
/// Most organisations in a consortium.
pub const MAX_ORGS: u32 = 100;
/// Longest certificate serial number, in hex digits (RFC 5280 allows 20 bytes).
pub const MAX_SERIAL_HEX: usize = 64;
/// Longest validator network address (`host:port`), in bytes.
pub const MAX_ADDRESS_BYTES: usize = 255;
/// Fewest blocks in a consensus epoch.
pub const MIN_EPOCH_LENGTH: u64 = 4;
/// Most blocks in a consensus epoch.
pub const MAX_EPOCH_LENGTH: u64 = 1 << 32;
/// Blocks per consensus epoch unless the genesis says otherwise: validator-set changes
/// passed by governance take effect at the next multiple of it. Receipts carry one epoch link
/// (about 0.5 KB) per epoch of the chain, so epochs should be long; while a change waits,
/// leaders make empty blocks at once to reach the boundary.
pub const DEFAULT_EPOCH_LENGTH: u64 = 1000;
/// Most epoch links a receipt carries (one per epoch of the chain so far).
pub const MAX_EPOCH_LINKS: u32 = 1 << 20;
