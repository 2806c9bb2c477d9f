//! A closed stdout (`kexin verify ... | head -1`) stops a command quietly: no panic, no exit
//! status 101, nothing on stderr.

mod common;

use std::ffi::OsStr;
use std::io::BufRead as _;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use common::*;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../kexin-types/tests/fixtures")
        .join(name)
}

fn command(args: &[&OsStr]) -> Command {
    let mut cmd = Command::new(KEXIN);
    cmd.args(args)
        .env_remove("KEXIN_NODE")
        .env_remove("KEXIN_KEY")
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null());
    cmd
}

/// Runs `kexin ARGS | head -1`: reads one line, closes the pipe, waits. Returns the line and
/// the exit status and stderr.
fn head_1(args: &[&OsStr]) -> (String, Output) {
    let mut child = command(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    (line, child.wait_with_output().unwrap())
}

/// No panic and nothing on stderr, whatever the exit status.
#[track_caller]
fn assert_no_panic(o: &Output, what: &str) {
    let err = stderr(o);
    assert_ne!(o.status.code(), Some(101), "{what} panicked:\n{err}");
    assert!(!err.contains("panicked"), "{what}:\n{err}");
    assert!(err.trim().is_empty(), "{what} wrote to stderr:\n{err}");
}

fn verify_args() -> Vec<std::ffi::OsString> {
    let receipt = fixture("receipt-v3-intl.json");
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&receipt).unwrap()).unwrap();
    let digest = doc["record"]["digest"].as_str().unwrap().to_owned();
    vec![
        "verify".into(),
        "--digest".into(),
        digest.into(),
        "--receipt".into(),
        receipt.into(),
        "--genesis".into(),
        fixture("genesis-v3-intl.json").into(),
    ]
}

#[test]
fn verify_into_a_closed_pipe_exits_quietly() {
    let args = verify_args();
    let args: Vec<&OsStr> = args.iter().map(|a| a.as_os_str()).collect();
    // The receipt does verify: the command would succeed with somewhere to print.
    assert!(ok(&kexin(&args)).starts_with("OK:"));
    let o = kexin_into_closed_pipe(&args);
    assert_quiet_on_closed_stdout(&o, "verify into a closed pipe");
    // `| head -1`: the first line arrives; whether the rest still fitted in the pipe or not,
    // the command ends without a panic.
    let (line, o) = head_1(&args);
    assert!(line.starts_with("OK:"), "{line}");
    assert_no_panic(&o, "verify | head -1");
    assert!(
        matches!(o.status.code(), Some(0 | EXIT_STDOUT_CLOSED)),
        "{:?}",
        o.status
    );
}

#[test]
fn keys_show_into_a_closed_pipe_exits_quietly() {
    let tmp = tempfile::tempdir().unwrap();
    let key = tmp.path().join("k.pem");
    ok(&kexin([
        "keys".as_ref(),
        "new".as_ref(),
        "--out".as_ref(),
        key.as_os_str(),
    ]));
    let o = kexin_into_closed_pipe(["keys".as_ref(), "show".as_ref(), key.as_os_str()]);
    assert_quiet_on_closed_stdout(&o, "keys show into a closed pipe");
}
