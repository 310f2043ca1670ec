/**
 * Logical replication out of Postgres: the main and live slots, the pgoutput stream turned
 * into enriched transactions, and the transaction log every consumer reads from. Must not
 * know about clients, shapes or the publisher: they read the log, never the stream.
 *
 * Flow: ReplicationReader (transport; live_slot.ts picks where it starts) →
 * ReplicationStreamSession (decides acks/replays) → TransactionAssembler (pgoutput →
 * Transaction, shadow enrichment) → TransactionLog.append → consumers (`subscribe`, `follow`,
 * `readAfter`). The processed LSN is persisted coalesced in `electric.replication_positions`
 * (positions.ts), then acknowledged on the live slot. WalWindow moves the main slot, which
 * pins the resumable window; RetainedReads re-reads from it, one scan for many requests,
 * what the cache no longer holds.
 */
export type {
  Change,
  ColumnRef,
  ReferencedRecord,
  RelationRef,
  Row,
  RowChange,
  Transaction,
  TruncateChange,
} from "./transaction.ts";
export { estimateByteSize } from "./transaction.ts";
export {
  type AssemblerOptions,
  type AssemblerResult,
  FK_CHAIN_TOUCH_PREFIX,
  TransactionAssembler,
} from "./assembler.ts";
export { enrichTransaction, type PrimaryKeyLookup } from "./enrich.ts";
export { clientTag, parseTag, parseTagArray, type PgTag } from "./tags.ts";
export {
  type AppendInfo,
  type FollowEvent,
  InMemoryTransactionLog,
  type InMemoryTransactionLogOptions,
  type ReadResult,
  type RetainedReader,
  type TransactionListener,
  type TransactionLog,
} from "./transaction_log.ts";
export {
  type EmittedTransaction,
  ReplicationStreamSession,
  type SessionOutput,
  type StreamSessionOptions,
} from "./stream_session.ts";
export {
  ReplicationReader,
  type ReplicationReaderOptions,
  type ReplicationStreamHandle,
} from "./reader.ts";
export { type ConnectReplication, replicationConnectionFrom } from "./connection.ts";
export {
  type AdvanceInputs,
  advanceMainSlot,
  mainSlotAdvanceTarget,
  retainedWindowStart,
  WalWindow,
  type WalWindowOptions,
} from "./wal_window.ts";
export {
  readRetained,
  retainedReader,
  type RetainedReadOptions,
  scanRetained,
  type ScanTarget,
} from "./retained.ts";
export { RetainedReads, type RetainedReadsOptions } from "./retained_reads.ts";
export { replicationStep, type ReplicationStepOptions } from "./connector_step.ts";
export { ReplicationError, type ReplicationErrorCode } from "./errors.ts";
export { readProcessedLsn } from "./slots.ts";
