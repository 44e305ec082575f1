import { expect, test } from "@playwright/test";
import { MarketPage } from "../pages/market-page";

// A laptop's clock is rarely the server's. The page measures its clock's offset from the
// server's (`/api/time`) and reports latency on one clock, so a browser clock that is 90 s
// off, either way, shows the same few milliseconds a correct one does.
for (const skew of [90_000, -90_000]) {
  test(`latency is true with the browser clock ${skew > 0 ? "ahead" : "behind"} by 90 s`, async ({
    page,
  }) => {
    await page.clock.install({ time: Date.now() + skew });
    const market = new MarketPage(page);
    await market.goto();
    await market.waitForHydration();
    await expect(market.connectionStatus).toHaveAttribute("data-state", "open");
    const latency = page.getByTestId("latency");
    await expect(latency).toHaveAttribute("data-value", /\d/);
    for (let sample = 0; sample < 5; sample++) {
      // Both read at once: the figure and its uncertainty belong to one event (read one
      // after the other, a newer event's tighter estimate could pair with an older figure).
      const [shown, uncertainty] = await latency.evaluate((el) => [
        Number(el.getAttribute("data-value")),
        Number(el.getAttribute("data-uncertainty")),
      ]);
      // On loopback the true delay is a few milliseconds: what is shown must be that,
      // within the estimate's stated uncertainty, not ±90 s. (The uncertainty is half a
      // round trip: far below the skew, however busy the machine.)
      expect(shown, `sample ${sample}: ${shown} ± ${uncertainty}`).toBeGreaterThanOrEqual(-uncertainty);
      expect(shown, `sample ${sample}: ${shown} ± ${uncertainty}`).toBeLessThan(1_000);
      expect(uncertainty, `sample ${sample}`).toBeLessThan(1_000);
      await page.waitForTimeout(300);
    }
    await expect(latency).toContainText("±");
  });
}
