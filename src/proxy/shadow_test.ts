import { test } from "node:test";
import assert from "node:assert/strict";
import {
  type BackendMessage,
  decodeBackend,
  decodeFrontend,
  encodeBackend,
  encodeFrontend,
  type Frame,
  type FrontendMessage,
  readFrame,
} from "../pgwire/mod.ts";
import type { ModeOutput } from "./modes.ts";
import { parseSql } from "./parse_sql.ts";
import { initialShadow, onShadowClient, onShadowUpstream, type ShadowState } from "./shadow.ts";

const frameOf = (bytes: Uint8Array): Frame => {
  const read = readFrame(bytes, 0, 1 << 20);
  if (read.kind !== "frame") throw new Error("bad frame");
  return read.frame;
};
const output = (): ModeOutput => ({ toClient: [], toUpstream: [], logs: [] });

async function client(state: ShadowState, message: FrontendMessage): Promise<FrontendMessage[]> {
  const out = output();
  const sql = message.type === "Query" || message.type === "Parse" ? message.sql : undefined;
  const parsed = sql === undefined ? undefined : await parseSql(sql, message.type === "Query");
  onShadowClient(state, out, frameOf(encodeFrontend(message)), parsed);
  return out.toUpstream.map((b) => {
    const d = decodeFrontend(frameOf(b));
    if (!d.ok) throw new Error(d.error.message);
    return d.message;
  });
}

function upstream(state: ShadowState, ...messages: BackendMessage[]): string[] {
  const out = output();
  for (const m of messages) onShadowUpstream(state, out, frameOf(encodeBackend(m)));
  return out.toClient.map((b) => {
    const d = decodeBackend(frameOf(b));
    if (!d.ok) throw new Error(d.error.message);
    const m = d.message;
    return m.type === "CommandComplete"
      ? `C:${m.tag}`
      : m.type === "ReadyForQuery"
      ? `Z:${m.status}`
      : m.type;
  });
}

const Z = (status: "I" | "T" | "E" = "I"): BackendMessage => ({ type: "ReadyForQuery", status });
const C = (tag: string): BackendMessage => ({ type: "CommandComplete", tag });

test("a Query without DDLX is relayed as it is", async () => {
  const state = initialShadow();
  const sql = "CREATE TABLE a (id int PRIMARY KEY); SELECT 1";
  assert.deepEqual(await client(state, { type: "Query", sql }), [{ type: "Query", sql }]);
  assert.deepEqual(upstream(state, C("CREATE TABLE"), C("SELECT 1"), Z()), [
    "C:CREATE TABLE",
    "C:SELECT 1",
    "Z:I",
  ]);
});

test("DDLX is cut out and acknowledged in its place", async () => {
  const state = initialShadow();
  const sent = await client(state, {
    type: "Query",
    sql:
      "CREATE TABLE a (id int PRIMARY KEY);\nALTER TABLE a ENABLE ELECTRIC;\nCREATE INDEX i ON a (id);",
  });
  assert.equal(sent.length, 1);
  assert.doesNotMatch((sent[0] as { sql: string }).sql, /ELECTRIC/);
  assert.deepEqual(upstream(state, C("CREATE TABLE"), C("CREATE INDEX"), Z()), [
    "C:CREATE TABLE",
    "C:ELECTRIC ENABLE",
    "C:CREATE INDEX",
    "Z:I",
  ]);
});

test("a Query of only DDLX becomes the empty query; the status stays Postgres's", async () => {
  const state = initialShadow();
  const sent = await client(state, { type: "Query", sql: "ALTER TABLE a ENABLE ELECTRIC;" });
  assert.deepEqual(sent, [{ type: "Query", sql: "" }]);
  assert.deepEqual(upstream(state, { type: "EmptyQueryResponse" }, Z("T")), [
    "C:ELECTRIC ENABLE",
    "Z:T",
  ]);
});

test("after an error the later DDLX tags are dropped", async () => {
  const state = initialShadow();
  await client(state, {
    type: "Query",
    sql:
      "ALTER TABLE a ENABLE ELECTRIC; CREATE TABLE b (x nosuchtype); ALTER TABLE b ENABLE ELECTRIC",
  });
  const error: BackendMessage = {
    type: "ErrorResponse",
    fields: { S: "ERROR", C: "42704", M: "x" },
  };
  assert.deepEqual(upstream(state, error, Z()), ["C:ELECTRIC ENABLE", "ErrorResponse", "Z:I"]);
});

test("extended: a DDLX statement is parsed as the empty statement and executes as its tag", async () => {
  const state = initialShadow();
  const parse = await client(state, {
    type: "Parse",
    name: "d",
    sql: "ALTER TABLE a ENABLE ELECTRIC",
    paramTypes: [],
  });
  assert.deepEqual(parse, [{ type: "Parse", name: "d", sql: "", paramTypes: [] }]);
  await client(state, {
    type: "Bind",
    portal: "",
    statement: "d",
    paramFormats: [],
    params: [],
    resultFormats: [],
  });
  await client(state, { type: "Execute", portal: "", maxRows: 0 });
  await client(state, { type: "Parse", name: "", sql: "SELECT 1", paramTypes: [] });
  await client(state, {
    type: "Bind",
    portal: "",
    statement: "",
    paramFormats: [],
    params: [],
    resultFormats: [],
  });
  await client(state, { type: "Execute", portal: "", maxRows: 0 });
  await client(state, { type: "Sync" });
  assert.deepEqual(
    upstream(
      state,
      { type: "ParseComplete" },
      { type: "BindComplete" },
      { type: "EmptyQueryResponse" },
      { type: "ParseComplete" },
      { type: "BindComplete" },
      { type: "DataRow", values: [new Uint8Array([0x31])] },
      C("SELECT 1"),
      Z(),
    ),
    [
      "ParseComplete",
      "BindComplete",
      "C:ELECTRIC ENABLE",
      "ParseComplete",
      "BindComplete",
      "DataRow",
      "C:SELECT 1",
      "Z:I",
    ],
  );
});
