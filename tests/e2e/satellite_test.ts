/**
 * The Satellite protocol against the running service with a raw WebSocket client: handshake
 * checks, authentication, bad frames, a fresh start receiving migrations, subscription data at
 * the right point, live changes with tags, unsubscribe GONE batches, acks and resume.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import type postgres from "postgres";
import {
  SatAuthReqSchema,
  SatErrorResp_ErrorCode,
  SatInStartReplicationReqSchema,
  SatInStartReplicationResp_ReplicationError_Code,
  SatOpLogAckSchema,
  SatRpcRequestSchema,
  SatSubsReqSchema,
  SatSubsRespSchema,
  SatUnsubsReqSchema,
} from "../../src/gen/mod.ts";
import { create } from "@bufbuild/protobuf";
import {
  electrify,
  type ServiceOnFreshDatabase,
  startServiceOnFreshDatabase,
} from "../helpers/electrified_service.ts";
import {
  connectClient,
  insecureToken,
  payloadOf,
  type TestClient,
} from "../helpers/satellite_client.ts";
import { authenticate, startReplication } from "../helpers/satellite_rpc.ts";
import type { ServiceProcess } from "../helpers/service_process.ts";

let db: ServiceOnFreshDatabase["db"];
let sql: postgres.Sql;
let port: number;
let service: ServiceProcess;
const clients: TestClient[] = [];
const decoder = new TextDecoder();

before(async () => {
  ({ db, sql, service, port } = await startServiceOnFreshDatabase(
    `CREATE TABLE items (id text PRIMARY KEY, value text, n int4)`,
    { LOG_LEVEL: "debug" },
  ));
  await electrify(sql, ["items"]);
  await sql`INSERT INTO items VALUES ('a', 'first', 1), ('b', NULL, 2)`;
});

after(async () => {
  for (const client of clients) client.close();
  service.kill();
  await sql.end();
  await db.drop();
});

async function connect(protocol?: string) {
  const client = await connectClient(`ws://127.0.0.1:${port}/ws`, protocol);
  clients.push(client);
  return client;
}

async function authenticated(id = crypto.randomUUID(), sub = "user-1") {
  const client = await connect();
  await authenticate(client, insecureToken({ sub }), id);
  return client;
}

test("handshake: subprotocol required and checked", async () => {
  const noProtocol = await fetch(`http://127.0.0.1:${port}/ws`, {
    headers: {
      upgrade: "websocket",
      connection: "Upgrade",
      "sec-websocket-version": "13",
      "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==",
    },
  });
  assert.deepEqual([noProtocol.status, await noProtocol.text()], [
    400,
    "Missing satellite websocket subprotocol",
  ]);
  const future = await fetch(`http://127.0.0.1:${port}/ws`, {
    headers: {
      upgrade: "websocket",
      connection: "Upgrade",
      "sec-websocket-version": "13",
      "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==",
      "sec-websocket-protocol": "electric.0.13",
    },
  });
  assert.deepEqual([future.status, await future.text()], [
    400,
    "Cannot connect satellite version 0.13.0: this server requires >= 0.10.0 and <= 0.12.1",
  ]);
});

test("handshake: a malformed Sec-WebSocket-Key is a 400 on every runtime", async () => {
  const bad = await fetch(`http://127.0.0.1:${port}/ws`, {
    headers: {
      upgrade: "websocket",
      connection: "Upgrade",
      "sec-websocket-version": "13",
      "sec-websocket-key": "x",
      "sec-websocket-protocol": "electric.0.12",
    },
  });
  assert.equal(bad.status, 400);
  await bad.body?.cancel();
});

test("nothing but authenticate before auth; bad tokens are refused", async () => {
  const early = await connect();
  const response = await early.rpc("startReplication", SatInStartReplicationReqSchema, {});
  assert.equal(response.result.case, "error");
  assert.equal(
    response.result.case === "error" && response.result.value.errorType,
    SatErrorResp_ErrorCode.AUTH_REQUIRED,
  );
  await early.closed;

  const bad = await connect();
  const refused = await bad.rpc("authenticate", SatAuthReqSchema, {
    id: "c1",
    token: "not-a-token",
  });
  assert.equal(
    refused.result.case === "error" && refused.result.value.errorType,
    SatErrorResp_ErrorCode.AUTH_REQUIRED,
  );
  await bad.closed;
});

test("malformed frames get an error and a closed socket, and the service stays up", async () => {
  for (
    const garbage of [
      new Uint8Array([]),
      new Uint8Array([99, 1, 2]),
      new Uint8Array([21, 0xff, 0xff, 0xff]),
    ]
  ) {
    const client = await connect();
    client.sendRaw(garbage);
    const error = await client.next("SatErrorResp");
    assert.equal(error.message.errorType, SatErrorResp_ErrorCode.INVALID_REQUEST);
    assert.equal((await client.closed).code, 4007);
  }
  const text = await connect();
  text.sendRaw("hello");
  await text.closed;
  const res = await fetch(`http://127.0.0.1:${port}/api/status`);
  assert.equal(res.status, 200);
  await res.body?.cancel();
});

test("an RPC payload that does not decode gets INVALID_REQUEST and close 4007", async () => {
  for (const method of ["startReplication", "subscribe", "unsubscribe"]) {
    const client = await authenticated();
    client.send(create(SatRpcRequestSchema, {
      method,
      requestId: 7,
      message: new Uint8Array([0x0f]),
    }));
    const response = await client.next("SatRpcResponse", {
      where: (f) => f.message.requestId === 7,
    });
    assert.equal(response.message.result.case, "error", method);
    if (response.message.result.case === "error") {
      assert.equal(response.message.result.value.errorType, SatErrorResp_ErrorCode.INVALID_REQUEST);
    }
    assert.equal((await client.closed).code, 4007, method);
  }
  const res = await fetch(`http://127.0.0.1:${port}/api/status`);
  assert.equal(res.status, 200);
  await res.body?.cancel();
});

test("a fresh client gets migrations, shape data and live changes with tags", async () => {
  const client = await authenticated();
  const started = await startReplication(client, { sqlDialect: 0 });
  assert.equal(started.unackedWindowSize, 30);
  assert.equal(started.err, undefined);
  const relation = await client.next("SatRelation");
  assert.equal(relation.message.tableName, "items");
  assert.deepEqual(relation.message.columns.map((c) => [c.name, c.type, c.primaryKey]), [
    ["id", "text", true],
    ["value", "text", false],
    ["n", "int4", false],
  ]);
  const migration = await client.next("SatOpLog");
  const begin = migration.message.ops[0].op;
  assert.equal(begin.case, "begin");
  assert.equal(begin.case === "begin" && begin.value.isMigration, true);
  const migrate = migration.message.ops[1].op;
  assert.equal(migrate.case === "migrate" && migrate.value.version, "20240601120000");

  const subscriptionId = crypto.randomUUID();
  const requestId = crypto.randomUUID();
  const subs = payloadOf(
    SatSubsRespSchema,
    await client.rpc("subscribe", SatSubsReqSchema, {
      subscriptionId,
      shapeRequests: [{ requestId, shapeDefinition: { selects: [{ tablename: "items" }] } }],
    }),
  );
  assert.equal(subs.subscriptionId, subscriptionId);
  assert.equal(subs.err, undefined);
  const dataBegin = await client.next("SatSubsDataBegin");
  assert.equal(dataBegin.message.subscriptionId, subscriptionId);
  assert.ok(dataBegin.message.lsn.length > 0);
  await client.next("SatShapeDataBegin", { where: (f) => f.message.requestId === requestId });
  const data = await client.next("SatOpLog");
  const inserted = data.message.ops.map((op) => op.op.case === "insert" ? op.op.value : undefined);
  assert.equal(inserted.length, 2);
  assert.deepEqual(inserted.map((i) => decoder.decode(i!.rowData!.values[0])).sort(), ["a", "b"]);
  assert.ok(inserted.every((i) => /^postgres_1@\d{13}$/.test(i!.tags[0])));
  await client.next("SatShapeDataEnd");
  await client.next("SatSubsDataEnd");

  await sql`INSERT INTO items VALUES ('c', 'from pg', 3)`;
  const live = await client.next("SatOpLog", {
    where: (f) => f.message.ops.some((op) => op.op.case === "insert"),
  });
  const liveBegin = live.message.ops[0].op;
  assert.equal(liveBegin.case === "begin" && liveBegin.value.origin, "postgres_1");
  const liveInsert = live.message.ops.find((op) => op.op.case === "insert")!.op;
  assert.equal(
    liveInsert.case === "insert" && decoder.decode(liveInsert.value.rowData!.values[1]),
    "from pg",
  );
  const transactionId = liveBegin.case === "begin" ? liveBegin.value.transactionId! : 0n;

  client.send(
    create(SatOpLogAckSchema, {
      ackTimestamp: BigInt(Date.now()),
      lsn: liveBegin.case === "begin" ? liveBegin.value.lsn : new Uint8Array(),
      transactionId,
    }),
  );
  const unsubscribed = await client.rpc("unsubscribe", SatUnsubsReqSchema, {
    subscriptionIds: [subscriptionId],
  });
  assert.equal(unsubscribed.result.case, "message");
  await client.next("SatUnsubsDataBegin");
  const gone = await client.next("SatOpLog");
  assert.equal(gone.message.ops.filter((op) => op.op.case === "gone").length, 3);
  await client.next("SatUnsubsDataEnd");
  assert.equal(client.isClosed(), false);
});

test("startReplication errors: unknown schema version, malformed and out-of-window LSNs", async () => {
  const cases: [
    Record<string, unknown>,
    SatInStartReplicationResp_ReplicationError_Code | "none",
  ][] = [
    [{ schemaVersion: "nope" }, SatInStartReplicationResp_ReplicationError_Code.UNKNOWN_SCHEMA_VSN],
    [
      { lsn: new TextEncoder().encode("x1") },
      SatInStartReplicationResp_ReplicationError_Code.MALFORMED_LSN,
    ],
    [
      { lsn: new TextEncoder().encode("999999999999") },
      SatInStartReplicationResp_ReplicationError_Code.BEHIND_WINDOW,
    ],
    [
      { subscriptionIds: [crypto.randomUUID()] },
      SatInStartReplicationResp_ReplicationError_Code.INVALID_POSITION,
    ],
  ];
  for (const [request, code] of cases) {
    const client = await authenticated();
    const response = await startReplication(client, request);
    assert.equal(response.err?.code, code, JSON.stringify(Object.keys(request)));
    await client.closed;
  }
});

test("acknowledging an unknown transaction is refused", async () => {
  const client = await authenticated();
  await startReplication(client);
  client.send(create(SatOpLogAckSchema, { transactionId: 123456789n }));
  const error = await client.next("SatErrorResp");
  assert.equal(error.message.errorType, SatErrorResp_ErrorCode.INVALID_REQUEST);
  await client.closed;
});

test("a client resumes its subscription after reconnecting, without losing changes", async () => {
  const id = crypto.randomUUID();
  const first = await authenticated(id);
  await startReplication(first);
  const migration = await first.next("SatOpLog");
  const migBegin = migration.message.ops[0].op;
  const subscriptionId = crypto.randomUUID();
  payloadOf(
    SatSubsRespSchema,
    await first.rpc("subscribe", SatSubsReqSchema, {
      subscriptionId,
      shapeRequests: [{
        requestId: crypto.randomUUID(),
        shapeDefinition: { selects: [{ tablename: "items", where: "this.n >= 2" }] },
      }],
    }),
  );
  const dataBegin = await first.next("SatSubsDataBegin");
  await first.next("SatSubsDataEnd");
  // The client acknowledges the migration transaction and the subscription data.
  first.send(create(SatOpLogAckSchema, {
    lsn: dataBegin.message.lsn,
    transactionId: migBegin.case === "begin" ? migBegin.value.transactionId! : 0n,
    subscriptionIds: [subscriptionId],
  }));
  await new Promise((resolve) => setTimeout(resolve, 0));
  first.close();
  await first.closed;

  await sql`UPDATE items SET n = 5 WHERE id = 'a'`; // moves into the shape while disconnected
  const second = await authenticated(id);
  const resumed = await startReplication(second, {
    lsn: dataBegin.message.lsn,
    subscriptionIds: [subscriptionId],
  });
  assert.equal(resumed.err, undefined);
  // Transactions between the resume point and the row's move-in may be sent again (they are
  // idempotent); what matters is that the move-in of 'a' made while disconnected arrives.
  const isA = (op: { op: { case?: string; value?: unknown } }) =>
    (op.op.case === "insert" || op.op.case === "update") &&
    decoder.decode((op.op.value as { rowData: { values: Uint8Array[] } }).rowData.values[0]) ===
      "a";
  const change = await second.next("SatOpLog", { where: (f) => f.message.ops.some(isA) });
  assert.ok(change.message.ops.some(isA));
});
