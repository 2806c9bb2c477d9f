//! Identities of a consortium: organisations, roles, certificates as the chain records them,
//! and revocation.
//!
//! Certificates themselves are X.509 (issued and checked by `kexin-pki`); here they are opaque
//! DER bytes ([`CertDer`]) named by their id, `H("kexin:cert:v1" || DER)`.

use std::fmt;
use std::str::FromStr;

use kexin_crypto::{Hash, PublicKey, Suite};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::codec::{Decode, DecodeError, Encode, Reader, Writer};
use crate::limits::*;
use crate::tx::{decode_public_key, encode_public_key};

/// Prefix of a certificate id preimage.
pub const CERT_ID_DOMAIN: &[u8] = b"kexin:cert:v1";

/// What a certificate's holder may do. The permission table is in `docs/pki.md` and
/// [`Role::may`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    /// Governance and certificate management for its own organisation.
    Admin,
    /// Evidence and contract calls.
    Writer,
    /// Queries of its organisation's private metadata.
    Reader,
    /// A regulator: reads everything, writes nothing but audit notes.
    Auditor,
    /// A node (validator or observer).
    Node,
}

impl Role {
    /// Every role.
    pub const ALL: [Role; 5] = [
        Role::Admin,
        Role::Writer,
        Role::Reader,
        Role::Auditor,
        Role::Node,
    ];

    /// The name written in certificates and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Writer => "writer",
            Role::Reader => "reader",
            Role::Auditor => "auditor",
            Role::Node => "node",
        }
    }

    /// The byte stored in the certificate registry.
    pub fn code(self) -> u8 {
        match self {
            Role::Admin => 1,
            Role::Writer => 2,
            Role::Reader => 3,
            Role::Auditor => 4,
            Role::Node => 5,
        }
    }

    /// The role of a registry byte.
    pub fn from_code(code: u8) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.code() == code)
    }

    /// Whether this role may perform `permission`.
    pub fn may(self, permission: Permission) -> bool {
        permission.roles().contains(&self)
    }

    /// Whether a holder of this role in organisation `org` may see the private metadata of a
    /// record written under a certificate of organisation `owner` (`None`: not known): an
    /// auditor always ([`Permission::AuditMetadata`]), a reader of the same organisation
    /// ([`Permission::ReadMetadata`]), nobody else.
    pub fn may_read_metadata(self, org: &str, owner: Option<&str>) -> bool {
        self.may(Permission::AuditMetadata)
            || (self.may(Permission::ReadMetadata) && owner == Some(org))
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A name that is not one of the roles.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown role {0:?} (admin, writer, reader, auditor or node)")]
pub struct UnknownRole(pub String);

impl FromStr for Role {
    type Err = UnknownRole;

    fn from_str(s: &str) -> Result<Role, UnknownRole> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| UnknownRole(s.to_owned()))
    }
}

impl Serialize for Role {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Role {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Role, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// An action that needs a role. Each transaction payload needs exactly one; reading private
/// record metadata through the API needs one of the two read permissions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Permission {
    /// Record evidence (`writer`).
    WriteEvidence,
    /// Revoke a certificate of one's own organisation, or add a CA to it (`admin`).
    ManageCertificates,
    /// Propose and vote on governance proposals for one's organisation (`admin`).
    Govern,
    /// Read the private metadata of records written by one's own organisation (`reader`).
    ReadMetadata,
    /// Read the private metadata of every organisation's records (`auditor`).
    AuditMetadata,
    /// Write an audit note (`auditor`): the one write an auditor may make.
    WriteAuditNote,
    /// Deploy a contract (`admin`; also `writer` when the chain parameter
    /// `contract.deployers` is 1).
    DeployContract,
    /// Call a contract (`writer`, `admin`; the contract decides what each may do).
    CallContract,
}

impl Permission {
    /// The permission's name, as error messages and `docs/pki.md` spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            Permission::WriteEvidence => "evidence.write",
            Permission::ManageCertificates => "certificates.manage",
            Permission::Govern => "governance.vote",
            Permission::ReadMetadata => "metadata.read",
            Permission::AuditMetadata => "metadata.audit",
            Permission::WriteAuditNote => "audit.note",
            Permission::DeployContract => "contract.deploy",
            Permission::CallContract => "contract.call",
        }
    }

    /// The roles granted this permission.
    pub fn roles(self) -> &'static [Role] {
        match self {
            Permission::WriteEvidence => &[Role::Writer],
            Permission::ManageCertificates | Permission::Govern => &[Role::Admin],
            Permission::ReadMetadata => &[Role::Reader],
            Permission::AuditMetadata | Permission::WriteAuditNote => &[Role::Auditor],
            Permission::DeployContract | Permission::CallContract => &[Role::Admin, Role::Writer],
        }
    }
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a certificate was revoked: the RFC 5280 `CRLReason` codes Kexin accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RevocationReason {
    /// 0: no reason given.
    Unspecified,
    /// 1: the private key is compromised.
    KeyCompromise,
    /// 2: the issuing CA's key is compromised.
    CaCompromise,
    /// 3: the holder left the organisation or changed role.
    AffiliationChanged,
    /// 4: replaced by a new certificate (rotation).
    Superseded,
    /// 5: the holder no longer operates (a node retired).
    CessationOfOperation,
    /// 9: the holder's privileges were withdrawn.
    PrivilegeWithdrawn,
}

impl RevocationReason {
    /// Every reason.
    pub const ALL: [RevocationReason; 7] = [
        RevocationReason::Unspecified,
        RevocationReason::KeyCompromise,
        RevocationReason::CaCompromise,
        RevocationReason::AffiliationChanged,
        RevocationReason::Superseded,
        RevocationReason::CessationOfOperation,
        RevocationReason::PrivilegeWithdrawn,
    ];

    /// The RFC 5280 code.
    pub fn code(self) -> u8 {
        match self {
            RevocationReason::Unspecified => 0,
            RevocationReason::KeyCompromise => 1,
            RevocationReason::CaCompromise => 2,
            RevocationReason::AffiliationChanged => 3,
            RevocationReason::Superseded => 4,
            RevocationReason::CessationOfOperation => 5,
            RevocationReason::PrivilegeWithdrawn => 9,
        }
    }

    /// The name used on the command line and in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            RevocationReason::Unspecified => "unspecified",
            RevocationReason::KeyCompromise => "key-compromise",
            RevocationReason::CaCompromise => "ca-compromise",
            RevocationReason::AffiliationChanged => "affiliation-changed",
            RevocationReason::Superseded => "superseded",
            RevocationReason::CessationOfOperation => "cessation-of-operation",
            RevocationReason::PrivilegeWithdrawn => "privilege-withdrawn",
        }
    }

    /// The reason of an RFC 5280 code.
    pub fn from_code(code: u8) -> Option<RevocationReason> {
        RevocationReason::ALL.into_iter().find(|r| r.code() == code)
    }

    /// Reads the `u8` RFC 5280 code, refusing codes Kexin does not accept.
    pub(crate) fn read(r: &mut Reader<'_>) -> Result<RevocationReason, DecodeError> {
        let code = r.u8("revocation reason")?;
        RevocationReason::from_code(code).ok_or_else(|| {
            DecodeError::invalid(
                "revocation reason",
                format!("unknown RFC 5280 reason code {code}"),
            )
        })
    }
}

impl fmt::Display for RevocationReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for RevocationReason {
    type Err = String;

    fn from_str(s: &str) -> Result<RevocationReason, String> {
        RevocationReason::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| {
                let names: Vec<&str> = RevocationReason::ALL.iter().map(|r| r.as_str()).collect();
                format!(
                    "unknown revocation reason {s:?} (one of {})",
                    names.join(", ")
                )
            })
    }
}

impl Serialize for RevocationReason {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for RevocationReason {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<RevocationReason, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// The DER bytes of an X.509 certificate (at most [`MAX_CERT_BYTES`]); hex in JSON.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CertDer(pub Vec<u8>);

impl CertDer {
    /// The certificate id: `H("kexin:cert:v1" || DER)` with the chain's hash.
    pub fn id(&self, suite: Suite) -> Hash {
        suite.hash_parts(&[CERT_ID_DOMAIN, &self.0])
    }

    /// The DER bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    pub(crate) fn check_len(&self, field: &'static str) -> Result<(), DecodeError> {
        if self.0.is_empty() {
            return Err(DecodeError::invalid(field, "must not be empty"));
        }
        if self.0.len() > MAX_CERT_BYTES {
            return Err(DecodeError::TooLarge {
                field,
                limit: MAX_CERT_BYTES as u64,
                actual: self.0.len() as u64,
            });
        }
        Ok(())
    }

    pub(crate) fn put(&self, out: &mut Vec<u8>) {
        out.put_u16(self.0.len() as u16);
        out.extend_from_slice(&self.0);
    }

    pub(crate) fn read(r: &mut Reader<'_>, field: &'static str) -> Result<CertDer, DecodeError> {
        let len = r.u16(field)? as usize;
        if len > MAX_CERT_BYTES {
            return Err(DecodeError::TooLarge {
                field,
                limit: MAX_CERT_BYTES as u64,
                actual: len as u64,
            });
        }
        let der = CertDer(r.take(field, len)?.to_vec());
        der.check_len(field)?;
        Ok(der)
    }
}

impl fmt::Debug for CertDer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CertDer({} bytes)", self.0.len())
    }
}

impl Serialize for CertDer {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(&self.0))
    }
}

impl<'de> Deserialize<'de> for CertDer {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<CertDer, D::Error> {
        let s = String::deserialize(d)?;
        let bytes = hex::decode(&s)
            .map_err(|e| serde::de::Error::custom(format!("certificate must be hex DER: {e}")))?;
        let der = CertDer(bytes);
        der.check_len("certificate")
            .map_err(serde::de::Error::custom)?;
        Ok(der)
    }
}

/// Checks an organisation name: 1..=64 bytes of `[A-Za-z0-9._-]` (the same rule the PKI
/// applies to names in certificates).
pub fn validate_org_name(name: &str) -> Result<(), DecodeError> {
    let ok = !name.is_empty()
        && name.len() <= MAX_NAME_BYTES
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(DecodeError::invalid(
            "organisation name",
            format!("{name:?} must be 1..={MAX_NAME_BYTES} bytes of [A-Za-z0-9._-]"),
        ))
    }
}

/// A consortium member as genesis lists it: a name and the CA certificates it issues under.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Organisation {
    /// The organisation name, as in its certificates' `O=`.
    pub name: String,
    /// Its CA certificates (1..=[`MAX_ORG_CAS`]; more than one during a CA rotation).
    pub ca_certs: Vec<CertDer>,
}

impl Organisation {
    /// Checks name and sizes (the X.509 content is checked by the node with `kexin-pki`).
    pub fn validate(&self) -> Result<(), DecodeError> {
        validate_org_name(&self.name)?;
        if self.ca_certs.is_empty() || self.ca_certs.len() > MAX_ORG_CAS {
            return Err(DecodeError::invalid(
                "organisation CAs",
                format!(
                    "organisation {} needs 1..={MAX_ORG_CAS} CA certificates, has {}",
                    self.name,
                    self.ca_certs.len()
                ),
            ));
        }
        for (i, c) in self.ca_certs.iter().enumerate() {
            c.check_len("CA certificate")?;
            if self.ca_certs[..i].contains(c) {
                return Err(DecodeError::invalid(
                    "organisation CAs",
                    format!("organisation {} lists a CA certificate twice", self.name),
                ));
            }
        }
        Ok(())
    }
}

impl Encode for Organisation {
    fn encode_to(&self, out: &mut Vec<u8>) {
        out.put_str8(&self.name);
        out.put_u8(self.ca_certs.len() as u8);
        for c in &self.ca_certs {
            c.put(out);
        }
    }
}

impl Decode for Organisation {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let name = r.str8("organisation name", MAX_NAME_BYTES)?;
        let n = r.u8("organisation CA count")? as usize;
        if n > MAX_ORG_CAS {
            return Err(DecodeError::TooLarge {
                field: "organisation CA count",
                limit: MAX_ORG_CAS as u64,
                actual: n as u64,
            });
        }
        let mut ca_certs = Vec::with_capacity(n);
        for _ in 0..n {
            ca_certs.push(CertDer::read(r, "CA certificate")?);
        }
        let org = Organisation { name, ca_certs };
        org.validate()?;
        Ok(org)
    }
}

/// Value of [`StateKey::Org`](crate::state::StateKey::Org): an organisation's current CAs.
/// Absent means "as in genesis".
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrgState {
    /// The organisation and its CA certificates now.
    pub org: Organisation,
    /// The height its CA set last changed.
    pub updated_at: u64,
}

impl Encode for OrgState {
    fn encode_to(&self, out: &mut Vec<u8>) {
        self.org.encode_to(out);
        out.put_u64(self.updated_at);
    }
}

impl Decode for OrgState {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(OrgState {
            org: Organisation::decode_from(r)?,
            updated_at: r.u64("updated_at")?,
        })
    }
}

/// A revocation as the registry records it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Revocation {
    /// The height of the block that revoked it: the certificate is refused from this block on.
    pub height: u64,
    /// Why.
    pub reason: RevocationReason,
}

/// Value of [`StateKey::Cert`](crate::state::StateKey::Cert): a certificate the chain has
/// seen, as checked when it was registered.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertState {
    /// Issuing organisation (`O=`).
    pub org: String,
    /// Holder name (`CN=`).
    pub name: String,
    /// Role (`OU=`).
    pub role: Role,
    /// The certified key: transactions under this certificate must be signed by it.
    pub public_key: PublicKey,
    /// Id of the CA certificate that issued it.
    pub issuer: Hash,
    /// Hex of the X.509 serial number.
    pub serial: String,
    /// Start of validity, ms since the Unix epoch.
    pub not_before_ms: u64,
    /// End of validity, ms since the Unix epoch.
    pub not_after_ms: u64,
    /// The height it was registered at.
    pub registered_at: u64,
    /// Set once revoked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked: Option<Revocation>,
}

impl Encode for CertState {
    fn encode_to(&self, out: &mut Vec<u8>) {
        out.put_str8(&self.org);
        out.put_str8(&self.name);
        out.put_u8(self.role.code());
        encode_public_key(out, &self.public_key);
        out.extend_from_slice(self.issuer.as_bytes());
        out.put_str8(&self.serial);
        out.put_u64(self.not_before_ms);
        out.put_u64(self.not_after_ms);
        out.put_u64(self.registered_at);
        match &self.revoked {
            None => out.put_u8(0),
            Some(r) => {
                out.put_u8(1);
                out.put_u64(r.height);
                out.put_u8(r.reason.code());
            }
        }
    }
}

impl Decode for CertState {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let org = r.str8("org", MAX_NAME_BYTES)?;
        let name = r.str8("name", MAX_NAME_BYTES)?;
        let code = r.u8("role")?;
        let role = Role::from_code(code)
            .ok_or_else(|| DecodeError::invalid("role", format!("unknown role code {code}")))?;
        let public_key = decode_public_key(r, "public key")?;
        let issuer = r.hash("issuer")?;
        let serial = r.str8("serial", MAX_SERIAL_HEX)?;
        let not_before_ms = r.u64("not_before_ms")?;
        let not_after_ms = r.u64("not_after_ms")?;
        let registered_at = r.u64("registered_at")?;
        let revoked = if r.flag("revoked tag")? {
            let height = r.u64("revoked height")?;
            let reason = RevocationReason::read(r)?;
            Some(Revocation { height, reason })
        } else {
            None
        };
        Ok(CertState {
            org,
            name,
            role,
            public_key,
            issuer,
            serial,
            not_before_ms,
            not_after_ms,
            registered_at,
            revoked,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kexin_crypto::SigningKey;

    #[test]
    fn roles_and_reasons_round_trip_names_and_codes() {
        for r in Role::ALL {
            assert_eq!(r.as_str().parse::<Role>().unwrap(), r);
            assert_eq!(Role::from_code(r.code()), Some(r));
        }
        assert!("root".parse::<Role>().is_err());
        assert_eq!(Role::from_code(0), None);
        for r in RevocationReason::ALL {
            assert_eq!(r.as_str().parse::<RevocationReason>().unwrap(), r);
            assert_eq!(RevocationReason::from_code(r.code()), Some(r));
        }
        assert_eq!(
            RevocationReason::from_code(6),
            None,
            "certificateHold is not supported"
        );
    }

    #[test]
    fn permission_table() {
        assert!(Role::Writer.may(Permission::WriteEvidence));
        for r in [Role::Admin, Role::Reader, Role::Auditor, Role::Node] {
            assert!(!r.may(Permission::WriteEvidence), "{r}");
        }
        assert!(Role::Admin.may(Permission::ManageCertificates));
        for r in [Role::Writer, Role::Reader, Role::Auditor, Role::Node] {
            assert!(!r.may(Permission::ManageCertificates), "{r}");
            assert!(!r.may(Permission::Govern), "{r}");
        }
        assert!(Role::Admin.may(Permission::Govern));
        assert!(Role::Reader.may(Permission::ReadMetadata));
        assert!(Role::Auditor.may(Permission::AuditMetadata));
        for r in [Role::Admin, Role::Writer, Role::Auditor, Role::Node] {
            assert!(!r.may(Permission::ReadMetadata), "{r}");
        }
        for r in [Role::Admin, Role::Writer, Role::Reader, Role::Node] {
            assert!(!r.may(Permission::AuditMetadata), "{r}");
        }
    }

    #[test]
    fn who_reads_metadata() {
        // A reader reads its own organisation's records only; an auditor reads every
        // organisation's; no other role reads any, not even its own organisation's.
        assert!(Role::Reader.may_read_metadata("org1", Some("org1")));
        assert!(!Role::Reader.may_read_metadata("org1", Some("org2")));
        assert!(!Role::Reader.may_read_metadata("org1", None));
        for owner in [Some("org1"), Some("org2"), None] {
            assert!(Role::Auditor.may_read_metadata("org1", owner));
        }
        for r in [Role::Admin, Role::Writer, Role::Node] {
            assert!(!r.may_read_metadata("org1", Some("org1")), "{r}");
        }
    }

    #[test]
    fn cert_state_round_trips_and_refuses_bad_codes() {
        let key = SigningKey::from_seed(Suite::Gm, &[7; 32]).unwrap();
        let mut s = CertState {
            org: "org1".into(),
            name: "alice".into(),
            role: Role::Writer,
            public_key: key.public_key(),
            issuer: Suite::Gm.hash(b"ca"),
            serial: "0a0b".into(),
            not_before_ms: 1,
            not_after_ms: 2,
            registered_at: 3,
            revoked: None,
        };
        assert_eq!(CertState::decode(&s.encode()).unwrap(), s);
        s.revoked = Some(Revocation {
            height: 9,
            reason: RevocationReason::KeyCompromise,
        });
        let bytes = s.encode();
        assert_eq!(CertState::decode(&bytes).unwrap(), s);
        let mut bad = bytes.clone();
        *bad.last_mut().unwrap() = 6;
        assert!(CertState::decode(&bad).is_err());
    }

    #[test]
    fn organisations_are_checked() {
        let org = Organisation {
            name: "org1".into(),
            ca_certs: vec![CertDer(vec![0x30, 1, 0])],
        };
        assert_eq!(Organisation::decode(&org.encode()).unwrap(), org);
        for bad in ["", "a b", "é", &"x".repeat(65)] {
            let o = Organisation {
                name: bad.into(),
                ..org.clone()
            };
            assert!(o.validate().is_err(), "{bad:?}");
        }
        let none = Organisation {
            ca_certs: vec![],
            ..org.clone()
        };
        assert!(none.validate().is_err());
        let twice = Organisation {
            ca_certs: vec![org.ca_certs[0].clone(), org.ca_certs[0].clone()],
            ..org.clone()
        };
        assert!(twice.validate().is_err());
        let big = Organisation {
            ca_certs: vec![CertDer(vec![0; MAX_CERT_BYTES + 1])],
            ..org
        };
        assert!(big.validate().is_err());
    }
}
