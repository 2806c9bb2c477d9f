//! `kexin contract`: deploy Solidity contracts from solc, Foundry or Hardhat artifacts, call
//! them in transactions, query them read-only, and show contract accounts.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context as _;
use clap::{Args, Subcommand};
use kexin_client::Client;
use kexin_evm::abi::{self, AbiError, decode_custom_error, decode_log, decode_output};
use kexin_evm::artifact::{ArtifactError, load_artifact};
use kexin_types::api::{ChainInfo, ContractQueryRequest};
use kexin_types::state_receipt::{parse_slot, word_hex};
use kexin_types::{ContractAddress, Outcome, Payload};
use serde::Serialize;

use crate::Cli;
use crate::error::fail;
use crate::output::{print_json, write_json_file};

/// `kexin contract ...`
#[derive(Debug, Subcommand)]
pub enum ContractCommand {
    /// Deploy a contract from an artifact (solc standard-JSON or --combined-json output, a
    /// Foundry or Hardhat artifact file) as an identity; prints its address once final.
    Deploy(DeployArgs),
    /// Call a contract function in a transaction as an identity (`'transfer(address,uint256)'`
    /// and its arguments, or a function of --abi by name); waits until it is final.
    Call(CallArgs),
    /// Run a read-only call on the committed state and print what it returns (no transaction).
    Query(QueryArgs),
    /// Show a contract account: code hash and size, creator, whether it is frozen.
    Show(ShowArgs),
    /// Read a storage slot with its state proof, checked against the genesis, and print the
    /// word it holds; --out saves the proof for `kexin verify --state-proof`.
    Storage(StorageArgs),
    /// List the logs (Solidity events) a contract emitted in a range of committed blocks,
    /// decoded with --abi, or else the ABI published with the contract; one line per log.
    Events(EventsArgs),
}

/// `kexin contract deploy ARTIFACT --identity DIR [--args ...]` (`--key FILE` on an open chain)
#[derive(Debug, Args)]
pub struct DeployArgs {
    /// The artifact file.
    #[arg(value_name = "ARTIFACT")]
    artifact: PathBuf,
    /// The contract to deploy, when the file holds several (solc outputs).
    #[arg(long, value_name = "NAME")]
    contract: Option<String>,
    /// The constructor's arguments, as text (`cast` style: numbers, 0x addresses and bytes,
    /// true/false, [a,b] arrays, (a,b) tuples).
    #[arg(long, value_name = "ARG", num_args = 1.., allow_negative_numbers = true)]
    args: Vec<String>,
    /// The identity that deploys (DIR/cert.pem and DIR/key.pem): required on a chain with
    /// organisations.
    #[arg(long, value_name = "DIR")]
    identity: Option<PathBuf>,
    /// On a chain without organisations: the PKCS#8 PEM key that signs [default: $KEXIN_KEY,
    /// else ~/.kexin/client-<suite>.pem, created on first use].
    #[arg(long, value_name = "FILE", conflicts_with = "identity")]
    key: Option<PathBuf>,
    /// Most gas the deployment may use.
    #[arg(long, value_name = "GAS", default_value_t = 5_000_000)]
    gas: u64,
    /// Do not publish the artifact's ABI with the contract (by default it rides in the
    /// deployment, so explorers and `kexin contract events` decode its calls and events).
    #[arg(long)]
    no_abi: bool,
    /// Seconds to wait for the deployment to be final.
    #[arg(long, value_name = "SECONDS", default_value_t = 120)]
    timeout: u64,
    /// Print the result as JSON.
    #[arg(long)]
    json: bool,
}

/// `kexin contract call ADDRESS SIGNATURE ARGS... --identity DIR`
#[derive(Debug, Args)]
pub struct CallArgs {
    /// The contract: its address (0x and 40 hex digits), or the name the consortium gave it.
    #[arg(value_name = "ADDRESS")]
    address: String,
    /// The function: a signature such as `'transfer(address,uint256)'` (return types as
    /// `'balanceOf(address)(uint256)'`), or a function name of --abi (or of the ABI published
    /// with the contract).
    #[arg(value_name = "SIGNATURE")]
    signature: String,
    /// The arguments, as text.
    #[arg(value_name = "ARGS", allow_negative_numbers = true)]
    args: Vec<String>,
    /// An ABI (a JSON ABI or any accepted artifact file): SIGNATURE is then a function name,
    /// and logs and custom errors are decoded with it [default: the ABI published with the
    /// contract's deployment, if any].
    #[arg(long, value_name = "FILE")]
    abi: Option<PathBuf>,
    /// The contract of --abi, when the file holds several (solc outputs).
    #[arg(long, value_name = "NAME", requires = "abi")]
    contract: Option<String>,
    /// The identity that calls (DIR/cert.pem and DIR/key.pem): required on a chain with
    /// organisations.
    #[arg(long, value_name = "DIR")]
    identity: Option<PathBuf>,
    /// On a chain without organisations: the PKCS#8 PEM key that signs [default: $KEXIN_KEY,
    /// else ~/.kexin/client-<suite>.pem, created on first use].
    #[arg(long, value_name = "FILE", conflicts_with = "identity")]
    key: Option<PathBuf>,
    /// Most gas the call may use.
    #[arg(long, value_name = "GAS", default_value_t = 1_000_000)]
    gas: u64,
    /// Seconds to wait for the call to be final.
    #[arg(long, value_name = "SECONDS", default_value_t = 120)]
    timeout: u64,
    /// Print the result as JSON.
    #[arg(long)]
    json: bool,
}

/// `kexin contract query ADDRESS SIGNATURE ARGS...`
#[derive(Debug, Args)]
pub struct QueryArgs {
    /// The contract's address.
    #[arg(value_name = "ADDRESS")]
    address: String,
    /// The function, as for `kexin contract call`.
    #[arg(value_name = "SIGNATURE")]
    signature: String,
    /// The arguments, as text.
    #[arg(value_name = "ARGS", allow_negative_numbers = true)]
    args: Vec<String>,
    /// An ABI file, as for `kexin contract call`.
    #[arg(long, value_name = "FILE")]
    abi: Option<PathBuf>,
    /// The contract of --abi, when the file holds several (solc outputs).
    #[arg(long, value_name = "NAME", requires = "abi")]
    contract: Option<String>,
    /// The caller (`msg.sender`) the call runs as [default: the zero address].
    #[arg(long, value_name = "ADDRESS")]
    from: Option<String>,
    /// Most gas the call may use [default: the chain's contract.tx_gas_limit].
    #[arg(long, value_name = "GAS")]
    gas: Option<u64>,
    /// Print the result as JSON.
    #[arg(long)]
    json: bool,
}

/// `kexin contract show ADDRESS`
#[derive(Debug, Args)]
pub struct ShowArgs {
    /// The contract's address.
    #[arg(value_name = "ADDRESS")]
    address: String,
    /// Print the node's JSON answer.
    #[arg(long)]
    json: bool,
}

/// `kexin contract storage ADDRESS SLOT [--out FILE]`
#[derive(Debug, Args)]
pub struct StorageArgs {
    /// The contract's address.
    #[arg(value_name = "ADDRESS")]
    address: String,
    /// The slot: a decimal number, or 0x and up to 64 hex digits. A Solidity state variable's
    /// slot follows the compiler's layout: `mapping(K => V)` at slot p keeps key k's value at
    /// keccak256(abi.encode(k, p)) (`cast index K k p` computes it).
    #[arg(value_name = "SLOT")]
    slot: String,
    /// Write the state proof to FILE: `kexin verify --state-proof FILE --genesis G` checks it
    /// offline.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// Verify the proof against this genesis file instead of the one the node reports (a
    /// saved `GET /v1/chain` answer is accepted too).
    #[arg(long, value_name = "G")]
    genesis: Option<PathBuf>,
    /// Print the result as JSON.
    #[arg(long)]
    json: bool,
}

/// `kexin contract events ADDRESS [--abi FILE] [--from-height H] [--to-height H] [--topic0 T]`
#[derive(Debug, Args)]
pub struct EventsArgs {
    /// The contract's address.
    #[arg(value_name = "ADDRESS")]
    address: String,
    /// An ABI (a JSON ABI or any accepted artifact file): logs are decoded with it, as
    /// `Name(arg: value, ...)` [default: the ABI published with the contract's deployment].
    #[arg(long, value_name = "FILE")]
    abi: Option<PathBuf>,
    /// The contract of --abi, when the file holds several (solc outputs).
    #[arg(long, value_name = "NAME", requires = "abi")]
    contract: Option<String>,
    /// The first block [default: 1].
    #[arg(long, value_name = "H")]
    from_height: Option<u64>,
    /// The last block [default: the head when the command starts].
    #[arg(long, value_name = "H")]
    to_height: Option<u64>,
    /// Only logs whose first topic is this: 32 bytes in hex (0x optional), an event
    /// signature such as `'Transfer(address,address,uint256)'`, or an event name of --abi.
    #[arg(long, value_name = "TOPIC")]
    topic0: Option<String>,
    /// Print the logs as JSON.
    #[arg(long)]
    json: bool,
}

/// Runs `kexin contract ...`.
pub async fn run(cli: &Cli, cmd: &ContractCommand) -> anyhow::Result<()> {
    match cmd {
        ContractCommand::Deploy(args) => deploy(cli, args).await,
        ContractCommand::Call(args) => call(cli, args).await,
        ContractCommand::Query(args) => query(cli, args).await,
        ContractCommand::Show(args) => show(cli, args).await,
        ContractCommand::Storage(args) => storage(cli, args).await,
        ContractCommand::Events(args) => events(cli, args).await,
    }
}

fn artifact_err(path: &Path, e: ArtifactError) -> anyhow::Error {
    fail(e.code(), format!("{}: {e}", path.display()))
}

fn abi_err(e: AbiError) -> anyhow::Error {
    fail(e.code(), e.to_string())
}

fn parse_address(s: &str, what: &str) -> anyhow::Result<ContractAddress> {
    s.parse()
        .map_err(|e| fail("invalid_address", format!("{what} {s:?}: {e}")))
}

/// The contract `s` stands for: an address (`0x` and 40 hex digits), or a name the consortium
/// gave a contract (`kexin gov propose name-contract`), looked up on the node.
async fn target(client: &Client, s: &str) -> anyhow::Result<ContractAddress> {
    if s.starts_with("0x") || s.starts_with("0X") {
        return parse_address(s, "ADDRESS");
    }
    kexin_types::gov::validate_contract_name(s).map_err(|_| {
        fail(
            "invalid_address",
            format!("ADDRESS {s:?} is neither 0x and 40 hex digits nor a contract name"),
        )
    })?;
    match client.contract_named(s).await {
        Ok(named) => Ok(named.contract),
        Err(e) if e.status() == Some(404) => Err(fail(
            "unknown_name",
            format!(
                "no contract is named {s:?} on this chain (the consortium names contracts with name_contract proposals)"
            ),
        )),
        Err(e) => {
            Err(anyhow::Error::new(e).context(format!("looking up the contract named {s:?}")))
        }
    }
}

/// The chain's parameters, refusing a chain whose protocol has no contracts yet.
async fn contract_chain(client: &Client) -> anyhow::Result<ChainInfo> {
    let info = crate::attest::chain_info(client).await?;
    if info.protocol_version < kexin_types::protocol::V5 {
        return Err(fail(
            "contracts_unsupported",
            format!(
                "chain {} runs protocol version {}: contracts need version 5 (vote a protocol-upgrade)",
                info.chain_id, info.protocol_version
            ),
        ));
    }
    Ok(info)
}

/// An ABI from `path`: a JSON ABI (a list) or any accepted artifact file.
fn read_abi(path: &Path, contract: Option<&str>) -> anyhow::Result<abi::JsonAbi> {
    let bytes =
        std::fs::read(path).with_context(|| format!("cannot read the ABI {}", path.display()))?;
    if let Ok(abi) = serde_json::from_slice::<abi::JsonAbi>(&bytes) {
        return Ok(abi);
    }
    let stem = path
        .file_stem()
        .map_or("contract".into(), |s| s.to_string_lossy());
    load_artifact(&bytes, contract, &stem)
        .map(|a| a.abi)
        .map_err(|e| artifact_err(path, e))
}

/// The ABI to read a contract with: the --abi file when given, else the ABI published with the
/// contract's deployment (none when it has none, or the node cannot say).
async fn abi_for(
    client: &Client,
    contract: &ContractAddress,
    file: Option<&Path>,
    name: Option<&str>,
) -> anyhow::Result<Option<abi::JsonAbi>> {
    if let Some(path) = file {
        return read_abi(path, name).map(Some);
    }
    Ok(client
        .contract(contract)
        .await
        .ok()
        .and_then(|c| c.abi)
        .and_then(|v| serde_json::from_value(v).ok()))
}

/// The function and calldata of a call given as SIGNATURE ARGS (or a name of `abi`).
fn encode(
    signature: &str,
    args: &[String],
    abi: Option<&abi::JsonAbi>,
) -> anyhow::Result<(abi::Function, Vec<u8>)> {
    let function = match abi {
        Some(abi) if !signature.contains('(') => {
            abi::find_function(abi, signature).map_err(abi_err)?.clone()
        }
        _ => abi::parse_signature(signature).map_err(abi_err)?,
    };
    let input = abi::encode_call(&function, args).map_err(abi_err)?;
    Ok((function, input))
}

#[derive(Serialize)]
struct TxReport {
    tx_hash: kexin_crypto::Hash,
    height: u64,
    gas_used: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    address: Option<ContractAddress>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    outputs: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    events: Vec<String>,
}

/// Who signs a contract transaction: the identity in `identity` on a chain with
/// organisations, else a bare key (`key`, `$KEXIN_KEY` or the default client key).
enum Signer {
    Identity(Box<kexin_client::Identity>),
    Key(kexin_crypto::SigningKey),
}

async fn signer(
    client: &Client,
    info: &ChainInfo,
    identity: Option<&Path>,
    key: Option<&Path>,
) -> anyhow::Result<Signer> {
    match identity {
        Some(dir) => Ok(Signer::Identity(Box::new(
            crate::attest::identity_for(client, info, dir).await?.0,
        ))),
        None if info.genesis.is_permissioned() => Err(crate::attest::identity_required(info)),
        None => Ok(Signer::Key(crate::keys::signing_key(key, info.suite)?)),
    }
}

/// Signs `payload` as `signer`, waits until it is final, and returns its hash, height and
/// outcome; a failed outcome is the error (custom errors named with `abi`).
async fn transact(
    client: &Client,
    info: &ChainInfo,
    signer: &Signer,
    payload: Payload,
    timeout: Duration,
    abi: Option<&abi::JsonAbi>,
) -> anyhow::Result<(kexin_crypto::Hash, u64, Outcome)> {
    let author = match signer {
        Signer::Identity(i) => kexin_client::submit::Author::Identity(i),
        Signer::Key(k) => kexin_client::submit::Author::Key(k),
    };
    let kexin_client::submit::Final {
        tx_hash,
        height,
        outcome,
    } = kexin_client::submit::transact(client, info, &author, &payload, timeout).await?;
    if !outcome.is_success() {
        let code = outcome.code.clone().unwrap_or_default();
        let mut message = outcome.message.clone().unwrap_or_default();
        if let Some(named) = abi.and_then(|a| decode_custom_error(a, &outcome.return_data)) {
            message = format!("reverted: {named}");
        }
        return Err(fail(
            leak(code),
            format!(
                "transaction {tx_hash} (height {height}, gas {}): {message}",
                outcome.gas_used
            ),
        ));
    }
    Ok((tx_hash, height, outcome))
}

/// A failure code as the error type needs it (codes are few and stable).
fn leak(code: String) -> &'static str {
    match code.as_str() {
        "contract_reverted" => "contract_reverted",
        "out_of_gas" => "out_of_gas",
        "contract_halted" => "contract_halted",
        "contract_rejected" => "contract_rejected",
        "no_contract" => "no_contract",
        "contract_frozen" => "contract_frozen",
        "gas_limit_too_high" => "gas_limit_too_high",
        "initcode_too_large" => "initcode_too_large",
        "deploy_not_permitted" => "deploy_not_permitted",
        _ => "tx_failed",
    }
}

/// `l` decoded with the first event of `abi` that decodes it.
fn decode_contract_log(
    abi: Option<&abi::JsonAbi>,
    l: &kexin_types::ContractLog,
) -> Option<abi::DecodedLog> {
    let log = kexin_evm::Log::new_unchecked(
        kexin_evm::Address::from(l.address.0),
        l.topics
            .iter()
            .map(|t| kexin_evm::B256::from(t.0))
            .collect(),
        l.data.clone().into(),
    );
    abi.and_then(|a| decode_log(a, &log))
}

/// A decoded event as `Name(arg: value, ...)`.
fn event_text(d: &abi::DecodedLog) -> String {
    format!(
        "{}({})",
        d.name,
        d.fields
            .iter()
            .map(|(k, v)| format!("{k}: {v}"))
            .collect::<Vec<_>>()
            .join(", ")
    )
}

fn decoded_events(abi: Option<&abi::JsonAbi>, outcome: &Outcome) -> Vec<String> {
    outcome
        .logs
        .iter()
        .map(|l| match decode_contract_log(abi, l) {
            Some(d) => event_text(&d),
            None => format!(
                "log from {} with {} topic(s) and {} bytes",
                l.address,
                l.topics.len(),
                l.data.len()
            ),
        })
        .collect()
}

async fn deploy(cli: &Cli, args: &DeployArgs) -> anyhow::Result<()> {
    let bytes = std::fs::read(&args.artifact)
        .with_context(|| format!("cannot read the artifact {}", args.artifact.display()))?;
    let stem = args
        .artifact
        .file_stem()
        .map_or("contract".into(), |s| s.to_string_lossy());
    let artifact = load_artifact(&bytes, args.contract.as_deref(), &stem)
        .map_err(|e| artifact_err(&args.artifact, e))?;
    let mut code = artifact.bytecode.clone();
    code.extend(abi::encode_constructor(&artifact.abi, &args.args).map_err(abi_err)?);
    let client = Client::new(cli.node_url())?;
    let info = contract_chain(&client).await?;
    let abi_json = if args.no_abi || artifact.abi.is_empty() {
        None
    } else {
        Some(serde_json::to_string(&artifact.abi).context("writing the ABI as JSON")?)
    };
    let payload = Payload::ContractDeploy {
        gas_limit: args.gas,
        code,
        abi: abi_json,
    };
    payload
        .validate()
        .map_err(|e| fail("invalid_payload", e.to_string()))?;
    let timeout = Duration::from_secs(args.timeout);
    let who = signer(
        &client,
        &info,
        args.identity.as_deref(),
        args.key.as_deref(),
    )
    .await?;
    let (tx_hash, height, outcome) =
        transact(&client, &info, &who, payload, timeout, Some(&artifact.abi))
            .await
            .with_context(|| format!("deploying {}", artifact.name))?;
    let address = <[u8; 20]>::try_from(outcome.return_data.as_slice())
        .map(ContractAddress)
        .map_err(|_| {
            fail(
                "no_address",
                "the deployment did not return a 20-byte address",
            )
        })?;
    let report = TxReport {
        tx_hash,
        height,
        gas_used: outcome.gas_used,
        address: Some(address),
        outputs: Vec::new(),
        events: decoded_events(Some(&artifact.abi), &outcome),
    };
    if args.json {
        return print_json(&report);
    }
    println!("{address}");
    eprintln!(
        "deployed {} at {address}: transaction {tx_hash}, height {height}, gas {}",
        artifact.name, outcome.gas_used
    );
    Ok(())
}

async fn call(cli: &Cli, args: &CallArgs) -> anyhow::Result<()> {
    let client = Client::new(cli.node_url())?;
    let contract = target(&client, &args.address).await?;
    let abi = abi_for(
        &client,
        &contract,
        args.abi.as_deref(),
        args.contract.as_deref(),
    )
    .await?;
    let (function, input) = encode(&args.signature, &args.args, abi.as_ref())?;
    let info = contract_chain(&client).await?;
    let payload = Payload::ContractCall {
        contract,
        gas_limit: args.gas,
        input,
    };
    payload
        .validate()
        .map_err(|e| fail("invalid_payload", e.to_string()))?;
    let timeout = Duration::from_secs(args.timeout);
    let who = signer(
        &client,
        &info,
        args.identity.as_deref(),
        args.key.as_deref(),
    )
    .await?;
    let (tx_hash, height, outcome) = transact(&client, &info, &who, payload, timeout, abi.as_ref())
        .await
        .with_context(|| format!("calling {} on {contract}", function.signature()))?;
    let outputs = if function.outputs.is_empty() {
        Vec::new()
    } else {
        decode_output(&function, &outcome.return_data).map_err(abi_err)?
    };
    let report = TxReport {
        tx_hash,
        height,
        gas_used: outcome.gas_used,
        address: None,
        outputs,
        events: decoded_events(abi.as_ref(), &outcome),
    };
    if args.json {
        return print_json(&report);
    }
    for o in &report.outputs {
        println!("{o}");
    }
    for e in &report.events {
        println!("event {e}");
    }
    eprintln!(
        "transaction {tx_hash}: final at height {height}, gas {}",
        outcome.gas_used
    );
    Ok(())
}

#[derive(Serialize)]
struct QueryReport {
    outputs: Vec<String>,
    return_data: String,
    gas_used: u64,
    height: u64,
}

async fn query(cli: &Cli, args: &QueryArgs) -> anyhow::Result<()> {
    let client = Client::new(cli.node_url())?;
    let contract = target(&client, &args.address).await?;
    let from = args
        .from
        .as_deref()
        .map(|f| parse_address(f, "--from"))
        .transpose()?;
    let abi = abi_for(
        &client,
        &contract,
        args.abi.as_deref(),
        args.contract.as_deref(),
    )
    .await?;
    let (function, input) = encode(&args.signature, &args.args, abi.as_ref())?;
    let r = client
        .contract_query(
            &contract,
            &ContractQueryRequest {
                input,
                from,
                function: None,
                args: Vec::new(),
                gas_limit: args.gas,
            },
        )
        .await
        .with_context(|| format!("querying {} on {contract}", function.signature()))?;
    if r.status != kexin_types::Status::Success {
        let mut message = r.message.clone().unwrap_or_default();
        if let Some(named) = abi
            .as_ref()
            .and_then(|a| decode_custom_error(a, &r.return_data))
        {
            message = format!("reverted: {named}");
        }
        return Err(fail(leak(r.code.clone().unwrap_or_default()), message));
    }
    let outputs = if function.outputs.is_empty() {
        Vec::new()
    } else {
        decode_output(&function, &r.return_data).map_err(abi_err)?
    };
    if args.json {
        return print_json(&QueryReport {
            outputs,
            return_data: format!("0x{}", hex::encode(&r.return_data)),
            gas_used: r.gas_used,
            height: r.height,
        });
    }
    if outputs.is_empty() {
        println!("0x{}", hex::encode(&r.return_data));
    }
    for o in outputs {
        println!("{o}");
    }
    Ok(())
}

async fn show(cli: &Cli, args: &ShowArgs) -> anyhow::Result<()> {
    let client = Client::new(cli.node_url())?;
    let contract = target(&client, &args.address).await?;
    let c = client
        .contract(&contract)
        .await
        .with_context(|| format!("looking up {contract}"))?;
    if args.json {
        return print_json(&c);
    }
    println!("address      {}", c.address);
    println!("code hash    {}", c.code_hash);
    println!("code size    {} bytes", c.code_size);
    println!("created at   height {}", c.created_at);
    if !c.creator_org.is_empty() {
        println!("creator org  {}", c.creator_org);
    }
    if let Some(tx) = c.deploy_tx {
        println!("deploy tx    {tx}");
    }
    if let Some(a) = c.deployer {
        println!("deployer     {a}");
    }
    if let Some(abi) = &c.abi {
        let entries = abi.as_array().map_or(0, Vec::len);
        println!("ABI          published with the deployment ({entries} entries)");
    }
    println!("frozen       {}", c.frozen);
    println!("nonce        {}", c.nonce);
    Ok(())
}

async fn storage(cli: &Cli, args: &StorageArgs) -> anyhow::Result<()> {
    let slot = parse_slot(&args.slot).map_err(|e| fail("invalid_slot", e.to_string()))?;
    let client = Client::new(cli.node_url())?;
    let contract = target(&client, &args.address).await?;
    let genesis = match &args.genesis {
        Some(path) => crate::verify::read_genesis(path)?,
        None => {
            let info = client.chain().await.with_context(|| {
                format!(
                    "cannot get the chain's parameters from {}",
                    client.base_url()
                )
            })?;
            kexin_client::check_chain_info(&info)?;
            info.genesis
        }
    };
    let doc = client
        .contract_storage(&contract, &slot)
        .await
        .with_context(|| format!("reading slot {} of {contract}", word_hex(&slot)))?;
    let v = doc.verify(&genesis).map_err(|e| {
        fail(
            e.code(),
            format!("the node's state proof does not verify: {e}"),
        )
    })?;
    if v.storage != Some((contract, slot)) {
        return Err(fail(
            "state_key_mismatch",
            format!(
                "asked for slot {} of {contract}, the node proved {v}",
                word_hex(&slot)
            ),
        ));
    }
    if let Some(path) = &args.out {
        write_json_file(path, &doc.to_json())?;
    }
    let mut report = crate::verify::state_report(&genesis, &doc, &v);
    report.proof_file = args.out.as_ref().map(|p| p.display().to_string());
    if args.json {
        return print_json(&report);
    }
    println!("contract     {contract}");
    println!("slot         {}", word_hex(&slot));
    println!("value        {}", crate::verify::describe_value(&report));
    println!("height       {}", v.height);
    println!("block        {}", v.block_hash);
    let against = match &args.genesis {
        Some(path) => format!("genesis {} ({})", report.genesis_hash, path.display()),
        None => format!(
            "the genesis the node reports ({}; check it against yours with `kexin verify \
             --state-proof FILE --genesis G`)",
            report.genesis_hash
        ),
    };
    match &args.out {
        Some(path) => eprintln!(
            "state proof verified against {against}, written to {}",
            path.display()
        ),
        None => eprintln!("state proof verified against {against}"),
    }
    Ok(())
}

/// The `--topic0` of `kexin contract events`: 32 bytes in hex, an event signature, or an
/// event name of `abi`.
fn parse_topic0(s: &str, abi: Option<&abi::JsonAbi>) -> anyhow::Result<kexin_crypto::Hash> {
    let digits = s
        .strip_prefix("0x")
        .or_else(|| s.strip_prefix("0X"))
        .unwrap_or(s);
    if digits.len() == 64
        && let Ok(h) = kexin_crypto::Hash::from_hex(&digits.to_ascii_lowercase())
    {
        return Ok(h);
    }
    if s.contains('(') {
        let signature: String = s.chars().filter(|c| !c.is_whitespace()).collect();
        return Ok(kexin_crypto::Hash(
            kexin_evm::keccak256(signature.as_bytes()).0,
        ));
    }
    let named: Vec<_> = abi
        .map(|a| a.events().filter(|e| e.name == s).collect())
        .unwrap_or_default();
    match named.as_slice() {
        [event] => Ok(kexin_crypto::Hash(event.selector().0)),
        [] => Err(fail(
            "invalid_topic",
            format!(
                "--topic0 {s:?} is not 32 bytes in hex, an event signature such as \
                 'Transfer(address,address,uint256)'{}",
                if abi.is_some() {
                    ", nor an event of --abi"
                } else {
                    ", nor (without --abi) an event name"
                }
            ),
        )),
        _ => Err(fail(
            "invalid_topic",
            format!("--abi has several events named {s:?}: give the signature"),
        )),
    }
}

/// A log as `kexin contract events --json` prints it.
#[derive(Serialize)]
struct EventLine {
    height: u64,
    tx_hash: kexin_crypto::Hash,
    tx_index: u32,
    log_index: u32,
    contract: ContractAddress,
    topics: Vec<kexin_crypto::Hash>,
    data: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    org: Option<String>,
    /// The decoded event, `Name(arg: value, ...)`.
    #[serde(skip_serializing_if = "Option::is_none")]
    event: Option<String>,
    /// Its name.
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    /// Its arguments by name, as text.
    #[serde(skip_serializing_if = "Option::is_none")]
    args: Option<serde_json::Map<String, serde_json::Value>>,
}

#[derive(Serialize)]
struct EventsReport {
    contract: ContractAddress,
    from_height: u64,
    to_height: u64,
    logs: Vec<EventLine>,
}

async fn events(cli: &Cli, args: &EventsArgs) -> anyhow::Result<()> {
    let client = Client::new(cli.node_url())?;
    let contract = target(&client, &args.address).await?;
    let abi = abi_for(
        &client,
        &contract,
        args.abi.as_deref(),
        args.contract.as_deref(),
    )
    .await?;
    let topic0 = args
        .topic0
        .as_deref()
        .map(|t| parse_topic0(t, abi.as_ref()))
        .transpose()?;
    let from = args.from_height.unwrap_or(1);
    if let Some(to) = args.to_height
        && to < from
    {
        return Err(fail(
            "usage",
            format!("--to-height {to} is below --from-height {from}"),
        ));
    }
    let mut next = from;
    let mut to = args.to_height;
    let mut report = EventsReport {
        contract,
        from_height: from,
        to_height: from.saturating_sub(1),
        logs: Vec::new(),
    };
    loop {
        let page = client
            .contract_events(&contract, Some(next), to, topic0.as_ref(), Some(1000))
            .await
            .with_context(|| format!("listing the logs of {contract} from height {next}"))?;
        // Without --to-height, the range ends at the head as the first page saw it.
        let end = *to.get_or_insert(page.height);
        report.to_height = page.to_height.max(report.to_height).min(end);
        for entry in page.logs {
            let decoded = decode_contract_log(abi.as_ref(), &entry.log());
            let line = EventLine {
                height: entry.height,
                tx_hash: entry.tx_hash,
                tx_index: entry.tx_index,
                log_index: entry.log_index,
                contract: entry.contract,
                data: format!("0x{}", hex::encode(&entry.data)),
                topics: entry.topics,
                org: entry.org,
                event: decoded.as_ref().map(event_text),
                name: decoded.as_ref().map(|d| d.name.clone()),
                args: decoded.map(|d| {
                    d.fields
                        .into_iter()
                        .map(|(k, v)| (k, serde_json::Value::String(v)))
                        .collect()
                }),
            };
            if !args.json {
                let what = match &line.event {
                    Some(e) => e.clone(),
                    None => format!(
                        "topics [{}] data {}",
                        line.topics
                            .iter()
                            .map(|t| format!("0x{t}"))
                            .collect::<Vec<_>>()
                            .join(", "),
                        line.data
                    ),
                };
                println!(
                    "{} {} {}.{} {what}",
                    line.height, line.tx_hash, line.tx_index, line.log_index
                );
            }
            report.logs.push(line);
        }
        match page.next_from_height {
            Some(n) if n > next && n <= end => next = n,
            _ => break,
        }
    }
    if args.json {
        return print_json(&report);
    }
    eprintln!(
        "{} log(s) of {contract} in blocks {}..={}",
        report.logs.len(),
        report.from_height,
        report.to_height
    );
    Ok(())
}
