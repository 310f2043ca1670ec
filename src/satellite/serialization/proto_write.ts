/**
 * Protobuf wire primitives for writing a message whose size was measured first (protobuf
 * encoding: https://protobuf.dev/programming-guides/encoding/). Every `…Size` function returns
 * exactly the bytes its `write…` twin writes; writers take the buffer and a position and return
 * the position after what they wrote. Nothing is allocated on the way but the views TextEncoder
 * needs for non-ASCII text. Split out of op_bytes.ts so that the op layout reads on its own.
 *
 * Tags passed in are whole tag bytes (`(field << 3) | wire type`), which is enough for fields
 * 1 to 15.
 */

const EMPTY = new Uint8Array(0);
const UINT64_MAX = 0xffffffffffffffffn;
/** Largest scratch buffer a TextScratch keeps. */
const SCRATCH_SIZE = 64 * 1024;
const utf8 = new TextEncoder();

/** Bytes of a length-delimited field (one-byte tag) with `len` bytes of content. */
export function fieldSize(len: number): number {
  return 1 + varintSize(len) + len;
}

/** A proto3 `bytes` field with implicit presence: absent when empty. */
export function bytesFieldSize(len: number): number {
  return len === 0 ? 0 : fieldSize(len);
}

export function varintSize(v: number): number {
  return v < 0x80 ? 1 : v < 0x4000 ? 2 : v < 0x200000 ? 3 : v < 0x10000000 ? 4 : 5;
}

/** An unsigned 32-bit varint. */
export function writeVarint(out: Uint8Array, pos: number, v: number): number {
  while (v > 0x7f) {
    out[pos++] = (v & 0x7f) | 0x80;
    v >>>= 7;
  }
  out[pos++] = v;
  return pos;
}

export function uint64Size(v: bigint): number {
  if (v < 0n || v > UINT64_MAX) throw new RangeError(`Invalid uint64: '${v}'`);
  let size = 1;
  for (let rest = v >> 7n; rest > 0n; rest >>= 7n) size++;
  return size;
}

/** A proto3 `uint64` field with implicit presence: absent when zero. */
export function uint64FieldSize(v: bigint): number {
  return v === 0n ? 0 : 1 + uint64Size(v);
}

export function writeUint64(out: Uint8Array, pos: number, v: bigint): number {
  while (v > 0x7fn) {
    out[pos++] = Number(v & 0x7fn) | 0x80;
    v >>= 7n;
  }
  out[pos++] = Number(v);
  return pos;
}

export function writeUint64Field(out: Uint8Array, pos: number, tag: number, v: bigint): number {
  if (v === 0n) return pos;
  out[pos++] = tag;
  return writeUint64(out, pos, v);
}

/** Bytes of a repeated `string` field (one-byte tag per element, empty strings included). */
export function stringsSize(strings: readonly string[]): number {
  let size = 0;
  for (let i = 0; i < strings.length; i++) size += fieldSize(utf8Length(strings[i]));
  return size;
}

export function writeStrings(
  out: Uint8Array,
  pos: number,
  tag: number,
  strings: readonly string[],
) {
  for (let i = 0; i < strings.length; i++) {
    const s = strings[i];
    const len = utf8Length(s);
    out[pos++] = tag;
    pos = writeVarint(out, pos, len);
    pos = writeString(out, pos, s, len);
  }
  return pos;
}

/**
 * Bytes TextEncoder writes for `s`. A lone surrogate becomes U+FFFD (3 bytes), as in
 * TextEncoder.encode and toBinary.
 */
export function utf8Length(s: string): number {
  const n = s.length;
  let len = n;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) {
      len += 1;
      continue;
    }
    len += 2;
    // A surrogate pair: two code units, four bytes.
    if (c <= 0xdbff && c >= 0xd800 && i + 1 < n) {
      const next = s.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) i++;
    }
  }
  return len;
}

/** Writes the `len` UTF-8 bytes of `s`: ASCII by hand, anything else through TextEncoder. */
export function writeString(out: Uint8Array, pos: number, s: string, len: number): number {
  if (len === s.length) {
    for (let i = 0; i < len; i++) out[pos++] = s.charCodeAt(i);
    return pos;
  }
  utf8.encodeInto(s, out.subarray(pos, pos + len));
  return pos + len;
}

export function copyBytes(out: Uint8Array, pos: number, bytes: Uint8Array): number {
  // Most values are short, where a loop beats set()'s call overhead.
  const n = bytes.length;
  if (n > 32) {
    out.set(bytes, pos);
    return pos + n;
  }
  for (let i = 0; i < n; i++) out[pos++] = bytes[i];
  return pos;
}

/**
 * UTF-8 of the long strings of one message, encoded while measuring. TextEncoder has a fixed
 * cost of about 80 ns a call but is near free per character, while counting and then writing by
 * hand costs about 2-3 ns a character: past a few dozen characters, encoding once and copying
 * wins. The buffer is reused from message to message and never grows past `SCRATCH_SIZE`; a
 * string too large for it gets bytes of its own, so one huge value does not stay in memory.
 */
export class TextScratch {
  #buf: Uint8Array = EMPTY;
  #pos = 0;

  /** Starts a new message: the views handed out for the previous one may be overwritten. */
  reset(): void {
    this.#pos = 0;
  }

  encode(s: string): Uint8Array {
    const room = s.length * 3;
    if (room > SCRATCH_SIZE) return utf8.encode(s);
    if (this.#pos + room > this.#buf.length) {
      // Views already handed out for the current message keep the old buffer alive.
      this.#buf = new Uint8Array(SCRATCH_SIZE);
      this.#pos = 0;
    }
    const start = this.#pos;
    const { written } = utf8.encodeInto(s, this.#buf.subarray(start, start + room));
    this.#pos = start + written;
    return this.#buf.subarray(start, this.#pos);
  }
}
