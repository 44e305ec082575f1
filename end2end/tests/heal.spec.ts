// A client that heals itself, on a real server with real faults. The server here steps by
// itself (a real clock), sends a heartbeat after 1 s of silence, lets a hidden tab keep its
// stream for 1 s, and obeys the faults API. Every spec counts the ids Chromium's network
// layer received (support/stream-log.ts) across the break: nothing missing, nothing twice.
import { expect, test, type APIRequestContext, type Page } from "@playwright/test";
import { adminToken } from "../playwright.config";
import { Tickstream } from "../support/processes";
import { MarketPage } from "../pages/market-page";
import { StreamLog, continuityProblems, openRecordedMarket } from "../support/stream-log";

let server: Tickstream;
test.beforeAll(async () => {
  server = await Tickstream.start([
    "--seed", "42",
    "--step-ms", "100",
    "--admin-token", adminToken,
    "--faults",
    "--heartbeat-secs", "1",
    "--hidden-grace-secs", "1",
  ]);
});
test.afterAll(async () => server.stop());

/** The market page on this spec's server, live, with its stream being recorded. */
const openMarket = (page: Page) => openRecordedMarket(page, server.url);

/** Open SSE streams as the server counts them. */
async function openStreams(request: APIRequestContext): Promise<number> {
  const text = await (await request.get(`${server.url}/metrics`)).text();
  const line = text.split("\n").find((l) => l.startsWith('tickstream_open_connections{transport="sse"}'));
  return Number(line?.split(" ").pop());
}

/** `POST /api/admin/{path}` with `body`. */
async function admin(request: APIRequestContext, path: string, body: object): Promise<void> {
  const response = await request.post(`${server.url}/api/admin/${path}`, {
    headers: { Authorization: `Bearer ${adminToken}` },
    data: body,
  });
  expect(response.status(), await response.text()).toBeLessThan(300);
}

/** Waits for `n` more history events than there are now. */
async function moreEvents(log: StreamLog, n: number): Promise<void> {
  const start = log.ids().length;
  await expect.poll(() => log.ids().length - start).toBeGreaterThanOrEqual(n);
}

/** The ids so far are one unbroken run, with no reset. */
function expectContinuous(log: StreamLog): void {
  expect(continuityProblems(log.ids())).toEqual([]);
  expect(log.count("reset")).toBe(0);
  expect(log.count("snapshot")).toBe(0);
}

test("offline shows offline; online reconnects at once and resumes with no gap", async ({ page, context }) => {
  const { market, log } = await openMarket(page);
  await moreEvents(log, 10);

  await context.setOffline(true);
  await expect(market.connectionStatus).toHaveAttribute("data-state", "offline");
  await expect(market.connectionStatus).toHaveText(/offline/);
  const before = log.received.length;
  await page.waitForTimeout(1_500); // the market moves on meanwhile
  expect(log.received.length, "nothing arrives while offline").toBe(before);

  const online = Date.now();
  await context.setOffline(false);
  await expect(market.connectionStatus).toHaveAttribute("data-state", "open");
  await moreEvents(log, 10);
  test.info().annotations.push({
    type: "recovery after online",
    description: `${(log.firstEventAfter(online) ?? NaN) - online} ms to the first event`,
  });
  expectContinuous(log);
  expect(log.connections().length, "a new connection after the break").toBe(2);
  await expect(page.getByTestId("reconnects")).toHaveText("1");
});

test("a hidden tab closes its stream after the grace and resumes by id when shown", async ({ page, request }) => {
  const { market, log } = await openMarket(page);
  await moreEvents(log, 5);
  await expect.poll(() => openStreams(request)).toBe(1);

  // Chromium reports a headless page as always visible: stand in for the tab switch the
  // way the browser announces it, through document.visibilityState and the event.
  const setHidden = (hidden: boolean) =>
    page.evaluate((hidden) => {
      Object.defineProperty(document, "visibilityState", {
        configurable: true,
        get: () => (hidden ? "hidden" : "visible"),
      });
      Object.defineProperty(document, "hidden", { configurable: true, get: () => hidden });
      document.dispatchEvent(new Event("visibilitychange"));
    }, hidden);

  await setHidden(true);
  await expect(market.connectionStatus).toHaveAttribute("data-state", "paused");
  await expect.poll(() => openStreams(request), "the server sees the stream close").toBe(0);
  await page.waitForTimeout(1_000); // the market moves on meanwhile
  // Then holds still, so that "right" has one answer.
  await admin(request, "market", { action: "halt" });

  await setHidden(false);
  await expect(market.connectionStatus).toHaveAttribute("data-state", "open");
  await expect.poll(() => openStreams(request)).toBe(1);
  // The watchlist is right at once: every price the server has, from the replay alone.
  const snapshot = await (await request.get(`${server.url}/api/snapshot`)).json();
  await expect(market.lastEventId).toHaveText(snapshot.id);
  const expected: Record<string, string> = {};
  for (const s of snapshot.data.symbols) expected[s.symbol] = (s.quote.last / 100).toFixed(2);
  expect(await market.lastPrices()).toEqual(expected);

  await admin(request, "market", { action: "resume" });
  await moreEvents(log, 10);
  expectContinuous(log);
});

test("a stream that goes silent is dropped and resumed", async ({ page, request }) => {
  const { market, log } = await openMarket(page);
  await moreEvents(log, 5);
  const [name] = log.connections();

  // The server stops writing to this one connection without closing it.
  const frozen = Date.now();
  await admin(request, "faults", { kind: "freeze", connection: name, duration_ms: 60_000 });

  // 2.5 heartbeats (2.5 s) of silence later the page gives up on it and resumes.
  await expect.poll(() => log.connections().length, { timeout: 15_000 }).toBe(2);
  await expect(market.connectionStatus).toHaveAttribute("data-state", "open");
  await moreEvents(log, 10);
  const resumedAt = log.received.find((m) => m.name === "hello" && m.at > frozen)?.at ?? NaN;
  test.info().annotations.push({
    type: "recovery after a frozen stream",
    description: `${resumedAt - frozen} ms from the freeze to the new connection's hello; ` +
      `${(log.firstEventAfter(resumedAt) ?? NaN) - frozen} ms to its first event`,
  });
  expectContinuous(log);
  await request.delete(`${server.url}/api/admin/faults`, {
    headers: { Authorization: `Bearer ${adminToken}` },
  });
});

test("a long poll that outlives its wait is abandoned and asked again from the last id", async ({ page, request }) => {
  test.setTimeout(90_000); // a long poll waits 25 s, and the page 5 s more
  // What the page's polls asked for and what came back, as Chromium's network layer saw it.
  const ids: string[] = [];
  const asked: string[] = [];
  const abandoned: string[] = [];
  page.on("request", (r) => {
    if (r.url().includes("/api/poll")) asked.push(r.url());
  });
  page.on("requestfailed", (r) => {
    if (r.url().includes("/api/poll")) abandoned.push(r.url());
  });
  page.on("response", async (r) => {
    if (!r.url().includes("/api/poll")) return;
    const batch = await r.json().catch(() => null);
    for (const event of batch?.events ?? []) if (event.id) ids.push(event.id);
  });
  const market = new MarketPage(page);
  await page.goto(`${server.url}/?transport=long-poll`);
  await market.waitForHydration();
  await expect(market.connectionStatus).toHaveAttribute("data-state", "open");
  await expect.poll(() => ids.length).toBeGreaterThan(5);

  // From now on the server holds every poll's answer, as a proxy that lost them would.
  await admin(request, "faults", { kind: "freeze", transport: "poll", duration_ms: 120_000 });
  // The poll in flight outlives its 25 s wait by the 5 s grace: the page gives up on it…
  await expect.poll(() => abandoned.length, { timeout: 45_000 }).toBeGreaterThanOrEqual(1);
  const gaveUp = new URL(abandoned[0]).searchParams.get("after");
  // …and asks again from the same place at once.
  await expect.poll(() => asked.filter((url) => url === abandoned[0]).length).toBeGreaterThanOrEqual(2);
  expect(gaveUp).toBe(ids[ids.length - 1]);

  await request.delete(`${server.url}/api/admin/faults`, {
    headers: { Authorization: `Bearer ${adminToken}` },
  });
  const before = ids.length;
  await expect.poll(() => ids.length - before).toBeGreaterThanOrEqual(10);
  expect(continuityProblems(ids)).toEqual([]);
});
