import { test } from "node:test";
import assert from "node:assert/strict";
import { decodeText, decodeTextRange } from "./bytes.ts";

const utf8 = (text: string) => new TextEncoder().encode(text);

test("decodeText reads short ASCII itself and hands anything else to the decoder", () => {
  for (const text of ["", "abc", 'it\'s "quoted"\\', "x".repeat(64), "x".repeat(65), "é", "日本"]) {
    assert.equal(decodeText(utf8(text)), text);
  }
  const seen: number[] = [];
  const fallback = (bytes: Uint8Array) => {
    seen.push(bytes.length);
    return "fallback";
  };
  assert.equal(decodeText(utf8("plain"), fallback), "plain");
  assert.equal(decodeText(new Uint8Array([0x61, 0xff]), fallback), "fallback");
  assert.equal(decodeText(utf8("y".repeat(100)), fallback), "fallback");
  assert.deepEqual(seen, [2, 100]);
  // A strict decoder stays strict: invalid UTF-8 is never read as Latin-1.
  const strict = new TextDecoder("utf-8", { fatal: true });
  assert.throws(() => decodeText(new Uint8Array([0xc3]), (b) => strict.decode(b)));
});

test("decodeTextRange decodes a range like decodeText decodes its subarray", () => {
  const bytes = new TextEncoder().encode(`ab|héllo|${"x".repeat(100)}|z`);
  const ranges = [[0, 2], [3, 9], [10, 110], [111, 112], [5, 5]];
  for (const [start, end] of ranges) {
    assert.equal(decodeTextRange(bytes, start, end), decodeText(bytes.subarray(start, end)));
  }
});
