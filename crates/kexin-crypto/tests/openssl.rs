//! Interoperability with the `openssl` command-line tool (OpenSSL 3).
//!
//! Each test skips itself, with a line on stderr, when `openssl` is not on PATH or is not
//! OpenSSL 3 (CI installs it). What is checked:
//!
//! * our PKCS#8 PEM (SM2 and Ed25519) is read by `openssl pkey`, which names the right
//!   algorithm, passes `-check` and derives the same public key;
//! * keys made by `openssl genpkey` load with `SigningKey::from_pkcs8_pem`, and re-encode to the
//!   very same PEM;
//! * signatures made by `openssl pkeyutl -sign` over our domain signing input verify with our
//!   API, and ours verify with `openssl pkeyutl -verify` (SM2 with `-digest sm3 -pkeyopt
//!   distid:1234567812345678`: OpenSSL 3 does not use that default id unless told to).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use kexin_crypto::{Domain, PublicKey, SM2_DEFAULT_USER_ID, Signature, SigningKey, Suite};

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
/// 65-byte uncompressed SM2 point (the BIT STRING at the end of the DER SubjectPublicKeyInfo).
fn openssl_public_key(key_file: &Path, suite: Suite) -> Vec<u8> {
    let der = run(&[
        "pkey",
        "-in",
        path_str(key_file),
        "-pubout",
        "-outform",
        "DER",
    ])
    .stdout;
    let len = match suite {
        Suite::Intl => 32,
        Suite::Gm => 65,
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
    }
}

fn our_keys() -> Vec<SigningKey> {
    vec![
        SigningKey::generate(Suite::Gm),
        SigningKey::generate(Suite::Intl),
        SigningKey::from_seed(Suite::Gm, &[0x07; 32]).unwrap(),
        SigningKey::from_seed(Suite::Intl, &[0x07; 32]).unwrap(),
    ]
}

#[test]
fn openssl_reads_our_pkcs8_pem() {
    require_openssl!();
    let scratch = Scratch::new();
    for (i, key) in our_keys().iter().enumerate() {
        let suite = key.suite();
        let file = scratch.write(&format!("ours-{i}.pem"), key.to_pkcs8_pem().as_bytes());

        let text = run(&["pkey", "-in", path_str(&file), "-noout", "-text"]).stdout;
        let text = String::from_utf8_lossy(&text);
        match suite {
            Suite::Intl => assert!(text.contains("ED25519 Private-Key"), "{text}"),
            // OpenSSL 3 prints SM2 keys as EC keys on the SM2 curve.
            Suite::Gm => assert!(text.contains("ASN1 OID: SM2"), "{text}"),
        }

        // OpenSSL checks the key pair and derives the same public key.
        let check = run(&["pkey", "-in", path_str(&file), "-noout", "-check"]).stdout;
        assert!(String::from_utf8_lossy(&check).contains("Key is valid"));
        assert_eq!(
            openssl_public_key(&file, suite),
            raw_public_key(&key.public_key()),
            "{suite}"
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
    let cases: [(&str, &[&str], Suite); 3] = [
        ("ed25519.pem", &["-algorithm", "ed25519"], Suite::Intl),
        (
            "sm2-ec.pem",
            &["-algorithm", "ec", "-pkeyopt", "ec_paramgen_curve:SM2"],
            Suite::Gm,
        ),
        ("sm2.pem", &["-algorithm", "SM2"], Suite::Gm),
    ];
    for (name, args, suite) in cases {
        let file = genpkey(&scratch, name, args);
        let pem = std::fs::read_to_string(&file).unwrap();
        let key = SigningKey::from_pkcs8_pem(&pem).unwrap_or_else(|e| panic!("{name}: {e}\n{pem}"));
        assert_eq!(key.suite(), suite, "{name}");
        assert_eq!(
            raw_public_key(&key.public_key()),
            openssl_public_key(&file, suite),
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

#[test]
fn openssl_p256_key_is_refused() {
    require_openssl!();
    let scratch = Scratch::new();
    let file = genpkey(
        &scratch,
        "p256.pem",
        &["-algorithm", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"],
    );
    let pem = std::fs::read_to_string(file).unwrap();
    assert!(matches!(
        SigningKey::from_pkcs8_pem(&pem),
        Err(kexin_crypto::CryptoError::BadPrivateKey(_))
    ));
}

/// `openssl pkeyutl -sign` over `input`; returns the raw 64-byte signature (SM2's DER
/// `SEQUENCE { r, s }` is converted to `r || s`).
fn openssl_sign(scratch: &Scratch, key_file: &Path, suite: Suite, input: &[u8]) -> Signature {
    let input_file = scratch.write("input.bin", input);
    let sig_file = scratch.path("sig.bin");
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
    if suite == Suite::Gm {
        args.extend_from_slice(&["-digest", "sm3", "-pkeyopt", &distid]);
    }
    run(&args);
    let sig = std::fs::read(&sig_file).unwrap();
    match suite {
        Suite::Intl => Signature(sig.try_into().expect("64-byte Ed25519 signature")),
        Suite::Gm => {
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
        let suite = key.suite();
        let key_file = scratch.write("key.pem", key.to_pkcs8_pem().as_bytes());
        let sig = openssl_sign(&scratch, &key_file, suite, &domain.signing_input(msg));
        key.public_key()
            .verify(&domain, msg, &sig)
            .unwrap_or_else(|e| panic!("{suite}: openssl signature refused: {e}"));
        if suite == Suite::Intl {
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
        let sig_bytes = match suite {
            Suite::Intl => sig.0.to_vec(),
            Suite::Gm => sm2::dsa::Signature::from_bytes(&sig.0.into())
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
