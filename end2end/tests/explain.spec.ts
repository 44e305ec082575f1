import { expect, test } from "@playwright/test";
import { adminToken } from "../playwright.config";
import { MarketPage } from "../pages/market-page";
import { step } from "../support/admin";
import { Tickstream } from "../support/processes";

// The finite streamed answer: "Explain this move" streams the analyst note into a panel.
let server: Tickstream;
test.beforeAll(async () => {
  server = await Tickstream.start([
    "--seed", "42", "--clock", "manual", "--admin-token", adminToken, "--explain-token-ms", "60",
  ]);
});
test.afterAll(async () => server.stop());

/** The note as a plain client reads it: every `token` event's text, in order. */
function tokens(stream: string): string {
  return [...stream.matchAll(/^event: token\ndata: (.*)$/gm)]
    .map((m) => JSON.parse(m[1]).text as string)
    .join("");
}

test("the note streams in word by word, as the server wrote it", async ({ page, request }) => {
  test.setTimeout(90_000);
  const market = new MarketPage(page);
  await page.goto(`${server.url}/`);
  await market.waitForHydration();
  await step(request, server.url, 12);
  await page.getByTestId("explain-button").click();
  const panel = page.getByTestId("explain-panel");
  await expect(panel).toHaveAttribute("data-state", "streaming");
  const text = page.getByTestId("explain-text");
  // Word by word: first some of it, then more.
  await expect(text).toContainText("NOVA (Novatek Systems)");
  const early = (await text.innerText()).length;
  await expect(panel).toHaveAttribute("data-state", "done", { timeout: 60_000 });
  const shown = await text.innerText();
  expect(shown.length).toBeGreaterThan(early);
  // The same question asked by a plain client gets the same words (a seeded market on a
  // manual clock does not move in between).
  const answer = await request.post(`${server.url}/api/explain`, { data: { symbol: "NOVA" } });
  expect(answer.headers()["content-type"]).toContain("text/event-stream");
  expect(shown.trim()).toBe(tokens(await answer.text()).trim());
});

test("cancel stops the answer on the server; a second answer at once is refused clearly", async ({
  page,
  request,
}) => {
  const market = new MarketPage(page);
  await page.goto(`${server.url}/`);
  await market.waitForHydration();
  await page.getByTestId("explain-button").click();
  const text = page.getByTestId("explain-text");
  await expect(text).not.toHaveText("");
  await page.getByTestId("explain-cancel").click();
  await expect(page.getByTestId("explain-panel")).toHaveAttribute("data-state", "cancelled");
  const gauge = async () => {
    const metrics = await (await request.get(`${server.url}/metrics`)).text();
    return Number(/tickstream_open_connections\{transport="explain"\} (\d+)/.exec(metrics)?.[1]);
  };
  await expect.poll(gauge, { message: "the server stopped writing" }).toBe(0);
  const stopped = await text.innerText();
  await page.waitForTimeout(500);
  expect(await text.innerText()).toBe(stopped);

  // While another answer for this address runs, the panel says why it cannot explain.
  const other = fetch(`${server.url}/api/explain`, {
    method: "POST",
    body: JSON.stringify({ symbol: "GRID" }),
  });
  const reader = (await other).body?.getReader();
  await reader?.read();
  await page.getByTestId("explain-button").click();
  await expect(page.getByTestId("explain-panel")).toHaveAttribute("data-state", "error");
  await expect(page.getByTestId("explain-status")).toContainText("still running");
  await reader?.cancel();
});
