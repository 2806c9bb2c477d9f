//! Shared builders for kexin-types' integration tests: deterministic keys and records, and a
//! tiny in-memory chain that produces blocks, certificates, checkpoints and receipts with the
//! `kexin_merkle` functions alone (no ledger, no consensus).
//!
//! Everything here is deterministic: keys come from `SigningKey::from_seed(suite, &[n; 32])`,
//! timestamps are fixed, and both signature schemes sign deterministically (Ed25519 by
//! definition, SM2 through RustCrypto's RFC 6979 nonce derivation with HMAC-SM3).

#![allow(dead_code)]

use std::collections::BTreeMap;

use kexin_crypto::{Domain, SigningKey};
use kexin_merkle::SparseMerkleTree;
use kexin_types::state::{EvidenceState, NonceState, RecordLocation, StateKey, value_hash};
use kexin_types::{
    BlockHeader, CertDer, CommitCertificate, Decode, Encode, EvidenceRecord, Genesis, Hash,
    InclusionProof, Organisation, Outcome, Payload, PublicKey, Receipt, ReceiptTx, RecordMetadata,
    Salt, SealedTx, Suite, Transaction, TxReceipt, Validator, ValidatorSignature, domains,
};

/// Both suites, `intl` first.
pub const SUITES: [Suite; 2] = [Suite::Intl, Suite::Gm];

/// The chain id of every test chain.
pub const CHAIN_ID: &str = "kexin-conformance";

/// The genesis timestamp of every test chain; block `h` is `h * 1000` ms later.
pub const GENESIS_TIMESTAMP_MS: u64 = 1_700_000_000_000;

/// `SigningKey::from_seed(suite, &[n; 32])`.
pub fn key(suite: Suite, n: u8) -> SigningKey {
    SigningKey::from_seed(suite, &[n; 32]).expect("fixed seed is a valid key")
}

/// Seed byte of validator `i` (validators use seeds 11, 12, 13, ...).
pub fn validator_seed(i: usize) -> u8 {
    11 + i as u8
}

/// The salt of [`record`]: `5a` × 16 (a real client draws it at random).
pub const TEST_SALT: Salt = Salt([0x5a; 16]);

/// A record with a digest of `data` under `suite` and the salt [`TEST_SALT`].
pub fn record(
    suite: Suite,
    data: &[u8],
    content_type: &str,
    label: &str,
    external_ref: Option<&str>,
) -> EvidenceRecord {
    record_with_salt(suite, data, TEST_SALT, content_type, label, external_ref)
}

/// A record with a digest of `data` under `suite` and `salt`.
pub fn record_with_salt(
    suite: Suite,
    data: &[u8],
    salt: Salt,
    content_type: &str,
    label: &str,
    external_ref: Option<&str>,
) -> EvidenceRecord {
    EvidenceRecord {
        digest: suite.hash(data),
        metadata: RecordMetadata {
            salt,
            content_type: content_type.into(),
            label: label.into(),
            external_ref: external_ref.map(Into::into),
        },
    }
}

/// The three records of the main conformance transaction, with salts `11`×16, `22`×16 and
/// `33`×16; the second has an external reference and a non-ASCII label.
pub fn sample_records(suite: Suite) -> Vec<EvidenceRecord> {
    vec![
        record_with_salt(
            suite,
            b"kexin conformance document 0",
            Salt([0x11; 16]),
            "application/pdf",
            "contract-2024-001.pdf",
            None,
        ),
        record_with_salt(
            suite,
            b"kexin conformance document 1",
            Salt([0x22; 16]),
            "image/png",
            "\u{73b0}\u{573a}\u{7167}\u{7247}-01.png",
            Some("s3://evidence/2024/photo-01.png"),
        ),
        record_with_salt(
            suite,
            b"kexin conformance document 2",
            Salt([0x33; 16]),
            "text/plain; charset=utf-8",
            "notes.txt",
            None,
        ),
    ]
}

/// An evidence payload.
pub fn evidence(records: Vec<EvidenceRecord>) -> Payload {
    Payload::Evidence { records }
}

/// The main conformance transaction: signer seed 1, nonce 42, [`sample_records`].
pub fn sample_tx(suite: Suite) -> Transaction {
    Transaction::sign(
        CHAIN_ID,
        &key(suite, 1),
        42,
        evidence(sample_records(suite)),
    )
}

/// A genesis of `n` validators (seeds 11, 12, ...; names `node0`, `node1`, ...).
pub fn genesis(suite: Suite, n: usize) -> (Genesis, Vec<SigningKey>) {
    let keys: Vec<SigningKey> = (0..n).map(|i| key(suite, validator_seed(i))).collect();
    let genesis = Genesis {
        version: kexin_types::FORMAT_VERSION,
        epoch_length: kexin_types::limits::DEFAULT_EPOCH_LENGTH,
        chain_id: CHAIN_ID.into(),
        suite,
        timestamp_ms: GENESIS_TIMESTAMP_MS,
        organisations: vec![Organisation {
            name: "org1".into(),
            // Opaque to the format: stands in for a real CA certificate.
            ca_certs: vec![CertDer(b"conformance org1 CA certificate DER".to_vec())],
        }],
        validators: keys
            .iter()
            .enumerate()
            .map(|(i, k)| Validator {
                name: format!("node{i}"),
                org: "org1".into(),
                public_key: k.public_key(),
                address: String::new(),
            })
            .collect(),
    };
    genesis.validate().expect("test genesis is valid");
    (genesis, keys)
}

/// A certificate with the signatures of `keys[i]` for each `i` in `indices` (sorted by the
/// caller), each over `block_hash` in domain `kexin/commit` + chain id.
pub fn certificate(
    chain_id: &str,
    keys: &[(u16, &SigningKey)],
    block_hash: &Hash,
) -> CommitCertificate {
    let domain = Domain::new(domains::COMMIT_SIGNATURE, chain_id);
    CommitCertificate::Signatures {
        signatures: keys
            .iter()
            .map(|(i, k)| ValidatorSignature {
                validator: *i,
                signature: k.sign(&domain, block_hash.as_bytes()),
            })
            .collect(),
    }
}

/// One block of a [`TestChain`].
#[derive(Clone, Debug)]
pub struct TestBlock {
    /// The header.
    pub header: BlockHeader,
    /// Its hash.
    pub hash: Hash,
    /// The transactions.
    pub transactions: Vec<Transaction>,
    /// A quorum certificate (validators `0..quorum`; `sign_single` for one validator).
    pub certificate: CommitCertificate,
}

/// A chain built in memory: genesis, blocks, the transaction log and the state tree.
pub struct TestChain {
    /// The suite.
    pub suite: Suite,
    /// The genesis.
    pub genesis: Genesis,
    /// The validators' keys, by index.
    pub validator_keys: Vec<SigningKey>,
    /// Blocks; `blocks[h - 1]` has height `h`.
    pub blocks: Vec<TestBlock>,
    /// Every log leaf hash so far.
    pub log_leaves: Vec<Hash>,
    /// The state tree after the last block.
    pub state: SparseMerkleTree,
    /// Nonce states by signer.
    pub nonces: BTreeMap<PublicKey, NonceState>,
    /// Evidence states by digest.
    pub evidence: BTreeMap<Hash, EvidenceState>,
}

impl TestChain {
    /// A chain with `validators` validators and no block yet.
    pub fn new(suite: Suite, validators: usize) -> TestChain {
        let (genesis, validator_keys) = genesis(suite, validators);
        TestChain {
            suite,
            genesis,
            validator_keys,
            blocks: Vec::new(),
            log_leaves: Vec::new(),
            state: SparseMerkleTree::new(suite),
            nonces: BTreeMap::new(),
            evidence: BTreeMap::new(),
        }
    }

    /// The genesis hash.
    pub fn genesis_hash(&self) -> Hash {
        self.genesis.hash()
    }

    /// Appends a block with `txs`; its certificate is signed by validators `0..quorum`.
    pub fn push_block(&mut self, txs: Vec<Transaction>) -> &TestBlock {
        let suite = self.suite;
        let height = self.blocks.len() as u64 + 1;
        let parent_hash = self
            .blocks
            .last()
            .map_or_else(|| self.genesis.hash(), |b| b.hash);
        let mut changes: BTreeMap<Hash, Option<Hash>> = BTreeMap::new();
        for (tx_index, tx) in txs.iter().enumerate() {
            let sealed = SealedTx::new(tx.clone());
            sealed
                .verify(&self.genesis.chain_id, suite)
                .expect("test transactions verify");
            self.log_leaves.push(sealed.log_leaf_hash());
            let nonce = self.nonces.entry(tx.signer).or_insert(NonceState {
                last_nonce: 0,
                tx_count: 0,
            });
            nonce.last_nonce = tx.nonce;
            nonce.tx_count += 1;
            changes.insert(
                StateKey::Nonce(tx.signer).hash(suite),
                Some(value_hash(suite, &nonce.encode())),
            );
            for (record_index, rec) in tx.records().iter().enumerate() {
                let loc = RecordLocation {
                    height,
                    tx_index: tx_index as u32,
                    record_index: record_index as u32,
                };
                let ev = self.evidence.entry(rec.digest).or_insert(EvidenceState {
                    count: 0,
                    first: loc,
                    last: loc,
                });
                ev.count += 1;
                ev.last = loc;
                changes.insert(
                    StateKey::Evidence(rec.digest).hash(suite),
                    Some(value_hash(suite, &ev.encode())),
                );
            }
        }
        self.state = self.state.apply(&changes);
        let proposer = (height as usize - 1) % self.validator_keys.len();
        // The fixtures pin formats, not execution: each transaction's outcome is a plain
        // success with the base cost plus one unit per record.
        let outcomes: Vec<(Hash, Outcome)> = txs
            .iter()
            .map(|t| {
                let cost = 10 + t.records().len() as u64;
                (t.hash(), Outcome::success(cost, Vec::new()))
            })
            .collect();
        let version = self.genesis.version;
        let header = BlockHeader {
            version,
            outcomes_root: (version >= kexin_types::protocol::V4)
                .then(|| kexin_types::outcomes_root(suite, &outcomes)),
            height,
            parent_hash,
            timestamp_ms: GENESIS_TIMESTAMP_MS + 1000 * height,
            proposer: self.validator_keys[proposer].public_key(),
            tx_count: txs.len() as u32,
            log_size: self.log_leaves.len() as u64,
            log_root: kexin_merkle::root_from_leaves(suite, &self.log_leaves),
            state_root: self.state.root(),
            next_validators: Hash::ZERO,
        };
        let hash = header.hash(suite);
        let certificate = if self.validator_keys.len() == 1 {
            CommitCertificate::sign_single(
                &self.genesis.chain_id,
                0,
                &self.validator_keys[0],
                &hash,
            )
        } else {
            let quorum = self.genesis.quorum() as u16;
            self.certificate(&hash, &(0..quorum).collect::<Vec<_>>())
        };
        self.blocks.push(TestBlock {
            header,
            hash,
            transactions: txs,
            certificate,
        });
        self.blocks.last().expect("just pushed")
    }

    /// A certificate over `block_hash` by the validators at `indices` (in the given order).
    pub fn certificate(&self, block_hash: &Hash, indices: &[u16]) -> CommitCertificate {
        let keys: Vec<(u16, &SigningKey)> = indices
            .iter()
            .map(|&i| (i, &self.validator_keys[i as usize]))
            .collect();
        certificate(&self.genesis.chain_id, &keys, block_hash)
    }

    /// The block at `height`.
    pub fn block(&self, height: u64) -> &TestBlock {
        &self.blocks[height as usize - 1]
    }

    /// The log index of transaction `tx_index` of block `height`.
    pub fn log_index(&self, height: u64, tx_index: usize) -> u64 {
        let b = self.block(height);
        b.header.log_size - b.header.tx_count as u64 + tx_index as u64
    }

    /// The binary encoding of a receipt for record `record_index` of transaction `tx_index`
    /// in block `height`, assembled field by field as `docs/formats.md` describes it (not
    /// with `Receipt::encode`).
    pub fn receipt_bytes(&self, height: u64, tx_index: usize, record_index: usize) -> Vec<u8> {
        self.receipt_bytes_with(height, tx_index, record_index, true)
    }

    /// Like [`TestChain::receipt_bytes`], with the record's metadata only if `disclose`.
    pub fn receipt_bytes_with(
        &self,
        height: u64,
        tx_index: usize,
        record_index: usize,
        disclose: bool,
    ) -> Vec<u8> {
        let suite = self.suite;
        let block = self.block(height);
        let tx = &block.transactions[tx_index];
        let record_leaves: Vec<Hash> = tx.records().iter().map(|r| r.leaf_hash(suite)).collect();
        let record_proof =
            kexin_merkle::inclusion_proof_from_leaves(suite, &record_leaves, record_index as u64)
                .expect("record index in range");
        let log_size = block.header.log_size as usize;
        let log_proof = kexin_merkle::inclusion_proof_from_leaves(
            suite,
            &self.log_leaves[..log_size],
            self.log_index(height, tx_index),
        )
        .expect("log index in range");

        let mut out = vec![kexin_types::FORMAT_VERSION, suite.tag()];
        out.push(self.genesis.chain_id.len() as u8);
        out.extend_from_slice(self.genesis.chain_id.as_bytes());
        let rec = &tx.records()[record_index];
        let metadata = rec.metadata.encode();
        out.extend_from_slice(rec.digest.as_bytes());
        out.extend_from_slice(
            suite
                .hash_parts(&[b"kexin:metadata:v1", &metadata])
                .as_bytes(),
        );
        if disclose {
            out.push(1);
            out.extend(metadata);
        } else {
            out.push(0);
        }
        put_proof(&mut out, &record_proof);
        out.extend(tx.summary().encode());
        out.extend_from_slice(&tx.signature.0);
        put_proof(&mut out, &log_proof);
        out.extend(block.header.encode());
        out.extend(block.certificate.encode());
        // No epoch links: the block is in epoch 0.
        out.extend_from_slice(&0u32.to_be_bytes());
        out
    }

    /// The receipt of transaction `tx_index` of block `height` itself, carrying its payload,
    /// assembled from `kexin_merkle` functions.
    pub fn tx_receipt(&self, height: u64, tx_index: usize) -> TxReceipt {
        let suite = self.suite;
        let block = self.block(height);
        let tx = &block.transactions[tx_index];
        let log_proof = kexin_merkle::inclusion_proof_from_leaves(
            suite,
            &self.log_leaves[..block.header.log_size as usize],
            self.log_index(height, tx_index),
        )
        .expect("log index in range");
        TxReceipt {
            outcome: None,
            version: kexin_types::FORMAT_VERSION,
            chain_id: self.genesis.chain_id.clone(),
            suite,
            transaction: ReceiptTx {
                hash: tx.hash(),
                summary: tx.summary(),
                signature: tx.signature,
            },
            payload: Some(tx.payload.clone()),
            log_proof,
            block_hash: block.hash,
            header: block.header.clone(),
            certificate: block.certificate.clone(),
            epochs: Vec::new(),
            signer_cert: None,
        }
    }

    /// A receipt for record `record_index` of transaction `tx_index` in block `height`.
    pub fn receipt(&self, height: u64, tx_index: usize, record_index: usize) -> Receipt {
        Receipt::decode(&self.receipt_bytes(height, tx_index, record_index))
            .expect("hand-built receipt decodes")
    }
}

/// Appends an inclusion proof: `u64 leaf_index || u64 tree_size || u8 n || n * hash`.
pub fn put_proof(out: &mut Vec<u8>, p: &InclusionProof) {
    out.extend_from_slice(&p.leaf_index.to_be_bytes());
    out.extend_from_slice(&p.tree_size.to_be_bytes());
    out.push(p.path.len() as u8);
    for h in &p.path {
        out.extend_from_slice(h.as_bytes());
    }
}

/// The conformance chain of a suite: 4 validators; block 1 holds one transaction of signer 2,
/// block 2 the main transaction ([`sample_tx`]) and one of signer 3.
pub fn conformance_chain(suite: Suite) -> TestChain {
    let mut chain = TestChain::new(suite, 4);
    let tx_b = Transaction::sign(
        CHAIN_ID,
        &key(suite, 2),
        1,
        evidence(vec![record(
            suite,
            b"kexin conformance document B",
            "application/json",
            "case-7/exhibit-a.json",
            None,
        )]),
    );
    chain.push_block(vec![tx_b]);
    let tx_c = Transaction::sign(
        CHAIN_ID,
        &key(suite, 3),
        7,
        evidence(vec![record(
            suite,
            // The same document as the main transaction's record 0: a second occurrence.
            b"kexin conformance document 0",
            "application/pdf",
            "contract-2024-001 (copy).pdf",
            Some("https://example.invalid/doc/0"),
        )]),
    );
    chain.push_block(vec![sample_tx(suite), tx_c]);
    chain
}

/// A small deterministic PRNG (xorshift64*), for mutation corpora.
pub struct Rng(u64);

impl Rng {
    /// A generator from a non-zero seed.
    pub fn new(seed: u64) -> Rng {
        Rng(seed | 1)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A number in `0..n` (`n > 0`).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
}

/// `count` deterministic mutations of `seed`: byte flips, truncations, insertions, deletions,
/// overwrites with boundary values and splices of two copies.
pub fn mutations(seed: &[u8], count: usize, rng_seed: u64) -> Vec<Vec<u8>> {
    let mut rng = Rng::new(rng_seed);
    let mut out = Vec::with_capacity(count);
    for _ in 0..count {
        let mut m = seed.to_vec();
        let edits = 1 + rng.below(3);
        for _ in 0..edits {
            let len = m.len();
            match rng.below(7) {
                0 if len > 0 => {
                    let i = rng.below(len);
                    m[i] ^= 1 << rng.below(8);
                }
                1 if len > 0 => {
                    let i = rng.below(len);
                    m[i] = rng.next_u64() as u8;
                }
                2 => {
                    let cut = rng.below(len + 1);
                    m.truncate(cut);
                }
                3 => {
                    let i = rng.below(len + 1);
                    m.insert(i, rng.next_u64() as u8);
                }
                4 if len > 0 => {
                    let i = rng.below(len);
                    m.remove(i);
                }
                5 if len >= 4 => {
                    let i = rng.below(len - 3);
                    let v: [u8; 4] = match rng.below(4) {
                        0 => [0; 4],
                        1 => [0xff; 4],
                        2 => [0x7f, 0xff, 0xff, 0xff],
                        _ => [0x00, 0x00, 0x10, 0x01],
                    };
                    m[i..i + 4].copy_from_slice(&v);
                }
                _ => {
                    let i = rng.below(len + 1);
                    let j = rng.below(seed.len() + 1);
                    m.truncate(i);
                    m.extend_from_slice(&seed[j..]);
                }
            }
        }
        out.push(m);
    }
    out
}

/// Lowercase hex.
pub fn hex(bytes: impl AsRef<[u8]>) -> String {
    ::hex::encode(bytes)
}

/// Every leaf of a JSON value, as a JSON pointer.
pub fn leaves(v: &serde_json::Value, path: String, out: &mut Vec<String>) {
    match v {
        serde_json::Value::Object(m) => {
            for (k, x) in m {
                leaves(x, format!("{path}/{k}"), out);
            }
        }
        serde_json::Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                leaves(x, format!("{path}/{i}"), out);
            }
        }
        _ => out.push(path),
    }
}

/// Replaces hex digit `i` of `s` with a different digit.
pub fn change_hex_digit(s: &str, i: usize) -> String {
    let mut c: Vec<char> = s.chars().collect();
    c[i] = if c[i] == '0' { '1' } else { '0' };
    c.into_iter().collect()
}
