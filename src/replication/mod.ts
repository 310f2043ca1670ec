/**
 * Logical replication out of Postgres: the main and temporary slots, the pgoutput stream
 * turned into enriched transactions, and the transaction log every consumer reads from.
 * Must not know about clients, shapes or the publisher: they read the log, never the stream.
 *
 * Flow: ReplicationReader (transport) → ReplicationStreamSession (decides acks/replays) →
 * TransactionAssembler (pgoutput → Transaction, shadow enrichment) → TransactionLog.append →
 * consumers (`subscribe`, `follow`, `readAfter`). Per batch the processed LSN is persisted in
 * `electric.replication_positions`, then acknowledged on the temporary slot. WalWindow moves
 * the main slot; `readRetained` re-reads WAL the cache no longer holds.
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
  WalWindow,
  type WalWindowOptions,
} from "./wal_window.ts";
export { readRetained, retainedReader, type RetainedReadOptions } from "./retained.ts";
export { replicationStep, type ReplicationStepOptions } from "./connector_step.ts";
export { ReplicationError, type ReplicationErrorCode } from "./errors.ts";
export { readProcessedLsn } from "./slots.ts";
