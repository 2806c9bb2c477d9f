//! Contract artifacts as toolchains write them: the ABI and creation bytecode of a contract,
//! read from solc's standard-JSON output, solc `--combined-json` output, or a Foundry or
//! Hardhat artifact file.

use alloy_json_abi::JsonAbi;
use serde_json::Value;

/// A contract ready to deploy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Artifact {
    /// The contract's name.
    pub name: String,
    /// Its ABI.
    pub abi: JsonAbi,
    /// Its creation bytecode (constructor arguments go after it).
    pub bytecode: Vec<u8>,
}

/// Why a file is not a usable artifact.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ArtifactError {
    /// Not JSON at all.
    #[error("not JSON: {0}")]
    NotJson(String),
    /// JSON of none of the accepted shapes.
    #[error(
        "not a contract artifact: expected solc standard-JSON output (\"contracts\": {{file: {{name: {{abi, evm.bytecode}}}}}}), solc --combined-json output (\"contracts\": {{\"file:name\": {{abi, bin}}}}), or a Foundry or Hardhat artifact (abi, bytecode)"
    )]
    Format,
    /// Several contracts and no name, or not the one named.
    #[error("{0}")]
    Choose(String),
    /// A contract without creation code (an interface or an abstract contract).
    #[error("contract {0} has no bytecode (an interface or an abstract contract?)")]
    NoBytecode(String),
    /// Creation code with library placeholders left to link.
    #[error("contract {0} needs libraries linked first (its bytecode has __$...$__ placeholders)")]
    Unlinked(String),
    /// A field of the right name with the wrong content.
    #[error("contract {name}: {reason}")]
    Invalid {
        /// The contract.
        name: String,
        /// What is wrong.
        reason: String,
    },
}

impl ArtifactError {
    /// A stable code for the error.
    pub fn code(&self) -> &'static str {
        match self {
            ArtifactError::NotJson(_) => "artifact_not_json",
            ArtifactError::Format => "artifact_format",
            ArtifactError::Choose(_) => "artifact_ambiguous",
            ArtifactError::NoBytecode(_) => "artifact_no_bytecode",
            ArtifactError::Unlinked(_) => "artifact_unlinked",
            ArtifactError::Invalid { .. } => "artifact_invalid",
        }
    }
}

/// Reads the artifact in `bytes`. `contract` names the contract when the file holds several
/// (solc outputs); `fallback_name` names a Foundry artifact, which does not carry its name
/// (the file's stem, say).
pub fn load_artifact(
    bytes: &[u8],
    contract: Option<&str>,
    fallback_name: &str,
) -> Result<Artifact, ArtifactError> {
    let json: Value =
        serde_json::from_slice(bytes).map_err(|e| ArtifactError::NotJson(e.to_string()))?;
    // (name, abi, bytecode hex) candidates, in file order.
    let candidates: Vec<(String, Value, Option<String>)> =
        if let Some(contracts) = json.get("contracts").and_then(Value::as_object) {
            let mut out = Vec::new();
            for (key, entry) in contracts {
                if entry.get("bin").is_some() || key.contains(':') {
                    // --combined-json: "path:Name": {abi, bin}
                    let name = key.rsplit(':').next().unwrap_or(key).to_string();
                    out.push((
                        name,
                        entry.get("abi").cloned().unwrap_or(Value::Null),
                        str_field(entry, &["bin"]),
                    ));
                } else if let Some(file) = entry.as_object() {
                    // standard JSON: file: {Name: {abi, evm: {bytecode: {object}}}}
                    for (name, c) in file {
                        out.push((
                            name.clone(),
                            c.get("abi").cloned().unwrap_or(Value::Null),
                            str_field(c, &["evm", "bytecode", "object"]),
                        ));
                    }
                }
            }
            out
        } else if json.get("abi").is_some() && json.get("bytecode").is_some() {
            // Hardhat: {contractName, abi, bytecode: "0x.."}; Foundry: {abi, bytecode: {object}}.
            let name = json
                .get("contractName")
                .and_then(Value::as_str)
                .unwrap_or(fallback_name)
                .to_string();
            let code = str_field(&json, &["bytecode"])
                .or_else(|| str_field(&json, &["bytecode", "object"]));
            vec![(name, json["abi"].clone(), code)]
        } else {
            return Err(ArtifactError::Format);
        };
    if candidates.is_empty() {
        return Err(ArtifactError::Format);
    }
    let names = || {
        candidates
            .iter()
            .map(|c| c.0.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let (name, abi, code) = match contract {
        Some(want) => candidates
            .iter()
            .find(|c| c.0 == want)
            .cloned()
            .ok_or_else(|| {
                ArtifactError::Choose(format!(
                    "no contract {want} in the file (it has: {})",
                    names()
                ))
            })?,
        None if candidates.len() == 1 => candidates[0].clone(),
        None => {
            return Err(ArtifactError::Choose(format!(
                "the file has several contracts ({}): name one",
                names()
            )));
        }
    };
    // Old --combined-json writes the ABI as a JSON string.
    let abi = match abi {
        Value::String(s) => serde_json::from_str(&s),
        other => serde_json::from_value(other),
    }
    .map_err(|e| ArtifactError::Invalid {
        name: name.clone(),
        reason: format!("the ABI does not parse: {e}"),
    })?;
    let code = code.unwrap_or_default();
    let hex_code = code.strip_prefix("0x").unwrap_or(&code);
    if hex_code.is_empty() {
        return Err(ArtifactError::NoBytecode(name));
    }
    if hex_code.contains("__") {
        return Err(ArtifactError::Unlinked(name));
    }
    let bytecode = hex::decode(hex_code).map_err(|e| ArtifactError::Invalid {
        name: name.clone(),
        reason: format!("the bytecode is not hex: {e}"),
    })?;
    Ok(Artifact {
        name,
        abi,
        bytecode,
    })
}

/// The runtime code `init_code` (creation bytecode and constructor arguments) leaves behind:
/// what a contract upgrade installs. The constructor runs on an empty state, so code whose
/// constructor reads other contracts, or embeds `address(this)` as an immutable, gets the
/// values of that empty state, not of the chain.
pub fn runtime_code(name: &str, init_code: &[u8]) -> Result<Vec<u8>, ArtifactError> {
    let state = crate::MemoryContracts::new();
    let config = crate::EvmConfig {
        chain_id: 0,
        // The format's bounds (kexin-types: 48 KiB of init code); the chain's own limits are
        // checked when the upgrade executes.
        max_code_size: 48 * 1024,
        max_initcode_size: 48 * 1024,
    };
    let block = crate::BlockInfo {
        height: 0,
        timestamp_ms: 0,
        gas_limit: 1_000_000_000,
    };
    let call = crate::Call::Create {
        init_code: init_code.to_vec().into(),
    };
    let out = crate::execute(
        &state,
        &config,
        &block,
        revm::primitives::Address::ZERO,
        &call,
        1_000_000_000,
    )
    .map_err(|e| ArtifactError::Invalid {
        name: name.into(),
        reason: format!("the constructor cannot run: {e}"),
    })?;
    if !out.is_success() {
        return Err(ArtifactError::Invalid {
            name: name.into(),
            reason: format!("the constructor failed: {}", out.status_message()),
        });
    }
    Ok(out.output.to_vec())
}

fn str_field(v: &Value, path: &[&str]) -> Option<String> {
    let mut cur = v;
    for p in path {
        cur = cur.get(p)?;
    }
    cur.as_str().map(str::to_string)
}
