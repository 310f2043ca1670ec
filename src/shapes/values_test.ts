import { test } from "node:test";
import assert from "node:assert/strict";
import { compareText, formatValue, parseValue } from "./values.ts";
import type { ScalarType } from "./where_types.ts";

const ROUND_TRIPS: [ScalarType, string, string | undefined][] = [
  ["int4", " 42 ", "42"],
  ["int4", "2147483648", undefined],
  ["int2", "-32768", "-32768"],
  ["int8", "1_000", undefined],
  ["float8", "1e400", undefined],
  ["float8", "-Infinity", "-Infinity"],
  ["float8", "nan", "NaN"],
  ["float4", "0.1", "0.10000000149011612"],
  ["numeric", "1.50", "1.50"],
  ["numeric", "-.5e1", "-5"],
  ["bool", "YES", "true"],
  ["bool", "o", undefined],
  ["bool", "of", "false"],
  ["uuid", "{A0EEBC999C0B4EF8BB6D6BB9BD380A11}", "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"],
  ["uuid", "a0eebc99-9c0b4ef8-bb6d-6bb9bd380a11", "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"],
  ["uuid", "a0eebc99-9c0b-4ef8-bb6d", undefined],
  ["date", "2024-02-29", "2024-02-29"],
  ["date", "2023-02-29", undefined],
  ["date", "0044-03-15 BC", "0044-03-15 BC"],
  ["date", "-infinity", "-infinity"],
  ["date", "today", undefined],
  ["time", "24:00", "24:00:00"],
  ["time", "24:00:01", undefined],
  ["time", "01:02:03.5", "01:02:03.5"],
  ["timestamp", "2024-01-01T10:00:00+05", "2024-01-01 10:00:00"],
  ["timestamp", "0044-03-15 12:00:00 BC", "0044-03-15 12:00:00 BC"],
  ["timestamptz", "2024-01-01 10:00:00+05:30", "2024-01-01 04:30:00+00"],
  ["timestamptz", "2024-01-01 00:00:00Z", "2024-01-01 00:00:00+00"],
  ["timestamptz", "1999-12-31 23:00:00-05", "2000-01-01 04:00:00+00"],
  ["timestamptz", "infinity", "infinity"],
];

for (const [type, text, expected] of ROUND_TRIPS) {
  test(`${type} ${JSON.stringify(text)}`, () => {
    const value = parseValue(type, text);
    assert.equal(value === undefined ? undefined : formatValue(type, value), expected);
  });
}

test("text order is code point order", () => {
  assert.equal(compareText("a", "b"), -1);
  assert.equal(compareText("Z", "a"), -1);
  assert.equal(compareText("ab", "a"), 1);
  // U+FF5E sorts below U+1F600 in UTF-8, although its UTF-16 unit is higher.
  assert.equal(compareText("\uff5e", "😀"), -1);
});
