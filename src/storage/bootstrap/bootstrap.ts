/**
 * Installs or upgrades the `electric` schema: applies the install steps not yet in the ledger,
 * in version order, then redefines the routines, all in one transaction under an advisory
 * lock, so two instances starting at once serialise and the second finds nothing to do.
 */
import type { Sql } from "../pg_client.ts";
import { INSTALL_STEPS, type InstallStep, ROUTINES_SQL } from "./steps.ts";

/** Arbitrary but fixed key of the advisory lock that serialises installation. */
export const BOOTSTRAP_LOCK_KEY = 7_465_112_037_117_114n;

export interface BootstrapResult {
  /** Versions of the steps applied by this call (empty when the schema was up to date). */
  applied: bigint[];
}

export async function bootstrapElectricSchema(
  sql: Sql,
  steps: readonly InstallStep[] = INSTALL_STEPS,
): Promise<BootstrapResult> {
  return await sql.begin(async (tx) => {
    await tx`SELECT pg_advisory_xact_lock(${BOOTSTRAP_LOCK_KEY.toString()}::int8)`;
    // Notices such as "schema already exists, skipping" are noise on every restart.
    await tx`SET LOCAL client_min_messages = warning`;
    await tx`CREATE SCHEMA IF NOT EXISTS electric`;
    await tx`CREATE TABLE IF NOT EXISTS electric.schema_migrations (
      version int8 PRIMARY KEY,
      inserted_at timestamp DEFAULT LOCALTIMESTAMP
    )`;
    const rows = await tx`SELECT version::text AS version FROM electric.schema_migrations`;
    const done = new Set(rows.map((row) => BigInt(row.version)));
    const applied: bigint[] = [];
    for (const step of pendingSteps(steps, done)) {
      await tx.unsafe(step.sql);
      const versions = step.records.filter((version) => !done.has(version)).map(String);
      await tx`INSERT INTO electric.schema_migrations (version)
               SELECT unnest(${versions}::int8[]) ON CONFLICT DO NOTHING`;
      applied.push(step.version);
    }
    await tx.unsafe(ROUTINES_SQL);
    return { applied };
  }) as BootstrapResult;
}

/** Pure: the steps to apply, in version order. A step is done when its own version is. */
export function pendingSteps(
  steps: readonly InstallStep[],
  done: ReadonlySet<bigint>,
): InstallStep[] {
  return [...steps]
    .sort((a, b) => (a.version < b.version ? -1 : a.version > b.version ? 1 : 0))
    .filter((step) => !done.has(step.version));
}
