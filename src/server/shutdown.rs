//! Shutdown as a first-class part of the server.
//!
//! One [`CancellationToken`] is the shutdown signal. SIGINT or SIGTERM cancels it; the
//! driver stops stepping, every open stream sees it and ends itself (axum's graceful
//! shutdown waits for responses to finish, and a stream never would on its own), and the
//! listener stops accepting. So the process exits promptly however many clients are
//! connected.

use tokio_util::sync::CancellationToken;

/// Cancels `token` on SIGINT (Ctrl-C) or SIGTERM.
pub async fn cancel_on_signal(token: CancellationToken) {
    let interrupt = async {
        if tokio::signal::ctrl_c().await.is_err() {
            // No handler could be installed: wait on the other signal alone.
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut stream) => {
                stream.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => tracing::info!("SIGINT received: shutting down"),
        () = terminate => tracing::info!("SIGTERM received: shutting down"),
        () = token.cancelled() => return,
    }
    token.cancel();
}
