/**
 * Pure conversions between Postgres rows and Satellite rows (satellite-protocol.md §5, §6;
 * postgres-side.md §6.2, §6.3, §8.6).
 *
 * Owns: the `SatRelation` the server announces for a table, Postgres text output -> `SatOpRow`
 * (S→C) or straight to `SatOpLog` bytes, client `SatOpRow` -> validated Postgres text keyed by
 * column (C→S). Must not do I/O, keep protocol state (an `OpEncoder` only holds the memory its
 * entries live in), or decide what happens to a bad row: callers (the Satellite session, the
 * write path) turn a `RowDecodeError` into `INVALID_REQUEST`.
 *
 * Order of use on a connection: `relationFor` before a table's first row op, then per change
 * either `encodeRow` / `encodePkRow`, or an `OpEncoder` entry, written once and shared by every
 * client that gets it (`opLogFrameFromEntries` joins entries into frames); for client writes,
 * `clientRelationFrom` on each client `SatRelation`, then `decodeClientRow` per row op (SQL
 * literals for writing live in `src/writes/`).
 *
 * @module
 */
export { isNullAt, nullsBitmask } from "./bitmask.ts";
export { byteaFromText, byteaToHex } from "./bytea.ts";
export {
  type ClientRelation,
  clientRelationFrom,
  relationFor,
  relationTypeName,
} from "./relation.ts";
export { clientValue, encodePkRow, encodeRow, type PgRecord } from "./encode.ts";
export { clientText } from "./client_text.ts";
export {
  type InsertOp,
  OpEncoder,
  opLogFrameFromEntries,
  opLogFramesFromEntries,
  type OpLogHeader,
  type RowValues,
  type UpdateOp,
} from "./op_bytes.ts";
export {
  decodeClientRow,
  type RowDecodeError,
  type RowDecodeOptions,
  type RowDecodeResult,
} from "./decode.ts";
export { validateValue, type ValueCheck } from "./validate.ts";
