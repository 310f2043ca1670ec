import { test } from "node:test";
import assert from "node:assert/strict";
import { ReplayWindow } from "./replay_window.ts";

test("small transactions: the acknowledged position stays a budget's worth of WAL behind", () => {
  const window = new ReplayWindow({ budget: 1_000n, acked: 0n });
  for (let lsn = 100n; lsn <= 5_000n; lsn += 100n) window.add(lsn, 10);
  assert.equal(window.ackFor(5_000n), 4_000n);
});

test("the replayed transactions add up to at most the budget", () => {
  const window = new ReplayWindow({ budget: 1_000n, acked: 0n });
  window.add(100n, 300);
  window.add(200n, 300);
  window.add(300n, 300);
  window.add(400n, 300);
  // 400 and 300 fit (600 bytes), 200 would make 900, 100 would make 1200.
  assert.equal(window.ackFor(400n), 100n);
});

test("a transaction larger than the budget is not replayed", () => {
  const window = new ReplayWindow({ budget: 1_000n, acked: 0n });
  window.add(100n, 10);
  window.add(900n, 50_000);
  assert.equal(window.ackFor(900n), 900n);
  // With nothing to replay, a later position (a keepalive's) is acknowledged as it is.
  assert.equal(window.ackFor(920n), 920n);
  // Nor is anything after the persisted position considered.
  window.add(950n, 10);
  assert.equal(window.ackFor(920n), 920n);
});

test("the acknowledged position never moves back", () => {
  const window = new ReplayWindow({ budget: 1_000n, acked: 0n });
  window.add(5_000n, 50_000);
  assert.equal(window.ackFor(5_000n), 5_000n);
  window.add(5_100n, 10);
  window.add(5_200n, 10);
  assert.equal(window.ackFor(5_200n), 5_000n);
});

test("a budget of 0 acknowledges the persisted position itself", () => {
  const window = new ReplayWindow({ budget: 0n, acked: 0n });
  window.add(100n, 10);
  assert.equal(window.ackFor(100n), 100n);
  assert.equal(window.ackFor(250n), 250n);
});
