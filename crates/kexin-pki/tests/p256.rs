//! ECDSA P-256 user certificates on `intl` chains: issued by the organisation's Ed25519 CA for
//! every role but `node`, refused wherever the suite's own scheme is required, and read and
//! verified by OpenSSL 3 (keys made by `openssl genpkey`, certificates checked by `openssl
//! verify`, signatures by `openssl dgst -sha256 -verify`).

use std::path::Path;
use std::process::Command;

use kexin_crypto::{Domain, KeyScheme, SigningKey, Suite};
use kexin_pki::{Certificate, Role, Terms, check_ca, issue, self_signed_ca, verify};

const DAY_MS: u64 = 86_400_000;
const T0: u64 = 1_790_000_000_000;

fn terms(serial: u64) -> Terms {
    Terms {
        serial,
        not_before_ms: T0,
        not_after_ms: T0 + 365 * DAY_MS,
    }
}

fn code(r: Result<impl std::fmt::Debug, kexin_pki::PkiError>) -> &'static str {
    r.unwrap_err().code()
}

fn p256() -> SigningKey {
    SigningKey::generate_scheme(KeyScheme::EcdsaP256)
}

#[test]
fn p256_user_certificates_under_an_ed25519_ca() {
    let ca_key = SigningKey::generate(Suite::Intl);
    let ca = self_signed_ca("org1", &ca_key, &terms(1)).unwrap();
    for role in [Role::Admin, Role::Writer, Role::Reader, Role::Auditor] {
        let user = p256();
        let cert = issue(&ca, &ca_key, "alice", role, &user.public_key(), &terms(7)).unwrap();
        let id = verify(&cert, &ca, Suite::Intl, T0 + DAY_MS).unwrap();
        assert_eq!(
            (id.org.as_str(), id.name.as_str(), id.role),
            ("org1", "alice", role)
        );
        assert_eq!(id.public_key, user.public_key());
        assert_eq!(id.public_key.scheme(), KeyScheme::EcdsaP256);
        assert_eq!(cert.public_key(Suite::Intl).unwrap(), user.public_key());
        assert_eq!(Certificate::from_pem(&cert.to_pem()).unwrap(), cert);
        assert!(cert.is_canonical());
        // A flipped byte of the signature fails as before.
        let mut der = cert.der().to_vec();
        let n = der.len();
        der[n - 3] ^= 1;
        let bad = Certificate::from_der(&der).unwrap();
        assert_eq!(
            code(verify(&bad, &ca, Suite::Intl, T0)),
            "cert_bad_signature"
        );
    }
}

#[test]
fn p256_is_refused_for_nodes_cas_and_gm() {
    let ca_key = SigningKey::generate(Suite::Intl);
    let ca = self_signed_ca("org1", &ca_key, &terms(1)).unwrap();
    let user = p256();
    // A node certificate holds the suite's own key (nodes sign votes and blocks).
    assert_eq!(
        code(issue(
            &ca,
            &ca_key,
            "n1",
            Role::Node,
            &user.public_key(),
            &terms(2)
        )),
        "cert_wrong_algorithm"
    );
    // A CA holds the suite's own key: no P-256 CA, and a P-256 key cannot issue.
    assert_eq!(
        code(self_signed_ca("org2", &user, &terms(3))),
        "cert_wrong_algorithm"
    );
    let other = SigningKey::generate(Suite::Intl).public_key();
    assert_eq!(
        code(issue(&ca, &user, "w", Role::Writer, &other, &terms(4))),
        "cert_wrong_algorithm"
    );
    // gm chains take SM2 keys only: a gm CA does not certify a P-256 key, and a P-256
    // certificate is not read on a gm chain.
    let gm_key = SigningKey::generate(Suite::Gm);
    let gm_ca = self_signed_ca("org1", &gm_key, &terms(5)).unwrap();
    assert_eq!(
        code(issue(
            &gm_ca,
            &gm_key,
            "w",
            Role::Writer,
            &user.public_key(),
            &terms(6)
        )),
        "cert_wrong_algorithm"
    );
    let cert = issue(
        &ca,
        &ca_key,
        "w",
        Role::Writer,
        &user.public_key(),
        &terms(7),
    )
    .unwrap();
    let err = cert.public_key(Suite::Gm).unwrap_err();
    assert_eq!(err.code(), "cert_wrong_algorithm");
    assert!(
        err.to_string().contains("gm chains take SM2 keys only"),
        "{err}"
    );
    // The intl CA itself is unaffected.
    assert_eq!(check_ca(&ca, Suite::Intl, T0).unwrap(), ca_key.public_key());
}

/// Whether OpenSSL 3 is installed (the interop tests say so and pass when it is not).
fn have_openssl() -> bool {
    match Command::new("openssl").arg("version").output() {
        Ok(o)
            if o.status.success()
                && String::from_utf8_lossy(&o.stdout).starts_with("OpenSSL 3") =>
        {
            true
        }
        _ => {
            eprintln!("SKIPPED: OpenSSL 3 (`openssl`) is not installed; .ci/run installs it");
            false
        }
    }
}

fn openssl(args: &[&str], dir: &Path) -> std::process::Output {
    Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap()
}

fn run(args: &[&str], dir: &Path) -> String {
    let out = openssl(args, dir);
    assert!(
        out.status.success(),
        "openssl {args:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

/// A key from `openssl genpkey`, certified by Kexin under its Ed25519 CA: OpenSSL verifies
/// the certificate and shows the P-256 key, and a Kexin signature with the key verifies with
/// `openssl dgst -sha256` over the domain signing input.
#[test]
fn openssl_verifies_a_kexin_issued_p256_certificate_and_signature() {
    if !have_openssl() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    run(
        &[
            "genpkey",
            "-algorithm",
            "EC",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-out",
            "user.key",
        ],
        d,
    );
    let user =
        SigningKey::from_pkcs8_pem(&std::fs::read_to_string(d.join("user.key")).unwrap()).unwrap();
    assert_eq!(user.scheme(), KeyScheme::EcdsaP256);

    let now = now_ms();
    let t = Terms {
        serial: 9,
        not_before_ms: now - DAY_MS,
        not_after_ms: now + 30 * DAY_MS,
    };
    let ca_key = SigningKey::generate(Suite::Intl);
    let ca = self_signed_ca("org1", &ca_key, &t).unwrap();
    let cert = issue(&ca, &ca_key, "alice", Role::Writer, &user.public_key(), &t).unwrap();
    std::fs::write(d.join("ca.pem"), ca.to_pem()).unwrap();
    std::fs::write(d.join("cert.pem"), cert.to_pem()).unwrap();

    let text = run(&["x509", "-in", "cert.pem", "-noout", "-text"], d);
    assert!(text.contains("id-ecPublicKey"), "{text}");
    assert!(text.contains("prime256v1"), "{text}");
    assert!(text.contains("ED25519"), "signed by the Ed25519 CA: {text}");
    assert!(text.contains("CA:FALSE"), "{text}");
    let ok = run(
        &[
            "verify",
            "-x509_strict",
            "-check_ss_sig",
            "-CAfile",
            "ca.pem",
            "cert.pem",
        ],
        d,
    );
    assert!(ok.contains("cert.pem: OK"), "{ok}");
    // The certificate's key is the key OpenSSL made.
    let from_cert = run(&["x509", "-in", "cert.pem", "-noout", "-pubkey"], d);
    let from_key = run(&["pkey", "-in", "user.key", "-pubout"], d);
    assert_eq!(from_cert, from_key);

    // A Kexin signature, r || s converted to DER, verifies as ECDSA-SHA256 over the domain's
    // signing input; over other input it does not.
    std::fs::write(d.join("pub.pem"), &from_key).unwrap();
    let domain = Domain::new("kexin/tx", "interop-chain");
    let msg = b"a transaction hash";
    let sig = user.sign(&domain, msg);
    let der = p256::ecdsa::Signature::from_slice(&sig.0).unwrap().to_der();
    std::fs::write(d.join("sig.der"), der.as_bytes()).unwrap();
    for (input, good) in [
        (domain.signing_input(msg), true),
        (domain.signing_input(b"another hash"), false),
    ] {
        std::fs::write(d.join("input.bin"), input).unwrap();
        let out = openssl(
            &[
                "dgst",
                "-sha256",
                "-verify",
                "pub.pem",
                "-signature",
                "sig.der",
                "input.bin",
            ],
            d,
        );
        assert_eq!(
            out.status.success(),
            good,
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// A P-256 user certificate made entirely by OpenSSL under an OpenSSL Ed25519 CA is accepted by
/// Kexin; the same key in a `node` certificate is refused.
#[test]
fn kexin_accepts_an_openssl_issued_p256_user_certificate() {
    if !have_openssl() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    run(&["genpkey", "-algorithm", "ED25519", "-out", "ca.key"], d);
    run(
        &[
            "req",
            "-x509",
            "-new",
            "-key",
            "ca.key",
            "-days",
            "30",
            "-subj",
            "/CN=orgx CA/O=orgx",
            "-addext",
            "basicConstraints=critical,CA:TRUE,pathlen:0",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
            "-out",
            "ca.pem",
        ],
        d,
    );
    run(
        &[
            "genpkey",
            "-algorithm",
            "EC",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-out",
            "user.key",
        ],
        d,
    );
    std::fs::write(
        d.join("ext.cnf"),
        "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n",
    )
    .unwrap();
    let ca = Certificate::from_pem(&std::fs::read_to_string(d.join("ca.pem")).unwrap()).unwrap();
    let user =
        SigningKey::from_pkcs8_pem(&std::fs::read_to_string(d.join("user.key")).unwrap()).unwrap();
    for (role, expect_ok) in [("writer", true), ("node", false)] {
        run(
            &[
                "req",
                "-new",
                "-key",
                "user.key",
                "-subj",
                &format!("/CN=u1/OU={role}/O=orgx"),
                "-out",
                "user.csr",
            ],
            d,
        );
        run(
            &[
                "x509",
                "-req",
                "-in",
                "user.csr",
                "-CA",
                "ca.pem",
                "-CAkey",
                "ca.key",
                "-set_serial",
                "5",
                "-days",
                "10",
                "-extfile",
                "ext.cnf",
                "-out",
                "user.pem",
            ],
            d,
        );
        let cert =
            Certificate::from_pem(&std::fs::read_to_string(d.join("user.pem")).unwrap()).unwrap();
        let r = verify(&cert, &ca, Suite::Intl, now_ms());
        if expect_ok {
            let id = r.unwrap();
            assert_eq!(id.role, Role::Writer);
            assert_eq!(id.public_key, user.public_key());
        } else {
            assert_eq!(code(r), "cert_wrong_algorithm");
        }
    }
}
