/**
 * Plugs replication into the Postgres connector: once the `electric` schema and publication
 * are in place, the step starts the reader on a replication connection derived from the
 * connector's pool, the WAL window task, and the coalesced retained-WAL fallback of the log.
 * Its resource's `lost` settles when the stream dies, so the connector reconnects and the
 * step runs again (the log keeps its cache; re-read transactions are ignored by LSN).
 */
import type {
  ConnectorState,
  ConnectorStep,
  InstanceNames,
  Sql,
  StepResource,
} from "../storage/mod.ts";
import type { Logger, MetricsRegistry } from "../telemetry/mod.ts";
import { type ConnectReplication, replicationConnectionFrom } from "./connection.ts";
import type { PrimaryKeyLookup } from "./enrich.ts";
import { ReplicationReader } from "./reader.ts";
import { RetainedReads } from "./retained_reads.ts";
import type { TransactionLog } from "./transaction_log.ts";
import { WalWindow } from "./wal_window.ts";

export interface ReplicationStepOptions {
  log: TransactionLog;
  /** The instance's slot names; default: those of an instance without ELECTRIC_INSTANCE_ID. */
  names?: InstanceNames;
  logger: Logger;
  /** ELECTRIC_RESUMABLE_WAL_WINDOW, bytes. */
  windowBytes: number;
  /** Default 30 s. */
  windowIntervalMs?: number;
  statusIntervalMs?: number;
  slotBusyTimeoutMs?: number;
  /** At most one write of the processed position per interval. Default 500 ms. */
  persistIntervalMs?: number;
  /** See `ReplicationReaderOptions.settled`. */
  settled?: () => Promise<void>;
  /** Budget for what retained reads keep (ELECTRIC_TXN_CACHE_SIZE fits). Default 64 MiB. */
  retainedBytes?: number;
  primaryKey?: PrimaryKeyLookup;
  /** The state the connector reports meanwhile; default `establishing_repl_conn`. */
  state?: ConnectorState;
  /** Replication connections; default: derived from the connector's pool. */
  connect?: (pool: Sql) => ConnectReplication;
  /** Called with each started reader (e.g. to expose its positions). */
  onStarted?: (reader: ReplicationReader) => void;
  /** Registers transactions received and the WAL window's gauges. */
  metrics?: MetricsRegistry;
}

export function replicationStep(options: ReplicationStepOptions): ConnectorStep {
  const metrics = options.metrics;
  const received = metrics?.counter(
    "electric_transactions_received_total",
    "Transactions received from Postgres over logical replication.",
  );
  const retainedWal = metrics?.gauge(
    "electric_wal_window_bytes",
    "WAL the main replication slot holds back for resuming clients, in bytes (read by the WAL window task).",
  );
  metrics?.gaugeFrom(
    "electric_wal_window_limit_bytes",
    "Resumable WAL window the main slot is advanced to keep (ELECTRIC_RESUMABLE_WAL_WINDOW), in bytes.",
    () => options.windowBytes,
  );
  return {
    name: "replication",
    state: options.state ?? "establishing_repl_conn",
    async run({ sql, signal }): Promise<StepResource> {
      const connect = (options.connect ?? replicationConnectionFrom)(sql);
      const logger = options.logger;
      const reader = new ReplicationReader({
        connect,
        sql,
        database: sql.options.database,
        names: options.names,
        log: options.log,
        logger,
        statusIntervalMs: options.statusIntervalMs,
        slotBusyTimeoutMs: options.slotBusyTimeoutMs,
        persistIntervalMs: options.persistIntervalMs,
        settled: options.settled,
        primaryKey: options.primaryKey,
        received,
      });
      const handle = await reader.start(signal);
      options.onStarted?.(reader);
      const retained = new RetainedReads({
        connect,
        mainSlot: reader.mainSlot,
        primaryKey: options.primaryKey,
        maxBytes: options.retainedBytes ?? 64 * 1024 * 1024,
      });
      options.log.onRetainedRead(retained.read);
      const stopWindow = new AbortController();
      const window = new WalWindow({
        sql,
        mainSlot: reader.mainSlot,
        windowBytes: options.windowBytes,
        logger,
        intervalMs: options.windowIntervalMs,
        onRetained: retainedWal && ((bytes) => retainedWal.set(bytes)),
      }).run(stopWindow.signal);
      return {
        lost: handle.lost,
        async close() {
          stopWindow.abort();
          options.log.onRetainedRead(undefined);
          retained.close();
          await handle.close();
          await window;
        },
      };
    },
  };
}
