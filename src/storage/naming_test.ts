import { test } from "node:test";
import assert from "node:assert/strict";
import { liveSlotName, mainSlotName, shadowTableName, temporarySlotName } from "./naming.ts";

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
