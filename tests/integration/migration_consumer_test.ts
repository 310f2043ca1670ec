/**
 * The migration consumer against a real Postgres: the stream can deliver a migrating
 * transaction before its version row is visible to other sessions (the commit record is
 * flushed before the commit becomes visible); the consumer waits for the row instead of
 * dropping the migration.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import postgres from "postgres";
import { loadCatalog, MigrationConsumer } from "../../src/migrations/mod.ts";
import { bootstrapElectricSchema } from "../../src/storage/mod.ts";
import { createLogger } from "../../src/telemetry/mod.ts";
import { freshDatabase } from "../helpers/pg_cluster.ts";

test("a migration whose version row becomes visible late is applied, not ignored", async () => {
  const db = await freshDatabase();
  const sql = postgres(db.url, { onnotice: () => {}, max: 3 });
  try {
    await bootstrapElectricSchema(sql, { ddlGuard: true });
    const loaded = await loadCatalog(sql);
    assert.ok(loaded.ok);
    const catalog = loaded.catalog;
    await sql.unsafe(`CREATE TABLE items (id text PRIMARY KEY, value text);
                      CALL electric.electrify('items');`);
    const captured = await sql<{ id: string; txid: string; txts: string; query: string }[]>`
      SELECT id::text, txid::text, txts::text, query FROM electric.ddl_commands ORDER BY id`;
    assert.ok(captured.length > 0);
    const { txid, txts } = captured[0];
    // The version row as the stream's reader would not see it yet.
    const [version] = await sql`
      DELETE FROM electric.migration_versions WHERE txid = ${txid}::xid8 AND txts = ${txts}::int8
      RETURNING version, priority`;
    const tx = {
      changes: captured.map((row) => ({
        kind: "insert",
        relation: { schema: "electric", table: "ddl_commands" },
        record: { ...row },
      })),
    };
    const logs: string[] = [];
    const consumer = new MigrationConsumer({
      sql: () => sql,
      catalog,
      logger: createLogger({ level: "info", write: (line) => logs.push(line) }),
    });
    const handled = consumer.handle(tx);
    await new Promise((resolve) => setTimeout(resolve, 300)); // the row appears later
    await sql`INSERT INTO electric.migration_versions (txid, txts, version, priority)
              VALUES (${txid}::xid8, ${txts}::int8, ${version.version}, ${version.priority})`;
    await handled;
    assert.ok(catalog.has(version.version), logs.join("\n"));
    assert.ok(!logs.some((l) => /no migration version/.test(l)), logs.join("\n"));
  } finally {
    await sql.end({ timeout: 1 });
    await db.drop();
  }
});
