import { test } from "node:test";
import assert from "node:assert/strict";
import { create } from "@bufbuild/protobuf";
import { SatOpLogAckSchema } from "../../gen/mod.ts";
import { scanPlainAck } from "./ack_scan.ts";
import { encodeFrame } from "./frames.ts";

const frame = (init: Parameters<typeof create<typeof SatOpLogAckSchema>>[1]) =>
  encodeFrame(create(SatOpLogAckSchema, init));

test("ordinary acks: the transaction id, whatever its size and the other fields", () => {
  for (
    const id of [
      0n,
      1n,
      127n,
      128n,
      2n ** 28n - 1n,
      2n ** 28n,
      2n ** 32n + 5n,
      2n ** 62n + 3n,
      2n ** 64n - 1n,
    ]
  ) {
    const lsn = new TextEncoder().encode("26911808");
    assert.equal(scanPlainAck(frame({ transactionId: id, lsn, ackTimestamp: 1733000000000n })), id);
    assert.equal(scanPlainAck(frame({ transactionId: id })), id);
  }
  assert.equal(scanPlainAck(frame({})), 0n);
});

test("acks naming out-of-band data, other frames and malformed bytes are left to the full decoder", () => {
  assert.equal(scanPlainAck(frame({ transactionId: 5n, subscriptionIds: ["s"] })), undefined);
  assert.equal(scanPlainAck(frame({ transactionId: 5n, goneSubscriptionIds: ["s"] })), undefined);
  assert.equal(
    scanPlainAck(frame({ transactionId: 5n, additionalDataSourceIds: [1n] })),
    undefined,
  );
  assert.equal(scanPlainAck(new Uint8Array([9, 0x18, 5])), undefined);
  assert.equal(scanPlainAck(new Uint8Array([23, 0x18])), undefined);
  assert.equal(scanPlainAck(new Uint8Array([23, 0x12, 5, 1])), undefined);
  assert.equal(
    scanPlainAck(
      new Uint8Array([23, 0x18, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f]),
    ),
    undefined,
  );
  assert.equal(scanPlainAck(new Uint8Array([23, 0x0f])), undefined);
});
