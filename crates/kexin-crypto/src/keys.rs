//! Public keys, signatures, signing keys and signature domains.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use zeroize::Zeroizing;

use crate::{CryptoError, Suite};

/// The SM2 distinguishing identifier used for every SM2 signature in Kexin: the standard
/// default user id `1234567812345678` (GM/T 0009-2012).
pub const SM2_DEFAULT_USER_ID: &str = "1234567812345678";

/// What a signature is for: a namespace (e.g. `kexin/tx`) and the chain id.
///
/// The bytes actually signed are
/// `u8(len(namespace)) || namespace || u8(len(chain_id)) || chain_id || message`,
/// so a signature for one purpose or chain never verifies for another.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Domain {
    namespace: String,
    chain_id: String,
}

impl Domain {
    /// A domain for `namespace` on chain `chain_id`. Both must be at most 255 bytes.
    pub fn new(namespace: impl Into<String>, chain_id: impl Into<String>) -> Domain {
        let namespace = namespace.into();
        let chain_id = chain_id.into();
        assert!(namespace.len() <= 255, "namespace longer than 255 bytes");
        assert!(chain_id.len() <= 255, "chain id longer than 255 bytes");
        Domain {
            namespace,
            chain_id,
        }
    }

    /// The namespace.
    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    /// The chain id.
    pub fn chain_id(&self) -> &str {
        &self.chain_id
    }

    /// The exact bytes that are signed for `message` in this domain.
    pub fn signing_input(&self, message: &[u8]) -> Vec<u8> {
        let mut out =
            Vec::with_capacity(2 + self.namespace.len() + self.chain_id.len() + message.len());
        out.push(self.namespace.len() as u8);
        out.extend_from_slice(self.namespace.as_bytes());
        out.push(self.chain_id.len() as u8);
        out.extend_from_slice(self.chain_id.as_bytes());
        out.extend_from_slice(message);
        out
    }
}

/// A signature scheme, and so a kind of key: what the tag byte of an encoded key names.
///
/// Each suite has a native scheme ([`KeyScheme::native`]), used for everything on its chains:
/// validator and consensus keys, CA certificates, node certificates. ECDSA P-256 is an extra
/// scheme of `intl` chains, accepted only for user certificates (it hashes with SHA-256, the
/// `intl` hash).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum KeyScheme {
    /// SM2 with the default user id, keys as 33-byte compressed SEC1 points (`gm`).
    Sm2,
    /// Ed25519 (RFC 8032), 32-byte keys (`intl`).
    Ed25519,
    /// ECDSA over NIST P-256 with SHA-256, keys as 65-byte uncompressed SEC1 points (`intl`
    /// user certificates only).
    EcdsaP256,
}

impl KeyScheme {
    /// Every scheme, in tag order.
    pub const ALL: [KeyScheme; 3] = [KeyScheme::Sm2, KeyScheme::Ed25519, KeyScheme::EcdsaP256];

    /// The tag byte in front of an encoded key: SM2 = 1 and Ed25519 = 2 (the same numbers as
    /// the suite tags of `gm` and `intl`, so encodings made before P-256 keys are unchanged),
    /// ECDSA P-256 = 3.
    pub const fn tag(self) -> u8 {
        match self {
            KeyScheme::Sm2 => 1,
            KeyScheme::Ed25519 => 2,
            KeyScheme::EcdsaP256 => 3,
        }
    }

    /// The scheme for a tag byte.
    pub const fn from_tag(tag: u8) -> Option<KeyScheme> {
        match tag {
            1 => Some(KeyScheme::Sm2),
            2 => Some(KeyScheme::Ed25519),
            3 => Some(KeyScheme::EcdsaP256),
            _ => None,
        }
    }

    /// The length of a canonical public key: 33 (SM2), 32 (Ed25519) or 65 (P-256).
    pub const fn key_len(self) -> usize {
        match self {
            KeyScheme::Sm2 => 33,
            KeyScheme::Ed25519 => 32,
            KeyScheme::EcdsaP256 => 65,
        }
    }

    /// The scheme's name in messages: `SM2`, `Ed25519` or `ECDSA P-256`.
    pub const fn name(self) -> &'static str {
        match self {
            KeyScheme::Sm2 => "SM2",
            KeyScheme::Ed25519 => "Ed25519",
            KeyScheme::EcdsaP256 => "ECDSA P-256",
        }
    }

    /// The suite whose chains may use the scheme.
    pub const fn suite(self) -> Suite {
        match self {
            KeyScheme::Sm2 => Suite::Gm,
            KeyScheme::Ed25519 | KeyScheme::EcdsaP256 => Suite::Intl,
        }
    }

    /// The suite's own scheme: SM2 on `gm`, Ed25519 on `intl`.
    pub const fn native(suite: Suite) -> KeyScheme {
        match suite {
            Suite::Gm => KeyScheme::Sm2,
            Suite::Intl => KeyScheme::Ed25519,
        }
    }

    /// Whether this is its suite's own scheme (so valid for validators, CAs and nodes).
    pub const fn is_native(self) -> bool {
        !matches!(self, KeyScheme::EcdsaP256)
    }
}

impl fmt::Display for KeyScheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A public key of one of the [`KeyScheme`]s.
///
/// Canonical bytes: Ed25519 keys are 32 bytes (RFC 8032); SM2 keys are 33-byte compressed SEC1
/// points on the SM2 recommended curve; ECDSA P-256 keys are 65-byte uncompressed SEC1 points
/// (`04 || x || y`), so the three are told apart by length.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PublicKey {
    /// An Ed25519 key (`intl`).
    Ed25519([u8; 32]),
    /// An SM2 key (`gm`), compressed SEC1.
    Sm2([u8; 33]),
    /// An ECDSA P-256 key (`intl` user certificates), uncompressed SEC1.
    P256([u8; 65]),
}

impl PublicKey {
    /// The suite this key belongs to (P-256 keys belong to `intl`: they hash with SHA-256).
    pub fn suite(&self) -> Suite {
        self.scheme().suite()
    }

    /// The key's signature scheme.
    pub fn scheme(&self) -> KeyScheme {
        match self {
            PublicKey::Ed25519(_) => KeyScheme::Ed25519,
            PublicKey::Sm2(_) => KeyScheme::Sm2,
            PublicKey::P256(_) => KeyScheme::EcdsaP256,
        }
    }

    /// The canonical key bytes (32 for Ed25519, 33 for SM2, 65 for P-256).
    pub fn as_bytes(&self) -> &[u8] {
        match self {
            PublicKey::Ed25519(b) => b,
            PublicKey::Sm2(b) => b,
            PublicKey::P256(b) => b,
        }
    }

    /// The canonical key length of a suite's native scheme.
    pub const fn len_for(suite: Suite) -> usize {
        KeyScheme::native(suite).key_len()
    }

    /// Parses canonical key bytes of `suite`'s native scheme (Ed25519 or SM2), checking that
    /// they encode a valid point. For keys that may be of another scheme, see
    /// [`PublicKey::from_scheme_bytes`].
    pub fn from_bytes(suite: Suite, bytes: &[u8]) -> Result<PublicKey, CryptoError> {
        PublicKey::from_scheme_bytes(KeyScheme::native(suite), bytes)
    }

    /// Parses canonical key bytes of `scheme`, checking that they encode a valid point: on the
    /// curve, not the identity, and in the one canonical form (compressed SM2, uncompressed
    /// P-256, canonical Ed25519 `y`).
    pub fn from_scheme_bytes(scheme: KeyScheme, bytes: &[u8]) -> Result<PublicKey, CryptoError> {
        let bad = |reason: String| CryptoError::BadPublicKey {
            scheme: scheme.name(),
            reason,
        };
        if bytes.len() != scheme.key_len() {
            return Err(bad(format!(
                "expected {} bytes, got {}",
                scheme.key_len(),
                bytes.len()
            )));
        }
        match scheme {
            KeyScheme::Ed25519 => {
                let mut b = [0u8; 32];
                b.copy_from_slice(bytes);
                let vk = ed25519_dalek::VerifyingKey::from_bytes(&b)
                    .map_err(|_| bad("not a valid Ed25519 point".into()))?;
                // One point, one encoding: refuse non-canonical y and the small-order points
                // under which no signature can verify.
                if vk.to_edwards().compress().to_bytes() != b {
                    return Err(bad("not the canonical encoding of its point".into()));
                }
                if vk.is_weak() {
                    return Err(bad("a small-order (weak) point".into()));
                }
                Ok(PublicKey::Ed25519(b))
            }
            KeyScheme::Sm2 => {
                let mut b = [0u8; 33];
                b.copy_from_slice(bytes);
                if b[0] != 0x02 && b[0] != 0x03 {
                    return Err(bad("SM2 keys must be compressed SEC1 (02/03 prefix)".into()));
                }
                sm2::PublicKey::from_sec1_bytes(&b)
                    .map_err(|_| bad("not a point on the SM2 curve".into()))?;
                Ok(PublicKey::Sm2(b))
            }
            KeyScheme::EcdsaP256 => {
                let mut b = [0u8; 65];
                b.copy_from_slice(bytes);
                if b[0] != 0x04 {
                    return Err(bad(
                        "P-256 keys must be uncompressed SEC1 (04 prefix)".into()
                    ));
                }
                // Refuses coordinates that are not field elements and points off the curve;
                // the identity has no 65-byte encoding.
                p256::PublicKey::from_sec1_bytes(&b)
                    .map_err(|_| bad("not a point on the P-256 curve".into()))?;
                Ok(PublicKey::P256(b))
            }
        }
    }

    /// Parses `suite`'s key from lowercase or uppercase hex.
    pub fn from_hex(suite: Suite, s: &str) -> Result<PublicKey, CryptoError> {
        let bytes = hex::decode(s).map_err(|e| CryptoError::BadPublicKey {
            scheme: suite.signature_name(),
            reason: format!("bad hex: {e}"),
        })?;
        PublicKey::from_bytes(suite, &bytes)
    }

    /// Parses a key of any scheme from hex, telling the scheme by length (66 hex characters
    /// for SM2, 130 for P-256, otherwise Ed25519).
    pub fn from_hex_any(s: &str) -> Result<PublicKey, CryptoError> {
        let scheme = match s.len() {
            66 => KeyScheme::Sm2,
            130 => KeyScheme::EcdsaP256,
            _ => KeyScheme::Ed25519,
        };
        let bytes = hex::decode(s).map_err(|e| CryptoError::BadPublicKey {
            scheme: scheme.name(),
            reason: format!("bad hex: {e}"),
        })?;
        PublicKey::from_scheme_bytes(scheme, &bytes)
    }

    /// Lowercase hex of the canonical bytes.
    pub fn to_hex(&self) -> String {
        hex::encode(self.as_bytes())
    }

    /// Verifies `signature` over `message` in `domain`, i.e. over
    /// [`Domain::signing_input`]`(message)`.
    pub fn verify(
        &self,
        domain: &Domain,
        message: &[u8],
        signature: &Signature,
    ) -> Result<(), CryptoError> {
        self.verify_raw(&domain.signing_input(message), signature)
    }

    /// Verifies `signature` over exactly `input`, with no domain separation added.
    ///
    /// Ed25519 verification is strict (`verify_strict`: canonical `S`, no small-order `R` or
    /// key); SM2 uses the default user id [`SM2_DEFAULT_USER_ID`]; ECDSA P-256 hashes with
    /// SHA-256 and refuses a high `s` (above n/2), so each signature has one encoding. Only for inputs that are
    /// already domain-separated by their own format (such as a consensus vote, whose namespace
    /// is part of the input); everything else should use [`PublicKey::verify`].
    pub fn verify_raw(&self, input: &[u8], signature: &Signature) -> Result<(), CryptoError> {
        match self {
            PublicKey::Ed25519(b) => {
                let vk = ed25519_dalek::VerifyingKey::from_bytes(b).map_err(|_| {
                    CryptoError::BadPublicKey {
                        scheme: "Ed25519",
                        reason: "not a valid Ed25519 point".into(),
                    }
                })?;
                let sig = ed25519_dalek::Signature::from_bytes(&signature.0);
                vk.verify_strict(input, &sig)
                    .map_err(|_| CryptoError::BadSignature)
            }
            PublicKey::Sm2(b) => sm2_verify_with_user_id(b, sm2_distid(), input, signature),
            PublicKey::P256(b) => {
                use p256::ecdsa::signature::Verifier as _;
                let vk = p256::ecdsa::VerifyingKey::from_sec1_bytes(b).map_err(|_| {
                    CryptoError::BadPublicKey {
                        scheme: "ECDSA P-256",
                        reason: "not a point on the P-256 curve".into(),
                    }
                })?;
                // Refuses r or s of zero or not below n.
                let sig = p256::ecdsa::Signature::from_slice(&signature.0)
                    .map_err(|_| CryptoError::BadSignature)?;
                // (r, n - s) verifies whenever (r, s) does; the transaction log hashes the
                // signature bytes, so only the low-s form is accepted.
                if sig.normalize_s() != sig {
                    return Err(CryptoError::BadSignature);
                }
                vk.verify(input, &sig)
                    .map_err(|_| CryptoError::BadSignature)
            }
        }
    }
}

/// The longest SM2 user id, in bytes: GM/T 0003.2 encodes its bit length in 16 bits.
pub const SM2_MAX_USER_ID_BYTES: usize = 8191;

/// Verifies an SM2 signature (`r || s`, 32 bytes each) over `message` by the SEC1 public key
/// `key` (33 bytes compressed or 65 uncompressed), with the signer's user id `user_id` (the
/// `Z` value of GM/T 0003.2 binds it; Kexin's own signatures use [`SM2_DEFAULT_USER_ID`]).
/// For contracts that check signatures made outside Kexin, under another user id.
pub fn sm2_verify_with_user_id(
    key: &[u8],
    user_id: &str,
    message: &[u8],
    signature: &Signature,
) -> Result<(), CryptoError> {
    use sm2::dsa::signature::Verifier as _;
    if user_id.len() > SM2_MAX_USER_ID_BYTES {
        return Err(CryptoError::BadPublicKey {
            scheme: "SM2",
            reason: format!(
                "user id of {} bytes, at most {SM2_MAX_USER_ID_BYTES}",
                user_id.len()
            ),
        });
    }
    if key.len() != 33 && key.len() != 65 {
        return Err(CryptoError::BadPublicKey {
            scheme: "SM2",
            reason: format!("{} bytes, not a 33- or 65-byte SEC1 point", key.len()),
        });
    }
    let vk = sm2::dsa::VerifyingKey::from_sec1_bytes(user_id, key).map_err(|_| {
        CryptoError::BadPublicKey {
            scheme: "SM2",
            reason: "not a point on the SM2 curve".into(),
        }
    })?;
    let sig = sm2::dsa::Signature::from_bytes(&signature.0.into())
        .map_err(|_| CryptoError::BadSignature)?;
    vk.verify(message, &sig)
        .map_err(|_| CryptoError::BadSignature)
}

fn sm2_distid() -> &'static str {
    SM2_DEFAULT_USER_ID
}

/// An SM2 signing key for secret scalar `d`, refusing `d = n - 1`: SM2 signing divides by
/// `1 + d`, which is zero for that scalar, so such a key could never sign (the `sm2` crate
/// accepts it and then fails, which `Signer::sign` turns into a panic).
fn sm2_signing_key(d: sm2::NonZeroScalar) -> Result<sm2::dsa::SigningKey, CryptoError> {
    let d_plus_1 = *d.as_ref() + sm2::Scalar::ONE;
    if bool::from(d_plus_1.is_zero()) {
        return Err(CryptoError::BadPrivateKey(
            "SM2 secret scalar must be in [1, n-2]".into(),
        ));
    }
    sm2::dsa::SigningKey::from_nonzero_scalar(sm2_distid(), d)
        .map_err(|e| CryptoError::BadPrivateKey(e.to_string()))
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({}:{})", self.suite(), self.to_hex())
    }
}

impl fmt::Display for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl Serialize for PublicKey {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_hex())
    }
}

impl<'de> Deserialize<'de> for PublicKey {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        PublicKey::from_hex_any(&s).map_err(serde::de::Error::custom)
    }
}

/// A 64-byte signature: Ed25519 `R || S` (RFC 8032), or SM2 or ECDSA P-256 `r || s` (32-byte
/// big-endian each; P-256 with `s <= n/2`).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Signature(pub [u8; 64]);

impl Signature {
    /// Signature length in bytes, the same for every scheme.
    pub const LEN: usize = 64;

    /// Lowercase hex.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// Parses exactly 128 hex characters.
    pub fn from_hex(s: &str) -> Result<Signature, String> {
        let mut out = [0u8; 64];
        hex::decode_to_slice(s, &mut out).map_err(|e| format!("invalid signature hex: {e}"))?;
        Ok(Signature(out))
    }
}

impl fmt::Debug for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Signature({})", self.to_hex())
    }
}

impl Serialize for Signature {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_hex())
    }
}

impl<'de> Deserialize<'de> for Signature {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Signature::from_hex(&s).map_err(serde::de::Error::custom)
    }
}

/// A private signing key of any [`KeyScheme`].
#[derive(Clone)]
pub enum SigningKey {
    /// Ed25519 (`intl`). Boxed, like the others, so moving a `SigningKey` does not copy the
    /// secret around the stack.
    Ed25519(Box<ed25519_dalek::SigningKey>),
    /// SM2 with the default user id (`gm`).
    Sm2(Box<sm2::dsa::SigningKey>),
    /// ECDSA P-256 with SHA-256 (`intl` user certificates).
    P256(Box<p256::ecdsa::SigningKey>),
}

impl SigningKey {
    /// A fresh random key of `suite`'s native scheme from the operating system's RNG.
    pub fn generate(suite: Suite) -> SigningKey {
        SigningKey::generate_scheme(KeyScheme::native(suite))
    }

    /// A fresh random key of `scheme` from the operating system's RNG.
    pub fn generate_scheme(scheme: KeyScheme) -> SigningKey {
        loop {
            let mut seed = Zeroizing::new([0u8; 32]);
            getrandom::fill(seed.as_mut()).expect("operating system RNG unavailable");
            if let Ok(k) = SigningKey::from_scheme_seed(scheme, &seed) {
                return k;
            }
        }
    }

    /// A key of `suite`'s native scheme derived from 32 secret bytes: the Ed25519 secret seed,
    /// or the SM2 secret scalar (big-endian, must be in `[1, n-2]`). Deterministic; meant for
    /// tests and fixtures.
    pub fn from_seed(suite: Suite, seed: &[u8; 32]) -> Result<SigningKey, CryptoError> {
        SigningKey::from_scheme_seed(KeyScheme::native(suite), seed)
    }

    /// A key of `scheme` derived from 32 secret bytes, as [`SigningKey::from_seed`]; for
    /// P-256 the bytes are the secret scalar (big-endian, in `[1, n-1]`).
    pub fn from_scheme_seed(scheme: KeyScheme, seed: &[u8; 32]) -> Result<SigningKey, CryptoError> {
        match scheme {
            KeyScheme::Ed25519 => Ok(SigningKey::Ed25519(Box::new(
                ed25519_dalek::SigningKey::from_bytes(seed),
            ))),
            KeyScheme::Sm2 => {
                let scalar = sm2::NonZeroScalar::try_from(seed.as_slice())
                    .map_err(|_| CryptoError::BadPrivateKey("SM2 scalar out of range".into()))?;
                Ok(SigningKey::Sm2(Box::new(sm2_signing_key(scalar)?)))
            }
            KeyScheme::EcdsaP256 => {
                let key = p256::ecdsa::SigningKey::from_slice(seed)
                    .map_err(|_| CryptoError::BadPrivateKey("P-256 scalar out of range".into()))?;
                Ok(SigningKey::P256(Box::new(key)))
            }
        }
    }

    /// The key's suite.
    pub fn suite(&self) -> Suite {
        self.scheme().suite()
    }

    /// The key's scheme.
    pub fn scheme(&self) -> KeyScheme {
        match self {
            SigningKey::Ed25519(_) => KeyScheme::Ed25519,
            SigningKey::Sm2(_) => KeyScheme::Sm2,
            SigningKey::P256(_) => KeyScheme::EcdsaP256,
        }
    }

    /// The matching public key.
    pub fn public_key(&self) -> PublicKey {
        match self {
            SigningKey::Ed25519(k) => PublicKey::Ed25519(k.verifying_key().to_bytes()),
            SigningKey::Sm2(k) => {
                use sm2::elliptic_curve::sec1::ToSec1Point as _;
                let point = k.verifying_key().to_sec1_point(true);
                let mut b = [0u8; 33];
                b.copy_from_slice(point.as_bytes());
                PublicKey::Sm2(b)
            }
            SigningKey::P256(k) => {
                let point = k.verifying_key().to_sec1_point(false);
                let mut b = [0u8; 65];
                b.copy_from_slice(point.as_bytes());
                PublicKey::P256(b)
            }
        }
    }

    /// Signs `message` in `domain`, i.e. [`Domain::signing_input`]`(message)`.
    pub fn sign(&self, domain: &Domain, message: &[u8]) -> Signature {
        self.sign_raw(&domain.signing_input(message))
    }

    /// Signs exactly `input`, with no domain separation added.
    ///
    /// Only for inputs that are already domain-separated by their own format (such as a
    /// consensus vote, whose namespace is part of the input); everything else should use
    /// [`SigningKey::sign`]. Deterministic for every scheme (SM2 and P-256 nonces per
    /// RFC 6979); P-256 signatures are returned in low-`s` form, the only one that verifies.
    pub fn sign_raw(&self, input: &[u8]) -> Signature {
        match self {
            SigningKey::Ed25519(k) => {
                use ed25519_dalek::Signer as _;
                Signature(k.sign(input).to_bytes())
            }
            SigningKey::Sm2(k) => {
                use sm2::dsa::signature::Signer as _;
                let sig: sm2::dsa::Signature = k.sign(input);
                Signature(sig.to_bytes().into())
            }
            SigningKey::P256(k) => {
                use p256::ecdsa::signature::Signer as _;
                let sig: p256::ecdsa::Signature = k.sign(input);
                Signature(sig.normalize_s().to_bytes().into())
            }
        }
    }

    /// Encodes the key as PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`), readable by OpenSSL 3.
    ///
    /// Ed25519 keys are written in the PKCS#8 v1 form (seed only, no embedded public key), which
    /// is what OpenSSL writes and the only form OpenSSL 3.0 reads. SM2 keys are written as
    /// `id-ecPublicKey` with the `sm2` curve OID (1.2.156.10197.1.301), as OpenSSL 3 does, and
    /// P-256 keys as `id-ecPublicKey` with `prime256v1` (1.2.840.10045.3.1.7), as
    /// `openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256` does.
    pub fn to_pkcs8_pem(&self) -> Zeroizing<String> {
        use sm2::pkcs8::{EncodePrivateKey as _, LineEnding};
        match self {
            SigningKey::Ed25519(k) => {
                // PKCS#8 v1 (RFC 5208): no optional public key field. ed25519-dalek's own encoder
                // writes the RFC 5958 v2 form with `[1] publicKey`, which OpenSSL 3.0 refuses.
                let bytes = ed25519_dalek::pkcs8::KeypairBytes {
                    secret_key: k.to_bytes(),
                    public_key: None,
                };
                bytes
                    .to_pkcs8_pem(LineEnding::LF)
                    .expect("Ed25519 PKCS#8 encoding cannot fail")
            }
            SigningKey::Sm2(k) => {
                let sk = sm2::SecretKey::from(k.as_nonzero_scalar());
                sk.to_pkcs8_pem(LineEnding::LF)
                    .expect("SM2 PKCS#8 encoding cannot fail")
            }
            SigningKey::P256(k) => {
                use p256::pkcs8::EncodePrivateKey as _;
                let sk = p256::SecretKey::from(k.as_nonzero_scalar());
                sk.to_pkcs8_pem(LineEnding::LF)
                    .expect("P-256 PKCS#8 encoding cannot fail")
            }
        }
    }

    /// Reads a PKCS#8 PEM private key (Ed25519, SM2 or P-256; e.g. made by OpenSSL 3). Ed25519
    /// keys may be PKCS#8 v1 or v2 (with the public key, which must then match the seed). An
    /// encrypted key (`ENCRYPTED PRIVATE KEY`) is refused with [`CryptoError::KeyEncrypted`]:
    /// read it with [`from_pem`](Self::from_pem).
    ///
    /// The scheme is taken from the key's algorithm identifier: Ed25519's OID, or
    /// `id-ecPublicKey` with the curve named by its parameter (SM2 and P-256 keys share the
    /// algorithm OID and differ only there).
    pub fn from_pkcs8_pem(pem: &str) -> Result<SigningKey, CryptoError> {
        Self::from_pem(pem, None)
    }

    /// Reads a private key PEM: PKCS#8 (`PRIVATE KEY`), or encrypted PKCS#8 (`ENCRYPTED PRIVATE
    /// KEY`, PBES2 with scrypt or PBKDF2 and AES-CBC, as `openssl pkcs8 -topk8 -v2 aes-256-cbc`
    /// or [`to_encrypted_pkcs8_pem`](Self::to_encrypted_pkcs8_pem) write it) decrypted with
    /// `passphrase`. An encrypted key without a passphrase is [`CryptoError::KeyEncrypted`]; one
    /// that does not decrypt is [`CryptoError::WrongPassphrase`].
    pub fn from_pem(pem: &str, passphrase: Option<&[u8]>) -> Result<SigningKey, CryptoError> {
        let bad = |e: &dyn fmt::Display| CryptoError::BadPrivateKey(e.to_string());
        let (label, doc) = sm2::pkcs8::SecretDocument::from_pem(pem)
            .map_err(|e| bad(&format!("not a PEM private key: {e}")))?;
        match label {
            "PRIVATE KEY" => Self::from_pkcs8_der(doc.as_bytes()),
            "ENCRYPTED PRIVATE KEY" => {
                let passphrase = passphrase.ok_or(CryptoError::KeyEncrypted)?;
                let info = pkcs8::EncryptedPrivateKeyInfoRef::try_from(doc.as_bytes())
                    .map_err(|e| bad(&format!("not an encrypted PKCS#8 private key: {e}")))?;
                let plain = info.decrypt(passphrase).map_err(|e| match e {
                    // Unknown schemes and parameters are the file's fault, not the passphrase's.
                    pkcs8::Error::EncryptedPrivateKey(
                        pkcs8::pkcs5::Error::AlgorithmParametersInvalid { .. },
                    )
                    | pkcs8::Error::EncryptedPrivateKey(
                        pkcs8::pkcs5::Error::UnsupportedAlgorithm { .. },
                    ) => bad(&format!("an encryption scheme Kexin cannot read: {e}")),
                    _ => CryptoError::WrongPassphrase,
                })?;
                Self::from_pkcs8_der(plain.as_bytes())
            }
            other => Err(bad(&format!(
                "a PEM {other:?} block, not a PKCS#8 \"PRIVATE KEY\" or \"ENCRYPTED PRIVATE KEY\""
            ))),
        }
    }

    /// [`from_pem`](Self::from_pem) with the passphrase from the environment, read only when
    /// the key is encrypted ([`passphrase_from_env`]): how node and `kexin` read their keys.
    pub fn from_pem_env(pem: &str) -> Result<SigningKey, CryptoError> {
        match Self::from_pem(pem, None) {
            Err(CryptoError::KeyEncrypted) => match passphrase_from_env()? {
                Some(p) => Self::from_pem(pem, Some(&p)),
                None => Err(CryptoError::KeyEncrypted),
            },
            other => other,
        }
    }

    /// Encodes the key as encrypted PKCS#8 PEM (`-----BEGIN ENCRYPTED PRIVATE KEY-----`): PBES2
    /// with scrypt (log2 N = 15, r = 8, p = 1) and AES-256-CBC under a fresh salt and IV, which
    /// OpenSSL 3 reads (`openssl pkey -in FILE -passin ...`).
    pub fn to_encrypted_pkcs8_pem(
        &self,
        passphrase: &[u8],
    ) -> Result<Zeroizing<String>, CryptoError> {
        let plain = self.to_pkcs8_pem();
        let (_, doc) = sm2::pkcs8::SecretDocument::from_pem(&plain)
            .map_err(|e| CryptoError::BadPrivateKey(e.to_string()))?;
        let info = pkcs8::PrivateKeyInfoRef::try_from(doc.as_bytes())
            .map_err(|e| CryptoError::BadPrivateKey(e.to_string()))?;
        let encrypted = info
            .encrypt(passphrase)
            .map_err(|e| CryptoError::BadPrivateKey(format!("encrypting the key: {e}")))?;
        encrypted
            .to_pem("ENCRYPTED PRIVATE KEY", pkcs8::LineEnding::LF)
            .map_err(|e| CryptoError::BadPrivateKey(e.to_string()))
    }

    /// The key of a PKCS#8 `PrivateKeyInfo` DER.
    fn from_pkcs8_der(der: &[u8]) -> Result<SigningKey, CryptoError> {
        use sm2::pkcs8::{DecodePrivateKey as _, ObjectIdentifier, PrivateKeyInfoRef};
        const ED25519: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.112");
        const EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
        const SM2_CURVE: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.156.10197.1.301");
        const P256_CURVE: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
        let bad = |e: &dyn fmt::Display| CryptoError::BadPrivateKey(e.to_string());
        let info = PrivateKeyInfoRef::try_from(der)
            .map_err(|e| bad(&format!("not a PKCS#8 private key: {e}")))?;
        let oid = info.algorithm.oid;
        let scheme = if oid == ED25519 {
            KeyScheme::Ed25519
        } else if oid == EC_PUBLIC_KEY {
            match info.algorithm.parameters_oid() {
                Ok(c) if c == SM2_CURVE => KeyScheme::Sm2,
                Ok(c) if c == P256_CURVE => KeyScheme::EcdsaP256,
                Ok(c) => {
                    return Err(bad(&format!(
                        "an EC key on curve {c}: only SM2 (1.2.156.10197.1.301) and P-256 \
                         (1.2.840.10045.3.1.7) are supported"
                    )));
                }
                Err(e) => return Err(bad(&format!("an EC key without a named curve: {e}"))),
            }
        } else {
            return Err(bad(&format!(
                "a key of algorithm {oid}: only Ed25519, SM2 and P-256 are supported"
            )));
        };
        match scheme {
            KeyScheme::Ed25519 => ed25519_dalek::SigningKey::from_pkcs8_der(der)
                .map(|k| SigningKey::Ed25519(Box::new(k)))
                .map_err(|e| bad(&format!("Ed25519 PKCS#8 key: {e}"))),
            KeyScheme::Sm2 => {
                let sk = sm2::SecretKey::from_pkcs8_der(der)
                    .map_err(|e| bad(&format!("SM2 PKCS#8 key: {e}")))?;
                Ok(SigningKey::Sm2(Box::new(sm2_signing_key(
                    sk.to_nonzero_scalar(),
                )?)))
            }
            KeyScheme::EcdsaP256 => {
                let sk = p256::SecretKey::from_pkcs8_der(der)
                    .map_err(|e| bad(&format!("P-256 PKCS#8 key: {e}")))?;
                Ok(SigningKey::P256(Box::new(p256::ecdsa::SigningKey::from(
                    sk,
                ))))
            }
        }
    }
}

/// Names the file whose first line is the passphrase of encrypted private keys.
pub const PASSPHRASE_FILE_ENV: &str = "KEXIN_KEY_PASSPHRASE_FILE";
/// Holds the passphrase of encrypted private keys (prefer [`PASSPHRASE_FILE_ENV`]: a process's
/// environment is readable by its user).
pub const PASSPHRASE_ENV: &str = "KEXIN_KEY_PASSPHRASE";

/// The passphrase of encrypted private keys: the first line (without its line ending) of the
/// file named by `KEXIN_KEY_PASSPHRASE_FILE`, else `KEXIN_KEY_PASSPHRASE`; `None` if neither is
/// set. An unreadable or empty passphrase file is an error, not an absent passphrase.
pub fn passphrase_from_env() -> Result<Option<Zeroizing<Vec<u8>>>, CryptoError> {
    if let Some(path) = std::env::var_os(PASSPHRASE_FILE_ENV) {
        let text = Zeroizing::new(std::fs::read(&path).map_err(|e| {
            CryptoError::BadPrivateKey(format!(
                "{PASSPHRASE_FILE_ENV}={}: {e}",
                std::path::Path::new(&path).display()
            ))
        })?);
        let line = text.split(|b| *b == b'\n').next().unwrap_or_default();
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() {
            return Err(CryptoError::BadPrivateKey(format!(
                "{PASSPHRASE_FILE_ENV}={}: the first line is empty",
                std::path::Path::new(&path).display()
            )));
        }
        return Ok(Some(Zeroizing::new(line.to_vec())));
    }
    Ok(std::env::var_os(PASSPHRASE_ENV)
        .filter(|p| !p.is_empty())
        .map(|p| Zeroizing::new(p.into_encoded_bytes())))
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "SigningKey({}, public {})",
            self.suite(),
            self.public_key()
        )
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn sm2_signatures_verify_under_their_own_user_id_only() {
        use sm2::dsa::signature::Signer as _;
        let d = sm2::NonZeroScalar::from_repr([7u8; 32].into()).unwrap();
        let sk = sm2::dsa::SigningKey::from_nonzero_scalar("alice@bank.example", d).unwrap();
        let sig: sm2::dsa::Signature = sk.sign(b"pay 100");
        let sig = Signature(sig.to_bytes().into());
        let point = sk.verifying_key().to_sec1_bytes();
        sm2_verify_with_user_id(&point, "alice@bank.example", b"pay 100", &sig).unwrap();
        assert!(matches!(
            sm2_verify_with_user_id(&point, SM2_DEFAULT_USER_ID, b"pay 100", &sig),
            Err(CryptoError::BadSignature)
        ));
        assert!(sm2_verify_with_user_id(&point, "alice@bank.example", b"pay 101", &sig).is_err());
        assert!(matches!(
            sm2_verify_with_user_id(&point[..20], "a", b"x", &sig),
            Err(CryptoError::BadPublicKey { .. })
        ));
        let long = "x".repeat(SM2_MAX_USER_ID_BYTES + 1);
        assert!(matches!(
            sm2_verify_with_user_id(&point, &long, b"pay 100", &sig),
            Err(CryptoError::BadPublicKey { .. })
        ));
    }
    use super::*;

    /// `sign`/`verify` are `sign_raw`/`verify_raw` over the domain's signing input, and the raw
    /// forms bind exactly the bytes given: no namespace is added behind the caller's back.
    #[test]
    fn raw_signatures_cover_exactly_the_input() {
        for suite in [Suite::Intl, Suite::Gm] {
            let key = SigningKey::from_seed(suite, &[7; 32]).unwrap();
            let public = key.public_key();
            let domain = Domain::new("kexin/test", "chain-1");
            let message = b"the message";
            let input = domain.signing_input(message);

            let raw = key.sign_raw(&input);
            assert_eq!(public.verify_raw(&input, &raw), Ok(()), "{suite}");
            // Deterministic for both suites, so the domain form is the same signature.
            assert_eq!(key.sign(&domain, message), raw, "{suite}");
            assert_eq!(public.verify(&domain, message, &raw), Ok(()), "{suite}");

            // A raw signature over the bare message is not a domain signature, and vice versa.
            let bare = key.sign_raw(message);
            assert_eq!(public.verify_raw(message, &bare), Ok(()), "{suite}");
            assert_eq!(
                public.verify(&domain, message, &bare),
                Err(CryptoError::BadSignature),
                "{suite}"
            );
            assert_eq!(
                public.verify_raw(message, &raw),
                Err(CryptoError::BadSignature),
                "{suite}"
            );

            // Any changed input byte, signature byte or key fails.
            for i in 0..input.len() {
                let mut changed = input.clone();
                changed[i] ^= 0x01;
                assert!(
                    public.verify_raw(&changed, &raw).is_err(),
                    "{suite} input {i}"
                );
            }
            for i in [0, 31, 32, 63] {
                let mut changed = raw;
                changed.0[i] ^= 0x01;
                assert!(
                    public.verify_raw(&input, &changed).is_err(),
                    "{suite} sig {i}"
                );
            }
            let other = SigningKey::from_seed(suite, &[8; 32]).unwrap().public_key();
            assert_eq!(
                other.verify_raw(&input, &raw),
                Err(CryptoError::BadSignature),
                "{suite}"
            );
        }
    }

    /// Ed25519 raw signing is plain RFC 8032: test 1 of RFC 8032 §7.1 (empty message).
    #[test]
    fn ed25519_raw_signature_matches_rfc8032() {
        let seed: [u8; 32] =
            hex::decode("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
                .unwrap()
                .try_into()
                .unwrap();
        let key = SigningKey::from_seed(Suite::Intl, &seed).unwrap();
        assert_eq!(
            key.public_key().to_hex(),
            "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"
        );
        let sig = key.sign_raw(b"");
        assert_eq!(
            sig.to_hex(),
            "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155\
             5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"
        );
        assert_eq!(key.public_key().verify_raw(b"", &sig), Ok(()));
    }
}
