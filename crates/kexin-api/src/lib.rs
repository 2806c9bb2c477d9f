//! Kexin's REST API over a running node: JSON with hex, stable error codes.
//!
//! [`router`] builds the axum router (testable without sockets) from one route table, which
//! [`routes`] lists and `openapi.json` ([`OPENAPI_JSON`], served at `GET /v1/openapi.json`)
//! documents; [`run`] opens a node directory, serves the API and stops cleanly on Ctrl-C or
//! SIGTERM.
//!
//! ```no_run
//! # async fn demo() -> anyhow::Result<()> {
//! kexin_api::run(std::path::Path::new("./node")).await
//! # }
//! ```

mod auth;
mod cache;
mod contracts;
mod error;
mod explorer;
mod live;
mod openapi;
mod routes;
mod serve;

use std::path::Path;
use std::sync::Arc;

use anyhow::Context as _;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::handler::Handler;
use axum::http::Method;
use axum::middleware;
use axum::routing::{self, MethodRouter};
use kexin_node::{Node, layout};

pub use cache::Caching;
pub use error::Error;
pub use live::{
    DEFAULT_LIST_PAGE, DEFAULT_LOG_PAGE, MAX_BLOCKS_SCANNED, MAX_LIST_PAGE, MAX_LOG_BLOCKS,
    MAX_LOG_PAGE, MAX_STATS_BLOCKS, MAX_STATS_BUCKETS, MAX_STATS_WINDOW_S, MAX_SUBSCRIBERS,
    MAX_SUBSCRIBERS_PER_CLIENT,
};
pub use openapi::OPENAPI_JSON;
pub use routes::{DEFAULT_EVIDENCE_PAGE, MAX_EVIDENCE_PAGE, MAX_SUBMIT_BATCH};
pub use serve::{Limits, MAX_HEAD_BYTES, serve};

/// One route of the API: how [`router`] serves it and how its answers may be cached.
struct Route {
    method: Method,
    path: &'static str,
    handler: MethodRouter<Arc<Node>>,
    caching: Caching,
}

impl Route {
    fn get<H: Handler<T, Arc<Node>>, T: 'static>(
        path: &'static str,
        handler: H,
        caching: Caching,
    ) -> Route {
        let handler = routing::get(handler);
        Route {
            method: Method::GET,
            path,
            handler,
            caching,
        }
    }

    fn post<H: Handler<T, Arc<Node>>, T: 'static>(
        path: &'static str,
        handler: H,
        caching: Caching,
    ) -> Route {
        let handler = routing::post(handler);
        Route {
            method: Method::POST,
            path,
            handler,
            caching,
        }
    }
}

/// Every route of the API, in one table: [`router`] serves exactly these, and
/// `tests/openapi.rs` checks that `openapi.json` documents exactly these, with the same
/// caching (`x-cache`). Adding a route: see the `openapi` module.
fn table() -> Vec<Route> {
    use Caching::*;
    vec![
        Route::post("/v1/transactions", routes::submit, NoStore),
        Route::post("/v1/transactions/batch", routes::submit_batch, NoStore),
        Route::get("/v1/transactions/{hash}", routes::transaction, WhenFinal),
        Route::get(
            "/v1/transactions/{hash}/status",
            routes::transaction_status,
            Revalidate,
        ),
        Route::get(
            "/v1/transactions/{hash}/receipts",
            routes::receipts,
            Immutable,
        ),
        Route::get(
            "/v1/transactions/{hash}/receipt",
            routes::tx_receipt,
            Immutable,
        ),
        Route::get("/v1/audit-notes/{subject}", routes::audit_notes, Revalidate),
        Route::get("/v1/blocks/{id}", routes::block, WhenFinal),
        Route::get("/v1/evidence/{digest}", routes::evidence, Revalidate),
        Route::get("/v1/checkpoint", routes::checkpoint, Revalidate),
        Route::get("/v1/proofs/consistency", routes::consistency, Revalidate),
        Route::get("/v1/state/nonce/{key}", routes::state_nonce, Revalidate),
        Route::get(
            "/v1/state/evidence/{digest}",
            routes::state_evidence,
            Revalidate,
        ),
        Route::get("/v1/state/cert/{id}", routes::state_cert, Revalidate),
        Route::get("/v1/state/org/{name}", routes::state_org, Revalidate),
        Route::get("/v1/certs", routes::certs, Revalidate),
        Route::get("/v1/orgs", routes::orgs, Revalidate),
        Route::get(
            "/v1/state/proposal/{id}",
            routes::state_proposal,
            Revalidate,
        ),
        Route::get("/v1/gov/proposals", routes::proposals, Revalidate),
        Route::get("/v1/gov/consortium", routes::consortium, Revalidate),
        Route::get("/v1/contracts/{address}", contracts::contract, Revalidate),
        Route::post(
            "/v1/contracts/{address}/query",
            contracts::contract_query,
            NoStore,
        ),
        Route::get(
            "/v1/contracts/{address}/storage/{slot}",
            contracts::contract_storage,
            Revalidate,
        ),
        Route::get(
            "/v1/contracts/{address}/transactions",
            contracts::contract_txs,
            Revalidate,
        ),
        Route::get("/v1/names/{name}", contracts::contract_name, Revalidate),
        Route::get(
            "/v1/names/{name}/proof",
            contracts::contract_name_proof,
            Revalidate,
        ),
        Route::get(
            "/v1/contracts/{address}/events",
            live::contract_events,
            Revalidate,
        ),
        Route::get("/v1/chain", routes::chain, Revalidate),
        Route::get("/v1/epochs/{epoch}", routes::epoch, Immutable),
        Route::get("/v1/health", routes::health, NoStore),
        Route::get("/v1/health/ready", live::ready, NoStore),
        Route::get("/v1/blocks", live::blocks, Revalidate),
        Route::get("/v1/transactions", live::transactions, Revalidate),
        Route::get("/v1/stats", live::stats, NoStore),
        Route::get("/v1/validators", live::validators, NoStore),
        Route::get("/v1/events", live::events, NoStore),
        Route::get("/metrics", live::metrics, NoStore),
        Route::get("/v1/openapi.json", openapi::document, Revalidate),
    ]
}

/// The API's routes: method, path (axum syntax, `{param}`) and caching, as [`router`]
/// serves them.
pub fn routes() -> Vec<(Method, &'static str, Caching)> {
    table()
        .into_iter()
        .map(|r| (r.method, r.path, r.caching))
        .collect()
}

/// The API router over `node`.
pub fn router(node: Arc<Node>) -> Router {
    build(node, live::Live::default())
}

fn build(node: Arc<Node>, live: live::Live) -> Router {
    let max_body = node.config().api.max_body_bytes;
    let limits = serve::Limits::of(&node.config().api);
    let mut app = Router::new();
    for route in table() {
        let caching = middleware::from_fn_with_state(route.caching, cache::apply);
        app = app.route(route.path, route.handler.layer(caching));
    }
    // The explorer (the web UI: static files, not part of the API contract).
    app.merge(explorer::router())
        .method_not_allowed_fallback(error::method_not_allowed)
        .fallback(explorer::fallback)
        .layer(middleware::from_fn(error::json_rejections))
        .layer(middleware::from_fn_with_state(limits, serve::read_body))
        .layer(DefaultBodyLimit::max(max_body))
        .layer(axum::Extension(live))
        .layer(middleware::from_fn_with_state(
            node.clone(),
            auth::authenticate,
        ))
        // Outermost: every answer, whichever layer made it.
        .layer(middleware::map_response(nosniff))
        .with_state(node)
}

/// Every answer says what it is: browsers must not guess another content type.
async fn nosniff(mut response: axum::response::Response) -> axum::response::Response {
    response.headers_mut().insert(
        axum::http::header::X_CONTENT_TYPE_OPTIONS,
        axum::http::HeaderValue::from_static("nosniff"),
    );
    response
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
    let mut failed = node.failed();
    let why = std::sync::Arc::new(std::sync::Mutex::new(None::<String>));
    let stop = {
        let why = why.clone();
        async move {
            tokio::select! {
                () = shutdown_signal() => {}
                Ok(reason) = failed.wait_for(Option::is_some) => {
                    let reason = reason.clone().unwrap_or_default();
                    tracing::error!(
                        "the node can no longer finalize ({reason}): not ready, taking no \
                         transactions; exiting in {} s so that a supervisor restarts it",
                        FATAL_GRACE.as_secs()
                    );
                    // Probes and load balancers see `ready: false` before the port closes.
                    tokio::time::sleep(FATAL_GRACE).await;
                    *why.lock().unwrap_or_else(|p| p.into_inner()) = Some(reason);
                }
            }
            // Event streams never end by themselves: end them so shutdown does not wait.
            closing.close();
        }
    };
    let limits = serve::Limits::of(&node.config().api);
    // The server loop gives handlers each connection's peer address (`ConnectInfo`: the
    // per-client caps).
    serve::serve(listener, build(node.clone(), live), limits, stop).await?;
    let _ = std::fs::remove_file(&url_path);
    tokio::task::spawn_blocking(move || node.shutdown()).await?;
    let why = why.lock().unwrap_or_else(|p| p.into_inner()).take();
    match why {
        Some(why) => {
            anyhow::bail!("the consensus engine stopped: {why}")
        }
        None => {
            tracing::info!("stopped");
            Ok(())
        }
    }
}

/// How long a node whose engine stopped keeps answering (not ready, refusing transactions)
/// before it exits.
pub const FATAL_GRACE: std::time::Duration = std::time::Duration::from_secs(3);

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
