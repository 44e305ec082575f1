import { expect, type Locator, type Page } from "@playwright/test";

/** The price alerts on the market page: the bell and form in a row, the list, the toasts. */
export class Alerts {
  readonly list: Locator;
  readonly items: Locator;
  readonly form: Locator;
  readonly toasts: Locator;

  constructor(readonly page: Page) {
    this.list = page.getByTestId("alerts");
    this.items = this.list.getByTestId("alert-item");
    this.form = page.getByTestId("alert-form");
    this.toasts = page.getByTestId("alert-toast");
  }

  /** Resolves once the stored alerts have been read (after hydration). */
  async waitForLoad(): Promise<void> {
    await expect(this.list).toHaveAttribute("data-loaded", "true");
  }

  /** The alert items of one symbol. */
  of(symbol: string): Locator {
    return this.list.locator(`[data-testid="alert-item"][data-symbol="${symbol}"]`);
  }

  /** Opens `row`'s form with its bell. */
  async open(row: Locator): Promise<Locator> {
    await row.getByTestId("alert-button").click();
    await expect(this.form).toBeVisible();
    return this.form;
  }

  /** Sets an alert from `row` with the mouse; resolves once the form has closed. */
  async set(row: Locator, direction: "above" | "below", price: string): Promise<void> {
    const form = await this.open(row);
    await form.getByTestId("alert-direction").selectOption(direction);
    await form.getByTestId("alert-price").fill(price);
    await form.getByTestId("alert-set").click();
    await expect(this.form).toHaveCount(0);
  }
}
