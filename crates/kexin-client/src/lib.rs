//! Kexin's Rust SDK: build and sign transactions, submit them, fetch receipts and verify them offline.
//!
//! * [`Client`] talks to a node's REST API (`/v1/...`) with the typed JSON shapes of
//!   [`kexin_types::api`]; every failure is a [`ClientError`].
//! * [`hash_file`] fingerprints a file with the chain's hash (SM3 or SHA-256), streaming it.
//! * [`evidence_record`] and [`sign_evidence`] build and sign an evidence transaction.
//! * [`load_key`], [`save_key`] and [`save_encrypted_key`] read and write PKCS#8 PEM private
//!   keys, plain or encrypted; an [`Identity`]
//!   (`cert.pem` + `key.pem`) signs transactions under a certificate, as chains with
//!   organisations require.
//! * [`check_chain_info`] checks that what `/v1/chain` returned is self-consistent, and
//!   [`kexin_types::Receipt::verify`] (or [`kexin_types::BatchVerifier`]) checks a receipt
//!   offline against the genesis alone; for a version 4 receipt [`identify_signer`] then
//!   checks the signer's X.509 certificate against its organisation's CA and names the
//!   organisation, role and subject.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use std::time::Duration;
//! use kexin_client::{Client, evidence_record, hash_file, sign_evidence};
//! use kexin_crypto::SigningKey;
//!
//! let client = Client::new("http://127.0.0.1:8080")?;
//! let chain = client.chain().await?;
//! kexin_client::check_chain_info(&chain)?;
//! let key = SigningKey::generate(chain.suite);
//! let digest = hash_file(chain.suite, "contract.pdf")?;
//! let record = evidence_record(digest, "contract.pdf", "application/pdf")?;
//! let nonce = client.next_nonce(&key.public_key()).await?;
//! let tx = kexin_client::sign_evidence_versioned(chain.protocol_version, &chain.chain_id, &key, nonce, vec![record]);
//! let submitted = client.submit(&tx).await?;
//! client.wait_committed(&submitted.hash, Duration::from_secs(30)).await?;
//! for receipt in client.receipts(&submitted.hash).await?.receipts {
//!     let checked = receipt.verify_data(&chain.genesis, &digest)?;
//!     println!("final at height {}", checked.height);
//! }
//! # Ok(())
//! # }
//! ```

mod client;
mod files;
mod identity;
mod keys;
mod signer;
pub mod submit;

pub use client::{
    BlockId, Client, ClientError, ContractEventsPage, ContractLogEntry, check_chain_info,
};
pub use files::{
    HASH_BUFFER_BYTES, evidence_record, guess_content_type, hash_file, hash_file_with_progress,
    hash_reader, hash_reader_with_progress, random_salt, sign_evidence, sign_evidence_versioned,
};
pub use identity::{IDENTITY_CERT, IDENTITY_KEY, Identity, IdentityError};
pub use keys::{KeyFileError, load_key, save_encrypted_key, save_key};
pub use signer::{CaSource, SignerIdentity, identify_signer};
