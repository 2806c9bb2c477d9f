//! X.509 certificates of a Kexin consortium: organisation CAs, and node and user certificates
//! that carry a role, issued and checked with Kexin's own keys.
//!
//! Profile (documented in `docs/pki.md`):
//! * `gm` chains sign with SM2-with-SM3 (`1.2.156.10197.1.501`, GM/T 0015; signer id
//!   `1234567812345678`), keys are `id-ecPublicKey` on the SM2 curve (`1.2.156.10197.1.301`);
//!   `intl` chains use Ed25519 (`1.3.101.112`).
//! * On `intl` chains a user certificate (role `admin`, `writer`, `reader` or `auditor`) may
//!   instead hold an ECDSA P-256 key (`id-ecPublicKey` with `prime256v1`, 1.2.840.10045.3.1.7),
//!   still issued and signed by the organisation's Ed25519 CA. CA and `node` certificates hold
//!   the suite's own key; `gm` chains take SM2 keys only (`cert_wrong_algorithm` otherwise).
//! * An organisation CA is self-signed: subject `CN=<org> CA, O=<org>`, basicConstraints
//!   `cA=TRUE, pathLen=0` (critical), keyUsage `keyCertSign, cRLSign` (critical).
//! * A node or user certificate: subject `CN=<name>, OU=<role>, O=<org>`, basicConstraints
//!   `cA=FALSE` (critical), keyUsage `digitalSignature` (critical). The role is the single
//!   `OU` value, one of `admin`, `writer`, `reader`, `auditor`, `node`.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use der::asn1::{BitString, GeneralizedTime, ObjectIdentifier};
use der::{Decode as _, DecodePem as _, Encode as _, EncodePem as _};
use kexin_crypto::{KeyScheme, PublicKey, Signature, SigningKey, Suite};
use spki::{
    AlgorithmIdentifierOwned, DynSignatureAlgorithmIdentifier, EncodePublicKey,
    SignatureBitStringEncoding, SubjectPublicKeyInfoOwned, SubjectPublicKeyInfoRef,
};
use x509_cert::builder::profile::BuilderProfile;
use x509_cert::builder::{Builder as _, CertificateBuilder};
use x509_cert::ext::pkix::{
    AuthorityKeyIdentifier, BasicConstraints, KeyUsage, KeyUsages, SubjectKeyIdentifier,
};
use x509_cert::ext::{Extension, ToExtension as _};
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::time::{Time, Validity};

/// `id-Ed25519` (RFC 8410).
pub const OID_ED25519: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.112");
/// `id-ecPublicKey` (RFC 5480).
pub const OID_EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
/// The NIST P-256 curve, `prime256v1`/`secp256r1` (RFC 5480).
pub const OID_P256_CURVE: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
/// The SM2 curve (GM/T 0006).
pub const OID_SM2_CURVE: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.156.10197.1.301");
/// SM2 signature with SM3 (GM/T 0006, used by GM/T 0015 certificates).
pub const OID_SM2_WITH_SM3: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.156.10197.1.501");
/// `id-at-organizationalUnitName`, where the role is carried.
const OID_OU: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.11");
/// `id-at-organizationName`.
const OID_O: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.10");
/// `id-at-commonName`.
const OID_CN: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.3");

pub use kexin_types::Role;
use kexin_types::identity::UnknownRole;

impl From<UnknownRole> for PkiError {
    fn from(e: UnknownRole) -> PkiError {
        PkiError::UnknownRole(e.0)
    }
}

/// Why a certificate cannot be issued, read or accepted.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PkiError {
    /// Not DER/PEM of an X.509 certificate.
    #[error("malformed certificate: {0}")]
    Malformed(String),
    /// A name part is empty, too long or holds characters outside the allowed set.
    #[error("invalid name {0:?}: 1..=64 characters of [A-Za-z0-9._-]")]
    InvalidName(String),
    /// Not one of the roles.
    #[error("unknown role {0:?} (admin, writer, reader, auditor or node)")]
    UnknownRole(String),
    /// The certificate's key or signature algorithm is not the chain's suite, or its key's
    /// scheme is not allowed for the certificate's kind (ECDSA P-256 in a CA or node
    /// certificate).
    #[error("wrong algorithm: {0}")]
    WrongAlgorithm(String),
    /// The issuer named in the certificate is not this CA, or the CA is not a CA.
    #[error("wrong CA: {0}")]
    WrongCa(String),
    /// The signature does not verify under the CA key.
    #[error("bad certificate signature")]
    BadSignature,
    /// Outside its validity period at the time checked. The message gives the times in RFC
    /// 3339 UTC: `certificate expired at <its notAfter> (valid from <notBefore>; checked at
    /// <time>)`, or `certificate not yet valid: valid from <notBefore> to <notAfter> (checked
    /// at <time>)`.
    #[error("{}", validity_message(what, *.at_ms, *.not_before_ms, *.not_after_ms))]
    NotValidAt {
        /// `expired` or `not yet valid`.
        what: &'static str,
        /// The time checked.
        at_ms: u64,
        /// Start of validity.
        not_before_ms: u64,
        /// End of validity.
        not_after_ms: u64,
    },
    /// A required part of the profile is missing or wrong.
    #[error("certificate does not follow the Kexin profile: {0}")]
    Profile(String),
    /// The builder or encoder failed.
    #[error("cannot encode the certificate: {0}")]
    Encode(String),
}

impl PkiError {
    /// A stable, machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            PkiError::Malformed(_) => "cert_malformed",
            PkiError::InvalidName(_) => "invalid_name",
            PkiError::UnknownRole(_) => "unknown_role",
            PkiError::WrongAlgorithm(_) => "cert_wrong_algorithm",
            PkiError::WrongCa(_) => "cert_wrong_ca",
            PkiError::BadSignature => "cert_bad_signature",
            PkiError::NotValidAt { what, .. } if *what == "expired" => "cert_expired",
            PkiError::NotValidAt { .. } => "cert_not_yet_valid",
            PkiError::Profile(_) => "cert_profile",
            PkiError::Encode(_) => "internal",
        }
    }
}

fn hex_bytes(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The message of [`PkiError::NotValidAt`].
fn validity_message(what: &str, at_ms: u64, not_before_ms: u64, not_after_ms: u64) -> String {
    use kexin_types::time::rfc3339_ms as t;
    if what == "expired" {
        format!(
            "certificate expired at {} (valid from {}; checked at {})",
            t(not_after_ms),
            t(not_before_ms),
            t(at_ms)
        )
    } else {
        format!(
            "certificate {what}: valid from {} to {} (checked at {})",
            t(not_before_ms),
            t(not_after_ms),
            t(at_ms)
        )
    }
}

fn encode_err(e: impl fmt::Display) -> PkiError {
    PkiError::Encode(e.to_string())
}

fn check_name(s: &str) -> Result<(), PkiError> {
    let ok = !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if ok {
        Ok(())
    } else {
        Err(PkiError::InvalidName(s.to_owned()))
    }
}

/// A certificate, kept with its DER bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Certificate {
    der: Vec<u8>,
    inner: x509_cert::Certificate,
}

impl Certificate {
    /// Parses DER.
    pub fn from_der(der: &[u8]) -> Result<Certificate, PkiError> {
        let inner = x509_cert::Certificate::from_der(der)
            .map_err(|e| PkiError::Malformed(e.to_string()))?;
        Ok(Certificate {
            der: der.to_vec(),
            inner,
        })
    }

    /// Parses one PEM `CERTIFICATE` block.
    pub fn from_pem(pem: &str) -> Result<Certificate, PkiError> {
        let inner = x509_cert::Certificate::from_pem(pem.trim().as_bytes())
            .map_err(|e| PkiError::Malformed(e.to_string()))?;
        let der = inner.to_der().map_err(encode_err)?;
        Ok(Certificate { der, inner })
    }

    /// Whether the DER it was parsed from is the canonical encoding of its contents (so a
    /// certificate has exactly one DER, and one id).
    pub fn is_canonical(&self) -> bool {
        self.inner.to_der().is_ok_and(|d| d == self.der)
    }

    /// The DER encoding.
    pub fn der(&self) -> &[u8] {
        &self.der
    }

    /// The PEM encoding.
    pub fn to_pem(&self) -> String {
        self.inner
            .to_pem(der::pem::LineEnding::LF)
            .expect("a parsed certificate encodes")
    }

    /// The subject's public key, as a Kexin key of `suite`: its native scheme, or on `intl`
    /// also ECDSA P-256 (whether the certificate's kind allows that is checked by
    /// [`check_ca`] and [`verify`]).
    pub fn public_key(&self, suite: Suite) -> Result<PublicKey, PkiError> {
        let spki = self.inner.tbs_certificate().subject_public_key_info();
        public_key_from_spki(spki, suite)
    }

    /// The subject's organisation (`O`).
    pub fn org(&self) -> Option<String> {
        attribute(self.inner.tbs_certificate().subject(), OID_O)
    }

    /// The subject's distinguished name, as text (RFC 4514, e.g. `CN=alice,OU=writer,O=org1`).
    pub fn subject(&self) -> String {
        self.inner.tbs_certificate().subject().to_string()
    }

    /// The subject's common name (`CN`).
    pub fn common_name(&self) -> Option<String> {
        attribute(self.inner.tbs_certificate().subject(), OID_CN)
    }

    /// The role (`OU`), if the certificate carries one.
    pub fn role(&self) -> Option<Result<Role, PkiError>> {
        attribute(self.inner.tbs_certificate().subject(), OID_OU)
            .map(|s| s.parse::<Role>().map_err(PkiError::from))
    }

    /// The serial number, as its big-endian bytes in hex.
    pub fn serial_hex(&self) -> String {
        let bytes = self.inner.tbs_certificate().serial_number().as_bytes();
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// Validity as `(not_before_ms, not_after_ms)` since the Unix epoch.
    pub fn validity_ms(&self) -> (u64, u64) {
        let v = self.inner.tbs_certificate().validity();
        (
            v.not_before.to_unix_duration().as_millis() as u64,
            v.not_after.to_unix_duration().as_millis() as u64,
        )
    }

    /// Whether basicConstraints says `cA=TRUE`.
    pub fn is_ca(&self) -> bool {
        self.basic_constraints().is_some_and(|b| b.ca)
    }

    /// The key identifier of the CA that issued it (authority key identifier), if given.
    fn authority_key_id(&self) -> Option<Vec<u8>> {
        self.inner
            .tbs_certificate()
            .get_extension::<AuthorityKeyIdentifier>()
            .ok()
            .flatten()
            .and_then(|(_, aki)| aki.key_identifier)
            .map(|id| id.as_bytes().to_vec())
    }

    /// Its own key identifier (subject key identifier), if given.
    fn subject_key_id(&self) -> Option<Vec<u8>> {
        self.inner
            .tbs_certificate()
            .get_extension::<SubjectKeyIdentifier>()
            .ok()
            .flatten()
            .map(|(_, ski)| ski.0.as_bytes().to_vec())
    }

    fn basic_constraints(&self) -> Option<BasicConstraints> {
        self.inner
            .tbs_certificate()
            .get_extension::<BasicConstraints>()
            .ok()
            .flatten()
            .map(|(_, b)| b)
    }
}

fn attribute(name: &Name, oid: ObjectIdentifier) -> Option<String> {
    for rdn in name.iter_rdn() {
        for atv in rdn.iter() {
            if atv.oid == oid {
                return atv
                    .value
                    .decode_as::<der::asn1::Utf8StringRef<'_>>()
                    .map(|s| s.as_str().to_owned())
                    .or_else(|_| {
                        atv.value
                            .decode_as::<der::asn1::PrintableStringRef<'_>>()
                            .map(|s| s.as_str().to_owned())
                    })
                    .ok();
            }
        }
    }
    None
}

fn public_key_from_spki(
    spki: &SubjectPublicKeyInfoOwned,
    suite: Suite,
) -> Result<PublicKey, PkiError> {
    let key = spki
        .subject_public_key
        .as_bytes()
        .ok_or_else(|| PkiError::Malformed("public key bit string has unused bits".into()))?;
    let curve = spki
        .algorithm
        .parameters
        .as_ref()
        .and_then(|p| p.decode_as::<ObjectIdentifier>().ok());
    let oid = spki.algorithm.oid;
    let is_p256 = oid == OID_EC_PUBLIC_KEY && curve == Some(OID_P256_CURVE);
    match suite {
        Suite::Intl if oid == OID_ED25519 => PublicKey::from_bytes(Suite::Intl, key)
            .map_err(|e| PkiError::Malformed(format!("Ed25519 key: {e}"))),
        Suite::Intl if is_p256 => {
            // OpenSSL writes the uncompressed form; that is the one Kexin keys use, so a
            // certificate's key has one encoding.
            PublicKey::from_scheme_bytes(KeyScheme::EcdsaP256, key)
                .map_err(|e| PkiError::Malformed(format!("P-256 key: {e}")))
        }
        Suite::Intl => Err(PkiError::WrongAlgorithm(format!(
            "key algorithm {oid} (curve {curve:?}) on an intl chain (Ed25519, or ECDSA P-256 \
             for user certificates, expected)"
        ))),
        Suite::Gm if is_p256 => Err(PkiError::WrongAlgorithm(
            "an ECDSA P-256 key on a gm chain: gm chains take SM2 keys only".into(),
        )),
        Suite::Gm => {
            if oid != OID_EC_PUBLIC_KEY || curve != Some(OID_SM2_CURVE) {
                return Err(PkiError::WrongAlgorithm(format!(
                    "key algorithm {oid} (curve {curve:?}) on a gm chain (SM2 expected)"
                )));
            }
            let point = sm2::PublicKey::from_sec1_bytes(key)
                .map_err(|_| PkiError::Malformed("SM2 key is not a curve point".into()))?;
            use sm2::elliptic_curve::sec1::ToSec1Point as _;
            PublicKey::from_bytes(Suite::Gm, point.to_sec1_point(true).as_bytes())
                .map_err(|e| PkiError::Malformed(format!("SM2 key: {e}")))
        }
    }
}

/// The SubjectPublicKeyInfo of a Kexin key (SM2 and P-256 keys uncompressed, as OpenSSL writes
/// them).
pub fn spki(key: &PublicKey) -> Result<SubjectPublicKeyInfoOwned, PkiError> {
    match key.scheme() {
        KeyScheme::Ed25519 => Ok(SubjectPublicKeyInfoOwned {
            algorithm: AlgorithmIdentifierOwned {
                oid: OID_ED25519,
                parameters: None,
            },
            subject_public_key: BitString::from_bytes(key.as_bytes()).map_err(encode_err)?,
        }),
        KeyScheme::Sm2 => {
            use sm2::elliptic_curve::sec1::ToSec1Point as _;
            let point = sm2::PublicKey::from_sec1_bytes(key.as_bytes())
                .map_err(|_| PkiError::Malformed("SM2 key is not a curve point".into()))?;
            Ok(SubjectPublicKeyInfoOwned {
                algorithm: AlgorithmIdentifierOwned {
                    oid: OID_EC_PUBLIC_KEY,
                    parameters: Some(der::Any::encode_from(&OID_SM2_CURVE).map_err(encode_err)?),
                },
                subject_public_key: BitString::from_bytes(point.to_sec1_point(false).as_bytes())
                    .map_err(encode_err)?,
            })
        }
        KeyScheme::EcdsaP256 => Ok(SubjectPublicKeyInfoOwned {
            algorithm: AlgorithmIdentifierOwned {
                oid: OID_EC_PUBLIC_KEY,
                parameters: Some(der::Any::encode_from(&OID_P256_CURVE).map_err(encode_err)?),
            },
            // Kexin's P-256 keys are already the uncompressed SEC1 point.
            subject_public_key: BitString::from_bytes(key.as_bytes()).map_err(encode_err)?,
        }),
    }
}

/// Refuses a key whose scheme is not `suite`'s own for a certificate of kind `what` (a CA or a
/// node certificate): ECDSA P-256 is for user certificates only.
fn require_native(key: &PublicKey, suite: Suite, what: &str) -> Result<(), PkiError> {
    if key.scheme() == KeyScheme::native(suite) {
        return Ok(());
    }
    Err(PkiError::WrongAlgorithm(format!(
        "{what} holds an {} key; on {suite} chains {what}s use {} (ECDSA P-256 is for user \
         certificates only)",
        key.scheme(),
        KeyScheme::native(suite)
    )))
}

fn signature_algorithm(suite: Suite) -> AlgorithmIdentifierOwned {
    AlgorithmIdentifierOwned {
        oid: match suite {
            Suite::Intl => OID_ED25519,
            Suite::Gm => OID_SM2_WITH_SM3,
        },
        parameters: None,
    }
}

/// A Kexin signing key as the X.509 builder's signer.
struct CertSigner<'a> {
    key: &'a SigningKey,
    public: SpkiKey,
}

/// A public key that encodes as its SubjectPublicKeyInfo.
#[derive(Clone)]
struct SpkiKey(SubjectPublicKeyInfoOwned);

impl EncodePublicKey for SpkiKey {
    fn to_public_key_der(&self) -> spki::Result<der::Document> {
        Ok(der::Document::encode_msg(&self.0)?)
    }
}

impl signature::Keypair for CertSigner<'_> {
    type VerifyingKey = SpkiKey;

    fn verifying_key(&self) -> SpkiKey {
        self.public.clone()
    }
}

impl DynSignatureAlgorithmIdentifier for CertSigner<'_> {
    fn signature_algorithm_identifier(&self) -> spki::Result<AlgorithmIdentifierOwned> {
        Ok(signature_algorithm(self.key.suite()))
    }
}

/// A certificate signature: Ed25519's 64 bytes, or SM2's DER `SEQUENCE { r, s }`.
struct CertSignature(Vec<u8>);

impl SignatureBitStringEncoding for CertSignature {
    fn to_bitstring(&self) -> der::Result<BitString> {
        BitString::from_bytes(&self.0)
    }
}

impl signature::Signer<CertSignature> for CertSigner<'_> {
    fn try_sign(&self, msg: &[u8]) -> Result<CertSignature, signature::Error> {
        let sig = self.key.sign_raw(msg);
        match self.key.suite() {
            Suite::Intl => Ok(CertSignature(sig.0.to_vec())),
            Suite::Gm => {
                let s = sm2::dsa::Signature::from_slice(&sig.0)?;
                Ok(CertSignature(s.to_der().as_bytes().to_vec()))
            }
        }
    }
}

/// Who a certificate is issued to.
struct Profile {
    subject: Name,
    issuer: Option<Name>,
    ca: bool,
}

impl BuilderProfile for Profile {
    fn get_issuer(&self, subject: &Name) -> Name {
        self.issuer.clone().unwrap_or_else(|| subject.clone())
    }

    fn get_subject(&self) -> Name {
        self.subject.clone()
    }

    fn build_extensions(
        &self,
        spk: SubjectPublicKeyInfoRef<'_>,
        issuer_spk: SubjectPublicKeyInfoRef<'_>,
        tbs: &x509_cert::TbsCertificate,
    ) -> x509_cert::builder::Result<Vec<Extension>> {
        let subject = tbs.subject();
        let basic = BasicConstraints {
            ca: self.ca,
            path_len_constraint: self.ca.then_some(0),
        };
        let usage = if self.ca {
            KeyUsage(KeyUsages::KeyCertSign | KeyUsages::CRLSign)
        } else {
            KeyUsage(KeyUsages::DigitalSignature.into())
        };
        // Key identifiers: SHA-1 of the subject key bits (RFC 5280 §4.2.1.2, method 1).
        let ski = SubjectKeyIdentifier::try_from(spk)?;
        let aki = AuthorityKeyIdentifier::try_from(issuer_spk)?;
        Ok(vec![
            basic.to_extension(subject, &[])?,
            usage.to_extension(subject, &[])?,
            ski.to_extension(subject, &[])?,
            aki.to_extension(subject, &[])?,
        ])
    }
}

fn time(ms: u64) -> Result<Time, PkiError> {
    let dt = der::DateTime::from_unix_duration(Duration::from_millis(ms / 1000 * 1000))
        .map_err(encode_err)?;
    Ok(match der::asn1::UtcTime::from_date_time(dt) {
        Ok(t) => Time::UtcTime(t),
        Err(_) => Time::GeneralTime(GeneralizedTime::from_date_time(dt)),
    })
}

/// Serial number and validity period of a certificate to issue.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Terms {
    /// Serial number (unique per CA; 0 is written as 1).
    pub serial: u64,
    /// Start of validity, ms since the Unix epoch (rounded down to the second).
    pub not_before_ms: u64,
    /// End of validity, ms since the Unix epoch (rounded down to the second).
    pub not_after_ms: u64,
}

fn build(
    profile: Profile,
    terms: &Terms,
    subject_key: &PublicKey,
    signer_key: &SigningKey,
) -> Result<Certificate, PkiError> {
    let Terms {
        serial,
        not_before_ms,
        not_after_ms,
    } = *terms;
    if not_after_ms <= not_before_ms {
        return Err(PkiError::Profile(
            "the validity must end after it starts".into(),
        ));
    }
    let validity = Validity::new(time(not_before_ms)?, time(not_after_ms)?);
    let serial = SerialNumber::from(serial.max(1));
    let signer = CertSigner {
        key: signer_key,
        public: SpkiKey(spki(&signer_key.public_key())?),
    };
    let builder = CertificateBuilder::new(profile, serial, validity, spki(subject_key)?)
        .map_err(encode_err)?;
    let cert = builder
        .build::<_, CertSignature>(&signer)
        .map_err(encode_err)?;
    let der = cert.to_der().map_err(encode_err)?;
    Certificate::from_der(&der)
}

fn name(s: &str) -> Result<Name, PkiError> {
    Name::from_str(s).map_err(encode_err)
}

/// A self-signed organisation CA certificate for `org`.
pub fn self_signed_ca(org: &str, key: &SigningKey, terms: &Terms) -> Result<Certificate, PkiError> {
    check_name(org)?;
    let public = key.public_key();
    require_native(&public, public.suite(), "a CA certificate")?;
    let profile = Profile {
        subject: name(&format!("CN={org} CA,O={org}"))?,
        issuer: None,
        ca: true,
    };
    build(profile, terms, &key.public_key(), key)
}

/// A certificate for `subject_key`, named `name` in the CA's organisation, with `role`,
/// signed by the CA. The subject key is of the CA's suite: its native scheme, or on `intl`
/// ECDSA P-256 for any role but `node`.
pub fn issue(
    ca: &Certificate,
    ca_key: &SigningKey,
    name_: &str,
    role: Role,
    subject_key: &PublicKey,
    terms: &Terms,
) -> Result<Certificate, PkiError> {
    check_name(name_)?;
    let suite = ca_key.suite();
    require_native(&ca_key.public_key(), suite, "a CA certificate")?;
    if subject_key.suite() != suite {
        return Err(PkiError::WrongAlgorithm(format!(
            "{} keys cannot be certified by a {suite} CA",
            subject_key.scheme()
        )));
    }
    if role == Role::Node {
        require_native(subject_key, suite, "a node certificate")?;
    }
    if ca.public_key(ca_key.suite())? != ca_key.public_key() {
        return Err(PkiError::WrongCa(
            "the signing key is not the CA certificate's key".into(),
        ));
    }
    let org = ca
        .org()
        .ok_or_else(|| PkiError::Profile("the CA certificate names no organisation".into()))?;
    let profile = Profile {
        subject: name(&format!("CN={name_},OU={role},O={org}"))?,
        issuer: Some(ca.inner.tbs_certificate().subject().clone()),
        ca: false,
    };
    build(profile, terms, subject_key, ca_key)
}

/// Certificates that break the profile's key rules, as other tools can make them (a CA or
/// node certificate holding an ECDSA P-256 key), so that tests can check they are refused.
/// Behind the `testing` feature; never for production use.
#[cfg(any(test, feature = "testing"))]
pub mod testing {
    use super::*;

    /// A certificate for `subject_key` signed by `signer` with no check of the key rules:
    /// a CA (`CN=<org> CA, O=<org>`, self-named) when `role` is `None`, otherwise an
    /// end-entity certificate named `name` with `role`, issued by `issuer`.
    pub fn build_unchecked(
        issuer: &Certificate,
        signer: &SigningKey,
        name_: &str,
        role: Option<Role>,
        subject_key: &PublicKey,
        terms: &Terms,
    ) -> Result<Certificate, PkiError> {
        let org = issuer
            .org()
            .ok_or_else(|| PkiError::Profile("the issuer names no organisation".into()))?;
        let profile = match role {
            None => Profile {
                subject: name(&format!("CN={org} CA,O={org}"))?,
                issuer: None,
                ca: true,
            },
            Some(role) => Profile {
                subject: name(&format!("CN={name_},OU={role},O={org}"))?,
                issuer: Some(issuer.inner.tbs_certificate().subject().clone()),
                ca: false,
            },
        };
        build(profile, terms, subject_key, signer)
    }
}

/// What a verified certificate says about its holder.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Identity {
    /// The organisation.
    pub org: String,
    /// The holder's name.
    pub name: String,
    /// The role.
    pub role: Role,
    /// The holder's key.
    pub public_key: PublicKey,
}

/// Checks that `ca` is a usable CA of `suite` at `at_ms`: the profile, its self-signature and
/// validity.
pub fn check_ca(ca: &Certificate, suite: Suite, at_ms: u64) -> Result<PublicKey, PkiError> {
    if !ca.is_ca() {
        return Err(PkiError::WrongCa(
            "the certificate is not a CA (basicConstraints cA is not TRUE)".into(),
        ));
    }
    let key = ca.public_key(suite)?;
    require_native(&key, suite, "a CA certificate")?;
    check_signature(ca, &key, suite)?;
    check_validity(ca, at_ms)?;
    Ok(key)
}

/// Checks `cert` against its organisation CA at `at_ms` (a block's timestamp): issuer name,
/// signature algorithm and signature, validity, the end-entity profile and its role.
pub fn verify(
    cert: &Certificate,
    ca: &Certificate,
    suite: Suite,
    at_ms: u64,
) -> Result<Identity, PkiError> {
    let ca_key = check_ca(ca, suite, at_ms)?;
    let tbs = cert.inner.tbs_certificate();
    if tbs.issuer() != ca.inner.tbs_certificate().subject() {
        return Err(PkiError::WrongCa(format!(
            "issued by {}, not by {}",
            tbs.issuer(),
            ca.inner.tbs_certificate().subject()
        )));
    }
    // Same name, other key: a CA of another chain (or a rogue one) that took the
    // organisation's name. Told by the key identifiers when both certificates carry them;
    // a signature that fails under a matching identifier is a bad signature.
    if let (Some(claimed), Some(actual)) = (cert.authority_key_id(), ca.subject_key_id())
        && claimed != actual
    {
        return Err(PkiError::WrongCa(format!(
            "issued by another CA named {}: its key id is {}, this CA's is {}",
            tbs.issuer(),
            hex_bytes(&claimed),
            hex_bytes(&actual)
        )));
    }
    check_signature(cert, &ca_key, suite)?;
    check_validity(cert, at_ms)?;
    if cert.is_ca() {
        return Err(PkiError::Profile(
            "a CA certificate cannot act as a node or user".into(),
        ));
    }
    let role = cert
        .role()
        .ok_or_else(|| PkiError::Profile("no role (OU) in the subject".into()))??;
    let org = cert
        .org()
        .ok_or_else(|| PkiError::Profile("no organisation (O) in the subject".into()))?;
    if Some(&org) != ca.org().as_ref() {
        return Err(PkiError::WrongCa(format!(
            "the certificate names organisation {org}, the CA {:?}",
            ca.org()
        )));
    }
    let name = cert
        .common_name()
        .ok_or_else(|| PkiError::Profile("no common name (CN) in the subject".into()))?;
    let public_key = cert.public_key(suite)?;
    if role == Role::Node {
        require_native(&public_key, suite, "a node certificate")?;
    }
    Ok(Identity {
        org,
        name,
        role,
        public_key,
    })
}

fn check_signature(cert: &Certificate, key: &PublicKey, suite: Suite) -> Result<(), PkiError> {
    let alg = cert.inner.signature_algorithm();
    if *alg != signature_algorithm(suite)
        || *cert.inner.tbs_certificate().signature() != signature_algorithm(suite)
    {
        return Err(PkiError::WrongAlgorithm(format!(
            "signed with {}, the {suite} chain uses {}",
            alg.oid,
            signature_algorithm(suite).oid
        )));
    }
    let tbs = cert.inner.tbs_certificate().to_der().map_err(encode_err)?;
    let raw = cert
        .inner
        .signature()
        .as_bytes()
        .ok_or(PkiError::BadSignature)?;
    let sig = match suite {
        Suite::Intl => <[u8; 64]>::try_from(raw).map_err(|_| PkiError::BadSignature)?,
        Suite::Gm => {
            let s = sm2::dsa::Signature::from_der(raw).map_err(|_| PkiError::BadSignature)?;
            s.to_bytes().into()
        }
    };
    if key.verify_raw(&tbs, &Signature(sig)).is_ok() {
        return Ok(());
    }
    // OpenSSL 3 signs and verifies SM2 certificates with an empty signer id unless told
    // otherwise (`-sigopt distid:1234567812345678`); accept those too, so an organisation CA
    // made with OpenSSL's defaults works. Kexin itself signs with the GM/T 0015 id.
    if suite == Suite::Gm {
        use sm2::dsa::signature::Verifier as _;
        let vk = sm2::dsa::VerifyingKey::from_sec1_bytes("", key.as_bytes())
            .map_err(|_| PkiError::BadSignature)?;
        let s = sm2::dsa::Signature::from_bytes(&sig.into()).map_err(|_| PkiError::BadSignature)?;
        if vk.verify(&tbs, &s).is_ok() {
            return Ok(());
        }
    }
    Err(PkiError::BadSignature)
}

fn check_validity(cert: &Certificate, at_ms: u64) -> Result<(), PkiError> {
    let (not_before_ms, not_after_ms) = cert.validity_ms();
    let what = if at_ms < not_before_ms {
        "not yet valid"
    } else if at_ms > not_after_ms {
        "expired"
    } else {
        return Ok(());
    };
    Err(PkiError::NotValidAt {
        what,
        at_ms,
        not_before_ms,
        not_after_ms,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: u64 = 1_790_000_000_000;

    fn terms(serial: u64) -> Terms {
        Terms {
            serial,
            not_before_ms: T0,
            not_after_ms: T0 + 86_400_000,
        }
    }

    /// CA and node certificates holding P-256 keys, as another tool could make them, are
    /// refused by the checks (the issuing functions never make them).
    #[test]
    fn p256_ca_and_node_certificates_are_refused() {
        let ca_key = SigningKey::from_seed(Suite::Intl, &[1; 32]).unwrap();
        let ca = self_signed_ca("org1", &ca_key, &terms(1)).unwrap();
        let p256 = SigningKey::from_scheme_seed(KeyScheme::EcdsaP256, &[2; 32])
            .unwrap()
            .public_key();

        let node = testing::build_unchecked(&ca, &ca_key, "n1", Some(Role::Node), &p256, &terms(2))
            .unwrap();
        let err = verify(&node, &ca, Suite::Intl, T0).unwrap_err();
        assert_eq!(err.code(), "cert_wrong_algorithm", "{err}");
        assert!(err.to_string().contains("node certificate"), "{err}");
        // The same certificate as a writer verifies: only the role differs.
        let writer =
            testing::build_unchecked(&ca, &ca_key, "w1", Some(Role::Writer), &p256, &terms(3))
                .unwrap();
        assert_eq!(
            verify(&writer, &ca, Suite::Intl, T0).unwrap().public_key,
            p256
        );

        let p256_ca = testing::build_unchecked(&ca, &ca_key, "", None, &p256, &terms(4)).unwrap();
        assert!(p256_ca.is_ca());
        let err = check_ca(&p256_ca, Suite::Intl, T0).unwrap_err();
        assert_eq!(err.code(), "cert_wrong_algorithm", "{err}");
        assert!(err.to_string().contains("CA certificate"), "{err}");
        // A user certificate issued under that CA is refused on the CA.
        let under = testing::build_unchecked(
            &p256_ca,
            &ca_key,
            "w2",
            Some(Role::Writer),
            &p256,
            &terms(5),
        )
        .unwrap();
        assert_eq!(
            verify(&under, &p256_ca, Suite::Intl, T0)
                .unwrap_err()
                .code(),
            "cert_wrong_algorithm"
        );
    }
}
