import { test } from "node:test";
import assert from "node:assert/strict";
import { clientValue, encodePkRow, encodeRow } from "./mod.ts";
import { col, EVERYTHING, hex, ITEMS, table, utf8 } from "./test_fixtures.ts";

// Postgres text output (DateStyle=ISO, TimeZone=UTC, extra_float_digits=1, bytea_output=hex)
// -> what the client must receive (satellite-protocol.md §5.2 "S→C").
const VALUES: { type: string; pg: string; wire: string | Uint8Array }[] = [
  { type: "bool", pg: "t", wire: "t" },
  { type: "bool", pg: "f", wire: "f" },
  { type: "bool", pg: "true", wire: "t" },
  { type: "bool", pg: "false", wire: "f" },
  { type: "int2", pg: "-32768", wire: "-32768" },
  { type: "int4", pg: "-42", wire: "-42" },
  { type: "int8", pg: "9223372036854775807", wire: "9223372036854775807" },
  { type: "float4", pg: "3.14", wire: "3.14" },
  { type: "float8", pg: "1e+100", wire: "1e+100" },
  { type: "float8", pg: "-0", wire: "-0" },
  { type: "float8", pg: "0.1", wire: "0.1" },
  { type: "float8", pg: "Infinity", wire: "Infinity" },
  { type: "float8", pg: "-Infinity", wire: "-Infinity" },
  { type: "float4", pg: "NaN", wire: "NaN" },
  { type: "text", pg: "héllo 'x' \\ \u{1f600}", wire: "héllo 'x' \\ \u{1f600}" },
  { type: "text", pg: "", wire: "" },
  { type: "varchar", pg: "v", wire: "v" },
  {
    type: "uuid",
    pg: "9D1C3B2A-6F4E-4C8D-A1B2-C3D4E5F60718",
    wire: "9d1c3b2a-6f4e-4c8d-a1b2-c3d4e5f60718",
  },
  { type: "date", pg: "2024-02-29", wire: "2024-02-29" },
  { type: "time", pg: "12:34:56.789", wire: "12:34:56.789" },
  { type: "timestamp", pg: "2023-08-14 14:01:28.848242", wire: "2023-08-14 14:01:28.848242" },
  { type: "timestamptz", pg: "2023-08-14 10:01:28.848242+00", wire: "2023-08-14 10:01:28.848242Z" },
  { type: "timestamptz", pg: "2023-08-14 10:01:28+00", wire: "2023-08-14 10:01:28Z" },
  { type: "timestamptz", pg: "2023-08-14 10:01:28+00:00", wire: "2023-08-14 10:01:28Z" },
  { type: "jsonb", pg: '{"a": [1, 2]}', wire: '{"a": [1, 2]}' },
  { type: "bytea", pg: "\\x", wire: new Uint8Array(0) },
  { type: "bytea", pg: "\\x00ff10DE", wire: Uint8Array.of(0x00, 0xff, 0x10, 0xde) },
  { type: "bytea", pg: "a\\\\b\\001", wire: Uint8Array.of(0x61, 0x5c, 0x62, 0x01) },
  { type: "public.colour", pg: "red", wire: "red" },
];

for (const v of VALUES) {
  test(`clientValue ${v.type}: ${JSON.stringify(v.pg)}`, () => {
    const wire = typeof v.wire === "string" ? utf8(v.wire) : v.wire;
    assert.equal(hex(clientValue(col("c", v.type), v.pg)), hex(wire));
  });
}

test("encodeRow: every type in table order, NULLs flagged with empty values", () => {
  const record = Object.fromEntries(EVERYTHING.columns.map((c) => [c.name, null]));
  const row = encodeRow(EVERYTHING, {
    ...record,
    id: "9d1c3b2a-6f4e-4c8d-a1b2-c3d4e5f60718",
    i4: "7",
    bin: "\\x01",
  });
  assert.equal(row.values.length, 16);
  // Columns 0 (id), 3 (i4) and 14 (bin) are set.
  assert.equal(hex(row.nullsBitmask), "6f fd");
  assert.equal(hex(row.values[3]), hex(utf8("7")));
  assert.equal(hex(row.values[14]), "01");
  assert.equal(row.values[1].length, 0);
});

test("encodeRow: a column missing from the record is NULL", () => {
  const row = encodeRow(ITEMS, { id: "a" });
  assert.equal(hex(row.nullsBitmask), "40");
  assert.deepEqual(row.values.map((v) => v.length), [1, 0]);
});

test("encodeRow: an empty string is a value, not NULL", () => {
  const row = encodeRow(ITEMS, { id: "a", value: "" });
  assert.equal(hex(row.nullsBitmask), "00");
  assert.equal(row.values[1].length, 0);
});

test("encodeRow: zero, eight and nine columns", () => {
  for (const n of [0, 8, 9]) {
    const cols = Array.from({ length: n }, (_, i) => col(`c${i}`, "int4"));
    const all = Object.fromEntries(cols.map((c) => [c.name, "1"]));
    const row = encodeRow(table("wide", cols, []), all);
    assert.equal(row.nullsBitmask.length, Math.ceil(n / 8));
    assert.equal(row.values.length, n);
    assert.ok(row.nullsBitmask.every((b) => b === 0));
    const none = encodeRow(table("wide", cols, []), {});
    assert.equal(hex(none.nullsBitmask), { 0: "", 8: "ff", 9: "ff 80" }[n]);
  }
});

test("encodePkRow: full width, only the primary key set", () => {
  const composite = table("pairs", [
    col("a", "int4", true),
    col("note", "text"),
    col("b", "uuid", true),
  ], ["a", "b"]);
  const row = encodePkRow(composite, {
    a: "1",
    note: "dropped",
    b: "9D1C3B2A-6F4E-4C8D-A1B2-C3D4E5F60718",
  });
  assert.equal(hex(row.nullsBitmask), "40");
  assert.deepEqual(row.values.map((v) => new TextDecoder().decode(v)), [
    "1",
    "",
    "9d1c3b2a-6f4e-4c8d-a1b2-c3d4e5f60718",
  ]);
});
