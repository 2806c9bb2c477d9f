//! ECDSA P-256 keys (user certificates on `intl` chains) through the public API: signing and
//! strict verification, the one canonical key and signature encoding, hex and PKCS#8.

use kexin_crypto::{CryptoError, Domain, KeyScheme, PublicKey, Signature, SigningKey, Suite};

/// The P-256 group order n (FIPS 186-4 D.1.2.3), big-endian.
const P256_N: &str = "FFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551";
/// The P-256 field prime p, big-endian.
const P256_P: &str = "FFFFFFFF00000001000000000000000000000000FFFFFFFFFFFFFFFFFFFFFFFF";

fn domain() -> Domain {
    Domain::new("kexin/tx", "chain-a")
}

fn p256_key(fill: u8) -> SigningKey {
    SigningKey::from_scheme_seed(KeyScheme::EcdsaP256, &[fill; 32]).unwrap()
}

/// `n - s` for a 32-byte big-endian `s < n`, by schoolbook subtraction (independent of the
/// curve library's scalar arithmetic).
fn n_minus(s: &[u8]) -> [u8; 32] {
    let n = hex::decode(P256_N).unwrap();
    let mut out = [0u8; 32];
    let mut borrow = 0i16;
    for i in (0..32).rev() {
        let mut d = i16::from(n[i]) - i16::from(s[i]) - borrow;
        borrow = 0;
        if d < 0 {
            d += 256;
            borrow = 1;
        }
        out[i] = d as u8;
    }
    assert_eq!(borrow, 0, "s must be below n");
    out
}

fn is_low_s(sig: &Signature) -> bool {
    // s <= (n - 1) / 2  <=>  s <= n - s (n odd, so never equal).
    sig.0[32..] <= n_minus(&sig.0[32..])[..]
}

fn assert_bad_p256_key(bytes: &[u8], what: &str) {
    match PublicKey::from_scheme_bytes(KeyScheme::EcdsaP256, bytes) {
        Err(CryptoError::BadPublicKey { scheme, .. }) => assert_eq!(scheme, "ECDSA P-256"),
        other => panic!("{what}: expected BadPublicKey, got {other:?}"),
    }
    if bytes.len() * 2 == 130 {
        assert!(
            PublicKey::from_hex_any(&hex::encode(bytes)).is_err(),
            "{what} via hex"
        );
    }
}

#[test]
fn scheme_table() {
    for scheme in KeyScheme::ALL {
        assert_eq!(KeyScheme::from_tag(scheme.tag()), Some(scheme));
    }
    assert_eq!(KeyScheme::from_tag(0), None);
    assert_eq!(KeyScheme::from_tag(4), None);
    // The native tags are the old suite tags: existing encodings do not change.
    assert_eq!(KeyScheme::native(Suite::Gm).tag(), Suite::Gm.tag());
    assert_eq!(KeyScheme::native(Suite::Intl).tag(), Suite::Intl.tag());
    assert_eq!(KeyScheme::EcdsaP256.tag(), 3);
    assert_eq!(KeyScheme::EcdsaP256.key_len(), 65);
    assert_eq!(KeyScheme::EcdsaP256.suite(), Suite::Intl);
    assert!(!KeyScheme::EcdsaP256.is_native());
    assert!(KeyScheme::Ed25519.is_native() && KeyScheme::Sm2.is_native());
}

#[test]
fn sign_verify_roundtrip() {
    for key in [
        SigningKey::generate_scheme(KeyScheme::EcdsaP256),
        p256_key(9),
    ] {
        assert_eq!(key.scheme(), KeyScheme::EcdsaP256);
        assert_eq!(key.suite(), Suite::Intl);
        let public = key.public_key();
        assert_eq!(public.scheme(), KeyScheme::EcdsaP256);
        assert_eq!(public.suite(), Suite::Intl);
        assert_eq!(public.as_bytes().len(), 65);
        assert_eq!(public.as_bytes()[0], 0x04);
        for msg in [&b""[..], b"x", &[0u8; 1000][..]] {
            let sig = key.sign(&domain(), msg);
            assert!(is_low_s(&sig), "signatures come out low-s");
            assert_eq!(public.verify(&domain(), msg, &sig), Ok(()));
            // Deterministic (RFC 6979).
            assert_eq!(key.sign(&domain(), msg), sig);
        }
    }
}

#[test]
fn tampered_message_signature_domain_or_key_fails() {
    let key = p256_key(1);
    let public = key.public_key();
    let sig = key.sign(&domain(), b"message");
    assert_eq!(
        public.verify(&domain(), b"messagf", &sig),
        Err(CryptoError::BadSignature)
    );
    assert_eq!(
        public.verify(&Domain::new("kexin/tx", "chain-b"), b"message", &sig),
        Err(CryptoError::BadSignature)
    );
    for i in 0..64 {
        let mut changed = sig;
        changed.0[i] ^= 0x01;
        assert_eq!(
            public.verify(&domain(), b"message", &changed),
            Err(CryptoError::BadSignature),
            "byte {i}"
        );
    }
    let other = p256_key(2).public_key();
    assert_eq!(
        other.verify(&domain(), b"message", &sig),
        Err(CryptoError::BadSignature)
    );
    // r or s of zero, and r = n, are not signatures at all.
    let mut zero_s = sig;
    zero_s.0[32..].fill(0);
    assert!(public.verify(&domain(), b"message", &zero_s).is_err());
    let mut r_n = sig;
    r_n.0[..32].copy_from_slice(&hex::decode(P256_N).unwrap());
    assert!(public.verify(&domain(), b"message", &r_n).is_err());
}

/// `(r, n - s)` is a valid ECDSA signature whenever `(r, s)` is; only the low-s one is accepted.
#[test]
fn high_s_twin_is_refused() {
    for fill in 1..=8 {
        let key = p256_key(fill);
        let public = key.public_key();
        let sig = key.sign(&domain(), b"twin");
        assert!(is_low_s(&sig));
        let mut twin = sig;
        twin.0[32..].copy_from_slice(&n_minus(&sig.0[32..]));
        assert!(!is_low_s(&twin));
        assert_ne!(twin, sig);
        assert_eq!(
            public.verify(&domain(), b"twin", &twin),
            Err(CryptoError::BadSignature),
            "key {fill}"
        );
    }
}

/// RFC 6979 A.2.5 (P-256, SHA-256, message "sample"): the standard's `s` is high, so Kexin
/// returns its low twin `n - s`, and refuses the standard's own form.
#[test]
fn rfc6979_vector_normalized_to_low_s() {
    let x: [u8; 32] =
        hex::decode("c9afa9d845ba75166b5c215767b1d6934e50c3db36e89b127b8a622b120f6721")
            .unwrap()
            .try_into()
            .unwrap();
    let key = SigningKey::from_scheme_seed(KeyScheme::EcdsaP256, &x).unwrap();
    assert_eq!(
        key.public_key().to_hex(),
        "0460fed4ba255a9d31c961eb74c6356d68c049b8923b61fa6ce669622e60f29fb6\
         7903fe1008b8bc99a41ae9e95628bc64f2f1b20c2d7e9f5177a3c294d4462299"
    );
    let r = "efd48b2aacb6a8fd1140dd9cd45e81d69d2c877b56aaf991c34d0ea84eaf3716";
    let high_s =
        hex::decode("f7cb1c942d657c41d436c7a1b6e29f65f3e900dbb9aff4064dc4ab2f843acda8").unwrap();
    let sig = key.sign_raw(b"sample");
    assert_eq!(hex::encode(&sig.0[..32]), r);
    assert_eq!(sig.0[32..], n_minus(&high_s));
    assert_eq!(key.public_key().verify_raw(b"sample", &sig), Ok(()));

    let mut standard = [0u8; 64];
    standard[..32].copy_from_slice(&hex::decode(r).unwrap());
    standard[32..].copy_from_slice(&high_s);
    assert_eq!(
        key.public_key().verify_raw(b"sample", &Signature(standard)),
        Err(CryptoError::BadSignature)
    );
}

#[test]
fn public_key_refuses_bad_encodings() {
    let good = p256_key(1).public_key();
    let b = good.as_bytes();
    assert_eq!(
        PublicKey::from_scheme_bytes(KeyScheme::EcdsaP256, b).unwrap(),
        good
    );
    // Wrong lengths, including the compressed form (02/03 || x) of this very point.
    for len in [0, 1, 32, 33, 64, 66] {
        let mut v = b.to_vec();
        v.resize(len, 0);
        assert_bad_p256_key(&v, &format!("length {len}"));
    }
    let mut compressed = vec![0x02 | (b[64] & 1)];
    compressed.extend_from_slice(&b[1..33]);
    assert_bad_p256_key(&compressed, "compressed");
    // Compressed or hybrid prefixes in front of 64 bytes.
    for prefix in [0x00u8, 0x02, 0x03, 0x05, 0x06, 0x07, 0xff] {
        let mut v = b.to_vec();
        v[0] = prefix;
        assert_bad_p256_key(&v, &format!("prefix {prefix:#04x}"));
    }
    // Off the curve: y changed, (1, 1), and the all-zero "identity" coordinates.
    let mut off = b.to_vec();
    off[64] ^= 1;
    assert_bad_p256_key(&off, "y + 1");
    let mut one = [0u8; 65];
    one[0] = 4;
    one[32] = 1;
    one[64] = 1;
    assert_bad_p256_key(&one, "(1, 1)");
    let mut zero = [0u8; 65];
    zero[0] = 4;
    assert_bad_p256_key(&zero, "(0, 0)");
    // x = p is not a field element.
    let mut xp = b.to_vec();
    xp[1..33].copy_from_slice(&hex::decode(P256_P).unwrap());
    assert_bad_p256_key(&xp, "x = p");

    // The native parsers do not take P-256 keys.
    assert!(PublicKey::from_bytes(Suite::Intl, b).is_err());
    assert!(PublicKey::from_bytes(Suite::Gm, b).is_err());
}

#[test]
fn hex_and_json_roundtrip() {
    let public = p256_key(5).public_key();
    let hex = public.to_hex();
    assert_eq!(hex.len(), 130);
    assert_eq!(PublicKey::from_hex_any(&hex).unwrap(), public);
    assert_eq!(
        PublicKey::from_hex_any(&hex.to_uppercase()).unwrap(),
        public
    );
    let json = serde_json::to_string(&public).unwrap();
    assert_eq!(json, format!("\"{hex}\""));
    assert_eq!(serde_json::from_str::<PublicKey>(&json).unwrap(), public);
    // The other schemes are still told apart by length.
    for suite in [Suite::Gm, Suite::Intl] {
        let k = SigningKey::from_seed(suite, &[5; 32]).unwrap().public_key();
        assert_eq!(PublicKey::from_hex_any(&k.to_hex()).unwrap(), k);
    }
}

#[test]
fn scalar_range() {
    let zero = [0u8; 32];
    let n: [u8; 32] = hex::decode(P256_N).unwrap().try_into().unwrap();
    for (what, seed) in [("0", zero), ("n", n), ("2^256-1", [0xff; 32])] {
        assert!(
            matches!(
                SigningKey::from_scheme_seed(KeyScheme::EcdsaP256, &seed),
                Err(CryptoError::BadPrivateKey(_))
            ),
            "{what}"
        );
    }
    let mut n_minus_1 = n;
    n_minus_1[31] -= 1;
    assert!(SigningKey::from_scheme_seed(KeyScheme::EcdsaP256, &n_minus_1).is_ok());
}

#[test]
fn pkcs8_pem_roundtrip_and_dispatch_on_curve() {
    let key = p256_key(7);
    let pem = key.to_pkcs8_pem();
    assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----\n"));
    let back = SigningKey::from_pkcs8_pem(&pem).unwrap();
    assert_eq!(back.scheme(), KeyScheme::EcdsaP256);
    assert_eq!(back.public_key(), key.public_key());
    assert_eq!(*back.to_pkcs8_pem(), *pem);

    // SM2 and P-256 PKCS#8 keys share id-ecPublicKey; the curve parameter tells them apart.
    for suite in [Suite::Gm, Suite::Intl] {
        let native = SigningKey::from_seed(suite, &[7; 32]).unwrap();
        let back = SigningKey::from_pkcs8_pem(&native.to_pkcs8_pem()).unwrap();
        assert_eq!(back.scheme(), KeyScheme::native(suite));
        assert_eq!(back.public_key(), native.public_key());
    }

    // Not a PKCS#8 "PRIVATE KEY" block, or not PEM at all.
    let sec1 = pem.replace("PRIVATE KEY", "EC PRIVATE KEY");
    assert!(matches!(
        SigningKey::from_pkcs8_pem(&sec1),
        Err(CryptoError::BadPrivateKey(_))
    ));
    assert!(SigningKey::from_pkcs8_pem("not a key").is_err());
}
