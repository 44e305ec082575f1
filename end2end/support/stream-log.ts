// What a page's EventSources received, as Chromium's network layer saw it (the DevTools
// protocol's `Network.eventSourceMessageReceived`): not what the app says about itself.
// Used to count ids for gaps and duplicates across reconnects.
import { expect, type Page } from "@playwright/test";
import { MarketPage } from "../pages/market-page";

/** One SSE message as the browser received it. */
export interface Received {
  /** The reader's last event id when it was dispatched (it persists across id-less events). */
  id: string;
  name: string;
  data: string;
  /** `Date.now()` in the test process when it arrived. */
  at: number;
}

/** Events outside the history: they carry no id of their own. */
const UNNUMBERED = new Set(["hello", "heartbeat", "reset", "refused"]);

export class StreamLog {
  readonly received: Received[] = [];

  private constructor() {}

  /** Starts recording every SSE message `page` receives. */
  static async attach(page: Page): Promise<StreamLog> {
    const log = new StreamLog();
    const cdp = await page.context().newCDPSession(page);
    cdp.on("Network.eventSourceMessageReceived", (message) =>
      log.received.push({
        id: message.eventId,
        name: message.eventName,
        data: message.data,
        at: Date.now(),
      }),
    );
    await cdp.send("Network.enable");
    return log;
  }

  /** The ids of the history's events, in arrival order (snapshots included). */
  ids(): string[] {
    return this.received.filter((m) => !UNNUMBERED.has(m.name)).map((m) => m.id);
  }

  /** How many of `name` arrived. */
  count(name: string): number {
    return this.received.filter((m) => m.name === name).length;
  }

  /** The connection names the streams' `hello`s gave, in order. */
  connections(): string[] {
    return this.received
      .filter((m) => m.name === "hello")
      .map((m) => JSON.parse(m.data).data.connection as string);
  }

  /** Arrival time of the first history event after `since` (ms, test clock). */
  firstEventAfter(since: number): number | undefined {
    return this.received.find((m) => m.at >= since && !UNNUMBERED.has(m.name))?.at;
  }
}

/** What is wrong with a run of `EPOCH-SEQ` ids: gaps, repeats, or going back. */
export function continuityProblems(ids: string[]): string[] {
  const problems: string[] = [];
  for (let i = 1; i < ids.length; i++) {
    const [epoch, seq] = split(ids[i - 1]);
    const [nextEpoch, nextSeq] = split(ids[i]);
    if (epoch !== nextEpoch) {
      problems.push(`epoch changed at ${ids[i - 1]} → ${ids[i]}`);
    } else if (nextSeq !== seq + 1) {
      problems.push(`${ids[i - 1]} → ${ids[i]}`);
    }
  }
  return problems;
}

function split(id: string): [string, number] {
  const at = id.lastIndexOf("-");
  return [id.slice(0, at), Number(id.slice(at + 1))];
}

/** The market page at `base`, hydrated and open, its stream recorded from the start. */
export async function openRecordedMarket(
  page: Page,
  base: string,
): Promise<{ market: MarketPage; log: StreamLog }> {
  const log = await StreamLog.attach(page);
  const market = new MarketPage(page);
  await page.goto(`${base}/`);
  await market.waitForHydration();
  await expect(market.connectionStatus).toHaveAttribute("data-state", "open");
  return { market, log };
}
