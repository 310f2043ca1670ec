/**
 * The read-path benchmark (scripts/bench/sync.ts): its cheap SatOpLog scan and ack frames agree
 * with the service's codec, and the whole benchmark runs at `--small` sizes (temp Postgres,
 * service under Bun, light clients and the real client) and reports every figure.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { create } from "@bufbuild/protobuf";
import { SatOpLogSchema } from "../../src/gen/mod.ts";
import { decodeFrame, encodeFrame } from "../../src/satellite/codec/mod.ts";
import {
  ackFrame,
  newCursor,
  scanOpLog,
  type TxCursor,
} from "../../scripts/bench/sync/oplog_scan.ts";
import { BASELINES, FIGURES } from "../../scripts/bench/sync/report.ts";
import { assertFigures, runSmallBench } from "../helpers/bench_run.ts";
import { ONCE_UNDER_DENO } from "../helpers/wait.ts";

const text = (s: string) => new TextEncoder().encode(s);
const row = (values: (string | null)[]) => ({
  nullsBitmask: new Uint8Array([
    values.map((v, i) => v === null ? 0x80 >> i : 0).reduce((a, b) => a | b, 0),
  ]),
  values: values.map((v) => text(v ?? "")),
});

test("the light client's scan reads what the codec wrote; its acks decode", () => {
  const lsn = text("123456789012");
  const frame = encodeFrame(create(SatOpLogSchema, {
    ops: [
      {
        op: {
          case: "begin",
          value: { commitTimestamp: 1n, lsn, origin: "postgres_1", transactionId: 2n ** 40n + 7n },
        },
      },
      {
        op: {
          case: "insert",
          value: { relationId: 1, rowData: row(["a", "x", "1000000042", null]), tags: ["t"] },
        },
      },
      { op: { case: "update", value: { relationId: 1, rowData: row(["b", null, "5", null]) } } },
      { op: { case: "commit", value: { lsn } } },
      { op: { case: "begin", value: { lsn: text("9"), transactionId: 3n } } },
      { op: { case: "update", value: { relationId: 1, rowData: row(["c", "y", null, null]) } } },
    ],
  }));
  const cursor = newCursor();
  const commits: TxCursor[] = [];
  assert.equal(scanOpLog(frame, cursor, 2, (c) => commits.push({ ...c })), 3);
  assert.equal(commits.length, 1);
  assert.equal(commits[0].marker, 1_000_000_042);
  assert.equal(commits[0].rows, 2);
  assert.deepEqual(commits[0].lsn, lsn);
  // A transaction left open continues in the next frame.
  assert.equal(cursor.open, true);
  assert.equal(cursor.marker, -1); // NULL marker
  const rest = encodeFrame(
    create(SatOpLogSchema, { ops: [{ op: { case: "commit", value: {} } }] }),
  );
  scanOpLog(rest, cursor, 2, (c) => commits.push({ ...c }));
  assert.equal(commits.length, 2);

  const ack = decodeFrame(ackFrame(commits[0].txid, commits[0].lsn, ["sub-1"]));
  assert.ok(ack.ok && ack.name === "SatOpLogAck");
  assert.equal(ack.message.transactionId, 2n ** 40n + 7n);
  assert.deepEqual(ack.message.lsn, lsn);
  assert.deepEqual(ack.message.subscriptionIds, ["sub-1"]);
});

test("the sync benchmark runs at --small sizes and reports every scenario", {
  skip: ONCE_UNDER_DENO,
  timeout: 150_000,
}, async () => {
  const { stdout, result } = await runSmallBench<{
    failures: number;
    problems: number;
    medians: Record<string, unknown>;
  }>("scripts/bench/sync.ts", {
    marker: "sync-bench-result",
    // Info-level service logs: they reach the output only when a scenario fails.
    env: { BENCH_LOG_LEVEL: "info" },
  });
  assert.equal(result.failures, 0);
  assert.equal(result.problems, 0, stdout);
  assertFigures(result.medians, [...FIGURES, ...BASELINES]);
  for (const scenario of ["a", "b", "c", "d", "e", "f", "g"]) {
    assert.match(stdout, new RegExp(`^\\| ${scenario} \\| .*\\d`, "m"), `scenario ${scenario}`);
  }
});
