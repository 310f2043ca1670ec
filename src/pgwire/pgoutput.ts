/**
 * pgoutput, protocol version 1: the logical replication messages Postgres sends inside
 * XLogData (see replication_messages.ts). Pure codec: bytes → typed message and back, no
 * I/O, no state (the relation cache lives in the assembler that consumes these).
 * https://www.postgresql.org/docs/current/protocol-logicalrep-message-formats.html
 *
 * Per transaction Postgres sends: Begin, [Origin], then Relation/Type before the first change
 * of each relation (and again after it changes), Insert/Update/Delete/Truncate and
 * transactional Messages, then Commit. Non-transactional Messages may come at any time.
 *
 * LSNs are bigints; timestamps stay raw (µs since 2000-01-01, see `pgTimestampToDate`) so
 * that decode → encode is byte-exact.
 */
import { ByteReader, ByteWriter, TruncatedMessage } from "./bytes.ts";

/** Marker for a TOASTed value the update did not change (tuple kind `u`). */
export const UNCHANGED_TOAST: unique symbol = Symbol("unchanged toast");
export type UnchangedToast = typeof UNCHANGED_TOAST;

/** One column of a tuple: text (`t`), binary (`b`), NULL (`n`) or unchanged TOAST (`u`). */
/** A column value the caller asked not to decode (`DecodeOptions.skip`). */
export const SKIPPED: unique symbol = Symbol("skipped");
export type Skipped = typeof SKIPPED;

export type TupleValue = string | Uint8Array | null | UnchangedToast | Skipped;

export interface PgoutputDecodeOptions {
  /**
   * Columns of a relation nobody reads: true at index i skips column i's text (its bytes are
   * stepped over, no string is made). Electric's shadow tables are several times as wide as
   * what is read of them, and there is one shadow row per row change.
   */
  skip?: (relationId: number) => readonly boolean[] | undefined;
}

export interface RelationColumn {
  /** Bit 1: part of the replica identity key. */
  flags: number;
  name: string;
  typeOid: number;
  typeModifier: number;
}

/** Replica identity setting of a Relation: `d`efault, `n`othing, `f`ull, `i`ndex. */
export type ReplicaIdentity = "d" | "n" | "f" | "i";

export interface Begin {
  tag: "begin";
  /** LSN of the commit record. */
  finalLsn: bigint;
  /** µs since 2000-01-01. */
  commitTime: bigint;
  xid: number;
}

export interface Commit {
  tag: "commit";
  flags: number;
  commitLsn: bigint;
  /** End of the commit record: the transaction's position in the stream. */
  endLsn: bigint;
  commitTime: bigint;
}

export interface Origin {
  tag: "origin";
  commitLsn: bigint;
  name: string;
}

export interface Relation {
  tag: "relation";
  relationId: number;
  /** Empty for pg_catalog, as Postgres sends it. */
  namespace: string;
  name: string;
  replicaIdentity: ReplicaIdentity;
  columns: RelationColumn[];
}

export interface Type {
  tag: "type";
  typeOid: number;
  namespace: string;
  name: string;
}

export interface Insert {
  tag: "insert";
  relationId: number;
  newTuple: TupleValue[];
}

export interface Update {
  tag: "update";
  relationId: number;
  /** `K`: only the key columns (replica identity index); `O`: the whole old row (FULL). */
  oldKind?: "K" | "O";
  oldTuple?: TupleValue[];
  newTuple: TupleValue[];
}

export interface Delete {
  tag: "delete";
  relationId: number;
  oldKind: "K" | "O";
  oldTuple: TupleValue[];
}

export interface Truncate {
  tag: "truncate";
  /** Bit 1: CASCADE, bit 2: RESTART IDENTITY. */
  options: number;
  relationIds: number[];
}

/** A logical decoding message (`pg_logical_emit_message`). */
export interface LogicalMessage {
  tag: "message";
  /** Bit 1: transactional. */
  flags: number;
  lsn: bigint;
  prefix: string;
  content: Uint8Array;
}

export type PgoutputMessage =
  | Begin
  | Commit
  | Origin
  | Relation
  | Type
  | Insert
  | Update
  | Delete
  | Truncate
  | LogicalMessage;

export type PgoutputDecodeError =
  | { code: "UNKNOWN_MESSAGE"; message: string }
  | { code: "MALFORMED_MESSAGE"; message: string };

export type PgoutputDecodeResult =
  | { ok: true; message: PgoutputMessage }
  | { ok: false; error: PgoutputDecodeError };

/** Decodes one pgoutput message (the XLogData payload). */
export function decodePgoutput(
  bytes: Uint8Array,
  options: PgoutputDecodeOptions = {},
): PgoutputDecodeResult {
  if (bytes.length === 0) {
    return { ok: false, error: { code: "MALFORMED_MESSAGE", message: "empty pgoutput message" } };
  }
  const reader = new ByteReader(bytes, 1);
  try {
    const message = decodeBody(bytes[0], reader, options.skip);
    if (message === undefined) {
      const tag = String.fromCharCode(bytes[0]);
      return {
        ok: false,
        error: { code: "UNKNOWN_MESSAGE", message: `Unknown pgoutput message tag: "${tag}"` },
      };
    }
    if (reader.remaining !== 0) {
      throw new Error(`${reader.remaining} bytes left over after "${message.tag}"`);
    }
    return { ok: true, message };
  } catch (error) {
    const detail = error instanceof TruncatedMessage || error instanceof Error
      ? error.message
      : String(error);
    const tag = String.fromCharCode(bytes[0]);
    return {
      ok: false,
      error: { code: "MALFORMED_MESSAGE", message: `Malformed pgoutput "${tag}": ${detail}` },
    };
  }
}

function decodeBody(
  tag: number,
  r: ByteReader,
  skip: PgoutputDecodeOptions["skip"],
): PgoutputMessage | undefined {
  switch (tag) {
    case 0x42: // 'B' Begin
      return { tag: "begin", finalLsn: r.u64(), commitTime: r.i64(), xid: r.u32() };
    case 0x43: // 'C' Commit
      return {
        tag: "commit",
        flags: r.u8(),
        commitLsn: r.u64(),
        endLsn: r.u64(),
        commitTime: r.i64(),
      };
    case 0x4f: // 'O' Origin
      return { tag: "origin", commitLsn: r.u64(), name: r.cstring() };
    case 0x52: // 'R' Relation
      return decodeRelation(r);
    case 0x59: // 'Y' Type
      return { tag: "type", typeOid: r.u32(), namespace: r.cstring(), name: r.cstring() };
    case 0x49: { // 'I' Insert
      const relationId = r.u32();
      expectByte(r, 0x4e, "N");
      return { tag: "insert", relationId, newTuple: decodeTuple(r, skip?.(relationId)) };
    }
    case 0x55: // 'U' Update
      return decodeUpdate(r, skip);
    case 0x44: { // 'D' Delete
      const relationId = r.u32();
      const kind = r.u8();
      if (kind !== 0x4b && kind !== 0x4f) throw new Error(`expected "K" or "O", got ${kind}`);
      return {
        tag: "delete",
        relationId,
        oldKind: kind === 0x4b ? "K" : "O",
        oldTuple: decodeTuple(r, skip?.(relationId)),
      };
    }
    case 0x54: { // 'T' Truncate
      const count = r.u32();
      const options = r.u8();
      const relationIds = Array.from({ length: count }, () => r.u32());
      return { tag: "truncate", options, relationIds };
    }
    case 0x4d: { // 'M' Message
      const flags = r.u8();
      const lsn = r.u64();
      const prefix = r.cstring();
      const content = r.bytesOf(r.u32()).slice();
      return { tag: "message", flags, lsn, prefix, content };
    }
    default:
      return undefined;
  }
}

function decodeRelation(r: ByteReader): Relation {
  const relationId = r.u32();
  const namespace = r.cstring();
  const name = r.cstring();
  const identity = String.fromCharCode(r.u8());
  if (!"dnfi".includes(identity)) throw new Error(`unknown replica identity "${identity}"`);
  const count = r.i16();
  const columns: RelationColumn[] = [];
  for (let i = 0; i < count; i++) {
    columns.push({ flags: r.u8(), name: r.cstring(), typeOid: r.u32(), typeModifier: r.i32() });
  }
  return {
    tag: "relation",
    relationId,
    namespace,
    name,
    replicaIdentity: identity as ReplicaIdentity,
    columns,
  };
}

function decodeUpdate(r: ByteReader, skip: PgoutputDecodeOptions["skip"]): Update {
  const relationId = r.u32();
  const mask = skip?.(relationId);
  const kind = r.u8();
  if (kind === 0x4e) return { tag: "update", relationId, newTuple: decodeTuple(r, mask) }; // 'N'
  if (kind !== 0x4b && kind !== 0x4f) throw new Error(`expected "K", "O" or "N", got ${kind}`);
  const oldTuple = decodeTuple(r, mask);
  expectByte(r, 0x4e, "N");
  return {
    tag: "update",
    relationId,
    oldKind: kind === 0x4b ? "K" : "O",
    oldTuple,
    newTuple: decodeTuple(r, mask),
  };
}

function decodeTuple(r: ByteReader, skip?: readonly boolean[]): TupleValue[] {
  const count = r.i16();
  const values: TupleValue[] = [];
  for (let i = 0; i < count; i++) {
    const kind = r.u8();
    switch (kind) {
      case 0x6e: // 'n' NULL
        values.push(null);
        break;
      case 0x75: // 'u' unchanged TOAST
        values.push(UNCHANGED_TOAST);
        break;
      case 0x74: // 't' text
        if (skip?.[i]) {
          r.skip(r.i32());
          values.push(SKIPPED);
        } else values.push(r.utf8(r.i32()));
        break;
      case 0x62: // 'b' binary
        values.push(r.bytesOf(r.i32()).slice());
        break;
      default:
        throw new Error(`unknown tuple value kind ${kind} in column ${i}`);
    }
  }
  return values;
}

function expectByte(r: ByteReader, expected: number, letter: string): void {
  const got = r.u8();
  if (got !== expected) throw new Error(`expected "${letter}", got ${got}`);
}

/**
 * Encodes a pgoutput message. The logical publisher sends these to a subscribing Postgres;
 * Origin, Type, Truncate and Message are encoded too so that every decoded message
 * round-trips.
 */
export function encodePgoutput(message: PgoutputMessage): Uint8Array {
  const w = new ByteWriter();
  switch (message.tag) {
    case "begin":
      w.u8(0x42).u64(message.finalLsn).i64(message.commitTime).u32(message.xid); // 'B'
      break;
    case "commit":
      w.u8(0x43).u8(message.flags).u64(message.commitLsn).u64(message.endLsn) // 'C'
        .i64(message.commitTime);
      break;
    case "origin":
      w.u8(0x4f).u64(message.commitLsn).cstring(message.name); // 'O'
      break;
    case "relation":
      w.u8(0x52).u32(message.relationId).cstring(message.namespace).cstring(message.name) // 'R'
        .u8(message.replicaIdentity.charCodeAt(0)).i16(message.columns.length);
      for (const column of message.columns) {
        w.u8(column.flags).cstring(column.name).u32(column.typeOid).i32(column.typeModifier);
      }
      break;
    case "type":
      w.u8(0x59).u32(message.typeOid).cstring(message.namespace).cstring(message.name); // 'Y'
      break;
    case "insert":
      w.u8(0x49).u32(message.relationId).u8(0x4e); // 'I' ... 'N'
      encodeTuple(w, message.newTuple);
      break;
    case "update":
      w.u8(0x55).u32(message.relationId); // 'U'
      if (message.oldTuple !== undefined) {
        w.u8((message.oldKind ?? "O").charCodeAt(0));
        encodeTuple(w, message.oldTuple);
      }
      w.u8(0x4e); // 'N'
      encodeTuple(w, message.newTuple);
      break;
    case "delete":
      w.u8(0x44).u32(message.relationId).u8(message.oldKind.charCodeAt(0)); // 'D'
      encodeTuple(w, message.oldTuple);
      break;
    case "truncate":
      w.u8(0x54).u32(message.relationIds.length).u8(message.options); // 'T'
      for (const id of message.relationIds) w.u32(id);
      break;
    case "message":
      w.u8(0x4d).u8(message.flags).u64(message.lsn).cstring(message.prefix) // 'M'
        .u32(message.content.length).raw(message.content);
      break;
  }
  return w.finish();
}

function encodeTuple(w: ByteWriter, values: readonly TupleValue[]): void {
  w.i16(values.length);
  for (const value of values) {
    if (value === null) w.u8(0x6e); // 'n'
    else if (value === UNCHANGED_TOAST) w.u8(0x75); // 'u'
    else if (value === SKIPPED) throw new Error("A skipped value cannot be encoded");
    else if (typeof value === "string") w.u8(0x74).sizedUtf8(value); // 't'
    else w.u8(0x62).i32(value.length).raw(value); // 'b'
  }
}
