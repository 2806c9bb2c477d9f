//! Organisation certificate authorities kept as files, the way `kexin net up` and
//! `kexin ca init` make them and `kexin cert issue|revoke` use them:
//!
//! ```text
//! ORG/ca.pem                       the organisation's self-signed CA certificate
//! ORG/ca-key.pem                   the CA's private key (PKCS#8 PEM, mode 0600)
//! ORG/issued/<name>/<serial>.pem   every certificate the CA issued, by holder name: the
//!                                  CA's issuance record, which `kexin cert revoke` reads
//! ORG/ca-<serial>.pem              a previous CA certificate, kept after a rotation
//! ORG/ca-key-<serial>.pem          its key (mode 0600)
//! ORG/ca-next/{ca.pem,ca-key.pem}  a new CA while its rotation is under way (until the
//!                                  chain has added it; then it becomes ORG/ca.pem)
//! ```
//!
//! An identity (what a client signs with) is a directory holding `cert.pem` and `key.pem`.
//! Production CAs keep their key offline (an HSM or an air-gapped host); this layout is for
//! local networks and for the machine that holds the key.

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::Context as _;
use kexin_crypto::{PublicKey, SigningKey, Suite};
use kexin_pki::{Certificate, Role, Terms};

use crate::init::write_key;

/// The CA certificate, in an organisation's directory.
pub const CA_CERT: &str = "ca.pem";
/// The CA's private key, in an organisation's directory.
pub const CA_KEY: &str = "ca-key.pem";
/// The issuance record, in an organisation's directory: `issued/<name>/<serial>.pem`.
pub const ISSUED: &str = "issued";
/// Where a rotation keeps the new CA (`ca.pem`, `ca-key.pem`) until the chain has added it,
/// in an organisation's directory.
pub const CA_NEXT: &str = "ca-next";
/// An identity's certificate, in its directory.
pub const IDENTITY_CERT: &str = "cert.pem";
/// An identity's private key (mode 0600), in its directory.
pub const IDENTITY_KEY: &str = "key.pem";
/// A node's certificate (role `node`, certifying its validator key), in its node directory.
pub const NODE_CERT: &str = "keys/node-cert.pem";

/// How long a new organisation CA is valid by default: ten years.
pub const CA_VALIDITY_DAYS: u32 = 3650;
/// How long a new node or user certificate is valid by default: one year.
pub const CERT_VALIDITY_DAYS: u32 = 365;
/// New certificates start this long before "now", so that a node whose clock is a little
/// behind does not see them as not yet valid.
pub const CLOCK_SKEW_MS: u64 = 5 * 60 * 1000;
/// Longest validity `days` accepted: 100 years.
pub const MAX_VALIDITY_DAYS: u32 = 36_500;

const DAY_MS: u64 = 86_400_000;

fn now_ms() -> anyhow::Result<u64> {
    Ok(SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .context("the system clock is before 1970")?
        .as_millis() as u64)
}

/// A random positive 63-bit serial number (never 0).
fn random_serial() -> anyhow::Result<u64> {
    let mut b = [0u8; 8];
    getrandom::fill(&mut b).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
    Ok((u64::from_be_bytes(b) & (i64::MAX as u64)).max(1))
}

/// Validity from [`CLOCK_SKEW_MS`] before now to `days` after now, ending no later than
/// `cap_ms` (the issuing CA's own end of validity).
fn terms(days: u32, cap_ms: Option<u64>) -> anyhow::Result<Terms> {
    if days == 0 || days > MAX_VALIDITY_DAYS {
        anyhow::bail!("a validity of {days} days is not in 1..={MAX_VALIDITY_DAYS}");
    }
    let now = now_ms()?;
    let mut not_after_ms = now + u64::from(days) * DAY_MS;
    if let Some(cap) = cap_ms {
        not_after_ms = not_after_ms.min(cap);
    }
    let not_before_ms = now.saturating_sub(CLOCK_SKEW_MS);
    if not_after_ms <= now {
        anyhow::bail!("the CA expired (it was valid until {cap_ms:?} ms); rotate it first");
    }
    Ok(Terms {
        serial: random_serial()?,
        not_before_ms,
        not_after_ms,
    })
}

/// Refuses a name that would leave its directory (`.` and `..` pass the PKI's character set).
fn path_component(what: &str, name: &str) -> anyhow::Result<()> {
    if name.is_empty() || name == "." || name == ".." || name.contains(['/', '\\']) {
        anyhow::bail!("invalid {what} {name:?}: 1..=64 characters of [A-Za-z0-9._-], not . or ..");
    }
    Ok(())
}

/// Writes `text` to a new file; refuses to overwrite.
fn write_new(path: &Path, text: &str) -> anyhow::Result<()> {
    use std::io::Write as _;
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("cannot create {}", parent.display()))?;
    }
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .with_context(|| format!("cannot create {} (it must not exist yet)", path.display()))?;
    f.write_all(text.as_bytes())
        .and_then(|()| f.sync_all())
        .with_context(|| format!("cannot write {}", path.display()))
}

/// Reads one PEM certificate.
pub fn read_cert(path: &Path) -> anyhow::Result<Certificate> {
    let pem =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    Certificate::from_pem(&pem).with_context(|| format!("{} is not a certificate", path.display()))
}

/// An organisation's CA: its certificate and key, kept in a directory.
pub struct OrgCa {
    dir: PathBuf,
    org: String,
    cert: Certificate,
    key: SigningKey,
}

impl std::fmt::Debug for OrgCa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OrgCa")
            .field("dir", &self.dir)
            .field("org", &self.org)
            .field("serial", &self.cert.serial_hex())
            .finish_non_exhaustive()
    }
}

impl OrgCa {
    /// A new CA for `org` (a fresh key of `suite` and a self-signed certificate valid for
    /// `days`, from [`CLOCK_SKEW_MS`] ago), to be kept in `dir`. Nothing is written until
    /// [`OrgCa::save`].
    pub fn generate(dir: &Path, org: &str, suite: Suite, days: u32) -> anyhow::Result<OrgCa> {
        path_component("organisation name", org)?;
        let key = SigningKey::generate(suite);
        let cert = kexin_pki::self_signed_ca(org, &key, &terms(days, None)?)
            .with_context(|| format!("cannot make the CA certificate of {org}"))?;
        Ok(OrgCa {
            dir: dir.to_owned(),
            org: org.to_owned(),
            cert,
            key,
        })
    }

    /// Whether `dir` already holds a CA certificate or key.
    pub fn exists_in(dir: &Path) -> bool {
        dir.join(CA_CERT).exists() || dir.join(CA_KEY).exists()
    }

    /// Writes `ca-key.pem` (mode 0600) and `ca.pem`; refuses to overwrite either.
    pub fn save(&self) -> anyhow::Result<()> {
        if OrgCa::exists_in(&self.dir) {
            anyhow::bail!(
                "{} already holds a CA ({CA_CERT} or {CA_KEY}); choose another directory",
                self.dir.display()
            );
        }
        write_key(&self.dir.join(CA_KEY), &self.key)?;
        write_new(&self.dir.join(CA_CERT), &self.cert.to_pem())
    }

    /// [`OrgCa::generate`] then [`OrgCa::save`].
    pub fn create(dir: &Path, org: &str, suite: Suite, days: u32) -> anyhow::Result<OrgCa> {
        let ca = OrgCa::generate(dir, org, suite, days)?;
        ca.save()?;
        Ok(ca)
    }

    /// Opens the CA kept in `dir`, checking that the key is the certificate's and that the
    /// certificate is a CA naming its organisation.
    pub fn open(dir: &Path) -> anyhow::Result<OrgCa> {
        let cert_path = dir.join(CA_CERT);
        let key_path = dir.join(CA_KEY);
        if !cert_path.exists() {
            anyhow::bail!(
                "no organisation CA in {}: {} does not exist",
                dir.display(),
                cert_path.display()
            );
        }
        let cert = read_cert(&cert_path)?;
        let pem = std::fs::read_to_string(&key_path)
            .with_context(|| format!("cannot read the CA key {}", key_path.display()))?;
        let key = SigningKey::from_pem_env(&pem)
            .map_err(|e| anyhow::anyhow!("{}: {e}", key_path.display()))?;
        if !cert.is_ca() {
            anyhow::bail!("{} is not a CA certificate", cert_path.display());
        }
        let certified = cert
            .public_key(key.suite())
            .with_context(|| format!("{}", cert_path.display()))?;
        if certified != key.public_key() {
            anyhow::bail!(
                "{} is not the key of {}",
                key_path.display(),
                cert_path.display()
            );
        }
        let org = cert
            .org()
            .ok_or_else(|| anyhow::anyhow!("{} names no organisation (O=)", cert_path.display()))?;
        Ok(OrgCa {
            dir: dir.to_owned(),
            org,
            cert,
            key,
        })
    }

    /// The organisation.
    pub fn org(&self) -> &str {
        &self.org
    }

    /// The directory the CA is kept in.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The CA certificate.
    pub fn cert(&self) -> &Certificate {
        &self.cert
    }

    /// The CA's suite.
    pub fn suite(&self) -> Suite {
        self.key.suite()
    }

    /// Issues a certificate to `subject` named `name` with `role`, valid for `days` from
    /// [`CLOCK_SKEW_MS`] ago (but no longer than the CA), with a random serial, and records it
    /// in `issued/<name>/<serial>.pem`.
    pub fn issue(
        &self,
        name: &str,
        role: Role,
        subject: &PublicKey,
        days: u32,
    ) -> anyhow::Result<Certificate> {
        path_component("name", name)?;
        let (_, ca_not_after) = self.cert.validity_ms();
        let cert = kexin_pki::issue(
            &self.cert,
            &self.key,
            name,
            role,
            subject,
            &terms(days, Some(ca_not_after))?,
        )
        .with_context(|| format!("cannot issue a certificate to {name}@{}", self.org))?;
        let record = self
            .dir
            .join(ISSUED)
            .join(name)
            .join(format!("{}.pem", cert.serial_hex()));
        write_new(&record, &cert.to_pem())?;
        Ok(cert)
    }

    /// The certificates the CA issued to `name` (by its record), in serial-file order.
    pub fn issued(&self, name: &str) -> anyhow::Result<Vec<Certificate>> {
        issued_to(&self.dir, name)
    }
}

/// The certificates the CA kept in `org_dir` issued to `name`, by its record
/// (`org_dir/issued/<name>/*.pem`), in file-name order; none if there is no record. Needs no
/// access to the CA key.
pub fn issued_to(org_dir: &Path, name: &str) -> anyhow::Result<Vec<Certificate>> {
    path_component("name", name)?;
    let dir = org_dir.join(ISSUED).join(name);
    let entries = match std::fs::read_dir(&dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e).with_context(|| format!("cannot list {}", dir.display())),
    };
    let mut paths: Vec<PathBuf> = entries
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()
        .with_context(|| format!("cannot list {}", dir.display()))?;
    paths.retain(|p| p.extension().is_some_and(|x| x == "pem"));
    paths.sort();
    paths.iter().map(|p| read_cert(p)).collect()
}

/// The file a previous CA certificate of serial `serial` is kept in after a rotation:
/// `ca-<serial>.pem`.
pub fn archived_cert_name(serial: &str) -> String {
    format!("ca-{serial}.pem")
}

/// The file a previous CA key of serial `serial` is kept in after a rotation:
/// `ca-key-<serial>.pem`.
pub fn archived_key_name(serial: &str) -> String {
    format!("ca-key-{serial}.pem")
}

/// The new CA of a rotation under way in `org_dir` (`org_dir/ca-next`), if there is one.
pub fn pending_ca(org_dir: &Path) -> anyhow::Result<Option<OrgCa>> {
    let dir = org_dir.join(CA_NEXT);
    if !OrgCa::exists_in(&dir) {
        return Ok(None);
    }
    OrgCa::open(&dir)
        .map(Some)
        .with_context(|| format!("the pending CA in {} is unusable", dir.display()))
}

/// Makes and saves a new CA for `org` in `org_dir/ca-next`, the first step of a rotation:
/// the key is on disk before the chain is asked to add the certificate, so an interrupted
/// rotation can be finished with the same CA.
pub fn stage_next_ca(org_dir: &Path, org: &str, suite: Suite, days: u32) -> anyhow::Result<OrgCa> {
    OrgCa::create(&org_dir.join(CA_NEXT), org, suite, days)
}

/// Removes the pending CA of `org_dir` (after the chain refused it).
pub fn discard_next_ca(org_dir: &Path) -> anyhow::Result<()> {
    let dir = org_dir.join(CA_NEXT);
    match std::fs::remove_dir_all(&dir) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e).with_context(|| format!("cannot remove {}", dir.display())),
    }
}

/// Where the previous CA went when a rotation made the pending CA current.
#[derive(Clone, Debug)]
pub struct Promoted {
    /// The previous CA certificate, now `org_dir/ca-<serial>.pem`.
    pub previous_cert: PathBuf,
    /// Its key, now `org_dir/ca-key-<serial>.pem`.
    pub previous_key: PathBuf,
    /// The previous CA's serial (hex).
    pub previous_serial: String,
    /// The previous CA certificate.
    pub previous: Certificate,
}

/// Copies `from` to `to` unless `to` already holds the same bytes; refuses other contents.
/// (`std::fs::copy` keeps the permission bits, so a key stays 0600.)
fn copy_keep(from: &Path, to: &Path) -> anyhow::Result<()> {
    let bytes = std::fs::read(from).with_context(|| format!("cannot read {}", from.display()))?;
    match std::fs::read(to) {
        Ok(existing) if existing == bytes => return Ok(()),
        Ok(_) => anyhow::bail!(
            "{} already exists with other contents; move it away first",
            to.display()
        ),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", to.display())),
    }
    let tmp = to.with_extension("pem.tmp");
    std::fs::copy(from, &tmp)
        .and_then(|_| std::fs::File::open(&tmp)?.sync_all())
        .and_then(|()| std::fs::rename(&tmp, to))
        .with_context(|| format!("cannot copy {} to {}", from.display(), to.display()))
}

/// The last step of a rotation, once the chain has added the pending CA: keeps the current
/// CA as `ca-<serial>.pem` / `ca-key-<serial>.pem` and makes the pending CA (`ca-next/`) the
/// organisation's `ca.pem` / `ca-key.pem`, the one [`OrgCa::open`] (and so `kexin cert
/// issue`) uses. The previous CA is copied before anything is replaced; each replacement is
/// an atomic rename.
pub fn promote_next_ca(org_dir: &Path) -> anyhow::Result<Promoted> {
    let next_dir = org_dir.join(CA_NEXT);
    let next = OrgCa::open(&next_dir)
        .with_context(|| format!("no usable pending CA in {}", next_dir.display()))?;
    let current = OrgCa::open(org_dir)?;
    if current.org() != next.org() {
        anyhow::bail!(
            "{} is a CA of {}, but the pending CA in {} is of {}",
            org_dir.join(CA_CERT).display(),
            current.org(),
            next_dir.display(),
            next.org()
        );
    }
    let serial = current.cert().serial_hex();
    let previous_cert = org_dir.join(archived_cert_name(&serial));
    let previous_key = org_dir.join(archived_key_name(&serial));
    copy_keep(&org_dir.join(CA_CERT), &previous_cert)?;
    copy_keep(&org_dir.join(CA_KEY), &previous_key)?;
    for f in [CA_KEY, CA_CERT] {
        std::fs::rename(next_dir.join(f), org_dir.join(f)).with_context(|| {
            format!(
                "cannot move {} to {}",
                next_dir.join(f).display(),
                org_dir.join(f).display()
            )
        })?;
    }
    // Only an empty directory is removed: anything else left there is the operator's.
    let _ = std::fs::remove_dir(&next_dir);
    Ok(Promoted {
        previous_cert,
        previous_key,
        previous_serial: serial,
        previous: current.cert,
    })
}

/// Writes an identity directory: `dir/cert.pem` and, when given, `dir/key.pem` (mode 0600).
/// Refuses to overwrite either.
pub fn write_identity(
    dir: &Path,
    cert: &Certificate,
    key: Option<&SigningKey>,
) -> anyhow::Result<()> {
    let cert_path = dir.join(IDENTITY_CERT);
    if cert_path.exists() {
        anyhow::bail!("{} already exists", cert_path.display());
    }
    if let Some(key) = key {
        write_key(&dir.join(IDENTITY_KEY), key)?;
    }
    write_new(&cert_path, &cert.to_pem())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn create_open_issue_and_list() {
        let t = tempfile::tempdir().unwrap();
        for suite in [Suite::Intl, Suite::Gm] {
            let dir = t.path().join(format!("bank-{suite}"));
            let ca = OrgCa::create(&dir, "bank", suite, 30).unwrap();
            assert!(dir.join(CA_CERT).is_file());
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt as _;
                let mode = std::fs::metadata(dir.join(CA_KEY))
                    .unwrap()
                    .permissions()
                    .mode();
                assert_eq!(mode & 0o777, 0o600);
            }
            let (nb, na) = ca.cert().validity_ms();
            let now = now_ms().unwrap();
            assert!(nb <= now - CLOCK_SKEW_MS + 1000 && nb + CLOCK_SKEW_MS + 1000 >= now);
            assert!(na > now + 29 * DAY_MS && na <= now + 30 * DAY_MS);
            // A second CA in the same place is refused.
            assert!(OrgCa::create(&dir, "bank", suite, 30).is_err());

            let ca = OrgCa::open(&dir).unwrap();
            assert_eq!(ca.org(), "bank");
            let user = SigningKey::generate(suite);
            let a = ca
                .issue("alice", Role::Writer, &user.public_key(), 365)
                .unwrap();
            let b = ca
                .issue("alice", Role::Writer, &user.public_key(), 365)
                .unwrap();
            assert_ne!(a.serial_hex(), b.serial_hex());
            // Capped at the CA's own end of validity.
            assert!(a.validity_ms().1 <= na);
            let id = kexin_pki::verify(&a, ca.cert(), suite, now).unwrap();
            assert_eq!((id.org.as_str(), id.name.as_str()), ("bank", "alice"));
            let mut issued = ca.issued("alice").unwrap();
            issued.sort_by_key(Certificate::serial_hex);
            let mut want = vec![a, b];
            want.sort_by_key(Certificate::serial_hex);
            assert_eq!(issued, want);
            assert!(ca.issued("bob").unwrap().is_empty());
            assert!(ca.issue("..", Role::Writer, &user.public_key(), 1).is_err());
            assert!(ca.issue("x", Role::Writer, &user.public_key(), 0).is_err());
        }
    }

    #[test]
    fn rotation_stages_then_promotes_and_keeps_the_previous_ca() {
        let t = tempfile::tempdir().unwrap();
        let dir = t.path().join("bank");
        let old = OrgCa::create(&dir, "bank", Suite::Intl, 30).unwrap();
        assert!(pending_ca(&dir).unwrap().is_none());
        let next = stage_next_ca(&dir, "bank", Suite::Intl, 60).unwrap();
        // A second staging is refused; the pending CA is found again.
        assert!(stage_next_ca(&dir, "bank", Suite::Intl, 60).is_err());
        let again = pending_ca(&dir).unwrap().unwrap();
        assert_eq!(again.cert(), next.cert());
        // Until promoted, the organisation's CA is the old one.
        assert_eq!(OrgCa::open(&dir).unwrap().cert(), old.cert());

        let p = promote_next_ca(&dir).unwrap();
        let serial = old.cert().serial_hex();
        assert_eq!(p.previous_serial, serial);
        assert_eq!(&p.previous, old.cert());
        assert_eq!(p.previous_cert, dir.join(format!("ca-{serial}.pem")));
        assert_eq!(read_cert(&p.previous_cert).unwrap(), *old.cert());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&p.previous_key)
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let key =
            SigningKey::from_pkcs8_pem(&std::fs::read_to_string(&p.previous_key).unwrap()).unwrap();
        assert_eq!(
            Some(key.public_key()),
            old.cert().public_key(Suite::Intl).ok()
        );
        let now_ca = OrgCa::open(&dir).unwrap();
        assert_eq!(now_ca.cert(), next.cert());
        assert!(!dir.join(CA_NEXT).exists());
        assert!(pending_ca(&dir).unwrap().is_none());
        // Nothing pending: nothing to promote.
        assert!(promote_next_ca(&dir).is_err());

        // A second rotation keeps the first rotation's CA too.
        stage_next_ca(&dir, "bank", Suite::Intl, 60).unwrap();
        let p2 = promote_next_ca(&dir).unwrap();
        assert_eq!(p2.previous_serial, next.cert().serial_hex());
        assert!(p.previous_cert.is_file() && p2.previous_cert.is_file());

        // A pending CA of another organisation is refused, and discarding removes it.
        OrgCa::create(&dir.join(CA_NEXT), "other", Suite::Intl, 10).unwrap();
        assert!(promote_next_ca(&dir).is_err());
        discard_next_ca(&dir).unwrap();
        assert!(!dir.join(CA_NEXT).exists());
        discard_next_ca(&dir).unwrap();
    }

    #[test]
    fn open_refuses_a_key_that_is_not_the_cas() {
        let t = tempfile::tempdir().unwrap();
        let a = t.path().join("a");
        let b = t.path().join("b");
        OrgCa::create(&a, "a", Suite::Intl, 10).unwrap();
        OrgCa::create(&b, "b", Suite::Intl, 10).unwrap();
        std::fs::remove_file(a.join(CA_KEY)).unwrap();
        std::fs::copy(b.join(CA_KEY), a.join(CA_KEY)).unwrap();
        let err = OrgCa::open(&a).unwrap_err().to_string();
        assert!(err.contains("is not the key of"), "{err}");
        let err = OrgCa::open(&t.path().join("none")).unwrap_err().to_string();
        assert!(err.contains("no organisation CA"), "{err}");
    }
}
