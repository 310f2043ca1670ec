import { test } from "node:test";
import assert from "node:assert/strict";
import { liveStartLsn } from "./live_slot.ts";

test("the live stream starts at the persisted position, moving the slot there first", () => {
  assert.deepEqual(liveStartLsn({ persisted: 500n, slotConfirmed: 500n }), {
    startLsn: 500n,
    advance: false,
  });
  // A copy of the main slot, or a crash between persisting and acknowledging.
  assert.deepEqual(liveStartLsn({ persisted: 500n, slotConfirmed: 100n }), {
    startLsn: 500n,
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
