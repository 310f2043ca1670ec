// OpEncoder against the object path it replaces: every entry must be byte for byte what
// `toBinary(create(…))` writes for the same op (built as changeOp in session/outbound.ts and
// transactionOps in session/wire.ts build it), and every frame must decode with decodeFrame.
import { test } from "node:test";
import assert from "node:assert/strict";
import { create, toBinary } from "@bufbuild/protobuf";
import { SatOpLogSchema } from "../../gen/mod.ts";
import type { ColumnModel, TableModel } from "../../schema/mod.ts";
import { decodeFrame } from "../codec/mod.ts";
import {
  opLogFrame,
  type TransactionHeader,
  transactionOps,
  type TransOp,
} from "../session/wire.ts";
import {
  clientText,
  clientValue,
  encodePkRow,
  encodeRow,
  OpEncoder,
  opLogFrameFromEntries,
  opLogFramesFromEntries,
  type PgRecord,
  type RowValues,
} from "./mod.ts";
import { col, EVERYTHING, hex, ITEMS, table, utf8 } from "./test_fixtures.ts";

// --- the existing path ----------------------------------------------------------------------

type Change =
  | { kind: "insert"; record: PgRecord; tags: string[] }
  | { kind: "update"; record: PgRecord; oldRecord?: PgRecord; tags: string[] }
  | { kind: "delete"; record: PgRecord }
  | { kind: "gone"; record: PgRecord };

function objectOp(t: TableModel, change: Change): TransOp {
  const relationId = t.oid;
  switch (change.kind) {
    case "insert":
      return {
        op: {
          case: "insert",
          value: { relationId, rowData: encodeRow(t, change.record), tags: change.tags },
        },
      };
    case "update":
      return {
        op: {
          case: "update",
          value: {
            relationId,
            rowData: encodeRow(t, change.record),
            oldRowData: change.oldRecord ? encodeRow(t, change.oldRecord) : undefined,
            tags: change.tags,
          },
        },
      };
    case "delete":
      return {
        op: {
          case: "delete",
          value: { relationId, oldRowData: encodeRow(t, change.record), tags: [] },
        },
      };
    case "gone":
      return { op: { case: "gone", value: { relationId, pkData: encodePkRow(t, change.record) } } };
  }
}

/** A SatOpLog of one op is exactly that op's `ops` entry. */
const objectEntry = (op: TransOp) =>
  toBinary(SatOpLogSchema, create(SatOpLogSchema, { ops: [op] }));

/** The same change through OpEncoder, with the row in column order or as the record. */
function byteEntry(enc: OpEncoder, t: TableModel, change: Change, inOrder: boolean): Uint8Array {
  const row = (record: PgRecord): RowValues =>
    inOrder ? t.columns.map((c) => record[c.name] ?? null) : record;
  switch (change.kind) {
    case "insert":
      return enc.insert(t, { values: row(change.record), tags: change.tags });
    case "update":
      return enc.update(t, {
        values: row(change.record),
        oldValues: change.oldRecord && row(change.oldRecord),
        tags: change.tags,
      });
    case "delete":
      return enc.delete(t, row(change.record));
    case "gone":
      return enc.gone(t, row(change.record));
  }
}

/** Equal bytes; on a mismatch, the hex around the first difference. */
function assertSameBytes(actual: Uint8Array, expected: Uint8Array, what = "") {
  let i = 0;
  while (i < actual.length && i < expected.length && actual[i] === expected[i]) i++;
  if (i === actual.length && i === expected.length) return;
  const around = (b: Uint8Array) => hex(b.subarray(Math.max(0, i - 16), i + 16));
  assert.equal(around(actual), around(expected), `${what} differs at byte ${i}`);
  assert.equal(actual.length, expected.length, `${what} length`);
}

function assertSameOp(t: TableModel, change: Change) {
  const expected = objectEntry(objectOp(t, change));
  for (const inOrder of [true, false]) {
    assertSameBytes(byteEntry(new OpEncoder(), t, change, inOrder), expected, change.kind);
  }
}

// --- tables and values --------------------------------------------------------------------

const arrayCol = (name: string, type: string): ColumnModel => ({
  name,
  type: { name: type, array: [-1], size: [] },
  notNull: false,
});

const PAIRS = table(
  "pairs",
  [
    col("note", "text"),
    col("a", "int4", true),
    col("at", "timestamptz"),
    col("b", "uuid", true),
  ],
  ["a", "b"],
  4294967295,
);

const wide = (n: number, oid = 16500) =>
  table(
    `wide${n}`,
    Array.from({ length: n }, (_, i) => col(`c${i}`, "text", i === 0)),
    ["c0"],
    oid,
  );

const WITH_ARRAYS = table(
  "arrays",
  [
    col("id", "int8", true),
    arrayCol("ts", "timestamptz"),
    arrayCol("flags", "bool"),
    arrayCol("blobs", "bytea"),
  ],
  ["id"],
  128,
);

const EVERYTHING_ROW: PgRecord = {
  id: "9D1C3B2A-6F4E-4C8D-A1B2-C3D4E5F60718",
  b: "true",
  i2: "-32768",
  i4: "2147483647",
  i8: "-9223372036854775808",
  f4: "NaN",
  f8: "1e+100",
  s: "héllo 'x' \\ \u{1f600} 漢字",
  v: "",
  d: "2024-02-29",
  tm: "23:59:59.999999",
  ts: "2023-08-14 14:01:28.848242",
  tz: "2023-08-14 10:01:28.848242+00",
  j: '{"a": [1, 2], "ü": null}',
  bin: "\\x00ff10DE",
  colour: "red",
};

const TAG = "postgres_1@1717243260000";

// --- row ops --------------------------------------------------------------------------------

test("insert, update, delete and gone of a row of every type", () => {
  const old = { ...EVERYTHING_ROW, b: "f", s: "before", bin: "\\x" };
  assertSameOp(EVERYTHING, { kind: "insert", record: EVERYTHING_ROW, tags: [TAG] });
  assertSameOp(EVERYTHING, { kind: "update", record: EVERYTHING_ROW, oldRecord: old, tags: [] });
  assertSameOp(EVERYTHING, { kind: "update", record: EVERYTHING_ROW, tags: [TAG] });
  assertSameOp(EVERYTHING, { kind: "delete", record: old });
  assertSameOp(EVERYTHING, { kind: "gone", record: EVERYTHING_ROW });
});

test("the worked example's insert (satellite-protocol.md §10, message 13)", () => {
  const entry = new OpEncoder().insert(ITEMS, { values: ["a", "first"], tags: [TAG] });
  assert.equal(
    hex(entry),
    "0a 2f 22 2d 08 81 80 01 12 0d 0a 01 00 12 01 61 12 05 66 69 72 73 74 1a 18 " +
      hex(utf8(TAG)),
  );
});

test("NULLs first, last, everywhere and nowhere; empty strings are values", () => {
  const ids = EVERYTHING.columns.map((c) => c.name);
  const records: PgRecord[] = [
    { ...EVERYTHING_ROW, id: null },
    { ...EVERYTHING_ROW, colour: null },
    Object.fromEntries(ids.map((c) => [c, null])),
    {},
    Object.fromEntries(ids.map((c) => [c, c === "bin" ? "\\x" : ""])),
    { ...EVERYTHING_ROW, s: "", v: null, j: null, bin: "\\x" },
  ];
  for (const record of records) {
    assertSameOp(EVERYTHING, { kind: "insert", record, tags: [TAG] });
    assertSameOp(EVERYTHING, { kind: "update", record, oldRecord: record, tags: [TAG] });
    assertSameOp(EVERYTHING, { kind: "delete", record });
    assertSameOp(EVERYTHING, { kind: "gone", record });
  }
});

test("bitmask widths: 1, 7, 8, 9, 16, 17 and 40 columns", () => {
  for (const n of [1, 7, 8, 9, 16, 17, 40]) {
    const t = wide(n);
    const names = t.columns.map((c) => c.name);
    const full = Object.fromEntries(names.map((c, i) => [c, `v${i}`]));
    const sparse = Object.fromEntries(names.map((c, i) => [c, i % 3 === 1 ? null : `${i}`]));
    for (const record of [full, sparse, {}]) {
      assertSameOp(t, { kind: "insert", record, tags: [] });
      assertSameOp(t, { kind: "update", record, oldRecord: full, tags: [TAG] });
      assertSameOp(t, { kind: "delete", record });
      assertSameOp(t, { kind: "gone", record });
    }
  }
});

test("a table without columns still carries its (empty) row", () => {
  const t = table("empty", [], [], 16390);
  assertSameOp(t, { kind: "insert", record: {}, tags: [TAG] });
  assertSameOp(t, { kind: "update", record: {}, oldRecord: {}, tags: [] });
  assertSameOp(t, { kind: "delete", record: {} });
  assertSameOp(t, { kind: "gone", record: {} });
});

test("tags: none, one, several, empty and non-ASCII", () => {
  const lists = [
    [],
    [TAG],
    [TAG, "9d1c3b2a-6f4e-4c8d-a1b2-c3d4e5f60718@1717243380123", "x@1"],
    [""],
    ["clïent-ü@1", "\u{1f600}@2", "x".repeat(300) + "@3"],
  ];
  for (const tags of lists) {
    assertSameOp(ITEMS, { kind: "insert", record: { id: "a", value: "b" }, tags });
    assertSameOp(ITEMS, { kind: "update", record: { id: "a", value: "c" }, tags });
  }
});

test("gone: composite key out of column order, from a full row or the key alone", () => {
  const row = {
    note: "dropped",
    a: "1",
    at: "2024-01-01 00:00:00+00",
    b: "9D1C3B2A-6F4E-4C8D-A1B2-C3D4E5F60718",
  };
  assertSameOp(PAIRS, { kind: "gone", record: row });
  const expected = hex(objectEntry(objectOp(PAIRS, { kind: "gone", record: row })));
  const fromKey = new OpEncoder().gone(PAIRS, { a: row.a, b: row.b });
  assert.equal(hex(fromKey), expected);
  assertSameOp(PAIRS, { kind: "insert", record: row, tags: [TAG] });
});

test("relation ids: 0 is left out, 127, 128 and 2^32 - 1 are varints", () => {
  for (const oid of [0, 1, 127, 128, 16384, 2 ** 31, 2 ** 32 - 1]) {
    const t = { ...ITEMS, oid };
    assertSameOp(t, { kind: "insert", record: { id: "a", value: null }, tags: [TAG] });
    assertSameOp(t, { kind: "gone", record: { id: "a", value: "b" } });
  }
});

test("array columns go out as Postgres printed them", () => {
  const record = {
    id: "1",
    ts: '{"2024-01-01 00:00:00+00"}',
    flags: "{t,f,NULL}",
    blobs: '{"\\\\x00"}',
  };
  assertSameOp(WITH_ARRAYS, { kind: "insert", record, tags: [TAG] });
});

test("long values: 2- and 3-byte lengths, scratch switches mid-op, rows larger than a block", () => {
  for (const len of [47, 48, 49, 127, 128, 200, 5000, 20_000, 70_000]) {
    for (const ch of ["a", "é", "漢", "\u{1f600}"]) {
      const text = ch.repeat(Math.ceil(len / ch.length)).slice(0, len);
      const record = { ...EVERYTHING_ROW, s: text, j: `"${text}"`, bin: `\\x${"ab".repeat(len)}` };
      assertSameOp(EVERYTHING, { kind: "insert", record, tags: [TAG] });
      assertSameOp(EVERYTHING, { kind: "update", record, oldRecord: record, tags: [TAG] });
    }
  }
});

test("lone surrogates become U+FFFD, as TextEncoder writes them", () => {
  for (
    const text of ["a\ud800b", "\udc00", "x\ud83d", "\ud83d\ud83d\ude00", "z".repeat(60) + "\ud800"]
  ) {
    assertSameOp(ITEMS, { kind: "insert", record: { id: text, value: text }, tags: [text] });
  }
});

// --- transaction ops ----------------------------------------------------------------------

const HEADER: TransactionHeader = {
  commitTimestampMs: 1717243260000n,
  lsn: 26911808n,
  origin: "postgres_1",
  transactionId: 7523n,
  isMigration: false,
};

test("begin and commit around row ops, as transactionOps builds them", () => {
  const headers: TransactionHeader[] = [
    HEADER,
    { ...HEADER, isMigration: true, additionalDataRef: 0n },
    { ...HEADER, additionalDataRef: 42n, origin: "9d1c3b2a-6f4e-4c8d-a1b2-c3d4e5f60718" },
    { ...HEADER, commitTimestampMs: 0n, lsn: 0n, origin: "", transactionId: 0n },
    {
      commitTimestampMs: 2n ** 64n - 1n,
      lsn: 2n ** 64n - 1n,
      origin: "ørigin \u{1f600}",
      transactionId: 2n ** 64n - 1n,
      isMigration: true,
      additionalDataRef: 2n ** 63n,
    },
    { ...HEADER, commitTimestampMs: 127n, lsn: 128n, transactionId: 2n ** 32n },
  ];
  const change: Change = { kind: "insert", record: { id: "a", value: "b" }, tags: [TAG] };
  for (const header of headers) {
    const enc = new OpEncoder();
    const entries: Uint8Array[] = [
      enc.begin(header),
      byteEntry(enc, ITEMS, change, true),
      enc.commit(header),
    ];
    const expected = opLogFrame(transactionOps(header, [objectOp(ITEMS, change)]));
    assert.equal(hex(opLogFrameFromEntries(entries)), hex(expected));
  }
});

test("additional_begin and additional_commit", () => {
  for (const ref of [0n, 1n, 300n, 2n ** 63n, 2n ** 64n - 1n]) {
    const enc = new OpEncoder();
    assert.equal(
      hex(enc.additionalBegin(ref)),
      hex(objectEntry({ op: { case: "additionalBegin", value: { ref } } })),
    );
    assert.equal(
      hex(enc.additionalCommit(ref)),
      hex(objectEntry({ op: { case: "additionalCommit", value: { ref } } })),
    );
  }
});

test("out-of-range input is refused", () => {
  const enc = new OpEncoder();
  assert.throws(() => enc.additionalBegin(-1n), RangeError);
  assert.throws(() => enc.additionalCommit(2n ** 64n), RangeError);
  assert.throws(() => enc.begin({ ...HEADER, transactionId: -1n }), RangeError);
  assert.throws(() => enc.commit({ ...HEADER, commitTimestampMs: -1n }), RangeError);
  assert.throws(
    () => enc.insert({ ...ITEMS, oid: -1 }, { values: ["a", "b"], tags: [] }),
    RangeError,
  );
  assert.throws(
    () => enc.insert({ ...ITEMS, oid: 2 ** 32 }, { values: ["a", "b"], tags: [] }),
    RangeError,
  );
  assert.throws(() => enc.insert(ITEMS, { values: ["a"], tags: [] }), RangeError);
  assert.throws(() => enc.delete(ITEMS, ["a", "b", "c"]), RangeError);
  assert.throws(() => opLogFramesFromEntries([], 0), RangeError);
  // A refused op leaves the encoder usable.
  assert.equal(
    hex(enc.insert(ITEMS, { values: ["a", "first"], tags: [TAG] }).subarray(0, 4)),
    "0a 2f 22 2d",
  );
});

// --- frames -------------------------------------------------------------------------------

test("frames: at most N ops each, in order, equal to opLogFrame and decodable", () => {
  const enc = new OpEncoder();
  const changes: Change[] = Array.from({ length: 1001 }, (_, i) => ({
    kind: "insert",
    record: { id: `id${i}`, value: i % 7 === 0 ? null : `value ${i}` },
    tags: [TAG],
  }));
  const entries = changes.map((c) => byteEntry(enc, ITEMS, c, true));
  const frames = opLogFramesFromEntries(entries, 500);
  assert.deepEqual(frames.map((f) => f.length > 1), [true, true, true]);
  for (const [i, frame] of frames.entries()) {
    const ops = changes.slice(i * 500, (i + 1) * 500).map((c) => objectOp(ITEMS, c));
    assert.equal(hex(frame), hex(opLogFrame(ops)));
    const decoded = decodeFrame(frame);
    assert.ok(decoded.ok && decoded.name === "SatOpLog");
    assert.equal(decoded.message.ops.length, ops.length);
    assert.deepEqual(decoded.message, create(SatOpLogSchema, { ops }));
  }
  assert.deepEqual(opLogFramesFromEntries([], 500), []);
  assert.equal(hex(opLogFrameFromEntries([])), "09");
});

test("shared entries: one encoding, many frames, entries left intact", () => {
  const enc = new OpEncoder();
  const begin = enc.begin(HEADER);
  const commit = enc.commit(HEADER);
  const rows = ["a", "b", "c"].map((id) => enc.insert(ITEMS, { values: [id, id], tags: [TAG] }));
  const before = [begin, commit, ...rows].map(hex);
  const all = opLogFrameFromEntries([begin, ...rows, commit]);
  const some = opLogFrameFromEntries([begin, rows[1], commit]);
  const echo = opLogFrameFromEntries([begin, commit]);
  assert.deepEqual([begin, commit, ...rows].map(hex), before);
  for (const frame of [all, some, echo]) assert.ok(decodeFrame(frame).ok);
  const change = (id: string): TransOp =>
    objectOp(ITEMS, { kind: "insert", record: { id, value: id }, tags: [TAG] });
  assert.equal(hex(some), hex(opLogFrame(transactionOps(HEADER, [change("b")]))));
  assert.equal(hex(echo), hex(opLogFrame(transactionOps(HEADER, []))));
});

// --- randomized ---------------------------------------------------------------------------

/** mulberry32: a small seeded generator, so a failure can be replayed. */
function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let x = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

const TEXTS = ["", "a", "héllo", "漢字かな", "\u{1f600}\u{1f680}", "tab\there", "'quote'", "\\"];

function randomValue(rnd: () => number, type: string): string | null {
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(rnd() * xs.length)];
  const int = (max: number) => Math.floor(rnd() * max);
  if (rnd() < 0.15) return null;
  const pad = (n: number, w = 2) => String(n).padStart(w, "0");
  const date = () => `${pad(1 + int(9999), 4)}-${pad(1 + int(12))}-${pad(1 + int(28))}`;
  const time = () =>
    `${pad(int(24))}:${pad(int(60))}:${pad(int(60))}${rnd() < 0.5 ? `.${pad(int(1e6), 6)}` : ""}`;
  switch (type) {
    case "uuid": {
      const h = Array.from({ length: 32 }, () => "0123456789abcdefABCDEF"[int(22)]).join("");
      return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${
        h.slice(20)
      }`;
    }
    case "bool":
      return pick(["t", "f", "true", "false"]);
    case "int2":
      return String(int(65536) - 32768);
    case "int4":
      return String(int(2 ** 32) - 2 ** 31);
    case "int8":
      return pick(["-9223372036854775808", "9223372036854775807", String(int(1e15) - 5e14)]);
    case "float4":
    case "float8":
      return pick(["NaN", "Infinity", "-Infinity", "-0", String(rnd() * 1e6), "1e+100"]);
    case "date":
      return date();
    case "time":
      return time();
    case "timestamp":
      return `${date()} ${time()}`;
    case "timestamptz":
      return `${date()} ${time()}${pick(["+00", "+00:00", "Z", "+01", ""])}`;
    case "jsonb":
      return JSON.stringify({ k: pick(TEXTS), n: int(1000), l: pick(TEXTS).repeat(int(20)) });
    case "bytea": {
      const bytes = Array.from({ length: int(80) }, () => int(256).toString(16).padStart(2, "0"));
      return pick([
        `\\x${bytes.join("")}`,
        `\\x${bytes.join("").toUpperCase()}`,
        "a\\\\b\\001",
        "\\xZZ",
      ]);
    }
    case "public.colour":
      return pick(["red", "green", "blue"]);
    default:
      return Array.from({ length: int(6) }, () => pick(TEXTS)).join(pick([" ", "", "-"])).repeat(
        rnd() < 0.1 ? 30 : 1,
      );
  }
}

test("randomized: a few hundred ops, byte for byte and round trip", () => {
  const rnd = random(20240601);
  const tables = [EVERYTHING, PAIRS, wide(17), { ...ITEMS, oid: 0 }];
  const enc = new OpEncoder();
  const entries: Uint8Array[] = [];
  const ops: TransOp[] = [];
  const record = (t: TableModel): PgRecord =>
    Object.fromEntries(t.columns.map((c) => [c.name, randomValue(rnd, c.type.name)]));
  for (let i = 0; i < 400; i++) {
    const t = tables[Math.floor(rnd() * tables.length)];
    const tags = Array.from({ length: Math.floor(rnd() * 4) }, (_, k) => `o${k}\u00e9@${i}`);
    const kinds = ["insert", "update", "update", "delete", "gone"] as const;
    const kind = kinds[Math.floor(rnd() * kinds.length)];
    const change: Change = kind === "insert"
      ? { kind, record: record(t), tags }
      : kind === "update"
      ? { kind, record: record(t), oldRecord: rnd() < 0.7 ? record(t) : undefined, tags }
      : { kind, record: record(t) };
    const op = objectOp(t, change);
    const entry = byteEntry(enc, t, change, rnd() < 0.5);
    assert.equal(hex(entry), hex(objectEntry(op)), `op ${i} (${kind} on ${t.name})`);
    entries.push(entry);
    ops.push(op);
  }
  // Compared again after everything was written: no entry was overwritten by a later one.
  for (let i = 0; i < ops.length; i++) assert.equal(hex(entries[i]), hex(objectEntry(ops[i])));
  const frames = opLogFramesFromEntries(entries, 64);
  assert.equal(frames.length, Math.ceil(ops.length / 64));
  frames.forEach((frame, f) => {
    const slice = ops.slice(f * 64, (f + 1) * 64);
    assert.equal(hex(frame), hex(opLogFrame(slice)));
    const decoded = decodeFrame(frame);
    assert.ok(decoded.ok && decoded.name === "SatOpLog");
    assert.deepEqual(decoded.message, create(SatOpLogSchema, { ops: slice }));
  });
});

test("clientText is clientValue before UTF-8 encoding", () => {
  const rnd = random(7);
  const types = [...EVERYTHING.columns, ...WITH_ARRAYS.columns];
  for (let i = 0; i < 2000; i++) {
    const column = types[i % types.length];
    const text = randomValue(rnd, column.type.name) ?? "";
    const value = clientText(column, text);
    const bytes = typeof value === "string" ? utf8(value) : value;
    assert.equal(hex(bytes), hex(clientValue(column, text)), `${column.type.name} ${text}`);
  }
});

test("insertFrames writes the same frames as insert entries joined, rows with trailing values", () => {
  const table = ITEMS;
  const rows = Array.from(
    { length: 1203 },
    (_, i) => [`id ${i}`, i % 7 === 0 ? null : `value ${i}`, `tags ${i}`],
  );
  const encoder = new OpEncoder();
  const viaEntries = opLogFramesFromEntries(
    rows.map((values, i) =>
      new OpEncoder().insert(table, { values: values.slice(0, -1), tags: [`t${i}`] })
    ),
    500,
  );
  const direct = encoder.insertFrames(table, rows.length, {
    values: (i) => rows[i],
    tags: (i) => [`t${i}`],
  }, 500);
  assert.equal(direct.length, 3);
  assert.deepEqual(direct, viaEntries);
});
