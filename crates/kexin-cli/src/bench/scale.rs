//! `kexin bench --scale N1,N2,...`: how one node behaves as its ledger grows.
//!
//! One node ingests evidence records until it holds each size in turn. At each size the
//! benchmark reports the ingest rate since the previous size, the node's resident memory under
//! that load, the ledger's bytes on disk per record, and then restarts the node and reports the
//! time from start until `GET /v1/health` answers and the memory of the reopened node.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use kexin_client::Client;
use kexin_crypto::Suite;
use serde::Serialize;

use super::{LocalNode, Phase, run_phase};
use crate::error::fail;

/// What one size measured.
#[derive(Debug, Serialize)]
pub(super) struct ScaleStage {
    /// Records the ledger holds (at least the size asked for).
    records: u64,
    /// Evidence records finalized per second while growing to this size.
    records_per_s: f64,
    /// Largest resident memory of the node process while growing to this size, bytes.
    rss_under_load_bytes: u64,
    /// Bytes of the node directory on disk (ledger, consensus archives, logs).
    disk_bytes: u64,
    /// `disk_bytes / records`.
    disk_bytes_per_record: f64,
    /// Seconds from starting `kexin node run` on this ledger until `GET /v1/health` answered.
    open_s: f64,
    /// Resident memory of the restarted node once it answered, bytes.
    rss_after_open_bytes: u64,
}

/// The results of `kexin bench --scale`; printed as the last line with `--json`.
#[derive(Debug, Serialize)]
pub(super) struct ScaleReport {
    suite: Suite,
    records_per_tx: u32,
    signers: u32,
    stages: Vec<ScaleStage>,
}

/// Record counts to grow a ledger to, increasing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Sizes(pub Vec<u64>);

/// Parses `1000000,10M,2G`-style sizes: integers with an optional `k`/`M`/`G` suffix,
/// strictly increasing.
pub(super) fn parse_sizes(s: &str) -> Result<Sizes, String> {
    let mut out: Vec<u64> = Vec::new();
    for part in s.split(',') {
        let part = part.trim();
        let (num, mult) = match part.char_indices().last() {
            Some((i, 'k' | 'K')) => (&part[..i], 1_000),
            Some((i, 'm' | 'M')) => (&part[..i], 1_000_000),
            Some((i, 'g' | 'G')) => (&part[..i], 1_000_000_000),
            _ => (part, 1),
        };
        let n: u64 = num
            .parse()
            .ok()
            .and_then(|n: u64| n.checked_mul(mult))
            .filter(|n| *n > 0)
            .ok_or_else(|| format!("{part:?} is not a positive record count (e.g. 1M)"))?;
        if out.last().is_some_and(|last| *last >= n) {
            return Err(format!(
                "sizes must increase: {part} after {}",
                out[out.len() - 1]
            ));
        }
        out.push(n);
    }
    Ok(Sizes(out))
}

/// Resident memory of a process in bytes, from `/proc/PID/status` (`VmRSS`).
fn rss_bytes(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// Bytes of every file under `dir`.
fn dir_bytes(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| match e.metadata() {
            Ok(m) if m.is_dir() => dir_bytes(&e.path()),
            Ok(m) => m.len(),
            Err(_) => 0,
        })
        .sum()
}

/// Samples the resident memory of `pid` every 200 ms until stopped; keeps the largest.
struct RssSampler {
    peak: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<()>,
}

impl RssSampler {
    fn start(pid: u32) -> RssSampler {
        let peak = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let task = tokio::spawn({
            let (peak, stop) = (peak.clone(), stop.clone());
            async move {
                while !stop.load(Ordering::SeqCst) {
                    if let Some(rss) = rss_bytes(pid) {
                        peak.fetch_max(rss, Ordering::SeqCst);
                    }
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            }
        });
        RssSampler { peak, stop, task }
    }

    async fn finish(self) -> u64 {
        self.stop.store(true, Ordering::SeqCst);
        let _ = self.task.await;
        self.peak.load(Ordering::SeqCst)
    }
}

/// Runs `kexin bench --scale`.
pub(super) async fn run(args: &super::BenchArgs, sizes: &[u64]) -> anyhow::Result<ScaleReport> {
    let suite = args.suite.unwrap_or(kexin_node::DEFAULT_SUITE);
    if let Some(d) = &args.dir
        && d.join("genesis.json").exists()
    {
        return Err(fail(
            "usage",
            format!(
                "--scale counts records from an empty ledger: {} already holds a node",
                d.display()
            ),
        ));
    }
    let exe = args.node_exe.as_deref();
    let mut node = LocalNode::start(args.dir.clone(), suite, exe).await?;
    let dir: PathBuf = node.dir.clone();
    eprintln!("bench: scale run of a {suite} node in {}", dir.display());
    let mut stages = Vec::new();
    let mut total: u64 = 0;
    let mut rate_guess = 50_000.0_f64;
    for &target in sizes {
        let client = Client::new(&node.url)?;
        let info = crate::attest::chain_info(&client).await?;
        let sampler = RssSampler::start(node.pid()?);
        let (mut grown, mut seconds) = (0u64, 0.0f64);
        while total < target {
            let left = (target - total) as f64;
            let duration = (left / rate_guess).clamp(5.0, 120.0);
            let phase = Phase {
                duration: Duration::from_secs_f64(duration),
                records_per_tx: args.records_per_tx,
                signers: args.signers as usize,
                in_flight: args.in_flight.unwrap_or(4 * args.signers as usize).max(1),
                rate_tx_per_s: None,
                drain: Duration::from_secs(args.drain_timeout),
            };
            let result = run_phase(std::slice::from_ref(&client), &info, &phase).await?;
            let report = &result.report;
            if report.records == 0 {
                return Err(fail(
                    "no_commits",
                    format!("no record was committed growing the ledger past {total} records"),
                ));
            }
            total += report.records;
            grown += report.records;
            seconds += report.duration_s;
            rate_guess = grown as f64 / seconds;
            eprintln!("bench: {total} records, {rate_guess:.0} records/s");
        }
        let rss_under_load_bytes = sampler.finish().await;
        node.stop();
        let disk_bytes = dir_bytes(&dir);
        let started = Instant::now();
        node = LocalNode::start(Some(dir.clone()), suite, exe).await?;
        let open_s = started.elapsed().as_secs_f64();
        let rss_after_open_bytes = rss_bytes(node.pid()?).unwrap_or(0);
        let stage = ScaleStage {
            records: total,
            records_per_s: grown as f64 / seconds,
            rss_under_load_bytes,
            disk_bytes,
            disk_bytes_per_record: disk_bytes as f64 / total as f64,
            open_s,
            rss_after_open_bytes,
        };
        print_stage(&stage);
        stages.push(stage);
    }
    node.stop();
    Ok(ScaleReport {
        suite,
        records_per_tx: args.records_per_tx,
        signers: args.signers,
        stages,
    })
}

fn print_stage(s: &ScaleStage) {
    const MIB: f64 = 1024.0 * 1024.0;
    println!(
        "scale  {:>11} records: {:>7.0} records/s, RSS under load {:>6.0} MiB, {:>6.1} bytes/record on disk, open {:>5.2} s, RSS after open {:>5.0} MiB",
        s.records,
        s.records_per_s,
        s.rss_under_load_bytes as f64 / MIB,
        s.disk_bytes_per_record,
        s.open_s,
        s.rss_after_open_bytes as f64 / MIB,
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_with_suffixes_and_must_increase() {
        assert_eq!(
            parse_sizes("1M,10M,5e7").unwrap_err(),
            "\"5e7\" is not a positive record count (e.g. 1M)"
        );
        assert_eq!(
            parse_sizes("500k, 1M,10000000,2G").unwrap().0,
            vec![500_000, 1_000_000, 10_000_000, 2_000_000_000]
        );
        assert!(parse_sizes("1M,1M").unwrap_err().contains("must increase"));
        assert!(parse_sizes("0").is_err());
        assert!(parse_sizes("").is_err());
        assert!(parse_sizes("99999999999999G").is_err());
    }

    #[test]
    fn the_resident_memory_of_this_process_is_read() {
        let rss = rss_bytes(std::process::id()).expect("VmRSS of this process");
        assert!(rss > 1024 * 1024, "{rss}");
        assert_eq!(rss_bytes(u32::MAX), None);
    }

    #[test]
    fn directory_bytes_add_up_every_file() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("a"), [0u8; 100]).unwrap();
        std::fs::create_dir(d.path().join("sub")).unwrap();
        std::fs::write(d.path().join("sub/b"), [0u8; 23]).unwrap();
        assert_eq!(dir_bytes(d.path()), 123);
    }
}
