//! `kexin audit`: audit notes, the one write an auditor may make, and reading them back.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use clap::{Args, Subcommand};
use kexin_client::Client;
use kexin_crypto::Hash;
use kexin_types::{Payload, validate_note_text};
use serde::Serialize;

use crate::Cli;
use crate::error::fail;
use crate::output::{print_json, utc};

/// `kexin audit ...`
#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Record an audit note about a record, transaction or block as an auditor (--identity
    /// DIR); waits until it is final.
    Note(NoteArgs),
    /// List the audit notes about a hash (their text only for auditors and readers of the
    /// auditor's organisation: sign the request with --identity DIR).
    Notes(NotesArgs),
}

/// `kexin audit note --identity DIR --subject HEX --text T`
#[derive(Debug, Args)]
pub struct NoteArgs {
    /// The auditor identity that writes the note (DIR/cert.pem and DIR/key.pem; its
    /// certificate must carry the `auditor` role).
    #[arg(long, value_name = "DIR")]
    identity: PathBuf,
    /// What the note is about: an evidence digest, a transaction hash or a block hash (64 hex
    /// digits).
    #[arg(long, value_name = "HEX")]
    subject: String,
    /// The note (1..=4096 bytes of UTF-8; no control characters but newline and tab).
    #[arg(long, value_name = "TEXT")]
    text: String,
    /// Seconds to wait for the note to be final.
    #[arg(long, value_name = "SECONDS", default_value_t = 120)]
    timeout: u64,
    /// Once final, write the note's transaction receipt to FILE (verified first).
    #[arg(long, value_name = "FILE")]
    receipt: Option<PathBuf>,
    /// Print the result as JSON.
    #[arg(long)]
    json: bool,
}

/// `kexin audit notes SUBJECT`
#[derive(Debug, Args)]
pub struct NotesArgs {
    /// The hash the notes are about (64 hex digits).
    #[arg(value_name = "SUBJECT")]
    subject: String,
    /// Sign the request as the identity in DIR: auditors and readers of the auditor's
    /// organisation see the notes' text.
    #[arg(long, value_name = "DIR")]
    identity: Option<PathBuf>,
    /// Print the node's JSON answer.
    #[arg(long)]
    json: bool,
}

/// Runs `kexin audit ...`.
pub async fn run(cli: &Cli, cmd: &AuditCommand) -> anyhow::Result<()> {
    match cmd {
        AuditCommand::Note(args) => note(cli, args).await,
        AuditCommand::Notes(args) => notes(cli, args).await,
    }
}

fn parse_subject(s: &str) -> anyhow::Result<Hash> {
    Hash::from_hex(s.trim().to_ascii_lowercase().as_str())
        .map_err(|e| fail("bad_subject", format!("--subject {s:?}: {e}")))
}

#[derive(Serialize)]
struct NoteReport {
    tx_hash: Hash,
    subject: Hash,
    org: String,
    height: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    receipt: Option<PathBuf>,
}

async fn note(cli: &Cli, args: &NoteArgs) -> anyhow::Result<()> {
    let subject = parse_subject(&args.subject)?;
    validate_note_text(&args.text).map_err(|e| fail("invalid_note", e.to_string()))?;
    let client = Client::new(cli.node_url())?;
    let info = crate::attest::chain_info(&client).await?;
    let timeout = Duration::from_secs(args.timeout);
    let payload = Payload::AuditNote {
        subject,
        text: args.text.clone(),
    };
    let (signer, tx_hash) = crate::gov::submit_as(&client, &info, &args.identity, payload, timeout)
        .await
        .with_context(|| format!("recording an audit note about {subject}"))?;
    let status = client
        .wait_committed(&tx_hash, timeout)
        .await
        .with_context(|| format!("waiting for audit note {tx_hash} to be final"))?;
    let height = status.height.unwrap_or_default();
    if let Some(path) = &args.receipt {
        // Fetched as the auditor, so the receipt carries the note's text.
        let reader = crate::query::reader_client(cli, Some(&args.identity)).await?;
        crate::verify::save_tx_receipt(&reader, &info.genesis, &tx_hash, path).await?;
    }
    let report = NoteReport {
        tx_hash,
        subject,
        org: signer.org(),
        height,
        receipt: args.receipt.clone(),
    };
    if args.json {
        return print_json(&report);
    }
    println!(
        "audit note by {} ({}) about {subject}",
        signer.org(),
        signer.name()
    );
    println!("transaction {tx_hash}, final at height {height}");
    if let Some(path) = &report.receipt {
        println!("receipt written to {} (verified)", path.display());
    }
    Ok(())
}

async fn notes(cli: &Cli, args: &NotesArgs) -> anyhow::Result<()> {
    let subject = parse_subject(&args.subject)?;
    let client = crate::query::reader_client(cli, args.identity.as_deref()).await?;
    let r = client.audit_notes(&subject).await?;
    if args.json {
        return print_json(&r);
    }
    println!("{} audit note(s) about {}", r.notes.len(), r.subject);
    let mut withheld = false;
    for n in &r.notes {
        println!(
            "  height {} at {} by {} (transaction {})",
            n.height,
            utc(n.timestamp_ms),
            n.org.as_deref().unwrap_or("an unknown organisation"),
            n.tx_hash
        );
        match &n.text {
            Some(t) => {
                for line in t.lines() {
                    println!("    {line}");
                }
            }
            None => {
                withheld = true;
                println!("    (text withheld)");
            }
        }
    }
    if withheld {
        println!(
            "  (text withheld: sign the request with --identity DIR of an auditor, or of a reader \
             of the auditor's organisation)"
        );
    }
    Ok(())
}
