import { expect, type Locator, type Page } from "@playwright/test";

export const TRANSPORTS = ["sse", "fetch", "ws", "long-poll", "short-poll"] as const;
export type Transport = (typeof TRANSPORTS)[number];

/** The transport lab (`/lab`): one panel per transport with live counters. */
export class LabPage {
  constructor(readonly page: Page) {}

  async goto(): Promise<void> {
    await this.page.goto("/lab");
    await expect(this.page.locator("body")).toHaveAttribute("data-hydrated", "true");
  }

  panel(transport: Transport): LabPanel {
    return new LabPanel(this.page.getByTestId(`lab-panel-${transport}`));
  }
}

export class LabPanel {
  constructor(readonly root: Locator) {}

  get state(): Locator {
    return this.root.getByTestId("lab-state");
  }

  async count(stat: "messages" | "requests" | "reconnects" | "gaps" | "resets"): Promise<number> {
    return Number(await this.root.getByTestId(`lab-${stat}`).innerText());
  }

  /** Bytes on the wire both ways, as the server counted them (0 until the first count). */
  async wireBytes(): Promise<number> {
    return Number((await this.root.getByTestId("lab-wire-bytes").getAttribute("data-bytes")) ?? 0);
  }

  /** Bytes on the wire per message received. */
  async wirePerMessage(): Promise<number> {
    return Number(await this.root.getByTestId("lab-wire-per-message").getAttribute("data-value"));
  }

  /** The id the panel's requests carry (`?client=`), once the server has counted it. */
  async clientId(): Promise<string> {
    const wire = this.root.getByTestId("lab-wire-bytes");
    await expect(wire).toHaveAttribute("data-client", /.+/);
    return (await wire.getAttribute("data-client")) ?? "";
  }

  /** The newest event id the panel has seen. */
  async lastId(): Promise<string> {
    return (await this.root.getByTestId("lab-last-id").getAttribute("data-value")) ?? "";
  }

  get activeTransport(): Locator {
    return this.root.getByTestId("lab-active-transport");
  }

  /** Stops (or starts again) this panel's transport. */
  async setRunning(running: boolean): Promise<void> {
    await this.root.getByTestId("lab-enabled").setChecked(running);
  }

  async kill(): Promise<void> {
    await this.root.getByTestId("lab-kill").click();
  }

  async dropByServer(): Promise<void> {
    await this.root.getByTestId("lab-drop").click();
  }
}
