//! Interoperability with the `openssl` command-line tool (OpenSSL 3).
//!
//! Each test skips itself, with a line on stderr, when `openssl` is not on PATH or is not
//! OpenSSL 3 (CI installs it). What is checked:
//!
//! * our PKCS#8 PEM (SM2, Ed25519 and P-256) is read by `openssl pkey`, which names the right
//!   algorithm, passes `-check` and derives the same public key;
//! * keys made by `openssl genpkey` load with `SigningKey::from_pkcs8_pem`, and re-encode to the
//!   very same PEM;
//! * signatures made by `openssl pkeyutl -sign` over our domain signing input verify with our
//!   API, and ours verify with `openssl pkeyutl -verify` (SM2 with `-digest sm3 -pkeyopt
//!   distid:1234567812345678`: OpenSSL 3 does not use that default id unless told to; P-256
//!   with `openssl dgst -sha256`, whose high-`s` signatures Kexin refuses until normalized).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use kexin_crypto::{
    Domain, KeyScheme, PublicKey, SM2_DEFAULT_USER_ID, Signature, SigningKey, Suite,
};

/// `Some(version line)` when an OpenSSL 3 (or later) `openssl` is on PATH; otherwise prints why
/// the calling test is skipped and returns `None`.
fn openssl_3() -> Option<String> {
    let out = match Command::new("openssl").arg("version").output() {
        Ok(out) if out.status.success() => out,
        _ => {
            eprintln!("skipping: openssl not installed");
            return None;
        }
    };
    let version = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let major = version
        .strip_prefix("OpenSSL ")
        .and_then(|v| v.split('.').next())
        .and_then(|m| m.parse::<u32>().ok());
    match major {
        Some(m) if m >= 3 => Some(version),
        _ => {
            eprintln!("skipping: {version:?} is not OpenSSL 3 or later");
            None
        }
    }
}

macro_rules! require_openssl {
    () => {
        if openssl_3().is_none() {
            return;
        }
    };
}

fn run(args: &[&str]) -> Output {
    let out = Command::new("openssl")
        .args(args)
        .output()
        .expect("run openssl");
    assert!(
        out.status.success(),
        "openssl {} failed ({}):\nstdout: {}\nstderr: {}",
        args.join(" "),
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn path_str(p: &Path) -> &str {
    p.to_str().expect("utf-8 temp path")
}

struct Scratch {
    dir: tempfile::TempDir,
}

impl Scratch {
    fn new() -> Scratch {
        Scratch {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn write(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let p = self.path(name);
        std::fs::write(&p, bytes).expect("write temp file");
        p
    }
}

/// The raw public key OpenSSL derives from a private key file: the 32-byte Ed25519 key, or the
/// 65-byte uncompressed SM2 or P-256 point (the BIT STRING at the end of the DER
/// SubjectPublicKeyInfo).
fn openssl_public_key(key_file: &Path, scheme: KeyScheme) -> Vec<u8> {
    let der = run(&[
        "pkey",
        "-in",
        path_str(key_file),
        "-pubout",
        "-outform",
        "DER",
    ])
    .stdout;
    let len = match scheme {
        KeyScheme::Ed25519 => 32,
        _ => 65,
    };
    der[der.len() - len..].to_vec()
}

/// Our public key in the form [`openssl_public_key`] returns.
fn raw_public_key(key: &PublicKey) -> Vec<u8> {
    match key {
        PublicKey::Ed25519(b) => b.to_vec(),
        PublicKey::Sm2(b) => {
            use sm2::elliptic_curve::sec1::ToSec1Point as _;
            let pk = sm2::PublicKey::from_sec1_bytes(b).unwrap();
            pk.to_sec1_point(false).as_bytes().to_vec()
        }
        PublicKey::P256(b) => b.to_vec(),
    }
}

fn our_keys() -> Vec<SigningKey> {
    vec![
        SigningKey::generate(Suite::Gm),
        SigningKey::generate(Suite::Intl),
        SigningKey::from_seed(Suite::Gm, &[0x07; 32]).unwrap(),
        SigningKey::from_seed(Suite::Intl, &[0x07; 32]).unwrap(),
        SigningKey::generate_scheme(KeyScheme::EcdsaP256),
        SigningKey::from_scheme_seed(KeyScheme::EcdsaP256, &[0x07; 32]).unwrap(),
    ]
}

#[test]
fn openssl_reads_our_pkcs8_pem() {
    require_openssl!();
    let scratch = Scratch::new();
    for (i, key) in our_keys().iter().enumerate() {
        let scheme = key.scheme();
        let file = scratch.write(&format!("ours-{i}.pem"), key.to_pkcs8_pem().as_bytes());

        let text = run(&["pkey", "-in", path_str(&file), "-noout", "-text"]).stdout;
        let text = String::from_utf8_lossy(&text);
        match scheme {
            KeyScheme::Ed25519 => assert!(text.contains("ED25519 Private-Key"), "{text}"),
            // OpenSSL 3 prints SM2 keys as EC keys on the SM2 curve.
            KeyScheme::Sm2 => assert!(text.contains("ASN1 OID: SM2"), "{text}"),
            _ => assert!(text.contains("ASN1 OID: prime256v1"), "{text}"),
        }

        // OpenSSL checks the key pair and derives the same public key.
        let check = run(&["pkey", "-in", path_str(&file), "-noout", "-check"]).stdout;
        assert!(String::from_utf8_lossy(&check).contains("Key is valid"));
        assert_eq!(
            openssl_public_key(&file, scheme),
            raw_public_key(&key.public_key()),
            "{scheme}"
        );
    }
}

fn genpkey(scratch: &Scratch, name: &str, args: &[&str]) -> PathBuf {
    let file = scratch.path(name);
    let mut all = vec!["genpkey"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["-out", path_str(&file)]);
    run(&all);
    file
}

#[test]
fn openssl_generated_keys_load() {
    require_openssl!();
    let scratch = Scratch::new();
    let cases: [(&str, &[&str], KeyScheme); 4] = [
        (
            "ed25519.pem",
            &["-algorithm", "ed25519"],
            KeyScheme::Ed25519,
        ),
        (
            "sm2-ec.pem",
            &["-algorithm", "ec", "-pkeyopt", "ec_paramgen_curve:SM2"],
            KeyScheme::Sm2,
        ),
        ("sm2.pem", &["-algorithm", "SM2"], KeyScheme::Sm2),
        (
            "p256.pem",
            &["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"],
            KeyScheme::EcdsaP256,
        ),
    ];
    for (name, args, scheme) in cases {
        let file = genpkey(&scratch, name, args);
        let pem = std::fs::read_to_string(&file).unwrap();
        let key = SigningKey::from_pkcs8_pem(&pem).unwrap_or_else(|e| panic!("{name}: {e}\n{pem}"));
        assert_eq!(key.scheme(), scheme, "{name}");
        assert_eq!(
            raw_public_key(&key.public_key()),
            openssl_public_key(&file, scheme),
            "{name}"
        );
        // We write exactly what OpenSSL writes.
        assert_eq!(*key.to_pkcs8_pem(), pem, "{name}: re-encoding differs");
        // And the key works.
        let domain = Domain::new("kexin/test", "openssl");
        let sig = key.sign(&domain, b"m");
        key.public_key().verify(&domain, b"m", &sig).unwrap();
    }
}

/// EC keys on other curves share the algorithm OID with SM2 and P-256 keys and are refused by
/// their curve OID.
#[test]
fn openssl_other_curve_keys_are_refused() {
    require_openssl!();
    let scratch = Scratch::new();
    for curve in ["P-384", "secp256k1"] {
        let file = genpkey(
            &scratch,
            "other.pem",
            &[
                "-algorithm",
                "EC",
                "-pkeyopt",
                &format!("ec_paramgen_curve:{curve}"),
            ],
        );
        let pem = std::fs::read_to_string(file).unwrap();
        match SigningKey::from_pkcs8_pem(&pem) {
            Err(kexin_crypto::CryptoError::BadPrivateKey(m)) => {
                assert!(m.contains("curve"), "{curve}: {m}")
            }
            other => panic!("{curve}: expected BadPrivateKey, got {other:?}"),
        }
    }
}

/// `openssl pkeyutl -sign` (P-256: `openssl dgst -sha256 -sign`) over `input`; returns the raw
/// 64-byte signature (a DER `SEQUENCE { r, s }` is converted to `r || s`).
fn openssl_sign(scratch: &Scratch, key_file: &Path, scheme: KeyScheme, input: &[u8]) -> Signature {
    let input_file = scratch.write("input.bin", input);
    let sig_file = scratch.path("sig.bin");
    if scheme == KeyScheme::EcdsaP256 {
        // OpenSSL 3.0's `pkeyutl -rawin` takes only EdDSA and SM2 keys.
        run(&[
            "dgst",
            "-sha256",
            "-sign",
            path_str(key_file),
            "-out",
            path_str(&sig_file),
            path_str(&input_file),
        ]);
        let der = std::fs::read(&sig_file).unwrap();
        let sig = p256::ecdsa::Signature::from_der(&der).expect("DER ECDSA signature");
        return Signature(sig.to_bytes().into());
    }
    let mut args = vec![
        "pkeyutl",
        "-sign",
        "-inkey",
        path_str(key_file),
        "-rawin",
        "-in",
        path_str(&input_file),
        "-out",
        path_str(&sig_file),
    ];
    let distid = format!("distid:{SM2_DEFAULT_USER_ID}");
    if scheme == KeyScheme::Sm2 {
        args.extend_from_slice(&["-digest", "sm3", "-pkeyopt", &distid]);
    }
    run(&args);
    let sig = std::fs::read(&sig_file).unwrap();
    match scheme {
        KeyScheme::Ed25519 => Signature(sig.try_into().expect("64-byte Ed25519 signature")),
        _ => {
            let sig = sm2::dsa::Signature::from_der(&sig).expect("DER SM2 signature");
            Signature(sig.to_bytes().into())
        }
    }
}

#[test]
fn openssl_signatures_verify_with_kexin() {
    require_openssl!();
    let scratch = Scratch::new();
    let domain = Domain::new("kexin/tx", "interop-chain");
    let msg = b"signed by openssl";
    for key in our_keys() {
        let scheme = key.scheme();
        let key_file = scratch.write("key.pem", key.to_pkcs8_pem().as_bytes());
        let mut sig = openssl_sign(&scratch, &key_file, scheme, &domain.signing_input(msg));
        if scheme == KeyScheme::EcdsaP256 {
            // OpenSSL does not normalize s: its high-s signatures are refused, and their low-s
            // twin (what a client must send) verifies.
            let parsed = p256::ecdsa::Signature::from_slice(&sig.0).unwrap();
            let low = Signature(parsed.normalize_s().to_bytes().into());
            if low != sig {
                assert!(key.public_key().verify(&domain, msg, &sig).is_err());
            }
            sig = low;
        }
        key.public_key()
            .verify(&domain, msg, &sig)
            .unwrap_or_else(|e| panic!("{scheme}: openssl signature refused: {e}"));
        if scheme == KeyScheme::Ed25519 {
            // Ed25519 is deterministic: OpenSSL and we produce the very same signature.
            assert_eq!(sig, key.sign(&domain, msg));
        }
        // And it is bound to the domain like ours.
        let other = Domain::new("kexin/tx", "other-chain");
        assert!(key.public_key().verify(&other, msg, &sig).is_err());
    }
}

#[test]
fn kexin_signatures_verify_with_openssl() {
    require_openssl!();
    let scratch = Scratch::new();
    let domain = Domain::new("kexin/block", "interop-chain");
    let msg = b"signed by kexin";
    for key in our_keys() {
        let suite = key.suite();
        let key_file = scratch.write("key.pem", key.to_pkcs8_pem().as_bytes());
        let pub_file = scratch.path("pub.pem");
        run(&[
            "pkey",
            "-in",
            path_str(&key_file),
            "-pubout",
            "-out",
            path_str(&pub_file),
        ]);
        let sig = key.sign(&domain, msg);
        let scheme = key.scheme();
        let sig_bytes = match scheme {
            KeyScheme::Ed25519 => sig.0.to_vec(),
            KeyScheme::Sm2 => sm2::dsa::Signature::from_bytes(&sig.0.into())
                .unwrap()
                .to_der()
                .as_bytes()
                .to_vec(),
            _ => p256::ecdsa::Signature::from_slice(&sig.0)
                .unwrap()
                .to_der()
                .as_bytes()
                .to_vec(),
        };
        let sig_file = scratch.write("sig.bin", &sig_bytes);
        let distid = format!("distid:{SM2_DEFAULT_USER_ID}");
        for (input, should_verify) in [
            (domain.signing_input(msg), true),
            (domain.signing_input(b"something else"), false),
        ] {
            let input_file = scratch.write("input.bin", &input);
            // ECDSA-SHA256 over the signing input: `openssl dgst` (OpenSSL 3.0's `pkeyutl
            // -rawin` takes only EdDSA and SM2 keys).
            let dgst = [
                "dgst",
                "-sha256",
                "-verify",
                path_str(&pub_file),
                "-signature",
                path_str(&sig_file),
                path_str(&input_file),
            ];
            let mut args = vec![
                "pkeyutl",
                "-verify",
                "-pubin",
                "-inkey",
                path_str(&pub_file),
                "-rawin",
                "-in",
                path_str(&input_file),
                "-sigfile",
                path_str(&sig_file),
            ];
            if suite == Suite::Gm {
                args.extend_from_slice(&["-digest", "sm3", "-pkeyopt", &distid]);
            }
            if scheme == KeyScheme::EcdsaP256 {
                args = dgst.to_vec();
            }
            let out = Command::new("openssl").args(&args).output().unwrap();
            assert_eq!(
                out.status.success(),
                should_verify,
                "{suite}: openssl verify: {}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
}

#[test]
fn openssl_sm2_needs_the_distid_option() {
    // Without `-pkeyopt distid:...`, OpenSSL 3 does not hash the default id 1234567812345678
    // into ZA, so such signatures are not Kexin signatures. This test documents the behaviour
    // of the installed OpenSSL rather than relying on it: it reports what it saw.
    let Some(version) = openssl_3() else { return };
    let scratch = Scratch::new();
    let key = SigningKey::from_seed(Suite::Gm, &[0x24; 32]).unwrap();
    let key_file = scratch.write("key.pem", key.to_pkcs8_pem().as_bytes());
    let domain = Domain::new("kexin/tx", "interop-chain");
    let input_file = scratch.write("input.bin", &domain.signing_input(b"m"));
    let sig_file = scratch.path("sig.der");
    run(&[
        "pkeyutl",
        "-sign",
        "-inkey",
        path_str(&key_file),
        "-rawin",
        "-digest",
        "sm3",
        "-in",
        path_str(&input_file),
        "-out",
        path_str(&sig_file),
    ]);
    let der = std::fs::read(&sig_file).unwrap();
    let raw = sm2::dsa::Signature::from_der(&der).unwrap();
    let sig = Signature(raw.to_bytes().into());
    let with_default = key.public_key().verify(&domain, b"m", &sig).is_ok();

    use sm2::dsa::signature::Verifier as _;
    let vk = sm2::dsa::VerifyingKey::from_sec1_bytes("", key.public_key().as_bytes()).unwrap();
    let with_empty = vk.verify(&domain.signing_input(b"m"), &raw).is_ok();
    eprintln!(
        "{version}: SM2 signature without distid option verifies with default id: \
         {with_default}, with empty id: {with_empty}"
    );
    // OpenSSL 3.0 uses the empty id here; either way it must be one of the two conventions.
    assert!(
        with_default || with_empty,
        "{version}: SM2 signature made without distid verifies with neither the default nor \
         the empty id"
    );
}

/// Keys OpenSSL 3 encrypts (`openssl pkcs8 -topk8 -v2 aes-256-cbc`: PBKDF2-HMAC-SHA256 by
/// default, scrypt with `-scrypt`) load with their passphrase, and are refused without it or
/// with another; keys we encrypt, OpenSSL decrypts to the same key.
#[test]
fn openssl_encrypted_keys_load_with_their_passphrase() {
    require_openssl!();
    let scratch = Scratch::new();
    let cases: [(&str, &[&str]); 3] = [
        ("ed25519.pem", &["-algorithm", "ed25519"]),
        ("sm2.pem", &["-algorithm", "SM2"]),
        (
            "p256.pem",
            &["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"],
        ),
    ];
    let schemes: [&[&str]; 3] = [
        &["-v2", "aes-256-cbc"],
        &["-v2", "aes-256-cbc", "-scrypt"],
        &["-v2", "aes-128-cbc", "-v2prf", "hmacWithSHA256"],
    ];
    let pass = "correct horse battery";
    for (name, args) in cases {
        let plain_file = genpkey(&scratch, name, args);
        let plain =
            SigningKey::from_pkcs8_pem(&std::fs::read_to_string(&plain_file).unwrap()).unwrap();
        for (i, scheme) in schemes.iter().enumerate() {
            let enc_file = scratch.path(&format!("{name}.enc{i}"));
            let mut cmd = vec![
                "pkcs8",
                "-topk8",
                "-in",
                path_str(&plain_file),
                "-out",
                path_str(&enc_file),
            ];
            cmd.extend_from_slice(scheme);
            let passout = format!("pass:{pass}");
            cmd.extend_from_slice(&["-passout", &passout]);
            run(&cmd);
            let pem = std::fs::read_to_string(&enc_file).unwrap();
            assert!(
                pem.starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----"),
                "{pem}"
            );
            let key = SigningKey::from_pem(&pem, Some(pass.as_bytes()))
                .unwrap_or_else(|e| panic!("{name} {scheme:?}: {e}"));
            assert_eq!(key.public_key(), plain.public_key(), "{name} {scheme:?}");
            assert_eq!(
                SigningKey::from_pem(&pem, None).unwrap_err(),
                kexin_crypto::CryptoError::KeyEncrypted
            );
            assert_eq!(
                SigningKey::from_pkcs8_pem(&pem).unwrap_err(),
                kexin_crypto::CryptoError::KeyEncrypted
            );
            assert_eq!(
                SigningKey::from_pem(&pem, Some(b"correct horse")).unwrap_err(),
                kexin_crypto::CryptoError::WrongPassphrase,
                "{name} {scheme:?}"
            );
        }
        // Ours, decrypted by OpenSSL.
        let ours = plain.to_encrypted_pkcs8_pem(pass.as_bytes()).unwrap();
        let ours_file = scratch.path(&format!("{name}.ours"));
        std::fs::write(&ours_file, ours.as_bytes()).unwrap();
        let passin = format!("pass:{pass}");
        let decrypted = run(&["pkey", "-in", path_str(&ours_file), "-passin", &passin]).stdout;
        let back = SigningKey::from_pkcs8_pem(std::str::from_utf8(&decrypted).unwrap()).unwrap();
        assert_eq!(back.public_key(), plain.public_key(), "{name}");
        // A wrong passphrase makes OpenSSL fail too: the file really is encrypted.
        let out = Command::new("openssl")
            .args(["pkey", "-in", path_str(&ours_file), "-passin", "pass:nope"])
            .output()
            .unwrap();
        assert!(!out.status.success(), "{name}");
    }
}
