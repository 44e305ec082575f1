import { fetchEventSource } from "@microsoft/fetch-event-source";
import { expect, test } from "@playwright/test";
import { spawn } from "node:child_process";
import { join } from "node:path";
import { EventSource } from "eventsource";
import { adminToken } from "../playwright.config";
import { step } from "../support/admin";
import { ROOT, Tickstream } from "../support/processes";

// The clients people actually use, against the real stream: npm's `eventsource`,
// `@microsoft/fetch-event-source` and Python's `httpx-sse`. Every message any of them hands
// over must be a whole envelope (JSON.parse never fails: no empty messages from a lone
// `retry:` or a keep-alive), with gapless ids. The server sends a keep-alive every second
// here, so each client reads several of them.
let server: Tickstream;
test.beforeAll(async () => {
  server = await Tickstream.start([
    "--seed", "42", "--clock", "manual", "--admin-token", adminToken, "--heartbeat-secs", "1",
  ]);
});
test.afterAll(async () => server.stop());

interface Seen {
  event: string;
  id: string;
  data: string;
}

/** Every message is JSON; the market events' ids follow each other without a gap. */
function checkAll(client: string, seen: Seen[], last: string) {
  expect(seen.length, `${client} received events`).toBeGreaterThan(3);
  for (const message of seen) {
    expect(message.data, `${client}: an empty message`).not.toBe("");
    expect(() => JSON.parse(message.data), `${client}: ${message.data.slice(0, 40)}`).not.toThrow();
  }
  const ids = seen.filter((m) => m.id).map((m) => Number(m.id.split("-")[1]));
  for (let i = 1; i < ids.length; i++) expect(ids[i], `${client}: gapless`).toBe(ids[i - 1] + 1);
  expect(seen.at(-1)?.id, `${client} reached the last event`).toBe(last);
}

/** Steps the market a few times with pauses, so that keep-alives come in between. */
async function stepSlowly(request: Parameters<typeof step>[0]): Promise<string> {
  let last = "";
  for (let round = 0; round < 3; round++) {
    await new Promise((r) => setTimeout(r, 1_300));
    last = await step(request, server.url, 2);
  }
  return last;
}

test("npm eventsource reads every event whole", async ({ request }) => {
  const seen: Seen[] = [];
  const source = new EventSource(`${server.url}/api/sse`);
  for (const name of ["hello", "snapshot", "tick", "news", "market"]) {
    source.addEventListener(name, (e) =>
      seen.push({ event: name, id: (e as MessageEvent).lastEventId, data: (e as MessageEvent).data }),
    );
  }
  // Named events never reach onmessage.
  let unnamed = 0;
  source.onmessage = () => unnamed++;
  await expect.poll(() => seen.length).toBeGreaterThan(1);
  const last = await stepSlowly(request);
  await expect.poll(() => seen.at(-1)?.id).toBe(last);
  source.close();
  checkAll("eventsource", seen.filter((m) => m.event !== "hello"), last);
  expect(unnamed).toBe(0);
});

test("@microsoft/fetch-event-source hands over no empty message", async ({ request }) => {
  // A browser library: it calls `window.setTimeout` and watches `document` for hidden
  // tabs. In Node, `window` is the global and the document is never hidden.
  const global = globalThis as unknown as Record<string, unknown>;
  global.window = globalThis;
  global.document ??= { hidden: false, addEventListener() {}, removeEventListener() {} };
  const seen: Seen[] = [];
  const stop = new AbortController();
  const reading = fetchEventSource(`${server.url}/api/sse`, {
    signal: stop.signal,
    openWhenHidden: true,
    fetch,
    onmessage: (message) => seen.push({ event: message.event, id: message.id, data: message.data }),
  });
  await expect.poll(() => seen.length).toBeGreaterThan(1);
  const last = await stepSlowly(request);
  await expect.poll(() => seen.at(-1)?.id).toBe(last);
  stop.abort();
  await reading.catch(() => undefined);
  checkAll("fetch-event-source", seen, last);
});

test("Python httpx-sse reads every event whole", async ({ request }) => {
  const python = join(ROOT, "end2end/.venv/bin/python");
  const script = join(ROOT, "end2end/clients/httpx_sse_client.py");
  const child = spawn(python, [script, `${server.url}/api/sse`, "60"]);
  const seen: Seen[] = [];
  let buffered = "";
  child.stdout.on("data", (chunk: Buffer) => {
    buffered += chunk.toString();
    const lines = buffered.split("\n");
    buffered = lines.pop() ?? "";
    for (const line of lines) if (line) seen.push(JSON.parse(line));
  });
  let errors = "";
  child.stderr.on("data", (chunk: Buffer) => (errors += chunk.toString()));
  try {
    await expect.poll(() => seen.length, { message: errors }).toBeGreaterThan(1);
    const last = await stepSlowly(request);
    await expect.poll(() => seen.at(-1)?.id, { message: errors }).toBe(last);
    checkAll("httpx-sse", seen, last);
  } finally {
    child.kill();
  }
});

// A stream refused for want of room. By the spec, an EventSource that gets a 429 or a 503
// fails for good (it ignores Retry-After): the server answers an EventSource 200 with
// `retry:` and a `refused` event instead, so that it comes back by itself — and gets in
// once a place is free, resuming by id as after any loss.
test.describe("a refused EventSource", () => {
  let crowded: Tickstream;
  test.beforeAll(async () => {
    crowded = await Tickstream.start(["--seed", "7", "--max-streams-per-ip", "1"]);
  });
  test.afterAll(async () => crowded.stop());

  test("npm eventsource hears why, waits, and gets in when a place is free", async () => {
    const holder = new EventSource(`${crowded.url}/api/sse`);
    const held = new Promise((done) => holder.addEventListener("hello", done));
    await held;
    const refusals: string[] = [];
    const late = new EventSource(`${crowded.url}/api/sse`);
    late.addEventListener("refused", (e) => refusals.push((e as MessageEvent).data));
    let snapshots = 0;
    late.addEventListener("snapshot", () => snapshots++);
    try {
      await expect.poll(() => refusals.length).toBeGreaterThan(0);
      expect(JSON.parse(refusals[0]).error.code).toBe("too_many_streams");
      // Not failed: still trying (CONNECTING), where a 429 would have left it CLOSED.
      expect(late.readyState).not.toBe(EventSource.CLOSED);
      holder.close();
      await expect.poll(() => snapshots, { timeout: 20_000 }).toBe(1);
      expect(late.readyState).toBe(EventSource.OPEN);
    } finally {
      holder.close();
      late.close();
    }
  });

  test("Chromium's EventSource comes back too", async ({ page }) => {
    // A page with no stream of its own, on the server's origin.
    await page.goto(`${crowded.url}/api/time`);
    const holder = new EventSource(`${crowded.url}/api/sse`);
    await new Promise((done) => holder.addEventListener("hello", done));
    await page.evaluate(() => {
      const w = window as unknown as { refusals: number; snapshots: number; source: EventSource };
      w.refusals = 0;
      w.snapshots = 0;
      // The browser's own EventSource (in this file the name is npm's).
      const BrowserEventSource = (window as unknown as { EventSource: new (url: string) => EventSource })
        .EventSource;
      w.source = new BrowserEventSource("/api/sse");
      w.source.addEventListener("refused", () => w.refusals++);
      w.source.addEventListener("snapshot", () => w.snapshots++);
    });
    type Counts = { refusals: number; snapshots: number; state: number };
    const counts = () =>
      page.evaluate((): Counts => {
        const w = window as unknown as { refusals: number; snapshots: number; source: EventSource };
        return { refusals: w.refusals, snapshots: w.snapshots, state: w.source.readyState };
      });
    try {
      await expect.poll(async () => (await counts()).refusals).toBeGreaterThan(0);
      expect((await counts()).state).not.toBe(2 /* CLOSED */);
      holder.close();
      await expect.poll(async () => (await counts()).snapshots, { timeout: 20_000 }).toBe(1);
      expect((await counts()).state).toBe(1 /* OPEN */);
    } finally {
      holder.close();
    }
  });
});
