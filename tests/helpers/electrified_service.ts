/**
 * The service over tables it has learnt about, as most end-to-end tests begin: started on a free
 * port, the tables electrified in one migration, and ready once `/api/migrations` serves that
 * migration (clients subscribe only to tables the service has learnt about).
 */
import postgres from "postgres";
import { findFreePort } from "../../src/embedded/mod.ts";
import { freshDatabase } from "./pg_cluster.ts";
import { serviceEnv } from "./service_config.ts";
import { type ServiceProcess, startService } from "./service_process.ts";
import { waitFor } from "./wait.ts";

export interface ElectrifiedService {
  service: ServiceProcess;
  /** Its HTTP port. */
  port: number;
}

/**
 * Starts the service on the database at `url` (the one `sql` is connected to), electrifies
 * `tables` and waits until the service serves the migration. If any of that fails, the service
 * is killed and the error carries its output.
 */
export async function startElectrifiedService(
  sql: postgres.Sql,
  options: { url: string; tables: string[]; env?: Record<string, string> },
): Promise<ElectrifiedService> {
  const port = await findFreePort();
  const service = startService(await serviceEnv(options.url, port, options.env));
  try {
    await service.waitForStatus(port, 200, 30_000);
    await electrify(sql, options.tables);
    await waitForMigrations(port);
  } catch (error) {
    service.kill();
    throw new Error(`${(error as Error).message}\nService output:\n${service.output()}`);
  }
  return { service, port };
}

/** Electrifies `tables` in one migration. */
export async function electrify(sql: postgres.Sql, tables: string[]): Promise<void> {
  await sql.begin(async (tx) => {
    await tx`CALL electric.migration_version('20240601120000')`;
    for (const table of tables) await tx`CALL electric.electrify(${table})`;
  });
}

/** Waits until the service at `port` serves its migrations (`what` names it on timeout). */
export async function waitForMigrations(
  port: number,
  what = "the migration to reach the service",
): Promise<void> {
  await waitFor(async () => {
    const response = await fetch(`http://127.0.0.1:${port}/api/migrations?dialect=sqlite`);
    await response.body?.cancel();
    return response.status === 200;
  }, { timeoutMs: 20_000, what });
}

export interface ServiceOnFreshDatabase extends ElectrifiedService {
  db: Awaited<ReturnType<typeof freshDatabase>>;
  sql: postgres.Sql;
}

/**
 * A fresh database with `ddl` applied and the service started on it with `env`, answering
 * `/api/status` (nothing electrified yet). The caller kills the service, ends `sql` and drops
 * `db`.
 */
export async function startServiceOnFreshDatabase(
  ddl: string,
  env: Record<string, string> = {},
): Promise<ServiceOnFreshDatabase> {
  const db = await freshDatabase();
  const sql = postgres(db.url, { onnotice: () => {}, max: 2 });
  await sql.unsafe(ddl);
  const port = await findFreePort();
  const service = startService(await serviceEnv(db.url, port, env));
  await service.waitForStatus(port, 200, 30_000);
  return { db, sql, service, port };
}
