//! `kexin bench`: a load generator for one node's REST API.
//!
//! Signers and their transactions (records with random digests) are prepared ahead of time
//! on generator threads, so the measurement is of the node: each signer submits its
//! transactions in nonce order as fast as the node accepts them (backing off on 429 and 503),
//! at most `--in-flight` transactions are submitted but not yet committed at any time, and a
//! watcher follows new blocks to time each transaction from submission to commit.
//!
//! `--workload erc20` loads the chain with token transfers on an ERC-20 contract instead
//! (`bench/erc20.rs`).

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{Read as _, Seek as _, SeekFrom};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use clap::{Args, ValueEnum};
use kexin_client::{BlockId, Client, ClientError, random_salt};
use kexin_crypto::{Hash, PublicKey, SigningKey, Suite};
use kexin_types::limits::MAX_RECORDS_PER_TX;
use kexin_types::{Encode as _, EvidenceRecord, RecordMetadata};
use serde::Serialize;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc};

use crate::Cli;
use crate::error::fail;

mod erc20;
mod scale;

/// What `kexin bench` loads the chain with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Workload {
    /// Evidence records with random digests.
    Evidence,
    /// `transfer(to, 1)` calls on an ERC-20 token the benchmark deploys and mints first.
    Erc20,
}

/// `kexin bench`
#[derive(Debug, Args)]
pub struct BenchArgs {
    /// What to submit: evidence records, or ERC-20 token transfers (erc20: deploys a token,
    /// mints to each signer, then each signer sends `transfer(to, 1)` to pseudo-random
    /// recipients; with --nodes, beside the peak signed-transaction phase of the same run).
    #[arg(long, value_enum, default_value_t = Workload::Evidence)]
    workload: Workload,
    /// How long to submit, in seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 10.0)]
    duration: f64,
    /// Evidence records per transaction (1..=4096).
    #[arg(long, value_name = "N", default_value_t = MAX_RECORDS_PER_TX,
          value_parser = clap::value_parser!(u32).range(1..=MAX_RECORDS_PER_TX as i64))]
    records_per_tx: u32,
    /// Concurrent signers, each submitting its own transactions in nonce order.
    #[arg(long, value_name = "K", default_value_t = 4,
          value_parser = clap::value_parser!(u32).range(1..=1024))]
    signers: u32,
    /// Most transactions submitted but not yet committed at once [default: 4 per signer].
    #[arg(long, value_name = "M")]
    in_flight: Option<usize>,
    /// Suite of the node or network started without --node (gm or intl) [default: intl];
    /// with --node the chain's suite is used and this must match it.
    #[arg(long)]
    suite: Option<Suite>,
    /// Without --node: the node directory to create and run [default: a temporary one].
    #[arg(long, value_name = "D")]
    dir: Option<PathBuf>,
    /// Seconds to wait, after submitting stops, for submitted transactions to commit.
    #[arg(long, value_name = "SECONDS", default_value_t = 60)]
    drain_timeout: u64,
    /// Also print the results as one JSON object on the last line.
    #[arg(long)]
    json: bool,
    /// Start a local network of N validators in --dir (created if missing) and measure it:
    /// peak signed tx/s (1 record per tx), peak evidence records/s (--records-per-tx per tx),
    /// latency at half the peak tx rate, and a consensus-only baseline (empty blocks).
    #[arg(long, value_name = "N",
          value_parser = clap::value_parser!(u32).range(1..=kexin_types::limits::MAX_VALIDATORS as i64))]
    nodes: Option<u32>,
    /// Grow one node's ledger to each of these record counts in turn (e.g. `1M,10M,50M`) and
    /// report, at each size: ingest rate, memory under load, disk bytes per record, and the
    /// time a restarted node takes to answer `GET /v1/health`. Uses --dir if given (it must
    /// not hold a node yet).
    #[arg(long, value_name = "SIZES", value_parser = scale::parse_sizes, conflicts_with = "nodes")]
    scale: Option<scale::Sizes>,
    /// With --scale: initialize and run the node with this `kexin` executable instead of
    /// this one (to compare two builds under the same load).
    #[arg(long, value_name = "PATH", requires = "scale")]
    node_exe: Option<PathBuf>,
}

/// The results of `kexin bench --nodes N`; printed as the last line with `--json`.
#[derive(Debug, Serialize)]
struct NetworkReport {
    nodes: u32,
    suite: Suite,
    duration_s: f64,
    /// Peak signed transactions per second finalized (1 record each).
    signed_tx_per_s: f64,
    /// Peak evidence records per second finalized (batched transactions).
    evidence_records_per_s: f64,
    /// Latency at peak signed-transaction load.
    p50_ms: f64,
    p99_ms: f64,
    /// Latency of an open-loop load at half the peak signed-transaction rate.
    p50_ms_at_half_load: f64,
    p99_ms_at_half_load: f64,
    half_load_tx_per_s: f64,
    /// Blocks per second of the same network with empty blocks: consensus alone.
    consensus_only_blocks_per_s: f64,
    /// CPU cores used by each node process during the signed-transaction phase.
    cpu_cores_per_node: Vec<f64>,
    /// Latency at peak evidence-record load.
    records_p50_ms: f64,
    records_p99_ms: f64,
    records_per_tx: u32,
    signed_tx_phase: BenchReport,
    records_phase: BenchReport,
    half_load_phase: BenchReport,
}

/// The results; printed as the last line with `--json`.
#[derive(Debug, Serialize)]
struct BenchReport {
    signed_tx_per_s: f64,
    evidence_records_per_s: f64,
    p50_ms: f64,
    p90_ms: f64,
    p99_ms: f64,
    max_ms: f64,
    /// The longest time during which transactions were pending and no block was finalized
    /// (a stall; more than [`MAX_STALL`] fails the run).
    longest_stall_ms: f64,
    duration_s: f64,
    requested_duration_s: f64,
    records: u64,
    txs: u64,
    submitted_txs: u64,
    submitted_records: u64,
    uncommitted_txs: u64,
    rejected_txs: u64,
    busy_retries: u64,
    records_per_tx: u32,
    signers: u32,
    in_flight: usize,
    suite: Suite,
    node: String,
}

/// A transaction ready to send.
struct Prepared {
    bytes: Vec<u8>,
    records: u32,
}

struct Pending {
    submitted: Instant,
    records: u32,
    _permit: OwnedSemaphorePermit,
}

#[derive(Default)]
struct State {
    pending: BTreeMap<Hash, Pending>,
    /// Transactions seen in a block before their submission was acknowledged.
    seen_early: BTreeMap<Hash, Instant>,
    latencies_us: Vec<u64>,
    committed_txs: u64,
    committed_records: u64,
    last_commit: Option<Instant>,
    submitted_txs: u64,
    submitted_records: u64,
    rejected_txs: u64,
    busy_retries: u64,
    errors: BTreeMap<String, u64>,
    /// Whether to keep `committed_hashes`.
    keep_hashes: bool,
    committed_hashes: Vec<Hash>,
    /// Transactions in each block seen since the phase started.
    block_txs: Vec<u32>,
    /// Since when transactions have been pending with no block finalized (none pending: None).
    waiting_since: Option<Instant>,
    /// The longest such wait that ended (or the phase ended in).
    longest_stall: Duration,
}

/// The longest stall a run tolerates: transactions pending and no block for longer fails it.
const MAX_STALL: Duration = Duration::from_secs(5);

impl State {
    /// A transaction became pending at `now`.
    fn on_pending(&mut self, now: Instant) {
        if self.waiting_since.is_none() {
            self.waiting_since = Some(now);
        }
    }

    /// A block was finalized (seen) at `now`, after its transactions left `pending`.
    fn on_block(&mut self, now: Instant) {
        self.end_wait(now);
        if !self.pending.is_empty() {
            self.waiting_since = Some(now);
        }
    }

    /// Closes the current wait, if any, at `now`.
    fn end_wait(&mut self, now: Instant) {
        if let Some(since) = self.waiting_since.take() {
            self.longest_stall = self.longest_stall.max(now.saturating_duration_since(since));
        }
    }
}

/// Runs `kexin bench`.
pub async fn run(cli: &Cli, args: &BenchArgs) -> anyhow::Result<()> {
    if !(args.duration > 0.0 && args.duration.is_finite()) {
        return Err(fail(
            "usage",
            "--duration must be a positive number of seconds",
        ));
    }
    if let Some(nodes) = args.nodes {
        if cli.explicit_node().is_some() {
            return Err(fail(
                "usage",
                "--nodes starts its own network; do not give --node",
            ));
        }
        return match args.workload {
            Workload::Evidence => bench_network(args, nodes).await,
            Workload::Erc20 => erc20::bench_network(args, nodes).await,
        };
    }
    if args.scale.is_some() && args.workload != Workload::Evidence {
        return Err(fail(
            "usage",
            "--scale grows a ledger with evidence records: do not give --workload",
        ));
    }
    if let Some(sizes) = &args.scale {
        if cli.explicit_node().is_some() {
            return Err(fail(
                "usage",
                "--scale starts and restarts its own node; do not give --node",
            ));
        }
        let report = scale::run(args, &sizes.0).await?;
        if args.json {
            println!("{}", serde_json::to_string(&report)?);
        }
        return Ok(());
    }
    match cli.explicit_node() {
        Some(url) => match args.workload {
            Workload::Evidence => bench(&url, args).await,
            Workload::Erc20 => erc20::bench(&url, args, None).await,
        },
        None => {
            let suite = args.suite.unwrap_or(kexin_node::DEFAULT_SUITE);
            let mut node = LocalNode::start(args.dir.clone(), suite, None).await?;
            eprintln!(
                "bench: started a {suite} node at {} in {}",
                node.url,
                node.dir.display()
            );
            let url = node.url.clone();
            let result = match args.workload {
                Workload::Evidence => bench(&url, args).await,
                Workload::Erc20 => erc20::bench(&url, args, node.pid().ok()).await,
            };
            node.stop();
            result
        }
    }
}

fn percentile(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1] as f64 / 1000.0
}

/// What each transaction of a phase does.
#[derive(Clone)]
enum Load {
    /// Records this many evidence records with random digests.
    Evidence { records_per_tx: u32 },
    /// Calls `transfer(to, 1)` on a token (one call counts as one record).
    Erc20(Arc<erc20::Transfers>),
}

impl Load {
    /// Records per transaction, as the reports count them.
    fn records_per_tx(&self) -> u32 {
        match self {
            Load::Evidence { records_per_tx } => *records_per_tx,
            Load::Erc20(_) => 1,
        }
    }
}

/// Fills `tx` with transactions of one signer, nonce after nonce, until the receiver is gone.
fn generate(
    version: u8,
    chain_id: String,
    key: SigningKey,
    first_nonce: u64,
    load: Load,
    seed: Hash,
    tx: mpsc::Sender<Prepared>,
) {
    let pk = key.public_key();
    let mut nonce = first_nonce;
    loop {
        let prepared = match &load {
            Load::Evidence { records_per_tx } => {
                evidence_tx(version, &chain_id, &key, &pk, nonce, *records_per_tx, seed)
            }
            Load::Erc20(transfers) => {
                transfers.transfer_tx(version, &chain_id, &key, &pk, nonce, seed)
            }
        };
        if tx.blocking_send(prepared).is_err() {
            return;
        }
        nonce += 1;
    }
}

/// An evidence transaction of `records_per_tx` records with digests from `seed`.
fn evidence_tx(
    version: u8,
    chain_id: &str,
    key: &SigningKey,
    pk: &PublicKey,
    nonce: u64,
    records_per_tx: u32,
    seed: Hash,
) -> Prepared {
    let suite = key.suite();
    let records: Vec<EvidenceRecord> = (0..records_per_tx)
        .map(|i| EvidenceRecord {
            digest: suite.hash_parts(&[
                seed.as_bytes(),
                pk.as_bytes(),
                &nonce.to_be_bytes(),
                &i.to_be_bytes(),
            ]),
            metadata: RecordMetadata {
                salt: random_salt(),
                content_type: "application/octet-stream".into(),
                label: format!("bench-{nonce}-{i}"),
                external_ref: None,
            },
        })
        .collect();
    let t = kexin_client::sign_evidence_versioned(version, chain_id, key, nonce, records);
    Prepared {
        bytes: t.encode(),
        records: records_per_tx,
    }
}

/// One measured run: what load to apply.
struct Phase {
    duration: Duration,
    records_per_tx: u32,
    signers: usize,
    in_flight: usize,
    /// Open loop: submit at this many transactions per second in total (else as fast as
    /// the nodes accept).
    rate_tx_per_s: Option<f64>,
    drain: Duration,
}

/// What one phase measured.
struct PhaseResult {
    report: BenchReport,
    errors: BTreeMap<String, u64>,
    /// The committed transactions, when the phase kept them.
    committed: Vec<Hash>,
    /// Transactions in each block the watcher saw, from the phase's start to its end.
    block_txs: Vec<u32>,
}

/// The chain of the node at `client`, which the load generator can sign for: of `--suite`'s
/// suite if given, and open (the generator signs with bare keys).
async fn open_chain(
    client: &Client,
    args: &BenchArgs,
) -> anyhow::Result<kexin_types::api::ChainInfo> {
    let info = crate::attest::chain_info(client).await?;
    if let Some(s) = args.suite
        && s != info.suite
    {
        return Err(fail(
            "wrong_suite",
            format!("--suite {s} but the node's chain uses {}", info.suite),
        ));
    }
    if info.genesis.is_permissioned() {
        return Err(fail(
            "identity_required",
            format!(
                "chain {} has organisations, and the load generator signs with bare keys: \
                 benchmark an open chain (kexin net up --open, or kexin bench without --node)",
                info.chain_id
            ),
        ));
    }
    Ok(info)
}

async fn bench(url: &str, args: &BenchArgs) -> anyhow::Result<()> {
    let client = Client::new(url)?;
    let info = open_chain(&client, args).await?;
    let signers = args.signers as usize;
    let phase = Phase {
        duration: Duration::from_secs_f64(args.duration),
        records_per_tx: args.records_per_tx,
        signers,
        in_flight: args.in_flight.unwrap_or(4 * signers).max(1),
        rate_tx_per_s: None,
        drain: Duration::from_secs(args.drain_timeout),
    };
    let result = run_phase(&[client], &info, &phase).await?;
    print_phase(&result);
    if args.json {
        println!("{}", serde_json::to_string(&result.report)?);
    }
    if result.report.txs == 0 {
        return Err(fail(
            "no_commits",
            "no transaction was committed during the benchmark",
        ));
    }
    check_stalls(&[&result.report])
}

fn print_phase(result: &PhaseResult) {
    let report = &result.report;
    println!(
        "submitted   {} tx ({} records); rejected {}; busy retries (429/503) {}",
        report.submitted_txs, report.submitted_records, report.rejected_txs, report.busy_retries
    );
    println!(
        "committed   {} tx ({} records) in {:.2}s; {} not committed within the drain timeout",
        report.txs, report.records, report.duration_s, report.uncommitted_txs
    );
    println!(
        "throughput  {:.1} signed tx/s, {:.0} evidence records/s finalized",
        report.signed_tx_per_s, report.evidence_records_per_s
    );
    println!(
        "latency     submit -> committed: p50 {:.0} ms, p90 {:.0} ms, p99 {:.0} ms, max {:.0} ms",
        report.p50_ms, report.p90_ms, report.p99_ms, report.max_ms
    );
    println!(
        "stall       longest {:.0} ms with transactions pending and no block finalized",
        report.longest_stall_ms
    );
    for (e, n) in &result.errors {
        println!("error       {n} x {e}");
    }
}

/// Fails the run when a phase stalled longer than [`MAX_STALL`].
fn check_stalls(reports: &[&BenchReport]) -> anyhow::Result<()> {
    let worst = reports
        .iter()
        .map(|r| r.longest_stall_ms)
        .fold(0.0f64, f64::max);
    if worst > MAX_STALL.as_secs_f64() * 1000.0 {
        return Err(fail(
            "bench_stalled",
            format!(
                "transactions were pending for {worst:.0} ms with no block finalized (at most {} s is tolerated)",
                MAX_STALL.as_secs()
            ),
        ));
    }
    Ok(())
}

/// Applies `phase` through `clients` (signer `i` submits to `clients[i % len]`), timing each
/// transaction from submission to its block on the first client's node.
async fn run_phase(
    clients: &[Client],
    info: &kexin_types::api::ChainInfo,
    phase: &Phase,
) -> anyhow::Result<PhaseResult> {
    let load = Load::Evidence {
        records_per_tx: phase.records_per_tx,
    };
    run_load(clients, info, phase, &load, &[]).await
}

/// [`run_phase`] with transactions of `load`, signed by `keys` (the first `phase.signers`;
/// fresh keys when there are fewer). An erc20 load keeps the committed transactions' hashes.
async fn run_load(
    clients: &[Client],
    info: &kexin_types::api::ChainInfo,
    phase: &Phase,
    load: &Load,
    keys: &[SigningKey],
) -> anyhow::Result<PhaseResult> {
    let client = clients[0].clone();
    let suite = info.suite;
    let signers = phase.signers;
    let in_flight = phase.in_flight;
    let requested = phase.duration;

    // Signers, their first nonces, and generator threads filling a small queue each.
    let seed = suite.hash(SigningKey::generate(suite).public_key().as_bytes());
    let mut receivers = Vec::with_capacity(signers);
    let mut senders_ready = Vec::with_capacity(signers);
    for i in 0..signers {
        let key = match keys.get(i) {
            Some(k) => k.clone(),
            None => SigningKey::generate(suite),
        };
        let first = client.next_nonce(&key.public_key()).await?;
        let (tx, rx) = mpsc::channel::<Prepared>(MAX_BATCH.min(in_flight.div_ceil(signers)).max(4));
        senders_ready.push(tx.clone());
        let chain_id = info.chain_id.clone();
        let version = info.protocol_version;
        let load = load.clone();
        std::thread::Builder::new()
            .name("kexin-bench-gen".into())
            .spawn(move || generate(version, chain_id, key, first, load, seed, tx))
            .context("cannot start a generator thread")?;
        receivers.push(rx);
    }
    // Let the queues fill before the clock starts.
    let fill_deadline = Instant::now() + Duration::from_secs(60);
    while senders_ready.iter().any(|s| s.capacity() > 0) && Instant::now() < fill_deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    drop(senders_ready);

    let start_height = client.health().await?.height;
    let state = Arc::new(Mutex::new(State {
        keep_hashes: matches!(load, Load::Erc20(_)),
        ..State::default()
    }));
    let permits = Arc::new(Semaphore::new(in_flight));
    let stop = Arc::new(AtomicBool::new(false));
    eprintln!(
        "bench: {signers} signer(s), {}, {in_flight} in flight, {:.1}s, suite {suite}, {} node(s){}",
        match load {
            Load::Evidence { records_per_tx } => format!("{records_per_tx} record(s)/tx"),
            Load::Erc20(_) => "erc20 transfer(to, 1) calls".to_owned(),
        },
        requested.as_secs_f64(),
        clients.len(),
        phase
            .rate_tx_per_s
            .map_or(String::new(), |r| format!(", open loop at {r:.0} tx/s"))
    );
    let interval = phase
        .rate_tx_per_s
        .filter(|r| *r > 0.0)
        .map(|r| Duration::from_secs_f64(signers as f64 / r));

    let start = Instant::now();
    let deadline = start + requested;
    let watcher = {
        let client = client.clone();
        let state = state.clone();
        let stop = stop.clone();
        tokio::spawn(watch(
            client,
            state,
            stop,
            start_height,
            deadline,
            phase.drain,
        ))
    };
    let mut submitters = tokio::task::JoinSet::new();
    for (i, rx) in receivers.into_iter().enumerate() {
        let client = clients[i % clients.len()].clone();
        let state = state.clone();
        let permits = permits.clone();
        submitters.spawn(submit_loop(client, rx, state, permits, deadline, interval));
    }
    while let Some(r) = submitters.join_next().await {
        r?;
    }
    stop.store(true, Ordering::SeqCst);
    watcher.await??;

    let mut st = state.lock().expect("bench state lock");
    // Transactions still pending when the drain ended: the wait counts up to now.
    st.end_wait(Instant::now());
    let mut lat = st.latencies_us.clone();
    lat.sort_unstable();
    let end = st
        .last_commit
        .unwrap_or(deadline)
        .max(deadline.min(Instant::now()));
    let measured = end.duration_since(start).as_secs_f64().max(1e-9);
    let report = BenchReport {
        signed_tx_per_s: st.committed_txs as f64 / measured,
        evidence_records_per_s: st.committed_records as f64 / measured,
        p50_ms: percentile(&lat, 50.0),
        p90_ms: percentile(&lat, 90.0),
        p99_ms: percentile(&lat, 99.0),
        max_ms: lat.last().map_or(0.0, |&m| m as f64 / 1000.0),
        longest_stall_ms: st.longest_stall.as_secs_f64() * 1000.0,
        duration_s: measured,
        requested_duration_s: requested.as_secs_f64(),
        records: st.committed_records,
        txs: st.committed_txs,
        submitted_txs: st.submitted_txs,
        submitted_records: st.submitted_records,
        uncommitted_txs: st.pending.len() as u64,
        rejected_txs: st.rejected_txs,
        busy_retries: st.busy_retries,
        records_per_tx: load.records_per_tx(),
        signers: signers as u32,
        in_flight,
        suite,
        node: client.base_url().to_owned(),
    };
    let errors = st.errors.clone();
    Ok(PhaseResult {
        report,
        errors,
        committed: st.committed_hashes.clone(),
        block_txs: st.block_txs.clone(),
    })
}

/// Most transactions a signer sends in one `POST /v1/transactions/batch`.
const MAX_BATCH: usize = 256;
/// A batch is sent once its transactions reach this many encoded bytes (the request, in hex,
/// twice that, stays well below the API's body limit).
const MAX_BATCH_BYTES: usize = 4 << 20;

/// A transaction taken from its generator, holding its in-flight slot.
struct Outgoing {
    prepared: Prepared,
    permit: OwnedSemaphorePermit,
}

/// One signer: sends its transactions in nonce order, in batches of whatever is ready (closed
/// loop) or of what is due (open loop at one transaction per `interval`), and resends the
/// ones the node was too busy to take.
async fn submit_loop(
    client: Client,
    mut rx: mpsc::Receiver<Prepared>,
    state: Arc<Mutex<State>>,
    permits: Arc<Semaphore>,
    deadline: Instant,
    interval: Option<Duration>,
) {
    let deadline_tokio = tokio::time::Instant::from_std(deadline);
    let mut consecutive_errors = 0u32;
    let mut next_at = tokio::time::Instant::now();
    let mut retry: Vec<Outgoing> = Vec::new();
    let mut backoff = Duration::from_millis(2);
    while Instant::now() < deadline {
        let due = match interval {
            Some(every) => {
                tokio::select! {
                    () = tokio::time::sleep_until(next_at) => {}
                    () = tokio::time::sleep_until(deadline_tokio) => break,
                }
                let late = tokio::time::Instant::now().saturating_duration_since(next_at);
                let n = 1 + (late.as_nanos() / every.as_nanos().max(1)) as usize;
                next_at += every * n as u32;
                n.min(MAX_BATCH)
            }
            None => MAX_BATCH,
        };
        let mut batch = std::mem::take(&mut retry);
        let mut bytes: usize = batch.iter().map(|o| o.prepared.bytes.len()).sum();
        while batch.len() < due && bytes < MAX_BATCH_BYTES {
            let permit = if batch.is_empty() {
                tokio::select! {
                    p = permits.clone().acquire_owned() => match p { Ok(p) => p, Err(_) => return },
                    () = tokio::time::sleep_until(deadline_tokio) => return,
                }
            } else {
                match permits.clone().try_acquire_owned() {
                    Ok(p) => p,
                    Err(_) => break,
                }
            };
            let prepared = if batch.is_empty() {
                match rx.recv().await {
                    Some(p) => p,
                    None => return,
                }
            } else {
                match rx.try_recv() {
                    Ok(p) => p,
                    Err(_) => break,
                }
            };
            bytes += prepared.bytes.len();
            batch.push(Outgoing { prepared, permit });
        }
        let t0 = Instant::now();
        let encoded: Vec<&[u8]> = batch.iter().map(|o| o.prepared.bytes.as_slice()).collect();
        match client.submit_batch_encoded(&encoded).await {
            Ok(answer) => {
                consecutive_errors = 0;
                {
                    let mut st = state.lock().expect("bench state lock");
                    for (out, result) in batch.into_iter().zip(answer.results) {
                        match (result.hash, result.error) {
                            (Some(hash), None) => accepted(&mut st, hash, out, t0),
                            (_, Some(e)) if e.code == "mempool_full" => {
                                st.busy_retries += 1;
                                retry.push(out);
                            }
                            (_, e) => {
                                st.rejected_txs += 1;
                                let e = e.map_or("no hash in the answer".into(), |e| {
                                    format!("{}: {}", e.code, e.message)
                                });
                                *st.errors.entry(e).or_default() += 1;
                            }
                        }
                    }
                }
                if retry.is_empty() {
                    backoff = Duration::from_millis(2);
                } else {
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_millis(100));
                }
            }
            Err(e) if busy(&e) => {
                state.lock().expect("bench state lock").busy_retries += batch.len() as u64;
                retry = batch;
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_millis(100));
            }
            Err(e) => {
                {
                    let mut st = state.lock().expect("bench state lock");
                    st.rejected_txs += batch.len() as u64;
                    *st.errors
                        .entry(format!("{}: {}", e.code(), e.message()))
                        .or_default() += batch.len() as u64;
                }
                consecutive_errors += 1;
                if consecutive_errors >= 20 {
                    tracing::error!(error = %e, "bench: too many consecutive errors; signer stops");
                    return;
                }
            }
        }
    }
}

/// Records an admitted transaction as in flight (or as committed, if its block came first).
fn accepted(st: &mut State, hash: Hash, out: Outgoing, t0: Instant) {
    st.submitted_txs += 1;
    st.submitted_records += out.prepared.records as u64;
    if let Some(seen) = st.seen_early.remove(&hash) {
        let us = seen.saturating_duration_since(t0).as_micros() as u64;
        st.latencies_us.push(us);
        st.committed_txs += 1;
        st.committed_records += out.prepared.records as u64;
        st.last_commit = Some(st.last_commit.map_or(seen, |l| l.max(seen)));
        if st.keep_hashes {
            st.committed_hashes.push(hash);
        }
    } else {
        st.pending.insert(
            hash,
            Pending {
                submitted: t0,
                records: out.prepared.records,
                _permit: out.permit,
            },
        );
        st.on_pending(Instant::now());
    }
}

/// 429 (mempool full), 503 (not ready) and connection trouble: try the same request again.
fn busy(e: &ClientError) -> bool {
    e.is_transient()
}

/// Follows new blocks and matches their transactions with the pending ones.
async fn watch(
    client: Client,
    state: Arc<Mutex<State>>,
    stop: Arc<AtomicBool>,
    start_height: u64,
    deadline: Instant,
    drain: Duration,
) -> anyhow::Result<()> {
    let mut next = start_height + 1;
    let mut stopped_at: Option<Instant> = None;
    loop {
        if stop.load(Ordering::SeqCst) && stopped_at.is_none() {
            stopped_at = Some(Instant::now().max(deadline));
        }
        let height = match client.health().await {
            Ok(h) => h.height,
            Err(e) if e.is_transient() => next - 1,
            Err(e) => return Err(e.into()),
        };
        while next <= height {
            let block = match client.block(BlockId::Height(next)).await {
                Ok(b) => b,
                Err(e) if e.is_transient() || e.is_not_found() => break,
                Err(e) => return Err(e.into()),
            };
            let now = Instant::now();
            let mut st = state.lock().expect("bench state lock");
            st.block_txs.push(block.transactions.len() as u32);
            for h in &block.transactions {
                if let Some(p) = st.pending.remove(h) {
                    let us = now.duration_since(p.submitted).as_micros() as u64;
                    st.latencies_us.push(us);
                    st.committed_txs += 1;
                    st.committed_records += p.records as u64;
                    st.last_commit = Some(now);
                    if st.keep_hashes {
                        st.committed_hashes.push(*h);
                    }
                } else {
                    st.seen_early.insert(*h, now);
                }
            }
            st.on_block(now);
            // Forget foreign transactions after a while.
            st.seen_early
                .retain(|_, t| now.duration_since(*t) < Duration::from_secs(120));
            drop(st);
            next += 1;
        }
        if let Some(t) = stopped_at {
            let empty = state.lock().expect("bench state lock").pending.is_empty();
            if empty || Instant::now() >= t + drain {
                return Ok(());
            }
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// A node started for the benchmark: `kexin node run --dir D` as a child process.
struct LocalNode {
    child: Option<Child>,
    dir: PathBuf,
    url: String,
    _tmp: Option<tempfile::TempDir>,
}

impl LocalNode {
    /// Starts `kexin node run` (of `exe`, else this executable) in `dir` (else a temporary
    /// directory), initializing the node first if the directory holds none.
    async fn start(
        dir: Option<PathBuf>,
        suite: Suite,
        exe: Option<&Path>,
    ) -> anyhow::Result<LocalNode> {
        let (dir, tmp) = match dir {
            Some(d) => (d, None),
            None => {
                let t = tempfile::Builder::new()
                    .prefix("kexin-bench-")
                    .tempdir()
                    .context("cannot create a temporary node directory")?;
                (t.path().to_owned(), Some(t))
            }
        };
        let initialized = dir.join("genesis.json").exists();
        if initialized {
            eprintln!("bench: using the existing node in {}", dir.display());
        } else if let Some(exe) = exe {
            let status = Command::new(exe)
                .args(["node", "init", "--api", "127.0.0.1:0", "--dir"])
                .arg(&dir)
                .arg("--suite")
                .arg(suite.to_string())
                .stdout(Stdio::null())
                .status()
                .with_context(|| format!("cannot run {}", exe.display()))?;
            if !status.success() {
                anyhow::bail!("`{} node init` failed ({status})", exe.display());
            }
        } else {
            let api: SocketAddr = "127.0.0.1:0".parse().expect("valid address");
            crate::node::init(dir.clone(), suite, None, api)
                .with_context(|| format!("cannot initialize a node in {}", dir.display()))?;
        }
        let url_file = dir.join("api-url");
        let _ = std::fs::remove_file(&url_file);
        let log_path = dir.join("node.log");
        let log = File::create(&log_path)
            .with_context(|| format!("cannot create {}", log_path.display()))?;
        let exe = match exe {
            Some(e) => e.to_path_buf(),
            None => std::env::current_exe().context("cannot find the kexin executable")?,
        };
        let child = Command::new(exe)
            .args(["node", "run", "--dir"])
            .arg(&dir)
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .context("cannot start `kexin node run`")?;
        let mut node = LocalNode {
            child: Some(child),
            dir,
            url: String::new(),
            _tmp: tmp,
        };
        node.url = node.wait_ready(&url_file, &log_path).await?;
        Ok(node)
    }

    async fn wait_ready(&mut self, url_file: &Path, log_path: &Path) -> anyhow::Result<String> {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(child) = self.child.as_mut()
                && let Some(status) = child.try_wait()?
            {
                return Err(fail(
                    "node_failed",
                    format!(
                        "the node exited ({status}); its log ends with:\n{}",
                        tail(log_path)
                    ),
                ));
            }
            if let Ok(url) = std::fs::read_to_string(url_file) {
                let url = url.trim().to_owned();
                if !url.is_empty() {
                    let c = Client::new(&url)?;
                    if c.health().await.is_ok() {
                        return Ok(url);
                    }
                }
            }
            if Instant::now() >= deadline {
                return Err(fail(
                    "node_failed",
                    format!(
                        "the node did not become ready within 60s; its log ends with:\n{}",
                        tail(log_path)
                    ),
                ));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The node process's id.
    fn pid(&self) -> anyhow::Result<u32> {
        self.child
            .as_ref()
            .map(Child::id)
            .ok_or_else(|| anyhow::anyhow!("the benchmark's node is not running"))
    }

    /// Asks the node to stop (SIGINT), then kills it if it has not exited within 10 s.
    fn stop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        let _ = Command::new("kill")
            .args(["-INT", &child.id().to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = child.kill();
        let _ = child.wait();
    }
}

impl Drop for LocalNode {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// The last few KiB of a log file.
fn tail(path: &Path) -> String {
    let Ok(mut f) = File::open(path) else {
        return "(no log)".into();
    };
    let len = f.metadata().map(|m| m.len()).unwrap_or(0);
    let _ = f.seek(SeekFrom::Start(len.saturating_sub(4096)));
    let mut s = String::new();
    let _ = f.read_to_string(&mut s);
    s
}

/// CPU time (user + system) of a process in seconds, from `/proc/PID/stat`.
fn cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (which may contain spaces) start after the last ')'.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / 100.0)
}

/// CPU seconds used so far by each of `pids`.
fn cpu_snapshot(pids: &[u32]) -> Vec<Option<f64>> {
    pids.iter().map(|&p| cpu_seconds(p)).collect()
}

/// CPU cores each of `pids` used on average since `t0`, when `before` was taken.
fn cpu_cores_since(pids: &[u32], before: Vec<Option<f64>>, t0: Instant) -> Vec<f64> {
    let wall = t0.elapsed().as_secs_f64().max(1e-9);
    pids.iter()
        .zip(before)
        .map(|(&p, before)| match (before, cpu_seconds(p)) {
            (Some(b), Some(a)) => (a - b) / wall,
            _ => 0.0,
        })
        .collect()
}

/// The network a `--nodes` run measures: N validators in `--dir` (or a temporary directory,
/// kept while this lives), with a client of each node.
struct BenchNet {
    dir: PathBuf,
    net: crate::net::LocalNet,
    clients: Vec<Client>,
    _tmp: Option<tempfile::TempDir>,
}

/// Starts the network of a `--nodes` run.
async fn start_bench_net(args: &BenchArgs, nodes: u32) -> anyhow::Result<BenchNet> {
    let suite = args.suite.unwrap_or(kexin_node::DEFAULT_SUITE);
    let (dir, tmp) = match &args.dir {
        Some(d) => (d.clone(), None),
        None => {
            let tmp = tempfile::tempdir()?;
            (tmp.path().to_owned(), Some(tmp))
        }
    };
    let n = nodes as usize;
    let net = crate::net::LocalNet::start(&dir.join("net"), n, suite, false).await?;
    eprintln!(
        "bench: {n} validator(s) ({suite}) running in {}",
        dir.join("net").display()
    );
    let clients = net
        .urls()
        .iter()
        .map(Client::new)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(BenchNet {
        dir,
        net,
        clients,
        _tmp: tmp,
    })
}

/// The peak signed-transaction phase every `--nodes` run starts with: one record per
/// transaction, as fast as the nodes accept, from `--signers` (at least 4 per node) signers
/// with `--in-flight` (default 2,048 per node) transactions in flight.
fn peak_signed_phase(args: &BenchArgs, nodes: u32) -> Phase {
    Phase {
        duration: Duration::from_secs_f64(args.duration),
        records_per_tx: 1,
        signers: args.signers.max(4 * nodes) as usize,
        in_flight: args.in_flight.unwrap_or(2048 * nodes as usize).max(1),
        rate_tx_per_s: None,
        drain: Duration::from_secs(args.drain_timeout),
    }
}

/// `kexin bench --nodes N`: the four measurements of a local network.
async fn bench_network(args: &BenchArgs, nodes: u32) -> anyhow::Result<()> {
    let suite = args.suite.unwrap_or(kexin_node::DEFAULT_SUITE);
    let n = nodes as usize;
    let duration = Duration::from_secs_f64(args.duration);
    let drain = Duration::from_secs(args.drain_timeout);

    // The network under test.
    let BenchNet {
        dir,
        net,
        clients,
        _tmp,
    } = start_bench_net(args, nodes).await?;
    let info = crate::attest::chain_info(&clients[0]).await?;
    let outcome = async {
        let peak = peak_signed_phase(args, nodes);
        let signers = peak.signers;

        // 1. Peak signed transactions: one record each, as fast as the nodes accept.
        let cpu_before = cpu_snapshot(&net.pids());
        let t0 = Instant::now();
        let signed = run_phase(&clients, &info, &peak).await?;
        let cpu = cpu_cores_since(&net.pids(), cpu_before, t0);
        eprintln!("bench: peak signed transactions");
        print_phase(&signed);

        // 2. Peak evidence records: batched transactions.
        let records = run_phase(
            &clients,
            &info,
            &Phase {
                duration,
                records_per_tx: args.records_per_tx,
                signers: (args.signers as usize).max(n),
                in_flight: args.in_flight.unwrap_or(8 * n).max(1),
                rate_tx_per_s: None,
                drain,
            },
        )
        .await?;
        eprintln!("bench: peak evidence records");
        print_phase(&records);

        // 3. Half the peak signed-transaction rate, open loop: latency under moderate load.
        let half = (signed.report.signed_tx_per_s / 2.0).max(1.0);
        let half_load = run_phase(
            &clients,
            &info,
            &Phase {
                duration,
                records_per_tx: 1,
                signers,
                in_flight: (half as usize * 4).max(64),
                rate_tx_per_s: Some(half),
                drain,
            },
        )
        .await?;
        eprintln!("bench: half the peak rate ({half:.0} tx/s)");
        print_phase(&half_load);
        anyhow::Ok((signed, records, half_load, cpu))
    }
    .await;
    net.stop().await;
    let (signed, records, half_load, cpu) = outcome?;

    // 4. Consensus alone: the same number of validators proposing empty blocks.
    let baseline = crate::net::LocalNet::start(&dir.join("consensus-only"), n, suite, true).await?;
    let outcome = async {
        let client = Client::new(&baseline.urls()[0])?;
        let h0 = client.health().await?.height;
        let t0 = Instant::now();
        tokio::time::sleep(duration).await;
        let h1 = client.health().await?.height;
        anyhow::Ok((h1.saturating_sub(h0)) as f64 / t0.elapsed().as_secs_f64())
    }
    .await;
    baseline.stop().await;
    let blocks_per_s = outcome?;
    eprintln!("bench: consensus only (empty blocks): {blocks_per_s:.1} blocks/s");

    let report = NetworkReport {
        nodes,
        suite,
        duration_s: args.duration,
        signed_tx_per_s: signed.report.signed_tx_per_s,
        evidence_records_per_s: records.report.evidence_records_per_s,
        p50_ms: signed.report.p50_ms,
        p99_ms: signed.report.p99_ms,
        p50_ms_at_half_load: half_load.report.p50_ms,
        p99_ms_at_half_load: half_load.report.p99_ms,
        half_load_tx_per_s: half_load.report.signed_tx_per_s,
        consensus_only_blocks_per_s: blocks_per_s,
        cpu_cores_per_node: cpu,
        records_p50_ms: records.report.p50_ms,
        records_p99_ms: records.report.p99_ms,
        records_per_tx: args.records_per_tx,
        signed_tx_phase: signed.report,
        records_phase: records.report,
        half_load_phase: half_load.report,
    };
    println!(
        "network     {} validator(s), {}: {:.0} signed tx/s, {:.0} evidence records/s, p99 {:.0} ms at half load, consensus alone {:.1} blocks/s",
        report.nodes,
        report.suite,
        report.signed_tx_per_s,
        report.evidence_records_per_s,
        report.p99_ms_at_half_load,
        report.consensus_only_blocks_per_s
    );
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
    }
    if report.signed_tx_phase.txs == 0 {
        return Err(fail(
            "no_commits",
            "no transaction was committed during the benchmark",
        ));
    }
    check_stalls(&[
        &report.signed_tx_phase,
        &report.records_phase,
        &report.half_load_phase,
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stalls_count_only_while_transactions_wait_for_a_block() {
        let t0 = Instant::now();
        let at = |ms: u64| t0 + Duration::from_millis(ms);
        let pending = |st: &mut State, n: u8| {
            st.pending.insert(
                Hash([n; 32]),
                Pending {
                    submitted: t0,
                    records: 1,
                    _permit: Arc::new(Semaphore::new(1)).try_acquire_owned().unwrap(),
                },
            );
        };
        let mut st = State::default();
        // Nothing pending: blocks and idle time are no stall.
        st.on_block(at(1_000));
        assert_eq!(st.longest_stall, Duration::ZERO);
        // Pending from 2 s, a block at 2.5 s that leaves one pending, the next block at 9 s.
        pending(&mut st, 1);
        st.on_pending(at(2_000));
        pending(&mut st, 2);
        st.on_pending(at(2_100));
        st.pending.remove(&Hash([1; 32]));
        st.on_block(at(2_500));
        assert_eq!(st.longest_stall, Duration::from_millis(500));
        st.pending.remove(&Hash([2; 32]));
        st.on_block(at(9_000));
        assert_eq!(st.longest_stall, Duration::from_millis(6_500));
        // Idle again, then a wait the phase ends in.
        st.on_block(at(20_000));
        pending(&mut st, 3);
        st.on_pending(at(30_000));
        st.end_wait(at(37_000));
        assert_eq!(st.longest_stall, Duration::from_millis(7_000));
        let report = |ms: f64| BenchReport {
            longest_stall_ms: ms,
            ..sample_report()
        };
        assert!(check_stalls(&[&report(5_000.0)]).is_ok());
        let e = check_stalls(&[&report(100.0), &report(5_001.0)]).unwrap_err();
        assert_eq!(crate::error::describe(&e).0, "bench_stalled");
    }

    fn sample_report() -> BenchReport {
        BenchReport {
            signed_tx_per_s: 0.0,
            evidence_records_per_s: 0.0,
            p50_ms: 0.0,
            p90_ms: 0.0,
            p99_ms: 0.0,
            max_ms: 0.0,
            longest_stall_ms: 0.0,
            duration_s: 0.0,
            requested_duration_s: 0.0,
            records: 0,
            txs: 0,
            submitted_txs: 0,
            submitted_records: 0,
            uncommitted_txs: 0,
            rejected_txs: 0,
            busy_retries: 0,
            records_per_tx: 1,
            signers: 1,
            in_flight: 1,
            suite: Suite::Intl,
            node: String::new(),
        }
    }

    #[test]
    fn percentiles() {
        let v: Vec<u64> = (1..=100).map(|x| x * 1000).collect();
        assert_eq!(percentile(&v, 50.0), 50.0);
        assert_eq!(percentile(&v, 90.0), 90.0);
        assert_eq!(percentile(&v, 99.0), 99.0);
        assert_eq!(percentile(&v, 100.0), 100.0);
        assert_eq!(percentile(&[], 50.0), 0.0);
        assert_eq!(percentile(&[7000], 99.0), 7.0);
    }

    #[test]
    fn generator_produces_consecutive_valid_transactions() {
        let key = SigningKey::generate(Suite::Gm);
        let pk = key.public_key();
        let (tx, mut rx) = mpsc::channel(2);
        let h = std::thread::spawn(move || {
            generate(
                kexin_types::FORMAT_VERSION,
                "c".into(),
                key,
                5,
                Load::Evidence { records_per_tx: 3 },
                Hash([1; 32]),
                tx,
            )
        });
        let a = rx.blocking_recv().unwrap();
        let b = rx.blocking_recv().unwrap();
        drop(rx);
        h.join().unwrap();
        let a = kexin_types::decode_transaction(&a.bytes).unwrap();
        let b = kexin_types::decode_transaction(&b.bytes).unwrap();
        assert_eq!((a.nonce, b.nonce), (5, 6));
        assert_eq!(a.signer, pk);
        assert_eq!(a.records().len(), 3);
        assert_ne!(a.records()[0].digest, b.records()[0].digest);
        assert!(kexin_types::SealedTx::new(a).verify("c", Suite::Gm).is_ok());
    }
}
