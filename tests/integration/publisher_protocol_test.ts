/**
 * The logical publisher over real TCP sockets, driven by a raw protocol client and by
 * postgres.js (postgres-side.md §8.7, checklist 53): startup checks, the simple queries,
 * streaming with keepalives, queueing while nobody streams, resending what a reconnecting
 * subscriber had not confirmed, cancel requests, malformed input, and a port already in use.
 * Longer than most test files: the raw protocol client lives here, next to its only user.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { connect, type Socket } from "node:net";
import postgres from "postgres";
import { findFreePort } from "../../src/embedded/mod.ts";
import {
  AUTH,
  type BackendMessage,
  ByteWriter,
  decodeBackend,
  decodePgoutput,
  decodeReplicationMessage,
  encodeFrontend,
  encodeReplicationMessage,
  encodeStartup,
  errorResponse,
  type FrontendMessage,
  md5PasswordResponse,
  type PgoutputMessage,
  PROTOCOL_3_0,
  readFrame,
  standbyStatusUpdate,
  type StartupPacket,
} from "../../src/pgwire/mod.ts";
import {
  InMemoryPublisherCatalog,
  LogicalPublisher,
  type PublishedTransaction,
  type PublishOutcome,
} from "../../src/publisher/mod.ts";
import { createLogger } from "../../src/telemetry/mod.ts";
import { waitFor } from "../helpers/wait.ts";

const catalog = new InMemoryPublisherCatalog([
  {
    schema: "public",
    name: "items",
    oid: 16400,
    columns: [
      { name: "id", typeOid: 23, typeModifier: -1 },
      { name: "label", typeOid: 25, typeModifier: -1 },
    ],
  },
  {
    schema: "electric",
    name: "acknowledged_client_lsns",
    oid: 16300,
    columns: [
      { name: "client_id", typeOid: 25, typeModifier: -1 },
      { name: "lsn", typeOid: 17, typeModifier: -1 },
    ],
  },
]);

let publisher: LogicalPublisher;
let controller: AbortController;
let running: Promise<void>;
const clients = new Set<RawClient>();

before(async () => {
  publisher = new LogicalPublisher({
    port: await findFreePort(),
    catalog,
    logger: createLogger({ level: "emergency" }),
    serverVersion: "electric-0.12.1",
    systemId: "7300000000000000001",
    keepaliveIntervalMs: 60_000,
    loginTimeoutMs: LOGIN_TIMEOUT_MS,
  });
  controller = new AbortController();
  running = publisher.run(controller.signal);
  publisher.setPassword(SECRET);
  const listened = await publisher.listen();
  assert.ok(listened.ok);
});

/** Short, so that a connection that never logs in is seen closed within the test. */
const LOGIN_TIMEOUT_MS = 1000;

/** The secret of the service's subscription, which the publisher asks every connection for. */
const SECRET = "publisher-protocol-secret";

after(async () => {
  for (const client of clients) client.destroy();
  controller.abort();
  await running;
});

/** What the raw client reads: a backend message, or the one-byte `N` declining encryption. */
type Received = BackendMessage | { type: "EncryptionDeclined" };

/** A protocol client on a raw socket: sends frontend messages, reads backend messages. */
class RawClient {
  #socket: Socket;
  #buffer = new Uint8Array();
  #waiter: (() => void) | undefined;
  #expectEncryptionResponse = false;
  ended = false;
  key: { processId: number; secretKey: number } | undefined;

  private constructor(socket: Socket) {
    this.#socket = socket;
    socket.on("data", (chunk: Uint8Array) => {
      const next = new Uint8Array(this.#buffer.length + chunk.length);
      next.set(this.#buffer);
      next.set(chunk, this.#buffer.length);
      this.#buffer = next;
      this.#waiter?.();
    });
    socket.on("close", () => {
      this.ended = true;
      this.#waiter?.();
    });
    socket.on("error", () => {});
  }

  static connect(port: number): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host: "127.0.0.1", port }, () => {
        const client = new RawClient(socket);
        clients.add(client);
        resolve(client);
      });
      socket.once("error", reject);
    });
  }

  send(message: StartupPacket | FrontendMessage): void {
    switch (message.type) {
      case "SSLRequest":
      case "GSSENCRequest":
        this.#expectEncryptionResponse = true;
        return void this.#socket.write(encodeStartup(message));
      case "CancelRequest":
      case "StartupMessage":
        return void this.#socket.write(encodeStartup(message));
      default:
        this.#socket.write(encodeFrontend(message));
    }
  }

  write(bytes: Uint8Array): void {
    this.#socket.write(bytes);
  }

  /** The next backend message; rejects after `timeoutMs` or when the socket ends first. */
  async next(timeoutMs = 5000): Promise<Received> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (this.#expectEncryptionResponse && this.#buffer.length > 0) {
        if (this.#buffer[0] !== 0x4e) throw new Error(`encryption answer ${this.#buffer[0]}`);
        this.#buffer = this.#buffer.subarray(1);
        this.#expectEncryptionResponse = false;
        return { type: "EncryptionDeclined" };
      }
      const read = readFrame(this.#buffer, 0, 1 << 24);
      if (read.kind === "error") throw new Error(read.error.message);
      if (read.kind === "frame") {
        this.#buffer = this.#buffer.subarray(read.consumed);
        const decoded = decodeBackend(read.frame);
        if (!decoded.ok) throw new Error(decoded.error.message);
        return decoded.message;
      }
      if (this.ended) throw new Error("connection closed");
      const left = deadline - Date.now();
      if (left <= 0) throw new Error("timed out waiting for a backend message");
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#waiter = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.#waiter = undefined;
    }
  }

  /** Messages up to and including the next ReadyForQuery. */
  async untilReady(): Promise<Received[]> {
    const messages: Received[] = [];
    for (;;) {
      const message = await this.next();
      messages.push(message);
      if (message.type === "ReadyForQuery") return messages;
    }
  }

  async query(sql: string): Promise<Received[]> {
    this.send({ type: "Query", sql });
    return await this.untilReady();
  }

  /** The next CopyData payload, decoded as XLogData + pgoutput or a keepalive. */
  async stream(): Promise<
    | { kind: "w"; walStart: bigint; walEnd: bigint; message: PgoutputMessage }
    | { kind: "k"; walEnd: bigint; replyRequested: boolean }
  > {
    const message = await this.next();
    assert.equal(message.type, "CopyData");
    const outer = decodeReplicationMessage(
      message.type === "CopyData" ? message.data : new Uint8Array(),
    );
    assert.ok(outer.ok);
    if (outer.message.tag === "primary_keepalive") {
      return {
        kind: "k",
        walEnd: outer.message.walEnd,
        replyRequested: outer.message.replyRequested,
      };
    }
    assert.equal(outer.message.tag, "xlog_data");
    const { walStart, walEnd, data } = outer.message as {
      walStart: bigint;
      walEnd: bigint;
      data: Uint8Array;
    };
    const inner = decodePgoutput(data);
    assert.ok(inner.ok);
    return { kind: "w", walStart, walEnd, message: inner.message };
  }

  async closed(): Promise<void> {
    await waitFor(() => this.ended, { what: "the publisher to close the connection" });
  }

  destroy(): void {
    this.#socket.destroy();
    clients.delete(this);
  }
}

function startup(parameters: Record<string, string>): StartupPacket {
  return { type: "StartupMessage", protocolVersion: PROTOCOL_3_0, parameters };
}

/** A PasswordMessage carrying `text`. */
function password(text: string): FrontendMessage {
  return { type: "PasswordMessage", data: new ByteWriter().cstring(text).finish() };
}

const decoder = new TextDecoder();

/** The text values of the DataRows among `messages`. */
function dataRows(messages: Received[]): (string | null)[][] {
  return messages.flatMap((m) =>
    m.type === "DataRow" ? [m.values.map((v) => v === null ? null : decoder.decode(v))] : []
  );
}

const SUBSCRIBER = startup({
  user: "postgres",
  replication: "database",
  application_name: "postgres_1",
  database: "electric",
  client_encoding: "UTF8",
});

/** Answers the publisher's MD5 challenge as Postgres' subscription does. */
async function logIn(client: RawClient, secret = SECRET): Promise<void> {
  const challenge = await client.next();
  assert.ok(challenge.type === "Authentication" && challenge.code === AUTH.MD5Password);
  client.send(password(md5PasswordResponse("postgres", secret, challenge.data)));
}

async function subscriber(): Promise<RawClient> {
  const client = await RawClient.connect(publisher.port);
  client.send({ type: "SSLRequest" });
  assert.deepEqual(await client.next(), { type: "EncryptionDeclined" });
  client.send(SUBSCRIBER);
  await logIn(client);
  const handshake = await client.untilReady();
  assert.deepEqual(handshake[0], { type: "Authentication", code: AUTH.Ok, data: new Uint8Array() });
  for (const message of handshake) {
    if (message.type === "BackendKeyData") {
      client.key = { processId: message.processId, secretKey: message.secretKey };
    }
  }
  return client;
}

function clientTransaction(id: number, label: string): PublishedTransaction {
  return {
    commitTimestamp: new Date("2024-05-01T10:00:00.123Z"),
    changes: [
      {
        table: { schema: "electric", name: "acknowledged_client_lsns" },
        values: { client_id: "c", lsn: `\\x0${id}` },
      },
      { table: { schema: "public", name: "items" }, values: { id: String(id), label } },
    ],
  };
}

/** One streamed transaction: [kind, walStart] per message, until its Commit. */
async function receiveTransaction(client: RawClient) {
  const messages: Array<{ walStart: bigint; message: PgoutputMessage }> = [];
  for (;;) {
    const item = await client.stream();
    if (item.kind === "k") continue;
    messages.push({ walStart: item.walStart, message: item.message });
    if (item.message.tag === "commit") return messages;
  }
}

async function startReplication(client: RawClient, lsn: string): Promise<bigint> {
  client.send({
    type: "Query",
    sql: `START_REPLICATION SLOT "postgres_1" LOGICAL ${lsn} (proto_version '1', ` +
      `publication_names '"electric_publication"')`,
  });
  assert.deepEqual(await client.next(), {
    type: "CopyBothResponse",
    format: 0,
    columnFormats: [],
  });
  const keepalive = await client.stream();
  assert.equal(keepalive.kind, "k");
  return keepalive.walEnd;
}

/** A publish outcome that can be looked at before it settles. */
function outcomeOf(promise: Promise<PublishOutcome>): { settled?: PublishOutcome } {
  const seen: { settled?: PublishOutcome } = {};
  promise.then((outcome) => seen.settled = outcome);
  return seen;
}

/** postgres.js connected to the publisher, with extra startup parameters. */
function publisherClient(connection: Record<string, string> = {}) {
  return postgres({
    host: "127.0.0.1",
    port: publisher.port,
    database: "electric",
    username: "postgres",
    password: SECRET,
    max: 1,
    ssl: false,
    fetch_types: false,
    onnotice: () => {},
    connection,
  });
}

test("a plain connection gets FATAL 08004 (postgres.js)", async () => {
  const sql = publisherClient();
  try {
    await assert.rejects(sql`SELECT 1`, (error: { code?: string; message?: string }) => {
      assert.equal(error.code, "08004");
      assert.equal(
        error.message,
        "Electric requires connections from Postgres to include the `replication=database` option",
      );
      return true;
    });
  } finally {
    await sql.end({ timeout: 1 });
  }
});

test("IDENTIFY_SYSTEM over postgres.js with replication=database", async () => {
  const sql = publisherClient({ replication: "database", application_name: "postgres_1" });
  try {
    const rows = await sql.unsafe("IDENTIFY_SYSTEM").simple();
    assert.deepEqual(rows.map((r) => ({ ...r })), [
      { systemid: "7300000000000000001", timeline: 1, xlogpos: "0/1", dbname: "electric" },
    ]);
  } finally {
    await sql.end({ timeout: 1 });
  }
});

test("an unknown origin is refused; CREATE_REPLICATION_SLOT is an ERROR, not fatal", async () => {
  const stranger = await RawClient.connect(publisher.port);
  stranger.send(startup({ replication: "database", application_name: "postgres_9" }));
  assert.deepEqual(
    await stranger.next(),
    errorResponse(
      "FATAL",
      "08004",
      "Electric replication is not ready, missing schema for postgres_9",
    ),
  );
  await stranger.closed();

  const client = await subscriber();
  assert.deepEqual(await client.query('CREATE_REPLICATION_SLOT "x" LOGICAL pgoutput'), [
    errorResponse("ERROR", "0A000", "Electric replication does not support snapshot exporting"),
    { type: "ReadyForQuery", status: "I" },
  ]);
  const tables = await client.query(
    "SELECT DISTINCT t.schemaname, t.tablename\n  FROM pg_catalog.pg_publication_tables t\n" +
      " WHERE t.pubname IN ('electric_publication');",
  );
  assert.deepEqual(
    dataRows(tables),
    [["public", "items"], ["electric", "acknowledged_client_lsns"]],
  );
  client.send({ type: "Query", sql: "SELECT 1" });
  assert.deepEqual(
    await client.next(),
    errorResponse("FATAL", "08P01", "Unexpected message during connection"),
  );
  await client.closed();
});

test("streaming: queued transactions, LSNs, relations once, keepalive on request, CopyDone", async () => {
  // Published while nobody streams: kept until a subscriber starts.
  const one = outcomeOf(publisher.publish(clientTransaction(1, "one")));
  const client = await subscriber();
  assert.equal(await startReplication(client, "0/0"), 1n);
  const first = await receiveTransaction(client);
  assert.deepEqual(first.map((m) => [m.message.tag, m.walStart]), [
    ["begin", 11n],
    ["relation", 0n],
    ["insert", 11n],
    ["relation", 0n],
    ["insert", 21n],
    ["commit", 31n],
  ]);
  assert.deepEqual(first[4].message, { tag: "insert", relationId: 16400, newTuple: ["1", "one"] });
  assert.deepEqual(first[5].message.tag === "commit" && first[5].message.endLsn, 41n);

  const two = outcomeOf(publisher.publish(clientTransaction(2, "two")));
  const second = await receiveTransaction(client);
  // Sent is not applied: only the subscriber's confirmation settles an outcome.
  assert.equal(one.settled, undefined);
  assert.equal(two.settled, undefined);
  assert.deepEqual(second.map((m) => [m.message.tag, m.walStart]), [
    ["begin", 51n],
    ["insert", 51n],
    ["insert", 61n],
    ["commit", 71n],
  ]);

  client.send({
    type: "CopyData",
    data: encodeReplicationMessage(
      standbyStatusUpdate(81n, { clientTime: 0n, replyRequested: true }),
    ),
  });
  // Behind each batch the publisher asks for the subscriber's position (replyRequested); the
  // answer to the subscriber's request comes after those.
  let answer = await client.stream();
  while (answer.kind === "k" && answer.replyRequested) answer = await client.stream();
  assert.deepEqual(answer, { kind: "k", walEnd: 81n, replyRequested: false });
  await waitFor(() => two.settled !== undefined, { what: "the outcomes" });
  assert.deepEqual([one.settled, two.settled], [{ applied: true }, { applied: true }]);

  client.send({ type: "CopyDone" });
  assert.deepEqual(await client.untilReady(), [
    { type: "CopyDone" },
    { type: "CommandComplete", tag: "COPY 0" },
    { type: "CommandComplete", tag: "START_REPLICATION" },
    { type: "ReadyForQuery", status: "I" },
  ]);
  client.send({ type: "Terminate" });
  await client.closed();
  assert.equal(publisher.status().unconfirmed, 0);
});

test("a reconnecting subscriber receives again what it had not confirmed, same LSNs", async () => {
  const client = await subscriber();
  assert.equal(await startReplication(client, "0/51"), 81n);
  const three = outcomeOf(publisher.publish(clientTransaction(3, "three")));
  const sent = await receiveTransaction(client);
  assert.deepEqual(sent.map((m) => m.walStart), [91n, 0n, 91n, 0n, 101n, 111n]);
  client.destroy(); // gone before confirming

  // Published while disconnected: queued behind the unconfirmed one.
  await waitFor(() => !publisher.status().streaming, { what: "the publisher to notice" });
  publisher.publish(clientTransaction(4, "four"));
  const again = await subscriber();
  assert.equal(await startReplication(again, "0/51"), 81n);
  const resent = await receiveTransaction(again);
  assert.deepEqual(resent.map((m) => [m.message.tag, m.walStart]), [
    ["begin", 91n],
    ["relation", 0n],
    ["insert", 91n],
    ["relation", 0n],
    ["insert", 101n],
    ["commit", 111n],
  ]);
  const next = await receiveTransaction(again);
  assert.deepEqual(next.map((m) => m.walStart), [131n, 131n, 141n, 151n]);
  again.send({
    type: "CopyData",
    data: encodeReplicationMessage(standbyStatusUpdate(161n, { clientTime: 0n })),
  });
  await waitFor(() => publisher.status().unconfirmed === 0, { what: "the confirmation" });
  await waitFor(() => three.settled !== undefined, { what: "the resent one's outcome" });
  assert.deepEqual(three.settled, { applied: true });

  // A second subscriber starting to stream takes over; the first is told and closed.
  const takeover = await subscriber();
  assert.equal(await startReplication(takeover, "0/A1"), 161n);
  let told = await again.next().then((m) => m, () => undefined);
  while (told?.type === "CopyData") told = await again.next().then((m) => m, () => undefined);
  assert.equal(told?.type === "ErrorResponse" && told.fields.C, "55006");
  await again.closed();
  takeover.destroy();
});

test("a CancelRequest with the session's key ends that session", async () => {
  const client = await subscriber();
  await startReplication(client, "0/0");
  const wrong = await RawClient.connect(publisher.port);
  wrong.send({ type: "CancelRequest", processId: client.key!.processId, secretKey: 1 });
  await wrong.closed();
  assert.equal(publisher.status().streaming, true);
  const canceller = await RawClient.connect(publisher.port);
  canceller.send({ type: "CancelRequest", ...client.key! });
  await canceller.closed();
  await client.closed();
  assert.equal(publisher.status().streaming, false);
});

test("malformed and truncated input closes the connection; the publisher keeps serving", async () => {
  const bad = await subscriber();
  bad.write(Uint8Array.of(0x51, 0, 0, 0, 2)); // Query with a length shorter than its header
  const error = await bad.next();
  assert.equal(error.type === "ErrorResponse" && error.fields.C, "08P01");
  await bad.closed();

  const huge = await RawClient.connect(publisher.port);
  huge.write(Uint8Array.of(0x7f, 0xff, 0xff, 0xff, 0, 3, 0, 0)); // startup packet far too long
  assert.equal((await huge.next()).type, "ErrorResponse");
  await huge.closed();

  const truncated = await RawClient.connect(publisher.port);
  truncated.write(Uint8Array.of(0, 0, 0, 40, 0, 3)); // half a startup packet, then gone
  truncated.destroy();

  const client = await subscriber();
  const identify = await client.query("IDENTIFY_SYSTEM");
  assert.deepEqual(dataRows(identify), [["7300000000000000001", "1", "0/1", "electric"]]);
  client.destroy();
});

test("a port already in use is a coded error value", async () => {
  const second = new LogicalPublisher({
    port: publisher.port,
    catalog,
    logger: createLogger({ level: "emergency" }),
    serverVersion: "electric-0.12.1",
  });
  const listened = await second.listen();
  assert.equal(!listened.ok && listened.error.code, "ADDRESS_IN_USE");
  await assert.rejects(second.run(new AbortController().signal), { code: "ADDRESS_IN_USE" });
});

test("a connection that does not log in in time is closed; an oversized login message at once", async () => {
  const silent = await RawClient.connect(publisher.port);
  silent.send(SUBSCRIBER); // and never answers the challenge
  const challenge = await silent.next();
  assert.equal(challenge.type, "Authentication");
  assert.deepEqual(
    await silent.next(LOGIN_TIMEOUT_MS * 5),
    errorResponse("FATAL", "57014", "canceling authentication due to timeout"),
  );
  await silent.closed();

  const huge = await RawClient.connect(publisher.port);
  huge.send(SUBSCRIBER);
  await huge.next();
  huge.write(Uint8Array.of(0x70, 0x00, 0x0f, 0xff, 0xff, 1, 2, 3)); // a 1 MiB "password"
  const refused = await huge.next();
  assert.equal(refused.type === "ErrorResponse" && refused.fields.C, "08P01");
  await huge.closed();
  // The subscription still logs in.
  (await subscriber()).destroy();
});
