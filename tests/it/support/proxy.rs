//! A real reverse proxy on a free loopback port — nginx, Caddy or HAProxy, Debian's, as
//! `make setup` installs them — running one of the project's own configuration files from
//! `deploy/` with its two addresses pointed at a test server. Stopped when dropped.
//!
//! Every file in `deploy/` proxies `127.0.0.1:3000` (the scale-out one `127.0.0.1:3001` and
//! `:3002`) and listens on `127.0.0.1:8080` (or, over TLS, `127.0.0.1:8443` with its
//! certificate under `/etc/ssl/tickstream/`); those are the strings replaced here, so a test
//! runs the very file a reader would deploy.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running proxy.
pub struct Proxy {
    /// Where it listens.
    pub addr: SocketAddr,
    child: Child,
    dir: PathBuf,
}

/// `deploy/<file>` with its addresses pointed at `apps` and `listen`: one app replaces
/// `127.0.0.1:3000`; several replace `127.0.0.1:3001`, `127.0.0.1:3002`, … in order (the
/// scale-out file's upstream).
fn deploy_file(file: &str, apps: &[SocketAddr], listen: SocketAddr) -> String {
    let source = format!("{}/deploy/{file}", env!("CARGO_MANIFEST_DIR"));
    let mut text = std::fs::read_to_string(&source).expect("the deploy config");
    // More apps than the file's upstream names: more lines like its last server's.
    for n in 3..=apps.len() {
        let model = format!("127.0.0.1:{}", 3000 + n - 1);
        let Some(line) = text
            .lines()
            .find(|line| line.contains(&model))
            .map(str::to_owned)
        else {
            break;
        };
        let extra = line.replace(&model, &format!("127.0.0.1:{}", 3000 + n));
        text = text.replacen(&line, &format!("{line}\n{extra}"), 1);
    }
    let placeholders: Vec<String> = match apps {
        [_] => vec!["127.0.0.1:3000".to_owned()],
        _ => (1..=apps.len())
            .map(|n| format!("127.0.0.1:{}", 3000 + n))
            .collect(),
    };
    assert!(
        placeholders.iter().all(|p| text.contains(p.as_str()))
            && (text.contains("127.0.0.1:8080") || text.contains("127.0.0.1:8443")),
        "{source} no longer has the addresses the tests replace"
    );
    for (placeholder, app) in placeholders.iter().zip(apps) {
        text = text.replace(placeholder.as_str(), &app.to_string());
    }
    text.replace("127.0.0.1:8080", &listen.to_string())
        .replace("127.0.0.1:8443", &listen.to_string())
}

/// The certificate paths the TLS files in `deploy/` name.
const DEPLOY_CERT: &str = "/etc/ssl/tickstream/cert.pem";
const DEPLOY_KEY: &str = "/etc/ssl/tickstream/key.pem";

fn binary(candidates: &[&str], name: &str) -> String {
    candidates
        .iter()
        .find(|path| Path::new(path).exists())
        .map(|path| (*path).to_owned())
        .unwrap_or_else(|| panic!("{name} is not installed: run `make setup`"))
}

impl Proxy {
    /// nginx with `deploy/nginx/<site>` in front of `app` (with a fresh self-signed
    /// certificate when the site serves TLS).
    pub fn nginx(site: &str, app: SocketAddr) -> Proxy {
        Proxy::nginx_for(site, &[app])
    }

    /// nginx with `deploy/nginx/<site>` in front of several instances (its upstream's
    /// servers, in order).
    pub fn nginx_for(site: &str, apps: &[SocketAddr]) -> Proxy {
        let app = apps[0];
        let nginx = binary(&["/usr/sbin/nginx", "/usr/local/sbin/nginx"], "nginx");
        Proxy::start("nginx", app, |dir, listen| {
            let mut text = deploy_file(&format!("nginx/{site}"), apps, listen);
            if text.contains(DEPLOY_CERT) {
                // A certificate of its own for 127.0.0.1, as `--tls self-signed` makes one.
                let made = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned()])
                    .expect("a certificate");
                let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
                std::fs::write(&cert, made.cert.pem()).expect("writes");
                std::fs::write(&key, made.signing_key.serialize_pem()).expect("writes");
                text = text
                    .replace(DEPLOY_CERT, &cert.display().to_string())
                    .replace(DEPLOY_KEY, &key.display().to_string());
            }
            std::fs::write(dir.join("site.conf"), text).expect("writes");
            let d = dir.display();
            // One process (`master_process off`), so that killing it leaves no workers.
            let main_conf = format!(
                "daemon off;\nmaster_process off;\npid {d}/nginx.pid;\nerror_log {d}/error.log warn;\n\
                 events {{ worker_connections 512; }}\n\
                 http {{\n  access_log off;\n  client_body_temp_path {d}/body;\n  proxy_temp_path {d}/proxy;\n  \
                 fastcgi_temp_path {d}/fastcgi;\n  uwsgi_temp_path {d}/uwsgi;\n  scgi_temp_path {d}/scgi;\n  \
                 include {d}/site.conf;\n}}\n"
            );
            std::fs::write(dir.join("nginx.conf"), main_conf).expect("writes");
            let mut command = Command::new(&nginx);
            command.args(["-p", &d.to_string(), "-c", "nginx.conf", "-e", "error.log"]);
            command
        })
    }

    /// Caddy with `deploy/caddy/Caddyfile` in front of `app`.
    pub fn caddy(app: SocketAddr) -> Proxy {
        let caddy = binary(&["/usr/bin/caddy", "/usr/local/bin/caddy"], "caddy");
        Proxy::start("caddy", app, |dir, listen| {
            std::fs::write(
                dir.join("Caddyfile"),
                deploy_file("caddy/Caddyfile", &[app], listen),
            )
            .expect("writes");
            let mut command = Command::new(&caddy);
            command
                .args(["run", "--adapter", "caddyfile", "--config"])
                .arg(dir.join("Caddyfile"))
                // Caddy keeps state under the user's data and config folders.
                .env("XDG_DATA_HOME", dir.join("data"))
                .env("XDG_CONFIG_HOME", dir.join("config"))
                .env("HOME", dir);
            command
        })
    }

    /// HAProxy with `deploy/haproxy/haproxy.cfg` in front of `app`.
    pub fn haproxy(app: SocketAddr) -> Proxy {
        let haproxy = binary(&["/usr/sbin/haproxy", "/usr/local/sbin/haproxy"], "haproxy");
        Proxy::start("haproxy", app, |dir, listen| {
            let config = dir.join("haproxy.cfg");
            std::fs::write(&config, deploy_file("haproxy/haproxy.cfg", &[app], listen))
                .expect("writes");
            let mut command = Command::new(&haproxy);
            command.arg("-db").arg("-f").arg(config);
            command
        })
    }

    /// Makes a temporary folder, lets `prepare` write the configuration and the command,
    /// starts it, and waits until it listens.
    fn start(
        name: &str,
        app: SocketAddr,
        prepare: impl FnOnce(&Path, SocketAddr) -> Command,
    ) -> Proxy {
        let port = free_port();
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().expect("addr");
        let dir =
            std::env::temp_dir().join(format!("tickstream-{name}-{}-{port}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let mut command = prepare(&dir, addr);
        let log = std::fs::File::create(dir.join("output.log")).expect("a log file");
        let child = command
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|err| panic!("{name} starts: {err}"));
        let proxy = Proxy { addr, child, dir };
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(addr).is_err() {
            assert!(
                Instant::now() < deadline,
                "{name} (for {app}) did not start listening: {}",
                proxy.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        proxy
    }

    /// What the proxy wrote to its error log or standard error.
    pub fn log(&self) -> String {
        ["error.log", "output.log"]
            .iter()
            .map(|file| std::fs::read_to_string(self.dir.join(file)).unwrap_or_default())
            .collect()
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A port nobody is listening on right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .expect("a free port")
}
