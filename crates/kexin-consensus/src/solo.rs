//! The single-validator engine.

use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use kexin_crypto::SigningKey;
use kexin_types::CommitCertificate;

use crate::Application;

/// When the single validator cuts a block.
#[derive(Clone, Debug)]
pub struct SoloConfig {
    /// Longest wait between the first pending transaction and its block.
    pub block_interval: Duration,
    /// Cut a block as soon as this many transactions are pending.
    pub max_block_txs: usize,
    /// Cut a block as soon as this many evidence records are pending.
    pub max_block_records: usize,
}

impl Default for SoloConfig {
    fn default() -> Self {
        SoloConfig {
            block_interval: Duration::from_millis(100),
            max_block_txs: 5_000,
            max_block_records: 65_536,
        }
    }
}

/// Wakes the engine when work arrives or on shutdown.
#[derive(Clone, Default)]
pub struct Wakeup(Arc<(Mutex<WakeState>, Condvar)>);

#[derive(Default)]
struct WakeState {
    seq: u64,
    stop: bool,
}

impl Wakeup {
    /// Signals new work.
    pub fn notify(&self) {
        let (m, c) = &*self.0;
        m.lock().unwrap_or_else(|p| p.into_inner()).seq += 1;
        c.notify_all();
    }

    /// Asks the engine to stop after the block in progress.
    pub fn stop(&self) {
        let (m, c) = &*self.0;
        m.lock().unwrap_or_else(|p| p.into_inner()).stop = true;
        c.notify_all();
    }

    /// Whether stop was requested.
    pub fn stopped(&self) -> bool {
        self.0.0.lock().unwrap_or_else(|p| p.into_inner()).stop
    }

    /// Waits until notified after `seen`, stopped, or `timeout`; returns the current sequence.
    fn wait(&self, seen: u64, timeout: Duration) -> u64 {
        let (m, c) = &*self.0;
        let guard = m.lock().unwrap_or_else(|p| p.into_inner());
        let (guard, _) = c
            .wait_timeout_while(guard, timeout, |s| s.seq == seen && !s.stop)
            .unwrap_or_else(|p| p.into_inner());
        guard.seq
    }

    fn seq(&self) -> u64 {
        self.0.0.lock().unwrap_or_else(|p| p.into_inner()).seq
    }
}

/// The single-validator engine: proposes, self-verifies, certifies and finalizes.
pub struct SoloEngine<A: Application> {
    config: SoloConfig,
    chain_id: String,
    validator_index: u16,
    key: SigningKey,
    app: A,
    wakeup: Wakeup,
}

impl<A: Application> SoloEngine<A> {
    /// An engine for validator `validator_index` (0 in a one-validator genesis).
    pub fn new(
        config: SoloConfig,
        chain_id: &str,
        validator_index: u16,
        key: SigningKey,
        app: A,
        wakeup: Wakeup,
    ) -> Self {
        SoloEngine {
            config,
            chain_id: chain_id.to_owned(),
            validator_index,
            key,
            app,
            wakeup,
        }
    }

    /// Runs until [`Wakeup::stop`]. Returns the application error that stopped it, if any:
    /// a block that fails its own verification or a failed commit halts the validator rather
    /// than risk acknowledging something not durable.
    pub fn run(mut self) -> Result<(), A::Error> {
        let idle_poll = Duration::from_millis(500);
        loop {
            let mut seen = self.wakeup.seq();
            if self.wakeup.stopped() {
                return Ok(());
            }
            if self.app.pending().txs == 0 {
                self.wakeup.wait(seen, idle_poll);
                continue;
            }
            // Work is pending: wait for a full batch or the interval, whichever comes first.
            let deadline = Instant::now() + self.config.block_interval;
            loop {
                let p = self.app.pending();
                if p.txs >= self.config.max_block_txs || p.records >= self.config.max_block_records
                {
                    break;
                }
                let now = Instant::now();
                if now >= deadline || self.wakeup.stopped() {
                    break;
                }
                seen = self.wakeup.wait(seen, deadline - now);
            }
            self.step()?;
        }
    }

    /// Orders one block if anything valid is pending.
    pub fn step(&mut self) -> Result<bool, A::Error> {
        let Some(block) = self.app.propose(now_ms())? else {
            return Ok(false);
        };
        self.app.verify(&block)?;
        let hash = block.header.hash(self.key.suite());
        let certificate =
            CommitCertificate::sign_single(&self.chain_id, self.validator_index, &self.key, &hash);
        let height = block.header.height;
        let txs = block.transactions.len();
        self.app.finalized(block, certificate)?;
        tracing::debug!(height, txs, block = %hash, "block finalized");
        Ok(true)
    }
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}
