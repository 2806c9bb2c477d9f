//! Signature schemes for the consensus engine and the p2p layer.
//!
//! commonware ships Ed25519 (used by `intl` chains as is) but not SM2, which `gm` chains must use
//! for every signature, including validator votes and node identities. [`sm2`] adds it: key
//! types that satisfy commonware's `Signer`/`PublicKey`/`Signature` traits (so an SM2 key can
//! authenticate p2p connections) and an attributable certificate [`sm2::Scheme`] for simplex.
//!
//! Only cryptography lives here: no I/O, no engine wiring.

pub mod sm2;
