/**
 * Reads just enough of a `SatOpLog` frame (type byte 9) for the light client: where
 * transactions begin and end, their `transaction_id` and `lsn` (kept as the raw bytes, to be
 * echoed in `SatOpLogAck` without interpreting them), how many row ops they carry, and the value
 * of one column (the benchmark's marker) in their first row.
 *
 * Hand-rolled varint walking instead of `fromBinary` or a `BinaryReader` per nested message:
 * nothing is allocated except the two small copies per transaction, so a thousand clients can
 * read every frame. Field numbers are those of `proto/satellite.proto`:
 *   SatOpLog.ops = 1; SatTransOp: begin = 1, commit = 2, update = 3, insert = 4, delete = 5,
 *   gone = 8; SatOpBegin: lsn = 3, transaction_id = 7; SatOpInsert/SatOpUpdate.row_data = 2;
 *   SatOpRow.values = 2.
 * A transaction may span frames and a frame may hold several (§4.1): the cursor carries over.
 */

/** Per-client scanning state; create one with `newCursor()` and keep it. */
export interface TxCursor {
  /** Inside begin … commit. */
  open: boolean;
  /** Raw varint bytes of the last begin's transaction_id (empty when absent). */
  txid: Uint8Array;
  /** Raw bytes of the last begin's lsn. */
  lsn: Uint8Array;
  /** Marker of the open transaction's first row with one, else -1. */
  marker: number;
  /** Row ops of the open transaction. */
  rows: number;
  /** The last begin's commit_timestamp (ms; 0 when absent). */
  commitTimestamp: number;
}

export const EMPTY = new Uint8Array(0);

export function newCursor(): TxCursor {
  return { open: false, txid: EMPTY, lsn: EMPTY, marker: -1, rows: 0, commitTimestamp: 0 };
}

// Shared scratch for varint reads: value and the position after it.
let vValue = 0;
let vEnd = 0;

/** Reads a varint at `at` into vValue/vEnd (exact up to 2^53, enough for lengths and tags). */
function varint(buf: Uint8Array, at: number): void {
  let value = 0;
  let scale = 1;
  for (;;) {
    const b = buf[at++];
    value += (b & 0x7f) * scale;
    if (b < 0x80) break;
    scale *= 128;
  }
  vValue = value;
  vEnd = at;
}

/** Position after the field whose tag ended at `at` (wire type `wt`). */
function skip(buf: Uint8Array, at: number, wt: number): number {
  switch (wt) {
    case 0:
      while (buf[at++] >= 0x80);
      return at;
    case 1:
      return at + 8;
    case 2:
      varint(buf, at);
      return vEnd + vValue;
    case 5:
      return at + 4;
    default:
      throw new Error(`Unsupported protobuf wire type ${wt}`);
  }
}

/**
 * Decimal integer in the `column`-th value of the SatOpRow in [start, end), or -1 (NULL shows
 * as an empty value; a non-number as -1).
 */
function markerOf(buf: Uint8Array, start: number, end: number, column: number): number {
  let at = start;
  let index = 0;
  while (at < end) {
    varint(buf, at);
    const tag = vValue;
    at = vEnd;
    if (tag !== 0x12) { // values = 2, length-delimited
      at = skip(buf, at, tag & 7);
      continue;
    }
    varint(buf, at);
    const len = vValue;
    at = vEnd;
    if (index++ === column) {
      if (len === 0) return -1;
      let n = 0;
      for (let i = at; i < at + len; i++) {
        const d = buf[i] - 48;
        if (d < 0 || d > 9) return -1;
        n = n * 10 + d;
      }
      return n;
    }
    at += len;
  }
  return -1;
}

/** The marker in the row_data (field 2) of an insert/update op body in [start, end), or -1. */
function rowMarker(buf: Uint8Array, start: number, end: number, column: number): number {
  let at = start;
  while (at < end) {
    varint(buf, at);
    const tag = vValue;
    at = vEnd;
    if (tag === 0x12) {
      varint(buf, at);
      return markerOf(buf, vEnd, vEnd + vValue, column);
    }
    at = skip(buf, at, tag & 7);
  }
  return -1;
}

function readBegin(buf: Uint8Array, start: number, end: number, cursor: TxCursor): void {
  let at = start;
  cursor.txid = EMPTY;
  cursor.lsn = EMPTY;
  cursor.commitTimestamp = 0;
  while (at < end) {
    varint(buf, at);
    const tag = vValue;
    at = vEnd;
    if (tag === 0x08) { // commit_timestamp = 1
      varint(buf, at);
      cursor.commitTimestamp = vValue;
      at = vEnd;
    } else if (tag === 0x1a) { // lsn = 3
      varint(buf, at);
      cursor.lsn = buf.slice(vEnd, vEnd + vValue);
      at = vEnd + vValue;
    } else if (tag === 0x38) { // transaction_id = 7
      const from = at;
      at = skip(buf, at, 0);
      cursor.txid = buf.slice(from, at);
    } else {
      at = skip(buf, at, tag & 7);
    }
  }
}

/**
 * Walks one SatOpLog frame (type byte included). `onCommit` runs at each commit with the
 * cursor describing the transaction just completed. Returns the number of row ops seen
 * (shape data is nothing but inserts, so this counts its rows). `markerColumn` < 0 skips
 * marker reading.
 */
export function scanOpLog(
  buf: Uint8Array,
  cursor: TxCursor,
  markerColumn: number,
  onCommit?: (cursor: TxCursor) => void,
): number {
  let rows = 0;
  let at = 1;
  const end = buf.length;
  while (at < end) {
    varint(buf, at);
    const tag = vValue;
    at = vEnd;
    if (tag !== 0x0a) { // ops = 1
      at = skip(buf, at, tag & 7);
      continue;
    }
    varint(buf, at);
    const opEnd = vEnd + vValue;
    at = vEnd;
    // A SatTransOp holds exactly one member of its oneof.
    varint(buf, at);
    const field = vValue >>> 3;
    varint(buf, vEnd);
    const bodyStart = vEnd;
    const bodyEnd = vEnd + vValue;
    switch (field) {
      case 1: // begin
        cursor.open = true;
        cursor.marker = -1;
        cursor.rows = 0;
        readBegin(buf, bodyStart, bodyEnd, cursor);
        break;
      case 2: // commit
        cursor.open = false;
        onCommit?.(cursor);
        break;
      case 3: // update
      case 4: // insert
        rows++;
        cursor.rows++;
        if (markerColumn >= 0 && cursor.marker < 0) {
          cursor.marker = rowMarker(buf, bodyStart, bodyEnd, markerColumn);
        }
        break;
      case 5: // delete
      case 8: // gone
        rows++;
        cursor.rows++;
        break;
    }
    at = opEnd;
  }
  return rows;
}

/**
 * Calls `onRow` with the relation id and the `column`-th value (a decimal integer, or -1) of
 * every insert and update in one SatOpLog frame: what a benchmark needs to check which rows
 * subscription data holds, without decoding it. SatOpInsert/SatOpUpdate: relation_id = 1.
 */
export function forEachRowMarker(
  buf: Uint8Array,
  column: number,
  onRow: (marker: number, relationId: number) => void,
): void {
  let at = 1;
  const end = buf.length;
  while (at < end) {
    varint(buf, at);
    const tag = vValue;
    at = vEnd;
    if (tag !== 0x0a) { // ops = 1
      at = skip(buf, at, tag & 7);
      continue;
    }
    varint(buf, at);
    const opEnd = vEnd + vValue;
    varint(buf, vEnd);
    const field = vValue >>> 3;
    if (field === 3 || field === 4) { // update, insert
      varint(buf, vEnd);
      const bodyEnd = vEnd + vValue;
      let body = vEnd;
      let relationId = -1;
      let marker = -1;
      while (body < bodyEnd) {
        varint(buf, body);
        const bodyTag = vValue;
        body = vEnd;
        if (bodyTag === 0x08) { // relation_id = 1
          varint(buf, body);
          relationId = vValue;
          body = vEnd;
        } else if (bodyTag === 0x12) { // row_data = 2
          varint(buf, body);
          const rowEnd = vEnd + vValue;
          marker = markerOf(buf, vEnd, rowEnd, column);
          body = rowEnd;
        } else {
          body = skip(buf, body, bodyTag & 7);
        }
      }
      onRow(marker, relationId);
    }
    at = opEnd;
  }
}

/** Appends a varint of a non-negative safe integer. */
export function pushVarint(out: number[], value: number): void {
  while (value >= 0x80) {
    out.push((value % 128) | 0x80);
    value = Math.floor(value / 128);
  }
  out.push(value);
}

/**
 * A SatOpLogAck frame (type 23): ack_timestamp = 1, lsn = 2, transaction_id = 3 (raw varint
 * bytes as received), subscription_ids = 4.
 */
export function ackFrame(
  txid: Uint8Array,
  lsn: Uint8Array,
  subscriptionIds: readonly string[] = [],
): Uint8Array {
  const out: number[] = [23, 0x08];
  pushVarint(out, Date.now());
  out.push(0x12);
  pushVarint(out, lsn.length);
  for (const b of lsn) out.push(b);
  if (txid.length > 0) {
    out.push(0x18);
    for (const b of txid) out.push(b);
  }
  const encoder = new TextEncoder();
  for (const id of subscriptionIds) {
    const bytes = encoder.encode(id);
    out.push(0x22);
    pushVarint(out, bytes.length);
    for (const b of bytes) out.push(b);
  }
  return Uint8Array.from(out);
}
