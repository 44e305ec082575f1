import { expect, test, type Request } from "@playwright/test";
import { adminToken } from "../playwright.config";
import { MarketPage } from "../pages/market-page";
import { step } from "../support/admin";
import { Tickstream } from "../support/processes";

let server: Tickstream;
test.beforeAll(async () => {
  server = await Tickstream.start(["--seed", "42", "--clock", "manual", "--admin-token", adminToken]);
});
test.afterAll(async () => server.stop());

function seq(id: string): number {
  return Number(id.split("-")[1]);
}

test("the hydrated page resumes from exactly the event the server rendered", async ({
  page,
  request,
}) => {
  const streams: Request[] = [];
  page.on("request", (sent) => {
    if (sent.url().includes("/api/sse")) streams.push(sent);
  });
  // The id the server rendered into the first paint, from the HTML itself.
  const document = page.waitForResponse((response) => response.url() === `${server.url}/`);
  const market = new MarketPage(page);
  await page.goto(`${server.url}/`);
  const html = await (await document).text();
  const rendered = /data-testid="last-event-id"[^>]*>([^<]+)</.exec(html)?.[1];
  expect(rendered, "the first paint names its event id").toMatch(/^[0-9a-z]+-\d+$/);
  await market.waitForHydration();
  await expect(market.connectionStatus).toHaveAttribute("data-state", "open");
  expect(streams.length).toBe(1);
  expect(new URL(streams[0].url()).searchParams.get("lastEventId")).toBe(rendered);
  await expect(page.getByTestId("events-received")).toHaveText("0");

  const latest = await step(request, server.url, 5);
  await expect(market.lastEventId).toHaveText(latest);
  // Exactly the events of those five steps, no more (no replay twice) and no fewer.
  await expect(page.getByTestId("events-received")).toHaveText(
    String(seq(latest) - seq(rendered ?? "")),
  );
  await expect(page.getByTestId("resets")).toHaveText("0");
});

test("a restarted server: reconnecting, then open, one reset and the new market", async ({
  page,
  request,
}) => {
  test.setTimeout(60_000);
  const market = new MarketPage(page);
  await page.goto(`${server.url}/`);
  await market.waitForHydration();
  await expect(market.connectionStatus).toHaveAttribute("data-state", "open");
  await step(request, server.url, 20);
  const before = (await market.lastEventId.innerText()).trim();

  await server.kill();
  await expect(market.connectionStatus).toHaveAttribute("data-state", "reconnecting");
  await server.restart();
  await expect(market.connectionStatus).toHaveAttribute("data-state", "open", { timeout: 30_000 });
  await expect(page.getByTestId("resets")).toHaveText("1");
  // A new process is a new epoch: the page shows the new market's snapshot.
  const snapshot = await (await request.get(`${server.url}/api/snapshot`)).json();
  await expect(market.lastEventId).toHaveText(snapshot.id);
  expect(snapshot.id.split("-")[0]).not.toBe(before.split("-")[0]);
  const nova = snapshot.data.symbols.find((s: { symbol: string }) => s.symbol === "NOVA");
  await expect(market.lastPrice("NOVA")).toHaveText((nova.quote.last / 100).toFixed(2));
});
