import assert from "node:assert/strict";
import { test } from "node:test";
import { findPostgresBinaries } from "./binaries.ts";
import { parsePostgresVersion, prepareBinaries } from "./prepare_binaries.ts";
import { resolveRunAs } from "./privileges.ts";

test("parsePostgresVersion reads the version postgres --version prints", () => {
  assert.equal(parsePostgresVersion("postgres (PostgreSQL) 15.18\n"), "15.18");
  assert.equal(parsePostgresVersion("postgres (PostgreSQL) 17.2 (Homebrew)"), "17.2");
  assert.equal(parsePostgresVersion("postgres (PostgreSQL) 18beta1"), "18");
  assert.equal(parsePostgresVersion("command not found"), undefined);
});

test("prepareBinaries runs the binaries it finds and reports their version", () => {
  const found = findPostgresBinaries();
  assert.ok(found, "server binaries are installed (system or npm)");
  const runAs = resolveRunAs();
  assert.ok(runAs.ok);
  const prepared = prepareBinaries(found, runAs.runAs);
  assert.ok(prepared.ok, prepared.ok ? "" : prepared.message);
  assert.equal(prepared.binaries.dir, found.dir);
  assert.match(prepared.binaries.version, /^\d+\.\d+$/);
});

test("the npm package's binaries run without a system install", () => {
  const env = { ...process.env, ELECTRIC_TEST_SKIP_SYSTEM_POSTGRES: "1", POSTGRES_BIN_DIR: "" };
  const found = findPostgresBinaries(undefined, { env });
  if (found === undefined) return; // optional dependency not installed on this platform
  assert.equal(found.source, "npm");
  const runAs = resolveRunAs();
  assert.ok(runAs.ok);
  const prepared = prepareBinaries(found, runAs.runAs);
  assert.ok(prepared.ok, prepared.ok ? "" : prepared.message);
  assert.match(prepared.binaries.version, /^15\.\d+$/, "the pinned 15.x build");
});

test("binaries that do not run are reported, not used", () => {
  const prepared = prepareBinaries({ dir: "/nonexistent", source: "explicit" }, { kind: "self" });
  assert.equal(prepared.ok, false);
  if (!prepared.ok) assert.match(prepared.message, /"\/nonexistent\/postgres --version" failed/);
});
