/**
 * Turns one version's captured statements into a catalog entry: applies them to the previous
 * model with the real Postgres parser and derives what clients receive in each dialect.
 */
import {
  applyMigration,
  type SatOpMigrateData,
  satOpMigrateFor,
  type SchemaModel,
} from "../schema/mod.ts";
import type { MigrationEntry } from "./catalog.ts";

export type BuildEntryResult =
  | { ok: true; entry: MigrationEntry }
  | { ok: false; error: { code: string; message: string } };

export async function buildEntry(
  previous: SchemaModel,
  input: { version: string; txid: bigint; statements: string[] },
  tableOid: (schema: string, name: string) => number | undefined,
): Promise<BuildEntryResult> {
  const applied = await applyMigration(previous, input.version, input.statements, { tableOid });
  if (!applied.ok) return applied;
  const ops = (dialect: "sqlite" | "postgresql") =>
    applied.results
      .map((results) => satOpMigrateFor(input.version, results, dialect))
      .filter((op): op is SatOpMigrateData => op !== undefined);
  return {
    ok: true,
    entry: {
      version: input.version,
      txid: input.txid,
      statements: input.statements,
      model: { ...applied.model, version: input.version },
      ops: { sqlite: ops("sqlite"), postgresql: ops("postgresql") },
    },
  };
}
