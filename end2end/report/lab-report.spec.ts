import { expect, test } from "@playwright/test";
import { execFileSync } from "node:child_process";
import { LabPage, TRANSPORTS } from "../pages/lab-page";
import { ROOT, Tickstream } from "../support/processes";
import { spliceReadme } from "../support/readme";

// The README's lab table, measured: all four transports side by side for SECONDS at the
// market's default rate, in headless Chromium, on a fresh server with default settings.
const SECONDS = Number(process.env.LAB_SECONDS ?? 60);

test("the transport lab, measured", async ({ page }) => {
  const server = await Tickstream.start([]);
  try {
    const lab = new LabPage(page);
    await page.goto(`${server.url}/lab`);
    await expect(page.locator("body")).toHaveAttribute("data-hydrated", "true");
    for (const transport of TRANSPORTS) {
      await expect(lab.panel(transport).state).toHaveAttribute("data-state", "open");
    }
    await page.waitForTimeout(SECONDS * 1_000);
    const rows: string[] = [];
    for (const transport of TRANSPORTS) {
      const panel = lab.panel(transport);
      const text = async (id: string) =>
        (await panel.root.getByTestId(id).innerText()).trim();
      const number = async (id: string, attribute: string) =>
        Number(await panel.root.getByTestId(id).getAttribute(attribute));
      const label = (await panel.root.locator("h2").innerText()).trim();
      rows.push(
        `| ${label} | ${(await panel.count("messages")).toLocaleString("en")} | ` +
          `${await text("lab-bytes")} | ${await text("lab-wire-bytes")} | ` +
          `${(await number("lab-wire-per-message", "data-value")).toFixed(0)} B | ` +
          `${await panel.count("requests")} | ${await text("lab-latency-p50")} | ` +
          `${await text("lab-latency-p95")} | ${await panel.count("reconnects")} | ` +
          `${await panel.count("gaps")} | ${await panel.count("resets")} |`,
      );
    }
    const commit = execFileSync("git", ["rev-parse", "--short", "HEAD"], { cwd: ROOT })
      .toString()
      .trim();
    const date = new Date().toISOString().slice(0, 10);
    const table = [
      `After ${SECONDS} s at the default rate (one step of eight ticks every 250 ms), measured by`,
      `\`make lab-report\` on ${date} at commit \`${commit}\` (headless Chromium and the server on`,
      `one machine; latency is on one clock, ± the clock-offset estimate's uncertainty):`,
      "",
      "| transport | messages | payload bytes | bytes on the wire | wire bytes / message | HTTP requests | latency p50 | p95 | reconnects | gaps | resets |",
      "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
      ...rows,
    ].join("\n");
    console.log(`\n${table}\n`);
    spliceReadme("lab-report", table);
  } finally {
    await server.stop();
  }
});
