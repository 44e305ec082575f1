// The admin API, as a test calls it on a server of its own.
import { expect, type APIRequestContext } from "@playwright/test";
import { adminToken } from "../playwright.config";

/** Steps the market `n` times; resolves once the steps' events are published. */
export async function step(request: APIRequestContext, base: string, n: number): Promise<string> {
  const response = await request.post(`${base}/api/admin/step`, {
    headers: { Authorization: `Bearer ${adminToken}` },
    data: { n },
  });
  expect(response.status()).toBe(200);
  return (await response.json()).id;
}
