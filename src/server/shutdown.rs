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
    let signal = tokio::select! {
        () = interrupt => "SIGINT",
        () = terminate => "SIGTERM",
        () = token.cancelled() => return,
    };
    // Shut down first, then say so: nothing a log write does can stop the shutdown.
    token.cancel();
    tracing::info!("{signal} received: shutting down");
}

/// Ends open streams on demand: all of them at shutdown, every stream open right now when
/// an instructor asks (`POST /api/admin/disconnect`), or one by name when the transport lab
/// asks (`DELETE /api/connections/{name}`), so a workshop can watch clients reconnect and
/// resume by themselves.
pub struct StreamEnds {
    shutdown: CancellationToken,
    current: std::sync::Mutex<CancellationToken>,
    /// Open streams by name, for ending one at a time.
    open: std::sync::Mutex<std::collections::HashMap<String, CancellationToken>>,
    counter: std::sync::atomic::AtomicU64,
    keys: std::collections::hash_map::RandomState,
}

impl StreamEnds {
    /// The registry of a server whose shutdown is `shutdown`.
    pub fn new(shutdown: CancellationToken) -> StreamEnds {
        let current = std::sync::Mutex::new(shutdown.child_token());
        StreamEnds {
            shutdown,
            current,
            open: std::sync::Mutex::new(std::collections::HashMap::new()),
            counter: std::sync::atomic::AtomicU64::new(0),
            keys: std::collections::hash_map::RandomState::new(),
        }
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

/// A streaming connection's entry in [`StreamEnds`]: its name, and the token that ends it.
/// Dropping it (when the stream ends) removes the entry.
pub struct OpenStream {
    /// Its name, told to its client in `hello`.
    pub name: String,
    /// Cancelled when the stream must end.
    pub token: CancellationToken,
    ends: std::sync::Arc<StreamEnds>,
}

impl Drop for OpenStream {
    fn drop(&mut self) {
        self.ends.registry().remove(&self.name);
    }
}

impl StreamEnds {
    /// Registers a new stream: it ends at shutdown, at `end_all`, or at `end(name)`.
    pub fn open(self: &std::sync::Arc<Self>) -> OpenStream {
        let token = self.token();
        let name = self.fresh_name();
        self.registry().insert(name.clone(), token.clone());
        OpenStream {
            name,
            token,
            ends: self.clone(),
        }
    }

    /// Ends one stream by name; `false` if no such stream is open.
    pub fn end(&self, name: &str) -> bool {
        match self.registry().remove(name) {
            Some(token) => {
                token.cancel();
                true
            }
            None => false,
        }
    }

    /// A name nobody can guess: a connection may be dropped by anyone who knows its name,
    /// and only that connection's client is told it (in its `hello` event). SipHash with the
    /// process's random keys over a counter gives unpredictable names without another crate.
    fn fresh_name(&self) -> String {
        use std::hash::{BuildHasher, Hasher};
        let count = self
            .counter
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let mut hasher = self.keys.build_hasher();
        hasher.write_u64(count);
        format!("{:016x}", hasher.finish())
    }

    fn registry(
        &self,
    ) -> std::sync::MutexGuard<'_, std::collections::HashMap<String, CancellationToken>> {
        // Inserts and removes are single operations: a poisoned lock holds a valid map.
        self.open
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}
