import { test } from "@playwright/test";
import { execFileSync } from "node:child_process";
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { FAST_3G, measureLoad, type FirstLoad } from "../support/first-load";
import { ROOT, Tickstream } from "../support/processes";
import { spliceReadme } from "../support/readme";

// `make page-weight`: what the market page costs to load, measured in headless Chromium on a
// fresh server — cold and warm, on the loopback link and on a throttled "fast 3G" one — and
// what the built WebAssembly weighs, raw and as served. Written into the README between the
// page-weight markers. Not part of `make test` (the budget check there is
// tests/page-weight.spec.ts); it measures and asserts nothing.
const RUNS = Number(process.env.PAGE_WEIGHT_RUNS ?? 5);

const kib = (bytes: number) => `${(bytes / 1024).toLocaleString("en", { maximumFractionDigits: 0 })} KiB`;
const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

test("the market page's weight, measured", async ({ browser }) => {
  test.setTimeout(300_000);
  const server = await Tickstream.start([]);
  try {
    const rows: string[] = [];
    const profiles = [
      { name: "loopback", throttle: undefined },
      { name: "fast 3G (1.6 Mbit/s, 150 ms)", throttle: FAST_3G },
    ];
    for (const { name, throttle } of profiles) {
      for (const cold of [true, false]) {
        const loads: FirstLoad[] = [];
        for (let run = 0; run < RUNS; run += 1) {
          const context = await browser.newContext();
          const page = await context.newPage();
          // A warm visit follows a first one in the same browser.
          if (!cold) await measureLoad(page, `${server.url}/`, { cold: false, throttle });
          loads.push(await measureLoad(page, `${server.url}/`, { cold, throttle }));
          await context.close();
        }
        const pick = (key: keyof FirstLoad) => median(loads.map((load) => load[key]));
        rows.push(
          `| ${name} | ${cold ? "first visit" : "second visit"} | ${kib(pick("total"))} | ` +
            `${kib(pick("wasm"))} | ${pick("requests")} | ${seconds(pick("interactiveMs"))} |`,
        );
      }
    }
    const pkg = join(ROOT, "target/site/pkg");
    const size = (file: string) => statSync(join(pkg, file)).size;
    const sizes = (files: string[]) =>
      [(f: string) => f, (f: string) => `${f}.br`, (f: string) => `${f}.gz`]
        .map((variant) => files.reduce((sum, file) => sum + size(variant(file)), 0).toLocaleString("en"))
        .join(" | ");
    const files = readdirSync(pkg).filter((file) => file.endsWith(".wasm"));
    // The small chunks `--split` makes for code two lazy modules share go in one row.
    const chunks = files.filter((file) => file.startsWith("chunk_"));
    const wasm = files
      .filter((file) => !file.startsWith("chunk_"))
      .sort((a, b) => size(b) - size(a))
      .map((file) => `| ${moduleName(file.split(".")[0])} | ${sizes([file])} |`);
    if (chunks.length > 0) {
      wasm.push(`| ${chunks.length} small chunks shared by lazy modules | ${sizes(chunks)} |`);
    }
    const commit = execFileSync("git", ["rev-parse", "--short", "HEAD"], { cwd: ROOT }).toString().trim();
    const date = new Date().toISOString().slice(0, 10);
    const section = [
      `Measured by \`make page-weight\` on ${date} at commit \`${commit}\` (headless Chromium and the`,
      `server on one machine; the median of ${RUNS} loads; "interactive" is when hydration has finished):`,
      "",
      "| network | visit | bytes on the wire | of which wasm | requests | interactive after |",
      "|---|---|--:|--:|--:|--:|",
      ...rows,
      "",
      "The WebAssembly modules of that build, in bytes; each lazy one is fetched the first time it is wanted:",
      "",
      "| module | raw | brotli | gzip |",
      "|---|--:|--:|--:|",
      ...wasm,
    ].join("\n");
    console.log(`\n${section}\n`);
    spliceReadme("page-weight", section);
  } finally {
    await server.stop();
  }
});

/** When each lazily loaded module is fetched, by the function `--split` named it after. */
const LAZY_MODULES: Record<string, string> = {
  lab_route_view: "`/lab`, on its first visit",
  connections_route_view: "`/connections`, on its first visit",
  lessons_route_view: "`/lessons`, on its first visit",
  instructor_console: "the instructor console, when the panel first opens",
  start_loaded: "fetch-SSE, WebSocket and shared streams, when first chosen",
  alert_form: "the alert form, when a bell is first pressed",
  alert_list: "the alert list, once this browser has an alert",
  toast_view: "an alert's toast, when one first fires",
  answer_view: "the analyst's answer panel, on the first question",
  ask: "the analyst's request, on the first question",
};

/** A module's row name: `tickstream.<hash>.wasm` is the first load; `split_<fn>_<hash>` a lazy one. */
function moduleName(stem: string): string {
  if (stem === "tickstream") return "first load (`/`)";
  const lazy = stem.replace(/^split_+/, "").replace(/_\d+$/, "");
  return LAZY_MODULES[lazy] ?? lazy;
}
