import { test } from "node:test";
import assert from "node:assert/strict";
import { LIVE_REPLAY_BYTES, liveAckLsn, liveStartLsn } from "./live_slot.ts";

const P = 1_000_000_000n;

test("the live slot is acknowledged a little behind the persisted position", () => {
  assert.equal(liveAckLsn(P), P - LIVE_REPLAY_BYTES);
  assert.equal(liveAckLsn(100n), 0n);
});

test("the live stream starts where the slot is, moving a slot far behind up first", () => {
  assert.deepEqual(liveStartLsn({ persisted: P, slotConfirmed: liveAckLsn(P) }), {
    startLsn: liveAckLsn(P),
    advance: false,
  });
  // A copy of the main slot, or an old slot.
  assert.deepEqual(liveStartLsn({ persisted: P, slotConfirmed: 100n }), {
    startLsn: liveAckLsn(P),
    advance: true,
  });
});

test("without a persisted position, or with the slot past it, the slot's position wins", () => {
  assert.deepEqual(liveStartLsn({ persisted: undefined, slotConfirmed: 100n }), {
    startLsn: 100n,
    advance: false,
  });
  assert.deepEqual(liveStartLsn({ persisted: 100n, slotConfirmed: 500n }), {
    startLsn: 500n,
    advance: false,
  });
});
