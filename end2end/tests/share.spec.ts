// One stream per browser: three tabs of one browser that share (`?share=1`) hold one
// connection to the server between them; when the tab holding it closes, another takes
// over from the last id it applied. Against a real server stepping by itself; the server's
// own gauge counts the connections, and each tab's copy of what went round the tabs'
// BroadcastChannel is checked for gaps and repeats.
import { expect, test, type APIRequestContext, type BrowserContext, type Page } from "@playwright/test";
import { adminToken } from "../playwright.config";
import { MarketPage } from "../pages/market-page";
import { Tickstream } from "../support/processes";
import { continuityProblems } from "../support/stream-log";

let server: Tickstream;
test.beforeAll(async () => {
  server = await Tickstream.start(["--seed", "42", "--step-ms", "100", "--admin-token", adminToken]);
});
test.afterAll(async () => server.stop());

/** In every page: a listener of its own on the tabs' channel, keeping the ids that passed. */
async function recordChannel(context: BrowserContext): Promise<void> {
  await context.addInitScript(() => {
    const seen: string[] = [];
    (window as unknown as { __channelIds: string[] }).__channelIds = seen;
    new BroadcastChannel("tickstream-stream").onmessage = (message) => {
      const post = JSON.parse(message.data);
      if (post.kind === "event" && post.id) seen.push(post.id);
    };
  });
}

async function channelIds(page: Page): Promise<string[]> {
  return page.evaluate(() => (window as unknown as { __channelIds: string[] }).__channelIds);
}

/** SSE streams open on the server, as its metrics say. */
async function sseStreams(request: APIRequestContext): Promise<number> {
  const text = await (await request.get(`${server.url}/metrics`)).text();
  const line = text.split("\n").find((l) => l.startsWith('tickstream_open_connections{transport="sse"}'));
  return Number(line?.split(" ").pop());
}

async function openTab(context: BrowserContext, query: string): Promise<MarketPage> {
  const page = await context.newPage();
  const market = new MarketPage(page);
  await page.goto(`${server.url}/${query}`);
  await market.waitForHydration();
  return market;
}

function role(market: MarketPage) {
  return market.page.getByTestId("share-role");
}

async function admin(request: APIRequestContext, body: object): Promise<void> {
  const response = await request.post(`${server.url}/api/admin/market`, {
    headers: { Authorization: `Bearer ${adminToken}` },
    data: body,
  });
  expect(response.status()).toBe(200);
}

test("three tabs hold one connection; when its holder closes another takes over with no gap", async ({
  context,
  request,
}) => {
  test.setTimeout(60_000);
  await recordChannel(context);
  const first = await openTab(context, "?share=1");
  await expect(role(first)).toHaveAttribute("data-role", "leader");
  await expect(first.connectionStatus).toHaveAttribute("data-state", "open");
  const second = await openTab(context, "?share=1");
  // The third tab opens unshared and joins with the toggle.
  const third = await openTab(context, "");
  await expect.poll(() => sseStreams(request)).toBe(2);
  await third.page.getByTestId("share-toggle").check();
  await expect(third.page).toHaveURL(/share=1/);
  for (const follower of [second, third]) {
    await expect(role(follower)).toHaveAttribute("data-role", "follower");
    await expect(follower.connectionStatus).toHaveAttribute("data-state", "open");
  }
  await expect.poll(() => sseStreams(request), "three tabs, one stream").toBe(1);
  // The followers are live: their pages move with the stream.
  for (const follower of [second, third]) {
    const before = Number(await follower.page.getByTestId("events-received").innerText());
    await expect
      .poll(async () => Number(await follower.page.getByTestId("events-received").innerText()))
      .toBeGreaterThan(before + 10);
  }

  // The holder goes; one of the others is granted the lock and resumes from its last id.
  await first.page.close();
  await expect
    .poll(async () => [await role(second).getAttribute("data-role"), await role(third).getAttribute("data-role")].sort())
    .toEqual(["follower", "leader"]);
  await expect.poll(() => sseStreams(request), "still one stream after the takeover").toBe(1);
  const counts = await Promise.all([second, third].map(async (m) => (await channelIds(m.page)).length));
  await expect.poll(async () => (await channelIds(second.page)).length).toBeGreaterThan(counts[0] + 20);

  // Every event went round once and in order, across the takeover.
  for (const tab of [second, third]) {
    const ids = await channelIds(tab.page);
    expect(continuityProblems(ids), "the tabs' channel").toEqual([]);
  }
  // And each page shows exactly the server's market.
  await admin(request, { action: "halt" });
  const snapshot = await (await request.get(`${server.url}/api/snapshot`)).json();
  const expected: Record<string, string> = {};
  for (const s of snapshot.data.symbols) expected[s.symbol] = (s.quote.last / 100).toFixed(2);
  for (const tab of [second, third]) {
    await expect(tab.lastEventId).toHaveText(snapshot.id);
    expect(await tab.lastPrices()).toEqual(expected);
    await expect(tab.page.getByTestId("resets")).toHaveText("0");
  }
  await admin(request, { action: "resume" });
});
