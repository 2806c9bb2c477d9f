//! A node's logs with `KEXIN_LOG_JSON=1`: every line is a JSON object, and neither keys nor
//! private record metadata appear in them, even at debug level.

mod common;

use common::*;
use serde_json::Value;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_logs_hold_no_keys_and_no_private_metadata() {
    let mut node = TestNode::init("gm");
    node.env = vec![
        ("KEXIN_LOG_JSON".into(), "1".into()),
        ("RUST_LOG".into(), "debug".into()),
    ];
    node.start().await;
    let url = node.url.clone();

    // A record whose metadata is private: its label and content type must stay off the logs.
    let label = "private-label-7f3a9c";
    let content_type = "application/x-private-kind-51d2";
    let file = node.path("in/statement.txt");
    write(&file, b"a bank statement\n");
    let key = node.client_key();
    let out = node.path("receipts");
    ok(&kexin([
        "attest".as_ref(),
        file.as_os_str(),
        "--label".as_ref(),
        label.as_ref(),
        "--content-type".as_ref(),
        content_type.as_ref(),
        "--node".as_ref(),
        url.as_ref(),
        "--out".as_ref(),
        out.as_os_str(),
        "--key".as_ref(),
        key.as_os_str(),
    ]));
    // Refused input is logged as what it is, not by its bytes.
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let r = http
        .post(format!("{url}/v1/transactions"))
        .header("content-type", "application/json")
        .body(format!("{{\"tx\":\"{}\"}}", hex::encode(label)))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    node.kill9();

    let log = node.log();
    let lines: Vec<&str> = log.lines().filter(|l| !l.trim().is_empty()).collect();
    assert!(lines.len() > 5, "too few log lines:\n{log}");
    for line in &lines {
        let v: Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("not a JSON log line ({e}): {line}"));
        assert!(v["timestamp"].is_string(), "{line}");
        assert!(v["level"].is_string(), "{line}");
        assert!(v["fields"].is_object(), "{line}");
    }
    assert!(
        lines
            .iter()
            .any(|l| l.contains("serving the Kexin API") && l.contains(&url)),
        "{log}"
    );
    assert!(
        lines.iter().any(|l| l.contains("\"DEBUG\"")),
        "not at debug level:\n{log}"
    );

    let mut secrets: Vec<String> = vec![label.into(), content_type.into(), hex::encode(label)];
    for pem_file in ["keys/validator.pem", "keys/client.pem"] {
        let pem = std::fs::read_to_string(node.dir.join(pem_file)).unwrap();
        // Every base64 line of the key, and the key's DER in hex.
        let body: Vec<&str> = pem.lines().filter(|l| !l.starts_with("-----")).collect();
        secrets.extend(body.iter().map(|l| l.to_string()));
        let der: Vec<u8> = base64_decode(&body.concat());
        secrets.push(hex::encode(&der));
        // The private scalar or seed: the first 32-byte OCTET STRING (`04 20`) of the PKCS#8
        // document, for SM2 (RFC 5915 inside) and Ed25519 (RFC 8410) alike.
        let at = der
            .windows(2)
            .position(|w| w == [0x04, 0x20])
            .expect("a 32-byte private key in the PKCS#8 document");
        secrets.push(hex::encode(&der[at + 2..at + 34]));
    }
    for secret in &secrets {
        assert!(
            !log.contains(secret.as_str()),
            "the log holds a secret ({secret}):\n{log}"
        );
    }
}

/// Standard base64 without padding checks (test input is a PEM body we wrote).
fn base64_decode(text: &str) -> Vec<u8> {
    let value = |c: u8| -> u32 {
        match c {
            b'A'..=b'Z' => u32::from(c - b'A'),
            b'a'..=b'z' => u32::from(c - b'a') + 26,
            b'0'..=b'9' => u32::from(c - b'0') + 52,
            b'+' => 62,
            b'/' => 63,
            _ => panic!("not base64: {c}"),
        }
    };
    let digits: Vec<u32> = text.bytes().filter(|&c| c != b'=').map(value).collect();
    let mut out = Vec::new();
    for chunk in digits.chunks(4) {
        let mut n = 0u32;
        for (i, d) in chunk.iter().enumerate() {
            n |= d << (18 - 6 * i);
        }
        let bytes = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
        out.extend_from_slice(&bytes[..chunk.len() - 1]);
    }
    out
}
