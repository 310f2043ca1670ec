/**
 * The logical replication publisher (ELECTRIC_WRITE_TO_PG_MODE=logical_replication): the
 * service plays a Postgres publisher over TCP so that Postgres's own subscription
 * `postgres_1` pulls client transactions and applies them with
 * `session_replication_role = replica` (postgres-side.md §8.7, §2.8).
 * Must not read the replication stream, talk to clients, or import other edge modules; it
 * receives already expanded transactions through `publish()`.
 *
 * Message flow, in the order the subscriber drives it:
 *   [SSLRequest → N] StartupMessage → AuthenticationOk, ParameterStatus…, BackendKeyData,
 *   ReadyForQuery; Query (search path, publication tables, pg_class/pg_attribute,
 *   IDENTIFY_SYSTEM, …) → RowDescription, DataRow…, CommandComplete, ReadyForQuery;
 *   START_REPLICATION → CopyBothResponse, then CopyData: keepalive `k`, per transaction
 *   XLogData `w` carrying pgoutput B, [R…], I…, C; the subscriber answers with `r`.
 *
 * Layers: `../pgwire` (bytes ↔ messages, shared with the proxy), `session.ts` (one connection's state
 * machine), `queries.ts` / `stream.ts` / `outbox.ts` (pure answers, encoding, queue),
 * `server.ts` (TCP transport and hub), `catalog.ts`, `subscription.ts`.
 */
export {
  ACKNOWLEDGED_CLIENT_LSNS,
  InMemoryPublisherCatalog,
  loadPublishedTables,
  PostgresPublisherCatalog,
  type PublishedColumn,
  type PublishedTable,
  type PublisherCatalog,
} from "./catalog.ts";
export type { PublishedChange, PublishedTransaction } from "./stream.ts";
export {
  type ListenResult,
  LogicalPublisher,
  type Publisher,
  PublisherError,
  type PublisherListenError,
  type PublisherOptions,
  type PublisherStatus,
  type PublishOutcome,
} from "./server.ts";
export {
  createSubscription,
  disableSubscription,
  enableSubscription,
  refreshSubscription,
  subscriptionConninfo,
  subscriptionRefresher,
  subscriptionSecret,
  subscriptionStep,
  type SubscriptionStepOptions,
  type SubscriptionTarget,
} from "./subscription.ts";
export { publisherWriter, toPublishedTransaction } from "./client_writer.ts";
