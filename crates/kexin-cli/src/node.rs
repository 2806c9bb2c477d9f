//! `kexin node`: create and run a node (the wiring itself is `kexin_node`'s).

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context as _;
use clap::Subcommand;
use kexin_crypto::Suite;
use serde::Serialize;

use crate::output::print_json;

/// `kexin node ...`
#[derive(Debug, Subcommand)]
pub enum NodeCommand {
    /// Create a single-validator node directory: genesis, config, validator and client keys.
    Init {
        /// The node directory to create.
        #[arg(long, value_name = "D")]
        dir: PathBuf,
        /// Cryptographic suite: `gm` (SM2/SM3/SM4) or `intl` (Ed25519/SHA-256/AES-GCM).
        #[arg(long, default_value_t = kexin_node::DEFAULT_SUITE)]
        suite: Suite,
        /// Chain id (1..=64 bytes of [a-z0-9._-]) [default: chosen by the node].
        #[arg(long, value_name = "ID")]
        chain_id: Option<String>,
        /// Address the REST API listens on (port 0: any free port, see D/api-url).
        #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
        api: SocketAddr,
        /// Print what was created as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Run the node in D until Ctrl-C; writes the API's URL to D/api-url.
    Run {
        /// The node directory.
        #[arg(long, value_name = "D")]
        dir: PathBuf,
        /// Log as JSON lines on stderr (the same as `--log-json`): a server prints no
        /// document, only its log.
        #[arg(long)]
        json: bool,
    },
    /// Verify a stopped node's ledger against its own blocks and certificates (every block
    /// replayed into a scratch ledger), and say which part of D is damaged. Exit status 0
    /// only when nothing is. The recovery runbook is in docs/operations.md.
    Check {
        /// The node directory (the node must be stopped).
        #[arg(long, value_name = "D")]
        dir: PathBuf,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
}

impl NodeCommand {
    /// Whether this command asks for JSON logs (`node run --json`).
    pub fn wants_json_logs(&self) -> bool {
        matches!(self, NodeCommand::Run { json: true, .. })
    }
}

/// What `kexin node init --json` prints.
#[derive(Serialize)]
struct InitDocument {
    dir: PathBuf,
    chain_id: String,
    suite: Suite,
    epoch_length: u64,
    genesis: PathBuf,
    config: PathBuf,
    validator_key: kexin_crypto::PublicKey,
    client_key: PathBuf,
    api: SocketAddr,
}

/// Runs a `node` subcommand.
pub async fn run(cmd: &NodeCommand) -> anyhow::Result<()> {
    match cmd {
        NodeCommand::Init {
            dir,
            suite,
            chain_id,
            api,
            json,
        } => {
            let report = init(dir.clone(), *suite, chain_id.clone(), *api)?;
            if *json {
                let genesis = kexin_types::Genesis::from_json(
                    &std::fs::read_to_string(&report.genesis_path).with_context(|| {
                        format!("cannot read {}", report.genesis_path.display())
                    })?,
                )
                .map_err(anyhow::Error::msg)?;
                return print_json(&InitDocument {
                    dir: dir.clone(),
                    chain_id: report.chain_id,
                    suite: *suite,
                    epoch_length: genesis.epoch_length,
                    genesis: report.genesis_path,
                    config: report.config_path,
                    validator_key: report.validator_key,
                    client_key: report.client_key_path,
                    api: *api,
                });
            }
            println!("initialized node in {}", dir.display());
            println!("  chain id       {}", report.chain_id);
            println!("  suite          {suite}");
            println!("  genesis        {}", report.genesis_path.display());
            println!("  config         {}", report.config_path.display());
            println!("  validator key  {}", report.validator_key);
            println!("  client key     {}", report.client_key_path.display());
            println!("  API            {api}");
            println!("start it with: kexin node run --dir {}", dir.display());
            Ok(())
        }
        NodeCommand::Run { dir, .. } => kexin_api::run(dir).await,
        NodeCommand::Check { dir, json } => check(dir, *json).await,
    }
}

/// `kexin node check`: the report, and an error when something is damaged.
async fn check(dir: &std::path::Path, json: bool) -> anyhow::Result<()> {
    let dir = dir.to_owned();
    let report = tokio::task::spawn_blocking(move || {
        let bar = indicatif::ProgressBar::hidden();
        if !json && std::io::IsTerminal::is_terminal(&std::io::stderr()) {
            bar.set_draw_target(indicatif::ProgressDrawTarget::stderr());
        }
        let report = kexin_node::check::check(&dir, &|h, of| {
            bar.set_length(of);
            bar.set_position(h);
        });
        bar.finish_and_clear();
        report
    })
    .await??;
    if json {
        crate::output::print_json(&report)?;
    } else {
        println!("ledger     {}", report.ledger_path.display());
        println!("height     {}", report.height);
        println!("verified   {} block(s) replayed", report.verified);
        if let Some(root) = report.state_root {
            println!("state root {root}");
        }
        for p in &report.problems {
            let at = p
                .height
                .map(|h| format!(" (height {h})"))
                .unwrap_or_default();
            println!("DAMAGED    {}{at}: {}", p.path.display(), p.message);
        }
        if report.ok() {
            println!("ok: the ledger agrees with its blocks and certificates");
        }
    }
    if !report.ok() {
        anyhow::bail!(
            "{} is damaged: see docs/operations.md (recovery from a damaged data directory)",
            report.ledger_path.display()
        );
    }
    Ok(())
}

/// `kexin_node::init` with these options.
pub fn init(
    dir: PathBuf,
    suite: Suite,
    chain_id: Option<String>,
    api_addr: SocketAddr,
) -> anyhow::Result<kexin_node::InitReport> {
    kexin_node::init(&kexin_node::InitOptions {
        dir,
        suite,
        chain_id,
        api_addr,
    })
}
