// A first visit to a page as Chromium's network stack sees it: every response's bytes on the
// wire (`encodedDataLength`: headers and the body as sent, compressed or not), and how long
// until the page is interactive (`body[data-hydrated]`, set once hydration has finished).
// Used by the wasm budget in `make test` and by `make page-weight`'s figures.
import type { Page } from "@playwright/test";

/** A "fast 3G" link: 1.6 Mbit/s down, 750 kbit/s up, 150 ms of latency (bytes per second). */
export const FAST_3G = {
  latency: 150,
  downloadThroughput: (1.6e6 / 8),
  uploadThroughput: (750e3 / 8),
};

export interface FirstLoad {
  /** Bytes on the wire for every response of the load. */
  total: number;
  /** Bytes on the wire for the WebAssembly alone. */
  wasm: number;
  /** How many requests the load made, and how many of them fetched wasm. */
  requests: number;
  wasmRequests: number;
  /** Responses the browser took from its cache instead of the network. */
  fromCache: number;
  /** Milliseconds from navigation to `body[data-hydrated]`. */
  interactiveMs: number;
}

/** Loads `url` in `page` and measures it. With `cold`, the browser's cache is bypassed. */
export async function measureLoad(
  page: Page,
  url: string,
  options: { cold: boolean; throttle?: typeof FAST_3G },
): Promise<FirstLoad> {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send("Network.enable");
  await cdp.send("Network.setCacheDisabled", { cacheDisabled: options.cold });
  if (options.throttle) {
    await cdp.send("Network.emulateNetworkConditions", { offline: false, ...options.throttle });
  }
  const urls = new Map<string, string>();
  const load: FirstLoad = {
    total: 0,
    wasm: 0,
    requests: 0,
    wasmRequests: 0,
    fromCache: 0,
    interactiveMs: 0,
  };
  cdp.on("Network.responseReceived", (event) => urls.set(event.requestId, event.response.url));
  cdp.on("Network.requestServedFromCache", () => (load.fromCache += 1));
  cdp.on("Network.loadingFinished", (event) => {
    const url = urls.get(event.requestId) ?? "";
    load.total += event.encodedDataLength;
    load.requests += 1;
    if (new URL(url, "http://x").pathname.endsWith(".wasm")) {
      load.wasm += event.encodedDataLength;
      load.wasmRequests += 1;
    }
  });
  const started = Date.now();
  // The page keeps its stream open, so "load" rather than "networkidle".
  await page.goto(url, { waitUntil: "commit" });
  await page.waitForSelector("body[data-hydrated]", { state: "attached", timeout: 60_000 });
  load.interactiveMs = Date.now() - started;
  await cdp.detach();
  return load;
}
