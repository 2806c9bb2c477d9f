//! SM2 (GB/T 32918, with SM3 and the default user id `1234567812345678`) for commonware: key
//! types for p2p identities and an attributable certificate [`Scheme`] for simplex consensus.
//!
//! The signing itself is `kexin-crypto`'s ([`kexin_crypto::SigningKey::sign_raw`] /
//! [`kexin_crypto::PublicKey::verify_raw`]), so a `gm` chain has one SM2 implementation. What
//! this module adds is commonware's conventions: how a namespace is bound into the signed bytes,
//! the canonical encodings, and the certificate layout. Everything below is normative: an
//! offline verifier of finalization certificates needs nothing else.
//!
//! # Encodings
//!
//! * [`PrivateKey`]: the 32-byte big-endian secret scalar `d`, `1 <= d <= n - 2` (`d = n - 1` is
//!   refused because SM2 signing divides by `1 + d`).
//! * [`PublicKey`]: 33 bytes, the compressed SEC1 point `02|03 ‖ x` (prefix `02` when `y` is
//!   even), `x < p`, on the SM2 recommended curve. Other prefixes (including the 1-byte identity
//!   encoding `00`), points off the curve and non-canonical `x` are refused.
//! * [`Signature`]: 64 bytes `r ‖ s`, each 32-byte big-endian with `1 <= r, s <= n - 1`. Any other
//!   value is refused on decode, so each signature has exactly one encoding.
//!
//! Here `p = FFFFFFFE FFFFFFFF FFFFFFFF FFFFFFFF FFFFFFFF 00000000 FFFFFFFF FFFFFFFF` and
//! `n = FFFFFFFE FFFFFFFF FFFFFFFF FFFFFFFF 7203DF6B 21C6052B 53BBF409 39D54123` (the curve order).
//!
//! # What is signed
//!
//! Signing `msg` under `namespace` (commonware's `Signer::sign(namespace, msg)`) follows
//! commonware's rule ([`commonware_utils::union_unique`]): the SM2 message is
//!
//! ```text
//! M = varint(len(namespace)) ‖ namespace ‖ msg
//! ```
//!
//! and the signature is plain SM2 over `M`: `e = SM3(Z_A ‖ M)`, with
//! `Z_A = SM3(0x0080 ‖ "1234567812345678" ‖ a ‖ b ‖ x_G ‖ y_G ‖ x_A ‖ y_A)` (`0x0080`: the id's
//! length in bits, two bytes; the curve parameters and the signer's affine coordinates are 32
//! bytes big-endian each). Nonces are derived deterministically from the key and `e` (RFC 6979
//! style), so signing the same bytes twice gives the same signature, which simplex requires to
//! detect equivocation.
//!
//! A `varint` everywhere in this module is unsigned LEB128 in its shortest form: 7 bits per byte,
//! least significant group first, the high bit set on every byte but the last (`0 -> 00`,
//! `127 -> 7F`, `128 -> 80 01`, `300 -> AC 02`).
//!
//! # Simplex votes
//!
//! Simplex derives one namespace per vote kind from the engine's base namespace `N` by plain
//! concatenation: `N ‖ "_NOTARIZE"`, `N ‖ "_NULLIFY"`, `N ‖ "_FINALIZE"`. A finalize vote (and
//! each signature in a finalization certificate) for the proposal `(epoch, view, parent, payload)`
//! signs, with the namespace and message above:
//!
//! ```text
//! namespace = N ‖ "_FINALIZE"
//! msg       = varint(epoch) ‖ varint(view) ‖ varint(parent_view) ‖ payload   (payload: 32 bytes)
//! M         = varint(len(N) + 9) ‖ N ‖ "_FINALIZE" ‖ msg
//! ```
//!
//! `msg` is the commonware encoding of `simplex::types::Proposal` (a `Round` is `epoch ‖ view`,
//! each a varint; the parent is a view, a varint; the payload is the raw digest). A notarize vote
//! signs the same `msg` under `N ‖ "_NOTARIZE"`; a nullify vote signs
//! `varint(epoch) ‖ varint(view)` under `N ‖ "_NULLIFY"`.
//!
//! Example, `N = "kexin/chain-1"` (13 bytes), epoch 0, view 300, parent view 299, payload
//! `11 × 32`:
//!
//! ```text
//! M = 16 ‖ "kexin/chain-1_FINALIZE" ‖ 00 ‖ AC 02 ‖ AB 02 ‖ 1111…11 (32 bytes)
//! ```
//!
//! # Certificates
//!
//! A [`Certificate`] over a committee of `n` participants, ordered ascending by their 33-byte
//! public keys (commonware's `ordered::Set`; a signer's index is its position there), is
//!
//! ```text
//! u64_be(n)                                 8 bytes: the signer bitmap's length in bits
//! bitmap                                    ceil(n / 8) bytes: participant i signed iff
//!                                           byte[i / 8] & (1 << (i % 8)) != 0; bits at
//!                                           positions >= n are zero
//! varint(k)                                 k = number of set bits, 1 <= k <= n
//! sig_1 ‖ … ‖ sig_k                         64 bytes each, by ascending signer index
//! ```
//!
//! so signers cannot repeat or come out of order. It is valid for a subject when the bitmap
//! length equals the committee size, `k >= n - floor((n - 1) / 3)` (the quorum), and every
//! `sig_j` verifies under its signer's key for the subject's namespace and message. For example,
//! `n = 4` with signers 0, 1 and 3 encodes as
//! `00 00 00 00 00 00 00 04 ‖ 0B ‖ 03 ‖ sig_0 ‖ sig_1 ‖ sig_3`.
//!
//! A simplex `Finalization` (what simplex and marshal store and send) is the encoded `Proposal`
//! (`msg` above) followed by the certificate.
//!
//! # p2p identities
//!
//! [`PrivateKey`] is a commonware [`Signer`](commonware_cryptography::Signer), which is all
//! that the authenticated p2p handshake (`commonware_stream::sake::Sake<S: Signer>`, wrapped by
//! `Cups` and handed to `commonware_p2p::authenticated::lookup::Config`) asks of a node
//! identity; the peer is then known by its SM2 [`PublicKey`].

mod certificate;

pub use certificate::{Certificate, Scheme};

use std::fmt;
use std::hash::{Hash, Hasher};
use std::ops::Deref;

use bytes::BufMut;
use commonware_codec::{Buf, Error as CodecError, FixedSize, Read, ReadExt, Write};
use commonware_cryptography::Secret;
use commonware_math::algebra::Random;
use commonware_utils::{Array, Span, union_unique};
use kexin_crypto::{CryptoError, Suite};
use rand::CryptoRng;
use zeroize::Zeroizing;

/// Length of an encoded [`PrivateKey`].
pub const PRIVATE_KEY_LENGTH: usize = 32;
/// Length of an encoded [`PublicKey`].
pub const PUBLIC_KEY_LENGTH: usize = 33;
/// Length of an encoded [`Signature`].
pub const SIGNATURE_LENGTH: usize = 64;

/// Name used in codec errors.
const NAME: &str = "sm2";

/// The order `n` of the SM2 recommended curve's base point, big-endian.
const ORDER: [u8; 32] = [
    0xFF, 0xFF, 0xFF, 0xFE, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
    0x72, 0x03, 0xDF, 0x6B, 0x21, 0xC6, 0x05, 0x2B, 0x53, 0xBB, 0xF4, 0x09, 0x39, 0xD5, 0x41, 0x23,
];

/// The prime `p` of the SM2 recommended curve's field, big-endian.
const FIELD_PRIME: [u8; 32] = [
    0xFF, 0xFF, 0xFF, 0xFE, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
    0xFF, 0xFF, 0xFF, 0xFF, 0x00, 0x00, 0x00, 0x00, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
];

/// Whether 32 big-endian bytes are a scalar in `[1, n - 1]` (arrays compare lexicographically,
/// which for equal-length big-endian numbers is numeric order).
fn is_nonzero_scalar(bytes: &[u8; 32]) -> bool {
    bytes != &[0u8; 32] && bytes < &ORDER
}

fn write_hex(f: &mut fmt::Formatter<'_>, bytes: &[u8]) -> fmt::Result {
    bytes.iter().try_for_each(|b| write!(f, "{b:02x}"))
}

// ---------------------------------------------------------------------------------------------
// Private key
// ---------------------------------------------------------------------------------------------

/// An SM2 private key (default user id), usable as a commonware
/// [`Signer`](commonware_cryptography::Signer) and p2p identity.
///
/// Encodes as its 32-byte secret scalar. `Debug` and `Display` never show the secret.
#[derive(Clone)]
pub struct PrivateKey {
    /// The secret scalar, for encoding and constant-time comparison.
    raw: Secret<[u8; PRIVATE_KEY_LENGTH]>,
    /// The same key, ready to sign; always the SM2 variant.
    key: kexin_crypto::SigningKey,
}

impl PrivateKey {
    /// The key with secret scalar `scalar` (big-endian), which must be in `[1, n - 2]`.
    pub fn from_scalar(scalar: &[u8; PRIVATE_KEY_LENGTH]) -> Result<Self, CryptoError> {
        let key = kexin_crypto::SigningKey::from_seed(Suite::Gm, scalar)?;
        Ok(Self {
            raw: Secret::new(*scalar),
            key,
        })
    }

    /// The key as a `kexin-crypto` signing key (for PEM export and Kexin's own signatures).
    pub fn to_signing_key(&self) -> kexin_crypto::SigningKey {
        self.key.clone()
    }

    /// Signs exactly `message` (already namespaced by the caller).
    fn sign_prepared(&self, message: &[u8]) -> Signature {
        let kexin_crypto::Signature(raw) = self.key.sign_raw(message);
        Signature::from_raw(raw).expect("SM2 signing yields r and s in [1, n - 1]")
    }
}

impl commonware_cryptography::Signer for PrivateKey {
    type Signature = Signature;
    type PublicKey = PublicKey;

    fn public_key(&self) -> PublicKey {
        match self.key.public_key() {
            kexin_crypto::PublicKey::Sm2(raw) => PublicKey { raw },
            _ => unreachable!("an SM2 key has an SM2 public key"),
        }
    }

    fn sign(&self, namespace: &[u8], msg: &[u8]) -> Signature {
        self.sign_prepared(&union_unique(namespace, msg))
    }
}

impl commonware_cryptography::PrivateKey for PrivateKey {}

impl Random for PrivateKey {
    /// Samples uniformly from `[1, n - 2]` by rejection (a draw is out of range with probability
    /// about 2^-32).
    fn random(mut rng: impl CryptoRng) -> Self {
        loop {
            let mut scalar = Zeroizing::new([0u8; PRIVATE_KEY_LENGTH]);
            rng.fill_bytes(scalar.as_mut());
            if let Ok(key) = Self::from_scalar(&scalar) {
                return key;
            }
        }
    }
}

impl PartialEq for PrivateKey {
    fn eq(&self, other: &Self) -> bool {
        self.raw == other.raw
    }
}

impl Eq for PrivateKey {}

impl Write for PrivateKey {
    fn write(&self, buf: &mut impl BufMut) {
        self.raw.expose(|raw| buf.put_slice(raw));
    }
}

impl Read for PrivateKey {
    type Cfg = ();

    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        let raw = Zeroizing::new(<[u8; PRIVATE_KEY_LENGTH]>::read(buf)?);
        Self::from_scalar(&raw)
            .map_err(|_| CodecError::Invalid(NAME, "private key scalar not in [1, n - 2]"))
    }
}

impl FixedSize for PrivateKey {
    const SIZE: usize = PRIVATE_KEY_LENGTH;
}

impl fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("sm2::PrivateKey([REDACTED])")
    }
}

impl fmt::Display for PrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

impl TryFrom<&kexin_crypto::SigningKey> for PrivateKey {
    type Error = CryptoError;

    /// Takes the secret scalar of a `gm` key; a key of another scheme is refused.
    fn try_from(key: &kexin_crypto::SigningKey) -> Result<Self, CryptoError> {
        match key {
            kexin_crypto::SigningKey::Sm2(k) => {
                let scalar: Zeroizing<[u8; PRIVATE_KEY_LENGTH]> =
                    Zeroizing::new(k.to_bytes().into());
                Self::from_scalar(&scalar)
            }
            other => Err(CryptoError::WrongSuite {
                expected: Suite::Gm,
                actual: other.suite(),
            }),
        }
    }
}

impl From<&PrivateKey> for kexin_crypto::SigningKey {
    fn from(key: &PrivateKey) -> Self {
        key.to_signing_key()
    }
}

impl From<PrivateKey> for PublicKey {
    fn from(key: PrivateKey) -> Self {
        commonware_cryptography::Signer::public_key(&key)
    }
}

// ---------------------------------------------------------------------------------------------
// Public key
// ---------------------------------------------------------------------------------------------

/// An SM2 public key: a validated 33-byte compressed point.
///
/// Equality, ordering and hashing are those of the encoding, so a committee's `ordered::Set`
/// order is byte order.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct PublicKey {
    raw: [u8; PUBLIC_KEY_LENGTH],
}

impl PublicKey {
    /// Parses and validates a compressed point (see the module docs for what is refused).
    pub fn from_bytes(bytes: &[u8; PUBLIC_KEY_LENGTH]) -> Result<Self, CryptoError> {
        let x: &[u8; 32] = bytes[1..].try_into().expect("33 - 1 = 32");
        if x >= &FIELD_PRIME {
            return Err(CryptoError::BadPublicKey {
                scheme: "SM2",
                reason: "x coordinate not below the field prime".into(),
            });
        }
        // Checks the 02/03 prefix and that x is on the curve.
        kexin_crypto::PublicKey::from_bytes(Suite::Gm, bytes)?;
        Ok(Self { raw: *bytes })
    }

    /// The 33 encoded bytes.
    pub fn as_bytes(&self) -> &[u8; PUBLIC_KEY_LENGTH] {
        &self.raw
    }

    /// Verifies a signature over exactly `message` (already namespaced by the caller).
    fn verify_prepared(&self, message: &[u8], signature: &Signature) -> bool {
        kexin_crypto::PublicKey::Sm2(self.raw)
            .verify_raw(message, &kexin_crypto::Signature(signature.raw))
            .is_ok()
    }
}

impl commonware_cryptography::Verifier for PublicKey {
    type Signature = Signature;

    fn verify(&self, namespace: &[u8], msg: &[u8], sig: &Signature) -> bool {
        self.verify_prepared(&union_unique(namespace, msg), sig)
    }
}

impl commonware_cryptography::PublicKey for PublicKey {}

impl Write for PublicKey {
    fn write(&self, buf: &mut impl BufMut) {
        buf.put_slice(&self.raw);
    }
}

impl Read for PublicKey {
    type Cfg = ();

    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        let raw = <[u8; PUBLIC_KEY_LENGTH]>::read(buf)?;
        Self::from_bytes(&raw).map_err(|_| CodecError::Invalid(NAME, "invalid public key"))
    }
}

impl FixedSize for PublicKey {
    const SIZE: usize = PUBLIC_KEY_LENGTH;
}

impl Span for PublicKey {}

impl Array for PublicKey {}

impl Hash for PublicKey {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.raw.hash(state);
    }
}

impl AsRef<[u8]> for PublicKey {
    fn as_ref(&self) -> &[u8] {
        &self.raw
    }
}

impl Deref for PublicKey {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        &self.raw
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_hex(f, &self.raw)
    }
}

impl fmt::Display for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_hex(f, &self.raw)
    }
}

impl TryFrom<kexin_crypto::PublicKey> for PublicKey {
    type Error = CryptoError;

    fn try_from(key: kexin_crypto::PublicKey) -> Result<Self, CryptoError> {
        match key {
            kexin_crypto::PublicKey::Sm2(raw) => Self::from_bytes(&raw),
            other => Err(CryptoError::WrongSuite {
                expected: Suite::Gm,
                actual: other.suite(),
            }),
        }
    }
}

impl From<PublicKey> for kexin_crypto::PublicKey {
    fn from(key: PublicKey) -> Self {
        kexin_crypto::PublicKey::Sm2(key.raw)
    }
}

// ---------------------------------------------------------------------------------------------
// Signature
// ---------------------------------------------------------------------------------------------

/// An SM2 signature `r ‖ s`, with `r` and `s` checked to be in `[1, n - 1]`.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Signature {
    raw: [u8; SIGNATURE_LENGTH],
}

impl Signature {
    /// Parses `r ‖ s`, refusing `r` or `s` outside `[1, n - 1]`.
    pub fn from_raw(raw: [u8; SIGNATURE_LENGTH]) -> Result<Self, CryptoError> {
        let r: &[u8; 32] = raw[..32].try_into().expect("64 = 32 + 32");
        let s: &[u8; 32] = raw[32..].try_into().expect("64 = 32 + 32");
        if is_nonzero_scalar(r) && is_nonzero_scalar(s) {
            Ok(Self { raw })
        } else {
            Err(CryptoError::BadSignature)
        }
    }

    /// The 64 encoded bytes.
    pub fn as_bytes(&self) -> &[u8; SIGNATURE_LENGTH] {
        &self.raw
    }
}

impl commonware_cryptography::Signature for Signature {}

impl Write for Signature {
    fn write(&self, buf: &mut impl BufMut) {
        buf.put_slice(&self.raw);
    }
}

impl Read for Signature {
    type Cfg = ();

    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        let raw = <[u8; SIGNATURE_LENGTH]>::read(buf)?;
        Self::from_raw(raw)
            .map_err(|_| CodecError::Invalid(NAME, "signature r or s not in [1, n - 1]"))
    }
}

impl FixedSize for Signature {
    const SIZE: usize = SIGNATURE_LENGTH;
}

impl Span for Signature {}

impl Array for Signature {}

impl AsRef<[u8]> for Signature {
    fn as_ref(&self) -> &[u8] {
        &self.raw
    }
}

impl Deref for Signature {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        &self.raw
    }
}

impl fmt::Debug for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_hex(f, &self.raw)
    }
}

impl fmt::Display for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_hex(f, &self.raw)
    }
}

impl TryFrom<kexin_crypto::Signature> for Signature {
    type Error = CryptoError;

    fn try_from(signature: kexin_crypto::Signature) -> Result<Self, CryptoError> {
        Self::from_raw(signature.0)
    }
}

impl From<Signature> for kexin_crypto::Signature {
    fn from(signature: Signature) -> Self {
        kexin_crypto::Signature(signature.raw)
    }
}
