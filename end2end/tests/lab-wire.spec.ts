import { expect, test } from "@playwright/test";
import { LabPage, TRANSPORTS, type Transport } from "../pages/lab-page";
import { Tickstream } from "../support/processes";

// What each transport costs on the wire, at the market's default rate (one step of eight
// ticks every 250 ms), on a server of this spec's own so no other spec changes the rate.
let server: Tickstream;
test.beforeAll(async () => {
  server = await Tickstream.start(["--seed", "7"]);
});
test.afterAll(async () => server.stop());

test("polling pays for heads on every answer, and the server counts the bytes Chromium received", async ({
  page,
}) => {
  test.setTimeout(90_000);
  // Chromium's own account of what it received, per request, from its network stack.
  const cdp = await page.context().newCDPSession(page);
  await cdp.send("Network.enable");
  const urls = new Map<string, string>();
  const received = new Map<string, number>();
  cdp.on("Network.requestWillBeSent", (event) => urls.set(event.requestId, event.request.url));
  cdp.on("Network.loadingFinished", (event) =>
    received.set(event.requestId, event.encodedDataLength),
  );

  const lab = new LabPage(page);
  await page.goto(`${server.url}/lab`);
  await expect(page.locator("body")).toHaveAttribute("data-hydrated", "true");
  for (const transport of TRANSPORTS) {
    await expect(lab.panel(transport).state).toHaveAttribute("data-state", "open");
  }
  await page.waitForTimeout(20_000);

  const perMessage = {} as Record<Transport, number>;
  for (const transport of TRANSPORTS) {
    const panel = lab.panel(transport);
    await expect.poll(() => panel.wireBytes()).toBeGreaterThan(0);
    perMessage[transport] = await panel.wirePerMessage();
  }
  console.log("wire bytes per message", perMessage);
  // What the wire really shows at this rate (32 events a second, eight per step):
  // - a long-poll pays a request and a response head (about 0.6 KB) for every answer, and
  //   an answer carries one step's events: it is the dearest per message by far;
  expect(perMessage["long-poll"]).toBeGreaterThan(perMessage.sse * 1.2);
  // - a WebSocket frame's header is a few bytes, where an SSE frame adds `id:` and
  //   `event:` lines: the cheapest;
  expect(perMessage.ws).toBeLessThan(perMessage.sse);
  // - a short poll carries the same bare envelopes as the WebSocket, but pays the heads
  //   once a second, shared by the second's 32 events (on a quieter stream, each event
  //   would pay them alone).
  expect(perMessage["short-poll"]).toBeGreaterThan(perMessage.ws * 1.05);
  // - fetch-SSE reads the very same stream as EventSource.
  expect(Math.abs(perMessage.fetch - perMessage.sse)).toBeLessThan(perMessage.sse * 0.05);

  // The polls' counts against Chromium's: stop them, let the counts settle, and compare
  // what the server says it sent with what the browser says it received.
  for (const transport of ["long-poll", "short-poll"] as const) {
    const panel = lab.panel(transport);
    const client = await panel.clientId();
    await panel.setRunning(false);
    await page.waitForTimeout(1_500);
    const usage = await (await page.request.get(`${server.url}/api/usage/${client}`)).json();
    let browser = 0;
    let largest = 0;
    for (const [id, url] of urls) {
      if (url.includes(`client=${client}`) && received.has(id)) {
        const bytes = received.get(id) ?? 0;
        browser += bytes;
        largest = Math.max(largest, bytes);
      }
    }
    console.log(transport, { server: usage.bytes_sent, chromium: browser });
    // At most the one answer in flight when the panel stopped is counted on one side only.
    expect(Math.abs(usage.bytes_sent - browser)).toBeLessThanOrEqual(largest + 64);
  }
});
