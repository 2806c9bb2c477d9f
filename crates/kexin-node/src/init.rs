//! `kexin node init`: a fresh single-validator chain in a directory.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::Context as _;
use kexin_crypto::{PublicKey, SigningKey, Suite};
use kexin_types::{Genesis, Validator};

use crate::config::NodeConfig;
use crate::layout;

/// What to create.
#[derive(Clone, Debug)]
pub struct InitOptions {
    /// The node directory (created if missing; must not hold a genesis yet).
    pub dir: PathBuf,
    /// The chain's suite.
    pub suite: Suite,
    /// The chain id; default `kexin-local-<8 hex>`.
    pub chain_id: Option<String>,
    /// Where the API listens.
    pub api_addr: SocketAddr,
}

/// What was created.
#[derive(Clone, Debug)]
pub struct InitReport {
    /// The chain id.
    pub chain_id: String,
    /// `DIR/genesis.json`.
    pub genesis_path: PathBuf,
    /// `DIR/config.toml`.
    pub config_path: PathBuf,
    /// The validator's public key.
    pub validator_key: PublicKey,
    /// A client key for attesting, `DIR/keys/client.pem`.
    pub client_key_path: PathBuf,
}

/// Writes a PEM private key readable only by its owner; refuses to overwrite.
pub fn write_key(path: &Path, key: &SigningKey) -> anyhow::Result<()> {
    use std::io::Write as _;
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        opts.mode(0o600);
    }
    let mut f = opts
        .open(path)
        .with_context(|| format!("cannot create {} (it must not exist yet)", path.display()))?;
    f.write_all(key.to_pkcs8_pem().as_bytes())?;
    f.sync_all()?;
    Ok(())
}

/// Creates genesis, configuration and keys for a one-validator chain in `opts.dir`.
pub fn init(opts: &InitOptions) -> anyhow::Result<InitReport> {
    let dir = &opts.dir;
    let genesis_path = dir.join(layout::GENESIS);
    if genesis_path.exists() {
        anyhow::bail!(
            "{} already exists: {} is already initialised",
            genesis_path.display(),
            dir.display()
        );
    }
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let chain_id = match &opts.chain_id {
        Some(c) => c.clone(),
        None => {
            let mut b = [0u8; 4];
            getrandom::fill(&mut b).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
            format!("kexin-local-{}", hex::encode(b))
        }
    };
    kexin_types::validate_chain_id(&chain_id).map_err(|e| anyhow::anyhow!("{e}"))?;

    let validator = SigningKey::generate(opts.suite);
    let client = SigningKey::generate(opts.suite);
    let timestamp_ms = SystemTime::now().duration_since(UNIX_EPOCH)?.as_millis() as u64;
    let genesis = Genesis {
        version: kexin_types::FORMAT_VERSION,
        chain_id: chain_id.clone(),
        suite: opts.suite,
        timestamp_ms,
        validators: vec![Validator {
            name: "node0".into(),
            public_key: validator.public_key(),
        }],
    };
    genesis.validate().map_err(|e| anyhow::anyhow!("{e}"))?;

    write_key(&dir.join(layout::VALIDATOR_KEY), &validator)?;
    let client_key_path = dir.join(layout::CLIENT_KEY);
    write_key(&client_key_path, &client)?;
    let mut config = NodeConfig::default();
    config.api.listen = opts.api_addr;
    let config_path = dir.join(layout::CONFIG);
    std::fs::write(&config_path, config.to_toml())?;
    // Genesis last: its presence marks a complete init.
    std::fs::write(&genesis_path, genesis.to_json())?;
    Ok(InitReport {
        chain_id,
        genesis_path,
        config_path,
        validator_key: validator.public_key(),
        client_key_path,
    })
}
