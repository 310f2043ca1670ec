/**
 * Traffic that must cross the proxy unchanged: psql files and single transactions, COPY in
 * and out, LISTEN/NOTIFY, cancel requests, large results, many sessions at once, and
 * malformed or truncated protocol messages (an error, never a crash).
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import postgres from "postgres";
import { encodeStartup, PROTOCOL_3_0 } from "../../src/pgwire/wire.ts";
import { startCluster } from "../../src/embedded/mod.ts";
import {
  errorOf,
  type ProxyHarness,
  psql,
  startProxy,
  summary,
  WireClient,
} from "./proxy_harness.ts";

let h: ProxyHarness;
let dir: string;
before(async () => {
  h = await startProxy();
  dir = mkdtempSync(join(tmpdir(), "proxy-test-"));
});
after(async () => {
  await h.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe("psql", () => {
  test("-f with several statements, including ENABLE ELECTRIC and ADD COLUMN", async () => {
    const file = join(dir, "migration.sql");
    writeFileSync(
      file,
      `CREATE TABLE f1 (id uuid PRIMARY KEY, name text);
       ALTER TABLE f1 ENABLE ELECTRIC;
       ALTER TABLE f1 ADD COLUMN age int4;
       INSERT INTO f1 (id, name, age) VALUES (gen_random_uuid(), 'a', 1);
       SELECT count(*) AS n FROM f1;`,
    );
    const r = await psql(h.port, ["-v", "ON_ERROR_STOP=1", "-f", file]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /ELECTRIC ENABLE/);
    const rows = await h
      .sql`SELECT query FROM electric.ddl_commands WHERE query LIKE '%f1%' ORDER BY id`;
    assert.ok(rows.some((r) => r.query === "ALTER TABLE f1 ADD COLUMN age int4"));
  });

  test("-1 runs a file in one transaction, with one migration version", async () => {
    const file = join(dir, "single.sql");
    writeFileSync(
      file,
      `CREATE TABLE s1 (id uuid PRIMARY KEY);
       ALTER TABLE s1 ENABLE ELECTRIC;
       ALTER TABLE s1 ADD COLUMN v text;
       CREATE INDEX s1_v ON s1 (v);`,
    );
    const before = await h.sql`SELECT count(*)::int AS n FROM electric.migration_versions`;
    const r = await psql(h.port, ["-v", "ON_ERROR_STOP=1", "-1", "-f", file]);
    assert.equal(r.code, 0, r.stderr);
    const after = await h.sql`SELECT count(*)::int AS n FROM electric.migration_versions`;
    assert.equal(after[0].n, before[0].n + 1);
  });

  test("-1 with a failing statement rolls everything back", async () => {
    const file = join(dir, "failing.sql");
    writeFileSync(file, `CREATE TABLE s2 (id uuid PRIMARY KEY);\nSELECT no_such_column FROM s2;\n`);
    const r = await psql(h.port, ["-v", "ON_ERROR_STOP=1", "-1", "-f", file]);
    assert.notEqual(r.code, 0);
    const [row] = await h.sql`SELECT to_regclass('public.s2') IS NULL AS gone`;
    assert.equal(row.gone, true);
  });
});

describe("COPY, notifications, cancel, large results", () => {
  test("COPY FROM STDIN and COPY TO STDOUT", async () => {
    await h.sql`CREATE TABLE copy_t (id int PRIMARY KEY, v text)`;
    const input = Array.from({ length: 1000 }, (_, i) => `${i}\tv${i}`).join("\n") + "\n\\.\n";
    const inR = await psql(h.port, ["-c", "COPY copy_t FROM STDIN"], input);
    assert.equal(inR.code, 0, inR.stderr);
    assert.match(inR.stdout, /COPY 1000/);
    const outR = await psql(h.port, ["-c", "COPY (SELECT * FROM copy_t ORDER BY id) TO STDOUT"]);
    assert.equal(outR.code, 0, outR.stderr);
    const lines = outR.stdout.trim().split("\n");
    assert.equal(lines.length, 1000);
    assert.equal(lines[999], "999\tv999");
  });

  test("LISTEN/NOTIFY notifications reach the client", async () => {
    const c = h.client();
    const got: string[] = [];
    await c.listen("proxy_chan", (payload) => got.push(payload));
    await h.sql`SELECT pg_notify('proxy_chan', 'hello')`;
    const deadline = Date.now() + 5000;
    while (got.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(got, ["hello"]);
  });

  test("a cancel request reaches the upstream backend", async () => {
    const c = h.client();
    const query = c`SELECT pg_sleep(10)`;
    query.execute();
    await new Promise((r) => setTimeout(r, 300));
    await query.cancel();
    const e = await errorOf(query);
    assert.equal(e.code, "57014");
    const [row] = await c`SELECT 1 AS one`;
    assert.equal(row.one, 1);
  });

  test("a large result arrives whole", async () => {
    const c = h.client();
    const [row] = await c`
      SELECT count(*)::int AS n, sum(length(s))::int AS bytes
      FROM (SELECT repeat('x', 1000) AS s FROM generate_series(1, 30000)) t`;
    assert.equal(row.n, 30000);
    const rows = await c`SELECT repeat('y', 1000) AS s FROM generate_series(1, 30000)`;
    assert.equal(rows.length, 30000);
    assert.equal(rows[29999].s.length, 1000);
  });
});

describe("malformed and truncated messages", () => {
  async function stillServes(): Promise<void> {
    const c = await WireClient.open(h.port);
    c.send({ type: "Query", sql: "SELECT 1" });
    assert.deepEqual(summary(await c.untilReady()).slice(-2), ["C:SELECT 1", "Z:I"]);
    c.close();
  }

  test("a message length below 4 gets 08P01 and a close", async () => {
    const c = await WireClient.open(h.port);
    c.write(new Uint8Array([0x51, 0, 0, 0, 2]));
    assert.deepEqual(summary(await c.untilReady()), ["E:08P01"]);
    assert.ok(c.closed);
    await stillServes();
  });

  test("an unknown message type gets 08P01", async () => {
    const c = await WireClient.open(h.port);
    c.write(new Uint8Array([0x7a, 0, 0, 0, 4]));
    assert.deepEqual(summary(await c.untilReady()), ["E:08P01"]);
    await stillServes();
  });

  test("a Bind whose body is cut short gets 08P01", async () => {
    const c = await WireClient.open(h.port);
    c.write(new Uint8Array([0x42, 0, 0, 0, 8, 0, 0, 0, 5]));
    assert.deepEqual(summary(await c.untilReady()), ["E:08P01"]);
    await stillServes();
  });

  test("a Query without its NUL terminator gets 08P01", async () => {
    const c = await WireClient.open(h.port);
    c.write(new Uint8Array([0x51, 0, 0, 0, 6, 0x41, 0x42]));
    const got = summary(await c.untilReady());
    assert.ok(got[0] === "E:08P01" || got[0]?.startsWith("E:"), got.join(","));
    await stillServes();
  });

  test("garbage and truncated start-up packets close without harm", async () => {
    const garbage = await WireClient.connect(h.port);
    garbage.write(new TextEncoder().encode("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
    await garbage.untilReady().catch(() => []);
    garbage.close();
    const truncated = await WireClient.connect(h.port);
    truncated.write(
      encodeStartup({
        type: "StartupMessage",
        protocolVersion: PROTOCOL_3_0,
        parameters: { user: "postgres" },
      }).subarray(0, 10),
    );
    truncated.close();
    const huge = await WireClient.connect(h.port);
    huge.write(new Uint8Array([0x7f, 0xff, 0xff, 0xff, 0, 3, 0, 0]));
    const got = await huge.untilReady();
    assert.equal(got[0]?.type, "ErrorResponse");
    await stillServes();
  });

  test("a client that disconnects mid-message leaves the proxy serving", async () => {
    const c = await WireClient.open(h.port);
    c.write(new Uint8Array([0x51, 0, 0, 1, 0, 0x53, 0x45]));
    c.close();
    await stillServes();
  });
});

describe("many sessions", () => {
  test("100 concurrent proxy sessions", async () => {
    const tempDir = mkdtempSync(join(tmpdir(), "proxy-many-"));
    const started = await startCluster({
      dataDir: join(tempDir, "pgdata"),
      extraSettings: { max_connections: "250", fsync: "off" },
    });
    assert.ok(started.ok);
    const p = await startProxy({ dbUrl: started.cluster.url });
    try {
      const clients = Array.from(
        { length: 100 },
        () => postgres(p.proxyUrl(), { max: 1, onnotice: () => {} }),
      );
      const results = await Promise.all(
        clients.map((c, i) => c`SELECT ${i}::int AS i, pg_backend_pid() AS pid, pg_sleep(0.2)`),
      );
      assert.deepEqual(results.map((r) => r[0].i), Array.from({ length: 100 }, (_, i) => i));
      assert.equal(new Set(results.map((r) => r[0].pid)).size, 100);
      await Promise.all(clients.map((c) => c.end({ timeout: 1 })));
    } finally {
      await p.stop();
      await started.cluster.stop();
      rmSync(tempDir, { recursive: true, force: true });
    }
  });
});
