//! Traceability workflows on the traceability contract: deploy it, find it by the name the
//! consortium gave it, register product batches, append their history and recall them as an
//! identity; read a batch with its history.

use std::time::Duration;

use alloy_sol_types::private::{FixedBytes, U256};
use kexin_client::Client;
use kexin_client::submit::{Author, Final};
use kexin_crypto::Hash;
use serde::Serialize;

use crate::AppError;

alloy_sol_types::sol! {
    /// The traceability contract's interface (`contracts/trace/Traceability.sol`).
    interface ITrace {
        struct Batch {
            string producer;
            string name;
            string attributes;
            uint64 registeredAt;
            bool recalled;
            string recalledBy;
            string recallReason;
            uint64 recalledAt;
            uint256 eventCount;
            uint64 registeredHeight;
            uint64 recalledHeight;
        }
        struct TraceEvent {
            uint8 kind;
            string org;
            uint64 at;
            uint64 height;
            bytes32 doc;
            string note;
        }
        function setRoles(string org, uint8 newRoles) external;
        function roles(string org) external view returns (uint8);
        function register(string productId, string name, string attributes) external;
        function trace(string productId, uint8 kind, bytes32 doc, string note) external returns (uint256);
        function recall(string productId, string reason) external;
        function batch(string productId) external view returns (Batch);
        function events(string productId) external view returns (TraceEvent[]);
        function count() external view returns (uint256);
    }
}

use ITrace::*;

/// The name `kexin trace` finds the traceability contract by.
pub const NAME: &str = "trace";

/// Role flags of `setRoles`.
pub const PRODUCER: u8 = 1;
/// An inspector.
pub const INSPECTOR: u8 = 2;
/// A logistics provider.
pub const LOGISTICS: u8 = 4;
/// A retailer.
pub const RETAILER: u8 = 8;
/// A regulator.
pub const REGULATOR: u8 = 16;

/// Event kinds, by their names on the command line.
pub const KINDS: [(&str, u8); 5] = [
    ("production", 1),
    ("inspection", 2),
    ("shipment", 3),
    ("receipt", 4),
    ("sale", 5),
];

/// Gas for a traceability transaction.
const CALL_GAS: u64 = 2_000_000;
/// Gas for the deployment.
const DEPLOY_GAS: u64 = 6_000_000;

/// The kind byte of an event name (`production`, `inspection`, `shipment`, `receipt`,
/// `sale`).
pub fn kind_of(name: &str) -> Option<u8> {
    KINDS.iter().find(|(n, _)| *n == name).map(|(_, k)| *k)
}

/// The name of event kind `kind`.
pub fn kind_name(kind: u8) -> &'static str {
    KINDS
        .iter()
        .find(|(_, k)| *k == kind)
        .map_or("unknown", |(n, _)| n)
}

/// One event of a batch's history.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Step {
    /// Its index in the history.
    pub index: u64,
    /// `production`, `inspection`, `shipment`, `receipt` or `sale`.
    pub kind: String,
    /// The organisation that recorded it.
    pub org: String,
    /// The block's time, Unix seconds.
    pub at: u64,
    /// The block's height.
    pub height: u64,
    /// The attested document, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub doc: Option<Hash>,
    /// The note.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub note: String,
}

/// A product batch with its history, as `kexin trace show` prints it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Product {
    /// Its id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Its attributes (free text).
    pub attributes: String,
    /// The producer.
    pub producer: String,
    /// When it was registered, Unix seconds.
    pub registered_at: u64,
    /// The block that registered it.
    pub registered_height: u64,
    /// Whether it was recalled.
    pub recalled: bool,
    /// Who recalled it.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub recalled_by: String,
    /// Why.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub recall_reason: String,
    /// When, Unix seconds (0 when not recalled).
    pub recalled_at: u64,
    /// The block that recalled it (0 when not recalled).
    pub recalled_height: u64,
    /// Its history, in order.
    pub history: Vec<Step>,
}

/// The contract on a chain, reached through a node.
pub struct Trace<'a>(crate::Handle<'a>);

impl<'a> std::ops::Deref for Trace<'a> {
    type Target = crate::Handle<'a>;

    fn deref(&self) -> &crate::Handle<'a> {
        &self.0
    }
}

impl<'a> Trace<'a> {
    /// The contract the consortium named [`NAME`].
    pub async fn find(client: &'a Client, timeout: Duration) -> Result<Trace<'a>, AppError> {
        Ok(Trace(
            crate::Handle::find(client, NAME, CALL_GAS, timeout).await?,
        ))
    }

    /// Deploys the embedded contract as `admin` (its organisation becomes the platform
    /// operator), publishing its ABI.
    pub async fn deploy(
        client: &'a Client,
        admin: &Author<'_>,
        timeout: Duration,
    ) -> Result<Trace<'a>, AppError> {
        let artifact = crate::traceability()?;
        let handle =
            crate::Handle::deploy(client, admin, artifact, DEPLOY_GAS, CALL_GAS, timeout).await?;
        Ok(Trace(handle))
    }

    /// Sets the roles of `org` (a sum of the role flags): by an admin of the operator.
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

    /// Registers product batch `id` (a producer).
    pub async fn register(
        &self,
        who: &Author<'_>,
        id: &str,
        name: &str,
        attributes: &str,
    ) -> Result<Final, AppError> {
        let call = registerCall {
            productId: id.into(),
            name: name.into(),
            attributes: attributes.into(),
        };
        Ok(self.send(who, call).await?.0)
    }

    /// Appends an event of `kind` to `id`'s history: its index.
    pub async fn event(
        &self,
        who: &Author<'_>,
        id: &str,
        kind: u8,
        doc: Option<Hash>,
        note: &str,
    ) -> Result<(u64, Final), AppError> {
        let call = traceCall {
            productId: id.into(),
            kind,
            doc: FixedBytes(doc.unwrap_or(Hash::ZERO).0),
            note: note.into(),
        };
        let (done, index) = self.send(who, call).await?;
        Ok((u64::try_from(index).unwrap_or(u64::MAX), done))
    }

    /// Recalls `id` (its producer or a regulator).
    pub async fn recall(
        &self,
        who: &Author<'_>,
        id: &str,
        reason: &str,
    ) -> Result<Final, AppError> {
        Ok(self
            .send(
                who,
                recallCall {
                    productId: id.into(),
                    reason: reason.into(),
                },
            )
            .await?
            .0)
    }

    /// Product batch `id` with its history.
    pub async fn product(&self, id: &str) -> Result<Product, AppError> {
        let b = self
            .view(batchCall {
                productId: id.into(),
            })
            .await?;
        let events = self
            .view(eventsCall {
                productId: id.into(),
            })
            .await?;
        Ok(Product {
            id: id.into(),
            name: b.name,
            attributes: b.attributes,
            producer: b.producer,
            registered_at: b.registeredAt,
            registered_height: b.registeredHeight,
            recalled: b.recalled,
            recalled_by: b.recalledBy,
            recall_reason: b.recallReason,
            recalled_at: b.recalledAt,
            recalled_height: b.recalledHeight,
            history: events
                .into_iter()
                .enumerate()
                .map(|(i, e)| Step {
                    index: i as u64,
                    kind: kind_name(e.kind).into(),
                    org: e.org,
                    at: e.at,
                    height: e.height,
                    doc: (e.doc != FixedBytes::ZERO).then_some(Hash(e.doc.0)),
                    note: e.note,
                })
                .collect(),
        })
    }

    /// The number of registered batches.
    pub async fn count(&self) -> Result<u64, AppError> {
        let n: U256 = self.view(countCall {}).await?;
        Ok(u64::try_from(n).unwrap_or(u64::MAX))
    }
}
