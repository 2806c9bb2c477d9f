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
    BlockHeader, CertDer, CommitCertificate, Decode, Encode, Event, EvidenceRecord, Genesis, Hash,
    InclusionProof, Organisation, Outcome, Payload, ProvenOutcome, PublicKey, Receipt, ReceiptTx,
    RecordMetadata, Salt, SealedTx, SignerCert, Suite, Transaction, TxReceipt, Validator,
    ValidatorSignature, domains,
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

/// The main transaction of the version 3 conformance chain: signer seed 1, nonce 42,
/// [`sample_records`].
pub fn sample_tx(suite: Suite) -> Transaction {
    sign_v(
        kexin_types::protocol::V3,
        &key(suite, 1),
        42,
        evidence(sample_records(suite)),
    )
}

/// A transaction of [`CHAIN_ID`] in format `version`, without a certificate.
pub fn sign_v(version: u8, key: &SigningKey, nonce: u64, payload: Payload) -> Transaction {
    Transaction::sign_versioned(version, CHAIN_ID, key, None, nonce, payload)
}

/// A genesis of `n` validators (seeds 11, 12, ...; names `node0`, `node1`, ...) at protocol
/// version 3, the version these receipt tests were written for (version 4 chains:
/// [`genesis_v`], [`TestChain::with_version`]).
pub fn genesis(suite: Suite, n: usize) -> (Genesis, Vec<SigningKey>) {
    genesis_v(suite, n, kexin_types::protocol::V3)
}

/// [`genesis`] at protocol version `version`.
pub fn genesis_v(suite: Suite, n: usize, version: u8) -> (Genesis, Vec<SigningKey>) {
    let keys: Vec<SigningKey> = (0..n).map(|i| key(suite, validator_seed(i))).collect();
    let genesis = Genesis {
        version,
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
    /// Each transaction's hash and outcome (committed to by a version 4 header).
    pub outcomes: Vec<(Hash, Outcome)>,
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
    /// A chain at protocol version 3 with `validators` validators and no block yet.
    pub fn new(suite: Suite, validators: usize) -> TestChain {
        TestChain::with_version(suite, validators, kexin_types::protocol::V3)
    }

    /// A chain at protocol version `version` (its blocks' and receipts' formats).
    pub fn with_version(suite: Suite, validators: usize, version: u8) -> TestChain {
        let (genesis, validator_keys) = genesis_v(suite, validators, version);
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

    /// The chain's protocol version.
    pub fn version(&self) -> u8 {
        self.genesis.version
    }

    /// The receipt version of the chain's blocks: 3 (the layout without the signer section)
    /// on a version 3 chain, 5 on a version 4 one.
    pub fn receipt_version(&self) -> u8 {
        if self.version() >= kexin_types::protocol::V4 {
            kexin_types::RECEIPT_VERSION_5
        } else {
            kexin_types::RECEIPT_VERSION_3
        }
    }

    /// A transaction of this chain's format. On a version 4 chain it names the signer's
    /// certificate ([`signer_cert`]), which receipts of version 5 carry; on version 3 it has
    /// none.
    pub fn sign(&self, key: &SigningKey, nonce: u64, payload: Payload) -> Transaction {
        if self.version() < kexin_types::protocol::V4 {
            return sign_v(self.version(), key, nonce, payload);
        }
        let cert = signer_cert(&key.public_key());
        Transaction::sign_versioned(
            self.version(),
            CHAIN_ID,
            key,
            Some((&cert, false)),
            nonce,
            payload,
        )
    }

    /// The signer-certificate section of a receipt for `tx` (version 5 receipts of a chain
    /// with organisations carry it).
    pub fn signer_section(&self, tx: &Transaction) -> Option<SignerCert> {
        (self.version() >= kexin_types::protocol::V4 && tx.cert.is_some()).then(|| SignerCert {
            cert: signer_cert(&tx.signer),
            ca_set: None,
        })
    }

    /// The proven outcome of transaction `tx_index` of block `height` (`None` on a version 3
    /// chain).
    pub fn proven_outcome(&self, height: u64, tx_index: usize) -> Option<ProvenOutcome> {
        let block = self.block(height);
        block.header.outcomes_root?;
        let leaves: Vec<Hash> = block
            .outcomes
            .iter()
            .map(|(h, o)| o.leaf_hash(self.suite, h))
            .collect();
        let proof = kexin_merkle::inclusion_proof_from_leaves(self.suite, &leaves, tx_index as u64)
            .expect("tx index in range");
        Some(ProvenOutcome {
            outcome: block.outcomes[tx_index].1.clone(),
            proof,
        })
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
                    first_org: None,
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
        // The fixtures pin formats, not execution: each transaction's outcome is a success
        // with the base cost plus one unit per record and one event naming the record count.
        let version = self.genesis.version;
        // Blocks of protocol version 5 write version 5 outcomes.
        let outcome_version = if version >= kexin_types::protocol::V5 {
            kexin_types::outcome::OUTCOME_VERSION_CONTRACTS
        } else {
            kexin_types::outcome::OUTCOME_VERSION
        };
        let outcomes: Vec<(Hash, Outcome)> = txs
            .iter()
            .map(|t| {
                let count = t.records().len();
                let event = Event::new("evidence", "records_attested").with("count", count);
                let o =
                    Outcome::success(10 + count as u64, vec![event]).in_version(outcome_version);
                (t.hash(), o)
            })
            .collect();
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
            outcomes,
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

        let mut out = vec![self.receipt_version(), suite.tag()];
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
        if let Some(p) = self.proven_outcome(height, tx_index) {
            // Version 5: the signer section (the certificate, no CA-set proof), then the
            // outcome and its proof.
            match self.signer_section(tx) {
                None => out.push(0),
                Some(sc) => {
                    out.push(1);
                    out.extend_from_slice(&(sc.cert.as_bytes().len() as u16).to_be_bytes());
                    out.extend_from_slice(sc.cert.as_bytes());
                    out.push(0);
                }
            }
            let outcome = p.outcome.encode();
            out.extend_from_slice(&(outcome.len() as u32).to_be_bytes());
            out.extend(outcome);
            put_proof(&mut out, &p.proof);
        }
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
            outcome: self.proven_outcome(height, tx_index),
            version: self.receipt_version(),
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
            signer_cert: self.signer_section(tx),
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

/// Stands in for the DER of the certificate of `signer` (opaque to the format; the X.509
/// checks of real ones are `kexin-client`'s).
pub fn signer_cert(signer: &PublicKey) -> CertDer {
    CertDer(format!("conformance certificate DER of {}", signer.to_hex()).into_bytes())
}

/// The conformance chain of a suite at protocol version 3: 4 validators; block 1 holds one
/// transaction of signer 2, block 2 the main transaction ([`sample_tx_v`]) and one of signer 3.
pub fn conformance_chain(suite: Suite) -> TestChain {
    conformance_chain_v(suite, kexin_types::protocol::V3)
}

/// [`conformance_chain`] at protocol version `version`.
pub fn conformance_chain_v(suite: Suite, version: u8) -> TestChain {
    let mut chain = TestChain::with_version(suite, 4, version);
    let tx_b = chain.sign(
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
    let tx_c = chain.sign(
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
    let main = chain.sign(&key(suite, 1), 42, evidence(sample_records(suite)));
    chain.push_block(vec![main, tx_c]);
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
