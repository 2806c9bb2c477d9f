//! Offline proofs of a receivable holding: "org3 holds receivable 2, 60,000 CNY owed by org1,
//! due 2027-03-31, confirmed, at height H", from storage proofs of the receivables contract's
//! state that verify against the genesis alone, for a bank that is not on the chain.
//!
//! A holding proof is a JSON document (`kexin-scf-holding`, version 1) carrying the claim and
//! five state proofs (`kexin-state-proof`, formats.md §8.5) of receivable `id`'s storage, all at
//! one block. With `b = keccak256(abi.encode(id, 0))` (the `receivables` mapping is at slot 0):
//!
//! | slot | word |
//! |---|---|
//! | `b` | `keccak256(bytes(holder))` |
//! | `b + 1` | the amount, in the currency's minor unit |
//! | `b + 2` | packed from the low end: state (1 byte: 1 pending, 2 confirmed, 3 rejected, 4 split, 5 settled), financed (1), discount rate in basis points (2), maturity (8, Unix seconds), root (8), parent (8) |
//! | `b + 3` | `keccak256(bytes(debtor))` |
//! | `b + 6` | the currency, a Solidity short string: its bytes from the high end, length × 2 in the low byte |
//!
//! With them, optionally, the proof that the consortium named the contract (`name`: namespace 13,
//! the name's bytes, whose value is the contract's 20-byte address) at the same block, so that a
//! verifier off the chain knows the contract is the consortium's receivables contract and not
//! one that anybody deployed.
//!
//! [`HoldingProof::verify`] checks every proof, that they are of those slots of one contract at
//! one block, and that the words are the claim's; the claim's organisation names are checked by
//! their hashes.

use kexin_evm::{U256, keccak256};
use kexin_types::ContractAddress;
use kexin_types::Genesis;
use kexin_types::state_receipt::StateReceipt;
use serde::{Deserialize, Serialize};

use crate::AppError;

/// The document's `format`.
pub const FORMAT: &str = "kexin-scf-holding";
/// The document's `version`.
pub const VERSION: u32 = 1;

/// Slot offsets from `b` of the proven fields, in the order of [`Proofs`].
pub(crate) const OFFSETS: [u64; 5] = [0, 1, 2, 3, 6];

/// The states of the contract's `State` enum, by their byte.
const STATES: [&str; 6] = [
    "none",
    "pending",
    "confirmed",
    "rejected",
    "split",
    "settled",
];

/// What a holding proof claims (and, verified, establishes).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Holding {
    /// The receivables contract.
    pub contract: ContractAddress,
    /// The receivable.
    pub receivable: u64,
    /// The organisation holding it.
    pub holder: String,
    /// The debtor (the core enterprise that issued it).
    pub debtor: String,
    /// The amount in the currency's minor unit, decimal.
    pub amount: String,
    /// The currency.
    pub currency: String,
    /// `pending`, `confirmed`, `rejected`, `split` or `settled` (a confirmed one past maturity
    /// is overdue; that depends on the reader's clock, so the proof states maturity instead).
    pub state: String,
    /// Maturity, Unix seconds.
    pub maturity: u64,
    /// Whether a financier holds it, having financed it.
    pub financed: bool,
    /// The discount rate it was financed at, in basis points (0 when not financed).
    pub rate_bps: u16,
    /// The receivable it was split from, transitively (itself for a root).
    pub root: u64,
    /// The receivable it was split from (0 for a root).
    pub parent: u64,
    /// The block the proofs are at.
    pub height: u64,
    /// The name the consortium gave the contract, when the proof carries that binding.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// The five state proofs: slots `b`, `b + 1`, `b + 2`, `b + 3` and `b + 6`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Proofs {
    /// Slot `b`: the holder's name hash.
    pub holder: StateReceipt,
    /// Slot `b + 1`: the amount.
    pub amount: StateReceipt,
    /// Slot `b + 2`: state, financing, maturity and lineage.
    pub terms: StateReceipt,
    /// Slot `b + 3`: the debtor's name hash.
    pub debtor: StateReceipt,
    /// Slot `b + 6`: the currency.
    pub currency: StateReceipt,
    /// The consortium's name for the contract (namespace 13), at the same block.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<StateReceipt>,
}

impl Proofs {
    fn all(&self) -> [&StateReceipt; 5] {
        [
            &self.holder,
            &self.amount,
            &self.terms,
            &self.debtor,
            &self.currency,
        ]
    }
}

/// A holding proof document.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HoldingProof {
    /// [`FORMAT`].
    pub format: String,
    /// [`VERSION`].
    pub version: u32,
    /// The claim.
    pub claim: Holding,
    /// The state proofs it rests on.
    pub proofs: Proofs,
}

/// Slot `b + offset` of receivable `id`.
pub fn slot(id: u64, offset: u64) -> [u8; 32] {
    let mut key = [0u8; 64];
    key[24..32].copy_from_slice(&id.to_be_bytes());
    let b = U256::from_be_bytes(keccak256(key).0);
    (b + U256::from(offset)).to_be_bytes::<32>()
}

/// The fields packed in word `b + 2`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Terms {
    /// The `State` byte.
    pub state: u8,
    /// Financed.
    pub financed: bool,
    /// Basis points.
    pub rate_bps: u16,
    /// Unix seconds.
    pub maturity: u64,
    /// Root id.
    pub root: u64,
    /// Parent id.
    pub parent: u64,
}

/// Unpacks word `b + 2` (Solidity packs a struct's small members from the word's low end).
pub fn terms(word: &[u8; 32]) -> Terms {
    let u64_at = |end: usize| u64::from_be_bytes(word[end - 8..end].try_into().expect("8 bytes"));
    Terms {
        state: word[31],
        financed: word[30] != 0,
        rate_bps: u16::from_be_bytes([word[28], word[29]]),
        maturity: u64_at(28),
        root: u64_at(20),
        parent: u64_at(12),
    }
}

/// A Solidity short string (under 32 bytes) stored in one word, or `None` for a long one.
pub fn short_string(word: &[u8; 32]) -> Option<String> {
    let tag = word[31];
    if tag & 1 == 1 || tag / 2 > 31 {
        return None;
    }
    String::from_utf8(word[..usize::from(tag / 2)].to_vec()).ok()
}

fn invalid(why: impl Into<String>) -> AppError {
    AppError::BadProof(why.into())
}

impl HoldingProof {
    /// Assembles a proof of receivable `id` from its five storage proofs (as the node serves
    /// them, at one block, with the contract's name proof when given) and the organisation
    /// names of the holder and the debtor.
    pub fn assemble(
        genesis: &Genesis,
        contract: ContractAddress,
        id: u64,
        holder: &str,
        debtor: &str,
        proofs: Proofs,
    ) -> Result<HoldingProof, AppError> {
        let mut doc = HoldingProof {
            format: FORMAT.into(),
            version: VERSION,
            claim: Holding {
                contract,
                receivable: id,
                holder: holder.into(),
                debtor: debtor.into(),
                amount: String::new(),
                currency: String::new(),
                state: String::new(),
                maturity: 0,
                financed: false,
                rate_bps: 0,
                root: 0,
                parent: 0,
                height: 0,
                name: None,
            },
            proofs,
        };
        doc.claim = doc.establish(genesis)?;
        Ok(doc)
    }

    /// What the proofs establish, checked against the genesis: the claim as the words say it
    /// (with the holder and debtor names checked by their hashes).
    fn establish(&self, genesis: &Genesis) -> Result<Holding, AppError> {
        if self.format != FORMAT || self.version != VERSION {
            return Err(invalid(format!(
                "not a holding proof: format {:?} version {}, expected {FORMAT:?} version {VERSION}",
                self.format, self.version
            )));
        }
        let c = &self.claim;
        let names = ["holder", "amount", "terms", "debtor", "currency"];
        let mut words = [[0u8; 32]; 5];
        let mut at = None;
        for (i, proof) in self.proofs.all().into_iter().enumerate() {
            let v = proof
                .verify(genesis)
                .map_err(|e| invalid(format!("the {} proof does not verify: {e}", names[i])))?;
            let (contract, slot_of) = v.storage.ok_or_else(|| {
                invalid(format!("the {} proof is not of contract storage", names[i]))
            })?;
            if contract != c.contract || slot_of != slot(c.receivable, OFFSETS[i]) {
                return Err(invalid(format!(
                    "the {} proof is of another slot: {} of {contract}, not slot b + {} of receivable {} of {}",
                    names[i],
                    kexin_types::state_receipt::word_hex(&slot_of),
                    OFFSETS[i],
                    c.receivable,
                    c.contract
                )));
            }
            match at {
                None => at = Some((v.height, v.block_hash)),
                Some(first) if first != (v.height, v.block_hash) => {
                    return Err(invalid(format!(
                        "the proofs are of different blocks ({} and {}): they must all be of one",
                        first.0, v.height
                    )));
                }
                Some(_) => {}
            }
            words[i] = v.word().unwrap_or([0; 32]);
        }
        let Some((height, block)) = at else {
            return Err(invalid("a holding proof needs its five storage proofs"));
        };
        let name = match &self.proofs.name {
            None => None,
            Some(proof) => {
                let v = proof
                    .verify(genesis)
                    .map_err(|e| invalid(format!("the name proof does not verify: {e}")))?;
                if (v.height, v.block_hash) != (height, block) {
                    return Err(invalid(format!(
                        "the name proof is of block {}, the storage proofs of {height}: they must all be of one",
                        v.height
                    )));
                }
                if v.namespace != kexin_types::state::namespace::CONTRACT_NAME {
                    return Err(invalid(format!(
                        "the name proof is of namespace {}, not 13 (contract names)",
                        v.namespace
                    )));
                }
                let name = String::from_utf8(v.key)
                    .map_err(|_| invalid("the name proof's key is not a name"))?;
                if v.value.as_deref() != Some(c.contract.0.as_slice()) {
                    return Err(invalid(format!(
                        "at that block the name {name:?} does not stand for {}",
                        c.contract
                    )));
                }
                Some(name)
            }
        };
        let t = terms(&words[2]);
        if t.state == 0 {
            return Err(invalid(format!(
                "receivable {} does not exist at that block",
                c.receivable
            )));
        }
        if words[0] != keccak256(c.holder.as_bytes()).0 {
            return Err(invalid(format!(
                "the holder at that block is not {:?}",
                c.holder
            )));
        }
        if words[3] != keccak256(c.debtor.as_bytes()).0 {
            return Err(invalid(format!(
                "the debtor at that block is not {:?}",
                c.debtor
            )));
        }
        Ok(Holding {
            contract: c.contract,
            receivable: c.receivable,
            holder: c.holder.clone(),
            debtor: c.debtor.clone(),
            amount: U256::from_be_bytes(words[1]).to_string(),
            currency: short_string(&words[4])
                .ok_or_else(|| invalid("the currency word is not a short string"))?,
            state: STATES
                .get(usize::from(t.state))
                .copied()
                .unwrap_or("unknown")
                .into(),
            maturity: t.maturity,
            financed: t.financed,
            rate_bps: t.rate_bps,
            root: t.root,
            parent: t.parent,
            height,
            name,
        })
    }

    /// Verifies the proof against the genesis: every state proof, their slots and block, and
    /// that the claim is exactly what the words say. Returns the established holding.
    pub fn verify(&self, genesis: &Genesis) -> Result<Holding, AppError> {
        let proven = self.establish(genesis)?;
        if proven != self.claim {
            return Err(invalid(format!(
                "the claim does not match the proven state: it claims {}, the proofs say {}",
                serde_json::to_string(&self.claim).unwrap_or_default(),
                serde_json::to_string(&proven).unwrap_or_default()
            )));
        }
        Ok(proven)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packed_terms_and_short_strings_unpack() {
        let mut w = [0u8; 32];
        w[31] = 2; // confirmed
        w[30] = 1; // financed
        w[28..30].copy_from_slice(&350u16.to_be_bytes());
        w[20..28].copy_from_slice(&1_798_675_200u64.to_be_bytes());
        w[12..20].copy_from_slice(&1u64.to_be_bytes());
        w[4..12].copy_from_slice(&1u64.to_be_bytes());
        assert_eq!(
            terms(&w),
            Terms {
                state: 2,
                financed: true,
                rate_bps: 350,
                maturity: 1_798_675_200,
                root: 1,
                parent: 1
            }
        );
        let mut s = [0u8; 32];
        s[..3].copy_from_slice(b"CNY");
        s[31] = 6;
        assert_eq!(short_string(&s).as_deref(), Some("CNY"));
        s[31] = 7; // a long string's tag
        assert_eq!(short_string(&s), None);
    }

    #[test]
    fn slots_follow_the_mapping_layout() {
        // keccak256(abi.encode(1, 0)), as solc places receivables[1].
        let b = slot(1, 0);
        assert_eq!(
            hex::encode(b),
            "ada5013122d395ba3c54772283fb069b10426056ef8ca54750cb9bb552a59e7d"
        );
        let b6 = U256::from_be_bytes(slot(1, 6));
        assert_eq!(b6 - U256::from_be_bytes(b), U256::from(6));
    }
}
