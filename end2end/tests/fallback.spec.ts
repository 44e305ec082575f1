import { expect, test } from "@playwright/test";
import { adminToken } from "../playwright.config";
import { MarketPage } from "../pages/market-page";
import { step } from "../support/admin";
import { Nginx, Tickstream } from "../support/processes";

// The seed article's polyfill point: SSE needs no fallback protocol on the server, only a
// client that notices. Behind deploy/nginx/tickstream-buffered.conf (streams buffered and
// gzipped, as a careless site-wide default does) a quiet stream never even sends its
// headers: the page must notice within seconds and carry on over long-polling.
let server: Tickstream;
let nginx: Nginx;
test.beforeAll(async () => {
  server = await Tickstream.start(["--seed", "42", "--clock", "manual", "--admin-token", adminToken]);
  nginx = await Nginx.start("tickstream-buffered.conf", server.port);
});
test.afterAll(async () => {
  await nginx?.stop();
  await server?.stop();
});

test("a page asking for SSE through a buffering proxy falls back to long-poll by itself", async ({
  page,
  request,
}) => {
  const market = new MarketPage(page);
  await page.goto(`${nginx.url}/?transport=sse`);
  await market.waitForHydration();
  const active = page.getByTestId("transport-active");
  await expect(active).toHaveAttribute("data-value", "long-poll", { timeout: 15_000 });
  await expect(active).toContainText("fallback from SSE");
  await expect(page.getByTestId("transport-select")).toHaveValue("sse");
  // A long-poll is open once an answer comes back: give it one.
  const before = await market.lastPrices();
  const latest = await step(request, server.url, 5);
  await expect(market.connectionStatus).toHaveAttribute("data-state", "open");
  await expect(market.lastEventId).toHaveText(latest);
  const after = await market.lastPrices();
  expect(Object.keys(after).filter((s) => after[s] !== before[s]).length).toBeGreaterThan(0);
});
