import { test } from "node:test";
import assert from "node:assert/strict";
import { pendingSteps } from "./bootstrap.ts";
import { INSTALL_STEPS, type InstallStep } from "./steps.ts";

const step = (version: bigint): InstallStep => ({
  version,
  records: [version],
  description: "",
  sql: "",
});

test("pending steps come in version order and skip recorded ones", () => {
  const steps = [step(30n), step(10n), step(20n)];
  assert.deepEqual(pendingSteps(steps, new Set([20n])).map((s) => s.version), [10n, 30n]);
  assert.deepEqual(pendingSteps(steps, new Set([10n, 20n, 30n])), []);
});

test("the base step records every reference installation version", () => {
  const [base] = INSTALL_STEPS;
  assert.equal(base.records.length, 20);
  assert.equal(base.version, base.records[0]);
  const all = INSTALL_STEPS.map((s) => s.version);
  assert.equal(new Set(all).size, all.length);
});
