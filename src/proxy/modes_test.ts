import { test } from "node:test";
import assert from "node:assert/strict";
import { modeLabel, selectMode, upstreamDatabase } from "./modes.ts";

test("modes are chosen by the first rule that matches (§3.4)", () => {
  assert.equal(selectMode({ user: "postgres", database: "electric" }), "electric");
  assert.equal(selectMode({ user: "electric", database: "app" }), "electric");
  assert.equal(selectMode({ user: "prisma", database: "electric" }), "prisma");
  assert.equal(selectMode({ user: "transparent", database: "electric" }), "transparent");
  // The shadow database wins over the user name.
  assert.equal(selectMode({ user: "prisma", database: "prisma_migrate_shadow_db_1234" }), "shadow");
  assert.equal(selectMode({ user: "transparent", database: "prisma_migrate_shadow_db" }), "shadow");
  assert.equal(selectMode({ user: "Prisma", database: "x_prisma_migrate_shadow_db" }), "electric");
  assert.equal(selectMode({}), "electric");
});

test("only shadow mode replaces the upstream database", () => {
  assert.equal(
    upstreamDatabase("shadow", "prisma_migrate_shadow_db_1", "app"),
    "prisma_migrate_shadow_db_1",
  );
  assert.equal(upstreamDatabase("prisma", "other", "app"), "app");
  assert.equal(upstreamDatabase("electric", "other", "app"), "app");
  assert.equal(modeLabel("electric"), "capture");
  assert.equal(modeLabel("shadow"), "shadow");
});
