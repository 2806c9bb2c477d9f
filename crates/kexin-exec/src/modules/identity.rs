//! The identity module: who a transaction acts as, and the certificate registry.
//!
//! On a chain with organisations, the signer must act under a certificate: registered on
//! chain, or attached (its first use registers it after checking it chains to one of its
//! organisation's CAs). The certificate must be valid at the block's timestamp, not revoked,
//! certify the signing key, and carry a role granted the payload's permission
//! ([`Permission`], table in `docs/pki.md`). Payload kinds 2 (revoke a certificate) and 3 (add
//! a CA). Namespaces 3 (organisations' CA sets once changed) and 4 (the certificate
//! registry).

use kexin_crypto::{Hash, Suite};
use kexin_pki::{Certificate, PkiError};
use kexin_types::state::{StateKey, namespace};
use kexin_types::{
    CertDer, CertState, ConsortiumState, Event, OrgState, Organisation, Payload, Permission,
    Revocation, RevocationReason, SealedTx,
};

use super::{CERT_CHECK_COST, Checked, Module, TxCx};
use crate::journal::Journal;
use crate::{BlockContext, ExecError, TxRejection};

/// The identity module.
pub struct Identity;

impl Module for Identity {
    fn name(&self) -> &'static str {
        "identity"
    }

    fn namespaces(&self) -> &'static [u8] {
        &[namespace::ORG, namespace::CERT, namespace::ADDRESS_CERT]
    }

    fn payload_kinds(&self) -> &'static [u8] {
        &[2, 3]
    }

    fn check(&self, cx: &TxCx<'_>, st: &Journal<'_>) -> Checked {
        let block = &cx.block;
        let admin_org = cx.org();
        match cx.payload() {
            Payload::RevokeCert { cert, .. } => {
                let target = match revocation_target(block, st, cert)? {
                    Ok((_, t)) => t,
                    Err(r) => return Ok(Err(r)),
                };
                if target.org != admin_org {
                    return Ok(Err(TxRejection::ForeignOrg {
                        admin_org,
                        target_org: target.org,
                    }));
                }
                Ok(Ok(()))
            }
            Payload::AddCa { cert } => {
                let suite = block.genesis.suite;
                let new = match parse_cert(cert) {
                    Ok(c) => c,
                    Err(r) => return Ok(Err(r)),
                };
                if let Err(e) = kexin_pki::check_ca(&new, suite, block.timestamp_ms) {
                    return Ok(Err(TxRejection::pki(e)));
                }
                if new.org().as_deref() != Some(admin_org.as_str()) {
                    return Ok(Err(TxRejection::ForeignOrg {
                        admin_org,
                        target_org: new.org().unwrap_or_default(),
                    }));
                }
                let Some(org) = org(block, st, &admin_org)? else {
                    return Ok(Err(TxRejection::UnknownOrg(admin_org)));
                };
                if org.ca_certs.contains(cert) {
                    return Ok(Err(TxRejection::CaExists { org: admin_org }));
                }
                if org.ca_certs.len() >= kexin_types::limits::MAX_ORG_CAS {
                    return Ok(Err(TxRejection::TooManyCas {
                        org: admin_org,
                        max: kexin_types::limits::MAX_ORG_CAS,
                    }));
                }
                Ok(Ok(()))
            }
            _ => Ok(Ok(())),
        }
    }

    fn apply(&self, cx: &TxCx<'_>, st: &mut Journal<'_>, events: &mut Vec<Event>) -> Checked {
        match cx.payload() {
            Payload::RevokeCert { cert, reason } => revoke(&cx.block, st, cert, *reason, events),
            Payload::AddCa { cert } => {
                let org_name = cx.org();
                let Some(mut org) = org(&cx.block, st, &org_name)? else {
                    return Ok(Err(TxRejection::UnknownOrg(org_name)));
                };
                org.ca_certs.push(cert.clone());
                st.write(
                    StateKey::Org(org_name.clone()),
                    &OrgState {
                        org,
                        updated_at: cx.block.height,
                    },
                );
                events.push(
                    Event::new("identity", "ca_added")
                        .with("org", &org_name)
                        .with("ca", cert.id(cx.block.genesis.suite)),
                );
                Ok(Ok(()))
            }
            _ => Ok(Ok(())),
        }
    }

    fn cost(&self, payload: &Payload) -> u64 {
        match payload {
            Payload::RevokeCert { .. } | Payload::AddCa { .. } => CERT_CHECK_COST,
            _ => 0,
        }
    }

    fn describe(&self, payload: &Payload, suite: Suite) -> String {
        match payload {
            Payload::RevokeCert { cert, reason } => format!(
                "revocation of certificate {} ({})",
                cert.id(suite),
                reason.as_str()
            ),
            Payload::AddCa { cert } => format!("new CA certificate {}", cert.id(suite)),
            other => other.kind_name().into(),
        }
    }
}

/// Who a transaction acts as, once checked.
pub struct Actor {
    /// The certificate id and registry entry (`None` on an open chain).
    pub cert: Option<(Hash, CertState)>,
    /// Whether executing the transaction registers the certificate.
    pub registers: bool,
}

/// The permission a payload needs.
pub fn permission_for(payload: &Payload) -> Permission {
    match payload {
        Payload::Evidence { .. } => Permission::WriteEvidence,
        Payload::RevokeCert { .. } | Payload::AddCa { .. } => Permission::ManageCertificates,
        Payload::Propose { .. } | Payload::Vote { .. } => Permission::Govern,
        Payload::AuditNote { .. } => Permission::WriteAuditNote,
        Payload::ContractDeploy { .. } => Permission::DeployContract,
        Payload::ContractCall { .. } => Permission::CallContract,
    }
}

/// Parses a certificate strictly: its DER must re-encode byte for byte, so one certificate has
/// one id (a re-encoded copy cannot dodge a revocation).
pub(crate) fn parse_cert(der: &CertDer) -> Result<Certificate, TxRejection> {
    let cert = Certificate::from_der(der.as_bytes()).map_err(TxRejection::pki)?;
    if !cert.is_canonical() {
        return Err(TxRejection::Certificate {
            code: "cert_malformed",
            message: "the certificate is not in canonical DER".into(),
        });
    }
    Ok(cert)
}

/// The consortium's members and parameters now.
pub fn consortium(
    block: &BlockContext<'_>,
    st: &Journal<'_>,
) -> Result<ConsortiumState, ExecError> {
    Ok(st
        .read::<ConsortiumState>(StateKey::Consortium)?
        .unwrap_or_else(|| ConsortiumState::from_genesis(block.genesis)))
}

/// A member organisation's current CAs: the state, or else genesis (`None` for an
/// organisation that is not, or no longer, a member).
pub fn org(
    block: &BlockContext<'_>,
    st: &Journal<'_>,
    name: &str,
) -> Result<Option<Organisation>, ExecError> {
    if !consortium(block, st)?.is_member(name) {
        return Ok(None);
    }
    if let Some(o) = st.read::<OrgState>(StateKey::Org(name.to_owned()))? {
        return Ok(Some(o.org));
    }
    Ok(block.genesis.organisation(name).cloned())
}

/// Checks a certificate against its organisation's CAs at the block's time and returns the
/// registry entry it would get.
pub fn check_new_cert(
    block: &BlockContext<'_>,
    st: &Journal<'_>,
    der: &CertDer,
) -> Result<Result<CertState, TxRejection>, ExecError> {
    let suite = block.genesis.suite;
    let cert = match parse_cert(der) {
        Ok(c) => c,
        Err(r) => return Ok(Err(r)),
    };
    let Some(org_name) = cert.org() else {
        return Ok(Err(TxRejection::pki(PkiError::Profile(
            "no organisation (O) in the subject".into(),
        ))));
    };
    let Some(org) = org(block, st, &org_name)? else {
        return Ok(Err(TxRejection::UnknownOrg(org_name)));
    };
    // Several CAs of one organisation share a subject during a rotation: the first whose key
    // verifies wins; otherwise report the refusal of the first CA whose name matched.
    let mut first_err = None;
    for ca_der in &org.ca_certs {
        let ca = match Certificate::from_der(ca_der.as_bytes()) {
            Ok(ca) => ca,
            Err(e) => {
                first_err.get_or_insert(TxRejection::pki(e));
                continue;
            }
        };
        match kexin_pki::verify(&cert, &ca, suite, block.timestamp_ms) {
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
                    registered_at: block.height,
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

/// Who `tx` acts as: its certificate checked (registered or attached), valid at the block's
/// time, unrevoked, certifying the signer, and with the payload's permission.
pub fn authorize(
    block: &BlockContext<'_>,
    st: &Journal<'_>,
    tx: &SealedTx,
) -> Result<Result<Actor, TxRejection>, ExecError> {
    let t = tx.tx();
    let genesis = block.genesis;
    if !genesis.is_permissioned() {
        if t.cert.is_some() {
            return Ok(Err(TxRejection::NoOrganisations(
                "transactions cannot name certificates",
            )));
        }
        // An open chain takes evidence and contracts (any key may deploy and call).
        if !matches!(
            t.payload,
            Payload::Evidence { .. }
                | Payload::ContractDeploy { .. }
                | Payload::ContractCall { .. }
        ) {
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
    let (state, registers) = match st.read::<CertState>(StateKey::Cert(id))? {
        Some(state) => (state, false),
        None => match &t.attached_cert {
            None => return Ok(Err(TxRejection::CertUnknown(id))),
            Some(der) => match check_new_cert(block, st, der)? {
                Ok(state) => (state, true),
                Err(r) => return Ok(Err(r)),
            },
        },
    };
    if let Some(revocation) = state.revoked {
        return Ok(Err(TxRejection::CertRevoked { id, revocation }));
    }
    let at = block.timestamp_ms;
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
    match org(block, st, &state.org)? {
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

/// Registers the certificate a transaction attached on its first use.
pub fn register(actor: &Actor, st: &mut Journal<'_>, events: &mut Vec<Event>) {
    if let (Some((id, state)), true) = (&actor.cert, actor.registers) {
        st.write(StateKey::Cert(*id), state);
        events.push(
            Event::new("identity", "certificate_registered")
                .with("cert", id)
                .with("org", &state.org)
                .with("name", &state.name)
                .with("role", state.role),
        );
    }
}

/// Protocol version 5: points the signer's contract address (formats.md §5.10) at the
/// certificate `tx` acts under, for the identity precompile, unless it already points there.
/// Namespace 12 (formats.md §5.11).
pub fn index_address(
    suite: Suite,
    tx: &SealedTx,
    actor: &Actor,
    st: &mut Journal<'_>,
) -> Result<(), ExecError> {
    let Some((id, _)) = &actor.cert else {
        return Ok(());
    };
    let address = kexin_evm::address_of(suite, &tx.tx().signer);
    let key = address_cert_key(&address.0.0);
    if st.get(&key)?.as_deref() != Some(id.as_bytes().as_slice()) {
        st.put(key, id.as_bytes().to_vec());
    }
    Ok(())
}

/// The key of a signer address's certificate pointer (namespace 12).
pub fn address_cert_key(address: &[u8; 20]) -> kexin_types::state::Key {
    kexin_types::state::Key::new(namespace::ADDRESS_CERT, address.to_vec())
}

/// The certificate signer address `address` last acted under, with its registry entry.
pub fn cert_of_address(
    st: &Journal<'_>,
    address: &[u8; 20],
) -> Result<Option<(Hash, CertState)>, ExecError> {
    let key = address_cert_key(address);
    let Some(bytes) = st.get(&key)? else {
        return Ok(None);
    };
    let id = <[u8; 32]>::try_from(bytes.as_slice())
        .map(Hash)
        .map_err(|_| ExecError::CorruptState {
            key,
            source: kexin_types::DecodeError::Invalid {
                field: "certificate id",
                reason: format!("{} bytes, an id is 32", bytes.len()),
            },
        })?;
    Ok(st
        .read::<CertState>(StateKey::Cert(id))?
        .map(|state| (id, state)))
}

/// The certificate a revocation targets, with its registry entry (registered now if the chain
/// never saw it: it must chain to a member's CA, at any time of its validity). Refused if
/// already revoked.
pub fn revocation_target(
    block: &BlockContext<'_>,
    st: &Journal<'_>,
    cert: &CertDer,
) -> Result<Result<(Hash, CertState), TxRejection>, ExecError> {
    let id = cert.id(block.genesis.suite);
    let target = match st.read::<CertState>(StateKey::Cert(id))? {
        Some(s) => s,
        None => {
            // Checked at the certificate's own start of validity, so that one that has
            // expired or is not valid yet can be revoked too.
            let parsed = match parse_cert(cert) {
                Ok(c) => c,
                Err(r) => return Ok(Err(r)),
            };
            let shifted = BlockContext {
                timestamp_ms: parsed.validity_ms().0,
                ..*block
            };
            match check_new_cert(&shifted, st, cert)? {
                Ok(s) => s,
                Err(r) => return Ok(Err(r)),
            }
        }
    };
    if let Some(r) = target.revoked {
        return Ok(Err(TxRejection::AlreadyRevoked {
            id,
            height: r.height,
        }));
    }
    Ok(Ok((id, target)))
}

/// Revokes a certificate from this block on.
pub fn revoke(
    block: &BlockContext<'_>,
    st: &mut Journal<'_>,
    cert: &CertDer,
    reason: RevocationReason,
    events: &mut Vec<Event>,
) -> Checked {
    let (id, mut target) = match revocation_target(block, st, cert)? {
        Ok(t) => t,
        Err(r) => return Ok(Err(r)),
    };
    target.revoked = Some(Revocation {
        height: block.height,
        reason,
    });
    events.push(
        Event::new("identity", "certificate_revoked")
            .with("cert", id)
            .with("org", &target.org)
            .with("name", &target.name)
            .with("reason", reason.as_str()),
    );
    st.write(StateKey::Cert(id), &target);
    Ok(Ok(()))
}
