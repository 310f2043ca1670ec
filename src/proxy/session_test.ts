/** The session state machine driven byte by byte, without sockets or Postgres. */
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  type BackendMessage,
  concatBytes,
  decodeBackend,
  decodeFrontend,
  encodeBackend,
  encodeFrontend,
  type Frame,
  type FrontendMessage,
  md5PasswordResponse,
  passwordMessage,
  PROTOCOL_3_0,
  readFrame,
} from "../pgwire/mod.ts";
import { parseSql } from "./parse_sql.ts";
import { initialSession, type Output, type SessionState, step } from "./session.ts";

function frames(bytes: Uint8Array): Frame[] {
  const out: Frame[] = [];
  for (let offset = 0; offset < bytes.length;) {
    const read = readFrame(bytes, offset, 1 << 20);
    if (read.kind !== "frame") throw new Error("bad frame");
    out.push(read.frame);
    offset += read.consumed;
  }
  return out;
}

function toClient(out: Output): BackendMessage[] {
  return frames(concatBytes(out.toClient)).map((f) => {
    const d = decodeBackend(f);
    if (!d.ok) throw new Error("bad message");
    return d.message;
  });
}

function upstreamSql(out: Output): string[] {
  return frames(concatBytes(out.toUpstream)).map((f) => {
    const d = decodeFrontend(f);
    return d.ok && d.message.type === "Query" ? d.message.sql : d.ok ? d.message.type : "?";
  });
}

const OPTIONS = {
  password: "pw",
  upstream: { user: "u", password: "up", database: "db" },
  featureEnabled: () => false,
  randomBytes: (n: number) => new Uint8Array(n).fill(7),
  now: () => new Date(Date.UTC(2024, 0, 2, 3, 4, 5, 6)),
};

function ready(): SessionState {
  let s = initialSession(OPTIONS);
  s = step(s, {
    type: "startup",
    packet: {
      type: "StartupMessage",
      protocolVersion: PROTOCOL_3_0,
      parameters: { user: "postgres", database: "x", password: "pw" },
    },
  }).state;
  s = step(s, { type: "upstream_connected" }).state;
  s = step(s, {
    type: "upstream",
    frames: frames(encodeBackend({ type: "ReadyForQuery", status: "I" })),
  }).state;
  assert.equal(s.phase, "ready");
  return s;
}

async function client(s: SessionState, message: FrontendMessage) {
  const bytes = encodeFrontend(message);
  const parsed = message.type === "Query" ? await parseSql(message.sql) : undefined;
  return step(s, { type: "client", frame: frames(bytes)[0], ...(parsed ? { parsed } : {}) });
}

function upstream(s: SessionState, ...messages: BackendMessage[]) {
  return step(s, { type: "upstream", frames: frames(concatBytes(messages.map(encodeBackend))) });
}

const Z = (status: "I" | "T" | "E"): BackendMessage => ({ type: "ReadyForQuery", status });
const C = (tag: string): BackendMessage => ({ type: "CommandComplete", tag });

test("MD5 challenge, then AuthenticationOk and the upstream start-up", () => {
  let s = initialSession(OPTIONS);
  let r = step(s, {
    type: "startup",
    packet: {
      type: "StartupMessage",
      protocolVersion: PROTOCOL_3_0,
      parameters: { user: "bob", database: "x" },
    },
  });
  s = r.state;
  const [challenge] = toClient(r.out);
  assert.ok(challenge.type === "Authentication" && challenge.code === 5);
  const reply = passwordMessage(md5PasswordResponse("bob", "pw", challenge.data));
  r = step(s, { type: "client", frame: frames(reply)[0] });
  assert.deepEqual(toClient(r.out).map((m) => m.type), ["Authentication"]);
  assert.equal(r.out.connectUpstream, true);
  r = step(r.state, { type: "upstream_connected" });
  const startup = r.out.toUpstream[0];
  assert.match(new TextDecoder().decode(startup), /user\0u\0database\0db\0/);
});

test("a wrong MD5 answer is FATAL 28P01 and closes", () => {
  let s = initialSession(OPTIONS);
  s = step(s, {
    type: "startup",
    packet: {
      type: "StartupMessage",
      protocolVersion: PROTOCOL_3_0,
      parameters: { user: "bob", database: "x" },
    },
  }).state;
  const r = step(s, { type: "client", frame: frames(passwordMessage("md5" + "0".repeat(32)))[0] });
  const [error] = toClient(r.out);
  assert.ok(error.type === "ErrorResponse");
  assert.equal(error.fields.C, "28P01");
  assert.equal(error.fields.S, "FATAL");
  assert.equal(r.out.close, true);
});

test("plain queries are forwarded as received and answered as they come", async () => {
  const s = ready();
  const r = await client(s, { type: "Query", sql: "SELECT 1" });
  assert.deepEqual(r.out.toUpstream, [encodeFrontend({ type: "Query", sql: "SELECT 1" })]);
  const back = upstream(r.state, C("SELECT 1"), Z("I"));
  assert.deepEqual(toClient(back.out), [C("SELECT 1"), Z("I")]);
});

test("ENABLE ELECTRIC outside a transaction: BEGIN, CALL, version, COMMIT, one ReadyForQuery", async () => {
  let s = ready();
  let r = await client(s, { type: "Query", sql: "ALTER TABLE items ENABLE ELECTRIC;" });
  const sent: string[] = [...upstreamSql(r.out)];
  const seen: BackendMessage[] = [...toClient(r.out)];
  s = r.state;
  const answers: BackendMessage[][] = [
    [C("BEGIN"), Z("T")],
    [
      {
        type: "NoticeResponse",
        fields: { S: "NOTICE", C: "00000", M: "Electrify table public.items" },
      },
      C("CALL"),
      Z("T"),
    ],
    [C("CALL"), Z("T")],
    [{ type: "DataRow", values: [new TextEncoder().encode("742")] }, C("SELECT 1"), Z("T")],
    [C("COMMIT"), Z("I")],
  ];
  for (const answer of answers) {
    r = upstream(s, ...answer);
    s = r.state;
    sent.push(...upstreamSql(r.out));
    seen.push(...toClient(r.out));
  }
  assert.deepEqual(sent, [
    "BEGIN",
    `CALL electric.enable('"public"."items"');\n`,
    "CALL electric.assign_migration_version($__070707070707__$20240102030405_006000$__070707070707__$, 0)",
    "SELECT txid::text FROM electric.ddl_commands WHERE txid = pg_catalog.pg_current_xact_id() LIMIT 1",
    "COMMIT",
  ]);
  // Committed: the answer waits until the service has learnt the migration of txid 742.
  assert.deepEqual(r.out.awaitMigration, { txid: "742" });
  assert.deepEqual(seen.map((m) => m.type === "CommandComplete" ? m.tag : m.type), [
    "NoticeResponse",
    "ELECTRIC ENABLE",
  ]);
  r = step(s, { type: "migration_known", known: true });
  seen.push(...toClient(r.out));
  assert.equal(r.out.captured, 1);
  assert.deepEqual(seen.map((m) => m.type === "CommandComplete" ? m.tag : m.type), [
    "NoticeResponse",
    "ELECTRIC ENABLE",
    "ReadyForQuery",
  ]);
  assert.deepEqual(seen[seen.length - 1], Z("I"));
});

/** ENABLE ELECTRIC through a ready session; Postgres answers the txid query with `captured`. */
async function electrify(captured: BackendMessage[]) {
  let r = await client(ready(), { type: "Query", sql: "ALTER TABLE items ENABLE ELECTRIC;" });
  const answers: BackendMessage[][] = [
    [C("BEGIN"), Z("T")],
    [C("CALL"), Z("T")],
    [C("CALL"), Z("T")],
    [...captured, Z("T")],
    [C("COMMIT"), Z("I")],
  ];
  for (const answer of answers) r = upstream(r.state, ...answer);
  return r;
}

test("a migration the service does not learn in time: a NOTICE says so, then the answer", async () => {
  let r = await electrify([
    { type: "DataRow", values: [new TextEncoder().encode("9")] },
    C("SELECT 1"),
  ]);
  assert.deepEqual(r.out.awaitMigration, { txid: "9" });
  r = step(r.state, { type: "migration_known", known: false });
  const [notice, done, z] = toClient(r.out);
  assert.ok(notice.type === "NoticeResponse");
  assert.match(notice.fields.M, /committed, but Electric has not loaded it yet/);
  assert.ok(done.type === "CommandComplete" || done.type === "ReadyForQuery");
  assert.deepEqual(z ?? done, Z("I"));
});

test("a transaction that captured nothing commits without waiting", async () => {
  // No captured DDL in this transaction (already electrified).
  const r = await electrify([C("SELECT 0")]);
  assert.equal(r.out.awaitMigration, undefined);
  assert.deepEqual(toClient(r.out).at(-1), Z("I"));
});

test("a refused DROP COLUMN sends only the lookup upstream and answers EX010 + Z E", async () => {
  let s = ready();
  let r = await client(s, { type: "Query", sql: "ALTER TABLE items DROP COLUMN v" });
  assert.equal(upstreamSql(r.out)[0].startsWith("SELECT e.schema_name"), true);
  s = r.state;
  r = upstream(
    s,
    { type: "Other", tag: "T", body: new Uint8Array([0, 0]) },
    {
      type: "DataRow",
      values: [new TextEncoder().encode("public"), new TextEncoder().encode("items"), null],
    },
    C("SELECT 1"),
    Z("I"),
  );
  assert.deepEqual(r.out.toUpstream, []);
  const [error, z] = toClient(r.out);
  assert.ok(error.type === "ErrorResponse");
  assert.equal(error.fields.C, "EX010");
  assert.equal(error.fields.M, 'Cannot drop column "v" of electrified table "public"."items"');
  assert.deepEqual(z, Z("E"));
});

test("a Query after a failed Bind is skipped by Postgres, and later plans do not wait for it", async () => {
  let s = ready();
  const bind: FrontendMessage = {
    type: "Bind",
    portal: "",
    statement: "missing",
    paramFormats: [],
    params: [],
    resultFormats: [],
  };
  // No Sync between them: the Bind fails, and Postgres discards the Query up to the Sync.
  s = (await client(s, bind)).state;
  let r = await client(s, { type: "Query", sql: "SELECT 1" });
  assert.deepEqual(upstreamSql(r.out), ["Bind", "SELECT 1"]);
  r = upstream(r.state, {
    type: "ErrorResponse",
    fields: { S: "ERROR", C: "26000", M: 'prepared statement "missing" does not exist' },
  });
  r = await client(r.state, { type: "Sync" });
  assert.deepEqual(upstreamSql(r.out), ["Sync"]);
  r = upstream(r.state, Z("I"));
  assert.deepEqual(toClient(r.out), [Z("I")]);
  // Nothing is owed any more: a plan starts at once.
  r = await client(r.state, { type: "Query", sql: "ALTER TABLE items ENABLE ELECTRIC" });
  assert.deepEqual(upstreamSql(r.out), ["BEGIN"]);
});

test("a plan waits until extended messages flushed before it are answered", async () => {
  let s = ready();
  const parse: FrontendMessage = { type: "Parse", name: "", sql: "SELECT 1", paramTypes: [] };
  s = (await client(s, parse)).state;
  let r = await client(s, { type: "Flush" });
  assert.deepEqual(upstreamSql(r.out), ["Parse", "Flush"]);
  r = await client(r.state, { type: "Query", sql: "ALTER TABLE items ENABLE ELECTRIC" });
  assert.deepEqual(r.out.toUpstream, []);
  r = upstream(r.state, { type: "ParseComplete" });
  assert.deepEqual(toClient(r.out), [{ type: "ParseComplete" }]);
  assert.deepEqual(upstreamSql(r.out), ["BEGIN"]);
});

test("COMMIT of a transaction that touched nothing electrified is forwarded as received", async () => {
  let s = ready();
  for (const sql of ["BEGIN", "INSERT INTO t VALUES (1)"]) {
    const r = await client(s, { type: "Query", sql });
    assert.deepEqual(upstreamSql(r.out), [sql]);
    s = upstream(r.state, C(sql.split(" ")[0]), Z("T")).state;
  }
  const r = await client(s, { type: "Query", sql: "COMMIT" });
  assert.deepEqual(r.out.toUpstream, [encodeFrontend({ type: "Query", sql: "COMMIT" })]);
  const back = upstream(r.state, C("COMMIT"), Z("I"));
  assert.deepEqual(toClient(back.out), [C("COMMIT"), Z("I")]);
});
