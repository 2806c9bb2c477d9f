//! Behaviour of keys, signatures and the AEAD through the public API, for both suites.

use kexin_crypto::{CryptoError, Domain, PublicKey, Signature, SigningKey, Suite, SymmetricKey};

const SUITES: [Suite; 2] = [Suite::Gm, Suite::Intl];

/// The SM2 group order n (GB/T 32918.5), big-endian.
const SM2_N: &str = "FFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF7203DF6B21C6052B53BBF40939D54123";

fn sm2_n_minus(k: u8) -> [u8; 32] {
    let mut n: [u8; 32] = hex::decode(SM2_N).unwrap().try_into().unwrap();
    // The low byte of n is 0x23, so subtracting a small k never borrows.
    n[31] -= k;
    n
}

fn domain() -> Domain {
    Domain::new("kexin/tx", "chain-a")
}

fn fixed_key(suite: Suite, fill: u8) -> SigningKey {
    SigningKey::from_seed(suite, &[fill; 32]).unwrap()
}

// ---------------------------------------------------------------------------------------------
// Signatures
// ---------------------------------------------------------------------------------------------

#[test]
fn sign_verify_roundtrip() {
    for suite in SUITES {
        for key in [SigningKey::generate(suite), fixed_key(suite, 9)] {
            assert_eq!(key.suite(), suite);
            let public = key.public_key();
            assert_eq!(public.suite(), suite);
            assert_eq!(public.as_bytes().len(), PublicKey::len_for(suite));
            for msg in [&b""[..], b"x", &[0u8; 1000][..]] {
                let sig = key.sign(&domain(), msg);
                public
                    .verify(&domain(), msg, &sig)
                    .unwrap_or_else(|e| panic!("{suite}: {e}"));
            }
        }
    }
}

#[test]
fn signatures_are_deterministic() {
    // Ed25519 is deterministic by definition; the sm2 crate derives k with RFC 6979 (HMAC-SM3).
    for suite in SUITES {
        let key = fixed_key(suite, 3);
        assert_eq!(key.sign(&domain(), b"m"), key.sign(&domain(), b"m"));
        assert_ne!(key.sign(&domain(), b"m"), key.sign(&domain(), b"n"));
    }
}

#[test]
fn signature_is_bound_to_domain_message_and_key() {
    for suite in SUITES {
        let key = fixed_key(suite, 1);
        let public = key.public_key();
        let msg = b"pay 5 to carol";
        let sig = key.sign(&domain(), msg);
        public.verify(&domain(), msg, &sig).unwrap();

        let bad = |r: Result<(), CryptoError>, what: &str| {
            assert_eq!(r, Err(CryptoError::BadSignature), "{suite}: {what}");
        };
        bad(
            public.verify(&Domain::new("kexin/block", "chain-a"), msg, &sig),
            "other namespace",
        );
        bad(
            public.verify(&Domain::new("kexin/tx", "chain-b"), msg, &sig),
            "other chain id",
        );
        bad(
            public.verify(&domain(), b"pay 6 to carol", &sig),
            "other msg",
        );
        bad(public.verify(&domain(), b"", &sig), "empty message");
        bad(
            fixed_key(suite, 2)
                .public_key()
                .verify(&domain(), msg, &sig),
            "other key",
        );
        bad(
            SigningKey::generate(suite)
                .public_key()
                .verify(&domain(), msg, &sig),
            "random key",
        );
    }
}

#[test]
fn length_prefixes_keep_domains_apart() {
    // Without the length prefixes these three would sign identical bytes.
    let a = Domain::new("kexin/txc", "hain");
    let b = Domain::new("kexin/tx", "chain");
    let c = Domain::new("kexin/tx", "chai");
    assert_ne!(a.signing_input(b"m"), b.signing_input(b"m"));
    assert_ne!(c.signing_input(b"nm"), b.signing_input(b"m"));
    for suite in SUITES {
        let key = fixed_key(suite, 4);
        let sig = key.sign(&b, b"m");
        assert!(key.public_key().verify(&a, b"m", &sig).is_err());
        assert!(key.public_key().verify(&c, b"nm", &sig).is_err());
    }
}

#[test]
fn every_single_flipped_signature_byte_is_refused() {
    for suite in SUITES {
        let key = fixed_key(suite, 5);
        let public = key.public_key();
        let sig = key.sign(&domain(), b"m");
        for i in 0..Signature::LEN {
            for mask in [0x01u8, 0x80, 0xff] {
                let mut bad = sig;
                bad.0[i] ^= mask;
                assert_eq!(
                    public.verify(&domain(), b"m", &bad),
                    Err(CryptoError::BadSignature),
                    "{suite}: byte {i} ^ {mask:#04x}"
                );
            }
        }
    }
}

#[test]
fn degenerate_signatures_are_refused() {
    for suite in SUITES {
        let public = fixed_key(suite, 6).public_key();
        for sig in [[0u8; 64], [0xff; 64]] {
            assert!(public.verify(&domain(), b"m", &Signature(sig)).is_err());
        }
    }
    // SM2: r or s equal to n (out of range) is refused, not reduced.
    let key = fixed_key(Suite::Gm, 6);
    let mut sig = key.sign(&domain(), b"m");
    sig.0[..32].copy_from_slice(&sm2_n_minus(0));
    assert!(key.public_key().verify(&domain(), b"m", &sig).is_err());
}

#[test]
fn ed25519_non_canonical_s_is_refused() {
    // s + L (the group order) is the same scalar mod L; RFC 8032 requires s < L.
    const L: [u8; 32] = [
        0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde,
        0x14, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
    ];
    let key = fixed_key(Suite::Intl, 7);
    let sig = key.sign(&domain(), b"m");
    let mut s_plus_l = sig;
    let mut carry = 0u16;
    for (out, (s, l)) in s_plus_l.0[32..].iter_mut().zip(sig.0[32..].iter().zip(L)) {
        let v = u16::from(*s) + u16::from(l) + carry;
        *out = v as u8;
        carry = v >> 8;
    }
    assert_eq!(carry, 0);
    assert_eq!(
        key.public_key().verify(&domain(), b"m", &s_plus_l),
        Err(CryptoError::BadSignature)
    );
}

#[test]
fn signature_from_another_suite_does_not_verify() {
    let gm = fixed_key(Suite::Gm, 8);
    let intl = fixed_key(Suite::Intl, 8);
    let sig_gm = gm.sign(&domain(), b"m");
    let sig_intl = intl.sign(&domain(), b"m");
    assert!(intl.public_key().verify(&domain(), b"m", &sig_gm).is_err());
    assert!(gm.public_key().verify(&domain(), b"m", &sig_intl).is_err());
}

#[test]
fn signature_hex_roundtrip() {
    let sig = fixed_key(Suite::Gm, 1).sign(&domain(), b"m");
    assert_eq!(Signature::from_hex(&sig.to_hex()).unwrap(), sig);
    assert_eq!(
        Signature::from_hex(&sig.to_hex().to_uppercase()).unwrap(),
        sig
    );
    assert!(Signature::from_hex(&sig.to_hex()[..126]).is_err());
    assert!(Signature::from_hex(&format!("{}00", sig.to_hex())).is_err());
    assert!(Signature::from_hex(&"zz".repeat(64)).is_err());
    let json = serde_json::to_string(&sig).unwrap();
    assert_eq!(json, format!("\"{}\"", sig.to_hex()));
    assert_eq!(serde_json::from_str::<Signature>(&json).unwrap(), sig);
}

// ---------------------------------------------------------------------------------------------
// Public keys
// ---------------------------------------------------------------------------------------------

fn assert_bad_public_key(suite: Suite, bytes: &[u8], what: &str) {
    match PublicKey::from_bytes(suite, bytes) {
        Err(CryptoError::BadPublicKey { scheme, .. }) => {
            assert_eq!(scheme, suite.signature_name(), "{what}")
        }
        other => panic!("{suite}: {what}: expected BadPublicKey, got {other:?}"),
    }
}

#[test]
fn public_key_bytes_roundtrip() {
    for suite in SUITES {
        let public = SigningKey::generate(suite).public_key();
        assert_eq!(
            PublicKey::from_bytes(suite, public.as_bytes()).unwrap(),
            public
        );
        assert_eq!(
            PublicKey::from_hex(suite, &public.to_hex()).unwrap(),
            public
        );
        assert_eq!(
            PublicKey::from_hex(suite, &public.to_hex().to_uppercase()).unwrap(),
            public
        );
        assert_eq!(PublicKey::from_hex_any(&public.to_hex()).unwrap(), public);
        assert_eq!(public.to_string(), public.to_hex());
        let json = serde_json::to_string(&public).unwrap();
        assert_eq!(serde_json::from_str::<PublicKey>(&json).unwrap(), public);
    }
}

#[test]
fn public_key_refuses_wrong_lengths() {
    for suite in SUITES {
        let good = fixed_key(suite, 1).public_key();
        for len in [0, 1, 31, 32, 33, 34, 64, 65] {
            if len == PublicKey::len_for(suite) {
                continue;
            }
            let mut b = good.as_bytes().to_vec();
            b.resize(len, 0);
            assert_bad_public_key(suite, &b, &format!("length {len}"));
        }
    }
    assert!(PublicKey::from_hex(Suite::Intl, "zz").is_err());
    assert!(PublicKey::from_hex(Suite::Gm, "0").is_err());
}

#[test]
fn public_key_refuses_the_other_suites_length() {
    let sm2 = fixed_key(Suite::Gm, 1).public_key();
    let ed = fixed_key(Suite::Intl, 1).public_key();
    assert_bad_public_key(Suite::Intl, sm2.as_bytes(), "SM2 key as Ed25519");
    assert_bad_public_key(Suite::Gm, ed.as_bytes(), "Ed25519 key as SM2");
}

#[test]
fn public_key_refuses_invalid_points() {
    // SM2: x = 2 gives x^3 + ax + b, a quadratic non-residue mod p (Euler's criterion), so no
    // point has that x; x = p and x = 2^256 - 1 are not field elements at all.
    let mut x2 = [0u8; 33];
    x2[32] = 2;
    let p = "FFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFF";
    for prefix in [0x02u8, 0x03] {
        x2[0] = prefix;
        assert_bad_public_key(Suite::Gm, &x2, "SM2 x = 2");
        let mut xp = vec![prefix];
        xp.extend(hex::decode(p).unwrap());
        assert_bad_public_key(Suite::Gm, &xp, "SM2 x = p");
        let mut xff = vec![prefix];
        xff.extend([0xff; 32]);
        assert_bad_public_key(Suite::Gm, &xff, "SM2 x = 2^256-1");
    }
    // The SEC1 identity encoding and unknown prefixes.
    assert_bad_public_key(Suite::Gm, &[0u8; 33], "SM2 all zero");
    let good = fixed_key(Suite::Gm, 1).public_key();
    for prefix in [0x00u8, 0x01, 0x04, 0x05, 0x06, 0x07, 0xff] {
        let mut b = good.as_bytes().to_vec();
        b[0] = prefix;
        assert_bad_public_key(Suite::Gm, &b, &format!("SM2 prefix {prefix:#04x}"));
    }

    // Ed25519: y = 2 has no x on the curve ((y^2 - 1) / (d y^2 + 1) is a non-residue).
    let mut y2 = [0u8; 32];
    y2[0] = 2;
    assert_bad_public_key(Suite::Intl, &y2, "Ed25519 y = 2");
    y2[31] = 0x80; // same y, sign bit set
    assert_bad_public_key(Suite::Intl, &y2, "Ed25519 y = 2, x odd");
}

#[test]
fn public_key_refuses_uncompressed_sm2() {
    use sm2::elliptic_curve::sec1::ToSec1Point as _;
    let key = fixed_key(Suite::Gm, 1);
    let compressed = key.public_key();
    let point = sm2::PublicKey::from_sec1_bytes(compressed.as_bytes()).unwrap();
    let uncompressed = point.to_sec1_point(false);
    assert_eq!(uncompressed.as_bytes().len(), 65);
    assert_bad_public_key(Suite::Gm, uncompressed.as_bytes(), "uncompressed 04||x||y");
    // Even truncated to the right length, a 04 prefix is refused.
    assert_bad_public_key(Suite::Gm, &uncompressed.as_bytes()[..33], "04||x");
    // The hybrid form (06/07 || x || y) too.
    let mut hybrid = uncompressed.as_bytes().to_vec();
    hybrid[0] = 0x06 | (compressed.as_bytes()[0] & 1);
    assert_bad_public_key(Suite::Gm, &hybrid, "hybrid");
    assert!(PublicKey::from_hex_any(&hex::encode(uncompressed.as_bytes())).is_err());
}

// ---------------------------------------------------------------------------------------------
// Signing keys: seeds and PKCS#8
// ---------------------------------------------------------------------------------------------

#[test]
fn sm2_seed_range() {
    let zero = [0u8; 32];
    for (what, seed) in [
        ("0", zero),
        ("n", sm2_n_minus(0)),
        ("n - 1", sm2_n_minus(1)),
        ("2^256 - 1", [0xff; 32]),
    ] {
        assert!(
            matches!(
                SigningKey::from_seed(Suite::Gm, &seed),
                Err(CryptoError::BadPrivateKey(_))
            ),
            "SM2 scalar {what} must be refused"
        );
    }
    let mut one = [0u8; 32];
    one[31] = 1;
    for seed in [one, sm2_n_minus(2)] {
        let key = SigningKey::from_seed(Suite::Gm, &seed).unwrap();
        let sig = key.sign(&domain(), b"m");
        key.public_key().verify(&domain(), b"m", &sig).unwrap();
    }
    // Every 32-byte string is an Ed25519 seed.
    for seed in [zero, [0xff; 32]] {
        SigningKey::from_seed(Suite::Intl, &seed).unwrap();
    }
}

#[test]
fn pkcs8_pem_roundtrip() {
    for suite in SUITES {
        for key in [SigningKey::generate(suite), fixed_key(suite, 0x5a)] {
            let pem = key.to_pkcs8_pem();
            assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----\n"), "{suite}");
            assert!(
                pem.trim_end().ends_with("-----END PRIVATE KEY-----"),
                "{suite}"
            );
            let back = SigningKey::from_pkcs8_pem(&pem).unwrap();
            assert_eq!(back.suite(), suite);
            assert_eq!(back.public_key(), key.public_key());
            // Same secret: deterministic signatures agree.
            assert_eq!(back.sign(&domain(), b"m"), key.sign(&domain(), b"m"));
            // Stable encoding.
            assert_eq!(*back.to_pkcs8_pem(), *pem);
        }
    }
}

#[test]
fn ed25519_pem_is_pkcs8_v1_and_v2_is_still_read() {
    use ed25519_dalek::pkcs8::EncodePrivateKey as _;
    use sm2::pkcs8::LineEnding;
    let key = fixed_key(Suite::Intl, 0x11);
    let pem = key.to_pkcs8_pem();
    // v1: SEQUENCE { INTEGER 0, AlgorithmIdentifier { 1.3.101.112 }, OCTET STRING { seed } },
    // 48 bytes, so exactly one base64 line of 64 characters.
    let body: Vec<&str> = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    assert_eq!(
        body,
        ["MC4CAQAwBQYDK2VwBCIEIBERERERERERERERERERERERERERERERERERERERERER"]
    );

    // RFC 5958 v2 (with the public key), as ed25519-dalek writes it, still loads...
    let dalek = ed25519_dalek::SigningKey::from_bytes(&[0x11; 32]);
    let v2 = dalek.to_pkcs8_pem(LineEnding::LF).unwrap();
    assert_ne!(*v2, *pem);
    let back = SigningKey::from_pkcs8_pem(&v2).unwrap();
    assert_eq!(back.public_key(), key.public_key());

    // ...but not with a public key that does not belong to the seed.
    let mismatched = ed25519_dalek::pkcs8::KeypairBytes {
        secret_key: [0x11; 32],
        public_key: Some(ed25519_dalek::pkcs8::PublicKeyBytes(
            fixed_key(Suite::Intl, 0x12)
                .public_key()
                .as_bytes()
                .try_into()
                .unwrap(),
        )),
    }
    .to_pkcs8_pem(LineEnding::LF)
    .unwrap();
    assert!(matches!(
        SigningKey::from_pkcs8_pem(&mismatched),
        Err(CryptoError::BadPrivateKey(_))
    ));
}

#[test]
fn sm2_pem_refuses_scalar_n_minus_1() {
    use sm2::pkcs8::{EncodePrivateKey as _, LineEnding};
    let sk = sm2::SecretKey::from_slice(&sm2_n_minus(1)).unwrap();
    let pem = sk.to_pkcs8_pem(LineEnding::LF).unwrap();
    assert!(matches!(
        SigningKey::from_pkcs8_pem(&pem),
        Err(CryptoError::BadPrivateKey(_))
    ));
    let sk = sm2::SecretKey::from_slice(&sm2_n_minus(2)).unwrap();
    let pem = sk.to_pkcs8_pem(LineEnding::LF).unwrap();
    let key = SigningKey::from_pkcs8_pem(&pem).unwrap();
    key.public_key()
        .verify(&domain(), b"m", &key.sign(&domain(), b"m"))
        .unwrap();
}

#[test]
fn pkcs8_pem_refuses_garbage() {
    let ed_pem = fixed_key(Suite::Intl, 1).to_pkcs8_pem().to_string();
    let sm2_pem = fixed_key(Suite::Gm, 1).to_pkcs8_pem().to_string();
    let cases = [
        String::new(),
        "garbage".to_string(),
        "-----BEGIN PRIVATE KEY-----\n-----END PRIVATE KEY-----\n".to_string(),
        "-----BEGIN PRIVATE KEY-----\n!!!!\n-----END PRIVATE KEY-----\n".to_string(),
        "-----BEGIN PRIVATE KEY-----\naGVsbG8gd29ybGQ=\n-----END PRIVATE KEY-----\n".to_string(),
        // Right body, wrong label.
        ed_pem.replace("PRIVATE KEY", "PUBLIC KEY"),
        sm2_pem.replace("PRIVATE KEY", "EC PRIVATE KEY"),
        // Truncated.
        ed_pem[..ed_pem.len() / 2].to_string(),
        sm2_pem.replacen("MIGHAgEA", "MIGHAgEB", 1),
    ];
    for (i, pem) in cases.iter().enumerate() {
        match SigningKey::from_pkcs8_pem(pem) {
            Err(CryptoError::BadPrivateKey(msg)) => assert!(!msg.is_empty()),
            Err(other) => panic!("case {i}: expected BadPrivateKey, got {other:?}"),
            Ok(k) => panic!("case {i}: accepted {k:?}"),
        }
    }
}

const P256_PEM: &str = "-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg2Cr0wo50swmm1Ihv
wYOCzVndtj/FKREZpVUpIjO9P/WhRANCAATJD7bTmW6qGtewuRlKAmyaZX+zLF+0
CYxdkNLYGdoO7+p46O/I592VHqKfY+BYSPCiT5hgXWAbil0b4aAJAQiw
-----END PRIVATE KEY-----
";

/// An EC key on P-256 made by OpenSSL (`genpkey -algorithm ec -pkeyopt
/// ec_paramgen_curve:P-256`) reads as a P-256 key (user certificates on `intl`), with the public
/// key OpenSSL embedded, and re-encodes to the same PEM.
#[test]
fn openssl_p256_pem_reads_as_p256() {
    let key = SigningKey::from_pkcs8_pem(P256_PEM).unwrap();
    assert_eq!(key.scheme(), kexin_crypto::KeyScheme::EcdsaP256);
    assert_eq!(key.suite(), Suite::Intl);
    assert_eq!(
        key.public_key().to_hex(),
        "04c90fb6d3996eaa1ad7b0b9194a026c9a657fb32c5fb4098c5d90d2d819da0eef\
         ea78e8efc8e7dd951ea29f63e05848f0a24f98605d601b8a5d1be1a0090108b0"
    );
    assert_eq!(*key.to_pkcs8_pem(), P256_PEM);
}

#[test]
fn debug_does_not_print_secrets() {
    for suite in SUITES {
        let key = fixed_key(suite, 0xab);
        let dbg = format!("{key:?}");
        assert!(dbg.contains(&key.public_key().to_hex()), "{dbg}");
        assert!(!dbg.to_lowercase().contains(&"ab".repeat(32)), "{dbg}");
    }
}

// ---------------------------------------------------------------------------------------------
// AEAD
// ---------------------------------------------------------------------------------------------

const NONCE: [u8; 12] = *b"kexin-nonce!";

#[test]
fn aead_roundtrip() {
    for suite in SUITES {
        let key = SymmetricKey::generate(suite);
        for pt in [&b""[..], b"a", &[7u8; 16][..], &[9u8; 1000][..]] {
            let ct = key.seal(&NONCE, b"header", pt);
            assert_eq!(ct.len(), pt.len() + 16, "{suite}");
            if !pt.is_empty() {
                assert_ne!(&ct[..pt.len()], pt, "{suite}: not encrypted");
            }
            assert_eq!(key.open(&NONCE, b"header", &ct).unwrap(), pt, "{suite}");
        }
    }
}

#[test]
fn aead_refuses_every_flipped_ciphertext_byte() {
    for suite in SUITES {
        let key = SymmetricKey::new(suite, &vec![0x33; SymmetricKey::len_for(suite)]).unwrap();
        let ct = key.seal(
            &NONCE,
            b"aad",
            b"forty-two bytes of very secret plaintext!!",
        );
        for i in 0..ct.len() {
            for mask in [0x01u8, 0x80] {
                let mut bad = ct.clone();
                bad[i] ^= mask;
                assert_eq!(
                    key.open(&NONCE, b"aad", &bad),
                    Err(CryptoError::DecryptionFailed),
                    "{suite}: byte {i} ^ {mask:#04x}"
                );
            }
        }
        // Truncation and extension.
        for len in [0, 15, 16, ct.len() - 1] {
            assert_eq!(
                key.open(&NONCE, b"aad", &ct[..len]),
                Err(CryptoError::DecryptionFailed),
                "{suite}: truncated to {len}"
            );
        }
        let mut longer = ct.clone();
        longer.push(0);
        assert!(key.open(&NONCE, b"aad", &longer).is_err());
    }
}

#[test]
fn aead_refuses_wrong_aad_nonce_and_key() {
    for suite in SUITES {
        let key = SymmetricKey::generate(suite);
        let ct = key.seal(&NONCE, b"aad", b"payload");
        assert_eq!(key.open(&NONCE, b"aad", &ct).unwrap(), b"payload");
        let fail = Err(CryptoError::DecryptionFailed);
        assert_eq!(key.open(&NONCE, b"aae", &ct), fail, "{suite}: aad");
        assert_eq!(key.open(&NONCE, b"", &ct), fail, "{suite}: empty aad");
        assert_eq!(key.open(&NONCE, b"aad\0", &ct), fail, "{suite}: longer aad");
        let mut nonce = NONCE;
        nonce[11] ^= 1;
        assert_eq!(key.open(&nonce, b"aad", &ct), fail, "{suite}: nonce");
        let other = SymmetricKey::generate(suite);
        assert_eq!(other.open(&NONCE, b"aad", &ct), fail, "{suite}: key");
    }
    // A key of the other suite (SM4-GCM vs AES-256-GCM) with overlapping bytes fails too.
    let gm = SymmetricKey::new(Suite::Gm, &[5; 16]).unwrap();
    let intl = SymmetricKey::new(Suite::Intl, &[5; 32]).unwrap();
    let ct = gm.seal(&NONCE, b"", b"payload");
    assert!(intl.open(&NONCE, b"", &ct).is_err());
}

#[test]
fn symmetric_key_refuses_wrong_lengths() {
    assert_eq!(SymmetricKey::len_for(Suite::Gm), 16);
    assert_eq!(SymmetricKey::len_for(Suite::Intl), 32);
    for suite in SUITES {
        for len in [0usize, 1, 15, 16, 17, 24, 31, 32, 33, 64] {
            let r = SymmetricKey::new(suite, &vec![1; len]);
            if len == SymmetricKey::len_for(suite) {
                assert!(r.is_ok());
            } else {
                assert_eq!(
                    r.err(),
                    Some(CryptoError::BadSymmetricKey {
                        suite,
                        expected: SymmetricKey::len_for(suite),
                        actual: len,
                    })
                );
            }
        }
    }
}

#[test]
fn ed25519_keys_have_one_encoding_and_are_not_weak() {
    // The identity point (small order): a valid point no signature can verify under.
    let mut identity = [0u8; 32];
    identity[0] = 1;
    let err = PublicKey::from_bytes(Suite::Intl, &identity).unwrap_err();
    assert!(err.to_string().contains("weak"), "{err}");
    // y = p + 3 encodes the same point as y = 3 would: not canonical.
    let mut non_canonical = [0xffu8; 32];
    non_canonical[0] = 0xf0;
    non_canonical[31] = 0x7f;
    assert!(PublicKey::from_bytes(Suite::Intl, &non_canonical).is_err());
    // A real key still parses.
    let key = SigningKey::generate(Suite::Intl).public_key();
    assert_eq!(
        PublicKey::from_bytes(Suite::Intl, key.as_bytes()).unwrap(),
        key
    );
}

#[test]
fn encrypted_keys_round_trip_and_refuse_a_missing_or_wrong_passphrase() {
    let keys = [
        SigningKey::generate(Suite::Intl),
        SigningKey::generate(Suite::Gm),
        SigningKey::generate_scheme(kexin_crypto::KeyScheme::EcdsaP256),
    ];
    for key in keys {
        let pem = key.to_encrypted_pkcs8_pem(b"pass phrase").unwrap();
        assert!(pem.starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----"));
        assert!(!pem.contains(&*key.to_pkcs8_pem()));
        let back = SigningKey::from_pem(&pem, Some(b"pass phrase")).unwrap();
        assert_eq!(back.public_key(), key.public_key());
        // Salt and IV are fresh: the same key encrypts differently each time.
        assert_ne!(*key.to_encrypted_pkcs8_pem(b"pass phrase").unwrap(), *pem);
        assert_eq!(
            SigningKey::from_pem(&pem, None).unwrap_err(),
            CryptoError::KeyEncrypted
        );
        assert_eq!(
            SigningKey::from_pem(&pem, Some(b"pass phrasE")).unwrap_err(),
            CryptoError::WrongPassphrase
        );
        // Plain keys read the same with or without a passphrase.
        let plain = key.to_pkcs8_pem();
        let read = SigningKey::from_pem(&plain, Some(b"ignored")).unwrap();
        assert_eq!(read.public_key(), key.public_key());
    }
    // Other PEM blocks are refused by name.
    let cert = "-----BEGIN CERTIFICATE-----\nMAA=\n-----END CERTIFICATE-----\n";
    match SigningKey::from_pem(cert, Some(b"x")) {
        Err(CryptoError::BadPrivateKey(m)) => assert!(m.contains("CERTIFICATE"), "{m}"),
        other => panic!("{other:?}"),
    }
    // An encrypted key whose structure is broken is a bad key, not a wrong passphrase.
    let garbled =
        "-----BEGIN ENCRYPTED PRIVATE KEY-----\nMAA=\n-----END ENCRYPTED PRIVATE KEY-----\n";
    assert!(matches!(
        SigningKey::from_pem(garbled, Some(b"x")),
        Err(CryptoError::BadPrivateKey(_))
    ));
}
