//! Submitting one signed transaction the way a client must: with the signer's next nonce,
//! its certificate attached while the chain has not registered it, retried while the node is
//! busy or unreachable, signed again when the chain moved to a new protocol version or another
//! transaction of the key took the nonce; and waiting until it is final, with its outcome.

use std::time::{Duration, Instant};

use kexin_crypto::{Hash, PublicKey, SigningKey};
use kexin_types::api::ChainInfo;
use kexin_types::{Outcome, Payload, Transaction};

use crate::{Client, ClientError, Identity};

/// How many times a transaction is signed again when another transaction of its key took its
/// nonce.
pub const NONCE_RETRIES: usize = 3;

/// After a refusal `e`: whether it was `unsupported_version` because the chain moved to another
/// protocol version (it passed a voted upgrade height) since `version` was read. Then `version`
/// is updated from `GET /v1/chain` and the caller signs again. Any other error, or a chain
/// still at `version`, returns false.
pub async fn follow_upgrade(client: &Client, e: &ClientError, version: &mut u8) -> bool {
    if e.code() != "unsupported_version" {
        return false;
    }
    match client.chain().await {
        Ok(info) if info.protocol_version != *version => {
            tracing::warn!(
                from = *version,
                to = info.protocol_version,
                "the chain changed protocol version; signing again"
            );
            *version = info.protocol_version;
            true
        }
        _ => false,
    }
}

/// Submits `tx`, retrying while the node is busy (429), not ready (503) or unreachable, until
/// `deadline`. A retry answered `duplicate`, or `nonce_replayed` for a transaction the node
/// has, means an earlier attempt got through.
pub async fn submit_with_retry(
    client: &Client,
    tx: &Transaction,
    deadline: Instant,
) -> Result<Hash, ClientError> {
    let hash = tx.hash();
    let mut delay = Duration::from_millis(20);
    let mut retried = false;
    loop {
        match client.submit(tx).await {
            Ok(r) => return Ok(r.hash),
            Err(e) if retried && e.code() == "duplicate" => return Ok(hash),
            Err(e) if retried && e.code() == "nonce_replayed" => {
                if client.transaction(&hash).await.is_ok() {
                    return Ok(hash);
                }
                return Err(e);
            }
            Err(e) if e.is_transient() && Instant::now() + delay < deadline => {
                tracing::debug!(error = %e, "submission not accepted yet; retrying");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(2));
                retried = true;
            }
            Err(e) => return Err(e),
        }
    }
}

/// Who signs a single transaction: an identity (its certificate attached until the chain
/// has registered it) or, on a chain without organisations, a bare key.
pub enum Author<'a> {
    /// An identity.
    Identity(&'a Identity),
    /// A bare key.
    Key(&'a SigningKey),
}

impl Author<'_> {
    /// The signing public key (whose nonces count).
    pub fn public_key(&self) -> PublicKey {
        match self {
            Author::Identity(i) => i.public_key(),
            Author::Key(k) => k.public_key(),
        }
    }
}

/// Signs `payload` as `signer` with its next nonce and submits it, following a protocol
/// upgrade and retrying a nonce taken meanwhile (see [`submit_by`]).
pub async fn submit_signed(
    client: &Client,
    info: &ChainInfo,
    signer: &Identity,
    payload: &Payload,
    timeout: Duration,
) -> Result<Hash, ClientError> {
    submit_by(client, info, &Author::Identity(signer), payload, timeout).await
}

/// Signs `payload` as `author` with its next nonce and submits it: an identity attaches its
/// certificate while the chain has not registered it; a transaction refused for a protocol
/// version the chain has left is signed again in the chain's version, and one whose nonce
/// another transaction of the key took is signed again with the next free nonce (a bounded
/// number of times).
pub async fn submit_by(
    client: &Client,
    info: &ChainInfo,
    author: &Author<'_>,
    payload: &Payload,
    timeout: Duration,
) -> Result<Hash, ClientError> {
    let deadline = Instant::now() + timeout;
    let key = author.public_key();
    let mut nonce = client.next_nonce(&key).await?;
    let mut version = info.protocol_version;
    let (mut attempt, mut upgrades) = (0, 0);
    loop {
        let tx = match author {
            Author::Identity(signer) => {
                let attach = client.cert(&signer.id()).await?.is_none();
                signer.sign_versioned(version, &info.chain_id, nonce, payload.clone(), attach)
            }
            Author::Key(k) => Transaction::sign_versioned(
                version,
                &info.chain_id,
                k,
                None,
                nonce,
                payload.clone(),
            ),
        };
        match submit_with_retry(client, &tx, deadline).await {
            Ok(h) => return Ok(h),
            Err(e) if upgrades < 2 && follow_upgrade(client, &e, &mut version).await => {
                upgrades += 1;
            }
            Err(e)
                if matches!(e.code(), "nonce_replayed" | "nonce_conflict")
                    && attempt < NONCE_RETRIES =>
            {
                attempt += 1;
                nonce = client.next_nonce(&key).await?.max(nonce + 1);
            }
            Err(e) => return Err(e),
        }
    }
}

/// A final transaction: where it is and what it did.
#[derive(Clone, Debug)]
pub struct Final {
    /// Its hash.
    pub tx_hash: Hash,
    /// Its block.
    pub height: u64,
    /// Its outcome (`success` or `failed`).
    pub outcome: Outcome,
}

/// Signs and submits `payload` as `author` ([`submit_by`]), waits until it is final, and
/// returns its outcome, successful or not.
pub async fn transact(
    client: &Client,
    info: &ChainInfo,
    author: &Author<'_>,
    payload: &Payload,
    timeout: Duration,
) -> Result<Final, ClientError> {
    let tx_hash = submit_by(client, info, author, payload, timeout).await?;
    let status = client.wait_committed(&tx_hash, timeout).await?;
    let height = status.height.unwrap_or_default();
    let tx = client.transaction(&tx_hash).await?;
    let outcome = tx
        .outcome
        .ok_or_else(|| ClientError::Decode(format!("transaction {tx_hash} has no outcome")))?
        .outcome;
    Ok(Final {
        tx_hash,
        height,
        outcome,
    })
}
