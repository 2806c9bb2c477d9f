//! Who signed a receipt's transaction: the X.509 check of a version 4 receipt's signer
//! certificate against its organisation's CA, offline.

use kexin_crypto::Hash;
use kexin_pki::Certificate;
use kexin_types::{Genesis, ReceiptError, Role, SignerEvidence};
use serde::Serialize;

/// Where the CA that issued a signer's certificate was established.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "source")]
pub enum CaSource {
    /// One of the organisation's CAs in the genesis.
    Genesis,
    /// One of the organisation's CAs in the chain's state, proven at a finalized block.
    State {
        /// The height of the block whose state root the proof is against.
        height: u64,
    },
}

/// The signer of a receipt's transaction, as its certificate and the genesis establish it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SignerIdentity {
    /// The organisation (the certificate's `O`, one of the consortium's).
    pub organisation: String,
    /// The role (`OU`).
    pub role: Role,
    /// The holder's name (`CN`).
    pub name: String,
    /// The certificate's subject, RFC 4514 text.
    pub subject: String,
    /// The certificate id (the transaction's `cert`).
    pub cert_id: Hash,
    /// The certificate's serial number, hex.
    pub serial: String,
    /// The id of the CA certificate that issued it.
    pub ca_id: Hash,
    /// Where that CA comes from.
    pub ca: CaSource,
}

/// Checks a verified receipt's signer certificate ([`kexin_types::VerifiedReceipt::signer`]
/// or [`kexin_types::VerifiedTx::signer`]) with X.509, offline: it is a Kexin end-entity
/// certificate issued by a CA of the organisation it names (a genesis CA, or one of the CA
/// set the receipt proved), both valid at the block's time, and it certifies the
/// transaction's signer key.
///
/// Errors are [`ReceiptError::SignerCert`] (`bad_signer_cert`), with the PKI refusal's code
/// in the message.
pub fn identify_signer(
    genesis: &Genesis,
    evidence: &SignerEvidence,
) -> Result<SignerIdentity, ReceiptError> {
    let suite = genesis.suite;
    let bad = |why: String| ReceiptError::SignerCert(why);
    let cert = Certificate::from_der(evidence.cert.as_bytes())
        .map_err(|e| bad(format!("{} ({})", e, e.code())))?;
    if !cert.is_canonical() {
        return Err(bad("the certificate's DER is not canonical".into()));
    }
    let org_name = cert
        .org()
        .ok_or_else(|| bad("no organisation (O) in the certificate's subject".into()))?;
    let (cas, source) = match (&evidence.proven_org, evidence.proven_at) {
        (Some(org), Some(height)) => {
            if org.name != org_name {
                return Err(bad(format!(
                    "the certificate names organisation {org_name}, the CA-set proof is of {}",
                    org.name
                )));
            }
            (&org.ca_certs, CaSource::State { height })
        }
        _ => {
            let org = genesis.organisation(&org_name).ok_or_else(|| {
                bad(format!(
                    "the certificate names organisation {org_name}, which the genesis does not list, and the receipt carries no CA-set proof"
                ))
            })?;
            (&org.ca_certs, CaSource::Genesis)
        }
    };
    let mut first_err = None;
    for ca_der in cas {
        let ca = match Certificate::from_der(ca_der.as_bytes()) {
            Ok(ca) => ca,
            Err(e) => {
                first_err.get_or_insert(e);
                continue;
            }
        };
        match kexin_pki::verify(&cert, &ca, suite, evidence.at_ms) {
            Ok(identity) => {
                if identity.public_key != evidence.signer {
                    return Err(bad(format!(
                        "the certificate certifies key {}, the transaction was signed by {}",
                        identity.public_key, evidence.signer
                    )));
                }
                return Ok(SignerIdentity {
                    organisation: identity.org,
                    role: identity.role,
                    name: identity.name,
                    subject: cert.subject(),
                    cert_id: evidence.cert_id,
                    serial: cert.serial_hex(),
                    ca_id: ca_der.id(suite),
                    ca: source,
                });
            }
            Err(e) => {
                // Prefer a refusal by a CA whose name matched over "not this CA".
                let replace = first_err.is_none()
                    || (!matches!(e, kexin_pki::PkiError::WrongCa(_))
                        && matches!(first_err, Some(kexin_pki::PkiError::WrongCa(_))));
                if replace {
                    first_err = Some(e);
                }
            }
        }
    }
    Err(match first_err {
        Some(e) => bad(format!(
            "not issued by a CA of {org_name}: {e} ({})",
            e.code()
        )),
        None => bad(format!("organisation {org_name} has no CA")),
    })
}
