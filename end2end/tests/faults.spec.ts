// Faults on purpose, one example per kind, to copy into your own tests: start the server
// with `--faults` and an admin token, `POST /api/admin/faults` what should go wrong, and
// check that the page heals. Every example ends the same way: the market is halted and the
// page must show exactly what the server has (its last id and every price), and the ids
// Chromium's network layer received must hold nothing that was never filled in.
//
// The `freeze` example (a connection that goes silent) is in heal.spec.ts.
import { expect, test, type APIRequestContext, type Page } from "@playwright/test";
import { adminToken } from "../playwright.config";
import { MarketPage } from "../pages/market-page";
import { Tickstream } from "../support/processes";
import { StreamLog, continuityProblems, openRecordedMarket } from "../support/stream-log";

let server: Tickstream;
test.beforeEach(async () => {
  // A server per example: a fault (or a halted market) never leaks into the next one.
  server = await Tickstream.start([
    "--seed", "42",
    "--step-ms", "100",
    "--admin-token", adminToken,
    "--faults",
    "--heartbeat-secs", "1",
  ]);
});
test.afterEach(async () => server.stop());

/** `POST /api/admin/faults` with `fault`; the fault as the server reports it. */
async function inject(request: APIRequestContext, fault: object): Promise<Record<string, unknown>> {
  const response = await request.post(`${server.url}/api/admin/faults`, {
    headers: { Authorization: `Bearer ${adminToken}` },
    data: fault,
  });
  expect(response.status(), await response.text()).toBe(201);
  return response.json();
}

/** `DELETE /api/admin/faults`: every fault ends now. */
async function clearFaults(request: APIRequestContext): Promise<void> {
  const response = await request.delete(`${server.url}/api/admin/faults`, {
    headers: { Authorization: `Bearer ${adminToken}` },
  });
  expect(response.status()).toBe(200);
}

/** The market page on this example's server, live, its stream recorded from the network. */
async function openMarket(page: Page): Promise<{ market: MarketPage; log: StreamLog }> {
  const opened = await openRecordedMarket(page, server.url);
  await expect.poll(() => opened.log.ids().length).toBeGreaterThan(5);
  return opened;
}

/** Halts the market, then: the page shows the server's last id and every one of its prices. */
async function expectPageEqualsServer(market: MarketPage, request: APIRequestContext): Promise<void> {
  const halted = await request.post(`${server.url}/api/admin/market`, {
    headers: { Authorization: `Bearer ${adminToken}` },
    data: { action: "halt" },
  });
  expect(halted.status()).toBe(200);
  const snapshot = await (await request.get(`${server.url}/api/snapshot`)).json();
  await expect(market.connectionStatus).toHaveAttribute("data-state", "open");
  await expect(market.lastEventId).toHaveText(snapshot.id);
  const expected: Record<string, string> = {};
  for (const s of snapshot.data.symbols) expected[s.symbol] = (s.quote.last / 100).toFixed(2);
  expect(await market.lastPrices()).toEqual(expected);
}

/** Every id from the first one received to the last, each received at least once. */
function expectNoneMissing(log: StreamLog): void {
  const ids = [...new Set(log.ids())];
  const seqs = ids.map((id) => Number(id.slice(id.lastIndexOf("-") + 1))).sort((a, b) => a - b);
  const missing = [];
  for (let seq = seqs[0]; seq <= seqs[seqs.length - 1]; seq++) {
    if (!seqs.includes(seq)) missing.push(seq);
  }
  expect(missing, "ids never received").toEqual([]);
}

test("delay: every event arrives late, in order, and none is lost", async ({ page, request }) => {
  const { market, log } = await openMarket(page);
  const [name] = log.connections();
  const fault = await inject(request, { kind: "delay", connection: name, delay_ms: 800, duration_ms: 3_000 });
  expect(fault.delay_ms).toBe(800);
  const during = log.ids().length;
  await expect.poll(() => log.ids().length).toBeGreaterThan(during + 10);
  await expect(market.connectionStatus).toHaveAttribute("data-state", "open");
  await expectPageEqualsServer(market, request);
  expect(continuityProblems(log.ids())).toEqual([]);
  expect(log.connections(), "a slow link is not a lost one").toHaveLength(1);
});

test("drop: the page sees a hole in the ids and resumes to fill it", async ({ page, request }) => {
  const { market, log } = await openMarket(page);
  await inject(request, { kind: "drop", count: 5, duration_ms: 30_000 });
  // The page notices the jump, drops the connection and resumes from its last id.
  await expect.poll(() => log.connections().length).toBe(2);
  await expectPageEqualsServer(market, request);
  expectNoneMissing(log);
  await expect(page.getByTestId("reconnects")).toHaveText("1");
});

test("epoch: a restart's new history reaches the page as reset and snapshot", async ({ page, request }) => {
  const { market, log } = await openMarket(page);
  const before = (await market.lastEventId.textContent()) ?? "";
  await inject(request, { kind: "epoch" });
  await expect.poll(() => log.count("reset")).toBe(1);
  await expect(page.getByTestId("resets")).toHaveText("1");
  await expectPageEqualsServer(market, request);
  const after = (await market.lastEventId.textContent()) ?? "";
  expect(after.split("-")[0], "ids of a new epoch").not.toBe(before.split("-")[0]);
});

test("refuse: a page that loses its stream is turned away, waits, and comes back", async ({ page, request }) => {
  const { market, log } = await openMarket(page);
  const [name] = log.connections();
  // Longer than the `retry:` (2 s) the browser waits before its first attempt.
  await inject(request, { kind: "refuse", duration_ms: 5_000 });
  // Lose the stream while new ones are refused.
  const dropped = await request.delete(`${server.url}/api/connections/${name}`);
  expect(dropped.status()).toBe(204);
  await expect.poll(() => log.count("refused")).toBeGreaterThan(0);
  await expect(market.connectionStatus).not.toHaveAttribute("data-state", "open");
  // Retry-After is the fault's time left: then the browser is let in, and resumes by id.
  await expect.poll(() => log.connections().length, { timeout: 15_000 }).toBe(2);
  await expectPageEqualsServer(market, request);
  expect(continuityProblems(log.ids())).toEqual([]);
  await clearFaults(request);
});
