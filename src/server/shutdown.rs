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

/// Ends open streams on demand: all of them at shutdown, or every stream open right now
/// when an instructor asks (`POST /api/admin/disconnect`), so a workshop can watch clients
/// reconnect and resume by themselves.
pub struct StreamEnds {
    shutdown: CancellationToken,
    current: std::sync::Mutex<CancellationToken>,
}

impl StreamEnds {
    pub fn new(shutdown: CancellationToken) -> StreamEnds {
        let current = std::sync::Mutex::new(shutdown.child_token());
        StreamEnds { shutdown, current }
    }

    /// The token a new stream watches: cancelled at shutdown or at the next `end_all`.
    pub fn token(&self) -> CancellationToken {
        self.lock().child_token()
    }

    /// Ends every stream open now; streams opened afterwards are not affected.
    pub fn end_all(&self) {
        let mut current = self.lock();
        current.cancel();
        *current = self.shutdown.child_token();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, CancellationToken> {
        // Replacing a token is one assignment: a poisoned lock still holds a valid one.
        self.current
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}
