//! Helpers for tests that run the real `kexin` binary against real nodes.

#![allow(dead_code, missing_docs)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The binary under test.
pub const KEXIN: &str = env!("CARGO_BIN_EXE_kexin");

/// How long a node may take to start serving.
pub const START_TIMEOUT: Duration = Duration::from_secs(60);

/// Runs `kexin ARGS...` to completion (no KEXIN_NODE / KEXIN_KEY from the environment).
pub fn kexin<I, S>(args: I) -> Output
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    kexin_env(args, &[])
}

/// Runs `kexin ARGS...` with extra environment variables.
pub fn kexin_env<I, S>(args: I, env: &[(&str, &std::ffi::OsStr)]) -> Output
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    let mut cmd = Command::new(KEXIN);
    cmd.args(args)
        .env_remove("KEXIN_NODE")
        .env_remove("KEXIN_KEY")
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("run kexin")
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Asserts success, showing the output otherwise.
#[track_caller]
pub fn ok(o: &Output) -> String {
    assert!(
        o.status.success(),
        "kexin failed ({}):\nstdout:\n{}\nstderr:\n{}",
        o.status,
        stdout(o),
        stderr(o)
    );
    stdout(o)
}

/// Asserts failure with `error: <code>: ...` on stderr; returns the code.
#[track_caller]
pub fn failed(o: &Output) -> String {
    assert!(
        !o.status.success(),
        "kexin unexpectedly succeeded:\nstdout:\n{}\nstderr:\n{}",
        stdout(o),
        stderr(o)
    );
    let err = stderr(o);
    let line = err
        .lines()
        .find(|l| l.starts_with("error: "))
        .unwrap_or_else(|| panic!("no `error: <code>: ...` line in stderr:\n{err}"));
    line["error: ".len()..]
        .split(':')
        .next()
        .unwrap()
        .trim()
        .to_owned()
}

/// A node in a temporary directory, run as `kexin node run` in a child process.
pub struct TestNode {
    pub tmp: tempfile::TempDir,
    pub dir: PathBuf,
    pub suite: String,
    pub url: String,
    child: Option<Child>,
    runs: u32,
}

impl TestNode {
    /// `kexin node init --dir D --suite S --api 127.0.0.1:0` (port 0: the node picks one).
    pub fn init(suite: &str) -> TestNode {
        let tmp = tempfile::Builder::new()
            .prefix("kexin-test-")
            .tempdir()
            .unwrap();
        let dir = tmp.path().join("node");
        let out = kexin([
            "node",
            "init",
            "--dir",
            dir.to_str().unwrap(),
            "--suite",
            suite,
            "--api",
            "127.0.0.1:0",
        ]);
        ok(&out);
        TestNode {
            tmp,
            dir,
            suite: suite.to_owned(),
            url: String::new(),
            child: None,
            runs: 0,
        }
    }

    pub fn genesis(&self) -> PathBuf {
        self.dir.join("genesis.json")
    }

    pub fn client_key(&self) -> PathBuf {
        self.dir.join("keys/client.pem")
    }

    /// A scratch path inside the test's temporary directory.
    pub fn path(&self, name: &str) -> PathBuf {
        self.tmp.path().join(name)
    }

    fn log_path(&self) -> PathBuf {
        self.tmp.path().join(format!("node-{}.log", self.runs))
    }

    /// Starts `kexin node run --dir D` and waits until D/api-url exists and /v1/health is 200.
    pub async fn start(&mut self) {
        assert!(self.child.is_none(), "node already running");
        self.runs += 1;
        let url_file = self.dir.join("api-url");
        let _ = std::fs::remove_file(&url_file);
        let log = std::fs::File::create(self.log_path()).unwrap();
        let child = Command::new(KEXIN)
            .args(["node", "run", "--dir"])
            .arg(&self.dir)
            .env_remove("KEXIN_NODE")
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("spawn kexin node run");
        self.child = Some(child);
        let http = reqwest::Client::builder().no_proxy().build().unwrap();
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if let Some(status) = self.child.as_mut().unwrap().try_wait().unwrap() {
                panic!("node exited early ({status}); log:\n{}", self.log());
            }
            if let Ok(text) = std::fs::read_to_string(&url_file) {
                let url = text.trim().to_owned();
                if !url.is_empty() {
                    let health = http
                        .get(format!("{url}/v1/health"))
                        .timeout(Duration::from_secs(5))
                        .send()
                        .await;
                    if health.is_ok_and(|r| r.status() == 200) {
                        self.url = url;
                        return;
                    }
                }
            }
            assert!(
                Instant::now() < deadline,
                "node not ready after {START_TIMEOUT:?}; log:\n{}",
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The current run's log.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    /// `kill -9` the node (std's `Child::kill` sends SIGKILL) and reap it.
    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            c.kill().unwrap();
            c.wait().unwrap();
        }
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }
}

impl Drop for TestNode {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Writes `data` to `path`, creating parent directories.
pub fn write(path: &Path, data: &[u8]) {
    if let Some(p) = path.parent() {
        std::fs::create_dir_all(p).unwrap();
    }
    std::fs::write(path, data).unwrap();
}

/// A random 32-byte digest in hex (from a fresh key, so no RNG dependency is needed).
pub fn random_hex32() -> String {
    let k = kexin_crypto::SigningKey::generate(kexin_crypto::Suite::Intl);
    kexin_crypto::Suite::Intl
        .hash(k.public_key().as_bytes())
        .to_hex()
}
