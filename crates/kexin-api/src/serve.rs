//! The HTTP server loop: bounded connections, timeouts and JSON for the HTTP layer's own
//! refusals.
//!
//! `axum::serve` accepts every connection and keeps it for as long as the client likes, so a
//! client holding idle sockets could exhaust the node's file descriptors (and with them the
//! consensus engine's journals). This loop bounds them:
//!
//! - at most [`Limits::max_connections`] open at once: beyond that, new connections wait in
//!   the kernel's listen backlog (they cost the node no descriptor) until one closes;
//! - at most [`Limits::max_connections_per_client`] per client IP address: more are answered
//!   `429 too_many_connections` and closed;
//! - a request head must arrive within [`Limits::header_read_timeout`] of the connection
//!   opening or of the previous response (so this is also the keep-alive idle limit);
//! - a connection on which no byte moves either way for [`Limits::idle_timeout`] is closed
//!   (a client that stops reading a response, or a stalled upload);
//! - a request body must arrive whole within [`Limits::body_read_timeout`]
//!   (`408 body_timeout`), see [`read_body`].
//!
//! Refusals by the HTTP layer itself (a malformed request line, a URI or head too large) are
//! answered with the API's JSON error body instead of an empty one ([`JsonRefusals`]).

use std::collections::BTreeMap;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, Request};
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};
use tower::ServiceExt as _;

use crate::error::Error;

/// The server's connection limits (from the node's `[api]` configuration).
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Most connections open at once.
    pub max_connections: usize,
    /// Most connections open at once from one IP address.
    pub max_connections_per_client: usize,
    /// Longest wait for a complete request head.
    pub header_read_timeout: Duration,
    /// Longest wait for a complete request body.
    pub body_read_timeout: Duration,
    /// Longest time a connection may move no byte either way.
    pub idle_timeout: Duration,
    /// Largest request body, bytes.
    pub max_body_bytes: usize,
}

impl Limits {
    /// The limits `config` sets.
    pub fn of(config: &kexin_node::config::ApiConfig) -> Limits {
        Limits {
            max_connections: config.max_connections,
            max_connections_per_client: config.max_connections_per_client,
            header_read_timeout: Duration::from_millis(config.header_read_timeout_ms),
            body_read_timeout: Duration::from_millis(config.body_read_timeout_ms),
            idle_timeout: Duration::from_millis(config.idle_timeout_ms),
            max_body_bytes: config.max_body_bytes,
        }
    }
}

/// Largest request head (request line and headers), bytes: larger heads get
/// `431 too_large` (or `414 too_large` for the URI alone).
pub const MAX_HEAD_BYTES: usize = 16 * 1024;

/// Refused connections are logged at most once per this interval (with their count).
const REFUSAL_LOG_INTERVAL: Duration = Duration::from_secs(10);

/// Connections open per client address.
#[derive(Default)]
struct Clients(Mutex<BTreeMap<IpAddr, usize>>);

impl Clients {
    /// Counts a new connection from `ip`, unless it already has `max`.
    fn enter(self: &Arc<Self>, ip: IpAddr, max: usize) -> Option<ClientSlot> {
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let n = map.entry(ip).or_insert(0);
        if *n >= max {
            return None;
        }
        *n += 1;
        Some(ClientSlot {
            clients: self.clone(),
            ip,
        })
    }
}

/// One counted connection; uncounted when dropped.
struct ClientSlot {
    clients: Arc<Clients>,
    ip: IpAddr,
}

impl Drop for ClientSlot {
    fn drop(&mut self) {
        let mut map = self.clients.0.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = map.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                map.remove(&self.ip);
            }
        }
    }
}

/// Serves `router` on `listener` within `limits` until `shutdown` resolves, then lets open
/// requests finish (event streams end by themselves when the router's `Live` closes).
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: Limits,
    shutdown: impl Future<Output = ()>,
) -> io::Result<()> {
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let clients = Arc::new(Clients::default());
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut shutdown = std::pin::pin!(shutdown);
    let (mut refused, mut last_warning) = (0u64, None);
    loop {
        let permit = tokio::select! {
            _ = &mut shutdown => break,
            p = slots.clone().acquire_owned() => p.expect("the semaphore is never closed"),
        };
        let (stream, peer) = tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of descriptors (EMFILE/ENFILE) or a connection reset before accept:
                    // wait a little instead of spinning; the node stays up.
                    tracing::warn!("cannot accept an API connection: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        let Some(slot) = clients.enter(peer.ip(), limits.max_connections_per_client) else {
            // At most one warning per interval, however many a client opens.
            refused += 1;
            if last_warning.is_none_or(|t: Instant| t.elapsed() >= REFUSAL_LOG_INTERVAL) {
                tracing::warn!(
                    client = %peer.ip(),
                    refused,
                    limit = limits.max_connections_per_client,
                    "refused an API connection: too many from this client (api.max_connections_per_client)"
                );
                last_warning = Some(Instant::now());
                refused = 0;
            }
            tokio::spawn(async move {
                refuse(stream, limits.max_connections_per_client).await;
                drop(permit);
            });
            continue;
        };
        let router = router.clone();
        let stop = stop_rx.clone();
        tokio::spawn(async move {
            connection(stream, peer, router, limits, stop).await;
            drop((slot, permit));
        });
    }
    // Stop accepting, ask every connection to finish its request and close, and wait for them.
    drop(listener);
    let _ = stop_tx.send(true);
    let all = u32::try_from(limits.max_connections).unwrap_or(u32::MAX);
    let _ = tokio::time::timeout(Duration::from_secs(10), slots.acquire_many(all)).await;
    Ok(())
}

/// Answers a connection over the per-client limit with a JSON 429 and closes it.
async fn refuse(mut stream: TcpStream, max: usize) {
    let body = serde_json::json!({
        "code": "too_many_connections",
        "message": format!("this client already has {max} open connections to this node (api.max_connections_per_client)"),
    })
    .to_string();
    let response = format!(
        "HTTP/1.1 429 Too Many Requests\r\ncontent-type: application/json\r\ncache-control: no-store\r\nx-content-type-options: nosniff\r\nretry-after: 1\r\nconnection: close\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    );
    let _ = tokio::time::timeout(Duration::from_secs(2), async {
        let _ = stream.write_all(response.as_bytes()).await;
        let _ = stream.shutdown().await;
    })
    .await;
}

/// Serves one connection until it closes, times out or the server stops.
async fn connection(
    stream: TcpStream,
    peer: SocketAddr,
    router: Router,
    limits: Limits,
    mut stop: watch::Receiver<bool>,
) {
    let activity = Arc::new(Activity::new());
    let io = TokioIo::new(JsonRefusals::new(stream, activity.clone()));
    let service = hyper::service::service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
        let mut req = req.map(Body::new);
        req.extensions_mut().insert(ConnectInfo(peer));
        router.clone().oneshot(req)
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .max_buf_size(MAX_HEAD_BYTES.max(8192))
        .keep_alive(true);
    let conn = builder.serve_connection(io, service);
    let mut conn = std::pin::pin!(conn);
    let tick = (limits.idle_timeout / 4).clamp(Duration::from_millis(50), Duration::from_secs(1));
    let mut closing = false;
    loop {
        tokio::select! {
            res = conn.as_mut() => {
                if let Err(e) = res {
                    tracing::debug!(client = %peer, "API connection ended: {e}");
                }
                return;
            }
            _ = stop.changed(), if !closing => {
                closing = true;
                conn.as_mut().graceful_shutdown();
            }
            _ = tokio::time::sleep(tick) => {
                if activity.idle_for() >= limits.idle_timeout {
                    tracing::debug!(client = %peer, "closing an idle API connection");
                    return;
                }
            }
        }
    }
}

/// Middleware: reads a request's body whole within the body-read timeout (and the body
/// limit), so a slow or stalled upload is refused with `408 body_timeout` instead of holding
/// a connection and a handler.
pub(crate) async fn read_body(
    axum::extract::State(limits): axum::extract::State<Limits>,
    req: Request,
    next: Next,
) -> Response {
    if matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        return next.run(req).await;
    }
    let (parts, body) = req.into_parts();
    let read = axum::body::to_bytes(body, limits.max_body_bytes);
    let bytes = match tokio::time::timeout(limits.body_read_timeout, read).await {
        Ok(Ok(bytes)) => bytes,
        Ok(Err(e)) => {
            return Error {
                status: StatusCode::PAYLOAD_TOO_LARGE,
                code: "too_large",
                message: format!(
                    "the request body exceeds {} bytes (api.max_body_bytes), or was cut off: {e}",
                    limits.max_body_bytes
                ),
            }
            .into_response();
        }
        Err(_) => {
            return Error {
                status: StatusCode::REQUEST_TIMEOUT,
                code: "body_timeout",
                message: format!(
                    "the request body did not arrive within {} ms (api.body_read_timeout_ms)",
                    limits.body_read_timeout.as_millis()
                ),
            }
            .into_response();
        }
    };
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

/// When a connection last moved a byte.
struct Activity {
    start: Instant,
    last_ms: AtomicU64,
}

impl Activity {
    fn new() -> Activity {
        Activity {
            start: Instant::now(),
            last_ms: AtomicU64::new(0),
        }
    }

    fn touch(&self) {
        let now = self.start.elapsed().as_millis() as u64;
        self.last_ms.store(now, Ordering::Relaxed);
    }

    fn idle_for(&self) -> Duration {
        let now = self.start.elapsed().as_millis() as u64;
        Duration::from_millis(now.saturating_sub(self.last_ms.load(Ordering::Relaxed)))
    }
}

/// The connection's socket, recording activity, and replacing the empty-bodied error
/// responses that hyper writes itself when it cannot parse a request (400 for a malformed
/// request line, 414 for a URI too long, 431 for a head too large, 505 for an unsupported
/// version) with the API's JSON error body. Handlers never answer an error with an empty
/// body, so a 4xx/5xx head with `content-length: 0` is always hyper's own.
struct JsonRefusals<S> {
    inner: S,
    activity: Arc<Activity>,
    /// A rewritten response still to be written; hyper was told it was written whole.
    pending: Vec<u8>,
    written: usize,
}

impl<S> JsonRefusals<S> {
    fn new(inner: S, activity: Arc<Activity>) -> Self {
        JsonRefusals {
            inner,
            activity,
            pending: Vec::new(),
            written: 0,
        }
    }
}

impl<S: AsyncWrite + Unpin> JsonRefusals<S> {
    /// Writes what is left of a rewritten response.
    fn poll_pending(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while self.written < self.pending.len() {
            let n = match Pin::new(&mut self.inner).poll_write(cx, &self.pending[self.written..]) {
                Poll::Ready(Ok(0)) => return Poll::Ready(Err(io::ErrorKind::WriteZero.into())),
                Poll::Ready(Ok(n)) => n,
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => return Poll::Pending,
            };
            self.activity.touch();
            self.written += n;
        }
        self.pending.clear();
        self.written = 0;
        Poll::Ready(Ok(()))
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for JsonRefusals<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let res = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(res, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.activity.touch();
        }
        res
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for JsonRefusals<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        if !this.pending.is_empty() {
            match this.poll_pending(cx) {
                Poll::Ready(Ok(())) => {}
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => return Poll::Pending,
            }
        }
        if let Some(rewritten) = json_refusal(buf) {
            this.pending = rewritten;
            this.written = 0;
            return match this.poll_pending(cx) {
                Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
                // The rest goes out on the next write, flush or shutdown.
                _ => Poll::Ready(Ok(buf.len())),
            };
        }
        let res = Pin::new(&mut this.inner).poll_write(cx, buf);
        if matches!(res, Poll::Ready(Ok(n)) if n > 0) {
            this.activity.touch();
        }
        res
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.poll_pending(cx) {
            Poll::Ready(Ok(())) => Pin::new(&mut self.inner).poll_flush(cx),
            other => other,
        }
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.poll_pending(cx) {
            Poll::Ready(Ok(())) => Pin::new(&mut self.inner).poll_shutdown(cx),
            other => other,
        }
    }
}

/// If `head` is a whole response head of a 4xx/5xx status with an empty body (which only
/// hyper's own refusals are), the same response with a JSON `{code, message}` body.
fn json_refusal(head: &[u8]) -> Option<Vec<u8>> {
    if !head.ends_with(b"\r\n\r\n") || head.len() > 1024 {
        return None;
    }
    let text = std::str::from_utf8(head).ok()?;
    let mut lines = text.split("\r\n");
    let status_line = lines.next()?;
    let status: u16 = status_line
        .strip_prefix("HTTP/1.1 ")?
        .get(..3)?
        .parse()
        .ok()?;
    if !(400..600).contains(&status) {
        return None;
    }
    let headers: Vec<&str> = lines.filter(|l| !l.is_empty()).collect();
    let empty_body = headers
        .iter()
        .any(|h| h.eq_ignore_ascii_case("content-length: 0"));
    if !empty_body {
        return None;
    }
    let (code, message) = match status {
        400 => ("malformed_request", "the request is not valid HTTP/1.1"),
        408 => ("header_timeout", "the request head did not arrive in time"),
        414 => (
            "too_large",
            "the request URI is too long (the request head is limited to 16384 bytes)",
        ),
        431 => (
            "too_large",
            "the request head is too large (limited to 16384 bytes)",
        ),
        505 => ("malformed_request", "only HTTP/1.x is served"),
        _ => (
            "malformed_request",
            "the request was refused by the HTTP layer",
        ),
    };
    let body = serde_json::json!({ "code": code, "message": message }).to_string();
    let mut out = String::with_capacity(head.len() + body.len() + 128);
    out.push_str(status_line);
    out.push_str("\r\n");
    for h in headers {
        if h.to_ascii_lowercase().starts_with("content-length:") {
            continue;
        }
        out.push_str(h);
        out.push_str("\r\n");
    }
    out.push_str("content-type: application/json\r\nx-content-type-options: nosniff\r\ncache-control: no-store\r\n");
    out.push_str(&format!("content-length: {}\r\n\r\n", body.len()));
    out.push_str(&body);
    Some(out.into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hyper_refusals_get_a_json_body() {
        let head = b"HTTP/1.1 431 Request Header Fields Too Large\r\nconnection: close\r\ncontent-length: 0\r\ndate: Sun, 06 Dec 2026 20:00:00 GMT\r\n\r\n";
        let out = String::from_utf8(json_refusal(head).expect("rewritten")).unwrap();
        let (head, body) = out.split_once("\r\n\r\n").unwrap();
        assert!(head.starts_with("HTTP/1.1 431 "), "{head}");
        assert!(head.contains("\r\nconnection: close"), "{head}");
        assert!(
            head.contains("\r\ncontent-type: application/json"),
            "{head}"
        );
        assert!(
            head.contains("\r\nx-content-type-options: nosniff"),
            "{head}"
        );
        assert!(!head.contains("content-length: 0"), "{head}");
        assert!(
            head.contains(&format!("content-length: {}", body.len())),
            "{head}"
        );
        let json: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(json["code"], "too_large");
        assert!(json["message"].as_str().unwrap().contains("16384"));
    }

    #[test]
    fn responses_with_bodies_and_successes_pass_unchanged() {
        for head in [
            &b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n"[..],
            b"HTTP/1.1 404 Not Found\r\ncontent-type: application/json\r\ncontent-length: 40\r\n\r\n",
            b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n{\"partial\":",
            b"not a response",
        ] {
            assert!(json_refusal(head).is_none(), "{}", String::from_utf8_lossy(head));
        }
        let out = json_refusal(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n").unwrap();
        assert!(
            String::from_utf8(out)
                .unwrap()
                .contains("\"malformed_request\"")
        );
    }

    #[test]
    fn per_client_slots_are_counted_and_released() {
        let clients = Arc::new(Clients::default());
        let ip: IpAddr = "10.0.0.1".parse().unwrap();
        let other: IpAddr = "10.0.0.2".parse().unwrap();
        let a = clients.enter(ip, 2).expect("first");
        let _b = clients.enter(ip, 2).expect("second");
        assert!(
            clients.enter(ip, 2).is_none(),
            "a third from the same client"
        );
        assert!(
            clients.enter(other, 2).is_some(),
            "another client is not affected"
        );
        drop(a);
        assert!(
            clients.enter(ip, 2).is_some(),
            "a slot freed by a close is reused"
        );
        drop(_b);
    }
}
