//! A `tickstream` process of its own (the binary built with the tests), on a
//! free loopback port, on a shared Redis: what the failover, fencing and chaos tests start,
//! stop, pause and kill. Killed when dropped.

use crate::support::{Response, PATIENCE};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tickstream::wire::EventId;

/// The admin token every instance is started with.
pub const TOKEN: &str = "instance-token";

/// One `tickstream` process.
pub struct Instance {
    child: Child,
    /// Where it listens.
    pub addr: SocketAddr,
    /// Its command line after `--addr`, to start it again the same way.
    args: Vec<String>,
}

impl Instance {
    /// `tickstream --bus <bus> --role <role>` with seed 42, no warm-up, and `extra` flags
    /// (the manual clock unless `extra` names another), once it is ready.
    pub async fn start(bus: &str, role: &str, extra: &[&str]) -> Instance {
        let port = crate::support::proxy::free_port();
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().expect("addr");
        let mut args: Vec<String> = ["--bus", bus, "--role", role, "--seed", "42"]
            .iter()
            .map(|arg| (*arg).to_owned())
            .collect();
        if !extra.contains(&"--clock") {
            args.extend(["--clock".to_owned(), "manual".to_owned()]);
        }
        args.extend(["--warmup-steps", "0", "--admin-token", TOKEN].map(str::to_owned));
        args.extend(extra.iter().map(|arg| (*arg).to_owned()));
        Instance::spawn(addr, args).await
    }

    /// `SIGKILL`, then the same instance again `down_for` later: same port, same flags.
    pub async fn kill_and_restart(&mut self, down_for: Duration) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        tokio::time::sleep(down_for).await;
        let again = Instance::spawn(self.addr, self.args.clone()).await;
        *self = again;
    }

    /// `POST {path}` with a JSON `body` and the admin token; the status and the body.
    pub async fn admin(&self, path: &str, body: &str) -> (u16, String) {
        let head = format!(
            "POST {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        let mut response = Response::get_raw_head(self.addr, head.as_bytes()).await;
        let text = response.body().await;
        (response.status, text)
    }

    async fn spawn(addr: SocketAddr, args: Vec<String>) -> Instance {
        let child = Command::new(env!("CARGO_BIN_EXE_tickstream"))
            .args(["--addr", &addr.to_string()])
            .args(&args)
            .args([
                "--leptos-config",
                concat!(env!("CARGO_MANIFEST_DIR"), "/Leptos.toml"),
            ])
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .spawn()
            .expect("tickstream starts");
        let instance = Instance { child, addr, args };
        let deadline = Instant::now() + PATIENCE;
        while tokio::net::TcpStream::connect(addr).await.is_err() {
            assert!(Instant::now() < deadline, "{addr} never listened");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        while Response::get(addr, "/readyz", &[]).await.status != 200 {
            assert!(Instant::now() < deadline, "{addr} never became ready");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        instance
    }

    /// Its process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// `SIGKILL`: the process ends at once, its lease left to lapse.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// `SIGTERM`, then waits for the process to end: a graceful stop.
    pub fn terminate(mut self) {
        self.signal("-TERM");
        let _ = self.child.wait();
    }

    /// `SIGSTOP`: the process stops where it is, its sockets open, as in a long stall.
    pub fn pause(&self) {
        self.signal("-STOP");
    }

    /// `SIGCONT`: it goes on from where it stopped.
    pub fn resume(&self) {
        self.signal("-CONT");
    }

    fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .args([signal, &self.pid().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success(), "kill {signal} {}", self.pid());
    }

    /// `POST /api/admin/step {"n"}`: the newest id, or `None` when this instance does not
    /// run the market (`409 not_the_market`).
    pub async fn step(&self, n: u64) -> Option<EventId> {
        let (status, text) = self
            .admin("/api/admin/step", &format!(r#"{{"n":{n}}}"#))
            .await;
        match status {
            200 => {
                let json: serde_json::Value = serde_json::from_str(&text).expect("JSON");
                json["id"].as_str().and_then(|id| id.parse().ok())
            }
            409 => {
                assert!(text.contains("not_the_market"), "{text}");
                None
            }
            other => panic!("step: {other} {text}"),
        }
    }

    /// Whether it runs the market now: it takes a step (harmless on a real-time market).
    pub async fn holds(&self) -> bool {
        self.step(1).await.is_some()
    }

    /// Waits until it runs the market; how long that took.
    pub async fn until_holding(&self) -> Duration {
        let asked = Instant::now();
        while !self.holds().await {
            assert!(
                asked.elapsed() < 3 * PATIENCE,
                "{} never took the market over",
                self.addr
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        asked.elapsed()
    }

    /// Steps once as soon as this instance runs the market; how long that took.
    pub async fn step_once_holding(&self) -> (EventId, Duration) {
        let asked = Instant::now();
        loop {
            if let Some(id) = self.step(1).await {
                return (id, asked.elapsed());
            }
            assert!(
                asked.elapsed() < 3 * PATIENCE,
                "{} never took the market over",
                self.addr
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// The quotes of `/api/snapshot` at `addr`.
    pub async fn quotes(addr: SocketAddr) -> Vec<serde_json::Value> {
        let body = Response::get(addr, "/api/snapshot", &[]).await.body().await;
        let snapshot: serde_json::Value = serde_json::from_str(&body).expect("JSON");
        snapshot["data"]["symbols"]
            .as_array()
            .expect("symbols")
            .iter()
            .map(|symbol| symbol["quote"].clone())
            .collect()
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        // SIGKILL ends a paused process too.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
