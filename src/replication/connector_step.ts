/**
 * Plugs replication into the Postgres connector: once the `electric` schema and publication
 * are in place, the step starts the reader on a replication connection derived from the
 * connector's pool, the WAL window task, and the retained-WAL fallback of the log. Its
 * resource's `lost` settles when the stream dies, so the connector reconnects and the step
 * runs again (the log keeps its cache; re-read transactions are ignored by LSN).
 */
import type { ConnectorState, ConnectorStep, Sql, StepResource } from "../storage/mod.ts";
import type { Logger } from "../telemetry/mod.ts";
import { type ConnectReplication, replicationConnectionFrom } from "./connection.ts";
import type { PrimaryKeyLookup } from "./enrich.ts";
import { ReplicationReader } from "./reader.ts";
import { retainedReader } from "./retained.ts";
import type { TransactionLog } from "./transaction_log.ts";
import { WalWindow } from "./wal_window.ts";

export interface ReplicationStepOptions {
  log: TransactionLog;
  logger: Logger;
  /** ELECTRIC_RESUMABLE_WAL_WINDOW, bytes. */
  windowBytes: number;
  /** Default 30 s. */
  windowIntervalMs?: number;
  statusIntervalMs?: number;
  slotBusyTimeoutMs?: number;
  primaryKey?: PrimaryKeyLookup;
  /** The state the connector reports meanwhile; default `establishing_repl_conn`. */
  state?: ConnectorState;
  /** Replication connections; default: derived from the connector's pool. */
  connect?: (pool: Sql) => ConnectReplication;
  /** Called with each started reader (e.g. to expose its positions). */
  onStarted?: (reader: ReplicationReader) => void;
}

export function replicationStep(options: ReplicationStepOptions): ConnectorStep {
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
        log: options.log,
        logger,
        statusIntervalMs: options.statusIntervalMs,
        slotBusyTimeoutMs: options.slotBusyTimeoutMs,
        primaryKey: options.primaryKey,
      });
      const handle = await reader.start(signal);
      options.onStarted?.(reader);
      const reading = retainedReader({
        connect,
        mainSlot: reader.mainSlot,
        primaryKey: options.primaryKey,
      });
      options.log.onRetainedRead(reading);
      const stopWindow = new AbortController();
      const window = new WalWindow({
        sql,
        mainSlot: reader.mainSlot,
        windowBytes: options.windowBytes,
        logger,
        intervalMs: options.windowIntervalMs,
      }).run(stopWindow.signal);
      return {
        lost: handle.lost,
        async close() {
          stopWindow.abort();
          options.log.onRetainedRead(undefined);
          await handle.close();
          await window;
        },
      };
    },
  };
}
