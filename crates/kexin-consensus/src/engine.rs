//! Wiring of one validator: simplex consensus, marshal (ordered delivery and backfill), block
//! broadcast and the finalizer, over p2p channels supplied by the caller.
//!
//! The caller owns the network (commonware's authenticated lookup network in production, the
//! simulated network in tests) and registers the channels [`CHANNELS`] names; everything here
//! is generic over the runtime, so the same code runs on tokio and on the deterministic
//! runtime.

use std::num::{NonZeroU64, NonZeroUsize};
use std::sync::Arc;
use std::time::Duration;

use commonware_broadcast::buffered;
use commonware_consensus::marshal::core::Actor as MarshalActor;
use commonware_consensus::marshal::resolver::p2p as marshal_resolver;
use commonware_consensus::marshal::standard::Inline;
use commonware_consensus::marshal::{self, Start};
use commonware_consensus::simplex::{self, config::ForwardPolicy, elector::RoundRobin};
use commonware_consensus::types::{Epoch, FixedEpocher, ViewDelta};
use commonware_cryptography::Digestible as _;
use commonware_cryptography::certificate::ConstantProvider;
use commonware_cryptography::sha256::Sha256;
use commonware_p2p::{Blocker, Provider, Receiver, Sender};
use commonware_parallel::Sequential;
use commonware_runtime::buffer::paged::CacheRef;
use commonware_runtime::{Clock, Handle, Metrics, Network, Spawner, Storage};
use commonware_storage::archive::immutable;
use commonware_utils::{NZU64, NZUsize};
use rand::{CryptoRng, Rng};

use crate::Application;
use crate::block::{BlockCfg, ChainBlock};
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
        }
    }
}

const PAGE_SIZE: std::num::NonZeroU16 = commonware_utils::NZU16!(4096);
const PAGE_CACHE_PAGES: NonZeroUsize = NZUsize!(4096);
const IO_BUFFER: NonZeroUsize = NZUsize!(1 << 20);
const ITEMS_PER_SECTION: NonZeroU64 = NZU64!(4096);
/// One epoch for the whole chain: validator-set changes arrive with governance.
const EPOCH_LENGTH: NonZeroU64 = NZU64!(1 << 62);

fn archive_config<C>(
    prefix: &str,
    name: &str,
    page_cache: &CacheRef,
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
        replay_buffer: IO_BUFFER,
        freezer_key_write_buffer: IO_BUFFER,
        freezer_value_write_buffer: IO_BUFFER,
        ordinal_write_buffer: IO_BUFFER,
    }
}

/// Starts one validator's engine. Returns once every actor is running; the handle completes
/// when the engine stops.
#[allow(clippy::too_many_arguments)]
pub async fn start<E, S, A, P, B, Snd, Rcv>(
    context: E,
    config: EngineConfig,
    public_key: S::PublicKey,
    scheme: S,
    app: Arc<A>,
    peers: P,
    blocker: B,
    channels: Channels<Snd, Rcv>,
) -> Handle<()>
where
    E: Spawner + Clock + Metrics + Storage + Network + Rng + CryptoRng,
    S: simplex::scheme::Scheme<crate::block::Digest> + ExportCertificate,
    A: Application,
    P: Provider<PublicKey = S::PublicKey>,
    B: Blocker<PublicKey = S::PublicKey> + Clone,
    Snd: Sender<PublicKey = S::PublicKey>,
    Rcv: Receiver<PublicKey = S::PublicKey>,
{
    let prefix = config.partition_prefix.clone();
    let page_cache = CacheRef::new(PAGE_SIZE, PAGE_CACHE_PAGES);

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
            S::certificate_codec_config_unbounded(),
        ),
    )
    .await
    .expect("cannot open the finalizations archive");
    let blocks = immutable::Archive::init(
        context.child("finalized_blocks"),
        archive_config(&prefix, "blocks", &page_cache, config.block_cfg),
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
            provider: ConstantProvider::new(scheme.clone()),
            epocher: FixedEpocher::new(EPOCH_LENGTH),
            start: Start::Genesis(genesis),
            partition_prefix: format!("{prefix}-marshal"),
            mailbox_size: config.mailbox_size,
            view_retention: ViewDelta::new(64),
            prunable_items_per_section: NZU64!(64),
            page_cache: page_cache.clone(),
            replay_buffer: IO_BUFFER,
            key_write_buffer: IO_BUFFER,
            value_write_buffer: IO_BUFFER,
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
        FixedEpocher::new(EPOCH_LENGTH),
    );

    let engine = simplex::Engine::new(
        context.child("simplex"),
        simplex::config::Config {
            scheme: scheme.clone(),
            elector: RoundRobin::<Sha256>::default(),
            blocker,
            automaton: wrapper.clone(),
            relay: wrapper.clone(),
            reporter: wrapper,
            strategy: Sequential,
            partition: format!("{prefix}-simplex"),
            mailbox_size: config.mailbox_size,
            epoch: Epoch::zero(),
            floor: simplex::config::Floor::Genesis(genesis_digest),
            replay_buffer: IO_BUFFER,
            write_buffer: IO_BUFFER,
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
    let simplex_handle = engine.start(channels.vote, channels.certificate, channels.resolver);

    let (finalizer, updates) = Finalizer::new();
    let finalizer_handle = context.child("finalizer").spawn({
        let marshal = marshal.clone();
        move |ctx| run_finalizer::<_, A, S>(ctx, app, marshal, updates)
    });
    let marshal_handle = marshal_actor.start(finalizer, buffer, resolver);

    context.child("engine").spawn(move |_| async move {
        let _ = Handle::select([
            broadcast_handle,
            marshal_handle,
            simplex_handle,
            finalizer_handle,
        ])
        .await;
        tracing::error!("consensus engine stopped");
    })
}
