//! Governance: proposals voted by the consortium's organisations, and the consortium's
//! membership and parameters as governance changes them.
//!
//! A proposal is a transaction (payload kind 4) by an admin of a member organisation; its id
//! is that transaction's hash. Each member organisation votes once (payload kind 5, by any of
//! its admins; proposing counts as the proposer's organisation voting yes). A proposal passes
//! when its yes votes reach the threshold (default: more than 2/3 of the member organisations)
//! and its action is applied in the same block; it is rejected once enough organisations voted
//! no that it can no longer pass, and expires `gov.proposal_ttl_ms` after the block that made
//! it. The rules are in `docs/pki.md` ("Governance").

use std::fmt;

use kexin_crypto::{Hash, PublicKey};
use serde::{Deserialize, Serialize};

use crate::codec::{Decode, DecodeError, Encode, Reader, Writer};
use crate::contract::{ContractAddress, MAX_INITCODE_BYTES};
use crate::genesis::Validator;
use crate::identity::{CertDer, Organisation, RevocationReason, validate_org_name};
use crate::limits::*;
use crate::tx::{decode_public_key, encode_public_key};

/// A chain parameter that governance may change, with its default.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ParamSpec {
    /// The parameter's name.
    pub name: &'static str,
    /// Its value until governance changes it.
    pub default: u64,
    /// Smallest value allowed.
    pub min: u64,
    /// Largest value allowed.
    pub max: u64,
    /// What it means.
    pub doc: &'static str,
}

/// Every governable parameter (the `contract.*` ones from protocol version 5 on).
pub const PARAMS: [ParamSpec; 8] = [
    ParamSpec {
        name: "gov.threshold_num",
        default: 2,
        min: 1,
        max: 99,
        doc: "a proposal passes when yes votes × threshold_den > member organisations × threshold_num",
    },
    ParamSpec {
        name: "gov.threshold_den",
        default: 3,
        min: 2,
        max: 100,
        doc: "see gov.threshold_num; execution refuses a change that leaves num/den below 1/2 or at 1 and above",
    },
    ParamSpec {
        name: "gov.proposal_ttl_ms",
        default: 7 * 86_400_000,
        min: 60_000,
        max: 365 * 86_400_000,
        doc: "how long after its block a proposal can still be voted",
    },
    ParamSpec {
        name: "contract.tx_gas_limit",
        default: 10_000_000,
        min: 100_000,
        max: crate::contract::MAX_TX_GAS,
        doc: "most gas one contract transaction may ask for (and a query may use)",
    },
    ParamSpec {
        name: "contract.block_gas_limit",
        default: 30_000_000,
        min: 1_000_000,
        max: crate::contract::MAX_TX_GAS,
        doc: "most gas the contract transactions of one block may ask for together; execution refuses a change below contract.tx_gas_limit",
    },
    ParamSpec {
        name: "contract.max_code_bytes",
        default: 24 * 1024,
        min: 1024,
        max: crate::contract::MAX_INITCODE_BYTES as u64,
        doc: "largest code a deployment may leave (Ethereum's EIP-170 limit by default)",
    },
    ParamSpec {
        name: "contract.max_initcode_bytes",
        default: crate::contract::MAX_INITCODE_BYTES as u64,
        min: 1024,
        max: crate::contract::MAX_INITCODE_BYTES as u64,
        doc: "largest init code a contract_deploy payload may carry",
    },
    ParamSpec {
        name: "contract.deployers",
        default: 0,
        min: 0,
        max: 1,
        doc: "who may deploy contracts on a chain with organisations: 0 organisation admins, 1 admins and writers (on an open chain, any key)",
    },
];

/// The first protocol version in which parameter `name` exists.
pub fn param_since(name: &str) -> u8 {
    if name.starts_with("contract.") {
        crate::protocol::V5
    } else {
        crate::protocol::V3
    }
}

/// The spec of parameter `name`.
pub fn param_spec(name: &str) -> Option<&'static ParamSpec> {
    PARAMS.iter().find(|p| p.name == name)
}

/// What a proposal does once passed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum GovAction {
    /// Admit an organisation with its CA certificates (kind 1).
    AddOrg {
        /// The organisation.
        org: Organisation,
    },
    /// Remove a member organisation (kind 2); its certificates stop working. An organisation
    /// that operates validators cannot be removed.
    RemoveOrg {
        /// Its name.
        name: String,
    },
    /// Revoke any organisation's certificate (kind 3).
    RevokeCert {
        /// The certificate's DER.
        cert: CertDer,
        /// Why.
        reason: RevocationReason,
    },
    /// Change a chain parameter (kind 4; see [`PARAMS`]).
    SetParam {
        /// The parameter's name.
        name: String,
        /// The new value.
        value: u64,
    },
    /// Add a validator operated by a member organisation (kind 5). It joins consensus at the
    /// start of the next epoch.
    AddValidator {
        /// The validator: name, organisation, consensus key and `host:port` address.
        validator: Validator,
    },
    /// Remove a validator (kind 6). It leaves consensus at the start of the next epoch.
    RemoveValidator {
        /// Its consensus key.
        public_key: PublicKey,
    },
    /// Move the chain to protocol `version` from block `height` on (kind 7; see
    /// [`protocol`](crate::protocol)). Every node must run a binary that supports the version
    /// by then; one that does not stops at `height` with an error naming the version.
    ProtocolUpgrade {
        /// The protocol version, above the chain's current and scheduled ones.
        version: u8,
        /// The first height that follows it: above the height at which the proposal passes.
        height: u64,
    },
    /// Freeze a contract (kind 8; protocol version 5 and later): transactions calling it fail
    /// with `contract_frozen`, queries are refused the same way, and a call into it from
    /// another contract reverts, until it is unfrozen. Its storage stays readable and provable.
    FreezeContract {
        /// The contract.
        contract: ContractAddress,
    },
    /// Unfreeze a frozen contract (kind 9; protocol version 5 and later).
    UnfreezeContract {
        /// The contract.
        contract: ContractAddress,
    },
    /// Replace a contract's code (kind 10; protocol version 5 and later), keeping its address,
    /// storage and EVM nonce: the new code runs from the next transaction on.
    UpgradeContract {
        /// The contract.
        contract: ContractAddress,
        /// The new *runtime* code (an artifact's deployed bytecode, not init code):
        /// 1..=[`MAX_INITCODE_BYTES`] bytes by format, at most `contract.max_code_bytes` by
        /// the chain's parameter, not starting with `0xef` (EIP-3541).
        #[serde(with = "crate::contract::hex0x")]
        code: Vec<u8>,
    },
    /// Give a contract a name the consortium agrees on (kind 11; protocol version 5 and
    /// later), e.g. `scf` for the supply-chain finance platform, so that tools find it without
    /// being told its address; naming another contract the same moves the name.
    NameContract {
        /// The name: 1..=32 bytes of `a-z`, `0-9` and `-`, starting with a letter.
        name: String,
        /// The contract.
        contract: ContractAddress,
    },
}

/// Checks a contract name: 1..=[`MAX_CONTRACT_NAME_BYTES`] bytes of `a-z`, `0-9` and `-`,
/// starting with a letter.
pub fn validate_contract_name(name: &str) -> Result<(), DecodeError> {
    let ok = !name.is_empty()
        && name.len() <= MAX_CONTRACT_NAME_BYTES
        && name.as_bytes()[0].is_ascii_lowercase()
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(DecodeError::invalid(
            "contract name",
            format!(
                "{name:?}: a contract name is 1 to {MAX_CONTRACT_NAME_BYTES} bytes of a-z, 0-9 and '-', starting with a letter"
            ),
        ))
    }
}

/// Longest contract name, in bytes.
pub const MAX_CONTRACT_NAME_BYTES: usize = 32;

impl GovAction {
    /// The action's kind byte.
    pub fn kind(&self) -> u8 {
        match self {
            GovAction::AddOrg { .. } => 1,
            GovAction::RemoveOrg { .. } => 2,
            GovAction::RevokeCert { .. } => 3,
            GovAction::SetParam { .. } => 4,
            GovAction::AddValidator { .. } => 5,
            GovAction::RemoveValidator { .. } => 6,
            GovAction::ProtocolUpgrade { .. } => 7,
            GovAction::FreezeContract { .. } => 8,
            GovAction::UnfreezeContract { .. } => 9,
            GovAction::UpgradeContract { .. } => 10,
            GovAction::NameContract { .. } => 11,
        }
    }

    /// The action's name.
    pub fn kind_name(&self) -> &'static str {
        match self {
            GovAction::AddOrg { .. } => "add_org",
            GovAction::RemoveOrg { .. } => "remove_org",
            GovAction::RevokeCert { .. } => "revoke_cert",
            GovAction::SetParam { .. } => "set_param",
            GovAction::AddValidator { .. } => "add_validator",
            GovAction::RemoveValidator { .. } => "remove_validator",
            GovAction::ProtocolUpgrade { .. } => "protocol_upgrade",
            GovAction::FreezeContract { .. } => "freeze_contract",
            GovAction::UnfreezeContract { .. } => "unfreeze_contract",
            GovAction::UpgradeContract { .. } => "upgrade_contract",
            GovAction::NameContract { .. } => "name_contract",
        }
    }

    /// Checks names, sizes and parameter ranges (not the state).
    pub fn validate(&self) -> Result<(), DecodeError> {
        match self {
            GovAction::AddOrg { org } => org.validate(),
            GovAction::RemoveOrg { name } => validate_org_name(name),
            GovAction::RevokeCert { cert, .. } => cert.check_len("certificate"),
            GovAction::SetParam { name, value } => {
                let spec = param_spec(name).ok_or_else(|| {
                    let names: Vec<&str> = PARAMS.iter().map(|p| p.name).collect();
                    DecodeError::invalid(
                        "parameter",
                        format!("unknown parameter {name:?} (one of {})", names.join(", ")),
                    )
                })?;
                if !(spec.min..=spec.max).contains(value) {
                    return Err(DecodeError::invalid(
                        "parameter value",
                        format!("{name} must be {}..={}, got {value}", spec.min, spec.max),
                    ));
                }
                Ok(())
            }
            GovAction::AddValidator { validator } => {
                // The key's scheme is checked against the chain's suite by execution
                // (`invalid_validator`), which knows the suite.
                validator.validate_name_and_address()?;
                validate_org_name(&validator.org)?;
                if validator.address.is_empty() {
                    return Err(DecodeError::invalid(
                        "validator address",
                        "a validator added by governance needs its host:port address",
                    ));
                }
                Ok(())
            }
            GovAction::RemoveValidator { .. } => Ok(()),
            GovAction::ProtocolUpgrade { version, height } => {
                if *version <= crate::protocol::V3 {
                    return Err(DecodeError::invalid(
                        "protocol version",
                        format!("an upgrade goes to version 4 or later, not {version}"),
                    ));
                }
                if *height == 0 {
                    return Err(DecodeError::invalid(
                        "upgrade height",
                        "blocks start at height 1",
                    ));
                }
                Ok(())
            }
            GovAction::FreezeContract { .. } | GovAction::UnfreezeContract { .. } => Ok(()),
            GovAction::NameContract { name, .. } => validate_contract_name(name),
            GovAction::UpgradeContract { code, .. } => {
                if code.is_empty() || code.len() > MAX_INITCODE_BYTES {
                    return Err(DecodeError::invalid(
                        "contract code",
                        format!(
                            "new code is 1..={MAX_INITCODE_BYTES} bytes, got {}",
                            code.len()
                        ),
                    ));
                }
                if code[0] == 0xef {
                    return Err(DecodeError::invalid(
                        "contract code",
                        "code starting with 0xef cannot be deployed (EIP-3541)",
                    ));
                }
                Ok(())
            }
        }
    }
}

impl fmt::Display for GovAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GovAction::AddOrg { org } => write!(f, "add organisation {}", org.name),
            GovAction::RemoveOrg { name } => write!(f, "remove organisation {name}"),
            GovAction::RevokeCert { reason, .. } => write!(f, "revoke a certificate ({reason})"),
            GovAction::SetParam { name, value } => write!(f, "set {name} = {value}"),
            GovAction::AddValidator { validator } => write!(
                f,
                "add validator {} of {} at {}",
                validator.name, validator.org, validator.address
            ),
            GovAction::RemoveValidator { public_key } => {
                write!(f, "remove validator {public_key}")
            }
            GovAction::ProtocolUpgrade { version, height } => {
                write!(
                    f,
                    "upgrade to protocol version {version} at height {height}"
                )
            }
            GovAction::FreezeContract { contract } => write!(f, "freeze contract {contract}"),
            GovAction::UnfreezeContract { contract } => write!(f, "unfreeze contract {contract}"),
            GovAction::UpgradeContract { contract, code } => write!(
                f,
                "upgrade contract {contract} to {} bytes of new code",
                code.len()
            ),
            GovAction::NameContract { name, contract } => {
                write!(f, "name contract {contract} {name:?}")
            }
        }
    }
}

impl Encode for GovAction {
    fn encode_to(&self, out: &mut Vec<u8>) {
        out.put_u8(self.kind());
        match self {
            GovAction::AddOrg { org } => org.encode_to(out),
            GovAction::RemoveOrg { name } => out.put_str8(name),
            GovAction::RevokeCert { cert, reason } => {
                cert.put(out);
                out.put_u8(reason.code());
            }
            GovAction::SetParam { name, value } => {
                out.put_str8(name);
                out.put_u64(*value);
            }
            GovAction::AddValidator { validator } => validator.encode_to(out),
            GovAction::RemoveValidator { public_key } => encode_public_key(out, public_key),
            GovAction::ProtocolUpgrade { version, height } => {
                out.put_u8(*version);
                out.put_u64(*height);
            }
            GovAction::FreezeContract { contract } | GovAction::UnfreezeContract { contract } => {
                out.extend_from_slice(&contract.0)
            }
            GovAction::UpgradeContract { contract, code } => {
                out.extend_from_slice(&contract.0);
                crate::contract::put_bytes32(out, code);
            }
            GovAction::NameContract { name, contract } => {
                out.put_str8(name);
                out.extend_from_slice(&contract.0);
            }
        }
    }
}

impl Decode for GovAction {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let action = match r.u8("action kind")? {
            1 => GovAction::AddOrg {
                org: Organisation::decode_from(r)?,
            },
            2 => GovAction::RemoveOrg {
                name: r.str8("organisation name", MAX_NAME_BYTES)?,
            },
            3 => {
                let cert = CertDer::read(r, "revoked certificate")?;
                let reason = RevocationReason::read(r)?;
                GovAction::RevokeCert { cert, reason }
            }
            4 => GovAction::SetParam {
                name: r.str8("parameter", MAX_NAME_BYTES)?,
                value: r.u64("parameter value")?,
            },
            5 => GovAction::AddValidator {
                validator: Validator::decode_from(r)?,
            },
            6 => GovAction::RemoveValidator {
                public_key: decode_public_key(r, "validator key")?,
            },
            7 => GovAction::ProtocolUpgrade {
                version: r.u8("protocol version")?,
                height: r.u64("upgrade height")?,
            },
            8 => GovAction::FreezeContract {
                contract: ContractAddress(r.array("contract address")?),
            },
            9 => GovAction::UnfreezeContract {
                contract: ContractAddress(r.array("contract address")?),
            },
            10 => GovAction::UpgradeContract {
                contract: ContractAddress(r.array("contract address")?),
                code: crate::contract::read_bytes32(r, "contract code", MAX_INITCODE_BYTES, false)?,
            },
            11 => GovAction::NameContract {
                name: r.str8("contract name", MAX_CONTRACT_NAME_BYTES)?,
                contract: ContractAddress(r.array("contract address")?),
            },
            k => {
                return Err(DecodeError::invalid(
                    "action kind",
                    format!("unknown governance action {k}"),
                ));
            }
        };
        action.validate()?;
        Ok(action)
    }
}

/// One organisation's vote.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Vote {
    /// The voting organisation.
    pub org: String,
    /// Yes or no.
    pub approve: bool,
    /// The height of the block that recorded it.
    pub height: u64,
    /// The id of the admin certificate that cast it.
    pub cert: Hash,
}

/// Where a proposal stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum ProposalStatus {
    /// Open for votes until `expires_ms`.
    Open,
    /// Passed and applied at `height`.
    Passed {
        /// The height it passed (and its action took effect) at.
        height: u64,
    },
    /// Enough organisations voted no that it can no longer pass.
    Rejected {
        /// The height of the deciding vote.
        height: u64,
    },
}

impl ProposalStatus {
    fn code(&self) -> u8 {
        match self {
            ProposalStatus::Open => 0,
            ProposalStatus::Passed { .. } => 1,
            ProposalStatus::Rejected { .. } => 2,
        }
    }
}

/// Value of [`StateKey::Proposal`](crate::state::StateKey::Proposal).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProposalState {
    /// What it does.
    pub action: GovAction,
    /// The proposing organisation.
    pub proposer_org: String,
    /// The height of the block that made it.
    pub created_at: u64,
    /// Votes are refused from this block timestamp on (ms since the Unix epoch).
    pub expires_ms: u64,
    /// The votes, in order (the proposer's organisation first).
    pub votes: Vec<Vote>,
    /// Open, passed or rejected. An open proposal past `expires_ms` is expired.
    pub status: ProposalStatus,
}

impl ProposalState {
    /// Yes and no votes.
    pub fn tally(&self) -> (usize, usize) {
        let yes = self.votes.iter().filter(|v| v.approve).count();
        (yes, self.votes.len() - yes)
    }

    /// `open`, `passed`, `rejected` or `expired` at time `now_ms`.
    pub fn state_name(&self, now_ms: u64) -> &'static str {
        match self.status {
            ProposalStatus::Open if now_ms >= self.expires_ms => "expired",
            ProposalStatus::Open => "open",
            ProposalStatus::Passed { .. } => "passed",
            ProposalStatus::Rejected { .. } => "rejected",
        }
    }
}

impl Encode for ProposalState {
    fn encode_to(&self, out: &mut Vec<u8>) {
        self.action.encode_to(out);
        out.put_str8(&self.proposer_org);
        out.put_u64(self.created_at);
        out.put_u64(self.expires_ms);
        out.put_u32(self.votes.len() as u32);
        for v in &self.votes {
            out.put_str8(&v.org);
            out.put_u8(v.approve as u8);
            out.put_u64(v.height);
            out.extend_from_slice(v.cert.as_bytes());
        }
        out.put_u8(self.status.code());
        match self.status {
            ProposalStatus::Open => {}
            ProposalStatus::Passed { height } | ProposalStatus::Rejected { height } => {
                out.put_u64(height)
            }
        }
    }
}

impl Decode for ProposalState {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let action = GovAction::decode_from(r)?;
        let proposer_org = r.str8("proposer org", MAX_NAME_BYTES)?;
        let created_at = r.u64("created_at")?;
        let expires_ms = r.u64("expires_ms")?;
        let n = r.count("votes", MAX_ORGS, true)?;
        let mut votes = Vec::with_capacity(n as usize);
        for _ in 0..n {
            votes.push(Vote {
                org: r.str8("vote org", MAX_NAME_BYTES)?,
                approve: r.flag("vote")?,
                height: r.u64("vote height")?,
                cert: r.hash("vote cert")?,
            });
        }
        let status = match r.u8("proposal status")? {
            0 => ProposalStatus::Open,
            1 => ProposalStatus::Passed {
                height: r.u64("status height")?,
            },
            2 => ProposalStatus::Rejected {
                height: r.u64("status height")?,
            },
            s => {
                return Err(DecodeError::invalid(
                    "proposal status",
                    format!("unknown status {s}"),
                ));
            }
        };
        Ok(ProposalState {
            action,
            proposer_org,
            created_at,
            expires_ms,
            votes,
            status,
        })
    }
}

/// Value of [`StateKey::Consortium`](crate::state::StateKey::Consortium): the member
/// organisations and parameters once governance changed them (absent: as in genesis, with
/// every parameter at its default).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsortiumState {
    /// Member organisations, sorted by name.
    pub members: Vec<String>,
    /// Parameters changed from their defaults, sorted by name.
    pub params: Vec<(String, u64)>,
    /// The validators as governance left them; they take over consensus at the next epoch
    /// (see [`EpochSet`]).
    pub validators: Vec<Validator>,
    /// The height of the last change.
    pub updated_at: u64,
}

impl ConsortiumState {
    /// The consortium as genesis makes it.
    pub fn from_genesis(genesis: &crate::Genesis) -> ConsortiumState {
        let mut members: Vec<String> = genesis
            .organisations
            .iter()
            .map(|o| o.name.clone())
            .collect();
        members.sort();
        ConsortiumState {
            members,
            params: Vec::new(),
            validators: genesis.validators.clone(),
            updated_at: 0,
        }
    }

    /// The value of parameter `name` (its default unless changed).
    pub fn param(&self, name: &str) -> u64 {
        self.params
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| *v)
            .or_else(|| param_spec(name).map(|p| p.default))
            .unwrap_or(0)
    }

    /// Sets a parameter (keeping `params` sorted).
    pub fn set_param(&mut self, name: &str, value: u64) {
        match self.params.binary_search_by(|(n, _)| n.as_str().cmp(name)) {
            Ok(i) => self.params[i].1 = value,
            Err(i) => self.params.insert(i, (name.to_owned(), value)),
        }
    }

    /// Whether `org` is a member.
    pub fn is_member(&self, org: &str) -> bool {
        self.members
            .binary_search_by(|m| m.as_str().cmp(org))
            .is_ok()
    }

    /// Yes votes a proposal needs to pass: the least `y` with
    /// `y × threshold_den > members × threshold_num`.
    pub fn votes_needed(&self) -> usize {
        let num = self.param("gov.threshold_num");
        let den = self.param("gov.threshold_den").max(1);
        let n = self.members.len() as u64;
        ((n * num) / den + 1) as usize
    }
}

impl Encode for ConsortiumState {
    fn encode_to(&self, out: &mut Vec<u8>) {
        out.put_u32(self.members.len() as u32);
        for m in &self.members {
            out.put_str8(m);
        }
        out.put_u32(self.params.len() as u32);
        for (n, v) in &self.params {
            out.put_str8(n);
            out.put_u64(*v);
        }
        out.put_u32(self.validators.len() as u32);
        for v in &self.validators {
            v.encode_to(out);
        }
        out.put_u64(self.updated_at);
    }
}

impl Decode for ConsortiumState {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let n = r.count("members", MAX_ORGS, true)?;
        let mut members = Vec::with_capacity(n as usize);
        for _ in 0..n {
            members.push(r.str8("member", MAX_NAME_BYTES)?);
        }
        let n = r.count("params", PARAMS.len() as u32, true)?;
        let mut params = Vec::with_capacity(n as usize);
        for _ in 0..n {
            params.push((
                r.str8("parameter", MAX_NAME_BYTES)?,
                r.u64("parameter value")?,
            ));
        }
        let n = r.count("validators", MAX_VALIDATORS, false)?;
        let mut validators = Vec::with_capacity(n as usize);
        for _ in 0..n {
            validators.push(Validator::decode_from(r)?);
        }
        Ok(ConsortiumState {
            members,
            params,
            validators,
            updated_at: r.u64("updated_at")?,
        })
    }
}

/// Value of [`StateKey::Epoch`](crate::state::StateKey::Epoch): the validators of a consensus
/// epoch, fixed when the last block of the epoch before it executes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EpochSet {
    /// The epoch.
    pub epoch: u64,
    /// Its validators, in the order governance left them (certificates index
    /// [`consensus_order`](crate::genesis::consensus_order) instead).
    pub validators: Vec<Validator>,
}

impl EpochSet {
    /// Signatures a certificate of this epoch needs.
    pub fn quorum(&self) -> usize {
        crate::genesis::quorum_of(self.validators.len())
    }

    /// Whether `key` is one of the validators.
    pub fn contains(&self, key: &PublicKey) -> bool {
        self.validators.iter().any(|v| &v.public_key == key)
    }

    /// What the last block of the epoch before commits to in
    /// [`BlockHeader::next_validators`](crate::BlockHeader::next_validators):
    /// `H("kexin:validators:v1" || encoding)`.
    pub fn hash(&self, suite: kexin_crypto::Suite) -> Hash {
        Self::value_hash(suite, &self.encode())
    }

    /// [`EpochSet::hash`] of an encoded set.
    pub fn value_hash(suite: kexin_crypto::Suite, encoded: &[u8]) -> Hash {
        suite.hash_parts(&[crate::domains::VALIDATORS, encoded])
    }
}

impl Encode for EpochSet {
    fn encode_to(&self, out: &mut Vec<u8>) {
        out.put_u64(self.epoch);
        out.put_u32(self.validators.len() as u32);
        for v in &self.validators {
            v.encode_to(out);
        }
    }
}

impl Decode for EpochSet {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let epoch = r.u64("epoch")?;
        let n = r.count("validators", MAX_VALIDATORS, false)?;
        let mut validators = Vec::with_capacity(n as usize);
        for _ in 0..n {
            validators.push(Validator::decode_from(r)?);
        }
        Ok(EpochSet { epoch, validators })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn consortium(n: usize) -> ConsortiumState {
        ConsortiumState {
            members: (1..=n).map(|i| format!("org{i}")).collect(),
            params: Vec::new(),
            validators: Vec::new(),
            updated_at: 0,
        }
    }

    #[test]
    fn more_than_two_thirds_by_default() {
        for (n, need) in [
            (1, 1),
            (2, 2),
            (3, 3),
            (4, 3),
            (5, 4),
            (6, 5),
            (7, 5),
            (10, 7),
            (100, 67),
        ] {
            assert_eq!(consortium(n).votes_needed(), need, "{n} members");
        }
        let mut c = consortium(10);
        c.set_param("gov.threshold_num", 1);
        c.set_param("gov.threshold_den", 2);
        assert_eq!(c.votes_needed(), 6, "more than half of 10");
        assert_eq!(c.param("gov.proposal_ttl_ms"), 7 * 86_400_000);
        assert_eq!(c.params[0].0, "gov.threshold_den", "kept sorted");
    }

    #[test]
    fn actions_and_states_round_trip_and_bad_ones_are_refused() {
        let actions = [
            GovAction::AddOrg {
                org: Organisation {
                    name: "org5".into(),
                    ca_certs: vec![CertDer(vec![0x30, 0])],
                },
            },
            GovAction::RemoveOrg {
                name: "org2".into(),
            },
            GovAction::RevokeCert {
                cert: CertDer(vec![1, 2, 3]),
                reason: RevocationReason::KeyCompromise,
            },
            GovAction::SetParam {
                name: "gov.proposal_ttl_ms".into(),
                value: 3_600_000,
            },
        ];
        for a in &actions {
            assert_eq!(GovAction::decode(&a.encode()).unwrap(), *a);
        }
        let state = ProposalState {
            action: actions[0].clone(),
            proposer_org: "org1".into(),
            created_at: 5,
            expires_ms: 100,
            votes: vec![Vote {
                org: "org1".into(),
                approve: true,
                height: 5,
                cert: Hash([7; 32]),
            }],
            status: ProposalStatus::Passed { height: 9 },
        };
        assert_eq!(ProposalState::decode(&state.encode()).unwrap(), state);
        assert_eq!(state.tally(), (1, 0));
        assert_eq!(state.state_name(1_000), "passed");
        let key = kexin_crypto::SigningKey::generate(kexin_crypto::Suite::Intl).public_key();
        let validator = Validator {
            name: "node5".into(),
            org: "org5".into(),
            public_key: key,
            address: "node5.example:7000".into(),
        };
        let c = ConsortiumState {
            members: vec!["a".into(), "b".into()],
            params: vec![("gov.threshold_num".into(), 1)],
            validators: vec![validator.clone()],
            updated_at: 3,
        };
        for a in [
            GovAction::AddValidator {
                validator: validator.clone(),
            },
            GovAction::RemoveValidator { public_key: key },
        ] {
            assert_eq!(GovAction::decode(&a.encode()).unwrap(), a);
        }
        let set = EpochSet {
            epoch: 3,
            validators: vec![validator.clone()],
        };
        assert_eq!(EpochSet::decode(&set.encode()).unwrap(), set);
        for address in ["", "no-port", "host:0", "host:99999", "bad host:1"] {
            let bad = GovAction::AddValidator {
                validator: Validator {
                    address: address.into(),
                    ..validator.clone()
                },
            };
            assert!(GovAction::decode(&bad.encode()).is_err(), "{address:?}");
        }
        assert_eq!(ConsortiumState::decode(&c.encode()).unwrap(), c);

        for bad in [
            GovAction::SetParam {
                name: "gov.nope".into(),
                value: 1,
            },
            GovAction::SetParam {
                name: "gov.threshold_den".into(),
                value: 1,
            },
            GovAction::SetParam {
                name: "gov.proposal_ttl_ms".into(),
                value: 1,
            },
            GovAction::RemoveOrg {
                name: "bad name".into(),
            },
        ] {
            assert!(bad.validate().is_err(), "{bad:?}");
            assert!(GovAction::decode(&bad.encode()).is_err(), "{bad:?}");
        }
        assert!(GovAction::decode(&[9]).is_err());
    }
}
