// Pins the field numbers of SatOpMigrate and its nested messages. Besides the replication
// stream, the migrations endpoint hands these encodings to the client's generator as base64,
// so a renumbered field would break both silently. Expected bytes are computed by hand.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import {
  SatOpMigrate_PgColumnTypeSchema,
  SatOpMigrate_Type,
  SatOpMigrateSchema,
} from "../../gen/mod.ts";

const hex = (bytes: Uint8Array) =>
  Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join(" ");
const base64 = (bytes: Uint8Array) => Buffer.from(bytes).toString("base64");

test("a SatOpMigrate with a table encodes to the hand-computed bytes", () => {
  const migrate = create(SatOpMigrateSchema, {
    version: "1",
    stmts: [{ type: SatOpMigrate_Type.ALTER_ADD_COLUMN, sql: "S" }],
    affectedEntity: {
      case: "table",
      value: {
        name: "t",
        columns: [{ name: "c", sqliteType: "TEXT", pgType: { name: "varchar", size: [255] } }],
        fks: [{ fkCols: ["c"], pkTable: "p", pkCols: ["id"] }],
        pks: ["c"],
      },
    },
  });
  const encoded = toBinary(SatOpMigrateSchema, migrate);
  assert.equal(
    hex(encoded),
    [
      "0a 01 31", // 1 version "1"
      "12 05 08 06 12 01 53", // 2 stmts: Stmt{1 type ALTER_ADD_COLUMN = 6, 2 sql "S"}
      "1a 2c", // 3 table (oneof affected_entity), 44 bytes:
      "0a 01 74", //   1 name "t"
      "12 18 0a 01 63 12 04 54 45 58 54", //   2 columns: Column{1 name "c", 2 sqlite_type "TEXT",
      "1a 0d 0a 07 76 61 72 63 68 61 72 1a 02 ff 01", //   3 pg_type{1 name "varchar", 3 size [255]}}
      "1a 0a 0a 01 63 12 01 70 1a 02 69 64", //   3 fks: {1 fk_cols ["c"], 2 pk_table "p", 3 pk_cols ["id"]}
      "22 01 63", //   4 pks ["c"]
    ].join(" "),
  );
  assert.equal(
    base64(encoded),
    "CgExEgUIBhIBUxosCgF0EhgKAWMSBFRFWFQaDQoHdmFyY2hhchoC/wEaCgoBYxIBcBoCaWQiAWM=",
  );
  assert.deepEqual(
    fromBinary(SatOpMigrateSchema, Buffer.from(base64(encoded), "base64")),
    migrate,
  );
});

test("a SatOpMigrate creating an enum type carries it as field 4", () => {
  const migrate = create(SatOpMigrateSchema, {
    version: "2",
    stmts: [{ type: SatOpMigrate_Type.CREATE_ENUM_TYPE, sql: "E" }],
    affectedEntity: { case: "enumType", value: { name: "e", values: ["a", "b"] } },
  });
  const encoded = toBinary(SatOpMigrateSchema, migrate);
  assert.equal(hex(encoded), "0a 01 32 12 05 08 02 12 01 45 22 09 0a 01 65 12 01 61 12 01 62");
  assert.equal(base64(encoded), "CgEyEgUIAhIBRSIJCgFlEgFhEgFi");
});

test("array dimensions are packed int32, with -1 as a ten-byte varint", () => {
  const type = create(SatOpMigrate_PgColumnTypeSchema, { name: "int4", array: [-1] });
  const encoded = toBinary(SatOpMigrate_PgColumnTypeSchema, type);
  assert.equal(hex(encoded), "0a 04 69 6e 74 34 12 0a ff ff ff ff ff ff ff ff ff 01");
  assert.equal(base64(encoded), "CgRpbnQ0Egr///////////8B");
  // Unpacked input (field 2 as a plain varint) must decode the same way.
  const unpacked = new Uint8Array([0x10, 0x03, 0x10, 0x05]);
  assert.deepEqual(fromBinary(SatOpMigrate_PgColumnTypeSchema, unpacked).array, [3, 5]);
});

test("the statement types keep their protocol values", () => {
  assert.equal(SatOpMigrate_Type.CREATE_TABLE, 0);
  assert.equal(SatOpMigrate_Type.CREATE_INDEX, 1);
  assert.equal(SatOpMigrate_Type.CREATE_ENUM_TYPE, 2);
  assert.equal(SatOpMigrate_Type.ALTER_ADD_COLUMN, 6);
});
