import { test } from "node:test";
import assert from "node:assert/strict";
import {
  chooseName,
  foreignKeyName,
  indexName,
  joinColumnNames,
  makeObjectName,
  primaryKeyName,
} from "./names.ts";

test("default names follow Postgres", () => {
  const none = new Set<string>();
  assert.equal(primaryKeyName("fish"), "fish_pkey");
  assert.equal(foreignKeyName("front", ["frog_id"], none), "front_frog_id_fkey");
  assert.equal(foreignKeyName("t", ["a", "b"], none), "t_a_b_fkey");
  assert.equal(indexName("items", ["x", "y"], none), "items_x_y_idx");
  assert.equal(indexName("items", ["x"], new Set(["items_x_idx"])), "items_x_idx1");
  assert.equal(
    chooseName("t", "a", "fkey", new Set(["t_a_fkey", "t_a_fkey1"])),
    "t_a_fkey2",
  );
});

test("long names are cut to 63 bytes, the longer part first", () => {
  const cases: [string, string | undefined, string, string][] = [
    ["a".repeat(70), undefined, "pkey", `${"a".repeat(58)}_pkey`],
    ["t".repeat(40), "c".repeat(40), "idx", `${"t".repeat(29)}_${"c".repeat(29)}_idx`],
    ["short", "c".repeat(80), "fkey", `short_${"c".repeat(52)}_fkey`],
    // multi-byte characters are never split
    ["é".repeat(40), undefined, "pkey", `${"é".repeat(29)}_pkey`],
  ];
  for (const [n1, n2, label, expected] of cases) {
    const got = makeObjectName(n1, n2, label);
    assert.equal(got, expected);
    assert.ok(new TextEncoder().encode(got).length <= 63);
  }
});

test("joinColumnNames stops once an identifier's worth is collected", () => {
  assert.equal(joinColumnNames(["a", "b", "c"]), "a_b_c");
  const long = joinColumnNames(Array.from({ length: 40 }, () => "abcd"));
  assert.ok(long.length < 80);
});
