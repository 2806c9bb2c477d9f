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
    }
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
