// satellite-protocol.md §10, messages 7 and 13: the relation and the two shape-data rows the
// server sends for `items`, byte for byte (payloads without the frame's type byte).
import { test } from "node:test";
import assert from "node:assert/strict";
import { create, toBinary } from "@bufbuild/protobuf";
import {
  SatOpInsertSchema,
  SatOpLogSchema,
  SatOpRowSchema,
  SatRelationSchema,
  SatTransOpSchema,
} from "../../gen/mod.ts";
import { encodeRow, relationFor } from "./mod.ts";
import { hex, ITEMS, MODEL } from "./test_fixtures.ts";

const MESSAGE_7 = [
  "0a 06 70 75 62 6c 69 63 1a 05 69 74 65 6d 73 20 81 80 01 2a 0c 0a 02 69 64 12 04 74",
  "65 78 74 18 01 2a 0f 0a 05 76 61 6c 75 65 12 04 74 65 78 74 20 01",
].join(" ");

const MESSAGE_13 = [
  "0a 2f 22 2d 08 81 80 01 12 0d 0a 01 00 12 01 61 12 05 66 69 72 73 74 1a 18 70 6f 73",
  "74 67 72 65 73 5f 31 40 31 37 31 37 32 34 33 32 36 30 30 30 30 0a 2a 22 28 08 81 80 01",
  "12 08 0a 01 40 12 01 62 12 00 1a 18 70 6f 73 74 67 72 65 73 5f 31 40 31 37 31 37 32 34",
  "33 32 36 30 30 30 30",
].join(" ");

test("message 7: relation of items", () => {
  assert.equal(hex(toBinary(SatRelationSchema, relationFor(ITEMS, MODEL))), MESSAGE_7);
});

test("message 13: the two rows", () => {
  const first = encodeRow(ITEMS, { id: "a", value: "first" });
  const second = encodeRow(ITEMS, { id: "b", value: null });
  assert.equal(hex(toBinary(SatOpRowSchema, first)), "0a 01 00 12 01 61 12 05 66 69 72 73 74");
  assert.equal(hex(toBinary(SatOpRowSchema, second)), "0a 01 40 12 01 62 12 00");
});

test("message 13: the whole SatOpLog", () => {
  const insert = (id: string, value: string | null) =>
    create(SatTransOpSchema, {
      op: {
        case: "insert",
        value: create(SatOpInsertSchema, {
          relationId: ITEMS.oid,
          rowData: encodeRow(ITEMS, { id, value }),
          tags: ["postgres_1@1717243260000"],
        }),
      },
    });
  const log = create(SatOpLogSchema, { ops: [insert("a", "first"), insert("b", null)] });
  assert.equal(hex(toBinary(SatOpLogSchema, log)), MESSAGE_13);
});
