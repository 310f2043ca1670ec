import { test } from "node:test";
import assert from "node:assert/strict";
import {
  dateToPgTimestamp,
  decodePgoutput,
  decodeReplicationMessage,
  type PgoutputMessage,
} from "../pgwire/mod.ts";
import type { PublishedTable } from "./catalog.ts";
import {
  assignLsns,
  describable,
  encodeTransaction,
  type PublishedTransaction,
  relationSignature,
} from "./stream.ts";

const TABLES: PublishedTable[] = [
  {
    schema: "electric",
    name: "acknowledged_client_lsns",
    oid: 16300,
    columns: [
      { name: "client_id", typeOid: 25, typeModifier: -1 },
      { name: "lsn", typeOid: 17, typeModifier: -1 },
    ],
  },
  {
    schema: "public",
    name: "items",
    oid: 16400,
    columns: [
      { name: "id", typeOid: 23, typeModifier: -1 },
      { name: "label", typeOid: 1043, typeModifier: 14 },
    ],
  },
];

const AT = new Date("2024-05-01T10:00:00.123Z");

function transaction(label: string | null = "x"): PublishedTransaction {
  return {
    commitTimestamp: AT,
    changes: [
      {
        table: { schema: "electric", name: "acknowledged_client_lsns" },
        values: { client_id: "c", lsn: "\\x01" },
      },
      { table: { schema: "public", name: "items" }, values: { id: "1", label } },
      { table: { schema: "public", name: "items" }, values: { id: "2" } },
    ],
  };
}

/** Each payload as [walStart, walEnd, pgoutput message]. */
function decode(payloads: Uint8Array[]): Array<[bigint, bigint, PgoutputMessage]> {
  return payloads.map((payload) => {
    const outer = decodeReplicationMessage(payload);
    assert.ok(outer.ok && outer.message.tag === "xlog_data");
    const inner = decodePgoutput(outer.message.data);
    assert.ok(inner.ok);
    return [outer.message.walStart, outer.message.walEnd, inner.message];
  });
}

test("LSNs: Begin and the first row at position + 10, rows 10 apart, Commit after the last", () => {
  const sent = assignLsns(transaction(), 1n);
  assert.deepEqual(
    [sent.firstLsn, sent.finalLsn, sent.endLsn],
    [11n, 41n, 51n],
  );
});

test("a transaction streams as Begin, Relation on first use, Inserts, Commit", () => {
  const sent = assignLsns(transaction(), 1n);
  const now = 999n;
  const encoded = encodeTransaction(sent, { tables: TABLES, described: new Map(), now });
  assert.ok(encoded.ok);
  const commitTime = dateToPgTimestamp(AT);
  const relation = (t: PublishedTable): PgoutputMessage => ({
    tag: "relation",
    relationId: t.oid,
    namespace: t.schema,
    name: t.name,
    replicaIdentity: "f",
    columns: t.columns.map((c) => ({ flags: 1, ...c })),
  });
  assert.deepEqual(decode(encoded.payloads), [
    [11n, 11n, { tag: "begin", finalLsn: 41n, commitTime, xid: 0 }],
    [0n, 0n, relation(TABLES[0])],
    [11n, 11n, { tag: "insert", relationId: 16300, newTuple: ["c", "\\x01"] }],
    [0n, 0n, relation(TABLES[1])],
    [21n, 21n, { tag: "insert", relationId: 16400, newTuple: ["1", "x"] }],
    [31n, 31n, { tag: "insert", relationId: 16400, newTuple: ["2", null] }],
    [41n, 51n, { tag: "commit", flags: 0, commitLsn: 41n, endLsn: 51n, commitTime }],
  ]);
  const serverTime = decodeReplicationMessage(encoded.payloads[0]);
  assert.ok(serverTime.ok && serverTime.message.tag === "xlog_data");
  assert.equal(serverTime.message.serverTime, now);

  // Described relations are not sent again on the same session, unless they changed.
  const again = encodeTransaction(assignLsns(transaction(), 51n), {
    tables: TABLES,
    described: encoded.described,
    now,
  });
  assert.ok(again.ok);
  assert.equal(decode(again.payloads).filter(([, , m]) => m.tag === "relation").length, 0);
  const altered = [TABLES[0], {
    ...TABLES[1],
    columns: [...TABLES[1].columns, { name: "n", typeOid: 23, typeModifier: -1 }],
  }];
  const changed = encodeTransaction(assignLsns(transaction(), 51n), {
    tables: altered,
    described: encoded.described,
    now,
  });
  assert.ok(changed.ok);
  const relations = decode(changed.payloads).filter(([, , m]) => m.tag === "relation");
  assert.deepEqual(relations.map(([, , m]) => m.tag === "relation" && m.name), ["items"]);
  assert.equal(changed.described.get(16400), relationSignature(altered[1]));
});

test("unknown tables and columns are error values; describable() says when to refresh", () => {
  const sent = assignLsns(transaction(), 1n);
  const noItems = encodeTransaction(sent, { tables: [TABLES[0]], described: new Map(), now: 0n });
  assert.deepEqual(!noItems.ok && noItems.error.code, "UNKNOWN_TABLE");
  const extra: PublishedTransaction = {
    commitTimestamp: AT,
    changes: [{ table: { schema: "public", name: "items" }, values: { id: "1", nope: "x" } }],
  };
  const badColumn = encodeTransaction(assignLsns(extra, 1n), {
    tables: TABLES,
    described: new Map(),
    now: 0n,
  });
  assert.deepEqual(!badColumn.ok && badColumn.error.code, "UNKNOWN_COLUMN");
  assert.equal(describable(transaction(), TABLES), true);
  assert.equal(describable(transaction(), [TABLES[0]]), false);
  assert.equal(describable(extra, TABLES), false);
});
