//! Kexin's precompiles: the national algorithms and the other schemes Kexin signs with, at
//! fixed addresses beside Ethereum's own (`keccak256`, `ecrecover`, SHA-256, ... stay).
//!
//! | address | what | input | output | gas |
//! |---|---|---|---|---|
//! | `0x…4b01` | SM3 hash | the bytes to hash | 32-byte digest | 60 + 12 per 32-byte word |
//! | `0x…4b02` | SM2 signature check, with a user id | `abi.encode(bytes publicKey, bytes userId, bytes message, bytes signature)` | `abi.encode(bool)` | 3,500 + 12 per word of message |
//! | `0x…4b03` | Ed25519 signature check (strict) | `abi.encode(bytes32 publicKey, bytes message, bytes signature)` | `abi.encode(bool)` | 2,000 + 12 per word of message |
//! | `0x…4b04` | ECDSA P-256 signature check (SHA-256, low `s`) | `abi.encode(bytes publicKey, bytes message, bytes signature)` | `abi.encode(bool)` | 3,450 + 12 per word of message |
//! | `0x…4b05` | identity of a signer address | `abi.encode(address)` | `abi.encode(Identity(bool known, bytes32 certId, string org, string name, string role, bool revoked, uint64 notBeforeMs, uint64 notAfterMs))` (one tuple) | 2,600 |
//! | `0x…4b06` | evidence digest lookup | `abi.encode(bytes32 digest)` | `abi.encode(Evidence(bool recorded, uint64 count, uint64 firstHeight, string firstOrg, uint64 lastHeight))` (one tuple) | 2,600 |
//!
//! The identity precompile answers for an address the certificate its key last acted under on
//! the chain (registered by a transaction of protocol version 5 or later; formats.md §5.11):
//! `known` is `false`, and every other field zero or empty, for an address the chain has no
//! certificate for (a contract, a key that never signed, an open chain). Revocation and
//! validity are as of the state the call runs on; `block.timestamp * 1000` compares with the
//! validity bounds. The evidence precompile answers whether the digest was recorded as
//! evidence, how often, the heights of the first and latest records and the organisation of
//! the first (empty when recorded before protocol version 5 or on an open chain).
//!
//! A signature check answers `true` or `false` for a well-formed input; an input that is not
//! well formed (not the ABI encoding above, a key of the wrong length or not on its curve, a
//! signature that is not 64 bytes, an SM2 user id over 8,191 bytes) reverts with
//! `Error(string)` saying what is wrong, after charging the base cost. SM2 keys are SEC1, 33
//! bytes compressed or 65 uncompressed; P-256 keys 65 bytes uncompressed; signatures `r || s`.

use alloy_sol_types::{Revert, SolError, SolValue};
use kexin_crypto::{PublicKey, Signature, Suite, sm2_verify_with_user_id};
use revm::context::Cfg;
use revm::context_interface::ContextTr;
use revm::handler::{EthPrecompiles, PrecompileProvider, precompile_output_to_interpreter_result};
use revm::interpreter::{CallInputs, InterpreterResult};
use revm::precompile::{PrecompileHalt, PrecompileOutput};
use revm::primitives::hardfork::SpecId;
use revm::primitives::{Address, AddressSet, B256, Bytes, address};

use crate::engine::{Lookups, Unreadable};

/// SM3 hash.
pub const SM3: Address = address!("0000000000000000000000000000000000004b01");
/// SM2 signature check with a user id.
pub const SM2_VERIFY: Address = address!("0000000000000000000000000000000000004b02");
/// Ed25519 signature check.
pub const ED25519_VERIFY: Address = address!("0000000000000000000000000000000000004b03");
/// ECDSA P-256 signature check.
pub const P256_VERIFY: Address = address!("0000000000000000000000000000000000004b04");

/// Identity lookup of a signer address.
pub const IDENTITY: Address = address!("0000000000000000000000000000000000004b05");
/// Evidence digest lookup.
pub const EVIDENCE: Address = address!("0000000000000000000000000000000000004b06");

/// Every Kexin precompile address.
pub const KEXIN_PRECOMPILES: [Address; 6] = [
    SM3,
    SM2_VERIFY,
    ED25519_VERIFY,
    P256_VERIFY,
    IDENTITY,
    EVIDENCE,
];

/// Gas of a state lookup (Ethereum's cold `SLOAD`, 2,100, plus the call's 500 of decoding).
const LOOKUP_GAS: u64 = 2_600;

/// Gas per started 32-byte word of hashed input.
const WORD_GAS: u64 = 12;

/// Ethereum's precompiles and Kexin's.
#[derive(Debug, Clone)]
pub(crate) struct KexinPrecompiles {
    eth: EthPrecompiles,
    warm: AddressSet,
}

impl KexinPrecompiles {
    pub(crate) fn new(spec: SpecId) -> Self {
        let eth = EthPrecompiles::new(spec);
        let mut warm = eth.warm_addresses().clone();
        warm.extend(KEXIN_PRECOMPILES);
        KexinPrecompiles { eth, warm }
    }
}

impl<CTX> PrecompileProvider<CTX> for KexinPrecompiles
where
    CTX: ContextTr<Cfg: Cfg<Spec = SpecId>, Db: Lookups>,
{
    type Output = InterpreterResult;

    fn set_spec(&mut self, spec: SpecId) -> bool {
        let changed = <EthPrecompiles as PrecompileProvider<CTX>>::set_spec(&mut self.eth, spec);
        self.warm = self.eth.warm_addresses().clone();
        self.warm.extend(KEXIN_PRECOMPILES);
        changed
    }

    fn run(
        &mut self,
        context: &mut CTX,
        inputs: &CallInputs,
    ) -> Result<Option<InterpreterResult>, String> {
        if !KEXIN_PRECOMPILES.contains(&inputs.bytecode_address) {
            return <EthPrecompiles as PrecompileProvider<CTX>>::run(
                &mut self.eth,
                context,
                inputs,
            );
        }
        let input = inputs.input.bytes(context);
        let output = match inputs.bytecode_address {
            IDENTITY | EVIDENCE => lookup(
                &inputs.bytecode_address,
                &input,
                context.db_mut(),
                inputs.gas_limit,
                inputs.reservoir,
            )
            // The database kept the view's error; `execute` returns it.
            .map_err(|Unreadable| "the contract state could not be read".to_string())?,
            address => run(&address, &input, inputs.gas_limit, inputs.reservoir),
        };
        Ok(Some(precompile_output_to_interpreter_result(
            output,
            inputs.gas_limit,
        )))
    }

    fn warm_addresses(&self) -> &AddressSet {
        &self.warm
    }
}

/// Runs the Kexin precompile at `address` (one of [`KEXIN_PRECOMPILES`]).
fn run(address: &Address, input: &[u8], gas_limit: u64, reservoir: u64) -> PrecompileOutput {
    let words = |n: usize| (n as u64).div_ceil(32).saturating_mul(WORD_GAS);
    let charge = |cost: u64, result: Result<Bytes, String>| {
        if cost > gas_limit {
            return PrecompileOutput::halt(PrecompileHalt::OutOfGas, reservoir);
        }
        match result {
            Ok(bytes) => PrecompileOutput::new(cost, bytes, reservoir),
            Err(reason) => {
                PrecompileOutput::revert(cost, Revert::from(reason).abi_encode().into(), reservoir)
            }
        }
    };
    match *address {
        SM3 => charge(
            60u64.saturating_add(words(input.len())),
            Ok(Bytes::copy_from_slice(Suite::Gm.hash(input).as_bytes())),
        ),
        SM2_VERIFY => match <(Bytes, Bytes, Bytes, Bytes)>::abi_decode_params(input) {
            Err(_) => charge(3_500, Err(malformed("SM2", "(bytes, bytes, bytes, bytes)"))),
            Ok((key, user_id, message, signature)) => charge(
                3_500u64.saturating_add(words(message.len())),
                sm2_check(&key, &user_id, &message, &signature),
            ),
        },
        ED25519_VERIFY => match <(B256, Bytes, Bytes)>::abi_decode_params(input) {
            Err(_) => charge(2_000, Err(malformed("Ed25519", "(bytes32, bytes, bytes)"))),
            Ok((key, message, signature)) => charge(
                2_000u64.saturating_add(words(message.len())),
                signature_of(&signature, "Ed25519")
                    .and_then(|sig| verdict(PublicKey::Ed25519(key.0), &message, &sig, "Ed25519")),
            ),
        },
        P256_VERIFY => match <(Bytes, Bytes, Bytes)>::abi_decode_params(input) {
            Err(_) => charge(3_450, Err(malformed("P-256", "(bytes, bytes, bytes)"))),
            Ok((key, message, signature)) => charge(
                3_450u64.saturating_add(words(message.len())),
                p256_check(&key, &message, &signature),
            ),
        },
        _ => PrecompileOutput::halt(PrecompileHalt::other("not a Kexin precompile"), reservoir),
    }
}

/// Runs the lookup precompile at `address` ([`IDENTITY`] or [`EVIDENCE`]) on the state.
fn lookup(
    address: &Address,
    input: &[u8],
    db: &mut impl Lookups,
    gas_limit: u64,
    reservoir: u64,
) -> Result<PrecompileOutput, Unreadable> {
    if LOOKUP_GAS > gas_limit {
        return Ok(PrecompileOutput::halt(PrecompileHalt::OutOfGas, reservoir));
    }
    let revert = |reason: String| {
        PrecompileOutput::revert(
            LOOKUP_GAS,
            Revert::from(reason).abi_encode().into(),
            reservoir,
        )
    };
    let bytes: Bytes = if *address == IDENTITY {
        // Exactly one word, its first 12 bytes zero.
        let who = match <[u8; 32]>::try_from(input) {
            Ok(word) if word[..12] == [0; 12] => Address::from_slice(&word[12..]),
            _ => return Ok(revert(malformed("identity", "(address)"))),
        };
        let info = db.identity(&who)?;
        let known = info.is_some();
        let i = info.unwrap_or_default();
        (
            known,
            i.cert_id,
            i.org,
            i.name,
            i.role,
            i.revoked,
            i.not_before_ms,
            i.not_after_ms,
        )
            .abi_encode()
            .into()
    } else {
        let Ok(digest) = <[u8; 32]>::try_from(input).map(B256::from) else {
            return Ok(revert(malformed("evidence", "(bytes32)")));
        };
        let info = db.evidence(&digest)?;
        let recorded = info.is_some();
        let e = info.unwrap_or_default();
        (
            recorded,
            e.count,
            e.first_height,
            e.first_org,
            e.last_height,
        )
            .abi_encode()
            .into()
    };
    Ok(PrecompileOutput::new(LOOKUP_GAS, bytes, reservoir))
}

fn malformed(scheme: &str, layout: &str) -> String {
    format!("{scheme} precompile: the input is not abi.encode{layout}")
}

fn signature_of(bytes: &[u8], scheme: &str) -> Result<Signature, String> {
    <[u8; 64]>::try_from(bytes).map(Signature).map_err(|_| {
        format!(
            "{scheme} precompile: a signature is 64 bytes (r || s), got {}",
            bytes.len()
        )
    })
}

fn bool_word(ok: bool) -> Bytes {
    ok.abi_encode().into()
}

/// `true` when `sig` verifies, `false` when it does not; an error for a key that is not one.
fn verdict(key: PublicKey, message: &[u8], sig: &Signature, scheme: &str) -> Result<Bytes, String> {
    match key.verify_raw(message, sig) {
        Ok(()) => Ok(bool_word(true)),
        Err(kexin_crypto::CryptoError::BadSignature) => Ok(bool_word(false)),
        Err(e) => Err(format!("{scheme} precompile: {e}")),
    }
}

fn sm2_check(
    key: &[u8],
    user_id: &[u8],
    message: &[u8],
    signature: &[u8],
) -> Result<Bytes, String> {
    let sig = signature_of(signature, "SM2")?;
    let user_id = std::str::from_utf8(user_id)
        .map_err(|_| "SM2 precompile: the user id must be UTF-8".to_string())?;
    match sm2_verify_with_user_id(key, user_id, message, &sig) {
        Ok(()) => Ok(bool_word(true)),
        Err(kexin_crypto::CryptoError::BadSignature) => Ok(bool_word(false)),
        Err(e) => Err(format!("SM2 precompile: {e}")),
    }
}

fn p256_check(key: &[u8], message: &[u8], signature: &[u8]) -> Result<Bytes, String> {
    let sig = signature_of(signature, "P-256")?;
    let key = PublicKey::from_scheme_bytes(kexin_crypto::KeyScheme::EcdsaP256, key)
        .map_err(|e| format!("P-256 precompile: {e}"))?;
    verdict(key, message, &sig, "P-256")
}

#[cfg(test)]
mod tests {
    use super::*;
    use revm::precompile::PrecompileStatus;

    #[test]
    fn gas_is_the_base_plus_12_per_word_and_too_little_runs_out() {
        for (len, cost) in [
            (0usize, 60u64),
            (1, 72),
            (32, 72),
            (33, 84),
            (1000, 60 + 32 * 12),
        ] {
            let out = run(&SM3, &vec![0x61; len], 100_000, 0);
            assert_eq!(out.status, PrecompileStatus::Success);
            assert_eq!(out.gas_used, cost, "{len} bytes");
            let short = run(&SM3, &vec![0x61; len], cost - 1, 0);
            assert!(short.is_halt(), "{len} bytes with {} gas", cost - 1);
        }
        let key = kexin_crypto::SigningKey::from_seed(Suite::Intl, &[1; 32]).unwrap();
        let msg = vec![7u8; 64];
        let sig = key.sign_raw(&msg);
        let input = (
            B256::from_slice(key.public_key().as_bytes()),
            Bytes::from(msg),
            Bytes::from(sig.0.to_vec()),
        )
            .abi_encode_params();
        let out = run(&ED25519_VERIFY, &input, 100_000, 0);
        assert_eq!(out.gas_used, 2_000 + 2 * 12);
        assert_eq!(out.bytes, bool_word(true));
    }

    #[test]
    fn malformed_input_reverts_after_charging_the_base_cost() {
        let out = run(&SM2_VERIFY, b"not abi", 100_000, 0);
        assert_eq!(out.status, PrecompileStatus::Revert);
        assert_eq!(out.gas_used, 3_500);
        let reason = Revert::abi_decode(&out.bytes).unwrap().reason;
        assert_eq!(
            reason,
            "SM2 precompile: the input is not abi.encode(bytes, bytes, bytes, bytes)"
        );
    }
}
