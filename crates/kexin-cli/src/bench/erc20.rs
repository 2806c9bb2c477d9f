//! `kexin bench --workload erc20`: token transfers on an ERC-20 contract.
//!
//! Setup (not timed): a fresh deployer key deploys `BenchToken` (its solc output is embedded,
//! `BenchToken.json`), mints a balance to each signer's address, and one signer sends a probe
//! `transfer` to a fresh address: the gas that probe uses sets the gas limit of every call
//! (just above it: a block holds at most `contract.block_gas_limit` of gas *limits*). Then
//! each signer sends `transfer(to, 1)` to pseudo-random recipients among [`RECIPIENTS`] fresh
//! addresses, in nonce order, through the same submit and watch machinery as the evidence
//! phases (one call counts as one record). Afterwards every committed call's outcome is read
//! back: failed calls are counted and not reported as throughput; and the token's balances
//! are summed to check that every successful call moved exactly one token.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use kexin_client::{Client, ClientError};
use kexin_crypto::{Hash, PublicKey, SigningKey, Suite};
use kexin_evm::artifact::{Artifact, load_artifact};
use kexin_evm::{Address, keccak256};
use kexin_types::api::{ChainInfo, ContractQueryRequest};
use kexin_types::{ContractAddress, Encode as _, Outcome, Payload, Transaction};
use serde::Serialize;

use super::{
    BenchArgs, BenchReport, Load, Phase, PhaseResult, Prepared, cpu_cores_since, cpu_snapshot,
    print_phase, run_load, run_phase,
};
use crate::error::fail;

/// The token's solc 0.8.37 standard-JSON output (`BenchToken.sol`, evmVersion prague,
/// optimizer 200 runs); the test `bench_token_artifact_matches_its_source`
/// (`tests/bench_smoke.rs`) recompiles the source and compares.
pub const ARTIFACT: &str = include_str!("BenchToken.json");
/// The contract's name in [`ARTIFACT`].
const CONTRACT: &str = "BenchToken";
/// Addresses the transfers go to.
pub const RECIPIENTS: usize = 1_000;
/// Tokens minted to each signer: more than any run can spend at one token per call.
const MINT: u64 = 1_000_000_000_000;
/// Gas limits of the setup transactions (generous: they run once).
const DEPLOY_GAS: u64 = 3_000_000;
const MINT_GAS: u64 = 200_000;
const PROBE_GAS: u64 = 200_000;
/// The most a transfer's calldata may cost more than the probe's: 12 gas for each of the
/// recipient address's 20 bytes (zero bytes cost 4 gas, others 16).
const ADDRESS_CALLDATA_SLACK: u64 = 20 * 12;
/// How long a setup transaction may take to be final.
const SETUP_TIMEOUT: Duration = Duration::from_secs(120);
/// Concurrent requests when reading outcomes and balances back.
const READERS: usize = 16;
/// Most outcomes read back; beyond, an even sample (and the failures extrapolated).
const MAX_OUTCOMES_CHECKED: usize = 500_000;

/// The ERC-20 functions the benchmark calls, by signature.
const TRANSFER: &str = "transfer(address,uint256)";
const MINT_FN: &str = "mint(address,uint256)";
const BALANCE_OF: &str = "balanceOf(address)";
const TOTAL_SUPPLY: &str = "totalSupply()";

/// The embedded token: its ABI and creation bytecode.
pub fn token() -> anyhow::Result<Artifact> {
    let artifact = load_artifact(ARTIFACT.as_bytes(), Some(CONTRACT), CONTRACT)
        .map_err(|e| anyhow::anyhow!("the embedded BenchToken artifact: {e}"))?;
    for signature in [TRANSFER, MINT_FN, BALANCE_OF, TOTAL_SUPPLY] {
        let found = artifact.abi.functions().any(|f| f.signature() == signature);
        anyhow::ensure!(found, "the embedded BenchToken has no {signature}");
    }
    Ok(artifact)
}

/// The 4-byte selector of a function signature.
fn selector(signature: &str) -> [u8; 4] {
    let h = keccak256(signature.as_bytes());
    [h[0], h[1], h[2], h[3]]
}

/// ABI calldata: the selector, then 32-byte words.
fn calldata(signature: &str, words: &[[u8; 32]]) -> Vec<u8> {
    let mut input = Vec::with_capacity(4 + 32 * words.len());
    input.extend_from_slice(&selector(signature));
    for w in words {
        input.extend_from_slice(w);
    }
    input
}

fn address_word(a: &[u8; 20]) -> [u8; 32] {
    let mut w = [0u8; 32];
    w[12..].copy_from_slice(a);
    w
}

fn u64_word(v: u64) -> [u8; 32] {
    let mut w = [0u8; 32];
    w[24..].copy_from_slice(&v.to_be_bytes());
    w
}

/// A returned `uint256` that fits in 64 bits.
fn word_u64(data: &[u8]) -> anyhow::Result<u64> {
    anyhow::ensure!(
        data.len() == 32 && data[..24].iter().all(|&b| b == 0),
        "expected a uint256 below 2^64, got 0x{}",
        hex::encode(data)
    );
    Ok(u64::from_be_bytes(data[24..].try_into().expect("8 bytes")))
}

/// A signer's contract address (`msg.sender`).
fn signer_address(suite: Suite, pk: &PublicKey) -> [u8; 20] {
    kexin_evm::address_of(suite, pk).0.0
}

/// SplitMix64: a cheap, well-mixed 64-bit permutation (recipient choice).
fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// The calls of the erc20 phase: `transfer(to, 1)` on `token` with `gas_limit`.
pub struct Transfers {
    token: ContractAddress,
    gas_limit: u64,
    recipients: Vec<[u8; 20]>,
}

impl Transfers {
    /// The transfer of `key`'s transaction `nonce`, to a recipient picked from `seed`, the
    /// signer and the nonce.
    pub(super) fn transfer_tx(
        &self,
        version: u8,
        chain_id: &str,
        key: &SigningKey,
        pk: &PublicKey,
        nonce: u64,
        seed: Hash,
    ) -> Prepared {
        let s = u64::from_le_bytes(seed.as_bytes()[..8].try_into().expect("8 bytes"));
        let k = pk.as_bytes();
        let p = u64::from_le_bytes(k[k.len() - 8..].try_into().expect("8 bytes"));
        let pick = mix(s ^ mix(p ^ mix(nonce)));
        let to = &self.recipients[(pick % self.recipients.len() as u64) as usize];
        let payload = Payload::ContractCall {
            contract: self.token,
            gas_limit: self.gas_limit,
            input: calldata(TRANSFER, &[address_word(to), u64_word(1)]),
        };
        let t = Transaction::sign_versioned(version, chain_id, key, None, nonce, payload);
        Prepared {
            bytes: t.encode(),
            records: 1,
        }
    }
}

/// What the (untimed) setup did.
#[derive(Debug, Serialize)]
struct SetupReport {
    /// The token's address.
    token: ContractAddress,
    deploy_gas_used: u64,
    /// Mints, one per signer, and the most gas one used.
    mints: u64,
    mint_gas_used_max: u64,
    /// Gas of a `transfer(to, 1)` to an address that held no token (a fresh storage slot):
    /// the most a call of the phase uses.
    probe_gas_used: u64,
    /// The gas limit of every call: just above the probe's gas.
    gas_limit_per_call: u64,
    /// `contract.block_gas_limit`: the gas limits of a block's contract transactions add up
    /// to at most this.
    block_gas_limit: u64,
    /// So a block holds at most this many calls.
    max_calls_per_block: u64,
    recipients: usize,
    setup_s: f64,
}

/// Costs measured in this process, apart from any node: what one call costs the EVM and one
/// transaction's signature check, for the analysis of where a node's time goes.
#[derive(Debug, Serialize)]
struct LocalCosts {
    /// Microseconds of `kexin_evm::execute` (revm, Prague) for one `transfer(to, 1)` to a
    /// fresh address on an in-memory state (no state tree, no journal, no storage).
    evm_us_per_transfer: f64,
    /// The gas such a transfer uses there (equal to the probe's on the chain).
    evm_gas_per_transfer: u64,
    /// Microseconds to decode and check the signature of one transaction (what a node does
    /// for every transaction it admits or receives in a block), a 1-record evidence
    /// transaction and a transfer call.
    verify_us_per_evidence_tx: f64,
    verify_us_per_call_tx: f64,
    /// Microseconds to sign one transfer call (the load generator's cost per call).
    sign_us_per_call_tx: f64,
}

/// What reading the committed calls back found.
#[derive(Debug, Default, Serialize)]
struct CallCheck {
    /// Calls committed during the phase (its `txs`).
    committed_calls: u64,
    /// Outcomes read back (all of them unless more than 500,000).
    outcomes_checked: u64,
    /// Outcomes that could not be read (counted as failed).
    outcomes_unreadable: u64,
    /// Calls whose outcome is `failed` (extrapolated to all committed calls when only a
    /// sample was read): not counted in `contract_calls_per_s`.
    failed_calls: u64,
    /// Failed outcomes by code.
    failure_codes: BTreeMap<String, u64>,
    gas_used_min: u64,
    gas_used_mean: f64,
    gas_used_max: u64,
    /// Blocks committed from the phase's start until its last call, and their calls.
    blocks: u64,
    blocks_per_s: f64,
    calls_per_block_mean: f64,
    calls_per_block_max: u64,
    /// Blocks with no room for one more call under `contract.block_gas_limit`.
    blocks_at_gas_cap: u64,
    balances: BalanceCheck,
}

/// The token's books after the phase.
#[derive(Debug, Default, Serialize)]
struct BalanceCheck {
    total_supply: u64,
    /// Minted: signers × 10^12.
    minted: u64,
    signers_sum: u64,
    recipients_sum: u64,
    /// Calls that succeeded (committed minus failed): each moved one token to a recipient.
    successful_calls: u64,
    /// Calls submitted but not seen committed within the drain timeout: they may still
    /// commit and move tokens.
    uncommitted_calls: u64,
    /// Supply = minted, supply = signers + recipients + the probe's token, and the
    /// recipients hold between `successful_calls` and that plus `uncommitted_calls`.
    consistent: bool,
}

/// `kexin bench --workload erc20` on one node (or an open chain at --node): the erc20 phase.
#[derive(Debug, Serialize)]
struct Erc20Report {
    workload: &'static str,
    suite: Suite,
    node: String,
    duration_s: f64,
    /// Successful calls finalized per second (failed ones excluded).
    contract_calls_per_s: f64,
    contract_p50_ms: f64,
    contract_p99_ms: f64,
    committed_calls: u64,
    failed_calls: u64,
    /// CPU cores the node used during the phase (when this command started it).
    #[serde(skip_serializing_if = "Option::is_none")]
    cpu_cores_node: Option<f64>,
    setup: SetupReport,
    check: CallCheck,
    local_costs: LocalCosts,
    erc20_phase: BenchReport,
}

/// `kexin bench --workload erc20 --nodes N`: peak signed transactions and token transfers
/// on the same network, one after the other.
#[derive(Debug, Serialize)]
struct Erc20NetworkReport {
    workload: &'static str,
    nodes: u32,
    suite: Suite,
    duration_s: f64,
    /// Successful calls finalized per second (failed ones excluded).
    contract_calls_per_s: f64,
    contract_p50_ms: f64,
    contract_p99_ms: f64,
    /// Peak signed transactions (1 evidence record each) finalized per second, same run.
    signed_tx_per_s: f64,
    signed_p50_ms: f64,
    signed_p99_ms: f64,
    /// contract_calls_per_s / signed_tx_per_s.
    contract_to_signed_ratio: f64,
    committed_calls: u64,
    failed_calls: u64,
    /// Blocks per second and transactions per block of the signed-transaction phase.
    signed_blocks_per_s: f64,
    signed_txs_per_block_mean: f64,
    /// CPU cores used by each node process during each phase.
    cpu_cores_per_node: Vec<f64>,
    contract_cpu_cores_per_node: Vec<f64>,
    setup: SetupReport,
    check: CallCheck,
    local_costs: LocalCosts,
    signed_tx_phase: BenchReport,
    erc20_phase: BenchReport,
}

/// Runs `f` on every item, `workers` at a time; the results in item order.
async fn map_concurrent<T, R, F, Fut>(items: Vec<T>, workers: usize, f: F) -> anyhow::Result<Vec<R>>
where
    T: Send + 'static,
    R: Send + 'static,
    F: Fn(usize, T) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = anyhow::Result<R>> + Send,
{
    let n = items.len();
    let queue = Arc::new(Mutex::new(items.into_iter().enumerate()));
    let f = Arc::new(f);
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..workers.clamp(1, n.max(1)) {
        let queue = queue.clone();
        let f = f.clone();
        set.spawn(async move {
            let mut out = Vec::new();
            loop {
                let next = queue.lock().expect("work queue").next();
                let Some((i, item)) = next else { break };
                out.push((i, f(i, item).await?));
            }
            anyhow::Ok(out)
        });
    }
    let mut all = Vec::with_capacity(n);
    while let Some(r) = set.join_next().await {
        all.extend(r??);
    }
    all.sort_unstable_by_key(|(i, _)| *i);
    Ok(all.into_iter().map(|(_, r)| r).collect())
}

/// Retries `op` on transient errors and (for reads that may lag a commit) 404s.
async fn retry<T, Fut>(mut op: impl FnMut() -> Fut) -> Result<T, ClientError>
where
    Fut: Future<Output = Result<T, ClientError>>,
{
    let mut delay = Duration::from_millis(20);
    let mut attempt = 0;
    loop {
        match op().await {
            Err(e) if (e.is_transient() || e.is_not_found()) && attempt < 8 => {
                attempt += 1;
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(1));
            }
            r => return r,
        }
    }
}

/// Submits `txs` (in order, in batches), retrying while the mempool is full; their hashes.
async fn submit_all(client: &Client, txs: &[Transaction]) -> anyhow::Result<Vec<Hash>> {
    let encoded: Vec<Vec<u8>> = txs.iter().map(|t| t.encode()).collect();
    let mut hashes = Vec::with_capacity(txs.len());
    let mut at = 0;
    let mut backoff = Duration::from_millis(10);
    while at < encoded.len() {
        let end = (at + 256).min(encoded.len());
        let batch: Vec<&[u8]> = encoded[at..end].iter().map(Vec::as_slice).collect();
        let answer = match client.submit_batch_encoded(&batch).await {
            Ok(a) => a,
            Err(e) if e.is_transient() => {
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(1));
                continue;
            }
            Err(e) => return Err(e).context("submitting the erc20 setup transactions"),
        };
        let mut admitted = 0;
        for r in answer.results {
            match (r.hash, r.error) {
                (Some(h), None) => {
                    hashes.push(h);
                    admitted += 1;
                }
                (_, Some(e)) if e.code == "mempool_full" => break,
                (_, e) => {
                    return Err(fail(
                        "setup_failed",
                        format!(
                            "the node refused an erc20 setup transaction: {}",
                            e.map_or("no hash in the answer".into(), |e| format!(
                                "{}: {}",
                                e.code, e.message
                            ))
                        ),
                    ));
                }
            }
        }
        at += admitted;
        if at < end {
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(Duration::from_secs(1));
        }
    }
    Ok(hashes)
}

/// Waits until `hashes` (of one signer, in nonce order) are final and returns their outcomes,
/// refusing any that failed.
async fn committed_outcomes(
    client: &Client,
    hashes: &[Hash],
    what: &str,
) -> anyhow::Result<Vec<Outcome>> {
    let Some(last) = hashes.last() else {
        return Ok(Vec::new());
    };
    client
        .wait_committed(last, SETUP_TIMEOUT)
        .await
        .with_context(|| format!("waiting for the erc20 setup ({what}) to be final"))?;
    let c = client.clone();
    let outcomes = map_concurrent(hashes.to_vec(), READERS, move |_, h| {
        let c = c.clone();
        async move {
            let tx = retry(|| c.transaction(&h)).await?;
            tx.outcome
                .map(|o| o.outcome)
                .ok_or_else(|| anyhow::anyhow!("transaction {h} has no outcome"))
        }
    })
    .await?;
    for (h, o) in hashes.iter().zip(&outcomes) {
        if !o.is_success() {
            return Err(fail(
                "setup_failed",
                format!(
                    "erc20 setup ({what}): transaction {h} failed: {}: {} (gas {})",
                    o.code.as_deref().unwrap_or("?"),
                    o.message.as_deref().unwrap_or(""),
                    o.gas_used
                ),
            ));
        }
    }
    Ok(outcomes)
}

/// The erc20 phase's preparation: token, balances, gas limit, recipients.
struct Setup {
    transfers: Arc<Transfers>,
    report: SetupReport,
    /// The probe's recipient (it holds one token).
    probe_to: [u8; 20],
}

/// Deploys the token, mints to every signer, and measures a transfer's gas with a probe.
async fn setup(client: &Client, info: &ChainInfo, signers: &[SigningKey]) -> anyhow::Result<Setup> {
    let t0 = Instant::now();
    let suite = info.suite;
    let version = info.protocol_version;
    if version < kexin_types::protocol::V5 {
        return Err(fail(
            "contracts_unsupported",
            format!(
                "chain {} runs protocol version {version}: contracts need version 5",
                info.chain_id
            ),
        ));
    }
    let artifact = token()?;
    let block_gas_limit = match client.consortium().await {
        Ok(c) => c
            .params
            .iter()
            .find(|p| p.name == "contract.block_gas_limit")
            .map(|p| p.value),
        Err(_) => None,
    }
    .unwrap_or_else(|| {
        kexin_types::gov::param_spec("contract.block_gas_limit").map_or(30_000_000, |p| p.default)
    });

    // The deployer: a fresh key (open chains take bare keys).
    let deployer = SigningKey::generate(suite);
    let mut nonce = client.next_nonce(&deployer.public_key()).await?;
    let deploy = Transaction::sign_versioned(
        version,
        &info.chain_id,
        &deployer,
        None,
        nonce,
        Payload::ContractDeploy {
            gas_limit: DEPLOY_GAS,
            code: artifact.bytecode.clone(),
            abi: None,
        },
    );
    nonce += 1;
    let h = submit_all(client, &[deploy]).await?;
    let deployed = committed_outcomes(client, &h, "deploy").await?;
    let token = <[u8; 20]>::try_from(deployed[0].return_data.as_slice())
        .map(ContractAddress)
        .map_err(|_| fail("setup_failed", "the deployment returned no 20-byte address"))?;
    eprintln!(
        "bench: deployed BenchToken at {token} (gas {})",
        deployed[0].gas_used
    );

    // A balance for every signer, minted by the deployer in nonce order.
    let mints: Vec<Transaction> = signers
        .iter()
        .enumerate()
        .map(|(i, k)| {
            let to = signer_address(suite, &k.public_key());
            Transaction::sign_versioned(
                version,
                &info.chain_id,
                &deployer,
                None,
                nonce + i as u64,
                Payload::ContractCall {
                    contract: token,
                    gas_limit: MINT_GAS,
                    input: calldata(MINT_FN, &[address_word(&to), u64_word(MINT)]),
                },
            )
        })
        .collect();
    let h = submit_all(client, &mints).await?;
    let minted = committed_outcomes(client, &h, "mint").await?;

    // A probe: a transfer to an address that holds nothing yet, the most a call costs.
    let seed = suite.hash(SigningKey::generate(suite).public_key().as_bytes());
    let probe_to = recipient(suite, &seed, u64::MAX);
    let probe_key = &signers[0];
    let probe = Transaction::sign_versioned(
        version,
        &info.chain_id,
        probe_key,
        None,
        client.next_nonce(&probe_key.public_key()).await?,
        Payload::ContractCall {
            contract: token,
            gas_limit: PROBE_GAS,
            input: calldata(TRANSFER, &[address_word(&probe_to), u64_word(1)]),
        },
    );
    let h = submit_all(client, &[probe]).await?;
    let probe_gas = committed_outcomes(client, &h, "probe transfer").await?[0].gas_used;
    // Just above the probe's gas: calldata costs 4 gas per zero byte and 16 per other byte,
    // so another recipient may cost up to 12 gas more per address byte; then up to the next
    // multiple of 1,000 (cost units count whole thousands of gas).
    let gas_limit = ((probe_gas + ADDRESS_CALLDATA_SLACK) / 1_000 + 1) * 1_000;
    let recipients: Vec<[u8; 20]> = (0..RECIPIENTS as u64)
        .map(|i| recipient(suite, &seed, i))
        .collect();
    let report = SetupReport {
        token,
        deploy_gas_used: deployed[0].gas_used,
        mints: minted.len() as u64,
        mint_gas_used_max: minted.iter().map(|o| o.gas_used).max().unwrap_or(0),
        probe_gas_used: probe_gas,
        gas_limit_per_call: gas_limit,
        block_gas_limit,
        max_calls_per_block: block_gas_limit / gas_limit,
        recipients: recipients.len(),
        setup_s: t0.elapsed().as_secs_f64(),
    };
    eprintln!(
        "bench: minted to {} signer(s); a transfer to a fresh address uses {probe_gas} gas: \
         gas limit {gas_limit} per call, at most {} calls per block ({block_gas_limit} gas)",
        report.mints, report.max_calls_per_block
    );
    Ok(Setup {
        transfers: Arc::new(Transfers {
            token,
            gas_limit,
            recipients,
        }),
        report,
        probe_to,
    })
}

/// Recipient `i` of a run: an address no key is known for, fresh for every seed.
fn recipient(suite: Suite, seed: &Hash, i: u64) -> [u8; 20] {
    let h = suite.hash_parts(&[b"kexin-bench-recipient", seed.as_bytes(), &i.to_be_bytes()]);
    h.as_bytes()[12..].try_into().expect("20 bytes")
}

/// `balanceOf(who)` or `totalSupply()` through the query endpoint.
async fn read_u64(client: &Client, token: &ContractAddress, input: Vec<u8>) -> anyhow::Result<u64> {
    let request = ContractQueryRequest {
        input,
        from: None,
        function: None,
        args: Vec::new(),
        gas_limit: None,
    };
    let r = retry(|| client.contract_query(token, &request)).await?;
    anyhow::ensure!(
        r.status == kexin_types::Status::Success,
        "query failed: {}",
        r.message.unwrap_or_default()
    );
    word_u64(&r.return_data)
}

/// Reads back every committed call's outcome (or an even sample of them) and the token's
/// balances.
async fn check(
    clients: &[Client],
    setup: &Setup,
    signers: &[SigningKey],
    suite: Suite,
    phase: &PhaseResult,
) -> anyhow::Result<CallCheck> {
    let t0 = Instant::now();
    let committed = phase.committed.len();
    let step = committed.div_ceil(MAX_OUTCOMES_CHECKED).max(1);
    let sample: Vec<Hash> = phase.committed.iter().step_by(step).copied().collect();
    let clients_all: Arc<Vec<Client>> = Arc::new(clients.to_vec());
    let outcomes: Vec<Option<Outcome>> = map_concurrent(sample, READERS, move |i, h| {
        let c = clients_all[i % clients_all.len()].clone();
        async move {
            Ok(retry(|| c.transaction(&h))
                .await
                .ok()
                .and_then(|t| t.outcome.map(|o| o.outcome)))
        }
    })
    .await?;
    let mut check = CallCheck {
        committed_calls: phase.report.txs,
        outcomes_checked: outcomes.len() as u64,
        gas_used_min: u64::MAX,
        ..CallCheck::default()
    };
    let mut failed = 0u64;
    let mut gas_sum = 0u128;
    let mut gas_n = 0u64;
    for o in &outcomes {
        match o {
            None => {
                check.outcomes_unreadable += 1;
                failed += 1;
                *check
                    .failure_codes
                    .entry("unreadable_outcome".into())
                    .or_default() += 1;
            }
            Some(o) => {
                if !o.is_success() {
                    failed += 1;
                    *check
                        .failure_codes
                        .entry(o.code.clone().unwrap_or_else(|| "failed".into()))
                        .or_default() += 1;
                }
                check.gas_used_min = check.gas_used_min.min(o.gas_used);
                check.gas_used_max = check.gas_used_max.max(o.gas_used);
                gas_sum += u128::from(o.gas_used);
                gas_n += 1;
            }
        }
    }
    if gas_n == 0 {
        check.gas_used_min = 0;
    } else {
        check.gas_used_mean = gas_sum as f64 / gas_n as f64;
    }
    check.failed_calls = if outcomes.is_empty() {
        0
    } else {
        // Extrapolated when only a sample was read (rounded up: never flatter the result).
        (u128::from(failed) * u128::from(check.committed_calls)).div_ceil(outcomes.len() as u128)
            as u64
    };

    // Blocks of the phase: from its start to the block of its last call.
    let calls_blocks: Vec<u32> = {
        let last_busy = phase
            .block_txs
            .iter()
            .rposition(|&n| n > 0)
            .map_or(0, |i| i + 1);
        phase.block_txs[..last_busy].to_vec()
    };
    check.blocks = calls_blocks.len() as u64;
    check.blocks_per_s = check.blocks as f64 / phase.report.duration_s.max(1e-9);
    if !calls_blocks.is_empty() {
        let total: u64 = calls_blocks.iter().map(|&n| u64::from(n)).sum();
        check.calls_per_block_mean = total as f64 / calls_blocks.len() as f64;
        check.calls_per_block_max = calls_blocks.iter().copied().max().map_or(0, u64::from);
    }
    let per_call = setup.transfers.gas_limit;
    let room = setup.report.block_gas_limit;
    check.blocks_at_gas_cap = calls_blocks
        .iter()
        .filter(|&&n| (u64::from(n) + 1) * per_call > room)
        .count() as u64;

    // The books: every successful call moved one token from a signer to a recipient.
    let client = clients[0].clone();
    let token = setup.transfers.token;
    let total_supply = read_u64(&client, &token, calldata(TOTAL_SUPPLY, &[])).await?;
    let holders: Vec<[u8; 20]> = signers
        .iter()
        .map(|k| signer_address(suite, &k.public_key()))
        .chain(setup.transfers.recipients.iter().copied())
        .chain([setup.probe_to])
        .collect();
    let c = client.clone();
    let balances = map_concurrent(holders, READERS, move |_, a| {
        let c = c.clone();
        async move { read_u64(&c, &token, calldata(BALANCE_OF, &[address_word(&a)])).await }
    })
    .await?;
    let n = signers.len();
    let r = setup.transfers.recipients.len();
    let b = &mut check.balances;
    b.total_supply = total_supply;
    b.minted = MINT * n as u64;
    b.signers_sum = balances[..n].iter().sum();
    b.recipients_sum = balances[n..n + r].iter().sum();
    let probe = balances[n + r];
    b.successful_calls = check.committed_calls.saturating_sub(check.failed_calls);
    b.uncommitted_calls = phase.report.uncommitted_txs;
    b.consistent = b.total_supply == b.minted
        && b.signers_sum + b.recipients_sum + probe == b.total_supply
        && probe == 1
        && b.recipients_sum >= b.successful_calls
        && b.recipients_sum <= b.successful_calls + b.uncommitted_calls;
    eprintln!(
        "bench: read back {} outcome(s) and {} balance(s) in {:.1}s",
        check.outcomes_checked,
        n + r + 1,
        t0.elapsed().as_secs_f64()
    );
    Ok(check)
}

/// Times, in this process, one transfer's EVM execution and one transaction's signature
/// check.
fn local_costs(suite: Suite, chain_id: &str, version: u8) -> anyhow::Result<LocalCosts> {
    use kexin_evm::{BlockInfo, Call, EvmConfig, MemoryContracts, execute};

    let artifact = token()?;
    let config = EvmConfig {
        chain_id: kexin_evm::evm_chain_id(suite, chain_id),
        max_code_size: 24 * 1024,
        max_initcode_size: kexin_types::contract::MAX_INITCODE_BYTES,
    };
    let block = BlockInfo {
        height: 1,
        timestamp_ms: 1_700_000_000_000,
        gas_limit: 30_000_000,
    };
    let mut state = MemoryContracts::new();
    let deployer = Address::repeat_byte(0xd0);
    let sender_key = SigningKey::generate(suite);
    let sender_pk = sender_key.public_key();
    let sender = Address::from(signer_address(suite, &sender_pk));
    let run = |state: &mut MemoryContracts, caller: Address, call: &Call| -> anyhow::Result<_> {
        let out = execute(&*state, &config, &block, caller, call, 1_000_000)
            .map_err(|e| anyhow::anyhow!("local EVM: {e}"))?;
        anyhow::ensure!(out.is_success(), "local EVM: {}", out.status_message());
        state.apply(&out.changes);
        Ok(out)
    };
    let created = run(
        &mut state,
        deployer,
        &Call::Create {
            init_code: artifact.bytecode.clone().into(),
        },
    )?
    .created
    .context("local EVM: no contract created")?;
    let mint = calldata(MINT_FN, &[address_word(&sender.0.0), u64_word(MINT)]);
    run(
        &mut state,
        deployer,
        &Call::Call {
            to: created,
            data: mint.into(),
        },
    )?;
    let seed = Hash([7; 32]);
    let calls: Vec<Call> = (0..2_000u64)
        .map(|i| Call::Call {
            to: created,
            data: calldata(
                TRANSFER,
                &[address_word(&recipient(suite, &seed, i)), u64_word(1)],
            )
            .into(),
        })
        .collect();
    let t = Instant::now();
    let mut gas = 0;
    for call in &calls {
        gas = run(&mut state, sender, call)?.gas_used;
    }
    let evm_us = t.elapsed().as_secs_f64() * 1e6 / calls.len() as f64;

    // Signing and checking, as the generator and the nodes do.
    let n = 300;
    let t = Instant::now();
    let signed: Vec<Vec<u8>> = (0..n)
        .map(|i| {
            Transaction::sign_versioned(
                version,
                chain_id,
                &sender_key,
                None,
                i + 1,
                Payload::ContractCall {
                    contract: ContractAddress(created.0.0),
                    gas_limit: 60_000,
                    input: calldata(TRANSFER, &[address_word(&[1; 20]), u64_word(1)]),
                },
            )
            .encode()
        })
        .collect();
    let sign_us = t.elapsed().as_secs_f64() * 1e6 / n as f64;
    let evidence: Vec<Vec<u8>> = (0..n)
        .map(|i| {
            super::evidence_tx(version, chain_id, &sender_key, &sender_pk, i + 1, 1, seed).bytes
        })
        .collect();
    let verify = |txs: &[Vec<u8>]| -> anyhow::Result<f64> {
        let t = Instant::now();
        for bytes in txs {
            let tx = kexin_types::decode_transaction(bytes)
                .map_err(|e| anyhow::anyhow!("decoding a transaction: {e}"))?;
            kexin_types::SealedTx::new(tx)
                .verify(chain_id, suite)
                .map_err(|e| anyhow::anyhow!("checking a transaction: {e}"))?;
        }
        Ok(t.elapsed().as_secs_f64() * 1e6 / txs.len() as f64)
    };
    Ok(LocalCosts {
        evm_us_per_transfer: evm_us,
        evm_gas_per_transfer: gas,
        verify_us_per_evidence_tx: verify(&evidence)?,
        verify_us_per_call_tx: verify(&signed)?,
        sign_us_per_call_tx: sign_us,
    })
}

/// The timed transfers of `keys` (funded by [`setup`]); the CPU cores each of `pids` used
/// meanwhile.
async fn transfer_phase(
    clients: &[Client],
    info: &ChainInfo,
    setup: &Setup,
    keys: &[SigningKey],
    in_flight: usize,
    args: &BenchArgs,
    pids: &[u32],
) -> anyhow::Result<(PhaseResult, Vec<f64>)> {
    let cpu_before = cpu_snapshot(pids);
    let t0 = Instant::now();
    let result = run_load(
        clients,
        info,
        &Phase {
            duration: Duration::from_secs_f64(args.duration),
            records_per_tx: 1,
            signers: keys.len(),
            in_flight,
            rate_tx_per_s: None,
            drain: Duration::from_secs(args.drain_timeout),
        },
        &Load::Erc20(setup.transfers.clone()),
        keys,
    )
    .await?;
    Ok((result, cpu_cores_since(pids, cpu_before, t0)))
}

/// Successful calls per second: committed minus failed, over the phase's time.
fn successful_per_s(result: &PhaseResult, check: &CallCheck) -> f64 {
    check.committed_calls.saturating_sub(check.failed_calls) as f64
        / result.report.duration_s.max(1e-9)
}

fn print_check(setup: &Setup, check: &CallCheck, calls_per_s: f64) {
    println!(
        "erc20       token {}: {} committed call(s), {} failed{}; {:.1} successful calls/s",
        setup.report.token,
        check.committed_calls,
        check.failed_calls,
        if check.failure_codes.is_empty() {
            String::new()
        } else {
            format!(" ({:?})", check.failure_codes)
        },
        calls_per_s
    );
    println!(
        "gas         {} per transfer to a fresh address, limit {} per call: at most {} calls per block; \
         {} block(s), {:.1} calls/block (max {}), {} at the gas cap",
        setup.report.probe_gas_used,
        setup.report.gas_limit_per_call,
        setup.report.max_calls_per_block,
        check.blocks,
        check.calls_per_block_mean,
        check.calls_per_block_max,
        check.blocks_at_gas_cap
    );
    let b = &check.balances;
    println!(
        "balances    supply {} (minted {}), signers {}, recipients {} for {} successful call(s): {}",
        b.total_supply,
        b.minted,
        b.signers_sum,
        b.recipients_sum,
        b.successful_calls,
        if b.consistent {
            "consistent"
        } else {
            "INCONSISTENT"
        }
    );
}

fn print_local(l: &LocalCosts) {
    println!(
        "local       EVM {:.1} us per transfer ({} gas); signature check {:.1} us per evidence tx, {:.1} us per call; signing {:.1} us per call",
        l.evm_us_per_transfer,
        l.evm_gas_per_transfer,
        l.verify_us_per_evidence_tx,
        l.verify_us_per_call_tx,
        l.sign_us_per_call_tx
    );
}

/// The end of a run: refuse one whose books do not add up or that committed nothing.
fn verdict(check: &CallCheck) -> anyhow::Result<()> {
    if !check.balances.consistent {
        return Err(fail(
            "erc20_inconsistent",
            format!(
                "the token's balances do not add up after the benchmark: {:?}",
                check.balances
            ),
        ));
    }
    if check.committed_calls == 0 {
        return Err(fail(
            "no_commits",
            "no contract call was committed during the benchmark",
        ));
    }
    Ok(())
}

/// `kexin bench --workload erc20` against one node: the erc20 phase alone.
pub(super) async fn bench(url: &str, args: &BenchArgs, pid: Option<u32>) -> anyhow::Result<()> {
    let client = Client::new(url)?;
    let info = super::open_chain(&client, args).await?;
    let local = local_costs(info.suite, &info.chain_id, info.protocol_version)?;
    let signers = args.signers as usize;
    let in_flight = args.in_flight.unwrap_or(4 * signers).max(1);
    let pids: Vec<u32> = pid.into_iter().collect();
    let keys: Vec<SigningKey> = (0..signers)
        .map(|_| SigningKey::generate(info.suite))
        .collect();
    let clients = [client];
    let setup = setup(&clients[0], &info, &keys).await?;
    let (result, cpu) =
        transfer_phase(&clients, &info, &setup, &keys, in_flight, args, &pids).await?;
    let cpu = cpu.first().copied();
    print_phase(&result);
    let check = check(&clients, &setup, &keys, info.suite, &result).await?;
    let calls_per_s = successful_per_s(&result, &check);
    print_check(&setup, &check, calls_per_s);
    print_local(&local);
    let report = Erc20Report {
        workload: "erc20",
        suite: info.suite,
        node: url.to_owned(),
        duration_s: args.duration,
        contract_calls_per_s: calls_per_s,
        contract_p50_ms: result.report.p50_ms,
        contract_p99_ms: result.report.p99_ms,
        committed_calls: check.committed_calls,
        failed_calls: check.failed_calls,
        cpu_cores_node: cpu,
        setup: setup.report,
        check,
        local_costs: local,
        erc20_phase: result.report,
    };
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
    }
    verdict(&report.check)?;
    super::check_stalls(&[&report.erc20_phase])
}

/// `kexin bench --workload erc20 --nodes N`: a local network, its peak signed-transaction
/// rate (1 record per transaction), then token transfers with the same signers and
/// in-flight settings.
pub(super) async fn bench_network(args: &BenchArgs, nodes: u32) -> anyhow::Result<()> {
    let suite = args.suite.unwrap_or(kexin_node::DEFAULT_SUITE);
    let super::BenchNet {
        net, clients, _tmp, ..
    } = super::start_bench_net(args, nodes).await?;
    let outcome = async {
        let info = crate::attest::chain_info(&clients[0]).await?;
        let local = local_costs(suite, &info.chain_id, info.protocol_version)?;
        let peak = super::peak_signed_phase(args, nodes);
        let (signers, in_flight) = (peak.signers, peak.in_flight);

        // 1. Peak signed transactions: one record each, as fast as the nodes accept.
        let cpu_before = cpu_snapshot(&net.pids());
        let t0 = Instant::now();
        let signed = run_phase(&clients, &info, &peak).await?;
        let cpu_signed = cpu_cores_since(&net.pids(), cpu_before, t0);
        eprintln!("bench: peak signed transactions");
        print_phase(&signed);

        // 2. Token transfers, same signers and in-flight settings (setup untimed).
        let keys: Vec<SigningKey> = (0..signers).map(|_| SigningKey::generate(suite)).collect();
        let setup = setup(&clients[0], &info, &keys).await?;
        let (calls, cpu_calls) =
            transfer_phase(&clients, &info, &setup, &keys, in_flight, args, &net.pids()).await?;
        eprintln!("bench: erc20 transfers");
        print_phase(&calls);
        let check = check(&clients, &setup, &keys, suite, &calls).await?;
        anyhow::Ok((signed, cpu_signed, setup, calls, cpu_calls, check, local))
    }
    .await;
    net.stop().await;
    let (signed, cpu_signed, setup, calls, cpu_calls, check, local) = outcome?;

    let calls_per_s = successful_per_s(&calls, &check);
    print_check(&setup, &check, calls_per_s);
    print_local(&local);
    let signed_blocks: Vec<u32> = {
        let last = signed
            .block_txs
            .iter()
            .rposition(|&n| n > 0)
            .map_or(0, |i| i + 1);
        signed.block_txs[..last].to_vec()
    };
    let signed_tx_per_s = signed.report.signed_tx_per_s;
    let report = Erc20NetworkReport {
        workload: "erc20",
        nodes,
        suite,
        duration_s: args.duration,
        contract_calls_per_s: calls_per_s,
        contract_p50_ms: calls.report.p50_ms,
        contract_p99_ms: calls.report.p99_ms,
        signed_tx_per_s,
        signed_p50_ms: signed.report.p50_ms,
        signed_p99_ms: signed.report.p99_ms,
        contract_to_signed_ratio: if signed_tx_per_s > 0.0 {
            calls_per_s / signed_tx_per_s
        } else {
            0.0
        },
        committed_calls: check.committed_calls,
        failed_calls: check.failed_calls,
        signed_blocks_per_s: signed_blocks.len() as f64 / signed.report.duration_s.max(1e-9),
        signed_txs_per_block_mean: if signed_blocks.is_empty() {
            0.0
        } else {
            signed_blocks.iter().map(|&n| u64::from(n)).sum::<u64>() as f64
                / signed_blocks.len() as f64
        },
        cpu_cores_per_node: cpu_signed,
        contract_cpu_cores_per_node: cpu_calls,
        setup: setup.report,
        check,
        local_costs: local,
        signed_tx_phase: signed.report,
        erc20_phase: calls.report,
    };
    println!(
        "network     {} validator(s), {}: {:.0} contract calls/s (p50 {:.0} ms, p99 {:.0} ms) against {:.0} signed tx/s: ratio {:.2}",
        report.nodes,
        report.suite,
        report.contract_calls_per_s,
        report.contract_p50_ms,
        report.contract_p99_ms,
        report.signed_tx_per_s,
        report.contract_to_signed_ratio
    );
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
    }
    verdict(&report.check)?;
    super::check_stalls(&[&report.signed_tx_phase, &report.erc20_phase])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_token_has_the_functions_and_selectors() {
        let artifact = token().unwrap();
        assert!(!artifact.bytecode.is_empty());
        assert_eq!(hex::encode(selector(TRANSFER)), "a9059cbb");
        assert_eq!(hex::encode(selector(BALANCE_OF)), "70a08231");
        assert_eq!(hex::encode(selector(TOTAL_SUPPLY)), "18160ddd");
        assert_eq!(hex::encode(selector(MINT_FN)), "40c10f19");
    }

    #[test]
    fn transfers_are_signed_calls_to_recipients() {
        let suite = Suite::Intl;
        let key = SigningKey::generate(suite);
        let pk = key.public_key();
        let t = Transfers {
            token: ContractAddress([9; 20]),
            gas_limit: 52_000,
            recipients: (0..10u8).map(|i| [i; 20]).collect(),
        };
        let mut seen = std::collections::BTreeSet::new();
        for nonce in 1..=50 {
            let p = t.transfer_tx(5, "c", &key, &pk, nonce, Hash([3; 32]));
            let tx = kexin_types::decode_transaction(&p.bytes).unwrap();
            assert_eq!(tx.nonce, nonce);
            assert!(
                kexin_types::SealedTx::new(tx.clone())
                    .verify("c", suite)
                    .is_ok()
            );
            let Payload::ContractCall {
                contract,
                gas_limit,
                input,
            } = tx.payload
            else {
                panic!("not a call");
            };
            assert_eq!((contract, gas_limit), (ContractAddress([9; 20]), 52_000));
            assert_eq!(input.len(), 68);
            assert_eq!(input[..4], selector(TRANSFER));
            assert_eq!(word_u64(&input[36..]).unwrap(), 1);
            seen.insert(input[35]);
        }
        // Pseudo-random recipients: most of the ten are picked in fifty calls.
        assert!(seen.len() >= 8, "{seen:?}");
    }

    #[test]
    fn local_costs_run_a_transfer() {
        let l = local_costs(Suite::Gm, "c", kexin_types::protocol::V5).unwrap();
        // A transfer to a fresh address: 21,000 intrinsic, a new slot (22,100), ...
        assert!((40_000..70_000).contains(&l.evm_gas_per_transfer), "{l:?}");
        assert!(l.evm_us_per_transfer > 0.0 && l.verify_us_per_call_tx > 0.0);
    }
}
