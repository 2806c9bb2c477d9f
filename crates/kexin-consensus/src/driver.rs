//! The adapter between the commonware marshal and a Kexin [`Application`].
//!
//! [`Driver`] is what marshal's inline wrapper calls to build and verify blocks: it catches up
//! on ancestors this node has not prepared yet (walking the ancestry marshal supplies), runs
//! the ledger work on a blocking thread, and answers. [`Finalizer`] receives finalized blocks
//! from marshal in height order, fetches each block's finalization certificate, commits the
//! block durably and only then acknowledges it.

use std::marker::PhantomData;
use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use commonware_actor::Feedback;
use commonware_consensus::marshal::Update;
use commonware_consensus::marshal::ancestry::Ancestry;
use commonware_consensus::marshal::core::Mailbox;
use commonware_consensus::marshal::standard::Standard;
use commonware_consensus::simplex::types::{Context, Finalization};
use commonware_consensus::types::Height;
use commonware_consensus::{Block as _, Reporter};
use commonware_cryptography::certificate::Scheme;
use commonware_cryptography::{Digested, Digestible as _};
use commonware_runtime::{Clock, Metrics, Spawner};
use commonware_utils::Acknowledgement;
use commonware_utils::channel::mpsc;
use futures::StreamExt as _;
use kexin_types::{CommitCertificate, ValidatorSignature};

use commonware_consensus::types::Epoch;
use commonware_runtime::Handle;

use crate::block::{ChainBlock, Digest};
use crate::engine::{ActiveEpoch, EnterEpoch, EpochHost};
use crate::{Application, Standing};

/// Reads a commonware certificate as the signer indices and signatures Kexin stores.
pub trait ExportCertificate: Scheme {
    /// `(signer index in the participant order, 64-byte signature)` ascending by signer, or
    /// `None` if a signature does not decode.
    fn export(certificate: &Self::Certificate) -> Option<Vec<(u32, [u8; 64])>>;
}

/// Tuning of the driver.
#[derive(Clone, Copy, Debug)]
pub struct DriverConfig {
    /// How long a leader with an empty mempool waits for transactions before proposing an
    /// empty block that finalizes a not-yet-final tip, or else declining to propose (the view
    /// then times out and moves on). Keep it below the leader timeout.
    pub propose_wait: Duration,
    /// How often the empty mempool is polled while waiting.
    pub poll: Duration,
    /// Propose at once even with nothing pending: measures consensus alone.
    pub empty_blocks: bool,
}

impl Default for DriverConfig {
    fn default() -> Self {
        DriverConfig {
            propose_wait: Duration::from_millis(400),
            poll: Duration::from_millis(5),
            empty_blocks: false,
        }
    }
}

/// Builds and verifies blocks for marshal over a Kexin [`Application`].
pub struct Driver<A, S> {
    app: Arc<A>,
    config: DriverConfig,
    _scheme: PhantomData<fn() -> S>,
}

impl<A, S> Clone for Driver<A, S> {
    fn clone(&self) -> Self {
        Driver {
            app: self.app.clone(),
            config: self.config,
            _scheme: PhantomData,
        }
    }
}

impl<A: Application, S> Driver<A, S> {
    /// A driver over `app`.
    pub fn new(app: Arc<A>, config: DriverConfig) -> Self {
        Driver {
            app,
            config,
            _scheme: PhantomData,
        }
    }
}

/// Runs `f` on the runtime's blocking pool.
async fn blocking<E, T, F>(context: &E, f: F) -> Option<T>
where
    E: Spawner,
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    context
        .child("blocking")
        .shared(true)
        .spawn(move |_| async move { f() })
        .await
        .ok()
}

fn now_ms<E: Clock>(context: &E) -> u64 {
    context
        .current()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// Prepares, oldest first, the ancestors in `stream` that this node has not prepared yet,
/// stopping at the first committed or prepared one. `false` if the ancestry conflicts with the
/// committed chain or an ancestor is invalid.
async fn prepare_ancestry<E, A, St>(context: &E, app: &Arc<A>, mut stream: St) -> bool
where
    E: Spawner + Clock,
    A: Application,
    St: futures::Stream<Item = Digested<ChainBlock>> + Unpin,
{
    let mut missing = Vec::new();
    loop {
        let Some(block) = stream.next().await else {
            tracing::debug!("ancestry ended before a known block");
            return false;
        };
        match app.standing(&block.inner().hash(), block.inner().height_u64()) {
            Standing::Committed | Standing::Prepared => break,
            Standing::Conflicting => return false,
            Standing::Unknown => missing.push(block),
        }
    }
    for block in missing.into_iter().rev() {
        let Some(inner) = block.inner().block().cloned() else {
            return false;
        };
        match verify_with_retries(context, app, inner).await {
            Some(Ok(())) => {}
            Some(Err(e)) => {
                tracing::warn!(height = block.inner().height_u64(), "ancestor refused: {e}");
                return false;
            }
            None => return false,
        }
    }
    true
}

/// Verifies on the blocking pool, retrying local failures (a commit racing the verification)
/// a few times before giving the error back.
async fn verify_with_retries<E, A>(
    context: &E,
    app: &Arc<A>,
    block: Arc<kexin_types::Block>,
) -> Option<Result<(), A::Error>>
where
    E: Spawner + Clock,
    A: Application,
{
    let mut attempt = 0;
    loop {
        let (a, b) = (app.clone(), block.clone());
        let verdict = blocking(context, move || a.verify(&b)).await?;
        match verdict {
            Err(e) if A::is_internal(&e) && attempt < 50 => {
                attempt += 1;
                context.sleep(Duration::from_millis(10)).await;
            }
            other => return Some(other),
        }
    }
}

impl<E, A, S> commonware_consensus::Application<E> for Driver<A, S>
where
    E: Spawner + Clock + Metrics,
    A: Application,
    S: Scheme,
{
    type SigningScheme = S;
    type Context = Context<Digest, S::PublicKey>;
    type Block = ChainBlock;
    type Input = ();

    async fn propose(
        &mut self,
        (context, _consensus): (E, Self::Context),
        ancestry: impl Ancestry<Self::Block>,
        _input: (),
    ) -> Option<Digested<ChainBlock>> {
        let parent = ancestry.peek()?.clone();
        if !prepare_ancestry(&context, &self.app, ancestry).await {
            return None;
        }
        // Build as soon as something new is pending. Transactions already in the uncommitted
        // ancestors stay in the mempool until their block commits, so a non-empty mempool
        // may still yield nothing: retry until the wait is over.
        let started = context.current();
        let parent_hash = parent.inner().hash();
        // A validator change waiting for the epoch boundary: build (empty blocks) at once.
        let urgent = {
            let app = self.app.clone();
            blocking(&context, move || app.epoch_change_pending())
                .await
                .unwrap_or(false)
        };
        loop {
            let waited = context
                .current()
                .duration_since(started)
                .unwrap_or_default();
            // The last attempt may yield an empty block that finalizes a quiet chain's tip.
            let last = waited >= self.config.propose_wait || urgent;
            if self.config.empty_blocks || last || self.app.pending().txs > 0 {
                let app = self.app.clone();
                let now = now_ms(&context);
                let built =
                    blocking(&context, move || app.propose(&parent_hash, now, last)).await?;
                match built {
                    Ok(Some(block)) => {
                        let chain_block = ChainBlock::new(block, self.app.suite());
                        let digest = commonware_cryptography::Digestible::digest(&chain_block);
                        return Some(Digested::precomputed(chain_block, digest));
                    }
                    Ok(None) => {}
                    Err(e) if A::is_internal(&e) => {
                        tracing::debug!("proposal raced a commit, retrying: {e}");
                    }
                    Err(e) => {
                        tracing::warn!(
                            height = parent.inner().height_u64() + 1,
                            "cannot propose: {e}"
                        );
                        return None;
                    }
                }
            }
            if last {
                return None;
            }
            context.sleep(self.config.poll).await;
        }
    }

    async fn verify(
        &mut self,
        (context, _consensus): (E, Self::Context),
        ancestry: impl Ancestry<Self::Block>,
    ) -> bool {
        let Some(block) = ancestry.peek().cloned() else {
            return false;
        };
        let Some(inner) = block.inner().block().cloned() else {
            return false;
        };
        match self
            .app
            .standing(&block.inner().hash(), block.inner().height_u64())
        {
            Standing::Committed | Standing::Prepared => return true,
            Standing::Conflicting => return false,
            Standing::Unknown => {}
        }
        let mut parents = ancestry;
        let _ = parents.next().await; // the block itself
        if !prepare_ancestry(&context, &self.app, parents).await {
            return false;
        }
        match verify_with_retries(&context, &self.app, inner).await {
            Some(Ok(())) => true,
            Some(Err(e)) if A::is_internal(&e) => {
                // Not a verdict on the block: withhold the vote.
                tracing::error!(
                    height = block.inner().height_u64(),
                    "cannot verify block: {e}"
                );
                futures::future::pending::<()>().await;
                false
            }
            Some(Err(e)) => {
                tracing::warn!(height = block.inner().height_u64(), "refusing block: {e}");
                false
            }
            None => false,
        }
    }
}

/// Turns a commonware finalization into a Kexin certificate.
pub fn finalization_certificate<S: ExportCertificate>(
    finalization: &Finalization<S, Digest>,
) -> Option<CommitCertificate> {
    let signatures = S::export(&finalization.certificate)?
        .into_iter()
        .map(|(signer, sig)| {
            Some(ValidatorSignature {
                validator: u16::try_from(signer).ok()?,
                signature: kexin_crypto::Signature(sig),
            })
        })
        .collect::<Option<Vec<_>>>()?;
    Some(CommitCertificate::Finalization {
        epoch: finalization.proposal.round.epoch().get(),
        view: finalization.proposal.round.view().get(),
        parent_view: finalization.proposal.parent.get(),
        signatures,
    })
}

/// Receives finalized blocks from marshal (its reporter).
#[derive(Clone)]
pub struct Finalizer {
    sender: mpsc::UnboundedSender<Update<ChainBlock>>,
}

impl Reporter for Finalizer {
    type Activity = Update<ChainBlock>;

    fn report(&mut self, activity: Self::Activity) -> Feedback {
        match self.sender.send(activity) {
            Ok(()) => Feedback::Ok,
            Err(_) => Feedback::Closed,
        }
    }
}

impl Finalizer {
    /// A finalizer and the receiving end for [`run_finalizer`].
    pub fn new() -> (Finalizer, mpsc::UnboundedReceiver<Update<ChainBlock>>) {
        let (sender, receiver) = mpsc::unbounded_channel();
        (Finalizer { sender }, receiver)
    }
}

/// How the finalizer runs consensus epochs (see the [`engine`](crate::engine) docs).
pub(crate) struct Epochs<S, H> {
    /// Blocks per epoch.
    pub length: u64,
    /// The genesis block's digest: epoch 0's floor.
    pub genesis: Digest,
    /// This node's scheme of an epoch whose validators are committed.
    pub schemes: Box<dyn Fn(u64) -> Option<S> + Send>,
    /// Peer tracking.
    pub host: H,
    /// Starts an epoch's engine.
    pub enter: EnterEpoch<S>,
    /// The running epoch, for the catch-up task.
    pub active: ActiveEpoch,
}

impl<S, H: EpochHost<S>> Epochs<S, H> {
    /// The last height of `epoch`.
    fn last(&self, epoch: u64) -> u64 {
        (epoch + 1) * self.length - 1
    }

    /// Starts `epoch`'s engine on `floor`: connects to its validators and runs simplex.
    async fn enter<A: Application>(
        &mut self,
        app: &A,
        epoch: u64,
        floor: Digest,
    ) -> Option<Handle<()>> {
        let Some(validators) = app.epoch_validators(epoch) else {
            tracing::error!(epoch, "the validators of this epoch are not committed here");
            return None;
        };
        self.host.track(epoch, &validators);
        let Some(scheme) = (self.schemes)(epoch) else {
            tracing::error!(epoch, "cannot build the epoch's certificate scheme");
            return None;
        };
        let handle = (self.enter)(Epoch::new(epoch), floor, scheme).await?;
        self.active.set(epoch);
        tracing::info!(
            epoch,
            validators = validators.len(),
            first_height = epoch * self.length,
            "entered consensus epoch"
        );
        Some(handle)
    }
}

/// Commits finalized blocks in order: fetches each block's finalization from marshal,
/// commits through the application, then acknowledges. Stops (without acknowledging) on a
/// commit failure, which halts marshal: a node must not run past a block it could not store.
///
/// Also runs the epochs: starts the engine of the epoch after the committed height, and at
/// each epoch's last block (once committed) the next epoch's engine, stopping the old one,
/// before acknowledging the block.
///
/// Runs until something stops it (the epoch's engine ended, a commit failed, marshal
/// stopped), and returns why.
pub(crate) async fn run_finalizer<E, A, S, H>(
    context: E,
    app: Arc<A>,
    marshal: Mailbox<S, Standard<ChainBlock>>,
    mut updates: mpsc::UnboundedReceiver<Update<ChainBlock>>,
    mut epochs: Epochs<S, H>,
) -> String
where
    E: Spawner + Clock,
    A: Application,
    S: ExportCertificate,
    H: EpochHost<S>,
{
    // The epoch after the committed height, on the last block of the epoch before it.
    let mut epoch = app.committed_height().saturating_add(1) / epochs.length;
    let floor = if epoch == 0 {
        epochs.genesis
    } else {
        let boundary = epochs.last(epoch - 1);
        loop {
            match marshal.get_block(Height::new(boundary)).await {
                Some(b) => break b.digest(),
                None => {
                    tracing::warn!(
                        boundary,
                        "waiting for the last block of the previous epoch in marshal's archive"
                    );
                    context.sleep(Duration::from_millis(500)).await;
                }
            }
        }
    };
    if let Some(reason) = app.halt_reason() {
        return reason;
    }
    let Some(mut running) = epochs.enter(&*app, epoch, floor).await else {
        return format!("cannot start the consensus engine of epoch {epoch}");
    };
    loop {
        // The epoch's engine (voter, resolver, batcher) runs until the next epoch replaces
        // it: if it ends by itself, nothing more will be finalized here.
        let update = futures::select_biased! {
            u = futures::FutureExt::fuse(updates.recv()) => u,
            r = futures::FutureExt::fuse(&mut running) => {
                return match r {
                    Ok(()) => format!("the consensus engine of epoch {epoch} stopped"),
                    Err(e) => format!("the consensus engine of epoch {epoch} failed: {e}"),
                };
            }
        };
        let Some(update) = update else {
            running.abort();
            return "marshal stopped delivering finalized blocks".into();
        };
        let Update::Block(delivered, ack) = update else {
            continue;
        };
        let target = delivered.inner().height_u64();
        // A ledger behind what marshal delivers (its data was lost, or restored from an older
        // copy, while the consensus data was kept): replay the missing blocks from marshal's
        // archive first, in order.
        let first = (app.committed_height() + 1).min(target);
        if first < target {
            tracing::warn!(
                from = first,
                to = target - 1,
                "the ledger is behind the consensus engine: replaying the missing blocks from \
                 its archive"
            );
        }
        let mut delivered = Some(delivered);
        for height in first..=target {
            let block = if height == target {
                delivered
                    .take()
                    .expect("the delivered block is used once, last")
            } else {
                match marshal.get_block(Height::new(height)).await {
                    Some(b) => b,
                    None => {
                        return format!(
                            "the ledger is at height {} but the consensus engine delivered block \
                             {target}, and block {height} is not in its archive: stop the node, \
                             remove its data/consensus so that it fetches the blocks from its \
                             peers, and start it again (docs/operations.md, recovery)",
                            height - 1
                        );
                    }
                }
            };
            let Some(inner) = block.inner().block().cloned() else {
                continue;
            };
            if height <= app.committed_height() {
                match app.standing(&block.inner().hash(), height) {
                    Standing::Committed => continue,
                    other => {
                        return format!(
                            "marshal finalized a block at height {height} that conflicts with the \
                             committed chain ({other:?})"
                        );
                    }
                }
            }
            let certificate = loop {
                match marshal.get_finalization(Height::new(height)).await {
                    Some(f) if f.proposal.payload == block.digest() => {
                        break finalization_certificate::<S>(&f);
                    }
                    Some(_) => {
                        return format!("the finalization at height {height} is for another block");
                    }
                    None => {
                        // Finalized as the ancestor of a later finalization: fetch that one and
                        // prove the link through the headers in between.
                        match ancestor_certificate(&marshal, height, &block).await {
                            Some(c) => break Some(c),
                            None => context.sleep(Duration::from_millis(50)).await,
                        }
                    }
                }
            };
            let Some(certificate) = certificate else {
                return format!("cannot read the finalization certificate of height {height}");
            };
            let commit_app = app.clone();
            let result =
                blocking(&context, move || commit_app.finalized(&inner, certificate)).await;
            match result {
                Some(Ok(())) => {}
                Some(Err(e)) => return format!("cannot commit finalized block {height}: {e}"),
                None => return format!("the commit of block {height} did not finish"),
            }
            if let Some(reason) = app.halt_reason() {
                running.abort();
                ack.acknowledge();
                return reason;
            }
            if height == epochs.last(epoch) {
                // The epoch's last block is final and committed: its state fixes the next
                // epoch's validators. Start that epoch on it, then retire this one.
                let Some(next) = epochs.enter(&*app, epoch + 1, block.digest()).await else {
                    running.abort();
                    return format!("cannot start the consensus engine of epoch {}", epoch + 1);
                };
                running.abort();
                running = next;
                epoch += 1;
            }
        }
        ack.acknowledge();
    }
}

/// Upper bound on the headers an ancestor certificate carries.
pub const MAX_ANCESTOR_LINK: u64 = 1024;

async fn ancestor_certificate<S>(
    marshal: &Mailbox<S, Standard<ChainBlock>>,
    height: u64,
    block: &Digested<ChainBlock>,
) -> Option<CommitCertificate>
where
    S: ExportCertificate,
{
    let mut headers = Vec::new();
    let mut expected_parent = block.digest();
    for h in height + 1..=height + MAX_ANCESTOR_LINK {
        let child = marshal.get_block(Height::new(h)).await?;
        if child.parent() != expected_parent {
            return None;
        }
        let header = child.inner().block()?.header.clone();
        expected_parent = child.digest();
        headers.push(header);
        if let Some(f) = marshal.get_finalization(Height::new(h)).await {
            if f.proposal.payload != child.digest() {
                return None;
            }
            let certificate = finalization_certificate::<S>(&f)?;
            return Some(CommitCertificate::Ancestor {
                headers,
                certificate: Box::new(certificate),
            });
        }
    }
    None
}

impl ExportCertificate for commonware_consensus::simplex::scheme::ed25519::Scheme {
    fn export(certificate: &Self::Certificate) -> Option<Vec<(u32, [u8; 64])>> {
        if certificate.signers.count() != certificate.signatures.len() {
            return None;
        }
        certificate
            .signers
            .iter()
            .zip(certificate.signatures.iter())
            .map(|(signer, signature)| {
                let bytes: [u8; 64] = signature.get()?.as_ref().try_into().ok()?;
                Some((signer.get(), bytes))
            })
            .collect()
    }
}

impl ExportCertificate for crate::scheme::sm2::Scheme {
    fn export(certificate: &Self::Certificate) -> Option<Vec<(u32, [u8; 64])>> {
        if certificate.signers.count() != certificate.signatures.len() {
            return None;
        }
        Some(
            certificate
                .entries()
                .map(|(signer, signature)| (signer.get(), *signature.as_bytes()))
                .collect(),
        )
    }
}
