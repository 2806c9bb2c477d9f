//! Kexin's business applications on the contract runtime: the reference contracts for
//! supply-chain finance receivables and product traceability, embedded as compiled artifacts.
//!
//! The Solidity sources live in `contracts/scf` and `contracts/trace`; `scripts/build-contracts`
//! compiles them with the pinned solc into `crates/kexin-apps/contracts/*.json`, which this
//! crate embeds so that `kexin` deploys exactly the reviewed code (a test fails when an
//! embedded artifact no longer matches its source).

use kexin_evm::artifact::{Artifact, ArtifactError, load_artifact};

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
