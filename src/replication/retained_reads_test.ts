import { test } from "node:test";
import assert from "node:assert/strict";
import type { ScanResult, ScanTarget } from "./retained.ts";
import { planRetainedRead, RetainedReads, trimToBudget } from "./retained_reads.ts";
import type { ReadResult } from "./transaction_log.ts";
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

const lsns = (r: ReadResult) => r.kind === "ok" ? r.transactions.map((t) => Number(t.lsn)) : r.kind;

test("planning: behind the window, from what is kept, joining the scan, or waiting", () => {
  const kept = { floor: 50n, end: 100n, windowStart: 10n };
  const scan = { floor: 70n, windowStart: 10n };
  assert.equal(planRetainedRead({ from: 5n, to: 100n }, { kept }), "behind_window");
  assert.equal(planRetainedRead({ from: 50n, to: 100n }, { kept }), "kept");
  assert.equal(planRetainedRead({ from: 60n, to: 90n }, { kept }), "kept");
  assert.equal(planRetainedRead({ from: 40n, to: 100n }, { kept }), "wait");
  assert.equal(planRetainedRead({ from: 60n, to: 120n }, { kept }), "wait");
  assert.equal(planRetainedRead({ from: 80n, to: 120n }, { kept, scan }), "join");
  assert.equal(planRetainedRead({ from: 60n, to: 120n }, { kept, scan }), "wait");
  // Before the scan has picked where to read from, anyone joins.
  const starting = { floor: 70n, windowStart: undefined };
  assert.equal(planRetainedRead({ from: 20n, to: 120n }, { scan: starting }), "join");
});

test("what is kept is the newest transactions within the budget", () => {
  const covered = {
    floor: 0n,
    end: 40n,
    windowStart: 0n,
    transactions: [10, 20, 30].map((l) => tx(l)),
  };
  assert.equal(trimToBudget(covered, 1_000), covered);
  const trimmed = trimToBudget(covered, 250);
  assert.equal(trimmed.floor, 10n);
  assert.deepEqual(trimmed.transactions.map((t) => Number(t.lsn)), [20, 30]);
  assert.equal(trimToBudget(covered, 50).floor, 30n);
});

/** An in-memory window: transactions 10, 20, … 100, the window starting at `windowStart`. */
function fakeWindow(windowStart = 0n) {
  const wal = Array.from({ length: 10 }, (_, i) => tx((i + 1) * 10));
  const scans: Array<{ from: bigint | undefined; end: bigint }> = [];
  let release: (() => void) | undefined;
  const scan = async (_options: unknown, target: ScanTarget): Promise<ScanResult> => {
    // Each scan waits for the test to let it run, so requests can pile up meanwhile.
    await new Promise<void>((resolve) => release = resolve);
    const from = target.start(windowStart);
    scans.push({ from, end: target.end() });
    if (from === undefined) return { kind: "ok", windowStart, readThrough: windowStart };
    let readThrough = from;
    for (const t of wal) {
      if (t.lsn <= from) continue;
      if (readThrough >= target.end()) break;
      target.transaction(t);
      readThrough = t.lsn;
    }
    return { kind: "ok", windowStart, readThrough };
  };
  const reads = new RetainedReads({
    connect: () => {
      throw new Error("unused");
    },
    mainSlot: "unused",
    maxBytes: 1_000_000,
    gatherMs: 1,
    scan,
  });
  const step = async () => {
    while (!release) await new Promise((r) => setTimeout(r, 1));
    const go = release;
    release = undefined;
    go();
  };
  return { reads, scans, step };
}

test("many requests at once share one scan from the oldest of them", async () => {
  const { reads, scans, step } = fakeWindow();
  const pending = [40n, 20n, 60n, 30n].map((from) => reads.read(from, 100n));
  await step();
  const results = await Promise.all(pending);
  assert.equal(scans.length, 1);
  assert.deepEqual(scans[0], { from: 20n, end: 100n });
  assert.deepEqual(results.map(lsns), [
    [50, 60, 70, 80, 90, 100],
    [30, 40, 50, 60, 70, 80, 90, 100],
    [70, 80, 90, 100],
    [40, 50, 60, 70, 80, 90, 100],
  ]);
  // Later requests inside what was read start no scan.
  assert.deepEqual(lsns(await reads.read(25n, 50n)), [30, 40, 50]);
  assert.equal(scans.length, 1);
  reads.close();
});

test("a request the running scan has passed waits for one next scan with the others", async () => {
  const { reads, scans, step } = fakeWindow();
  const first = reads.read(50n, 100n);
  await step(); // the scan has picked 50 and runs
  const joins = reads.read(70n, 100n);
  const older = [reads.read(20n, 100n), reads.read(10n, 90n)];
  assert.deepEqual(lsns(await first), [60, 70, 80, 90, 100]);
  assert.deepEqual(lsns(await joins), [80, 90, 100]);
  await step();
  assert.deepEqual((await Promise.all(older)).map(lsns), [
    [30, 40, 50, 60, 70, 80, 90, 100],
    [20, 30, 40, 50, 60, 70, 80, 90],
  ]);
  assert.deepEqual(scans.map((s) => s.from), [50n, 10n]);
  reads.close();
});

test("requests older than the window are behind it, without holding up the others", async () => {
  const { reads, scans, step } = fakeWindow(35n);
  const behind = reads.read(20n, 100n);
  const fine = reads.read(40n, 60n);
  await step();
  assert.equal((await behind).kind, "behind_window");
  assert.deepEqual(lsns(await fine), [50, 60]);
  // Known now: no scan needed to say so again.
  assert.equal((await reads.read(30n, 100n)).kind, "behind_window");
  assert.equal(scans.length, 1);
  reads.close();
});
