//! Why a transaction is refused or fails ([`TxRejection`], with stable codes) and why a
//! block cannot execute at all ([`ExecError`]).

use kexin_crypto::Hash;
use kexin_pki::PkiError;
use kexin_types::state::Key;
use kexin_types::{DecodeError, Permission, Revocation, Role};

/// Why a transaction cannot be applied to the current state.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TxRejection {
    /// A contract transaction failed or cannot run: `contract_reverted`, `out_of_gas`,
    /// `contract_halted`, `contract_rejected`, `no_contract`, `contract_frozen`,
    /// `gas_limit_too_high`, `initcode_too_large`, `deploy_not_permitted`.
    #[error("{message}")]
    Contract {
        /// The stable code.
        code: &'static str,
        /// What happened.
        message: String,
    },
    /// The block's contract gas is spent: the transaction waits for a later block.
    #[error("the block's contract gas is spent: the transaction asks for {asked}, {left} is left")]
    BlockGasFull {
        /// The gas limit the transaction asks for.
        asked: u64,
        /// What the block has left.
        left: u64,
    },
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
    /// The transaction's format version is not the one the chain takes now.
    #[error(
        "transaction format version {tx} on a chain at protocol version {chain}: sign it as version {chain} (GET /v1/chain shows protocol_version)"
    )]
    UnsupportedVersion {
        /// The transaction's version.
        tx: u8,
        /// The chain's protocol version for the next block.
        chain: u8,
    },
    /// The protocol upgrade cannot be scheduled.
    #[error("invalid protocol upgrade: {0}")]
    InvalidUpgrade(String),
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
            TxRejection::InvalidUpgrade(_) => "invalid_upgrade",
            TxRejection::UnsupportedVersion { .. } => "unsupported_version",
            TxRejection::Contract { code, .. } => code,
            TxRejection::BlockGasFull { .. } => "block_gas_full",
        }
    }

    pub(crate) fn pki(e: PkiError) -> TxRejection {
        TxRejection::Certificate {
            code: e.code(),
            message: e.to_string(),
        }
    }
}

/// Errors of execution itself (not of a transaction).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ExecError {
    /// A stored state value does not decode: the store is corrupt.
    #[error("corrupt state value for {key:?}: {source}")]
    CorruptState {
        /// The key.
        key: Key,
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
    /// The chain moved to a protocol version this build does not run: the node must be
    /// upgraded.
    #[error(
        "this chain follows protocol version {version} from here on, but this build of kexin runs versions 3 to {supported}: upgrade the node's binary"
    )]
    UnsupportedProtocol {
        /// The version the chain needs.
        version: u8,
        /// The newest version this build runs.
        supported: u8,
    },
    /// A transaction reached `apply` without passing `check` (a bug).
    #[error("internal: applying an unchecked transaction: {0}")]
    Unchecked(String),
}
