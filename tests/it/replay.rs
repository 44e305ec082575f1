//! The binary as an operator runs it: a seed replays the same market in another process,
//! and bad settings stop it with a clear message.

use serde_json::Value;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Output, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_tickstream");

/// A server process, killed when dropped.
struct Process {
    child: Child,
    addr: String,
}

impl Process {
    fn start(args: &[&str]) -> Process {
        let mut child = Command::new(BIN)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .args(["--addr", "127.0.0.1:0"])
            .args(args)
            .env("RUST_LOG", "info")
            .env("NO_COLOR", "1")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("the binary starts");
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = BufReader::new(stdout).lines();
        let addr = loop {
            let line = lines
                .next()
                .expect("the server announces its address")
                .expect("readable output");
            if let Some(at) = line.find("http://") {
                let addr: String = line[at + 7..]
                    .chars()
                    .take_while(|c| c.is_ascii_digit() || *c == '.' || *c == ':')
                    .collect();
                break addr;
            }
        };
        // Keep draining the log so the server never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        Process { child, addr }
    }

    fn get(&self, path: &str) -> String {
        self.request("GET", path, "", "")
    }

    /// One request on a fresh connection; `headers` are extra header lines, each ending in
    /// CRLF. Returns the body of a 200 answer.
    fn request(&self, method: &str, path: &str, headers: &str, body: &str) -> String {
        let mut stream = TcpStream::connect(&self.addr).expect("connects");
        write!(
            stream,
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n{headers}\
             Content-Length: {}\r\n\r\n{body}",
            self.addr,
            body.len()
        )
        .expect("sends");
        let mut response = String::new();
        stream.read_to_string(&mut response).expect("reads");
        let (head, body) = response.split_once("\r\n\r\n").expect("a response");
        assert!(head.starts_with("HTTP/1.1 200"), "{head}");
        body.to_owned()
    }

    /// `/api/snapshot` without what legitimately differs between processes: publish
    /// times and the epoch half of ids.
    fn comparable_snapshot(&self) -> Value {
        let mut snapshot: Value = serde_json::from_str(&self.get("/api/snapshot")).expect("JSON");
        strip_wall_clock(&mut snapshot);
        snapshot
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn strip_wall_clock(value: &mut Value) {
    match value {
        Value::Object(map) => {
            map.remove("ts");
            if let Some(Value::String(id)) = map.get_mut("id") {
                if let Some((_, seq)) = id.split_once('-') {
                    *id = seq.to_owned();
                }
            }
            map.values_mut().for_each(strip_wall_clock);
        }
        Value::Array(items) => items.iter_mut().for_each(strip_wall_clock),
        _ => {}
    }
}

#[test]
fn the_same_seed_replays_the_same_market_in_another_process() {
    let flags = ["--seed", "42", "--clock", "manual", "--warmup-steps", "300"];
    let first = Process::start(&flags);
    let second = Process::start(&flags);
    let a = first.comparable_snapshot();
    let b = second.comparable_snapshot();
    assert_eq!(a, b);
    // It is a real market: it moved during the warm-up and carries headlines.
    assert!(a["data"]["symbols"][0]["points"]
        .as_array()
        .is_some_and(|p| p.len() > 100));
    assert_ne!(
        a["data"]["symbols"][0]["quote"]["last"], a["data"]["symbols"][0]["quote"]["open"],
        "prices moved"
    );

    let other = Process::start(&["--seed", "43", "--clock", "manual", "--warmup-steps", "300"]);
    assert_ne!(
        other.comparable_snapshot()["data"]["symbols"],
        a["data"]["symbols"]
    );
}

#[test]
fn two_seeded_manual_servers_stay_identical_after_the_same_steps() {
    let flags = [
        "--seed",
        "7",
        "--clock",
        "manual",
        "--admin-token",
        "replay-token-1",
    ];
    let first = Process::start(&flags);
    let second = Process::start(&flags);
    let auth = "Authorization: Bearer replay-token-1\r\n";
    for process in [&first, &second] {
        let reply = process.request("POST", "/api/admin/step", auth, r#"{"n":200}"#);
        assert!(reply.contains("\"steps\":200"), "{reply}");
    }
    assert_eq!(first.comparable_snapshot(), second.comparable_snapshot());
}

fn run(args: &[&str]) -> Output {
    Command::new(BIN)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(args)
        .output()
        .expect("the binary runs")
}

#[test]
fn bad_settings_stop_the_server_with_a_clear_message() {
    for (args, says) in [
        (&["--seed", "minus one"][..], "--seed"),
        (&["--no-such-flag"], "--no-such-flag"),
        (&["--clock", "sundial"], "sundial"),
        (
            &["--universe", "/nonexistent/universe.toml"],
            "/nonexistent/universe.toml",
        ),
        (&["--leptos-config", "/nonexistent/Leptos.toml"], "Leptos"),
        (
            &[
                "--tls-cert",
                "/nonexistent/cert.pem",
                "--tls-key",
                "/nonexistent/key.pem",
            ],
            "/nonexistent/cert.pem",
        ),
    ] {
        let output = run(args);
        assert!(!output.status.success(), "{args:?} should fail");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(says), "{args:?}: {stderr}");
    }
}

#[test]
fn a_bad_universe_file_is_refused_naming_the_line() {
    let path = std::env::temp_dir().join(format!(
        "tickstream-bad-universe-{}.toml",
        std::process::id()
    ));
    std::fs::write(
        &path,
        "[[symbol]]\nsymbol = \"OK\"\nname = \"Fine\"\nsector = \"Tech\"\nstart_price = 10.0\n\
         drift = 0.1\nvolatility = 0.2\n\n[[symbol]]\nsymbol = \"bad symbol\"\nname = \"X\"\n\
         sector = \"Tech\"\nstart_price = 10.0\ndrift = 0.1\nvolatility = 0.2\n",
    )
    .expect("writes");
    let output = run(&["--universe", path.to_str().expect("UTF-8 path")]);
    let _ = std::fs::remove_file(&path);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("line 10"), "{stderr}");
    assert!(stderr.contains("symbol"), "{stderr}");
}
