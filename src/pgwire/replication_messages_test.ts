import { test } from "node:test";
import assert from "node:assert/strict";
import {
  decodeReplicationMessage,
  encodeReplicationMessage,
  type ReplicationMessage,
  standbyStatusUpdate,
  xlogDataPayload,
} from "./replication_messages.ts";

function hex(...parts: string[]): Uint8Array {
  const text = parts.join("").replace(/\s+/g, "");
  return Uint8Array.from(text.match(/../g) ?? [], (pair) => parseInt(pair, 16));
}

const CASES: Array<[string, Uint8Array, ReplicationMessage]> = [
  [
    "w XLogData",
    hex("77", "00000000 01000000", "00000000 01000100", "0002a5c1e2f30405", "42 beef"),
    {
      tag: "xlog_data",
      walStart: 0x1000000n,
      walEnd: 0x1000100n,
      serverTime: 0x0002a5c1e2f30405n,
      data: hex("42beef"),
    },
  ],
  [
    "k PrimaryKeepalive",
    hex("6b", "00000002 00000010", "0002a5c1e2f30405", "01"),
    {
      tag: "primary_keepalive",
      walEnd: 0x200000010n,
      serverTime: 0x0002a5c1e2f30405n,
      replyRequested: true,
    },
  ],
  [
    "r StandbyStatusUpdate",
    hex(
      "72",
      "00000000 00000030",
      "00000000 00000020",
      "00000000 00000010",
      "0002a5c1e2f30405",
      "00",
    ),
    {
      tag: "standby_status_update",
      written: 0x30n,
      flushed: 0x20n,
      applied: 0x10n,
      clientTime: 0x0002a5c1e2f30405n,
      replyRequested: false,
    },
  ],
];

for (const [name, bytes, message] of CASES) {
  test(`replication ${name}: decodes from and encodes to the exact bytes`, () => {
    assert.deepEqual(decodeReplicationMessage(bytes), { ok: true, message });
    assert.deepEqual(encodeReplicationMessage(message), bytes);
  });
}

test("a StandbyStatusUpdate is 34 bytes and reports one LSN as written, flushed and applied", () => {
  const bytes = encodeReplicationMessage(standbyStatusUpdate(0xabn, { clientTime: 1n }));
  assert.equal(bytes.length, 34);
  assert.deepEqual(
    bytes,
    hex("72", "00000000000000ab".repeat(3), "0000000000000001", "00"),
  );
});

test("unknown and truncated replication messages are error values", () => {
  const unknown = decodeReplicationMessage(hex("7a"));
  assert.equal(!unknown.ok && unknown.error.code, "UNKNOWN_MESSAGE");
  const short = decodeReplicationMessage(hex("6b", "0000"));
  assert.equal(!short.ok && short.error.code, "MALFORMED_MESSAGE");
  assert.equal(decodeReplicationMessage(new Uint8Array()).ok, false);
});

test("xlogDataPayload is the data of an XLogData payload, and nothing for any other", () => {
  const [, xlog, decoded] = CASES[0];
  assert.deepEqual(xlogDataPayload(xlog), (decoded as { data: Uint8Array }).data);
  assert.equal(xlogDataPayload(CASES[1][1]), undefined);
  // Shorter than its header: left to the full decoder, which reports it.
  assert.equal(xlogDataPayload(hex("77 0000")), undefined);
});
