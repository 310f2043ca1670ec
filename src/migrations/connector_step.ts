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

/**
 * Returns a listener for the transaction log: migrations are applied in arrival order; a
 * failure is logged and the version is picked up again when the WAL is re-read on restart.
 */
export function migrationListener(options: {
  catalogs: CatalogHolder;
  sql: () => Sql | undefined;
  logger: Logger;
}): (tx: TransactionLike & { lsn: bigint }) => void {
  let queue = Promise.resolve();
  let consumer: MigrationConsumer | undefined;
  return (tx) => {
    queue = queue.then(async () => {
      const catalog = options.catalogs.get();
      if (!catalog) return;
      consumer ??= new MigrationConsumer({ sql: options.sql, catalog, logger: options.logger });
      try {
        await consumer.handle(tx);
      } catch (error) {
        options.logger.warning(
          `Could not apply a migration from the stream: ${(error as Error).message}`,
        );
      }
    });
  };
}
