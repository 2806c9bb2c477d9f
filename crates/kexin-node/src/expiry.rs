//! Certificate expiry warnings: which organisation CAs, registered certificates and this
//! node's own certificate expire within the warning window (`pki.expiry_warning_days`,
//! default 30), so operators rotate them before they take anything down.

use std::path::Path;

use kexin_crypto::Hash;
use kexin_ledger::{Ledger, LedgerError};
use kexin_types::api::{CaEntry, ExpiringCert, OrgInfo};
use kexin_types::state::StateKey;
use kexin_types::{CertDer, CertState, ConsortiumState, Decode, Genesis, OrgState};

const DAY_MS: u64 = 86_400_000;

/// Most registered certificates scanned for expiry.
const MAX_SCANNED: usize = 10_000;

fn entry(
    kind: &str,
    org: &str,
    name: &str,
    id: Option<Hash>,
    not_after_ms: u64,
    now_ms: u64,
) -> ExpiringCert {
    let days_left = if not_after_ms >= now_ms {
        ((not_after_ms - now_ms) / DAY_MS) as i64
    } else {
        -(((now_ms - not_after_ms).div_ceil(DAY_MS)) as i64)
    };
    ExpiringCert {
        kind: kind.to_owned(),
        org: org.to_owned(),
        name: name.to_owned(),
        id,
        not_after_ms,
        days_left,
        expired: not_after_ms < now_ms,
    }
}

/// The consortium's members and parameters as they stand (genesis unless governance changed
/// them).
pub fn consortium(ledger: &Ledger, genesis: &Genesis) -> Result<ConsortiumState, LedgerError> {
    Ok(match ledger.state_get(&StateKey::Consortium)? {
        Some(bytes) => ConsortiumState::decode(&bytes)
            .map_err(|e| LedgerError::Corrupt(format!("consortium state: {e}")))?,
        None => ConsortiumState::from_genesis(genesis),
    })
}

/// The member organisations as they stand, by name, with their current CA sets (genesis,
/// with changes made on chain).
pub fn current_orgs(ledger: &Ledger, genesis: &Genesis) -> Result<Vec<OrgInfo>, LedgerError> {
    let consortium = consortium(ledger, genesis)?;
    let mut out = Vec::with_capacity(consortium.members.len());
    for name in consortium.members.clone() {
        let (org, updated_at) = match ledger.state_get(&StateKey::Org(name.clone()))? {
            Some(bytes) => {
                let s = OrgState::decode(&bytes)
                    .map_err(|e| LedgerError::Corrupt(format!("organisation {name}: {e}")))?;
                (s.org, Some(s.updated_at))
            }
            None => match genesis.organisation(&name) {
                Some(g) => (g.clone(), None),
                None => {
                    return Err(LedgerError::Corrupt(format!(
                        "member organisation {name} has neither a state entry nor a genesis one"
                    )));
                }
            },
        };
        out.push(OrgInfo {
            ca_certs: org
                .ca_certs
                .iter()
                .map(|c| CaEntry {
                    id: c.id(genesis.suite),
                    cert: c.clone(),
                })
                .collect(),
            validators: consortium
                .validators
                .iter()
                .filter(|v| v.org == org.name)
                .map(|v| v.name.clone())
                .collect(),
            name: org.name,
            updated_at,
        });
    }
    Ok(out)
}

/// Everything that expires before `now_ms + window_ms` (or has expired) and still matters:
/// the organisations' current CAs, unrevoked registered certificates, and the certificate at
/// `own_cert` if there is one. Sorted by expiry, soonest first.
pub fn expiring(
    ledger: &Ledger,
    genesis: &Genesis,
    own_cert: Option<&Path>,
    now_ms: u64,
    window_ms: u64,
) -> Result<Vec<ExpiringCert>, LedgerError> {
    let suite = genesis.suite;
    let horizon = now_ms.saturating_add(window_ms);
    let mut out = Vec::new();
    for org in current_orgs(ledger, genesis)? {
        for CaEntry { cert: der, id } in &org.ca_certs {
            // A CA that does not parse is refused at genesis load; skip it here.
            let Ok(ca) = kexin_pki::Certificate::from_der(der.as_bytes()) else {
                continue;
            };
            let (_, not_after) = ca.validity_ms();
            if not_after <= horizon {
                let name = ca
                    .common_name()
                    .unwrap_or_else(|| format!("{} CA", org.name));
                out.push(entry("ca", &org.name, &name, Some(*id), not_after, now_ms));
            }
        }
    }
    for key in ledger.registry_keys(4, MAX_SCANNED)? {
        let StateKey::Cert(id) = key else { continue };
        let Some(bytes) = ledger.state_get(&key)? else {
            continue;
        };
        let state = CertState::decode(&bytes)
            .map_err(|e| LedgerError::Corrupt(format!("certificate {id}: {e}")))?;
        if state.revoked.is_none() && state.not_after_ms <= horizon {
            out.push(entry(
                state.role.as_str(),
                &state.org,
                &state.name,
                Some(id),
                state.not_after_ms,
                now_ms,
            ));
        }
    }
    if let Some(path) = own_cert
        && let Ok(pem) = std::fs::read_to_string(path)
        && let Ok(cert) = kexin_pki::Certificate::from_pem(&pem)
    {
        let (_, not_after) = cert.validity_ms();
        let id = CertDer(cert.der().to_vec()).id(suite);
        if not_after <= horizon && !out.iter().any(|e| e.id == Some(id)) {
            out.push(entry(
                "this node",
                &cert.org().unwrap_or_default(),
                &cert.common_name().unwrap_or_default(),
                Some(id),
                not_after,
                now_ms,
            ));
        }
    }
    out.sort_by_key(|e| e.not_after_ms);
    Ok(out)
}

/// Logs each entry of [`expiring`] as a warning.
pub fn log_warnings(list: &[ExpiringCert]) {
    for e in list {
        let id = e.id.map(|h| h.to_hex()).unwrap_or_default();
        if e.expired {
            tracing::warn!(kind = %e.kind, org = %e.org, name = %e.name, id = %id, not_after_ms = e.not_after_ms,
                "certificate has EXPIRED: rotate it now");
        } else {
            tracing::warn!(kind = %e.kind, org = %e.org, name = %e.name, id = %id, not_after_ms = e.not_after_ms, days_left = e.days_left,
                "certificate expires in {} days: rotate it", e.days_left);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::sync::Arc;

    use kexin_crypto::{SigningKey, Suite};
    use kexin_ledger::MemStore;
    use kexin_pki::Terms;
    use kexin_types::{
        CommitCertificate, Encode, Organisation, Revocation, RevocationReason, Role, Validator,
    };

    use super::*;

    const NOW: u64 = 1_000 * DAY_MS;

    fn cert_state(name: &str, not_after_ms: u64, revoked: bool) -> CertState {
        CertState {
            org: "org1".into(),
            name: name.into(),
            role: Role::Writer,
            public_key: SigningKey::generate(Suite::Intl).public_key(),
            issuer: Hash::ZERO,
            serial: "01".into(),
            not_before_ms: 0,
            not_after_ms,
            registered_at: 1,
            revoked: revoked.then_some(Revocation {
                height: 1,
                reason: RevocationReason::Superseded,
            }),
        }
    }

    #[test]
    fn lists_what_expires_within_the_window_soonest_first() {
        let suite = Suite::Intl;
        let ca_key = SigningKey::generate(suite);
        let terms = |to| Terms {
            serial: 7,
            not_before_ms: 0,
            not_after_ms: to,
        };
        let ca = kexin_pki::self_signed_ca("org1", &ca_key, &terms(NOW + 20 * DAY_MS)).unwrap();
        let validator = SigningKey::generate(suite);
        let genesis = Genesis {
            // Version 3: the block below carries state writes alone.
            version: kexin_types::protocol::V3,
            epoch_length: kexin_types::limits::DEFAULT_EPOCH_LENGTH,
            chain_id: "expiry".into(),
            suite,
            timestamp_ms: 0,
            organisations: vec![Organisation {
                name: "org1".into(),
                ca_certs: vec![CertDer(ca.der().to_vec())],
            }],
            validators: vec![Validator {
                name: "node0".into(),
                org: "org1".into(),
                public_key: validator.public_key(),
                address: String::new(),
            }],
        };
        let ledger = Ledger::open(Arc::new(MemStore::new()), genesis.clone()).unwrap();
        let mut writes = BTreeMap::new();
        let soon = Hash([1; 32]);
        let later = Hash([2; 32]);
        let revoked = Hash([3; 32]);
        let gone = Hash([4; 32]);
        writes.insert(
            StateKey::Cert(soon).to_key(),
            cert_state("soon", NOW + 5 * DAY_MS, false).encode(),
        );
        writes.insert(
            StateKey::Cert(later).to_key(),
            cert_state("later", NOW + 90 * DAY_MS, false).encode(),
        );
        writes.insert(
            StateKey::Cert(revoked).to_key(),
            cert_state("revoked", NOW + DAY_MS, true).encode(),
        );
        writes.insert(
            StateKey::Cert(gone).to_key(),
            cert_state("gone", NOW - DAY_MS - 1, false).encode(),
        );
        let prepared = ledger
            .prepare(Vec::new(), writes, 1, validator.public_key())
            .unwrap();
        let cert = CommitCertificate::sign_single("expiry", 0, &validator, &prepared.hash);
        ledger.commit(prepared, &cert).unwrap();

        // A node certificate on disk, expiring in 10 days.
        let dir = tempfile::tempdir().unwrap();
        let node_key = SigningKey::generate(suite);
        let node_cert = kexin_pki::issue(
            &ca,
            &ca_key,
            "node0",
            Role::Node,
            &node_key.public_key(),
            &terms(NOW + 10 * DAY_MS),
        )
        .unwrap();
        let path = dir.path().join("node-cert.pem");
        std::fs::write(&path, node_cert.to_pem()).unwrap();

        let list = expiring(&ledger, &genesis, Some(&path), NOW, 30 * DAY_MS).unwrap();
        let got: Vec<(&str, &str, i64, bool)> = list
            .iter()
            .map(|e| (e.kind.as_str(), e.name.as_str(), e.days_left, e.expired))
            .collect();
        assert_eq!(
            got,
            [
                ("writer", "gone", -2, true),
                ("writer", "soon", 5, false),
                ("this node", "node0", 10, false),
                ("ca", "org1 CA", 20, false),
            ]
        );
        assert_eq!(list[1].id, Some(soon));
        // A narrower window leaves out what is further away.
        let list = expiring(&ledger, &genesis, None, NOW, 7 * DAY_MS).unwrap();
        assert_eq!(list.len(), 2);
    }
}
