import { test } from "node:test";
import assert from "node:assert/strict";
import { PreparedStatements } from "./prepared_statements.ts";

const statement = (text: string, args: string[] = ["1"]) => ({
  text,
  types: args.map(() => "int4"),
  args,
});

test("a statement is prepared once, then executed by name with its values", () => {
  const prepared = new PreparedStatements();
  const before: string[] = [];
  const first = prepared.render(statement("SELECT $1", ["1"]), before);
  assert.equal(before.length, 1);
  const name = /^PREPARE (\w+) \(int4\) AS SELECT \$1$/.exec(before[0])?.[1];
  assert.ok(name, before[0]);
  assert.equal(first, `EXECUTE ${name}(1)`);
  const again: string[] = [];
  assert.equal(
    prepared.render(statement("SELECT $1", ["(-2)::int4"]), again),
    `EXECUTE ${name}((-2)::int4)`,
  );
  assert.deepEqual(again, []);
  assert.equal(prepared.render("SELECT 3", again), "SELECT 3");
  assert.equal(
    prepared.render(statement("SELECT 4", []), again),
    `EXECUTE ${/^PREPARE (\w+)/.exec(again[0])![1]}`,
  );
});

test("after forget, statements are prepared again under names never used before", () => {
  const prepared = new PreparedStatements();
  const first: string[] = [];
  prepared.render(statement("SELECT $1"), first);
  prepared.forget();
  const second: string[] = [];
  prepared.render(statement("SELECT $1"), second);
  assert.equal(second.length, 1);
  assert.notEqual(second[0].split(" ")[1], first[0].split(" ")[1]);
  // Another instance (another connection) never reuses a name either.
  const other: string[] = [];
  new PreparedStatements().render(statement("SELECT $1"), other);
  assert.ok(![first[0], second[0]].includes(other[0]));
});

test("past its capacity every prepared statement is deallocated by name", () => {
  const prepared = new PreparedStatements(2);
  const sent: string[] = [];
  prepared.render(statement("SELECT $1 + 1"), sent);
  prepared.render(statement("SELECT $1 + 2"), sent);
  const names = sent.map((s) => s.split(" ")[1]);
  const third: string[] = [];
  prepared.render(statement("SELECT $1 + 3"), third);
  assert.deepEqual(third.slice(0, 2), names.map((n) => `DEALLOCATE ${n}`));
  assert.match(third[2], /^PREPARE \w+ \(int4\) AS SELECT \$1 \+ 3$/);
  assert.equal(prepared.size, 1);
});
