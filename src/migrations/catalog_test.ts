import { test } from "node:test";
import assert from "node:assert/strict";
import { EMPTY_SCHEMA } from "../schema/mod.ts";
import { CatalogHolder, type MigrationEntry, SchemaCatalog } from "./catalog.ts";
import { capturedStatements } from "./consumer.ts";

const entry = (version: string, txid: bigint): MigrationEntry => ({
  version,
  txid,
  statements: [],
  model: { ...EMPTY_SCHEMA, version },
  ops: { sqlite: [], postgresql: [] },
});

test("entries are ordered by transaction id, not by arrival or version text", () => {
  const catalog = new SchemaCatalog([entry("b", 20n), entry("a", 30n)]);
  catalog.add(entry("z", 10n));
  assert.deepEqual(catalog.all().map((e) => e.version), ["z", "b", "a"]);
  assert.equal(catalog.currentVersion(), "a");
});

test("after(version) is strictly later transactions; unknown is undefined; none is all", () => {
  const catalog = new SchemaCatalog([entry("v1", 1n), entry("v2", 2n), entry("v3", 3n)]);
  assert.deepEqual(catalog.after("v1")!.map((e) => e.version), ["v2", "v3"]);
  assert.deepEqual(catalog.after("v3"), []);
  assert.equal(catalog.after("nope"), undefined);
  assert.equal(catalog.after()!.length, 3);
  assert.equal(catalog.after("")!.length, 3);
});

test("adding a known version is a no-op and listeners hear only new ones", () => {
  const catalog = new SchemaCatalog([entry("v1", 1n)]);
  const heard: string[] = [];
  catalog.onMigration((e) => heard.push(e.version));
  catalog.add(entry("v1", 1n));
  catalog.add(entry("v2", 2n));
  assert.deepEqual(heard, ["v2"]);
  assert.equal(new SchemaCatalog().current(), EMPTY_SCHEMA);
});

test("the holder hands out the catalog once set, or undefined after the timeout", async () => {
  const holder = new CatalogHolder();
  assert.equal(await holder.wait(10), undefined);
  const waiting = holder.wait(5_000);
  const catalog = new SchemaCatalog();
  const heard: SchemaCatalog[] = [];
  holder.whenSet((c) => heard.push(c));
  holder.set(catalog);
  assert.equal(await waiting, catalog);
  holder.whenSet((c) => heard.push(c));
  assert.deepEqual(heard, [catalog, catalog]);
});

test("captured statements are grouped per migrating transaction in capture order", () => {
  const ddl = { schema: "electric", table: "ddl_commands" };
  const groups = capturedStatements({
    changes: [
      { kind: "insert", relation: ddl, record: { id: "2", txid: "7", txts: "100", query: "B" } },
      { kind: "insert", relation: { schema: "public", table: "x" }, record: { id: "1" } },
      { kind: "insert", relation: ddl, record: { id: "1", txid: "7", txts: "100", query: "A" } },
      { kind: "update", relation: ddl, record: { id: "3", txid: "7", txts: "100", query: "C" } },
      { kind: "insert", relation: ddl, record: { id: "4", txid: "8", txts: "200", query: "D" } },
    ],
  });
  assert.deepEqual(groups.map((g) => g.map((s) => s.query)), [["A", "B"], ["D"]]);
});
