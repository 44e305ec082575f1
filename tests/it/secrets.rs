//! The admin token never leaves a trace: requests that carry it (right or wrong) are logged
//! at every level down to TRACE without it, `/metrics` never shows it, and the diagnostic
//! stream echoes `Authorization` as `<redacted>`.
//!
//! The server runs on this test's own single-threaded runtime, and the log subscriber is
//! this thread's default, so the capture holds this server's logs and nothing from the
//! other tests running in the same process.

use crate::support::TestServer;
use std::io::Write;
use std::sync::{Arc, Mutex};

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

#[tokio::test(flavor = "current_thread")]
async fn the_admin_token_never_reaches_logs_or_metrics() {
    let capture = Capture::default();
    let writer = capture.clone();
    // Held to the end: this thread's logs go to the capture while it lives.
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let _logging = tracing::subscriber::set_default(subscriber);

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
