import assert from "node:assert/strict";
import { test } from "node:test";
import { closeFrame, FrameCursor } from "./ws_frames.ts";

/** A client frame (masked) with `length` payload bytes. */
function frame(opcode: number, length: number, fin = true): Uint8Array {
  const size = length < 126 ? [length] : length < 65536 ? [126, length >> 8, length & 0xff] : [
    127,
    0,
    0,
    0,
    0,
    (length >>> 24) & 0xff,
    (length >> 16) & 0xff,
    (length >> 8) & 0xff,
    length & 0xff,
  ];
  const header = [(fin ? 0x80 : 0) | opcode, 0x80 | size[0], ...size.slice(1), 1, 2, 3, 4];
  return Uint8Array.from([...header, ...new Uint8Array(length)]);
}

const join = (...parts: Uint8Array[]) => Uint8Array.from(parts.flatMap((p) => [...p]));

test("frame boundaries are followed across chunks, whatever the length encoding", () => {
  const bytes = join(frame(2, 5), frame(2, 300), frame(2, 70_000), frame(9, 0));
  const cursor = new FrameCursor();
  for (let at = 0; at < bytes.length; at += 1000) {
    cursor.feed(bytes.subarray(at, Math.min(bytes.length, at + 1000)));
  }
  assert.equal(cursor.atBoundary, true);
  const split = new FrameCursor();
  split.feed(bytes.subarray(0, 12));
  assert.equal(split.atBoundary, false);
});

test("untilBoundary stops right after the first frame that ends", () => {
  const bytes = join(frame(2, 5), frame(2, 5));
  const cursor = new FrameCursor();
  assert.deepEqual(cursor.feed(bytes, 0, true), { followed: 11, tooBig: false });
  assert.equal(cursor.atBoundary, true);
});

test("a message over the limit is seen at its header, fragments added up", () => {
  const single = new FrameCursor(100);
  assert.equal(single.feed(frame(2, 101).subarray(0, 8)).tooBig, true);
  const fragmented = new FrameCursor(100);
  assert.equal(fragmented.feed(join(frame(2, 60, false), frame(9, 4))).tooBig, false);
  assert.equal(fragmented.feed(frame(0, 41)).tooBig, true);
  assert.equal(new FrameCursor(100).feed(frame(2, 100)).tooBig, false);
});

test("a close frame is noticed; the close frame a server sends is unmasked", () => {
  const cursor = new FrameCursor();
  cursor.feed(frame(8, 2));
  assert.equal(cursor.sawClose, true);
  assert.deepEqual(closeFrame(1009, "big"), Uint8Array.of(0x88, 5, 0x03, 0xf1, 98, 105, 103));
});
