//! Private key files: PKCS#8 PEM, written owner-only and never overwritten.

use std::fs::{self, OpenOptions};
use std::io::{IsTerminal as _, Write as _};
use std::path::{Path, PathBuf};

use kexin_crypto::SigningKey;

/// Why a key file could not be read or written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyFileError {
    /// Reading, creating or writing the file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The file exists; keys are never overwritten.
    #[error("{0} already exists; refusing to overwrite a key file")]
    Exists(PathBuf),
    /// The key is encrypted and no passphrase was given, or the passphrase does not decrypt it.
    #[error("{path}: {source}")]
    Passphrase {
        /// The file.
        path: PathBuf,
        /// [`CryptoError::KeyEncrypted`](kexin_crypto::CryptoError::KeyEncrypted) or
        /// [`CryptoError::WrongPassphrase`](kexin_crypto::CryptoError::WrongPassphrase).
        source: kexin_crypto::CryptoError,
    },
    /// The file is not a PKCS#8 PEM Ed25519 or SM2 private key.
    #[error("{path}: {reason}")]
    BadKey {
        /// The file.
        path: PathBuf,
        /// Why it was refused.
        reason: String,
    },
}

impl KeyFileError {
    /// A stable, machine-readable error code.
    pub fn code(&self) -> &'static str {
        match self {
            KeyFileError::Io { .. } => "io",
            KeyFileError::Exists(_) => "exists",
            KeyFileError::Passphrase {
                source: kexin_crypto::CryptoError::KeyEncrypted,
                ..
            } => "key_encrypted",
            KeyFileError::Passphrase { .. } => "wrong_passphrase",
            KeyFileError::BadKey { .. } => "bad_key",
        }
    }
}

/// Reads a PKCS#8 PEM private key (Ed25519 for `intl`, SM2 for `gm`), plain or encrypted: its
/// passphrase from `KEXIN_KEY_PASSPHRASE_FILE` or `KEXIN_KEY_PASSPHRASE`, else asked on the
/// terminal (without echo) when standard input is one.
pub fn load_key(path: impl AsRef<Path>) -> Result<SigningKey, KeyFileError> {
    let path = path.as_ref();
    let pem = fs::read_to_string(path).map_err(|source| KeyFileError::Io {
        path: path.to_owned(),
        source,
    })?;
    let read = match SigningKey::from_pem_env(&pem) {
        // No passphrase in the environment: ask the terminal, if there is one.
        Err(kexin_crypto::CryptoError::KeyEncrypted) if std::io::stdin().is_terminal() => {
            let passphrase =
                rpassword::prompt_password(format!("passphrase for {}: ", path.display()))
                    .map(zeroize::Zeroizing::new)
                    .map_err(|source| KeyFileError::Io {
                        path: path.to_owned(),
                        source,
                    })?;
            SigningKey::from_pem(&pem, Some(passphrase.as_bytes()))
        }
        other => other,
    };
    read.map_err(|e| match e {
        kexin_crypto::CryptoError::KeyEncrypted | kexin_crypto::CryptoError::WrongPassphrase => {
            KeyFileError::Passphrase {
                path: path.to_owned(),
                source: e,
            }
        }
        e => KeyFileError::BadKey {
            path: path.to_owned(),
            reason: e.to_string(),
        },
    })
}

/// Writes `key` as PKCS#8 PEM to a new file readable by its owner only (mode 0600), creating
/// the parent directory (mode 0700) when missing. Refuses to overwrite an existing file.
pub fn save_key(path: impl AsRef<Path>, key: &SigningKey) -> Result<(), KeyFileError> {
    save_pem(path.as_ref(), &key.to_pkcs8_pem())
}

/// [`save_key`], the key encrypted under `passphrase` (encrypted PKCS#8: PBES2, scrypt,
/// AES-256-CBC), which [`load_key`] and OpenSSL 3 read with the passphrase.
pub fn save_encrypted_key(
    path: impl AsRef<Path>,
    key: &SigningKey,
    passphrase: &[u8],
) -> Result<(), KeyFileError> {
    let path = path.as_ref();
    let pem = key
        .to_encrypted_pkcs8_pem(passphrase)
        .map_err(|e| KeyFileError::BadKey {
            path: path.to_owned(),
            reason: e.to_string(),
        })?;
    save_pem(path, &pem)
}

fn save_pem(path: &Path, pem: &str) -> Result<(), KeyFileError> {
    let io = |source| KeyFileError::Io {
        path: path.to_owned(),
        source,
    };
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty())
        && !parent.exists()
    {
        let mut b = fs::DirBuilder::new();
        b.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut b, 0o700);
        b.create(parent).map_err(io)?;
    }
    let mut opts = OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    let mut file = match opts.open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            return Err(KeyFileError::Exists(path.to_owned()));
        }
        Err(e) => return Err(io(e)),
    };
    let written = file
        .write_all(pem.as_bytes())
        .and_then(|()| file.sync_all());
    if let Err(e) = written {
        drop(file);
        let _ = fs::remove_file(path);
        return Err(io(e));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use kexin_crypto::Suite;

    #[test]
    fn round_trip_both_suites() {
        let dir = tempfile::tempdir().unwrap();
        for suite in [Suite::Gm, Suite::Intl] {
            let key = SigningKey::generate(suite);
            let path = dir.path().join(format!("sub/{suite}.pem"));
            save_key(&path, &key).unwrap();
            let back = load_key(&path).unwrap();
            assert_eq!(back.public_key(), key.public_key());
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt as _;
                let mode = fs::metadata(&path).unwrap().permissions().mode();
                assert_eq!(mode & 0o777, 0o600);
            }
        }
    }

    #[test]
    fn refuses_to_overwrite() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k.pem");
        let key = SigningKey::generate(Suite::Intl);
        save_key(&path, &key).unwrap();
        let other = SigningKey::generate(Suite::Intl);
        let err = save_key(&path, &other).unwrap_err();
        assert!(matches!(err, KeyFileError::Exists(_)), "{err}");
        assert_eq!(load_key(&path).unwrap().public_key(), key.public_key());
    }

    #[test]
    fn bad_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("junk.pem");
        fs::write(&path, "not a key").unwrap();
        assert_eq!(load_key(&path).unwrap_err().code(), "bad_key");
        assert_eq!(
            load_key(dir.path().join("missing")).unwrap_err().code(),
            "io"
        );
    }
}
