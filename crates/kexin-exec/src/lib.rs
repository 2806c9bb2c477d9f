//! Deterministic execution of Kexin blocks: applies transactions to a state view and returns
//! the state writes, without touching storage.
//!
//! Execution is a pure function of (state view, genesis, height, block timestamp,
//! transactions): no clocks, no randomness, no hash-map iteration, so every validator computes
//! the same state root. Signatures are checked before execution (mempool admission, block
//! verification); here a transaction can still fail on the state:
//!
//! * On a chain with organisations, the signer must act under a certificate: registered on
//!   chain, or attached (its first use registers it after checking it chains to one of its
//!   organisation's CAs). The certificate must be valid at the block's timestamp, not revoked,
//!   certify the signing key, and carry a role granted the payload's permission
//!   ([`Permission`], table in `docs/pki.md`).
//! * Its nonce must be exactly one more than its signer's last committed nonce (the first
//!   transaction of a signer uses nonce 1). Nonces without gaps mean a transaction can never
//!   be overtaken by its signer's later ones: a proposer that holds nonce k+1 but not yet k
//!   waits for k instead of turning it into a replay.
//!
//! ```
//! use std::collections::BTreeMap;
//! use kexin_crypto::{SigningKey, Suite};
//! use kexin_exec::{MemoryState, execute_block};
//! use kexin_types::{EvidenceRecord, Payload, RecordMetadata, Salt, SealedTx, Transaction};
//! let key = SigningKey::generate(Suite::Intl);
//! let rec = EvidenceRecord { digest: Suite::Intl.hash(b"x"), metadata: RecordMetadata { salt: Salt([7; 16]), content_type: "text/plain".into(), label: "x".into(), external_ref: None } };
//! let tx = SealedTx::new(Transaction::sign("demo", &key, 1, Payload::Evidence { records: vec![rec] }));
//! # let genesis = kexin_types::Genesis { version: kexin_types::FORMAT_VERSION, chain_id: "demo".into(), suite: Suite::Intl, timestamp_ms: 0, organisations: vec![], validators: vec![kexin_types::Validator { name: "v".into(), org: String::new(), public_key: key.public_key(), address: String::new() }], epoch_length: 100 };
//! let ctx = kexin_exec::BlockContext { genesis: &genesis, height: 1, timestamp_ms: 1 };
//! let writes = execute_block(&MemoryState::default(), &ctx, &[tx]).unwrap();
//! assert_eq!(writes.len(), 2); // the signer's nonce and the digest's evidence entry
//! ```

use std::collections::BTreeMap;

use kexin_crypto::{Hash, PublicKey};
use kexin_pki::{Certificate, PkiError};
use kexin_types::gov::{EpochSet, GovAction, ProposalStatus, Vote};
use kexin_types::state::{EvidenceState, NonceState, RecordLocation, StateKey};
use kexin_types::{
    CertDer, CertState, ConsortiumState, Decode, DecodeError, Encode, Genesis, OrgState,
    Organisation, Payload, Permission, ProposalState, Revocation, RevocationReason, Role, SealedTx,
    Validator,
};

/// Where a block executes: the chain's genesis, the block's height and its timestamp (the
/// time certificates are checked at).
#[derive(Clone, Copy, Debug)]
pub struct BlockContext<'g> {
    /// The chain's genesis (organisations as they were at the start).
    pub genesis: &'g Genesis,
    /// The block's height.
    pub height: u64,
    /// The block's timestamp, ms since the Unix epoch.
    pub timestamp_ms: u64,
}

/// Read access to the committed state a block executes on.
pub trait StateView {
    /// The committed value of `key`, if any.
    fn get(&self, key: &StateKey) -> Result<Option<Vec<u8>>, ExecError>;
}

/// A state view over a map, for tests and tools.
#[derive(Default, Clone, Debug)]
pub struct MemoryState(pub BTreeMap<StateKey, Vec<u8>>);

impl StateView for MemoryState {
    fn get(&self, key: &StateKey) -> Result<Option<Vec<u8>>, ExecError> {
        Ok(self.0.get(key).cloned())
    }
}

/// Why a transaction cannot be applied to the current state.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TxRejection {
    /// The nonce was already used (or a greater one was).
    #[error(
        "nonce {nonce} of signer {signer} is not greater than its last committed nonce {last}: the transaction is a replay or was overtaken"
    )]
    NonceReplayed {
        /// The signer.
        signer: String,
        /// The transaction's nonce.
        nonce: u64,
        /// The last nonce committed (or applied earlier in the same block).
        last: u64,
    },
    /// An earlier nonce of the signer is not applied yet: the transaction must wait for it.
    #[error(
        "nonce {nonce} of signer {signer} leaves a gap: the next nonce it may use is {expected}"
    )]
    NonceGap {
        /// The signer.
        signer: String,
        /// The transaction's nonce.
        nonce: u64,
        /// The nonce the signer's next transaction must carry.
        expected: u64,
    },
    /// A chain with organisations needs every transaction to act under a certificate.
    #[error(
        "this chain has organisations: the transaction must act under a certificate (sign with an identity)"
    )]
    CertRequired,
    /// A chain without organisations has no certificates or certificate management.
    #[error("this chain has no organisations: {0}")]
    NoOrganisations(&'static str),
    /// The certificate id is not in the registry and the certificate is not attached.
    #[error("certificate {0} is not registered on chain; attach it to the transaction")]
    CertUnknown(Hash),
    /// The certificate does not check out (expired, wrong CA, bad signature, ...).
    #[error("certificate refused: {message}")]
    Certificate {
        /// The PKI's code (`cert_expired`, `cert_wrong_ca`, ...).
        code: &'static str,
        /// What is wrong.
        message: String,
    },
    /// The certificate was revoked.
    #[error("certificate {id} was revoked at height {} ({})", revocation.height, revocation.reason)]
    CertRevoked {
        /// Its id.
        id: Hash,
        /// When and why.
        revocation: Revocation,
    },
    /// The transaction's signer is not the key the certificate certifies.
    #[error("the transaction is signed by {signer}, but certificate {id} certifies {certified}")]
    CertKeyMismatch {
        /// The certificate id.
        id: Hash,
        /// The signing key.
        signer: String,
        /// The key in the certificate.
        certified: String,
    },
    /// The certificate names an organisation the chain does not have.
    #[error("organisation {0:?} is not a member of this consortium")]
    UnknownOrg(String),
    /// The certificate's role lacks the permission the payload needs.
    #[error(
        "permission denied: {action} needs permission {permission} (granted to {granted}); certificate {name}@{org} has role {role}"
    )]
    PermissionDenied {
        /// The payload kind.
        action: &'static str,
        /// The permission needed.
        permission: Permission,
        /// The roles that have it.
        granted: String,
        /// The certificate's role.
        role: Role,
        /// Holder name.
        name: String,
        /// Holder organisation.
        org: String,
    },
    /// An admin may manage only its own organisation's certificates.
    #[error(
        "permission denied: an admin of {admin_org} cannot manage certificates of {target_org} (that needs a governance vote)"
    )]
    ForeignOrg {
        /// The admin's organisation.
        admin_org: String,
        /// The certificate's organisation.
        target_org: String,
    },
    /// The certificate is already revoked.
    #[error("certificate {id} is already revoked (at height {height})")]
    AlreadyRevoked {
        /// Its id.
        id: Hash,
        /// When.
        height: u64,
    },
    /// The CA certificate is already one of the organisation's.
    #[error("the CA certificate is already one of {org}'s CAs")]
    CaExists {
        /// The organisation.
        org: String,
    },
    /// No such proposal.
    #[error("no proposal {0}")]
    UnknownProposal(Hash),
    /// The proposal is no longer open (passed or rejected).
    #[error("proposal {id} is closed: it was {state} at height {height}")]
    ProposalClosed {
        /// The proposal.
        id: Hash,
        /// `passed` or `rejected`.
        state: &'static str,
        /// When.
        height: u64,
    },
    /// The proposal's voting period is over.
    #[error("proposal {id} expired at {expires_ms} ms (block time {at_ms} ms)")]
    ProposalExpired {
        /// The proposal.
        id: Hash,
        /// When it expired.
        expires_ms: u64,
        /// The block's time.
        at_ms: u64,
    },
    /// The organisation already voted on the proposal.
    #[error("organisation {org} already voted on proposal {id}")]
    DuplicateVote {
        /// The proposal.
        id: Hash,
        /// The organisation.
        org: String,
    },
    /// The organisation is already a member.
    #[error("organisation {0} is already a member")]
    OrgExists(String),
    /// An organisation that operates validators cannot be removed.
    #[error("organisation {org} operates validators ({validators}); remove them first")]
    OrgHasValidators {
        /// The organisation.
        org: String,
        /// Its validators.
        validators: String,
    },
    /// The consortium would be left without members, or with too many.
    #[error("the consortium must keep 1..={max} member organisations")]
    MemberCount {
        /// The limit.
        max: u32,
    },
    /// The parameter change would leave an unusable threshold.
    #[error("invalid parameter change: {0}")]
    InvalidParam(String),
    /// The organisation already has the most CAs it may hold.
    #[error("organisation {org} already has {max} CA certificates; let one expire first")]
    TooManyCas {
        /// The organisation.
        org: String,
        /// The limit.
        max: usize,
    },
    /// The validator's key or name is already in the validator set.
    #[error("validator {0} is already in the validator set")]
    ValidatorExists(String),
    /// No validator has this key.
    #[error("no validator has key {0}")]
    UnknownValidator(String),
    /// The validator set would be left empty or too large.
    #[error("the validator set must keep 1..={max} validators")]
    ValidatorCount {
        /// The limit.
        max: u32,
    },
    /// A validator change already waits for the next epoch: one change per epoch, so that the
    /// validators that continue always make a quorum of the new set.
    #[error(
        "a validator change already takes effect at epoch {epoch} (height {height}); propose the next one after that"
    )]
    ValidatorChangePending {
        /// The epoch the pending change takes effect in.
        epoch: u64,
        /// Its first height.
        height: u64,
    },
    /// The validator entry is unusable on this chain.
    #[error("invalid validator: {0}")]
    InvalidValidator(String),
}

impl TxRejection {
    /// A stable, machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            TxRejection::NonceReplayed { .. } => "nonce_replayed",
            TxRejection::NonceGap { .. } => "nonce_gap",
            TxRejection::CertRequired => "cert_required",
            TxRejection::NoOrganisations(_) => "no_organisations",
            TxRejection::CertUnknown(_) => "cert_unknown",
            TxRejection::Certificate { code, .. } => code,
            TxRejection::CertRevoked { .. } => "cert_revoked",
            TxRejection::CertKeyMismatch { .. } => "cert_key_mismatch",
            TxRejection::UnknownOrg(_) => "unknown_org",
            TxRejection::PermissionDenied { .. } | TxRejection::ForeignOrg { .. } => {
                "permission_denied"
            }
            TxRejection::AlreadyRevoked { .. } => "cert_already_revoked",
            TxRejection::CaExists { .. } => "ca_exists",
            TxRejection::TooManyCas { .. } => "too_many_cas",
            TxRejection::UnknownProposal(_) => "unknown_proposal",
            TxRejection::ProposalClosed { .. } => "proposal_closed",
            TxRejection::ProposalExpired { .. } => "proposal_expired",
            TxRejection::DuplicateVote { .. } => "duplicate_vote",
            TxRejection::OrgExists(_) => "org_exists",
            TxRejection::OrgHasValidators { .. } => "org_has_validators",
            TxRejection::MemberCount { .. } => "member_count",
            TxRejection::InvalidParam(_) => "invalid_param",
            TxRejection::ValidatorExists(_) => "validator_exists",
            TxRejection::UnknownValidator(_) => "unknown_validator",
            TxRejection::ValidatorCount { .. } => "validator_count",
            TxRejection::ValidatorChangePending { .. } => "validator_change_pending",
            TxRejection::InvalidValidator(_) => "invalid_validator",
        }
    }

    fn pki(e: PkiError) -> TxRejection {
        TxRejection::Certificate {
            code: e.code(),
            message: e.to_string(),
        }
    }
}

/// The permission a payload needs.
pub fn permission_for(payload: &Payload) -> Permission {
    match payload {
        Payload::Evidence { .. } => Permission::WriteEvidence,
        Payload::RevokeCert { .. } | Payload::AddCa { .. } => Permission::ManageCertificates,
        Payload::Propose { .. } | Payload::Vote { .. } => Permission::Govern,
        Payload::AuditNote { .. } => Permission::WriteAuditNote,
    }
}

/// Parses a certificate strictly: its DER must re-encode byte for byte, so one certificate has
/// one id (a re-encoded copy cannot dodge a revocation).
fn parse_cert(der: &CertDer) -> Result<Certificate, TxRejection> {
    let cert = Certificate::from_der(der.as_bytes()).map_err(TxRejection::pki)?;
    if !cert.is_canonical() {
        return Err(TxRejection::Certificate {
            code: "cert_malformed",
            message: "the certificate is not in canonical DER".into(),
        });
    }
    Ok(cert)
}

/// Errors of execution itself (not of a transaction).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ExecError {
    /// A stored state value does not decode: the store is corrupt.
    #[error("corrupt state value for {key:?}: {source}")]
    CorruptState {
        /// The key.
        key: StateKey,
        /// The decode error.
        source: DecodeError,
    },
    /// The state could not be read.
    #[error("state read failed: {0}")]
    Read(String),
    /// A transaction in a block cannot be applied: the block is invalid.
    #[error("transaction {index} ({hash}) is invalid: {reason}")]
    InvalidTransaction {
        /// Index in the block.
        index: usize,
        /// Its hash.
        hash: Hash,
        /// Why.
        reason: Box<TxRejection>,
    },
    /// A block holds more records than a block may.
    #[error("height overflow")]
    HeightOverflow,
    /// A transaction reached `apply` without passing `check` (a bug).
    #[error("internal: applying an unchecked transaction: {0}")]
    Unchecked(String),
}

/// Who a transaction acts as, once checked.
struct Actor {
    /// The certificate id and registry entry (`None` on an open chain).
    cert: Option<(Hash, CertState)>,
    /// Whether executing the transaction registers the certificate.
    registers: bool,
}

/// Applies transactions one by one on an overlay of writes above a view.
struct Overlay<'v, 'g, V: StateView + ?Sized> {
    view: &'v V,
    ctx: BlockContext<'g>,
    nonces: BTreeMap<PublicKey, NonceState>,
    evidence: BTreeMap<Hash, EvidenceState>,
    certs: BTreeMap<Hash, CertState>,
    orgs: BTreeMap<String, OrgState>,
    proposals: BTreeMap<Hash, ProposalState>,
    /// The consortium as changed by this block (written back when set).
    consortium: Option<ConsortiumState>,
    applied: u32,
}

impl<'v, 'g, V: StateView + ?Sized> Overlay<'v, 'g, V> {
    fn new(view: &'v V, ctx: BlockContext<'g>) -> Self {
        Overlay {
            view,
            ctx,
            nonces: BTreeMap::new(),
            evidence: BTreeMap::new(),
            certs: BTreeMap::new(),
            orgs: BTreeMap::new(),
            proposals: BTreeMap::new(),
            consortium: None,
            applied: 0,
        }
    }

    /// The consortium's members and parameters now.
    fn consortium(&self) -> Result<ConsortiumState, ExecError> {
        if let Some(c) = &self.consortium {
            return Ok(c.clone());
        }
        Ok(self
            .read::<ConsortiumState>(StateKey::Consortium)?
            .unwrap_or_else(|| ConsortiumState::from_genesis(self.ctx.genesis)))
    }

    fn proposal(&self, id: &Hash) -> Result<Option<ProposalState>, ExecError> {
        match self.proposals.get(id) {
            Some(p) => Ok(Some(p.clone())),
            None => self.read(StateKey::Proposal(*id)),
        }
    }

    fn cert_state(&self, id: &Hash) -> Result<Option<CertState>, ExecError> {
        match self.certs.get(id) {
            Some(c) => Ok(Some(c.clone())),
            None => self.read(StateKey::Cert(*id)),
        }
    }

    /// A member organisation's current CAs: the overlay, the state, or else genesis (`None`
    /// for an organisation that is not, or no longer, a member).
    fn org(&self, name: &str) -> Result<Option<Organisation>, ExecError> {
        if !self.consortium()?.is_member(name) {
            return Ok(None);
        }
        if let Some(o) = self.orgs.get(name) {
            return Ok(Some(o.org.clone()));
        }
        if let Some(o) = self.read::<OrgState>(StateKey::Org(name.to_owned()))? {
            return Ok(Some(o.org));
        }
        Ok(self.ctx.genesis.organisation(name).cloned())
    }

    /// Checks a certificate against its organisation's CAs at the block's time and returns
    /// the registry entry it would get.
    fn check_new_cert(&self, der: &CertDer) -> Result<Result<CertState, TxRejection>, ExecError> {
        let suite = self.ctx.genesis.suite;
        let cert = match parse_cert(der) {
            Ok(c) => c,
            Err(r) => return Ok(Err(r)),
        };
        let Some(org_name) = cert.org() else {
            return Ok(Err(TxRejection::pki(PkiError::Profile(
                "no organisation (O) in the subject".into(),
            ))));
        };
        let Some(org) = self.org(&org_name)? else {
            return Ok(Err(TxRejection::UnknownOrg(org_name)));
        };
        // Several CAs of one organisation share a subject during a rotation: the first whose
        // key verifies wins; otherwise report the refusal of the first CA whose name matched.
        let mut first_err = None;
        for ca_der in &org.ca_certs {
            let ca = match Certificate::from_der(ca_der.as_bytes()) {
                Ok(ca) => ca,
                Err(e) => {
                    first_err.get_or_insert(TxRejection::pki(e));
                    continue;
                }
            };
            match kexin_pki::verify(&cert, &ca, suite, self.ctx.timestamp_ms) {
                Ok(identity) => {
                    let (not_before_ms, not_after_ms) = cert.validity_ms();
                    return Ok(Ok(CertState {
                        org: identity.org,
                        name: identity.name,
                        role: identity.role,
                        public_key: identity.public_key,
                        issuer: ca_der.id(suite),
                        serial: cert.serial_hex(),
                        not_before_ms,
                        not_after_ms,
                        registered_at: self.ctx.height,
                        revoked: None,
                    }));
                }
                Err(e) => {
                    let replace = first_err.is_none()
                        || (!matches!(e, PkiError::WrongCa(_))
                            && matches!(
                                first_err,
                                Some(TxRejection::Certificate {
                                    code: "cert_wrong_ca",
                                    ..
                                })
                            ));
                    if replace {
                        first_err = Some(TxRejection::pki(e));
                    }
                }
            }
        }
        Ok(Err(first_err.unwrap_or(TxRejection::UnknownOrg(org_name))))
    }

    /// Who `tx` acts as: its certificate checked (registered or attached), valid at the
    /// block's time, unrevoked, certifying the signer, and with the payload's permission.
    fn actor(&self, tx: &SealedTx) -> Result<Result<Actor, TxRejection>, ExecError> {
        let t = tx.tx();
        let genesis = self.ctx.genesis;
        if !genesis.is_permissioned() {
            if t.cert.is_some() {
                return Ok(Err(TxRejection::NoOrganisations(
                    "transactions cannot name certificates",
                )));
            }
            if !matches!(t.payload, Payload::Evidence { .. }) {
                return Ok(Err(TxRejection::NoOrganisations(
                    "there are no certificates to manage",
                )));
            }
            return Ok(Ok(Actor {
                cert: None,
                registers: false,
            }));
        }
        let Some(id) = t.cert else {
            return Ok(Err(TxRejection::CertRequired));
        };
        let (state, registers) = match self.cert_state(&id)? {
            Some(state) => (state, false),
            None => match &t.attached_cert {
                None => return Ok(Err(TxRejection::CertUnknown(id))),
                Some(der) => match self.check_new_cert(der)? {
                    Ok(state) => (state, true),
                    Err(r) => return Ok(Err(r)),
                },
            },
        };
        if let Some(revocation) = state.revoked {
            return Ok(Err(TxRejection::CertRevoked { id, revocation }));
        }
        let at = self.ctx.timestamp_ms;
        if at < state.not_before_ms || at > state.not_after_ms {
            let what = if at < state.not_before_ms {
                "not yet valid"
            } else {
                "expired"
            };
            return Ok(Err(TxRejection::pki(PkiError::NotValidAt {
                what,
                at_ms: at,
                not_before_ms: state.not_before_ms,
                not_after_ms: state.not_after_ms,
            })));
        }
        // The issuing CA must still be one of the organisation's.
        match self.org(&state.org)? {
            None => return Ok(Err(TxRejection::UnknownOrg(state.org.clone()))),
            Some(org) => {
                let suite = genesis.suite;
                if !org.ca_certs.iter().any(|c| c.id(suite) == state.issuer) {
                    return Ok(Err(TxRejection::Certificate {
                        code: "cert_wrong_ca",
                        message: format!(
                            "certificate {id} was issued by CA {}, which is no longer one of {}'s CAs",
                            state.issuer, state.org
                        ),
                    }));
                }
            }
        }
        if state.public_key != t.signer {
            return Ok(Err(TxRejection::CertKeyMismatch {
                id,
                signer: t.signer.to_hex(),
                certified: state.public_key.to_hex(),
            }));
        }
        let permission = permission_for(&t.payload);
        if !state.role.may(permission) {
            return Ok(Err(TxRejection::PermissionDenied {
                action: t.payload.kind_name(),
                permission,
                granted: permission
                    .roles()
                    .iter()
                    .map(|r| r.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
                role: state.role,
                name: state.name.clone(),
                org: state.org.clone(),
            }));
        }
        Ok(Ok(Actor {
            cert: Some((id, state)),
            registers,
        }))
    }

    /// Checks the payload itself against the state, for `actor`.
    fn check_payload(
        &self,
        tx: &SealedTx,
        actor: &Actor,
    ) -> Result<Result<(), TxRejection>, ExecError> {
        let suite = self.ctx.genesis.suite;
        let admin_org = || {
            actor
                .cert
                .as_ref()
                .map(|(_, s)| s.org.clone())
                .unwrap_or_default()
        };
        match &tx.tx().payload {
            // An audit note changes no state beyond the signer's nonce: the role check is the
            // rule, and the note stays in the transaction log.
            Payload::Evidence { .. } | Payload::AuditNote { .. } => Ok(Ok(())),
            Payload::RevokeCert { cert, .. } => {
                let target = match self.revocation_target(cert)? {
                    Ok((_, t)) => t,
                    Err(r) => return Ok(Err(r)),
                };
                if target.org != admin_org() {
                    return Ok(Err(TxRejection::ForeignOrg {
                        admin_org: admin_org(),
                        target_org: target.org,
                    }));
                }
                Ok(Ok(()))
            }
            Payload::AddCa { cert } => {
                let org_name = admin_org();
                let new = match parse_cert(cert) {
                    Ok(c) => c,
                    Err(r) => return Ok(Err(r)),
                };
                if let Err(e) = kexin_pki::check_ca(&new, suite, self.ctx.timestamp_ms) {
                    return Ok(Err(TxRejection::pki(e)));
                }
                if new.org().as_deref() != Some(org_name.as_str()) {
                    return Ok(Err(TxRejection::ForeignOrg {
                        admin_org: org_name,
                        target_org: new.org().unwrap_or_default(),
                    }));
                }
                let Some(org) = self.org(&org_name)? else {
                    return Ok(Err(TxRejection::UnknownOrg(org_name)));
                };
                if org.ca_certs.contains(cert) {
                    return Ok(Err(TxRejection::CaExists { org: org_name }));
                }
                if org.ca_certs.len() >= kexin_types::limits::MAX_ORG_CAS {
                    return Ok(Err(TxRejection::TooManyCas {
                        org: org_name,
                        max: kexin_types::limits::MAX_ORG_CAS,
                    }));
                }
                Ok(Ok(()))
            }
            Payload::Propose { action } => self.check_action(action),
            Payload::Vote { proposal, approve } => {
                let Some(p) = self.proposal(proposal)? else {
                    return Ok(Err(TxRejection::UnknownProposal(*proposal)));
                };
                match p.status {
                    ProposalStatus::Open => {}
                    ProposalStatus::Passed { height } | ProposalStatus::Rejected { height } => {
                        return Ok(Err(TxRejection::ProposalClosed {
                            id: *proposal,
                            state: p.state_name(0),
                            height,
                        }));
                    }
                }
                if self.ctx.timestamp_ms >= p.expires_ms {
                    return Ok(Err(TxRejection::ProposalExpired {
                        id: *proposal,
                        expires_ms: p.expires_ms,
                        at_ms: self.ctx.timestamp_ms,
                    }));
                }
                let org = admin_org();
                if p.votes.iter().any(|v| v.org == org) {
                    return Ok(Err(TxRejection::DuplicateVote { id: *proposal, org }));
                }
                // A vote that passes the proposal applies its action: it must still be valid.
                let consortium = self.consortium()?;
                let yes = p
                    .votes
                    .iter()
                    .filter(|v| v.approve && consortium.is_member(&v.org))
                    .count();
                if *approve && yes + 1 >= consortium.votes_needed() {
                    return self.check_action(&p.action);
                }
                Ok(Ok(()))
            }
        }
    }

    /// Whether a governance action can be applied to the state now.
    fn check_action(&self, action: &GovAction) -> Result<Result<(), TxRejection>, ExecError> {
        let genesis = self.ctx.genesis;
        let suite = genesis.suite;
        let consortium = self.consortium()?;
        match action {
            GovAction::AddOrg { org } => {
                if consortium.is_member(&org.name) {
                    return Ok(Err(TxRejection::OrgExists(org.name.clone())));
                }
                if consortium.members.len() >= kexin_types::limits::MAX_ORGS as usize {
                    return Ok(Err(TxRejection::MemberCount {
                        max: kexin_types::limits::MAX_ORGS,
                    }));
                }
                for der in &org.ca_certs {
                    let ca = match parse_cert(der) {
                        Ok(c) => c,
                        Err(r) => return Ok(Err(r)),
                    };
                    if let Err(e) = kexin_pki::check_ca(&ca, suite, self.ctx.timestamp_ms) {
                        return Ok(Err(TxRejection::pki(e)));
                    }
                    if ca.org().as_deref() != Some(org.name.as_str()) {
                        return Ok(Err(TxRejection::pki(PkiError::Profile(format!(
                            "the CA names organisation {:?}, not {}",
                            ca.org().unwrap_or_default(),
                            org.name
                        )))));
                    }
                }
                Ok(Ok(()))
            }
            GovAction::RemoveOrg { name } => {
                if !consortium.is_member(name) {
                    return Ok(Err(TxRejection::UnknownOrg(name.clone())));
                }
                let validators: Vec<&str> = consortium
                    .validators
                    .iter()
                    .filter(|v| &v.org == name)
                    .map(|v| v.name.as_str())
                    .collect();
                if !validators.is_empty() {
                    return Ok(Err(TxRejection::OrgHasValidators {
                        org: name.clone(),
                        validators: validators.join(", "),
                    }));
                }
                if consortium.members.len() <= 1 {
                    return Ok(Err(TxRejection::MemberCount {
                        max: kexin_types::limits::MAX_ORGS,
                    }));
                }
                Ok(Ok(()))
            }
            GovAction::RevokeCert { cert, .. } => Ok(self.revocation_target(cert)?.map(|_| ())),
            GovAction::SetParam { name, value } => {
                let mut next = consortium.clone();
                next.set_param(name, *value);
                let num = next.param("gov.threshold_num");
                let den = next.param("gov.threshold_den");
                if num >= den || num * 2 < den {
                    return Ok(Err(TxRejection::InvalidParam(format!(
                        "the threshold {num}/{den} must be at least 1/2 and below 1"
                    ))));
                }
                Ok(Ok(()))
            }
            GovAction::AddValidator { validator } => {
                // Validators sign votes with the suite's own scheme; P-256 is for user
                // certificates only.
                let scheme = validator.public_key.scheme();
                if scheme != kexin_crypto::KeyScheme::native(suite) {
                    return Ok(Err(TxRejection::InvalidValidator(format!(
                        "{scheme} key on a {suite} chain (validators use {})",
                        kexin_crypto::KeyScheme::native(suite)
                    ))));
                }
                if !consortium.is_member(&validator.org) {
                    return Ok(Err(TxRejection::UnknownOrg(validator.org.clone())));
                }
                if let Some(v) = consortium
                    .validators
                    .iter()
                    .find(|v| v.public_key == validator.public_key || v.name == validator.name)
                {
                    return Ok(Err(TxRejection::ValidatorExists(format!(
                        "{} ({})",
                        v.name, v.public_key
                    ))));
                }
                if consortium.validators.len() >= kexin_types::limits::MAX_VALIDATORS as usize {
                    return Ok(Err(TxRejection::ValidatorCount {
                        max: kexin_types::limits::MAX_VALIDATORS,
                    }));
                }
                self.no_pending_validator_change(&consortium)
            }
            GovAction::RemoveValidator { public_key } => {
                if !consortium
                    .validators
                    .iter()
                    .any(|v| &v.public_key == public_key)
                {
                    return Ok(Err(TxRejection::UnknownValidator(public_key.to_string())));
                }
                if consortium.validators.len() <= 1 {
                    return Ok(Err(TxRejection::ValidatorCount {
                        max: kexin_types::limits::MAX_VALIDATORS,
                    }));
                }
                self.no_pending_validator_change(&consortium)
            }
        }
    }

    /// The validators of consensus epoch `epoch` (genesis's for epoch 0).
    fn epoch_validators(&self, epoch: u64) -> Result<Vec<Validator>, ExecError> {
        epoch_validators(self.view, self.ctx.genesis, epoch)?
            .ok_or_else(|| ExecError::Read(format!("no validator set is stored for epoch {epoch}")))
    }

    /// Refuses a validator change while another one waits for the next epoch.
    fn no_pending_validator_change(
        &self,
        consortium: &ConsortiumState,
    ) -> Result<Result<(), TxRejection>, ExecError> {
        let genesis = self.ctx.genesis;
        let epoch = genesis.epoch_of(self.ctx.height);
        let current = self.epoch_validators(epoch)?;
        if kexin_types::consensus_order(&current)
            != kexin_types::consensus_order(&consortium.validators)
        {
            return Ok(Err(TxRejection::ValidatorChangePending {
                epoch: epoch + 1,
                height: genesis.epoch_last(epoch) + 1,
            }));
        }
        Ok(Ok(()))
    }

    /// At the last block of an epoch: the next epoch's validators, as governance left them.
    fn epoch_boundary(&self) -> Result<Option<EpochSet>, ExecError> {
        let genesis = self.ctx.genesis;
        let epoch = genesis.epoch_of(self.ctx.height);
        if self.ctx.height != genesis.epoch_last(epoch) {
            return Ok(None);
        }
        Ok(Some(EpochSet {
            epoch: epoch + 1,
            validators: self.consortium()?.validators,
        }))
    }

    /// Counts the votes of proposal `id` and, once decided, closes it (applying its action
    /// when it passed).
    fn settle(&mut self, id: Hash, mut p: ProposalState) -> Result<(), ExecError> {
        let consortium = self.consortium()?;
        let needed = consortium.votes_needed();
        // Only the votes of organisations that are members now count.
        let (yes, no) = p
            .votes
            .iter()
            .filter(|v| consortium.is_member(&v.org))
            .fold(
                (0, 0),
                |(y, n), v| if v.approve { (y + 1, n) } else { (y, n + 1) },
            );
        let members = consortium.members.len();
        if yes >= needed {
            p.status = ProposalStatus::Passed {
                height: self.ctx.height,
            };
            self.apply_action(&p.action)?;
        } else if no > members.saturating_sub(needed) {
            p.status = ProposalStatus::Rejected {
                height: self.ctx.height,
            };
        }
        self.proposals.insert(id, p);
        Ok(())
    }

    fn apply_action(&mut self, action: &GovAction) -> Result<(), ExecError> {
        let height = self.ctx.height;
        let mut consortium = self.consortium()?;
        match action {
            GovAction::AddOrg { org } => {
                if let Err(i) = consortium
                    .members
                    .binary_search_by(|m| m.as_str().cmp(&org.name))
                {
                    consortium.members.insert(i, org.name.clone());
                }
                self.orgs.insert(
                    org.name.clone(),
                    OrgState {
                        org: org.clone(),
                        updated_at: height,
                    },
                );
            }
            GovAction::RemoveOrg { name } => consortium.members.retain(|m| m != name),
            GovAction::RevokeCert { cert, reason } => {
                // Membership and parameters are unchanged.
                return self.revoke(cert, *reason);
            }
            GovAction::SetParam { name, value } => consortium.set_param(name, *value),
            GovAction::AddValidator { validator } => consortium.validators.push(validator.clone()),
            GovAction::RemoveValidator { public_key } => consortium
                .validators
                .retain(|v| &v.public_key != public_key),
        }
        consortium.updated_at = height;
        self.consortium = Some(consortium);
        Ok(())
    }

    /// The certificate a revocation targets, with its registry entry (registered now if the
    /// chain never saw it: it must chain to a member's CA, at any time of its validity).
    /// Refused if already revoked.
    fn revocation_target(
        &self,
        cert: &CertDer,
    ) -> Result<Result<(Hash, CertState), TxRejection>, ExecError> {
        let id = cert.id(self.ctx.genesis.suite);
        let target = match self.cert_state(&id)? {
            Some(s) => s,
            None => match self.check_new_cert_ignoring_time(cert)? {
                Ok(s) => s,
                Err(r) => return Ok(Err(r)),
            },
        };
        if let Some(r) = target.revoked {
            return Ok(Err(TxRejection::AlreadyRevoked {
                id,
                height: r.height,
            }));
        }
        Ok(Ok((id, target)))
    }

    /// Revokes a certificate checked with [`Overlay::revocation_target`], from this block on.
    fn revoke(&mut self, cert: &CertDer, reason: RevocationReason) -> Result<(), ExecError> {
        let (id, mut target) = self
            .revocation_target(cert)?
            .map_err(|r| ExecError::Unchecked(r.to_string()))?;
        target.revoked = Some(Revocation {
            height: self.ctx.height,
            reason,
        });
        self.certs.insert(id, target);
        Ok(())
    }

    /// Like [`Overlay::check_new_cert`] but at the certificate's own start of validity, for
    /// revoking a certificate that has expired or is not valid yet.
    fn check_new_cert_ignoring_time(
        &self,
        der: &CertDer,
    ) -> Result<Result<CertState, TxRejection>, ExecError> {
        let cert = match parse_cert(der) {
            Ok(c) => c,
            Err(r) => return Ok(Err(r)),
        };
        let (not_before, _) = cert.validity_ms();
        let shifted = Overlay {
            view: self.view,
            ctx: BlockContext {
                timestamp_ms: not_before,
                ..self.ctx
            },
            nonces: BTreeMap::new(),
            evidence: BTreeMap::new(),
            certs: self.certs.clone(),
            orgs: self.orgs.clone(),
            proposals: BTreeMap::new(),
            consortium: self.consortium.clone(),
            applied: 0,
        };
        shifted.check_new_cert(der)
    }

    fn read<T: Decode>(&self, key: StateKey) -> Result<Option<T>, ExecError> {
        match self.view.get(&key)? {
            None => Ok(None),
            Some(bytes) => T::decode(&bytes)
                .map(Some)
                .map_err(|source| ExecError::CorruptState { key, source }),
        }
    }

    fn nonce_state(&self, signer: &PublicKey) -> Result<Option<NonceState>, ExecError> {
        match self.nonces.get(signer) {
            Some(s) => Ok(Some(*s)),
            None => self.read(StateKey::Nonce(*signer)),
        }
    }

    /// Checks `tx` against the state without applying it.
    fn check(&self, tx: &SealedTx) -> Result<Result<Actor, TxRejection>, ExecError> {
        let actor = match self.actor(tx)? {
            Ok(a) => a,
            Err(r) => return Ok(Err(r)),
        };
        if let Err(r) = self.check_nonce(tx)? {
            return Ok(Err(r));
        }
        if let Err(r) = self.check_payload(tx, &actor)? {
            return Ok(Err(r));
        }
        Ok(Ok(actor))
    }

    fn check_nonce(&self, tx: &SealedTx) -> Result<Result<(), TxRejection>, ExecError> {
        let t = tx.tx();
        let state = self.nonce_state(&t.signer)?;
        let expected = next_nonce(state.as_ref());
        if t.nonce < expected {
            return Ok(Err(TxRejection::NonceReplayed {
                signer: t.signer.to_hex(),
                nonce: t.nonce,
                last: state.map_or(0, |s| s.last_nonce),
            }));
        }
        if t.nonce > expected {
            return Ok(Err(TxRejection::NonceGap {
                signer: t.signer.to_hex(),
                nonce: t.nonce,
                expected,
            }));
        }
        Ok(Ok(()))
    }

    /// Applies a transaction already checked.
    fn apply(&mut self, tx: &SealedTx, actor: Actor) -> Result<(), ExecError> {
        let t = tx.tx();
        let actor_org = actor.cert.as_ref().map(|(_, s)| s.org.clone());
        let actor_vote = actor.cert.as_ref().map(|(id, s)| (*id, s.org.clone()));
        if let (Some((id, state)), true) = (actor.cert, actor.registers) {
            self.certs.insert(id, state);
        }
        let prev = self.nonce_state(&t.signer)?;
        self.nonces.insert(
            t.signer,
            NonceState {
                last_nonce: t.nonce,
                tx_count: prev.map_or(0, |s| s.tx_count) + 1,
            },
        );
        let tx_index = self.applied;
        match &t.payload {
            Payload::Evidence { records } => {
                for (i, rec) in records.iter().enumerate() {
                    let loc = RecordLocation {
                        height: self.ctx.height,
                        tx_index,
                        record_index: i as u32,
                    };
                    let entry = match self.evidence.get(&rec.digest) {
                        Some(e) => Some(*e),
                        None => self.read::<EvidenceState>(StateKey::Evidence(rec.digest))?,
                    };
                    let next = match entry {
                        None => EvidenceState {
                            count: 1,
                            first: loc,
                            last: loc,
                        },
                        Some(e) => EvidenceState {
                            count: e.count + 1,
                            first: e.first,
                            last: loc,
                        },
                    };
                    self.evidence.insert(rec.digest, next);
                }
            }
            Payload::RevokeCert { cert, reason } => self.revoke(cert, *reason)?,
            Payload::AddCa { cert } => {
                let org_name = actor_org
                    .ok_or_else(|| ExecError::Unchecked("add_ca without a certificate".into()))?;
                let mut org = self
                    .org(&org_name)?
                    .ok_or_else(|| ExecError::Unchecked(format!("unknown org {org_name}")))?;
                org.ca_certs.push(cert.clone());
                self.orgs.insert(
                    org_name,
                    OrgState {
                        org,
                        updated_at: self.ctx.height,
                    },
                );
            }
            Payload::Propose { action } => {
                let (cert, org) = actor_vote
                    .ok_or_else(|| ExecError::Unchecked("propose without a certificate".into()))?;
                let ttl = self.consortium()?.param("gov.proposal_ttl_ms");
                let p = ProposalState {
                    action: action.clone(),
                    proposer_org: org.clone(),
                    created_at: self.ctx.height,
                    expires_ms: self.ctx.timestamp_ms.saturating_add(ttl),
                    votes: vec![Vote {
                        org,
                        approve: true,
                        height: self.ctx.height,
                        cert,
                    }],
                    status: ProposalStatus::Open,
                };
                self.settle(tx.hash(), p)?;
            }
            Payload::Vote { proposal, approve } => {
                let (cert, org) = actor_vote
                    .ok_or_else(|| ExecError::Unchecked("vote without a certificate".into()))?;
                let mut p = self
                    .proposal(proposal)?
                    .ok_or_else(|| ExecError::Unchecked(format!("vote on unknown {proposal}")))?;
                p.votes.push(Vote {
                    org,
                    approve: *approve,
                    height: self.ctx.height,
                    cert,
                });
                self.settle(*proposal, p)?;
            }
            Payload::AuditNote { .. } => {}
        }
        self.applied += 1;
        Ok(())
    }

    /// The block's state writes, with the next epoch's validators at an epoch's last block.
    fn into_writes(self) -> Result<BTreeMap<StateKey, Vec<u8>>, ExecError> {
        let mut out = BTreeMap::new();
        if let Some(set) = self.epoch_boundary()? {
            out.insert(StateKey::Epoch(set.epoch), set.encode());
        }
        for (k, v) in self.nonces {
            out.insert(StateKey::Nonce(k), v.encode());
        }
        for (k, v) in self.evidence {
            out.insert(StateKey::Evidence(k), v.encode());
        }
        for (k, v) in self.certs {
            out.insert(StateKey::Cert(k), v.encode());
        }
        for (k, v) in self.orgs {
            out.insert(StateKey::Org(k), v.encode());
        }
        for (k, v) in self.proposals {
            out.insert(StateKey::Proposal(k), v.encode());
        }
        if let Some(c) = self.consortium {
            out.insert(StateKey::Consortium, c.encode());
        }
        Ok(out)
    }
}

/// Executes a block's transactions strictly: any transaction that cannot be applied makes the
/// block invalid. Returns the state writes (key → new value bytes).
pub fn execute_block<V: StateView + ?Sized>(
    view: &V,
    ctx: &BlockContext<'_>,
    txs: &[SealedTx],
) -> Result<BTreeMap<StateKey, Vec<u8>>, ExecError> {
    let mut overlay = Overlay::new(view, *ctx);
    for (index, tx) in txs.iter().enumerate() {
        match overlay.check(tx)? {
            Ok(actor) => overlay.apply(tx, actor)?,
            Err(reason) => {
                return Err(ExecError::InvalidTransaction {
                    index,
                    hash: tx.hash(),
                    reason: Box::new(reason),
                });
            }
        }
    }
    overlay.into_writes()
}

/// Checks a transaction for admission to the mempool against the committed state, as if it
/// were executed in the next block at `ctx.timestamp_ms`: identity, permission and payload
/// rules, everything but the nonce (which the mempool checks itself).
pub fn check_admission<V: StateView + ?Sized>(
    view: &V,
    ctx: &BlockContext<'_>,
    tx: &SealedTx,
) -> Result<Result<(), TxRejection>, ExecError> {
    let overlay = Overlay::new(view, *ctx);
    let actor = match overlay.actor(tx)? {
        Ok(a) => a,
        Err(r) => return Ok(Err(r)),
    };
    overlay.check_payload(tx, &actor)
}

/// Checks a certificate presented outside a transaction (a signed API read) as of `ctx`, as a
/// transaction attaching it would be checked — canonical DER, naming a member organisation,
/// issued by one of its current CAs with the chain's algorithms, following the profile, valid
/// at `ctx.timestamp_ms` — and that the registry has not revoked it. Returns its registry
/// entry (as registered, or as it would be). Readers and auditors never write, so their
/// certificates are usually not registered; a revocation registers them.
pub fn check_certificate<V: StateView + ?Sized>(
    view: &V,
    ctx: &BlockContext<'_>,
    der: &CertDer,
) -> Result<Result<CertState, TxRejection>, ExecError> {
    if !ctx.genesis.is_permissioned() {
        return Ok(Err(TxRejection::NoOrganisations(
            "there are no organisations whose certificates could be checked",
        )));
    }
    let overlay = Overlay::new(view, *ctx);
    let state = match overlay.check_new_cert(der)? {
        Ok(state) => state,
        Err(r) => return Ok(Err(r)),
    };
    let id = der.id(ctx.genesis.suite);
    match overlay.cert_state(&id)? {
        Some(CertState {
            revoked: Some(revocation),
            ..
        }) => Ok(Err(TxRejection::CertRevoked { id, revocation })),
        Some(registered) => Ok(Ok(registered)),
        None => Ok(Ok(state)),
    }
}

/// The outcome of building a block from candidates.
#[derive(Debug)]
pub struct BuiltBlock {
    /// The transactions included, in block order.
    pub included: Vec<SealedTx>,
    /// Candidates that can never be applied on this chain (replays), with the reason.
    pub rejected: Vec<(Hash, TxRejection)>,
    /// Candidates left out because an earlier nonce of their signer is missing: they stay
    /// pending until it arrives.
    pub deferred: Vec<Hash>,
    /// The state writes of the included transactions.
    pub writes: BTreeMap<StateKey, Vec<u8>>,
}

/// Builds a block from candidate transactions (already signature-checked): applies each in
/// order and leaves out those that cannot be applied (yet). `execute_block` on the result
/// succeeds.
pub fn build_block<V: StateView + ?Sized>(
    view: &V,
    ctx: &BlockContext<'_>,
    candidates: Vec<SealedTx>,
) -> Result<BuiltBlock, ExecError> {
    let mut overlay = Overlay::new(view, *ctx);
    let mut included = Vec::with_capacity(candidates.len());
    let mut rejected = Vec::new();
    let mut deferred = Vec::new();
    for tx in candidates {
        match overlay.check(&tx)? {
            Ok(actor) => {
                overlay.apply(&tx, actor)?;
                included.push(tx);
            }
            Err(TxRejection::NonceGap { .. }) => deferred.push(tx.hash()),
            Err(reason) => rejected.push((tx.hash(), reason)),
        }
    }
    Ok(BuiltBlock {
        included,
        rejected,
        deferred,
        writes: overlay.into_writes()?,
    })
}

/// The validators of consensus epoch `epoch` as `view` knows them: genesis's for epoch 0,
/// the stored [`EpochSet`] for a later one (`None` until the last block of the epoch before
/// it executed).
pub fn epoch_validators<V: StateView + ?Sized>(
    view: &V,
    genesis: &Genesis,
    epoch: u64,
) -> Result<Option<Vec<Validator>>, ExecError> {
    if epoch == 0 {
        return Ok(Some(genesis.validators.clone()));
    }
    match view.get(&StateKey::Epoch(epoch))? {
        None => Ok(None),
        Some(bytes) => EpochSet::decode(&bytes)
            .map(|s| Some(s.validators))
            .map_err(|source| ExecError::CorruptState {
                key: StateKey::Epoch(epoch),
                source,
            }),
    }
}

/// Whether governance changed the validators since the epoch of block `height` started: the
/// change waits for the next epoch, so a quiet chain should still make (empty) blocks up to
/// it.
pub fn validator_change_pending<V: StateView + ?Sized>(
    view: &V,
    genesis: &Genesis,
    height: u64,
) -> Result<bool, ExecError> {
    let Some(bytes) = view.get(&StateKey::Consortium)? else {
        return Ok(false);
    };
    let consortium = ConsortiumState::decode(&bytes).map_err(|source| ExecError::CorruptState {
        key: StateKey::Consortium,
        source,
    })?;
    let current = epoch_validators(view, genesis, genesis.epoch_of(height))?.unwrap_or_default();
    Ok(kexin_types::consensus_order(&current)
        != kexin_types::consensus_order(&consortium.validators))
}

/// The next nonce a signer may use given its committed state value: `last_nonce + 1`, or 1.
pub fn next_nonce(state: Option<&NonceState>) -> u64 {
    state.map_or(1, |s| s.last_nonce.saturating_add(1))
}

#[cfg(test)]
mod tests {
    use super::*;
    use kexin_crypto::{SigningKey, Suite};
    use kexin_types::{EvidenceRecord, Transaction};

    fn rec(d: &[u8]) -> EvidenceRecord {
        EvidenceRecord {
            digest: Suite::Intl.hash(d),
            metadata: kexin_types::RecordMetadata {
                salt: kexin_types::Salt([7; 16]),
                content_type: "text/plain".into(),
                label: String::from_utf8_lossy(d).into_owned(),
                external_ref: None,
            },
        }
    }

    fn tx(key: &SigningKey, nonce: u64, digests: &[&[u8]]) -> SealedTx {
        SealedTx::new(Transaction::sign(
            "test",
            key,
            nonce,
            Payload::Evidence {
                records: digests.iter().map(|d| rec(d)).collect(),
            },
        ))
    }

    fn genesis() -> kexin_types::Genesis {
        let v = SigningKey::from_seed(Suite::Intl, &[99; 32]).unwrap();
        kexin_types::Genesis {
            version: kexin_types::FORMAT_VERSION,
            epoch_length: kexin_types::limits::DEFAULT_EPOCH_LENGTH,
            chain_id: "test".into(),
            suite: Suite::Intl,
            timestamp_ms: 0,
            organisations: vec![],
            validators: vec![kexin_types::Validator {
                name: "v".into(),
                org: String::new(),
                public_key: v.public_key(),
                address: String::new(),
            }],
        }
    }

    fn execute_block(
        state: &MemoryState,
        height: u64,
        txs: &[SealedTx],
    ) -> Result<BTreeMap<StateKey, Vec<u8>>, ExecError> {
        let g = genesis();
        let ctx = BlockContext {
            genesis: &g,
            height,
            timestamp_ms: height,
        };
        super::execute_block(state, &ctx, txs)
    }

    fn build_block(
        state: &MemoryState,
        height: u64,
        candidates: Vec<SealedTx>,
    ) -> Result<BuiltBlock, ExecError> {
        let g = genesis();
        let ctx = BlockContext {
            genesis: &g,
            height,
            timestamp_ms: height,
        };
        super::build_block(state, &ctx, candidates)
    }

    fn commit(state: &mut MemoryState, writes: BTreeMap<StateKey, Vec<u8>>) {
        state.0.extend(writes);
    }

    fn refusal(err: ExecError) -> (usize, &'static str) {
        match err {
            ExecError::InvalidTransaction { index, reason, .. } => (index, reason.code()),
            e => panic!("unexpected {e}"),
        }
    }

    #[test]
    fn nonces_follow_one_another_across_blocks_and_within_a_block() {
        let key = SigningKey::from_seed(Suite::Intl, &[1; 32]).unwrap();
        let mut state = MemoryState::default();
        // A signer's first transaction uses nonce 1.
        let err = execute_block(&state, 1, &[tx(&key, 2, &[b"a"])]).unwrap_err();
        assert_eq!(refusal(err), (0, "nonce_gap"));
        let w = execute_block(&state, 1, &[tx(&key, 1, &[b"a"]), tx(&key, 2, &[b"b"])]).unwrap();
        commit(&mut state, w);
        let ns = NonceState::decode(&state.0[&StateKey::Nonce(key.public_key())]).unwrap();
        assert_eq!(
            ns,
            NonceState {
                last_nonce: 2,
                tx_count: 2
            }
        );
        assert_eq!(next_nonce(Some(&ns)), 3);

        // Replays of a committed nonce are refused, and so is any gap.
        for (n, code) in [
            (1, "nonce_replayed"),
            (2, "nonce_replayed"),
            (4, "nonce_gap"),
        ] {
            let err = execute_block(&state, 2, &[tx(&key, n, &[b"c"])]).unwrap_err();
            assert_eq!(refusal(err), (0, code), "nonce {n}");
        }
        // Within one block, the second use of a nonce is refused, and so is a skipped one.
        let err =
            execute_block(&state, 2, &[tx(&key, 3, &[b"c"]), tx(&key, 3, &[b"d"])]).unwrap_err();
        assert_eq!(refusal(err), (1, "nonce_replayed"));
        let err =
            execute_block(&state, 2, &[tx(&key, 3, &[b"c"]), tx(&key, 5, &[b"d"])]).unwrap_err();
        assert_eq!(refusal(err), (1, "nonce_gap"));
        // Out of order within a block is a gap too: the block order is the execution order.
        let err =
            execute_block(&state, 2, &[tx(&key, 4, &[b"c"]), tx(&key, 3, &[b"d"])]).unwrap_err();
        assert_eq!(refusal(err), (0, "nonce_gap"));
    }

    #[test]
    fn build_block_leaves_out_replays_defers_gaps_and_result_executes() {
        let key = SigningKey::from_seed(Suite::Intl, &[2; 32]).unwrap();
        let other = SigningKey::from_seed(Suite::Intl, &[9; 32]).unwrap();
        let state = MemoryState::default();
        let gapped = tx(&key, 4, &[b"d"]);
        let replay = tx(&key, 1, &[b"b2"]);
        let built = build_block(
            &state,
            1,
            vec![
                tx(&key, 1, &[b"b"]),
                tx(&key, 2, &[b"a"]),
                gapped.clone(),
                replay.clone(),
                tx(&other, 1, &[b"c"]),
            ],
        )
        .unwrap();
        assert_eq!(built.included.len(), 3);
        assert_eq!(built.rejected.len(), 1);
        assert_eq!(built.rejected[0].0, replay.hash());
        assert_eq!(built.rejected[0].1.code(), "nonce_replayed");
        assert_eq!(built.deferred, vec![gapped.hash()]);
        let again = execute_block(&state, 1, &built.included).unwrap();
        assert_eq!(again, built.writes);
    }

    #[test]
    fn evidence_entries_count_first_and_last_locations() {
        let a = SigningKey::from_seed(Suite::Intl, &[3; 32]).unwrap();
        let b = SigningKey::from_seed(Suite::Intl, &[4; 32]).unwrap();
        let mut state = MemoryState::default();
        let w = execute_block(&state, 7, &[tx(&a, 1, &[b"x", b"y", b"x"])]).unwrap();
        commit(&mut state, w);
        let w = execute_block(&state, 8, &[tx(&b, 1, &[b"z"]), tx(&b, 2, &[b"x"])]).unwrap();
        commit(&mut state, w);
        let e =
            EvidenceState::decode(&state.0[&StateKey::Evidence(Suite::Intl.hash(b"x"))]).unwrap();
        assert_eq!(e.count, 3);
        assert_eq!(
            e.first,
            RecordLocation {
                height: 7,
                tx_index: 0,
                record_index: 0
            }
        );
        assert_eq!(
            e.last,
            RecordLocation {
                height: 8,
                tx_index: 1,
                record_index: 0
            }
        );
    }

    #[test]
    fn execution_is_deterministic_regardless_of_map_state() {
        let keys: Vec<SigningKey> = (0..5u8)
            .map(|i| SigningKey::from_seed(Suite::Intl, &[10 + i; 32]).unwrap())
            .collect();
        let txs: Vec<SealedTx> = keys
            .iter()
            .enumerate()
            .map(|(i, k)| tx(k, 1, &[&[i as u8], b"shared"]))
            .collect();
        let w1 = execute_block(&MemoryState::default(), 1, &txs).unwrap();
        let w2 = execute_block(&MemoryState::default(), 1, &txs).unwrap();
        assert_eq!(w1, w2);
        // Different order of the same transactions gives different locations, so different writes.
        let mut rev = txs.clone();
        rev.reverse();
        assert_ne!(execute_block(&MemoryState::default(), 1, &rev).unwrap(), w1);
    }

    #[test]
    fn corrupt_state_is_an_error_not_a_panic() {
        let key = SigningKey::from_seed(Suite::Intl, &[5; 32]).unwrap();
        let mut state = MemoryState::default();
        state
            .0
            .insert(StateKey::Nonce(key.public_key()), vec![1, 2, 3]);
        let err = execute_block(&state, 1, &[tx(&key, 1, &[b"a"])]).unwrap_err();
        assert!(matches!(err, ExecError::CorruptState { .. }), "{err}");
    }
}
