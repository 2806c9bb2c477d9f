//! Kexin's business applications on the contract runtime: the reference contracts for
//! supply-chain finance receivables and product traceability, embedded as compiled artifacts.
//!
//! The Solidity sources live in `contracts/scf` and `contracts/trace`; `scripts/build-contracts`
//! compiles them with the pinned solc into `crates/kexin-apps/contracts/*.json`, which this
//! crate embeds so that `kexin` deploys exactly the reviewed code (a test fails when an
//! embedded artifact no longer matches its source).

use std::time::Duration;

use kexin_client::submit::{Author, Final, transact};
use kexin_client::{Client, ClientError};
use kexin_crypto::Hash;
use kexin_evm::artifact::{Artifact, ArtifactError, load_artifact};
use kexin_types::api::ChainInfo;
use kexin_types::{ContractAddress, Payload};

pub mod holding;
pub mod label;
pub mod scf;
pub mod trace;

/// Why an application operation did not happen.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AppError {
    /// The node could not be reached, or refused the transaction or request.
    #[error(transparent)]
    Client(#[from] ClientError),
    /// The contract refused it: its reason (e.g. `split amounts 60 + 30 do not add up to
    /// 100`), and the failed transaction, if one was final.
    #[error("{reason}")]
    Refused {
        /// The outcome's code: `contract_reverted`, `out_of_gas`, `contract_frozen`, ...
        code: String,
        /// The reason, for people.
        reason: String,
        /// The failed transaction.
        tx_hash: Option<Hash>,
    },
    /// No contract has the name the application is found by.
    #[error(
        "no contract is named {0:?} on this chain: deploy it (`kexin {0} deploy`) and have the consortium name it"
    )]
    NotNamed(String),
    /// The embedded artifact does not load (a build defect).
    #[error("the embedded contract artifact: {0}")]
    Artifact(#[from] ArtifactError),
    /// An answer did not decode as the contract's ABI says.
    #[error("cannot decode the contract's answer: {0}")]
    Decode(String),
    /// An argument the application refuses before anything is sent (e.g. a product id that
    /// cannot be on a label).
    #[error("{0}")]
    Invalid(String),
    /// A holding proof that does not prove its claim ([`holding`]).
    #[error("{0}")]
    BadProof(String),
}

impl AppError {
    /// A stable code: the node's or the contract's, `not_named`, `artifact`, `decode`,
    /// `invalid_argument` or `bad_holding_proof`.
    pub fn code(&self) -> &str {
        match self {
            AppError::Client(e) => e.code(),
            AppError::Refused { code, .. } => code,
            AppError::NotNamed(_) => "not_named",
            AppError::Artifact(_) => "artifact",
            AppError::Decode(_) => "decode",
            AppError::Invalid(_) => "invalid_argument",
            AppError::BadProof(_) => "bad_holding_proof",
        }
    }
}

/// The contract the consortium named `name`.
pub async fn named(client: &Client, name: &str) -> Result<ContractAddress, AppError> {
    match client.contract_named(name).await {
        Ok(n) => Ok(n.contract),
        Err(e) if e.is_not_found() => Err(AppError::NotNamed(name.into())),
        Err(e) => Err(e.into()),
    }
}

/// Deploys `artifact` (no constructor arguments) as `author`, publishing its ABI: its address.
pub async fn deploy(
    client: &Client,
    info: &ChainInfo,
    author: &Author<'_>,
    artifact: Artifact,
    gas_limit: u64,
    timeout: Duration,
) -> Result<ContractAddress, AppError> {
    let abi = serde_json::to_string(&artifact.abi)
        .map_err(|e| AppError::Decode(format!("the artifact's ABI: {e}")))?;
    let payload = Payload::ContractDeploy {
        gas_limit,
        code: artifact.bytecode,
        abi: Some(abi),
    };
    let done = transact(client, info, author, &payload, timeout).await?;
    refused(&done)?;
    <[u8; 20]>::try_from(done.outcome.return_data.as_slice())
        .map(ContractAddress)
        .map_err(|_| AppError::Decode("the deployment returned no 20-byte address".into()))
}

/// A deployed application contract reached through a node: what [`scf::Scf`] and
/// [`trace::Trace`] call.
pub struct Handle<'a> {
    client: &'a Client,
    info: ChainInfo,
    /// Its address.
    pub contract: ContractAddress,
    call_gas: u64,
    timeout: Duration,
}

impl<'a> Handle<'a> {
    /// The contract the consortium named `name`.
    async fn find(
        client: &'a Client,
        name: &str,
        call_gas: u64,
        timeout: Duration,
    ) -> Result<Handle<'a>, AppError> {
        let info = client.chain().await?;
        let contract = named(client, name).await?;
        Ok(Handle {
            client,
            info,
            contract,
            call_gas,
            timeout,
        })
    }

    /// Deploys `artifact` as `admin`, publishing its ABI.
    async fn deploy(
        client: &'a Client,
        admin: &Author<'_>,
        artifact: Artifact,
        deploy_gas: u64,
        call_gas: u64,
        timeout: Duration,
    ) -> Result<Handle<'a>, AppError> {
        let info = client.chain().await?;
        let contract = deploy(client, &info, admin, artifact, deploy_gas, timeout).await?;
        Ok(Handle {
            client,
            info,
            contract,
            call_gas,
            timeout,
        })
    }

    /// Calls the contract with `call` as `who` and waits until it is final.
    async fn send<C: alloy_sol_types::SolCall>(
        &self,
        who: &Author<'_>,
        call: C,
    ) -> Result<(Final, C::Return), AppError> {
        send(
            self.client,
            &self.info,
            self.contract,
            self.call_gas,
            self.timeout,
            who,
            call,
        )
        .await
    }

    /// A read-only call of the contract.
    async fn view<C: alloy_sol_types::SolCall>(&self, call: C) -> Result<C::Return, AppError> {
        view(self.client, self.contract, call).await
    }

    /// Proposes that the consortium name this contract `name` (governance action
    /// `name_contract`), as `admin`, and waits until the proposal is final: its id, for the
    /// other organisations' votes.
    pub async fn propose_name(
        &self,
        admin: &kexin_client::Identity,
        name: &str,
    ) -> Result<Hash, AppError> {
        let payload = Payload::Propose {
            action: kexin_types::GovAction::NameContract {
                name: name.into(),
                contract: self.contract,
            },
        };
        let id = kexin_client::submit::submit_signed(
            self.client,
            &self.info,
            admin,
            &payload,
            self.timeout,
        )
        .await?;
        self.client.wait_committed(&id, self.timeout).await?;
        Ok(id)
    }
}

/// Calls `contract` with `call` as `who` and waits until it is final: its decoded return, or
/// the contract's refusal.
async fn send<C: alloy_sol_types::SolCall>(
    client: &Client,
    info: &ChainInfo,
    contract: ContractAddress,
    gas_limit: u64,
    timeout: Duration,
    who: &Author<'_>,
    call: C,
) -> Result<(Final, C::Return), AppError> {
    let payload = Payload::ContractCall {
        contract,
        gas_limit,
        input: call.abi_encode(),
    };
    let done = transact(client, info, who, &payload, timeout).await?;
    refused(&done)?;
    let ret = C::abi_decode_returns(&done.outcome.return_data)
        .map_err(|e| AppError::Decode(format!("{}: {e}", C::SIGNATURE)))?;
    Ok((done, ret))
}

/// A read-only call of `contract` on the node's committed state.
async fn view<C: alloy_sol_types::SolCall>(
    client: &Client,
    contract: ContractAddress,
    call: C,
) -> Result<C::Return, AppError> {
    let r = client
        .contract_query(
            &contract,
            &kexin_types::api::ContractQueryRequest {
                input: call.abi_encode(),
                from: None,
                function: None,
                args: Vec::new(),
                gas_limit: None,
            },
        )
        .await?;
    if r.status != kexin_types::Status::Success {
        return Err(AppError::Refused {
            code: r.code.unwrap_or_default(),
            reason: reason(r.message.as_deref()),
            tx_hash: None,
        });
    }
    C::abi_decode_returns(&r.return_data)
        .map_err(|e| AppError::Decode(format!("{}: {e}", C::SIGNATURE)))
}

/// A failed outcome as [`AppError::Refused`].
fn refused(done: &Final) -> Result<(), AppError> {
    if done.outcome.is_success() {
        return Ok(());
    }
    Err(AppError::Refused {
        code: done.outcome.code.clone().unwrap_or_default(),
        reason: reason(done.outcome.message.as_deref()),
        tx_hash: Some(done.tx_hash),
    })
}

/// A revert's reason without the `reverted: ` the node prefixes to `Error(string)` reasons.
fn reason(message: Option<&str>) -> String {
    let m = message.unwrap_or("refused without a reason");
    m.strip_prefix("reverted: ").unwrap_or(m).to_owned()
}

/// The receivables contract (`contracts/scf/Receivables.sol`): solc's standard-JSON output.
pub const RECEIVABLES_ARTIFACT: &str = include_str!("../contracts/Receivables.json");

/// The receivables contract's ABI and creation bytecode.
pub fn receivables() -> Result<Artifact, ArtifactError> {
    load_artifact(
        RECEIVABLES_ARTIFACT.as_bytes(),
        Some("Receivables"),
        "Receivables",
    )
}

/// The traceability contract (`contracts/trace/Traceability.sol`): solc's standard-JSON output.
pub const TRACEABILITY_ARTIFACT: &str = include_str!("../contracts/Traceability.json");

/// The traceability contract's ABI and creation bytecode.
pub fn traceability() -> Result<Artifact, ArtifactError> {
    load_artifact(
        TRACEABILITY_ARTIFACT.as_bytes(),
        Some("Traceability"),
        "Traceability",
    )
}
