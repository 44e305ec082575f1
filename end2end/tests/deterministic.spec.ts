import { expect, test } from "@playwright/test";
import { adminToken, manualPort } from "../playwright.config";
import { MarketPage } from "../pages/market-page";

// The pattern for your own deterministic tests: start tickstream with
// `--seed 42 --clock manual --admin-token …`, so every page and stream is identical on
// every run until you step the market with `POST /api/admin/step`. Then exact prices can be
// asserted. (This file alone steps this server: each step changes it for good. chart.spec.ts
// only reads it, and runs first.)
const base = `http://127.0.0.1:${manualPort}`;

test("a seeded market on a manual clock steps to exact prices", async ({ page, request }) => {
  const market = new MarketPage(page);
  await page.goto(`${base}/`);
  await market.waitForHydration();
  await expect(market.connectionStatus).toHaveAttribute("data-state", "open");

  // Seed 42 after its 240 warm-up steps: nothing moves on its own.
  await expect(market.lastPrice("NOVA")).toHaveText("178.88");
  await expect(market.lastPrice("VITA")).toHaveText("150.17");

  const response = await request.post(`${base}/api/admin/step`, {
    headers: { Authorization: `Bearer ${adminToken}` },
    data: { n: 10 },
  });
  expect(response.status()).toBe(200);

  // Ten steps later, on every run.
  await expect(market.lastPrice("NOVA")).toHaveText("178.54");
  await expect(market.lastPrice("VITA")).toHaveText("149.55");
});

// Runs after the test above (same file, in order): the market is past its first 10 steps.
test("after steps, the chart's last-price tag is the watchlist's last price", async ({
  page,
  request,
}) => {
  const market = new MarketPage(page);
  await page.goto(`${base}/`);
  await market.waitForHydration();
  await expect(market.connectionStatus).toHaveAttribute("data-state", "open");
  const tag = page.getByTestId("chart-last-tag");

  for (const symbol of ["NOVA", "VITA"]) {
    await market.row(symbol).click();
    await expect(page.getByTestId("chart")).toHaveAttribute("data-symbol", symbol);
    const response = await request.post(`${base}/api/admin/step`, {
      headers: { Authorization: `Bearer ${adminToken}` },
      data: { n: 5 },
    });
    expect(response.status()).toBe(200);
    const { id } = (await response.json()) as { id: string };
    // Every event of the steps is applied, and the frame that shows them has been drawn.
    await expect(market.lastEventId).toHaveText(id);
    await page.evaluate(
      () => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done))),
    );
    await expect(tag).toHaveText(await market.lastPrice(symbol).innerText());
    await expect(tag).toHaveAttribute(
      "data-direction",
      (await market.row(symbol).getAttribute("data-direction")) ?? "",
    );
  }
});
