import { test } from "node:test";
import assert from "node:assert/strict";
import {
  confirm,
  enqueue,
  initialOutbox,
  MAX_SENDS,
  MAX_UNCONFIRMED,
  startStreaming,
  takeQueued,
} from "./outbox.ts";
import type { PublishedTransaction } from "./stream.ts";

const AT = new Date("2024-05-01T10:00:00.123Z");

/** Three rows: 10 + 3·10 + 10 = 50 LSNs per transaction. */
function transaction(label = "x"): PublishedTransaction {
  const row = { table: { schema: "public", name: "items" }, values: { id: "1", label } };
  return { commitTimestamp: AT, changes: [row, row, row] };
}

test("outbox: queued until streaming, LSNs continue after the last transaction", () => {
  let state = enqueue(initialOutbox(), transaction());
  state = enqueue(state, { commitTimestamp: AT, changes: [] }); // empty: dropped
  assert.equal(state.queued.length, 1);
  const start = startStreaming(state, 0n);
  assert.equal(start.from, 1n);
  assert.deepEqual(start.deliver.map((s) => [s.firstLsn, s.endLsn]), [[11n, 51n]]);
  state = enqueue(start.state, transaction());
  const next = takeQueued(state);
  assert.deepEqual(next.deliver.map((s) => [s.firstLsn, s.endLsn]), [[61n, 101n]]);
  assert.equal(next.state.position, 101n);
  assert.equal(next.state.queued.length, 0);
});

test("outbox: a subscriber ahead of the position (service restarted) is adopted", () => {
  const state = enqueue(initialOutbox(), transaction());
  const start = startStreaming(state, 0x5000n);
  assert.equal(start.from, 0x5000n);
  assert.deepEqual(start.deliver.map((s) => s.firstLsn), [0x500an]);
  assert.equal(start.state.position, 0x5000n + 50n);
});

test("outbox: a reconnecting subscriber gets what it had not applied, with the same LSNs", () => {
  let state = enqueue(enqueue(initialOutbox(), transaction("a")), transaction("b"));
  const first = startStreaming(state, 0n);
  assert.deepEqual(first.deliver.map((s) => s.endLsn), [51n, 101n]);
  const confirmed = confirm(first.state, 51n); // the first was applied and flushed
  assert.deepEqual(confirmed.applied.map((s) => s.endLsn), [51n]);
  state = confirmed.state;
  assert.equal(state.unconfirmed.length, 1);
  state = enqueue(state, transaction("c"));
  const again = startStreaming(state, 51n);
  assert.equal(again.from, 51n);
  assert.deepEqual(again.deliver.map((s) => [s.firstLsn, s.endLsn]), [[61n, 101n], [111n, 151n]]);
  // Applied meanwhile (confirmation lost with the connection): not sent again.
  const applied = startStreaming(again.state, 101n);
  assert.deepEqual(applied.deliver.map((s) => s.endLsn), [151n]);
  assert.deepEqual(applied.applied.map((s) => s.endLsn), [101n]);
});

test("outbox: a transaction the subscriber keeps failing on is given up after MAX_SENDS", () => {
  let state = startStreaming(enqueue(initialOutbox(), transaction()), 0n).state;
  for (let i = 1; i < MAX_SENDS; i++) {
    const again = startStreaming(state, 1n);
    assert.equal(again.deliver.length, 1);
    state = again.state;
  }
  const last = startStreaming(state, 1n);
  assert.equal(last.deliver.length, 0);
  assert.deepEqual(last.dropped.map((s) => s.endLsn), [51n]);
  assert.equal(last.state.unconfirmed.length, 0);
  assert.equal(last.state.position, 51n);
});

test("outbox: a subscriber starting past everything sent has applied all of it", () => {
  const sent = startStreaming(enqueue(initialOutbox(), transaction()), 0n).state;
  const restarted = startStreaming(sent, 0x5000n);
  assert.deepEqual(restarted.applied.map((s) => s.endLsn), [51n]);
  assert.deepEqual(restarted.dropped, []);
  assert.equal(restarted.state.unconfirmed.length, 0);
});

test("outbox: past the resend window the oldest unconfirmed are dropped, not forgotten", () => {
  let state = initialOutbox();
  for (let i = 0; i < MAX_UNCONFIRMED + 2; i++) state = enqueue(state, transaction());
  const start = startStreaming(state, 0n);
  assert.equal(start.deliver.length, MAX_UNCONFIRMED + 2);
  assert.deepEqual(start.dropped.map((s) => s.endLsn), [51n, 101n]);
  assert.equal(start.state.unconfirmed.length, MAX_UNCONFIRMED);
});
