import { test } from "node:test";
import assert from "node:assert/strict";
import { LsnWaiters } from "./lsn_waiters.ts";

test("a waiter resolves once the stream reaches its position, and false on timeout", async () => {
  const waiters = new LsnWaiters();
  const far = waiters.wait(300n, 5_000);
  const never = waiters.wait(1_000n, 20);
  waiters.reached(200n);
  waiters.reached(300n);
  assert.equal(await far, true);
  assert.equal(await never, false);
  assert.equal(await waiters.wait(250n, 0), true);
});
