//! State proofs as documents: a value of the authenticated state (above all a contract's
//! storage slot, namespace 11) at a finalized block, checked offline from the genesis alone.
//!
//! A [`StateReceipt`] carries the state key (namespace and key bytes), the value (or nothing,
//! for a key that is absent), the sparse Merkle proof of the value or of its absence against
//! the state root of a block header, and what proves that header final: its commit certificate
//! and the epoch links from the genesis ([`EpochLink`]), exactly as a [`CheckpointResponse`]
//! does. [`StateReceipt::verify`] runs the rule of `docs/formats.md` ("State proof JSON").
//!
//! For contract storage the document also names the contract and the slot in the EVM's
//! notation (`0x` hex), and the value is the 32-byte word. A slot never written is absent
//! (it reads as zero); a slot set back to zero keeps a zero word.
//!
//! [`CheckpointResponse`]: crate::api::CheckpointResponse

use std::fmt;

use kexin_crypto::{Hash, Suite};
use kexin_merkle::StateProof;
use serde::{Deserialize, Serialize};

use crate::block::{BlockHeader, CertificateError, CommitCertificate};
use crate::codec::{Decode, Encode};
use crate::contract::ContractAddress;
use crate::epoch::{EpochChain, EpochLink};
use crate::genesis::{Genesis, ValidatorSets as _};
use crate::receipt::ReceiptError;
use crate::state::{Key, namespace, value_hash};

/// The `format` of a state proof document.
pub const STATE_PROOF_FORMAT: &str = "kexin-state-proof";

/// The version of the state proof document this code writes and reads.
pub const STATE_PROOF_VERSION: u32 = 1;

/// Largest key a state proof document may name, in bytes (the largest key of any namespace
/// today is 65 bytes: an uncompressed P-256 signer's nonce key).
pub const MAX_STATE_KEY_BYTES: usize = 256;

/// Largest value a state proof document may carry, in bytes (the largest state values are a
/// consortium of 100 validators, about 52 KB, and contract code, at most 48 KiB). A contract
/// storage value is exactly 32 bytes.
pub const MAX_STATE_VALUE_BYTES: usize = 64 * 1024;

/// Length of a contract storage key: the 20-byte address and the 32-byte slot.
pub const STORAGE_KEY_BYTES: usize = 20 + 32;

/// Length of a contract storage value: one 32-byte word, big-endian.
pub const STORAGE_WORD_BYTES: usize = 32;

/// The state key of `contract`'s storage slot `slot` (namespace 11): the 20-byte address and
/// the 32-byte big-endian slot.
pub fn contract_storage_key(contract: &ContractAddress, slot: &[u8; 32]) -> Key {
    let mut bytes = Vec::with_capacity(STORAGE_KEY_BYTES);
    bytes.extend_from_slice(&contract.0);
    bytes.extend_from_slice(slot);
    Key::new(namespace::CONTRACT_STORAGE, bytes)
}

/// The contract and slot of a contract storage key (namespace 11, 52 bytes), else `None`.
pub fn split_storage_key(key: &Key) -> Option<StorageSlot> {
    if key.namespace != namespace::CONTRACT_STORAGE || key.bytes.len() != STORAGE_KEY_BYTES {
        return None;
    }
    let mut address = [0u8; 20];
    address.copy_from_slice(&key.bytes[..20]);
    let mut slot = [0u8; 32];
    slot.copy_from_slice(&key.bytes[20..]);
    Some((ContractAddress(address), slot))
}

/// A contract and one of its storage slots.
pub type StorageSlot = (ContractAddress, [u8; 32]);

/// A 32-byte word (a storage slot or value) as `0x` and 64 lowercase hex digits.
pub fn word_hex(word: &[u8; 32]) -> String {
    format!("0x{}", hex::encode(word))
}

/// Why a storage slot given as text does not parse.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct SlotParseError(String);

/// Parses a storage slot: `0x` and 1 to 64 hex digits (a big-endian number, left-padded to 32
/// bytes), or a decimal number below 2^256.
pub fn parse_slot(s: &str) -> Result<[u8; 32], SlotParseError> {
    let bad = |why: String| SlotParseError(format!("slot {s:?}: {why}"));
    if let Some(digits) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        if digits.is_empty() || digits.len() > 64 {
            return Err(bad(format!(
                "expected 1 to 64 hex digits after 0x, got {}",
                digits.len()
            )));
        }
        let padded = format!("{digits:0>64}");
        let bytes = hex::decode(&padded).map_err(|e| bad(format!("not hexadecimal ({e})")))?;
        let mut word = [0u8; 32];
        word.copy_from_slice(&bytes);
        return Ok(word);
    }
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad(
            "expected a decimal number or 0x and up to 64 hex digits".into(),
        ));
    }
    // Decimal: word = word * 10 + digit, big-endian, refusing 2^256 and above.
    let mut word = [0u8; 32];
    for digit in s.bytes().map(|b| b - b'0') {
        let mut carry = u16::from(digit);
        for byte in word.iter_mut().rev() {
            let v = u16::from(*byte) * 10 + carry;
            *byte = (v & 0xff) as u8;
            carry = v >> 8;
        }
        if carry != 0 {
            return Err(bad("the number is 2^256 or more".into()));
        }
    }
    Ok(word)
}

/// A 32-byte word in decimal.
pub fn word_decimal(word: &[u8; 32]) -> String {
    // Repeated division by 10 of the big-endian number.
    let mut n = *word;
    let mut digits = Vec::new();
    loop {
        let mut rem = 0u16;
        for byte in n.iter_mut() {
            let v = (rem << 8) | u16::from(*byte);
            *byte = (v / 10) as u8;
            rem = v % 10;
        }
        digits.push(b'0' + rem as u8);
        if n.iter().all(|b| *b == 0) {
            break;
        }
    }
    digits.reverse();
    String::from_utf8(digits).expect("ASCII digits")
}

/// A state proof document: the value (or the absence) of one state key at a finalized block,
/// with everything that proves it from the genesis. JSON only (`format`
/// [`STATE_PROOF_FORMAT`], `version` [`STATE_PROOF_VERSION`]); unknown fields are ignored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StateReceipt {
    /// Always [`STATE_PROOF_FORMAT`]: what the document is.
    pub format: String,
    /// The document version: [`STATE_PROOF_VERSION`].
    pub version: u32,
    /// The chain's id.
    pub chain_id: String,
    /// The chain's suite.
    pub suite: Suite,
    /// The key's namespace (its kind byte; 11 for contract storage).
    pub namespace: u8,
    /// The key bytes within the namespace, lowercase hex (for contract storage: the 20-byte
    /// address and the 32-byte slot).
    pub key_hex: String,
    /// The key's position in the state tree, `H("kexin:state-key:v1" || u8 namespace || key
    /// bytes)` (recomputed and compared).
    pub key_hash: Hash,
    /// Namespace 11: the contract, `0x` and 40 hex digits (must agree with `key_hex`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contract: Option<ContractAddress>,
    /// Namespace 11: the slot, `0x` and 64 hex digits (must agree with `key_hex`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slot: Option<String>,
    /// The value's bytes, lowercase hex (for contract storage the 32-byte word); `null` when
    /// the key is absent.
    pub value_hex: Option<String>,
    /// The membership proof of the value, or the proof of the key's absence, against
    /// `header.state_root`.
    pub proof: StateProof,
    /// The block hash (recomputed and compared).
    pub block_hash: Hash,
    /// The block's header.
    pub header: BlockHeader,
    /// The block's commit certificate.
    pub certificate: CommitCertificate,
    /// The links of epochs `1 ..=` the block's epoch (empty in epoch 0), as in receipts.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub epochs: Vec<EpochLink>,
}

/// What a state proof established.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedState {
    /// The namespace.
    pub namespace: u8,
    /// The key bytes.
    pub key: Vec<u8>,
    /// The key's position in the state tree.
    pub key_hash: Hash,
    /// The value, or `None`: the key was absent.
    pub value: Option<Vec<u8>>,
    /// Namespace 11: the contract and the slot.
    pub storage: Option<StorageSlot>,
    /// The block's height.
    pub height: u64,
    /// The block's hash.
    pub block_hash: Hash,
    /// The block's timestamp (milliseconds since the Unix epoch).
    pub timestamp_ms: u64,
    /// The state root the value was proven against.
    pub state_root: Hash,
    /// The block's consensus epoch.
    pub epoch: u64,
    /// How many validators the epoch has (its certificate needed a quorum of them).
    pub validators: usize,
}

impl VerifiedState {
    /// Namespace 11: the storage word the slot held (zero when absent: never written).
    pub fn word(&self) -> Option<[u8; 32]> {
        self.storage.as_ref()?;
        match &self.value {
            None => Some([0; 32]),
            Some(v) => <[u8; 32]>::try_from(v.as_slice()).ok(),
        }
    }
}

/// Why a state proof does not verify. Each variant has a stable [`StateReceiptError::code`];
/// the checks a state proof shares with receipts keep the receipts' codes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StateReceiptError {
    /// A check shared with receipts: `wrong_chain`, `wrong_suite`, `malformed_receipt`
    /// (format, version, limits, fields that do not parse), `block_hash_mismatch`,
    /// `bad_certificate` (epoch links, finality) and `unknown_proposer`.
    #[error(transparent)]
    Receipt(#[from] ReceiptError),
    /// The key's fields disagree: `key_hash` is not the hash of the namespace and key bytes,
    /// or `contract`/`slot` are not the ones in the key bytes.
    #[error("state key mismatch: {0}")]
    KeyMismatch(String),
    /// The proof does not prove the value (or the absence) under the header's state root.
    #[error("state proof does not verify against the header's state root: {0}")]
    StateProof(String),
}

impl From<CertificateError> for StateReceiptError {
    fn from(e: CertificateError) -> Self {
        StateReceiptError::Receipt(ReceiptError::Certificate(e))
    }
}

impl StateReceiptError {
    /// A stable, machine-readable error code.
    pub fn code(&self) -> &'static str {
        match self {
            StateReceiptError::Receipt(e) => e.code(),
            StateReceiptError::KeyMismatch(_) => "state_key_mismatch",
            StateReceiptError::StateProof(_) => "bad_state_proof",
        }
    }
}

fn malformed(why: impl Into<String>) -> StateReceiptError {
    StateReceiptError::Receipt(ReceiptError::Malformed(why.into()))
}

/// Decodes hex of at most `limit` bytes (any case).
fn bounded_hex(field: &str, s: &str, limit: usize) -> Result<Vec<u8>, StateReceiptError> {
    if s.len() > 2 * limit {
        return Err(malformed(format!(
            "{field} is {} hex digits, at most {} ({limit} bytes)",
            s.len(),
            2 * limit
        )));
    }
    hex::decode(s).map_err(|e| malformed(format!("{field} is not hex: {e}")))
}

/// Re-encodes `value` and decodes it: the binary decoder's limits and rules (versions, counts,
/// lengths) applied to a value read from JSON.
fn binary_checked<T: Encode + Decode>(what: &str, value: &T) -> Result<(), StateReceiptError> {
    T::decode(&value.encode())
        .map(|_| ())
        .map_err(|e| malformed(format!("{what}: {e}")))
}

/// The key and value of a document, decoded and checked against each other.
struct CheckedKey {
    key: Key,
    value: Option<Vec<u8>>,
    storage: Option<StorageSlot>,
}

impl StateReceipt {
    /// The document for `key` holding `value` (or absent) under `header`'s state root, with
    /// `proof` against it, the header's `certificate` and the `epochs` links up to the
    /// header's epoch. Fills the contract and slot of a contract storage key.
    pub fn new(
        genesis: &Genesis,
        key: &Key,
        value: Option<Vec<u8>>,
        proof: StateProof,
        header: BlockHeader,
        certificate: CommitCertificate,
        epochs: Vec<EpochLink>,
    ) -> StateReceipt {
        let suite = genesis.suite;
        let storage = split_storage_key(key);
        StateReceipt {
            format: STATE_PROOF_FORMAT.into(),
            version: STATE_PROOF_VERSION,
            chain_id: genesis.chain_id.clone(),
            suite,
            namespace: key.namespace,
            key_hex: hex::encode(&key.bytes),
            key_hash: key.hash(suite),
            contract: storage.map(|(c, _)| c),
            slot: storage.map(|(_, s)| word_hex(&s)),
            value_hex: value.map(hex::encode),
            proof,
            block_hash: header.hash(suite),
            header,
            certificate,
            epochs,
        }
    }

    /// Parses a state proof JSON document.
    pub fn from_json(json: &str) -> Result<StateReceipt, StateReceiptError> {
        serde_json::from_str(json)
            .map_err(|e| malformed(format!("not a state proof JSON document: {e}")))
    }

    /// Pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("state proof serializes")
    }

    /// The checks before anything is hashed: chain, suite, format and version.
    pub fn check_envelope(&self, genesis: &Genesis) -> Result<(), StateReceiptError> {
        if self.chain_id != genesis.chain_id {
            return Err(ReceiptError::WrongChain {
                expected: genesis.chain_id.clone(),
                actual: self.chain_id.clone(),
            }
            .into());
        }
        for actual in [self.suite, self.header.proposer.suite()] {
            if actual != genesis.suite {
                return Err(ReceiptError::WrongSuite {
                    expected: genesis.suite,
                    actual,
                }
                .into());
            }
        }
        if self.format != STATE_PROOF_FORMAT {
            return Err(malformed(format!(
                "format {:?} is not {STATE_PROOF_FORMAT:?}",
                self.format
            )));
        }
        if self.version != STATE_PROOF_VERSION {
            return Err(malformed(format!(
                "unsupported state proof version {} (this verifier reads {STATE_PROOF_VERSION})",
                self.version
            )));
        }
        Ok(())
    }

    /// The key and value within their limits, and the key's fields in agreement.
    fn check_key_and_value(&self, suite: Suite) -> Result<CheckedKey, StateReceiptError> {
        let key = Key::new(
            self.namespace,
            bounded_hex("key_hex", &self.key_hex, MAX_STATE_KEY_BYTES)?,
        );
        let value = self
            .value_hex
            .as_deref()
            .map(|v| bounded_hex("value_hex", v, MAX_STATE_VALUE_BYTES))
            .transpose()?;
        let storage = if self.namespace == namespace::CONTRACT_STORAGE {
            let storage = split_storage_key(&key).ok_or_else(|| {
                malformed(format!(
                    "a contract storage key is {STORAGE_KEY_BYTES} bytes, not {}",
                    key.bytes.len()
                ))
            })?;
            if let Some(v) = &value
                && v.len() != STORAGE_WORD_BYTES
            {
                return Err(malformed(format!(
                    "a contract storage value is a {STORAGE_WORD_BYTES}-byte word, not {} bytes",
                    v.len()
                )));
            }
            let (Some(contract), Some(slot)) = (&self.contract, &self.slot) else {
                return Err(malformed(
                    "a contract storage proof names its contract and slot",
                ));
            };
            let digits = slot
                .strip_prefix("0x")
                .or_else(|| slot.strip_prefix("0X"))
                .filter(|d| d.len() == 64)
                .ok_or_else(|| malformed(format!("slot {slot:?} is not 0x and 64 hex digits")))?;
            let slot_bytes =
                hex::decode(digits).map_err(|e| malformed(format!("slot {slot:?}: {e}")))?;
            if *contract != storage.0 {
                return Err(StateReceiptError::KeyMismatch(format!(
                    "the document names contract {contract}, its key holds {}",
                    storage.0
                )));
            }
            if slot_bytes.as_slice() != storage.1 {
                return Err(StateReceiptError::KeyMismatch(format!(
                    "the document names slot {}, its key holds {}",
                    word_hex(&<[u8; 32]>::try_from(slot_bytes.as_slice()).expect("32 bytes")),
                    word_hex(&storage.1)
                )));
            }
            Some(storage)
        } else {
            if self.contract.is_some() || self.slot.is_some() {
                return Err(malformed(format!(
                    "only a contract storage proof (namespace 11) names a contract and slot, \
                     this is namespace {}",
                    self.namespace
                )));
            }
            None
        };
        let key_hash = key.hash(suite);
        if key_hash != self.key_hash {
            return Err(StateReceiptError::KeyMismatch(format!(
                "key_hash {} is not the hash of namespace {} and the key bytes ({key_hash})",
                self.key_hash, self.namespace
            )));
        }
        Ok(CheckedKey {
            key,
            value,
            storage,
        })
    }

    /// Verifies the document against the chain's genesis alone (`docs/formats.md`, "State
    /// proof verification"), in this order: chain and suite; format and version; the limits
    /// of every field (the header, certificate and epoch links as the binary decoder reads
    /// them); the key (its hash, and the contract and slot against the key bytes); the state
    /// proof of the value or the absence against `header.state_root`; the block hash; the
    /// epoch links from the genesis; the certificate of the block's epoch; the proposer.
    pub fn verify(&self, genesis: &Genesis) -> Result<VerifiedState, StateReceiptError> {
        let suite = genesis.suite;
        self.check_envelope(genesis)?;

        // Limits: the proof's depth, the number of links, and the header, certificate and
        // links as the binary decoder would accept them.
        if self.proof.siblings.len() > kexin_merkle::SMT_MAX_DEPTH {
            return Err(malformed(format!(
                "the state proof has {} siblings, at most {}",
                self.proof.siblings.len(),
                kexin_merkle::SMT_MAX_DEPTH
            )));
        }
        if self.epochs.len() as u64 > crate::limits::MAX_EPOCH_LINKS as u64 {
            return Err(malformed(format!(
                "{} epoch links, at most {}",
                self.epochs.len(),
                crate::limits::MAX_EPOCH_LINKS
            )));
        }
        binary_checked("header", &self.header)?;
        binary_checked("certificate", &self.certificate)?;
        for link in &self.epochs {
            binary_checked("epoch link", link)?;
        }

        // The key, and the value (or the absence) under the header's state root.
        let CheckedKey {
            key,
            value,
            storage,
        } = self.check_key_and_value(suite)?;
        let key_hash = self.key_hash;
        let proven = value.as_ref().map(|v| value_hash(suite, v));
        kexin_merkle::verify_state_proof(
            suite,
            &self.header.state_root,
            &key_hash,
            proven.as_ref(),
            &self.proof,
        )
        .map_err(|e| StateReceiptError::StateProof(e.to_string()))?;

        // The header is final: its hash, the epoch links, a quorum of its epoch.
        let block_hash = self.header.hash(suite);
        if block_hash != self.block_hash {
            return Err(ReceiptError::BlockHashMismatch {
                claimed: self.block_hash,
                computed: block_hash,
            }
            .into());
        }
        let chain = EpochChain::verify(genesis, &self.epochs)?;
        self.certificate
            .check_epoch_in(genesis, &chain, self.header.height)?;
        self.certificate.verify_in(genesis, &chain, &block_hash)?;
        let epoch = genesis.epoch_of(self.header.height);
        let keys = chain
            .epoch_keys(epoch)
            .ok_or(CertificateError::UnknownEpoch(epoch))?;
        if !keys.contains(&self.header.proposer) {
            return Err(ReceiptError::UnknownProposer {
                proposer: self.header.proposer.to_hex(),
                epoch,
            }
            .into());
        }
        Ok(VerifiedState {
            namespace: key.namespace,
            key: key.bytes,
            key_hash,
            value,
            storage,
            height: self.header.height,
            block_hash,
            timestamp_ms: self.header.timestamp_ms,
            state_root: self.header.state_root,
            epoch,
            validators: keys.len(),
        })
    }
}

impl fmt::Display for VerifiedState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let value = match (&self.value, self.word()) {
            (None, _) => "empty".to_owned(),
            (Some(_), Some(w)) => word_hex(&w),
            (Some(v), None) => hex::encode(v),
        };
        match &self.storage {
            Some((contract, slot)) => write!(
                f,
                "slot {} of contract {contract} = {value} at height {} (block {})",
                word_hex(slot),
                self.height,
                self.block_hash
            ),
            None => write!(
                f,
                "key {} of namespace {} = {value} at height {} (block {})",
                hex::encode(&self.key),
                self.namespace,
                self.height,
                self.block_hash
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use kexin_crypto::SigningKey;
    use kexin_merkle::SparseMerkleTree;

    use super::*;
    use crate::genesis::Validator;
    use crate::state::StateKey;

    const CHAIN: &str = "kexin-state-proof-test";

    struct Fixture {
        genesis: Genesis,
        keys: Vec<SigningKey>,
        tree: SparseMerkleTree,
        values: BTreeMap<Key, Vec<u8>>,
    }

    fn key(suite: Suite, n: u8) -> SigningKey {
        SigningKey::from_seed(suite, &[n; 32]).unwrap()
    }

    const TOKEN: ContractAddress = ContractAddress([0x7a; 20]);

    fn slot(n: u8) -> [u8; 32] {
        let mut s = [0u8; 32];
        s[31] = n;
        s
    }

    fn word(n: u64) -> Vec<u8> {
        let mut w = vec![0u8; 32];
        w[24..].copy_from_slice(&n.to_be_bytes());
        w
    }

    /// A genesis of `n` validators and a state of a few storage slots and a nonce record.
    fn fixture(suite: Suite, n: usize) -> Fixture {
        let keys: Vec<SigningKey> = (0..n).map(|i| key(suite, 11 + i as u8)).collect();
        let genesis = Genesis {
            version: crate::protocol::CURRENT,
            epoch_length: crate::limits::DEFAULT_EPOCH_LENGTH,
            chain_id: CHAIN.into(),
            suite,
            timestamp_ms: 1_700_000_000_000,
            organisations: vec![],
            validators: keys
                .iter()
                .enumerate()
                .map(|(i, k)| Validator {
                    name: format!("node{i}"),
                    org: String::new(),
                    public_key: k.public_key(),
                    address: String::new(),
                })
                .collect(),
        };
        genesis.validate().unwrap();
        let mut values = BTreeMap::new();
        for i in 0..6u8 {
            values.insert(
                contract_storage_key(&TOKEN, &slot(i)),
                word(1000 + u64::from(i)),
            );
        }
        // A zero word: a slot set back to zero.
        values.insert(contract_storage_key(&TOKEN, &slot(9)), word(0));
        values.insert(
            StateKey::Nonce(key(suite, 1).public_key()).to_key(),
            crate::state::NonceState {
                last_nonce: 3,
                tx_count: 3,
            }
            .encode(),
        );
        let tree = tree_of(suite, &values);
        Fixture {
            genesis,
            keys,
            tree,
            values,
        }
    }

    fn tree_of(suite: Suite, values: &BTreeMap<Key, Vec<u8>>) -> SparseMerkleTree {
        let changes: BTreeMap<Hash, Option<Hash>> = values
            .iter()
            .map(|(k, v)| (k.hash(suite), Some(value_hash(suite, v))))
            .collect();
        SparseMerkleTree::new(suite).apply(&changes)
    }

    fn header(f: &Fixture, state_root: Hash) -> BlockHeader {
        let suite = f.genesis.suite;
        BlockHeader {
            version: f.genesis.version,
            height: 7,
            parent_hash: suite.hash(b"block 6"),
            timestamp_ms: f.genesis.timestamp_ms + 7_000,
            proposer: f.keys[0].public_key(),
            tx_count: 1,
            log_size: 9,
            log_root: suite.hash(b"log"),
            state_root,
            next_validators: Hash::ZERO,
            outcomes_root: Some(suite.hash(b"outcomes")),
        }
    }

    /// A quorum certificate (the first `quorum` validators) over `header`.
    fn certify(f: &Fixture, header: &BlockHeader) -> CommitCertificate {
        let hash = header.hash(f.genesis.suite);
        let quorum = crate::quorum_of(f.keys.len());
        let domain = kexin_crypto::Domain::new(crate::domains::COMMIT_SIGNATURE, CHAIN);
        CommitCertificate::Signatures {
            signatures: f.keys[..quorum]
                .iter()
                .enumerate()
                .map(|(i, k)| crate::ValidatorSignature {
                    validator: i as u16,
                    signature: k.sign(&domain, hash.as_bytes()),
                })
                .collect(),
        }
    }

    fn document(f: &Fixture, k: &Key) -> StateReceipt {
        let suite = f.genesis.suite;
        let header = header(f, f.tree.root());
        let certificate = certify(f, &header);
        StateReceipt::new(
            &f.genesis,
            k,
            f.values.get(k).cloned(),
            f.tree.prove(&k.hash(suite)),
            header,
            certificate,
            Vec::new(),
        )
    }

    fn code(r: &StateReceipt, g: &Genesis) -> &'static str {
        r.verify(g).expect_err("must not verify").code()
    }

    const SUITES: [Suite; 2] = [Suite::Intl, Suite::Gm];

    #[test]
    fn a_storage_proof_verifies_and_says_what_it_proved() {
        for suite in SUITES {
            let f = fixture(suite, 4);
            let k = contract_storage_key(&TOKEN, &slot(3));
            let doc = document(&f, &k);
            assert_eq!(doc.contract, Some(TOKEN));
            assert_eq!(doc.slot.as_deref(), Some(word_hex(&slot(3)).as_str()));
            // Through JSON, as a verifier reads it.
            let json = doc.to_json();
            let back = StateReceipt::from_json(&json).unwrap();
            assert_eq!(back, doc);
            let v = back.verify(&f.genesis).unwrap();
            assert_eq!(v.storage, Some((TOKEN, slot(3))));
            assert_eq!(v.value.as_deref(), Some(word(1003).as_slice()));
            assert_eq!(v.word(), Some(<[u8; 32]>::try_from(word(1003)).unwrap()));
            assert_eq!(v.height, 7);
            assert_eq!(v.block_hash, doc.header.hash(suite));
            assert_eq!(v.epoch, 0);
            assert_eq!(v.validators, 4);
            assert!(v.to_string().contains("at height 7"), "{v}");
            let json: serde_json::Value = serde_json::from_str(&json).unwrap();
            assert_eq!(json["format"], STATE_PROOF_FORMAT);
            assert_eq!(json["version"], 1);
            assert_eq!(json["namespace"], 11);
            assert_eq!(json["contract"], TOKEN.to_string());
            assert!(json.get("epochs").is_none(), "{json}");
            // A zero word is a value (a slot set back to zero), not an absence.
            let zero = document(&f, &contract_storage_key(&TOKEN, &slot(9)))
                .verify(&f.genesis)
                .unwrap();
            assert_eq!(zero.value, Some(vec![0; 32]));
        }
    }

    #[test]
    fn an_empty_slot_proves_empty() {
        for suite in SUITES {
            let f = fixture(suite, 1);
            let k = contract_storage_key(&TOKEN, &slot(42));
            let doc = document(&f, &k);
            assert_eq!(doc.value_hex, None);
            let json: serde_json::Value = serde_json::from_str(&doc.to_json()).unwrap();
            assert!(json["value_hex"].is_null(), "{json}");
            let v = doc.verify(&f.genesis).unwrap();
            assert_eq!(v.value, None);
            assert_eq!(v.word(), Some([0; 32]));
            assert!(v.to_string().contains("= empty"), "{v}");
            // Claiming a value for it fails.
            let mut claimed = doc.clone();
            claimed.value_hex = Some(hex::encode(word(1)));
            assert_eq!(code(&claimed, &f.genesis), "bad_state_proof");
            // A present slot's proof does not prove it absent.
            let mut hidden = document(&f, &contract_storage_key(&TOKEN, &slot(2)));
            hidden.value_hex = None;
            assert_eq!(code(&hidden, &f.genesis), "bad_state_proof");
        }
    }

    #[test]
    fn other_namespaces_verify_without_contract_fields() {
        let f = fixture(Suite::Intl, 1);
        let k = StateKey::Nonce(key(Suite::Intl, 1).public_key()).to_key();
        let doc = document(&f, &k);
        assert_eq!(doc.contract, None);
        assert_eq!(doc.slot, None);
        let v = doc.verify(&f.genesis).unwrap();
        assert_eq!(v.namespace, namespace::NONCE);
        assert_eq!(v.storage, None);
        assert_eq!(v.word(), None);
        let mut named = doc.clone();
        named.contract = Some(TOKEN);
        assert_eq!(code(&named, &f.genesis), "malformed_receipt");
    }

    #[test]
    fn a_tampered_value_fails() {
        let f = fixture(Suite::Intl, 4);
        let doc = document(&f, &contract_storage_key(&TOKEN, &slot(1)));
        let mut t = doc.clone();
        t.value_hex = Some(hex::encode(word(999_999)));
        assert_eq!(code(&t, &f.genesis), "bad_state_proof");
        // The proof's leaf changed with it: still not under the state root.
        if let Some(leaf) = &mut t.proof.leaf {
            leaf.value_hash = value_hash(Suite::Intl, &word(999_999));
        }
        assert_eq!(code(&t, &f.genesis), "bad_state_proof");
        // Not a word.
        let mut t = doc.clone();
        t.value_hex = Some("00".repeat(31));
        assert_eq!(code(&t, &f.genesis), "malformed_receipt");
        let mut t = doc;
        t.value_hex = Some("zz".into());
        assert_eq!(code(&t, &f.genesis), "malformed_receipt");
    }

    #[test]
    fn a_tampered_slot_or_contract_fails() {
        let f = fixture(Suite::Gm, 4);
        let doc = document(&f, &contract_storage_key(&TOKEN, &slot(1)));
        // The human field alone.
        let mut t = doc.clone();
        t.slot = Some(word_hex(&slot(2)));
        assert_eq!(code(&t, &f.genesis), "state_key_mismatch");
        let mut t = doc.clone();
        t.contract = Some(ContractAddress([0x11; 20]));
        assert_eq!(code(&t, &f.genesis), "state_key_mismatch");
        // The key bytes alone.
        let mut t = doc.clone();
        t.key_hex = hex::encode(contract_storage_key(&TOKEN, &slot(2)).bytes);
        assert_eq!(code(&t, &f.genesis), "state_key_mismatch");
        // Everything about the key, consistently: the proof is of another key.
        let other = contract_storage_key(&TOKEN, &slot(2));
        let mut t = doc.clone();
        t.key_hex = hex::encode(&other.bytes);
        t.slot = Some(word_hex(&slot(2)));
        t.key_hash = other.hash(Suite::Gm);
        assert_eq!(code(&t, &f.genesis), "bad_state_proof");
        // A slot that is not 0x and 64 hex digits.
        let mut t = doc.clone();
        t.slot = Some("0x01".into());
        assert_eq!(code(&t, &f.genesis), "malformed_receipt");
        // A key of the wrong length for namespace 11.
        let mut t = doc;
        t.key_hex = "00".repeat(51);
        assert_eq!(code(&t, &f.genesis), "malformed_receipt");
    }

    #[test]
    fn a_proof_for_another_key_fails() {
        let f = fixture(Suite::Intl, 4);
        let asked = contract_storage_key(&TOKEN, &slot(4));
        let other = contract_storage_key(&TOKEN, &slot(5));
        let mut t = document(&f, &asked);
        t.proof = f.tree.prove(&other.hash(Suite::Intl));
        assert_eq!(code(&t, &f.genesis), "bad_state_proof");
        // Claiming absence with another key's proof.
        t.value_hex = None;
        assert_eq!(code(&t, &f.genesis), "bad_state_proof");
    }

    #[test]
    fn a_wrong_chain_or_suite_fails_first() {
        let f = fixture(Suite::Intl, 4);
        let doc = document(&f, &contract_storage_key(&TOKEN, &slot(1)));
        let mut other = f.genesis.clone();
        other.chain_id = "another-chain".into();
        assert_eq!(code(&doc, &other), "wrong_chain");
        let mut t = doc.clone();
        t.chain_id = "another-chain".into();
        // ... whatever else is wrong with it.
        t.value_hex = Some("zz".into());
        assert_eq!(code(&t, &f.genesis), "wrong_chain");
        let mut t = doc.clone();
        t.suite = Suite::Gm;
        assert_eq!(code(&t, &f.genesis), "wrong_suite");
        // A genesis of another suite under the same chain id.
        let gm = fixture(Suite::Gm, 4);
        assert_eq!(code(&doc, &gm.genesis), "wrong_suite");
    }

    #[test]
    fn a_forged_header_fails() {
        let f = fixture(Suite::Intl, 4);
        let k = contract_storage_key(&TOKEN, &slot(1));
        let doc = document(&f, &k);
        // A state where the slot holds another value, under a header nobody certified.
        let mut forged_values = f.values.clone();
        forged_values.insert(k.clone(), word(1_000_000));
        let forged = tree_of(Suite::Intl, &forged_values);
        let mut t = doc.clone();
        t.value_hex = Some(hex::encode(word(1_000_000)));
        t.proof = forged.prove(&k.hash(Suite::Intl));
        t.header.state_root = forged.root();
        // The header's hash no longer is the block hash...
        assert_eq!(code(&t, &f.genesis), "block_hash_mismatch");
        // ... and with the hash recomputed, the certificate is not for it.
        t.block_hash = t.header.hash(Suite::Intl);
        assert_eq!(code(&t, &f.genesis), "bad_certificate");
        // Signed by one validator of four: no quorum.
        let mut t = doc.clone();
        if let CommitCertificate::Signatures { signatures } = &mut t.certificate {
            signatures.truncate(1);
        }
        assert_eq!(code(&t, &f.genesis), "bad_certificate");
        // A header of a block of epoch 1 without the epoch's link.
        let mut t = doc.clone();
        t.header.height = f.genesis.epoch_length + 1;
        t.block_hash = t.header.hash(Suite::Intl);
        t.certificate = certify(&f, &t.header);
        assert_eq!(code(&t, &f.genesis), "bad_certificate");
        // A certified header of a proposer that is no validator.
        let mut t = doc;
        t.header.proposer = key(Suite::Intl, 99).public_key();
        t.block_hash = t.header.hash(Suite::Intl);
        t.certificate = certify(&f, &t.header);
        assert_eq!(code(&t, &f.genesis), "unknown_proposer");
    }

    #[test]
    fn the_format_version_and_limits_are_checked() {
        let f = fixture(Suite::Intl, 1);
        let doc = document(&f, &contract_storage_key(&TOKEN, &slot(1)));
        let mut t = doc.clone();
        t.format = "kexin-receipt".into();
        assert_eq!(code(&t, &f.genesis), "malformed_receipt");
        let mut t = doc.clone();
        t.version = 2;
        assert_eq!(code(&t, &f.genesis), "malformed_receipt");
        let mut t = doc.clone();
        t.key_hash = Hash([1; 32]);
        assert_eq!(code(&t, &f.genesis), "state_key_mismatch");
        let mut t = doc.clone();
        t.proof.siblings = vec![Hash::ZERO; 257];
        assert_eq!(code(&t, &f.genesis), "malformed_receipt");
        // Keys and values above the bounds, in any namespace.
        let nonce = StateKey::Nonce(key(Suite::Intl, 1).public_key()).to_key();
        let mut t = document(&f, &nonce);
        t.key_hex = "00".repeat(MAX_STATE_KEY_BYTES + 1);
        assert_eq!(code(&t, &f.genesis), "malformed_receipt");
        let mut t = document(&f, &nonce);
        t.value_hex = Some("00".repeat(MAX_STATE_VALUE_BYTES + 1));
        assert_eq!(code(&t, &f.genesis), "malformed_receipt");
        // A header the binary decoder refuses (height 0).
        let mut t = doc.clone();
        t.header.height = 0;
        assert_eq!(code(&t, &f.genesis), "malformed_receipt");
        // JSON that is not a state proof.
        let e = StateReceipt::from_json("{\"format\": \"kexin-state-proof\"}").unwrap_err();
        assert_eq!(e.code(), "malformed_receipt");
        // Unknown fields are ignored.
        let mut json: serde_json::Value = serde_json::from_str(&doc.to_json()).unwrap();
        json["comment"] = "hello".into();
        let back = StateReceipt::from_json(&json.to_string()).unwrap();
        back.verify(&f.genesis).unwrap();
    }

    #[test]
    fn error_codes_are_stable() {
        let codes = [
            (
                StateReceiptError::from(ReceiptError::Malformed(String::new())),
                "malformed_receipt",
            ),
            (
                StateReceiptError::KeyMismatch(String::new()),
                "state_key_mismatch",
            ),
            (
                StateReceiptError::StateProof(String::new()),
                "bad_state_proof",
            ),
            (
                StateReceiptError::from(CertificateError::NotCanonical),
                "bad_certificate",
            ),
        ];
        for (e, c) in codes {
            assert_eq!(e.code(), c, "{e}");
        }
    }

    #[test]
    fn slots_parse_as_hex_or_decimal() {
        assert_eq!(parse_slot("0").unwrap(), slot(0));
        assert_eq!(parse_slot("3").unwrap(), slot(3));
        assert_eq!(parse_slot("0x3").unwrap(), slot(3));
        assert_eq!(parse_slot("0X03").unwrap(), slot(3));
        assert_eq!(parse_slot(&word_hex(&slot(200))).unwrap(), slot(200));
        assert_eq!(parse_slot("256").unwrap()[30..], [1, 0]);
        let max = "115792089237316195423570985008687907853269984665640564039457584007913129639935";
        assert_eq!(parse_slot(max).unwrap(), [0xff; 32]);
        assert_eq!(word_decimal(&[0xff; 32]), max);
        assert_eq!(word_decimal(&slot(0)), "0");
        assert_eq!(
            word_decimal(&parse_slot("1234567890123").unwrap()),
            "1234567890123"
        );
        for bad in [
            "",
            "0x",
            "-1",
            "1.5",
            "0xzz",
            "ten",
            "115792089237316195423570985008687907853269984665640564039457584007913129639936",
        ] {
            assert!(parse_slot(bad).is_err(), "{bad:?}");
        }
        assert!(parse_slot(&format!("0x{}", "0".repeat(65))).is_err());
    }
}
