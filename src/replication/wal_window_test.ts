import { test } from "node:test";
import assert from "node:assert/strict";
import { mainSlotAdvanceTarget } from "./wal_window.ts";

test("the main slot advances to current WAL minus the window", () => {
  assert.equal(
    mainSlotAdvanceTarget({
      currentWalLsn: 10_000n,
      mainSlotConfirmedLsn: 1_000n,
      windowBytes: 4_000,
      processedLsn: 10_000n,
    }),
    6_000n,
  );
});

test("the main slot stays when it is already within the window", () => {
  const inputs = { currentWalLsn: 10_000n, windowBytes: 4_000, processedLsn: 10_000n };
  assert.equal(mainSlotAdvanceTarget({ ...inputs, mainSlotConfirmedLsn: 6_000n }), undefined);
  assert.equal(mainSlotAdvanceTarget({ ...inputs, mainSlotConfirmedLsn: 8_000n }), undefined);
  assert.equal(
    mainSlotAdvanceTarget({ ...inputs, windowBytes: 20_000, mainSlotConfirmedLsn: 0n }),
    undefined,
  );
});

test("the main slot never passes the processed LSN, and stays without one", () => {
  const inputs = { currentWalLsn: 10_000n, mainSlotConfirmedLsn: 1_000n, windowBytes: 0 };
  assert.equal(mainSlotAdvanceTarget({ ...inputs, processedLsn: 3_000n }), 3_000n);
  assert.equal(mainSlotAdvanceTarget({ ...inputs, processedLsn: 10_000n }), 10_000n);
  assert.equal(mainSlotAdvanceTarget({ ...inputs, processedLsn: 500n }), undefined);
  assert.equal(mainSlotAdvanceTarget({ ...inputs, processedLsn: undefined }), undefined);
});
