import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { logTail, readSavedPort, savePort, sidecarFiles, tailLines } from "./sidecar.ts";

test("sidecarFiles sit beside the data dir", () => {
  assert.deepEqual(sidecarFiles("/x/.electric/pgdata"), {
    log: "/x/.electric/pgdata.log",
    port: "/x/.electric/pgdata.port",
    owner: "/x/.electric/pgdata.owner",
  });
});

test("tailLines keeps the last lines and drops trailing newlines", () => {
  assert.equal(tailLines("a\nb\nc\n\n", 2), "b\nc");
  assert.equal(tailLines("only", 5), "only");
});

test("saved port and log tail round-trip through files", () => {
  const dir = mkdtempSync(join(tmpdir(), "electric-sidecar-test-"));
  try {
    const files = sidecarFiles(join(dir, "pgdata"));
    assert.equal(readSavedPort(files.port), undefined);
    savePort(files.port, 54321);
    assert.equal(readSavedPort(files.port), 54321);
    writeFileSync(files.port, "not a port");
    assert.equal(readSavedPort(files.port), undefined);

    writeFileSync(files.log, "old run\nnew 1\nnew 2\n");
    assert.equal(logTail(files.log, "old run\n".length), "new 1\nnew 2");
    assert.equal(logTail(join(dir, "missing.log")), "");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
