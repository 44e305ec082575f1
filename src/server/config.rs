//! The server's settings, from command-line flags and `TICKSTREAM_*` environment variables
//! (flags win). Every value is checked here, at start-up, so that a bad setting stops the
//! process with a clear message instead of misbehaving later.

use clap::{Parser, ValueEnum};
use std::net::SocketAddr;
use std::path::PathBuf;

/// Every setting of the server.
#[derive(Clone, Debug, Parser)]
#[command(
    name = "tickstream",
    version,
    about = "A simulated stock market streamed over SSE, WebSocket and polling"
)]
pub struct Config {
    /// Address to serve on; defaults to `site-addr` in the Leptos settings (127.0.0.1:3000).
    #[arg(long, env = "TICKSTREAM_ADDR")]
    pub addr: Option<SocketAddr>,

    /// The Leptos run-time settings (site root, asset folder, default address).
    #[arg(long, env = "TICKSTREAM_LEPTOS_CONFIG", default_value = "Leptos.toml")]
    pub leptos_config: PathBuf,

    /// Seed of the simulated market: the same seed replays the same market. Random if unset.
    #[arg(long, env = "TICKSTREAM_SEED")]
    pub seed: Option<u64>,

    /// The market universe as a TOML file; the built-in eight tickers if unset.
    #[arg(long, env = "TICKSTREAM_UNIVERSE")]
    pub universe: Option<PathBuf>,

    /// Generated headlines per simulated minute (a Poisson rate).
    #[arg(long, env = "TICKSTREAM_NEWS_PER_MIN", default_value_t = 2.0,
          value_parser = parse_news_rate)]
    pub news_per_min: f64,

    /// Real time between two market steps, in milliseconds (`--tick-ms` is the old name).
    #[arg(long, alias = "tick-ms", env = "TICKSTREAM_STEP_MS", default_value_t = 250,
          value_parser = clap::value_parser!(u64).range(10..=60_000))]
    pub step_ms: u64,

    /// Speed factor of the real-time clock: 2 runs the market twice as fast.
    #[arg(long, env = "TICKSTREAM_SPEED", default_value_t = 1.0, value_parser = parse_speed)]
    pub speed: f64,

    /// `realtime` steps the market on a timer; `manual` only when told to (tests, workshops).
    #[arg(long, env = "TICKSTREAM_CLOCK", value_enum, default_value_t = ClockMode::Realtime)]
    pub clock: ClockMode,

    /// Market steps simulated at start-up, so the first page has a recent history to show.
    #[arg(long, env = "TICKSTREAM_WARMUP_STEPS", default_value_t = 240,
          value_parser = clap::value_parser!(u64).range(0..=100_000))]
    pub warmup_steps: u64,

    /// Bearer token for `/api/admin/…`. Without one the admin API is disabled.
    #[arg(long, env = "TICKSTREAM_ADMIN_TOKEN", hide_env_values = true)]
    pub admin_token: Option<AdminToken>,

    /// Seconds an idle stream waits before it sends a heartbeat (an SSE `: keep-alive`
    /// comment, a WebSocket ping, and a `heartbeat` event for clients that ask for one).
    #[arg(long, env = "TICKSTREAM_HEARTBEAT_SECS", default_value_t = 15,
          value_parser = clap::value_parser!(u64).range(1..=3_600))]
    pub heartbeat_secs: u64,

    /// Seconds a browser tab stays connected after it is hidden; it closes its stream then
    /// and resumes by id when it is shown again (0: close at once).
    #[arg(long, env = "TICKSTREAM_HIDDEN_GRACE_SECS", default_value_t = 60,
          value_parser = clap::value_parser!(u64).range(0..=86_400))]
    pub hidden_grace_secs: u64,

    /// Obey `/api/admin/faults` (freeze a connection on purpose, for tests of how clients
    /// heal). Needs `--admin-token`. Never on in production.
    #[arg(long, env = "TICKSTREAM_FAULTS")]
    pub faults: bool,

    /// The reconnection delay an SSE client is told to use (`retry:`), in milliseconds.
    #[arg(long, env = "TICKSTREAM_RETRY_MS", default_value_t = 2_000,
          value_parser = clap::value_parser!(u64).range(100..=600_000))]
    pub retry_ms: u64,

    /// Events kept for resuming clients.
    #[arg(long, env = "TICKSTREAM_HISTORY", default_value_t = 10_000,
          value_parser = clap::value_parser!(u64).range(16..=10_000_000))]
    pub history: u64,

    /// Events a client may fall behind the live stream before it is reset.
    #[arg(long, env = "TICKSTREAM_CLIENT_BACKLOG", default_value_t = 1_024,
          value_parser = clap::value_parser!(u64).range(16..=1_000_000))]
    pub client_backlog: u64,

    /// Milliseconds between two words of a streamed analyst note (`POST /api/explain`): the
    /// pace of a chat assistant typing.
    #[arg(long, env = "TICKSTREAM_EXPLAIN_TOKEN_MS", default_value_t = 40,
          value_parser = clap::value_parser!(u64).range(0..=2_000))]
    pub explain_token_ms: u64,

    /// Points per symbol carried in a snapshot.
    #[arg(long, env = "TICKSTREAM_SNAPSHOT_POINTS", default_value_t = 240,
          value_parser = clap::value_parser!(u64).range(1..=100_000))]
    pub snapshot_points: u64,

    /// The event bus: `memory` (one process) or `redis://HOST:PORT[/DB]` (several instances
    /// sharing one market through a Redis Stream).
    #[arg(
        long,
        env = "TICKSTREAM_BUS",
        default_value = "memory",
        hide_env_values = true
    )]
    pub bus: BusUrl,

    /// `auto` (the default): with `--bus redis://…`, the instance that holds the market
    /// lease in Redis runs the market and the others follow it, taking it over — same
    /// epoch, next id, same prices — when the holder dies; with the in-memory bus it runs
    /// the market. `both` always runs the market (a second one on the same bus is refused);
    /// `web` never does.
    #[arg(long, env = "TICKSTREAM_ROLE", value_enum, default_value_t = Role::Auto)]
    pub role: Role,

    /// Streams (SSE, WebSocket, long-poll, diagnostic) open at once, all clients together;
    /// one more is answered `503` with `Retry-After`.
    #[arg(long, env = "TICKSTREAM_MAX_STREAMS", default_value_t = 10_000,
          value_parser = clap::value_parser!(u64).range(1..=10_000_000))]
    pub max_streams: u64,

    /// Streams open at once from one client IP address; one more is answered `429` with
    /// `Retry-After`. Behind a proxy every client shares the proxy's address: raise it.
    #[arg(long, env = "TICKSTREAM_MAX_STREAMS_PER_IP", default_value_t = 1_000,
          value_parser = clap::value_parser!(u64).range(1..=10_000_000))]
    pub max_streams_per_ip: u64,

    /// The largest request body any route accepts, in bytes (the admin API caps at 16 KiB).
    #[arg(long, env = "TICKSTREAM_MAX_BODY_BYTES", default_value_t = 64 * 1024,
          value_parser = clap::value_parser!(u64).range(1_024..=16 * 1024 * 1024))]
    pub max_body_bytes: u64,

    /// Seconds a client may take to send a request's headers; also how long an idle
    /// keep-alive connection is kept (slow-loris protection).
    #[arg(long, env = "TICKSTREAM_HEADER_TIMEOUT_SECS", default_value_t = 30,
          value_parser = clap::value_parser!(u64).range(1..=3_600))]
    pub header_timeout_secs: u64,

    /// Seconds a connection's writes may make no progress (a client that stopped reading, or
    /// a half-open peer) before the server closes it.
    #[arg(long, env = "TICKSTREAM_WRITE_TIMEOUT_SECS", default_value_t = 30,
          value_parser = clap::value_parser!(u64).range(1..=3_600))]
    pub write_timeout_secs: u64,

    /// Serve HTTPS (and HTTP/2) with a certificate made at start-up for localhost and
    /// 127.0.0.1 (`self-signed`); its SHA-256 fingerprint is printed.
    #[arg(long, env = "TICKSTREAM_TLS", value_enum, conflicts_with_all = ["tls_cert", "tls_key"])]
    pub tls: Option<TlsSource>,

    /// Serve HTTPS (and HTTP/2) with this PEM certificate chain (with `--tls-key`).
    #[arg(long, env = "TICKSTREAM_TLS_CERT", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,

    /// The PEM private key of `--tls-cert`.
    #[arg(
        long,
        env = "TICKSTREAM_TLS_KEY",
        requires = "tls_cert",
        hide_env_values = true
    )]
    pub tls_key: Option<PathBuf>,

    /// An origin (`https://host[:port]`) whose pages may call the API cross-origin (CORS).
    /// Repeat it, or list several separated by commas in the environment variable. Without
    /// one, the API is same-origin only.
    #[arg(long = "cors-origin", env = "TICKSTREAM_CORS_ORIGIN", value_delimiter = ',',
          value_parser = parse_origin)]
    pub cors_origins: Vec<String>,
}

/// An origin as a browser sends it: scheme, host and optional port, nothing else.
fn parse_origin(text: &str) -> Result<String, String> {
    let rest = text
        .strip_prefix("https://")
        .or_else(|| text.strip_prefix("http://"))
        .ok_or_else(|| {
            format!("{text:?} is not an origin: expected http://HOST[:PORT] or https://HOST[:PORT]")
        })?;
    let ok = !rest.is_empty()
        && rest
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']'));
    if ok {
        Ok(text.to_owned())
    } else {
        Err(format!(
            "{text:?} is not an origin: no path, query, wildcard or trailing slash"
        ))
    }
}

/// Which bus carries the events. Its `Debug` hides the URL, which may hold a password.
#[derive(Clone, PartialEq, Eq)]
pub enum BusUrl {
    /// One process, in memory.
    Memory,
    /// A Redis Stream at this URL.
    Redis(String),
}

impl std::fmt::Debug for BusUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BusUrl::Memory => f.write_str("Memory"),
            BusUrl::Redis(_) => f.write_str("Redis(<url>)"),
        }
    }
}

impl std::str::FromStr for BusUrl {
    type Err = String;

    fn from_str(text: &str) -> Result<BusUrl, String> {
        if text == "memory" {
            return Ok(BusUrl::Memory);
        }
        if !text.starts_with("redis://") {
            return Err(
                "expected `memory` or `redis://HOST:PORT` (e.g. redis://127.0.0.1:6379)".to_owned(),
            );
        }
        redis::Client::open(text)
            .map(|_| BusUrl::Redis(text.to_owned()))
            .map_err(|err| format!("not a usable Redis URL: {err}"))
    }
}

/// What this instance does with the market.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Role {
    /// Runs the market when it holds the lease, follows it otherwise (see `--role`).
    Auto,
    /// Runs the market (the only one on its bus) and serves it.
    Both,
    /// Serves the market another instance runs; needs `--bus redis://…`.
    Web,
}

/// The admin token. Its `Debug` never shows it, so it cannot reach a log by accident.
#[derive(Clone, PartialEq, Eq)]
pub struct AdminToken(String);

impl AdminToken {
    /// The token's bytes, for a constant-time comparison.
    pub fn as_bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

impl std::fmt::Debug for AdminToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AdminToken(<redacted>)")
    }
}

impl std::str::FromStr for AdminToken {
    type Err = String;

    fn from_str(text: &str) -> Result<AdminToken, String> {
        let ok_chars = text.bytes().all(|b| b.is_ascii_graphic());
        if (8..=256).contains(&text.len()) && ok_chars {
            Ok(AdminToken(text.to_owned()))
        } else {
            Err(
                "the admin token must be 8 to 256 printable ASCII characters without spaces"
                    .to_owned(),
            )
        }
    }
}

/// Where a TLS certificate comes from when it is not given as files.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum TlsSource {
    /// Made at start-up for localhost and 127.0.0.1; browsers will ask to trust it.
    SelfSigned,
}

/// How the market's clock runs (`--clock`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ClockMode {
    /// Steps on a timer, every `--step-ms` divided by `--speed`.
    Realtime,
    /// Steps only when told to (`POST /api/admin/step`).
    Manual,
}

fn parse_speed(text: &str) -> Result<f64, String> {
    parse_ranged(text, 0.01, 1_000.0)
}

fn parse_news_rate(text: &str) -> Result<f64, String> {
    parse_ranged(text, 0.0, 600.0)
}

fn parse_ranged(text: &str, min: f64, max: f64) -> Result<f64, String> {
    let value: f64 = text
        .parse()
        .map_err(|_| format!("{text:?} is not a number"))?;
    if value.is_finite() && (min..=max).contains(&value) {
        Ok(value)
    } else {
        Err(format!("must be between {min} and {max}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_parse_and_bad_values_are_refused() {
        let config = Config::try_parse_from(["tickstream"]).expect("defaults are valid");
        assert_eq!(config.step_ms, 250);
        let old_name =
            Config::try_parse_from(["tickstream", "--tick-ms", "100"]).expect("the old flag");
        assert_eq!(old_name.step_ms, 100);
        assert_eq!(config.clock, ClockMode::Realtime);
        assert_eq!(config.max_streams, 10_000);
        assert_eq!(config.max_streams_per_ip, 1_000);
        assert!(config.cors_origins.is_empty(), "same-origin by default");
        let config = Config::try_parse_from([
            "tickstream",
            "--cors-origin",
            "https://a.example",
            "--cors-origin",
            "http://127.0.0.1:8080",
        ])
        .expect("valid");
        assert_eq!(config.cors_origins.len(), 2);
        let config = Config::try_parse_from(["tickstream", "--seed", "42", "--clock", "manual"])
            .expect("valid");
        assert_eq!(config.seed, Some(42));
        assert_eq!(config.bus, BusUrl::Memory);
        assert_eq!(config.role, Role::Auto);
        let config = Config::try_parse_from([
            "tickstream",
            "--bus",
            "redis://:hunter2@127.0.0.1:6390/2",
            "--role",
            "web",
        ])
        .expect("valid");
        assert!(matches!(&config.bus, BusUrl::Redis(url) if url.ends_with(":6390/2")));
        assert!(
            !format!("{config:?}").contains("hunter2"),
            "the URL never prints"
        );
        let config =
            Config::try_parse_from(["tickstream", "--admin-token", "s3cret-token"]).expect("valid");
        assert!(
            !format!("{config:?}").contains("s3cret"),
            "the token never prints"
        );
        for bad in [
            &["tickstream", "--seed", "-1"][..],
            &["tickstream", "--seed", "x"],
            &["tickstream", "--speed", "0"],
            &["tickstream", "--speed", "NaN"],
            &["tickstream", "--tick-ms", "1"],
            &["tickstream", "--step-ms", "1"],
            &["tickstream", "--clock", "sundial"],
            &["tickstream", "--no-such-flag"],
            &["tickstream", "--admin-token", "short"],
            &["tickstream", "--admin-token", "has a space"],
            &["tickstream", "--bus", "kafka://127.0.0.1:9092"],
            &["tickstream", "--bus", "redis://"],
            &["tickstream", "--bus", "redis://127.0.0.1:notaport"],
            &["tickstream", "--role", "market"],
            &["tickstream", "--max-streams", "0"],
            &["tickstream", "--max-streams-per-ip", "x"],
            &["tickstream", "--max-body-bytes", "10"],
            &["tickstream", "--write-timeout-secs", "0"],
            &["tickstream", "--header-timeout-secs", "0"],
            &["tickstream", "--cors-origin", "*"],
            &["tickstream", "--cors-origin", "https://a.example/"],
            &["tickstream", "--cors-origin", "a.example"],
            &["tickstream", "--tls", "homemade"],
            &["tickstream", "--tls-cert", "c.pem"],
            &[
                "tickstream",
                "--tls",
                "self-signed",
                "--tls-cert",
                "c.pem",
                "--tls-key",
                "k.pem",
            ],
        ] {
            assert!(Config::try_parse_from(bad).is_err(), "{bad:?}");
        }
    }
}
