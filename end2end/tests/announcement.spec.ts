import { expect, test } from "@playwright/test";
import { adminToken } from "../playwright.config";
import { MarketPage } from "../pages/market-page";

// The second seed article's `/post`: anything published reaches every viewer at once.
test("a published announcement shows as a banner on every page, until dismissed", async ({
  page,
  browser,
  request,
}) => {
  const market = new MarketPage(page);
  await market.goto();
  await market.waitForHydration();
  const other = new MarketPage(await browser.newPage());
  await other.page.goto("/?transport=ws");
  await other.waitForHydration();
  for (const viewer of [market, other]) {
    await expect(viewer.connectionStatus).toHaveAttribute("data-state", "open");
  }
  const text = `Quiz in five minutes ${Date.now()}`;
  const response = await request.post("/api/admin/publish", {
    headers: { Authorization: `Bearer ${adminToken}` },
    data: { event: "announcement", data: { text } },
  });
  expect(response.status()).toBe(201);
  for (const viewer of [market, other]) {
    await expect(viewer.page.getByTestId("announcement")).toHaveText(new RegExp(text));
  }
  await page.getByTestId("announcement-dismiss").click();
  await expect(page.getByTestId("announcement")).toHaveCount(0);
  await expect(other.page.getByTestId("announcement")).toBeVisible();
  await other.page.close();
});
