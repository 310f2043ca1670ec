// The worked example of satellite-protocol.md section 10, byte for byte. Server-to-client
// frames are rebuilt from typed values and must encode to exactly the documented bytes;
// client-to-server frames (whose encoder is protobufjs, not ours) must decode to the documented
// values with no unknown fields left over. Together they pin every field number in the example.
import { test } from "node:test";
import assert from "node:assert/strict";
import { create, fromBinary, type Message, toBinary } from "@bufbuild/protobuf";
import {
  SatAuthReqSchema,
  SatAuthRespSchema,
  SatInStartReplicationReq_Dialect,
  SatInStartReplicationReqSchema,
  SatInStartReplicationRespSchema,
  SatOpMigrate_Type,
  SatSubsReqSchema,
  SatSubsRespSchema,
} from "../../gen/mod.ts";
import { decodeFrame, encodeFrameOf, type FrameMessage, type FrameName } from "./mod.ts";

const hex = (bytes: Uint8Array) =>
  Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join(" ");
const bytes = (text: string) => new Uint8Array(text.split(/\s+/).map((h) => parseInt(h, 16)));
const utf8 = (text: string) => new TextEncoder().encode(text);

const WIRE: Record<number, string> = {
  1: [
    "15 0a 0c 61 75 74 68 65 6e 74 69 63 61 74 65 10 01 1a 53 0a 24 39 64 31 63 33 62 32",
    "61 2d 36 66 34 65 2d 34 63 38 64 2d 61 31 62 32 2d 63 33 64 34 65 35 66 36 30 37 31",
    "38 12 2b 65 79 4a 68 62 47 63 69 4f 69 4a 75 62 32 35 6c 49 6e 30 2e 65 79 4a 7a 64",
    "57 49 69 4f 69 4a 31 63 32 56 79 4c 54 45 69 66 51 2e",
  ].join(" "),
  2: [
    "16 0a 0c 61 75 74 68 65 6e 74 69 63 61 74 65 10 01 1a 0a 0a 08 73 65 72 76 65 72 2d",
    "31",
  ].join(" "),
  3: "15 0a 10 73 74 61 72 74 52 65 70 6c 69 63 61 74 69 6f 6e",
  4: "16 0a 10 73 74 61 72 74 52 65 70 6c 69 63 61 74 69 6f 6e 1a 00",
  5: [
    "15 0a 10 73 74 61 72 74 52 65 70 6c 69 63 61 74 69 6f 6e 10 02 1a 06 12 00 32 00 38",
    "00",
  ].join(" "),
  6: "16 0a 10 73 74 61 72 74 52 65 70 6c 69 63 61 74 69 6f 6e 10 02 1a 02 10 1e",
  7: [
    "0a 0a 06 70 75 62 6c 69 63 1a 05 69 74 65 6d 73 20 81 80 01 2a 0c 0a 02 69 64 12 04",
    "74 65 78 74 18 01 2a 0f 0a 05 76 61 6c 75 65 12 04 74 65 78 74 20 01",
  ].join(" "),
  8: [
    "09 0a 24 0a 22 08 80 84 af 9d fd 31 1a 08 32 36 39 31 31 38 30 38 22 0a 70 6f 73 74",
    "67 72 65 73 5f 31 28 01 38 e4 05 0a bc 01 32 b9 01 0a 0e 32 30 32 34 30 36 30 31 31",
    "32 30 30 30 30 12 6f 12 6d 43 52 45 41 54 45 20 54 41 42 4c 45 20 22 69 74 65 6d 73",
    "22 20 28 0a 20 20 22 69 64 22 20 54 45 58 54 20 4e 4f 54 20 4e 55 4c 4c 2c 0a 20 20",
    "22 76 61 6c 75 65 22 20 54 45 58 54 2c 0a 20 20 43 4f 4e 53 54 52 41 49 4e 54 20 22",
    "69 74 65 6d 73 5f 70 6b 65 79 22 20 50 52 49 4d 41 52 59 20 4b 45 59 20 28 22 69 64",
    "22 29 0a 29 3b 0a 1a 36 0a 05 69 74 65 6d 73 12 12 0a 02 69 64 12 04 54 45 58 54 1a",
    "06 0a 04 74 65 78 74 12 15 0a 05 76 61 6c 75 65 12 04 54 45 58 54 1a 06 0a 04 74 65",
    "78 74 22 02 69 64 0a 13 12 11 08 80 84 af 9d fd 31 1a 08 32 36 39 31 31 38 30 38",
  ].join(" "),
  9: [
    "15 0a 09 73 75 62 73 63 72 69 62 65 10 03 1a 59 0a 24 35 61 30 66 39 61 37 65 2d 31",
    "63 32 62 2d 34 64 33 65 2d 38 66 39 30 2d 61 31 62 32 63 33 64 34 65 35 66 36 12 31",
    "0a 24 37 63 39 65 36 36 37 39 2d 37 34 32 35 2d 34 30 64 65 2d 39 34 34 62 2d 65 30",
    "37 66 63 31 66 39 30 61 65 37 12 09 0a 07 0a 05 69 74 65 6d 73",
  ].join(" "),
  10: [
    "16 0a 09 73 75 62 73 63 72 69 62 65 10 03 1a 26 0a 24 35 61 30 66 39 61 37 65 2d 31",
    "63 32 62 2d 34 64 33 65 2d 38 66 39 30 2d 61 31 62 32 63 33 64 34 65 35 66 36",
  ].join(" "),
  11: [
    "0f 0a 24 35 61 30 66 39 61 37 65 2d 31 63 32 62 2d 34 64 33 65 2d 38 66 39 30 2d 61",
    "31 62 32 63 33 64 34 65 35 66 36 12 08 32 36 39 31 31 38 30 38",
  ].join(" "),
  12: [
    "11 0a 24 37 63 39 65 36 36 37 39 2d 37 34 32 35 2d 34 30 64 65 2d 39 34 34 62 2d 65",
    "30 37 66 63 31 66 39 30 61 65 37",
  ].join(" "),
  13: [
    "09 0a 2f 22 2d 08 81 80 01 12 0d 0a 01 00 12 01 61 12 05 66 69 72 73 74 1a 18 70 6f",
    "73 74 67 72 65 73 5f 31 40 31 37 31 37 32 34 33 32 36 30 30 30 30 0a 2a 22 28 08 81",
    "80 01 12 08 0a 01 40 12 01 62 12 00 1a 18 70 6f 73 74 67 72 65 73 5f 31 40 31 37 31",
    "37 32 34 33 32 36 30 30 30 30",
  ].join(" "),
  14: "12",
  15: "10",
  16: [
    "17 08 bc e4 b2 9d fd 31 12 08 32 36 39 31 31 38 30 38 18 e4 05 22 24 35 61 30 66 39",
    "61 37 65 2d 31 63 32 62 2d 34 64 33 65 2d 38 66 39 30 2d 61 31 62 32 63 33 64 34 65",
    "35 66 36 2a 00",
  ].join(" "),
  17: [
    "09 0a 22 0a 20 08 c0 ad b6 9d fd 31 1a 08 32 36 39 31 33 33 37 36 22 0a 70 6f 73 74",
    "67 72 65 73 5f 31 38 e9 05 0a 31 22 2f 08 81 80 01 12 0f 0a 01 00 12 01 63 12 07 66",
    "72 6f 6d 20 70 67 1a 18 70 6f 73 74 67 72 65 73 5f 31 40 31 37 31 37 32 34 33 33 32",
    "30 30 30 30 0a 13 12 11 08 c0 ad b6 9d fd 31 1a 08 32 36 39 31 33 33 37 36",
  ].join(" "),
  18: [
    "0a 0a 06 70 75 62 6c 69 63 1a 05 69 74 65 6d 73 20 01 2a 0a 0a 02 69 64 12 04 74 65",
    "78 74 2a 0f 0a 05 76 61 6c 75 65 12 04 74 65 78 74 20 01",
  ].join(" "),
  19: [
    "09 0a 0f 0a 0d 08 9b 83 ba 9d fd 31 1a 04 00 00 00 01 0a 19 22 17 08 01 12 13 0a 01",
    "00 12 01 64 12 0b 66 72 6f 6d 20 63 6c 69 65 6e 74 0a 02 12 00",
  ].join(" "),
  20: [
    "09 0a 3c 0a 3a 08 9b 83 ba 9d fd 31 1a 08 32 36 39 31 34 32 30 30 22 24 39 64 31 63",
    "33 62 32 61 2d 36 66 34 65 2d 34 63 38 64 2d 61 31 62 32 2d 63 33 64 34 65 35 66 36",
    "30 37 31 38 38 ea 05 0a 4f 22 4d 08 81 80 01 12 13 0a 01 00 12 01 64 12 0b 66 72 6f",
    "6d 20 63 6c 69 65 6e 74 1a 32 39 64 31 63 33 62 32 61 2d 36 66 34 65 2d 34 63 38 64",
    "2d 61 31 62 32 2d 63 33 64 34 65 35 66 36 30 37 31 38 40 31 37 31 37 32 34 33 33 38",
    "30 31 32 33 0a 13 12 11 08 9b 83 ba 9d fd 31 1a 08 32 36 39 31 34 32 30 30",
  ].join(" "),
};

const CLIENT_ID = "9d1c3b2a-6f4e-4c8d-a1b2-c3d4e5f60718";
const SUBSCRIPTION_ID = "5a0f9a7e-1c2b-4d3e-8f90-a1b2c3d4e5f6";
const SHAPE_REQUEST_ID = "7c9e6679-7425-40de-944b-e07fc1f90ae7";
const TOKEN = "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ1c2VyLTEifQ.";
const ITEMS = 16385;
const CREATE_ITEMS = 'CREATE TABLE "items" (\n  "id" TEXT NOT NULL,\n  "value" TEXT,\n' +
  '  CONSTRAINT "items_pkey" PRIMARY KEY ("id")\n);\n';

/** Decodes a documented frame, asserting its name and that every field number was known. */
function decodeWire<N extends FrameName>(step: number, name: N) {
  const decoded = decodeFrame(bytes(WIRE[step]));
  assert.ok(decoded.ok, decoded.ok ? "" : decoded.error.message);
  assert.equal(decoded.name, name);
  assertNoUnknownFields(decoded.message);
  return decoded.message as Extract<FrameMessage, { $typeName: `Electric.Satellite.${N}` }>;
}

function assertNoUnknownFields(value: unknown): void {
  if (value === null || typeof value !== "object" || value instanceof Uint8Array) return;
  if ("$typeName" in value) {
    assert.equal((value as Message).$unknown, undefined, `unknown fields in ${value.$typeName}`);
  }
  for (const child of Object.values(value)) assertNoUnknownFields(child);
}

const serverFrames: [number, () => Uint8Array][] = [
  [2, () =>
    encodeFrameOf("SatRpcResponse", {
      method: "authenticate",
      requestId: 1,
      result: {
        case: "message",
        value: toBinary(SatAuthRespSchema, create(SatAuthRespSchema, { id: "server-1" })),
      },
    })],
  [3, () => encodeFrameOf("SatRpcRequest", { method: "startReplication", requestId: 0 })],
  [6, () =>
    encodeFrameOf("SatRpcResponse", {
      method: "startReplication",
      requestId: 2,
      result: {
        case: "message",
        value: toBinary(
          SatInStartReplicationRespSchema,
          create(SatInStartReplicationRespSchema, { unackedWindowSize: 30 }),
        ),
      },
    })],
  [7, () =>
    encodeFrameOf("SatRelation", {
      schemaName: "public",
      tableName: "items",
      relationId: ITEMS,
      columns: [
        { name: "id", type: "text", primaryKey: true, isNullable: false },
        { name: "value", type: "text", primaryKey: false, isNullable: true },
      ],
    })],
  [8, () =>
    encodeFrameOf("SatOpLog", {
      ops: [
        {
          op: {
            case: "begin",
            value: {
              commitTimestamp: 1717243200000n,
              lsn: utf8("26911808"),
              origin: "postgres_1",
              isMigration: true,
              transactionId: 740n,
            },
          },
        },
        {
          op: {
            case: "migrate",
            value: {
              version: "20240601120000",
              stmts: [{ type: SatOpMigrate_Type.CREATE_TABLE, sql: CREATE_ITEMS }],
              affectedEntity: {
                case: "table",
                value: {
                  name: "items",
                  columns: [
                    { name: "id", sqliteType: "TEXT", pgType: { name: "text" } },
                    { name: "value", sqliteType: "TEXT", pgType: { name: "text" } },
                  ],
                  fks: [],
                  pks: ["id"],
                },
              },
            },
          },
        },
        {
          op: {
            case: "commit",
            value: { commitTimestamp: 1717243200000n, lsn: utf8("26911808") },
          },
        },
      ],
    })],
  [10, () =>
    encodeFrameOf("SatRpcResponse", {
      method: "subscribe",
      requestId: 3,
      result: {
        case: "message",
        value: toBinary(
          SatSubsRespSchema,
          create(SatSubsRespSchema, { subscriptionId: SUBSCRIPTION_ID }),
        ),
      },
    })],
  [11, () =>
    encodeFrameOf("SatSubsDataBegin", {
      subscriptionId: SUBSCRIPTION_ID,
      lsn: utf8("26911808"),
    })],
  [12, () => encodeFrameOf("SatShapeDataBegin", { requestId: SHAPE_REQUEST_ID })],
  [13, () =>
    encodeFrameOf("SatOpLog", {
      ops: [
        insert(bytes("00"), ["a", "first"], ["postgres_1@1717243260000"]),
        insert(bytes("40"), ["b", ""], ["postgres_1@1717243260000"]),
      ],
    })],
  [14, () => encodeFrameOf("SatShapeDataEnd")],
  [15, () => encodeFrameOf("SatSubsDataEnd")],
  [17, () =>
    encodeFrameOf("SatOpLog", {
      ops: serverTransaction(1717243320000n, "26913376", "postgres_1", 745n, [
        insert(bytes("00"), ["c", "from pg"], ["postgres_1@1717243320000"]),
      ]),
    })],
  [20, () =>
    encodeFrameOf("SatOpLog", {
      ops: serverTransaction(1717243380123n, "26914200", CLIENT_ID, 746n, [
        insert(bytes("00"), ["d", "from client"], [`${CLIENT_ID}@1717243380123`]),
      ]),
    })],
];

function insert(nullsBitmask: Uint8Array, values: string[], tags: string[]) {
  return {
    op: {
      case: "insert" as const,
      value: { relationId: ITEMS, rowData: { nullsBitmask, values: values.map(utf8) }, tags },
    },
  };
}

function serverTransaction(
  commitTimestamp: bigint,
  lsn: string,
  origin: string,
  transactionId: bigint,
  changes: ReturnType<typeof insert>[],
) {
  return [
    {
      op: {
        case: "begin" as const,
        value: { commitTimestamp, lsn: utf8(lsn), origin, transactionId },
      },
    },
    ...changes,
    { op: { case: "commit" as const, value: { commitTimestamp, lsn: utf8(lsn) } } },
  ];
}

for (const [step, build] of serverFrames) {
  test(`worked example ${step} (S→C) encodes to the documented bytes`, () => {
    assert.equal(hex(build()), WIRE[step]);
    const decoded = decodeFrame(bytes(WIRE[step]));
    assert.ok(decoded.ok);
    assertNoUnknownFields(decoded.message);
  });
}

test("worked example 1 (C→S): authenticate", () => {
  const request = decodeWire(1, "SatRpcRequest");
  assert.equal(request.method, "authenticate");
  assert.equal(request.requestId, 1);
  const auth = fromBinary(SatAuthReqSchema, request.message);
  assert.equal(auth.id, CLIENT_ID);
  assert.equal(auth.token, TOKEN);
  assert.deepEqual(auth.headers, []);
});

test("worked example 4 (C→S): empty but present RPC payload", () => {
  const response = decodeWire(4, "SatRpcResponse");
  assert.equal(response.method, "startReplication");
  assert.equal(response.requestId, 0);
  assert.equal(response.result.case, "message");
  assert.equal(response.result.value?.length, 0);
});

test("worked example 5 (C→S): startReplication with empty packed lists and SQLITE", () => {
  const request = decodeWire(5, "SatRpcRequest");
  assert.equal(request.method, "startReplication");
  assert.equal(request.requestId, 2);
  const start = fromBinary(SatInStartReplicationReqSchema, request.message);
  assertNoUnknownFields(start);
  assert.equal(start.lsn.length, 0);
  assert.deepEqual(start.options, []);
  assert.deepEqual(start.observedTransactionData, []);
  assert.equal(start.sqlDialect, SatInStartReplicationReq_Dialect.SQLITE);
  assert.equal(start.schemaVersion, undefined);
});

test("worked example 9 (C→S): subscribe", () => {
  const request = decodeWire(9, "SatRpcRequest");
  assert.equal(request.method, "subscribe");
  assert.equal(request.requestId, 3);
  const subscribe = fromBinary(SatSubsReqSchema, request.message);
  assertNoUnknownFields(subscribe);
  assert.equal(subscribe.subscriptionId, SUBSCRIPTION_ID);
  assert.equal(subscribe.shapeRequests.length, 1);
  assert.equal(subscribe.shapeRequests[0].requestId, SHAPE_REQUEST_ID);
  const selects = subscribe.shapeRequests[0].shapeDefinition?.selects ?? [];
  assert.equal(selects.length, 1);
  assert.equal(selects[0].tablename, "items");
  assert.equal(selects[0].where, "");
});

test("worked example 16 (C→S): ack", () => {
  const ack = decodeWire(16, "SatOpLogAck");
  assert.equal(ack.ackTimestamp, 1717243261500n);
  assert.deepEqual(ack.lsn, utf8("26911808"));
  assert.equal(ack.transactionId, 740n);
  assert.deepEqual(ack.subscriptionIds, [SUBSCRIPTION_ID]);
  assert.deepEqual(ack.additionalDataSourceIds, []);
});

test("worked example 18 (C→S): client relation", () => {
  const relation = decodeWire(18, "SatRelation");
  assert.equal(relation.schemaName, "public");
  assert.equal(relation.tableName, "items");
  assert.equal(relation.relationId, 1);
  assert.deepEqual(
    relation.columns.map((c) => [c.name, c.type, c.primaryKey, c.isNullable]),
    [["id", "text", false, false], ["value", "text", false, true]],
  );
});

test("worked example 19 (C→S): client transaction", () => {
  const log = decodeWire(19, "SatOpLog");
  assert.deepEqual(log.ops.map((o) => o.op.case), ["begin", "insert", "commit"]);
  const [begin, change] = log.ops.map((o) => o.op.value);
  assert.ok(begin?.$typeName === "Electric.Satellite.SatOpBegin");
  assert.equal(begin.commitTimestamp, 1717243380123n);
  assert.deepEqual(begin.lsn, bytes("00 00 00 01"));
  assert.equal(begin.origin, undefined);
  assert.ok(change?.$typeName === "Electric.Satellite.SatOpInsert");
  assert.equal(change.relationId, 1);
  assert.deepEqual(change.rowData?.values, [utf8("d"), utf8("from client")]);
  assert.deepEqual(change.tags, []);
});
