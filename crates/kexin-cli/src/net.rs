//! `kexin net`: a local network of validators on one machine, for development and tests.
//!
//! A network directory `D` holds the shared `genesis.json`, `net.pid` (the foreground
//! `kexin net up` process, while it runs) and one node directory `node-{i}` per validator,
//! made by [`kexin_node::init_network`]. Each node runs as its own `kexin node run` process in
//! its own process group, logging to `node-{i}/node.log`, its pid in `node-{i}/pid`.
//!
//! Process handling is Linux's: liveness is read from `/proc` (a pid counts as a node only
//! while its command line names `kexin`, so a recycled pid is never signalled) and signals are
//! sent with `kill(1)`. Nothing here touches a node's data; `net down` only stops processes.

use std::io::Write as _;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use clap::{Args, Subcommand};
use kexin_crypto::Suite;
use kexin_node::layout;
use kexin_types::Genesis;
use kexin_types::api::ExpiringCert;
use serde::Serialize;
use serde_json::Value;
use tokio::signal::unix::{Signal, SignalKind, signal};

use crate::error::fail;
use crate::output::print_json;

/// How long a starting node may take to answer its health check.
const READY_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a stopping process may take after SIGTERM before it gets SIGKILL.
const STOP_TIMEOUT: Duration = Duration::from_secs(10);
/// How often processes and health checks are polled.
const POLL: Duration = Duration::from_millis(100);
/// How long one status request may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
/// Log lines quoted when a node fails to start.
const LOG_TAIL_LINES: usize = 20;
/// The `net up` process's pid file, in the network directory.
const NET_PID: &str = "net.pid";
/// A node's pid file, in its node directory.
const NODE_PID: &str = "pid";
/// A node's log (stdout and stderr, appended), in its node directory.
const NODE_LOG: &str = "node.log";
/// Nodes in a new network unless `--nodes` says otherwise.
const DEFAULT_NODES: usize = 4;

/// `kexin net ...`
#[derive(Debug, Subcommand)]
pub enum NetCommand {
    /// Run a local network in the foreground until Ctrl-C or SIGTERM, creating it first when
    /// D/genesis.json does not exist (else restarting the network in D).
    Up(UpArgs),
    /// Stop the network in D: the `net up` process and every node still running.
    Down {
        /// The network directory.
        #[arg(long, value_name = "D", default_value = "./kexin-net")]
        dir: PathBuf,
        /// Print `{"dir", "stopped": [{"what", "pid", "killed"}]}` as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Show every node of the network in D; exits 1 unless every node answers its health check.
    Status {
        /// The network directory.
        #[arg(long, value_name = "D", default_value = "./kexin-net")]
        dir: PathBuf,
        /// Print `{"nodes":[...]}` as JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Add a node for organisation ORG to the network in D: the next D/node-I with a new key,
    /// a node certificate from D/ORG's CA and the peers' addresses. It follows the chain as an
    /// observer (start it with `kexin net start-node I`) until governance adds its key as a
    /// validator; the command prints the `kexin gov propose add-validator` line to use.
    AddNode {
        /// The network directory.
        #[arg(long, value_name = "D", default_value = "./kexin-net")]
        dir: PathBuf,
        /// The organisation operating it (its CA must be in D/ORG, e.g. made by `kexin ca
        /// init --out D/ORG` and admitted by `kexin gov propose add-org`).
        #[arg(long)]
        org: String,
        /// Its name [default: nodeI].
        #[arg(long)]
        name: Option<String>,
        /// Print the result as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Start node I of the network in D in the background (e.g. after it crashed) and wait
    /// until it serves.
    StartNode {
        /// The node's index (its directory is D/node-I).
        #[arg(value_name = "I")]
        index: usize,
        /// The network directory.
        #[arg(long, value_name = "D", default_value = "./kexin-net")]
        dir: PathBuf,
        /// Print `{"index", "url", "pid"}` as JSON.
        #[arg(long)]
        json: bool,
    },
}

/// `kexin net up`
#[derive(Debug, Args)]
pub struct UpArgs {
    /// How many validators a new network has [default: 4]; must match an existing network.
    #[arg(long, value_name = "N",
          value_parser = clap::value_parser!(u32).range(1..=kexin_types::limits::MAX_VALIDATORS as i64))]
    nodes: Option<u32>,
    /// Cryptographic suite of a new network: `gm` (SM2/SM3/SM4) or `intl`
    /// (Ed25519/SHA-256/AES-GCM) [default: intl, as `kexin node init`]; must match an existing
    /// network.
    #[arg(long)]
    suite: Option<Suite>,
    /// The network directory.
    #[arg(long, value_name = "D", default_value = "./kexin-net")]
    dir: PathBuf,
    /// Chain id of a new network [default: kexin-net-<random>]; must match an existing one.
    #[arg(long, value_name = "ID")]
    chain_id: Option<String>,
    /// Read-only nodes of a new network, after the validators (`node-N` ...): they follow
    /// the chain, verify every finalized block and serve the API, but do not vote.
    #[arg(long, value_name = "K", default_value_t = 0,
          value_parser = clap::value_parser!(u32).range(0..=16))]
    observers: u32,
    /// Create an open chain: no organisations, so any key may submit evidence and no
    /// certificate is checked. For development and benchmarks only [default: a consortium of
    /// organisations org1..orgN, one per validator, with their CAs in D/orgK].
    #[arg(long)]
    open: bool,
    /// Blocks per consensus epoch of a new network: validator changes passed by governance
    /// take effect at the next multiple of it [default: 1000].
    #[arg(long, value_name = "BLOCKS",
          value_parser = clap::value_parser!(u64).range(
              kexin_types::limits::MIN_EPOCH_LENGTH..=kexin_types::limits::MAX_EPOCH_LENGTH))]
    epoch_length: Option<u64>,
    /// The protocol version a new network starts at [default: the newest, 5]. An older one
    /// (3 or 4) makes a chain that nodes still running an older binary can serve; its
    /// organisations move it forward by vote (docs/operations.md, "Protocol upgrades").
    #[arg(long, value_name = "V",
          value_parser = clap::value_parser!(u8).range(
              kexin_types::protocol::V3 as i64..=kexin_types::protocol::CURRENT as i64))]
    protocol_version: Option<u8>,
    /// Print one JSON document on stdout once every node serves (`{"dir", "chain_id",
    /// "suite", "created", "epoch_length", "protocol_version" (of the genesis), "organisations",
    /// "nodes": [{"index", "url",
    /// "pid"}]}`) instead of the text lines; what follows (nodes exiting, the stop) goes to
    /// stderr. The network still runs until Ctrl-C or `kexin net down`.
    #[arg(long)]
    json: bool,
}

/// Runs a `net` subcommand.
pub async fn run(cmd: &NetCommand) -> anyhow::Result<()> {
    match cmd {
        NetCommand::Up(args) => up(args).await,
        NetCommand::Down { dir, json } => down(dir, *json).await,
        NetCommand::Status { dir, json } => status(dir, *json).await,
        NetCommand::StartNode { index, dir, json } => start_node(dir, *index, *json).await,
        NetCommand::AddNode {
            dir,
            org,
            name,
            json,
        } => add_node(dir, org, name.as_deref(), *json),
    }
}

fn add_node(net: &Path, org: &str, name: Option<&str>, json: bool) -> anyhow::Result<()> {
    open_net(net)?;
    let r = kexin_node::add_node(net, org, name).map_err(|e| fail("add_node", format!("{e:#}")))?;
    let index = node_count(net) - 1;
    if json {
        return print_json(&serde_json::json!({
            "index": index,
            "node_dir": r.node_dir,
            "name": r.name,
            "org": r.org,
            "public_key": r.public_key,
            "p2p_address": r.p2p_addr.to_string(),
            "api": format!("http://{}", r.api_addr),
        }));
    }
    println!(
        "added node {index} ({}) in {}",
        r.name,
        r.node_dir.display()
    );
    println!("  key      {}", r.public_key);
    println!("  p2p      {}", r.p2p_addr);
    println!("  api      http://{}", r.api_addr);
    println!(
        "start it:  kexin net start-node {index} --dir {}",
        net.display()
    );
    println!(
        "make it a validator (an admin of a member organisation proposes, the organisations \
         vote; `kexin cert issue --dir {d} --org {org} --name admin --role admin --out \
         {d}/{org}/admin` makes {org} an admin):\n  kexin gov propose --node URL --identity \
         {d}/{org}/admin add-validator --name {} --org {org} --public-key {} --address {}",
        r.name,
        r.public_key,
        r.p2p_addr,
        d = net.display(),
    );
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// The network directory.

fn node_dir(net: &Path, index: usize) -> PathBuf {
    net.join(format!("node-{index}"))
}

/// The nodes of the network in `net`: `node-0`, `node-1`, ... as long as they have a config.
fn node_count(net: &Path) -> usize {
    (0..)
        .take_while(|&i| node_dir(net, i).join(layout::CONFIG).is_file())
        .count()
}

pub(crate) fn read_genesis(path: &Path) -> anyhow::Result<Genesis> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    Genesis::from_json(&text).map_err(|e| fail("bad_genesis", format!("{}: {e}", path.display())))
}

/// The network's genesis and its node count; an error when `net` holds no network.
fn open_net(net: &Path) -> anyhow::Result<(Genesis, usize)> {
    let genesis_path = net.join(layout::GENESIS);
    if !genesis_path.exists() {
        return Err(fail(
            "not_found",
            format!(
                "no network in {}: {} does not exist (create one with kexin net up --dir {})",
                net.display(),
                genesis_path.display(),
                net.display()
            ),
        ));
    }
    let genesis = read_genesis(&genesis_path)?;
    let n = node_count(net);
    if n == 0 {
        return Err(fail(
            "not_found",
            format!("{} holds a genesis but no node-0 directory", net.display()),
        ));
    }
    Ok((genesis, n))
}

fn read_pid(path: &Path) -> Option<u32> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

/// Writes `pid` to `path` whole or not at all.
fn write_pid(path: &Path, pid: u32) -> anyhow::Result<()> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, format!("{pid}\n"))
        .and_then(|()| std::fs::rename(&tmp, path))
        .with_context(|| format!("cannot write {}", path.display()))
}

/// Removes the pid file at `path` if it still names `pid` (another command may have replaced
/// it since).
fn remove_pid_file_of(path: &Path, pid: u32) {
    if read_pid(path) == Some(pid) {
        let _ = std::fs::remove_file(path);
    }
}

/// The pid in `path` if that process is running and is a `kexin` process.
fn running_pid(path: &Path) -> Option<u32> {
    read_pid(path).filter(|&pid| is_running(pid))
}

/// Whether `pid` is a live (not zombie) process whose command line names `kexin`.
fn is_running(pid: u32) -> bool {
    if pid <= 1 {
        return false;
    }
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return false;
    };
    // The state follows the command name, which is in parentheses and may itself hold ')'.
    let state = stat
        .rfind(')')
        .and_then(|i| stat[i + 1..].split_whitespace().next());
    if !matches!(state, Some(s) if !matches!(s, "Z" | "X" | "x")) {
        return false;
    }
    std::fs::read(format!("/proc/{pid}/cmdline"))
        .is_ok_and(|c| String::from_utf8_lossy(&c).contains("kexin"))
}

/// Sends `signal` (`TERM`, `KILL`) to `pid` with kill(1); false if it could not be sent.
fn send_signal(pid: u32, signal: &str) -> bool {
    Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(pid.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// The last lines of a node's log, indented, for error messages.
fn log_tail(node: &Path) -> String {
    let path = node.join(NODE_LOG);
    let text = std::fs::read_to_string(&path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    let start = lines.len().saturating_sub(LOG_TAIL_LINES);
    let mut out = format!("last lines of {}:", path.display());
    for l in &lines[start..] {
        out.push_str("\n    ");
        out.push_str(l);
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Processes.

/// A node process started by this command.
struct Started {
    index: usize,
    dir: PathBuf,
    child: Child,
    /// Whether its exit has already been reported.
    exited: bool,
}

/// Starts `kexin node run --dir NODE` in its own process group, appending its output to
/// `NODE/node.log`, and records its pid in `NODE/pid`.
fn spawn_node(net: &Path, index: usize) -> anyhow::Result<Started> {
    let dir = node_dir(net, index);
    let exe = std::env::current_exe().context("cannot find the kexin executable")?;
    // A node killed with SIGKILL leaves its URL behind; the new run writes it afresh.
    let _ = std::fs::remove_file(dir.join(layout::API_URL));
    let log_path = dir.join(NODE_LOG);
    let mut log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log_path)
        .with_context(|| format!("cannot open {}", log_path.display()))?;
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    writeln!(
        log,
        "--- kexin net: starting node {index} at {}",
        crate::output::utc(now_ms)
    )?;
    let child = Command::new(exe)
        .arg("node")
        .arg("run")
        .arg("--dir")
        .arg(&dir)
        .env("KEXIN_LOG_JSON", if crate::log_json() { "1" } else { "0" })
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        // Its own group: a Ctrl-C at the terminal reaches `net up`, which stops the nodes
        // in order, rather than every node at once.
        .process_group(0)
        .spawn()
        .with_context(|| format!("cannot start node {index}"))?;
    let started = Started {
        index,
        dir,
        child,
        exited: false,
    };
    write_pid(&started.dir.join(NODE_PID), started.child.id())?;
    Ok(started)
}

/// A process to stop: a child of this command (reaped here) or any other process.
struct Stoppable {
    what: String,
    pid: u32,
    child: Option<Child>,
}

impl Stoppable {
    fn alive(&mut self) -> bool {
        match &mut self.child {
            Some(c) => matches!(c.try_wait(), Ok(None)),
            None => is_running(self.pid),
        }
    }
}

/// A process [`stop_all`] stopped.
#[derive(Debug, Serialize)]
struct Stopped {
    /// `node I` or `kexin net up`.
    what: String,
    pid: u32,
    /// Whether it was still running [`STOP_TIMEOUT`] after SIGTERM and got SIGKILL.
    killed: bool,
}

/// Prints one line per stopped process, on stdout or (`to_stderr`) stderr.
fn print_stopped(stopped: &[Stopped], to_stderr: bool) {
    for p in stopped {
        let line = if p.killed {
            format!(
                "killed {} (pid {}): still running {} s after SIGTERM",
                p.what,
                p.pid,
                STOP_TIMEOUT.as_secs()
            )
        } else {
            format!("stopped {} (pid {})", p.what, p.pid)
        };
        if to_stderr {
            eprintln!("{line}");
        } else {
            println!("{line}");
        }
    }
}

/// SIGTERM to every process, up to [`STOP_TIMEOUT`] for them to exit, then SIGKILL to the
/// rest. Returns what was stopped, in the order they exited.
async fn stop_all(mut procs: Vec<Stoppable>) -> Vec<Stopped> {
    let mut report = Vec::new();
    procs.retain_mut(Stoppable::alive);
    for p in &procs {
        send_signal(p.pid, "TERM");
    }
    let deadline = Instant::now() + STOP_TIMEOUT;
    let mut stopped = vec![false; procs.len()];
    loop {
        for (p, done) in procs.iter_mut().zip(stopped.iter_mut()) {
            if !*done && !p.alive() {
                *done = true;
                report.push(Stopped {
                    what: p.what.clone(),
                    pid: p.pid,
                    killed: false,
                });
            }
        }
        if stopped.iter().all(|d| *d) || Instant::now() >= deadline {
            break;
        }
        tokio::time::sleep(POLL).await;
    }
    for (p, done) in procs.iter_mut().zip(&stopped) {
        if !*done {
            send_signal(p.pid, "KILL");
            // Reap a child; SIGKILL cannot be refused, so this does not block for long.
            if let Some(c) = &mut p.child {
                let _ = c.wait();
            }
            report.push(Stopped {
                what: p.what.clone(),
                pid: p.pid,
                killed: true,
            });
        }
    }
    report
}

// ---------------------------------------------------------------------------------------------
// HTTP.

fn http_client() -> anyhow::Result<reqwest::Client> {
    reqwest::Client::builder()
        .no_proxy()
        .connect_timeout(Duration::from_secs(2))
        .timeout(REQUEST_TIMEOUT)
        .build()
        .context("cannot build an HTTP client")
}

/// The node's URL from `NODE/api-url`, if it has written one.
fn api_url(node: &Path) -> Option<String> {
    let text = std::fs::read_to_string(node.join(layout::API_URL)).ok()?;
    let url = text.trim();
    (!url.is_empty()).then(|| url.to_owned())
}

/// `GET {url}{path}`: the status and the body as JSON (`Null` when it is not JSON); `None`
/// when there was no answer.
async fn get_json(http: &reqwest::Client, url: &str, path: &str) -> Option<(u16, Value)> {
    let res = http.get(format!("{url}{path}")).send().await.ok()?;
    let status = res.status().as_u16();
    let body = res.bytes().await.ok()?;
    Some((status, serde_json::from_slice(&body).unwrap_or(Value::Null)))
}

/// The health document of the node at `url`, if it answers 200.
async fn health(http: &reqwest::Client, url: &str) -> Option<Value> {
    match get_json(http, url, "/v1/health").await {
        Some((200, v)) => Some(v),
        _ => None,
    }
}

/// The API URL of the first node of the network in `net` that answers its health check (the
/// default node of commands given a network directory).
pub(crate) async fn serving_node(net: &Path) -> anyhow::Result<String> {
    let (_, n) = open_net(net)?;
    let http = http_client()?;
    for i in 0..n {
        if let Some(url) = api_url(&node_dir(net, i))
            && health(&http, &url).await.is_some()
        {
            return Ok(url);
        }
    }
    Err(fail(
        "unavailable",
        format!(
            "no node of the network in {} is serving (start it with kexin net up --dir {}), \
             or name one with --node URL",
            net.display(),
            net.display()
        ),
    ))
}

/// The API URLs of every node of the network in `net` that answers its health check, by
/// index (none when `net` holds no network).
pub(crate) async fn serving_nodes(net: &Path) -> Vec<String> {
    let Ok((_, n)) = open_net(net) else {
        return Vec::new();
    };
    let Ok(http) = http_client() else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for i in 0..n {
        if let Some(url) = api_url(&node_dir(net, i))
            && health(&http, &url).await.is_some()
        {
            out.push(url);
        }
    }
    out
}

/// Waits until every node has written its URL and answers its health check; fails when one
/// exits or [`READY_TIMEOUT`] passes. Returns the URLs in the order of `nodes`.
async fn wait_ready(http: &reqwest::Client, nodes: &mut [Started]) -> anyhow::Result<Vec<String>> {
    let deadline = Instant::now() + READY_TIMEOUT;
    let mut urls: Vec<Option<String>> = vec![None; nodes.len()];
    loop {
        for (n, ready) in nodes.iter_mut().zip(urls.iter_mut()) {
            if ready.is_some() {
                continue;
            }
            if let Some(status) = n.child.try_wait()? {
                n.exited = true;
                return Err(fail(
                    "node_exited",
                    format!(
                        "node {} exited while starting ({status}); {}",
                        n.index,
                        log_tail(&n.dir)
                    ),
                ));
            }
            if let Some(url) = api_url(&n.dir)
                && health(http, &url).await.is_some()
            {
                *ready = Some(url);
            }
        }
        if urls.iter().all(Option::is_some) {
            return Ok(urls.into_iter().flatten().collect());
        }
        if Instant::now() >= deadline {
            let late: Vec<&Started> = nodes
                .iter()
                .zip(&urls)
                .filter(|(_, u)| u.is_none())
                .map(|(n, _)| n)
                .collect();
            let names: Vec<String> = late.iter().map(|n| format!("node {}", n.index)).collect();
            return Err(fail(
                "timeout",
                format!(
                    "{} not serving after {} s; {}",
                    names.join(", "),
                    READY_TIMEOUT.as_secs(),
                    log_tail(&late[0].dir)
                ),
            ));
        }
        tokio::time::sleep(POLL * 2).await;
    }
}

// ---------------------------------------------------------------------------------------------
// The commands.

/// Ctrl-C and SIGTERM, installed once so that none is lost between two waits.
struct Shutdown {
    int: Signal,
    term: Signal,
}

impl Shutdown {
    fn install() -> anyhow::Result<Shutdown> {
        Ok(Shutdown {
            int: signal(SignalKind::interrupt()).context("cannot handle SIGINT")?,
            term: signal(SignalKind::terminate()).context("cannot handle SIGTERM")?,
        })
    }

    async fn requested(&mut self) {
        tokio::select! {
            _ = self.int.recv() => {},
            _ = self.term.recv() => {},
        }
    }
}

async fn up(args: &UpArgs) -> anyhow::Result<()> {
    let net = &args.dir;
    // Before any node starts: a SIGTERM from `net down` during start-up must still stop them.
    let mut shutdown = Shutdown::install()?;
    let genesis_path = net.join(layout::GENESIS);
    let created = !genesis_path.exists();
    if !created {
        let (genesis, n) = open_net(net)?;
        let mismatch = |what: &str, given: String, have: String| {
            fail(
                "mismatch",
                format!(
                    "the network in {} has {what} {have}, not {given} (omit {what} to restart \
                     it, or choose another --dir)",
                    net.display()
                ),
            )
        };
        let validators = genesis.validators.len();
        if let Some(want) = args.nodes
            && want as usize != validators
        {
            return Err(mismatch(
                "--nodes",
                want.to_string(),
                validators.to_string(),
            ));
        }
        if let Some(want) = args.suite
            && want != genesis.suite
        {
            return Err(mismatch(
                "--suite",
                want.to_string(),
                genesis.suite.to_string(),
            ));
        }
        if let Some(want) = &args.chain_id
            && *want != genesis.chain_id
        {
            return Err(mismatch(
                "--chain-id",
                want.clone(),
                genesis.chain_id.clone(),
            ));
        }
        if let Some(want) = args.epoch_length
            && want != genesis.epoch_length
        {
            return Err(mismatch(
                "--epoch-length",
                want.to_string(),
                genesis.epoch_length.to_string(),
            ));
        }
        if let Some(want) = args.protocol_version
            && want != genesis.version
        {
            return Err(mismatch(
                "--protocol-version",
                want.to_string(),
                genesis.version.to_string(),
            ));
        }
        if args.open && genesis.is_permissioned() {
            return Err(fail(
                "mismatch",
                format!(
                    "the network in {} is a consortium of {} organisation(s), not an open \
                     chain (omit --open to restart it, or choose another --dir)",
                    net.display(),
                    genesis.organisations.len()
                ),
            ));
        }
        if !args.json {
            println!(
                "restarting the network of {n} node(s) in {} (chain {}, suite {})",
                net.display(),
                genesis.chain_id,
                genesis.suite
            );
        }
    } else {
        let n = args.nodes.map_or(DEFAULT_NODES, |n| n as usize);
        let suite = args.suite.unwrap_or(kexin_node::DEFAULT_SUITE);
        let mut opts = kexin_node::NetInitOptions::new(net, n, suite);
        opts.chain_id = args.chain_id.clone();
        opts.observers = args.observers as usize;
        opts.open = args.open;
        if let Some(len) = args.epoch_length {
            opts.epoch_length = len;
        }
        if let Some(v) = args.protocol_version {
            opts.protocol_version = v;
        }
        let report = kexin_node::init_network(&opts).context("cannot create the network")?;
        // (With --json, the document printed once the nodes serve says it all.)
        if !args.json {
            println!(
                "created a network of {n} validator(s) in {} (chain {}, suite {suite})",
                net.display(),
                report.chain_id
            );
            if report.org_dirs.is_empty() {
                println!(
                    "the chain is open (no organisations, no certificates): for development \
                     and benchmarks only"
                );
            } else {
                println!(
                    "organisations org1..org{n}, one per validator: CA in {d}/orgK/ca.pem (key \
                     {d}/orgK/ca-key.pem), identities {d}/orgK/admin and {d}/orgK/writer; \
                     attest with --identity {d}/org1/writer",
                    d = net.display()
                );
            }
        }
    }
    let n = node_count(net);

    let net_pid = net.join(NET_PID);
    let me = std::process::id();
    if let Some(pid) = running_pid(&net_pid).filter(|&p| p != me) {
        return Err(fail(
            "running",
            format!(
                "kexin net up is already running for {} (pid {pid}); stop it with kexin net \
                 down --dir {}",
                net.display(),
                net.display()
            ),
        ));
    }
    for i in 0..n {
        if let Some(pid) = running_pid(&node_dir(net, i).join(NODE_PID)) {
            return Err(fail(
                "running",
                format!(
                    "node {i} is already running (pid {pid}); stop the network first with kexin \
                     net down --dir {}",
                    net.display()
                ),
            ));
        }
    }
    write_pid(&net_pid, me)?;

    let http = http_client()?;
    let mut nodes: Vec<Started> = Vec::with_capacity(n);
    let started = async {
        for i in 0..n {
            nodes.push(spawn_node(net, i)?);
        }
        wait_ready(&http, &mut nodes).await
    };
    let urls = tokio::select! {
        r = started => Some(r),
        () = shutdown.requested() => None,
    };
    let urls = match urls {
        Some(Ok(urls)) => urls,
        Some(Err(e)) => {
            print_stopped(&stop_network(net, nodes).await, args.json);
            remove_pid_file_of(&net_pid, me);
            return Err(e);
        }
        None => {
            eprintln!("interrupted while starting: stopping the network");
            print_stopped(&stop_network(net, nodes).await, args.json);
            remove_pid_file_of(&net_pid, me);
            return Ok(());
        }
    };
    if args.json {
        let (genesis, _) = open_net(net)?;
        print_json(&serde_json::json!({
            "dir": net.display().to_string(),
            "chain_id": genesis.chain_id,
            "suite": genesis.suite,
            "created": created,
            "epoch_length": genesis.epoch_length,
            "protocol_version": genesis.version,
            "organisations": genesis
                .organisations
                .iter()
                .map(|o| o.name.as_str())
                .collect::<Vec<_>>(),
            "nodes": nodes
                .iter()
                .zip(&urls)
                .map(|(node, url)| serde_json::json!({
                    "index": node.index,
                    "url": url,
                    "pid": node.child.id(),
                }))
                .collect::<Vec<_>>(),
        }))?;
    } else {
        for (node, url) in nodes.iter().zip(&urls) {
            println!("node {}: {url}", node.index);
        }
        println!(
            "the network runs until Ctrl-C or kexin net down --dir {d}; inspect it with kexin \
             net status --dir {d}",
            d = net.display()
        );
    }

    loop {
        tokio::select! {
            () = shutdown.requested() => break,
            () = tokio::time::sleep(Duration::from_millis(500)) => {
                for node in nodes.iter_mut().filter(|n| !n.exited) {
                    if let Ok(Some(status)) = node.child.try_wait() {
                        node.exited = true;
                        let pid = node.child.id();
                        remove_pid_file_of(&node.dir.join(NODE_PID), pid);
                        eprintln!(
                            "node {} (pid {pid}) exited ({status}); see {} (restart it with \
                             kexin net start-node {} --dir {})",
                            node.index,
                            node.dir.join(NODE_LOG).display(),
                            node.index,
                            net.display()
                        );
                    }
                }
            }
        }
    }
    eprintln!("stopping the network in {}", net.display());
    print_stopped(&stop_network(net, nodes).await, args.json);
    remove_pid_file_of(&net_pid, me);
    Ok(())
}

/// Stops this command's children and every other node of `net` that runs (a node restarted
/// with `net start-node` is not our child), then removes their pid files. Returns what was
/// stopped.
async fn stop_network(net: &Path, children: Vec<Started>) -> Vec<Stopped> {
    let mut procs: Vec<Stoppable> = Vec::new();
    let mut pid_files: Vec<(PathBuf, u32)> = Vec::new();
    let mut ours = std::collections::BTreeSet::new();
    for node in children {
        let pid = node.child.id();
        ours.insert(node.index);
        pid_files.push((node.dir.join(NODE_PID), pid));
        procs.push(Stoppable {
            what: format!("node {}", node.index),
            pid,
            child: Some(node.child),
        });
    }
    for i in (0..node_count(net)).filter(|i| !ours.contains(i)) {
        let path = node_dir(net, i).join(NODE_PID);
        if let Some(pid) = running_pid(&path) {
            pid_files.push((path, pid));
            procs.push(Stoppable {
                what: format!("node {i}"),
                pid,
                child: None,
            });
        }
    }
    // Pids of nodes restarted since (by `start-node`) are not ours; check those too.
    for i in ours {
        let path = node_dir(net, i).join(NODE_PID);
        if let Some(pid) = running_pid(&path)
            && !procs.iter().any(|p| p.pid == pid)
        {
            pid_files.push((path, pid));
            procs.push(Stoppable {
                what: format!("node {i}"),
                pid,
                child: None,
            });
        }
    }
    let stopped = stop_all(procs).await;
    for (path, pid) in pid_files {
        remove_pid_file_of(&path, pid);
    }
    stopped
}

async fn down(net: &Path, json: bool) -> anyhow::Result<()> {
    let mut procs: Vec<Stoppable> = Vec::new();
    let net_pid = net.join(NET_PID);
    if let Some(pid) = running_pid(&net_pid) {
        procs.push(Stoppable {
            what: "kexin net up".into(),
            pid,
            child: None,
        });
    }
    let n = node_count(net);
    for i in 0..n {
        if let Some(pid) = running_pid(&node_dir(net, i).join(NODE_PID)) {
            procs.push(Stoppable {
                what: format!("node {i}"),
                pid,
                child: None,
            });
        }
    }
    // `net up` stops its nodes itself on SIGTERM; signalling them too changes nothing for
    // them (a node handles a repeated SIGTERM) and covers nodes it did not start.
    let stopped = stop_all(procs).await;
    // Whatever is no longer running has no business keeping a pid file.
    for path in (0..n)
        .map(|i| node_dir(net, i).join(NODE_PID))
        .chain([net_pid])
    {
        if read_pid(&path).is_some_and(|pid| !is_running(pid)) {
            let _ = std::fs::remove_file(&path);
        }
    }
    if json {
        return print_json(&serde_json::json!({
            "dir": net.display().to_string(),
            "stopped": stopped,
        }));
    }
    print_stopped(&stopped, false);
    if stopped.is_empty() {
        println!("nothing was running in {}", net.display());
    }
    Ok(())
}

/// One row of `kexin net status`.
#[derive(Debug, Serialize)]
struct NodeStatus {
    index: usize,
    /// `validator` if the node's key is in the current epoch's set (as the node says; from
    /// the genesis when it does not answer), else `observer`.
    role: String,
    api: Option<String>,
    pid: Option<u32>,
    height: Option<u64>,
    peers: Option<u64>,
    /// Whether it answered its health check.
    healthy: bool,
    /// Its `pki.expiry_warning_days` (from its config.toml).
    expiry_warning_days: Option<u32>,
    /// What its health check warned about (gathered, de-duplicated, in the `expiring` list).
    #[serde(skip)]
    expiring: Vec<ExpiringCert>,
}

/// Whether the node in `dir` holds a validator key of the genesis.
fn role(dir: &Path, net_genesis: &Genesis) -> &'static str {
    let genesis = read_genesis(&dir.join(layout::GENESIS)).ok();
    let genesis = genesis.as_ref().unwrap_or(net_genesis);
    match kexin_client::load_key(dir.join(layout::VALIDATOR_KEY)) {
        Ok(key) if genesis.validator_index(&key.public_key()).is_some() => "validator",
        _ => "observer",
    }
}

async fn node_status(
    http: reqwest::Client,
    index: usize,
    dir: PathBuf,
    role: &'static str,
) -> NodeStatus {
    let pid = running_pid(&dir.join(NODE_PID));
    let api = api_url(&dir);
    let mut status = NodeStatus {
        index,
        role: role.to_owned(),
        api: api.clone(),
        pid,
        height: None,
        peers: None,
        healthy: false,
        expiry_warning_days: kexin_node::NodeConfig::load(&dir.join(layout::CONFIG))
            .ok()
            .map(|c| c.pki.expiry_warning_days),
        expiring: Vec::new(),
    };
    let Some(url) = api else {
        return status;
    };
    if let Some(h) = health(&http, &url).await {
        status.healthy = true;
        status.peers = h.get("peers").and_then(Value::as_u64);
        if let Some(r) = h.get("role").and_then(Value::as_str) {
            status.role = r.to_owned();
        }
        status.expiring = h
            .get("expiring")
            .and_then(|v| serde_json::from_value(v.clone()).ok())
            .unwrap_or_default();
        status.height = match get_json(&http, &url, "/v1/blocks/latest").await {
            Some((200, b)) => b.pointer("/header/height").and_then(Value::as_u64),
            // Before block 1 there is no latest block.
            Some((404, e)) if e.get("code").and_then(Value::as_str) == Some("not_found") => Some(0),
            _ => None,
        };
    }
    status
}

async fn status(net: &Path, json: bool) -> anyhow::Result<()> {
    let (genesis, n) = open_net(net)?;
    let http = http_client()?;
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..n {
        let dir = node_dir(net, i);
        let role = role(&dir, &genesis);
        tasks.spawn(node_status(http.clone(), i, dir, role));
    }
    let mut nodes: Vec<NodeStatus> = tasks.join_all().await;
    nodes.sort_by_key(|s| s.index);
    let warning_days = nodes.iter().filter_map(|s| s.expiry_warning_days).max();
    let expiring = gather_expiring(&nodes);
    // The consensus epoch and its validators, as the first node that answers says.
    let mut chain: Option<Value> = None;
    for s in nodes.iter().filter(|s| s.healthy) {
        if let Some(url) = &s.api
            && let Some((200, c)) = get_json(&http, url, "/v1/chain").await
        {
            chain = Some(c);
            break;
        }
    }
    if json {
        let mut doc = serde_json::json!({ "nodes": nodes });
        if let Some(c) = &chain {
            doc["epoch"] = c["epoch"].clone();
            doc["epoch_last_height"] = c["epoch_last_height"].clone();
            doc["validators"] = c["validators"].clone();
        }
        if genesis.is_permissioned() {
            doc["expiry_warning_days"] = serde_json::json!(warning_days);
            doc["expiring"] = serde_json::to_value(&expiring)?;
        }
        print_json(&doc)?;
    } else {
        let dash = |v: Option<String>| v.unwrap_or_else(|| "-".into());
        println!(
            "{:<5} {:<10} {:<8} {:<8} {:<6} {:<5} API",
            "NODE", "ROLE", "PID", "HEIGHT", "PEERS", "OK"
        );
        for s in &nodes {
            println!(
                "{:<5} {:<10} {:<8} {:<8} {:<6} {:<5} {}",
                s.index,
                s.role,
                dash(s.pid.map(|p| p.to_string())),
                dash(s.height.map(|h| h.to_string())),
                dash(s.peers.map(|p| p.to_string())),
                if s.healthy { "yes" } else { "no" },
                dash(s.api.clone())
            );
        }
        if let Some(c) = &chain {
            let names: Vec<String> = c["validators"]
                .as_array()
                .map(|vs| {
                    vs.iter()
                        .map(|v| match v["org"].as_str() {
                            Some(o) if !o.is_empty() => {
                                format!("{} ({o})", v["name"].as_str().unwrap_or("?"))
                            }
                            _ => v["name"].as_str().unwrap_or("?").to_owned(),
                        })
                        .collect()
                })
                .unwrap_or_default();
            println!();
            println!(
                "epoch {} (until height {}): {} validator(s): {}",
                c["epoch"],
                c["epoch_last_height"],
                names.len(),
                names.join(", ")
            );
        }
        if genesis.is_permissioned() {
            println!();
            print_expiring(&expiring, warning_days, "NODES");
        }
    }
    let down = nodes.iter().filter(|s| !s.healthy).count();
    if down > 0 {
        return Err(fail(
            "unhealthy",
            format!("{down} of {n} node(s) did not answer their health check"),
        ));
    }
    Ok(())
}

/// A certificate some node warned about, with the nodes that did.
#[derive(Debug, Serialize)]
pub(crate) struct Expiring {
    #[serde(flatten)]
    pub(crate) cert: ExpiringCert,
    /// The nodes (indices) whose health check listed it.
    pub(crate) nodes: Vec<usize>,
}

/// Every node's warnings, one entry per certificate (by id; by organisation, name and expiry
/// when there is none), soonest first. A node's own certificate (`this node`) is only ever
/// reported by that node.
fn gather_expiring(nodes: &[NodeStatus]) -> Vec<Expiring> {
    let mut out: Vec<Expiring> = Vec::new();
    for s in nodes {
        for e in &s.expiring {
            let same = |x: &Expiring| match (x.cert.id, e.id) {
                (Some(a), Some(b)) => a == b,
                _ => {
                    (&x.cert.kind, &x.cert.org, &x.cert.name, x.cert.not_after_ms)
                        == (&e.kind, &e.org, &e.name, e.not_after_ms)
                }
            };
            match out.iter_mut().find(|x| same(x)) {
                Some(x) => {
                    if !x.nodes.contains(&s.index) {
                        x.nodes.push(s.index);
                    }
                }
                None => out.push(Expiring {
                    cert: e.clone(),
                    nodes: vec![s.index],
                }),
            }
        }
    }
    out.sort_by(|a, b| {
        (a.cert.not_after_ms, &a.cert.org, &a.cert.name).cmp(&(
            b.cert.not_after_ms,
            &b.cert.org,
            &b.cert.name,
        ))
    });
    out
}

/// When `e` expires, relative to now: `EXPIRED 3 day(s) ago` or `in 12 day(s)`.
pub(crate) fn expiry_phrase(e: &ExpiringCert) -> String {
    if e.expired {
        format!("EXPIRED {} day(s) ago", e.days_left.unsigned_abs())
    } else {
        format!("in {} day(s)", e.days_left)
    }
}

/// The "certificates expiring within N days" section of `net status` (and `org list`):
/// `source` heads a last column listing the reporting nodes (empty: no such column).
pub(crate) fn print_expiring(list: &[Expiring], days: Option<u32>, source: &str) {
    let window = match days {
        Some(0) => {
            println!("certificate expiry warnings are off (pki.expiry_warning_days = 0)");
            return;
        }
        Some(d) => format!("within {d} days"),
        None => "within the node's warning window".to_owned(),
    };
    if list.is_empty() {
        println!("certificates expiring {window}: none");
        return;
    }
    println!(
        "certificates expiring {window}: {} (rotate them before they expire)",
        list.len()
    );
    let row = |cols: [&str; 6], last: &str| {
        let line = format!(
            "  {:<10} {:<12} {:<16} {:<24} {:<20} {:<64} {last}",
            cols[0], cols[1], cols[2], cols[3], cols[4], cols[5]
        );
        println!("{}", line.trim_end());
    };
    row(
        ["KIND", "ORG", "NAME", "NOT AFTER", "EXPIRES", "ID"],
        source,
    );
    for e in list {
        let nodes: Vec<String> = e.nodes.iter().map(usize::to_string).collect();
        row(
            [
                &e.cert.kind,
                &e.cert.org,
                &e.cert.name,
                &crate::output::utc(e.cert.not_after_ms),
                &expiry_phrase(&e.cert),
                &e.cert.id.map_or_else(|| "-".to_owned(), |h| h.to_hex()),
            ],
            &nodes.join(","),
        );
    }
}

async fn start_node(net: &Path, index: usize, json: bool) -> anyhow::Result<()> {
    let (_, n) = open_net(net)?;
    if index >= n {
        return Err(fail(
            "not_found",
            format!(
                "the network in {} has nodes 0..={}, not {index}",
                net.display(),
                n - 1
            ),
        ));
    }
    let pid_path = node_dir(net, index).join(NODE_PID);
    if let Some(pid) = running_pid(&pid_path) {
        return Err(fail(
            "running",
            format!("node {index} is already running (pid {pid})"),
        ));
    }
    let mut node = [spawn_node(net, index)?];
    let http = http_client()?;
    match wait_ready(&http, &mut node).await {
        Ok(urls) => {
            if json {
                print_json(&serde_json::json!({
                    "index": index,
                    "url": urls[0],
                    "pid": node[0].child.id(),
                }))?;
            } else {
                println!("node {index}: {}", urls[0]);
            }
            // The node keeps running after we exit: dropping a `Child` does not kill it.
            Ok(())
        }
        Err(e) => {
            let [node] = node;
            let pid = node.child.id();
            let stopped = stop_all(vec![Stoppable {
                what: format!("node {index}"),
                pid,
                child: Some(node.child),
            }])
            .await;
            print_stopped(&stopped, json);
            remove_pid_file_of(&pid_path, pid);
            Err(e)
        }
    }
}

/// A local network started by another command (`kexin bench --nodes`): its node processes
/// are children of this process and stop with [`LocalNet::stop`].
pub(crate) struct LocalNet {
    net: PathBuf,
    children: Vec<Started>,
    urls: Vec<String>,
}

impl LocalNet {
    /// Creates the network in `net` when it has no genesis yet (`nodes` validators of
    /// `suite`; with `empty_blocks`, a benchmark chain whose leaders propose empty blocks),
    /// starts every node and waits until all serve.
    pub(crate) async fn start(
        net: &Path,
        nodes: usize,
        suite: Suite,
        empty_blocks: bool,
    ) -> anyhow::Result<LocalNet> {
        if !net.join(layout::GENESIS).exists() {
            // The load generator signs with bare keys: an open chain.
            let mut opts = kexin_node::NetInitOptions::new(net, nodes, suite);
            opts.open = true;
            kexin_node::init_network(&opts).context("cannot create the network")?;
            for i in 0..nodes {
                let path = node_dir(net, i).join(layout::CONFIG);
                let mut config = kexin_node::NodeConfig::load(&path)?;
                config.block.empty_blocks = empty_blocks;
                std::fs::write(&path, config.to_toml())
                    .with_context(|| format!("cannot write {}", path.display()))?;
            }
        }
        let (genesis, n) = open_net(net)?;
        if n != nodes || genesis.suite != suite {
            return Err(fail(
                "usage",
                format!(
                    "{} holds a network of {n} {} validator(s), not {nodes} {suite}; use another --dir",
                    net.display(),
                    genesis.suite
                ),
            ));
        }
        let mut children = Vec::with_capacity(n);
        for i in 0..n {
            children.push(spawn_node(net, i)?);
        }
        let http = http_client()?;
        match wait_ready(&http, &mut children).await {
            Ok(urls) => Ok(LocalNet {
                net: net.to_owned(),
                children,
                urls,
            }),
            Err(e) => {
                print_stopped(&stop_network(net, children).await, false);
                Err(e)
            }
        }
    }

    /// The nodes' API URLs, by index.
    pub(crate) fn urls(&self) -> &[String] {
        &self.urls
    }

    /// The nodes' process ids, by index.
    pub(crate) fn pids(&self) -> Vec<u32> {
        self.children.iter().map(|c| c.child.id()).collect()
    }

    /// Stops every node.
    pub(crate) async fn stop(self) {
        print_stopped(&stop_network(&self.net, self.children).await, false);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn liveness_needs_a_kexin_command_line() {
        // This test binary is `kexin-<hash>`, so it counts as a kexin process.
        assert!(is_running(std::process::id()));
        assert!(!is_running(0));
        assert!(!is_running(1));
        assert!(!is_running(u32::MAX));
    }

    #[test]
    fn expiry_warnings_are_gathered_once_per_certificate() {
        let cert = |kind: &str, name: &str, id: Option<u8>, not_after_ms: u64| ExpiringCert {
            kind: kind.into(),
            org: "org1".into(),
            name: name.into(),
            id: id.map(|b| kexin_crypto::Hash([b; 32])),
            not_after_ms,
            days_left: 3,
            expired: false,
        };
        let node = |index: usize, expiring: Vec<ExpiringCert>| NodeStatus {
            index,
            role: "validator".into(),
            api: None,
            pid: None,
            height: None,
            peers: None,
            healthy: true,
            expiry_warning_days: Some(30),
            expiring,
        };
        let ca = cert("ca", "org1 CA", Some(1), 500);
        let writer = cert("writer", "alice", Some(2), 100);
        let own = cert("this node", "node1", Some(3), 300);
        let anonymous = cert("writer", "bob", None, 200);
        let nodes = [
            node(0, vec![writer.clone(), ca.clone(), anonymous.clone()]),
            node(1, vec![writer.clone(), own.clone(), ca.clone()]),
            node(2, vec![]),
            node(3, vec![anonymous.clone(), ca.clone()]),
        ];
        let got = gather_expiring(&nodes);
        let summary: Vec<(&str, Vec<usize>)> = got
            .iter()
            .map(|e| (e.cert.name.as_str(), e.nodes.clone()))
            .collect();
        assert_eq!(
            summary,
            [
                ("alice", vec![0, 1]),
                ("bob", vec![0, 3]),
                ("node1", vec![1]),
                ("org1 CA", vec![0, 1, 3]),
            ]
        );
        assert!(gather_expiring(&nodes[2..3]).is_empty());
        let e = cert("ca", "x", None, 0);
        assert_eq!(expiry_phrase(&e), "in 3 day(s)");
        let gone = ExpiringCert {
            days_left: -2,
            expired: true,
            ..e
        };
        assert_eq!(expiry_phrase(&gone), "EXPIRED 2 day(s) ago");
    }

    #[test]
    fn pid_files_are_removed_only_while_they_name_the_pid() {
        let t = tempfile::tempdir().unwrap();
        let p = t.path().join("pid");
        write_pid(&p, 42).unwrap();
        assert_eq!(read_pid(&p), Some(42));
        remove_pid_file_of(&p, 43);
        assert!(p.exists());
        remove_pid_file_of(&p, 42);
        assert!(!p.exists());
        assert_eq!(running_pid(&p), None);
    }
}
