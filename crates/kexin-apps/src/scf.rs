//! Supply-chain finance workflows on the receivables contract: deploy it, find it by the name
//! the consortium gave it, and issue, confirm, split, transfer, finance and settle receivables
//! as an identity; read a receivable and list them.

use std::time::Duration;

use alloy_sol_types::private::{FixedBytes, U256};
use kexin_client::Client;
use kexin_client::submit::{Author, Final};
use kexin_crypto::Hash;
use serde::Serialize;

use crate::AppError;
use crate::holding::{self, HoldingProof};

alloy_sol_types::sol! {
    /// The receivables contract's interface (`contracts/scf/Receivables.sol`).
    interface IReceivables {
        struct View {
            uint256 id;
            string status;
            string holder;
            string issuer;
            uint256 amount;
            string currency;
            uint64 maturity;
            uint64 root;
            uint64 parent;
            bool financed;
            string financier;
            uint16 rateBps;
            string offeredTo;
            uint16 offeredRateBps;
            uint64 settledAt;
            string paymentRef;
            bytes32 paymentDoc;
            uint256[] children;
            bytes32[] docs;
        }
        event Issued(uint256 indexed id, string issuer, string holder, uint256 amount, string currency, uint64 maturity);
        function setRoles(string org, uint8 newRoles) external;
        function roles(string org) external view returns (uint8);
        function issue(string to, uint256 amount, string currency, uint64 maturity, bytes32[] tradeDocs) external returns (uint256);
        function confirm(uint256 id) external;
        function reject(uint256 id, string reason) external;
        function split(uint256 id, uint256[] amounts) external returns (uint256[] parts);
        function transfer(uint256 id, string to) external;
        function offerFinance(uint256 id, string financier, uint16 rateBps) external;
        function acceptFinance(uint256 id) external;
        function withdrawFinance(uint256 id) external;
        function settle(uint256 id, string paymentRef, bytes32 paymentDoc) external;
        function get(uint256 id) external view returns (View v);
        function page(uint256 fromId, uint256 limit) external view returns (View[] views);
        function count() external view returns (uint256);
    }
}

use IReceivables::*;

/// Receivables per `page` call (the contract's `MAX_PAGE`).
const PAGE: u64 = 50;

/// The name `kexin scf` finds the receivables contract by (`name_contract` proposal).
pub const NAME: &str = "scf";

/// Role flags of `setRoles`.
pub const CORE: u8 = 1;
/// A supplier.
pub const SUPPLIER: u8 = 2;
/// A financier (a bank or factor).
pub const FINANCIER: u8 = 4;

/// Gas for a receivables transaction: the heaviest, a 16-part split, stays well below it.
const CALL_GAS: u64 = 3_000_000;
/// Gas for the deployment.
const DEPLOY_GAS: u64 = 8_000_000;

/// A receivable as `kexin scf show` prints it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Receivable {
    /// Its id.
    pub id: u64,
    /// `pending`, `confirmed`, `overdue`, `rejected`, `split` or `settled`.
    pub status: String,
    /// The organisation that holds it.
    pub holder: String,
    /// The debtor (the core enterprise that issued it).
    pub issuer: String,
    /// Its amount, in the currency's minor unit.
    pub amount: String,
    /// Its currency.
    pub currency: String,
    /// Its maturity, Unix seconds.
    pub maturity: u64,
    /// The receivable it was split from, transitively (itself for a root).
    pub root: u64,
    /// The receivable it was split from (0 for a root).
    pub parent: u64,
    /// Whether a financier holds it.
    pub financed: bool,
    /// The financier, when financed.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub financier: String,
    /// The discount rate it was financed at, in basis points.
    pub rate_bps: u16,
    /// A pending financing offer's financier.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub offered_to: String,
    /// A pending offer's rate, in basis points.
    pub offered_rate_bps: u16,
    /// When it was settled, Unix seconds (0 when not).
    pub settled_at: u64,
    /// The settlement's payment reference.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub payment_ref: String,
    /// The settlement's attested payment slip, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payment_doc: Option<Hash>,
    /// Its parts, when split.
    pub children: Vec<u64>,
    /// The root's trade documents.
    pub docs: Vec<Hash>,
}

impl From<View> for Receivable {
    fn from(v: View) -> Receivable {
        let n = |x: U256| u64::try_from(x).unwrap_or(u64::MAX);
        Receivable {
            id: n(v.id),
            status: v.status,
            holder: v.holder,
            issuer: v.issuer,
            amount: v.amount.to_string(),
            currency: v.currency,
            maturity: v.maturity,
            root: v.root,
            parent: v.parent,
            financed: v.financed,
            financier: v.financier,
            rate_bps: v.rateBps,
            offered_to: v.offeredTo,
            offered_rate_bps: v.offeredRateBps,
            settled_at: v.settledAt,
            payment_ref: v.paymentRef,
            payment_doc: (v.paymentDoc != FixedBytes::ZERO).then_some(Hash(v.paymentDoc.0)),
            children: v.children.into_iter().map(n).collect(),
            docs: v.docs.into_iter().map(|d| Hash(d.0)).collect(),
        }
    }
}

/// The contract on a chain, reached through a node.
pub struct Scf<'a>(crate::Handle<'a>);

impl<'a> std::ops::Deref for Scf<'a> {
    type Target = crate::Handle<'a>;

    fn deref(&self) -> &crate::Handle<'a> {
        &self.0
    }
}

impl<'a> Scf<'a> {
    /// The contract the consortium named [`NAME`].
    pub async fn find(client: &'a Client, timeout: Duration) -> Result<Scf<'a>, AppError> {
        Ok(Scf(
            crate::Handle::find(client, NAME, CALL_GAS, timeout).await?
        ))
    }

    /// Deploys the embedded contract as `admin` (its organisation becomes the platform
    /// operator), publishing its ABI.
    pub async fn deploy(
        client: &'a Client,
        admin: &Author<'_>,
        timeout: Duration,
    ) -> Result<Scf<'a>, AppError> {
        let artifact = crate::receivables()?;
        let handle =
            crate::Handle::deploy(client, admin, artifact, DEPLOY_GAS, CALL_GAS, timeout).await?;
        Ok(Scf(handle))
    }

    /// Sets the roles of `org` (a sum of [`CORE`], [`SUPPLIER`], [`FINANCIER`]): by an admin
    /// of the platform operator.
    pub async fn set_roles(
        &self,
        who: &Author<'_>,
        org: &str,
        roles: u8,
    ) -> Result<Final, AppError> {
        Ok(self
            .send(
                who,
                setRolesCall {
                    org: org.into(),
                    newRoles: roles,
                },
            )
            .await?
            .0)
    }

    /// The roles of `org`.
    pub async fn roles(&self, org: &str) -> Result<u8, AppError> {
        self.view(rolesCall { org: org.into() }).await
    }

    /// Issues a receivable to the supplier `to`: the new receivable's id.
    pub async fn issue(
        &self,
        who: &Author<'_>,
        to: &str,
        amount: u128,
        currency: &str,
        maturity: u64,
        docs: &[Hash],
    ) -> Result<(u64, Final), AppError> {
        let call = issueCall {
            to: to.into(),
            amount: U256::from(amount),
            currency: currency.into(),
            maturity,
            tradeDocs: docs.iter().map(|d| FixedBytes(d.0)).collect(),
        };
        let (done, id) = self.send(who, call).await?;
        Ok((u64::try_from(id).unwrap_or(u64::MAX), done))
    }

    /// Confirms receivable `id` (an admin of the debtor).
    pub async fn confirm(&self, who: &Author<'_>, id: u64) -> Result<Final, AppError> {
        Ok(self.send(who, confirmCall { id: U256::from(id) }).await?.0)
    }

    /// Rejects pending receivable `id` (its holder).
    pub async fn reject(&self, who: &Author<'_>, id: u64, reason: &str) -> Result<Final, AppError> {
        Ok(self
            .send(
                who,
                rejectCall {
                    id: U256::from(id),
                    reason: reason.into(),
                },
            )
            .await?
            .0)
    }

    /// Splits receivable `id` into parts of `amounts`: the parts' ids.
    pub async fn split(
        &self,
        who: &Author<'_>,
        id: u64,
        amounts: &[u128],
    ) -> Result<(Vec<u64>, Final), AppError> {
        let call = splitCall {
            id: U256::from(id),
            amounts: amounts.iter().map(|a| U256::from(*a)).collect(),
        };
        let (done, parts) = self.send(who, call).await?;
        Ok((
            parts
                .into_iter()
                .map(|p| u64::try_from(p).unwrap_or(u64::MAX))
                .collect(),
            done,
        ))
    }

    /// Transfers receivable `id` to the supplier `to` (its holder).
    pub async fn transfer(&self, who: &Author<'_>, id: u64, to: &str) -> Result<Final, AppError> {
        Ok(self
            .send(
                who,
                transferCall {
                    id: U256::from(id),
                    to: to.into(),
                },
            )
            .await?
            .0)
    }

    /// Offers receivable `id` to the financier `to` at `rate_bps` (its holder).
    pub async fn offer_finance(
        &self,
        who: &Author<'_>,
        id: u64,
        to: &str,
        rate_bps: u16,
    ) -> Result<Final, AppError> {
        let call = offerFinanceCall {
            id: U256::from(id),
            financier: to.into(),
            rateBps: rate_bps,
        };
        Ok(self.send(who, call).await?.0)
    }

    /// Accepts the financing offer of receivable `id` (the financier offered it).
    pub async fn accept_finance(&self, who: &Author<'_>, id: u64) -> Result<Final, AppError> {
        Ok(self
            .send(who, acceptFinanceCall { id: U256::from(id) })
            .await?
            .0)
    }

    /// Withdraws or declines the financing offer of receivable `id`.
    pub async fn withdraw_finance(&self, who: &Author<'_>, id: u64) -> Result<Final, AppError> {
        Ok(self
            .send(who, withdrawFinanceCall { id: U256::from(id) })
            .await?
            .0)
    }

    /// Settles receivable `id` with the payment's reference and an optional attested slip (an
    /// admin of the debtor).
    pub async fn settle(
        &self,
        who: &Author<'_>,
        id: u64,
        payment_ref: &str,
        slip: Option<Hash>,
    ) -> Result<Final, AppError> {
        let call = settleCall {
            id: U256::from(id),
            paymentRef: payment_ref.into(),
            paymentDoc: FixedBytes(slip.unwrap_or(Hash::ZERO).0),
        };
        Ok(self.send(who, call).await?.0)
    }

    /// Receivable `id`.
    pub async fn get(&self, id: u64) -> Result<Receivable, AppError> {
        Ok(self.view(getCall { id: U256::from(id) }).await?.into())
    }

    /// An offline proof of receivable `id` as it stands at the node's head: who holds it, the
    /// amount, currency, debtor, state, maturity and financing, from storage proofs that a
    /// bank off the chain verifies against the genesis ([`crate::holding`]).
    pub async fn prove(&self, id: u64) -> Result<HoldingProof, AppError> {
        // The receivable's names and its five words are read in separate requests: when a
        // block lands in between, read them again.
        let mut last = None;
        for _ in 0..5 {
            let r = self.get(id).await?;
            let mut words = Vec::with_capacity(holding::OFFSETS.len());
            for offset in holding::OFFSETS {
                words.push(
                    self.client
                        .contract_storage(&self.contract, &holding::slot(id, offset))
                        .await?,
                );
            }
            let name = self.client.contract_name_proof(NAME).await?;
            if words.iter().any(|w| w.block_hash != words[0].block_hash)
                || name.block_hash != words[0].block_hash
            {
                continue;
            }
            let [holder, amount, terms, debtor, currency] =
                <[_; 5]>::try_from(words).expect("five proofs");
            let proofs = holding::Proofs {
                holder,
                amount,
                terms,
                debtor,
                currency,
                name: Some(name),
            };
            match HoldingProof::assemble(
                &self.info.genesis,
                self.contract,
                id,
                &r.holder,
                &r.issuer,
                proofs,
            ) {
                Ok(p) => return Ok(p),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| {
            AppError::Invalid(format!(
                "receivable {id} changed while it was being read: try again"
            ))
        }))
    }

    /// Every receivable, oldest first; only those held by `holder` when given. Read a page
    /// of [`PAGE`] at a time.
    pub async fn list(&self, holder: Option<&str>) -> Result<Vec<Receivable>, AppError> {
        let count = u64::try_from(self.view(countCall {}).await?).unwrap_or(u64::MAX);
        let mut out = Vec::new();
        let mut from = 1;
        while from <= count {
            let page = self
                .view(pageCall {
                    fromId: U256::from(from),
                    limit: U256::from(PAGE),
                })
                .await?;
            if page.is_empty() {
                break;
            }
            from += page.len() as u64;
            out.extend(
                page.into_iter()
                    .map(Receivable::from)
                    .filter(|r| holder.is_none_or(|h| r.holder == h)),
            );
        }
        Ok(out)
    }
}
