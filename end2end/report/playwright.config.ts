import { defineConfig } from "@playwright/test";
import base from "../playwright.config";

// `make lab-report`: the transport lab run for a minute in headless Chromium, its table
// printed and written into the README. Not part of `make test` (it takes a minute and
// measures; it asserts nothing). It starts its own server with the default settings.
export default defineConfig({
  ...base,
  testDir: ".",
  timeout: 180_000,
  webServer: undefined,
  reporter: "list",
});
