//! Helpers for tests that run the real `kexin` binary against real nodes.

#![allow(dead_code, missing_docs)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use kexin_client::{BlockId, Client};
use kexin_crypto::Hash;
use serde_json::Value;

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

/// Runs `kexin ARGS... --node URL [--identity DIR]`: a command against one node, as an
/// identity when given.
pub fn kexin_at(url: &str, args: &[&str], identity: Option<&std::path::Path>) -> Output {
    let mut a: Vec<std::ffi::OsString> = args.iter().map(|s| s.into()).collect();
    a.push("--node".into());
    a.push(url.into());
    if let Some(i) = identity {
        a.push("--identity".into());
        a.push(i.into());
    }
    kexin(a)
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

/// What `kexin` exits with when its stdout is closed under it (`src/output.rs`).
pub const EXIT_STDOUT_CLOSED: i32 = 141;

/// Runs `kexin ARGS...` with stdout a pipe whose reading end is already closed (as `| head`
/// leaves it once it has its lines): its first write fails, whatever the timing.
pub fn kexin_into_closed_pipe<I, S>(args: I) -> Output
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    let (reader, writer) = std::io::pipe().expect("pipe");
    drop(reader);
    Command::new(KEXIN)
        .args(args)
        .env_remove("KEXIN_NODE")
        .env_remove("KEXIN_KEY")
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(writer)
        .stderr(Stdio::piped())
        .output()
        .expect("run kexin")
}

/// Asserts that a command whose stdout was closed stopped quietly: exit status 141, no panic
/// (status 101) and nothing on stderr.
#[track_caller]
pub fn assert_quiet_on_closed_stdout(o: &Output, what: &str) {
    let err = stderr(o);
    assert_ne!(o.status.code(), Some(101), "{what} panicked:\n{err}");
    assert!(!err.contains("panicked"), "{what}:\n{err}");
    assert!(err.trim().is_empty(), "{what} wrote to stderr:\n{err}");
    assert_eq!(o.status.code(), Some(EXIT_STDOUT_CLOSED), "{what}");
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
    /// Extra environment for `kexin node run`.
    pub env: Vec<(String, String)>,
    /// Runs the node under `ulimit -n N` (soft and hard open-file limits).
    pub nofile: Option<u64>,
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
            env: Vec::new(),
            nofile: None,
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
        let mut command = match self.nofile {
            None => Command::new(KEXIN),
            Some(n) => {
                let mut c = Command::new("sh");
                c.args(["-c", &format!("ulimit -n {n} && exec \"$0\" \"$@\"")])
                    .arg(KEXIN);
                c
            }
        };
        let child = command
            .args(["node", "run", "--dir"])
            .arg(&self.dir)
            .env_remove("KEXIN_NODE")
            .env("RUST_LOG", "info")
            .envs(self.env.iter().map(|(k, v)| (k, v)))
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

    /// Waits up to `timeout` for the node to exit by itself; its exit status.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            let status = self.child.as_mut()?.try_wait().unwrap();
            if let Some(status) = status {
                self.child = None;
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(50));
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

// ---------------------------------------------------------------------------------------------
// A local network made and run by `kexin net up`.

/// How long a network may take to come up, commit, catch up or stop.
pub const NET_TIMEOUT: Duration = Duration::from_secs(120);

/// One network at a time.
pub static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Whether `pid` is a live process (a zombie counts as gone: it only waits to be reaped).
pub fn alive(pid: u32) -> bool {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return false;
    };
    let state = stat
        .rfind(')')
        .and_then(|i| stat[i + 1..].split_whitespace().next());
    !matches!(state, Some("Z" | "X" | "x") | None)
}

pub fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// A network directory with `kexin net up` running in the background.
pub struct Net {
    pub tmp: tempfile::TempDir,
    pub dir: PathBuf,
    pub up: Option<Child>,
}

impl Net {
    /// `kexin net up --nodes N --suite S --dir D`, its output in a log file.
    pub fn up(suite: &str, nodes: usize) -> Net {
        Net::up_with(suite, nodes, &[])
    }

    /// `net up` with extra arguments.
    pub fn up_with(suite: &str, nodes: usize, extra: &[&str]) -> Net {
        let tmp = tempfile::Builder::new()
            .prefix("kexin-net-test-")
            .tempdir()
            .unwrap();
        let dir = tmp.path().join("net");
        let log = std::fs::File::create(tmp.path().join("up.log")).unwrap();
        let child = Command::new(KEXIN)
            .args(["net", "up", "--nodes", &nodes.to_string(), "--suite", suite])
            .args(extra)
            .arg("--dir")
            .arg(&dir)
            .env_remove("KEXIN_NODE")
            .env_remove("KEXIN_KEY")
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("spawn kexin net up");
        Net {
            tmp,
            dir,
            up: Some(child),
        }
    }

    pub fn node_dir(&self, i: usize) -> PathBuf {
        self.dir.join(format!("node-{i}"))
    }

    pub fn genesis(&self) -> PathBuf {
        self.dir.join("genesis.json")
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.tmp.path().join(name)
    }

    pub fn pid(&self, i: usize) -> u32 {
        let path = self.node_dir(i).join("pid");
        std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
            .trim()
            .parse()
            .unwrap()
    }

    pub fn url(&self, i: usize) -> String {
        std::fs::read_to_string(self.node_dir(i).join("api-url"))
            .unwrap()
            .trim()
            .to_owned()
    }

    pub fn client(&self, i: usize) -> Client {
        Client::new(self.url(i)).unwrap()
    }

    /// The `net up` output and the end of every node's log, for failure messages.
    pub fn logs(&self) -> String {
        let mut out = format!(
            "--- net up:\n{}",
            std::fs::read_to_string(self.path("up.log")).unwrap_or_default()
        );
        for i in 0.. {
            let log = self.node_dir(i).join("node.log");
            if !self.node_dir(i).exists() {
                break;
            }
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            out.push_str(&format!("\n--- node {i}:\n{}", tail(&text, 40)));
        }
        out
    }

    pub fn status(&self) -> Output {
        kexin([
            "net".as_ref(),
            "status".as_ref(),
            "--json".as_ref(),
            "--dir".as_ref(),
            self.dir.as_os_str(),
        ])
    }

    /// Polls `kexin net status --json` until it exits 0; returns its document.
    pub async fn wait_healthy(&mut self) -> Value {
        let deadline = Instant::now() + NET_TIMEOUT;
        loop {
            if let Some(up) = self.up.as_mut()
                && let Some(st) = up.try_wait().unwrap()
            {
                panic!("kexin net up exited ({st}):\n{}", self.logs());
            }
            let o = self.status();
            // `net up` prints its summary once it has seen every node serve, which may be a
            // little after `net status` first sees them.
            let up_ready = self.up.is_none()
                || std::fs::read_to_string(self.path("up.log"))
                    .is_ok_and(|l| l.contains("kexin net status --dir"));
            if o.status.success() && up_ready {
                return serde_json::from_slice(&o.stdout).unwrap();
            }
            assert!(
                Instant::now() < deadline,
                "net status still failing after {NET_TIMEOUT:?}:\n{}\n{}\n{}",
                stdout(&o),
                stderr(&o),
                self.logs()
            );
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    /// The organisations of the network (`D/org1` ...; none for an open chain).
    pub fn org_count(&self) -> usize {
        (1..)
            .take_while(|k| self.dir.join(format!("org{k}")).join("ca.pem").is_file())
            .count()
    }

    /// `kexin attest FILE --node <node i> --out OUT` as the writer of organisation
    /// `org{i % orgs + 1}` (`--identity D/orgK/writer`), or with node i's client key
    /// (`--key`) on an open chain; returns the receipt.
    pub fn attest(&self, i: usize, file: &Path, out: &Path) -> Value {
        let orgs = self.org_count();
        let signer: Vec<std::ffi::OsString> = if orgs == 0 {
            vec![
                "--key".into(),
                self.node_dir(i).join("keys/client.pem").into(),
            ]
        } else {
            let k = i % orgs + 1;
            vec![
                "--identity".into(),
                self.dir.join(format!("org{k}/writer")).into(),
            ]
        };
        let o = self.attest_with(i, file, out, &signer);
        if !o.status.success() {
            panic!(
                "attest against node {i} failed:\n{}\n{}\n{}",
                stdout(&o),
                stderr(&o),
                self.logs()
            );
        }
        let name = file.file_name().unwrap().to_str().unwrap();
        let receipt = out.join(format!("{name}.receipt.json"));
        serde_json::from_str(&std::fs::read_to_string(receipt).unwrap()).unwrap()
    }

    /// `kexin attest FILE --node <node i> --out OUT --timeout 120 SIGNER...`, whatever the
    /// outcome.
    pub fn attest_with(
        &self,
        i: usize,
        file: &Path,
        out: &Path,
        signer: &[std::ffi::OsString],
    ) -> Output {
        let url = self.url(i);
        let mut args: Vec<std::ffi::OsString> = vec![
            "attest".into(),
            file.into(),
            "--node".into(),
            url.into(),
            "--out".into(),
            out.into(),
            "--timeout".into(),
            "120".into(),
        ];
        args.extend(signer.iter().cloned());
        kexin(args)
    }

    /// `kexin verify FILE --receipt R --genesis D/genesis.json` succeeds.
    pub fn verify(&self, file: &Path, out: &Path) {
        let name = file.file_name().unwrap().to_str().unwrap();
        let receipt = out.join(format!("{name}.receipt.json"));
        let genesis = self.genesis();
        let o = kexin([
            "verify".as_ref(),
            file.as_os_str(),
            "--receipt".as_ref(),
            receipt.as_os_str(),
            "--genesis".as_ref(),
            genesis.as_os_str(),
        ]);
        let text = ok(&o);
        assert!(text.starts_with("OK:"), "{text}");
    }

    /// Waits until every node in `nodes` has a block at `height` and all serve the same
    /// hashes for blocks `1..=height`; returns the hash at `height`.
    pub async fn wait_agree(&self, nodes: &[usize], height: u64) -> Hash {
        let deadline = Instant::now() + NET_TIMEOUT;
        loop {
            let last = match self.chains(nodes, height).await {
                Ok(hashes) => {
                    let first = &hashes[0];
                    for (k, h) in hashes.iter().enumerate() {
                        assert_eq!(
                            h, first,
                            "node {} and node {} disagree on blocks 1..={height}",
                            nodes[k], nodes[0]
                        );
                    }
                    return *first.last().unwrap();
                }
                Err(why) => why,
            };
            assert!(
                Instant::now() < deadline,
                "nodes {nodes:?} did not all reach height {height} in {NET_TIMEOUT:?}: \
                 {last}\n{}",
                self.logs()
            );
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    /// Each node's hashes of blocks `1..=height`, or why they are not all there yet.
    pub async fn chains(&self, nodes: &[usize], height: u64) -> Result<Vec<Vec<Hash>>, String> {
        let mut all = Vec::new();
        for &i in nodes {
            let client = self.client(i);
            let h = match client.latest_block().await {
                Ok(b) => b.header.height,
                Err(e) if e.is_not_found() => 0,
                Err(e) => return Err(format!("node {i}: {e}")),
            };
            if h < height {
                return Err(format!("node {i} is at height {h}"));
            }
            let mut hashes = Vec::new();
            for k in 1..=height {
                let b = client
                    .block(BlockId::Height(k))
                    .await
                    .map_err(|e| format!("node {i} block {k}: {e}"))?;
                assert_eq!(b.header.height, k);
                hashes.push(b.hash);
            }
            all.push(hashes);
        }
        Ok(all)
    }

    /// `kexin net down` succeeds and `net up` exits 0.
    pub async fn down(&mut self) -> String {
        let text = ok(&kexin([
            "net".as_ref(),
            "down".as_ref(),
            "--dir".as_ref(),
            self.dir.as_os_str(),
        ]));
        if let Some(mut up) = self.up.take() {
            let deadline = Instant::now() + Duration::from_secs(30);
            let status = loop {
                if let Some(st) = up.try_wait().unwrap() {
                    break st;
                }
                assert!(
                    Instant::now() < deadline,
                    "net up still running after net down:\n{}",
                    self.logs()
                );
                tokio::time::sleep(Duration::from_millis(100)).await;
            };
            assert!(status.success(), "net up: {status}\n{}", self.logs());
        }
        text
    }
}

impl Drop for Net {
    fn drop(&mut self) {
        // Never leave nodes behind, whatever failed.
        let _ = kexin([
            "net".as_ref(),
            "down".as_ref(),
            "--dir".as_ref(),
            self.dir.as_os_str(),
        ]);
        if let Some(mut up) = self.up.take() {
            let _ = up.kill();
            let _ = up.wait();
        }
    }
}
