import { expect, test } from "@playwright/test";
import { adminToken } from "../playwright.config";
import { MarketPage } from "../pages/market-page";

test.beforeEach(async ({ page }) => {
  const market = new MarketPage(page);
  await market.goto();
  await market.waitForHydration();
});

test("the watchlist updates and flashes", async ({ page }) => {
  const market = new MarketPage(page);
  await expect(market.rows).toHaveCount(8);
  // Some row flashes up or down as its price moves.
  await expect(page.locator("tr[data-flash]").first()).toHaveAttribute(
    "data-flash",
    /^(up|down)-[ab]$/,
  );
  const row = market.row("NOVA");
  await expect(row.getByTestId("change")).toHaveText(/^[▲▼■] [+-]?\d+\.\d{2}$/);
  await expect(row.getByTestId("change-pct")).toHaveText(/^[+-]?\d+\.\d{2}%$/);
  await expect(row.getByTestId("day-range")).toHaveText(/^\d+\.\d{2}–\d+\.\d{2}$/);
});

test("selecting a symbol switches the chart", async ({ page }) => {
  const market = new MarketPage(page);
  const chart = page.getByTestId("chart");
  await expect(chart).toHaveAttribute("data-symbol", "NOVA");
  await market.row("QBIT").click();
  await expect(chart).toHaveAttribute("data-symbol", "QBIT");
  await expect(page.getByTestId("chart-title")).toContainText("QBIT");
  await expect(market.row("QBIT")).toHaveAttribute("aria-selected", "true");
  await expect(market.row("NOVA")).toHaveAttribute("aria-selected", "false");
  // From the keyboard too.
  await market.row("HALO").focus();
  await page.keyboard.press("Enter");
  await expect(chart).toHaveAttribute("data-symbol", "HALO");
});

test("the chart draws candles and reads out the crosshair", async ({ page }) => {
  const chart = page.getByTestId("chart");
  await expect(chart.getByTestId("chart-line")).toHaveAttribute("d", /^M/);
  await chart.getByTestId("chart-mode").getByRole("button", { name: "Candles" }).click();
  await expect(chart.locator("[data-testid=chart-candles] rect").first()).toBeVisible();
  await chart.getByTestId("chart-interval").getByRole("button", { name: "1s" }).click();
  const box = await chart.locator("svg").boundingBox();
  expect(box).not.toBeNull();
  if (box) {
    await page.mouse.move(box.x + box.width * 0.5, box.y + box.height * 0.4);
  }
  // In candle mode the readout is the candle's OHLC and volume (chart.spec.ts has more).
  await expect(chart.getByTestId("chart-readout")).toHaveText(
    /^\d\d:\d\d:\d\d · O \d+\.\d{2} H \d+\.\d{2} L \d+\.\d{2} C \d+\.\d{2} · V \d{1,3}(,\d{3})*$/,
  );
});

test("a published headline appears and its chip selects its symbol", async ({ page, request }) => {
  const publish = async (headline: string) => {
    const response = await request.post("/api/admin/news", {
      headers: { Authorization: `Bearer ${adminToken}` },
      data: { headline, symbols: ["HALO"], sentiment: "positive" },
    });
    expect(response.status()).toBe(201);
    const item = page.getByTestId("news-item").filter({ hasText: headline });
    await expect(item).toBeVisible();
    return item;
  };
  const stamp = Date.now();
  const earlier = await publish(`Halo Cloud wins a test contract ${stamp}`);
  await expect(earlier).toHaveAttribute("data-sentiment", "positive");
  const later = await publish(`Halo Cloud renews the test contract ${stamp}`);
  // Newest first. The simulator's own headlines may land in between at any moment, so the
  // order is checked between our two, never against whatever item is on top.
  const order = await page.getByTestId("news-item").evaluateAll((items) => items.map((li) => li.id));
  const [earlierId, laterId] = [await earlier.getAttribute("id"), await later.getAttribute("id")];
  expect(order.indexOf(laterId ?? "")).toBeGreaterThanOrEqual(0);
  expect(order.indexOf(laterId ?? "")).toBeLessThan(order.indexOf(earlierId ?? ""));
  await later.getByTestId("news-chip").filter({ hasText: "HALO" }).click();
  await expect(page.getByTestId("chart")).toHaveAttribute("data-symbol", "HALO");
});

test("the theme toggle switches and remembers the theme", async ({ page }) => {
  const html = page.locator("html");
  const toggle = page.getByTestId("theme-toggle");
  const background = () =>
    page.evaluate(() => getComputedStyle(document.body).backgroundColor);
  const before = await background();
  await toggle.click();
  const chosen = await html.getAttribute("data-theme");
  expect(chosen === "dark" || chosen === "light").toBeTruthy();
  expect(await background()).not.toBe(before);
  await page.reload();
  await expect(html).toHaveAttribute("data-theme", chosen ?? "");
  await toggle.click();
  await expect(html).toHaveAttribute("data-theme", chosen === "dark" ? "light" : "dark");
});

test.describe("on a 390 px wide phone", () => {
  test.use({ viewport: { width: 390, height: 844 } });

  test("nothing scrolls sideways", async ({ page }) => {
    const market = new MarketPage(page);
    await expect(market.rows).toHaveCount(8);
    await expect(page.getByTestId("chart")).toBeVisible();
    const overflow = await page.evaluate(
      () => document.documentElement.scrollWidth - document.documentElement.clientWidth,
    );
    expect(overflow).toBeLessThanOrEqual(0);
  });
});

test("a screenshot of the market page", async ({ page }, testInfo) => {
  await page.setViewportSize({ width: 1360, height: 900 });
  await page.waitForTimeout(1500); // let the chart fill in: a picture, not an assertion
  const path = process.env.UPDATE_SCREENSHOT
    ? "../docs/market.png"
    : testInfo.outputPath("market.png");
  await page.screenshot({ path, fullPage: true });
});
