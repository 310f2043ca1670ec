import { test } from "node:test";
import assert from "node:assert/strict";
import { backoffDelayMs } from "./backoff.ts";

test("backoff doubles from 1 s and caps at 10 s", () => {
  assert.deepEqual([0, 1, 2, 3, 4, 10, 100].map(backoffDelayMs), [
    1000,
    2000,
    4000,
    8000,
    10000,
    10000,
    10000,
  ]);
});
