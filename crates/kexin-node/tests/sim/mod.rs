//! The harness of the deterministic simulation: a cluster of validators, each the real
//! consensus engine (`kexin_consensus::engine::start`) over a real ledger, on commonware's
//! deterministic runtime and simulated network, driven through a [`Scenario`] (link quality,
//! partitions, crashes, late joiners, Byzantine validators) and then checked for safety,
//! convergence, exactly-once commitment and offline-verifiable certificates.
//!
//! Everything is a function of the seed: the runtime's scheduling and RNG, the network's
//! latencies and losses, and the scenario's choices (which validator crashes, when).
//!
//! What is a disk here: each validator's ledger lives in a `MemStore` kept across restarts of
//! that validator, and the engine's own storage is the runtime's, which survives both the
//! restart of one validator (its tasks aborted, its storage reopened) and the unclean shutdown
//! of the whole runtime (`Runner::from(checkpoint)`), where unsynced writes are lost.

pub mod apps;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use commonware_codec::DecodeExt as _;
use commonware_consensus::simplex;
use commonware_consensus::simplex::elector::RoundRobin;
use commonware_consensus::simplex::mocks::{conflicter, equivocator, nuller, relay::Relay};
use commonware_consensus::types::Epoch;
use commonware_cryptography::Sha256;
use commonware_p2p::simulated::{self, Link, Network, Oracle};
use commonware_runtime::{Clock as _, Handle, Quota, Spawner as _, Supervisor as _, deterministic};
use commonware_utils::ordered::Set;
use commonware_utils::{NZU32, NZUsize, Probability};
use kexin_consensus::block::Digest;
use kexin_consensus::driver::ExportCertificate;
use kexin_consensus::engine::{self, Channels, EngineConfig, channels};
use kexin_consensus::scheme::sm2;
use kexin_consensus::{Application, BlockCfg};
use kexin_crypto::{Hash, SigningKey, Suite};
use kexin_ledger::{KvStore, Ledger, MemStore};
use kexin_mempool::{Mempool, MempoolConfig};
use kexin_node::{LedgerApp, ProposalLimits};
use kexin_types::state::{NonceState, StateKey};
use kexin_types::{
    Decode as _, EvidenceRecord, Genesis, Payload, SealedTx, Transaction, Validator,
};
use rand::RngExt as _;

use apps::{Observed, RefusalKind, Tamper, TamperedBlock, Tamperer, Verdicts, lock};

type Context = deterministic::Context;

/// The chain id of every simulated chain.
pub const CHAIN_ID: &str = "kexin-sim";

/// The genesis timestamp; the runtime's clock starts one second later.
const GENESIS_MS: u64 = 1_700_000_000_000;

/// How often the harness looks at the cluster.
const TICK: Duration = Duration::from_millis(50);

/// How often, once submission is over, the harness checks for convergence.
const SETTLE_CHECK: Duration = Duration::from_millis(500);

/// Submission goes on this long after a late validator starts.
const LATE_TAIL: Duration = Duration::from_secs(8);

/// Number of client keys signing transactions.
const CLIENTS: usize = 5;

/// A suite as the simulation needs it: the commonware identity and certificate scheme of a
/// Kexin signing key.
pub trait SimSuite: 'static {
    /// The Kexin suite.
    const SUITE: Suite;
    /// The p2p and consensus identity.
    type PublicKey: commonware_cryptography::PublicKey;
    /// The simplex certificate scheme.
    type Scheme: simplex::scheme::Scheme<Digest, PublicKey = Self::PublicKey> + ExportCertificate;

    /// The identity of `key`.
    fn public(key: &SigningKey) -> Self::PublicKey;
    /// The identity of a public key.
    fn public_key(key: &kexin_crypto::PublicKey) -> Self::PublicKey;
    /// The signing scheme of `key` among `participants`.
    fn scheme(
        namespace: &[u8],
        participants: Set<Self::PublicKey>,
        key: &SigningKey,
    ) -> Self::Scheme;
    /// The verify-only scheme of `participants`.
    fn verifier(namespace: &[u8], participants: Set<Self::PublicKey>) -> Self::Scheme;
}

/// The simulation's epoch host: schemes from the committed validator sets; peer sets of later
/// epochs tracked on the simulated network.
struct SimHost<S: SimSuite> {
    namespace: Arc<Vec<u8>>,
    key: Arc<SigningKey>,
    oracle: Oracle<S::PublicKey, Context>,
}

impl<S: SimSuite> Clone for SimHost<S> {
    fn clone(&self) -> Self {
        SimHost {
            namespace: self.namespace.clone(),
            key: self.key.clone(),
            oracle: self.oracle.clone(),
        }
    }
}

impl<S: SimSuite> engine::EpochHost<S::Scheme> for SimHost<S> {
    fn scheme(&self, validators: &[kexin_types::Validator]) -> Option<S::Scheme> {
        let participants = Set::try_from(
            validators
                .iter()
                .map(|v| S::public_key(&v.public_key))
                .collect::<Vec<_>>(),
        )
        .ok()?;
        let me = self.key.public_key();
        Some(if validators.iter().any(|v| v.public_key == me) {
            S::scheme(&self.namespace, participants, &self.key)
        } else {
            S::verifier(&self.namespace, participants)
        })
    }

    fn track(&self, epoch: u64, validators: &[kexin_types::Validator]) {
        use commonware_p2p::Manager as _;
        // Epoch 0's peers are the network's initial set.
        if epoch > 0 {
            let set = Set::from_iter_dedup(validators.iter().map(|v| S::public_key(&v.public_key)));
            let _ = self.oracle.manager().track(epoch, set);
        }
    }
}

/// Ed25519 (`intl`).
pub struct Intl;

impl SimSuite for Intl {
    const SUITE: Suite = Suite::Intl;
    type PublicKey = commonware_cryptography::ed25519::PublicKey;
    type Scheme = simplex::scheme::ed25519::Scheme;

    fn public(key: &SigningKey) -> Self::PublicKey {
        Self::public_key(&key.public_key())
    }

    fn public_key(key: &kexin_crypto::PublicKey) -> Self::PublicKey {
        Self::PublicKey::decode(key.as_bytes().to_vec()).expect("an Ed25519 public key")
    }

    fn verifier(namespace: &[u8], participants: Set<Self::PublicKey>) -> Self::Scheme {
        simplex::scheme::ed25519::Scheme::verifier(namespace, participants)
    }

    fn scheme(
        namespace: &[u8],
        participants: Set<Self::PublicKey>,
        key: &SigningKey,
    ) -> Self::Scheme {
        let SigningKey::Ed25519(k) = key else {
            panic!("an SM2 key on an intl chain");
        };
        let private = commonware_cryptography::ed25519::PrivateKey::decode(k.to_bytes().to_vec())
            .expect("an Ed25519 seed");
        simplex::scheme::ed25519::Scheme::signer(namespace, participants, private)
            .expect("the key is a participant")
    }
}

/// SM2 (`gm`).
pub struct Gm;

impl SimSuite for Gm {
    const SUITE: Suite = Suite::Gm;
    type PublicKey = sm2::PublicKey;
    type Scheme = sm2::Scheme;

    fn public(key: &SigningKey) -> Self::PublicKey {
        Self::public_key(&key.public_key())
    }

    fn public_key(key: &kexin_crypto::PublicKey) -> Self::PublicKey {
        sm2::PublicKey::try_from(*key).expect("an SM2 public key")
    }

    fn verifier(namespace: &[u8], participants: Set<Self::PublicKey>) -> Self::Scheme {
        sm2::Scheme::verifier(namespace, participants)
    }

    fn scheme(
        namespace: &[u8],
        participants: Set<Self::PublicKey>,
        key: &SigningKey,
    ) -> Self::Scheme {
        let private = sm2::PrivateKey::try_from(key).expect("an SM2 key");
        sm2::Scheme::signer(namespace, participants, private).expect("the key is a participant")
    }
}

/// What a validator is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// Honest, running from the start.
    Honest,
    /// Honest, started once the chain reaches `after_height`.
    Late {
        /// The height the rest of the cluster reaches first.
        after_height: u64,
    },
    /// The engine over a [`Tamperer`]: proposes only spoiled blocks.
    Tamperer,
    /// commonware's conflicter mock in place of an engine.
    Conflicter,
    /// commonware's equivocator mock in place of an engine.
    Equivocator,
    /// commonware's nuller mock in place of an engine.
    Nuller,
}

impl Role {
    /// Whether the validator is honest (checked for convergence).
    pub fn honest(self) -> bool {
        matches!(self, Role::Honest | Role::Late { .. })
    }

    /// Whether the validator runs the engine over a ledger.
    fn has_ledger(self) -> bool {
        self.honest() || self == Role::Tamperer
    }
}

/// Something that happens to the cluster at a point in simulated time.
#[derive(Clone, Debug)]
pub enum Event {
    /// Cut every link between these validators and the others.
    Isolate(Vec<usize>),
    /// Restore every link.
    Heal,
    /// Stop a validator abruptly (its tasks are aborted; its storage stays).
    Crash(usize),
    /// Start a crashed validator again on its storage.
    Restart(usize),
    /// Submit this many transactions at once (outside the regular submission window).
    Submit(usize),
}

/// Quality of every link.
#[derive(Clone, Copy, Debug)]
pub struct LinkSpec {
    /// Mean one-way latency.
    pub latency: Duration,
    /// Its standard deviation.
    pub jitter: Duration,
    /// Percentage of messages delivered.
    pub success_percent: u64,
}

impl LinkSpec {
    fn link(&self) -> Link {
        Link {
            latency: self.latency,
            jitter: self.jitter,
            success_rate: Probability::new(self.success_percent, 100).expect("a percentage"),
        }
    }
}

/// A simulation run.
#[derive(Clone, Debug)]
pub struct Scenario {
    /// For reports.
    pub name: String,
    /// One role per validator.
    pub roles: Vec<Role>,
    /// Link quality.
    pub link: LinkSpec,
    /// Events, by simulated time since the start.
    pub events: Vec<(Duration, Event)>,
    /// Simulated times at which the whole runtime stops uncleanly and recovers from its
    /// checkpoint (every validator restarts).
    pub cluster_restarts: Vec<Duration>,
    /// How long transactions are submitted.
    pub submit_for: Duration,
    /// Time between two submissions.
    pub tx_interval: Duration,
    /// Transactions per submission.
    pub txs_per_interval: usize,
    /// How long, after submission ends, the cluster has to converge.
    pub settle_limit: Duration,
    /// The leader timeout of every engine.
    pub leader_timeout: Duration,
    /// Chance, in percent, that a transaction is admitted into a given validator's mempool
    /// (at least one validator always admits it); 100 models perfect gossip.
    pub admit_percent: u64,
    /// The protocol version of the genesis (and of the transactions submitted).
    pub protocol_version: u8,
    /// Client 0 deploys a Solidity counter (`CounterV1`, compiled by solc) with its first
    /// transaction and calls `inc()` with every later one (protocol version 5): every
    /// validator must end with the same counter, equal to the calls acknowledged.
    pub contract_calls: bool,
}

impl Scenario {
    /// `n` honest validators on `link`, submitting for `submit_for`.
    pub fn new(name: impl Into<String>, n: usize, link: LinkSpec, submit_for: Duration) -> Self {
        Scenario {
            name: name.into(),
            roles: vec![Role::Honest; n],
            link,
            events: Vec::new(),
            cluster_restarts: Vec::new(),
            submit_for,
            tx_interval: Duration::from_millis(100),
            txs_per_interval: 3,
            settle_limit: Duration::from_secs(60),
            leader_timeout: Duration::from_secs(1),
            admit_percent: 100,
            protocol_version: kexin_types::FORMAT_VERSION,
            contract_calls: false,
        }
    }
}

/// What a run produced, for the report.
#[derive(Clone, Debug)]
pub struct Outcome {
    /// The seed.
    pub seed: u64,
    /// The common final height.
    pub height: u64,
    /// Transactions acknowledged (and committed everywhere).
    pub txs: usize,
    /// Simulated time at convergence.
    pub simulated: Duration,
    /// Wall-clock time of the run.
    pub wall: Duration,
    /// Refusals by honest validators.
    pub refusals: usize,
    /// Verifications by honest validators that failed locally and were retried.
    pub internal_failures: usize,
    /// Blocks the tamperer proposed.
    pub tampered: usize,
}

/// One validator across restarts.
struct Member<S: SimSuite> {
    role: Role,
    key: SigningKey,
    pk: S::PublicKey,
    /// The ledger's disk.
    store: Arc<MemStore>,
    /// Started at least once (a late validator waits).
    started: bool,
    /// Crashed and not restarted.
    down: bool,
    verdicts: Arc<Mutex<Verdicts>>,
    tampered: Arc<Mutex<Vec<TamperedBlock>>>,
}

/// What lasts across runtime restarts: the disks, the keys, the clients' transactions.
struct World<S: SimSuite> {
    scenario: Scenario,
    seed: u64,
    genesis: Genesis,
    members: Vec<Member<S>>,
    clients: Vec<SigningKey>,
    next_nonce: Vec<u64>,
    next_client: usize,
    /// Transactions admitted by at least one validator, in submission order.
    acked: Vec<Transaction>,
    /// Submission stops at this simulated time (extended when a late validator starts).
    submit_until: Duration,
    last_submit: Option<Duration>,
    next_event: usize,
    isolated: Vec<usize>,
    started_wall: Instant,
}

/// A validator running in the current runtime.
struct Running {
    ledger: Option<Arc<Ledger>>,
    mempool: Option<Arc<Mempool>>,
    handle: Handle<()>,
    stopped: Arc<AtomicBool>,
}

fn key(suite: Suite, seed: u8) -> SigningKey {
    SigningKey::from_seed(suite, &[seed; 32]).expect("a valid fixed key")
}

fn start_time() -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(GENESIS_MS + 1_000)
}

fn last_nonce(ledger: &Ledger, signer: &kexin_crypto::PublicKey) -> u64 {
    match ledger
        .state_get(&StateKey::Nonce(*signer))
        .expect("state read")
    {
        Some(bytes) => {
            NonceState::decode(&bytes)
                .expect("nonce state decodes")
                .last_nonce
        }
        None => 0,
    }
}

/// The epoch-0 subchannel of a consensus channel, as honest engines multiplex them.
async fn epoch_zero<P: commonware_cryptography::PublicKey>(
    ctx: &Context,
    (sender, receiver): (simulated::Sender<P, Context>, simulated::Receiver<P>),
) -> (
    commonware_p2p::utils::mux::SubSender<simulated::Sender<P, Context>>,
    commonware_p2p::utils::mux::SubReceiver<P>,
) {
    let (mux, mut handle) =
        commonware_p2p::utils::mux::Muxer::new(ctx.child("mux"), sender, receiver);
    mux.start();
    handle.register(0).await.expect("a fresh muxer")
}

impl<S: SimSuite> World<S> {
    fn new(scenario: &Scenario, seed: u64) -> Self {
        let suite = S::SUITE;
        let keys: Vec<SigningKey> = (0..scenario.roles.len())
            .map(|i| key(suite, 11 + i as u8))
            .collect();
        let genesis = Genesis {
            version: scenario.protocol_version,
            // Short epochs: every scenario crosses several boundaries (but the byzantine
            // actors, which speak epoch 0 only, stay in it).
            epoch_length: if scenario
                .roles
                .iter()
                .any(|r| matches!(r, Role::Conflicter | Role::Nuller | Role::Equivocator))
            {
                1 << 20
            } else {
                10
            },
            chain_id: CHAIN_ID.into(),
            suite,
            timestamp_ms: GENESIS_MS,
            organisations: vec![],
            validators: keys
                .iter()
                .enumerate()
                .map(|(i, k)| Validator {
                    name: format!("node{i}"),
                    org: String::new(),
                    public_key: k.public_key(),
                    address: String::new(),
                })
                .collect(),
        };
        genesis.validate().expect("a valid genesis");
        let members = keys
            .into_iter()
            .zip(&scenario.roles)
            .map(|(key, &role)| Member {
                role,
                pk: S::public(&key),
                key,
                store: Arc::new(MemStore::new()),
                started: !matches!(role, Role::Late { .. }),
                down: false,
                verdicts: Arc::default(),
                tampered: Arc::default(),
            })
            .collect();
        World {
            scenario: scenario.clone(),
            seed,
            genesis,
            members,
            clients: (0..CLIENTS).map(|c| key(suite, 101 + c as u8)).collect(),
            next_nonce: vec![1; CLIENTS],
            next_client: 0,
            acked: Vec::new(),
            submit_until: scenario.submit_for,
            last_submit: None,
            next_event: 0,
            isolated: Vec::new(),
            started_wall: Instant::now(),
        }
    }

    fn pks(&self) -> Vec<S::PublicKey> {
        self.members.iter().map(|m| m.pk.clone()).collect()
    }

    fn participants(&self) -> Set<S::PublicKey> {
        Set::from_iter_dedup(self.pks())
    }

    fn label(&self) -> String {
        format!("[{} seed {}]", self.scenario.name, self.seed)
    }

    /// A fresh transaction of the next client: evidence, or with [`Scenario::contract_calls`]
    /// client 0's deployment and then its counter calls.
    fn next_tx(&mut self) -> Transaction {
        let c = self.next_client % CLIENTS;
        self.next_client += 1;
        let nonce = self.next_nonce[c];
        self.next_nonce[c] += 1;
        if self.scenario.contract_calls && c == 0 {
            let payload = if nonce == 1 {
                Payload::ContractDeploy {
                    gas_limit: 1_000_000,
                    code: crate::solc::contract("CounterV1").bytecode.clone(),
                    abi: None,
                }
            } else {
                Payload::ContractCall {
                    contract: self.counter(),
                    gas_limit: 100_000,
                    // inc()
                    input: kexin_evm::keccak256(b"inc()")[..4].to_vec(),
                }
            };
            return Transaction::sign_versioned(
                self.genesis.version,
                CHAIN_ID,
                &self.clients[0],
                None,
                nonce,
                payload,
            );
        }
        let records = (0..1 + nonce % 2)
            .map(|r| EvidenceRecord {
                digest: S::SUITE.hash(format!("sim/{}/{c}/{nonce}/{r}", self.seed).as_bytes()),
                metadata: kexin_types::RecordMetadata {
                    salt: kexin_types::Salt([7; 16]),
                    content_type: "application/octet-stream".into(),
                    label: format!("doc-{c}-{nonce}-{r}"),
                    external_ref: None,
                },
            })
            .collect();
        Transaction::sign_versioned(
            self.genesis.version,
            CHAIN_ID,
            &self.clients[c],
            None,
            nonce,
            Payload::Evidence { records },
        )
    }
}

impl<S: SimSuite> World<S> {
    /// The counter client 0 deploys with its first transaction (its first `CREATE`).
    fn counter(&self) -> kexin_types::ContractAddress {
        let deployer = kexin_evm::address_of(S::SUITE, &self.clients[0].public_key());
        kexin_types::ContractAddress(deployer.create(0).0.0)
    }
}

/// Admits `tx` into a validator's mempool against its committed nonce.
fn admit(ledger: &Ledger, mempool: &Mempool, tx: &Transaction) {
    let last = last_nonce(ledger, &tx.signer);
    if let Err(e) = mempool.admit(SealedTx::new(tx.clone()), last) {
        panic!("admission of {} refused: {e}", tx.hash());
    }
}

/// Sets the links for a new partition: validators on the same side are linked. `before` is
/// the previous partition, `None` when no link exists yet; links that stay are left alone.
async fn relink<P: commonware_cryptography::PublicKey>(
    oracle: &Oracle<P, Context>,
    pks: &[P],
    before: Option<&[usize]>,
    after: &[usize],
    link: &LinkSpec,
) {
    let linked = |side: &[usize], a: usize, b: usize| side.contains(&a) == side.contains(&b);
    for (a, pa) in pks.iter().enumerate() {
        for (b, pb) in pks.iter().enumerate() {
            if a == b {
                continue;
            }
            let was = before.is_some_and(|side| linked(side, a, b));
            let now = linked(after, a, b);
            if was && !now {
                oracle
                    .remove_link(pa.clone(), pb.clone())
                    .await
                    .expect("unlink");
            } else if now && !was {
                oracle
                    .add_link(pa.clone(), pb.clone(), link.link())
                    .await
                    .expect("link");
            }
        }
    }
}

/// The cluster in one runtime.
struct Phase<S: SimSuite> {
    ctx: Context,
    oracle: Oracle<S::PublicKey, Context>,
    world: World<S>,
    running: Vec<Option<Running>>,
}

impl<S: SimSuite> Phase<S> {
    async fn new(ctx: Context, world: World<S>) -> Self {
        let pks = world.pks();
        let (network, oracle) = Network::new_with_peers(
            ctx.child("network"),
            simulated::Config {
                max_size: (kexin_types::limits::MAX_BLOCK_BYTES + (1 << 20)) as u32,
                max_peers_per_set: NZUsize!(pks.len()),
                disconnect_on_block: true,
                tracked_peer_sets: NZUsize!(1),
            },
            pks.clone(),
        )
        .await;
        network.start();
        relink(&oracle, &pks, None, &world.isolated, &world.scenario.link).await;
        let running = (0..pks.len()).map(|_| None).collect();
        let mut phase = Phase {
            ctx,
            oracle,
            world,
            running,
        };
        for i in 0..phase.world.members.len() {
            let m = &phase.world.members[i];
            if m.started && !m.down {
                phase.start(i).await;
            }
        }
        phase
    }

    fn elapsed(&self) -> Duration {
        self.ctx
            .current()
            .duration_since(start_time())
            .unwrap_or_default()
    }

    /// Ledgers of running validators with a ledger, honest ones only if `honest`.
    fn ledgers(&self, honest: bool) -> Vec<(usize, Arc<Ledger>)> {
        self.running
            .iter()
            .enumerate()
            .filter(|(i, _)| !honest || self.world.members[*i].role.honest())
            .filter_map(|(i, r)| Some((i, r.as_ref()?.ledger.clone()?)))
            .collect()
    }

    fn max_height(&self) -> u64 {
        self.ledgers(true)
            .iter()
            .map(|(_, l)| l.height())
            .max()
            .unwrap_or(0)
    }

    /// Starts validator `i` on its storage.
    async fn start(&mut self, i: usize) {
        let world = &self.world;
        let member = &world.members[i];
        let suite = S::SUITE;
        let namespace = kexin_types::simplex_namespace(&world.genesis.chain_id);
        let scheme = S::scheme(&namespace, world.participants(), &member.key);
        let control = self.oracle.control(member.pk.clone());
        let quota = Quota::per_second(NZU32!(100_000));
        let mut registered = Vec::new();
        for channel in [
            channels::VOTE,
            channels::CERTIFICATE,
            channels::RESOLVER,
            channels::BACKFILL,
            channels::BROADCAST,
        ] {
            registered.push(control.register(channel, quota).await.expect("register"));
        }
        let mut registered = registered.into_iter();
        let mut next = || registered.next().expect("five channels");
        let channels = Channels {
            vote: next(),
            certificate: next(),
            resolver: next(),
            backfill: next(),
            broadcast: next(),
        };
        let stopped = Arc::new(AtomicBool::new(false));
        let ctx = self.ctx.child("validator").with_attribute("index", i);
        let (ledger, mempool, handle) = match member.role {
            Role::Honest | Role::Late { .. } | Role::Tamperer => {
                let ledger = Arc::new(
                    Ledger::open(
                        member.store.clone() as Arc<dyn KvStore>,
                        world.genesis.clone(),
                    )
                    .expect("the ledger opens"),
                );
                let mempool = Arc::new(Mempool::new(
                    MempoolConfig::default(),
                    &world.genesis.chain_id,
                    suite,
                ));
                // The mempool did not survive: take back what is still pending (as gossip
                // from the other validators would).
                let furthest = self
                    .ledgers(true)
                    .into_iter()
                    .map(|(_, l)| l)
                    .max_by_key(|l| l.height());
                for tx in &world.acked {
                    let hash = tx.hash();
                    let committed = |l: &Ledger| l.tx_location(&hash).expect("read").is_some();
                    if committed(&ledger) || furthest.as_deref().is_some_and(committed) {
                        continue;
                    }
                    admit(&ledger, &mempool, tx);
                }
                let inner = LedgerApp::new(
                    ledger.clone(),
                    mempool.clone(),
                    member.key.public_key(),
                    ProposalLimits {
                        max_txs: 256,
                        max_records: 4096,
                    },
                );
                let cfg = self.engine_config(i);
                let handle = if member.role == Role::Tamperer {
                    let app = Tamperer::new(
                        inner,
                        ledger.clone(),
                        &world.clients,
                        member.tampered.clone(),
                    );
                    self.spawn_engine(ctx, i, cfg, app, channels, stopped.clone())
                } else {
                    let app = Observed::new(inner, suite, member.verdicts.clone());
                    self.spawn_engine(ctx, i, cfg, app, channels, stopped.clone())
                };
                (Some(ledger), Some(mempool), handle)
            }
            Role::Conflicter => {
                let actor = conflicter::Conflicter::<_, S::Scheme, Sha256>::new(
                    ctx.child("actor"),
                    conflicter::Config { scheme },
                );
                let vote = epoch_zero(&ctx, channels.vote).await;
                (None, None, actor.start(vote))
            }
            Role::Nuller => {
                let actor = nuller::Nuller::<_, S::Scheme, Sha256>::new(
                    ctx.child("actor"),
                    nuller::Config { scheme },
                );
                let vote = epoch_zero(&ctx, channels.vote).await;
                (None, None, actor.start(vote))
            }
            Role::Equivocator => {
                let actor =
                    equivocator::Equivocator::<_, S::Scheme, RoundRobin<Sha256>, Sha256>::new(
                        ctx.child("actor"),
                        equivocator::Config {
                            scheme,
                            elector: RoundRobin::<Sha256>::default(),
                            epoch: Epoch::zero(),
                            relay: Arc::new(Relay::new()),
                        },
                    );
                let vote = epoch_zero(&ctx, channels.vote).await;
                let certificate = epoch_zero(&ctx, channels.certificate).await;
                (None, None, actor.start(vote, certificate))
            }
        };
        self.running[i] = Some(Running {
            ledger,
            mempool,
            handle,
            stopped,
        });
    }

    fn engine_config(&self, i: usize) -> EngineConfig {
        let timeout = self.world.scenario.leader_timeout;
        let mut cfg = EngineConfig::new(
            format!("validator{i}"),
            BlockCfg {
                suite: S::SUITE,
                genesis_hash: self.world.genesis.hash(),
            },
        );
        cfg.leader_timeout = timeout;
        cfg.certification_timeout = timeout * 2;
        cfg.timeout_retry = timeout * 2;
        cfg.driver.propose_wait = timeout * 3 / 4;
        cfg
    }

    #[allow(clippy::too_many_arguments)]
    fn spawn_engine<A: Application>(
        &self,
        ctx: Context,
        i: usize,
        cfg: EngineConfig,
        app: A,
        channels: Channels<
            simulated::Sender<S::PublicKey, Context>,
            simulated::Receiver<S::PublicKey>,
        >,
        stopped: Arc<AtomicBool>,
    ) -> Handle<()> {
        let pk = self.world.members[i].pk.clone();
        let oracle = self.oracle.clone();
        let host = SimHost::<S> {
            namespace: Arc::new(kexin_types::simplex_namespace(&self.world.genesis.chain_id)),
            key: Arc::new(self.world.members[i].key.clone()),
            oracle: oracle.clone(),
        };
        ctx.spawn(move |ctx| async move {
            let engine = engine::start(
                ctx.child("engine"),
                cfg,
                pk.clone(),
                host,
                Arc::new(app),
                oracle.manager(),
                oracle.control(pk),
                channels,
            )
            .await;
            let _ = engine.await;
            stopped.store(true, Ordering::SeqCst);
        })
    }

    async fn relink(&self, before: &[usize]) {
        let world = &self.world;
        let pks = world.pks();
        relink(
            &self.oracle,
            &pks,
            Some(before),
            &world.isolated,
            &world.scenario.link,
        )
        .await;
    }

    async fn crash(&mut self, i: usize) {
        if let Some(running) = self.running[i].take() {
            running.handle.abort();
            let _ = running.handle.await;
        }
        self.world.members[i].down = true;
    }

    async fn apply(&mut self, event: Event) {
        match event {
            Event::Isolate(side) => {
                let before = std::mem::replace(&mut self.world.isolated, side);
                self.relink(&before).await;
            }
            Event::Heal => {
                let before = std::mem::take(&mut self.world.isolated);
                self.relink(&before).await;
            }
            Event::Crash(i) => self.crash(i).await,
            Event::Restart(i) => {
                self.world.members[i].down = false;
                self.start(i).await;
            }
            Event::Submit(count) => self.submit(count),
        }
    }

    fn submit(&mut self, count: usize) {
        let percent = self.world.scenario.admit_percent;
        for _ in 0..count {
            let tx = self.world.next_tx();
            let pools: Vec<(Arc<Ledger>, Arc<Mempool>)> = self
                .running
                .iter()
                .flatten()
                .filter_map(|r| Some((r.ledger.clone()?, r.mempool.clone()?)))
                .collect();
            if pools.is_empty() {
                continue;
            }
            let mut chosen: Vec<bool> = pools
                .iter()
                .map(|_| percent >= 100 || self.ctx.random_range(0..100) < percent)
                .collect();
            if !chosen.contains(&true) {
                let k = self.ctx.random_range(0..pools.len());
                chosen[k] = true;
            }
            for ((ledger, mempool), chosen) in pools.iter().zip(chosen) {
                if chosen {
                    admit(ledger, mempool, &tx);
                }
            }
            self.world.acked.push(tx);
        }
    }

    fn late_pending(&self) -> bool {
        self.world
            .members
            .iter()
            .any(|m| matches!(m.role, Role::Late { .. }) && !m.started)
    }

    /// Why the cluster has not converged yet, if it has not.
    fn divergence(&self) -> Option<String> {
        if self.late_pending() || self.world.next_event < self.world.scenario.events.len() {
            return Some("scenario not over".into());
        }
        for (i, m) in self.world.members.iter().enumerate() {
            if m.role.honest() && self.running[i].is_none() {
                return Some(format!("validator {i} is not running"));
            }
        }
        let ledgers = self.ledgers(true);
        let (first, rest) = ledgers.split_first()?;
        let head = |l: &Ledger| (l.height(), l.head().map(|h| h.hash), l.state_root());
        for (i, l) in rest {
            if head(l) != head(&first.1) {
                return Some(format!(
                    "validator {} at height {}, validator {i} at {}",
                    first.0,
                    first.1.height(),
                    l.height()
                ));
            }
        }
        for tx in &self.world.acked {
            let hash = tx.hash();
            for (i, l) in &ledgers {
                if l.tx_location(&hash).expect("read").is_none() {
                    let held: Vec<usize> = self
                        .running
                        .iter()
                        .enumerate()
                        .filter(|(_, r)| {
                            r.as_ref()
                                .and_then(|r| r.mempool.as_ref())
                                .is_some_and(|p| p.get(&hash).is_some())
                        })
                        .map(|(j, _)| j)
                        .collect();
                    return Some(format!(
                        "transaction {hash} (nonce {}) not committed on validator {i}, where the \
                         signer's last committed nonce is {}; in the mempools of {held:?}",
                        tx.nonce,
                        last_nonce(l, &tx.signer)
                    ));
                }
            }
        }
        None
    }

    fn status(&self) -> String {
        let mut out = String::new();
        for (i, m) in self.world.members.iter().enumerate() {
            let state = match &self.running[i] {
                None => "down".to_string(),
                Some(r) => {
                    let height = r.ledger.as_ref().map(|l| l.height());
                    let pending = r.mempool.as_ref().map(|p| p.len());
                    format!(
                        "height {height:?} pending {pending:?}{}",
                        if r.stopped.load(Ordering::SeqCst) {
                            " ENGINE STOPPED"
                        } else {
                            ""
                        }
                    )
                }
            };
            out.push_str(&format!("\n  validator {i} ({:?}): {state}", m.role));
        }
        out
    }

    /// Runs the scenario until `stop_at` (an unclean stop of the whole runtime) or, with `None`,
    /// until the cluster converges.
    async fn run(mut self, stop_at: Option<Duration>) -> (World<S>, Option<(u64, Duration)>) {
        let mut last_check = Duration::ZERO;
        loop {
            self.ctx.sleep(TICK).await;
            let now = self.elapsed();
            if stop_at.is_some_and(|s| now >= s) {
                return (self.world, None);
            }
            while let Some((at, event)) = self.world.scenario.events.get(self.world.next_event) {
                if *at > now {
                    break;
                }
                let event = event.clone();
                self.world.next_event += 1;
                self.apply(event).await;
            }
            for i in 0..self.world.members.len() {
                let m = &self.world.members[i];
                if let Role::Late { after_height } = m.role
                    && !m.started
                    && self.max_height() >= after_height
                {
                    self.world.members[i].started = true;
                    self.start(i).await;
                    self.world.submit_until = self.world.submit_until.max(now + LATE_TAIL);
                }
            }
            for (i, r) in self.running.iter().enumerate() {
                if let Some(r) = r
                    && r.stopped.load(Ordering::SeqCst)
                    && self.world.members[i].role.has_ledger()
                {
                    panic!(
                        "{} validator {i}'s engine stopped at {now:?}:{}",
                        self.world.label(),
                        self.status()
                    );
                }
            }
            let submitting = now < self.world.submit_until || self.late_pending();
            if submitting {
                let due = self
                    .world
                    .last_submit
                    .is_none_or(|t| now >= t + self.world.scenario.tx_interval);
                if due {
                    self.world.last_submit = Some(now);
                    self.submit(self.world.scenario.txs_per_interval);
                }
                continue;
            }
            if now < last_check + SETTLE_CHECK {
                continue;
            }
            last_check = now;
            match self.divergence() {
                None => {
                    self.check();
                    let height = self.max_height();
                    return (self.world, Some((height, now)));
                }
                Some(why) => {
                    if now > self.world.submit_until + self.world.scenario.settle_limit {
                        panic!(
                            "{} no convergence {:?} after submission ended ({why}):{}",
                            self.world.label(),
                            self.world.scenario.settle_limit,
                            self.status()
                        );
                    }
                }
            }
        }
    }

    /// The final checks, once converged.
    fn check(&self) {
        let label = self.world.label();
        let genesis = &self.world.genesis;
        let suite = S::SUITE;
        let honest = self.ledgers(true);
        let all = self.ledgers(false);
        let height = honest.iter().map(|(_, l)| l.height()).max().unwrap_or(0);

        // (a) Safety: one block per height across every ledger, the Byzantine one's included.
        let mut chain = Vec::with_capacity(height as usize);
        for h in 1..=height {
            let mut seen: Option<(usize, Hash)> = None;
            for (i, l) in &all {
                let Some(hash) = l.block_hash_at(h).expect("read") else {
                    continue;
                };
                match seen {
                    None => seen = Some((*i, hash)),
                    Some((j, other)) => assert_eq!(
                        hash, other,
                        "{label} fork at height {h}: validator {i} and validator {j} differ"
                    ),
                }
            }
            chain.push(seen.expect("every height is committed somewhere").1);
        }

        // (b) Convergence (heads and state roots) was established by `divergence`.

        // (c) Every acknowledged transaction exactly once, and nothing else.
        let acked: BTreeSet<Hash> = self.world.acked.iter().map(Transaction::hash).collect();
        assert_eq!(
            acked.len(),
            self.world.acked.len(),
            "{label} duplicate submissions"
        );
        for (i, l) in &honest {
            let mut found: BTreeMap<Hash, (u64, u32)> = BTreeMap::new();
            for h in 1..=height {
                let (block, cert) = l.block(h).expect("read").expect("committed block");
                let hash = block.header.hash(suite);
                // Every block follows the chain's protocol version; from version 4 on each
                // evidence transaction has a stored, committed `success` outcome.
                assert_eq!(block.header.version, genesis.version, "{label} height {h}");
                if genesis.version >= kexin_types::protocol::V4 {
                    let outcomes = l.block_outcomes(h).expect("read");
                    assert_eq!(
                        outcomes.len(),
                        block.transactions.len(),
                        "{label} height {h}"
                    );
                    assert!(
                        outcomes.iter().all(|o| o.is_success()),
                        "{label} height {h}"
                    );
                    let pairs: Vec<(Hash, kexin_types::Outcome)> = block
                        .transactions
                        .iter()
                        .map(Transaction::hash)
                        .zip(outcomes)
                        .collect();
                    assert_eq!(
                        block.header.outcomes_root,
                        Some(kexin_types::outcomes_root(suite, &pairs)),
                        "{label} height {h}"
                    );
                }
                assert_eq!(
                    hash,
                    chain[h as usize - 1],
                    "{label} validator {i} height {h}"
                );
                // (d) The certificate verifies offline against the genesis and the epoch
                // links (each epoch's set certified by the epoch before).
                let links = l
                    .epoch_links(genesis.epoch_of(h))
                    .expect("the epoch links are committed");
                let epochs = kexin_types::EpochChain::verify(genesis, &links)
                    .unwrap_or_else(|e| panic!("{label} validator {i}: epoch links: {e}"));
                if let Err(e) = cert
                    .check_epoch(genesis, h)
                    .and_then(|()| cert.verify_in(genesis, &epochs, &hash))
                {
                    panic!("{label} validator {i}: certificate of block {h} does not verify: {e}");
                }
                for (index, tx) in block.transactions.iter().enumerate() {
                    let previous = found.insert(tx.hash(), (h, index as u32));
                    assert!(
                        previous.is_none(),
                        "{label} validator {i}: transaction {} committed twice ({previous:?} and height {h})",
                        tx.hash()
                    );
                }
            }
            for (hash, (h, index)) in &found {
                assert!(
                    acked.contains(hash),
                    "{label} validator {i}: unacknowledged transaction {hash} at height {h}"
                );
                let loc = l.tx_location(hash).expect("read").expect("indexed");
                assert_eq!((loc.height, loc.tx_index), (*h, *index), "{label} {hash}");
            }
            assert_eq!(found.len(), acked.len(), "{label} validator {i}");
            // The counter's slot 0 holds the number of `inc()` calls acknowledged.
            if self.world.scenario.contract_calls {
                let calls = self
                    .world
                    .acked
                    .iter()
                    .filter(|t| matches!(t.payload, Payload::ContractCall { .. }))
                    .count();
                let mut key = self.world.counter().0.to_vec();
                key.extend_from_slice(&[0; 32]);
                let word = l
                    .state_value(&kexin_types::state::Key::new(
                        kexin_types::state::namespace::CONTRACT_STORAGE,
                        key,
                    ))
                    .expect("read");
                let value = word.map_or(0, |w| {
                    u64::from_be_bytes(w[24..32].try_into().expect("a 32-byte word"))
                });
                assert!(calls > 0, "{label}: no contract call was acknowledged");
                assert_eq!(value, calls as u64, "{label} validator {i}: the counter");
                // The last call's receipt proves its outcome offline, with the log it emitted
                // (`Incremented(by, value)`); a changed log no longer verifies.
                let last = self
                    .world
                    .acked
                    .iter()
                    .rev()
                    .find(|t| matches!(t.payload, Payload::ContractCall { .. }))
                    .expect("a call");
                let receipt = l
                    .tx_receipt(&last.hash())
                    .expect("read")
                    .expect("the call's receipt");
                let verified = receipt
                    .verify(genesis)
                    .unwrap_or_else(|e| panic!("{label} validator {i}: call receipt: {e}"));
                let outcome = verified.outcome.expect("a version 5 outcome");
                assert!(outcome.is_success(), "{label} {outcome:?}");
                assert_eq!(outcome.logs.len(), 1, "{label} {outcome:?}");
                let log = &outcome.logs[0];
                assert_eq!(log.address, self.world.counter(), "{label}");
                assert_eq!(
                    log.topics.len(),
                    2,
                    "{label}: signature and the indexed caller"
                );
                assert_eq!(
                    log.topics[0].0,
                    kexin_evm::keccak256(b"Incremented(address,uint256)").0,
                    "{label}"
                );
                assert_eq!(log.data[24..32], (calls as u64).to_be_bytes(), "{label}");
                let mut forged = receipt.clone();
                let o = forged.outcome.as_mut().expect("outcome");
                o.outcome.logs[0].data[31] ^= 1;
                assert_eq!(
                    forged.verify(genesis).map(|_| ()).unwrap_err().code(),
                    "bad_outcome_proof",
                    "{label}"
                );
            }
        }

        // Byzantine proposals never enter an honest ledger, and honest validators refuse them
        // for the right reason.
        let tampered: BTreeMap<Hash, TamperedBlock> = self
            .world
            .members
            .iter()
            .flat_map(|m| lock(&m.tampered).clone())
            .map(|t| (t.hash, t))
            .collect();
        for (hash, t) in &tampered {
            assert!(
                t.height > height || chain[t.height as usize - 1] != *hash,
                "{label} tampered block {t:?} was committed"
            );
        }
        let mut refused_final = Vec::new();
        for (i, m) in self.world.members.iter().enumerate() {
            if !m.role.honest() {
                continue;
            }
            let verdicts = lock(&m.verdicts);
            for hash in tampered.keys() {
                assert!(
                    !verdicts.accepted.contains(hash),
                    "{label} validator {i} accepted tampered block {:?}",
                    tampered[hash]
                );
            }
            for refusal in &verdicts.refused {
                match tampered.get(&refusal.hash) {
                    Some(t) => assert!(
                        refusal.kind == t.tamper.expected() || refusal.kind == RefusalKind::Other,
                        "{label} validator {i} refused {t:?} as {refusal:?}"
                    ),
                    None => {
                        let h = refusal.height;
                        if h <= height && chain[h as usize - 1] == refusal.hash {
                            refused_final.push((i, refusal.clone()));
                        }
                    }
                }
            }
        }
        if !tampered.is_empty() {
            for tamper in [Tamper::StateRoot, Tamper::BadSignature, Tamper::NonceReplay] {
                let refused_right = self.world.members.iter().any(|m| {
                    lock(&m.verdicts).refused.iter().any(|r| {
                        tampered
                            .get(&r.hash)
                            .is_some_and(|t| t.tamper == tamper && r.kind == tamper.expected())
                    })
                });
                assert!(
                    refused_right,
                    "{label} no honest validator refused a {tamper:?} block for that reason \
                     (tampered: {:?})",
                    tampered.values().collect::<Vec<_>>()
                );
            }
        }

        // An honest validator refusing a block that was finalized is wrong: the block was valid.
        let refused_final: Vec<String> = refused_final
            .iter()
            .map(|(i, r)| {
                format!(
                    "validator {i} refused block {} at height {} (parent {}), which was \
                     finalized; right after the refusal it stood {:?} at committed height {}: {}",
                    r.hash, r.height, r.parent, r.standing_after.0, r.standing_after.1, r.message
                )
            })
            .collect();
        assert!(
            refused_final.is_empty(),
            "{label} honest validators refused blocks that were finalized:\n{}",
            refused_final.join("\n")
        );
    }

    fn outcome(world: &World<S>, height: u64, simulated: Duration) -> Outcome {
        Outcome {
            seed: world.seed,
            height,
            txs: world.acked.len(),
            simulated,
            wall: world.started_wall.elapsed(),
            refusals: world
                .members
                .iter()
                .map(|m| lock(&m.verdicts).refused.len())
                .sum(),
            internal_failures: world
                .members
                .iter()
                .map(|m| lock(&m.verdicts).internal_failures)
                .sum(),
            tampered: world.members.iter().map(|m| lock(&m.tampered).len()).sum(),
        }
    }
}

/// Runs `scenario` on `seed` and checks it; panics with the seed on any failure.
pub fn run<S: SimSuite>(scenario: &Scenario, seed: u64) -> Outcome {
    let mut world = World::<S>::new(scenario, seed);
    let limit = scenario.submit_for
        + scenario.settle_limit
        + scenario.events.last().map_or(Duration::ZERO, |(t, _)| *t)
        + Duration::from_secs(600);
    let config = deterministic::Config::new()
        .with_seed(seed)
        .with_start_time(start_time())
        .with_timeout(Some(limit));
    let mut runner = deterministic::Runner::new(config);
    for &stop_at in &scenario.cluster_restarts {
        let (w, checkpoint) = runner.start_and_recover(move |ctx| async move {
            Phase::new(ctx, world).await.run(Some(stop_at)).await
        });
        world = w.0;
        runner = deterministic::Runner::from(checkpoint);
    }
    let ((world, converged), _) = runner.start_and_recover(move |ctx| async move {
        let phase = Phase::new(ctx, world).await;
        phase.run(None).await
    });
    let (height, simulated) = converged.expect("the last phase runs to convergence");
    Phase::outcome(&world, height, simulated)
}
