import { expect, type Locator, type Page } from "@playwright/test";

/** The market page (`/`), as a test sees it: only `data-testid` hooks, never CSS classes. */
export class MarketPage {
  readonly watchlist: Locator;
  readonly rows: Locator;
  readonly connectionStatus: Locator;
  readonly lastEventId: Locator;

  constructor(readonly page: Page) {
    this.watchlist = page.getByTestId("watchlist");
    this.rows = this.watchlist.locator('tbody tr[data-testid^="watchlist-row-"]');
    this.connectionStatus = page.getByTestId("connection-status");
    this.lastEventId = page.getByTestId("last-event-id");
  }

  async goto(): Promise<void> {
    await this.page.goto("/");
  }

  /** Resolves once the WebAssembly app has taken over the server-rendered page. */
  async waitForHydration(): Promise<void> {
    await expect(this.page.locator("body")).toHaveAttribute("data-hydrated", "true");
  }

  row(symbol: string): Locator {
    return this.page.getByTestId(`watchlist-row-${symbol}`);
  }

  lastPrice(symbol: string): Locator {
    return this.row(symbol).getByTestId("last");
  }

  /** Every symbol's last price as shown, keyed by symbol. */
  async lastPrices(): Promise<Record<string, string>> {
    const prices: Record<string, string> = {};
    for (const row of await this.rows.all()) {
      const id = (await row.getAttribute("data-testid")) ?? "";
      prices[id.replace("watchlist-row-", "")] = (await row.getByTestId("last").innerText()).trim();
    }
    return prices;
  }
}
