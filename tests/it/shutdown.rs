//! The server process stops on `SIGTERM` — also when nobody reads its log any more: a pipe
//! to a log reader that went first (`tickstream | head`, a crashed collector, a supervisor
//! that killed the reader before the server) must not turn a shutdown into a hang.

use crate::support::PATIENCE;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A server process, killed if a test ends (or fails) before it does.
struct Server(Option<Child>);

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut child) = self.0.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// `tickstream` on a free port with its output on pipes; returns once it listens.
async fn start() -> Server {
    let port = crate::support::proxy::free_port();
    let child = Command::new(env!("CARGO_BIN_EXE_tickstream"))
        .args(["--addr", &format!("127.0.0.1:{port}")])
        .args([
            "--leptos-config",
            concat!(env!("CARGO_MANIFEST_DIR"), "/Leptos.toml"),
        ])
        // The shutdown is logged at `info`: that write is the one that meets the closed pipe.
        .env("RUST_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("tickstream starts");
    let server = Server(Some(child));
    let deadline = Instant::now() + PATIENCE;
    while tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .is_err()
    {
        assert!(Instant::now() < deadline, "tickstream never listened");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    server
}

fn sigterm(child: &Child) {
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success(), "kill -TERM failed");
}

/// Waits for the process to end, and says how it ended (`None`: it did not).
async fn ended(server: &mut Server) -> Option<std::process::ExitStatus> {
    let child = server.0.as_mut().expect("a running server");
    let deadline = Instant::now() + PATIENCE;
    while Instant::now() < deadline {
        if let Some(status) = child.try_wait().expect("try_wait") {
            return Some(status);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    None
}

#[tokio::test]
async fn sigterm_stops_the_server() {
    let mut server = start().await;
    sigterm(server.0.as_ref().expect("a running server"));
    let status = ended(&mut server)
        .await
        .expect("still running after SIGTERM");
    assert!(status.success(), "exited with {status}");
}

#[tokio::test]
async fn sigterm_stops_the_server_whose_log_reader_is_gone() {
    let mut server = start().await;
    let child = server.0.as_mut().expect("a running server");
    // Close the read ends: every later write to the log fails with EPIPE.
    drop(child.stdout.take());
    drop(child.stderr.take());
    sigterm(child);
    let status = ended(&mut server)
        .await
        .expect("still running after SIGTERM with nobody reading its log");
    assert!(status.success(), "exited with {status}");
}
