//! The executor: runs a block's transactions through the modules, one by one, on a journal
//! above the parent state, and reports each transaction's outcome.
//!
//! Protocol version 3 (chains started before version 4, until their upgrade height): a
//! transaction that cannot take effect makes the block invalid, as it always did. Version 4:
//! only a wrong nonce does (the proposer sees the nonces of the block it builds); any other
//! failure is included as a `failed` outcome that consumed the nonce and changed nothing
//! else.

use kexin_types::{Event, Outcome, SealedTx};

use crate::journal::Journal;
use crate::modules::identity::{self, Actor};
use crate::modules::{self, MODULES, TxCx, nonce};
use crate::{BlockContext, ExecError, TxRejection};

/// How a block's transactions take effect.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Protocol version 3: any refusal invalidates the block.
    V3,
    /// Protocol version 4: outcomes.
    V4,
    /// Protocol version 5: version 4 with contracts, and outcomes with gas, return data and
    /// logs.
    V5,
}

/// What happened to one transaction.
pub(crate) enum Step {
    /// In the block, with its outcome.
    Included(Outcome),
    /// Cannot be in this block (and, when executing a block, makes it invalid).
    Refused(TxRejection),
}

/// Executes transactions one by one.
pub(crate) struct Executor<'v, 'g> {
    pub block: BlockContext<'g>,
    pub st: Journal<'v>,
    pub mode: Mode,
    /// Transactions in the block so far.
    pub included: u32,
    /// The gas limits of the block's contract transactions so far.
    pub gas_asked: u64,
}

impl<'v, 'g> Executor<'v, 'g> {
    pub fn new(block: BlockContext<'g>, st: Journal<'v>, mode: Mode) -> Self {
        Executor {
            block,
            st,
            mode,
            included: 0,
            gas_asked: 0,
        }
    }

    /// Whether `tx`'s signer may act now (certificate and role), writing nothing.
    pub fn authorized(&self, tx: &SealedTx) -> Result<Result<(), TxRejection>, ExecError> {
        Ok(identity::authorize(&self.block, &self.st, tx)?.map(|_| ()))
    }

    /// Checks `tx` against the state as it is now, writing nothing: who it acts as and its
    /// payload (not its nonce).
    pub fn admissible(&self, tx: &SealedTx) -> Result<Result<Actor, TxRejection>, ExecError> {
        let actor = match identity::authorize(&self.block, &self.st, tx)? {
            Ok(a) => a,
            Err(r) => return Ok(Err(r)),
        };
        let cx = self.cx(tx, &actor);
        if let Err(r) = modules::module_for(cx.payload()).check(&cx, &self.st)? {
            return Ok(Err(r));
        }
        Ok(Ok(actor))
    }

    fn cx<'a>(&self, tx: &'a SealedTx, actor: &'a Actor) -> TxCx<'a>
    where
        'g: 'a,
    {
        TxCx {
            block: self.block,
            tx,
            index: self.included,
            actor: actor.cert.as_ref(),
            version: self.version(),
        }
    }

    /// The block's protocol version.
    fn version(&self) -> u8 {
        match self.mode {
            Mode::V3 => kexin_types::protocol::V3,
            Mode::V4 => kexin_types::protocol::V4,
            Mode::V5 => kexin_types::protocol::V5,
        }
    }

    /// Runs one transaction.
    pub fn step(&mut self, tx: &SealedTx) -> Result<Step, ExecError> {
        // A block takes transactions of its own version or older: a version 4 block also
        // takes the version 3 transactions admitted before the upgrade.
        let tx_version = tx.tx().version;
        let block_version = self.version();
        if tx_version > block_version {
            return Ok(Step::Refused(TxRejection::UnsupportedVersion {
                tx: tx_version,
                chain: block_version,
            }));
        }
        match self.mode {
            Mode::V3 => self.step_v3(tx),
            Mode::V4 | Mode::V5 => self.step_v4(tx),
        }
    }

    fn step_v3(&mut self, tx: &SealedTx) -> Result<Step, ExecError> {
        let actor = match identity::authorize(&self.block, &self.st, tx)? {
            Ok(a) => a,
            Err(r) => return Ok(Step::Refused(r)),
        };
        if let Err(r) = nonce::check(tx, &self.st)? {
            return Ok(Step::Refused(r));
        }
        let cx = self.cx(tx, &actor);
        let module = modules::module_for(cx.payload());
        if let Err(r) = module.check(&cx, &self.st)? {
            return Ok(Step::Refused(r));
        }
        let cp = self.st.checkpoint();
        let mut events = Vec::new();
        identity::register(&actor, &mut self.st, &mut events);
        nonce::consume(tx, &mut self.st)?;
        if let Err(r) = module.apply(&cx, &mut self.st, &mut events)? {
            self.st.revert(cp);
            return Ok(Step::Refused(r));
        }
        self.st.keep(cp);
        self.included += 1;
        Ok(Step::Included(Outcome::success(
            modules::tx_cost(tx),
            events,
        )))
    }

    /// Versions 4 and 5: a transaction that passes the nonce check is included, as `failed`
    /// when it cannot take effect. In version 5 a contract transaction also needs room in the
    /// block's gas (its gas limit), or it waits for a later block.
    fn step_v4(&mut self, tx: &SealedTx) -> Result<Step, ExecError> {
        let asked = modules::contract::gas_limit(&tx.tx().payload);
        if asked > 0 {
            let limit = modules::contract::block_gas_limit(&self.block, &self.st)?;
            let left = limit.saturating_sub(self.gas_asked);
            if asked > left {
                return Ok(Step::Refused(TxRejection::BlockGasFull { asked, left }));
            }
        }
        if let Err(r) = nonce::check(tx, &self.st)? {
            return Ok(Step::Refused(r));
        }
        nonce::consume(tx, &mut self.st)?;
        self.gas_asked = self.gas_asked.saturating_add(asked);
        let cost = modules::tx_cost(tx);
        let cp = self.st.checkpoint();
        let mut events = Vec::new();
        let mut run = None;
        let outcome = match self.effects(tx, &mut events, &mut run)? {
            Ok(()) => {
                self.st.keep(cp);
                Outcome::success(cost, events)
            }
            Err(r) => {
                self.st.revert(cp);
                Outcome::failed(r.code(), &r.to_string(), cost)
            }
        };
        let outcome = match (self.mode, run) {
            (Mode::V5, Some(run)) => outcome.with_contract(run.gas_used, run.return_data, run.logs),
            (Mode::V5, None) => outcome.in_version(kexin_types::outcome::OUTCOME_VERSION_CONTRACTS),
            _ => outcome,
        };
        self.included += 1;
        Ok(Step::Included(outcome))
    }

    /// Authorizes, checks and applies `tx`'s payload (version 4).
    fn effects(
        &mut self,
        tx: &SealedTx,
        events: &mut Vec<Event>,
        run: &mut Option<modules::contract::ContractRun>,
    ) -> Result<Result<(), TxRejection>, ExecError> {
        let actor = match self.admissible(tx)? {
            Ok(a) => a,
            Err(r) => return Ok(Err(r)),
        };
        identity::register(&actor, &mut self.st, events);
        if self.mode == Mode::V5 {
            identity::index_address(self.block.genesis.suite, tx, &actor, &mut self.st)?;
        }
        let cx = self.cx(tx, &actor);
        modules::module_for(cx.payload()).apply_reporting(&cx, &mut self.st, events, run)
    }

    /// Runs every module's end-of-block hook and returns the block's writes.
    pub fn finish(
        mut self,
    ) -> Result<std::collections::BTreeMap<kexin_types::state::Key, Vec<u8>>, ExecError> {
        for m in MODULES {
            m.end_block(&self.block, &mut self.st)?;
        }
        Ok(self.st.into_writes())
    }
}
