import assert from "node:assert/strict";
import { test } from "node:test";
import { recordingLogger } from "../../tests/helpers/recording_logger.ts";
import type { Sql } from "../storage/mod.ts";
import {
  nextWait,
  parseSnapshot,
  type SnapshotInfo,
  Visibility,
  visibleIn,
  xidPrecedes,
} from "./visibility.ts";

/** A snapshot in which the xids in `running` have not committed (the others below 2000 have). */
function snapshot(...running: number[]): SnapshotInfo {
  return { xmin: Math.min(2000, ...running), xmax: 2000, xip: new Set(running) };
}

/** Postgres answering `pg_current_snapshot()` with transactions `running` still running. */
function fakeDb() {
  const db = { running: new Set<number>(), probes: 0 };
  const sql = {
    unsafe(text: string) {
      assert.match(text, /pg_current_snapshot/);
      db.probes++;
      const xip = [...db.running];
      const xmin = Math.min(2000, ...xip);
      return Promise.resolve([{ snapshot: `${xmin}:2000:${xip.join(",")}` }]);
    },
  };
  return Object.assign(db, { sql: sql as unknown as Sql });
}

test("snapshot text: 64-bit xids folded to 32 bits, visibility with wraparound", () => {
  const info = parseSnapshot(`${2n ** 32n + 10n}:${2n ** 32n + 20n}:${2n ** 32n + 12n},`);
  assert.deepEqual(info, { xmin: 10, xmax: 20, xip: new Set([12]) });
  assert.equal(visibleIn(info, 9), true);
  assert.equal(visibleIn(info, 11), true);
  assert.equal(visibleIn(info, 12), false, "running when the snapshot was taken");
  assert.equal(visibleIn(info, 20), false, "started after it");
  assert.equal(xidPrecedes(0xfffffff0, 5), true, "across the wraparound");
});

test("waits grow from 2 ms to at most 100 ms", () => {
  const waits = [nextWait(0)];
  while (waits.length < 9) waits.push(nextWait(waits.at(-1)!));
  assert.deepEqual(waits, [2, 4, 8, 16, 32, 64, 100, 100, 100]);
});

test("visible: nothing observed, or all seen already: no snapshot looked at", async () => {
  const db = fakeDb();
  const visibility = new Visibility({ logger: recordingLogger().logger });
  await visibility.visible(db.sql, "Read");
  assert.equal(db.probes, 0);
  visibility.observe({ xid: 1500, lsn: 10n });
  visibility.seen(snapshot());
  await visibility.visible(db.sql, "Read");
  assert.equal(db.probes, 0);
  assert.equal(visibility.tracked, 0);
});

test("visible: waits until what was observed shows, one snapshot for every reader meanwhile", async () => {
  const db = fakeDb();
  db.running.add(1500);
  const visibility = new Visibility({ logger: recordingLogger().logger });
  visibility.observe({ xid: 1500, lsn: 10n });
  let done = 0;
  const reads = [visibility.visible(db.sql, "Read"), visibility.visible(db.sql, "Read")]
    .map((p) => p.then(() => done++));
  assert.equal(db.probes, 1, "both readers look at one snapshot");
  await new Promise((resolve) => setTimeout(resolve, 30));
  assert.equal(done, 0, "still running");
  // 2, 4, 8, 16 ms apart: a handful of looks each in 30 ms, not one per tick.
  assert.ok(db.probes <= 12, `backed off (${db.probes} looks)`);
  db.running.delete(1500);
  await Promise.all(reads);
  assert.equal(visibility.tracked, 0);
  // A transaction observed after a read started is not waited for by it.
  db.running.add(1600);
  const read = visibility.visible(db.sql, "Read");
  visibility.observe({ xid: 1600, lsn: 11n });
  await read;
});

test("visible: gives up after its time with one warning, and nobody waits for it again", async () => {
  const db = fakeDb();
  db.running.add(1500);
  const { logger, warnings } = recordingLogger();
  const visibility = new Visibility({ logger, giveUpMs: 40 });
  visibility.observe({ xid: 1500, lsn: 10n });
  await visibility.visible(db.sql, "Permissions read");
  assert.deepEqual(warnings, [
    'Permissions read without transaction "1500" (and 0 more): streamed and still not ' +
    "visible after 40 ms",
  ]);
  const probes = db.probes;
  await visibility.visible(db.sql, "Permissions read");
  assert.equal(db.probes, probes);
});

test("memory is bounded: past the limit the oldest transactions are let go", () => {
  const visibility = new Visibility({ logger: recordingLogger().logger, maxTracked: 3 });
  for (let xid = 1; xid <= 5; xid++) visibility.observe({ xid, lsn: BigInt(xid) });
  assert.equal(visibility.tracked, 3);
  assert.deepEqual(visibility.expect(10n, "Read").pending, [3, 4, 5]);
});

test("expect: only what was observed up to the read's position and not seen visible", () => {
  const visibility = new Visibility({ logger: recordingLogger().logger });
  assert.deepEqual(visibility.expect(100n, "Read").pending, []);
  visibility.observe({ xid: 1500, lsn: 10n });
  visibility.observe({ xid: 1501, lsn: 20n });
  visibility.observe({ xid: 1502, lsn: 30n });
  visibility.seen(snapshot(1501, 1502));
  assert.deepEqual(visibility.expect(20n, "Read").pending, [1501]);
  assert.deepEqual(visibility.expect(9n, "Read").pending, []);
});

test("expect: a snapshot showing everything lets the read go on, and tells the tracker", () => {
  const visibility = new Visibility({ logger: recordingLogger().logger });
  visibility.observe({ xid: 1500, lsn: 10n });
  visibility.observe({ xid: 1501, lsn: 20n });
  const expected = visibility.expect(10n, "Read");
  // 1501 is after the read's position: the insertion point takes care of it.
  assert.equal(expected.retryAfter(snapshot(1501)), undefined);
  assert.equal(visibility.tracked, 1);
});

test("expect: a snapshot missing one is looked at again, later each time, until it shows", () => {
  const { logger, warnings } = recordingLogger();
  const visibility = new Visibility({ logger });
  visibility.observe({ xid: 1500, lsn: 10n });
  visibility.observe({ xid: 1501, lsn: 20n });
  const expected = visibility.expect(20n, "Read");
  assert.equal(expected.retryAfter(snapshot(1500, 1501)), 2);
  assert.equal(expected.retryAfter(snapshot(1501)), 4);
  assert.deepEqual(expected.pending, [1501]);
  assert.equal(expected.retryAfter(snapshot()), undefined);
  assert.deepEqual(warnings, []);
  assert.equal(visibility.tracked, 0);
});

test("expect: past its time the read goes on without it, said once", async () => {
  const { logger, warnings } = recordingLogger();
  const visibility = new Visibility({ logger, giveUpMs: 20 });
  visibility.observe({ xid: 1500, lsn: 10n });
  const expected = visibility.expect(10n, "Snapshot read (test)");
  assert.equal(expected.retryAfter(snapshot(1500)), 2);
  await new Promise((resolve) => setTimeout(resolve, 30));
  assert.equal(expected.retryAfter(snapshot(1500)), undefined);
  assert.equal(expected.retryAfter(snapshot(1500)), undefined);
  assert.deepEqual(warnings, [
    'Snapshot read (test) without transaction "1500" (and 0 more): streamed and still not ' +
    "visible after 20 ms",
  ]);
  assert.equal(visibility.tracked, 0, "nobody waits for it again");
});
