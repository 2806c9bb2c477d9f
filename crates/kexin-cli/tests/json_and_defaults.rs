//! `--json` on the commands that make keys, nodes and networks, and the one default suite
//! (`intl`) and epoch length (1000) that every tool making a chain writes into its genesis.

mod common;

use std::io::BufRead as _;
use std::process::{Command, Stdio};

use common::*;
use serde_json::Value;

fn json(o: &std::process::Output) -> Value {
    let text = ok(o);
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}):\n{text}"))
}

#[test]
fn keys_take_json_and_default_to_intl() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("k.pem");
    let doc = json(&kexin([
        "keys".as_ref(),
        "new".as_ref(),
        "--out".as_ref(),
        file.as_os_str(),
        "--json".as_ref(),
    ]));
    assert_eq!(doc["suite"], "intl", "{doc}");
    assert_eq!(doc["file"], file.to_str().unwrap(), "{doc}");
    let key = doc["public_key"].as_str().unwrap().to_owned();
    let shown = json(&kexin([
        "keys".as_ref(),
        "show".as_ref(),
        file.as_os_str(),
        "--json".as_ref(),
    ]));
    assert_eq!(shown["public_key"], key.as_str(), "{shown}");
    assert_eq!(shown["suite"], "intl", "{shown}");
    assert!(shown["scheme"].is_string(), "{shown}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_encrypted_validator_key_runs_a_node_given_its_passphrase() {
    let mut node = TestNode::init("gm");
    let key = node.dir.join("keys/validator.pem");
    let public = json(&kexin([
        "keys".as_ref(),
        "show".as_ref(),
        key.as_os_str(),
        "--json".as_ref(),
    ]))["public_key"]
        .clone();
    let pass = node.path("passphrase");
    write(&pass, b"a long passphrase\n");
    let enc = node.path("validator.enc.pem");
    let encrypt = |env: &[(&str, &std::ffi::OsStr)]| {
        kexin_env(
            [
                "keys".as_ref(),
                "encrypt".as_ref(),
                key.as_os_str(),
                "--out".as_ref(),
                enc.as_os_str(),
                "--json".as_ref(),
            ],
            env,
        )
    };
    // No passphrase: refused, nothing written.
    let refused = failed(&encrypt(&[]));
    assert!(refused.contains("no_passphrase"), "{refused}");
    assert!(!enc.exists());
    let doc = json(&encrypt(&[("KEXIN_KEY_PASSPHRASE_FILE", pass.as_os_str())]));
    assert_eq!(doc["public_key"], public, "{doc}");
    let pem = std::fs::read_to_string(&enc).unwrap();
    assert!(
        pem.starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----"),
        "{pem}"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&enc).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    // Never overwritten.
    let again = failed(&encrypt(&[("KEXIN_KEY_PASSPHRASE", "x".as_ref())]));
    assert!(again.contains("exists"), "{again}");
    std::fs::rename(&enc, &key).unwrap();

    // `keys show` reads it with the passphrase, and says which is missing or wrong.
    let show = |env: &[(&str, &std::ffi::OsStr)]| {
        kexin_env(
            [
                "keys".as_ref(),
                "show".as_ref(),
                key.as_os_str(),
                "--json".as_ref(),
            ],
            env,
        )
    };
    let locked = failed(&show(&[]));
    assert!(locked.contains("key_encrypted"), "{locked}");
    let wrong = failed(&show(&[(
        "KEXIN_KEY_PASSPHRASE",
        "a long passphras".as_ref(),
    )]));
    assert!(wrong.contains("wrong_passphrase"), "{wrong}");
    let shown = json(&show(&[(
        "KEXIN_KEY_PASSPHRASE",
        "a long passphrase".as_ref(),
    )]));
    assert_eq!(shown["public_key"], public, "{shown}");

    // On a terminal, with no passphrase in the environment, `kexin` asks for it (`script`
    // gives the command a pseudo-terminal and types what it reads from its standard input).
    let on_terminal = |typed: &str| {
        use std::io::Write as _;
        let line = format!("{KEXIN} keys show {} --json", key.display());
        let mut child = Command::new("script")
            .args(["-q", "-e", "-c", &line, "/dev/null"])
            .env_remove("KEXIN_KEY_PASSPHRASE")
            .env_remove("KEXIN_KEY_PASSPHRASE_FILE")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run script (util-linux)");
        writeln!(child.stdin.take().unwrap(), "{typed}").unwrap();
        let out = child.wait_with_output().unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    };
    let (success, text) = on_terminal("a long passphrase");
    assert!(success, "{text}");
    assert!(
        text.contains(&format!("passphrase for {}", key.display())),
        "{text}"
    );
    let doc: Value = serde_json::from_str(&text[text.find('{').unwrap()..].replace("\r\n", "\n"))
        .unwrap_or_else(|e| panic!("{e}: {text}"));
    assert_eq!(doc["public_key"], public, "{text}");
    let (success, text) = on_terminal("not it");
    assert!(!success && text.contains("wrong_passphrase"), "{text}");

    // The node refuses to start without the passphrase, saying why, and runs with it.
    let out = kexin(["node", "run", "--dir", node.dir.to_str().unwrap()]);
    failed(&out);
    let err = stderr(&out);
    assert!(
        err.contains("encrypted") && err.contains("KEXIN_KEY_PASSPHRASE"),
        "{err}"
    );
    node.env.push((
        "KEXIN_KEY_PASSPHRASE_FILE".into(),
        pass.to_str().unwrap().into(),
    ));
    // Started: its API answers /v1/health (what `start` waits for) with the validator's key.
    node.start().await;
    assert!(node.log().contains("ledger opened"), "{}", node.log());
}

#[test]
fn node_init_defaults_to_intl_and_writes_the_epoch_length() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("node");
    let doc = json(&kexin([
        "node".as_ref(),
        "init".as_ref(),
        "--dir".as_ref(),
        dir.as_os_str(),
        "--api".as_ref(),
        "127.0.0.1:0".as_ref(),
        "--json".as_ref(),
    ]));
    assert_eq!(doc["suite"], "intl", "{doc}");
    assert_eq!(doc["epoch_length"], 1000, "{doc}");
    assert_eq!(doc["dir"], dir.to_str().unwrap(), "{doc}");
    // The genesis itself says both: nothing is left to a decoder's default.
    let genesis: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("genesis.json")).unwrap()).unwrap();
    assert_eq!(genesis["suite"], "intl", "{genesis}");
    assert_eq!(genesis["epoch_length"], 1000, "{genesis}");
    assert_eq!(doc["chain_id"], genesis["chain_id"]);

    // `node run --json` logs JSON lines.
    let mut child = Command::new(KEXIN)
        .args(["node", "run", "--json", "--dir"])
        .arg(&dir)
        .env_remove("KEXIN_LOG_JSON")
        .env("RUST_LOG", "info")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(child.stderr.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    child.kill().unwrap();
    child.wait().unwrap();
    let log: Value =
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("not a JSON log line ({e}): {line}"));
    assert!(log["level"].is_string(), "{log}");
}

/// Reads one JSON document from a child's stdout.
fn read_document(stdout: std::process::ChildStdout) -> Value {
    let mut docs = serde_json::Deserializer::from_reader(stdout).into_iter::<Value>();
    docs.next().expect("a document").expect("JSON")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn net_up_down_and_start_node_take_json() {
    let _serial = SERIAL.lock().await;
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("net");
    let mut up = Command::new(KEXIN)
        .args(["net", "up", "--nodes", "1", "--json", "--dir"])
        .arg(&dir)
        .env_remove("KEXIN_NODE")
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let doc = read_document(up.stdout.take().unwrap());
    assert_eq!(doc["created"], true, "{doc}");
    // The same defaults as `node init`.
    assert_eq!(doc["suite"], "intl", "{doc}");
    assert_eq!(doc["epoch_length"], 1000, "{doc}");
    assert_eq!(
        doc["protocol_version"],
        kexin_types::FORMAT_VERSION,
        "{doc}"
    );
    assert_eq!(doc["organisations"][0], "org1", "{doc}");
    let url = doc["nodes"][0]["url"].as_str().unwrap().to_owned();
    assert!(url.starts_with("http://127.0.0.1:"), "{doc}");
    assert!(doc["nodes"][0]["pid"].as_u64().is_some(), "{doc}");

    let net = |args: &[&str]| {
        let mut all: Vec<&std::ffi::OsStr> = vec!["net".as_ref()];
        all.extend(args.iter().map(std::ffi::OsStr::new));
        all.extend(["--dir".as_ref(), dir.as_os_str(), "--json".as_ref()]);
        kexin(all)
    };
    let down = json(&net(&["down"]));
    let what: Vec<&str> = down["stopped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["what"].as_str().unwrap())
        .collect();
    assert!(what.contains(&"kexin net up"), "{down}");
    let status = up.wait().unwrap();
    assert!(status.success(), "{status}");

    // A node started on its own, then stopped.
    let started = json(&net(&["start-node", "0"]));
    assert_eq!(started["index"], 0, "{started}");
    assert!(started["url"].as_str().unwrap().starts_with("http://"));
    let pid = started["pid"].as_u64().unwrap();
    let down = json(&net(&["down"]));
    assert_eq!(down["stopped"][0]["what"], "node 0", "{down}");
    assert_eq!(down["stopped"][0]["pid"], pid, "{down}");
    assert_eq!(down["stopped"][0]["killed"], false, "{down}");
    // Nothing left: an empty list.
    let down = json(&net(&["down"]));
    assert_eq!(down["stopped"], serde_json::json!([]), "{down}");
}
