import { test } from "node:test";
import assert from "node:assert/strict";
import { checkServer, type ServerFacts } from "./preflight.ts";

const good: ServerFacts = {
  serverVersionNum: 150004,
  serverVersion: "15.4",
  walLevel: "logical",
  role: "electric",
  database: "app",
  superuser: false,
  replication: true,
  createOnDatabase: true,
};

test("a logical, privileged server passes in direct_writes mode", () => {
  assert.deepEqual(checkServer(good, "direct_writes"), []);
});

test("wal_level other than logical is refused with the fix", () => {
  const [problem] = checkServer({ ...good, walLevel: "replica" }, "direct_writes");
  assert.equal(problem.code, "WAL_LEVEL_NOT_LOGICAL");
  assert.equal(problem.message, "Your Postgres database is not configured with wal_level=logical.");
  assert.match(problem.hint, /ALTER SYSTEM SET wal_level = 'logical'/);
});

test("Postgres older than 14 is refused", () => {
  const codes = checkServer(
    { ...good, serverVersionNum: 130010, serverVersion: "13.10" },
    "direct_writes",
  )
    .map((p) => p.code);
  assert.deepEqual(codes, ["UNSUPPORTED_VERSION"]);
});

test("logical_replication mode needs a superuser", () => {
  const [problem] = checkServer(good, "logical_replication");
  assert.equal(problem.code, "MISSING_ROLE_ATTRIBUTE");
  assert.match(problem.hint, /ALTER ROLE electric SUPERUSER/);
  assert.deepEqual(checkServer({ ...good, superuser: true }, "logical_replication"), []);
});

test("direct_writes needs REPLICATION and CREATE on the database, reported together", () => {
  const problems = checkServer(
    { ...good, replication: false, createOnDatabase: false, role: "App User" },
    "direct_writes",
  );
  assert.equal(problems.length, 2);
  assert.match(problems[0].hint, /ALTER ROLE "App User" REPLICATION/);
  assert.match(problems[1].hint, /GRANT CREATE ON DATABASE app TO "App User"/);
});
