//! `kexin ca`, `kexin cert` and `kexin org`: organisation CAs and the certificates they issue
//! (kept as files, see [`kexin_node::ca`]), and the chain's certificate registry.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::Context as _;
use clap::{Args, Subcommand, ValueEnum};
use kexin_client::{Client, ClientError, Identity, load_key, save_key};
use kexin_crypto::{Hash, KeyScheme, PublicKey, SigningKey, Suite};
use kexin_node::ca::{self, OrgCa};
use kexin_pki::{Certificate, Role};
use kexin_types::api::{ChainInfo, ExpiringCert, OrgListResponse};
use kexin_types::{CertDer, CertState, Genesis, Payload, RevocationReason};
use serde::Serialize;

use crate::Cli;
use crate::error::fail;
use crate::output::{print_json, utc};

/// Certificates and CAs that expire within this many days are flagged by `cert list` and
/// `org list`.
const EXPIRY_WARNING_DAYS: u64 = 30;
const DAY_MS: u64 = 86_400_000;
fn days(s: &str) -> Result<u32, String> {
    let d: u32 = s.parse().map_err(|e| format!("{s:?}: {e}"))?;
    if d == 0 || d > ca::MAX_VALIDITY_DAYS {
        return Err(format!("{d} is not in 1..={}", ca::MAX_VALIDITY_DAYS));
    }
    Ok(d)
}

/// `kexin ca ...`
#[derive(Debug, Subcommand)]
pub enum CaCommand {
    /// Create an organisation CA: a new key (DIR/ca-key.pem, mode 0600; keep it offline in
    /// production) and its self-signed CA certificate (DIR/ca.pem), for an organisation that
    /// joins later or a CA rotation.
    Init(CaInitArgs),
    /// Rotate an organisation's CA: make a new CA key and certificate, add the certificate
    /// to the organisation on chain (an add_ca transaction by D/ORG/admin, waiting until it is
    /// final), then make it D/ORG/ca.pem, the CA `kexin cert issue` uses. The previous CA is
    /// kept as D/ORG/ca-<serial>.pem and D/ORG/ca-key-<serial>.pem, and the chain keeps
    /// accepting the certificates it issued.
    Rotate(CaRotateArgs),
}

/// `kexin ca init`
#[derive(Debug, Args)]
pub struct CaInitArgs {
    /// The organisation (the O= of every certificate it issues): 1..=64 characters of
    /// [A-Za-z0-9._-].
    #[arg(long)]
    org: String,
    /// The chain's suite: `gm` (SM2-with-SM3 certificates) or `intl` (Ed25519).
    #[arg(long)]
    suite: Suite,
    /// Where to write ca.pem and ca-key.pem; `D/<org>` lets `kexin cert issue --dir D --org
    /// <org>` issue with it.
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    /// Days of validity.
    #[arg(long, value_name = "N", default_value_t = ca::CA_VALIDITY_DAYS, value_parser = days)]
    days: u32,
    /// Print the certificate as JSON.
    #[arg(long)]
    json: bool,
}

/// `kexin ca rotate`
#[derive(Debug, Args)]
pub struct CaRotateArgs {
    /// The network directory: D/genesis.json names the chain, D/ORG holds the CA.
    #[arg(long, value_name = "D", default_value = "./kexin-net")]
    dir: PathBuf,
    /// The organisation whose CA to rotate.
    #[arg(long)]
    org: String,
    /// Days of validity of the new CA.
    #[arg(long, value_name = "N", default_value_t = ca::CA_VALIDITY_DAYS, value_parser = days)]
    days: u32,
    /// The admin identity that signs the add_ca transaction [default: D/ORG/admin].
    #[arg(long, value_name = "DIR")]
    admin: Option<PathBuf>,
    /// Seconds to wait for the transaction to be final.
    #[arg(long, value_name = "SECONDS", default_value_t = 120)]
    timeout: u64,
    /// Print the result as JSON.
    #[arg(long)]
    json: bool,
}

/// `kexin cert ...`
#[derive(Debug, Subcommand)]
pub enum CertCommand {
    /// Issue a certificate with the CA in D/ORG: writes OUT/cert.pem and OUT/key.pem (a new
    /// key, mode 0600, unless --key), or only the certificate with --cert-out FILE, and records
    /// it in D/ORG/issued/NAME/.
    Issue(IssueArgs),
    /// Revoke every certificate ORG's CA issued to NAME (by D/ORG/issued/NAME/; with
    /// --serial, only those) that the chain has not revoked yet, as D/ORG/admin (or --admin),
    /// and wait until each revocation is final.
    Revoke(RevokeArgs),
    /// List the chain's certificate registry (certificates used or revoked on chain).
    List(ListArgs),
    /// Show a certificate: a PEM file, decoded (with --node, also its registry entry), or a
    /// certificate id's registry entry.
    Show(ShowArgs),
}

/// `kexin cert issue`
#[derive(Debug, Args)]
pub struct IssueArgs {
    /// The network directory: D/genesis.json fixes the suite, D/ORG holds the CA.
    #[arg(long, value_name = "D", default_value = "./kexin-net")]
    dir: PathBuf,
    /// The issuing organisation (its CA is D/ORG/ca.pem with D/ORG/ca-key.pem).
    #[arg(long)]
    org: String,
    /// The holder's name (CN=): 1..=64 characters of [A-Za-z0-9._-].
    #[arg(long)]
    name: String,
    /// The role: admin, writer, reader, auditor or node.
    #[arg(long)]
    role: Role,
    /// The identity directory to write cert.pem and key.pem to.
    #[arg(long, value_name = "OUT", required_unless_present = "cert_out")]
    out: Option<PathBuf>,
    /// Write only the certificate, to FILE (replacing it), for the existing key of --key,
    /// which stays where it is: e.g. a node certificate, `--role node --key
    /// D/node-0/keys/validator.pem --cert-out D/node-0/keys/node-cert.pem`.
    #[arg(long, value_name = "FILE", requires = "key", conflicts_with = "out")]
    cert_out: Option<PathBuf>,
    /// Days of validity (never beyond the CA's own).
    #[arg(long, value_name = "N", default_value_t = ca::CERT_VALIDITY_DAYS, value_parser = days)]
    days: u32,
    /// Certify this existing key (PKCS#8 PEM, e.g. from `openssl genpkey`; copied to
    /// OUT/key.pem) instead of a new one. With OUT/key.pem itself, renews the certificate in
    /// OUT.
    #[arg(long, value_name = "KEY.pem")]
    key: Option<PathBuf>,
    /// The type of the new key: the suite's own (ed25519 on intl, sm2 on gm; the default),
    /// or p256 (ECDSA P-256) for a user certificate on an intl chain.
    #[arg(long, value_name = "TYPE", conflicts_with = "key")]
    key_type: Option<KeyType>,
    /// Print the certificate as JSON.
    #[arg(long)]
    json: bool,
}

/// The type of key `kexin cert issue` makes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum KeyType {
    /// Ed25519: the intl suite's own.
    Ed25519,
    /// SM2: the gm suite's own.
    Sm2,
    /// ECDSA P-256: user certificates (not node) on intl chains.
    P256,
}

impl KeyType {
    fn scheme(self) -> KeyScheme {
        match self {
            KeyType::Ed25519 => KeyScheme::Ed25519,
            KeyType::Sm2 => KeyScheme::Sm2,
            KeyType::P256 => KeyScheme::EcdsaP256,
        }
    }
}

/// `kexin cert revoke`
#[derive(Debug, Args)]
pub struct RevokeArgs {
    /// The network directory (D/genesis.json, D/ORG/admin, D/ORG/issued/NAME/).
    #[arg(long, value_name = "D", default_value = "./kexin-net")]
    dir: PathBuf,
    /// The organisation whose CA issued the certificates (its admin signs the revocations).
    #[arg(long)]
    org: String,
    /// The holder whose certificates to revoke.
    #[arg(long)]
    name: String,
    /// Why: unspecified, key-compromise, ca-compromise, affiliation-changed, superseded,
    /// cessation-of-operation or privilege-withdrawn.
    #[arg(long)]
    reason: RevocationReason,
    /// Revoke only the certificate with this serial (hex, as `kexin cert show` prints it);
    /// may be repeated [default: every certificate issued to NAME]. E.g. after a renewal or a
    /// CA rotation, the superseded certificate but not its successor.
    #[arg(long = "serial", value_name = "HEX")]
    serials: Vec<String>,
    /// The admin identity that signs the revocations [default: D/ORG/admin].
    #[arg(long, value_name = "DIR")]
    admin: Option<PathBuf>,
    /// Seconds to wait for each revocation to be final.
    #[arg(long, value_name = "SECONDS", default_value_t = 120)]
    timeout: u64,
    /// Print the result as JSON.
    #[arg(long)]
    json: bool,
}

/// `kexin cert list`
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Only this organisation's certificates.
    #[arg(long)]
    org: Option<String>,
    /// At most this many (1..=10000) [default: the node's, 1000].
    #[arg(long, value_name = "N")]
    limit: Option<usize>,
    /// Print the node's answer as JSON.
    #[arg(long)]
    json: bool,
}

/// `kexin cert show`
#[derive(Debug, Args)]
pub struct ShowArgs {
    /// A PEM certificate file, or a certificate id (64 hex digits).
    #[arg(value_name = "FILE|ID")]
    target: String,
    /// Print as JSON.
    #[arg(long)]
    json: bool,
}

/// `kexin org ...`
#[derive(Debug, Subcommand)]
pub enum OrgCommand {
    /// List the consortium's organisations: validators, CA certificates and their expiry.
    List {
        /// Print as JSON.
        #[arg(long)]
        json: bool,
    },
}

/// Runs a `ca` subcommand.
pub async fn run_ca(cli: &Cli, cmd: &CaCommand) -> anyhow::Result<()> {
    match cmd {
        CaCommand::Init(args) => ca_init(args),
        CaCommand::Rotate(args) => ca_rotate(cli, args).await,
    }
}

/// Runs a `cert` subcommand.
pub async fn run_cert(cli: &Cli, cmd: &CertCommand) -> anyhow::Result<()> {
    match cmd {
        CertCommand::Issue(args) => issue(args),
        CertCommand::Revoke(args) => revoke(cli, args).await,
        CertCommand::List(args) => list(cli, args).await,
        CertCommand::Show(args) => show(cli, args).await,
    }
}

/// Runs an `org` subcommand.
pub async fn run_org(cli: &Cli, cmd: &OrgCommand) -> anyhow::Result<()> {
    match cmd {
        OrgCommand::List { json } => org_list(cli, *json).await,
    }
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// Where `[not_before, not_after]` stands now: `valid`, `expires in N days` (within the
/// warning window), `expired` or `not yet valid`.
fn validity_status(not_before_ms: u64, not_after_ms: u64, now: u64) -> String {
    if now < not_before_ms {
        "not yet valid".into()
    } else if now > not_after_ms {
        "expired".into()
    } else if not_after_ms - now < EXPIRY_WARNING_DAYS * DAY_MS {
        format!("expires in {} day(s)", (not_after_ms - now) / DAY_MS)
    } else {
        "valid".into()
    }
}

/// What a certificate says, for display.
#[derive(Debug, Serialize)]
struct CertInfo {
    id: Hash,
    org: String,
    name: String,
    /// The role, or `ca` for a CA certificate.
    role: String,
    serial: String,
    not_before: String,
    not_after: String,
    not_before_ms: u64,
    not_after_ms: u64,
    /// `valid`, `expires in N day(s)`, `expired` or `not yet valid`, now; with `--node`,
    /// `revoked at height H (reason)` for a certificate the registry lists as revoked.
    validity: String,
    suite: Suite,
    public_key: PublicKey,
}

/// The suite a certificate's key belongs to.
fn detect_suite(cert: &Certificate) -> anyhow::Result<Suite> {
    if cert.public_key(Suite::Intl).is_ok() {
        return Ok(Suite::Intl);
    }
    cert.public_key(Suite::Gm)
        .map(|_| Suite::Gm)
        .context("the certificate's key is neither Ed25519 or ECDSA P-256 (intl) nor SM2 (gm)")
}

fn cert_info(cert: &Certificate, suite: Suite) -> anyhow::Result<CertInfo> {
    let (not_before_ms, not_after_ms) = cert.validity_ms();
    let role = match cert.role() {
        Some(r) => r?.to_string(),
        None if cert.is_ca() => "ca".into(),
        None => "-".into(),
    };
    Ok(CertInfo {
        id: CertDer(cert.der().to_vec()).id(suite),
        org: cert.org().unwrap_or_default(),
        name: cert.common_name().unwrap_or_default(),
        role,
        serial: cert.serial_hex(),
        not_before: utc(not_before_ms),
        not_after: utc(not_after_ms),
        not_before_ms,
        not_after_ms,
        validity: validity_status(not_before_ms, not_after_ms, now_ms()),
        suite,
        public_key: cert.public_key(suite)?,
    })
}

fn print_cert_info(info: &CertInfo) {
    println!("certificate   {}", info.id);
    println!("organisation  {}", info.org);
    println!("name          {}", info.name);
    println!("role          {}", info.role);
    println!("serial        {}", info.serial);
    println!(
        "valid         {} .. {} ({})",
        info.not_before, info.not_after, info.validity
    );
    println!("suite         {}", info.suite);
    println!("public key    {}", info.public_key);
}

/// Where a registry entry stands: `revoked at height H (reason)`, or its validity now.
fn registry_status(state: &CertState, now: u64) -> String {
    match state.revoked {
        Some(r) => format!("revoked at height {} ({})", r.height, r.reason),
        None => validity_status(state.not_before_ms, state.not_after_ms, now),
    }
}

fn print_registry(state: Option<&CertState>) {
    match state {
        None => println!("registry      not registered (never used or revoked on chain)"),
        Some(s) => {
            println!(
                "registry      registered at height {}; {}",
                s.registered_at,
                registry_status(s, now_ms())
            );
            println!("issuer CA     {}", s.issuer);
        }
    }
}

fn read_net_genesis(dir: &Path) -> anyhow::Result<Genesis> {
    let path = dir.join(kexin_node::layout::GENESIS);
    if !path.exists() {
        return Err(fail(
            "not_found",
            format!(
                "no network in {}: {} does not exist",
                dir.display(),
                path.display()
            ),
        ));
    }
    crate::net::read_genesis(&path)
}

/// Checks an organisation name before it becomes a path.
fn check_org(org: &str) -> anyhow::Result<()> {
    kexin_types::identity::validate_org_name(org)
        .map_err(|e| fail("invalid_name", e.to_string()))?;
    if org == "." || org == ".." {
        return Err(fail(
            "invalid_name",
            format!("{org:?} is not an organisation"),
        ));
    }
    Ok(())
}

fn open_ca(dir: &Path, org: &str) -> anyhow::Result<OrgCa> {
    check_org(org)?;
    let org_dir = dir.join(org);
    if !org_dir.join(ca::CA_CERT).exists() {
        return Err(fail(
            "not_found",
            format!(
                "no CA of {org} in {}: {} does not exist (make one with kexin ca init --org \
                 {org} --out {})",
                dir.display(),
                org_dir.join(ca::CA_CERT).display(),
                org_dir.display()
            ),
        ));
    }
    let ca = OrgCa::open(&org_dir)?;
    if ca.org() != org {
        return Err(fail(
            "mismatch",
            format!(
                "{} is the CA of organisation {}, not {org}",
                org_dir.join(ca::CA_CERT).display(),
                ca.org()
            ),
        ));
    }
    Ok(ca)
}

fn ca_init(args: &CaInitArgs) -> anyhow::Result<()> {
    check_org(&args.org)?;
    if OrgCa::exists_in(&args.out) {
        return Err(fail(
            "exists",
            format!(
                "{} already holds a CA ({} or {}); choose another --out",
                args.out.display(),
                ca::CA_CERT,
                ca::CA_KEY
            ),
        ));
    }
    let ca = OrgCa::create(&args.out, &args.org, args.suite, args.days)?;
    let info = cert_info(ca.cert(), args.suite)?;
    if args.json {
        return print_json(&info);
    }
    print_cert_info(&info);
    println!(
        "wrote {} and {} (mode 0600: keep the CA key offline in production)",
        args.out.join(ca::CA_CERT).display(),
        args.out.join(ca::CA_KEY).display()
    );
    Ok(())
}

/// The previous CA, as `ca rotate` kept it.
#[derive(Serialize)]
struct PreviousCa {
    id: Hash,
    serial: String,
    cert_file: String,
    key_file: String,
}

#[derive(Serialize)]
struct Rotated {
    org: String,
    /// The new CA.
    ca: CertInfo,
    /// Where it now is (`D/ORG/ca.pem`, `D/ORG/ca-key.pem`).
    cert_file: String,
    key_file: String,
    /// The add_ca transaction (absent when an earlier, interrupted run had added the CA).
    #[serde(skip_serializing_if = "Option::is_none")]
    tx_hash: Option<Hash>,
    /// The height the organisation's CA set changed at.
    #[serde(skip_serializing_if = "Option::is_none")]
    height: Option<u64>,
    /// The organisation's CA ids on chain now (the genesis CA first).
    cas: Vec<Hash>,
    previous: PreviousCa,
    /// Nodes of the network directory that did not list the new CA yet when the command
    /// stopped waiting (their URLs).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    lagging: Vec<String>,
}

/// The organisation `org` in a `/v1/orgs` answer.
fn find_org<'a>(
    orgs: &'a OrgListResponse,
    org: &str,
) -> anyhow::Result<&'a kexin_types::api::OrgInfo> {
    orgs.orgs.iter().find(|o| o.name == org).ok_or_else(|| {
        fail(
            "unknown_org",
            format!("the chain has no organisation {org}"),
        )
    })
}

/// How long `ca rotate` waits, after its transaction is final at one node, for the other
/// nodes of the network directory to list the new CA.
const SPREAD_TIMEOUT: Duration = Duration::from_secs(30);

async fn ca_rotate(cli: &Cli, args: &CaRotateArgs) -> anyhow::Result<()> {
    let genesis = read_net_genesis(&args.dir)?;
    let suite = genesis.suite;
    check_org(&args.org)?;
    if !genesis.is_permissioned() {
        return Err(fail(
            "no_organisations",
            format!(
                "the chain in {} has no organisations, so it has no CAs to rotate",
                args.dir.display()
            ),
        ));
    }
    let org_dir = args.dir.join(&args.org);
    let current = open_ca(&args.dir, &args.org)?;
    if current.suite() != suite {
        return Err(fail(
            "wrong_suite",
            format!(
                "{} is a {} CA, but the chain uses {suite}",
                org_dir.join(ca::CA_CERT).display(),
                current.suite()
            ),
        ));
    }
    let admin = load_admin(&org_dir, args.admin.as_deref(), &args.org)?;
    if admin.suite() != suite {
        return Err(fail(
            "wrong_suite",
            format!(
                "the chain uses {suite}, but the admin identity {} holds a {} key",
                admin.dir().display(),
                admin.suite()
            ),
        ));
    }
    let client = net_client(cli, &args.dir).await?;
    let info = checked_chain(&client, &genesis, &args.dir).await?;
    let timeout = Duration::from_secs(args.timeout);
    // A member now (by genesis or by a later vote), before anything is made.
    let members = client.orgs().await?;
    if find_org(&members, &args.org).is_err() {
        let names: Vec<&str> = members.orgs.iter().map(|o| o.name.as_str()).collect();
        return Err(fail(
            "unknown_org",
            format!(
                "{} is not an organisation of chain {} (its organisations: {})",
                args.org,
                info.chain_id,
                names.join(", ")
            ),
        ));
    }

    // The new CA is on disk (D/ORG/ca-next) before the chain is asked to add it: a run that is
    // interrupted is finished by the next one, with the same CA.
    let next = match ca::pending_ca(&org_dir)? {
        Some(next) => {
            if next.org() != args.org || next.suite() != suite {
                return Err(fail(
                    "mismatch",
                    format!(
                        "{} holds a {} CA of {}, not a {suite} CA of {}: move it away",
                        org_dir.join(ca::CA_NEXT).display(),
                        next.suite(),
                        next.org(),
                        args.org
                    ),
                ));
            }
            eprintln!(
                "note: finishing the rotation begun earlier with the new CA in {} (serial {}; \
                 --days does not change it)",
                org_dir.join(ca::CA_NEXT).display(),
                next.cert().serial_hex()
            );
            next
        }
        None => ca::stage_next_ca(&org_dir, &args.org, suite, args.days)?,
    };
    let der = CertDer(next.cert().der().to_vec());
    let id = der.id(suite);

    let listed = |orgs: &OrgListResponse| -> anyhow::Result<Option<u64>> {
        let org = find_org(orgs, &args.org)?;
        Ok(org
            .ca_certs
            .iter()
            .any(|c| c.id == id)
            .then_some(org.updated_at.unwrap_or(orgs.height)))
    };
    let mut tx_hash = None;
    let mut height = listed(&members)?;
    if height.is_none() {
        let payload = Payload::AddCa { cert: der.clone() };
        let outcome = async {
            let h = crate::attest::submit_signed(&client, &info, &admin, &payload, timeout).await?;
            let status = client.wait_committed(&h, timeout).await?;
            Ok::<_, ClientError>((h, status.height))
        }
        .await;
        let outcome = match outcome {
            // The CA got there after all (an earlier run's transaction, still pending when
            // this run looked).
            Err(e) if e.code() == "ca_exists" => match listed(&client.orgs().await?)? {
                Some(at) => Ok((None, Some(at))),
                None => Err(e),
            },
            other => other.map(|(h, at)| (Some(h), at)),
        };
        match outcome {
            Ok((h, at)) => {
                tx_hash = h;
                height = at;
            }
            Err(e @ ClientError::Api { .. }) if !e.is_transient() => {
                ca::discard_next_ca(&org_dir)?;
                return Err(anyhow::Error::new(e).context(format!(
                    "the chain refused to add the new CA to {}; nothing changed (the new CA \
                     was discarded, {} is still the CA)",
                    args.org,
                    org_dir.join(ca::CA_CERT).display()
                )));
            }
            Err(e) => {
                return Err(anyhow::Error::new(e).context(format!(
                    "adding the new CA {id} to {}: the outcome is not known; run kexin ca \
                     rotate again to finish the rotation with the same CA (kept in {})",
                    args.org,
                    org_dir.join(ca::CA_NEXT).display()
                )));
            }
        }
        let orgs = client.orgs().await?;
        if listed(&orgs)?.is_none() {
            return Err(fail(
                "rotation_failed",
                format!(
                    "transaction {} was committed, but {} does not list CA {id} of {}; the new \
                     CA is kept in {}",
                    tx_hash.map(|h| h.to_hex()).unwrap_or_default(),
                    client.base_url(),
                    args.org,
                    org_dir.join(ca::CA_NEXT).display()
                ),
            ));
        }
    }

    // From here on the chain accepts the new CA's certificates: make it the one that issues.
    let promoted = ca::promote_next_ca(&org_dir)?;
    let previous = PreviousCa {
        id: CertDer(promoted.previous.der().to_vec()).id(suite),
        serial: promoted.previous_serial.clone(),
        cert_file: promoted.previous_cert.display().to_string(),
        key_file: promoted.previous_key.display().to_string(),
    };

    // Every node commits the block in its own time; wait (briefly) until the network's other
    // nodes list the CA too, so certificates of the new CA are admitted wherever they are sent.
    let mut lagging = Vec::new();
    if cli.explicit_node().is_none() {
        let deadline = Instant::now() + SPREAD_TIMEOUT.min(timeout);
        for url in crate::net::serving_nodes(&args.dir).await {
            let Ok(other) = Client::new(&url) else {
                continue;
            };
            loop {
                match other.orgs().await {
                    Ok(orgs) if matches!(listed(&orgs), Ok(Some(_))) => break,
                    _ if Instant::now() >= deadline => {
                        lagging.push(url.clone());
                        break;
                    }
                    _ => tokio::time::sleep(Duration::from_millis(100)).await,
                }
            }
        }
    }
    let orgs = client.orgs().await?;
    let cas: Vec<Hash> = find_org(&orgs, &args.org)?
        .ca_certs
        .iter()
        .map(|c| c.id)
        .collect();
    let report = Rotated {
        org: args.org.clone(),
        ca: cert_info(next.cert(), suite)?,
        cert_file: org_dir.join(ca::CA_CERT).display().to_string(),
        key_file: org_dir.join(ca::CA_KEY).display().to_string(),
        tx_hash,
        height,
        cas,
        previous,
        lagging,
    };
    if args.json {
        return print_json(&report);
    }
    print_cert_info(&report.ca);
    match (report.tx_hash, report.height) {
        (Some(h), Some(at)) => println!(
            "added to {} at height {at} (transaction {h}); {} now has {} CA(s) on chain",
            report.org,
            report.org,
            report.cas.len()
        ),
        _ => println!(
            "already added to {} (by an earlier run); {} has {} CA(s) on chain",
            report.org,
            report.org,
            report.cas.len()
        ),
    }
    println!(
        "{} is now this CA (key {}): kexin cert issue --org {} issues with it",
        report.cert_file, report.key_file, report.org
    );
    println!(
        "the previous CA (serial {}) is kept as {} and {}; the chain keeps accepting what it \
         issued (it stays in {}'s CA set, and the genesis CA in the genesis: there is no CA \
         removal yet)",
        report.previous.serial, report.previous.cert_file, report.previous.key_file, report.org
    );
    for url in &report.lagging {
        println!("note: {url} does not list the new CA yet");
    }
    println!(
        "next: re-issue node and user certificates with kexin cert issue, move clients to them, \
         then revoke the old ones with kexin cert revoke --reason superseded --serial <serial>"
    );
    Ok(())
}

#[derive(Serialize)]
struct Issued {
    #[serde(flatten)]
    info: CertInfo,
    cert_file: String,
    key_file: String,
    record: String,
}

fn issue(args: &IssueArgs) -> anyhow::Result<()> {
    let genesis = read_net_genesis(&args.dir)?;
    let suite = genesis.suite;
    let ca = open_ca(&args.dir, &args.org)?;
    if ca.suite() != suite {
        return Err(fail(
            "wrong_suite",
            format!(
                "the CA of {} is a {} CA, but the chain in {} uses {}",
                args.org,
                ca.suite(),
                args.dir.display(),
                suite
            ),
        ));
    }
    let ca_der = CertDer(ca.cert().der().to_vec());
    let in_genesis = |der: &CertDer| {
        genesis
            .organisation(&args.org)
            .is_some_and(|o| o.ca_certs.contains(der))
    };
    // A CA that `kexin ca rotate` made current keeps its predecessor beside it
    // (`ca-<serial>.pem`); rotate waited for the chain to add it, so no note is needed.
    if !in_genesis(&ca_der) && !rotated_from(&args.dir.join(&args.org), in_genesis) {
        eprintln!(
            "note: this CA of {} is not in {}'s genesis; the chain accepts its certificates \
             once the CA has been added to the organisation (kexin ca rotate does so) or the \
             organisation joins with it",
            args.org,
            args.dir.display()
        );
    }

    // Only a certificate, for a key that stays where it is (a node's validator key).
    if let (Some(cert_path), Some(key_file)) = (&args.cert_out, &args.key) {
        let key = load_key(key_file)?;
        check_key_suite(&key, suite)?;
        let cert = ca.issue(&args.name, args.role, &key.public_key(), args.days)?;
        write_cert_file(cert_path, &cert)?;
        return report_issued(
            args,
            &cert,
            suite,
            cert_path,
            &format!(" for the key in {}", key_file.display()),
            key_file,
        );
    }
    let Some(out) = &args.out else {
        return Err(fail(
            "usage",
            "give --out DIR (or --cert-out FILE with --key)",
        ));
    };
    let key_path = out.join(kexin_client::IDENTITY_KEY);
    let cert_path = out.join(kexin_client::IDENTITY_CERT);
    let (key, renewal) = match &args.key {
        Some(path) => {
            let key = load_key(path)?;
            let renewal = key_path.exists()
                && load_key(&key_path).is_ok_and(|k| k.public_key() == key.public_key());
            (key, renewal)
        }
        None => {
            let scheme = args
                .key_type
                .map_or(KeyScheme::native(suite), KeyType::scheme);
            check_scheme(scheme, suite, args.role)?;
            (SigningKey::generate_scheme(scheme), false)
        }
    };
    check_key_suite(&key, suite)?;
    if !renewal {
        for p in [&key_path, &cert_path] {
            if p.exists() {
                return Err(fail(
                    "exists",
                    format!(
                        "{} already exists: choose another --out (or renew the certificate \
                         of that key with --key {})",
                        p.display(),
                        key_path.display()
                    ),
                ));
            }
        }
    }
    let cert = ca.issue(&args.name, args.role, &key.public_key(), args.days)?;
    if !renewal {
        save_key(&key_path, &key)?;
    }
    // Replace cert.pem whole (a renewal overwrites the old certificate).
    write_cert_file(&cert_path, &cert)?;
    let how = if renewal {
        " for the existing key".to_owned()
    } else {
        format!(" and {} (mode 0600)", key_path.display())
    };
    report_issued(args, &cert, suite, &cert_path, &how, &key_path)
}

/// Whether `org_dir` keeps a previous CA (`ca-<serial>.pem`, as `kexin ca rotate` leaves it)
/// for which `known` holds.
fn rotated_from(org_dir: &Path, known: impl Fn(&CertDer) -> bool) -> bool {
    let Ok(entries) = std::fs::read_dir(org_dir) else {
        return false;
    };
    entries.filter_map(Result::ok).any(|e| {
        let name = e.file_name().to_string_lossy().into_owned();
        name.starts_with("ca-")
            && !name.starts_with("ca-key-")
            && name.ends_with(".pem")
            && ca::read_cert(&e.path()).is_ok_and(|c| known(&CertDer(c.der().to_vec())))
    })
}

/// Refuses a key type the chain or role does not take, before any key is made: P-256 only on
/// intl and not for nodes (kexin-pki refuses them too; this says so in the CLI's terms).
fn check_scheme(scheme: KeyScheme, suite: Suite, role: Role) -> anyhow::Result<()> {
    if scheme.suite() != suite {
        return Err(fail(
            "wrong_suite",
            format!(
                "the chain uses {suite}, whose keys are {}: --key-type {} is not accepted \
                 there",
                KeyScheme::native(suite),
                scheme.name()
            ),
        ));
    }
    if !scheme.is_native() && role == Role::Node {
        return Err(fail(
            "cert_wrong_algorithm",
            format!(
                "a node certificate holds the suite's own key ({}); {} is for user \
                 certificates only",
                KeyScheme::native(suite),
                scheme.name()
            ),
        ));
    }
    Ok(())
}

fn check_key_suite(key: &SigningKey, suite: Suite) -> anyhow::Result<()> {
    if key.scheme() == KeyScheme::EcdsaP256 && suite != Suite::Intl {
        return Err(fail(
            "wrong_suite",
            format!(
                "the chain uses {suite}, whose keys are {}; ECDSA P-256 keys are accepted on \
                 intl chains only",
                KeyScheme::native(suite)
            ),
        ));
    }
    if key.suite() != suite {
        return Err(fail(
            "wrong_suite",
            format!(
                "the chain uses {suite}, but the key is a {} key",
                key.suite()
            ),
        ));
    }
    Ok(())
}

/// Writes `cert` to `path` whole: a temporary file renamed over it.
fn write_cert_file(path: &Path, cert: &Certificate) -> anyhow::Result<()> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("cannot create {}", parent.display()))?;
    }
    let tmp = path.with_extension("pem.tmp");
    std::fs::write(&tmp, cert.to_pem())
        .and_then(|()| std::fs::rename(&tmp, path))
        .with_context(|| format!("cannot write {}", path.display()))
}

fn report_issued(
    args: &IssueArgs,
    cert: &Certificate,
    suite: Suite,
    cert_path: &Path,
    how: &str,
    key_path: &Path,
) -> anyhow::Result<()> {
    let record = args
        .dir
        .join(&args.org)
        .join(ca::ISSUED)
        .join(&args.name)
        .join(format!("{}.pem", cert.serial_hex()));
    let issued = Issued {
        info: cert_info(cert, suite)?,
        cert_file: cert_path.display().to_string(),
        key_file: key_path.display().to_string(),
        record: record.display().to_string(),
    };
    if args.json {
        return print_json(&issued);
    }
    print_cert_info(&issued.info);
    println!(
        "wrote {}{how}; recorded in {}",
        issued.cert_file, issued.record
    );
    Ok(())
}

#[derive(Serialize)]
struct RevokedCert {
    id: Hash,
    serial: String,
    role: String,
    height: u64,
    reason: RevocationReason,
    /// The revoking transaction (absent when it was revoked before).
    #[serde(skip_serializing_if = "Option::is_none")]
    tx_hash: Option<Hash>,
}

#[derive(Serialize)]
struct RevokeReport {
    org: String,
    name: String,
    revoked: Vec<RevokedCert>,
    already_revoked: Vec<RevokedCert>,
}

/// The node to talk to about the network in `dir`: `--node` / `KEXIN_NODE`, else the first
/// of its nodes that serves.
async fn net_client(cli: &Cli, dir: &Path) -> anyhow::Result<Client> {
    let url = match cli.explicit_node() {
        Some(u) => u,
        None => crate::net::serving_node(dir).await?,
    };
    Ok(Client::new(url)?)
}

/// A serial as [`Certificate::serial_hex`] spells it: lower-case hex, whole bytes, no `0x`
/// or `:` separators.
fn normal_serial(s: &str) -> String {
    let hex: String = s
        .trim()
        .trim_start_matches("0x")
        .chars()
        .filter(|c| *c != ':')
        .collect::<String>()
        .to_ascii_lowercase();
    if hex.len() % 2 == 1 {
        format!("0{hex}")
    } else {
        hex
    }
}

/// The admin identity in `dir`, else `org_dir/admin`.
fn load_admin(org_dir: &Path, dir: Option<&Path>, org: &str) -> anyhow::Result<Identity> {
    let dir = dir.map_or_else(|| org_dir.join("admin"), Path::to_owned);
    Identity::load(&dir)
        .with_context(|| format!("cannot load {org}'s admin identity from {}", dir.display()))
}

/// The node's chain parameters, checked to be the chain of the network in `dir`.
async fn checked_chain(
    client: &Client,
    genesis: &Genesis,
    dir: &Path,
) -> anyhow::Result<ChainInfo> {
    let info = crate::attest::chain_info(client).await?;
    if info.genesis_hash != genesis.hash() {
        return Err(fail(
            "mismatch",
            format!(
                "the node at {} runs chain {} (genesis {}), not the chain of {}",
                client.base_url(),
                info.chain_id,
                info.genesis_hash,
                dir.display()
            ),
        ));
    }
    Ok(info)
}

async fn revoke(cli: &Cli, args: &RevokeArgs) -> anyhow::Result<()> {
    let genesis = read_net_genesis(&args.dir)?;
    check_org(&args.org)?;
    let org_dir = args.dir.join(&args.org);
    let mut certs = ca::issued_to(&org_dir, &args.name)?;
    if certs.is_empty() {
        return Err(fail(
            "not_found",
            format!(
                "{} holds no certificate: {}'s CA issued nothing to {} here",
                org_dir.join(ca::ISSUED).join(&args.name).display(),
                args.org,
                args.name
            ),
        ));
    }
    if !args.serials.is_empty() {
        let wanted: Vec<String> = args.serials.iter().map(|s| normal_serial(s)).collect();
        let known: Vec<String> = certs.iter().map(Certificate::serial_hex).collect();
        if let Some(missing) = wanted.iter().find(|w| !known.contains(w)) {
            return Err(fail(
                "not_found",
                format!(
                    "{}'s CA issued no certificate of serial {missing} to {} (its serials: {})",
                    args.org,
                    args.name,
                    known.join(", ")
                ),
            ));
        }
        certs.retain(|c| wanted.contains(&c.serial_hex()));
    }
    let admin = load_admin(&org_dir, args.admin.as_deref(), &args.org)?;
    let client = net_client(cli, &args.dir).await?;
    let info = checked_chain(&client, &genesis, &args.dir).await?;
    let suite = info.suite;
    let timeout = Duration::from_secs(args.timeout);
    let mut report = RevokeReport {
        org: args.org.clone(),
        name: args.name.clone(),
        revoked: Vec::new(),
        already_revoked: Vec::new(),
    };
    for cert in certs {
        let der = CertDer(cert.der().to_vec());
        let id = der.id(suite);
        let role = cert
            .role()
            .and_then(Result::ok)
            .map_or_else(|| "-".to_owned(), |r| r.to_string());
        if let Some(r) = client.cert(&id).await?.and_then(|s| s.revoked) {
            report.already_revoked.push(RevokedCert {
                id,
                serial: cert.serial_hex(),
                role,
                height: r.height,
                reason: r.reason,
                tx_hash: None,
            });
            continue;
        }
        let payload = Payload::RevokeCert {
            cert: der,
            reason: args.reason,
        };
        let tx_hash = crate::attest::submit_signed(&client, &info, &admin, &payload, timeout)
            .await
            .with_context(|| {
                format!(
                    "revoking certificate {id} (serial {}) of {}@{}",
                    cert.serial_hex(),
                    args.name,
                    args.org
                )
            })?;
        client
            .wait_committed(&tx_hash, timeout)
            .await
            .with_context(|| format!("waiting for revocation {tx_hash} to be final"))?;
        let state = client.cert(&id).await?;
        let Some(r) = state.and_then(|s| s.revoked) else {
            return Err(fail(
                "revocation_failed",
                format!(
                    "transaction {tx_hash} was committed, but certificate {id} is not revoked \
                     in the registry"
                ),
            ));
        };
        report.revoked.push(RevokedCert {
            id,
            serial: cert.serial_hex(),
            role,
            height: r.height,
            reason: r.reason,
            tx_hash: Some(tx_hash),
        });
    }
    if args.json {
        return print_json(&report);
    }
    for r in &report.revoked {
        println!(
            "revoked {} certificate {} of {}@{} (serial {}) at height {}: {}",
            r.role, r.id, args.name, args.org, r.serial, r.height, r.reason
        );
    }
    for r in &report.already_revoked {
        println!(
            "already revoked: {} certificate {} of {}@{} (serial {}) at height {} ({})",
            r.role, r.id, args.name, args.org, r.serial, r.height, r.reason
        );
    }
    if report.revoked.is_empty() {
        println!(
            "nothing to do: every certificate of {}@{} was already revoked",
            args.name, args.org
        );
    }
    Ok(())
}

async fn list(cli: &Cli, args: &ListArgs) -> anyhow::Result<()> {
    let client = Client::new(cli.node_url())?;
    let res = client.certs(args.org.as_deref(), args.limit).await?;
    if args.json {
        return print_json(&res);
    }
    let now = now_ms();
    println!(
        "{:<12} {:<16} {:<8} {:<24} {:<64} STATUS",
        "ORG", "NAME", "ROLE", "NOT AFTER", "ID"
    );
    for c in &res.certs {
        let s = &c.state;
        println!(
            "{:<12} {:<16} {:<8} {:<24} {} {}",
            s.org,
            s.name,
            s.role.as_str(),
            utc(s.not_after_ms),
            c.id,
            registry_status(s, now)
        );
    }
    println!(
        "{} certificate(s) at height {}",
        res.certs.len(),
        res.height
    );
    Ok(())
}

#[derive(Serialize)]
struct ShownFile {
    file: String,
    certificate: CertInfo,
    /// The registry entry (with --node): null when the chain has not registered it.
    #[serde(skip_serializing_if = "Option::is_none")]
    registry: Option<Option<CertState>>,
}

#[derive(Serialize)]
struct ShownId {
    id: Hash,
    registry: CertState,
}

async fn show(cli: &Cli, args: &ShowArgs) -> anyhow::Result<()> {
    let path = Path::new(&args.target);
    if path.is_file() {
        let bytes =
            std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
        let cert = match std::str::from_utf8(&bytes) {
            Ok(text) if text.contains("-----BEGIN") => Certificate::from_pem(text)?,
            _ => Certificate::from_der(&bytes)?,
        };
        let (suite, client) = match cli.explicit_node() {
            Some(url) => {
                let client = Client::new(url)?;
                let info = crate::attest::chain_info(&client).await?;
                (info.suite, Some(client))
            }
            None => (detect_suite(&cert)?, None),
        };
        let mut info = cert_info(&cert, suite)?;
        let registry = match &client {
            Some(c) => Some(c.cert(&info.id).await?),
            None => None,
        };
        // A revocation outranks the dates: a revoked certificate is not `valid`.
        if let Some(Some(state)) = &registry
            && state.revoked.is_some()
        {
            info.validity = registry_status(state, now_ms());
        }
        if args.json {
            return print_json(&ShownFile {
                file: path.display().to_string(),
                certificate: info,
                registry,
            });
        }
        print_cert_info(&info);
        if let Some(r) = &registry {
            print_registry(r.as_ref());
        }
        return Ok(());
    }
    let id = Hash::from_hex(&args.target.trim().to_ascii_lowercase()).map_err(|_| {
        fail(
            "not_found",
            format!(
                "{:?} is neither a certificate file nor a certificate id (64 hex digits)",
                args.target
            ),
        )
    })?;
    let client = Client::new(cli.node_url())?;
    let Some(state) = client.cert(&id).await? else {
        return Err(fail(
            "not_found",
            format!(
                "certificate {id} is not in the registry of {} (it was never used or revoked \
                 on chain)",
                client.base_url()
            ),
        ));
    };
    if args.json {
        return print_json(&ShownId {
            id,
            registry: state,
        });
    }
    println!("certificate   {id}");
    println!("organisation  {}", state.org);
    println!("name          {}", state.name);
    println!("role          {}", state.role);
    println!("serial        {}", state.serial);
    println!(
        "valid         {} .. {} ({})",
        utc(state.not_before_ms),
        utc(state.not_after_ms),
        registry_status(&state, now_ms())
    );
    println!("public key    {}", state.public_key);
    print_registry(Some(&state));
    Ok(())
}

#[derive(Serialize)]
struct CaView {
    id: Hash,
    serial: String,
    not_before: String,
    not_after: String,
    not_after_ms: u64,
    /// `valid`, `expires in N day(s)`, `expired` or `not yet valid`, now.
    validity: String,
}

#[derive(Serialize)]
struct OrgView {
    name: String,
    validators: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    updated_at: Option<u64>,
    cas: Vec<CaView>,
}

#[derive(Serialize)]
struct OrgsView {
    height: u64,
    orgs: Vec<OrgView>,
    /// What the node's health check warns about: certificates expiring within its
    /// `pki.expiry_warning_days` (CAs, registered certificates, its own node certificate).
    expiring: Vec<ExpiringCert>,
}

async fn org_list(cli: &Cli, json: bool) -> anyhow::Result<()> {
    let client = Client::new(cli.node_url())?;
    let res = client.orgs().await?;
    let now = now_ms();
    // Older nodes, or one whose health check fails, simply give no warnings here.
    let expiring = client
        .health()
        .await
        .map(|h| h.expiring)
        .unwrap_or_default();
    let mut view = OrgsView {
        height: res.height,
        orgs: Vec::new(),
        expiring,
    };
    for o in res.orgs {
        let mut cas = Vec::new();
        for c in &o.ca_certs {
            let cert = Certificate::from_der(c.cert.as_bytes())
                .with_context(|| format!("CA certificate {} of {}", c.id, o.name))?;
            let (nb, na) = cert.validity_ms();
            cas.push(CaView {
                id: c.id,
                serial: cert.serial_hex(),
                not_before: utc(nb),
                not_after: utc(na),
                not_after_ms: na,
                validity: validity_status(nb, na, now),
            });
        }
        view.orgs.push(OrgView {
            name: o.name,
            validators: o.validators,
            updated_at: o.updated_at,
            cas,
        });
    }
    if json {
        return print_json(&view);
    }
    if view.orgs.is_empty() {
        println!("the chain has no organisations (an open chain)");
        return Ok(());
    }
    println!(
        "{:<12} {:<16} {:<24} {:<22} CA ID",
        "ORG", "VALIDATORS", "CA EXPIRES", "CA STATUS"
    );
    for o in &view.orgs {
        let validators = if o.validators.is_empty() {
            "-".to_owned()
        } else {
            o.validators.join(",")
        };
        for (k, c) in o.cas.iter().enumerate() {
            let (name, vals) = if k == 0 {
                (o.name.as_str(), validators.as_str())
            } else {
                ("", "")
            };
            println!(
                "{:<12} {:<16} {:<24} {:<22} {}",
                name, vals, c.not_after, c.validity, c.id
            );
        }
    }
    println!(
        "{} organisation(s) at height {}",
        view.orgs.len(),
        view.height
    );
    println!();
    let list: Vec<crate::net::Expiring> = view
        .expiring
        .iter()
        .map(|e| crate::net::Expiring {
            cert: e.clone(),
            nodes: Vec::new(),
        })
        .collect();
    crate::net::print_expiring(&list, None, "");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validity_statuses() {
        let now = 100 * DAY_MS;
        assert_eq!(validity_status(now + 1, now + 2, now), "not yet valid");
        assert_eq!(validity_status(0, now - 1, now), "expired");
        assert_eq!(
            validity_status(0, now + 3 * DAY_MS, now),
            "expires in 3 day(s)"
        );
        assert_eq!(validity_status(0, now + 31 * DAY_MS, now), "valid");
        assert_eq!(validity_status(now, now, now), "expires in 0 day(s)");
    }

    #[test]
    fn serials_are_normalised_like_serial_hex() {
        assert_eq!(normal_serial("3F2A"), "3f2a");
        assert_eq!(normal_serial(" 0x3f:2a "), "3f2a");
        assert_eq!(normal_serial("f2a"), "0f2a");
    }

    #[test]
    fn days_are_bounded() {
        assert_eq!(days("365"), Ok(365));
        assert!(days("0").is_err());
        assert!(days("36501").is_err());
        assert!(days("x").is_err());
    }

    #[test]
    fn org_names_cannot_leave_the_directory() {
        assert!(check_org("org1").is_ok());
        assert!(check_org("..").is_err());
        assert!(check_org("a/b").is_err());
        assert!(check_org("").is_err());
    }
}
