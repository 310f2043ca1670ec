import { test } from "node:test";
import assert from "node:assert/strict";
import { isNullAt, nullsBitmask } from "./bitmask.ts";
import { hex } from "./test_fixtures.ts";

const N = false;
const Y = true;

const CASES: { name: string; nulls: boolean[]; mask: string }[] = [
  { name: "no columns", nulls: [], mask: "" },
  { name: "2 columns, second NULL (doc example)", nulls: [N, Y], mask: "40" },
  { name: "2 columns, none NULL", nulls: [N, N], mask: "00" },
  { name: "first column is the most significant bit", nulls: [Y], mask: "80" },
  { name: "8 columns, all NULL", nulls: Array(8).fill(Y), mask: "ff" },
  { name: "8 columns, last NULL", nulls: [N, N, N, N, N, N, N, Y], mask: "01" },
  { name: "9 columns, none NULL", nulls: Array(9).fill(N), mask: "00 00" },
  { name: "9 columns, ninth NULL", nulls: [...Array(8).fill(N), Y], mask: "00 80" },
  { name: "9 columns, all NULL (trailing bits zero)", nulls: Array(9).fill(Y), mask: "ff 80" },
  {
    name: "16 columns, alternating",
    nulls: Array.from({ length: 16 }, (_, i) => i % 2 === 0),
    mask: "aa aa",
  },
];

for (const c of CASES) {
  test(`nullsBitmask: ${c.name}`, () => {
    const mask = nullsBitmask(c.nulls);
    assert.equal(hex(mask), c.mask);
    assert.deepEqual(c.nulls.map((_, i) => isNullAt(mask, i)), c.nulls);
  });
}

test("isNullAt: bytes past a short mask read as not NULL", () => {
  assert.equal(isNullAt(new Uint8Array(0), 0), false);
  assert.equal(isNullAt(Uint8Array.of(0x80), 0), true);
  assert.equal(isNullAt(Uint8Array.of(0x80), 8), false);
  assert.equal(isNullAt(Uint8Array.of(0xff), 15), false);
});
