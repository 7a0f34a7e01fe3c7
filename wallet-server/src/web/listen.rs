//! Serving HTTP/1.1 with hyper directly rather than `axum::serve`, for one setting: the
//! largest request head hyper reads. Over its limit hyper itself answers `431` with an empty
//! body and closes, before any of our code runs; so its buffer is raised far above
//! [`MAX_HEADER_BYTES`] and the router's `limit_headers` layer answers the heads between the
//! two with our JSON error (`headers_too_large`). Graceful shutdown as `axum::serve` does it:
//! stop accepting, let every connection finish its request in flight.
//!
//! With a TLS acceptor (`--tls-cert`, `--tls-key`, see `tls.rs`) each connection first
//! completes its handshake, within the same time a plain client has to send its head, and is
//! then served exactly as a plain one.

use std::future::Future;
use std::time::Duration;

use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::{GracefulShutdown, Watcher};
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

/// The largest request head (all header lines) the router takes; a larger one is answered
/// `431 headers_too_large`. A bearer token, a session cookie and the usual headers fit many
/// times over.
pub const MAX_HEADER_BYTES: usize = 16 * 1024;

/// The largest request head hyper reads before it answers a bare `431` itself: far above
/// [`MAX_HEADER_BYTES`], so that heads of a few MB still get our JSON answer.
const HYPER_MAX_BUF: usize = 4 * 1024 * 1024;

/// How long a client may take to send a request head (slow-loris clients are dropped).
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);

/// Serves `app` on `listener` (over TLS when `tls` is set) until `shutdown` completes, then
/// waits for the connections.
pub async fn serve(
    listener: TcpListener,
    app: axum::Router,
    tls: Option<TlsAcceptor>,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    // Out of file descriptors and the like: wait rather than spin.
                    tracing::error!(error = %e, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let (app, watcher) = (app.clone(), graceful.watcher());
        match &tls {
            None => {
                tokio::spawn(connection(stream, app, watcher));
            }
            Some(acceptor) => {
                let handshake = acceptor.accept(stream);
                tokio::spawn(async move {
                    match tokio::time::timeout(HEADER_READ_TIMEOUT, handshake).await {
                        Ok(Ok(stream)) => connection(stream, app, watcher).await,
                        Ok(Err(e)) => tracing::debug!(error = %e, "TLS handshake failed"),
                        Err(_) => tracing::debug!("TLS handshake timed out"),
                    }
                });
            }
        }
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}

/// Serves one connection (plain or TLS) to its end, watched for graceful shutdown.
async fn connection<S>(stream: S, app: axum::Router, watcher: Watcher)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .max_buf_size(HYPER_MAX_BUF)
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT);
    let connection = builder.serve_connection(TokioIo::new(stream), TowerToHyperService::new(app));
    if let Err(e) = watcher.watch(connection).await {
        tracing::debug!(error = %e, "connection ended with an error");
    }
}
