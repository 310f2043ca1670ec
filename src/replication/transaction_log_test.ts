import { test } from "node:test";
import assert from "node:assert/strict";
import { type FollowEvent, InMemoryTransactionLog } from "./transaction_log.ts";
import type { Transaction } from "./transaction.ts";

function tx(lsn: number, byteSize = 100): Transaction {
  return {
    xid: lsn,
    lsn: BigInt(lsn),
    commitTimestamp: new Date(0),
    origin: "postgres_1",
    changes: [],
    referencedRecords: [],
    byteSize,
  };
}

const lsns = (r: { kind: string; transactions?: Transaction[] }) =>
  r.kind === "ok" ? r.transactions!.map((t) => Number(t.lsn)) : r.kind;

test("the cache evicts oldest first once the byte budget is exceeded", async () => {
  const log = new InMemoryTransactionLog({ maxBytes: 250 });
  log.markStart(5n);
  for (const lsn of [10, 20, 30]) assert.equal(log.append(tx(lsn)), true);
  assert.equal(log.firstLsn(), 20n);
  assert.equal(log.lastLsn(), 30n);
  assert.equal(log.bytes, 200);
  assert.deepEqual(lsns(await log.readAfter(20n)), [30]);
  assert.deepEqual(lsns(await log.readAfter(10n)), [20, 30]);
  assert.equal((await log.readAfter(9n)).kind, "behind_window");
  // One transaction bigger than the budget stays: the newest is always kept.
  log.append(tx(40, 1000));
  assert.equal(log.firstLsn(), 40n);
  assert.deepEqual(lsns(await log.readAfter(30n)), [40]);
  assert.equal((await log.readAfter(29n)).kind, "behind_window");
});

test("before eviction, the log covers everything after its start", async () => {
  const log = new InMemoryTransactionLog({ maxBytes: 1000 });
  log.markStart(5n);
  log.append(tx(10));
  assert.deepEqual(lsns(await log.readAfter(5n)), [10]);
  assert.deepEqual(lsns(await log.readAfter(7n)), [10]);
  assert.equal((await log.readAfter(4n)).kind, "behind_window");
  assert.deepEqual(lsns(await log.readAfter(99n)), []);
});

test("appends at or before the last LSN are ignored (re-read after a reconnect)", () => {
  const log = new InMemoryTransactionLog({ maxBytes: 1000 });
  const seen: number[] = [];
  const unsubscribe = log.subscribe((t) => seen.push(Number(t.lsn)));
  log.append(tx(10));
  assert.equal(log.append(tx(10)), false);
  assert.equal(log.append(tx(5)), false);
  log.append(tx(11));
  unsubscribe();
  log.append(tx(12));
  assert.deepEqual(seen, [10, 11]);
});

test("a throwing listener does not stop the others", () => {
  const log = new InMemoryTransactionLog({ maxBytes: 1000 });
  const seen: boolean[] = [];
  log.subscribe(() => {
    throw new Error("boom");
  });
  log.subscribe((_t, info) => seen.push(info.replayed));
  log.append(tx(1), { replayed: true });
  log.append(tx(2));
  assert.deepEqual(seen, [true, false]);
});

test("reads older than the cache fall back to the retained reader", async () => {
  const calls: Array<[bigint, bigint]> = [];
  const log = new InMemoryTransactionLog({
    maxBytes: 150,
    readRetained: (from, to) => {
      calls.push([from, to]);
      if (from < 5n) return Promise.resolve({ kind: "behind_window" });
      return Promise.resolve({ kind: "ok", transactions: [tx(10), tx(20), tx(30)] });
    },
  });
  log.markStart(5n);
  for (const lsn of [10, 20, 30]) log.append(tx(lsn));
  assert.equal(log.firstLsn(), 30n);
  assert.deepEqual(lsns(await log.readAfter(10n)), [20, 30]);
  assert.deepEqual(calls, [[10n, 20n]]);
  assert.equal((await log.readAfter(4n)).kind, "behind_window");
});

test("readAfter waits until the log knows where it starts", async () => {
  const log = new InMemoryTransactionLog({ maxBytes: 1000 });
  let settled = false;
  const pending = log.readAfter(0n).then((r) => (settled = true, r));
  await new Promise((r) => setTimeout(r, 5));
  assert.equal(settled, false);
  log.markStart(0n);
  assert.deepEqual(lsns(await pending), []);
});

test("follow: each consumer pulls at its own pace, a slow one does not hold up others", async () => {
  const log = new InMemoryTransactionLog({ maxBytes: 10_000 });
  log.markStart(0n);
  const stop = new AbortController();
  const fast: number[] = [];
  const slow: number[] = [];
  const consume = async (into: number[], pauseMs: number, count: number) => {
    for await (const event of log.follow(0n, stop.signal)) {
      if (event.kind !== "transaction") break;
      into.push(Number(event.transaction.lsn));
      if (into.length === count) break;
      if (pauseMs) await new Promise((r) => setTimeout(r, pauseMs));
    }
  };
  const fastDone = consume(fast, 0, 5);
  const slowDone = consume(slow, 20, 5);
  for (let lsn = 1; lsn <= 5; lsn++) {
    log.append(tx(lsn));
    await new Promise((r) => setTimeout(r, 1));
  }
  await fastDone;
  assert.deepEqual(fast, [1, 2, 3, 4, 5]);
  assert.ok(slow.length < 5, "the slow consumer is still behind");
  await slowDone;
  assert.deepEqual(slow, [1, 2, 3, 4, 5]);
  stop.abort();
});

test("follow ends with behind_window when the consumer fell out of the cache", async () => {
  const log = new InMemoryTransactionLog({ maxBytes: 100 });
  log.markStart(0n);
  log.append(tx(1));
  log.append(tx(2));
  const events: FollowEvent[] = [];
  for await (const event of log.follow(0n, new AbortController().signal)) events.push(event);
  assert.deepEqual(events, [{ kind: "behind_window" }]);
});

test("follow stops when its signal aborts while waiting", async () => {
  const log = new InMemoryTransactionLog({ maxBytes: 100 });
  log.markStart(0n);
  const stop = new AbortController();
  const done = (async () => {
    for await (const _ of log.follow(0n, stop.signal)) { /* nothing arrives */ }
  })();
  setTimeout(() => stop.abort(), 5);
  await done;
});

test("reach resolves once the stream gets to a position, false when it does not in time", async () => {
  const log = new InMemoryTransactionLog({ maxBytes: 1_000 });
  log.markStart(10n);
  assert.equal(await log.reach(10n, 1_000), true);
  const waiting = log.reach(30n, 5_000);
  log.append(tx(20));
  log.append(tx(30));
  assert.equal(await waiting, true);
  assert.equal(await log.reach(40n, 20), false);
});
