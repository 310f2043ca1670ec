/**
 * Migration versions assigned through the proxy (proxy-http-auth-config.md §3.8): automatic
 * transactions, framework bookkeeping inserts (Prisma outside the transaction, Ecto inside it
 * with a binary int8 parameter), and capture through the extended protocol.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { type ProxyHarness, startProxy, summary, WireClient } from "./proxy_harness.ts";

let h: ProxyHarness;
before(async () => {
  h = await startProxy();
});
after(async () => {
  await h.stop();
});

async function versionOf(table: string): Promise<string | undefined> {
  const rows = await h.sql`
    SELECT v.version FROM electric.ddl_commands d
    JOIN electric.migration_versions v ON v.txid = d.txid AND v.txts = d.txts
    WHERE d.query LIKE ${"%" + table + "%"} ORDER BY d.id DESC LIMIT 1`;
  return rows[0]?.version;
}

function bind(params: (Uint8Array | null)[], formats: number[] = []) {
  return {
    type: "Bind" as const,
    portal: "",
    statement: "",
    paramFormats: formats,
    params,
    resultFormats: [],
  };
}

describe("migration versions", () => {
  test("outside a transaction: automatic BEGIN/COMMIT, default version format", async () => {
    const c = await WireClient.open(h.port);
    c.send({ type: "Query", sql: "CREATE TABLE auto_v (id uuid PRIMARY KEY)" });
    await c.untilReady();
    c.send({ type: "Query", sql: "ALTER TABLE auto_v ENABLE ELECTRIC" });
    const got = summary(await c.untilReady()).filter((m) => !m.startsWith("N:"));
    assert.deepEqual(got, ["C:ELECTRIC ENABLE", "Z:I"]);
    c.close();
    assert.match((await versionOf("auto_v")) ?? "", /^\d{14}_\d{3}$/);
  });

  test("Prisma: the _prisma_migrations insert before the migration names its version", async () => {
    await h.sql`CREATE TABLE _prisma_migrations (
      id varchar(36) PRIMARY KEY, checksum varchar(64) NOT NULL, finished_at timestamptz,
      migration_name varchar(255) NOT NULL, logs text, rolled_back_at timestamptz,
      started_at timestamptz NOT NULL DEFAULT now(), applied_steps_count int NOT NULL DEFAULT 0)`;
    const c = await WireClient.open(h.port);
    const text = (s: string) => new TextEncoder().encode(s);
    c.send(
      {
        type: "Parse",
        name: "",
        sql:
          'INSERT INTO "_prisma_migrations" ("id","checksum","migration_name","started_at") VALUES ($1,$2,$3,now())',
        paramTypes: [],
      },
      bind([text("6a1f"), text("abc"), text("20230915175207_x")]),
      { type: "Execute", portal: "", maxRows: 0 },
      { type: "Sync" },
    );
    assert.deepEqual(summary(await c.untilReady()).slice(-2), ["C:INSERT 0 1", "Z:I"]);
    c.send({
      type: "Query",
      sql:
        "BEGIN; CREATE TABLE prisma_t (id uuid PRIMARY KEY); ALTER TABLE prisma_t ENABLE ELECTRIC; COMMIT;",
    });
    const got = summary(await c.untilReady());
    assert.equal(got[got.length - 1], "Z:I", got.join(","));
    c.close();
    assert.equal(await versionOf("prisma_t"), "20230915175207");
  });

  test("Ecto: a binary int8 version inserted inside the migration transaction", async () => {
    await h.sql`CREATE TABLE schema_migrations (version int8 PRIMARY KEY, inserted_at timestamp)`;
    const c = await WireClient.open(h.port);
    c.send({ type: "Query", sql: "BEGIN" });
    await c.untilReady();
    c.send({ type: "Query", sql: "CREATE TABLE ecto_t (id uuid PRIMARY KEY)" });
    await c.untilReady();
    c.send({ type: "Query", sql: "ALTER TABLE ecto_t ENABLE ELECTRIC" });
    await c.untilReady();
    const version = new Uint8Array(8);
    new DataView(version.buffer).setBigInt64(0, 20230904162657n);
    c.send(
      {
        type: "Parse",
        name: "",
        sql: 'INSERT INTO "schema_migrations" ("version","inserted_at") VALUES ($1,$2)',
        paramTypes: [20, 1114],
      },
      bind([version, new TextEncoder().encode("2023-09-04 16:26:57")], [1, 0]),
      { type: "Execute", portal: "", maxRows: 0 },
      { type: "Sync" },
    );
    assert.deepEqual(summary(await c.untilReady()).slice(-2), ["C:INSERT 0 1", "Z:T"]);
    c.send({ type: "Query", sql: "COMMIT" });
    assert.deepEqual(summary(await c.untilReady()), ["C:COMMIT", "Z:I"]);
    c.close();
    assert.equal(await versionOf("ecto_t"), "20230904162657");
  });

  test("extended protocol ADD COLUMN is captured with its notice", async () => {
    await h.sql`CREATE TABLE ext_cap (id uuid PRIMARY KEY)`;
    await h.sql`CALL electric.electrify('ext_cap')`;
    const c = await WireClient.open(h.port);
    c.send(
      { type: "Parse", name: "", sql: "ALTER TABLE ext_cap ADD COLUMN note text", paramTypes: [] },
      bind([]),
      { type: "Execute", portal: "", maxRows: 0 },
      { type: "Sync" },
    );
    const got = summary(await c.untilReady());
    // The notice goes out at once; the statement's own results once the capture is done (§3.8).
    assert.deepEqual(got, ["N:00000", "ParseComplete", "BindComplete", "C:ALTER TABLE", "Z:I"]);
    c.close();
    const rows = await h
      .sql`SELECT query FROM electric.ddl_commands WHERE query LIKE '%ext_cap ADD%'`;
    assert.deepEqual(rows.map((r) => r.query), ["ALTER TABLE ext_cap ADD COLUMN note text"]);
  });

  test("an error inside an automatic transaction rolls it back and leaves the session usable", async () => {
    await h.sql`CREATE TABLE nopk (v text)`;
    const c = await WireClient.open(h.port);
    c.send({ type: "Query", sql: "ALTER TABLE nopk ENABLE ELECTRIC" });
    const got = summary(await c.untilReady());
    assert.equal(got.filter((m) => m.startsWith("E:")).length, 1);
    assert.equal(got[got.length - 1], "Z:E");
    c.send({ type: "Query", sql: "SELECT 1" });
    assert.deepEqual(summary(await c.untilReady()).slice(-2), ["C:SELECT 1", "Z:I"]);
    c.close();
    const [row] = await h
      .sql`SELECT count(*)::int AS n FROM electric.electrified WHERE table_name = 'nopk'`;
    assert.equal(row.n, 0);
  });
});
