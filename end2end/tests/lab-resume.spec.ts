import { expect, test } from "@playwright/test";
import { adminToken } from "../playwright.config";
import { LabPage, TRANSPORTS } from "../pages/lab-page";
import { step } from "../support/admin";
import { Tickstream } from "../support/processes";

// On a manual clock nothing moves between two steps, so the id a reconnecting transport
// resumes from is known exactly.
let server: Tickstream;
test.beforeAll(async () => {
  server = await Tickstream.start(["--seed", "42", "--clock", "manual", "--admin-token", adminToken]);
});
test.afterAll(async () => server.stop());

/** A request as the page made it: HTTP requests and WebSocket handshakes alike. */
interface Seen {
  url: string;
  headers?: Promise<Record<string, string>>;
}

/** The id a stream or poll request asks to resume after: the `Last-Event-ID` header a
 * reconnecting EventSource sends wins over the query, as on the server. */
async function resumesAfter(request: Seen): Promise<string | undefined> {
  const url = new URL(request.url);
  return (
    (await request.headers)?.["last-event-id"] ??
    url.searchParams.get("lastEventId") ??
    url.searchParams.get("after") ??
    undefined
  );
}

test("a killed or dropped connection resumes from the last id it saw: no gap, no reset", async ({
  page,
  request,
}) => {
  test.setTimeout(90_000);
  const requests: Seen[] = [];
  // All headers, as sent: those the network stack adds (an EventSource's Last-Event-ID)
  // included.
  page.on("request", (sent) =>
    requests.push({ url: sent.url(), headers: sent.allHeaders().catch(() => ({})) }),
  );
  page.on("websocket", (socket) => requests.push({ url: socket.url() }));
  const lab = new LabPage(page);
  await page.goto(`${server.url}/lab`);
  await expect(page.locator("body")).toHaveAttribute("data-hydrated", "true");
  for (const transport of TRANSPORTS) {
    await expect(lab.panel(transport).state).toHaveAttribute("data-state", "open");
  }

  // "Drop" has the server end the connection; a poll has none between requests, so for
  // polls it loses the request in flight, as a kill does.
  for (const [transport, how] of [
    ...TRANSPORTS.map((t) => [t, "kill"] as const),
    ...TRANSPORTS.map((t) => [t, "drop"] as const),
  ]) {
    const panel = lab.panel(transport);
    const latest = await step(request, server.url, 3);
    await expect.poll(() => panel.lastId(), `${transport} sees ${latest}`).toBe(latest);
    const before = requests.length;
    const reconnects = await panel.count("reconnects");
    if (how === "kill") await panel.kill();
    else await panel.dropByServer();
    // A poll counts as back once an answer arrives: give it something to answer with.
    const next = await step(request, server.url, 2);
    await expect.poll(() => panel.count("reconnects"), `${transport} ${how}`).toBeGreaterThan(reconnects);
    await expect(panel.state).toHaveAttribute("data-state", "open");
    await expect.poll(() => panel.lastId()).toBe(next);
    // The request that brought it back asked for exactly what came after `latest`.
    const path = {
      sse: "/api/sse",
      fetch: "/api/sse",
      ws: "/api/ws",
      "long-poll": "/api/poll",
      "short-poll": "/api/poll",
    }[transport];
    const client = await panel.clientId();
    const again = requests
      .slice(before)
      .filter((r) => r.url.includes(path) && r.url.includes(`client=${client}`));
    expect(again.length, `${transport} ${how}: a new request`).toBeGreaterThan(0);
    expect(await resumesAfter(again[0]), `${transport} ${how}`).toBe(latest);
  }
  for (const transport of TRANSPORTS) {
    const panel = lab.panel(transport);
    expect(await panel.count("gaps"), `${transport} gaps`).toBe(0);
    expect(await panel.count("resets"), `${transport} resets`).toBe(0);
  }
});
