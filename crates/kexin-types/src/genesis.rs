//! The genesis file: the chain's identity, suite, organisations and validator set.

use kexin_crypto::{Hash, KeyScheme, PublicKey, Suite};
use serde::{Deserialize, Serialize};

#[cfg(doc)]
use crate::FORMAT_VERSION;
use crate::codec::{Decode, DecodeError, Encode, Reader, Writer};
use crate::domains;
use crate::identity::Organisation;
use crate::limits::*;
use crate::tx::{decode_public_key, encode_public_key, validate_chain_id};

/// A validator in the genesis set.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Validator {
    /// A human name, e.g. `node0` or `bank-of-x`.
    pub name: String,
    /// The organisation operating it (empty on a chain without organisations).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub org: String,
    /// Its consensus public key.
    pub public_key: PublicKey,
    /// Where peers reach it (`host:port`). Empty in a genesis made by `kexin net up`, whose
    /// nodes list each other in `config.toml`; set by governance for a validator added later
    /// (a node's `config.toml` entry for the key takes precedence).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub address: String,
}

impl Validator {
    /// Checks name, address and key: a validator signs votes with its suite's native scheme
    /// (Ed25519 on `intl`, SM2 on `gm`), never with a user-only scheme such as P-256.
    pub fn validate(&self, suite: Suite) -> Result<(), DecodeError> {
        self.validate_name_and_address()?;
        if self.public_key.scheme() != KeyScheme::native(suite) {
            return Err(DecodeError::invalid(
                "validator key",
                format!(
                    "validator {}: {} key on a {suite} chain (validators use {})",
                    self.name,
                    self.public_key.scheme(),
                    KeyScheme::native(suite)
                ),
            ));
        }
        Ok(())
    }

    /// Checks name and address only (the key is checked against the chain's suite by
    /// [`Validator::validate`], or by execution for a validator added by governance).
    pub(crate) fn validate_name_and_address(&self) -> Result<(), DecodeError> {
        if self.name.is_empty() || self.name.len() > MAX_NAME_BYTES {
            return Err(DecodeError::invalid(
                "validator name",
                format!(
                    "validator {:?}: name must be 1..={MAX_NAME_BYTES} bytes",
                    self.name
                ),
            ));
        }
        validate_address(&self.address)
    }

    pub(crate) fn encode_to(&self, out: &mut Vec<u8>) {
        out.put_str8(&self.name);
        out.put_str8(&self.org);
        encode_public_key(out, &self.public_key);
        out.put_str8(&self.address);
    }

    pub(crate) fn decode_from(r: &mut Reader<'_>) -> Result<Validator, DecodeError> {
        Ok(Validator {
            name: r.str8("validator name", MAX_NAME_BYTES)?,
            org: r.str8("validator org", MAX_NAME_BYTES)?,
            public_key: decode_public_key(r, "validator key")?,
            address: r.str8("validator address", MAX_ADDRESS_BYTES)?,
        })
    }
}

/// Checks a validator address: empty, or `host:port` with a non-empty host of letters,
/// digits, `.`, `-`, `_`, `:` or brackets (IPv6) and a port in 1..=65535.
pub fn validate_address(address: &str) -> Result<(), DecodeError> {
    if address.is_empty() {
        return Ok(());
    }
    let bad = |why: &str| DecodeError::invalid("validator address", format!("{address:?}: {why}"));
    if address.len() > MAX_ADDRESS_BYTES {
        return Err(bad("too long"));
    }
    let (host, port) = address
        .rsplit_once(':')
        .ok_or_else(|| bad("expected host:port"))?;
    if host.is_empty()
        || !host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b".-_:[]".contains(&b))
    {
        return Err(bad("bad host"));
    }
    match port.parse::<u16>() {
        Ok(p) if p > 0 => Ok(()),
        _ => Err(bad("port must be 1..=65535")),
    }
}

/// The validators of one consensus epoch, as a certificate verifier needs them.
pub trait ValidatorSets {
    /// The validators' keys of `epoch` in consensus order (sorted by their bytes), or `None`
    /// if the set of that epoch is not known.
    fn epoch_keys(&self, epoch: u64) -> Option<Vec<PublicKey>>;
}

/// Signatures needed for finality among `n` validators: `n - f` where `f = (n - 1) / 3`.
pub fn quorum_of(n: usize) -> usize {
    n - (n.saturating_sub(1)) / 3
}

/// Keys sorted by their canonical bytes: the participant order of `simplex`.
pub fn consensus_order(validators: &[Validator]) -> Vec<PublicKey> {
    let mut keys: Vec<PublicKey> = validators.iter().map(|v| v.public_key).collect();
    keys.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
    keys
}

/// Genesis knows epoch 0 only; later epochs' sets come from the chain's state
/// ([`StateKey::Epoch`](crate::state::StateKey::Epoch)).
impl ValidatorSets for Genesis {
    fn epoch_keys(&self, epoch: u64) -> Option<Vec<PublicKey>> {
        (epoch == 0).then(|| self.consensus_order())
    }
}

/// The genesis of a chain; its hash is the parent hash of block 1.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Genesis {
    /// The protocol version the chain starts at (3 or 4; new chains start at
    /// [`FORMAT_VERSION`], the newest).
    pub version: u8,
    /// The chain id, used in every signature domain.
    pub chain_id: String,
    /// The cryptographic suite for everything on this chain.
    pub suite: Suite,
    /// When the chain was created, milliseconds since the Unix epoch.
    pub timestamp_ms: u64,
    /// The consortium's organisations. Empty makes an open chain: any key may submit
    /// evidence and no certificates are checked (development and benchmarks only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub organisations: Vec<Organisation>,
    /// The validators of epoch 0, in index order.
    pub validators: Vec<Validator>,
    /// Blocks per consensus epoch (fixed for the chain's life): epoch `e` holds heights
    /// `e × epoch_length ..= (e + 1) × epoch_length − 1` (epoch 0 counts the genesis as
    /// height 0). Validator-set changes passed by governance take effect at the next epoch.
    #[serde(default = "default_epoch_length")]
    pub epoch_length: u64,
}

fn default_epoch_length() -> u64 {
    DEFAULT_EPOCH_LENGTH
}

impl Genesis {
    /// The genesis hash: `H("kexin:genesis:v1" || encoding)`.
    pub fn hash(&self) -> Hash {
        let mut h = self.suite.hasher();
        h.update(domains::GENESIS_HASH);
        h.update(&self.encode());
        h.finalize()
    }

    /// Signatures needed for finality in epoch 0: `n - f` where `f = (n - 1) / 3`.
    pub fn quorum(&self) -> usize {
        quorum_of(self.validators.len())
    }

    /// The consensus epoch of block `height`.
    pub fn epoch_of(&self, height: u64) -> u64 {
        height / self.epoch_length
    }

    /// The last height of `epoch`: the block whose commit fixes the next epoch's validators.
    pub fn epoch_last(&self, epoch: u64) -> u64 {
        (epoch + 1) * self.epoch_length - 1
    }

    /// The validators' public keys sorted by their canonical bytes, ascending: the participant
    /// order of the `simplex` consensus, whose indices
    /// [`CommitCertificate::Finalization`](crate::CommitCertificate::Finalization) signatures
    /// carry. (Kind 1 certificates index [`Genesis::validators`] in file order instead.)
    pub fn consensus_order(&self) -> Vec<PublicKey> {
        consensus_order(&self.validators)
    }

    /// Whether transactions must act under certificates of the organisations.
    pub fn is_permissioned(&self) -> bool {
        !self.organisations.is_empty()
    }

    /// The genesis organisation named `name`.
    pub fn organisation(&self, name: &str) -> Option<&Organisation> {
        self.organisations.iter().find(|o| o.name == name)
    }

    /// Index of the validator with `key`.
    pub fn validator_index(&self, key: &PublicKey) -> Option<u16> {
        self.validators
            .iter()
            .position(|v| &v.public_key == key)
            .map(|i| i as u16)
    }

    /// Checks the whole genesis for consistency.
    pub fn validate(&self) -> Result<(), DecodeError> {
        if !crate::protocol::supported(self.version) {
            return Err(DecodeError::invalid(
                "genesis version",
                format!(
                    "unsupported version {} (this build runs protocol versions {} to {})",
                    self.version,
                    crate::protocol::V3,
                    crate::protocol::CURRENT
                ),
            ));
        }
        validate_chain_id(&self.chain_id)?;
        if !(MIN_EPOCH_LENGTH..=MAX_EPOCH_LENGTH).contains(&self.epoch_length) {
            return Err(DecodeError::invalid(
                "epoch_length",
                format!(
                    "must be {MIN_EPOCH_LENGTH}..={MAX_EPOCH_LENGTH}, got {}",
                    self.epoch_length
                ),
            ));
        }
        if self.validators.is_empty() || self.validators.len() > MAX_VALIDATORS as usize {
            return Err(DecodeError::invalid(
                "validators",
                format!(
                    "need 1..={MAX_VALIDATORS} validators, got {}",
                    self.validators.len()
                ),
            ));
        }
        if self.organisations.len() > MAX_ORGS as usize {
            return Err(DecodeError::TooLarge {
                field: "organisations",
                limit: MAX_ORGS as u64,
                actual: self.organisations.len() as u64,
            });
        }
        for (i, o) in self.organisations.iter().enumerate() {
            o.validate()?;
            if self.organisations[..i].iter().any(|p| p.name == o.name) {
                return Err(DecodeError::invalid(
                    "organisation name",
                    format!("organisation {} is listed twice", o.name),
                ));
            }
        }
        for (i, v) in self.validators.iter().enumerate() {
            if self.is_permissioned() {
                if self.organisation(&v.org).is_none() {
                    return Err(DecodeError::invalid(
                        "validator org",
                        format!(
                            "validator {i} ({}) names organisation {:?}, which genesis does not list",
                            v.name, v.org
                        ),
                    ));
                }
            } else if !v.org.is_empty() {
                return Err(DecodeError::invalid(
                    "validator org",
                    format!(
                        "validator {i} ({}) names organisation {:?} but genesis lists none",
                        v.name, v.org
                    ),
                ));
            }
            v.validate(self.suite)?;
            if self.validators[..i]
                .iter()
                .any(|o| o.public_key == v.public_key)
            {
                return Err(DecodeError::invalid(
                    "validator key",
                    format!("validator {i} ({}) repeats a key", v.name),
                ));
            }
        }
        Ok(())
    }

    /// Parses and validates a genesis JSON document.
    pub fn from_json(json: &str) -> Result<Genesis, String> {
        let g: Genesis =
            serde_json::from_str(json).map_err(|e| format!("genesis is not valid JSON: {e}"))?;
        g.validate().map_err(|e| format!("invalid genesis: {e}"))?;
        Ok(g)
    }

    /// Pretty JSON for the genesis file.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("genesis serializes")
    }
}

impl Encode for Genesis {
    fn encode_to(&self, out: &mut Vec<u8>) {
        out.put_u8(self.version);
        out.put_str8(&self.chain_id);
        out.put_u8(self.suite.tag());
        out.put_u64(self.timestamp_ms);
        out.put_u32(self.organisations.len() as u32);
        for o in &self.organisations {
            o.encode_to(out);
        }
        out.put_u32(self.validators.len() as u32);
        for v in &self.validators {
            v.encode_to(out);
        }
        out.put_u64(self.epoch_length);
    }
}

impl Decode for Genesis {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let version = r.u8("genesis version")?;
        if !crate::protocol::supported(version) {
            return Err(DecodeError::invalid(
                "genesis version",
                format!(
                    "unsupported version {version} (this decoder reads {} to {})",
                    crate::protocol::V3,
                    crate::protocol::CURRENT
                ),
            ));
        }
        let chain_id = r.str8("chain_id", MAX_CHAIN_ID_BYTES)?;
        let tag = r.u8("suite")?;
        let suite = Suite::from_tag(tag)
            .ok_or_else(|| DecodeError::invalid("suite", format!("unknown suite tag {tag}")))?;
        let timestamp_ms = r.u64("timestamp_ms")?;
        let n = r.count("organisations", MAX_ORGS, true)?;
        let mut organisations = Vec::with_capacity(n as usize);
        for _ in 0..n {
            organisations.push(Organisation::decode_from(r)?);
        }
        let n = r.count("validators", MAX_VALIDATORS, false)?;
        let mut validators = Vec::with_capacity(n as usize);
        for _ in 0..n {
            validators.push(Validator::decode_from(r)?);
        }
        let epoch_length = r.u64("epoch_length")?;
        let g = Genesis {
            version,
            chain_id,
            suite,
            timestamp_ms,
            organisations,
            validators,
            epoch_length,
        };
        g.validate()?;
        Ok(g)
    }
}
