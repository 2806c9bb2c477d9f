//! The governance module: proposals and votes of the member organisations (payload kinds 4
//! and 5). A proposal passes once enough members approve (`gov.threshold_num/den` of them)
//! and its action applies in the same block; it is rejected once too many refuse. Namespaces
//! 5 (proposals, [`ProposalState`]) and 6 (the consortium's members, parameters and
//! validators once changed, [`ConsortiumState`]).

use kexin_crypto::{Hash, Suite};
use kexin_pki::{Certificate, PkiError};
use kexin_types::gov::{GovAction, ProposalStatus, Vote};
use kexin_types::state::{StateKey, namespace};
use kexin_types::{ConsortiumState, Event, OrgState, Payload, ProposalState};

use super::identity::{consortium, parse_cert, revocation_target, revoke};
use super::{CERT_CHECK_COST, Checked, Module, TxCx, epoch};
use crate::journal::Journal;
use crate::{BlockContext, ExecError, TxRejection};

/// The governance module.
pub struct Governance;

/// Cost units of a proposal or a vote, beyond the checks of its action's certificates.
pub const GOVERNANCE_COST: u64 = 5;

impl Module for Governance {
    fn name(&self) -> &'static str {
        "governance"
    }

    fn namespaces(&self) -> &'static [u8] {
        &[
            namespace::PROPOSAL,
            namespace::CONSORTIUM,
            namespace::PROTOCOL,
        ]
    }

    fn payload_kinds(&self) -> &'static [u8] {
        &[4, 5]
    }

    fn check(&self, cx: &TxCx<'_>, st: &Journal<'_>) -> Checked {
        let block = &cx.block;
        match cx.payload() {
            Payload::Propose { action } => check_action(block, st, action),
            Payload::Vote { proposal, approve } => {
                let Some(p) = st.read::<ProposalState>(StateKey::Proposal(*proposal))? else {
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
                if block.timestamp_ms >= p.expires_ms {
                    return Ok(Err(TxRejection::ProposalExpired {
                        id: *proposal,
                        expires_ms: p.expires_ms,
                        at_ms: block.timestamp_ms,
                    }));
                }
                let org = cx.org();
                if p.votes.iter().any(|v| v.org == org) {
                    return Ok(Err(TxRejection::DuplicateVote { id: *proposal, org }));
                }
                // A vote that passes the proposal applies its action: it must still be valid.
                let consortium = consortium(block, st)?;
                let yes = p
                    .votes
                    .iter()
                    .filter(|v| v.approve && consortium.is_member(&v.org))
                    .count();
                if *approve && yes + 1 >= consortium.votes_needed() {
                    return check_action(block, st, &p.action);
                }
                Ok(Ok(()))
            }
            _ => Ok(Ok(())),
        }
    }

    fn apply(&self, cx: &TxCx<'_>, st: &mut Journal<'_>, events: &mut Vec<Event>) -> Checked {
        let block = &cx.block;
        let Some((cert, _)) = cx.actor else {
            return Err(ExecError::Unchecked(
                "a governance transaction without a certificate".into(),
            ));
        };
        let org = cx.org();
        match cx.payload() {
            Payload::Propose { action } => {
                let ttl = consortium(block, st)?.param("gov.proposal_ttl_ms");
                let id = cx.tx.hash();
                let p = ProposalState {
                    action: action.clone(),
                    proposer_org: org.clone(),
                    created_at: block.height,
                    expires_ms: block.timestamp_ms.saturating_add(ttl),
                    votes: vec![Vote {
                        org: org.clone(),
                        approve: true,
                        height: block.height,
                        cert: *cert,
                    }],
                    status: ProposalStatus::Open,
                };
                events.push(
                    Event::new("governance", "proposal_submitted")
                        .with("proposal", id)
                        .with("action", action.kind_name())
                        .with("org", &org),
                );
                settle(block, st, id, p, events)
            }
            Payload::Vote { proposal, approve } => {
                let Some(mut p) = st.read::<ProposalState>(StateKey::Proposal(*proposal))? else {
                    return Ok(Err(TxRejection::UnknownProposal(*proposal)));
                };
                p.votes.push(Vote {
                    org: org.clone(),
                    approve: *approve,
                    height: block.height,
                    cert: *cert,
                });
                events.push(
                    Event::new("governance", "vote_cast")
                        .with("proposal", proposal)
                        .with("org", &org)
                        .with("approve", approve),
                );
                settle(block, st, *proposal, p, events)
            }
            _ => Ok(Ok(())),
        }
    }

    fn cost(&self, payload: &Payload) -> u64 {
        let certs = match payload {
            Payload::Propose {
                action: GovAction::AddOrg { org },
            } => org.ca_certs.len() as u64,
            Payload::Propose {
                action: GovAction::RevokeCert { .. },
            } => 1,
            _ => 0,
        };
        GOVERNANCE_COST + certs * CERT_CHECK_COST
    }

    fn describe(&self, payload: &Payload, suite: Suite) -> String {
        match payload {
            Payload::Vote { proposal, approve } => format!(
                "vote {} on proposal {proposal}",
                if *approve { "yes" } else { "no" }
            ),
            Payload::Propose { action } => {
                format!("proposal to {}", describe_action(action, suite))
            }
            other => other.kind_name().into(),
        }
    }
}

/// One line saying what a governance action does.
pub fn describe_action(action: &GovAction, suite: Suite) -> String {
    match action {
        GovAction::AddOrg { org } => {
            let ids: Vec<String> = org
                .ca_certs
                .iter()
                .map(|c| c.id(suite).to_string())
                .collect();
            format!("add organisation {} (CA {})", org.name, ids.join(", "))
        }
        GovAction::RemoveOrg { name } => format!("remove organisation {name}"),
        GovAction::RevokeCert { cert, reason } => {
            let holder = Certificate::from_der(cert.as_bytes())
                .ok()
                .map(|c| {
                    format!(
                        " of {}@{}, serial {}",
                        c.common_name().unwrap_or_default(),
                        c.org().unwrap_or_default(),
                        c.serial_hex()
                    )
                })
                .unwrap_or_default();
            format!("revoke certificate {}{holder} ({reason})", cert.id(suite))
        }
        GovAction::SetParam { name, value } => format!("set {name} = {value}"),
        other => other.to_string(),
    }
}

/// Whether a governance action can be applied to the state now.
fn check_action(block: &BlockContext<'_>, st: &Journal<'_>, action: &GovAction) -> Checked {
    let suite = block.genesis.suite;
    let consortium = consortium(block, st)?;
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
                if let Err(e) = kexin_pki::check_ca(&ca, suite, block.timestamp_ms) {
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
        GovAction::RevokeCert { cert, .. } => Ok(revocation_target(block, st, cert)?.map(|_| ())),
        GovAction::SetParam { name, value } => {
            // The contract parameters exist from protocol version 5 on: before, a node of an
            // older build would refuse them.
            let version = crate::protocol::version_at(st, block.genesis, block.height)?;
            let since = kexin_types::gov::param_since(name);
            if version < since {
                return Ok(Err(TxRejection::InvalidParam(format!(
                    "{name} exists from protocol version {since} on; this chain is at version {version}"
                ))));
            }
            let mut next = consortium.clone();
            next.set_param(name, *value);
            let num = next.param("gov.threshold_num");
            let den = next.param("gov.threshold_den");
            if num >= den || num * 2 < den {
                return Ok(Err(TxRejection::InvalidParam(format!(
                    "the threshold {num}/{den} must be at least 1/2 and below 1"
                ))));
            }
            let (tx_gas, block_gas) = (
                next.param("contract.tx_gas_limit"),
                next.param("contract.block_gas_limit"),
            );
            if block_gas < tx_gas {
                return Ok(Err(TxRejection::InvalidParam(format!(
                    "contract.block_gas_limit {block_gas} must be at least contract.tx_gas_limit {tx_gas}"
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
            epoch::no_pending_change(block, st, &consortium)
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
            epoch::no_pending_change(block, st, &consortium)
        }
        GovAction::ProtocolUpgrade { version, height } => {
            let schedule = crate::protocol::schedule(st)?;
            let latest = schedule.latest(block.genesis.version);
            if *version <= latest {
                return Ok(Err(TxRejection::InvalidUpgrade(format!(
                    "the chain already runs or is scheduled to run protocol version {latest}; an upgrade must go above it"
                ))));
            }
            if *height <= block.height {
                return Ok(Err(TxRejection::InvalidUpgrade(format!(
                    "height {height} is not after this block ({}): the upgrade must take effect at a later height",
                    block.height
                ))));
            }
            Ok(Ok(()))
        }
        GovAction::FreezeContract { .. }
        | GovAction::UnfreezeContract { .. }
        | GovAction::UpgradeContract { .. }
        | GovAction::NameContract { .. } => super::contract::check_lifecycle(block, st, action),
    }
}

/// Counts the votes of proposal `id` and, once decided, closes it (applying its action when
/// it passed).
fn settle(
    block: &BlockContext<'_>,
    st: &mut Journal<'_>,
    id: Hash,
    mut p: ProposalState,
    events: &mut Vec<Event>,
) -> Checked {
    let consortium = consortium(block, st)?;
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
            height: block.height,
        };
        events.push(
            Event::new("governance", "proposal_passed")
                .with("proposal", id)
                .with("action", p.action.kind_name()),
        );
        if let Err(r) = apply_action(block, st, &p.action, events)? {
            return Ok(Err(r));
        }
    } else if no > members.saturating_sub(needed) {
        p.status = ProposalStatus::Rejected {
            height: block.height,
        };
        events.push(Event::new("governance", "proposal_rejected").with("proposal", id));
    }
    st.write(StateKey::Proposal(id), &p);
    Ok(Ok(()))
}

fn apply_action(
    block: &BlockContext<'_>,
    st: &mut Journal<'_>,
    action: &GovAction,
    events: &mut Vec<Event>,
) -> Checked {
    let height = block.height;
    let mut consortium: ConsortiumState = consortium(block, st)?;
    match action {
        GovAction::AddOrg { org } => {
            if let Err(i) = consortium
                .members
                .binary_search_by(|m| m.as_str().cmp(&org.name))
            {
                consortium.members.insert(i, org.name.clone());
            }
            st.write(
                StateKey::Org(org.name.clone()),
                &OrgState {
                    org: org.clone(),
                    updated_at: height,
                },
            );
            events.push(Event::new("governance", "org_added").with("org", &org.name));
        }
        GovAction::RemoveOrg { name } => {
            consortium.members.retain(|m| m != name);
            events.push(Event::new("governance", "org_removed").with("org", name));
        }
        GovAction::RevokeCert { cert, reason } => {
            // Membership and parameters are unchanged.
            return revoke(block, st, cert, *reason, events);
        }
        GovAction::SetParam { name, value } => {
            consortium.set_param(name, *value);
            events.push(
                Event::new("governance", "param_set")
                    .with("name", name)
                    .with("value", value),
            );
        }
        GovAction::AddValidator { validator } => {
            consortium.validators.push(validator.clone());
            let epoch = block.genesis.epoch_of(height) + 1;
            events.push(
                Event::new("epoch", "validator_added")
                    .with("name", &validator.name)
                    .with("org", &validator.org)
                    .with("public_key", validator.public_key)
                    .with("epoch", epoch),
            );
        }
        GovAction::ProtocolUpgrade { version, height } => {
            let mut schedule = crate::protocol::schedule(st)?;
            schedule.upgrades.push(kexin_types::protocol::Upgrade {
                version: *version,
                height: *height,
                voted_at: block.height,
            });
            st.put(
                crate::protocol::schedule_key(),
                kexin_types::Encode::encode(&schedule),
            );
            events.push(
                Event::new("governance", "protocol_upgrade_scheduled")
                    .with("version", version)
                    .with("height", height),
            );
            // Members, parameters and validators are unchanged.
            return Ok(Ok(()));
        }
        GovAction::FreezeContract { .. }
        | GovAction::UnfreezeContract { .. }
        | GovAction::UpgradeContract { .. }
        | GovAction::NameContract { .. } => {
            // Members, parameters and validators are unchanged.
            return super::contract::apply_lifecycle(st, action, events);
        }
        GovAction::RemoveValidator { public_key } => {
            consortium
                .validators
                .retain(|v| &v.public_key != public_key);
            let epoch = block.genesis.epoch_of(height) + 1;
            events.push(
                Event::new("epoch", "validator_removed")
                    .with("public_key", public_key)
                    .with("epoch", epoch),
            );
        }
    }
    consortium.updated_at = height;
    st.write(StateKey::Consortium, &consortium);
    Ok(Ok(()))
}
