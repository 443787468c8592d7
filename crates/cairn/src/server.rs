//! The HTTP server as a function: give it a bound listener, the app and a shutdown future.
//! Tests bind `127.0.0.1:0` and run it in-process; `cairn serve` binds the configured address.
//!
//! No request timeout: GetActivityTask long-polls for 60 s, and anything shorter than 65 s
//! would cut workers off. Request bodies are capped at 4 MiB (AWS's quota is 1 MB; a
//! 1,048,576-character definition grows when JSON-escaped).

use crate::api;
use crate::app::App;
use axum::extract::DefaultBodyLimit;
use axum::Router;
use std::future::Future;
use std::sync::Arc;

/// Largest request body accepted.
pub const MAX_BODY_BYTES: usize = 4 * 1024 * 1024;

/// Every path and method goes to the AWS JSON 1.0 handler (SDKs post to `/`).
pub fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/metrics", axum::routing::get(api::metrics::handle))
        .fallback(api::handle_http)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(app)
}

/// Serve until `shutdown` resolves, then stop accepting and let requests in flight finish.
/// The engine is not stopped here: its owner calls `engine.shutdown()` afterwards.
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: Arc<App>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(app))
        .with_graceful_shutdown(shutdown)
        .await
}

/// [`serve`] over TLS: the same router behind a [`crate::tls::TlsListener`].
pub async fn serve_tls(
    listener: tokio::net::TcpListener,
    acceptor: tokio_rustls::TlsAcceptor,
    app: Arc<App>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let listener = crate::tls::TlsListener::new(listener, acceptor)?;
    axum::serve(listener, router(app))
        .with_graceful_shutdown(shutdown)
        .await
}
