/**
 * Authentication on both sides of the proxy: clients (MD5 challenge, password in the startup
 * parameters, failures) and the upstream connection (trust, MD5, SCRAM-SHA-256).
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import postgres from "postgres";
import { encodeFrontend, encodeStartup, PROTOCOL_3_0 } from "../../src/pgwire/wire.ts";
import { type RunningCluster, startScratchCluster } from "../helpers/pg_cluster.ts";
import {
  errorOf,
  type ProxyHarness,
  psql,
  startProxy,
  summary,
  WireClient,
} from "./proxy_harness.ts";

let h: ProxyHarness;
before(async () => {
  h = await startProxy();
});
after(async () => {
  await h.stop();
});

describe("client authentication", () => {
  test("SSLRequest is answered N, then the MD5 challenge follows", async () => {
    const c = await WireClient.connect(h.port);
    c.write(encodeStartup({ type: "SSLRequest" }));
    assert.deepEqual([...await c.bytes(1)], [0x4e]);
    c.write(encodeStartup({
      type: "StartupMessage",
      protocolVersion: PROTOCOL_3_0,
      parameters: { user: "postgres", database: "whatever" },
    }));
    const m = await c.next();
    assert.ok(m?.type === "Authentication");
    assert.equal(m.code, 5);
    assert.equal(m.data.length, 4);
    c.close();
  });

  test("postgres.js with the right password (MD5), any user name", async () => {
    for (const user of ["postgres", "electric", "someone_else"]) {
      const c = postgres(h.proxyUrl(user), { max: 1, onnotice: () => {} });
      const [row] = await c`SELECT current_database() AS db`;
      const [direct] = await h.sql`SELECT current_database() AS db`;
      assert.equal(row.db, direct.db);
      await c.end();
    }
  });

  test("a wrong password gets FATAL 28P01 and a closed connection", async () => {
    const c = postgres(h.proxyUrl("postgres", "wrong"), { max: 1, onnotice: () => {} });
    const e = await errorOf(c`SELECT 1`);
    assert.equal(e.code, "28P01");
    assert.match(e.message, /Password authentication failed for user "postgres"/);
    await c.end();
    const r = await psql(h.port, ["-c", "SELECT 1"], undefined, "nope");
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /Password authentication failed/);
  });

  test("password as a startup parameter: right and wrong", async () => {
    const ok = await WireClient.open(h.port);
    ok.send({ type: "Query", sql: "SELECT 1" });
    assert.deepEqual(summary(await ok.untilReady()).slice(-2), ["C:SELECT 1", "Z:I"]);
    ok.close();
    const bad = await WireClient.connect(h.port);
    bad.write(encodeStartup({
      type: "StartupMessage",
      protocolVersion: PROTOCOL_3_0,
      parameters: { user: "u", database: "d", password: "wrong" },
    }));
    const got = summary(await bad.untilReady());
    assert.deepEqual(got, ["E:28P01"]);
    assert.ok(bad.closed);
  });

  test("a password response that is not md5-shaped is refused, not a hang", async () => {
    const c = await WireClient.connect(h.port);
    c.write(encodeStartup({
      type: "StartupMessage",
      protocolVersion: PROTOCOL_3_0,
      parameters: { user: "postgres", database: "d" },
    }));
    await c.next();
    c.write(encodeFrontend({ type: "PasswordMessage", data: new TextEncoder().encode("plain\0") }));
    assert.deepEqual(summary(await c.untilReady()), ["E:28P01"]);
    assert.ok(c.closed);
  });

  test("a startup without a user is refused with 28P01", async () => {
    const c = await WireClient.connect(h.port);
    c.write(
      encodeStartup({ type: "StartupMessage", protocolVersion: PROTOCOL_3_0, parameters: {} }),
    );
    assert.deepEqual(summary(await c.untilReady()), ["E:28P01"]);
  });
});

describe("upstream authentication", () => {
  let cluster: RunningCluster;
  before(async () => {
    cluster = await startScratchCluster({ walLevel: "logical" });
    const admin = postgres(cluster.url, { max: 1, onnotice: () => {} });
    await admin.unsafe(`
      SET password_encryption = 'md5';
      CREATE ROLE md5_user LOGIN SUPERUSER PASSWORD 'md5-secret';
      SET password_encryption = 'scram-sha-256';
      CREATE ROLE scram_user LOGIN SUPERUSER PASSWORD 'scram-secret';`);
    await admin.unsafe("CREATE DATABASE upstream_auth");
    const hba = join(cluster.dataDir, "pg_hba.conf");
    writeFileSync(
      hba,
      "host all md5_user 127.0.0.1/32 md5\nhost all scram_user 127.0.0.1/32 scram-sha-256\n" +
        readFileSync(hba, "utf8"),
    );
    await admin`SELECT pg_reload_conf()`;
    await admin.end();
  });
  after(async () => {
    await cluster.stop();
  });

  for (const [user, password] of [["md5_user", "md5-secret"], ["scram_user", "scram-secret"]]) {
    test(`${user}: queries pass through`, async () => {
      const url =
        `postgresql://${user}:${password}@127.0.0.1:${cluster.port}/upstream_auth?sslmode=disable`;
      const p = await startProxy({ dbUrl: url });
      try {
        const c = p.client();
        const [row] = await c`SELECT current_user AS u`;
        assert.equal(row.u, user);
      } finally {
        await p.stop();
      }
    });
  }

  test("a wrong upstream password is relayed to the client", async () => {
    const good =
      `postgresql://scram_user:scram-secret@127.0.0.1:${cluster.port}/upstream_auth?sslmode=disable`;
    const p = await startProxy({ dbUrl: good, env: {} });
    await p.stop();
    const bad =
      `postgresql://scram_user:wrong@127.0.0.1:${cluster.port}/upstream_auth?sslmode=disable`;
    const { MigrationsProxy } = await import("../../src/proxy/mod.ts");
    const { testConfig } = await import("../helpers/service_config.ts");
    const { createLogger } = await import("../../src/telemetry/mod.ts");
    const proxy = new MigrationsProxy({
      config: testConfig(bad),
      logger: createLogger({ level: "error", write: () => {} }),
      port: 0,
      hostname: "127.0.0.1",
    });
    const abort = new AbortController();
    const running = proxy.run(abort.signal);
    await proxy.listening;
    const c = postgres(
      `postgresql://postgres:proxy_password@127.0.0.1:${proxy.port}/x?sslmode=disable`,
      {
        max: 1,
        onnotice: () => {},
      },
    );
    const e = await errorOf(c`SELECT 1`);
    assert.equal(e.code, "28P01");
    await c.end();
    abort.abort();
    await running;
  });
});
