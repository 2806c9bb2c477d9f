//! `kexin scf`: supply-chain finance receivables in business terms, on the receivables
//! contract the consortium named `scf` (workflows in `kexin_apps::scf`).

use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::{Args, Subcommand};
use kexin_apps::scf::{self, Receivable, Scf};
use kexin_client::submit::{Author, Final};
use kexin_client::{Client, Identity};
use kexin_crypto::Hash;
use serde::Serialize;

use crate::Cli;
use crate::error::fail;
use crate::output::print_json;

/// `kexin scf ...`
#[derive(Debug, Subcommand)]
pub enum ScfCommand {
    /// Deploy the receivables contract as an organisation admin (its organisation becomes
    /// the platform operator) and propose naming it `scf`; the other organisations vote.
    Deploy(DeployArgs),
    /// Set which roles an organisation has (an admin of the platform operator).
    Roles(RolesArgs),
    /// Issue a receivable to a supplier against attested trade documents (a core enterprise).
    Issue(IssueArgs),
    /// Confirm a pending receivable (an admin of its debtor).
    Confirm(IdArgs),
    /// Reject a pending receivable (its holder).
    Reject(RejectArgs),
    /// Split a receivable into parts that add up to its amount (its holder).
    Split(SplitArgs),
    /// Transfer a receivable to a supplier (its holder).
    Transfer(TransferArgs),
    /// Offer a receivable to a financier at a discount rate (its holder).
    Finance(FinanceArgs),
    /// Accept a financing offer (the financier offered it), or decline it with --decline.
    Accept(AcceptArgs),
    /// Settle a receivable at or after maturity with the payment's reference (an admin of its
    /// debtor).
    Settle(SettleArgs),
    /// Show a receivable: state, holder, amount, lineage.
    Show(ShowArgs),
    /// List receivables, optionally those an organisation holds.
    List(ListArgs),
    /// Write an offline proof of a receivable as it stands (holder, amount, currency, debtor,
    /// state, maturity, financing), for a bank that is not on the chain.
    Prove(ProveArgs),
    /// Check a holding proof offline against the chain's genesis and print what it proves.
    VerifyHolding(VerifyHoldingArgs),
}

/// `kexin scf prove ID --out FILE`
#[derive(Debug, Args)]
pub struct ProveArgs {
    /// The receivable.
    #[arg(value_name = "ID")]
    id: u64,
    /// Where to write the proof (JSON, format kexin-scf-holding).
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
    /// Print what it proves as JSON.
    #[arg(long)]
    json: bool,
}

/// `kexin scf verify-holding FILE --genesis G`
#[derive(Debug, Args)]
pub struct VerifyHoldingArgs {
    /// The holding proof.
    #[arg(value_name = "FILE")]
    proof: PathBuf,
    /// The chain's genesis document (the only thing trusted).
    #[arg(long, value_name = "FILE")]
    genesis: PathBuf,
    /// Print what it proves as JSON.
    #[arg(long)]
    json: bool,
}

/// Who acts, and how long to wait.
#[derive(Debug, Args)]
pub struct Actor {
    /// The identity that acts (DIR/cert.pem and DIR/key.pem).
    #[arg(long, value_name = "DIR")]
    pub(crate) identity: PathBuf,
    /// Seconds to wait for the transaction to be final.
    #[arg(long, value_name = "SECONDS", default_value_t = 120)]
    pub(crate) timeout: u64,
    /// Print the result as JSON.
    #[arg(long)]
    pub(crate) json: bool,
}

/// `kexin scf deploy --identity DIR`
#[derive(Debug, Args)]
pub struct DeployArgs {
    #[command(flatten)]
    actor: Actor,
    /// Deploy only: do not propose the name `scf`.
    #[arg(long)]
    no_name: bool,
}

/// `kexin scf roles ORG [--core] [--supplier] [--financier]`
#[derive(Debug, Args)]
pub struct RolesArgs {
    /// The organisation.
    #[arg(value_name = "ORG")]
    org: String,
    /// It issues receivables (a core enterprise, the debtor).
    #[arg(long)]
    core: bool,
    /// It receives and passes on receivables (a supplier).
    #[arg(long)]
    supplier: bool,
    /// It finances receivables (a bank or factor).
    #[arg(long)]
    financier: bool,
    #[command(flatten)]
    actor: Actor,
}

/// `kexin scf issue --to ORG --amount A --currency CNY --maturity YYYY-MM-DD --doc DIGEST...`
#[derive(Debug, Args)]
pub struct IssueArgs {
    /// The supplier it is issued to.
    #[arg(long, value_name = "ORG")]
    to: String,
    /// The amount, in the currency's minor unit (fen, cents).
    #[arg(long, value_name = "A")]
    amount: u128,
    /// The currency.
    #[arg(long, value_name = "CUR", default_value = "CNY")]
    currency: String,
    /// The maturity date (UTC): the receivable falls due at its start (or at the second of
    /// YYYY-MM-DDTHH:MM:SSZ).
    #[arg(long, value_name = "YYYY-MM-DD")]
    maturity: String,
    /// The digest of an attested trade document (contract, invoice, delivery note); one or
    /// more.
    #[arg(long = "doc", value_name = "DIGEST", required = true, num_args = 1..)]
    docs: Vec<String>,
    #[command(flatten)]
    actor: Actor,
}

/// `kexin scf confirm ID`
#[derive(Debug, Args)]
pub struct IdArgs {
    /// The receivable.
    #[arg(value_name = "ID")]
    id: u64,
    #[command(flatten)]
    actor: Actor,
}

/// `kexin scf reject ID --reason R`
#[derive(Debug, Args)]
pub struct RejectArgs {
    /// The receivable.
    #[arg(value_name = "ID")]
    id: u64,
    /// Why.
    #[arg(long, value_name = "TEXT", default_value = "")]
    reason: String,
    #[command(flatten)]
    actor: Actor,
}

/// `kexin scf split ID --parts A,B,...`
#[derive(Debug, Args)]
pub struct SplitArgs {
    /// The receivable.
    #[arg(value_name = "ID")]
    id: u64,
    /// The parts' amounts, comma-separated; they add up to the receivable's amount.
    #[arg(long, value_name = "A,B,...", value_delimiter = ',', required = true)]
    parts: Vec<u128>,
    #[command(flatten)]
    actor: Actor,
}

/// `kexin scf transfer ID --to ORG`
#[derive(Debug, Args)]
pub struct TransferArgs {
    /// The receivable.
    #[arg(value_name = "ID")]
    id: u64,
    /// The supplier it goes to.
    #[arg(long, value_name = "ORG")]
    to: String,
    #[command(flatten)]
    actor: Actor,
}

/// `kexin scf finance ID --to ORG --rate R`
#[derive(Debug, Args)]
pub struct FinanceArgs {
    /// The receivable.
    #[arg(value_name = "ID")]
    id: u64,
    /// The financier.
    #[arg(long, value_name = "ORG")]
    to: String,
    /// The discount rate in percent, up to two decimals (3.5 is 350 basis points).
    #[arg(long, value_name = "R")]
    rate: String,
    #[command(flatten)]
    actor: Actor,
}

/// `kexin scf accept ID [--decline]`
#[derive(Debug, Args)]
pub struct AcceptArgs {
    /// The receivable.
    #[arg(value_name = "ID")]
    id: u64,
    /// Decline the offer instead.
    #[arg(long)]
    decline: bool,
    #[command(flatten)]
    actor: Actor,
}

/// `kexin scf settle ID --payment-ref REF [--slip DIGEST]`
#[derive(Debug, Args)]
pub struct SettleArgs {
    /// The receivable.
    #[arg(value_name = "ID")]
    id: u64,
    /// The off-chain payment's reference.
    #[arg(long, value_name = "REF")]
    payment_ref: String,
    /// The digest of the attested payment slip.
    #[arg(long, value_name = "DIGEST")]
    slip: Option<String>,
    #[command(flatten)]
    actor: Actor,
}

/// `kexin scf show ID [--json]`
#[derive(Debug, Args)]
pub struct ShowArgs {
    /// The receivable.
    #[arg(value_name = "ID")]
    id: u64,
    /// Print it as JSON.
    #[arg(long)]
    json: bool,
}

/// `kexin scf list [--holder ORG] [--json]`
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Only those this organisation holds.
    #[arg(long, value_name = "ORG")]
    holder: Option<String>,
    /// Print them as JSON.
    #[arg(long)]
    json: bool,
}

/// Runs `kexin scf ...`.
pub async fn run(cli: &Cli, cmd: &ScfCommand) -> anyhow::Result<()> {
    let client = Client::new(cli.node_url())?;
    match cmd {
        ScfCommand::Deploy(a) => deploy(&client, a).await,
        ScfCommand::Roles(a) => {
            let roles = (a.core as u8) * scf::CORE
                + (a.supplier as u8) * scf::SUPPLIER
                + (a.financier as u8) * scf::FINANCIER;
            act(&client, &a.actor, |s, who| {
                Box::pin(async move {
                    let done = s.set_roles(who, &a.org, roles).await?;
                    Ok(Done::of(
                        done,
                        format!("{} has roles {}", a.org, role_names(roles)),
                    ))
                })
            })
            .await
        }
        ScfCommand::Issue(a) => {
            let maturity = parse_date(&a.maturity)?;
            let docs = a
                .docs
                .iter()
                .map(|d| parse_digest(d, "--doc"))
                .collect::<anyhow::Result<Vec<_>>>()?;
            act(&client, &a.actor, |s, who| {
                Box::pin(async move {
                    let (id, done) = s
                        .issue(who, &a.to, a.amount, &a.currency, maturity, &docs)
                        .await?;
                    let mut d = Done::of(done, format!("issued receivable {id} to {}", a.to));
                    d.id = Some(id);
                    d.print_id = true;
                    Ok(d)
                })
            })
            .await
        }
        ScfCommand::Confirm(a) => {
            act(&client, &a.actor, |s, who| {
                Box::pin(async move {
                    let done = s.confirm(who, a.id).await?;
                    Ok(Done::of(done, format!("confirmed receivable {}", a.id)))
                })
            })
            .await
        }
        ScfCommand::Reject(a) => {
            act(&client, &a.actor, |s, who| {
                Box::pin(async move {
                    let done = s.reject(who, a.id, &a.reason).await?;
                    Ok(Done::of(done, format!("rejected receivable {}", a.id)))
                })
            })
            .await
        }
        ScfCommand::Split(a) => {
            act(&client, &a.actor, |s, who| {
                Box::pin(async move {
                    let (parts, done) = s.split(who, a.id, &a.parts).await?;
                    let list = parts.iter().map(u64::to_string).collect::<Vec<_>>();
                    let mut d = Done::of(
                        done,
                        format!("split receivable {} into {}", a.id, list.join(", ")),
                    );
                    d.parts = parts;
                    Ok(d)
                })
            })
            .await
        }
        ScfCommand::Transfer(a) => {
            act(&client, &a.actor, |s, who| {
                Box::pin(async move {
                    let done = s.transfer(who, a.id, &a.to).await?;
                    Ok(Done::of(
                        done,
                        format!("transferred receivable {} to {}", a.id, a.to),
                    ))
                })
            })
            .await
        }
        ScfCommand::Finance(a) => {
            let bps = parse_rate(&a.rate)?;
            act(&client, &a.actor, |s, who| {
                Box::pin(async move {
                    let done = s.offer_finance(who, a.id, &a.to, bps).await?;
                    Ok(Done::of(
                        done,
                        format!(
                            "offered receivable {} to {} at {} basis points; {} accepts with `kexin scf accept {}`",
                            a.id, a.to, bps, a.to, a.id
                        ),
                    ))
                })
            })
            .await
        }
        ScfCommand::Accept(a) => {
            act(&client, &a.actor, |s, who| {
                Box::pin(async move {
                    if a.decline {
                        let done = s.withdraw_finance(who, a.id).await?;
                        return Ok(Done::of(
                            done,
                            format!("declined the offer of receivable {}", a.id),
                        ));
                    }
                    let done = s.accept_finance(who, a.id).await?;
                    Ok(Done::of(
                        done,
                        format!(
                            "financed receivable {}: it is now held by this organisation",
                            a.id
                        ),
                    ))
                })
            })
            .await
        }
        ScfCommand::Settle(a) => {
            let slip = a
                .slip
                .as_deref()
                .map(|d| parse_digest(d, "--slip"))
                .transpose()?;
            act(&client, &a.actor, |s, who| {
                Box::pin(async move {
                    let done = s.settle(who, a.id, &a.payment_ref, slip).await?;
                    Ok(Done::of(
                        done,
                        format!("settled receivable {} ({})", a.id, a.payment_ref),
                    ))
                })
            })
            .await
        }
        ScfCommand::Show(a) => {
            let s = Scf::find(&client, Duration::from_secs(30)).await?;
            let r = s.get(a.id).await?;
            if a.json {
                return print_json(&r);
            }
            print_receivable(&r);
            Ok(())
        }
        ScfCommand::Prove(a) => {
            let s = Scf::find(&client, Duration::from_secs(30)).await?;
            let proof = s.prove(a.id).await?;
            let text = serde_json::to_string_pretty(&proof)?;
            std::fs::write(&a.out, text + "\n")
                .map_err(|e| fail("io", format!("cannot write {}: {e}", a.out.display())))?;
            if a.json {
                return print_json(&proof.claim);
            }
            print_holding(&proof.claim);
            eprintln!(
                "wrote the proof to {}: `kexin scf verify-holding {} --genesis GENESIS` checks it offline",
                a.out.display(),
                a.out.display()
            );
            Ok(())
        }
        ScfCommand::VerifyHolding(a) => {
            let genesis = crate::verify::read_genesis(&a.genesis)?;
            let text = std::fs::read_to_string(&a.proof)
                .map_err(|e| fail("io", format!("cannot read {}: {e}", a.proof.display())))?;
            let proof: kexin_apps::holding::HoldingProof =
                serde_json::from_str(&text).map_err(|e| {
                    fail(
                        "malformed",
                        format!("{} is not a holding proof: {e}", a.proof.display()),
                    )
                })?;
            let holding = proof.verify(&genesis)?;
            if a.json {
                return print_json(&holding);
            }
            print_holding(&holding);
            println!("verified     against the genesis of {}", genesis.chain_id);
            Ok(())
        }
        ScfCommand::List(a) => {
            let s = Scf::find(&client, Duration::from_secs(30)).await?;
            let all = s.list(a.holder.as_deref()).await?;
            if a.json {
                return print_json(&all);
            }
            for r in &all {
                println!(
                    "{:>6}  {:<9}  {:>14} {}  holder {}  debtor {}  matures {}",
                    r.id,
                    r.status,
                    r.amount,
                    r.currency,
                    r.holder,
                    r.issuer,
                    date_of(r.maturity)
                );
            }
            Ok(())
        }
    }
}

/// What a write did, as printed.
#[derive(Serialize)]
pub(crate) struct Done {
    tx_hash: Hash,
    height: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) id: Option<u64>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    parts: Vec<u64>,
    #[serde(skip)]
    text: String,
    #[serde(skip)]
    pub(crate) print_id: bool,
}

impl Done {
    pub(crate) fn of(done: Final, text: String) -> Done {
        Done {
            tx_hash: done.tx_hash,
            height: done.height,
            id: None,
            parts: Vec::new(),
            text,
            print_id: false,
        }
    }
}

type Step<'a> =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<Done, kexin_apps::AppError>> + 'a>>;

/// Finds the contract, loads the identity, runs `step` as it and prints what it did.
async fn act<'a, F>(client: &'a Client, actor: &'a Actor, step: F) -> anyhow::Result<()>
where
    F: for<'s> FnOnce(&'s Scf<'a>, &'s Author<'s>) -> Step<'s>,
{
    let timeout = Duration::from_secs(actor.timeout);
    let scf = Scf::find(client, timeout).await?;
    let identity = load_identity(client, &actor.identity).await?;
    let who = Author::Identity(&identity);
    let done = step(&scf, &who).await?;
    done.print(actor.json)
}

impl Done {
    /// Prints it: JSON, or the id (when asked) on stdout and a line on stderr.
    pub(crate) fn print(&self, json: bool) -> anyhow::Result<()> {
        if json {
            return print_json(self);
        }
        if self.print_id
            && let Some(id) = self.id
        {
            println!("{id}");
        }
        eprintln!(
            "{}: transaction {}, height {}",
            self.text, self.tx_hash, self.height
        );
        Ok(())
    }
}

pub(crate) async fn load_identity(client: &Client, dir: &Path) -> anyhow::Result<Identity> {
    let info = crate::attest::chain_info(client).await?;
    Ok(crate::attest::identity_for(client, &info, dir).await?.0)
}

async fn deploy(client: &Client, a: &DeployArgs) -> anyhow::Result<()> {
    let timeout = Duration::from_secs(a.actor.timeout);
    let identity = load_identity(client, &a.actor.identity).await?;
    let who = Author::Identity(&identity);
    let s = Scf::deploy(client, &who, timeout).await?;
    let address = s.contract;
    let proposal = if a.no_name {
        None
    } else {
        Some(s.propose_name(&identity, scf::NAME).await?)
    };
    #[derive(Serialize)]
    struct Deployed {
        address: kexin_types::ContractAddress,
        #[serde(skip_serializing_if = "Option::is_none")]
        name_proposal: Option<Hash>,
    }
    if a.actor.json {
        return print_json(&Deployed {
            address,
            name_proposal: proposal,
        });
    }
    println!("{address}");
    if let Some(p) = proposal {
        eprintln!(
            "deployed the receivables contract at {address}; proposed naming it `scf` ({p}): the other organisations' admins vote with `kexin gov vote --proposal {p} --yes`"
        );
    }
    Ok(())
}

fn role_names(roles: u8) -> String {
    flag_names(
        roles,
        &[
            (scf::CORE, "core enterprise"),
            (scf::SUPPLIER, "supplier"),
            (scf::FINANCIER, "financier"),
        ],
    )
}

/// The names of the flags set in `roles`, or `none`.
pub(crate) fn flag_names(roles: u8, names: &[(u8, &str)]) -> String {
    let set: Vec<&str> = names
        .iter()
        .filter(|(f, _)| roles & f != 0)
        .map(|(_, n)| *n)
        .collect();
    if set.is_empty() {
        "none".into()
    } else {
        set.join(", ")
    }
}

fn print_receivable(r: &Receivable) {
    println!("receivable   {}", r.id);
    println!("status       {}", r.status);
    println!("amount       {} {}", r.amount, r.currency);
    println!("holder       {}", r.holder);
    println!("debtor       {}", r.issuer);
    println!("maturity     {}", date_of(r.maturity));
    if r.parent != 0 {
        println!("split from   {} (root {})", r.parent, r.root);
    }
    if !r.children.is_empty() {
        let parts: Vec<String> = r.children.iter().map(u64::to_string).collect();
        println!("parts        {}", parts.join(", "));
    }
    if r.financed {
        println!(
            "financed by  {} at {} basis points",
            r.financier, r.rate_bps
        );
    }
    if !r.offered_to.is_empty() {
        println!(
            "offered to   {} at {} basis points",
            r.offered_to, r.offered_rate_bps
        );
    }
    if r.settled_at != 0 {
        println!("settled      {} ({})", r.payment_ref, date_of(r.settled_at));
    }
    for d in &r.docs {
        println!("document     {d}");
    }
}

pub(crate) fn parse_digest(s: &str, what: &str) -> anyhow::Result<Hash> {
    Hash::from_hex(s.strip_prefix("0x").unwrap_or(s))
        .map_err(|e| fail("invalid_digest", format!("{what} {s:?}: {}", e.0)))
}

/// A rate in percent with up to two decimals, as basis points (1..=10000).
fn parse_rate(s: &str) -> anyhow::Result<u16> {
    let bad = || {
        fail(
            "invalid_rate",
            format!(
                "--rate {s:?}: a percentage above 0 and at most 100, with up to two decimals (3.5 is 3.50%)"
            ),
        )
    };
    if s.ends_with('.') {
        return Err(bad());
    }
    let (whole, frac) = s.split_once('.').unwrap_or((s, ""));
    if whole.is_empty()
        || frac.len() > 2
        || !whole.bytes().all(|b| b.is_ascii_digit())
        || !frac.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(bad());
    }
    let whole: u32 = whole.parse().map_err(|_| bad())?;
    let frac: u32 = format!("{frac:0<2}").parse().map_err(|_| bad())?;
    let bps = whole
        .checked_mul(100)
        .and_then(|w| w.checked_add(frac))
        .ok_or_else(bad)?;
    if bps == 0 || bps > 10_000 {
        return Err(bad());
    }
    Ok(bps as u16)
}

/// `YYYY-MM-DD` as the Unix seconds of its start (UTC), or `YYYY-MM-DDTHH:MM:SSZ` as its
/// second.
fn parse_date(s: &str) -> anyhow::Result<u64> {
    let bad = || {
        fail(
            "invalid_date",
            format!("--maturity {s:?}: a date is YYYY-MM-DD (or YYYY-MM-DDTHH:MM:SSZ)"),
        )
    };
    if let Some((date, time)) = s.split_once('T') {
        let t = time.strip_suffix('Z').ok_or_else(bad)?;
        let hms: Vec<&str> = t.split(':').collect();
        let [h, m, sec] = hms[..] else {
            return Err(bad());
        };
        let field = |v: &str, max: u64| -> anyhow::Result<u64> {
            match v.parse::<u64>() {
                Ok(n) if v.len() == 2 && n <= max => Ok(n),
                _ => Err(bad()),
            }
        };
        let day = parse_date(date).map_err(|_| bad())?;
        return Ok(day + field(h, 23)? * 3600 + field(m, 59)? * 60 + field(sec, 59)?);
    }
    let parts: Vec<&str> = s.split('-').collect();
    let [y, m, d] = parts[..] else {
        return Err(bad());
    };
    if y.len() != 4 || m.len() != 2 || d.len() != 2 {
        return Err(bad());
    }
    let (y, m, d): (i64, i64, i64) = (
        y.parse().map_err(|_| bad())?,
        m.parse().map_err(|_| bad())?,
        d.parse().map_err(|_| bad())?,
    );
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let days_in = [
        31,
        if leap { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    if !(1970..=9999).contains(&y)
        || !(1..=12).contains(&m)
        || d < 1
        || d > days_in[(m - 1) as usize]
    {
        return Err(bad());
    }
    Ok((days_from_civil(y, m, d) * 86_400) as u64)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Unix seconds as `YYYY-MM-DD` (UTC).
fn print_holding(h: &kexin_apps::holding::Holding) {
    println!("receivable   {} of {}", h.receivable, h.contract);
    match &h.name {
        Some(name) => println!("contract     named {name:?} by the consortium"),
        None => println!("contract     (the proof does not say which name it has)"),
    }
    println!("holder       {}", h.holder);
    println!("amount       {} {} (minor units)", h.amount, h.currency);
    println!("debtor       {}", h.debtor);
    println!("state        {}", h.state);
    println!("maturity     {}", date_of(h.maturity));
    if h.financed {
        println!("financed     at {} basis points", h.rate_bps);
    }
    if h.parent != 0 {
        println!("split from   {} (root {})", h.parent, h.root);
    }
    println!("at height    {}", h.height);
}

pub(crate) fn date_of(secs: u64) -> String {
    kexin_types::time::rfc3339_ms(secs.saturating_mul(1000))[..10].to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_rates_and_digests_parse_or_are_refused() {
        assert_eq!(parse_date("1970-01-01").unwrap(), 0);
        assert_eq!(parse_date("2026-12-31").unwrap(), 1_798_675_200);
        assert_eq!(parse_date("2024-02-29").unwrap(), 1_709_164_800);
        assert_eq!(date_of(parse_date("2027-03-15").unwrap()), "2027-03-15");
        assert_eq!(parse_date("1970-01-02T01:02:03Z").unwrap(), 86_400 + 3723);
        for bad in [
            "2026-01-01T24:00:00Z",
            "2026-01-01T10:00:00",
            "2026-01-01T1:00:00Z",
        ] {
            assert!(parse_date(bad).is_err(), "{bad}");
        }
        for bad in [
            "2025-02-29",
            "2026-13-01",
            "2026-1-1",
            "26-01-01",
            "2026/01/01",
            "1969-12-31",
            "",
        ] {
            assert!(parse_date(bad).is_err(), "{bad}");
        }
        assert_eq!(parse_rate("3.5").unwrap(), 350);
        assert_eq!(parse_rate("0.01").unwrap(), 1);
        assert_eq!(parse_rate("100").unwrap(), 10_000);
        for bad in ["0", "100.01", "3.555", "-1", "x", "", ".5", "3."] {
            assert!(parse_rate(bad).is_err(), "{bad}");
        }
        assert!(parse_digest(&"ab".repeat(32), "--doc").is_ok());
        assert!(parse_digest(&format!("0x{}", "ab".repeat(32)), "--doc").is_ok());
        assert!(parse_digest("abcd", "--doc").is_err());
        assert_eq!(
            role_names(scf::CORE | scf::FINANCIER),
            "core enterprise, financier"
        );
    }
}
