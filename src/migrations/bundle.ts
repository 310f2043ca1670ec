/**
 * The `/api/migrations` archive: per version `<version>/migration.sql` (the dialect's
 * statements) and `<version>/metadata.json` (the protobuf operations, base64), in migration
 * order. Pure: entries in, bytes out.
 */
import { Buffer } from "node:buffer";
import { migrationSqlFile } from "../schema/mod.ts";
import type { Dialect, MigrationEntry } from "./catalog.ts";
import { createZip, type ZipEntry } from "./zip.ts";
import { encodeSatOpMigrate } from "./sat_op_migrate.ts";

export function migrationsArchive(
  entries: readonly MigrationEntry[],
  dialect: Dialect,
): Uint8Array<ArrayBuffer> {
  const encoder = new TextEncoder();
  const files: ZipEntry[] = [];
  for (const entry of entries) {
    const ops = entry.ops[dialect];
    // Keys in this order, compact: the CLI and the reference's tooling compare the text.
    const metadata = {
      format: "SatOpMigrate",
      ops: ops.map((op) => Buffer.from(encodeSatOpMigrate(op)).toString("base64")),
      protocol_version: "Electric.Satellite",
      version: entry.version,
    };
    files.push(
      { name: `${entry.version}/migration.sql`, data: encoder.encode(migrationSqlFile(ops)) },
      { name: `${entry.version}/metadata.json`, data: encoder.encode(JSON.stringify(metadata)) },
    );
  }
  return createZip(files);
}
