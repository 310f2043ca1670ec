/**
 * The permissions benchmark (scripts/bench/permissions.ts): its row scan reads what the codec
 * wrote, its book tells members from non-members, and the whole benchmark runs at `--small`
 * sizes (temp Postgres, service under Bun, both variants) with every figure reported and every
 * user's rows checked.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { create } from "@bufbuild/protobuf";
import { SatOpLogSchema } from "../../src/gen/mod.ts";
import { encodeFrame } from "../../src/satellite/codec/mod.ts";
import { forEachRowMarker } from "../../scripts/bench/sync/oplog_scan.ts";
import { MARKER_BASE } from "../../scripts/bench/sync/writer.ts";
import { FIGURES } from "../../scripts/bench/permissions/report.ts";
import { InitialTally, ScopedLatencyBook } from "../../scripts/bench/permissions/scoped_book.ts";
import { assertFigures, runSmallBench } from "../helpers/bench_run.ts";
import { ONCE_UNDER_DENO } from "../helpers/wait.ts";

const text = (s: string) => new TextEncoder().encode(s);
const row = (values: string[]) => ({ nullsBitmask: new Uint8Array([0]), values: values.map(text) });

test("the row scan reads each row's relation and marker; the tally checks a project", () => {
  const frame = encodeFrame(create(SatOpLogSchema, {
    ops: [
      { op: { case: "insert", value: { relationId: 7, rowData: row(["p1", "one"]) } } },
      { op: { case: "insert", value: { relationId: 9, rowData: row(["a", "p1", "5", "t"]) } } },
      { op: { case: "update", value: { relationId: 9, rowData: row(["b", "p1", "9", "t"]) } } },
      { op: { case: "insert", value: { relationId: 9, rowData: row(["c", "p2", "6", "t"]) } } },
    ],
  }));
  const seen: [number, number][] = [];
  forEachRowMarker(frame, 2, (marker, relation) => seen.push([marker, relation]));
  assert.deepEqual(seen, [[-1, 7], [5, 9], [9, 9], [6, 9]]);

  const tally = new InitialTally(1, 4, 9);
  for (const [marker, relation] of seen) tally.row(marker, relation);
  assert.equal(tally.otherTables, 1);
  assert.equal(tally.mismatch({ rows: 3, sum: 20 }), "1 rows of other projects");
});

test("the scoped book counts members' receipts and flags a non-member's", () => {
  // 2 projects, 2 members each: users 0 and 2 in project 0, users 1 and 3 in project 1.
  const book = new ScopedLatencyBook(4, 2, 2, 2);
  for (let s = 0; s < 4; s++) book.commitAt[s] = performance.now();
  for (const user of [0, 2]) book.received(user, MARKER_BASE + 2);
  book.received(1, MARKER_BASE + 3);
  assert.equal(book.complete, false);
  book.received(3, MARKER_BASE + 3);
  assert.equal(book.complete, true);
  assert.equal(book.latencies().values.length, 4);
  book.received(1, MARKER_BASE + 2);
  assert.equal(book.leaks, 1);
  assert.match(book.leakExample, /write 2 \(project 0\) reached user 1/);
});

test("the permissions benchmark runs at --small sizes and reports both variants", {
  skip: ONCE_UNDER_DENO,
  timeout: 90_000,
}, async () => {
  const { stdout, result } = await runSmallBench<{
    failures: number;
    summary: Record<"without" | "with", Record<string, unknown>>;
  }>("scripts/bench/permissions.ts", { marker: "permissions-bench-result" });
  assert.equal(result.failures, 0);
  for (const side of ["without", "with"] as const) {
    assertFigures(result.summary[side], FIGURES, `${side}: `);
  }
  assert.equal(result.summary.with["live.lost"], 0);
  assert.match(stdout, /^Against the target: \*\*(met|missed)\*\*/m);
});
