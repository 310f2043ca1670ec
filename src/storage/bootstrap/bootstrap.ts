/**
 * Installs or upgrades the `electric` schema: applies the install steps not yet in the ledger,
 * in version order, then redefines the routines, all in one transaction under an advisory
 * lock, so two instances starting at once serialise and the second finds nothing to do.
 */
import { createHash } from "node:crypto";
import { PERMISSIONS_ROUTINES_SQL } from "../ddlx/mod.ts";
import type postgres from "postgres";
import {
  CLIENT_DDL_ROUTINES_SQL,
  DDL_GUARD_ROUTINES_SQL,
  ELECTRIFY_ROUTINES_SQL,
  INSTALL_DDL_GUARD_SQL,
  VERSION_ROUTINES_SQL,
} from "../electrify/mod.ts";
import type { Sql } from "../pg_client.ts";
import { SHADOW_ROUTINES_SQL } from "../shadow/mod.ts";
import { INSTALL_STEPS, type InstallStep, TAG_ROUTINES_SQL } from "./steps.ts";

/** Routines redefined on every start, in dependency order, so an upgrade replaces them. */
const ROUTINES_SQL = [
  TAG_ROUTINES_SQL,
  VERSION_ROUTINES_SQL,
  SHADOW_ROUTINES_SQL,
  CLIENT_DDL_ROUTINES_SQL,
  ELECTRIFY_ROUTINES_SQL,
  DDL_GUARD_ROUTINES_SQL,
  PERMISSIONS_ROUTINES_SQL,
];

export interface BootstrapOptions {
  steps?: readonly InstallStep[];
  /**
   * Install the event triggers that capture and guard DDL run directly against electrified
   * tables. Needs a superuser; without one, DDL is captured only through the proxy.
   */
  ddlGuard?: boolean;
}

/** Arbitrary but fixed key of the advisory lock that serialises installation. */
export const BOOTSTRAP_LOCK_KEY = 7_465_112_037_117_114n;

export interface BootstrapResult {
  /** Versions of the steps applied by this call (empty when the schema was up to date). */
  applied: bigint[];
  ddlGuard: boolean;
  /** Whether electrified tables' trigger functions were generated again (changed generators). */
  regenerated: boolean;
}

export async function bootstrapElectricSchema(
  sql: Sql,
  options: BootstrapOptions = {},
): Promise<BootstrapResult> {
  const steps = options.steps ?? INSTALL_STEPS;
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
    for (const routines of ROUTINES_SQL) await tx.unsafe(routines);
    const regenerated = await regenerateShadowFunctions(tx);
    if (options.ddlGuard) await tx.unsafe(INSTALL_DDL_GUARD_SQL);
    return { applied, ddlGuard: options.ddlGuard ?? false, regenerated };
  }) as BootstrapResult;
}

const SHADOW_FINGERPRINT = createHash("sha256").update(SHADOW_ROUTINES_SQL).digest("hex");

/**
 * Electrified tables' trigger functions are generated from the shadow routines when a table is
 * electrified; when those generators changed since the last start (an upgrade), every table's
 * functions are generated again, so a fix in them reaches tables electrified before it.
 */
async function regenerateShadowFunctions(tx: postgres.TransactionSql): Promise<boolean> {
  // Absent only when a caller installs a subset of the steps (tests of upgrades).
  const [{ present }] = await tx<{ present: boolean }[]>`
    SELECT to_regclass('electric.routine_fingerprints') IS NOT NULL AS present`;
  if (!present) return false;
  const [stored] = await tx<{ fingerprint: string }[]>`
    SELECT fingerprint FROM electric.routine_fingerprints WHERE name = 'shadow'`;
  if (stored?.fingerprint === SHADOW_FINGERPRINT) return false;
  await tx`CALL electric.reinstall_all_shadow_functions()`;
  await tx`INSERT INTO electric.routine_fingerprints (name, fingerprint)
           VALUES ('shadow', ${SHADOW_FINGERPRINT})
           ON CONFLICT (name) DO UPDATE SET fingerprint = excluded.fingerprint, updated_at = now()`;
  return true;
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
