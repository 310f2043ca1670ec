/**
 * Satellite transaction ops written straight to wire bytes (satellite-protocol.md §1.3, §1.4,
 * §4, §5), for the server → client read path.
 *
 * Why it exists: a `SatOpLog` body is nothing but `repeated SatTransOp ops = 1`, so encoded
 * `ops` entries concatenate into a message body. A transaction's ops, or a shape's initial
 * rows, are encoded once and the same bytes go to every client that receives them; Postgres
 * text goes to frame bytes with no `SatOpRow` / `SatTransOp` objects in between. The bytes are
 * exactly what `toBinary(create(…))` produces for the same message (op_bytes_test.ts).
 *
 * Owns: the byte layout of op entries and `SatOpLog` frames. Value conversions stay in
 * client_text.ts and the bitmask layout is that of bitmask.ts; which ops a client gets is the
 * session's call. No I/O.
 *
 * `OpEncoder` is a class because of memory, not protocol state. A `Uint8Array` of its own per
 * entry is an off-heap allocation (about 0.3 µs on Deno, more than encoding a small row), so
 * entries are views into blocks the encoder allocates (256 bytes at first, doubling up to
 * 64 KiB), and per-row scratch is reused. Entries stay valid and unchanged for as long as they
 * are referenced, but a block lives as long as any entry in it: an entry kept long after its
 * neighbours (a cache) should be copied with `slice()` or come from an encoder of its own.
 * Methods run to completion and call nothing back, so one encoder can serve a whole service.
 *
 * Wire layout, in the order bytes appear (bracketed fields are proto3 defaults, left out when
 * zero or empty; lengths and integers are minimal varints):
 *
 *   frame      09 entry*                         type byte 9 = SatOpLog, no length prefix
 *   entry      0a len SatTransOp                 SatOpLog.ops = 1
 *   SatTransOp <op> len body                     op: begin 0a, commit 12, update 1a, insert 22,
 *                                                delete 2a, gone 42, additional_begin 4a,
 *                                                additional_commit 52
 *   insert     [08 relation_id] 12 len row (1a len tag)*
 *   update     [08 relation_id] 12 len row [1a len old_row] (22 len tag)*
 *   delete     [08 relation_id] 12 len old_row   tags are always empty server → client
 *   gone       [08 relation_id] 12 len pk_row    full width, only primary-key values non-NULL
 *   row        [0a len nulls_bitmask] (12 len value)*      one value per column, NULL empty
 *   begin      [08 commit_ts] [1a len lsn] 22 len origin [28 01] [30 ref] 38 transaction_id
 *   commit     [08 commit_ts] [1a len lsn] [20 ref]
 *   additional [08 ref]
 *
 * `origin` and `transaction_id` of the begin have explicit presence and are always written;
 * the bitmask is only absent for a zero-column row. Each entry is measured (values converted,
 * UTF-8 lengths counted) and then written once at its final place: no length guesses, no
 * shifting. Strings longer than a few dozen characters are UTF-8 encoded while measuring and
 * copied while writing (TextScratch); shorter ones are counted and written by hand. The
 * protobuf primitives (varints, strings) live in proto_write.ts; the rest stays in one file,
 * a little past 400 lines, because each op's size and write code must be read side by side.
 */
import type { TableModel } from "../../schema/mod.ts";
import { FRAMES } from "../codec/mod.ts";
import { clientText } from "./client_text.ts";
import type { PgRecord } from "./encode.ts";
import {
  bytesFieldSize,
  copyBytes,
  fieldSize,
  stringsSize,
  TextScratch,
  uint64FieldSize,
  uint64Size,
  utf8Length,
  varintSize,
  writeString,
  writeStrings,
  writeUint64,
  writeUint64Field,
  writeVarint,
} from "./proto_write.ts";

/**
 * One row as Postgres printed it: values in `table.columns` order (initial-sync queries), or
 * keyed by column name (replication). A missing or `undefined` value is NULL, as in encodeRow.
 */
export type RowValues = readonly (string | null | undefined)[] | PgRecord;

/** Begin/commit values of one transaction; `TransactionHeader` of session/wire.ts fits. */
export interface OpLogHeader {
  commitTimestampMs: bigint;
  lsn: bigint;
  origin: string;
  transactionId: bigint;
  isMigration: boolean;
  additionalDataRef?: bigint;
}

export interface InsertOp {
  values: RowValues;
  tags: readonly string[];
  /**
   * An array of values may hold more after the table's columns (a query row with its tags
   * column at the end): they are ignored instead of refused.
   */
  trailing?: boolean;
}

export interface UpdateOp {
  values: RowValues;
  /** Absent: the client counts every column as changed (§4.3). */
  oldValues?: RowValues;
  tags: readonly string[];
}

// Tag bytes are (field number << 3) | wire type; wire type 2 is length-delimited, 0 a varint.
const OPS = 0x0a; // SatOpLog.ops = 1
const BEGIN = 0x0a; // SatTransOp.begin = 1
const COMMIT = 0x12; // SatTransOp.commit = 2
const UPDATE = 0x1a; // SatTransOp.update = 3
const INSERT = 0x22; // SatTransOp.insert = 4
const DELETE = 0x2a; // SatTransOp.delete = 5
const GONE = 0x42; // SatTransOp.gone = 8
const ADDITIONAL_BEGIN = 0x4a; // SatTransOp.additional_begin = 9
const ADDITIONAL_COMMIT = 0x52; // SatTransOp.additional_commit = 10
const VARINT_1 = 0x08; // relation_id, commit_timestamp, ref
const FIELD_2 = 0x12; // row_data, delete old_row_data, pk_data; SatOpRow.values
const FIELD_3 = 0x1a; // insert tags, update old_row_data, begin/commit lsn
const FIELD_4 = 0x22; // update tags, begin origin
const BEGIN_IS_MIGRATION = 0x28; // field 5, varint
const BEGIN_REF = 0x30; // field 6, varint
const BEGIN_TRANSACTION_ID = 0x38; // field 7, varint
const COMMIT_REF = 0x20; // field 4, varint
const BITMASK = 0x0a; // SatOpRow.nulls_bitmask = 1

const FIRST_BLOCK = 256;
const MAX_BLOCK = 64 * 1024;
const EMPTY = new Uint8Array(0);
/** Strings up to this many UTF-16 units are measured and written by hand (see TextScratch). */
const SHORT_STRING = 48;

/** Encodes op entries (`SatOpLog.ops` field, tag and length included) into shared blocks. */
export class OpEncoder {
  #block: Uint8Array = EMPTY;
  #pos = 0;
  #nextBlock = FIRST_BLOCK;
  #start = 0;
  #row = new RowScratch();
  #old = new RowScratch();
  #text = new TextScratch();

  /** `insert`: the full row and its tag set. */
  insert(table: TableModel, op: InsertOp): Uint8Array {
    const row = this.#measure(this.#row, table, op.values, false, op.trailing);
    const body = relationSize(table) + fieldSize(row.size) + stringsSize(op.tags);
    const out = this.#reserve(entrySize(body));
    let pos = entryHead(out, this.#start, INSERT, body);
    pos = writeRelation(out, pos, table);
    pos = writeRow(out, pos, FIELD_2, row);
    pos = writeStrings(out, pos, FIELD_3, op.tags);
    return this.#entry(out, pos);
  }

  /**
   * Whole `SatOpLog` frames of inserts, at most `maxOps` rows each, written straight into one
   * reusable buffer and copied out once per frame: no entry, no block per row (initial data
   * of a large shape would otherwise leave as much garbage as it sends). `values(i)` and
   * `tags(i)` give row i; arrays may carry trailing values (see InsertOp.trailing).
   */
  insertFrames(
    table: TableModel,
    count: number,
    row: { values: (i: number) => RowValues; tags: (i: number) => readonly string[] },
    maxOps: number,
  ): Uint8Array[] {
    const frames: Uint8Array[] = [];
    for (let first = 0; first < count; first += maxOps) {
      const last = Math.min(count, first + maxOps);
      let pos = 1;
      for (let i = first; i < last; i++) {
        const tags = row.tags(i);
        const measured = this.#measure(this.#row, table, row.values(i), false, true);
        const body = relationSize(table) + fieldSize(measured.size) + stringsSize(tags);
        const out = this.#scratchFor(pos + entrySize(body));
        let at = entryHead(out, pos, INSERT, body);
        at = writeRelation(out, at, table);
        at = writeRow(out, at, FIELD_2, measured);
        pos = writeStrings(out, at, FIELD_3, tags);
      }
      const frame = this.#scratch.slice(0, pos);
      frame[0] = FRAMES.SatOpLog.type;
      frames.push(frame);
    }
    return frames;
  }

  #scratch: Uint8Array = new Uint8Array(64 * 1024);

  /** The frame scratch buffer, grown (keeping what is written) to hold `size` bytes. */
  #scratchFor(size: number): Uint8Array {
    if (size > this.#scratch.length) {
      const grown = new Uint8Array(Math.max(size, this.#scratch.length * 2));
      grown.set(this.#scratch);
      this.#scratch = grown;
    }
    return this.#scratch;
  }

  /** `update`: the new row, the old row when known, the tag set after the write. */
  update(table: TableModel, op: UpdateOp): Uint8Array {
    const row = this.#measure(this.#row, table, op.values, false);
    const old = op.oldValues === undefined
      ? undefined
      : this.#old.measure(table, op.oldValues, false, this.#text);
    const body = relationSize(table) + fieldSize(row.size) +
      (old === undefined ? 0 : fieldSize(old.size)) + stringsSize(op.tags);
    const out = this.#reserve(entrySize(body));
    let pos = entryHead(out, this.#start, UPDATE, body);
    pos = writeRelation(out, pos, table);
    pos = writeRow(out, pos, FIELD_2, row);
    if (old !== undefined) pos = writeRow(out, pos, FIELD_3, old);
    pos = writeStrings(out, pos, FIELD_4, op.tags);
    return this.#entry(out, pos);
  }

  /** `delete`: the full old row; no tags (§4.10). */
  delete(table: TableModel, oldValues: RowValues): Uint8Array {
    return this.#rowOnly(DELETE, table, this.#measure(this.#row, table, oldValues, false));
  }

  /**
   * `gone`: a full-width row with only the primary-key values non-NULL (§4.6). `values` may be
   * the whole row (other columns are ignored) or a record holding just the key columns.
   */
  gone(table: TableModel, values: RowValues): Uint8Array {
    return this.#rowOnly(GONE, table, this.#measure(this.#row, table, values, true));
  }

  /** `begin` of a server transaction (§4.2); the LSN as ASCII decimal (§4.8). */
  begin(header: OpLogHeader): Uint8Array {
    const lsn = header.lsn.toString();
    const originLen = utf8Length(header.origin);
    const ref = header.additionalDataRef ?? 0n;
    const body = uint64FieldSize(header.commitTimestampMs) + bytesFieldSize(lsn.length) +
      fieldSize(originLen) + (header.isMigration ? 2 : 0) + uint64FieldSize(ref) + 1 +
      uint64Size(header.transactionId);
    const out = this.#reserve(entrySize(body));
    let pos = entryHead(out, this.#start, BEGIN, body);
    pos = writeUint64Field(out, pos, VARINT_1, header.commitTimestampMs);
    pos = writeLsn(out, pos, lsn);
    out[pos++] = FIELD_4;
    pos = writeVarint(out, pos, originLen);
    pos = writeString(out, pos, header.origin, originLen);
    if (header.isMigration) {
      out[pos++] = BEGIN_IS_MIGRATION;
      out[pos++] = 1;
    }
    pos = writeUint64Field(out, pos, BEGIN_REF, ref);
    out[pos++] = BEGIN_TRANSACTION_ID;
    pos = writeUint64(out, pos, header.transactionId);
    return this.#entry(out, pos);
  }

  /**
   * `commit`: timestamp, LSN and move-in reference as on the begin. Like `transactionOps` in
   * session/wire.ts it carries no `transaction_id`.
   */
  commit(header: OpLogHeader): Uint8Array {
    const lsn = header.lsn.toString();
    const ref = header.additionalDataRef ?? 0n;
    const body = uint64FieldSize(header.commitTimestampMs) + bytesFieldSize(lsn.length) +
      uint64FieldSize(ref);
    const out = this.#reserve(entrySize(body));
    let pos = entryHead(out, this.#start, COMMIT, body);
    pos = writeUint64Field(out, pos, VARINT_1, header.commitTimestampMs);
    pos = writeLsn(out, pos, lsn);
    pos = writeUint64Field(out, pos, COMMIT_REF, ref);
    return this.#entry(out, pos);
  }

  /** `additional_begin`: opens the move-in data of `ref` (§7.5). */
  additionalBegin(ref: bigint): Uint8Array {
    return this.#refOp(ADDITIONAL_BEGIN, ref);
  }

  /** `additional_commit`: closes the move-in data of `ref`. */
  additionalCommit(ref: bigint): Uint8Array {
    return this.#refOp(ADDITIONAL_COMMIT, ref);
  }

  #rowOnly(opTag: number, table: TableModel, row: RowScratch): Uint8Array {
    const body = relationSize(table) + fieldSize(row.size);
    const out = this.#reserve(entrySize(body));
    let pos = entryHead(out, this.#start, opTag, body);
    pos = writeRelation(out, pos, table);
    pos = writeRow(out, pos, FIELD_2, row);
    return this.#entry(out, pos);
  }

  #refOp(opTag: number, ref: bigint): Uint8Array {
    const body = uint64FieldSize(ref);
    const out = this.#reserve(entrySize(body));
    const pos = writeUint64Field(out, entryHead(out, this.#start, opTag, body), VARINT_1, ref);
    return this.#entry(out, pos);
  }

  /** Measures the first (or only) row of an op. */
  #measure(
    row: RowScratch,
    table: TableModel,
    values: RowValues,
    keyOnly: boolean,
    trailing = false,
  ): RowScratch {
    this.#text.reset();
    return row.measure(table, values, keyOnly, this.#text, trailing);
  }

  /** Room for `size` bytes: the block to write into; the entry starts at `#start`. */
  #reserve(size: number): Uint8Array {
    if (this.#pos + size > this.#block.length) {
      this.#block = new Uint8Array(Math.max(size, this.#nextBlock));
      this.#pos = 0;
      this.#nextBlock = Math.min(this.#nextBlock * 2, MAX_BLOCK);
    }
    this.#start = this.#pos;
    this.#pos += size;
    return this.#block;
  }

  /** The entry just written, checked against its measured size. */
  #entry(out: Uint8Array, pos: number): Uint8Array {
    // A wrong size would corrupt the next entry of the block: fail loudly instead.
    if (pos !== this.#pos) {
      throw new Error(`Op entry size mismatch: wrote ${pos}, measured ${this.#pos}`);
    }
    return out.subarray(this.#start, pos);
  }
}

/** One `SatOpLog` frame: the type byte, then the entries in order, in a single allocation. */
export function opLogFrameFromEntries(entries: readonly Uint8Array[]): Uint8Array {
  return frameOf(entries, 0, entries.length);
}

/** `SatOpLog` frames of at most `maxOps` entries each, in order; none for no entries. */
export function opLogFramesFromEntries(
  entries: readonly Uint8Array[],
  maxOps: number,
): Uint8Array[] {
  if (!Number.isInteger(maxOps) || maxOps < 1) {
    throw new RangeError(`Ops per frame must be a positive integer: '${maxOps}'`);
  }
  const frames: Uint8Array[] = [];
  for (let i = 0; i < entries.length; i += maxOps) {
    frames.push(frameOf(entries, i, Math.min(i + maxOps, entries.length)));
  }
  return frames;
}

function frameOf(entries: readonly Uint8Array[], from: number, to: number): Uint8Array {
  let size = 1;
  for (let i = from; i < to; i++) size += entries[i].length;
  const frame = new Uint8Array(size);
  frame[0] = FRAMES.SatOpLog.type;
  let pos = 1;
  for (let i = from; i < to; i++) {
    frame.set(entries[i], pos);
    pos += entries[i].length;
  }
  return frame;
}

// --- rows ---------------------------------------------------------------------------------

/** One row between measuring and writing: converted values and their UTF-8 lengths. */
class RowScratch {
  /** A short string to write by hand, bytes to copy, or null for NULL. */
  parts: (string | Uint8Array | null)[] = [];
  lens: number[] = [];
  count = 0;
  /** Bytes of the `SatOpRow` message body. */
  size = 0;

  measure(
    table: TableModel,
    values: RowValues,
    keyOnly: boolean,
    text: TextScratch,
    trailing = false,
  ): this {
    const columns = table.columns;
    const n = columns.length;
    const inOrder = isInOrder(values);
    if (inOrder && (trailing ? values.length < n : values.length !== n)) {
      throw new RangeError(
        `Row has ${values.length} values, table '${table.name}' has ${n} columns`,
      );
    }
    const key = keyOnly ? table.primaryKey : undefined;
    const { parts, lens } = this;
    let size = n === 0 ? 0 : fieldSize((n + 7) >> 3);
    for (let i = 0; i < n; i++) {
      const column = columns[i];
      const raw = key !== undefined && !key.includes(column.name)
        ? null
        : inOrder
        ? values[i]
        : values[column.name];
      if (raw === null || raw === undefined) {
        parts[i] = null;
        lens[i] = 0;
        size += 2;
        continue;
      }
      let value = clientText(column, raw);
      if (typeof value === "string" && value.length > SHORT_STRING) value = text.encode(value);
      const len = typeof value === "string" ? utf8Length(value) : value.length;
      parts[i] = value;
      lens[i] = len;
      size += 1 + varintSize(len) + len;
    }
    this.count = n;
    this.size = size;
    return this;
  }
}

function isInOrder(values: RowValues): values is readonly (string | null | undefined)[] {
  return Array.isArray(values);
}

function writeRow(out: Uint8Array, pos: number, tag: number, row: RowScratch): number {
  out[pos++] = tag;
  pos = writeVarint(out, pos, row.size);
  const { parts, lens, count } = row;
  if (count === 0) return pos;
  const maskLen = (count + 7) >> 3;
  out[pos++] = BITMASK;
  pos = writeVarint(out, pos, maskLen);
  // The bits of nullsBitmask (bitmask.ts): column i is bit 7 - i % 8 of byte i / 8.
  for (let b = 0; b < maskLen; b++) {
    let byte = 0;
    const last = Math.min(count, (b + 1) * 8);
    for (let i = b * 8; i < last; i++) if (parts[i] === null) byte |= 0x80 >> (i & 7);
    out[pos++] = byte;
  }
  for (let i = 0; i < count; i++) {
    const part = parts[i];
    const len = lens[i];
    out[pos++] = FIELD_2;
    pos = writeVarint(out, pos, len);
    if (part === null) continue;
    pos = typeof part === "string" ? writeString(out, pos, part, len) : copyBytes(out, pos, part);
  }
  return pos;
}

// --- entries ------------------------------------------------------------------------------

/** Bytes of an `ops` entry whose op message body has `body` bytes. */
function entrySize(body: number): number {
  return fieldSize(fieldSize(body));
}

/** Writes `0a len <op> len` at `start`; returns where the op body starts. */
function entryHead(out: Uint8Array, start: number, opTag: number, body: number): number {
  out[start] = OPS;
  let pos = writeVarint(out, start + 1, fieldSize(body));
  out[pos++] = opTag;
  return writeVarint(out, pos, body);
}

function relationSize(table: TableModel): number {
  const id = table.oid;
  if (!Number.isInteger(id) || id < 0 || id > 0xffffffff) {
    throw new RangeError(`Invalid relation id of table '${table.name}': '${id}'`);
  }
  return id === 0 ? 0 : 1 + varintSize(id);
}

function writeRelation(out: Uint8Array, pos: number, table: TableModel): number {
  if (table.oid === 0) return pos;
  out[pos++] = VARINT_1;
  return writeVarint(out, pos, table.oid);
}

/** The LSN field: the ASCII decimal digits of lsnToBytes (session/wire.ts), absent if empty. */
function writeLsn(out: Uint8Array, pos: number, digits: string): number {
  if (digits.length === 0) return pos;
  out[pos++] = FIELD_3;
  pos = writeVarint(out, pos, digits.length);
  return writeString(out, pos, digits, digits.length);
}
