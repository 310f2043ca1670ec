import { test } from "node:test";
import assert from "node:assert/strict";
import {
  instanceNames,
  liveSlotName,
  mainSlotName,
  shadowTableName,
  temporarySlotName,
} from "./naming.ts";

test("slot names follow the reference's cleaning rules", () => {
  assert.equal(mainSlotName("electric"), "electric_replication_out_electric");
  assert.equal(mainSlotName("My-App.DB"), "electric_replication_out_my_app_db");
  assert.equal(mainSlotName("__x__"), "electric_replication_out_x");
  const long = mainSlotName("a".repeat(80));
  assert.equal(long, `electric_replication_out_${"a".repeat(38)}`);
  assert.ok(long.length <= 63);
  assert.equal(temporarySlotName("electric"), "electric_replication_out_electric_rc");
  assert.equal(temporarySlotName("a".repeat(80)).length, 63);
  assert.equal(liveSlotName("electric"), "electric_replication_out_electric_live");
  assert.equal(liveSlotName("a".repeat(80)).length, 63);
});

test("shadow table names embed schema and table", () => {
  assert.equal(shadowTableName("public", "items"), "shadow__public__items");
});

test("without an instance id the names are the single instance's of old", () => {
  const names = instanceNames("electric");
  assert.equal(names.instanceId, undefined);
  assert.equal(names.mainSlot, mainSlotName("electric"));
  assert.equal(names.liveSlot, liveSlotName("electric"));
  assert.equal(names.temporarySlot, temporarySlotName("electric"));
  assert.equal(names.subscription, "postgres_1");
  assert.deepEqual(instanceNames("electric", ""), names);
});

test("instance names derive from the id, stay within 63 bytes and never collide", () => {
  const a = instanceNames("app", "a");
  assert.equal(a.mainSlot, "electric_out_app_a");
  assert.equal(a.liveSlot, "electric_out_app_a_live");
  assert.equal(a.markSlot, "electric_out_app_a_mark");
  assert.equal(a.temporarySlot, "electric_out_app_a_rc");
  assert.equal(a.subscription, "electric_sub_app_a");
  const ids = ["a-b", "a_b", "A_B", "x".repeat(80), "x".repeat(81), crypto.randomUUID(), "é"];
  const mains = new Set<string>();
  for (const id of ids) {
    for (const db of ["app", "a-very-long-database-name-".repeat(4)]) {
      const names = instanceNames(db, id);
      mains.add(names.mainSlot);
      assert.ok(names.mainSlot.length <= 55, names.mainSlot);
      for (const name of Object.values(names)) {
        if (typeof name !== "string" || name === id) continue;
        assert.ok(new TextEncoder().encode(name).length <= 63, name);
        assert.match(name, /^[a-z0-9_]+$/);
      }
      assert.deepEqual(instanceNames(db, id), names, "stable");
    }
  }
  assert.equal(mains.size, ids.length * 2);
});
