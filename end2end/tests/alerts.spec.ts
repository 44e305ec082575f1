import { expect, test, type APIRequestContext } from "@playwright/test";
import { adminToken } from "../playwright.config";
import { Alerts } from "../pages/alerts";
import { MarketPage } from "../pages/market-page";
import { step } from "../support/admin";
import { Tickstream } from "../support/processes";

// Price alerts on a seeded market with a manual clock. The spec steps its market, so each
// test starts a server of its own: the shared manual-clock server's prices are asserted
// exactly by deterministic.spec.ts, and a test that inherited another's steps would start
// wherever that one left the market. No price is hard-coded: each test reads the market,
// sets a level from what it read, and steps one step at a time (a bounded number of them).

let server: Tickstream;
test.beforeEach(async () => {
  server = await Tickstream.start(["--seed", "42", "--clock", "manual", "--admin-token", adminToken]);
});
test.afterEach(async () => server.stop());

/** Steps allowed for the price to reach a level set one cent away. */
const MAX_STEPS = 200;

declare global {
  interface Window {
    __notifications: { title: string; body?: string; tag?: string }[];
  }
}

const price = (cents: number): string => (cents / 100).toFixed(2);

/** `symbol`'s last price now, from the server's snapshot. */
async function lastCents(request: APIRequestContext, symbol: string): Promise<number> {
  const snapshot = await (await request.get(`${server.url}/api/snapshot`)).json();
  const state = snapshot.data.symbols.find((s: { symbol: string }) => s.symbol === symbol);
  expect(state, `${symbol} is in the snapshot`).toBeTruthy();
  return state.quote.last;
}

/** Steps the market once; resolves with `symbol`'s last price once the page has it. */
async function stepOnce(
  market: MarketPage,
  request: APIRequestContext,
  symbol: string,
): Promise<number> {
  const id = await step(request, server.url, 1);
  await expect(market.lastEventId).toHaveText(id);
  const last = await lastCents(request, symbol);
  await expect(market.lastPrice(symbol)).toHaveText(price(last));
  return last;
}

/** Opens the page on this spec's server, hydrated, streaming, alerts read. */
async function open(market: MarketPage, alerts: Alerts): Promise<void> {
  await market.page.goto(`${server.url}/`);
  await market.waitForHydration();
  await expect(market.connectionStatus).toHaveAttribute("data-state", "open");
  await alerts.waitForLoad();
}

test("stepping the market across an alert's level fires it exactly once", async ({
  page,
  context,
  request,
}) => {
  test.setTimeout(120_000);
  await context.grantPermissions(["notifications"], { origin: server.url });
  // Every notification the page makes is recorded (and still made).
  await page.addInitScript(() => {
    const Real = window.Notification;
    const seen: Window["__notifications"] = [];
    window.__notifications = seen;
    class Recording extends Real {
      constructor(title: string, options?: NotificationOptions) {
        seen.push({ title, body: options?.body, tag: options?.tag });
        super(title, options);
      }
    }
    Object.defineProperty(Recording, "permission", { get: () => Real.permission });
    Object.defineProperty(Recording, "requestPermission", {
      value: (...args: Parameters<typeof Real.requestPermission>) =>
        Real.requestPermission(...args),
    });
    window.Notification = Recording;
  });
  const market = new MarketPage(page);
  const alerts = new Alerts(page);
  await open(market, alerts);
  await expect(page.getByTestId("alerts-permission")).toHaveText("Notifications on");

  const symbol = "NOVA";
  const start = await lastCents(request, symbol);
  await expect(market.lastPrice(symbol)).toHaveText(price(start));
  const level = start + 1;
  await alerts.set(market.row(symbol), "above", price(level));
  const item = alerts.of(symbol);
  await expect(item).toHaveCount(1);
  await expect(item).toHaveAttribute("data-direction", "above");
  await expect(item).toHaveAttribute("data-state", "armed");
  await expect(market.row(symbol).getByTestId("alert-button")).toHaveAttribute("data-armed", "true");

  let steps = 0;
  let last = start;
  while (last < level) {
    expect(steps, `${symbol} never reached ${price(level)} in ${MAX_STEPS} steps`).toBeLessThan(
      MAX_STEPS,
    );
    await expect(item).toHaveAttribute("data-state", "armed");
    last = await stepOnce(market, request, symbol);
    steps += 1;
  }
  await expect(item).toHaveAttribute("data-state", "fired");
  await expect(alerts.toasts).toHaveCount(1);
  await expect(alerts.toasts).toContainText(
    `${symbol} rose above ${price(level)} (last ${price(last)})`,
  );

  // More steps, across the level again or not: it stays fired, and says nothing more.
  for (let n = 0; n < 5; n++) await stepOnce(market, request, symbol);
  await expect(item).toHaveAttribute("data-state", "fired");
  await expect(alerts.toasts).toHaveCount(1);
  const notifications = await page.evaluate(() => window.__notifications);
  expect(notifications).toHaveLength(1);
  expect(notifications[0].title).toContain(symbol);
  expect(notifications[0].title).toContain(price(level));

  await alerts.toasts.getByTestId("alert-toast-dismiss").click();
  await expect(alerts.toasts).toHaveCount(0);
});

test("alerts are kept across reloads until removed, and set from the keyboard", async ({
  page,
}) => {
  const market = new MarketPage(page);
  const alerts = new Alerts(page);
  await open(market, alerts);
  await expect(alerts.items).toHaveCount(0);

  // Bell, Enter, type, Enter: the row is never selected, and the focus comes back.
  const row = market.row("VITA");
  const bell = row.getByTestId("alert-button");
  await bell.focus();
  await page.keyboard.press("Enter");
  await expect(alerts.form).toBeVisible();
  await expect(alerts.form).toHaveAttribute("data-symbol", "VITA");
  const input = alerts.form.getByTestId("alert-price");
  await expect(input).toHaveValue(await market.lastPrice("VITA").innerText());
  // Focused with the last price selected: typing replaces it.
  await expect(input).toBeFocused();
  await page.keyboard.type("100");
  await expect(input).toHaveValue("100");
  await alerts.form.getByTestId("alert-direction").selectOption("below");
  await input.press("Enter");
  await expect(alerts.form).toHaveCount(0);
  await expect(bell).toBeFocused();
  await expect(row).toHaveAttribute("aria-selected", "false");

  const item = alerts.of("VITA");
  await expect(item).toHaveCount(1);
  await expect(item).toContainText("VITA below 100.00");

  await page.reload();
  await market.waitForHydration();
  await alerts.waitForLoad();
  await expect(item).toHaveCount(1);
  await expect(item).toHaveAttribute("data-direction", "below");
  await expect(item).toHaveAttribute("data-state", "armed");
  await expect(item).toContainText("VITA below 100.00");

  await item.getByTestId("alert-remove").click();
  await expect(alerts.items).toHaveCount(0);
  await page.reload();
  await market.waitForHydration();
  await alerts.waitForLoad();
  await expect(alerts.items).toHaveCount(0);
});

test("an invalid price says why and sets nothing", async ({ page }) => {
  const market = new MarketPage(page);
  const alerts = new Alerts(page);
  await open(market, alerts);
  const row = market.row("QBIT");
  const form = await alerts.open(row);
  const input = form.getByTestId("alert-price");
  const error = form.getByTestId("alert-error");
  const cases: [string, string][] = [
    ["abc", "Use digits and a decimal point only, for example 101.50."],
    ["101.505", "Use at most 2 decimals (whole cents), for example 101.50."],
    ["0", "The price must be more than 0."],
    ["-5", "The price must be more than 0."],
    ["", "Enter a price, for example 101.50."],
  ];
  for (const [typed, message] of cases) {
    await input.fill(typed);
    await form.getByTestId("alert-set").click();
    await expect(error).toHaveText(message);
    await expect(input).toHaveAttribute("aria-invalid", "true");
    await expect(form).toBeVisible();
  }
  // Typing again clears the message.
  await input.fill("12");
  await expect(error).toHaveText("");
  await expect(input).toHaveAttribute("aria-invalid", "false");
  await form.getByTestId("alert-cancel").click();
  await expect(alerts.form).toHaveCount(0);
  await expect(alerts.items).toHaveCount(0);
  await expect(row).toHaveAttribute("aria-selected", "false");
});

test("an alert below the price waits for the price to fall to it", async ({ page, request }) => {
  test.setTimeout(120_000);
  const market = new MarketPage(page);
  const alerts = new Alerts(page);
  await open(market, alerts);

  const symbol = "NOVA";
  const start = await lastCents(request, symbol);
  const level = start - 1;
  await alerts.set(market.row(symbol), "below", price(level));
  const item = alerts.of(symbol);
  await expect(item).toHaveAttribute("data-state", "armed");

  // Every step that leaves the price above the level leaves the alert armed; the first
  // one at or under it fires it.
  let steps = 0;
  let last = start;
  while (last > level) {
    expect(steps, `${symbol} never fell to ${price(level)} in ${MAX_STEPS} steps`).toBeLessThan(
      MAX_STEPS,
    );
    last = await stepOnce(market, request, symbol);
    steps += 1;
    if (last > level) await expect(item).toHaveAttribute("data-state", "armed");
  }
  await expect(item).toHaveAttribute("data-state", "fired");
  await expect(alerts.toasts).toHaveCount(1);
  await expect(alerts.toasts).toContainText(
    `${symbol} fell below ${price(level)} (last ${price(last)})`,
  );
});
