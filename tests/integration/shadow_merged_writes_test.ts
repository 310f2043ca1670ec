/**
 * The set-based merge of the direct writer (src/writes/merged_sql.ts) against the row
 * triggers it stands in for (postgres-side.md §8.3, §8.4): the same random sequence of client
 * transactions and Postgres writes is applied to two databases, one through each path, and
 * every user, shadow and tombstone row must be the same after each step. Client timestamps
 * lie a day before or after the run, so how they compare with Postgres's own tags does not
 * depend on timing; Postgres tags are compared by source only.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import postgres from "postgres";
import { bootstrapElectricSchema } from "../../src/storage/mod.ts";
import { SHADOW_ROUTINES_SQL } from "../../src/storage/shadow/mod.ts";
import type { TableModel } from "../../src/schema/mod.ts";
import {
  type ClientChange,
  type ClientTransaction,
  clientTransactionSql,
} from "../../src/writes/mod.ts";
import { freshDatabase } from "../helpers/pg_cluster.ts";
import { mergeState, pgType } from "../helpers/shadow_state.ts";

const ITEMS: TableModel = {
  schema: "public",
  name: "items",
  oid: 0,
  columns: [
    { name: "id", type: pgType("int4"), notNull: true },
    { name: "a", type: pgType("text"), notNull: false },
    { name: "b", type: pgType("int4"), notNull: false },
    { name: "Mixed Case", type: pgType("text"), notNull: false },
  ],
  primaryKey: ["id"],
  primaryKeyName: "items_pkey",
  foreignKeys: [],
  indexes: [],
};

const PAIRS: TableModel = {
  ...ITEMS,
  name: "pairs",
  columns: [
    { name: "k1", type: pgType("text"), notNull: true },
    { name: "k2", type: pgType("int4"), notNull: true },
    { name: "v", type: pgType("text"), notNull: true },
    { name: "w", type: pgType("int8"), notNull: false },
  ],
  primaryKey: ["k1", "k2"],
  primaryKeyName: "pairs_pkey",
};

const SCHEMA = `
  CREATE TABLE items (id int4 PRIMARY KEY, a text, b int4, "Mixed Case" text DEFAULT 'd');
  CALL electric.install_shadow_objects('public', 'items');
  CREATE TABLE pairs (k1 text, k2 int4, v text NOT NULL, w int8, PRIMARY KEY (k1, k2));
  CALL electric.install_shadow_objects('public', 'pairs');`;

/** Mulberry32: a small seeded generator, so a failing sequence can be replayed. */
function random(seed: number) {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (n: number) => Math.floor(next() * n),
    pick: <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)],
    chance: (p: number) => next() < p,
  };
}

type Observed = "all" | "none" | "all but Postgres" | "all but the newest";

interface ClientStep {
  kind: "client";
  clientId: string;
  ms: number;
  changes: {
    table: TableModel;
    kind: "insert" | "update" | "delete";
    record: Record<string, string | null>;
    modified: string[];
    observed: Observed;
  }[];
}

interface PostgresStep {
  kind: "postgres";
  sql: string;
}

type Step = ClientStep | PostgresStep;

const DAY = 86_400_000;
const NOW = Date.now() - Date.now() % 1000;

function itemRecord(r: ReturnType<typeof random>, id: number): Record<string, string | null> {
  return {
    id: String(id),
    a: r.chance(0.2) ? null : r.pick(["x", "y", "it's", "z\\w"]),
    b: r.chance(0.2) ? null : String(r.int(100) - 50),
    "Mixed Case": r.chance(0.2) ? null : r.pick(["m", "n"]),
  };
}

function pairRecord(r: ReturnType<typeof random>, k1: string, k2: number) {
  return { k1, k2: String(k2), v: r.pick(["p", "q"]), w: r.chance(0.3) ? null : String(r.int(9)) };
}

function generate(seed: number, length: number): Step[] {
  const r = random(seed);
  const steps: Step[] = [];
  for (let i = 0; i < length; i++) {
    if (r.chance(0.25)) {
      const id = r.int(5);
      steps.push({
        kind: "postgres",
        sql: r.pick([
          `INSERT INTO items VALUES (${id}, 'pg', ${i}, 'pg') ON CONFLICT (id) DO UPDATE SET a = 'pg${i}'`,
          `UPDATE items SET b = ${i} WHERE id = ${id}`,
          `DELETE FROM items WHERE id = ${id}`,
          `INSERT INTO pairs VALUES ('k${id % 2}', ${id}, 'pg', ${i}) ON CONFLICT DO NOTHING`,
          `DELETE FROM pairs WHERE k1 = 'k${id % 2}'`,
        ]),
      });
      continue;
    }
    const changes: ClientStep["changes"] = [];
    const count = 1 + r.int(6);
    for (let c = 0; c < count; c++) {
      const onItems = r.chance(0.7);
      const table = onItems ? ITEMS : PAIRS;
      const id = r.int(5);
      const record = onItems ? itemRecord(r, id) : pairRecord(r, `k${id % 2}`, id);
      const kind = r.pick(["insert", "update", "update", "delete"] as const);
      const values = table.columns.map((col) => col.name).filter((n) =>
        !table.primaryKey.includes(n)
      );
      changes.push({
        table,
        kind,
        record,
        modified: kind === "insert"
          ? values
          : kind === "update"
          ? values.filter(() => r.chance(0.5))
          : [],
        observed: kind === "insert"
          ? r.pick(["none", "none", "all"] as const)
          : r.pick(["all", "all", "none", "all but Postgres", "all but the newest"] as const),
      });
    }
    steps.push({
      kind: "client",
      clientId: r.pick(["client-a", "client-b", "client-c"]),
      // A few distinct instants, so that equal timestamps (decided by the source) occur.
      ms: NOW + (r.chance(0.5) ? -DAY : DAY) + r.int(4) * 1000,
      changes,
    });
  }
  return steps;
}

/** The tags of a row in client form, for the `observed` modes. */
async function currentTags(sql: postgres.Sql, table: TableModel, record: Record<string, unknown>) {
  const where = table.primaryKey.map((k, i) => `s."${k}" = $${i + 1}`).join(" AND ");
  const rows = await sql.unsafe(
    `SELECT ts, source
       FROM electric."shadow__public__${table.name}" s,
            unnest(s._tags) WITH ORDINALITY AS u(ts, source, o)
      WHERE ${where} ORDER BY o`,
    table.primaryKey.map((k) => record[k] as string),
  );
  return rows.map((row) => ({
    ms: (row.ts as Date).getTime(),
    source: row.source as string | null,
  }));
}

async function clientTransaction(
  sql: postgres.Sql,
  step: ClientStep,
  lsn: number,
): Promise<ClientTransaction> {
  const changes: ClientChange[] = [];
  for (const change of step.changes) {
    let tags = await currentTags(sql, change.table, change.record);
    if (change.observed === "none") tags = [];
    if (change.observed === "all but Postgres") tags = tags.filter((t) => t.source !== null);
    if (change.observed === "all but the newest") tags = tags.slice(0, -1);
    changes.push({
      kind: change.kind,
      table: change.table,
      record: change.record,
      modified: new Set(change.modified),
      present: new Set(change.table.columns.map((c) => c.name)),
      observedTags: tags.map((t) => `${t.source ?? "postgres_1"}@${t.ms}`),
    });
  }
  return {
    clientId: step.clientId,
    lsn: new Uint8Array([lsn >> 8, lsn & 255]),
    commitTimestampMs: BigInt(step.ms),
    changes,
  };
}

async function withDatabases(
  body: (dbs: { sql: postgres.Sql; setBased: boolean }[]) => Promise<void>,
) {
  const opened: { sql: postgres.Sql; drop: () => Promise<void>; setBased: boolean }[] = [];
  try {
    for (const setBased of [true, false]) {
      const db = await freshDatabase();
      const sql = postgres(db.url, { onnotice: () => {}, max: 1 });
      opened.push({ sql, drop: db.drop, setBased });
      await bootstrapElectricSchema(sql);
      await sql.unsafe(SHADOW_ROUTINES_SQL);
      await sql.unsafe(SCHEMA);
    }
    await body(opened);
  } finally {
    for (const db of opened) {
      await db.sql.end({ timeout: 1 });
      await db.drop();
    }
  }
}

for (const seed of [1, 2, 3, 4]) {
  test(`random client and Postgres writes merge the same set-based and through the triggers (seed ${seed})`, async () => {
    const steps = generate(seed, 60);
    await withDatabases(async (dbs) => {
      let merged = 0;
      for (const [i, step] of steps.entries()) {
        for (const { sql, setBased } of dbs) {
          if (step.kind === "postgres") {
            await sql.unsafe(step.sql);
            continue;
          }
          const built = clientTransactionSql(await clientTransaction(sql, step, i + 1), {
            setBased,
          });
          assert.ok(built.ok);
          if (setBased && built.sql.includes("'merged'")) merged++;
          await sql.begin((tx) => tx.unsafe(built.sql));
        }
        const [setBased, triggers] = await Promise.all(
          dbs.map((db) => mergeState(db.sql, ["items", "pairs"])),
        );
        assert.deepEqual(setBased, triggers, `after step ${i}: ${JSON.stringify(step)}`);
      }
      assert.ok(merged > 30, "most client transactions took the set-based path");
    });
  });
}
