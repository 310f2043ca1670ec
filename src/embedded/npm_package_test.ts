import assert from "node:assert/strict";
import {
  chmodSync,
  mkdirSync,
  mkdtempSync,
  readlinkSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { npmNativeRoot, parseSymlinks, repairNpmPackage } from "./npm_package.ts";

test("parseSymlinks keeps well-formed entries only", () => {
  const text = JSON.stringify([
    { source: "native/lib/libpq.so.5.15", target: "native/lib/libpq.so.5" },
    { source: 1, target: "x" },
  ]);
  assert.deepEqual(parseSymlinks(text), [
    { source: "native/lib/libpq.so.5.15", target: "native/lib/libpq.so.5" },
  ]);
  assert.deepEqual(parseSymlinks("{}"), []);
});

test("repairNpmPackage recreates library symlinks and execute bits once", () => {
  const pkg = mkdtempSync(join(tmpdir(), "electric-npm-pg-test-"));
  try {
    const native = join(pkg, "native");
    mkdirSync(join(native, "bin"), { recursive: true });
    mkdirSync(join(native, "lib"));
    writeFileSync(join(native, "lib", "libpq.so.5.15"), "");
    writeFileSync(join(native, "bin", "postgres"), "");
    chmodSync(join(native, "bin", "postgres"), 0o644); // as an extractor that drops modes leaves it
    writeFileSync(
      join(native, "pg-symlinks.json"),
      JSON.stringify([{ source: "native/lib/libpq.so.5.15", target: "native/lib/libpq.so.5" }]),
    );
    assert.equal(npmNativeRoot(join(native, "bin")), native);
    assert.equal(npmNativeRoot(pkg), undefined);

    assert.equal(repairNpmPackage(native), 2);
    assert.equal(readlinkSync(join(native, "lib", "libpq.so.5")), "libpq.so.5.15");
    assert.equal(statSync(join(native, "bin", "postgres")).mode & 0o777, 0o755);
    assert.equal(repairNpmPackage(native), 0, "nothing left to do");
  } finally {
    rmSync(pkg, { recursive: true, force: true });
  }
});
