//! The HTTP server as a function: give it a bound listener, the app and a shutdown future.
//! Tests bind `127.0.0.1:0` and run it in-process; `cairn serve` binds the configured address.
//!
//! No request timeout: GetActivityTask long-polls for 60 s, and anything shorter than 65 s
//! would cut workers off. Request bodies are capped at 4 MiB (AWS's quota is 1 MB; a
//! 1,048,576-character definition grows when JSON-escaped).

use crate::api;
use crate::app::App;
use crate::console;
use axum::extract::DefaultBodyLimit;
use axum::Router;
use std::future::Future;
use std::sync::Arc;

/// Largest request body accepted.
pub const MAX_BODY_BYTES: usize = 4 * 1024 * 1024;

/// `GET /metrics`, the console's GET routes (`GET /`, `/console/...`), and every other path
/// and method to the AWS JSON 1.0 handler (SDKs post to `/`).
pub fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/metrics", axum::routing::get(api::metrics::handle))
        .merge(console::routes())
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
    // The console's event streams end when shutdown begins (they would otherwise keep the
    // graceful shutdown waiting for as long as their execution runs).
    let (tx, rx) = tokio::sync::watch::channel(false);
    let mut closing = rx.clone();
    tokio::spawn(async move {
        shutdown.await;
        let _ = tx.send(true);
    });
    let router = router(app).layer(axum::Extension(console::Closing(rx)));
    axum::serve(listener, router)
        .with_graceful_shutdown(async move {
            let _ = closing.wait_for(|closed| *closed).await;
        })
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
