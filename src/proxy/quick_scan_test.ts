import { test } from "node:test";
import assert from "node:assert/strict";
import { quickCommit, quickPlainKeyword } from "./quick_scan.ts";
import { parseSql, quickParse } from "./parse_sql.ts";

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

test("COMMIT and END are recognised without the parser, with the parser's syntax tree", async () => {
  for (const text of ["COMMIT", "commit;", " END ", "END WORK;", "commit transaction -- done"]) {
    assert.equal(quickCommit(text), true, text);
    const quick = quickParse(text, true);
    const full = await parseSql(text, true, { quick: false });
    assert.ok(quick?.ok && full.ok, text);
    const kind = (s: { ast?: Record<string, unknown> }) =>
      (s.ast?.TransactionStmt as { kind?: string } | undefined)?.kind;
    assert.equal(kind(quick.statements[0] as never), "TRANS_STMT_COMMIT");
    assert.equal(kind(full.statements[0] as never), "TRANS_STMT_COMMIT");
  }
});

test("other commits and look-alikes go to the parser", () => {
  for (
    const text of [
      "COMMIT AND CHAIN",
      "COMMIT PREPARED 'x'",
      "COMMIT; ALTER TABLE t DROP COLUMN x",
      "ENDX",
      "end work work",
      "commit /* unterminated",
      "",
    ]
  ) {
    assert.equal(quickCommit(text), false, text);
  }
});
