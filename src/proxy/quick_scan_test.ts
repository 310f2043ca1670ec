import { test } from "node:test";
import assert from "node:assert/strict";
import { quickPlainKeyword } from "./quick_scan.ts";

test("one plain statement is recognised by its first keyword", () => {
  assert.equal(quickPlainKeyword("SELECT abalance FROM a WHERE aid = 1;", true), "select");
  assert.equal(
    quickPlainKeyword("  -- c\n /* x /* y */ */ update t set v = 'a;b'", true),
    "update",
  );
  assert.equal(quickPlainKeyword('select $1, $tag$ ; $tag$, "a;" from t;;', true), "select");
  assert.equal(quickPlainKeyword("INSERT INTO t VALUES (1)", true), "insert");
});

test("anything that might concern the proxy goes to the full parser", () => {
  for (
    const text of [
      "INSERT INTO schema_migrations VALUES (1)", // extended: maybe a framework insert
      "ALTER TABLE t ADD COLUMN x int",
      "SELECT 1; ALTER TABLE t DROP COLUMN x",
      "select 'unterminated",
      "select E'\\'; alter table t drop column x; --'",
      "select 'a\\'",
      "COMMIT",
      "CALL electric.electrify('t')",
      "DO $$ begin end $$",
      "",
    ]
  ) {
    assert.equal(quickPlainKeyword(text, false), undefined, text);
  }
});
