// Real processes a spec starts for itself: a tickstream server of its own (so that what the
// spec does to it — steps, restarts — touches no other spec), and nginx in front of one.
// Each listens on a free loopback port and is stopped by `stop()` (call it in `afterAll`).
import { spawn, type ChildProcess } from "node:child_process";
import { get as httpsGet } from "node:https";
import { mkdtempSync, readFileSync, writeFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

/** The repository root (where Leptos.toml and target/site are). */
export const ROOT = resolve(__dirname, "../..");
const BINARY = join(ROOT, "target/release/tickstream");

/** A port nobody listens on right now. */
export async function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const server = createServer();
    server.once("error", fail);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => done(port));
    });
  });
}

/** Whether `url` answers 200 now; over https, whatever certificate the server shows. */
async function answers(url: string): Promise<boolean> {
  if (!url.startsWith("https:")) {
    const response = await fetch(url);
    return response.ok;
  }
  // Node's fetch cannot be told to trust one self-signed certificate; `https.get` can.
  return new Promise((done, fail) => {
    httpsGet(url, { rejectUnauthorized: false }, (response) => {
      response.resume();
      done(response.statusCode === 200);
    }).once("error", fail);
  });
}

/** Resolves once `url` answers 200, or fails after `ms`. */
async function waitFor(url: string, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      if (await answers(url)) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`${url} did not answer within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A tickstream process of a spec's own. */
export class Tickstream {
  private child?: ChildProcess;

  private constructor(
    readonly port: number,
    private readonly args: string[],
  ) {}

  /** Starts `target/release/tickstream` with `args` on a free port (or `port`). */
  static async start(args: string[], port?: number): Promise<Tickstream> {
    const server = new Tickstream(port ?? (await freePort()), args);
    await server.spawn();
    return server;
  }

  /** `https://…` when the server was started with `--tls` (self-signed or from files). */
  get url(): string {
    const tls = this.args.some((arg) => arg === "--tls" || arg === "--tls-cert");
    return `${tls ? "https" : "http"}://127.0.0.1:${this.port}`;
  }

  private async spawn(): Promise<void> {
    this.child = spawn(BINARY, ["--addr", `127.0.0.1:${this.port}`, ...this.args], {
      cwd: ROOT,
      stdio: ["ignore", "ignore", "inherit"],
    });
    await waitFor(`${this.url}/healthz`);
  }

  /** Kills the process (SIGKILL: no goodbye to its clients) and waits for it to be gone. */
  async kill(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (!child || child.exitCode !== null) return;
    await new Promise<void>((done) => {
      child.once("exit", () => done());
      child.kill("SIGKILL");
    });
  }

  /** A new process on the same port with the same arguments (a restart: a new epoch). */
  async restart(): Promise<void> {
    await this.kill();
    await this.spawn();
  }

  async stop(): Promise<void> {
    await this.kill();
  }
}

/** nginx running one of `deploy/nginx/`'s configurations in front of `app`. */
export class Nginx {
  private constructor(
    readonly port: number,
    private readonly child: ChildProcess,
    private readonly dir: string,
  ) {}

  static async start(site: string, app: number): Promise<Nginx> {
    const port = await freePort();
    const dir = mkdtempSync(join(tmpdir(), "tickstream-e2e-nginx-"));
    const text = readFileSync(join(ROOT, "deploy/nginx", site), "utf8");
    if (!text.includes("server 127.0.0.1:3000;") || !text.includes("listen 127.0.0.1:8080;")) {
      throw new Error(`${site} no longer has the addresses this helper rewrites`);
    }
    writeFileSync(
      join(dir, "site.conf"),
      text
        .replace("server 127.0.0.1:3000;", `server 127.0.0.1:${app};`)
        .replace("listen 127.0.0.1:8080;", `listen 127.0.0.1:${port};`),
    );
    // One process (`master_process off`), so that killing it leaves no workers behind.
    writeFileSync(
      join(dir, "nginx.conf"),
      `daemon off;\nmaster_process off;\npid ${dir}/nginx.pid;\nerror_log ${dir}/error.log warn;\n` +
        `events { worker_connections 512; }\n` +
        `http {\n  access_log off;\n  client_body_temp_path ${dir}/body;\n  proxy_temp_path ${dir}/proxy;\n` +
        `  fastcgi_temp_path ${dir}/fastcgi;\n  uwsgi_temp_path ${dir}/uwsgi;\n  scgi_temp_path ${dir}/scgi;\n` +
        `  include ${dir}/site.conf;\n}\n`,
    );
    const child = spawn("/usr/sbin/nginx", ["-p", dir, "-c", "nginx.conf", "-e", "error.log"], {
      stdio: ["ignore", "ignore", "inherit"],
    });
    const nginx = new Nginx(port, child, dir);
    await waitFor(`${nginx.url}/healthz`);
    return nginx;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async stop(): Promise<void> {
    if (this.child.exitCode === null) {
      await new Promise<void>((done) => {
        this.child.once("exit", () => done());
        this.child.kill("SIGKILL");
      });
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}
