import { test } from "node:test";
import assert from "node:assert/strict";
import {
  type BackendMessage,
  decodeBackend,
  encodeFrontend,
  type FrontendMessage,
  readFrame,
} from "../../pgwire/mod.ts";
import type { SchemaModel } from "../../schema/mod.ts";
import type { ModeOutput } from "../modes.ts";
import { parseSql } from "../parse_sql.ts";
import { encodeNameArray } from "./codec.ts";
import { initialPrisma, onPrismaFrame, type PrismaState, UNRECOGNISED_QUERY } from "./session.ts";

const model: SchemaModel = {
  version: "1",
  tables: [{
    schema: "public",
    name: "items",
    oid: 1,
    columns: [{ name: "id", type: { name: "text", size: [], array: [] }, notNull: true }],
    primaryKey: ["id"],
    primaryKeyName: "items_pkey",
    foreignKeys: [],
    indexes: [],
  }],
  enums: [],
};

async function run(state: PrismaState, ...messages: FrontendMessage[]) {
  const out: ModeOutput = { toClient: [], toUpstream: [], logs: [] };
  for (const message of messages) {
    const raw = encodeFrontend(message);
    const read = readFrame(raw, 0, 1 << 20);
    assert.equal(read.kind, "frame");
    if (read.kind !== "frame") continue;
    const sql = message.type === "Query" || message.type === "Parse" ? message.sql : undefined;
    const parsed = sql === undefined ? undefined : await parseSql(sql, message.type === "Query", {
      quick: false,
    });
    onPrismaFrame(state, out, read.frame, { parsed, context: { schema: () => model } });
  }
  const replies: BackendMessage[] = [];
  for (const bytes of out.toClient) {
    const read = readFrame(bytes, 0, 1 << 20);
    if (read.kind !== "frame") throw new Error("bad frame");
    const decoded = decodeBackend(read.frame);
    if (!decoded.ok) throw new Error(decoded.error.message);
    replies.push(decoded.message);
  }
  return { replies, out };
}

const kinds = (ms: BackendMessage[]) =>
  ms.map((m) =>
    m.type === "ReadyForQuery"
      ? `Z:${m.status}`
      : m.type === "CommandComplete"
      ? `C:${m.tag}`
      : m.type
  );

const TABLES = "SELECT tbl.relname AS table_name, namespace.nspname as namespace FROM pg_class " +
  "AS tbl WHERE namespace.nspname = ANY ( $1 )";

test("Parse/Describe/Sync then Bind/Execute/Sync, as Prisma sends them", async () => {
  const state = initialPrisma();
  const first = await run(
    state,
    { type: "Parse", name: "s1", sql: TABLES, paramTypes: [] },
    { type: "Describe", kind: "S", name: "s1" },
    { type: "Sync" },
  );
  assert.deepEqual(kinds(first.replies), [
    "ParseComplete",
    "ParameterDescription",
    "RowDescription",
    "Z:I",
  ]);
  const params = first.replies[1] as { types: number[] };
  assert.deepEqual(params.types, [1003]);
  assert.equal(first.out.toUpstream.length, 0);

  const second = await run(
    state,
    {
      type: "Bind",
      portal: "",
      statement: "s1",
      paramFormats: [1],
      params: [encodeNameArray(["public"])],
      resultFormats: [1],
    },
    { type: "Execute", portal: "", maxRows: 0 },
    { type: "Sync" },
  );
  assert.deepEqual(kinds(second.replies), ["BindComplete", "DataRow", "C:SELECT 1", "Z:I"]);
  const row = second.replies[1] as { values: Uint8Array[] };
  assert.deepEqual(row.values.map((v) => new TextDecoder().decode(v)), ["items", "public"]);

  const closed = await run(state, { type: "Close", kind: "S", name: "s1" }, { type: "Sync" });
  assert.deepEqual(kinds(closed.replies), ["CloseComplete", "Z:I"]);
  const gone = await run(state, { type: "Describe", kind: "S", name: "s1" }, { type: "Sync" });
  assert.deepEqual(kinds(gone.replies), ["ErrorResponse", "Z:E"]);
});

test("an unknown query: the error without severity or code, logged, skipped until Sync", async () => {
  const state = initialPrisma();
  const sql = "SELECT relname FROM pg_class";
  const { replies, out } = await run(
    state,
    { type: "Parse", name: "s2", sql, paramTypes: [] },
    { type: "Describe", kind: "S", name: "s2" },
    { type: "Sync" },
  );
  assert.deepEqual(kinds(replies), ["ErrorResponse", "Z:E"]);
  const fields = (replies[0] as { fields: Record<string, string> }).fields;
  assert.deepEqual(fields, { M: UNRECOGNISED_QUERY, q: sql });
  assert.equal(out.logs[0].level, "error");
  // The session goes on.
  const after = await run(state, { type: "Query", sql: "SELECT version()" });
  assert.deepEqual(kinds(after.replies), ["RowDescription", "DataRow", "C:SELECT 1", "Z:I"]);
});

test("simple queries: the first two words as the tag, one word too, nothing executed", async () => {
  const state = initialPrisma();
  const tags = async (sql: string) => kinds((await run(state, { type: "Query", sql })).replies);
  assert.deepEqual(await tags("SET NAMES 'UTF-8';"), ["C:SET NAMES", "Z:I"]);
  assert.deepEqual(await tags("set search_path = x"), ["C:SET SEARCH_PATH", "Z:I"]);
  assert.deepEqual(await tags("BEGIN;"), ["C:BEGIN", "Z:I"]);
  assert.deepEqual(await tags("  "), ["EmptyQueryResponse", "Z:I"]);
  assert.deepEqual(await tags("SELECT * FROM secrets"), ["ErrorResponse", "Z:E"]);
  assert.deepEqual(await tags("DEALLOCATE ALL"), ["C:DEALLOCATE ALL", "Z:I"]);
});

test("Terminate closes and tells the upstream", async () => {
  const { out } = await run(initialPrisma(), { type: "Terminate" });
  assert.equal(out.close, true);
  assert.equal(out.toUpstream.length, 1);
});
