import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readZip } from "../../tests/helpers/unzip.ts";
import { crc32, createZip } from "./zip.ts";

const text = (s: string) => new TextEncoder().encode(s);

test("crc32 matches the standard check value", () => {
  assert.equal(crc32(text("123456789")), 0xcbf43926);
});

test("entries round-trip through the central directory", () => {
  const zip = createZip([
    { name: "20240101/migration.sql", data: text("CREATE TABLE x;") },
    { name: "20240101/metadata.json", data: text('{"a":1}') },
  ]);
  assert.deepEqual(Object.fromEntries(readZip(zip)), {
    "20240101/migration.sql": "CREATE TABLE x;",
    "20240101/metadata.json": '{"a":1}',
  });
});

test("a standard unzip tool reads it, when one is installed", (t) => {
  const dir = mkdtempSync(join(tmpdir(), "zip-test-"));
  try {
    const file = join(dir, "a.zip");
    writeFileSync(
      file,
      createZip([{ name: "v1/migration.sql", data: text("hello\n".repeat(50)) }]),
    );
    try {
      execFileSync("python3", [
        "-c",
        `import zipfile; zipfile.ZipFile(${JSON.stringify(file)}).extractall(${
          JSON.stringify(dir)
        })`,
      ]);
    } catch {
      t.skip("python3 is not available");
      return;
    }
    assert.equal(readFileSync(join(dir, "v1/migration.sql"), "utf8"), "hello\n".repeat(50));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
