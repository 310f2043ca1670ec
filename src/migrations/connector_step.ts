/**
 * Plugs the schema catalog into the Postgres connector: loads it from `electric.schema` on
 * the first successful connection (kept across reconnects), and keeps it advancing from the
 * replication log through the migration consumer, one transaction at a time.
 */
import type { ConnectorStep, Sql } from "../storage/mod.ts";
import type { Logger } from "../telemetry/mod.ts";
import type { CatalogHolder } from "./catalog.ts";
import { MigrationConsumer, type TransactionLike } from "./consumer.ts";
import { loadCatalog } from "./store.ts";

export function catalogStep(catalogs: CatalogHolder): ConnectorStep {
  return {
    name: "schema catalog",
    state: "initialization",
    async run({ sql }) {
      if (catalogs.get()) return;
      const loaded = await loadCatalog(sql);
      if (!loaded.ok) {
        throw Object.assign(new Error(loaded.error.message), { code: loaded.error.code });
      }
      catalogs.set(loaded.catalog);
    },
  };
}

/** A transaction-log listener that also says when everything handed to it is applied. */
export type MigrationListener = ((tx: TransactionLike & { lsn: bigint }) => void) & {
  /** Resolves once every transaction received so far has been looked at. */
  settled(): Promise<void>;
};

/**
 * Returns a listener for the transaction log: migrations are applied in arrival order, and a
 * transaction's position counts as processed only once that is done. The replication reader
 * persists its position only after `settled()` (old WAL is not re-read after a restart), so a
 * database failure is retried here, with backoff, until it goes through.
 */
export function migrationListener(options: {
  catalogs: CatalogHolder;
  sql: () => Sql | undefined;
  logger: Logger;
  /** Retry delays in ms (the last one repeats). */
  retryDelaysMs?: readonly number[];
}): MigrationListener {
  let queue = Promise.resolve();
  let consumer: MigrationConsumer | undefined;
  const delays = options.retryDelaysMs ?? [200, 1_000, 5_000, 10_000];
  const listener = (tx: TransactionLike & { lsn: bigint }) => {
    queue = queue.then(async () => {
      const catalog = options.catalogs.get();
      if (!catalog) return;
      consumer ??= new MigrationConsumer({ sql: options.sql, catalog, logger: options.logger });
      for (let attempt = 0;; attempt++) {
        try {
          await consumer.handle(tx);
          break;
        } catch (error) {
          const wait = delays[Math.min(attempt, delays.length - 1)];
          options.logger.warning(
            `Could not apply a migration from the stream (retrying in ${wait} ms): ${
              (error as Error).message
            }`,
          );
          await new Promise((resolve) => setTimeout(resolve, wait));
        }
      }
      catalog.markProcessed(tx.lsn);
    });
  };
  return Object.assign(listener, { settled: () => queue });
}
