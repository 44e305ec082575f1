//! A real nginx (Debian's, installed by `make setup`) on a free loopback port, running one
//! of the configurations in `deploy/nginx/` with its addresses pointed at a test server.
//! Stopped when dropped.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Nginx {
    pub addr: SocketAddr,
    child: Child,
    dir: PathBuf,
}

impl Nginx {
    /// Runs `deploy/nginx/<site>` in front of `app`.
    pub fn start(site: &str, app: SocketAddr) -> Nginx {
        let binary = ["/usr/sbin/nginx", "/usr/local/sbin/nginx"]
            .into_iter()
            .find(|path| std::path::Path::new(path).exists())
            .expect("nginx is not installed: run `make setup`");
        let port = free_port();
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().expect("addr");
        let dir =
            std::env::temp_dir().join(format!("tickstream-nginx-{}-{port}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");

        let source = format!("{}/deploy/nginx/{site}", env!("CARGO_MANIFEST_DIR"));
        let text = std::fs::read_to_string(&source).expect("the deploy config");
        assert!(text.contains("server 127.0.0.1:3000;") && text.contains("listen 127.0.0.1:8080;"));
        let site_conf = text
            .replace("server 127.0.0.1:3000;", &format!("server {app};"))
            .replace("listen 127.0.0.1:8080;", &format!("listen {addr};"));
        std::fs::write(dir.join("site.conf"), site_conf).expect("writes");
        let d = dir.display();
        // One process (`master_process off`), so that killing it leaves no workers behind.
        let main_conf = format!(
            "daemon off;\nmaster_process off;\npid {d}/nginx.pid;\nerror_log {d}/error.log warn;\n\
             events {{ worker_connections 512; }}\n\
             http {{\n  access_log off;\n  client_body_temp_path {d}/body;\n  proxy_temp_path {d}/proxy;\n  \
             fastcgi_temp_path {d}/fastcgi;\n  uwsgi_temp_path {d}/uwsgi;\n  scgi_temp_path {d}/scgi;\n  \
             include {d}/site.conf;\n}}\n"
        );
        std::fs::write(dir.join("nginx.conf"), main_conf).expect("writes");
        let child = Command::new(binary)
            .args([
                "-p",
                &dir.display().to_string(),
                "-c",
                "nginx.conf",
                "-e",
                "error.log",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("nginx starts");
        let nginx = Nginx { addr, child, dir };
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(addr).is_err() {
            assert!(
                Instant::now() < deadline,
                "nginx did not start listening: {}",
                nginx.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        nginx
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("error.log")).unwrap_or_default()
    }
}

impl Drop for Nginx {
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
