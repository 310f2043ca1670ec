import { test } from "node:test";
import assert from "node:assert/strict";
import { create } from "@bufbuild/protobuf";
import {
  SatOpRowSchema,
  SatRelation_RelationType,
  SatRelationColumnSchema,
  SatRelationSchema,
} from "../../gen/mod.ts";
import { type ClientRelation, clientRelationFrom, decodeClientRow, nullsBitmask } from "./mod.ts";
import { col, EVERYTHING, ITEMS, MODEL, table, utf8 } from "./test_fixtures.ts";

const relationOf = (columns: string[], relationId = 1): ClientRelation => ({
  relationId,
  schema: "public",
  table: "items",
  columns: columns.map((name) => ({ name })),
});

/** A client row: null -> NULL, string -> UTF-8 text, bytes as they are. */
function rowOf(values: (string | Uint8Array | null)[], mask?: Uint8Array) {
  return create(SatOpRowSchema, {
    nullsBitmask: mask ?? nullsBitmask(values.map((v) => v === null)),
    values: values.map((v) => v === null ? new Uint8Array(0) : typeof v === "string" ? utf8(v) : v),
  });
}

test("clientRelationFrom keeps the client's id and column order only", () => {
  // satellite-protocol.md §10 message 18.
  const msg = create(SatRelationSchema, {
    schemaName: "public",
    tableType: SatRelation_RelationType.TABLE,
    tableName: "items",
    relationId: 1,
    columns: [
      create(SatRelationColumnSchema, { name: "id", type: "text" }),
      create(SatRelationColumnSchema, { name: "value", type: "TEXT", isNullable: true }),
    ],
  });
  assert.deepEqual(clientRelationFrom(msg), relationOf(["id", "value"]));
});

test("decodeClientRow: the worked example's client insert", () => {
  const out = decodeClientRow(
    ITEMS,
    relationOf(["id", "value"]),
    rowOf(["d", "from client"]),
    MODEL,
  );
  assert.deepEqual(out, {
    ok: true,
    record: { id: "d", value: "from client" },
    present: new Set(["id", "value"]),
  });
});

test("decodeClientRow: columns are mapped by name, not position", () => {
  const out = decodeClientRow(ITEMS, relationOf(["value", "id"]), rowOf([null, "x"]), MODEL);
  assert.deepEqual(out, {
    ok: true,
    record: { id: "x", value: null },
    present: new Set(["id", "value"]),
  });
});

test("decodeClientRow: a column the client has not added yet is simply absent", () => {
  const wider = table("items", [...ITEMS.columns, col("added", "int4")], ["id"]);
  const out = decodeClientRow(wider, relationOf(["id", "value"]), rowOf(["a", "b"]), MODEL);
  assert.ok(out.ok);
  assert.deepEqual(out.record, { id: "a", value: "b" });
  assert.equal(out.present.has("added"), false);
});

test("decodeClientRow: a short bitmask reads as not NULL", () => {
  const cols = Array.from({ length: 10 }, (_, i) => col(`c${i}`, "int4"));
  const wide = table("wide", cols, []);
  const names = cols.map((c) => c.name);
  const values = names.map((_, i) => String(i));
  for (const mask of [new Uint8Array(0), Uint8Array.of(0x00)]) {
    const out = decodeClientRow(wide, relationOf(names), rowOf(values, mask), MODEL);
    assert.ok(out.ok);
    assert.equal(out.record.c9, "9");
  }
  const firstNull = decodeClientRow(
    wide,
    relationOf(names),
    rowOf(values, Uint8Array.of(0x80)),
    MODEL,
  );
  assert.ok(firstNull.ok);
  assert.equal(firstNull.record.c0, null);
  assert.equal(firstNull.record.c8, "8");
});

test("decodeClientRow: ninth column NULL in a nine-column row", () => {
  const cols = Array.from({ length: 9 }, (_, i) => col(`c${i}`, "text"));
  const names = cols.map((c) => c.name);
  const values = [...names.slice(0, 8), null];
  const out = decodeClientRow(table("nine", cols, []), relationOf(names), rowOf(values), MODEL);
  assert.ok(out.ok);
  assert.equal(out.record.c8, null);
  assert.equal(out.record.c7, "c7");
});

test("decodeClientRow: an empty string is a value", () => {
  const out = decodeClientRow(ITEMS, relationOf(["id", "value"]), rowOf(["a", ""]), MODEL);
  assert.ok(out.ok);
  assert.equal(out.record.value, "");
});

test("decodeClientRow: NULL in NOT NULL is refused, unless compensating", () => {
  const row = rowOf(["p", null, null]);
  const parent = table("parent", [
    col("id", "text", true),
    col("name", "text", true),
    col("note", "text"),
  ], ["id"]);
  const rel = relationOf(["id", "name", "note"]);
  assert.deepEqual(decodeClientRow(parent, rel, row, MODEL), {
    ok: false,
    error: {
      code: "NULL_IN_NOT_NULL",
      table: "parent",
      column: "name",
      message: 'NULL in NOT NULL column "name"',
    },
  });
  const compensation = decodeClientRow(parent, rel, row, MODEL, { allowNullsInNotNull: true });
  assert.deepEqual(compensation, {
    ok: true,
    record: { id: "p", name: null, note: null },
    present: new Set(["id", "name", "note"]),
  });
});

const ERRORS: {
  name: string;
  columns: string[];
  values: (string | null)[];
  code: string;
  column?: string;
}[] = [
  {
    name: "unknown column",
    columns: ["id", "nope"],
    values: ["a", "b"],
    code: "UNKNOWN_COLUMN",
    column: "nope",
  },
  { name: "too few values", columns: ["id", "value"], values: ["a"], code: "WRONG_VALUE_COUNT" },
  { name: "too many values", columns: ["id"], values: ["a", "b"], code: "WRONG_VALUE_COUNT" },
  {
    name: "column announced twice",
    columns: ["id", "id"],
    values: ["a", "b"],
    code: "WRONG_VALUE_COUNT",
    column: "id",
  },
];

for (const e of ERRORS) {
  test(`decodeClientRow refuses: ${e.name}`, () => {
    const out = decodeClientRow(ITEMS, relationOf(e.columns), rowOf(e.values), MODEL);
    assert.equal(out.ok, false);
    if (out.ok) return;
    assert.equal(out.error.code, e.code);
    assert.equal(out.error.table, "items");
    assert.equal(out.error.column, e.column);
  });
}

// postgres-side.md §11 item 41, and one invalid value of every other type.
const INVALID: [column: string, value: string | Uint8Array][] = [
  ["i2", "40000"],
  ["d", "2023-13-01"],
  ["tz", "2023-08-14 10:01:28+02:00"],
  ["j", '{"a":'],
  ["colour", "purple"],
  ["id", "not-a-uuid"],
  ["b", "yes"],
  ["i4", "2147483648"],
  ["i8", "1.5"],
  ["f4", "1e39"],
  ["f8", "one"],
  ["tm", "25:00:00"],
  ["ts", "2023-08-14 10:01:28Z"],
  ["s", Uint8Array.of(0xff)],
];

const ID = "9d1c3b2a-6f4e-4c8d-a1b2-c3d4e5f60718";

for (const [column, value] of INVALID) {
  test(`decodeClientRow: invalid ${column} value is INVALID_VALUE`, () => {
    const names = ["id", column === "id" ? "s" : column];
    const values = column === "id" ? [value, "x"] : [ID, value];
    const out = decodeClientRow(EVERYTHING, relationOf(names), rowOf(values), MODEL);
    assert.equal(out.ok, false);
    if (out.ok) return;
    assert.equal(out.error.code, "INVALID_VALUE");
    assert.equal(out.error.column, column);
    assert.equal(out.error.table, "everything");
    assert.match(out.error.message, /^Invalid /);
  });
}

test("decodeClientRow: every type, normalised for Postgres, in the client's order", () => {
  const sent: [string, string | Uint8Array][] = [
    ["colour", "blue"],
    ["bin", Uint8Array.of(0xde, 0xad, 0x00)],
    ["j", '{"k":[true]}'],
    ["tz", "2023-08-14 10:01:28.848Z"],
    ["ts", "2023-08-14T10:01:28.848"],
    ["tm", "10:01:28.848"],
    ["d", "2023-08-14"],
    ["v", "vv"],
    ["s", "it's"],
    ["f8", "-Infinity"],
    ["f4", "0.10000000149011612"],
    ["i8", "-9223372036854775808"],
    ["i4", "42"],
    ["i2", "-1"],
    ["b", "t"],
    ["id", ID.toUpperCase()],
  ];
  const out = decodeClientRow(
    EVERYTHING,
    relationOf(sent.map(([n]) => n)),
    rowOf(sent.map(([, v]) => v)),
    MODEL,
  );
  assert.ok(out.ok);
  assert.deepEqual(out.record, {
    colour: "blue",
    bin: "\\xdead00",
    j: '{"k":[true]}',
    tz: "2023-08-14 10:01:28.848Z",
    ts: "2023-08-14T10:01:28.848",
    tm: "10:01:28.848",
    d: "2023-08-14",
    v: "vv",
    s: "it's",
    f8: "-Infinity",
    f4: "0.10000000149011612",
    i8: "-9223372036854775808",
    i4: "42",
    i2: "-1",
    b: "t",
    id: ID,
  });
  assert.equal(out.present.size, 16);
});
