import { test } from "node:test";
import assert from "node:assert/strict";
import { formatLsn, maxLsn, parseLsn } from "./lsn.ts";

test("LSN text parses to X·2^32 + Y and formats back in Postgres's spelling", () => {
  assert.equal(parseLsn("0/16B3748"), 0x16b3748n);
  assert.equal(parseLsn("1/0"), 1n << 32n);
  assert.equal(parseLsn("FFFFFFFF/FFFFFFFF"), (1n << 64n) - 1n);
  assert.equal(parseLsn("a/b"), 0xa0000000bn);
  assert.equal(formatLsn(0x16b3748n), "0/16B3748");
  assert.equal(formatLsn((3n << 32n) | 0xabn), "3/AB");
  assert.equal(formatLsn(0n), "0/0");
  for (const text of ["0/0", "16/B374D848", "FFFFFFFF/FFFFFFFF"]) {
    assert.equal(formatLsn(parseLsn(text)!), text);
  }
});

test("malformed LSN text is rejected and out-of-range bigints refuse to format", () => {
  for (const bad of ["", "0", "0/", "/0", "G/0", "123456789/0", "0/0/0", "24337048"]) {
    assert.equal(parseLsn(bad), undefined, bad);
  }
  assert.throws(() => formatLsn(-1n), RangeError);
  assert.throws(() => formatLsn(1n << 64n), RangeError);
});

test("maxLsn treats undefined as lowest", () => {
  assert.equal(maxLsn(undefined, 3n), 3n);
  assert.equal(maxLsn(5n, 3n), 5n);
  assert.equal(maxLsn(undefined, undefined), undefined);
});
