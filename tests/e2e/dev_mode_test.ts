/**
 * `--dev` without DATABASE_URL: the service creates a local cluster in the data folder, runs
 * against it in insecure mode, and a second run reuses the same cluster and data.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { chmodSync, existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { findFreePort, readPostmasterPid } from "../../src/embedded/mod.ts";
import { exitWithin, startService } from "../helpers/service_process.ts";

const BASE_ENV = { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp" };

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
        assert.match(service.output(), /Local Postgres: postgresql:\/\/postgres@127\.0\.0\.1:\d+/);
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
