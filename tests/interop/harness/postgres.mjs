/**
 * A throwaway Postgres for one interop test process: `initdb` into a temp directory, start
 * `postgres` with `wal_level=logical` on a free port, and hand out fresh databases. When
 * `ELECTRIC_TEST_DATABASE_URL` is set, that server is used instead and nothing is started.
 *
 * As root, initdb and postgres refuse to run, so both run as the `postgres` system user (else
 * `nobody`) through `setpriv` (execs in place, so the pid we hold is the postmaster's) or else `runuser`.
 * Durability is switched off: the data is thrown away after the run.
 */
import { spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdtempSync,
  readFileSync,
  rmSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import postgres from "postgres";
import { freePort, waitFor } from "./wait.mjs";

// tests/interop/run sets POSTGRES_BIN_DIR to what the service's own finder picks (a system
// install, else the npm package); the default is Debian's.
const BIN_DIR = process.env.POSTGRES_BIN_DIR || "/usr/lib/postgresql/15/bin";

/**
 * The user the server runs as when we are root: `postgres`, else `nobody` (a machine whose
 * binaries came from npm has no `postgres` user), as the service's dev mode does.
 * @returns {{ name: string, uid: number, gid: number } | undefined}
 */
function postgresUser() {
  if (process.getuid?.() !== 0) return undefined;
  const lines = readFileSync("/etc/passwd", "utf8").split("\n");
  for (const name of ["postgres", "nobody"]) {
    const line = lines.find((l) => l.startsWith(`${name}:`));
    if (!line) continue;
    const [, , uid, gid] = line.split(":");
    return { name, uid: Number(uid), gid: Number(gid) };
  }
  throw new Error('Running as root but there is no "postgres" or "nobody" system user');
}

/**
 * @param {{ name: string, uid: number, gid: number } | undefined} user
 * @param {string} command
 * @param {string[]} args
 * @returns {string[]} argv running `command` as `user`
 */
function asUser(user, command, args) {
  if (!user) return [command, ...args];
  if (spawnSync("setpriv", ["--version"], { stdio: "ignore" }).status === 0) {
    return [
      "setpriv",
      `--reuid=${user.uid}`,
      `--regid=${user.gid}`,
      "--init-groups",
      "--",
      command,
      ...args,
    ];
  }
  return ["runuser", "-u", user.name, "--", command, ...args];
}

/**
 * @typedef {object} PgServer
 * @property {string} url admin URL (database `postgres`, sslmode=disable)
 * @property {() => Promise<void>} stop
 */

/** @type {Promise<PgServer> | undefined} */
let shared;

/** The Postgres for this process: started on first call, or taken from the environment. */
export function startPostgres() {
  shared ??= (async () => {
    const fromEnv = process.env.ELECTRIC_TEST_DATABASE_URL;
    if (fromEnv) return { url: withSslDisabled(fromEnv), stop: async () => {} };
    return await startCluster();
  })();
  return shared;
}

/** Stops the cluster if this process started it. */
export async function stopPostgres() {
  const current = shared;
  shared = undefined;
  if (current) await (await current).stop();
}

/** @returns {Promise<PgServer>} */
async function startCluster() {
  const user = postgresUser();
  const tempDir = mkdtempSync(join(tmpdir(), "electric-interop-pg-"));
  chmodSync(tempDir, 0o755);
  const dataDir = join(tempDir, "data");
  if (user) chownSync(tempDir, user.uid, user.gid);
  const cleanup = () => rmSync(tempDir, { recursive: true, force: true });

  const [initCmd, ...initArgs] = asUser(user, join(BIN_DIR, "initdb"), [
    "-D",
    dataDir,
    "-U",
    "postgres",
    "--auth=trust",
    "-E",
    "UTF8",
    "--locale=C",
    "--no-sync",
  ]);
  const init = spawnSync(initCmd, initArgs, {
    encoding: "utf8",
    timeout: 60_000,
  });
  if (init.status !== 0) {
    cleanup();
    throw new Error(
      `initdb failed (${
        init.status ?? init.signal
      }):\n${init.stdout}\n${init.stderr}`,
    );
  }

  const port = await freePort();
  const settings = {
    listen_addresses: "127.0.0.1",
    port: String(port),
    unix_socket_directories: tempDir,
    wal_level: "logical",
    max_replication_slots: "20",
    max_wal_senders: "20",
    max_connections: "100",
    fsync: "off",
    synchronous_commit: "off",
    full_page_writes: "off",
  };
  const args = [
    "-D",
    dataDir,
    ...Object.entries(settings).flatMap(([k, v]) => ["-c", `${k}=${v}`]),
  ];
  const [cmd, ...cmdArgs] = asUser(user, join(BIN_DIR, "postgres"), args);
  const child = spawn(cmd, cmdArgs, { stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout.on("data", (c) => (output += c));
  child.stderr.on("data", (c) => (output += c));
  const exited = new Promise((resolve) =>
    child.on("exit", (code, sig) => resolve(code ?? sig))
  );
  // Last resort when the test process exits without `stopPostgres()`.
  const onExit = () => {
    try {
      if (child.exitCode === null) {
        process.kill(/** @type {number} */ (child.pid), "SIGQUIT");
      }
    } catch { /* gone */ }
  };
  process.on("exit", onExit);

  const url =
    `postgresql://postgres@127.0.0.1:${port}/postgres?sslmode=disable`;
  try {
    await waitFor(async () => {
      if (child.exitCode !== null) {
        throw new Error(`postgres exited during startup:\n${output}`);
      }
      try {
        await withSql(url, (sql) => sql`select 1`);
        return true;
      } catch {
        return false;
      }
    }, {
      timeoutMs: 30_000,
      intervalMs: 50,
      what: `postgres to accept connections on ${port}`,
    });
  } catch (error) {
    onExit();
    await exited;
    cleanup();
    throw error;
  }

  return {
    url,
    async stop() {
      process.off("exit", onExit);
      if (child.exitCode === null && child.signalCode === null) {
        process.kill(/** @type {number} */ (child.pid), "SIGINT"); // fast shutdown
        const timer = setTimeout(() => onExit(), 10_000);
        await exited;
        clearTimeout(timer);
      }
      if (existsSync(tempDir)) cleanup();
    },
  };
}

/**
 * @param {string} url
 * @param {string} [database]
 */
export function withSslDisabled(url, database) {
  const parsed = new URL(url);
  if (database !== undefined) {
    parsed.pathname = `/${encodeURIComponent(database)}`;
  }
  if (!parsed.searchParams.has("sslmode")) {
    parsed.searchParams.set("sslmode", "disable");
  }
  return parsed.toString();
}

/**
 * @template T
 * @param {string} url
 * @param {(sql: import("postgres").Sql) => Promise<T>} body
 * @returns {Promise<T>}
 */
export async function withSql(url, body) {
  const sql = postgres(url, { max: 1, onnotice: () => {}, connect_timeout: 5 });
  try {
    return await body(sql);
  } finally {
    await sql.end({ timeout: 1 });
  }
}

/**
 * A uniquely named database on the interop Postgres; `drop()` removes it together with the
 * replication slots the service left behind.
 * @returns {Promise<{ url: string, name: string, drop: () => Promise<void> }>}
 */
export async function freshDatabase() {
  const { url: adminUrl } = await startPostgres();
  const name = `interop_${randomBytes(5).toString("hex")}`;
  await withSql(adminUrl, (sql) => sql.unsafe(`create database "${name}"`));
  return {
    url: withSslDisabled(adminUrl, name),
    name,
    drop: async () => {
      // A subscription (logical_replication mode) blocks DROP DATABASE and can only be dropped
      // from inside its database; detaching its slot first keeps DROP SUBSCRIPTION from
      // reaching out to the (stopped) publisher.
      await withSql(withSslDisabled(adminUrl, name), async (sql) => {
        const subs = await sql`select subname from pg_subscription
                                where subdbid = (select oid from pg_database
                                                  where datname = current_database())`;
        for (const { subname } of subs) {
          await sql`alter subscription ${sql(subname)} disable`;
          await sql`alter subscription ${sql(subname)} set (slot_name = none)`;
          await sql`drop subscription ${sql(subname)}`;
        }
      });
      await withSql(adminUrl, async (sql) => {
        await sql`select pg_terminate_backend(pid) from pg_stat_activity
                  where datname = ${name} and pid <> pg_backend_pid()`;
        await waitFor(async () => {
          const slots =
            await sql`select slot_name, active_pid from pg_replication_slots
                                  where database = ${name}`;
          for (const slot of slots) {
            try {
              if (
                slot.active_pid !== null
              ) await sql`select pg_terminate_backend(${slot.active_pid})`;
              else {
                await sql`select pg_drop_replication_slot(${slot.slot_name})`;
              }
            } catch (error) {
              // 55006 object_in_use, 42704 undefined_object: raced with the walsender.
              const code = /** @type {{ code?: string }} */ (error).code;
              if (code !== "55006" && code !== "42704") throw error;
            }
          }
          return slots.length === 0;
        }, {
          timeoutMs: 10_000,
          what: `replication slots of "${name}" to be dropped`,
        });
        await sql.unsafe(`drop database if exists "${name}" with (force)`);
      });
    },
  };
}
