//! Signed reads: how an API request proves which certificate it is made under, so that a node
//! shows private record metadata to those allowed to see it (`docs/pki.md`, "Signed reads").
//!
//! A signed request carries three headers:
//!
//! * `Kexin-Certificate`: the requester's X.509 certificate, hex of its DER;
//! * `Kexin-Timestamp`: when the request was made, decimal milliseconds since the Unix epoch;
//! * `Kexin-Signature`: hex of the 64-byte signature by the certificate's key over
//!   `signing_input("kexin:read:v1", chain_id, str8 method || str16 target || u64 timestamp)`
//!   ([`Domain::signing_input`]), where `target` is the request's path and query exactly as
//!   sent on the request line (`/v1/transactions/ab…?x=1`).
//!
//! Here are the encoding, signing and checking of that signature; which certificates are
//! accepted and what they may read is decided by the node (`kexin-api`).
//!
//! ```
//! use kexin_crypto::{SigningKey, Suite};
//! use kexin_types::signed_read;
//! let key = SigningKey::generate(Suite::Intl);
//! let sig = signed_read::sign(&key, "demo", "GET", "/v1/evidence/00", 1_700_000_000_000).unwrap();
//! signed_read::verify(&key.public_key(), "demo", "GET", "/v1/evidence/00", 1_700_000_000_000, &sig)
//!     .unwrap();
//! ```

use kexin_crypto::{Domain, PublicKey, Signature, SigningKey};

use crate::codec::Writer;
use crate::domains;

/// Header carrying the requester's certificate (hex DER).
pub const CERTIFICATE_HEADER: &str = "kexin-certificate";
/// Header carrying the request time (decimal ms since the Unix epoch).
pub const TIMESTAMP_HEADER: &str = "kexin-timestamp";
/// Header carrying the signature (128 hex digits).
pub const SIGNATURE_HEADER: &str = "kexin-signature";
/// How far a request's timestamp may be from the node's clock, either way: 5 minutes.
pub const MAX_CLOCK_SKEW_MS: u64 = 5 * 60 * 1000;
/// Longest method accepted (`GET`, `HEAD`, ...).
pub const MAX_METHOD_BYTES: usize = 16;
/// Longest request target (path and query) a signature may cover: 8 KiB.
pub const MAX_TARGET_BYTES: usize = 8192;

/// Why a signed read is refused. Each variant has a stable [`SignedReadError::code`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SignedReadError {
    /// A header is missing, or a header, the method or the target is not of the documented form.
    #[error("malformed signed read: {0}")]
    Malformed(String),
    /// The timestamp is more than [`MAX_CLOCK_SKEW_MS`] away from the node's clock.
    #[error(
        "the request timestamp {timestamp_ms} ms is {} s from the node's clock ({now_ms} ms); \
         at most 300 s are accepted: check the client's clock",
        timestamp_ms.abs_diff(*now_ms) / 1000
    )]
    Stale {
        /// The request's timestamp.
        timestamp_ms: u64,
        /// The node's clock.
        now_ms: u64,
    },
    /// The signature does not verify under the certificate's key for this chain, method,
    /// target and timestamp.
    #[error(
        "the request signature does not verify for this chain, method, path and timestamp under \
         the certificate's key"
    )]
    BadSignature,
}

impl SignedReadError {
    /// A stable, machine-readable code: `auth_malformed`, `auth_stale`, `auth_bad_signature`.
    pub fn code(&self) -> &'static str {
        match self {
            SignedReadError::Malformed(_) => "auth_malformed",
            SignedReadError::Stale { .. } => "auth_stale",
            SignedReadError::BadSignature => "auth_bad_signature",
        }
    }
}

/// The signed message after the domain: `str8 method || str16 target || u64 timestamp_ms`.
/// The method is 1..=16 ASCII capital letters; the target starts with `/` and is 1..=8192
/// bytes of visible ASCII (`0x21..=0x7e`; anything else is percent-encoded on the wire).
pub fn message(method: &str, target: &str, timestamp_ms: u64) -> Result<Vec<u8>, SignedReadError> {
    if method.is_empty()
        || method.len() > MAX_METHOD_BYTES
        || !method.bytes().all(|b| b.is_ascii_uppercase())
    {
        return Err(SignedReadError::Malformed(format!(
            "method {method:?} must be 1..={MAX_METHOD_BYTES} capital letters"
        )));
    }
    if !target.starts_with('/')
        || target.len() > MAX_TARGET_BYTES
        || !target.bytes().all(|b| (0x21..=0x7e).contains(&b))
    {
        return Err(SignedReadError::Malformed(format!(
            "the request target must be a path (and query) starting with '/', at most \
             {MAX_TARGET_BYTES} bytes of visible ASCII; got {} bytes",
            target.len()
        )));
    }
    let mut out = Vec::with_capacity(1 + method.len() + 2 + target.len() + 8);
    out.put_str8(method);
    out.put_str16(target);
    out.put_u64(timestamp_ms);
    Ok(out)
}

/// The signature domain of signed reads on `chain_id`: namespace `kexin:read:v1`.
pub fn domain(chain_id: &str) -> Domain {
    Domain::new(domains::READ_SIGNATURE, chain_id)
}

/// The exact bytes signed: `signing_input("kexin:read:v1", chain_id, message(...))`.
pub fn signing_input(
    chain_id: &str,
    method: &str,
    target: &str,
    timestamp_ms: u64,
) -> Result<Vec<u8>, SignedReadError> {
    Ok(domain(chain_id).signing_input(&message(method, target, timestamp_ms)?))
}

/// Signs a read of `target` with `method` at `timestamp_ms` on `chain_id`.
pub fn sign(
    key: &SigningKey,
    chain_id: &str,
    method: &str,
    target: &str,
    timestamp_ms: u64,
) -> Result<Signature, SignedReadError> {
    Ok(key.sign(&domain(chain_id), &message(method, target, timestamp_ms)?))
}

/// Checks a read's signature under `key` (the certificate's key).
pub fn verify(
    key: &PublicKey,
    chain_id: &str,
    method: &str,
    target: &str,
    timestamp_ms: u64,
    signature: &Signature,
) -> Result<(), SignedReadError> {
    key.verify(
        &domain(chain_id),
        &message(method, target, timestamp_ms)?,
        signature,
    )
    .map_err(|_| SignedReadError::BadSignature)
}

/// Checks that `timestamp_ms` is within [`MAX_CLOCK_SKEW_MS`] of `now_ms`, either way.
pub fn check_fresh(timestamp_ms: u64, now_ms: u64) -> Result<(), SignedReadError> {
    if timestamp_ms.abs_diff(now_ms) > MAX_CLOCK_SKEW_MS {
        return Err(SignedReadError::Stale {
            timestamp_ms,
            now_ms,
        });
    }
    Ok(())
}

/// The three headers of a signed read, as `(name, value)` pairs: the certificate DER, the
/// timestamp and the signature, for `method` on `target` at `timestamp_ms`.
pub fn headers(
    key: &SigningKey,
    cert_der: &[u8],
    chain_id: &str,
    method: &str,
    target: &str,
    timestamp_ms: u64,
) -> Result<[(&'static str, String); 3], SignedReadError> {
    let signature = sign(key, chain_id, method, target, timestamp_ms)?;
    Ok([
        (CERTIFICATE_HEADER, hex::encode(cert_der)),
        (TIMESTAMP_HEADER, timestamp_ms.to_string()),
        (SIGNATURE_HEADER, signature.to_hex()),
    ])
}

/// Parses the timestamp header: decimal digits only (no sign, no spaces), at most 20.
pub fn parse_timestamp(value: &str) -> Result<u64, SignedReadError> {
    if value.is_empty() || value.len() > 20 || !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(SignedReadError::Malformed(format!(
            "{TIMESTAMP_HEADER} must be decimal milliseconds since the Unix epoch, got {value:?}"
        )));
    }
    value.parse().map_err(|_| {
        SignedReadError::Malformed(format!("{TIMESTAMP_HEADER} {value:?} is out of range"))
    })
}

/// Parses the signature header: 128 hex digits (either case).
pub fn parse_signature(value: &str) -> Result<Signature, SignedReadError> {
    Signature::from_hex(value).map_err(|e| {
        SignedReadError::Malformed(format!("{SIGNATURE_HEADER} must be 128 hex digits: {e}"))
    })
}

/// Parses the certificate header: hex of 1..=4096 DER bytes (either case).
pub fn parse_certificate(value: &str) -> Result<Vec<u8>, SignedReadError> {
    if value.is_empty() || value.len() > 2 * crate::limits::MAX_CERT_BYTES {
        return Err(SignedReadError::Malformed(format!(
            "{CERTIFICATE_HEADER} must be hex of 1..={} DER bytes",
            crate::limits::MAX_CERT_BYTES
        )));
    }
    hex::decode(value).map_err(|e| {
        SignedReadError::Malformed(format!("{CERTIFICATE_HEADER} must be hex DER: {e}"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use kexin_crypto::Suite;

    #[test]
    fn signing_input_layout() {
        let input = signing_input("c1", "GET", "/v1/x?a=1", 0x0102030405060708).unwrap();
        let mut want = vec![13u8];
        want.extend_from_slice(b"kexin:read:v1");
        want.push(2);
        want.extend_from_slice(b"c1");
        want.push(3);
        want.extend_from_slice(b"GET");
        want.extend_from_slice(&[0, 9]);
        want.extend_from_slice(b"/v1/x?a=1");
        want.extend_from_slice(&[1, 2, 3, 4, 5, 6, 7, 8]);
        assert_eq!(input, want);
    }

    #[test]
    fn signatures_bind_chain_method_target_and_time() {
        for suite in [Suite::Intl, Suite::Gm] {
            let key = SigningKey::from_seed(suite, &[9; 32]).unwrap();
            let pk = key.public_key();
            let sig = sign(&key, "c", "GET", "/v1/a", 5).unwrap();
            verify(&pk, "c", "GET", "/v1/a", 5, &sig).unwrap();
            for (chain, method, target, ts) in [
                ("d", "GET", "/v1/a", 5),
                ("c", "HEAD", "/v1/a", 5),
                ("c", "GET", "/v1/b", 5),
                ("c", "GET", "/v1/a?", 5),
                ("c", "GET", "/v1/a", 6),
            ] {
                assert_eq!(
                    verify(&pk, chain, method, target, ts, &sig),
                    Err(SignedReadError::BadSignature)
                );
            }
            let other = SigningKey::from_seed(suite, &[8; 32]).unwrap();
            assert_eq!(
                verify(&other.public_key(), "c", "GET", "/v1/a", 5, &sig)
                    .unwrap_err()
                    .code(),
                "auth_bad_signature"
            );
        }
    }

    #[test]
    fn refuses_malformed_parts() {
        for (m, t) in [
            ("get", "/v1"),
            ("", "/v1"),
            ("GETTTTTTTTTTTTTTT", "/v1"),
            ("GET", "v1"),
            ("GET", "/v1 x"),
            ("GET", "/v1/\u{e9}"),
        ] {
            assert_eq!(
                message(m, t, 0).unwrap_err().code(),
                "auth_malformed",
                "{m} {t}"
            );
        }
        assert!(message("GET", &format!("/{}", "a".repeat(MAX_TARGET_BYTES - 1)), 0).is_ok());
        assert!(message("GET", &format!("/{}", "a".repeat(MAX_TARGET_BYTES)), 0).is_err());
        for t in [
            "",
            "-1",
            "+5",
            " 5",
            "1.5",
            "123456789012345678901",
            "18446744073709551616",
        ] {
            assert_eq!(
                parse_timestamp(t).unwrap_err().code(),
                "auth_malformed",
                "{t}"
            );
        }
        assert_eq!(parse_timestamp("18446744073709551615").unwrap(), u64::MAX);
        assert!(parse_signature("00").is_err());
        assert!(parse_signature(&"AB".repeat(64)).is_ok());
        assert!(parse_certificate("").is_err());
        assert!(parse_certificate("xyz").is_err());
        assert!(parse_certificate(&"00".repeat(4097)).is_err());
    }

    #[test]
    fn freshness_window_is_five_minutes_either_way() {
        let now = 1_700_000_000_000;
        assert!(check_fresh(now, now).is_ok());
        assert!(check_fresh(now - MAX_CLOCK_SKEW_MS, now).is_ok());
        assert!(check_fresh(now + MAX_CLOCK_SKEW_MS, now).is_ok());
        assert_eq!(
            check_fresh(now - MAX_CLOCK_SKEW_MS - 1, now)
                .unwrap_err()
                .code(),
            "auth_stale"
        );
        assert_eq!(
            check_fresh(now + MAX_CLOCK_SKEW_MS + 1, now)
                .unwrap_err()
                .code(),
            "auth_stale"
        );
        assert!(check_fresh(0, now).is_err());
        assert!(check_fresh(u64::MAX, now).is_err());
    }
}
