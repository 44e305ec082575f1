import { expect, type Locator, type Page } from "@playwright/test";

export const TRANSPORTS = ["sse", "ws", "long-poll", "short-poll"] as const;
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

  async count(stat: "messages" | "requests" | "reconnects" | "gaps"): Promise<number> {
    return Number(await this.root.getByTestId(`lab-${stat}`).innerText());
  }

  async kill(): Promise<void> {
    await this.root.getByTestId("lab-kill").click();
  }

  async dropByServer(): Promise<void> {
    await this.root.getByTestId("lab-drop").click();
  }
}
