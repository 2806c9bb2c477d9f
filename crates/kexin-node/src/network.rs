//! The consortium network of a node: commonware's authenticated lookup p2p network, the
//! consensus engine on it, and transaction gossip, on a commonware tokio runtime of its own.
//!
//! Peers are the genesis validators, at the addresses `config.toml` lists; the handshake
//! authenticates each connection with the peer's node key and encrypts it
//! (ChaCha20-Poly1305); a key not in the set is refused.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use commonware_consensus::simplex;
use commonware_cryptography::{ChaCha20Poly1305, Signer};
use commonware_p2p::authenticated::lookup;
use commonware_p2p::{
    Address, AddressableManager as _, Blocker as _, Receiver as _, Recipients, Sender as _,
};
use commonware_runtime::{Clock as _, Quota, Runner as _, Spawner as _, Supervisor as _, tokio};
use commonware_stream::{cups, sake};
use commonware_utils::channel::mpsc;
use commonware_utils::ordered::{Map, Set};
use commonware_utils::{NZU32, NZUsize};
use kexin_consensus::driver::ExportCertificate;
use kexin_consensus::engine::{self, Channels, EngineConfig, EpochHost, channels};
use kexin_consensus::scheme::sm2;
use kexin_consensus::{Application as _, BlockCfg};
use kexin_crypto::{PublicKey, SigningKey, Suite};
use kexin_types::Genesis;

use crate::app::LedgerApp;
use crate::config::NodeConfig;

/// Largest p2p message: a maximal block with its framing.
const MAX_MESSAGE_SIZE: u32 = (kexin_types::limits::MAX_BLOCK_BYTES + (1 << 20)) as u32;
/// Largest gossip batch of transactions, in bytes.
const GOSSIP_BATCH_BYTES: usize = 4 << 20;
/// How long gossip waits to fill a batch.
const GOSSIP_LINGER: Duration = Duration::from_millis(3);

/// Admits a transaction received by gossip; `Err` names an offence no honest peer commits
/// (bytes that are not a transaction, a bad signature, another chain), for which the sender
/// is blocked.
pub(crate) type GossipSink = Arc<dyn Fn(&[u8]) -> Result<(), String> + Send + Sync>;

/// Transactions submitted here that are still pending and due to be gossiped again.
pub(crate) type Regossip = Arc<dyn Fn() -> Vec<Vec<u8>> + Send + Sync>;

/// How often pending transactions submitted here are gossiped again: gossip is best effort,
/// and on an observer (which never proposes) a lost gossip message would otherwise leave an
/// accepted transaction pending for good.
const REGOSSIP_EVERY: Duration = Duration::from_secs(2);

/// What the network needs from the node.
pub(crate) struct NetworkParams {
    pub dir: PathBuf,
    pub config: NodeConfig,
    pub genesis: Genesis,
    pub key: SigningKey,
    pub app: Arc<LedgerApp>,
    pub gossip_in: GossipSink,
    pub regossip: Regossip,
    pub peers: PeerWatch,
    /// Called once, with why, if the engine stops without being asked to (a critical task
    /// ended or panicked).
    pub fatal: Fatal,
}

/// Reports that the network and consensus stopped by themselves, with why.
pub(crate) type Fatal = Arc<dyn Fn(String) + Send + Sync>;

/// When each peer was last heard from on the vote channel.
#[derive(Clone, Default)]
pub(crate) struct PeerWatch(Arc<std::sync::Mutex<BTreeMap<Vec<u8>, Instant>>>);

impl PeerWatch {
    fn saw(&self, peer: &[u8]) {
        let mut seen = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match seen.get_mut(peer) {
            Some(t) => *t = Instant::now(),
            None => {
                seen.insert(peer.to_vec(), Instant::now());
            }
        }
    }

    /// Peers heard from within `window`.
    pub fn live(&self, window: Duration) -> usize {
        let seen = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        seen.values().filter(|t| t.elapsed() <= window).count()
    }

    /// How long ago `key` was last heard from, if ever. The p2p layer names a peer by its
    /// key's canonical bytes (for both suites), which is what this looks up.
    pub fn last_heard(&self, key: &PublicKey) -> Option<Duration> {
        let seen = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        seen.get(key.as_bytes()).map(Instant::elapsed)
    }
}

/// A receiver that records who it hears from.
#[derive(Debug)]
struct Watched<R> {
    inner: R,
    watch: PeerWatch,
}

impl std::fmt::Debug for PeerWatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PeerWatch")
    }
}

impl<R: commonware_p2p::Receiver> commonware_p2p::Receiver for Watched<R> {
    type Error = R::Error;
    type PublicKey = R::PublicKey;

    fn capacity(&self) -> std::num::NonZeroUsize {
        self.inner.capacity()
    }

    async fn recv(&mut self) -> Result<commonware_p2p::Message<R::PublicKey>, R::Error> {
        let message = self.inner.recv().await?;
        self.watch.saw(message.0.as_ref());
        Ok(message)
    }
}

/// A running network thread.
pub(crate) struct NetworkHandle {
    thread: Option<JoinHandle<Option<String>>>,
    stopping: Arc<std::sync::atomic::AtomicBool>,
    stop: Option<std::sync::mpsc::Sender<()>>,
    gossip: mpsc::UnboundedSender<Vec<u8>>,
}

impl NetworkHandle {
    /// Queues a locally admitted transaction for gossip.
    pub fn gossip(&self, tx: Vec<u8>) {
        let _ = self.gossip.send(tx);
    }

    /// Stops the runtime and waits for its thread.
    pub fn stop(&mut self) {
        self.stopping
            .store(true, std::sync::atomic::Ordering::SeqCst);
        self.stop.take();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The keys and certificate scheme of a suite.
trait SuiteScheme {
    type Signer: Signer + Clone;
    type Scheme: simplex::scheme::Scheme<
            kexin_consensus::block::Digest,
            PublicKey = <Self::Signer as Signer>::PublicKey,
        > + ExportCertificate;

    fn signer(key: &SigningKey) -> anyhow::Result<Self::Signer>;
    fn public(key: &PublicKey) -> anyhow::Result<<Self::Signer as Signer>::PublicKey>;
    fn scheme(
        namespace: &[u8],
        participants: Set<<Self::Signer as Signer>::PublicKey>,
        signer: Self::Signer,
    ) -> Option<Self::Scheme>;
    fn verifier(
        namespace: &[u8],
        participants: Set<<Self::Signer as Signer>::PublicKey>,
    ) -> Self::Scheme;
}

struct Intl;

impl SuiteScheme for Intl {
    type Signer = commonware_cryptography::ed25519::PrivateKey;
    type Scheme = simplex::scheme::ed25519::Scheme;

    fn signer(key: &SigningKey) -> anyhow::Result<Self::Signer> {
        use commonware_codec::DecodeExt as _;
        let SigningKey::Ed25519(k) = key else {
            anyhow::bail!(
                "a node signs with Ed25519 on an intl chain, not {}",
                key.scheme()
            );
        };
        let seed = zeroize::Zeroizing::new(k.to_bytes());
        Self::Signer::decode(seed.to_vec()).map_err(|e| anyhow::anyhow!("Ed25519 key: {e}"))
    }

    fn public(key: &PublicKey) -> anyhow::Result<commonware_cryptography::ed25519::PublicKey> {
        use commonware_codec::DecodeExt as _;
        match key {
            PublicKey::Ed25519(b) => {
                commonware_cryptography::ed25519::PublicKey::decode(b.to_vec())
                    .map_err(|e| anyhow::anyhow!("Ed25519 key {key}: {e}"))
            }
            other => anyhow::bail!(
                "a validator key on an intl chain is Ed25519, not {}: {key}",
                other.scheme()
            ),
        }
    }

    fn scheme(
        namespace: &[u8],
        participants: Set<commonware_cryptography::ed25519::PublicKey>,
        signer: Self::Signer,
    ) -> Option<Self::Scheme> {
        simplex::scheme::ed25519::Scheme::signer(namespace, participants, signer)
    }

    fn verifier(
        namespace: &[u8],
        participants: Set<commonware_cryptography::ed25519::PublicKey>,
    ) -> Self::Scheme {
        simplex::scheme::ed25519::Scheme::verifier(namespace, participants)
    }
}

struct Gm;

impl SuiteScheme for Gm {
    type Signer = sm2::PrivateKey;
    type Scheme = sm2::Scheme;

    fn signer(key: &SigningKey) -> anyhow::Result<Self::Signer> {
        sm2::PrivateKey::try_from(key).map_err(|e| anyhow::anyhow!("SM2 key: {e}"))
    }

    fn public(key: &PublicKey) -> anyhow::Result<sm2::PublicKey> {
        sm2::PublicKey::try_from(*key).map_err(|e| anyhow::anyhow!("SM2 key {key}: {e}"))
    }

    fn scheme(
        namespace: &[u8],
        participants: Set<sm2::PublicKey>,
        signer: Self::Signer,
    ) -> Option<Self::Scheme> {
        sm2::Scheme::signer(namespace, participants, signer)
    }

    fn verifier(namespace: &[u8], participants: Set<sm2::PublicKey>) -> Self::Scheme {
        sm2::Scheme::verifier(namespace, participants)
    }
}

/// Starts the network thread.
pub(crate) fn spawn(params: NetworkParams) -> anyhow::Result<NetworkHandle> {
    let (gossip_tx, gossip_rx) = mpsc::unbounded_channel();
    let resend = gossip_tx.clone();
    let (stop_tx, stop_rx) = std::sync::mpsc::channel::<()>();
    let (ready_tx, ready_rx) = std::sync::mpsc::channel::<anyhow::Result<()>>();
    let storage = params.dir.join(crate::layout::CONSENSUS);
    std::fs::create_dir_all(&storage)
        .with_context(|| format!("cannot create {}", storage.display()))?;
    let stopping = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let asked = stopping.clone();
    let fatal = params.fatal.clone();
    let thread = std::thread::Builder::new()
        .name("kexin-network".into())
        .spawn(move || {
            let cfg = tokio::Config::new()
                .with_storage_directory(storage)
                .with_worker_threads(2)
                .with_catch_panics(false);
            let runner = tokio::Runner::new(cfg);
            // A panicking task (with catch_panics off) unwinds out of `start`: catch it here
            // so the node learns its engine is gone instead of serving on without it.
            let ended = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || {
                runner.start(|context| async move {
                    let started = match params.genesis.suite {
                        Suite::Intl => {
                            run::<Intl>(context.child("kexin"), params, gossip_rx, resend).await
                        }
                        Suite::Gm => {
                            run::<Gm>(context.child("kexin"), params, gossip_rx, resend).await
                        }
                    };
                    let mut engine = match started {
                        Ok(engine) => {
                            let _ = ready_tx.send(Ok(()));
                            engine
                        }
                        Err(e) => {
                            let _ = ready_tx.send(Err(e));
                            return None;
                        }
                    };
                    // Run until the node drops the stop sender, or the engine ends by itself.
                    let (done_tx, mut done_rx) = mpsc::unbounded_channel::<()>();
                    std::thread::spawn(move || {
                        let _ = stop_rx.recv();
                        let _ = done_tx.send(());
                    });
                    futures::select! {
                        _ = futures::FutureExt::fuse(done_rx.recv()) => {
                            // Ask every actor to finish (they exit their loops on the stop
                            // signal) before the rest is aborted: aborting first makes an
                            // actor whose peer went away log errors (`mailbox closed`).
                            if let Err(e) = context.stop(0, Some(STOP_TIMEOUT)).await {
                                tracing::warn!("consensus actors did not stop in time: {e}");
                            }
                            engine.abort();
                            None
                        }
                        why = futures::FutureExt::fuse(&mut engine) => Some(match why {
                            Ok(why) => why,
                            Err(e) => format!("the consensus engine failed: {e}"),
                        }),
                    }
                })
            }));
            let why = match ended {
                Ok(why) => why,
                Err(panic) => Some(format!(
                    "a consensus task panicked: {}",
                    panic_message(panic.as_ref())
                )),
            };
            if let Some(why) = &why
                && !asked.load(std::sync::atomic::Ordering::SeqCst)
            {
                tracing::error!("the consensus engine stopped: {why}");
                fatal(why.clone());
            }
            why
        })?;
    match ready_rx.recv() {
        Ok(Ok(())) => {}
        Ok(Err(e)) => {
            let _ = thread.join();
            return Err(e);
        }
        Err(_) => {
            let why = thread.join().ok().flatten();
            anyhow::bail!(
                "the consensus engine could not start: {}",
                why.as_deref().unwrap_or("the network thread stopped")
            );
        }
    }
    Ok(NetworkHandle {
        thread: Some(thread),
        stopping,
        stop: Some(stop_tx),
        gossip: gossip_tx,
    })
}

/// How long a stopping node waits for the consensus actors to finish.
const STOP_TIMEOUT: Duration = Duration::from_secs(5);

/// The text of a panic payload.
fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = panic.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = panic.downcast_ref::<String>() {
        s.clone()
    } else {
        "(no message)".to_owned()
    }
}

/// Where to reach each validator: `config.toml`'s `network.peers` entry for its key, else the
/// address governance recorded for it (resolved now); this node itself at its listener.
/// Validators without a usable address are left out, with a warning.
fn peer_map<T: SuiteScheme>(
    config: &NodeConfig,
    validators: &[kexin_types::Validator],
    me: &PublicKey,
) -> anyhow::Result<Map<<T::Signer as Signer>::PublicKey, Address>> {
    use std::net::ToSocketAddrs as _;
    let mut entries = Vec::new();
    for v in validators {
        let address: Option<SocketAddr> = if v.public_key == *me {
            Some(config.network.listen)
        } else if let Some(p) = config
            .network
            .peers
            .iter()
            .find(|p| p.public_key == v.public_key)
        {
            Some(p.address)
        } else if !v.address.is_empty() {
            match v.address.to_socket_addrs().map(|mut a| a.next()) {
                Ok(Some(a)) => Some(a),
                Ok(None) | Err(_) => {
                    tracing::warn!(
                        validator = %v.name,
                        address = %v.address,
                        "cannot resolve the validator's address; not connecting to it"
                    );
                    None
                }
            }
        } else {
            None
        };
        match address {
            Some(a) => entries.push((T::public(&v.public_key)?, Address::from(a))),
            None => tracing::warn!(
                validator = %v.name,
                key = %v.public_key,
                "no address for this validator (config.toml network.peers, or its on-chain address)"
            ),
        }
    }
    Map::try_from(entries).map_err(|e| anyhow::anyhow!("duplicate validator key: {e:?}"))
}

/// What the consensus engine needs from this node to run an epoch: its scheme among the
/// epoch's validators, and connections to them.
struct Host<T: SuiteScheme> {
    namespace: Arc<Vec<u8>>,
    signer: T::Signer,
    me: PublicKey,
    config: Arc<NodeConfig>,
    observers: Map<<T::Signer as Signer>::PublicKey, Address>,
    oracle: lookup::Oracle<<T::Signer as Signer>::PublicKey>,
}

impl<T: SuiteScheme> Clone for Host<T> {
    fn clone(&self) -> Self {
        Host {
            namespace: self.namespace.clone(),
            signer: self.signer.clone(),
            me: self.me,
            config: self.config.clone(),
            observers: self.observers.clone(),
            oracle: self.oracle.clone(),
        }
    }
}

impl<T: SuiteScheme + 'static> EpochHost<T::Scheme> for Host<T>
where
    T::Signer: Send + Sync + 'static,
{
    fn scheme(&self, validators: &[kexin_types::Validator]) -> Option<T::Scheme> {
        let keys = validators
            .iter()
            .map(|v| T::public(&v.public_key))
            .collect::<anyhow::Result<Vec<_>>>()
            .map_err(|e| tracing::error!("validator set: {e}"))
            .ok()?;
        let participants = Set::try_from(keys)
            .map_err(|e| tracing::error!("validator set: {e:?}"))
            .ok()?;
        if validators.iter().any(|v| v.public_key == self.me) {
            T::scheme(&self.namespace, participants, self.signer.clone())
        } else {
            Some(T::verifier(&self.namespace, participants))
        }
    }

    fn track(&self, epoch: u64, validators: &[kexin_types::Validator]) {
        let peers = match peer_map::<T>(&self.config, validators, &self.me) {
            Ok(p) => p,
            Err(e) => {
                tracing::error!(epoch, "cannot make the epoch's peer set: {e}");
                return;
            }
        };
        // This node follows as a read-only peer when it is not one of the validators.
        let mut observers: Vec<_> = self
            .observers
            .iter_pairs()
            .map(|(k, a)| (k.clone(), a.clone()))
            .collect();
        if !validators.iter().any(|v| v.public_key == self.me)
            && let Ok(me) = T::public(&self.me)
        {
            observers.push((me, Address::from(self.config.network.listen)));
        }
        let observers = Map::try_from(observers).unwrap_or_default();
        let mut oracle = self.oracle.clone();
        oracle.track(
            epoch,
            commonware_p2p::AddressableTrackedPeers::new(peers, observers),
        );
    }
}

/// Read-only peers: the configured observers.
fn observer_map<T: SuiteScheme>(
    params: &NetworkParams,
    me: &PublicKey,
) -> anyhow::Result<Map<<T::Signer as Signer>::PublicKey, Address>> {
    let mut entries = Vec::new();
    for o in &params.config.network.observers {
        // A validator listed here too (e.g. one removed by governance that should keep
        // following) counts as a validator while it is one.
        if o.public_key != *me {
            entries.push((T::public(&o.public_key)?, Address::from(o.address)));
        }
    }
    Map::try_from(entries).map_err(|e| anyhow::anyhow!("duplicate observer key: {e:?}"))
}

async fn run<T: SuiteScheme + 'static>(
    context: tokio::Context,
    params: NetworkParams,
    mut gossip_rx: mpsc::UnboundedReceiver<Vec<u8>>,
    resend: mpsc::UnboundedSender<Vec<u8>>,
) -> anyhow::Result<commonware_runtime::Handle<String>> {
    let genesis = &params.genesis;
    let signer = T::signer(&params.key)?;
    let me = params.key.public_key();
    // Genesis validators need an address at start; later ones come with their epoch.
    peer_map::<T>(&params.config, &genesis.validators, &me)?;
    let namespace = kexin_types::simplex_namespace(&genesis.chain_id);
    let observers = observer_map::<T>(&params, &me)?;

    let mut p2p_namespace = b"kexin/p2p/".to_vec();
    p2p_namespace.extend_from_slice(genesis.chain_id.as_bytes());
    let handshake = cups::Cups::<_, ChaCha20Poly1305>::new(
        sake::Sake {
            signer: signer.clone(),
            synchrony_bound: Duration::from_secs(5),
            max_handshake_age: Duration::from_secs(10),
            version: sake::Version::V1,
        },
        cups::Version::V1,
    );
    let mut p2p_cfg = lookup::Config::recommended(
        handshake,
        &p2p_namespace,
        params.config.network.listen,
        // Any validator set governance may make, the observers, and this node as one.
        std::num::NonZeroUsize::new(
            kexin_types::limits::MAX_VALIDATORS as usize + observers.len() + 1,
        )
        .expect("non-zero"),
        MAX_MESSAGE_SIZE,
        NZUsize!(4096),
    );
    p2p_cfg.allow_private_ips = true;
    p2p_cfg.peer_connection_cooldown = Duration::from_secs(1);
    let (mut network, oracle) = lookup::Network::new(context.child("p2p"), p2p_cfg);
    // Peer sets are tracked per epoch, as the engine enters each.
    let host = Host::<T> {
        namespace: Arc::new(namespace),
        signer: signer.clone(),
        me,
        config: Arc::new(params.config.clone()),
        observers,
        oracle: oracle.clone(),
    };

    // Messages per second per peer and channel, arriving at most `message_burst` at once
    // (more wait: p2p applies backpressure to the peer). The p2p layer allocates, up front,
    // mailbox slots for one burst of every peer it may track on every channel (and as many
    // again for outbound messages): 2,000 at once made that 2.7 GB on an idle node.
    let burst = std::num::NonZeroU32::new(params.config.network.message_burst)
        .expect("validated: network.message_burst >= 1");
    let quota = Quota::per_second(NZU32!(2_000)).allow_burst(burst);
    let mut consensus_channel = |channel| {
        let (out, inner) = network.register(channel, quota);
        (
            out,
            Watched {
                inner,
                watch: params.peers.clone(),
            },
        )
    };
    let vote = consensus_channel(channels::VOTE);
    let certificate = consensus_channel(channels::CERTIFICATE);
    let resolver = consensus_channel(channels::RESOLVER);
    let backfill = consensus_channel(channels::BACKFILL);
    let broadcast = consensus_channel(channels::BROADCAST);
    let (mut txs_out, mut txs_in) = network.register(channels::TXS, quota);
    let p2p = network.start();

    let mut engine_cfg = EngineConfig::new(
        "kexin",
        BlockCfg {
            suite: genesis.suite,
            genesis_hash: genesis.hash(),
        },
    );
    engine_cfg.leader_timeout = Duration::from_millis(params.config.network.leader_timeout_ms);
    engine_cfg.certification_timeout =
        Duration::from_millis(params.config.network.certification_timeout_ms);
    engine_cfg.driver.propose_wait = engine_cfg.leader_timeout * 3 / 4;
    engine_cfg.driver.empty_blocks = params.config.block.empty_blocks;
    let storage = &params.config.storage;
    engine_cfg.page_cache_pages = std::num::NonZeroUsize::new(storage.consensus_cache_bytes / 4096)
        .expect("validated: storage.consensus_cache_bytes >= 4096");
    engine_cfg.io_buffer = std::num::NonZeroUsize::new(storage.consensus_io_buffer_bytes)
        .expect("validated: storage.consensus_io_buffer_bytes >= 4096");
    let public_key = T::public(&me)?;
    let engine = engine::start(
        context.child("engine"),
        engine_cfg,
        public_key,
        host,
        params.app.clone(),
        oracle.clone(),
        oracle.clone(),
        Channels {
            vote,
            certificate,
            resolver,
            backfill,
            broadcast,
        },
    )
    .await;
    tracing::info!(
        height = params.app.committed_height(),
        listen = %params.config.network.listen,
        validators = genesis.validators.len(),
        "consensus engine started"
    );

    // Outbound gossip: batch locally admitted transactions.
    context.child("gossip_out").spawn(move |ctx| async move {
        while let Some(first) = gossip_rx.recv().await {
            let mut batch = Vec::new();
            push_framed(&mut batch, &first);
            let deadline = ctx.current() + GOSSIP_LINGER;
            while batch.len() < GOSSIP_BATCH_BYTES {
                match gossip_rx.try_recv() {
                    Ok(tx) => push_framed(&mut batch, &tx),
                    Err(_) => {
                        if ctx.current() >= deadline {
                            break;
                        }
                        ctx.sleep(Duration::from_millis(1)).await;
                    }
                }
            }
            let _ = txs_out.send(Recipients::All, batch, false);
        }
    });

    // Resend what was submitted here and is still pending.
    let regossip = params.regossip.clone();
    context.child("regossip").spawn(move |ctx| async move {
        loop {
            ctx.sleep(REGOSSIP_EVERY).await;
            let regossip = regossip.clone();
            let Ok(due) = ctx
                .child("due")
                .shared(true)
                .spawn(move |_| async move { regossip() })
                .await
            else {
                return;
            };
            if !due.is_empty() {
                tracing::debug!(count = due.len(), "gossiping pending transactions again");
            }
            for tx in due {
                if resend.send(tx).is_err() {
                    return;
                }
            }
        }
    });

    // Inbound gossip: admit on the blocking pool; block a peer that sends what no honest
    // node would (honest nodes gossip only transactions they admitted).
    let sink = params.gossip_in.clone();
    let mut blocker = oracle.clone();
    context.child("gossip_in").spawn(move |ctx| async move {
        while let Ok((from, message)) = txs_in.recv().await {
            let sink = sink.clone();
            let verdict = ctx
                .child("admit")
                .shared(true)
                .spawn(move |_| async move { admit_batch(message.as_ref(), &*sink) })
                .await;
            if let Ok(Err(offence)) = verdict {
                commonware_p2p::block!(blocker, from, "blocking peer: {offence}");
            }
        }
    });
    // The node runs as long as both the engine and the p2p network do.
    let app = params.app.clone();
    let supervisor = context.child("supervisor").spawn(move |ctx| async move {
        let (mut engine, mut p2p) = (engine, p2p);
        let fault = test_fault::abort_at();
        let why = std::future::poll_fn(|cx| {
            if let std::task::Poll::Ready(r) = std::pin::Pin::new(&mut engine).poll(cx) {
                return std::task::Poll::Ready(match r {
                    Ok(why) => why,
                    Err(e) => format!("the consensus engine failed: {e}"),
                });
            }
            if let std::task::Poll::Ready(r) = std::pin::Pin::new(&mut p2p).poll(cx) {
                return std::task::Poll::Ready(match r {
                    Ok(()) => "the p2p network stopped".to_owned(),
                    Err(e) => format!("the p2p network failed: {e}"),
                });
            }
            std::task::Poll::Pending
        });
        let why = match fault {
            None => why.await,
            Some(height) => {
                futures::select! {
                    why = futures::FutureExt::fuse(why) => why,
                    () = futures::FutureExt::fuse(test_fault::reached(&ctx, &app, height)) => {
                        tracing::warn!(height, "KEXIN_TEST_ABORT_ENGINE_AT: aborting the consensus engine");
                        engine.abort();
                        (&mut engine).await.err().map_or_else(
                            || "the consensus engine stopped".to_owned(),
                            |e| format!("the consensus engine failed: {e}"),
                        )
                    }
                }
            }
        };
        engine.abort();
        p2p.abort();
        why
    });
    Ok(supervisor)
}

/// Fault injection for tests of a node whose critical task dies: in debug builds only,
/// `KEXIN_TEST_ABORT_ENGINE_AT=H` aborts the consensus engine once height H is committed.
/// Release builds ignore it.
mod test_fault {
    use std::time::Duration;

    use commonware_runtime::Clock as _;
    use kexin_consensus::Application as _;

    /// The height at which to abort, if asked (debug builds only).
    pub(super) fn abort_at() -> Option<u64> {
        if !cfg!(debug_assertions) {
            return None;
        }
        std::env::var("KEXIN_TEST_ABORT_ENGINE_AT")
            .ok()?
            .trim()
            .parse()
            .ok()
    }

    /// Resolves once `app` has committed `height`.
    pub(super) async fn reached(
        ctx: &commonware_runtime::tokio::Context,
        app: &crate::app::LedgerApp,
        height: u64,
    ) {
        while app.committed_height() < height {
            ctx.sleep(Duration::from_millis(50)).await;
        }
    }
}

/// Admits every transaction of a gossip batch; stops at the first offence.
fn admit_batch(batch: &[u8], sink: &dyn Fn(&[u8]) -> Result<(), String>) -> Result<(), String> {
    let mut rest = batch;
    let mut index = 0usize;
    while !rest.is_empty() {
        let Some((len, tail)) = rest.split_first_chunk::<4>() else {
            return Err(format!("gossip batch frame {index}: truncated length"));
        };
        let len = u32::from_be_bytes(*len) as usize;
        if len > kexin_types::limits::MAX_TX_BYTES || tail.len() < len {
            return Err(format!(
                "gossip batch frame {index}: length {len} with {} bytes left",
                tail.len()
            ));
        }
        let (tx, next) = tail.split_at(len);
        sink(tx).map_err(|e| format!("gossip batch frame {index}: {e}"))?;
        rest = next;
        index += 1;
    }
    if index == 0 {
        return Err("empty gossip batch".into());
    }
    Ok(())
}

fn push_framed(batch: &mut Vec<u8>, tx: &[u8]) {
    batch.extend_from_slice(&(tx.len() as u32).to_be_bytes());
    batch.extend_from_slice(tx);
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;

    fn batch(txs: &[&[u8]]) -> Vec<u8> {
        let mut out = Vec::new();
        for tx in txs {
            push_framed(&mut out, tx);
        }
        out
    }

    /// [`PeerWatch::last_heard`] looks peers up by their keys' canonical bytes: the p2p
    /// layer's names must be exactly those bytes in both suites.
    #[test]
    fn p2p_peer_names_are_the_canonical_key_bytes() {
        for seed in 1..=3u8 {
            let ed = SigningKey::from_seed(Suite::Intl, &[seed; 32])
                .unwrap()
                .public_key();
            assert_eq!(Intl::public(&ed).unwrap().as_ref(), ed.as_bytes());
            let sm2 = SigningKey::from_seed(Suite::Gm, &[seed; 32])
                .unwrap()
                .public_key();
            assert_eq!(Gm::public(&sm2).unwrap().as_ref(), sm2.as_bytes());
        }
        let watch = PeerWatch::default();
        let key = SigningKey::from_seed(Suite::Gm, &[7; 32])
            .unwrap()
            .public_key();
        assert_eq!(watch.last_heard(&key), None);
        watch.saw(Gm::public(&key).unwrap().as_ref());
        assert!(
            watch
                .last_heard(&key)
                .is_some_and(|t| t < Duration::from_secs(5))
        );
    }

    #[test]
    fn gossip_batches_are_admitted_frame_by_frame() {
        let seen = RefCell::new(Vec::new());
        let sink = |tx: &[u8]| {
            seen.borrow_mut().push(tx.to_vec());
            Ok(())
        };
        assert_eq!(admit_batch(&batch(&[b"one", b"", b"three"]), &sink), Ok(()));
        assert_eq!(
            *seen.borrow(),
            vec![b"one".to_vec(), Vec::new(), b"three".to_vec()]
        );
    }

    #[test]
    fn malformed_gossip_is_an_offence() {
        let sink = |_: &[u8]| Ok(());
        let good = batch(&[b"abc"]);
        // Truncated length, length past the end, oversized length, empty batch.
        let mut cut = good.clone();
        cut.extend_from_slice(&[0, 0]);
        assert!(
            admit_batch(&cut, &sink)
                .unwrap_err()
                .contains("truncated length")
        );
        assert!(
            admit_batch(&good[..good.len() - 1], &sink)
                .unwrap_err()
                .contains("bytes left")
        );
        let huge = ((kexin_types::limits::MAX_TX_BYTES + 1) as u32).to_be_bytes();
        assert!(admit_batch(&huge, &sink).is_err());
        assert!(admit_batch(&[], &sink).is_err());
        // The sink's verdict on a frame stops the batch and names the frame.
        let calls = RefCell::new(0);
        let refusing = |tx: &[u8]| {
            *calls.borrow_mut() += 1;
            if tx == b"bad" {
                Err("bad signature".to_owned())
            } else {
                Ok(())
            }
        };
        let err = admit_batch(&batch(&[b"ok", b"bad", b"never"]), &refusing).unwrap_err();
        assert_eq!(err, "gossip batch frame 1: bad signature");
        assert_eq!(*calls.borrow(), 2);
    }
}
