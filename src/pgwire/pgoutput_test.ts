import { test } from "node:test";
import assert from "node:assert/strict";
import { dateToPgTimestamp, pgTimestampToDate } from "./bytes.ts";
import {
  decodePgoutput,
  encodePgoutput,
  type PgoutputMessage,
  UNCHANGED_TOAST,
} from "./pgoutput.ts";

/** Bytes from hex written with spaces between fields; `str()` adds a NUL-terminated string. */
function hex(...parts: string[]): Uint8Array {
  const text = parts.join("").replace(/\s+/g, "");
  return Uint8Array.from(text.match(/../g) ?? [], (pair) => parseInt(pair, 16));
}
function str(text: string): string {
  return [...new TextEncoder().encode(text)].map((b) => b.toString(16).padStart(2, "0")).join("") +
    "00";
}
function sized(text: string): string {
  const bytes = new TextEncoder().encode(text);
  return bytes.length.toString(16).padStart(8, "0") +
    [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
}

const TIME = 0x0002a5c1e2f30405n;

/** Each case: wire bytes written out by hand, and the message they mean. */
const CASES: Array<[string, Uint8Array, PgoutputMessage]> = [
  [
    "B Begin",
    hex("42", "00000001 0000abcd", "0002a5c1e2f30405", "000004d2"),
    { tag: "begin", finalLsn: 0x10000abcdn, commitTime: TIME, xid: 1234 },
  ],
  [
    "C Commit",
    hex("43", "00", "00000001 0000abcd", "00000001 0000abff", "0002a5c1e2f30405"),
    { tag: "commit", flags: 0, commitLsn: 0x10000abcdn, endLsn: 0x10000abffn, commitTime: TIME },
  ],
  [
    "O Origin",
    hex("4f", "00000000 00001000", str("pg_1")),
    { tag: "origin", commitLsn: 0x1000n, name: "pg_1" },
  ],
  [
    "R Relation",
    hex(
      "52",
      "00004001",
      str("public"),
      str("items"),
      "66", // 'f'
      "0002",
      "01",
      str("id"),
      "00000017", // int4
      "ffffffff", // typmod -1
      "00",
      str("näme"),
      "00000413", // varchar
      "00000024", // typmod 36
    ),
    {
      tag: "relation",
      relationId: 0x4001,
      namespace: "public",
      name: "items",
      replicaIdentity: "f",
      columns: [
        { flags: 1, name: "id", typeOid: 23, typeModifier: -1 },
        { flags: 0, name: "näme", typeOid: 1043, typeModifier: 36 },
      ],
    },
  ],
  [
    "Y Type",
    hex("59", "00004100", str("public"), str("mood")),
    { tag: "type", typeOid: 0x4100, namespace: "public", name: "mood" },
  ],
  [
    "I Insert",
    hex("49", "00004001", "4e", "0003", "74", sized("1"), "6e", "74", sized("héllo")),
    { tag: "insert", relationId: 0x4001, newTuple: ["1", null, "héllo"] },
  ],
  [
    "U Update with O old tuple and unchanged TOAST",
    hex(
      "55",
      "00004001",
      "4f",
      "0002",
      "74",
      sized("1"),
      "74",
      sized("old"),
      "4e",
      "0002",
      "74",
      sized("1"),
      "75",
    ),
    {
      tag: "update",
      relationId: 0x4001,
      oldKind: "O",
      oldTuple: ["1", "old"],
      newTuple: ["1", UNCHANGED_TOAST],
    },
  ],
  [
    "U Update with K key tuple",
    hex("55", "00004001", "4b", "0001", "74", sized("7"), "4e", "0001", "74", sized("8")),
    { tag: "update", relationId: 0x4001, oldKind: "K", oldTuple: ["7"], newTuple: ["8"] },
  ],
  [
    "U Update without old tuple",
    hex("55", "00004001", "4e", "0001", "74", sized("")),
    { tag: "update", relationId: 0x4001, newTuple: [""] },
  ],
  [
    "D Delete",
    hex("44", "00004001", "4f", "0002", "74", sized("1"), "6e"),
    { tag: "delete", relationId: 0x4001, oldKind: "O", oldTuple: ["1", null] },
  ],
  [
    "T Truncate",
    hex("54", "00000002", "01", "00004001", "00004002"),
    { tag: "truncate", options: 1, relationIds: [0x4001, 0x4002] },
  ],
  [
    "M Message",
    hex("4d", "01", "00000000 00002000", str("electric.fk_chain_touch"), sized("{}")),
    {
      tag: "message",
      flags: 1,
      lsn: 0x2000n,
      prefix: "electric.fk_chain_touch",
      content: new TextEncoder().encode("{}"),
    },
  ],
  [
    "I Insert with a binary value",
    hex("49", "00000001", "4e", "0001", "62", "00000002", "beef"),
    { tag: "insert", relationId: 1, newTuple: [Uint8Array.of(0xbe, 0xef)] },
  ],
];

for (const [name, bytes, message] of CASES) {
  test(`pgoutput ${name}: decodes from and encodes to the exact bytes`, () => {
    const decoded = decodePgoutput(bytes);
    assert.deepEqual(decoded, { ok: true, message });
    assert.deepEqual(encodePgoutput(message), bytes);
  });
}

test("pgoutput: unknown tags, truncated and over-long messages are error values", () => {
  const unknown = decodePgoutput(hex("5a00"));
  assert.equal(unknown.ok, false);
  assert.equal(!unknown.ok && unknown.error.code, "UNKNOWN_MESSAGE");
  const short = decodePgoutput(hex("42", "0000000100"));
  assert.equal(!short.ok && short.error.code, "MALFORMED_MESSAGE");
  const long = decodePgoutput(hex("42", "00000001 0000abcd", "0002a5c1e2f30405", "000004d2", "00"));
  assert.equal(!long.ok && long.error.code, "MALFORMED_MESSAGE");
  const badKind = decodePgoutput(hex("44", "00004001", "4e", "0000"));
  assert.equal(!badKind.ok && badKind.error.code, "MALFORMED_MESSAGE");
  assert.equal(decodePgoutput(new Uint8Array()).ok, false);
});

test("Postgres timestamps convert to and from Date at millisecond precision", () => {
  assert.equal(pgTimestampToDate(0n).toISOString(), "2000-01-01T00:00:00.000Z");
  const date = new Date("2023-06-15T11:18:05.372Z");
  assert.equal(pgTimestampToDate(dateToPgTimestamp(date)).getTime(), date.getTime());
  assert.equal(pgTimestampToDate(dateToPgTimestamp(date) + 999n).getTime(), date.getTime());
});

test("encoding past the writer's initial capacity keeps every byte", () => {
  const value = "x".repeat(5000);
  const message: PgoutputMessage = { tag: "insert", relationId: 1, newTuple: [value, value] };
  const bytes = encodePgoutput(message);
  assert.equal(bytes.length, 1 + 4 + 1 + 2 + 2 * (1 + 4 + 5000));
  assert.deepEqual(decodePgoutput(bytes), { ok: true, message });
});
