import { test } from "node:test";
import assert from "node:assert/strict";
import { parseByteSize } from "./mod.ts";

test("sizes from the doc", () => {
  const cases: Array<[string, number]> = [
    ["1G", 1_073_741_824],
    ["2G", 2_147_483_648],
    ["2.23g", 2_230_000_000],
    ["256M", 268_435_456],
    ["430K", 440_320],
    ["142888k", 142_888_000],
    ["123456789", 123_456_789],
    ["1m", 1_000_000],
    ["1e3", 1000],
    ["1e3K", 1_024_000],
    ["10 M", 10_485_760],
    ["1.5k", 1500],
  ];
  for (const [raw, bytes] of cases) assert.equal(parseByteSize(raw), bytes, raw);
});

test("invalid sizes", () => {
  for (const raw of ["", "foo", "0", "0G", "-1G", "1GB", " 1G", "1T", "G", ".5G", "1x", "1e"]) {
    assert.equal(parseByteSize(raw), undefined, raw);
  }
});
