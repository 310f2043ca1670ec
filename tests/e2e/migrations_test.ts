/**
 * Postgres in, end to end: the running service sees electrification and DDL through logical
 * replication, advances its schema catalog, and serves `/api/migrations` in both dialects,
 * also after a restart (including kill -9).
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { fromBinary } from "@bufbuild/protobuf";
import { Buffer } from "node:buffer";
import postgres from "postgres";
import {
  SatInStartReplicationReq_Dialect,
  SatOpMigrate_Type,
  SatOpMigrateSchema,
} from "../../src/gen/mod.ts";
import { findFreePort } from "../../src/embedded/mod.ts";
import { freshDatabase } from "../helpers/pg_cluster.ts";
import { connectClient, insecureToken } from "../helpers/satellite_client.ts";
import { authenticate, startReplication } from "../helpers/satellite_rpc.ts";
import { serviceEnv } from "../helpers/service_config.ts";
import { exitWithin, type ServiceProcess, startService } from "../helpers/service_process.ts";
import { readZip } from "../helpers/unzip.ts";
import { waitFor } from "../helpers/wait.ts";

type Db = Awaited<ReturnType<typeof freshDatabase>>;
let db: Db;
let sql: postgres.Sql;
let port: number;
let service: ServiceProcess;

async function start() {
  port = await findFreePort();
  service = startService(await serviceEnv(db.url, port, { LOG_LEVEL: "debug" }));
  await service.waitForStatus(port, 200, 30_000);
}

async function migrations(query: string, init?: RequestInit) {
  const res = await fetch(`http://127.0.0.1:${port}/api/migrations${query}`, init);
  const body = new Uint8Array(await res.arrayBuffer());
  return { status: res.status, type: res.headers.get("content-type"), body };
}

/** Waits until the service serves a migration whose SQL matches `pattern`. */
async function waitForMigration(pattern: RegExp, dialect = "sqlite"): Promise<Map<string, string>> {
  return await waitFor(async () => {
    const res = await migrations(`?dialect=${dialect}`);
    if (res.status !== 200) return undefined;
    const files = readZip(res.body);
    return [...files.values()].some((text) => pattern.test(text)) ? files : undefined;
  }, { timeoutMs: 15_000, what: `a migration matching ${pattern}` });
}

before(async () => {
  db = await freshDatabase();
  sql = postgres(db.url, { onnotice: () => {}, max: 2 });
  await start();
});

after(async () => {
  service.kill();
  await sql.end();
  await db.drop();
});

test("the dialect is required and checked", async () => {
  const missing = await migrations("");
  assert.equal(missing.status, 403);
  assert.equal(missing.type, "application/json; charset=utf-8");
  assert.equal(
    new TextDecoder().decode(missing.body),
    `{"error":"missing required parameter 'dialect'"}`,
  );
  const bad = await migrations("?dialect=mysql");
  assert.equal(new TextDecoder().decode(bad.body), `{"error":"unsupported dialect \\"mysql\\""}`);
});

test("no migrations yet: 204", async () => {
  assert.equal((await migrations("?dialect=sqlite")).status, 204);
});

test("an electrified table reaches /api/migrations in both dialects", async () => {
  await sql.begin(async (tx) => {
    await tx`CALL electric.migration_version('20240101000001')`;
    await tx`CREATE TABLE items (id uuid PRIMARY KEY, content text NOT NULL, n int4)`;
    await tx`CALL electric.electrify('items')`;
  });
  const files = await waitForMigration(/CREATE TABLE "items"/);
  assert.deepEqual([...files.keys()], [
    "20240101000001/migration.sql",
    "20240101000001/metadata.json",
  ]);
  assert.equal(
    files.get("20240101000001/migration.sql"),
    'CREATE TABLE "items" (\n  "id" TEXT NOT NULL,\n  "content" TEXT NOT NULL,\n  "n" INTEGER,\n  CONSTRAINT "items_pkey" PRIMARY KEY ("id")\n);',
  );
  const metadata = files.get("20240101000001/metadata.json")!;
  assert.match(
    metadata,
    /^\{"format":"SatOpMigrate","ops":\[.*\],"protocol_version":"Electric.Satellite","version":"20240101000001"\}$/,
  );
  const [op] = JSON.parse(metadata).ops.map((b64: string) =>
    fromBinary(SatOpMigrateSchema, Buffer.from(b64, "base64"))
  );
  assert.equal(op.version, "20240101000001");
  assert.equal(op.stmts[0].type, SatOpMigrate_Type.CREATE_TABLE);
  assert.equal(op.affectedEntity.case, "table");
  assert.deepEqual(op.affectedEntity.value.pks, ["id"]);
  const pg = readZip((await migrations("?dialect=postgresql")).body);
  assert.equal(
    pg.get("20240101000001/migration.sql")!,
    "CREATE TABLE items (\n    id uuid NOT NULL,\n    content text NOT NULL,\n    n integer,\n" +
      "    CONSTRAINT items_pkey PRIMARY KEY (id)\n);",
  );
});

test("DDL run directly becomes the next version; the version filter returns only later ones", async () => {
  await sql.begin(async (tx) => {
    await tx`CALL electric.migration_version('20240101000002')`;
    await tx`ALTER TABLE items ADD COLUMN flag bool`;
  });
  await waitForMigration(/ALTER TABLE "items" ADD COLUMN "flag" INTEGER;/);
  const later = readZip((await migrations("?dialect=sqlite&version=20240101000001")).body);
  assert.deepEqual([...later.keys()], [
    "20240101000002/migration.sql",
    "20240101000002/metadata.json",
  ]);
  assert.equal((await migrations("?dialect=sqlite&version=20240101000002")).status, 204);
  assert.equal((await migrations("?dialect=sqlite&version=unknown")).status, 204);
  assert.equal(
    (await migrations("?dialect=sqlite", { headers: { "content-type": "text/plain" } })).status,
    415,
  );
});

test("clients with the Postgres dialect get the captured text as is", async () => {
  const pg = readZip((await migrations("?dialect=postgresql&version=20240101000001")).body);
  assert.equal(
    pg.get("20240101000002/migration.sql"),
    "ALTER TABLE items ADD COLUMN flag boolean;",
  );
  const client = await connectClient(`ws://127.0.0.1:${port}/ws`);
  try {
    await authenticate(client, insecureToken({ sub: "user-1" }));
    const started = await startReplication(client, {
      sqlDialect: SatInStartReplicationReq_Dialect.POSTGRES,
    });
    assert.equal(started.err, undefined);
    const received = [];
    for (let i = 0; i < 2; i++) {
      const log = await client.next("SatOpLog");
      for (const { op } of log.message.ops) {
        if (op.case !== "migrate") continue;
        received.push({
          version: op.value.version,
          stmts: op.value.stmts.map((s) => [s.type, s.sql]),
          table: op.value.affectedEntity.case === "table"
            ? op.value.affectedEntity.value.name
            : undefined,
        });
      }
    }
    assert.deepEqual(received, [
      {
        version: "20240101000001",
        stmts: [[
          SatOpMigrate_Type.CREATE_TABLE,
          "CREATE TABLE items (\n    id uuid NOT NULL,\n    content text NOT NULL,\n    n integer,\n" +
          "    CONSTRAINT items_pkey PRIMARY KEY (id)\n)",
        ]],
        table: "items",
      },
      {
        version: "20240101000002",
        stmts: [[
          SatOpMigrate_Type.ALTER_ADD_COLUMN,
          "ALTER TABLE items ADD COLUMN flag boolean",
        ]],
        table: "items",
      },
    ]);
  } finally {
    client.close();
  }
});

test("after kill -9 and DDL while it was down, a restarted service has every version once", async () => {
  service.child.kill("SIGKILL");
  await exitWithin(service, 5_000);
  await sql.begin(async (tx) => {
    await tx`CALL electric.migration_version('20240101000003')`;
    await tx`CREATE INDEX items_n_idx ON items (n)`;
  });
  await start();
  const files = await waitForMigration(/CREATE INDEX "items_n_idx" ON "items" \("n" ASC\);/);
  const pg = readZip((await migrations("?dialect=postgresql&version=20240101000002")).body);
  assert.equal(
    pg.get("20240101000003/migration.sql"),
    "CREATE INDEX items_n_idx ON items USING btree (n);",
  );
  assert.deepEqual(
    [...files.keys()].filter((k) => k.endsWith("migration.sql")),
    [
      "20240101000001/migration.sql",
      "20240101000002/migration.sql",
      "20240101000003/migration.sql",
    ],
  );
  const [{ n }] = await sql`SELECT count(*)::int AS n FROM electric.schema`;
  assert.equal(n, 3, "each version saved once");
  service.signal("SIGTERM");
  assert.equal(await exitWithin(service, 10_000), 0);
  assert.doesNotMatch(service.output(), /error/i);
});
