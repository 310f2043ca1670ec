/**
 * Every supported column type written by the real client arrives in Postgres with the exact
 * value (compared as `::text` under TimeZone UTC), and reaches a second client as Postgres
 * prints it (postgres-side.md §6, satellite-protocol.md §5.2). The client encodes outgoing
 * values by the upper-case Postgres type names in its schema's `fields` (enums as TEXT).
 *
 * Service runtime: INTEROP_RUNTIME; write mode: INTEROP_WRITE_MODE (see harness/writes.mjs).
 */
import { before, test } from "node:test";
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import {
  createClient,
  currentRuntime,
  defer,
  startService,
  waitFor,
} from "./harness/mod.mjs";
import {
  currentWriteMode,
  startWriteScenario,
  waitForEcho,
  writeTransaction,
} from "./harness/writes.mjs";

const runtime = currentRuntime();
const mode = currentWriteMode();

const COLUMNS = [
  "id",
  "t",
  "vc",
  "i2",
  "i4",
  "i8",
  "f4",
  "f8",
  "b",
  "d",
  "tm",
  "ts",
  "tstz",
  "j",
  "bin",
  "e",
  "camelCase",
];

/** @type {Record<string, import("./harness/client.mjs").TableSpec>} */
const TABLES = {
  typed: {
    fields: {
      id: "UUID",
      t: "TEXT",
      vc: "VARCHAR",
      i2: "INT2",
      i4: "INT4",
      i8: "INT8",
      f4: "FLOAT4",
      f8: "FLOAT8",
      b: "BOOL",
      d: "DATE",
      tm: "TIME",
      ts: "TIMESTAMP",
      tstz: "TIMESTAMPTZ",
      j: "JSONB",
      bin: "BYTEA",
      e: "TEXT",
      camelCase: "TEXT",
    },
  },
};

const NULLS = Object.fromEntries(COLUMNS.slice(1).map((c) => [c, null]));

/**
 * `local`: what client A writes into SQLite (bound parameters); `pg`: `col::text` in
 * Postgres; `remote`: what client B then holds (i8 read as text, bin as hex).
 */
const ROWS = [
  {
    name: "typical values and the lower integer bounds",
    local: {
      id: "5f1c3b2a-6f4e-4c8d-a1b2-c3d4e5f60718",
      t: "héllo 'quoted' \\ back\nslash ☃ \"dq\" $$ --",
      vc: "varchar ✓",
      i2: -32768,
      i4: -2147483648,
      i8: -9223372036854775808n,
      f4: 3.14,
      f8: -1.5e-7,
      b: 1,
      d: "2024-02-29",
      tm: "23:59:59.999",
      ts: "2024-06-01 12:34:56.789",
      tstz: "2024-06-01 12:34:56.789Z",
      j: '{"a":[1,2.5,{"b":null}],"q":"it\'s"}',
      bin: Buffer.from([0x00, 0xff, 0x10, 0x27, 0x5c]),
      e: "Blue_2",
      camelCase: "mixed-case column",
    },
    pg: {
      id: "5f1c3b2a-6f4e-4c8d-a1b2-c3d4e5f60718",
      t: "héllo 'quoted' \\ back\nslash ☃ \"dq\" $$ --",
      vc: "varchar ✓",
      i2: "-32768",
      i4: "-2147483648",
      i8: "-9223372036854775808",
      f4: "3.14",
      f8: "-1.5e-07",
      b: "true",
      d: "2024-02-29",
      tm: "23:59:59.999",
      ts: "2024-06-01 12:34:56.789",
      tstz: "2024-06-01 12:34:56.789+00",
      j: '{"a": [1, 2.5, {"b": null}], "q": "it\'s"}',
      bin: "\\x00ff10275c",
      e: "Blue_2",
      camelCase: "mixed-case column",
    },
    remote: {
      id: "5f1c3b2a-6f4e-4c8d-a1b2-c3d4e5f60718",
      t: "héllo 'quoted' \\ back\nslash ☃ \"dq\" $$ --",
      vc: "varchar ✓",
      i2: -32768,
      i4: -2147483648,
      i8: "-9223372036854775808",
      f4: 3.14,
      f8: -1.5e-7,
      b: 1,
      d: "2024-02-29",
      tm: "23:59:59.999",
      ts: "2024-06-01 12:34:56.789",
      tstz: "2024-06-01 12:34:56.789Z",
      j: '{"a": [1, 2.5, {"b": null}], "q": "it\'s"}',
      bin: "00FF10275C",
      e: "Blue_2",
      camelCase: "mixed-case column",
    },
  },
  {
    name: "upper bounds, infinities, empty values, upper-case uuid",
    local: {
      id: "A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11",
      t: "",
      vc: "",
      i2: 32767,
      i4: 2147483647,
      i8: 9223372036854775807n,
      f4: Infinity,
      f8: -Infinity,
      b: 0,
      d: "0001-01-01",
      tm: "00:00:00",
      ts: "1999-12-31 23:59:59",
      tstz: "2000-01-01 00:00:00.000Z",
      j: "[]",
      bin: Buffer.alloc(0),
      e: "red",
      camelCase: "Z",
    },
    pg: {
      id: "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
      t: "",
      vc: "",
      i2: "32767",
      i4: "2147483647",
      i8: "9223372036854775807",
      f4: "Infinity",
      f8: "-Infinity",
      b: "false",
      d: "0001-01-01",
      tm: "00:00:00",
      ts: "1999-12-31 23:59:59",
      tstz: "2000-01-01 00:00:00+00",
      j: "[]",
      bin: "\\x",
      e: "red",
      camelCase: "Z",
    },
    remote: {
      id: "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
      t: "",
      vc: "",
      i2: 32767,
      i4: 2147483647,
      i8: "9223372036854775807",
      f4: Infinity,
      f8: -Infinity,
      b: 0,
      d: "0001-01-01",
      tm: "00:00:00",
      ts: "1999-12-31 23:59:59",
      tstz: "2000-01-01 00:00:00Z",
      j: "[]",
      bin: "",
      e: "red",
      camelCase: "Z",
    },
  },
  {
    name: "every nullable column NULL",
    local: { id: "c2d29867-3d0b-4497-9191-18a9d8ee7830", ...NULLS },
    pg: { id: "c2d29867-3d0b-4497-9191-18a9d8ee7830", ...NULLS },
    remote: { id: "c2d29867-3d0b-4497-9191-18a9d8ee7830", ...NULLS },
  },
  {
    name: "microseconds, T separators, exponents, zeroes, a JSON scalar",
    local: {
      id: "00000000-0000-0000-0000-000000000000",
      t: "x".repeat(20_000),
      vc: "日本語",
      i2: 0,
      i4: 0,
      i8: 0n,
      f4: 1.5,
      f8: 1e100,
      b: 1,
      d: "9999-12-31",
      tm: "12:00:00.123456",
      ts: "2024-06-01T00:00:00.000001",
      tstz: "2024-06-01T12:34:56Z",
      j: '"just a string"',
      bin: Buffer.from("\\x41", "latin1"),
      e: "green",
      camelCase: "",
    },
    pg: {
      id: "00000000-0000-0000-0000-000000000000",
      t: "x".repeat(20_000),
      vc: "日本語",
      i2: "0",
      i4: "0",
      i8: "0",
      f4: "1.5",
      f8: "1e+100",
      b: "true",
      d: "9999-12-31",
      tm: "12:00:00.123456",
      ts: "2024-06-01 00:00:00.000001",
      tstz: "2024-06-01 12:34:56+00",
      j: '"just a string"',
      bin: "\\x5c783431",
      e: "green",
      camelCase: "",
    },
    remote: {
      id: "00000000-0000-0000-0000-000000000000",
      t: "x".repeat(20_000),
      vc: "日本語",
      i2: 0,
      i4: 0,
      i8: "0",
      f4: 1.5,
      f8: 1e100,
      b: 1,
      d: "9999-12-31",
      tm: "12:00:00.123456",
      ts: "2024-06-01 00:00:00.000001",
      tstz: "2024-06-01 12:34:56Z",
      j: '"just a string"',
      bin: "5C783431",
      e: "green",
      camelCase: "",
    },
  },
];

/** @type {Awaited<ReturnType<typeof startService>>} */
let service;
/** @type {import("postgres").Sql} */
let sql;
/** @type {Awaited<ReturnType<typeof createClient>>} */
let a;
/** @type {Awaited<ReturnType<typeof createClient>>} */
let b;
let written = false;

const serviceOutput = () => {
  const out = service?.output() ?? "(not started)";
  return `--- service output (${runtime}, ${mode}), last 6000 chars ---\n${
    out.slice(-6000)
  }`;
};

const REMOTE_SELECT = `SELECT ${
  COLUMNS.map((c) =>
    c === "i8"
      ? "CAST(i8 AS TEXT) AS i8"
      : c === "bin"
      ? "CASE WHEN bin IS NULL THEN NULL ELSE hex(bin) END AS bin"
      : `"${c}"`
  ).join(", ")
} FROM typed WHERE id = ?`;

before(async () => {
  ({ service, sql } = await startWriteScenario({
    runtime,
    mode,
    connections: 2,
    diagnostics: serviceOutput,
    schema: `
    CREATE TYPE colour AS ENUM ('red', 'green', 'Blue_2');
    CREATE TABLE typed (
      id uuid PRIMARY KEY, t text, vc varchar, i2 int2, i4 int4, i8 int8, f4 float4,
      f8 float8, b bool, d date, tm time, ts timestamp, tstz timestamptz, j jsonb,
      bin bytea, e colour, "camelCase" text);
    CALL electric.electrify('typed');
  `,
  }));
  for (const name of ["a", "b"]) {
    const client = await createClient({
      serviceUrl: service.url,
      tables: TABLES,
      diagnostics: serviceOutput,
    });
    defer(`client ${name}`, () => client.close());
    await client.connect(15_000);
    await client.waitForRows(
      "SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'typed'",
      (rows) => rows.length === 1,
      15_000,
    );
    await client.sync("typed", {}, 15_000);
    if (name === "a") a = client;
    else b = client;
  }
}, { timeout: 90_000 });

test(`[${runtime}/${mode}] client A writes one row per value set`, {
  timeout: 30_000,
}, async () => {
  await writeTransaction(
    a,
    ROWS.map((row) => ({
      sql: `INSERT INTO typed (${COLUMNS.map((c) => `"${c}"`).join(", ")}) VALUES (${
        COLUMNS.map(() => "?").join(", ")
      })`,
      args: COLUMNS.map((c) => /** @type {any} */ (row.local)[c]),
    })),
  );
  written = true;
  await waitForEcho(a, 15_000, serviceOutput);
});

for (const row of ROWS) {
  test(`[${runtime}/${mode}] exact values in Postgres: ${row.name}`, {
    timeout: 20_000,
  }, async () => {
    assert.ok(written, "the rows were not written (see the first test)");
    const id = row.pg.id;
    const found = await waitFor(async () => {
      const rows = await sql.unsafe(
        `SELECT ${COLUMNS.map((c) => `"${c}"::text AS "${c}"`).join(", ")}
           FROM typed WHERE id = $1`,
        [id],
      );
      return rows.length === 1 ? rows[0] : undefined;
    }, {
      timeoutMs: 10_000,
      what: () => `row ${id} in Postgres\n${serviceOutput()}`,
    });
    assert.deepEqual({ ...found }, row.pg);
  });
}

for (const row of ROWS) {
  test(`[${runtime}/${mode}] the same values reach client B: ${row.name}`, {
    timeout: 20_000,
  }, async () => {
    assert.ok(written, "the rows were not written (see the first test)");
    const [found] = await b.waitForRows(
      REMOTE_SELECT.replace("?", `'${row.remote.id}'`),
      (rows) => rows.length === 1,
      10_000,
    );
    assert.deepEqual({ ...found }, row.remote);
  });
}
