import { test } from "node:test";
import assert from "node:assert/strict";
import {
  AUTH,
  type BackendMessage,
  ByteWriter,
  dateToPgTimestamp,
  decodeReplicationMessage,
  encodeReplicationMessage,
  errorResponse,
  md5PasswordResponse,
  standbyStatusUpdate,
  textDataRow,
} from "../pgwire/mod.ts";
import type { PublishedTable } from "./catalog.ts";
import {
  initialSession,
  MESSAGES,
  type SessionEffect,
  type SessionEnv,
  type SessionState,
  step,
  type SubscriberMessage,
} from "./session.ts";
import { assignLsns } from "./stream.ts";

const NOW = new Date("2024-05-01T10:00:00Z");
const TABLES: PublishedTable[] = [{
  schema: "public",
  name: "items",
  oid: 16400,
  columns: [{ name: "id", typeOid: 23, typeModifier: -1 }],
}];

const ENV: SessionEnv = {
  serverVersion: "electric-0.12.1",
  systemId: "7000",
  processId: 42,
  secretKey: 99,
  originReady: (name) => name === "postgres_1",
  tables: () => TABLES,
  password: () => SECRET,
  salt: () => SALT,
};

const SECRET = "the-subscription-secret";
const SALT = Uint8Array.of(1, 2, 3, 4);
/** What Postgres' subscription (libpq, as user "postgres") answers to the MD5 challenge. */
const PASSWORD = passwordMessage(md5PasswordResponse("postgres", SECRET, SALT));

function passwordMessage(text: string): SubscriberMessage {
  return { type: "PasswordMessage", data: new ByteWriter().cstring(text).finish() };
}

function feed(state: SessionState, ...messages: SubscriberMessage[]) {
  const out: SessionEffect[] = [];
  for (const message of messages) {
    const result = step(state, { tag: "frontend", message, now: NOW });
    state = result.state;
    out.push(...result.out);
  }
  return { state, out };
}

const sent = (out: SessionEffect[]): BackendMessage[] =>
  out.flatMap((e) => e.tag === "send" ? [e.message] : []);

const STARTUP: SubscriberMessage = {
  type: "StartupMessage",
  protocolVersion: 196608,
  parameters: {
    replication: "database",
    application_name: "postgres_1",
    client_encoding: "UTF8",
    database: "electric",
    user: "postgres",
  },
};

function connected(): SessionState {
  return feed(initialSession(ENV), STARTUP, PASSWORD).state;
}

function streaming(position = 100n): SessionState {
  const started = feed(connected(), {
    type: "Query",
    sql: "START_REPLICATION SLOT \"postgres_1\" LOGICAL 0/0 (proto_version '1')",
  });
  return step(started.state, { tag: "attached", position, now: NOW }).state;
}

const ready: BackendMessage = { type: "ReadyForQuery", status: "I" };

test("startup: SSL and GSS requests are refused with N, then the startup proceeds", () => {
  const { state, out } = feed(initialSession(ENV), { type: "SSLRequest" }, {
    type: "GSSENCRequest",
  });
  assert.equal(state.phase, "startup");
  assert.deepEqual(out, [{ tag: "decline_encryption" }, { tag: "decline_encryption" }]);
});

test("startup: the handshake answers in the documented order", () => {
  const { state, out } = feed(initialSession(ENV), STARTUP, PASSWORD);
  assert.equal(state.phase, "ready");
  assert.deepEqual(sent(out), [
    { type: "Authentication", code: AUTH.MD5Password, data: SALT },
    { type: "Authentication", code: AUTH.Ok, data: new Uint8Array() },
    { type: "ParameterStatus", name: "application_name", value: "postgres_1" },
    { type: "ParameterStatus", name: "client_encoding", value: "UTF8" },
    { type: "ParameterStatus", name: "server_encoding", value: "UTF8" },
    { type: "ParameterStatus", name: "server_version", value: "electric-0.12.1" },
    { type: "ParameterStatus", name: "standard_conforming_strings", value: "on" },
    { type: "ParameterStatus", name: "TimeZone", value: "Etc/UTC" },
    { type: "BackendKeyData", processId: 42, secretKey: 99 },
    ready,
  ]);
});

test("startup: without replication=database, or from an unknown origin, FATAL 08004", () => {
  const plain = feed(initialSession(ENV), {
    type: "StartupMessage",
    protocolVersion: 196608,
    parameters: { user: "postgres", database: "electric" },
  });
  assert.equal(plain.state.phase, "closed");
  assert.deepEqual(plain.out, [
    {
      tag: "send",
      message: errorResponse("FATAL", "08004", MESSAGES.replicationRequired),
    },
    { tag: "close" },
  ]);
  const stranger = feed(initialSession(ENV), {
    ...STARTUP,
    parameters: { replication: "database", application_name: "postgres_2" },
  } as SubscriberMessage);
  assert.deepEqual(sent(stranger.out), [
    errorResponse(
      "FATAL",
      "08004",
      "Electric replication is not ready, missing schema for postgres_2",
    ),
  ]);
});

test("startup: a CancelRequest cancels the identified session and closes", () => {
  const { state, out } = feed(initialSession(ENV), {
    type: "CancelRequest",
    processId: 7,
    secretKey: 8,
  });
  assert.equal(state.phase, "closed");
  assert.deepEqual(out, [{ tag: "cancel", processId: 7, secretKey: 8 }, { tag: "close" }]);
});

test("queries: exact answers, each followed by ReadyForQuery", () => {
  const query = (sql: string) => sent(feed(connected(), { type: "Query", sql }).out);
  const identify = query("IDENTIFY_SYSTEM;");
  assert.deepEqual(identify.slice(1), [
    textDataRow(["7000", "1", "0/1", "electric"]),
    { type: "CommandComplete", tag: "IDENTIFY_SYSTEM" },
    ready,
  ]);
  assert.deepEqual(query("SELECT pg_catalog.set_config('search_path', '', false);").slice(1), [
    textDataRow([""]),
    { type: "CommandComplete", tag: "SELECT 1" },
    ready,
  ]);
  assert.deepEqual(
    query(
      "SELECT DISTINCT t.schemaname, t.tablename FROM pg_catalog.pg_publication_tables t " +
        "WHERE t.pubname IN ('electric_publication')",
    ).slice(1),
    [
      textDataRow(["public", "items"]),
      { type: "CommandComplete", tag: "SELECT 1" },
      ready,
    ],
  );
  assert.deepEqual(query("BEGIN READ ONLY ISOLATION LEVEL REPEATABLE READ"), [
    { type: "CommandComplete", tag: "BEGIN" },
    ready,
  ]);
  assert.deepEqual(query("COMMIT"), [{ type: "CommandComplete", tag: "COMMIT" }, ready]);
  assert.deepEqual(query('DROP_REPLICATION_SLOT "postgres_1" WAIT'), [
    { type: "CommandComplete", tag: "DROP_REPLICATION_SLOT" },
    ready,
  ]);
  assert.deepEqual(query('CREATE_REPLICATION_SLOT "x" LOGICAL pgoutput'), [
    errorResponse("ERROR", "0A000", MESSAGES.noSnapshots),
    ready,
  ]);
});

test("unexpected queries and messages outside copy mode: FATAL 08P01 and close", () => {
  for (
    const message of [
      { type: "Query", sql: "SELECT 1" },
      { type: "Sync" },
      { type: "CopyData", data: new Uint8Array([0x72]) },
    ] as SubscriberMessage[]
  ) {
    const { state, out } = feed(connected(), message);
    assert.equal(state.phase, "closed");
    assert.deepEqual(out, [
      {
        tag: "send",
        message: errorResponse("FATAL", "08P01", MESSAGES.unexpected),
      },
      { tag: "close" },
    ]);
  }
  const terminated = feed(connected(), { type: "Terminate" });
  assert.deepEqual(terminated.out, [{ tag: "close" }]);
  const garbage = step(connected(), {
    tag: "decode_error",
    error: { code: "MALFORMED_MESSAGE", message: "bad" },
  });
  assert.equal(garbage.state.phase, "closed");
  assert.equal(sent(garbage.out)[0].type, "ErrorResponse");
});

test("START_REPLICATION: CopyBothResponse, then a keepalive once attached", () => {
  const started = feed(connected(), {
    type: "Query",
    sql: "START_REPLICATION SLOT \"postgres_1\" LOGICAL 0/A0 (proto_version '1', " +
      "publication_names '\"electric_publication\"')",
  });
  assert.equal(started.state.phase, "streaming");
  assert.deepEqual(started.out, [
    { tag: "send", message: { type: "CopyBothResponse", format: 0, columnFormats: [] } },
    {
      tag: "start_replication",
      slot: "postgres_1",
      startLsn: 0xa0n,
      options: { proto_version: "1", publication_names: '"electric_publication"' },
    },
  ]);
  const attached = step(started.state, { tag: "attached", position: 0xa0n, now: NOW });
  assert.deepEqual(sent(attached.out), [{
    type: "CopyData",
    data: encodeReplicationMessage({
      tag: "primary_keepalive",
      walEnd: 0xa0n,
      serverTime: dateToPgTimestamp(NOW),
      replyRequested: false,
    }),
  }]);
});

test("streaming: transactions, status updates, ticks, CopyDone", () => {
  let state = streaming(100n);
  const tx = {
    commitTimestamp: NOW,
    changes: [{ table: { schema: "public", name: "items" }, values: { id: "1" } }],
  };
  const delivered = step(state, {
    tag: "transactions",
    transactions: [assignLsns(tx, 100n)],
    now: NOW,
  });
  state = delivered.state;
  // Begin, Relation, Insert, Commit, then a keepalive asking for the subscriber's position.
  const out = sent(delivered.out);
  assert.equal(out.length, 5);
  const ask = out[4].type === "CopyData" ? decodeReplicationMessage(out[4].data) : undefined;
  assert.ok(ask?.ok && ask.message.tag === "primary_keepalive" && ask.message.replyRequested);
  assert.equal(state.position, 130n);

  const unknown = step(state, {
    tag: "transactions",
    transactions: [
      assignLsns({
        ...tx,
        changes: [{ ...tx.changes[0], table: { schema: "public", name: "gone" } }],
      }, 130n),
    ],
    now: NOW,
  });
  assert.equal(unknown.out[0].tag, "skipped");
  assert.equal(unknown.state.position, 130n);

  const status = (replyRequested: boolean) =>
    feed(state, {
      type: "CopyData",
      data: encodeReplicationMessage(
        standbyStatusUpdate(130n, { clientTime: 0n, replyRequested }),
      ),
    }).out;
  assert.deepEqual(status(false), [{ tag: "confirmed", flushed: 130n }]);
  const requested = status(true);
  assert.equal(requested.length, 2);
  const keepalive = sent(requested)[0];
  assert.ok(keepalive.type === "CopyData");
  const decoded = decodeReplicationMessage(keepalive.data);
  assert.ok(decoded.ok && decoded.message.tag === "primary_keepalive");
  assert.equal(decoded.message.walEnd, 130n);

  assert.equal(step(state, { tag: "tick", now: NOW }).out.length, 1);
  assert.equal(step(connected(), { tag: "tick", now: NOW }).out.length, 0);
  // Hot standby feedback and unknown payloads are ignored.
  assert.deepEqual(feed(state, { type: "CopyData", data: new Uint8Array([0x68]) }).out, []);

  const done = feed(state, { type: "CopyDone" });
  assert.equal(done.state.phase, "ready");
  assert.deepEqual(done.out, [
    { tag: "stop_replication" },
    { tag: "send", message: { type: "CopyDone" } },
    { tag: "send", message: { type: "CommandComplete", tag: "COPY 0" } },
    { tag: "send", message: { type: "CommandComplete", tag: "START_REPLICATION" } },
    { tag: "send", message: ready },
  ]);
  const terminated = feed(state, { type: "Terminate" });
  assert.deepEqual(terminated.out, [{ tag: "stop_replication" }, { tag: "close" }]);
  const query = feed(state, { type: "Query", sql: "IDENTIFY_SYSTEM" });
  assert.equal(query.state.phase, "closed");
  assert.deepEqual(query.out[0], { tag: "stop_replication" });
  const superseded = step(state, { tag: "superseded" });
  assert.equal(superseded.state.phase, "closed");
});

test("a closed session ignores further input", () => {
  const closed = feed(connected(), { type: "Terminate" }).state;
  assert.deepEqual(step(closed, { tag: "tick", now: NOW }).out, []);
  assert.deepEqual(feed(closed, { type: "Query", sql: "IDENTIFY_SYSTEM" }).out, []);
});

test("authentication: a wrong password is FATAL 28P01; nothing but the password is accepted", () => {
  const wrong = feed(
    initialSession(ENV),
    STARTUP,
    passwordMessage(md5PasswordResponse("postgres", "guessed", SALT)),
  );
  assert.equal(wrong.state.phase, "closed");
  assert.deepEqual(
    sent(wrong.out).at(-1),
    errorResponse("FATAL", "28P01", MESSAGES.passwordFailed("postgres")),
  );
  // Another user's answer for the right password does not match either (the user is salted in).
  const otherUser = feed(
    initialSession(ENV),
    STARTUP,
    passwordMessage(md5PasswordResponse("mallory", SECRET, SALT)),
  );
  assert.equal(otherUser.state.phase, "closed");
  // Skipping the password to ask for replication right away is refused.
  const skipped = feed(initialSession(ENV), STARTUP, {
    type: "Query",
    sql: "START_REPLICATION SLOT \"postgres_1\" LOGICAL 0/0 (proto_version '1')",
  });
  assert.equal(skipped.state.phase, "closed");
  assert.ok(!skipped.out.some((e) => e.tag === "start_replication"));
});

test("authentication: until the service knows its subscription's secret, nobody is let in", () => {
  const { state, out } = feed(initialSession({ ...ENV, password: () => undefined }), STARTUP);
  assert.equal(state.phase, "closed");
  assert.deepEqual(sent(out), [errorResponse("FATAL", "08004", MESSAGES.noPassword)]);
});
