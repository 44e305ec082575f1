import { expect, test, type Page } from "@playwright/test";
import { manualPort } from "../playwright.config";
import { ChartPanel } from "../pages/chart-panel";
import { MarketPage } from "../pages/market-page";

// The chart as a trading screen (issue 19): round-number axes that suit the width, a chart
// that fills its panel, zoom and pan through the history the page holds, and a "Live"
// button back to the stream. The last-price tag against the watchlist, after stepping the
// market, is in deterministic.spec.ts: only that file steps the manual-clock server.
//
// The zoom test reads the manual-clock server without stepping it, so its history is the
// 60 s of warm-up and stays put: the live window is the same before and after.
const manual = `http://127.0.0.1:${manualPort}`;

async function open(page: Page, base = ""): Promise<ChartPanel> {
  const market = new MarketPage(page);
  await page.goto(`${base}/`);
  await market.waitForHydration();
  const chart = new ChartPanel(page);
  await expect(chart.section).toHaveAttribute("data-view-end", /^[1-9]\d*$/);
  return chart;
}

/** 4–8 price ticks, 3–8 time ticks, and an SVG as wide as its panel, laid out for that. */
async function expectAxesThatFit(chart: ChartPanel): Promise<void> {
  await expect
    .poll(() => chart.priceTicks.count(), "price ticks")
    .toBeGreaterThanOrEqual(4);
  expect(await chart.priceTicks.count()).toBeLessThanOrEqual(8);
  await expect
    .poll(() => chart.timeTicks.count(), "time ticks")
    .toBeGreaterThanOrEqual(3);
  expect(await chart.timeTicks.count()).toBeLessThanOrEqual(8);
  await expect(chart.priceTicks.first()).toHaveText(/^\d+\.\d{2}$/);
  await expect(chart.timeTicks.first()).toHaveText(/^\d\d:\d\d(:\d\d)?$/);
  // It fills the panel, and once measured it is drawn at that width (not stretched).
  await expect
    .poll(async () => {
      const { panel, svg, viewBox } = await chart.widths();
      return Math.abs(panel - svg) <= 2 && Math.abs(viewBox - svg) <= 2
        ? "fits"
        : `panel ${panel}, svg ${svg}, viewBox ${viewBox}`;
    })
    .toBe("fits");
}

test("the axes have round ticks and the chart fills its panel", async ({ page }) => {
  const chart = await open(page);
  await expectAxesThatFit(chart);
});

test.describe("on a 390 px wide phone", () => {
  test.use({ viewport: { width: 390, height: 844 } });

  test("the axes still fit and the chart fills its panel", async ({ page }) => {
    const chart = await open(page);
    await expectAxesThatFit(chart);
  });
});

test("the chart redraws when the window is resized", async ({ page }) => {
  const chart = await open(page);
  await expectAxesThatFit(chart);
  const wide = (await chart.widths()).viewBox;
  await page.setViewportSize({ width: 390, height: 844 });
  await expect.poll(async () => (await chart.widths()).viewBox).toBeLessThan(wide);
  await expectAxesThatFit(chart);
});

test("wheel and drag zoom and pan, the keyboard too, and Live restores the range", async ({
  page,
}) => {
  const chart = await open(page, manual);
  await expect(chart.section).toHaveAttribute("data-live", "true");
  await expect(chart.live).toHaveAttribute("aria-pressed", "true");
  const live = await chart.window();
  const liveSpan = live.end - live.start;
  expect(liveSpan).toBeGreaterThan(20_000);

  // The wheel zooms in around the pointer, and the chart stops following the stream.
  const box = await chart.box();
  const [x, y] = [box.x + box.width * 0.4, box.y + box.height * 0.4];
  await page.mouse.move(x, y);
  await page.mouse.wheel(0, -300);
  await expect(chart.section).toHaveAttribute("data-live", "false");
  await expect(chart.live).toHaveAttribute("aria-pressed", "false");
  await expect.poll(() => chart.span()).toBeLessThan(liveSpan);
  const zoomed = await chart.window();

  // Dragging to the right brings earlier times into view, at the same span.
  await page.mouse.down();
  await page.mouse.move(x + 120, y, { steps: 6 });
  await page.mouse.up();
  await expect.poll(async () => (await chart.window()).start).toBeLessThan(zoomed.start);
  const dragged = await chart.window();
  expect(dragged.end - dragged.start).toBe(zoomed.end - zoomed.start);

  // The keyboard: arrows pan, + zooms in.
  await chart.plot.focus();
  await page.keyboard.press("ArrowRight");
  await expect.poll(async () => (await chart.window()).start).toBeGreaterThan(dragged.start);
  const right = await chart.window();
  await page.keyboard.press("ArrowLeft");
  await expect.poll(async () => (await chart.window()).start).toBeLessThan(right.start);
  const left = await chart.window();
  await page.keyboard.press("+");
  await expect.poll(() => chart.span()).toBeLessThan(left.end - left.start);
  await expect(chart.section).toHaveAttribute("data-live", "false");

  // Live: following the stream again, over the range chosen before zooming.
  await chart.live.click();
  await expect(chart.section).toHaveAttribute("data-live", "true");
  await expect(chart.live).toHaveAttribute("aria-pressed", "true");
  await expect.poll(() => chart.window()).toEqual(live);
});

test("choosing a range goes live again", async ({ page }) => {
  const chart = await open(page, manual);
  await chart.plot.focus();
  await page.keyboard.press("+");
  await expect(chart.section).toHaveAttribute("data-live", "false");
  await chart.section.getByTestId("chart-range").getByRole("button", { name: "1m" }).click();
  await expect(chart.section).toHaveAttribute("data-live", "true");
  // The manual clock's history is a minute long: 1m shows (nearly) all of it.
  await expect.poll(() => chart.span()).toBeLessThanOrEqual(60_000);
});

test("in candle mode the crosshair reads out OHLC and volume", async ({ page }) => {
  const chart = await open(page);
  await chart.section.getByTestId("chart-mode").getByRole("button", { name: "Candles" }).click();
  await chart.section.getByTestId("chart-interval").getByRole("button", { name: "1s" }).click();
  await expect(chart.section.locator("[data-testid=chart-candles] rect").first()).toBeVisible();
  const box = await chart.box();
  await page.mouse.move(box.x + box.width * 0.5, box.y + box.height * 0.4);
  await expect(chart.readout).toHaveText(
    /^\d\d:\d\d:\d\d · O \d+\.\d{2} H \d+\.\d{2} L \d+\.\d{2} C \d+\.\d{2} · V \d{1,3}(,\d{3})*$/,
  );
  // The price at the pointer, in the axis.
  await expect(chart.section.getByTestId("chart-crosshair-price")).toHaveText(/^\d+\.\d{2}$/);
  // Back to the line: the readout is time and price again.
  await chart.section.getByTestId("chart-mode").getByRole("button", { name: "Line" }).click();
  await page.mouse.move(box.x + box.width * 0.45, box.y + box.height * 0.4);
  await expect(chart.readout).toHaveText(/^\d\d:\d\d:\d\d · \d+\.\d{2}$/);
});

test("the last price has a tag in the axis, coloured like the watchlist row", async ({ page }) => {
  const chart = await open(page, manual);
  const market = new MarketPage(page);
  const symbol = (await chart.section.getAttribute("data-symbol")) ?? "";
  await expect(chart.lastTag).toHaveText(await market.lastPrice(symbol).innerText());
  await expect(chart.lastTag).toHaveAttribute(
    "data-direction",
    (await market.row(symbol).getAttribute("data-direction")) ?? "",
  );
});
