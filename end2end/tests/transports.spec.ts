import { expect, test } from "@playwright/test";
import { MarketPage } from "../pages/market-page";
import { LabPage, TRANSPORTS } from "../pages/lab-page";

for (const transport of TRANSPORTS) {
  test(`prices go live over ${transport}`, async ({ page }) => {
    const market = new MarketPage(page);
    await page.goto(`/?transport=${transport}`);
    await market.waitForHydration();
    await expect(page.getByTestId("transport-select")).toHaveValue(transport);
    await expect(market.connectionStatus).toHaveAttribute("data-state", "open");
    const before = await market.lastPrices();
    await expect
      .poll(async () => {
        const now = await market.lastPrices();
        return Object.keys(now).filter((s) => now[s] !== before[s]).length;
      })
      .toBeGreaterThan(0);
  });
}

test("the transport switch changes the connection and keeps it in the URL", async ({ page }) => {
  const market = new MarketPage(page);
  await market.goto();
  await market.waitForHydration();
  await page.getByTestId("transport-select").selectOption("ws");
  await expect(page).toHaveURL(/\?transport=ws$/);
  await expect(market.connectionStatus).toHaveAttribute("data-state", "open");
  const received = Number(await page.getByTestId("events-received").innerText());
  await expect
    .poll(async () => Number(await page.getByTestId("events-received").innerText()))
    .toBeGreaterThan(received);
});

test("killed connections come back with no gap, on every transport", async ({ page }) => {
  const lab = new LabPage(page);
  await lab.goto();
  for (const transport of TRANSPORTS) {
    const panel = lab.panel(transport);
    await expect(panel.state).toHaveAttribute("data-state", "open");
    await expect.poll(() => panel.count("messages")).toBeGreaterThan(3);
    await panel.kill();
    await expect.poll(() => panel.count("reconnects")).toBeGreaterThanOrEqual(1);
    await expect(panel.state).toHaveAttribute("data-state", "open");
    const messages = await panel.count("messages");
    await expect.poll(() => panel.count("messages")).toBeGreaterThan(messages);
    expect(await panel.count("gaps"), transport).toBe(0);
  }
});

test("connections the server drops come back with no gap", async ({ page }) => {
  const lab = new LabPage(page);
  await lab.goto();
  for (const transport of ["sse", "fetch", "ws"] as const) {
    const panel = lab.panel(transport);
    await expect.poll(() => panel.count("messages")).toBeGreaterThan(3);
    const requests = await panel.count("requests");
    await panel.dropByServer();
    await expect.poll(() => panel.count("reconnects")).toBeGreaterThanOrEqual(1);
    expect(await panel.count("requests")).toBeGreaterThan(requests);
    const messages = await panel.count("messages");
    await expect.poll(() => panel.count("messages")).toBeGreaterThan(messages);
    expect(await panel.count("gaps"), transport).toBe(0);
  }
});
