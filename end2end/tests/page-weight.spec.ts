import { expect, test } from "@playwright/test";
import { request as httpRequest } from "node:http";
import { MarketPage } from "../pages/market-page";
import { measureLoad } from "../support/first-load";

// What the market page costs a first-time visitor, and what it costs after. The budget is on
// the WebAssembly as it crosses the wire (brotli, headers included) on a cold first load of
// `/`: the lazy routes (`/lab`, `/lessons`, `/connections`) and the market page's lazy parts
// (src/ui/deferred.rs) are not in it.
//
// The goal is 250 KB (issue 19). The build is not there, so the check holds the line at
// today's size instead: 436 KB → 340 KB once the secondary parts became lazy modules and the
// chart was drawn as markup → 302 KB with Leptos's type-erased views (.cargo/config.toml).
// It fails when the first load grows. Lower it as the wasm shrinks; never raise it without
// saying what the bytes bought.
const WASM_BUDGET_BYTES = 306_000;

test("the first load's WebAssembly stays within its budget", async ({ page, baseURL }) => {
  const load = await measureLoad(page, `${baseURL}/`, { cold: true });
  console.log(`first load: ${load.wasm} B of wasm in ${load.wasmRequests} file(s), ${load.total} B in all`);
  expect(load.wasmRequests).toBeGreaterThan(0);
  expect(load.wasm).toBeLessThanOrEqual(WASM_BUDGET_BYTES);
});

test("a lazy part's module comes when it is first wanted, not before", async ({ page }) => {
  const fetched: string[] = [];
  page.on("requestfinished", (request) => {
    const path = new URL(request.url()).pathname;
    if (path.endsWith(".wasm")) fetched.push(path);
  });
  const market = new MarketPage(page);
  await market.goto();
  await market.waitForHydration();
  expect(fetched).toHaveLength(1); // the market's own module
  const panel = page.getByTestId("instructor-panel");
  await panel.locator("summary").click();
  await expect(panel.getByTestId("instructor-token")).toBeVisible();
  expect(fetched.filter((path) => path.includes("instructor_console"))).toHaveLength(1);
});

test("a second visit takes the wasm from the cache without asking", async ({ page, baseURL }) => {
  await measureLoad(page, `${baseURL}/`, { cold: false });
  const again = await measureLoad(page, `${baseURL}/`, { cold: false });
  // The page itself is revalidated; its hashed JS, wasm and CSS are not even asked for.
  expect(again.wasm).toBe(0);
  expect(again.fromCache).toBeGreaterThanOrEqual(3);
});

test("static files come precompressed, hashed and immutable", async ({ page }) => {
  const wasm = page.waitForResponse((response) => response.url().endsWith(".wasm"));
  await page.goto("/");
  const response = await wasm;
  const headers = await response.allHeaders();
  expect(new URL(response.url()).pathname).toMatch(/^\/pkg\/tickstream\.[A-Za-z0-9_-]{22}\.wasm$/);
  expect(headers["content-encoding"]).toBe("br");
  expect(headers["cache-control"]).toBe("public, max-age=31536000, immutable");
  expect(headers["content-type"]).toBe("application/wasm");
});

/** The response headers of a GET that asks for compression; the body is not read. */
function headersOf(url: string): Promise<Record<string, string | string[] | undefined>> {
  return new Promise((done, fail) => {
    const request = httpRequest(url, { headers: { "Accept-Encoding": "br, gzip" } }, (response) => {
      done(response.headers);
      response.destroy();
    });
    request.once("error", (error) => {
      // Destroying a stream mid-body is how this ends; anything before the headers is not.
      fail(error);
    });
    request.end();
  });
}

test("pages and JSON are compressed, the event streams never", async ({ baseURL }) => {
  const page = await headersOf(`${baseURL}/`);
  expect(page["content-encoding"]).toBe("br");
  expect(page["cache-control"]).toBe("no-cache");
  const snapshot = await headersOf(`${baseURL}/api/snapshot`);
  expect(snapshot["content-encoding"]).toBe("br");
  for (const path of ["/api/sse", "/api/poll", "/.sse"]) {
    const stream = await headersOf(`${baseURL}${path}`);
    expect(stream["content-encoding"], path).toBeUndefined();
  }
});
