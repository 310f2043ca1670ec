/**
 * The service as a process: configuration errors, status, shutdown on signals, refusal of an
 * unusable Postgres, a busy port, an unreachable Postgres, and LOG_LEVEL.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:net";
import { findFreePort } from "../../src/embedded/mod.ts";
import { databaseUrl, freshDatabase, startScratchCluster } from "../helpers/pg_cluster.ts";
import { exitWithin, isListening, startService } from "../helpers/service_process.ts";
import { serviceEnv } from "../helpers/service_config.ts";
import { connectClient, insecureToken, payloadOf } from "../helpers/satellite_client.ts";
import { SatAuthReqSchema, SatAuthRespSchema } from "../../src/gen/mod.ts";

const BASE_ENV = { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp" };

test("bad configuration: every problem at once, secrets masked, exit 1, no port opened", async () => {
  const port = await findFreePort();
  const service = startService({
    ...BASE_ENV,
    HTTP_PORT: String(port),
    DATABASE_URL: "postgrex://user:hunter2secret@localhost/db",
    PG_PROXY_PASSWORD: "",
    AUTH_MODE: "secure",
    AUTH_JWT_ALG: "HS256",
    AUTH_JWT_KEY: "short-secret-key",
    ELECTRIC_TXN_CACHE_SIZE: "1GB",
    LOG_LEVEL: "verbose",
  });
  try {
    assert.equal(await exitWithin(service, 15_000), 1);
    const out = service.output();
    assert.match(out, /CONFIGURATION ERROR/);
    assert.match(out, /\* DATABASE_URL has invalid URL scheme: "postgrex"/);
    assert.match(out, /\* PG_PROXY_PASSWORD not set/);
    assert.match(out, /\* AUTH_JWT_KEY has to be at least 32 bytes long for HS256/);
    assert.match(out, /\* LOG_LEVEL has invalid value: "verbose"/);
    assert.match(out, /\* ELECTRIC_TXN_CACHE_SIZE has invalid value: "1GB"/);
    assert.doesNotMatch(out, /hunter2secret/);
    assert.doesNotMatch(out, /short-secret-key/);
    assert.doesNotMatch(out, /^\s+at /m, "no stack trace");
    assert.equal(await isListening(port), false);
  } finally {
    service.kill();
  }
});

test("missing DATABASE_URL outside dev mode is a configuration error", async () => {
  const service = startService({ ...BASE_ENV, AUTH_MODE: "insecure", PG_PROXY_PASSWORD: "x" });
  try {
    assert.equal(await exitWithin(service, 15_000), 1);
    assert.match(service.output(), /\* DATABASE_URL not set/);
  } finally {
    service.kill();
  }
});

for (const signal of ["SIGTERM", "SIGINT"] as const) {
  test(`serves /api/status once Postgres is ready and exits 0 on ${signal}`, async () => {
    const db = await freshDatabase();
    const port = await findFreePort();
    const service = startService(await serviceEnv(db.url, port));
    try {
      await service.waitForStatus(port, 200);
      const res = await fetch(`http://127.0.0.1:${port}/api/status`);
      assert.equal(await res.text(), "Connection to Postgres is up!");
      const missing = await fetch(`http://127.0.0.1:${port}/nope`);
      assert.deepEqual([missing.status, await missing.text()], [404, "Not found"]);
      service.signal(signal);
      assert.equal(await exitWithin(service, 5_000), 0);
      assert.equal(await isListening(port), false);
      assert.doesNotMatch(
        service.output(),
        /error/i,
        `a clean run prints no error:\n${service.output()}`,
      );
    } finally {
      service.kill();
      await db.drop();
    }
  });
}

for (const signal of ["SIGTERM", "SIGINT"] as const) {
  test(`${signal} with connected clients: each gets close 1001 and the process exits promptly`, async () => {
    const db = await freshDatabase();
    const port = await findFreePort();
    const service = startService(await serviceEnv(db.url, port));
    const clients = [];
    try {
      await service.waitForStatus(port, 200);
      for (let i = 0; i < 3; i++) {
        const client = await connectClient(`ws://127.0.0.1:${port}/ws`);
        clients.push(client);
        if (i === 0) continue; // one never authenticates
        const response = await client.rpc("authenticate", SatAuthReqSchema, {
          id: crypto.randomUUID(),
          token: insecureToken({ sub: `user-${i}` }),
        });
        payloadOf(SatAuthRespSchema, response);
      }
      const signalled = Date.now();
      service.signal(signal);
      // The bound leaves room for a loaded CI machine; the figure is printed for the record.
      assert.equal(await exitWithin(service, 2_000), 0);
      console.log(`${signal}: exited ${Date.now() - signalled} ms after the signal`);
      for (const client of clients) {
        assert.deepEqual(await client.closed, { code: 1001, reason: "Server shutting down" });
      }
    } finally {
      for (const client of clients) client.close();
      service.kill();
      await db.drop();
    }
  });
}

test("a server without wal_level=logical is refused with what to change", async () => {
  const cluster = await startScratchCluster({ walLevel: "replica" });
  const port = await findFreePort();
  const service = startService(await serviceEnv(databaseUrl(cluster.url, "postgres"), port));
  try {
    assert.equal(await exitWithin(service, 20_000), 1);
    const out = service.output();
    assert.match(out, /DATABASE CONFIGURATION ERROR/);
    assert.match(out, /Your Postgres database is not configured with wal_level=logical\./);
    assert.match(out, /ALTER SYSTEM SET wal_level = 'logical'/);
    assert.doesNotMatch(out, /^\s+at /m);
  } finally {
    service.kill();
    await cluster.stop();
  }
});

test("logical_replication mode refuses a role that is not a superuser", async () => {
  const db = await freshDatabase();
  const admin = (await import("postgres")).default(db.url, { onnotice: () => {} });
  await admin`CREATE ROLE plain_user LOGIN REPLICATION`.catch(() => {});
  await admin.end();
  const port = await findFreePort();
  const url = db.url.replace("postgresql://postgres@", "postgresql://plain_user@");
  const service = startService(
    await serviceEnv(url, port, {
      ELECTRIC_WRITE_TO_PG_MODE: "logical_replication",
      LOGICAL_PUBLISHER_HOST: "localhost",
    }),
  );
  try {
    assert.equal(await exitWithin(service, 20_000), 1);
    assert.match(service.output(), /ALTER ROLE plain_user SUPERUSER/);
  } finally {
    service.kill();
    await db.drop();
  }
});

test("a busy HTTP port is a clear startup error", async () => {
  const blocker = createServer();
  const port = await new Promise<number>((resolve) =>
    blocker.listen(0, "0.0.0.0", () => resolve((blocker.address() as { port: number }).port))
  );
  const db = await freshDatabase();
  const service = startService(await serviceEnv(db.url, port, { ELECTRIC_USE_IPV6: "false" }));
  try {
    assert.equal(await exitWithin(service, 15_000), 1);
    assert.match(
      service.output(),
      new RegExp(
        `Failed to open a socket to listen for HTTP/WebSocket connections on port ${port}\\.`,
      ),
    );
  } finally {
    service.kill();
    blocker.close();
    await db.drop();
  }
});

test("an unreachable Postgres: CONNECTION ERROR, status 503, still stops cleanly", async () => {
  const deadPort = await findFreePort();
  const port = await findFreePort();
  const url = `postgresql://postgres@127.0.0.1:${deadPort}/postgres?sslmode=disable`;
  const service = startService(await serviceEnv(url, port));
  try {
    await service.waitForOutput(/CONNECTION ERROR/);
    const res = await fetch(`http://127.0.0.1:${port}/api/status`);
    assert.deepEqual([res.status, await res.text()], [
      503,
      "Initializing connection to Posgres...",
    ]);
    service.signal("SIGTERM");
    assert.equal(await exitWithin(service, 5_000), 0);
  } finally {
    service.kill();
  }
});

test("LOG_LEVEL=warning drops the per-request info lines", async () => {
  const db = await freshDatabase();
  const port = await findFreePort();
  const service = startService(await serviceEnv(db.url, port, { LOG_LEVEL: "warning" }));
  try {
    await service.waitForStatus(port, 200);
    service.signal("SIGTERM");
    assert.equal(await exitWithin(service, 5_000), 0);
    assert.doesNotMatch(service.output(), /\[info\]/);
  } finally {
    service.kill();
    await db.drop();
  }
});

test("listens on IPv6 and IPv4 by default, IPv4 only with ELECTRIC_USE_IPV6=false", async () => {
  const db = await freshDatabase();
  try {
    for (const [useIpv6, expectV6] of [["true", true], ["false", false]] as const) {
      const port = await findFreePort();
      const service = startService(await serviceEnv(db.url, port, { ELECTRIC_USE_IPV6: useIpv6 }));
      try {
        await service.waitForStatus(port, 200);
        const v6 = await fetch(`http://[::1]:${port}/api/status`).then(
          async (res) => (await res.text(), true),
          () => false,
        );
        assert.equal(v6, expectV6, `ELECTRIC_USE_IPV6=${useIpv6}`);
        service.signal("SIGTERM");
        assert.equal(await exitWithin(service, 5_000), 0);
      } finally {
        service.kill();
      }
    }
  } finally {
    await db.drop();
  }
});

test("SSL required by default: a server without SSL gets a CONNECTION ERROR with the fix", async () => {
  const db = await freshDatabase();
  const port = await findFreePort();
  const url = db.url.replace(/\?sslmode=disable$/, "");
  assert.doesNotMatch(url, /sslmode/);
  const service = startService(await serviceEnv(url, port));
  try {
    await service.waitForOutput(/CONNECTION ERROR/);
    assert.match(service.output(), /DATABASE_REQUIRE_SSL=false/);
    const res = await fetch(`http://127.0.0.1:${port}/api/status`);
    assert.equal(res.status, 503);
    await res.body?.cancel();
    service.signal("SIGTERM");
    assert.equal(await exitWithin(service, 5_000), 0);
  } finally {
    service.kill();
    await db.drop();
  }
});
