import { test } from "node:test";
import assert from "node:assert/strict";
import { create, equals, fromBinary, toBinary } from "@bufbuild/protobuf";
import {
  SatAuthReqSchema,
  SatErrorResp_ErrorCode,
  SatInStartReplicationReq_Dialect,
  SatInStartReplicationReqSchema,
  SatRelation_RelationType,
  SatSubsDataError_Code,
  SatSubsDataError_ShapeReqError_Code,
} from "../../gen/mod.ts";
import {
  decodeFrame,
  DEFAULT_MAX_FRAME_SIZE,
  encodeFrame,
  encodeFrameOf,
  type FrameMessage,
  type FrameName,
  frameName,
  FRAMES,
} from "./mod.ts";

const hex = (bytes: Uint8Array) =>
  Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join(" ");
const bytes = (text: string) => new Uint8Array(text.split(/\s+/).map((h) => parseInt(h, 16)));
const utf8 = (text: string) => new TextEncoder().encode(text);

// The type-code table of doc 1.3, written out independently of FRAMES.
const DOC_TABLE: Record<FrameName, number> = {
  SatErrorResp: 0,
  SatOpLog: 9,
  SatRelation: 10,
  SatSubsDataError: 14,
  SatSubsDataBegin: 15,
  SatSubsDataEnd: 16,
  SatShapeDataBegin: 17,
  SatShapeDataEnd: 18,
  SatRpcRequest: 21,
  SatRpcResponse: 22,
  SatOpLogAck: 23,
  SatUnsubsDataBegin: 24,
  SatUnsubsDataEnd: 25,
};

test("the frame table is exactly the type codes of the protocol", () => {
  const table = Object.fromEntries(
    Object.entries(FRAMES).map(([name, spec]) => [name, spec.type]),
  );
  assert.deepEqual(table, DOC_TABLE);
  for (const [name, type] of Object.entries(DOC_TABLE)) {
    assert.equal(frameName(type), name);
    assert.equal(FRAMES[name as FrameName].schema.typeName, `Electric.Satellite.${name}`);
  }
});

// One populated sample per frame type, so every field takes part in a round trip.
const SAMPLES: { [N in FrameName]: Parameters<typeof encodeFrameOf<N>>[1] } = {
  SatErrorResp: {
    errorType: SatErrorResp_ErrorCode.INVALID_REQUEST,
    lsn: bytes("00 00 00 07"),
    message: "Write validation failed: 'items'",
  },
  SatOpLog: {
    ops: [
      {
        op: {
          case: "begin",
          value: {
            commitTimestamp: 1717243200000n,
            lsn: utf8("26911808"),
            origin: "postgres_1",
            isMigration: false,
            additionalDataRef: 3n,
            transactionId: 2n ** 63n + 5n,
          },
        },
      },
      {
        op: {
          case: "insert",
          value: {
            relationId: 16385,
            rowData: { nullsBitmask: bytes("40"), values: [utf8("a"), new Uint8Array()] },
            tags: ["postgres_1@1717243200000"],
          },
        },
      },
      {
        op: {
          case: "update",
          value: {
            relationId: 16385,
            rowData: { nullsBitmask: bytes("00"), values: [utf8("a"), utf8("new")] },
            oldRowData: { nullsBitmask: bytes("00"), values: [utf8("a"), utf8("old")] },
            tags: ["x@1", "y@2"],
          },
        },
      },
      {
        op: {
          case: "delete",
          value: { relationId: 1, oldRowData: { nullsBitmask: bytes("00"), values: [utf8("a")] } },
        },
      },
      {
        op: {
          case: "compensation",
          value: { relationId: 2, pkData: { values: [utf8("p")] }, tags: ["c@3"] },
        },
      },
      { op: { case: "gone", value: { relationId: 2, pkData: { values: [utf8("g")] } } } },
      { op: { case: "additionalBegin", value: { ref: 3n } } },
      { op: { case: "additionalCommit", value: { ref: 3n } } },
      {
        op: {
          case: "migrate",
          value: {
            version: "20240601120000",
            stmts: [{ sql: 'CREATE TABLE "t" ("id" TEXT);\n' }],
            affectedEntity: {
              case: "table",
              value: {
                name: "t",
                columns: [{ name: "id", sqliteType: "TEXT", pgType: { name: "text" } }],
                pks: ["id"],
              },
            },
          },
        },
      },
      { op: { case: "commit", value: { additionalDataRef: 3n } } },
    ],
  },
  SatRelation: {
    schemaName: "public",
    tableType: SatRelation_RelationType.TABLE,
    tableName: "items",
    relationId: 16385,
    columns: [
      { name: "id", type: "text", primaryKey: true },
      { name: "value", type: "varchar", isNullable: true },
    ],
  },
  SatSubsDataError: {
    code: SatSubsDataError_Code.SHAPE_DELIVERY_ERROR,
    message: "Shape too large",
    subscriptionId: "sub-1",
    shapeRequestError: [
      {
        code: SatSubsDataError_ShapeReqError_Code.SHAPE_SIZE_LIMIT_EXCEEDED,
        message: "too many rows",
        requestId: "req-1",
      },
    ],
  },
  SatSubsDataBegin: { subscriptionId: "sub-1", lsn: utf8("26911808") },
  SatSubsDataEnd: {},
  SatShapeDataBegin: { requestId: "req-1", uuid: "shape-uuid" },
  SatShapeDataEnd: {},
  SatRpcRequest: {
    method: "authenticate",
    requestId: 1,
    message: toBinary(SatAuthReqSchema, create(SatAuthReqSchema, { id: "c", token: "t" })),
  },
  SatRpcResponse: {
    method: "subscribe",
    requestId: 4_000_000_000,
    result: { case: "error", value: { errorType: SatErrorResp_ErrorCode.AUTH_REQUIRED } },
  },
  SatOpLogAck: {
    ackTimestamp: 1717243261500n,
    lsn: utf8("26911808"),
    transactionId: 740n,
    subscriptionIds: ["sub-1"],
    additionalDataSourceIds: [1n, 18446744073709551615n],
    goneSubscriptionIds: ["sub-0"],
  },
  SatUnsubsDataBegin: { subscriptionIds: ["sub-1", "sub-2"], lsn: utf8("26911900") },
  SatUnsubsDataEnd: {},
};

for (const name of Object.keys(SAMPLES) as FrameName[]) {
  test(`round-trips a ${name} frame`, () => {
    const frame = encodeFrameOf(name, SAMPLES[name] as never);
    assert.equal(frame[0], DOC_TABLE[name]);
    const decoded = decodeFrame(frame);
    assert.ok(decoded.ok, decoded.ok ? "" : decoded.error.message);
    assert.equal(decoded.name, name);
    assert.equal(decoded.type, DOC_TABLE[name]);
    const original = create(FRAMES[name].schema, SAMPLES[name] as never);
    assert.ok(equals(FRAMES[name].schema, decoded.message as never, original as never));
    assert.equal(decoded.message.$unknown, undefined);
    assert.deepEqual(encodeFrame(decoded.message), frame);
  });
}

test("empty messages are a single type byte", () => {
  assert.equal(hex(encodeFrameOf("SatSubsDataEnd")), "10");
  assert.equal(hex(encodeFrameOf("SatShapeDataEnd")), "12");
  assert.equal(hex(encodeFrameOf("SatUnsubsDataEnd")), "19");
  assert.equal(hex(encodeFrameOf("SatErrorResp")), "00");
  const decoded = decodeFrame(bytes("00"));
  assert.ok(decoded.ok && decoded.name === "SatErrorResp");
  assert.equal(decoded.message.errorType, SatErrorResp_ErrorCode.INTERNAL);
  assert.equal(decoded.message.message, undefined);
});

test("an authenticate RPC request is encoded byte for byte", () => {
  // SatAuthReq{id: "c1", token: "tk"} = 0a 02 'c1' 12 02 'tk'
  const auth = toBinary(SatAuthReqSchema, create(SatAuthReqSchema, { id: "c1", token: "tk" }));
  assert.equal(hex(auth), "0a 02 63 31 12 02 74 6b");
  const frame = encodeFrameOf("SatRpcRequest", {
    method: "authenticate",
    requestId: 1,
    message: auth,
  });
  assert.equal(
    hex(frame),
    "15 0a 0c 61 75 74 68 65 6e 74 69 63 61 74 65 10 01 1a 08 0a 02 63 31 12 02 74 6b",
  );
});

test("a successful RPC response with an empty payload still carries field 3", () => {
  const frame = encodeFrameOf("SatRpcResponse", {
    method: "unsubscribe",
    requestId: 7,
    result: { case: "message", value: new Uint8Array() },
  });
  assert.equal(hex(frame), "16 0a 0b 75 6e 73 75 62 73 63 72 69 62 65 10 07 1a 00");
});

test("a failed RPC response carries the error as field 4", () => {
  const frame = encodeFrameOf("SatRpcResponse", {
    method: "authenticate",
    requestId: 1,
    result: { case: "error", value: { errorType: SatErrorResp_ErrorCode.AUTH_REQUIRED } },
  });
  assert.equal(hex(frame), "16 0a 0c 61 75 74 68 65 6e 74 69 63 61 74 65 10 01 22 02 08 01");
});

test("SatErrorResp writes its optional fields when set, even when empty", () => {
  const full = encodeFrameOf("SatErrorResp", {
    errorType: SatErrorResp_ErrorCode.INVALID_REQUEST,
    lsn: bytes("01 02"),
    message: "x",
  });
  assert.equal(hex(full), "00 08 04 12 02 01 02 1a 01 78");
  assert.equal(hex(encodeFrameOf("SatErrorResp", { message: "" })), "00 1a 00");
});

test("an empty commit op is written as 12 00", () => {
  const frame = encodeFrameOf("SatOpLog", { ops: [{ op: { case: "commit", value: {} } }] });
  assert.equal(hex(frame), "09 0a 02 12 00");
});

test("uint64 fields keep all 64 bits", () => {
  const frame = encodeFrameOf("SatOpLog", {
    ops: [{ op: { case: "additionalBegin", value: { ref: 18446744073709551615n } } }],
  });
  assert.equal(hex(frame), "09 0a 0d 4a 0b 08 ff ff ff ff ff ff ff ff ff 01");
  const decoded = decodeFrame(frame);
  assert.ok(decoded.ok && decoded.name === "SatOpLog");
  const op = decoded.message.ops[0].op;
  assert.ok(op.case === "additionalBegin");
  assert.equal(op.value.ref, 18446744073709551615n);
});

test("repeated uint64 is accepted packed and unpacked", () => {
  // SatOpLogAck.additional_data_source_ids (field 5)
  const cases: [string, bigint[]][] = [
    ["17 2a 03 01 ac 02", [1n, 300n]],
    ["17 28 01 28 ac 02", [1n, 300n]],
    ["17 2a 00", []], // the client writes empty lists as zero-length packed fields
  ];
  for (const [frame, ids] of cases) {
    const decoded = decodeFrame(bytes(frame));
    assert.ok(decoded.ok && decoded.name === "SatOpLogAck", frame);
    assert.deepEqual(decoded.message.additionalDataSourceIds, ids);
  }
  const encoded = encodeFrameOf("SatOpLogAck", { additionalDataSourceIds: [1n, 300n] });
  assert.equal(hex(encoded), "17 2a 03 01 ac 02");
});

test("an explicit sql_dialect = SQLITE is kept apart from an absent one", () => {
  const schema = SatInStartReplicationReqSchema;
  const sqlite = create(schema, { sqlDialect: SatInStartReplicationReq_Dialect.SQLITE });
  assert.equal(hex(toBinary(schema, sqlite)), "38 00");
  assert.equal(
    fromBinary(schema, bytes("38 00")).sqlDialect,
    SatInStartReplicationReq_Dialect.SQLITE,
  );
  assert.equal(fromBinary(schema, new Uint8Array()).sqlDialect, undefined);
});

test("unknown fields are skipped", () => {
  const decoded = decodeFrame(bytes("17 f8 07 01 18 05"));
  assert.ok(decoded.ok && decoded.name === "SatOpLogAck");
  assert.equal(decoded.message.transactionId, 5n);
});

test("accepts an ArrayBuffer as well as a Uint8Array", () => {
  const frame = encodeFrameOf("SatShapeDataBegin", { requestId: "r" });
  const copy = new ArrayBuffer(frame.length);
  new Uint8Array(copy).set(frame);
  const decoded = decodeFrame(copy);
  assert.ok(decoded.ok && decoded.name === "SatShapeDataBegin");
  assert.equal(decoded.message.requestId, "r");
});

test("decodes a frame that is a view into a larger buffer", () => {
  const buffer = bytes("ff ff 11 0a 01 72 ff");
  const decoded = decodeFrame(buffer.subarray(2, 6));
  assert.ok(decoded.ok && decoded.name === "SatShapeDataBegin");
  assert.equal(decoded.message.requestId, "r");
});

test("rejects an empty frame", () => {
  const decoded = decodeFrame(new Uint8Array());
  assert.ok(!decoded.ok);
  assert.equal(decoded.error.code, "EMPTY_FRAME");
});

test("rejects retired and unassigned type codes", () => {
  for (const type of [1, 2, 3, 4, 5, 6, 7, 8, 11, 12, 13, 19, 20, 26, 127, 255]) {
    const decoded = decodeFrame(new Uint8Array([type]));
    assert.ok(!decoded.ok, `type ${type}`);
    assert.equal(decoded.error.code, "UNKNOWN_TYPE");
    assert.equal(decoded.error.message, `Unknown Satellite message type '${type}'`);
    assert.equal(frameName(type), undefined);
  }
});

test("rejects truncated and garbage bodies as MALFORMED", () => {
  const cases = [
    "15 0a 0c 61 75", // string cut short
    "09 0a 05 12 00", // nested message longer than the frame
    "09 ff ff ff ff ff ff ff ff ff ff ff", // varint longer than 10 bytes
    "09 0f", // wire type 7 does not exist
    "0a 08", // tag without its value
    "15 0a 02 c3 28", // invalid UTF-8 in a string
  ];
  for (const frame of cases) {
    const decoded = decodeFrame(bytes(frame));
    assert.ok(!decoded.ok, frame);
    assert.equal(decoded.error.code, "MALFORMED", frame);
    assert.match(decoded.error.message, /^Malformed Sat\w+ frame: /);
  }
});

test("rejects frames over the size limit", () => {
  const frame = encodeFrameOf("SatShapeDataBegin", { requestId: "abc" }); // 6 bytes
  assert.equal(frame.length, 6);
  assert.ok(decodeFrame(frame, { maxFrameSize: 6 }).ok);
  const decoded = decodeFrame(frame, { maxFrameSize: 5 });
  assert.ok(!decoded.ok);
  assert.equal(decoded.error.code, "TOO_LARGE");
  assert.equal(decoded.error.message, "Satellite frame too large: 6 bytes, limit 5");
});

test("the default size limit applies without options", () => {
  const oversized = new Uint8Array(DEFAULT_MAX_FRAME_SIZE + 1);
  oversized[0] = 9;
  const decoded = decodeFrame(oversized);
  assert.ok(!decoded.ok);
  assert.equal(decoded.error.code, "TOO_LARGE");
});

test("refuses to encode a message that is not a top-level frame", () => {
  const nested = create(SatAuthReqSchema, { id: "c" }) as unknown as FrameMessage;
  assert.throws(
    () => encodeFrame(nested),
    new TypeError("Not a top-level Satellite message: 'Electric.Satellite.SatAuthReq'"),
  );
});
