/**
 * Migrations as clients see them: the versioned schema history (catalog), how it is loaded
 * from and saved to Postgres, how it advances from the replication stream, and the forms it
 * is served in (`SatOpMigrate`, the `/api/migrations` archive). Must not talk to clients.
 */
export { CatalogHolder, type Dialect, type MigrationEntry, SchemaCatalog } from "./catalog.ts";
export { buildEntry } from "./build_entry.ts";
export { capturedStatements, MigrationConsumer, type TransactionLike } from "./consumer.ts";
export { loadCatalog, loadTableOids, lookupVersion, saveEntry } from "./store.ts";
export { encodeSatOpMigrate, toSatOpMigrate } from "./sat_op_migrate.ts";
export { migrationsArchive } from "./bundle.ts";
export { crc32, createZip, type ZipEntry } from "./zip.ts";
export { catalogStep, type MigrationListener, migrationListener } from "./connector_step.ts";
