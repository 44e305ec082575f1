// The connection-limit lab in real Chromium: eight EventSources to one origin. Over HTTP/1.1
// the browser holds six connections per origin, so six streams open and two wait in its
// queue; over HTTPS the same page speaks HTTP/2, every stream shares one connection and all
// eight open. Both against real servers: the suite's plain one, and one started here with
// `--tls self-signed`.
import { expect, test, type Page } from "@playwright/test";
import { Tickstream } from "../support/processes";

/** Opens `/connections` at `base` and waits until the page is live. */
async function openLab(page: Page, base: string): Promise<void> {
  await page.goto(`${base}/connections`);
  await page.locator('body[data-hydrated="true"]').waitFor();
}

/** The per-stream states as the page shows them. */
async function states(page: Page): Promise<string[]> {
  return page
    .getByTestId("conn-lab-stream")
    .evaluateAll((rows) => rows.map((row) => row.getAttribute("data-state") ?? ""));
}

test("over HTTP/1.1 six streams open and the other two wait", async ({ page, baseURL }) => {
  await openLab(page, baseURL!);
  await expect(page.getByTestId("conn-lab-stream")).toHaveCount(8);
  await expect(page.getByTestId("conn-lab-open")).toHaveText("6");
  await expect(page.getByTestId("conn-lab-waiting")).toHaveText("2");
  // Still queued a while later: the browser is holding them, not the server being slow.
  await page.waitForTimeout(1_500);
  expect((await states(page)).sort()).toEqual([...Array(6).fill("open"), "waiting", "waiting"]);

  // Fewer streams than the limit: all of them open.
  await page.getByTestId("conn-lab-count").fill("5");
  await page.getByTestId("conn-lab-apply").click();
  await expect(page.getByTestId("conn-lab-stream")).toHaveCount(5);
  await expect(page.getByTestId("conn-lab-open")).toHaveText("5");
  await expect(page.getByTestId("conn-lab-waiting")).toHaveText("0");
});

test.describe("over HTTPS", () => {
  let server: Tickstream;
  test.beforeAll(async () => {
    server = await Tickstream.start(["--seed", "42", "--tls", "self-signed"]);
  });
  test.afterAll(async () => server?.stop());
  test.use({ ignoreHTTPSErrors: true });

  test("HTTP/2 carries all eight streams on one connection", async ({ page }) => {
    await openLab(page, server.url);
    await expect(page.getByTestId("conn-lab-open")).toHaveText("8");
    await expect(page.getByTestId("conn-lab-waiting")).toHaveText("0");
    expect(await states(page)).toEqual(Array(8).fill("open"));

    // The page really did speak HTTP/2: ask the browser what protocol it used.
    const protocol = await page.evaluate(
      () =>
        (performance.getEntriesByType("navigation")[0] as PerformanceNavigationTiming)
          .nextHopProtocol,
    );
    expect(protocol).toBe("h2");
  });
});
