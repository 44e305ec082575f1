import { expect, test } from "@playwright/test";
import { adminToken } from "../playwright.config";
import { MarketPage } from "../pages/market-page";

test("the instructor panel publishes a headline to every viewer", async ({ page, browser }) => {
  const market = new MarketPage(page);
  await market.goto();
  await market.waitForHydration();
  // A second viewer, who is not the instructor.
  const viewer = new MarketPage(await browser.newPage());
  await viewer.goto();
  await viewer.waitForHydration();

  const panel = page.getByTestId("instructor-panel");
  await panel.locator("summary").click();
  await panel.getByTestId("instructor-token").fill("not-the-token");
  await panel.getByTestId("instructor-unlock").click();
  const headline = `Gridline wins the instructor's contract ${Date.now()}`;
  await panel.getByTestId("instructor-headline").fill(headline);
  await panel.getByTestId("instructor-publish").click();
  await expect(panel.getByTestId("instructor-result")).toHaveAttribute("data-ok", "false");
  await expect(panel.getByTestId("instructor-result")).toContainText("401");

  await page.getByRole("button", { name: "Forget token" }).click();
  await panel.getByTestId("instructor-token").fill(adminToken);
  await panel.getByTestId("instructor-unlock").click();
  await panel.getByTestId("instructor-headline").fill(headline);
  await panel.getByTestId("instructor-symbols").fill("grid");
  await panel.getByTestId("instructor-publish").click();
  await expect(panel.getByTestId("instructor-result")).toHaveAttribute("data-ok", "true");

  for (const who of [page, viewer.page]) {
    const item = who.getByTestId("news-item").filter({ hasText: headline });
    await expect(item).toBeVisible();
    await expect(item.getByTestId("news-chip")).toHaveAttribute("data-symbol", "GRID");
  }
  await viewer.page.close();
});
