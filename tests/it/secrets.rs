//! The admin token never leaves a trace: requests that carry it (right or wrong) are logged
//! at every level down to TRACE without it, `/metrics` never shows it, and the diagnostic
//! stream echoes `Authorization` as `<redacted>`.
//!
//! The server runs on this test's own single-threaded runtime. The log subscriber is the
//! process's global one (a thread-local default can miss events whose callsites other
//! threads registered first), with a filter that takes events from this test's thread only:
//! the capture holds this server's logs, at every level, and nothing of the other tests
//! running in the same process.

use crate::support::TestServer;
use std::cell::Cell;
use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::Layer;

const TOKEN: &str = "s3cret-admin-token-that-must-not-leak";

/// Everything logged, as text.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

thread_local! {
    /// Whether this thread's events are captured.
    static CAPTURING: Cell<bool> = const { Cell::new(false) };
}

/// The capture, installed once as the process's subscriber.
fn capture() -> Capture {
    static CAPTURE: OnceLock<Capture> = OnceLock::new();
    CAPTURE
        .get_or_init(|| {
            let capture = Capture::default();
            let writer = capture.clone();
            let layer = tracing_subscriber::fmt::layer()
                .with_ansi(false)
                .with_writer(move || writer.clone())
                .with_filter(tracing_subscriber::filter::filter_fn(|_| {
                    CAPTURING.with(Cell::get)
                }));
            // Another test may have installed a subscriber; then nothing is captured, and
            // the assertion that requests were logged says so.
            let _ = tracing_subscriber::registry().with(layer).try_init();
            capture
        })
        .clone()
}

#[tokio::test(flavor = "current_thread")]
async fn the_admin_token_never_reaches_logs_or_metrics() {
    let capture = capture();
    CAPTURING.with(|capturing| capturing.set(true));

    let server = TestServer::start(&["--admin-token", TOKEN]).await;
    let ok = server
        .post("/api/admin/step", Some(TOKEN), r#"{"n":3}"#)
        .await;
    assert_eq!(ok.status, 200);
    let wrong = format!("{TOKEN}-but-wrong");
    let refused = server
        .post("/api/admin/step", Some(&wrong), r#"{"n":3}"#)
        .await;
    assert_eq!(refused.status, 401);
    let bearer = format!("Bearer {TOKEN}");
    let mut diagnostic = server
        .get("/.sse", &[("Authorization", bearer.as_str())])
        .await;
    let mut request_echo = None;
    while request_echo.is_none() {
        let event = diagnostic
            .next_event()
            .await
            .expect("the diagnostic stream");
        if event.event == "request" {
            request_echo = Some(event.data);
        }
    }
    let echo = request_echo.unwrap_or_default();
    assert!(echo.contains("Authorization: <redacted>"), "{echo}");
    assert!(!echo.contains(TOKEN), "{echo}");

    let metrics = server.get("/metrics", &[]).await.body().await;
    assert!(!metrics.contains("s3cret"), "the token is in /metrics");
    drop(diagnostic);
    drop(server);

    let logs = String::from_utf8_lossy(&capture.0.lock().expect("logs")).into_owned();
    assert!(
        logs.contains("/api/admin/step"),
        "the requests were logged at all:\n{logs}"
    );
    assert!(
        !logs.contains("s3cret"),
        "the token is in the logs:\n{logs}"
    );
}
