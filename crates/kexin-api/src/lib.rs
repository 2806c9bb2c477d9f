//! Kexin's REST API over a running node: JSON with hex, stable error codes.
//!
//! [`router`] builds the axum router (testable without sockets); [`run`] opens a node
//! directory, serves the API and stops cleanly on Ctrl-C or SIGTERM.
//!
//! ```no_run
//! # async fn demo() -> anyhow::Result<()> {
//! kexin_api::run(std::path::Path::new("./node")).await
//! # }
//! ```

mod auth;
mod error;
mod explorer;
mod live;
mod routes;

use std::path::Path;
use std::sync::Arc;

use anyhow::Context as _;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::middleware;
use axum::routing::{get, post};
use kexin_node::{Node, layout};

pub use error::Error;
pub use live::{
    DEFAULT_LIST_PAGE, MAX_BLOCKS_SCANNED, MAX_LIST_PAGE, MAX_STATS_BLOCKS, MAX_STATS_BUCKETS,
    MAX_STATS_WINDOW_S, MAX_SUBSCRIBERS,
};
pub use routes::{DEFAULT_EVIDENCE_PAGE, MAX_EVIDENCE_PAGE, MAX_SUBMIT_BATCH};

/// The API router over `node`.
pub fn router(node: Arc<Node>) -> Router {
    build(node, live::Live::default())
}

fn build(node: Arc<Node>, live: live::Live) -> Router {
    let max_body = node.config().api.max_body_bytes;
    Router::new()
        .route(
            "/v1/transactions",
            post(routes::submit).get(live::transactions),
        )
        .route("/v1/transactions/batch", post(routes::submit_batch))
        .route("/v1/transactions/{hash}", get(routes::transaction))
        .route(
            "/v1/transactions/{hash}/status",
            get(routes::transaction_status),
        )
        .route("/v1/transactions/{hash}/receipts", get(routes::receipts))
        .route("/v1/transactions/{hash}/receipt", get(routes::tx_receipt))
        .route("/v1/audit-notes/{subject}", get(routes::audit_notes))
        .route("/v1/blocks", get(live::blocks))
        .route("/v1/blocks/{id}", get(routes::block))
        .route("/v1/evidence/{digest}", get(routes::evidence))
        .route("/v1/checkpoint", get(routes::checkpoint))
        .route("/v1/proofs/consistency", get(routes::consistency))
        .route("/v1/state/nonce/{key}", get(routes::state_nonce))
        .route("/v1/state/evidence/{digest}", get(routes::state_evidence))
        .route("/v1/state/cert/{id}", get(routes::state_cert))
        .route("/v1/state/org/{name}", get(routes::state_org))
        .route("/v1/certs", get(routes::certs))
        .route("/v1/orgs", get(routes::orgs))
        .route("/v1/state/proposal/{id}", get(routes::state_proposal))
        .route("/v1/gov/proposals", get(routes::proposals))
        .route("/v1/gov/consortium", get(routes::consortium))
        .route("/v1/chain", get(routes::chain))
        .route("/v1/epochs/{epoch}", get(routes::epoch))
        .route("/v1/health", get(routes::health))
        .route("/v1/health/ready", get(live::ready))
        .route("/v1/validators", get(live::validators))
        .route("/v1/stats", get(live::stats))
        .route("/v1/events", get(live::events))
        .route("/metrics", get(live::metrics))
        .merge(explorer::router())
        .fallback(explorer::fallback)
        .layer(DefaultBodyLimit::max(max_body))
        .layer(axum::Extension(live))
        .layer(middleware::from_fn_with_state(
            node.clone(),
            auth::authenticate,
        ))
        .with_state(node)
}

/// Opens the node in `dir`, serves the API on the configured address, writes the URL to
/// `dir/api-url`, and runs until Ctrl-C or SIGTERM.
pub async fn run(dir: &Path) -> anyhow::Result<()> {
    let node = {
        let dir = dir.to_owned();
        tokio::task::spawn_blocking(move || Node::open(&dir)).await??
    };
    let node = Arc::new(node);
    let addr = node.config().api.listen;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr}"))?;
    let url = format!("http://{}", listener.local_addr()?);
    let url_path = dir.join(layout::API_URL);
    // Written whole or not at all: readers never see half a URL.
    let tmp = dir.join(format!("{}.tmp", layout::API_URL));
    std::fs::write(&tmp, format!("{url}\n"))
        .and_then(|()| std::fs::rename(&tmp, &url_path))
        .with_context(|| format!("cannot write {}", url_path.display()))?;
    tracing::info!(
        %url,
        chain = %node.genesis().chain_id,
        suite = %node.genesis().suite,
        height = node.ledger().height(),
        "serving the Kexin API"
    );

    let live = live::Live::default();
    let closing = live.clone();
    axum::serve(listener, build(node.clone(), live))
        .with_graceful_shutdown(async move {
            shutdown_signal().await;
            // Event streams never end by themselves: end them so shutdown does not wait.
            closing.close();
        })
        .await?;
    let _ = std::fs::remove_file(&url_path);
    tokio::task::spawn_blocking(move || node.shutdown()).await?;
    tracing::info!("stopped");
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}
