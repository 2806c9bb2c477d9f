//! Wiring of one validator: simplex consensus, marshal (ordered delivery and backfill), block
//! broadcast and the finalizer, over p2p channels supplied by the caller.
//!
//! The caller owns the network (commonware's authenticated lookup network in production, the
//! simulated network in tests) and registers the channels [`channels`] names; everything here
//! is generic over the runtime, so the same code runs on tokio and on the deterministic
//! runtime.
//!
//! # Epochs
//!
//! The chain is cut into consensus epochs of `epoch_length` blocks (fixed in genesis). One
//! simplex engine runs per epoch, over the validators the application committed for it
//! ([`Application::epoch_validators`]): those of genesis for epoch 0, and for epoch `e + 1`
//! the set governance left when the last block of epoch `e` executed. Marshal's inline wrapper
//! never builds past an epoch's last block (it re-proposes it until it is final); once the
//! finalizer has committed that block it starts the next epoch's engine on it, stops the old
//! one, and only then acknowledges the block. Votes, certificates and certificate fetches are
//! multiplexed by epoch on their channels; a message of a later epoch than ours makes us fetch
//! the finalization of our epoch's last block from its sender, which is how a node that
//! missed a boundary catches up. Marshal verifies every epoch's certificates with that epoch's
//! validators ([`EpochSchemes`]).

use std::collections::BTreeMap;
use std::future::Future;
use std::num::{NonZeroU64, NonZeroUsize};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::task::Poll;
use std::time::Duration;

use commonware_broadcast::buffered;
use commonware_consensus::marshal::core::Actor as MarshalActor;
use commonware_consensus::marshal::resolver::p2p as marshal_resolver;
use commonware_consensus::marshal::standard::Inline;
use commonware_consensus::marshal::{self, Start};
use commonware_consensus::simplex::{self, config::ForwardPolicy, elector::RoundRobin};
use commonware_consensus::types::{Epoch, FixedEpocher, ViewDelta};
use commonware_cryptography::Digestible as _;
use commonware_cryptography::certificate::{self as cert, Scoped};
use commonware_cryptography::sha256::Sha256;
use commonware_p2p::utils::mux::{Builder as _, Muxer};
use commonware_p2p::{Blocker, Provider, Receiver, Sender};
use commonware_parallel::Sequential;
use commonware_runtime::buffer::paged::CacheRef;
use commonware_runtime::{Clock, Handle, Metrics, Network, Spawner, Storage};
use commonware_storage::archive::immutable;
use commonware_utils::{NZU64, NZUsize};
use rand::{CryptoRng, Rng};

use crate::Application;
use crate::block::{BlockCfg, ChainBlock, Digest};
use crate::driver::{Driver, DriverConfig, ExportCertificate, Finalizer, run_finalizer};

/// Channel numbers on the p2p network.
pub mod channels {
    /// Simplex votes.
    pub const VOTE: u64 = 0;
    /// Simplex certificates.
    pub const CERTIFICATE: u64 = 1;
    /// Simplex certificate fetching.
    pub const RESOLVER: u64 = 2;
    /// Marshal backfill of blocks and finalizations.
    pub const BACKFILL: u64 = 3;
    /// Block broadcast.
    pub const BROADCAST: u64 = 4;
    /// Transaction gossip (Kexin's own).
    pub const TXS: u64 = 5;
}

/// The consensus channels, in [`channels`] order, as `(sender, receiver)` pairs.
pub struct Channels<S, R> {
    /// Votes.
    pub vote: (S, R),
    /// Certificates.
    pub certificate: (S, R),
    /// Certificate fetching.
    pub resolver: (S, R),
    /// Block backfill.
    pub backfill: (S, R),
    /// Block broadcast.
    pub broadcast: (S, R),
}

/// Engine timing and sizes.
#[derive(Clone, Debug)]
pub struct EngineConfig {
    /// Prefix of every storage partition the engine writes.
    pub partition_prefix: String,
    /// Block codec configuration.
    pub block_cfg: BlockCfg,
    /// How long to wait for a leader's proposal before voting to skip the view.
    pub leader_timeout: Duration,
    /// How long to wait for a notarized proposal to certify.
    pub certification_timeout: Duration,
    /// How often to resend votes for a timed-out view.
    pub timeout_retry: Duration,
    /// Driver tuning.
    pub driver: DriverConfig,
    /// Actor mailbox sizes.
    pub mailbox_size: NonZeroUsize,
    /// Pages (4 KiB) of the page cache shared by the engine's archives.
    pub page_cache_pages: NonZeroUsize,
    /// Size of each journal's and archive's read (replay) and write buffer, bytes.
    pub io_buffer: NonZeroUsize,
}

impl EngineConfig {
    /// Defaults for a chain with `block_cfg`.
    pub fn new(partition_prefix: impl Into<String>, block_cfg: BlockCfg) -> EngineConfig {
        EngineConfig {
            partition_prefix: partition_prefix.into(),
            block_cfg,
            leader_timeout: Duration::from_secs(1),
            certification_timeout: Duration::from_secs(2),
            timeout_retry: Duration::from_secs(2),
            driver: DriverConfig::default(),
            mailbox_size: NZUsize!(1024),
            page_cache_pages: DEFAULT_PAGE_CACHE_PAGES,
            io_buffer: DEFAULT_IO_BUFFER,
        }
    }
}

const PAGE_SIZE: std::num::NonZeroU16 = commonware_utils::NZU16!(4096);
/// Default [`EngineConfig::page_cache_pages`]: 16 MiB.
pub const DEFAULT_PAGE_CACHE_PAGES: NonZeroUsize = NZUsize!(4096);
/// Default [`EngineConfig::io_buffer`]: 1 MiB.
pub const DEFAULT_IO_BUFFER: NonZeroUsize = NZUsize!(1 << 20);
const ITEMS_PER_SECTION: NonZeroU64 = NZU64!(4096);

/// What the engine needs from its host to run an epoch: this node's certificate scheme for a
/// validator set, and the p2p peers to connect to.
pub trait EpochHost<S>: Clone + Send + Sync + 'static {
    /// This node's scheme among `validators`: signing if its key is one of them, verify-only
    /// otherwise. `None` if a key does not convert (a corrupt set).
    fn scheme(&self, validators: &[kexin_types::Validator]) -> Option<S>;

    /// Connects to the validators of `epoch` (p2p peer set `epoch`; ids only increase).
    fn track(&self, epoch: u64, validators: &[kexin_types::Validator]);
}

/// The certificate schemes of every epoch, built on demand from the validators the
/// application committed for it: what marshal verifies each epoch's certificates with.
pub struct EpochSchemes<A, H, S> {
    app: Arc<A>,
    host: H,
    cache: Arc<RwLock<BTreeMap<u64, Arc<S>>>>,
}

impl<A, H: Clone, S> Clone for EpochSchemes<A, H, S> {
    fn clone(&self) -> Self {
        EpochSchemes {
            app: self.app.clone(),
            host: self.host.clone(),
            cache: self.cache.clone(),
        }
    }
}

impl<A, H, S> EpochSchemes<A, H, S>
where
    A: Application,
    H: EpochHost<S>,
    S: simplex::scheme::Scheme<Digest>,
{
    /// Schemes for `app`'s epochs.
    pub fn new(app: Arc<A>, host: H) -> Self {
        EpochSchemes {
            app,
            host,
            cache: Arc::new(RwLock::new(BTreeMap::new())),
        }
    }

    /// The scheme of `epoch`, once its validators are committed here.
    pub fn get(&self, epoch: u64) -> Option<Arc<S>> {
        if let Some(s) = self
            .cache
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(&epoch)
        {
            return Some(s.clone());
        }
        let validators = self.app.epoch_validators(epoch)?;
        let scheme = Arc::new(self.host.scheme(&validators)?);
        self.cache
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(epoch, scheme.clone());
        Some(scheme)
    }
}

impl<A, H, S> cert::Provider for EpochSchemes<A, H, S>
where
    A: Application,
    H: EpochHost<S>,
    S: simplex::scheme::Scheme<Digest>,
{
    type Scope = Epoch;
    type Scheme = S;

    fn scoped(&self, epoch: Epoch) -> Option<Scoped<S>> {
        // Marshal asks `scheme()` (signing scopes only) on some paths: serve every epoch as a
        // signing scope, even where this node only verifies.
        self.get(epoch.get()).map(Scoped::scheme)
    }
}

/// Starts the simplex engine of one epoch on its floor (the previous epoch's last block).
pub(crate) type EnterEpoch<S> = Box<
    dyn FnMut(Epoch, Digest, S) -> Pin<Box<dyn Future<Output = Option<Handle<()>>> + Send>> + Send,
>;

/// Which epoch runs here, shared with the catch-up task.
#[derive(Clone, Default)]
pub(crate) struct ActiveEpoch(Arc<AtomicU64>);

impl ActiveEpoch {
    pub(crate) fn get(&self) -> u64 {
        self.0.load(Ordering::Acquire)
    }

    pub(crate) fn set(&self, epoch: u64) {
        self.0.store(epoch, Ordering::Release);
    }
}

fn archive_config<C>(
    prefix: &str,
    name: &str,
    page_cache: &CacheRef,
    io_buffer: NonZeroUsize,
    codec_config: C,
) -> immutable::Config<C> {
    immutable::Config {
        metadata_partition: format!("{prefix}-{name}-metadata"),
        freezer_table_partition: format!("{prefix}-{name}-freezer-table"),
        freezer_table_initial_size: 1024,
        freezer_table_resize_frequency: 4,
        freezer_table_resize_chunk_size: 1024,
        freezer_key_partition: format!("{prefix}-{name}-freezer-key"),
        freezer_key_page_cache: page_cache.clone(),
        freezer_value_partition: format!("{prefix}-{name}-freezer-value"),
        freezer_value_target_size: 64 << 20,
        freezer_value_compression: None,
        ordinal_partition: format!("{prefix}-{name}-ordinal"),
        items_per_section: ITEMS_PER_SECTION,
        codec_config,
        replay_buffer: io_buffer,
        freezer_key_write_buffer: io_buffer,
        freezer_value_write_buffer: io_buffer,
        ordinal_write_buffer: io_buffer,
    }
}

/// Starts one validator's engine. Returns once every actor is running; the handle completes
/// when the engine stops, with why (a critical task ended: the finalizer, marshal, the
/// broadcast buffer, catch-up, or the current epoch's consensus engine).
#[allow(clippy::too_many_arguments)]
pub async fn start<E, S, A, H, P, B, Snd, Rcv>(
    context: E,
    config: EngineConfig,
    public_key: S::PublicKey,
    host: H,
    app: Arc<A>,
    peers: P,
    blocker: B,
    channels: Channels<Snd, Rcv>,
) -> Handle<String>
where
    E: Spawner + Clock + Metrics + Storage + Network + Rng + CryptoRng,
    S: simplex::scheme::Scheme<crate::block::Digest> + ExportCertificate,
    A: Application,
    H: EpochHost<S>,
    P: Provider<PublicKey = S::PublicKey>,
    B: Blocker<PublicKey = S::PublicKey> + Clone,
    Snd: Sender<PublicKey = S::PublicKey>,
    Rcv: Receiver<PublicKey = S::PublicKey>,
{
    let prefix = config.partition_prefix.clone();
    let page_cache = CacheRef::new(PAGE_SIZE, config.page_cache_pages);
    let epoch_length = NonZeroU64::new(app.epoch_length().max(2)).expect("at least 2");
    let schemes = EpochSchemes::new(app.clone(), host.clone());

    let resolver = marshal_resolver::init(
        context.child("marshal_resolver"),
        marshal_resolver::Config {
            public_key: public_key.clone(),
            peer_provider: peers.clone(),
            blocker: blocker.clone(),
            mailbox_size: config.mailbox_size,
            fetch_timeout: commonware_utils::NZDuration!(Duration::from_secs(2)),
            fetch_retry_delay: Duration::from_millis(100),
            priority_requests: false,
            priority_responses: false,
        },
        channels.backfill,
    );

    let (broadcast_engine, buffer) = buffered::Engine::new(
        context.child("broadcast"),
        buffered::Config {
            public_key: public_key.clone(),
            mailbox_size: config.mailbox_size,
            deque_size: 16,
            priority: false,
            codec_config: config.block_cfg,
            peer_provider: peers.clone(),
            strategy: Sequential,
        },
    );
    let broadcast_handle = broadcast_engine.start(channels.broadcast);

    let finalizations = immutable::Archive::init(
        context.child("finalizations_by_height"),
        archive_config(
            &prefix,
            "finalizations",
            &page_cache,
            config.io_buffer,
            S::certificate_codec_config_unbounded(),
        ),
    )
    .await
    .expect("cannot open the finalizations archive");
    let blocks = immutable::Archive::init(
        context.child("finalized_blocks"),
        archive_config(
            &prefix,
            "blocks",
            &page_cache,
            config.io_buffer,
            config.block_cfg,
        ),
    )
    .await
    .expect("cannot open the finalized blocks archive");

    let genesis = ChainBlock::genesis(config.block_cfg.genesis_hash);
    let genesis_digest = genesis.digest();
    let genesis = commonware_cryptography::Digested::precomputed(genesis, genesis_digest);
    let (marshal_actor, marshal, _floor) = MarshalActor::init(
        context.child("marshal"),
        finalizations,
        blocks,
        marshal::Config {
            provider: schemes.clone(),
            epocher: FixedEpocher::new(epoch_length),
            start: Start::Genesis(genesis),
            partition_prefix: format!("{prefix}-marshal"),
            mailbox_size: config.mailbox_size,
            view_retention: ViewDelta::new(64),
            prunable_items_per_section: NZU64!(64),
            page_cache: page_cache.clone(),
            replay_buffer: config.io_buffer,
            key_write_buffer: config.io_buffer,
            value_write_buffer: config.io_buffer,
            block_codec_config: config.block_cfg,
            max_repair: NZUsize!(16),
            max_pending_acks: NZUsize!(4),
            strategy: Sequential,
        },
    )
    .await;

    let driver = Driver::<A, S>::new(app.clone(), config.driver);
    let wrapper = Inline::new(
        context.child("inline"),
        driver,
        marshal.clone(),
        FixedEpocher::new(epoch_length),
    );

    // Votes, certificates and certificate fetches are scoped to an epoch: one subchannel per
    // epoch. Messages of epochs not running here go to a backup queue (catch-up, below).
    let (vote_mux, vote_handle, vote_backup) =
        Muxer::builder(context.child("vote_mux"), channels.vote.0, channels.vote.1)
            .with_backup()
            .build();
    let (cert_mux, cert_handle, cert_backup) = Muxer::builder(
        context.child("certificate_mux"),
        channels.certificate.0,
        channels.certificate.1,
    )
    .with_backup()
    .build();
    let (resolver_mux, resolver_handle) = Muxer::new(
        context.child("resolver_mux"),
        channels.resolver.0,
        channels.resolver.1,
    );
    let mux_handles = [vote_mux.start(), cert_mux.start(), resolver_mux.start()];

    let engine_ctx = context.child("simplex");
    let enter: EnterEpoch<S> = Box::new(move |epoch: Epoch, floor: Digest, scheme: S| {
        let (mut vote, mut certificate, mut resolver) = (
            vote_handle.clone(),
            cert_handle.clone(),
            resolver_handle.clone(),
        );
        let context = engine_ctx.child("epoch").with_attribute("epoch", epoch);
        let (wrapper, blocker, config, page_cache) = (
            wrapper.clone(),
            blocker.clone(),
            config.clone(),
            page_cache.clone(),
        );
        // Epoch 0 keeps the partition name of chains from before epochs.
        let partition = if epoch.is_zero() {
            format!("{prefix}-simplex")
        } else {
            format!("{prefix}-simplex-e{epoch}")
        };
        Box::pin(async move {
            let engine = simplex::Engine::new(
                context,
                simplex::config::Config {
                    scheme,
                    elector: RoundRobin::<Sha256>::default(),
                    blocker,
                    automaton: wrapper.clone(),
                    relay: wrapper.clone(),
                    reporter: wrapper,
                    strategy: Sequential,
                    partition,
                    mailbox_size: config.mailbox_size,
                    epoch,
                    floor: simplex::config::Floor::Genesis(floor),
                    replay_buffer: config.io_buffer,
                    write_buffer: config.io_buffer,
                    page_cache,
                    leader_timeout: config.leader_timeout,
                    certification_timeout: config.certification_timeout,
                    timeout_retry: config.timeout_retry,
                    view_retention: ViewDelta::new(64),
                    // Skip the turns of a leader that has been silent for a while (a crashed
                    // validator) instead of waiting out its leader timeout every rotation.
                    skip: simplex::config::SkipPolicy::Enabled {
                        timeout: config.certification_timeout
                            + config.timeout_retry
                            + Duration::from_secs(1),
                        budget: simplex::config::SkipBudget::Participants,
                    },
                    fetch_timeout: commonware_utils::NZDuration!(Duration::from_secs(1)),
                    fetch_retry_delay: Duration::from_millis(100),
                    forward: ForwardPolicy::Disabled,
                    track_historical_votes: false,
                },
            );
            let vote = vote.register(epoch.get()).await.ok()?;
            let certificate = certificate.register(epoch.get()).await.ok()?;
            let resolver = resolver.register(epoch.get()).await.ok()?;
            Some(engine.start(vote, certificate, resolver))
        })
    });

    let active = ActiveEpoch::default();
    let (finalizer, updates) = Finalizer::new();
    let finalizer_handle = context.child("finalizer").spawn({
        let marshal = marshal.clone();
        let (schemes, host, active) = (schemes.clone(), host.clone(), active.clone());
        move |ctx| {
            run_finalizer::<_, A, S, H>(
                ctx,
                app,
                marshal,
                updates,
                crate::driver::Epochs {
                    length: epoch_length.get(),
                    genesis: genesis_digest,
                    schemes: Box::new(move |e| schemes.get(e).map(|s| (*s).clone())),
                    host,
                    enter,
                    active,
                },
            )
        }
    });

    // Catch-up: a vote or certificate of a later epoch means its sender has finalized our
    // epoch's last block; fetch that finalization from it (at most once a second per epoch).
    let catch_up = context.child("catch_up").spawn({
        let marshal = marshal.clone();
        move |ctx| catch_up(ctx, marshal, active, epoch_length, vote_backup, cert_backup)
    });
    let marshal_handle = marshal_actor.start(finalizer, buffer, resolver);
    let [vote_mux, cert_mux, resolver_mux] = mux_handles;

    context.child("engine").spawn(move |ctx| async move {
        // The engine runs as long as all of these do: the first to end, for whatever reason,
        // stops the rest, and the reason is the engine's result. A stop the runtime asked
        // for (the node shutting down) is not a failure.
        let mut stopping = ctx.stopped();
        let mut finalizer = finalizer_handle;
        let mut others = [
            ("broadcast", broadcast_handle),
            ("marshal", marshal_handle),
            ("catch-up", catch_up),
        ];
        let why = std::future::poll_fn(|cx| {
            if Pin::new(&mut stopping).poll(cx).is_ready() {
                return Poll::Ready(None);
            }
            if let Poll::Ready(r) = Pin::new(&mut finalizer).poll(cx) {
                return Poll::Ready(Some(match r {
                    Ok(why) => why,
                    Err(e) => format!("the finalizer task failed: {e}"),
                }));
            }
            for (name, handle) in others.iter_mut() {
                if let Poll::Ready(r) = Pin::new(handle).poll(cx) {
                    return Poll::Ready(Some(match r {
                        Ok(()) => format!("the {name} task stopped"),
                        Err(e) => format!("the {name} task failed: {e}"),
                    }));
                }
            }
            Poll::Pending
        })
        .await;
        finalizer.abort();
        for (_, handle) in &others {
            handle.abort();
        }
        vote_mux.abort();
        cert_mux.abort();
        resolver_mux.abort();
        drop(stopping);
        match why {
            Some(why) => {
                tracing::error!("consensus engine stopped: {why}");
                why
            }
            None => {
                tracing::debug!("consensus engine stopped on request");
                "stopped on request".to_owned()
            }
        }
    })
}

/// Fetches our epoch's last finalization from peers already in a later epoch.
async fn catch_up<E, S, P>(
    context: E,
    marshal: marshal::core::Mailbox<S, marshal::standard::Standard<ChainBlock>>,
    active: ActiveEpoch,
    epoch_length: NonZeroU64,
    mut votes: commonware_utils::channel::mpsc::Receiver<(u64, commonware_p2p::Message<P>)>,
    mut certificates: commonware_utils::channel::mpsc::Receiver<(u64, commonware_p2p::Message<P>)>,
) where
    E: Clock,
    S: simplex::scheme::Scheme<Digest, PublicKey = P>,
    P: commonware_cryptography::PublicKey,
{
    let epocher = FixedEpocher::new(epoch_length);
    let mut last_hint: Option<(u64, std::time::SystemTime)> = None;
    loop {
        let (their_epoch, (from, _)) = futures::select! {
            m = futures::FutureExt::fuse(votes.recv()) => match m { Some(m) => m, None => return },
            m = futures::FutureExt::fuse(certificates.recv()) => match m { Some(m) => m, None => return },
        };
        let ours = active.get();
        if their_epoch <= ours {
            continue;
        }
        let now = context.current();
        if let Some((e, at)) = last_hint
            && e == ours
            && now.duration_since(at).unwrap_or_default() < Duration::from_secs(1)
        {
            continue;
        }
        last_hint = Some((ours, now));
        let Some(boundary) = commonware_consensus::types::Epocher::last(&epocher, Epoch::new(ours))
        else {
            continue;
        };
        tracing::info!(
            ours,
            their_epoch,
            %from,
            height = boundary.get(),
            "a peer is in a later epoch: fetching the finalization of our epoch's last block"
        );
        marshal.hint_finalized(boundary, commonware_utils::vec::NonEmptyVec::new(from));
    }
}
