//! `kexin gov`: propose governance actions (add or remove an organisation, revoke any
//! organisation's certificate, change a chain parameter), vote on them as an organisation's
//! admin, and list and show proposals. The rules are in `docs/pki.md` ("Governance").

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::Context as _;
use clap::{Args, Subcommand};
use kexin_client::{Client, ClientError, Identity};
use kexin_crypto::{Hash, Suite};
use kexin_exec::modules::governance::describe_action;
use kexin_pki::Certificate;
use kexin_types::api::{ChainInfo, ConsortiumResponse, StateValue};
use kexin_types::{
    CertDer, GovAction, Organisation, Payload, ProposalState, ProposalStatus, RevocationReason,
    Vote,
};
use serde::Serialize;

use crate::Cli;
use crate::error::fail;
use crate::output::{print_json, utc};

/// `kexin gov ...`
#[derive(Debug, Subcommand)]
pub enum GovCommand {
    /// Propose a governance action as an organisation's admin (--identity DIR); proposing
    /// counts as that organisation's yes vote. Prints the proposal id (the proposing
    /// transaction's hash) and, once the transaction is final, the proposal's state.
    Propose(ProposeArgs),
    /// Vote yes or no on an open proposal as an organisation's admin (one vote per
    /// organisation); waits until the vote is final and prints the tally and state.
    Vote(VoteArgs),
    /// List the chain's proposals with their state and tally.
    List(GovListArgs),
    /// Show a proposal: action, proposer, votes, state, expiry and the votes it needs.
    Show(GovShowArgs),
}

/// `kexin gov propose`
#[derive(Debug, Args)]
pub struct ProposeArgs {
    /// The admin identity that proposes (DIR/cert.pem and DIR/key.pem, e.g. D/orgK/admin
    /// of `kexin net up`).
    #[arg(long, value_name = "DIR", global = true)]
    identity: Option<PathBuf>,
    /// Wait until the proposing transaction is final and print the proposal's state (the
    /// default).
    #[arg(long, global = true, overrides_with = "no_wait")]
    wait: bool,
    /// Return once the node accepted the proposing transaction.
    #[arg(long, global = true, overrides_with = "wait")]
    no_wait: bool,
    /// Seconds to wait for the transaction to be final.
    #[arg(long, value_name = "SECONDS", default_value_t = 120, global = true)]
    timeout: u64,
    /// Once final, write the proposing transaction's receipt to FILE (verified first; `kexin
    /// verify --receipt FILE --genesis G` checks it offline).
    #[arg(long, value_name = "FILE", global = true, conflicts_with = "no_wait")]
    receipt: Option<PathBuf>,
    /// Print the result as JSON.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    action: ActionCommand,
}

/// What a proposal does once passed.
#[derive(Debug, Subcommand)]
pub enum ActionCommand {
    /// Admit an organisation with its CA certificate(s) (e.g. made by `kexin ca init`).
    AddOrg {
        /// The organisation's name (the O= of its CA).
        #[arg(long)]
        name: String,
        /// Its CA certificate (PEM or DER); may be repeated.
        #[arg(long = "ca", value_name = "CA.pem", required = true)]
        cas: Vec<PathBuf>,
    },
    /// Remove a member organisation: its certificates stop working. An organisation that
    /// operates validators cannot be removed.
    RemoveOrg {
        /// The organisation's name.
        #[arg(long)]
        name: String,
    },
    /// Revoke any organisation's certificate.
    RevokeCert {
        /// The certificate (PEM or DER).
        #[arg(long, value_name = "CERT.pem")]
        cert: PathBuf,
        /// Why: unspecified, key-compromise, ca-compromise, affiliation-changed, superseded,
        /// cessation-of-operation or privilege-withdrawn.
        #[arg(long)]
        reason: RevocationReason,
    },
    /// Change a chain parameter: gov.threshold_num, gov.threshold_den or
    /// gov.proposal_ttl_ms.
    SetParam {
        /// The parameter.
        #[arg(long)]
        name: String,
        /// Its new value.
        #[arg(long)]
        value: u64,
    },
    /// Add a validator operated by a member organisation; it joins consensus at the start of
    /// the next epoch (one validator change per epoch).
    AddValidator {
        /// The validator's name.
        #[arg(long)]
        name: String,
        /// The organisation operating it.
        #[arg(long)]
        org: String,
        /// Its consensus public key (hex, as `kexin keys show` or the node's log prints it).
        #[arg(long, value_name = "HEX")]
        public_key: String,
        /// Where the other validators reach it (host:port of its p2p listener).
        #[arg(long, value_name = "HOST:PORT")]
        address: String,
    },
    /// Remove a validator; it leaves consensus at the start of the next epoch.
    RemoveValidator {
        /// Its consensus public key (hex).
        #[arg(long, value_name = "HEX")]
        public_key: String,
    },
    /// Move the chain to a new protocol version from a height on. Replace every node's
    /// binary with one that runs the version first (`kexin --version` and `GET /v1/chain`
    /// show it): a node that cannot run it stops at that height, naming the version.
    #[command(disable_version_flag = true)]
    ProtocolUpgrade {
        /// The protocol version (4 is the newest this build runs).
        #[arg(long)]
        version: u8,
        /// The first height that follows it; leave time for the vote to pass before it.
        #[arg(long)]
        height: u64,
    },
    /// Freeze a contract (protocol version 5): calls to it fail with `contract_frozen` until
    /// it is unfrozen; its storage stays readable and provable.
    FreezeContract {
        /// The contract's address (0x and 40 hex digits).
        #[arg(long, value_name = "ADDRESS")]
        contract: String,
    },
    /// Unfreeze a frozen contract.
    UnfreezeContract {
        /// The contract's address.
        #[arg(long, value_name = "ADDRESS")]
        contract: String,
    },
    /// Give a contract a name the consortium agrees on (e.g. `scf`), so that tools find it by
    /// name (`GET /v1/names/{name}`); naming another contract the same moves the name.
    NameContract {
        /// The name: 1 to 32 bytes of a-z, 0-9 and '-', starting with a letter.
        #[arg(long, value_name = "NAME")]
        name: String,
        /// The contract's address.
        #[arg(long, value_name = "ADDRESS")]
        contract: String,
    },
    /// Replace a contract's code, keeping its address and storage. The new code is the
    /// runtime code the artifact's constructor returns (run locally, on an empty state, with
    /// --args as constructor arguments): storage layouts must stay compatible.
    UpgradeContract {
        /// The contract's address.
        #[arg(long, value_name = "ADDRESS")]
        contract: String,
        /// The new code's artifact (solc standard-JSON or --combined-json, Foundry, Hardhat).
        #[arg(long, value_name = "FILE")]
        artifact: PathBuf,
        /// The contract's name, when the artifact holds several.
        #[arg(long, value_name = "NAME")]
        name: Option<String>,
        /// Constructor arguments, if the constructor takes any.
        #[arg(long, num_args = 0.., allow_hyphen_values = true)]
        args: Vec<String>,
    },
}

/// `kexin gov vote`
#[derive(Debug, Args)]
pub struct VoteArgs {
    /// The admin identity that votes for its organisation (DIR/cert.pem and DIR/key.pem).
    #[arg(long, value_name = "DIR")]
    identity: PathBuf,
    /// The proposal id (64 hex digits), as `kexin gov propose` or `kexin gov list` print it.
    #[arg(long, value_name = "ID")]
    proposal: String,
    /// Vote yes.
    #[arg(long, conflicts_with = "no", required_unless_present = "no")]
    yes: bool,
    /// Vote no.
    #[arg(long)]
    no: bool,
    /// Seconds to wait for the vote to be final.
    #[arg(long, value_name = "SECONDS", default_value_t = 120)]
    timeout: u64,
    /// Once final, write the vote's receipt to FILE (verified first; `kexin verify --receipt
    /// FILE --genesis G` checks it offline).
    #[arg(long, value_name = "FILE")]
    receipt: Option<PathBuf>,
    /// Print the result as JSON.
    #[arg(long)]
    json: bool,
}

/// `kexin gov list`
#[derive(Debug, Args)]
pub struct GovListArgs {
    /// At most this many (1..=1000) [default: the node's, 100].
    #[arg(long, value_name = "N")]
    limit: Option<usize>,
    /// Print as JSON.
    #[arg(long)]
    json: bool,
}

/// `kexin gov show`
#[derive(Debug, Args)]
pub struct GovShowArgs {
    /// The proposal id (64 hex digits).
    #[arg(value_name = "ID")]
    id: String,
    /// Print as JSON.
    #[arg(long)]
    json: bool,
}

/// Runs a `gov` subcommand.
pub async fn run(cli: &Cli, cmd: &GovCommand) -> anyhow::Result<()> {
    match cmd {
        GovCommand::Propose(args) => propose(cli, args).await,
        GovCommand::Vote(args) => vote(cli, args).await,
        GovCommand::List(args) => list(cli, args).await,
        GovCommand::Show(args) => show(cli, args).await,
    }
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

fn parse_id(s: &str) -> anyhow::Result<Hash> {
    Hash::from_hex(&s.trim().to_ascii_lowercase()).map_err(|e| {
        fail(
            "bad_hash",
            format!("proposal id {s:?}: {e} (a proposal id is 64 hex digits)"),
        )
    })
}

/// Reads a certificate file, PEM or DER.
fn read_cert(path: &Path) -> anyhow::Result<Certificate> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let cert = match std::str::from_utf8(&bytes) {
        Ok(text) if text.contains("-----BEGIN") => Certificate::from_pem(text),
        _ => Certificate::from_der(&bytes),
    };
    cert.with_context(|| format!("{} is not a certificate", path.display()))
}

/// The action of `cmd`, checked for names, sizes and parameter ranges.
fn build_action(cmd: &ActionCommand) -> anyhow::Result<GovAction> {
    let action = match cmd {
        ActionCommand::AddOrg { name, cas } => {
            let mut ca_certs = Vec::with_capacity(cas.len());
            for path in cas {
                let cert = read_cert(path)?;
                if !cert.is_ca() {
                    return Err(fail(
                        "cert_wrong_ca",
                        format!(
                            "{} is not a CA certificate (make one with kexin ca init --org \
                             {name})",
                            path.display()
                        ),
                    ));
                }
                if cert.org().as_deref() != Some(name.as_str()) {
                    return Err(fail(
                        "cert_profile",
                        format!(
                            "{} is a CA of organisation {:?}, not {name}",
                            path.display(),
                            cert.org().unwrap_or_default()
                        ),
                    ));
                }
                ca_certs.push(CertDer(cert.der().to_vec()));
            }
            GovAction::AddOrg {
                org: Organisation {
                    name: name.clone(),
                    ca_certs,
                },
            }
        }
        ActionCommand::RemoveOrg { name } => GovAction::RemoveOrg { name: name.clone() },
        ActionCommand::RevokeCert { cert, reason } => GovAction::RevokeCert {
            cert: CertDer(read_cert(cert)?.der().to_vec()),
            reason: *reason,
        },
        ActionCommand::SetParam { name, value } => GovAction::SetParam {
            name: name.clone(),
            value: *value,
        },
        ActionCommand::AddValidator {
            name,
            org,
            public_key,
            address,
        } => GovAction::AddValidator {
            validator: kexin_types::Validator {
                name: name.clone(),
                org: org.clone(),
                public_key: parse_key(public_key)?,
                address: address.clone(),
            },
        },
        ActionCommand::RemoveValidator { public_key } => GovAction::RemoveValidator {
            public_key: parse_key(public_key)?,
        },
        ActionCommand::ProtocolUpgrade { version, height } => GovAction::ProtocolUpgrade {
            version: *version,
            height: *height,
        },
        ActionCommand::FreezeContract { contract } => GovAction::FreezeContract {
            contract: parse_contract(contract)?,
        },
        ActionCommand::UnfreezeContract { contract } => GovAction::UnfreezeContract {
            contract: parse_contract(contract)?,
        },
        ActionCommand::NameContract { name, contract } => GovAction::NameContract {
            name: name.clone(),
            contract: parse_contract(contract)?,
        },
        ActionCommand::UpgradeContract {
            contract,
            artifact,
            name,
            args,
        } => GovAction::UpgradeContract {
            contract: parse_contract(contract)?,
            code: upgrade_code(artifact, name.as_deref(), args)?,
        },
    };
    action
        .validate()
        .map_err(|e| fail("malformed", e.to_string()))?;
    Ok(action)
}

fn parse_contract(s: &str) -> anyhow::Result<kexin_types::ContractAddress> {
    s.parse()
        .map_err(|e| fail("bad_address", format!("--contract: {e}")))
}

/// The runtime code of an artifact's contract, for an upgrade.
fn upgrade_code(path: &Path, name: Option<&str>, args: &[String]) -> anyhow::Result<Vec<u8>> {
    use kexin_evm::artifact;
    let bytes = std::fs::read(path)
        .with_context(|| format!("cannot read the artifact {}", path.display()))?;
    let stem = path
        .file_stem()
        .map_or("contract".into(), |s| s.to_string_lossy());
    let bad = |e: artifact::ArtifactError| fail(e.code(), format!("{}: {e}", path.display()));
    let a = artifact::load_artifact(&bytes, name, &stem).map_err(bad)?;
    let mut init = a.bytecode.clone();
    init.extend(
        kexin_evm::abi::encode_constructor(&a.abi, args)
            .map_err(|e| fail(e.code(), e.to_string()))?,
    );
    artifact::runtime_code(&a.name, &init).map_err(bad)
}

fn parse_key(hex: &str) -> anyhow::Result<kexin_crypto::PublicKey> {
    kexin_crypto::PublicKey::from_hex_any(hex.trim())
        .map_err(|e| fail("malformed", format!("public key {hex:?}: {e}")))
}

/// A proposal as the commands print it.
#[derive(Debug, Serialize)]
struct ProposalView {
    id: Hash,
    /// `open`, `passed`, `rejected` or `expired`.
    state: String,
    /// What it does, in words.
    summary: String,
    action: GovAction,
    proposer_org: String,
    created_at: u64,
    expires_ms: u64,
    expires: String,
    /// The height it passed or was rejected at.
    #[serde(skip_serializing_if = "Option::is_none")]
    decided_at: Option<u64>,
    yes: usize,
    no: usize,
    /// The yes votes that decide it (more than 2/3 of the members by default): the threshold
    /// now while it is open; once passed or rejected, the threshold that decided it, or null
    /// when that is not known (a proposal decided by a vote this command did not cast:
    /// the node keeps only today's consortium, and the decision may have changed it).
    votes_needed: Option<usize>,
    /// Member organisations with `votes_needed`: now while open, when it was decided after.
    members: Option<usize>,
    /// Yes votes a proposal needs now, and the members now (they differ from the above once
    /// a decision changed the consortium, as adding or removing an organisation does).
    votes_needed_now: usize,
    members_now: usize,
    votes: Vec<Vote>,
}

/// A decision threshold: yes votes needed among a number of members.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Threshold {
    votes_needed: usize,
    members: usize,
}

impl Threshold {
    fn of(consortium: &ConsortiumResponse) -> Threshold {
        Threshold {
            votes_needed: consortium.votes_needed,
            members: consortium.members.len(),
        }
    }
}

/// `decided_by`: the threshold in force when the proposal was decided, if known.
fn view(
    id: Hash,
    state: String,
    p: ProposalState,
    consortium: &ConsortiumResponse,
    decided_by: Option<Threshold>,
    suite: Suite,
) -> ProposalView {
    let (yes, no) = p.tally();
    let decided_at = match p.status {
        ProposalStatus::Open => None,
        ProposalStatus::Passed { height } | ProposalStatus::Rejected { height } => Some(height),
    };
    let now = Threshold::of(consortium);
    let threshold = match decided_at {
        None => Some(now),
        Some(_) => decided_by,
    };
    ProposalView {
        id,
        state,
        summary: describe_action(&p.action, suite),
        action: p.action,
        proposer_org: p.proposer_org,
        created_at: p.created_at,
        expires_ms: p.expires_ms,
        expires: utc(p.expires_ms),
        decided_at,
        yes,
        no,
        votes_needed: threshold.map(|t| t.votes_needed),
        members: threshold.map(|t| t.members),
        votes_needed_now: now.votes_needed,
        members_now: now.members,
        votes: p.votes,
    }
}

/// `3 yes needed of 4 member(s)` for the threshold that decides the proposal (see
/// [`ProposalView::votes_needed`]), or, for a decided proposal whose threshold is not known,
/// the threshold now, said to be now.
fn threshold_words(v: &ProposalView) -> String {
    match (v.votes_needed, v.members) {
        (Some(n), Some(m)) => format!("{n} yes needed of {m} member(s)"),
        _ => format!(
            "a proposal now needs {} yes of {} member(s)",
            v.votes_needed_now, v.members_now
        ),
    }
}

/// One line: `open: 1 yes, 0 no (3 yes needed of 4 members), expires ...`.
fn tally_line(v: &ProposalView) -> String {
    let tail = match (v.state.as_str(), v.decided_at) {
        ("open", _) => format!("expires {}", v.expires),
        ("expired", _) => format!("expired {}", v.expires),
        (_, Some(h)) => format!("at height {h}"),
        _ => String::new(),
    };
    format!(
        "{}: {} yes, {} no ({}); {tail}",
        v.state,
        v.yes,
        v.no,
        threshold_words(v)
    )
}

fn print_view(v: &ProposalView) {
    println!("proposal      {}", v.id);
    println!("action        {}", v.summary);
    println!("proposer      {} (height {})", v.proposer_org, v.created_at);
    println!("state         {}", v.state);
    match v.decided_at {
        Some(h) => println!("decided       at height {h}"),
        None => println!("expires       {}", v.expires),
    }
    println!(
        "tally         {} yes, {} no; {}",
        v.yes,
        v.no,
        threshold_words(v)
    );
    println!("votes");
    for vote in &v.votes {
        println!(
            "  {:<16} {:<3} height {:<8} admin certificate {}",
            vote.org,
            if vote.approve { "yes" } else { "no" },
            vote.height,
            vote.cert
        );
    }
}

/// The proposal `id` as the node has it now, with the votes needed, and the committed
/// height it was read at.
async fn fetch_view(
    client: &Client,
    id: Hash,
    decided_by: Option<Threshold>,
    suite: Suite,
) -> anyhow::Result<(ProposalView, u64)> {
    let res = client.proposal_state(&id).await?;
    let p = match res.value {
        Some(StateValue::Proposal(p)) => p,
        None => {
            return Err(fail(
                "not_found",
                format!("{} has no proposal {id}", client.base_url()),
            ));
        }
        Some(_) => {
            return Err(fail(
                "decode",
                format!("the state of proposal {id} holds another kind of value"),
            ));
        }
    };
    let consortium = client.consortium().await?;
    let state = p.state_name(now_ms()).to_owned();
    Ok((
        view(id, state, p, &consortium, decided_by, suite),
        res.height,
    ))
}

/// Signs `payload` as the identity in `dir` with its next nonce and submits it (see
/// [`crate::attest::submit_signed`]). Returns the identity and the transaction hash.
pub(crate) async fn submit_as(
    client: &Client,
    info: &ChainInfo,
    dir: &Path,
    payload: Payload,
    timeout: Duration,
) -> anyhow::Result<(Identity, Hash)> {
    let (signer, _) = crate::attest::identity_for(client, info, dir).await?;
    let h = crate::attest::submit_signed(client, info, &signer, &payload, timeout).await?;
    Ok((signer, h))
}

/// Waits until `tx` is final; the chain's refusal, if it dropped it, is the error.
async fn wait_final(
    client: &Client,
    tx: &Hash,
    timeout: Duration,
    what: &str,
) -> Result<u64, anyhow::Error> {
    let status = client
        .wait_committed(tx, timeout)
        .await
        .map_err(|e: ClientError| anyhow::Error::new(e))
        .with_context(|| format!("waiting for {what} {tx} to be final"))?;
    Ok(status.height.unwrap_or_default())
}

#[derive(Serialize)]
struct ProposeReport {
    /// The proposal id (= the proposing transaction's hash).
    id: Hash,
    /// The proposer identity's organisation.
    org: String,
    /// The height the proposal was made at (absent with --no-wait).
    #[serde(skip_serializing_if = "Option::is_none")]
    height: Option<u64>,
    /// `pending` with --no-wait, else the proposal's state once made.
    state: String,
    /// Where the proposing transaction's receipt was written (with --receipt).
    #[serde(skip_serializing_if = "Option::is_none")]
    receipt: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    proposal: Option<ProposalView>,
}

async fn propose(cli: &Cli, args: &ProposeArgs) -> anyhow::Result<()> {
    let Some(dir) = &args.identity else {
        // A usage error like clap's own (exit status 2). `--identity` cannot be `required`:
        // it is global so that it may come before or after the action.
        use clap::CommandFactory as _;
        crate::Cli::command()
            .error(
                clap::error::ErrorKind::MissingRequiredArgument,
                "kexin gov propose needs --identity DIR: an admin identity of a member \
                 organisation (e.g. D/org1/admin of kexin net up)",
            )
            .exit();
    };
    let action = build_action(&args.action)?;
    let client = Client::new(cli.node_url())?;
    let info = crate::attest::chain_info(&client).await?;
    let timeout = Duration::from_secs(args.timeout);
    let summary = describe_action(&action, info.suite);
    let before = Some(Threshold::of(&client.consortium().await?));
    let (signer, id) = submit_as(&client, &info, dir, Payload::Propose { action }, timeout)
        .await
        .with_context(|| format!("proposing to {summary}"))?;
    let mut report = ProposeReport {
        id,
        org: signer.org(),
        height: None,
        state: "pending".into(),
        receipt: None,
        proposal: None,
    };
    // `--wait` is the default; `--no-wait` turns it off (the last of the two given wins).
    if args.wait || !args.no_wait {
        let height = wait_final(&client, &id, timeout, "proposal").await?;
        // A proposal decided by its own creation (a one-member consortium) was decided by
        // the threshold read just before.
        let (v, _) = fetch_view(&client, id, before, info.suite).await?;
        report.height = Some(height);
        report.state = v.state.clone();
        report.proposal = Some(v);
        if let Some(path) = &args.receipt {
            crate::verify::save_tx_receipt(&client, &info.genesis, &id, path).await?;
            report.receipt = Some(path.clone());
        }
    }
    if args.json {
        return print_json(&report);
    }
    println!(
        "proposed by {} ({}): {summary}",
        signer.org(),
        signer.name()
    );
    println!("proposal {id}");
    match (&report.proposal, report.height) {
        (Some(v), Some(h)) => println!("made at height {h}; {}", tally_line(v)),
        _ => println!(
            "submitted; not waiting (kexin gov show {id} --node {} shows its state)",
            client.base_url()
        ),
    }
    if let Some(path) = &report.receipt {
        println!("receipt written to {} (verified)", path.display());
    }
    Ok(())
}

#[derive(Serialize)]
struct VoteReport {
    /// The proposal id.
    id: Hash,
    /// The vote transaction's hash.
    tx_hash: Hash,
    /// The voting organisation.
    org: String,
    /// `yes` or `no`.
    vote: &'static str,
    /// The height the vote was recorded at.
    height: u64,
    /// The proposal's state after the vote.
    state: String,
    /// Where the vote's receipt was written (with --receipt).
    #[serde(skip_serializing_if = "Option::is_none")]
    receipt: Option<PathBuf>,
    proposal: ProposalView,
}

async fn vote(cli: &Cli, args: &VoteArgs) -> anyhow::Result<()> {
    let id = parse_id(&args.proposal)?;
    let approve = args.yes && !args.no;
    let client = Client::new(cli.node_url())?;
    let info = crate::attest::chain_info(&client).await?;
    let timeout = Duration::from_secs(args.timeout);
    let word = if approve { "yes" } else { "no" };
    // The threshold in force as the vote is cast: the one that decides the proposal if this
    // vote does (the decision may change it, as adding an organisation does).
    let before = Threshold::of(&client.consortium().await?);
    let (signer, tx_hash) = submit_as(
        &client,
        &info,
        &args.identity,
        Payload::Vote {
            proposal: id,
            approve,
        },
        timeout,
    )
    .await
    .with_context(|| format!("voting {word} on proposal {id}"))?;
    let height = wait_final(&client, &tx_hash, timeout, "vote").await?;
    // A vote on a decided proposal is refused: decided now, it was by this vote.
    let (v, _) = fetch_view(&client, id, Some(before), info.suite).await?;
    if let Some(path) = &args.receipt {
        crate::verify::save_tx_receipt(&client, &info.genesis, &tx_hash, path).await?;
    }
    let report = VoteReport {
        id,
        tx_hash,
        org: signer.org(),
        vote: word,
        height,
        state: v.state.clone(),
        receipt: args.receipt.clone(),
        proposal: v,
    };
    if args.json {
        return print_json(&report);
    }
    println!(
        "{} voted {word} on proposal {id} (transaction {tx_hash}, height {height})",
        report.org
    );
    println!("{}", report.proposal.summary);
    println!("{}", tally_line(&report.proposal));
    if let Some(path) = &report.receipt {
        println!("receipt written to {} (verified)", path.display());
    }
    Ok(())
}

#[derive(Serialize)]
struct ListReport {
    /// The committed height the list was read at.
    height: u64,
    /// Member organisations now.
    members: Vec<String>,
    /// Yes votes a proposal needs to pass now.
    votes_needed: usize,
    /// Oldest first.
    proposals: Vec<ProposalView>,
}

async fn list(cli: &Cli, args: &GovListArgs) -> anyhow::Result<()> {
    let client = Client::new(cli.node_url())?;
    let info = crate::attest::chain_info(&client).await?;
    let res = client.proposals(args.limit).await?;
    let consortium = client.consortium().await?;
    let mut proposals: Vec<ProposalView> = res
        .proposals
        .into_iter()
        .map(|e| view(e.id, e.state, e.proposal, &consortium, None, info.suite))
        .collect();
    proposals.sort_by_key(|v| (v.created_at, v.id));
    let report = ListReport {
        height: res.height,
        votes_needed: consortium.votes_needed,
        members: consortium.members,
        proposals,
    };
    if args.json {
        return print_json(&report);
    }
    println!(
        "{:<64} {:<8} {:<10} {:<7} {:<24} ACTION",
        "ID", "STATE", "PROPOSER", "YES/NO", "EXPIRES"
    );
    for v in &report.proposals {
        println!(
            "{} {:<8} {:<10} {:<7} {:<24} {}",
            v.id,
            v.state,
            v.proposer_org,
            format!("{}/{}", v.yes, v.no),
            v.expires,
            v.summary
        );
    }
    println!(
        "{} proposal(s) at height {}; a proposal needs {} yes vote(s) of {} member(s) ({})",
        report.proposals.len(),
        report.height,
        report.votes_needed,
        report.members.len(),
        report.members.join(", ")
    );
    Ok(())
}

#[derive(Serialize)]
struct ShowReport {
    /// The committed height the proposal was read at.
    height: u64,
    #[serde(flatten)]
    proposal: ProposalView,
}

async fn show(cli: &Cli, args: &GovShowArgs) -> anyhow::Result<()> {
    let id = parse_id(&args.id)?;
    let client = Client::new(cli.node_url())?;
    let info = crate::attest::chain_info(&client).await?;
    let (v, height) = fetch_view(&client, id, None, info.suite).await?;
    if args.json {
        return print_json(&ShowReport {
            height,
            proposal: v,
        });
    }
    print_view(&v);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser as _;

    fn parse(args: &[&str]) -> Result<crate::Cli, clap::Error> {
        crate::Cli::try_parse_from(args)
    }

    #[test]
    fn propose_takes_its_options_before_or_after_the_action() {
        for line in [
            "kexin gov propose --node http://x:1 --identity a remove-org --name org2",
            "kexin gov propose remove-org --name org2 --identity a --json --no-wait",
        ] {
            let args: Vec<&str> = line.split_whitespace().collect();
            let c = parse(&args).unwrap_or_else(|e| panic!("{line}: {e}"));
            let crate::Command::Gov(GovCommand::Propose(p)) = c.command else {
                panic!("{line}");
            };
            assert_eq!(p.identity.as_deref(), Some(Path::new("a")));
            assert!(matches!(p.action, ActionCommand::RemoveOrg { ref name } if name == "org2"));
            assert_eq!(p.no_wait, line.contains("--no-wait"));
            assert_eq!(p.json, line.contains("--json"));
        }
        assert!(parse(&["kexin", "gov", "propose", "--identity", "a"]).is_err());
        assert!(parse(&["kexin", "gov", "propose", "add-org", "--name", "o"]).is_err());
        let bad_reason = "kexin gov propose revoke-cert --cert c --reason nope";
        assert!(parse(&bad_reason.split_whitespace().collect::<Vec<_>>()).is_err());
    }

    #[test]
    fn vote_needs_exactly_one_of_yes_and_no() {
        let base = [
            "kexin",
            "gov",
            "vote",
            "--identity",
            "a",
            "--proposal",
            "00",
        ];
        assert!(parse(&base).is_err());
        assert!(parse(&[&base[..], &["--yes", "--no"]].concat()).is_err());
        for (flag, approve) in [("--yes", true), ("--no", false)] {
            let c = parse(&[&base[..], &[flag]].concat()).unwrap();
            let crate::Command::Gov(GovCommand::Vote(v)) = c.command else {
                panic!();
            };
            assert_eq!(v.yes && !v.no, approve);
        }
    }

    #[test]
    fn actions_are_checked_before_anything_is_sent() {
        let bad = ActionCommand::SetParam {
            name: "gov.nope".into(),
            value: 1,
        };
        let e = build_action(&bad).unwrap_err();
        assert_eq!(crate::error::describe(&e).0, "malformed");
        let ok = ActionCommand::SetParam {
            name: "gov.proposal_ttl_ms".into(),
            value: 3_600_000,
        };
        assert_eq!(
            describe_action(&build_action(&ok).unwrap(), Suite::Intl),
            "set gov.proposal_ttl_ms = 3600000"
        );
        assert_eq!(
            crate::error::describe(&parse_id("xyz").unwrap_err()).0,
            "bad_hash"
        );
    }
}
