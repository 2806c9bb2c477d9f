//! `kexin`: run a Kexin node, attest files and digests, verify receipts offline, query a node,
//! manage organisation CAs and certificates, vote on governance proposals, and benchmark a node.
//!
//! Every command exits 0 on success; on failure it prints `error: <code>: <message>` on stderr
//! and exits non-zero (2 for usage errors). When stdout is closed under it (`kexin cert list |
//! head -2`) a command stops quietly with status 141, as a Unix tool ended by `SIGPIPE` does.

// First, so that its checked `println!`/`eprintln!` replace std's in every module below.
#[macro_use]
mod output;

mod attest;
mod audit;
mod bench;
mod contract;
mod error;
mod gov;
mod keys;
mod net;
mod node;
mod pki;
mod query;
mod scf;
mod trace;
mod verify;

use std::process::ExitCode;

// The node allocates many small, short-lived objects per evidence record (tree nodes, index
// keys); with glibc malloc, allocation and free took about a fifth of the block pipeline's
// profile. mimalloc is the default; build with `--no-default-features` to compare.
#[cfg(feature = "mimalloc")]
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use clap::{Parser, Subcommand};

/// The node URL used when neither `--node` nor `KEXIN_NODE` is given.
pub const DEFAULT_NODE: &str = "http://127.0.0.1:8080";

/// Kexin: a consortium ledger for evidence (存证). Run a node, attest files and digests,
/// verify receipts offline, query and benchmark a node.
#[derive(Debug, Parser)]
#[command(name = "kexin", version, propagate_version = true)]
pub struct Cli {
    /// Node API URL [default: $KEXIN_NODE, else http://127.0.0.1:8080].
    #[arg(long, global = true, value_name = "URL")]
    node: Option<String>,
    /// Log as JSON lines instead of text (logs go to stderr; filter with RUST_LOG). Also set
    /// by `KEXIN_LOG_JSON=1`; `kexin net up --log-json` passes it to the nodes it starts.
    #[arg(long, global = true)]
    log_json: bool,
    #[command(subcommand)]
    command: Command,
}

impl Cli {
    /// The node URL given by `--node` or `KEXIN_NODE`, if any.
    fn explicit_node(&self) -> Option<String> {
        self.node.clone().or_else(|| {
            std::env::var("KEXIN_NODE")
                .ok()
                .filter(|s| !s.trim().is_empty())
        })
    }

    /// The node URL to use: `--node`, else `KEXIN_NODE`, else the default.
    fn node_url(&self) -> String {
        self.explicit_node()
            .unwrap_or_else(|| DEFAULT_NODE.to_owned())
    }
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Create and inspect signing keys.
    #[command(subcommand)]
    Keys(keys::KeysCommand),
    /// Create and run a node.
    #[command(subcommand)]
    Node(node::NodeCommand),
    /// Run a local network of validators, one process per node, in one directory.
    #[command(subcommand)]
    Net(net::NetCommand),
    /// Fingerprint files (or take digests), record them on the ledger, and save a verified
    /// receipt for each.
    Attest(attest::AttestArgs),
    /// Verify a receipt offline against a genesis file: an evidence receipt and that FILE (or
    /// --digest) matches it, a transaction receipt (a vote, a proposal, an audit note, ...),
    /// or a state proof (--state-proof: a contract storage slot's value at a block).
    Verify(verify::VerifyArgs),
    /// Show a transaction.
    Tx(query::TxArgs),
    /// Show a block by height, hash, or `latest`.
    Block(query::BlockArgs),
    /// Show the records with a digest.
    Evidence(query::EvidenceArgs),
    /// Fetch a transaction's receipts, verify them against the genesis, and show or save
    /// them.
    Receipts(query::ReceiptsArgs),
    /// Load-test a node with evidence transactions and report throughput and latency.
    Bench(bench::BenchArgs),
    /// Create and rotate organisation certificate authorities.
    #[command(subcommand)]
    Ca(pki::CaCommand),
    /// Issue, revoke, list and show certificates.
    #[command(subcommand)]
    Cert(pki::CertCommand),
    /// Show the consortium's organisations and their CAs.
    #[command(subcommand)]
    Org(pki::OrgCommand),
    /// Propose governance actions, vote on them as an organisation's admin, and list and
    /// show proposals.
    #[command(subcommand)]
    Gov(gov::GovCommand),
    /// Record audit notes as an auditor, and list the notes about a record, transaction or
    /// block.
    #[command(subcommand)]
    Audit(audit::AuditCommand),
    /// Deploy, call and query Solidity contracts (protocol version 5).
    #[command(subcommand)]
    Contract(contract::ContractCommand),
    /// Supply-chain finance: issue, confirm, split, transfer, finance and settle receivables
    /// on the receivables contract the consortium named `scf`.
    #[command(subcommand)]
    Scf(scf::ScfCommand),
    /// Product traceability: register batches, record their history, recall them, on the
    /// traceability contract the consortium named `trace`.
    #[command(subcommand)]
    Trace(trace::TraceCommand),
}

/// Whether this process logs JSON lines (`--log-json` or `KEXIN_LOG_JSON=1`); nodes that
/// `kexin net` starts inherit it.
pub(crate) fn log_json() -> bool {
    LOG_JSON.load(std::sync::atomic::Ordering::Relaxed)
}

static LOG_JSON: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

fn init_tracing(json: bool) {
    let json = json || std::env::var_os("KEXIN_LOG_JSON").is_some_and(|v| v == "1");
    LOG_JSON.store(json, std::sync::atomic::Ordering::Relaxed);
    use tracing_subscriber::EnvFilter;
    // The storage engine's own progress messages are for its developers, not operators.
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,lsm_tree=warn,fjall=warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    // A second initialisation (never expected) is not worth failing the command for.
    let _ = if json {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing(
        cli.log_json || matches!(&cli.command, Command::Node(cmd) if cmd.wants_json_logs()),
    );
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: runtime: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(run(&cli));
    // Do not wait for stray blocking tasks (e.g. a hash of a huge file after an error).
    runtime.shutdown_timeout(std::time::Duration::from_millis(100));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let (code, message) = error::describe(&e);
            eprintln!("error: {code}: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: &Cli) -> anyhow::Result<()> {
    match &cli.command {
        Command::Keys(cmd) => keys::run(cmd),
        Command::Node(cmd) => node::run(cmd).await,
        Command::Net(cmd) => net::run(cmd).await,
        Command::Attest(args) => attest::run(cli, args).await,
        Command::Verify(args) => verify::run(args).await,
        Command::Tx(args) => query::tx(cli, args).await,
        Command::Block(args) => query::block(cli, args).await,
        Command::Evidence(args) => query::evidence(cli, args).await,
        Command::Receipts(args) => query::receipts(cli, args).await,
        Command::Bench(args) => bench::run(cli, args).await,
        Command::Ca(cmd) => pki::run_ca(cli, cmd).await,
        Command::Cert(cmd) => pki::run_cert(cli, cmd).await,
        Command::Org(cmd) => pki::run_org(cli, cmd).await,
        Command::Gov(cmd) => gov::run(cli, cmd).await,
        Command::Audit(cmd) => audit::run(cli, cmd).await,
        Command::Contract(cmd) => contract::run(cli, cmd).await,
        Command::Scf(cmd) => scf::run(cli, cmd).await,
        Command::Trace(cmd) => trace::run(cli, cmd).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory as _;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    /// The README says every command takes `--json`: every leaf command has it (on itself or
    /// on a command it is under).
    #[test]
    fn every_command_takes_json() {
        fn walk(cmd: &clap::Command, path: &str, inherited: bool, missing: &mut Vec<String>) {
            let has = inherited || cmd.get_arguments().any(|a| a.get_id() == "json");
            let subs: Vec<&clap::Command> = cmd
                .get_subcommands()
                .filter(|c| c.get_name() != "help")
                .collect();
            if subs.is_empty() && !has {
                missing.push(path.to_owned());
            }
            for sub in subs {
                walk(sub, &format!("{path} {}", sub.get_name()), has, missing);
            }
        }
        let mut missing = Vec::new();
        walk(&Cli::command(), "kexin", false, &mut missing);
        assert!(missing.is_empty(), "without --json: {missing:?}");
    }

    /// One default suite for every tool that makes a chain or a key.
    #[test]
    fn tools_default_to_one_suite() {
        assert_eq!(kexin_node::DEFAULT_SUITE, kexin_crypto::Suite::Intl);
        let c = Cli::try_parse_from(["kexin", "node", "init", "--dir", "d"]).unwrap();
        assert!(matches!(
            c.command,
            Command::Node(node::NodeCommand::Init { suite, .. }) if suite == kexin_node::DEFAULT_SUITE
        ));
        let c = Cli::try_parse_from(["kexin", "keys", "new", "--out", "k.pem"]).unwrap();
        assert!(matches!(
            c.command,
            Command::Keys(keys::KeysCommand::New { suite, .. }) if suite == kexin_node::DEFAULT_SUITE
        ));
        // `node run --json` means JSON logs.
        let c = Cli::try_parse_from(["kexin", "node", "run", "--dir", "d", "--json"]).unwrap();
        assert!(matches!(&c.command, Command::Node(cmd) if cmd.wants_json_logs()));
    }

    #[test]
    fn parses_common_forms() {
        let c = Cli::try_parse_from(["kexin", "attest", "a", "b", "--out", "o", "--batch", "10"])
            .unwrap();
        assert!(matches!(c.command, Command::Attest(_)));
        assert!(
            Cli::try_parse_from(["kexin", "attest", "a", "--out", "o", "--batch", "4097"]).is_err()
        );
        let c = Cli::try_parse_from(["kexin", "block", "latest", "--node", "http://x:1", "--json"])
            .unwrap();
        assert_eq!(c.node.as_deref(), Some("http://x:1"));
        assert!(Cli::try_parse_from(["kexin", "verify", "f", "--receipt", "r"]).is_err());
        assert!(
            Cli::try_parse_from([
                "kexin",
                "verify",
                "f",
                "--digest",
                "00",
                "--receipt",
                "r",
                "--genesis",
                "g"
            ])
            .is_err()
        );
        // A state proof instead of a receipt: not with --receipt, a FILE or --digest.
        let c = Cli::try_parse_from(["kexin", "verify", "--state-proof", "p", "--genesis", "g"])
            .unwrap();
        assert!(matches!(c.command, Command::Verify(_)));
        for refused in [
            "kexin verify --state-proof p --receipt r --genesis g",
            "kexin verify f --state-proof p --genesis g",
            "kexin verify --digest 00 --state-proof p --genesis g",
            "kexin verify --state-proof p",
            "kexin verify --genesis g",
        ] {
            let args = refused.split(' ');
            assert!(Cli::try_parse_from(args).is_err(), "{refused}");
        }
        let c = Cli::try_parse_from([
            "kexin", "contract", "storage", "0x00", "7", "--out", "p.json", "--json",
        ])
        .unwrap();
        assert!(matches!(c.command, Command::Contract(_)));
    }
}
