/**
 * Pure Postgres wire codecs: LSNs, pgoutput (logical replication protocol v1) and the
 * streaming-replication CopyData payloads. A leaf: no I/O, no state, no internal imports.
 *
 * Message flow of a logical replication stream, in the order the server sends it:
 *   CopyBothResponse, then CopyData payloads: XLogData `w` (each carrying one pgoutput
 *   message: B, [O], R/Y, I/U/D/T/M…, C) interleaved with PrimaryKeepalive `k`; the client
 *   answers with StandbyStatusUpdate `r`.
 */
export { formatLsn, maxLsn, parseLsn } from "./lsn.ts";
export {
  ByteReader,
  ByteWriter,
  dateToPgTimestamp,
  decodeText,
  PG_EPOCH_OFFSET_MICROS,
  pgTimestampToDate,
} from "./bytes.ts";
export {
  type Begin,
  type Commit,
  decodePgoutput,
  type Delete,
  encodePgoutput,
  type Insert,
  type LogicalMessage,
  type Origin,
  type PgoutputDecodeError,
  type PgoutputDecodeOptions,
  type PgoutputDecodeResult,
  type PgoutputMessage,
  type Relation,
  type RelationColumn,
  type ReplicaIdentity,
  SKIPPED,
  type Skipped,
  type Truncate,
  type TupleValue,
  type Type,
  UNCHANGED_TOAST,
  type UnchangedToast,
  type Update,
} from "./pgoutput.ts";
export {
  decodeReplicationMessage,
  encodeReplicationMessage,
  type PrimaryKeepalive,
  type ReplicationDecodeResult,
  type ReplicationMessage,
  type StandbyStatusUpdate,
  standbyStatusUpdate,
  type XLogData,
  xlogDataPayload,
} from "./replication_messages.ts";
export * from "./wire.ts";
