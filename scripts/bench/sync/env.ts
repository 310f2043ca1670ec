/**
 * What every sync scenario stands on: one Postgres for the whole benchmark (a temporary
 * cluster with fsync off, or BENCH_DATABASE_URL), a fresh database per scenario with the
 * `items` table, the service as a child process under the chosen runtime, and its memory read
 * from /proc. The service is only ever spoken to over the network, as clients do.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import postgres from "postgres";
import { findFreePort, startCluster } from "../../../src/embedded/mod.ts";

export { findFreePort };
import { databaseUrl } from "../../../tests/helpers/pg_cluster.ts";
import { serviceEnv } from "../../../tests/helpers/service_config.ts";
import { MAIN, type ServiceProcess, startService } from "../../../tests/helpers/service_process.ts";
import { waitFor } from "../../../tests/helpers/wait.ts";

export const ROOT = fileURLToPath(new URL("../../..", import.meta.url));
const BIN = join(ROOT, "node_modules", ".bin");

export type Runtime = "bun" | "deno" | "binary";

export interface Server {
  /** URL of the maintenance database (`postgres`). */
  adminUrl: string;
  stop(): Promise<void>;
}

export async function startServer(): Promise<Server> {
  const fromEnv = process.env.BENCH_DATABASE_URL;
  if (fromEnv) return { adminUrl: fromEnv, stop: async () => {} };
  const dir = mkdtempSync(join(tmpdir(), "electric-bench-sync-"));
  const started = await startCluster({
    dataDir: join(dir, "pgdata"),
    extraSettings: {
      fsync: "off",
      // Not synchronous_commit=off: walsenders only send flushed WAL, and the WAL writer
      // flushes asynchronous commits every 200 ms, which would dominate every latency.
      max_connections: "300",
      // Scenario f writes about 1 GB of WAL; fewer checkpoints on the way.
      max_wal_size: "4GB",
    },
  });
  if (!started.ok) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(started.error.message);
  }
  return {
    adminUrl: started.cluster.url,
    async stop() {
      await started.cluster.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export function connectSql(url: string, max = 1): postgres.Sql {
  return postgres(url, { onnotice: () => {}, max, idle_timeout: 0 });
}

let databases = 0;

/** A new database with an empty `items` table; `drop()` removes it and its slots. */
export async function freshDatabase(
  server: Server,
  label: string,
): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `bench_${label}_${process.pid}_${++databases}`;
  const admin = connectSql(server.adminUrl);
  try {
    await admin.unsafe(`CREATE DATABASE "${name}"`);
  } finally {
    await admin.end();
  }
  const url = databaseUrl(server.adminUrl, name);
  const sql = connectSql(url);
  try {
    await sql`CREATE TABLE items (id uuid PRIMARY KEY, value text, n int, ts timestamptz)`;
  } finally {
    await sql.end();
  }
  return { url, drop: () => dropDatabase(server.adminUrl, name) };
}

async function dropDatabase(adminUrl: string, name: string): Promise<void> {
  await dropSubscriptions(databaseUrl(adminUrl, name));
  const sql = connectSql(adminUrl);
  try {
    await sql`SELECT pg_terminate_backend(pid) FROM pg_stat_activity
               WHERE datname = ${name} AND pid <> pg_backend_pid()`;
    await waitFor(async () => {
      const slots = await sql<{ slot_name: string; active_pid: number | null }[]>`
        SELECT slot_name, active_pid FROM pg_replication_slots WHERE database = ${name}`;
      for (const slot of slots) {
        if (slot.active_pid !== null) {
          await sql`SELECT pg_terminate_backend(${slot.active_pid})`;
        } else {
          await sql`SELECT pg_drop_replication_slot(${slot.slot_name})`.catch(() => {});
        }
      }
      return slots.length === 0;
    }, { timeoutMs: 20_000, what: `the slots of database "${name}" to be dropped` });
    await sql.unsafe(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  } finally {
    await sql.end();
  }
}

/**
 * A database with a subscription cannot be dropped (logical_replication mode makes one): each
 * is disabled, detached from its remote slot (the service that served it is gone) and dropped.
 */
async function dropSubscriptions(url: string): Promise<void> {
  const sql = connectSql(url);
  try {
    const subscriptions = await sql<{ name: string }[]>`
      SELECT subname AS name FROM pg_subscription
       WHERE subdbid = (SELECT oid FROM pg_database WHERE datname = current_database())`;
    for (const { name } of subscriptions) {
      const quoted = `"${name.replaceAll('"', '""')}"`;
      await sql.unsafe(`ALTER SUBSCRIPTION ${quoted} DISABLE`);
      await sql.unsafe(`ALTER SUBSCRIPTION ${quoted} SET (slot_name = NONE)`);
      await sql.unsafe(`DROP SUBSCRIPTION ${quoted}`);
    }
  } finally {
    await sql.end();
  }
}

/** `rows` rows: n = 1..rows, value `value-<n>`, the first `hot` of them with value `hot`. */
export async function fillItems(sql: postgres.Sql, rows: number, hot = 0): Promise<void> {
  await sql`
    INSERT INTO items (id, value, n, ts)
    SELECT gen_random_uuid(), CASE WHEN i <= ${hot} THEN 'hot' ELSE 'value-' || i END, i, now()
      FROM generate_series(1, ${rows}::int) AS i`;
  await sql`VACUUM ANALYZE items`;
}

export interface BenchService {
  port: number;
  pid: number;
  process: ServiceProcess;
  /** performance.now() when the process was spawned. */
  spawnedAt: number;
  stop(): Promise<void>;
}

/** BENCH_RUNTIME_FLAGS: extra runtime flags for the service, e.g. `--cpu-prof-md` (profiling). */
const runtimeFlags = (process.env.BENCH_RUNTIME_FLAGS ?? "").split(" ").filter((f) => f !== "");

/**
 * How to run a script on the runtime the service runs on (the script path goes last); the
 * compiled binary is Bun inside.
 */
export function runtimeCommand(runtime: Runtime): { command: string; args: string[] } {
  return runtime === "deno"
    ? { command: join(BIN, "deno"), args: ["run", "-A", ...runtimeFlags] }
    : { command: join(BIN, "bun"), args: [...runtimeFlags] };
}

function command(runtime: Runtime): { command: string; args: string[] } {
  switch (runtime) {
    case "bun":
    case "deno": {
      const { command, args } = runtimeCommand(runtime);
      return { command, args: [...args, MAIN] };
    }
    case "binary": {
      const binary = join(ROOT, "dist", "electric");
      if (!existsSync(binary)) throw new Error(`${binary} is missing: run \`deno task build\``);
      return { command: binary, args: [] };
    }
  }
}

// Services still running when this process exits (a failure, a signal) go with it.
const live = new Set<ServiceProcess>();
process.on("exit", () => {
  for (const service of live) service.kill();
});

/**
 * Starts the service (direct_writes, insecure auth; `overrides` adds or replaces variables) and
 * waits until it answers 200.
 */
export async function startBenchService(
  url: string,
  runtime: Runtime,
  port?: number,
  overrides: Record<string, string> = {},
): Promise<BenchService> {
  const httpPort = port ?? await findFreePort();
  const env = await serviceEnv(url, httpPort, {
    AUTH_MODE: "insecure",
    ELECTRIC_WRITE_TO_PG_MODE: "direct_writes",
    LOGICAL_PUBLISHER_HOST: "127.0.0.1",
    LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? "warning",
    ...overrides,
  });
  const spawnedAt = performance.now();
  const service = startService(env, command(runtime));
  live.add(service);
  service.exited.then(() => live.delete(service));
  try {
    await service.waitForStatus(httpPort, 200, 60_000);
  } catch (error) {
    service.kill();
    throw error;
  }
  return {
    port: httpPort,
    pid: service.child.pid!,
    process: service,
    spawnedAt,
    async stop() {
      if (service.child.exitCode !== null || service.child.signalCode !== null) return;
      service.signal("SIGTERM");
      const timer = setTimeout(() => service.kill(), 10_000);
      await service.exited;
      clearTimeout(timer);
    },
  };
}

/**
 * What a caller adds to every service a benchmark starts (scripts/bench/metrics_cost.ts: the
 * metrics switch, a scraper): variables on top of the benchmark's own, and `attach`, called
 * once the service answers, whose returned function runs just before the service is stopped.
 */
export interface ServiceExtras {
  env: Record<string, string>;
  attach?: (service: BenchService) => () => Promise<void>;
}

/** `service`, with `extras` attached (its stop() first ends what they started). */
export function withExtras(service: BenchService, extras?: ServiceExtras): BenchService {
  const detach = extras?.attach?.(service);
  if (!detach) return service;
  return {
    ...service,
    async stop() {
      await detach();
      await service.stop();
    },
  };
}

/** Electrifies `items` and waits until the service serves its migration. */
export function electrifyItems(sql: postgres.Sql, service: BenchService): Promise<void> {
  return electrifyTable(sql, service, "items");
}

/** Electrifies `table` and waits until the service serves a migration. */
export async function electrifyTable(
  sql: postgres.Sql,
  service: BenchService,
  table: string,
): Promise<void> {
  await sql`CALL electric.electrify(${table})`;
  try {
    await waitFor(async () => {
      const res = await fetch(`http://127.0.0.1:${service.port}/api/migrations?dialect=sqlite`);
      await res.body?.cancel();
      return res.status === 200;
    }, { timeoutMs: 30_000, what: `the migration of ${table}` });
  } catch (error) {
    // Why the stream did not deliver the migration: what the service said (without the HTTP
    // lines, which the polling above fills) and what Postgres was doing.
    const said = service.process.output().split("\n")
      .filter((line) => !line.includes("component=http")).join("\n").slice(0, 6000);
    const postgresSide = await postgresSnapshot(sql).catch((e) => `(no snapshot: ${e})`);
    throw new Error(
      `${(error as Error).message}; the service's output:\n${said}\nPostgres:\n${postgresSide}`,
    );
  }
}

/** Sessions, slots and the WAL position of the cluster, as text (for failure messages). */
async function postgresSnapshot(sql: postgres.Sql): Promise<string> {
  const activity = await sql`
    SELECT pid, datname, backend_type, state, wait_event_type, wait_event,
           backend_xid::text AS xid, left(query, 120) AS query
      FROM pg_stat_activity WHERE pid <> pg_backend_pid() ORDER BY pid`;
  const slots = await sql`
    SELECT slot_name, database, temporary, active, active_pid,
           restart_lsn::text, confirmed_flush_lsn::text FROM pg_replication_slots`;
  const [{ lsn }] = await sql`SELECT pg_current_wal_lsn()::text AS lsn`;
  return [
    `current WAL ${lsn}`,
    ...slots.map((s) => `slot ${JSON.stringify(s)}`),
    ...activity.map((a) => `session ${JSON.stringify(a)}`),
  ].join("\n");
}

/** VmRSS and VmHWM of a process, in bytes (0 when it is gone). */
export function memoryOf(pid: number): { rss: number; hwm: number } {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const kb = (name: string) => Number(new RegExp(`${name}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
    return { rss: kb("VmRSS") * 1024, hwm: kb("VmHWM") * 1024 };
  } catch {
    return { rss: 0, hwm: 0 };
  }
}

/** User + system CPU seconds a process has used (from /proc/<pid>/stat; 100 ticks/s). */
export function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the parenthesised command name; utime and stime are the 14th and 15th.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return 0;
  }
}

/** Samples VmRSS every `intervalMs` until stopped; `max` is the largest seen. */
export function sampleRss(pid: number, intervalMs = 200): { stop(): number } {
  let max = memoryOf(pid).rss;
  const timer = setInterval(() => max = Math.max(max, memoryOf(pid).rss), intervalMs);
  return {
    stop() {
      clearInterval(timer);
      return Math.max(max, memoryOf(pid).rss);
    },
  };
}
