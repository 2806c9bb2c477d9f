//! `kexin keys`: signing keys, and the key `attest` signs with.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use clap::Subcommand;
use kexin_client::{load_key, save_key};
use kexin_crypto::{SigningKey, Suite};
use serde::Serialize;

use crate::error::fail;
use crate::output::print_json;

/// `kexin keys ...`
#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Generate a signing key and write it as PKCS#8 PEM (mode 0600); prints the public key hex.
    New {
        /// The chain's suite: `gm` (SM2) or `intl` (Ed25519).
        #[arg(long, default_value_t = kexin_node::DEFAULT_SUITE)]
        suite: Suite,
        /// Where to write the key; an existing file is never overwritten.
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
        /// Print `{"file", "suite", "scheme", "public_key"}` as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Encrypt a key file under a passphrase (encrypted PKCS#8: scrypt and AES-256-CBC, which
    /// OpenSSL 3 reads too). The passphrase is the first line of the file named by
    /// KEXIN_KEY_PASSPHRASE_FILE, else KEXIN_KEY_PASSPHRASE; nodes and `kexin` read encrypted
    /// keys with the same variables.
    Encrypt {
        /// The key file to encrypt (PKCS#8 PEM).
        file: PathBuf,
        /// Where to write the encrypted key; an existing file is never overwritten.
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
        /// Print `{"file", "suite", "scheme", "public_key"}` of the new file as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Print the suite and public key of a key file.
    Show {
        /// The PKCS#8 PEM key file.
        file: PathBuf,
        /// Print `{"file", "suite", "scheme", "public_key"}` as JSON.
        #[arg(long)]
        json: bool,
    },
}

/// What `kexin keys new|show --json` prints.
#[derive(Serialize)]
struct KeyDocument<'a> {
    file: &'a Path,
    suite: Suite,
    scheme: String,
    public_key: kexin_crypto::PublicKey,
}

impl<'a> KeyDocument<'a> {
    fn of(file: &'a Path, key: &SigningKey) -> KeyDocument<'a> {
        KeyDocument {
            file,
            suite: key.suite(),
            scheme: key.scheme().to_string(),
            public_key: key.public_key(),
        }
    }
}

/// Runs a `keys` subcommand.
pub fn run(cmd: &KeysCommand) -> anyhow::Result<()> {
    match cmd {
        KeysCommand::New { suite, out, json } => {
            let key = SigningKey::generate(*suite);
            save_key(out, &key)?;
            if *json {
                return print_json(&KeyDocument::of(out, &key));
            }
            eprintln!(
                "wrote {} {} key to {}",
                suite,
                suite.signature_name(),
                out.display()
            );
            println!("{}", key.public_key());
            Ok(())
        }
        KeysCommand::Encrypt { file, out, json } => {
            let key = load_key(file)?;
            let passphrase = kexin_crypto::passphrase_from_env()
                .map_err(|e| fail("bad_passphrase_file", e.to_string()))?
                .ok_or_else(|| {
                    fail(
                        "no_passphrase",
                        "no passphrase: set KEXIN_KEY_PASSPHRASE_FILE (a file whose first line is \
                     the passphrase) or KEXIN_KEY_PASSPHRASE",
                    )
                })?;
            kexin_client::save_encrypted_key(out, &key, &passphrase)?;
            if *json {
                return print_json(&KeyDocument::of(out, &key));
            }
            eprintln!("wrote {} encrypted", out.display());
            println!("{}", key.public_key());
            Ok(())
        }
        KeysCommand::Show { file, json } => {
            let key = load_key(file)?;
            if *json {
                return print_json(&KeyDocument::of(file, &key));
            }
            println!("suite      {}", key.suite());
            println!("scheme     {}", key.scheme());
            println!("public key {}", key.public_key());
            Ok(())
        }
    }
}

/// The key `attest` signs with: `--key FILE`, else `$KEXIN_KEY`, else
/// `$HOME/.kexin/client-<suite>.pem`, created on first use. The key must be of `suite`.
pub fn signing_key(explicit: Option<&Path>, suite: Suite) -> anyhow::Result<SigningKey> {
    let env = std::env::var_os("KEXIN_KEY").filter(|v| !v.is_empty());
    let key = if let Some(path) = explicit {
        load_key(path)?
    } else if let Some(path) = env {
        load_key(PathBuf::from(path)).context("loading the key named by KEXIN_KEY")?
    } else {
        let home = std::env::var_os("HOME")
            .filter(|h| !h.is_empty())
            .ok_or_else(|| {
                fail(
                    "no_key",
                    "no --key given, KEXIN_KEY is unset, and HOME is unset",
                )
            })?;
        let path = PathBuf::from(home)
            .join(".kexin")
            .join(format!("client-{suite}.pem"));
        if path.exists() {
            load_key(&path)?
        } else {
            let key = SigningKey::generate(suite);
            save_key(&path, &key)?;
            eprintln!(
                "note: created a new {} signing key at {} (public key {}); keep it to prove \
                 who submitted this evidence",
                suite.signature_name(),
                path.display(),
                key.public_key()
            );
            key
        }
    };
    if key.suite() != suite {
        return Err(fail(
            "wrong_suite",
            format!(
                "the chain uses the {suite} suite ({}), but the key is a {} key",
                suite.signature_name(),
                key.suite().signature_name()
            ),
        ));
    }
    Ok(key)
}
