import { defineConfig, devices } from "@playwright/test";

// The suite runs against the release build (`make build`), started fresh for each run on its
// own port with a fixed seed. Chromium is Debian's: `npx playwright install` cannot download
// browsers on our machines, so it is never used.
const port = Number(process.env.TICKSTREAM_E2E_PORT ?? 3107);
// A second server for deterministic tests: seeded, manual clock, admin API on.
export const manualPort = port + 1;
export const adminToken = "e2e-admin-token";

export default defineConfig({
  testDir: "./tests",
  timeout: 30_000,
  expect: { timeout: 10_000 },
  fullyParallel: false,
  workers: 1,
  forbidOnly: !!process.env.CI,
  retries: 0,
  reporter: process.env.CI ? "line" : "list",
  use: {
    baseURL: `http://127.0.0.1:${port}`,
    trace: "retain-on-failure",
  },
  projects: [
    {
      name: "chromium",
      use: {
        ...devices["Desktop Chrome"],
        launchOptions: {
          executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
          args: [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
          ],
        },
      },
    },
  ],
  webServer: [
    {
      // From the repository root, where Leptos.toml and target/site are.
      command:
        `./target/release/tickstream --addr 127.0.0.1:${port} --seed 42 --step-ms 100 ` +
        `--admin-token ${adminToken}`,
      cwd: "..",
      url: `http://127.0.0.1:${port}/healthz`,
      reuseExistingServer: false,
      stdout: "pipe",
      stderr: "pipe",
      timeout: 30_000,
    },
    {
      command:
        `./target/release/tickstream --addr 127.0.0.1:${manualPort} --seed 42 --clock manual ` +
        `--admin-token ${adminToken}`,
      cwd: "..",
      url: `http://127.0.0.1:${manualPort}/healthz`,
      reuseExistingServer: false,
      stdout: "pipe",
      stderr: "pipe",
      timeout: 30_000,
    },
  ],
});
