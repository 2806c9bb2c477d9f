//! Identities: a certificate and the private key it certifies, kept as a directory with
//! `cert.pem` and `key.pem` (what `kexin cert issue` and `kexin net up` write). Transactions
//! on a chain with organisations are signed under one.

use std::path::{Path, PathBuf};

use kexin_crypto::{Hash, PublicKey, SigningKey, Suite};
use kexin_pki::{Certificate, Role};
use kexin_types::{CertDer, Payload, Transaction};

use crate::keys::{KeyFileError, load_key};

/// The certificate file of an identity directory.
pub const IDENTITY_CERT: &str = "cert.pem";
/// The private key file of an identity directory.
pub const IDENTITY_KEY: &str = "key.pem";

/// Why an identity could not be loaded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IdentityError {
    /// `cert.pem` or `key.pem` is missing.
    #[error(
        "{path} does not exist: an identity directory holds cert.pem and key.pem (made by \
         kexin cert issue, or kexin net up's D/orgK/admin and D/orgK/writer)"
    )]
    Missing {
        /// The missing file.
        path: PathBuf,
    },
    /// The certificate file cannot be read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The certificate file is not a PEM X.509 certificate of the Kexin profile.
    #[error("{path}: {reason}")]
    BadCert {
        /// The file.
        path: PathBuf,
        /// Why it was refused.
        reason: String,
    },
    /// The key file cannot be used.
    #[error(transparent)]
    Key(#[from] KeyFileError),
    /// The key is not the one the certificate certifies.
    #[error(
        "{key} does not match {cert}: the certificate certifies key {certified}, the key file \
         holds {actual}"
    )]
    KeyMismatch {
        /// The certificate file.
        cert: PathBuf,
        /// The key file.
        key: PathBuf,
        /// The key in the certificate.
        certified: String,
        /// The key in the key file.
        actual: String,
    },
}

impl IdentityError {
    /// A stable, machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            IdentityError::Missing { .. } => "identity_missing",
            IdentityError::Io { .. } => "io",
            IdentityError::BadCert { .. } => "cert_malformed",
            IdentityError::Key(e) => e.code(),
            IdentityError::KeyMismatch { .. } => "identity_key_mismatch",
        }
    }
}

/// A certificate and its private key: who a transaction acts as on a chain with
/// organisations.
#[derive(Clone)]
pub struct Identity {
    dir: PathBuf,
    cert: Certificate,
    der: CertDer,
    key: SigningKey,
    role: Role,
}

impl std::fmt::Debug for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Identity")
            .field("dir", &self.dir)
            .field("org", &self.org())
            .field("name", &self.name())
            .field("role", &self.role())
            .field("public_key", &self.key.public_key())
            .finish_non_exhaustive()
    }
}

impl Identity {
    /// Loads `dir/cert.pem` and `dir/key.pem`, checking that the key is the one the
    /// certificate certifies and that the certificate carries an organisation, a name and a
    /// role. (Whether the chain accepts it — its CA, validity, revocation — is the chain's
    /// to say.)
    pub fn load(dir: impl AsRef<Path>) -> Result<Identity, IdentityError> {
        let dir = dir.as_ref();
        let cert_path = dir.join(IDENTITY_CERT);
        let key_path = dir.join(IDENTITY_KEY);
        for p in [&cert_path, &key_path] {
            if !p.exists() {
                return Err(IdentityError::Missing { path: p.clone() });
            }
        }
        let pem = std::fs::read_to_string(&cert_path).map_err(|source| IdentityError::Io {
            path: cert_path.clone(),
            source,
        })?;
        let bad = |reason: String| IdentityError::BadCert {
            path: cert_path.clone(),
            reason,
        };
        let cert = Certificate::from_pem(&pem).map_err(|e| bad(e.to_string()))?;
        let key = load_key(&key_path)?;
        let certified = cert
            .public_key(key.suite())
            .map_err(|e| bad(format!("{e} (the key file holds a {} key)", key.suite())))?;
        if certified != key.public_key() {
            return Err(IdentityError::KeyMismatch {
                cert: cert_path,
                key: key_path,
                certified: certified.to_hex(),
                actual: key.public_key().to_hex(),
            });
        }
        if cert.is_ca() {
            return Err(bad(
                "a CA certificate cannot act as a node or user; issue an identity with kexin \
                 cert issue"
                    .into(),
            ));
        }
        let role = match cert.role() {
            None => return Err(bad("the certificate carries no role (OU=)".into())),
            Some(Err(e)) => return Err(bad(e.to_string())),
            Some(Ok(r)) => r,
        };
        if cert.org().is_none() || cert.common_name().is_none() {
            return Err(bad(
                "the certificate names no organisation (O=) or holder (CN=)".into(),
            ));
        }
        let der = CertDer(cert.der().to_vec());
        Ok(Identity {
            dir: dir.to_owned(),
            cert,
            der,
            key,
            role,
        })
    }

    /// The directory it was loaded from.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The certificate.
    pub fn cert(&self) -> &Certificate {
        &self.cert
    }

    /// The certificate's DER, as transactions carry it.
    pub fn cert_der(&self) -> &CertDer {
        &self.der
    }

    /// The private key.
    pub fn key(&self) -> &SigningKey {
        &self.key
    }

    /// The suite of its key.
    pub fn suite(&self) -> Suite {
        self.key.suite()
    }

    /// The signer's public key.
    pub fn public_key(&self) -> PublicKey {
        self.key.public_key()
    }

    /// The certificate id the chain knows it by, `H("kexin:cert:v1" || DER)`.
    pub fn id(&self) -> Hash {
        self.der.id(self.suite())
    }

    /// Its organisation (`O=`).
    pub fn org(&self) -> String {
        self.cert.org().unwrap_or_default()
    }

    /// The holder's name (`CN=`).
    pub fn name(&self) -> String {
        self.cert.common_name().unwrap_or_default()
    }

    /// Its role (`OU=`).
    pub fn role(&self) -> Role {
        self.role
    }

    /// Signs a transaction acting under this identity; `attach` carries the certificate
    /// itself, which the chain needs until it has registered it (its first use).
    pub fn sign(&self, chain_id: &str, nonce: u64, payload: Payload, attach: bool) -> Transaction {
        self.sign_versioned(
            kexin_types::FORMAT_VERSION,
            chain_id,
            nonce,
            payload,
            attach,
        )
    }

    /// Like [`Identity::sign`], in format `version`: the chain's `protocol_version` as
    /// `GET /v1/chain` reports it.
    pub fn sign_versioned(
        &self,
        version: u8,
        chain_id: &str,
        nonce: u64,
        payload: Payload,
        attach: bool,
    ) -> Transaction {
        Transaction::sign_versioned(
            version,
            chain_id,
            &self.key,
            Some((&self.der, attach)),
            nonce,
            payload,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kexin_pki::Terms;

    const T0: u64 = 1_790_000_000_000;

    fn issue_into(dir: &Path, suite: Suite, role: Role) -> (Certificate, SigningKey) {
        let ca_key = SigningKey::generate(suite);
        let terms = Terms {
            serial: 5,
            not_before_ms: T0,
            not_after_ms: T0 + 86_400_000,
        };
        let ca = kexin_pki::self_signed_ca("bank", &ca_key, &terms).unwrap();
        let key = SigningKey::generate(suite);
        let cert =
            kexin_pki::issue(&ca, &ca_key, "alice", role, &key.public_key(), &terms).unwrap();
        std::fs::create_dir_all(dir).unwrap();
        std::fs::write(dir.join(IDENTITY_CERT), cert.to_pem()).unwrap();
        crate::save_key(dir.join(IDENTITY_KEY), &key).unwrap();
        (cert, key)
    }

    #[test]
    fn loads_and_signs_under_the_certificate() {
        let t = tempfile::tempdir().unwrap();
        for suite in [Suite::Intl, Suite::Gm] {
            let dir = t.path().join(suite.to_string());
            let (cert, key) = issue_into(&dir, suite, Role::Writer);
            let id = Identity::load(&dir).unwrap();
            assert_eq!(id.org(), "bank");
            assert_eq!(id.name(), "alice");
            assert_eq!(id.role(), Role::Writer);
            assert_eq!(id.public_key(), key.public_key());
            assert_eq!(id.cert(), &cert);
            assert_eq!(id.id(), CertDer(cert.der().to_vec()).id(suite));
            let rec = crate::evidence_record(suite.hash(b"x"), "x", "text/plain").unwrap();
            let tx = id.sign("c", 3, Payload::Evidence { records: vec![rec] }, true);
            assert_eq!(tx.cert, Some(id.id()));
            assert_eq!(tx.attached_cert.as_ref(), Some(id.cert_der()));
            assert_eq!(tx.signer, key.public_key());
            kexin_types::SealedTx::new(tx).verify("c", suite).unwrap();
            let rec = crate::evidence_record(suite.hash(b"y"), "y", "text/plain").unwrap();
            let tx = id.sign("c", 4, Payload::Evidence { records: vec![rec] }, false);
            assert_eq!(tx.attached_cert, None);
        }
    }

    #[test]
    fn refuses_missing_files_bad_certificates_and_a_foreign_key() {
        let t = tempfile::tempdir().unwrap();
        let dir = t.path().join("alice");

        // Nothing there.
        let e = Identity::load(&dir).unwrap_err();
        assert_eq!(e.code(), "identity_missing");
        assert!(e.to_string().contains("cert.pem"), "{e}");

        // A certificate but no key.
        let (_, _) = issue_into(&dir, Suite::Intl, Role::Writer);
        std::fs::remove_file(dir.join(IDENTITY_KEY)).unwrap();
        let e = Identity::load(&dir).unwrap_err();
        assert_eq!(e.code(), "identity_missing");
        assert!(e.to_string().contains("key.pem"), "{e}");

        // A key that is not the certificate's.
        crate::save_key(dir.join(IDENTITY_KEY), &SigningKey::generate(Suite::Intl)).unwrap();
        let e = Identity::load(&dir).unwrap_err();
        assert_eq!(e.code(), "identity_key_mismatch");
        assert!(e.to_string().contains("does not match"), "{e}");

        // A key of the other suite.
        std::fs::remove_file(dir.join(IDENTITY_KEY)).unwrap();
        crate::save_key(dir.join(IDENTITY_KEY), &SigningKey::generate(Suite::Gm)).unwrap();
        let e = Identity::load(&dir).unwrap_err();
        assert_eq!(e.code(), "cert_malformed");
        assert!(e.to_string().contains("gm key"), "{e}");

        // Junk in either file.
        std::fs::write(dir.join(IDENTITY_CERT), "not a certificate").unwrap();
        assert_eq!(Identity::load(&dir).unwrap_err().code(), "cert_malformed");
        let other = t.path().join("bob");
        issue_into(&other, Suite::Intl, Role::Writer);
        std::fs::write(other.join(IDENTITY_KEY), "not a key").unwrap();
        assert_eq!(Identity::load(&other).unwrap_err().code(), "bad_key");
    }

    #[test]
    fn refuses_a_ca_certificate() {
        let t = tempfile::tempdir().unwrap();
        let key = SigningKey::generate(Suite::Intl);
        let terms = Terms {
            serial: 1,
            not_before_ms: T0,
            not_after_ms: T0 + 1000,
        };
        let ca = kexin_pki::self_signed_ca("bank", &key, &terms).unwrap();
        std::fs::write(t.path().join(IDENTITY_CERT), ca.to_pem()).unwrap();
        crate::save_key(t.path().join(IDENTITY_KEY), &key).unwrap();
        let e = Identity::load(t.path()).unwrap_err();
        assert_eq!(e.code(), "cert_malformed");
        assert!(e.to_string().contains("CA certificate"), "{e}");
    }
}
