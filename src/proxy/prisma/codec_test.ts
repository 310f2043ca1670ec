import { test } from "node:test";
import assert from "node:assert/strict";
import {
  decodeName,
  decodeNameArray,
  encodeCell,
  encodeNameArray,
  fieldDescriptions,
  resultFormats,
} from "./codec.ts";

const bytes = (...b: number[]) => new Uint8Array(b);

test("binary cells: bool one byte, integers big-endian, text as UTF-8, NULL as null", () => {
  assert.deepEqual(encodeCell(true, "bool", 1), bytes(1));
  assert.deepEqual(encodeCell(false, "bool", 1), bytes(0));
  assert.deepEqual(encodeCell(16, "int2", 1), bytes(0, 16));
  assert.deepEqual(encodeCell(-2, "int2", 1), bytes(0xff, 0xfe));
  assert.deepEqual(encodeCell(140009, "int4", 1), bytes(0, 2, 0x22, 0xe9));
  assert.deepEqual(encodeCell(2_000_001, "oid", 1), bytes(0, 0x1e, 0x84, 0x81));
  assert.deepEqual(encodeCell(5, "int8", 1), bytes(0, 0, 0, 0, 0, 0, 0, 5));
  assert.deepEqual(encodeCell("é", "name", 1), bytes(0xc3, 0xa9));
  assert.deepEqual(encodeCell("a", "char", 1), bytes(0x61));
  assert.equal(encodeCell(null, "int4", 1), null);
  assert.equal(encodeCell(null, "text", 0), null);
});

test("text cells: t/f for bool, decimal integers", () => {
  const text = (v: Uint8Array | null) => new TextDecoder().decode(v!);
  assert.equal(text(encodeCell(true, "bool", 0)), "t");
  assert.equal(text(encodeCell(false, "bool", 0)), "f");
  assert.equal(text(encodeCell(-32, "int4", 0)), "-32");
  assert.equal(text(encodeCell("public", "name", 0)), "public");
});

test("a binary name[] as Prisma binds it decodes to its elements", () => {
  // One dimension, no nulls, element type 19, length 1, lower bound 1, "public".
  const one = bytes(
    0,
    0,
    0,
    1,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    19,
    0,
    0,
    0,
    1,
    0,
    0,
    0,
    1,
    0,
    0,
    0,
    6,
    112,
    117,
    98,
    108,
    105,
    99,
  );
  assert.deepEqual(decodeNameArray(one, 1), ["public"]);
  assert.deepEqual(encodeNameArray(["public"]), one);
  assert.deepEqual(decodeNameArray(encodeNameArray(["public", "private", "blue"]), 1), [
    "public",
    "private",
    "blue",
  ]);
  // Zero dimensions: the empty array.
  assert.deepEqual(decodeNameArray(bytes(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 19), 1), []);
  assert.deepEqual(decodeNameArray(encodeNameArray([]), 1), []);
  assert.equal(decodeNameArray(bytes(0, 0, 1), 1), undefined);
  assert.equal(decodeNameArray(bytes(0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 19), 1), undefined);
});

test("a text name[] decodes too, quotes and NULLs included", () => {
  const text = (s: string) => new TextEncoder().encode(s);
  assert.deepEqual(decodeNameArray(text("{public}"), 0), ["public"]);
  assert.deepEqual(decodeNameArray(text('{public,"my schema","a\\"b"}'), 0), [
    "public",
    "my schema",
    'a"b',
  ]);
  assert.deepEqual(decodeNameArray(text("{}"), 0), []);
  assert.deepEqual(decodeNameArray(text("{a,NULL}"), 0), ["a"]);
  assert.equal(decodeNameArray(text("public"), 0), undefined);
  assert.equal(decodeName(text("public")), "public");
  assert.equal(decodeName(null), undefined);
});

test("result formats follow the Bind's codes; row descriptions carry type sizes", () => {
  assert.deepEqual(resultFormats([], 3), [0, 0, 0]);
  assert.deepEqual(resultFormats([1], 3), [1, 1, 1]);
  assert.deepEqual(resultFormats([1, 0], 3), [1, 0, 0]);
  const fields = fieldDescriptions([
    { name: "namespace", type: "name" },
    { name: "exists", type: "bool" },
    { name: "child", type: "int2" },
    { name: "data_type", type: "varchar" },
    { name: "reloptions", type: "text_array" },
  ]);
  assert.deepEqual(
    fields.map((f) => [f.name, f.typeOid, f.typeSize, f.format]),
    [
      ["namespace", 19, 64, 0],
      ["exists", 16, 1, 0],
      ["child", 21, 2, 0],
      ["data_type", 1043, -1, 0],
      ["reloptions", 1009, -1, 0],
    ],
  );
  assert.deepEqual(fieldDescriptions([{ name: "x", type: "int4" }], [1])[0].format, 1);
});
