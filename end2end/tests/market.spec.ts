import { expect, test } from "@playwright/test";
import { MarketPage } from "../pages/market-page";

const PRICE = /^\d+\.\d{2}$/;

test("the first paint shows real prices without JavaScript", async ({ browser }) => {
  const context = await browser.newContext({ javaScriptEnabled: false });
  const market = new MarketPage(await context.newPage());
  await market.goto();
  await expect(market.rows).toHaveCount(8);
  const prices = await market.lastPrices();
  expect(Object.keys(prices)).toHaveLength(8);
  for (const [symbol, price] of Object.entries(prices)) {
    expect(price, symbol).toMatch(PRICE);
  }
  await expect(market.lastEventId).toHaveText(/^[0-9a-z]+-\d+$/);
  await context.close();
});

test("after hydration the prices move live from the stream", async ({ page }) => {
  const errors: string[] = [];
  page.on("pageerror", (error) => errors.push(error.message));
  const market = new MarketPage(page);
  await market.goto();
  await market.waitForHydration();
  await expect(market.connectionStatus).toHaveAttribute("data-state", "open");

  const firstId = (await market.lastEventId.innerText()).trim();
  const before = await market.lastPrices();
  // Some price changes: the page is live, not a static render.
  await expect
    .poll(async () => {
      const now = await market.lastPrices();
      return Object.keys(now).filter((symbol) => now[symbol] !== before[symbol]).length;
    })
    .toBeGreaterThan(0);
  // The event id the page shows moves on within the same epoch.
  const [epoch, seq] = firstId.split("-");
  await expect
    .poll(async () => {
      const [nowEpoch, nowSeq] = (await market.lastEventId.innerText()).trim().split("-");
      return nowEpoch === epoch ? Number(nowSeq) - Number(seq) : -1;
    })
    .toBeGreaterThan(0);
  for (const price of Object.values(await market.lastPrices())) {
    expect(price).toMatch(PRICE);
  }
  expect(errors).toEqual([]);
});
