//! `kexin trace`: product traceability in business terms, on the traceability contract the
//! consortium named `trace` (workflows in `kexin_apps::trace`).

use std::time::Duration;

use clap::{Args, Subcommand};
use kexin_apps::label;
use kexin_apps::trace::{self, Product, Trace};
use kexin_client::Client;
use kexin_client::submit::Author;

use crate::Cli;
use crate::error::fail;
use crate::output::print_json;
use crate::scf::{Actor, Done, date_of, load_identity, parse_digest};

/// `kexin trace ...`
#[derive(Debug, Subcommand)]
pub enum TraceCommand {
    /// Deploy the traceability contract as an organisation admin (its organisation becomes the
    /// platform operator) and propose naming it `trace`; the other organisations vote.
    Deploy(DeployArgs),
    /// Set which roles an organisation has (an admin of the platform operator).
    Roles(RolesArgs),
    /// Register a product batch (a producer).
    Register(RegisterArgs),
    /// Append an event to a batch's history: production (its producer), inspection (an
    /// inspector, with the attested report), shipment (logistics), receipt (logistics or a
    /// retailer), sale (a retailer).
    Event(EventArgs),
    /// Recall a batch (its producer or a regulator): it can no longer be sold.
    Recall(RecallArgs),
    /// Show a batch and its history.
    Show(ShowArgs),
    /// Write the QR code for a batch's label: the address of its public trace page
    /// (`/explorer/trace/PRODUCT-ID`), as PNG or SVG by the file's extension.
    Qr(QrArgs),
}

/// `kexin trace deploy --identity DIR`
#[derive(Debug, Args)]
pub struct DeployArgs {
    #[command(flatten)]
    actor: Actor,
    /// Deploy only: do not propose the name `trace`.
    #[arg(long)]
    no_name: bool,
}

/// `kexin trace roles ORG [--producer] [--inspector] [--logistics] [--retailer] [--regulator]`
#[derive(Debug, Args)]
pub struct RolesArgs {
    /// The organisation.
    #[arg(value_name = "ORG")]
    org: String,
    /// It registers batches and records their production.
    #[arg(long)]
    producer: bool,
    /// It records inspections.
    #[arg(long)]
    inspector: bool,
    /// It records shipments and receipts.
    #[arg(long)]
    logistics: bool,
    /// It records receipts and sales.
    #[arg(long)]
    retailer: bool,
    /// It may recall any batch.
    #[arg(long)]
    regulator: bool,
    #[command(flatten)]
    actor: Actor,
}

/// `kexin trace register PRODUCT-ID --name N [--attributes A]`
#[derive(Debug, Args)]
pub struct RegisterArgs {
    /// The batch's id: 1 to 64 characters of A-Z, a-z, 0-9, '.', '_' and '-'.
    #[arg(value_name = "PRODUCT-ID")]
    id: String,
    /// The product's name.
    #[arg(long, value_name = "NAME")]
    name: String,
    /// Attributes as free text, e.g. "origin=Ningxia; grade=A".
    #[arg(long, value_name = "TEXT", default_value = "")]
    attributes: String,
    #[command(flatten)]
    actor: Actor,
}

/// `kexin trace event PRODUCT-ID --kind KIND [--doc DIGEST] [--note TEXT]`
#[derive(Debug, Args)]
pub struct EventArgs {
    /// The batch.
    #[arg(value_name = "PRODUCT-ID")]
    id: String,
    /// production, inspection, shipment, receipt or sale.
    #[arg(long, value_name = "KIND")]
    kind: String,
    /// The digest of an attested document (an inspection needs its report).
    #[arg(long, value_name = "DIGEST")]
    doc: Option<String>,
    /// A note, up to 256 bytes.
    #[arg(long, value_name = "TEXT", default_value = "")]
    note: String,
    #[command(flatten)]
    actor: Actor,
}

/// `kexin trace recall PRODUCT-ID --reason TEXT`
#[derive(Debug, Args)]
pub struct RecallArgs {
    /// The batch.
    #[arg(value_name = "PRODUCT-ID")]
    id: String,
    /// Why.
    #[arg(long, value_name = "TEXT")]
    reason: String,
    #[command(flatten)]
    actor: Actor,
}

/// `kexin trace show PRODUCT-ID [--json]`
#[derive(Debug, Args)]
pub struct ShowArgs {
    /// The batch.
    #[arg(value_name = "PRODUCT-ID")]
    id: String,
    /// Print it as JSON.
    #[arg(long)]
    json: bool,
}

/// `kexin trace qr PRODUCT-ID --out FILE`
#[derive(Debug, Args)]
pub struct QrArgs {
    /// The batch.
    #[arg(value_name = "PRODUCT-ID")]
    id: String,
    /// Where to write the image: `.png` or `.svg`.
    #[arg(long, value_name = "FILE")]
    out: std::path::PathBuf,
    /// The address consumers reach the explorer at, when it is not `--node` (e.g. a public
    /// https name in front of the node).
    #[arg(long, value_name = "URL")]
    base_url: Option<String>,
    /// Pixels per module of a PNG (1 to 64); at 300 dpi, 8 makes a code about 3 cm wide.
    #[arg(long, value_name = "PX", default_value_t = 8)]
    scale: u32,
    /// Do not ask the node whether the batch is registered (to print labels ahead).
    #[arg(long)]
    offline: bool,
    /// Print the result as JSON.
    #[arg(long)]
    json: bool,
}

/// Runs `kexin trace ...`.
pub async fn run(cli: &Cli, cmd: &TraceCommand) -> anyhow::Result<()> {
    let client = Client::new(cli.node_url())?;
    match cmd {
        TraceCommand::Deploy(a) => deploy(&client, a).await,
        TraceCommand::Qr(a) => qr(cli, &client, a).await,
        TraceCommand::Show(a) => {
            let t = Trace::find(&client, Duration::from_secs(30)).await?;
            let p = t.product(&a.id).await?;
            if a.json {
                return print_json(&p);
            }
            print_product(&p);
            Ok(())
        }
        TraceCommand::Roles(a) => {
            let roles = [
                (a.producer, trace::PRODUCER),
                (a.inspector, trace::INSPECTOR),
                (a.logistics, trace::LOGISTICS),
                (a.retailer, trace::RETAILER),
                (a.regulator, trace::REGULATOR),
            ]
            .iter()
            .filter(|(on, _)| *on)
            .map(|(_, f)| f)
            .sum::<u8>();
            let (t, identity) = actor(&client, &a.actor).await?;
            let done = t
                .set_roles(&Author::Identity(&identity), &a.org, roles)
                .await?;
            let names = crate::scf::flag_names(
                roles,
                &[
                    (trace::PRODUCER, "producer"),
                    (trace::INSPECTOR, "inspector"),
                    (trace::LOGISTICS, "logistics"),
                    (trace::RETAILER, "retailer"),
                    (trace::REGULATOR, "regulator"),
                ],
            );
            Done::of(done, format!("{} has roles {names}", a.org)).print(a.actor.json)
        }
        TraceCommand::Register(a) => {
            let (t, identity) = actor(&client, &a.actor).await?;
            let done = t
                .register(&Author::Identity(&identity), &a.id, &a.name, &a.attributes)
                .await?;
            Done::of(done, format!("registered {}", a.id)).print(a.actor.json)
        }
        TraceCommand::Event(a) => {
            let kind = trace::kind_of(&a.kind).ok_or_else(|| {
                fail(
                    "invalid_kind",
                    format!(
                        "--kind {:?}: one of production, inspection, shipment, receipt, sale",
                        a.kind
                    ),
                )
            })?;
            let doc = a
                .doc
                .as_deref()
                .map(|d| parse_digest(d, "--doc"))
                .transpose()?;
            let (t, identity) = actor(&client, &a.actor).await?;
            let (index, done) = t
                .event(&Author::Identity(&identity), &a.id, kind, doc, &a.note)
                .await?;
            let mut d = Done::of(
                done,
                format!("recorded {} of {} as event {index}", a.kind, a.id),
            );
            d.id = Some(index);
            d.print(a.actor.json)
        }
        TraceCommand::Recall(a) => {
            let (t, identity) = actor(&client, &a.actor).await?;
            let done = t
                .recall(&Author::Identity(&identity), &a.id, &a.reason)
                .await?;
            Done::of(done, format!("recalled {}", a.id)).print(a.actor.json)
        }
    }
}

async fn actor<'a>(
    client: &'a Client,
    a: &Actor,
) -> anyhow::Result<(Trace<'a>, kexin_client::Identity)> {
    let t = Trace::find(client, Duration::from_secs(a.timeout)).await?;
    let identity = load_identity(client, &a.identity).await?;
    Ok((t, identity))
}

async fn deploy(client: &Client, a: &DeployArgs) -> anyhow::Result<()> {
    let timeout = Duration::from_secs(a.actor.timeout);
    let identity = load_identity(client, &a.actor.identity).await?;
    let t = Trace::deploy(client, &Author::Identity(&identity), timeout).await?;
    let address = t.contract;
    let proposal = if a.no_name {
        None
    } else {
        Some(t.propose_name(&identity, trace::NAME).await?)
    };
    if a.actor.json {
        return print_json(&serde_json::json!({
            "address": address,
            "name_proposal": proposal,
        }));
    }
    println!("{address}");
    if let Some(p) = proposal {
        eprintln!(
            "deployed the traceability contract at {address}; proposed naming it `trace` ({p}): the other organisations' admins vote with `kexin gov vote --proposal {p} --yes`"
        );
    }
    Ok(())
}

async fn qr(cli: &Cli, client: &Client, a: &QrArgs) -> anyhow::Result<()> {
    let format = label::Format::of_path(&a.out).ok_or_else(|| {
        fail(
            "invalid_argument",
            format!(
                "--out {}: the file name ends in .png or .svg",
                a.out.display()
            ),
        )
    })?;
    let base = a.base_url.clone().unwrap_or_else(|| cli.node_url());
    let url = label::trace_url(&base, &a.id)?;
    if !a.offline {
        // A label for a batch the ledger does not know would lead consumers to "not found".
        Trace::find(client, Duration::from_secs(30))
            .await?
            .product(&a.id)
            .await?;
    }
    let image = label::qr_image(&url, format, a.scale)?;
    std::fs::write(&a.out, &image)
        .map_err(|e| fail("io", format!("cannot write {}: {e}", a.out.display())))?;
    if a.json {
        return print_json(&serde_json::json!({
            "product": a.id,
            "url": url,
            "out": a.out,
            "format": if format == label::Format::Png { "png" } else { "svg" },
            "bytes": image.len(),
        }));
    }
    println!("{url}");
    eprintln!("wrote the label's QR code to {}", a.out.display());
    Ok(())
}

fn print_product(p: &Product) {
    println!("product      {}", p.id);
    println!("name         {}", p.name);
    if !p.attributes.is_empty() {
        println!("attributes   {}", p.attributes);
    }
    println!("producer     {}", p.producer);
    println!("registered   {}", date_of(p.registered_at));
    if p.recalled {
        println!(
            "RECALLED     by {} on {}: {}",
            p.recalled_by,
            date_of(p.recalled_at),
            p.recall_reason
        );
    }
    for s in &p.history {
        let doc = s.doc.map(|d| format!(" document {d}")).unwrap_or_default();
        println!(
            "{:>4}  {}  {:<10}  {}  block {}{}{}",
            s.index,
            date_of(s.at),
            s.kind,
            s.org,
            s.height,
            doc,
            if s.note.is_empty() {
                String::new()
            } else {
                format!("  {}", s.note)
            }
        );
    }
}
