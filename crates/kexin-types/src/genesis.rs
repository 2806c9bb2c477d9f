//! The genesis file: the chain's identity, suite, organisations and validator set.

use kexin_crypto::{Hash, PublicKey, Suite};
use serde::{Deserialize, Serialize};

use crate::codec::{Decode, DecodeError, Encode, Reader, Writer};
use crate::identity::Organisation;
use crate::limits::*;
use crate::tx::{decode_public_key, encode_public_key, validate_chain_id};
use crate::{FORMAT_VERSION, domains};

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
}

/// The genesis of a chain; its hash is the parent hash of block 1.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Genesis {
    /// Format version (`FORMAT_VERSION`, now 2).
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
    /// The validators, in index order.
    pub validators: Vec<Validator>,
}

impl Genesis {
    /// The genesis hash: `H("kexin:genesis:v1" || encoding)`.
    pub fn hash(&self) -> Hash {
        let mut h = self.suite.hasher();
        h.update(domains::GENESIS_HASH);
        h.update(&self.encode());
        h.finalize()
    }

    /// Signatures needed for finality: `n - f` where `f = (n - 1) / 3`.
    pub fn quorum(&self) -> usize {
        let n = self.validators.len();
        n - (n.saturating_sub(1)) / 3
    }

    /// The validators' public keys sorted by their canonical bytes, ascending: the participant
    /// order of the `simplex` consensus, whose indices
    /// [`CommitCertificate::Finalization`](crate::CommitCertificate::Finalization) signatures
    /// carry. (Kind 1 certificates index [`Genesis::validators`] in file order instead.)
    pub fn consensus_order(&self) -> Vec<PublicKey> {
        let mut keys: Vec<PublicKey> = self.validators.iter().map(|v| v.public_key).collect();
        keys.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
        keys
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
        if self.version != FORMAT_VERSION {
            return Err(DecodeError::invalid(
                "genesis version",
                format!("unsupported version {}", self.version),
            ));
        }
        validate_chain_id(&self.chain_id)?;
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
            if v.name.is_empty() || v.name.len() > MAX_NAME_BYTES {
                return Err(DecodeError::invalid(
                    "validator name",
                    format!("validator {i}: name must be 1..={MAX_NAME_BYTES} bytes"),
                ));
            }
            if v.public_key.suite() != self.suite {
                return Err(DecodeError::invalid(
                    "validator key",
                    format!(
                        "validator {i} ({}) has a {} key on a {} chain",
                        v.name,
                        v.public_key.suite(),
                        self.suite
                    ),
                ));
            }
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
            out.put_str8(&v.name);
            out.put_str8(&v.org);
            encode_public_key(out, &v.public_key);
        }
    }
}

impl Decode for Genesis {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let version = r.u8("genesis version")?;
        if version != FORMAT_VERSION {
            return Err(DecodeError::invalid(
                "genesis version",
                format!("unsupported version {version}"),
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
            let name = r.str8("validator name", MAX_NAME_BYTES)?;
            let org = r.str8("validator org", MAX_NAME_BYTES)?;
            let public_key = decode_public_key(r, "validator key")?;
            validators.push(Validator {
                name,
                org,
                public_key,
            });
        }
        let g = Genesis {
            version,
            chain_id,
            suite,
            timestamp_ms,
            organisations,
            validators,
        };
        g.validate()?;
        Ok(g)
    }
}
