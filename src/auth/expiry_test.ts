import { test } from "node:test";
import assert from "node:assert/strict";
import { expiryDelayMs } from "./expiry.ts";

const now = new Date("2024-06-01T12:00:00.000Z");

test("no expiry means no timer", () => {
  assert.equal(expiryDelayMs({}, now), undefined);
  assert.equal(expiryDelayMs({ expiresAt: new Date(NaN) }, now), undefined);
});

test("delay until expiry, never negative", () => {
  assert.equal(expiryDelayMs({ expiresAt: new Date(now.getTime() + 60_000) }, now), 60_000);
  assert.equal(expiryDelayMs({ expiresAt: new Date(now.getTime() + 1) }, now), 1);
  assert.equal(expiryDelayMs({ expiresAt: now }, now), 0);
  assert.equal(expiryDelayMs({ expiresAt: new Date(now.getTime() - 5_000) }, now), 0);
});
