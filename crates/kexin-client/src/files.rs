//! Fingerprinting files and building evidence records and transactions.

use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

use kexin_crypto::{Hash, SigningKey, Suite};
use kexin_types::{
    DecodeError, EvidenceRecord, Payload, RecordMetadata, SALT_BYTES, Salt, Transaction,
};

/// Size of the read buffer used to hash files: 1 MiB.
pub const HASH_BUFFER_BYTES: usize = 1024 * 1024;

/// Hashes everything `reader` yields with `suite`'s hash (SM3 for `gm`, SHA-256 for `intl`).
pub fn hash_reader<R: Read>(suite: Suite, reader: R) -> io::Result<Hash> {
    hash_reader_with_progress(suite, reader, |_| {})
}

/// Like [`hash_reader`], calling `progress` with the number of bytes of each chunk read.
pub fn hash_reader_with_progress<R: Read>(
    suite: Suite,
    mut reader: R,
    mut progress: impl FnMut(u64),
) -> io::Result<Hash> {
    let mut hasher = suite.hasher();
    let mut buf = vec![0u8; HASH_BUFFER_BYTES];
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        hasher.update(&buf[..n]);
        progress(n as u64);
    }
    Ok(hasher.finalize())
}

/// Hashes a file with `suite`'s hash, streaming it through a 1 MiB buffer.
pub fn hash_file(suite: Suite, path: impl AsRef<Path>) -> io::Result<Hash> {
    hash_file_with_progress(suite, path, |_| {})
}

/// Like [`hash_file`], calling `progress` with the number of bytes of each chunk read.
pub fn hash_file_with_progress(
    suite: Suite,
    path: impl AsRef<Path>,
    progress: impl FnMut(u64),
) -> io::Result<Hash> {
    let path = path.as_ref();
    let file = File::open(path)
        .map_err(|e| io::Error::new(e.kind(), format!("cannot open {}: {e}", path.display())))?;
    hash_reader_with_progress(suite, file, progress)
        .map_err(|e| io::Error::new(e.kind(), format!("cannot read {}: {e}", path.display())))
}

/// A fresh record salt: 16 bytes from the operating system's random number generator. The
/// salt keeps the public metadata hash from revealing guessable metadata (a label such as a
/// case number), so it must be unpredictable and never reused.
pub fn random_salt() -> Salt {
    let mut salt = [0u8; SALT_BYTES];
    getrandom::fill(&mut salt).expect("operating system RNG unavailable");
    Salt(salt)
}

/// An evidence record for `digest` with a [`random_salt`], checked against the protocol's
/// metadata limits (content type at most 127 bytes, content type + label at most 1024 bytes).
pub fn evidence_record(
    digest: Hash,
    label: impl Into<String>,
    content_type: impl Into<String>,
) -> Result<EvidenceRecord, DecodeError> {
    let record = EvidenceRecord {
        digest,
        metadata: RecordMetadata {
            salt: random_salt(),
            content_type: content_type.into(),
            label: label.into(),
            external_ref: None,
        },
    };
    record.validate()?;
    Ok(record)
}

/// Signs an evidence transaction carrying `records` (1..=4096 of them) with `nonce`, in the
/// default format ([`kexin_types::FORMAT_VERSION`]).
pub fn sign_evidence(
    chain_id: &str,
    key: &SigningKey,
    nonce: u64,
    records: Vec<EvidenceRecord>,
) -> Transaction {
    Transaction::sign(chain_id, key, nonce, Payload::Evidence { records })
}

/// Like [`sign_evidence`], in format `version`: the chain's `protocol_version` as
/// `GET /v1/chain` reports it.
pub fn sign_evidence_versioned(
    version: u8,
    chain_id: &str,
    key: &SigningKey,
    nonce: u64,
    records: Vec<EvidenceRecord>,
) -> Transaction {
    Transaction::sign_versioned(
        version,
        chain_id,
        key,
        None,
        nonce,
        Payload::Evidence { records },
    )
}

/// A media type guessed from a file name's extension; `application/octet-stream` when unknown.
pub fn guess_content_type(path: impl AsRef<Path>) -> &'static str {
    let ext = path
        .as_ref()
        .extension()
        .and_then(|e| e.to_str())
        .map(|e| e.to_ascii_lowercase());
    let Some(ext) = ext else {
        return "application/octet-stream";
    };
    match ext.as_str() {
        "pdf" => "application/pdf",
        "ofd" => "application/ofd",
        "txt" | "text" | "log" => "text/plain",
        "md" | "markdown" => "text/markdown",
        "csv" => "text/csv",
        "htm" | "html" => "text/html",
        "css" => "text/css",
        "js" | "mjs" => "text/javascript",
        "json" => "application/json",
        "xml" => "application/xml",
        "yaml" | "yml" => "application/yaml",
        "toml" => "application/toml",
        "eml" => "message/rfc822",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "bmp" => "image/bmp",
        "tif" | "tiff" => "image/tiff",
        "svg" => "image/svg+xml",
        "mp3" => "audio/mpeg",
        "wav" => "audio/wav",
        "mp4" => "video/mp4",
        "mov" => "video/quicktime",
        "zip" => "application/zip",
        "gz" | "tgz" => "application/gzip",
        "tar" => "application/x-tar",
        "7z" => "application/x-7z-compressed",
        "jar" => "application/java-archive",
        "doc" => "application/msword",
        "docx" => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "xls" => "application/vnd.ms-excel",
        "xlsx" => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "ppt" => "application/vnd.ms-powerpoint",
        "pptx" => "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        "wasm" => "application/wasm",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write as _;

    #[test]
    fn hash_file_matches_one_shot_hash_for_both_suites() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big.bin");
        // Larger than the buffer so several reads happen.
        let data: Vec<u8> = (0..(HASH_BUFFER_BYTES * 2 + 12345))
            .map(|i| (i % 251) as u8)
            .collect();
        std::fs::File::create(&path)
            .unwrap()
            .write_all(&data)
            .unwrap();
        for suite in [Suite::Gm, Suite::Intl] {
            let mut seen = 0u64;
            let h = hash_file_with_progress(suite, &path, |n| seen += n).unwrap();
            assert_eq!(h, suite.hash(&data));
            assert_eq!(seen, data.len() as u64);
        }
    }

    #[test]
    fn known_answers() {
        // SHA-256("abc") and SM3("abc") (GB/T 32905 example 1).
        assert_eq!(
            hash_reader(Suite::Intl, &b"abc"[..]).unwrap().to_hex(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(
            hash_reader(Suite::Gm, &b"abc"[..]).unwrap().to_hex(),
            "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"
        );
    }

    #[test]
    fn missing_file_error_names_the_path() {
        let err = hash_file(Suite::Intl, "/nonexistent/kexin/file").unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::NotFound);
        assert!(err.to_string().contains("/nonexistent/kexin/file"));
    }

    #[test]
    fn salts_are_fresh() {
        let d = Suite::Intl.hash(b"x");
        let a = evidence_record(d, "same label", "text/plain").unwrap();
        let b = evidence_record(d, "same label", "text/plain").unwrap();
        assert_ne!(a.metadata.salt, b.metadata.salt);
        assert_ne!(a.metadata_hash(Suite::Intl), b.metadata_hash(Suite::Intl));
        assert_ne!(random_salt(), random_salt());
    }

    #[test]
    fn records_are_checked_against_limits() {
        let d = Suite::Intl.hash(b"x");
        assert!(evidence_record(d, "a.pdf", "application/pdf").is_ok());
        assert!(evidence_record(d, "a", "x".repeat(128)).is_err());
        assert!(evidence_record(d, "l".repeat(1020), "application/pdf").is_err());
    }

    #[test]
    fn signed_evidence_verifies() {
        for suite in [Suite::Gm, Suite::Intl] {
            let key = SigningKey::generate(suite);
            let rec = evidence_record(suite.hash(b"x"), "x", "text/plain").unwrap();
            let tx = sign_evidence("test-chain", &key, 7, vec![rec]);
            assert_eq!(tx.nonce, 7);
            assert!(
                kexin_types::SealedTx::new(tx)
                    .verify("test-chain", suite)
                    .is_ok()
            );
        }
    }

    #[test]
    fn content_types() {
        assert_eq!(guess_content_type("a/b/Contract.PDF"), "application/pdf");
        assert_eq!(guess_content_type("x.json"), "application/json");
        assert_eq!(guess_content_type("noext"), "application/octet-stream");
        assert_eq!(guess_content_type("x.weird"), "application/octet-stream");
    }
}
