import { expect, test } from "@playwright/test";

// onmessage hears only unnamed events; a `tick` listener hears only events named `tick`.
test("onmessage hears the unnamed stream only, a tick listener the named one only", async ({
  page,
}) => {
  await page.goto("/lessons");
  await expect(page.locator("body")).toHaveAttribute("data-hydrated", "true");
  const count = async (id: string) => Number(await page.getByTestId(id).innerText());
  await expect.poll(() => count("lesson-named-tick")).toBeGreaterThan(5);
  await expect.poll(() => count("lesson-unnamed-onmessage")).toBeGreaterThan(5);
  expect(await count("lesson-named-onmessage")).toBe(0);
  expect(await count("lesson-unnamed-tick")).toBe(0);
});
