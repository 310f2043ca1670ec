import assert from "node:assert/strict";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { findPostgresBinaries } from "./binaries.ts";

function fakeBinDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "electric-bin-test-"));
  for (const name of ["initdb", "postgres"]) {
    writeFileSync(join(dir, name), "#!/bin/sh\n");
    chmodSync(join(dir, name), 0o755);
  }
  return dir;
}

test("an explicit dir or POSTGRES_BIN_DIR is used as is, never replaced", () => {
  const good = fakeBinDir();
  const empty = mkdtempSync(join(tmpdir(), "electric-bin-test-"));
  try {
    assert.equal(findPostgresBinaries(good, {}), good);
    assert.equal(findPostgresBinaries(empty, {}), undefined);
    assert.equal(findPostgresBinaries(undefined, { POSTGRES_BIN_DIR: good }), good);
    assert.equal(findPostgresBinaries(undefined, { POSTGRES_BIN_DIR: empty }), undefined);
  } finally {
    rmSync(good, { recursive: true, force: true });
    rmSync(empty, { recursive: true, force: true });
  }
});

test("PATH is searched when no dir is configured", () => {
  const good = fakeBinDir();
  try {
    // Well-known dirs come first, so only assert that some directory with both binaries is found.
    const found = findPostgresBinaries(undefined, { PATH: good });
    assert.notEqual(found, undefined);
  } finally {
    rmSync(good, { recursive: true, force: true });
  }
});
