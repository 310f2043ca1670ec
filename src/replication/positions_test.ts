import { test } from "node:test";
import assert from "node:assert/strict";
import { needsWrite, nextWriteDelay, PositionWriter } from "./positions.ts";

test("a write is due at once after a quiet spell, then once per interval", () => {
  assert.equal(nextWriteDelay({ now: 1_000, lastWriteAt: -Infinity, intervalMs: 500 }), 0);
  assert.equal(nextWriteDelay({ now: 1_000, lastWriteAt: 900, intervalMs: 500 }), 400);
  assert.equal(nextWriteDelay({ now: 1_000, lastWriteAt: 400, intervalMs: 500 }), 0);
});

test("only a position past the persisted one needs writing", () => {
  assert.equal(needsWrite(undefined, undefined), false);
  assert.equal(needsWrite(10n, undefined), true);
  assert.equal(needsWrite(10n, 10n), false);
  assert.equal(needsWrite(11n, 10n), true);
});

function writer(options: { intervalMs: number; settled?: () => Promise<void> }) {
  const writes: bigint[] = [];
  const persisted: bigint[] = [];
  const errors: unknown[] = [];
  let fail = false;
  const w = new PositionWriter({
    intervalMs: options.intervalMs,
    settled: options.settled,
    write: (lsn) => {
      if (fail) return Promise.reject(new Error("database gone"));
      writes.push(lsn);
      return Promise.resolve();
    },
    onPersisted: (lsn) => persisted.push(lsn),
    onError: (error) => errors.push(error),
  });
  return { w, writes, persisted, errors, failWrites: () => fail = true };
}

async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

test("a burst of positions costs one write now and one per interval, of the newest", async () => {
  const { w, writes, persisted } = writer({ intervalMs: 100 });
  for (let lsn = 1n; lsn <= 1_000n; lsn++) w.offer(lsn);
  await until(() => persisted.at(-1) === 1_000n, "the last position");
  assert.ok(writes.length <= 2, `${writes.length} writes`);
  assert.equal(w.persisted, 1_000n);
  w.offer(999n); // never backwards
  await w.stop({ flush: true });
  assert.equal(writes.at(-1), 1_000n);
  assert.deepEqual(persisted, writes);
});

test("positions are written only once consumers have settled", async () => {
  let release: () => void = () => {};
  const gate = new Promise<void>((resolve) => release = resolve);
  const { w, writes } = writer({ intervalMs: 10, settled: () => gate });
  w.offer(5n);
  await new Promise((r) => setTimeout(r, 30));
  assert.deepEqual(writes, []);
  release();
  await until(() => writes.length === 1, "the write");
  await w.stop({ flush: false });
});

test("an orderly stop writes what was handed on; a crash-like stop does not", async () => {
  const orderly = writer({ intervalMs: 60_000 });
  orderly.w.offer(1n);
  await until(() => orderly.writes.length === 1, "the first write");
  orderly.w.offer(2n);
  await orderly.w.stop({ flush: true });
  assert.deepEqual(orderly.writes, [1n, 2n]);

  const crash = writer({ intervalMs: 60_000 });
  crash.w.offer(1n);
  await until(() => crash.writes.length === 1, "the first write");
  crash.w.offer(2n);
  await crash.w.stop({ flush: false });
  assert.deepEqual(crash.writes, [1n]);
  assert.equal(crash.w.persisted, 1n);
});

test("a failed write is reported and stops the writer", async () => {
  const { w, errors, failWrites, persisted } = writer({ intervalMs: 10 });
  failWrites();
  w.offer(1n);
  await until(() => errors.length === 1, "the error");
  w.offer(2n);
  await new Promise((r) => setTimeout(r, 30));
  assert.equal(errors.length, 1);
  assert.deepEqual(persisted, []);
  await w.stop({ flush: false });
});
