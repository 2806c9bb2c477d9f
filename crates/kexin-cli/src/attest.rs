//! `kexin attest`: hash inputs, submit evidence transactions, collect and verify receipts.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use clap::Args;
pub use kexin_client::submit::submit_signed;
use kexin_client::submit::{NONCE_RETRIES, follow_upgrade, submit_with_retry};
use kexin_client::{Client, ClientError, Identity, evidence_record, guess_content_type};
use kexin_crypto::{Hash, PublicKey, SigningKey, Suite};
use kexin_types::api::ChainInfo;
use kexin_types::limits::MAX_RECORDS_PER_TX;
use kexin_types::{
    BatchVerifier, EvidenceRecord, Genesis, Payload, Receipt, ReceiptError, Transaction,
    VerifiedReceipt,
};
use serde::Serialize;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::Cli;
use crate::error::fail;
use crate::output::{bytes_progress, count_progress, print_json};

/// Transactions submitted but not yet committed at any time.
const IN_FLIGHT: usize = 4;

/// `kexin attest PATH... [--digest HEX]... --out DIR`
#[derive(Debug, Args)]
pub struct AttestArgs {
    /// Files or directories to attest (directories recursively, in sorted order).
    #[arg(value_name = "PATH", required_unless_present = "digests")]
    paths: Vec<PathBuf>,
    /// A digest (hex, of the chain's hash) to attest without its data; may be repeated.
    #[arg(long = "digest", value_name = "HEX")]
    digests: Vec<String>,
    /// Directory for the receipts: `<file name>.receipt.json` (`<digest>.receipt.json`).
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    /// PKCS#8 PEM signing key, on a chain without organisations [default: $KEXIN_KEY, else
    /// ~/.kexin/client-<suite>.pem, created on first use].
    #[arg(long, value_name = "FILE", conflicts_with = "identity")]
    key: Option<PathBuf>,
    /// Act as the identity in DIR (DIR/cert.pem and DIR/key.pem, e.g. made by `kexin cert
    /// issue`): required on a chain with organisations. The certificate is attached to the
    /// transactions until the chain has registered it.
    #[arg(long, value_name = "DIR")]
    identity: Option<PathBuf>,
    /// Label for every record [default: the file's path relative to its PATH; empty for
    /// --digest].
    #[arg(long, value_name = "L")]
    label: Option<String>,
    /// Content type for every record [default: guessed from the file extension, else
    /// application/octet-stream].
    #[arg(long, value_name = "T")]
    content_type: Option<String>,
    /// Records per transaction (1..=4096).
    #[arg(long, value_name = "N", default_value_t = MAX_RECORDS_PER_TX,
          value_parser = clap::value_parser!(u32).range(1..=MAX_RECORDS_PER_TX as i64))]
    batch: u32,
    /// Seconds to wait for each transaction to be committed.
    #[arg(long, value_name = "SECONDS", default_value_t = 120)]
    timeout: u64,
    /// Overwrite receipts already in DIR.
    #[arg(long)]
    force: bool,
    /// Print the summary as JSON on stdout.
    #[arg(long)]
    json: bool,
}

/// One thing to attest.
#[derive(Debug, Clone)]
struct Input {
    /// The file to hash, or `None` for a given digest.
    file: Option<PathBuf>,
    /// The digest, once known.
    digest: Option<Hash>,
    /// The record label.
    label: String,
    /// The record content type.
    content_type: String,
    /// The receipt file name (without directory), unique within the run.
    receipt_name: String,
    /// What the user calls it in messages.
    display: String,
    size: u64,
}

#[derive(Serialize)]
struct Summary {
    records: usize,
    txs: usize,
    blocks: usize,
    first_height: Option<u64>,
    last_height: Option<u64>,
    elapsed_s: f64,
    out: String,
    receipts: Vec<ReceiptLine>,
}

#[derive(Serialize)]
struct ReceiptLine {
    input: String,
    digest: Hash,
    tx_hash: Hash,
    height: u64,
    receipt: String,
}

/// Lists the files under `dir` recursively, sorted by name at every level. Symbolic links to
/// files are followed; links to directories are not (no cycles). The directory `skip` (the
/// receipts' output directory, canonical) is left out.
fn walk(dir: &Path, skip: Option<&Path>, out: &mut Vec<PathBuf>) -> anyhow::Result<()> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .with_context(|| format!("cannot list {}", dir.display()))?
        .collect::<Result<_, _>>()
        .with_context(|| format!("cannot list {}", dir.display()))?;
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let path = e.path();
        let ft = e
            .file_type()
            .with_context(|| format!("cannot stat {}", path.display()))?;
        if ft.is_dir() {
            if skip.is_some_and(|s| path.canonicalize().is_ok_and(|c| c == s)) {
                eprintln!(
                    "note: skipping {}: it is the --out directory",
                    path.display()
                );
                continue;
            }
            walk(&path, skip, out)?;
        } else if ft.is_file() || (ft.is_symlink() && path.is_file()) {
            out.push(path);
        }
    }
    Ok(())
}

fn relative_label(root: &Path, path: &Path) -> String {
    let rel = path.strip_prefix(root).unwrap_or(path);
    rel.components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join("/")
}

fn collect_inputs(args: &AttestArgs) -> anyhow::Result<Vec<Input>> {
    let mut inputs = Vec::new();
    let out_dir = args.out.canonicalize().ok();
    for p in &args.paths {
        let meta = std::fs::metadata(p).with_context(|| format!("cannot read {}", p.display()))?;
        let files: Vec<(PathBuf, String)> = if meta.is_dir() {
            let mut files = Vec::new();
            walk(p, out_dir.as_deref(), &mut files)?;
            if files.is_empty() {
                eprintln!("note: {} contains no files", p.display());
            }
            files
                .into_iter()
                .map(|f| {
                    let label = relative_label(p, &f);
                    (f, label)
                })
                .collect()
        } else {
            let name = p
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .ok_or_else(|| fail("bad_path", format!("{} has no file name", p.display())))?;
            vec![(p.clone(), name)]
        };
        for (file, label) in files {
            let name = file
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| label.clone());
            let size = std::fs::metadata(&file)
                .with_context(|| format!("cannot read {}", file.display()))?
                .len();
            let content_type = args
                .content_type
                .clone()
                .unwrap_or_else(|| guess_content_type(&file).to_owned());
            inputs.push(Input {
                display: file.display().to_string(),
                file: Some(file),
                digest: None,
                label: args.label.clone().unwrap_or(label),
                content_type,
                receipt_name: name,
                size,
            });
        }
    }
    for d in &args.digests {
        let digest = Hash::from_hex(&d.trim().to_ascii_lowercase())
            .map_err(|e| fail("bad_digest", format!("--digest {d:?}: {e}")))?;
        inputs.push(Input {
            file: None,
            digest: Some(digest),
            label: args.label.clone().unwrap_or_default(),
            content_type: args
                .content_type
                .clone()
                .unwrap_or_else(|| "application/octet-stream".to_owned()),
            receipt_name: digest.to_hex(),
            display: format!("digest {digest}"),
            size: 0,
        });
    }
    disambiguate(&mut inputs);
    Ok(inputs)
}

/// Gives every input a distinct receipt file name: the first input named `x` keeps
/// `x.receipt.json`, later ones get `x~2.receipt.json`, `x~3.receipt.json`, ... in input order.
fn disambiguate(inputs: &mut [Input]) {
    let mut count: BTreeMap<String, usize> = BTreeMap::new();
    for i in inputs.iter() {
        *count.entry(i.receipt_name.clone()).or_default() += 1;
    }
    let mut used: BTreeSet<String> = inputs.iter().map(|i| i.receipt_name.clone()).collect();
    let mut seen: BTreeSet<String> = BTreeSet::new();
    let mut notes: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
    for input in inputs.iter_mut() {
        let name = input.receipt_name.clone();
        if count[&name] < 2 {
            continue;
        }
        let chosen = if seen.insert(name.clone()) {
            name.clone()
        } else {
            let mut n = 2;
            loop {
                let candidate = format!("{name}~{n}");
                if !used.contains(&candidate) {
                    used.insert(candidate.clone());
                    break candidate;
                }
                n += 1;
            }
        };
        notes
            .entry(name)
            .or_default()
            .push((input.display.clone(), format!("{chosen}.receipt.json")));
        input.receipt_name = chosen;
    }
    for (name, list) in notes {
        eprintln!(
            "note: {} inputs are named {name:?}; their receipts are:",
            list.len()
        );
        for (input, receipt) in list {
            eprintln!("  {input} -> {receipt}");
        }
    }
}

fn receipt_path(out: &Path, input: &Input) -> PathBuf {
    out.join(format!("{}.receipt.json", input.receipt_name))
}

/// Hashes the file inputs on a blocking thread, with a progress bar.
async fn hash_inputs(suite: Suite, inputs: Vec<Input>) -> anyhow::Result<Vec<Input>> {
    tokio::task::spawn_blocking(move || {
        let total: u64 = inputs.iter().map(|i| i.size).sum();
        let bar = bytes_progress(total, &format!("hashing ({})", suite.hash_name()));
        let mut out = Vec::with_capacity(inputs.len());
        for mut input in inputs {
            if let Some(file) = &input.file {
                let d = kexin_client::hash_file_with_progress(suite, file, |n| bar.inc(n))?;
                input.digest = Some(d);
            }
            out.push(input);
        }
        bar.finish_and_clear();
        Ok(out)
    })
    .await?
}

/// Who signs: a bare key (chains without organisations) or an identity.
pub enum Signer {
    /// A key, no certificate.
    Key(SigningKey),
    /// A certificate and its key; `attach` carries the certificate in every transaction.
    Identity {
        /// The identity (boxed: a parsed certificate is large).
        identity: Box<Identity>,
        /// Whether to attach the certificate (the chain has not registered it yet).
        attach: bool,
    },
}

impl Signer {
    /// The signing public key (whose nonces count).
    pub fn public_key(&self) -> PublicKey {
        match self {
            Signer::Key(k) => k.public_key(),
            Signer::Identity { identity, .. } => identity.public_key(),
        }
    }

    /// Signs an evidence transaction for `info`'s chain in protocol version `version` (the
    /// chain's, as `info` or a later `GET /v1/chain` reported it).
    pub fn sign(
        &self,
        info: &ChainInfo,
        version: u8,
        nonce: u64,
        records: Vec<EvidenceRecord>,
    ) -> Transaction {
        let chain_id = info.chain_id.as_str();
        match self {
            Signer::Key(k) => {
                kexin_client::sign_evidence_versioned(version, chain_id, k, nonce, records)
            }
            Signer::Identity { identity, attach } => identity.sign_versioned(
                version,
                chain_id,
                nonce,
                Payload::Evidence { records },
                *attach,
            ),
        }
    }
}

/// Loads the identity in `dir`, refusing one whose key is not of the suite of `info`'s chain.
pub(crate) fn load_identity(info: &ChainInfo, dir: &Path) -> anyhow::Result<Identity> {
    let identity = Identity::load(dir)
        .with_context(|| format!("cannot load the identity in {}", dir.display()))?;
    if identity.suite() != info.suite {
        return Err(fail(
            "wrong_suite",
            format!(
                "the chain uses the {} suite, but the identity in {} holds a {} key",
                info.suite,
                dir.display(),
                identity.suite()
            ),
        ));
    }
    Ok(identity)
}

/// Loads the identity in `dir` for the chain of `info`, and whether its certificate must be
/// attached (the chain has not registered it yet). Refuses an open chain and a key of the
/// wrong suite.
pub async fn identity_for(
    client: &Client,
    info: &ChainInfo,
    dir: &Path,
) -> anyhow::Result<(Identity, bool)> {
    if !info.genesis.is_permissioned() {
        return Err(fail(
            "no_organisations",
            format!(
                "chain {} has no organisations, so transactions cannot act under a \
                 certificate; sign with --key instead of --identity",
                info.chain_id
            ),
        ));
    }
    let identity = load_identity(info, dir)?;
    let registered = client.cert(&identity.id()).await.with_context(|| {
        format!(
            "cannot look up certificate {} in the registry",
            identity.id()
        )
    })?;
    Ok((identity, registered.is_none()))
}

/// The `identity_required` error for a chain with organisations signed without an identity.
pub fn identity_required(info: &ChainInfo) -> anyhow::Error {
    let orgs: Vec<&str> = info
        .genesis
        .organisations
        .iter()
        .map(|o| o.name.as_str())
        .collect();
    fail(
        "identity_required",
        format!(
            "chain {} is a consortium of {} organisation(s) ({}): transactions must act under \
             a certificate; pass --identity DIR holding cert.pem and key.pem issued by your \
             organisation's CA (kexin cert issue; a network made by kexin net up --dir D has \
             D/org1/writer)",
            info.chain_id,
            orgs.len(),
            orgs.join(", ")
        ),
    )
}

struct BatchOutcome {
    indices: Vec<usize>,
    tx_hash: Hash,
    result: Result<Vec<Receipt>, anyhow::Error>,
}

/// Waits for a transaction to be committed and fetches its receipts. On a chain with
/// organisations the node withholds the records' metadata from the writer (only readers of its
/// organisation and auditors see it through the API); the writer recorded that metadata
/// itself, so it completes each receipt with it — checked against the metadata hash the
/// receipt proves, by the offline verification that follows.
/// Whether a batch failed because its nonce was taken by another transaction of the signer
/// (rejected at submission, or dropped as a replay after it).
fn is_replay(result: &Result<Vec<Receipt>, anyhow::Error>) -> bool {
    matches!(result, Err(e)
        if e.downcast_ref::<ClientError>()
            .is_some_and(|c| matches!(c.code(), "nonce_replayed" | "nonce_conflict")))
}

async fn finalize(
    client: Client,
    tx_hash: Hash,
    records: Vec<EvidenceRecord>,
    timeout: Duration,
) -> Result<Vec<Receipt>, anyhow::Error> {
    client.wait_committed(&tx_hash, timeout).await?;
    // The receipts endpoint can briefly lag the transaction index; retry a 404 for a moment.
    let start = Instant::now();
    let receipts = loop {
        match client.receipts(&tx_hash).await {
            Ok(r) => break r,
            Err(e)
                if (e.is_not_found() || e.is_transient())
                    && start.elapsed() < Duration::from_secs(10) =>
            {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(e) => return Err(e.into()),
        }
    };
    if receipts.tx_hash != tx_hash || receipts.receipts.len() != records.len() {
        return Err(fail(
            "bad_receipt",
            format!(
                "the node returned {} receipt(s) for transaction {} with {} record(s)",
                receipts.receipts.len(),
                receipts.tx_hash,
                records.len()
            ),
        ));
    }
    let mut out = receipts.receipts;
    for (i, (r, rec)) in out.iter_mut().zip(&records).enumerate() {
        let suite = r.suite;
        let same = r.record.digest == rec.digest
            && r.record.metadata_hash == rec.metadata_hash(suite)
            && r.record
                .metadata
                .as_ref()
                .is_none_or(|m| *m == rec.metadata);
        if !same || r.record_proof.leaf_index != i as u64 || r.transaction.hash != tx_hash {
            return Err(fail(
                "bad_receipt",
                format!("receipt {i} of transaction {tx_hash} is not for the record submitted"),
            ));
        }
        r.record.metadata = Some(rec.metadata.clone());
    }
    Ok(out)
}

fn write_receipt(path: &Path, receipt: &Receipt) -> anyhow::Result<()> {
    crate::output::write_json_file(path, &receipt.to_json())
}

/// Verifies receipts on every core (each thread with its own certificate cache), in order.
fn verify_all(
    genesis: &Genesis,
    receipts: &[&Receipt],
) -> Vec<Result<VerifiedReceipt, ReceiptError>> {
    if receipts.is_empty() {
        return Vec::new();
    }
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(receipts.len());
    let chunk = receipts.len().div_ceil(threads);
    std::thread::scope(|s| {
        let handles: Vec<_> = receipts
            .chunks(chunk)
            .map(|part| {
                s.spawn(move || {
                    let mut v = BatchVerifier::new(genesis);
                    part.iter().map(|r| v.verify(r)).collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("receipt verifier thread panicked"))
            .collect()
    })
}

/// Keeps the genesis beside the receipts (`DIR/genesis.json`) for `kexin verify --genesis`,
/// unless a file of that name is there already.
fn save_genesis(out: &Path, genesis: &Genesis) {
    let path = out.join("genesis.json");
    match std::fs::read_to_string(&path) {
        Ok(existing) => {
            if Genesis::from_json(&existing).ok().as_ref() != Some(genesis) {
                eprintln!(
                    "note: {} is not this chain's genesis; it was left as it is",
                    path.display()
                );
            }
        }
        Err(_) => {
            let text = format!("{}\n", genesis.to_json());
            if let Err(e) = std::fs::write(&path, text) {
                eprintln!("note: cannot save the genesis to {}: {e}", path.display());
            }
        }
    }
}

/// Fetches `/v1/chain` and checks it is self-consistent.
pub async fn chain_info(client: &Client) -> anyhow::Result<ChainInfo> {
    let info = client.chain().await.with_context(|| {
        format!(
            "cannot get the chain's parameters from {}",
            client.base_url()
        )
    })?;
    kexin_client::check_chain_info(&info)?;
    Ok(info)
}

/// Runs `kexin attest`.
pub async fn run(cli: &Cli, args: &AttestArgs) -> anyhow::Result<()> {
    let started = Instant::now();
    let mut inputs = collect_inputs(args)?;
    if inputs.is_empty() {
        return Err(fail(
            "no_input",
            "nothing to attest: the given paths hold no files",
        ));
    }
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("cannot create {}", args.out.display()))?;
    if !args.force {
        let existing: Vec<String> = inputs
            .iter()
            .map(|i| receipt_path(&args.out, i))
            .filter(|p| p.exists())
            .map(|p| p.display().to_string())
            .collect();
        if !existing.is_empty() {
            return Err(fail(
                "exists",
                format!(
                    "{} receipt(s) already exist (e.g. {}); use --force to replace them or \
                     choose another --out",
                    existing.len(),
                    existing[0]
                ),
            ));
        }
    }

    let client = Client::new(cli.node_url())?;
    let info = chain_info(&client).await?;
    let suite = info.suite;
    let signer = match &args.identity {
        Some(dir) => {
            let (identity, attach) = identity_for(&client, &info, dir).await?;
            if attach {
                tracing::debug!(
                    cert = %identity.id(),
                    "certificate not registered yet: attaching it to the transactions"
                );
            }
            Signer::Identity {
                identity: Box::new(identity),
                attach,
            }
        }
        None if info.genesis.is_permissioned() => return Err(identity_required(&info)),
        None => Signer::Key(crate::keys::signing_key(args.key.as_deref(), suite)?),
    };

    inputs = hash_inputs(suite, inputs).await?;
    let mut records = Vec::with_capacity(inputs.len());
    for input in &inputs {
        let digest = input.digest.expect("every input is hashed");
        let rec = evidence_record(digest, input.label.clone(), input.content_type.clone())
            .map_err(|e| fail("too_large", format!("{}: {e}", input.display)))?;
        records.push(rec);
    }

    let batch = args.batch as usize;
    let batches: Vec<Vec<usize>> = (0..inputs.len())
        .collect::<Vec<_>>()
        .chunks(batch)
        .map(|c| c.to_vec())
        .collect();
    let timeout = Duration::from_secs(args.timeout);
    let signer_key = signer.public_key();
    let mut nonce = client.next_nonce(&signer_key).await?;
    // Followed across a protocol upgrade that passes during the run.
    let mut version = info.protocol_version;
    let permits = Arc::new(Semaphore::new(IN_FLIGHT));
    let mut tasks: JoinSet<BatchOutcome> = JoinSet::new();
    let bar = count_progress(inputs.len() as u64, "attesting");
    let mut submit_error: Option<anyhow::Error> = None;
    let mut tx_count = 0usize;

    for indices in batches {
        let permit = permits.clone().acquire_owned().await?;
        let batch_records: Vec<EvidenceRecord> =
            indices.iter().map(|&i| records[i].clone()).collect();
        let (mut attempt, mut upgrades) = (0, 0);
        let submitted = loop {
            let tx = signer.sign(&info, version, nonce, batch_records.clone());
            match submit_with_retry(&client, &tx, Instant::now() + timeout).await {
                Ok(hash) => {
                    nonce += 1;
                    break Ok(hash);
                }
                Err(e) if upgrades < 2 && follow_upgrade(&client, &e, &mut version).await => {
                    upgrades += 1;
                }
                Err(e)
                    if matches!(e.code(), "nonce_replayed" | "nonce_conflict")
                        && attempt < NONCE_RETRIES =>
                {
                    // Another transaction of this key holds the nonce: committed (the node's
                    // view may lag behind the node that committed it) or still pending there.
                    // Take the next free nonce.
                    attempt += 1;
                    let next = client.next_nonce(&signer_key).await?;
                    tracing::warn!(nonce, next, "nonce already used; re-signing");
                    nonce = next.max(nonce + 1);
                }
                Err(e) => break Err(e),
            }
        };
        let tx_hash = match submitted {
            Ok(h) => h,
            Err(e) => {
                submit_error = Some(anyhow::Error::new(e).context(format!(
                    "submitting {} record(s) starting with {}",
                    indices.len(),
                    inputs[indices[0]].display
                )));
                break;
            }
        };
        tx_count += 1;
        let client = client.clone();
        let bar = bar.clone();
        tasks.spawn(async move {
            let result = finalize(client, tx_hash, batch_records, timeout).await;
            bar.inc(indices.len() as u64);
            drop(permit);
            BatchOutcome {
                indices,
                tx_hash,
                result,
            }
        });
    }

    let mut outcomes = Vec::new();
    while let Some(r) = tasks.join_next().await {
        outcomes.push(r?);
    }
    // A node that lags behind the one that committed this signer's previous transaction hands
    // out a nonce already used; the transaction is then dropped as a replay (it can never
    // commit). The same happens when another process signs with this key at the same time.
    // Sign those records again with the next free nonce, in order, a bounded number of times.
    if submit_error.is_none() {
        let mut tried = 0u64;
        for o in outcomes.iter_mut() {
            let batch_records: Vec<EvidenceRecord> =
                o.indices.iter().map(|&i| records[i].clone()).collect();
            let mut attempt = 0;
            while attempt < NONCE_RETRIES && is_replay(&o.result) {
                attempt += 1;
                let next = client.next_nonce(&signer_key).await?.max(tried + 1);
                tried = next;
                tracing::warn!(tx = %o.tx_hash, next, "transaction dropped as a nonce replay; re-signing");
                let mut tx = signer.sign(&info, version, next, batch_records.clone());
                let mut submitted = submit_with_retry(&client, &tx, Instant::now() + timeout).await;
                if let Err(e) = &submitted
                    && follow_upgrade(&client, e, &mut version).await
                {
                    tx = signer.sign(&info, version, next, batch_records.clone());
                    submitted = submit_with_retry(&client, &tx, Instant::now() + timeout).await;
                }
                match submitted {
                    Ok(hash) => {
                        o.tx_hash = hash;
                        o.result =
                            finalize(client.clone(), hash, batch_records.clone(), timeout).await;
                    }
                    Err(e) => o.result = Err(e.into()),
                }
            }
        }
    }
    bar.finish_and_clear();
    outcomes.sort_by_key(|o| o.indices[0]);

    // Verify every receipt offline against the genesis before writing it.
    let mut failures: Vec<String> = Vec::new();
    let mut first_failure: Option<anyhow::Error> = None;
    let mut fetched: Vec<(usize, Receipt)> = Vec::new();
    for o in outcomes {
        match o.result {
            Ok(receipts) => fetched.extend(o.indices.iter().copied().zip(receipts)),
            Err(e) => {
                failures.push(format!(
                    "transaction {} ({} record(s)) not finalized: {e:#}",
                    o.tx_hash,
                    o.indices.len()
                ));
                first_failure.get_or_insert(e);
            }
        }
    }
    let genesis = info.genesis.clone();
    let (fetched, verified) = tokio::task::spawn_blocking(move || {
        let receipts: Vec<&Receipt> = fetched.iter().map(|(_, r)| r).collect();
        let verified = verify_all(&genesis, &receipts);
        (fetched, verified)
    })
    .await?;
    let mut lines: Vec<ReceiptLine> = Vec::new();
    let mut heights: BTreeSet<u64> = BTreeSet::new();
    for ((i, receipt), result) in fetched.iter().zip(verified) {
        let input = &inputs[*i];
        match result {
            Ok(v) => {
                let path = receipt_path(&args.out, input);
                write_receipt(&path, receipt)?;
                heights.insert(v.height);
                lines.push(ReceiptLine {
                    input: input.display.clone(),
                    digest: v.digest,
                    tx_hash: v.tx_hash,
                    height: v.height,
                    receipt: path.display().to_string(),
                });
            }
            Err(e) => {
                failures.push(format!(
                    "receipt for {} does not verify: {}: {e}",
                    input.display,
                    e.code()
                ));
                first_failure.get_or_insert(e.into());
            }
        }
    }
    save_genesis(&args.out, &info.genesis);

    let summary = Summary {
        records: lines.len(),
        txs: tx_count,
        blocks: heights.len(),
        first_height: heights.first().copied(),
        last_height: heights.last().copied(),
        elapsed_s: started.elapsed().as_secs_f64(),
        out: args.out.display().to_string(),
        receipts: lines,
    };
    // Nothing attested: the error alone says what happened (a summary of "0 of N record(s)
    // ... receipts verified and written" beside it would read as a partial success).
    if summary.records > 0 && args.json {
        print_json(&summary)?;
    } else if summary.records > 0 {
        if summary.receipts.len() <= 50 {
            for l in &summary.receipts {
                println!(
                    "{}  {}  height {}  -> {}",
                    l.digest, l.input, l.height, l.receipt
                );
            }
        }
        let heights = match (summary.first_height, summary.last_height) {
            (Some(a), Some(b)) if a == b => format!(" (height {a})"),
            (Some(a), Some(b)) => format!(" (heights {a}..{b})"),
            _ => String::new(),
        };
        println!(
            "attested {} of {} record(s) in {} transaction(s), {} block(s){heights}, {:.2}s; \
             receipts verified and written to {} (with the chain's genesis.json)",
            summary.records,
            inputs.len(),
            summary.txs,
            summary.blocks,
            summary.elapsed_s,
            summary.out
        );
    }
    for f in &failures {
        eprintln!("failed: {f}");
    }
    if let Some(e) = submit_error {
        return Err(e);
    }
    if let Some(e) = first_failure {
        let total = inputs.len();
        return Err(e.context(format!(
            "{} of {total} record(s) were not finalized with a verified receipt",
            total - summary.records
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(name: &str) -> Input {
        Input {
            file: None,
            digest: None,
            label: name.into(),
            content_type: String::new(),
            receipt_name: name.into(),
            display: name.into(),
            size: 0,
        }
    }

    #[test]
    fn duplicate_names_get_deterministic_suffixes() {
        let mut v = vec![
            input("a.txt"),
            input("b.txt"),
            input("a.txt"),
            input("a.txt~2"),
            input("a.txt"),
        ];
        disambiguate(&mut v);
        let names: Vec<_> = v.iter().map(|i| i.receipt_name.as_str()).collect();
        assert_eq!(names, ["a.txt", "b.txt", "a.txt~3", "a.txt~2", "a.txt~4"]);
    }

    #[test]
    fn walk_is_sorted_and_recursive() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("b/c")).unwrap();
        for f in ["z.txt", "a.txt", "b/c/x.bin", "b/y.pdf"] {
            std::fs::write(root.join(f), f).unwrap();
        }
        let mut files = Vec::new();
        walk(
            root,
            Some(&root.join("b/c").canonicalize().unwrap()),
            &mut files,
        )
        .unwrap();
        let labels: Vec<String> = files.iter().map(|f| relative_label(root, f)).collect();
        assert_eq!(labels, ["a.txt", "b/y.pdf", "z.txt"]);
    }
}
