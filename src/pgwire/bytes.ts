/**
 * Big-endian reading and writing over `Uint8Array`, the way every Postgres message field is
 * laid out, plus Postgres timestamps (microseconds since 2000-01-01 UTC). No Node `Buffer`,
 * so the codecs run on web-standard APIs only.
 */

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8");

/** Below this length an ASCII check and String.fromCharCode beat a TextDecoder call. */
const SHORT_TEXT = 64;

/**
 * Short ASCII text (most column values, names and tags) decoded without a TextDecoder call,
 * whose fixed cost dominates for a few bytes; anything else goes through `fallback`, so a
 * strict decoder stays strict (ASCII is always valid UTF-8).
 */
export function decodeText(
  bytes: Uint8Array,
  fallback: (bytes: Uint8Array) => string = defaultDecode,
): string {
  return decodeTextRange(bytes, 0, bytes.length, fallback);
}

const defaultDecode = (bytes: Uint8Array) => decoder.decode(bytes);

/**
 * `decodeText` of `bytes[start, end)`, without a subarray for the usual short ASCII value (a
 * view costs more than decoding a few bytes, once per column of every row streamed).
 */
export function decodeTextRange(
  bytes: Uint8Array,
  start: number,
  end: number,
  fallback: (bytes: Uint8Array) => string = defaultDecode,
): string {
  if (end - start > SHORT_TEXT) return fallback(bytes.subarray(start, end));
  let text = "";
  for (let i = start; i < end; i++) {
    const byte = bytes[i];
    if (byte >= 0x80) return fallback(bytes.subarray(start, end));
    text += String.fromCharCode(byte);
  }
  return text;
}

/** Microseconds between the Unix epoch and the Postgres epoch (2000-01-01T00:00:00Z). */
export const PG_EPOCH_OFFSET_MICROS = 946_684_800_000_000n;

/** A Postgres wire timestamp (µs since 2000-01-01) as a Date (millisecond precision). */
export function pgTimestampToDate(micros: bigint): Date {
  return new Date(Number((micros + PG_EPOCH_OFFSET_MICROS) / 1000n));
}

/** A Date as a Postgres wire timestamp (µs since 2000-01-01). */
export function dateToPgTimestamp(date: Date): bigint {
  return BigInt(date.getTime()) * 1000n - PG_EPOCH_OFFSET_MICROS;
}

/** Thrown by `ByteReader` when a message ends early; codecs turn it into an error value. */
export class TruncatedMessage extends Error {
  constructor(need: number, offset: number) {
    super(`message ends early: need ${need} bytes at offset ${offset}`);
  }
}

export class ByteReader {
  readonly bytes: Uint8Array;
  offset = 0;

  // Integers are read by hand rather than through a DataView: a reader is made for every
  // replication message, and a DataView per message costs more than the reads.
  constructor(bytes: Uint8Array, offset = 0) {
    this.bytes = bytes;
    this.offset = offset;
  }

  get remaining(): number {
    return this.bytes.length - this.offset;
  }

  #need(n: number): number {
    if (this.offset + n > this.bytes.length) throw new TruncatedMessage(n, this.offset);
    const at = this.offset;
    this.offset += n;
    return at;
  }

  u8(): number {
    return this.bytes[this.#need(1)];
  }

  i16(): number {
    const at = this.#need(2);
    const value = (this.bytes[at] << 8) | this.bytes[at + 1];
    return value & 0x8000 ? value - 0x10000 : value;
  }

  u32(): number {
    const at = this.#need(4);
    const b = this.bytes;
    return ((b[at] << 24) >>> 0) + ((b[at + 1] << 16) | (b[at + 2] << 8) | b[at + 3]);
  }

  i32(): number {
    const at = this.#need(4);
    const b = this.bytes;
    return (b[at] << 24) | (b[at + 1] << 16) | (b[at + 2] << 8) | b[at + 3];
  }

  u64(): bigint {
    const high = this.u32();
    const low = this.u32();
    return (BigInt(high) << 32n) | BigInt(low);
  }

  i64(): bigint {
    return BigInt.asIntN(64, this.u64());
  }

  /** Steps over `n` bytes. */
  skip(n: number): void {
    this.#need(n);
  }

  bytesOf(n: number): Uint8Array {
    const at = this.#need(n);
    return this.bytes.subarray(at, at + n);
  }

  /** The rest of the message. */
  rest(): Uint8Array {
    return this.bytesOf(this.remaining);
  }

  /** A NUL-terminated UTF-8 string. */
  cstring(): string {
    const end = this.bytes.indexOf(0, this.offset);
    if (end < 0) throw new TruncatedMessage(1, this.bytes.length);
    const text = decodeText(this.bytes.subarray(this.offset, end));
    this.offset = end + 1;
    return text;
  }

  utf8(n: number): string {
    const at = this.#need(n);
    return decodeTextRange(this.bytes, at, at + n);
  }
}

export class ByteWriter {
  #buffer: Uint8Array;
  #view: DataView;
  #length = 0;

  constructor(capacity = 64) {
    this.#buffer = new Uint8Array(capacity);
    this.#view = new DataView(this.#buffer.buffer);
  }

  #grow(n: number): number {
    const needed = this.#length + n;
    if (needed > this.#buffer.length) {
      const next = new Uint8Array(Math.max(needed, this.#buffer.length * 2));
      next.set(this.#buffer.subarray(0, this.#length));
      this.#buffer = next;
      this.#view = new DataView(next.buffer);
    }
    const at = this.#length;
    this.#length = needed;
    return at;
  }

  u8(value: number): this {
    const at = this.#grow(1);
    this.#view.setUint8(at, value);
    return this;
  }

  i16(value: number): this {
    const at = this.#grow(2);
    this.#view.setInt16(at, value);
    return this;
  }

  u32(value: number): this {
    const at = this.#grow(4);
    this.#view.setUint32(at, value);
    return this;
  }

  i32(value: number): this {
    const at = this.#grow(4);
    this.#view.setInt32(at, value);
    return this;
  }

  u64(value: bigint): this {
    const at = this.#grow(8);
    this.#view.setBigUint64(at, value);
    return this;
  }

  i64(value: bigint): this {
    const at = this.#grow(8);
    this.#view.setBigInt64(at, value);
    return this;
  }

  raw(bytes: Uint8Array): this {
    const at = this.#grow(bytes.length); // may replace the buffer: grow first
    this.#buffer.set(bytes, at);
    return this;
  }

  cstring(text: string): this {
    return this.raw(encoder.encode(text)).u8(0);
  }

  /** Int32 length, then the UTF-8 bytes. */
  sizedUtf8(text: string): this {
    const bytes = encoder.encode(text);
    return this.i32(bytes.length).raw(bytes);
  }

  finish(): Uint8Array {
    return this.#buffer.slice(0, this.#length);
  }
}
